//! Diagnostics as JSON, for `dealrules check --format json` (schema in `docs/output.md`).

use crate::diag::{Diagnostic, Level, SourceMap, Span};
use serde_json::{Value as Json, json};

/// The version of the diagnostics JSON layout; raised when a field changes meaning or goes.
pub const DIAGNOSTICS_FORMAT_VERSION: u32 = 1;

/// Renders diagnostics as a JSON document:
/// `{"version", "errors", "warnings", "diagnostics": [{"code", "level", "message", "file",
/// "line", "column", "end_line", "end_column", "labels": [...], "help"}]}`. Lines and columns
/// are 1-based; columns count characters. A diagnostic without a place has `file: null`.
pub fn diagnostics_json(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let place = |span: Span| -> Json {
        let start = sources.location(span);
        let end = sources.location(Span {
            start: span.end,
            ..span
        });
        match (start, end) {
            (Some(s), Some(e)) => json!({
                "file": s.file,
                "line": s.line,
                "column": s.column,
                "end_line": e.line,
                "end_column": e.column,
            }),
            _ => {
                json!({"file": null, "line": null, "column": null, "end_line": null, "end_column": null})
            }
        }
    };
    let items: Vec<Json> = diags
        .iter()
        .map(|d| {
            let mut item = serde_json::Map::new();
            item.insert("code".into(), json!(d.code.as_str()));
            item.insert(
                "level".into(),
                json!(match d.level {
                    Level::Error => "error",
                    Level::Warning => "warning",
                }),
            );
            item.insert("message".into(), json!(d.message));
            let primary = d.span().map_or_else(|| place(Span::none()), place);
            if let Json::Object(fields) = primary {
                item.extend(fields);
            }
            let labels: Vec<Json> = d
                .labels
                .iter()
                .map(|(span, text)| {
                    let mut l = match place(*span) {
                        Json::Object(m) => m,
                        _ => serde_json::Map::new(),
                    };
                    l.insert("message".into(), json!(text));
                    Json::Object(l)
                })
                .collect();
            item.insert("labels".into(), Json::Array(labels));
            item.insert("help".into(), json!(d.help));
            Json::Object(item)
        })
        .collect();
    let count = |level| diags.iter().filter(|d| d.level == level).count();
    let doc = json!({
        "version": DIAGNOSTICS_FORMAT_VERSION,
        "errors": count(Level::Error),
        "warnings": count(Level::Warning),
        "diagnostics": items,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}
