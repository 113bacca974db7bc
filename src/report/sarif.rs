//! The SARIF 2.1.0 log, for code-review tools: one result per finding, located at the bound
//! deal, with the other bound facts and the rule as related locations; evaluation errors and
//! data gaps as tool execution notifications. Its shape is documented in `docs/output.md`.

use crate::diag::{SourceMap, Span};
use crate::explain::{Binding, DataGap, EvalError, Finding};
use crate::report::json::value_json;
use crate::{FactKind, Report, RuleSet, Severity};
use serde_json::{Map, Value as Json, json};

/// The `partialFingerprints` key under which each result carries its finding's fingerprint.
pub const SARIF_FINGERPRINT_KEY: &str = "dealrulesFinding/v1";

/// The schema the log declares (OASIS SARIF 2.1.0, Errata 01).
const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The SARIF level of a severity: critical and high are errors, medium a warning, low and info
/// notes.
pub fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// A file name as a URI reference: every byte other than letters, digits, `-._~` and `/` is
/// percent-encoded (a name as loaded, relative or absolute, stays a path).
fn uri(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `{"artifactLocation": {"uri"}, "region": {"startLine", "startColumn"}}`, or `None` for a
/// span without a file (facts added in code).
fn physical(sources: &SourceMap, span: Span) -> Option<Json> {
    let l = sources.location(span)?;
    Some(json!({
        "artifactLocation": { "uri": uri(&l.file) },
        "region": { "startLine": l.line, "startColumn": l.column },
    }))
}

/// A location with an optional physical part, a message, and optional logical locations.
fn location(
    sources: &SourceMap,
    span: Span,
    message: Option<String>,
    logical: Option<(&str, &str)>,
) -> Map<String, Json> {
    let mut loc = Map::new();
    if let Some(p) = physical(sources, span) {
        loc.insert("physicalLocation".into(), p);
    }
    if let Some((name, kind)) = logical {
        loc.insert(
            "logicalLocations".into(),
            json!([{ "name": name, "kind": kind }]),
        );
    }
    if let Some(text) = message {
        loc.insert("message".into(), json!({ "text": text }));
    }
    loc
}

fn binding_location(sources: &SourceMap, b: &Binding) -> Map<String, Json> {
    location(
        sources,
        b.span,
        Some(format!("{} = {}", b.var, b.fact)),
        Some((&b.fact, b.kind.keyword())),
    )
}

/// A place a result points at: a bound fact, or a deal behind a derived row or cycle.
struct Place<'a> {
    span: Span,
    message: String,
    fact: &'a str,
    kind: &'a str,
    deal: bool,
}

/// The bound facts, then the deals behind each chain (derived rows and cycles).
fn places(f: &Finding) -> Vec<Place<'_>> {
    let mut places: Vec<Place<'_>> = f
        .bindings
        .iter()
        .map(|b| Place {
            span: b.span,
            message: format!("{} = {}", b.var, b.fact),
            fact: &b.fact,
            kind: b.kind.keyword(),
            deal: b.kind == FactKind::Deal,
        })
        .collect();
    for chain in &f.chains {
        for (i, hop) in chain.hops.iter().enumerate() {
            if let Some(d) = &hop.deal {
                places.push(Place {
                    span: d.span,
                    message: format!("{} hop {}: {}", chain.var, i + 1, d.fact),
                    fact: &d.fact,
                    kind: "deal",
                    deal: false,
                });
            }
        }
    }
    places
}

/// The place a result is located at: the first bound deal, else the first deal behind a
/// chain, else the first place written in a file, else the first place.
fn primary(places: &[Place<'_>]) -> Option<usize> {
    let located = |p: &Place<'_>| p.span.file.is_some();
    places
        .iter()
        .position(|p| p.deal && located(p))
        .or_else(|| places.iter().position(|p| p.kind == "deal" && located(p)))
        .or_else(|| places.iter().position(located))
        .or_else(|| (!places.is_empty()).then_some(0))
}

fn result(f: &Finding, sources: &SourceMap, rule_index: Option<usize>) -> Json {
    let places = places(f);
    let main = primary(&places);
    let mut locations = Vec::new();
    let mut related = Vec::new();
    for (i, p) in places.iter().enumerate() {
        let mut loc = location(
            sources,
            p.span,
            Some(p.message.clone()),
            Some((p.fact, p.kind)),
        );
        if Some(i) == main {
            locations.push(Json::Object(loc));
        } else {
            loc.insert("id".into(), json!(related.len() + 1));
            related.push(Json::Object(loc));
        }
    }
    let mut rule_loc = location(sources, f.rule_span, Some(format!("rule {}", f.rule)), None);
    if locations.is_empty() {
        locations.push(Json::Object(rule_loc));
    } else {
        rule_loc.insert("id".into(), json!(related.len() + 1));
        related.push(Json::Object(rule_loc));
    }
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(&*f.rule));
    if let Some(i) = rule_index {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), json!(sarif_level(f.severity)));
    r.insert("message".into(), json!({ "text": f.message }));
    r.insert("locations".into(), json!(locations));
    if !related.is_empty() {
        r.insert("relatedLocations".into(), json!(related));
    }
    r.insert(
        "partialFingerprints".into(),
        json!({ SARIF_FINGERPRINT_KEY: f.fingerprint }),
    );
    let params: Map<String, Json> = f
        .params
        .iter()
        .map(|(n, v)| (n.to_string(), value_json(v)))
        .collect();
    r.insert(
        "properties".into(),
        json!({
            "severity": f.severity,
            "facts": f.facts().collect::<Vec<_>>(),
            "params": params,
        }),
    );
    Json::Object(r)
}

fn bindings_text(bindings: &[Binding]) -> String {
    if bindings.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = bindings
        .iter()
        .map(|b| format!("{} = {}", b.var, b.fact))
        .collect();
    format!(" ({})", parts.join(", "))
}

fn rule_reference(rule: &str, index: Option<usize>) -> Json {
    match index {
        Some(i) => json!({ "id": rule, "index": i }),
        None => json!({ "id": rule }),
    }
}

fn error_notification(e: &EvalError, sources: &SourceMap, index: Option<usize>) -> Json {
    let expr = if e.expr.is_empty() {
        String::new()
    } else {
        format!(" in `{}`", e.expr)
    };
    let mut locations = vec![Json::Object(location(sources, e.span, None, None))];
    locations.extend(
        e.bindings
            .iter()
            .map(|b| Json::Object(binding_location(sources, b))),
    );
    json!({
        "level": "error",
        "message": {
            "text": format!(
                "rule {} could not be evaluated: {}{expr}{}",
                e.rule,
                e.message,
                bindings_text(&e.bindings)
            ),
        },
        "locations": locations,
        "descriptor": { "id": "evaluation-error" },
        "associatedRule": rule_reference(&e.rule, index),
    })
}

fn gap_notification(g: &DataGap, sources: &SourceMap, index: Option<usize>) -> Json {
    let missing: Vec<String> = g.missing.iter().map(ToString::to_string).collect();
    let mut locations = vec![Json::Object(location(sources, g.span, None, None))];
    locations.extend(
        g.bindings
            .iter()
            .map(|b| Json::Object(binding_location(sources, b))),
    );
    json!({
        "level": "note",
        "message": {
            "text": format!(
                "rule {} could not be checked: {} in `{}`{}",
                g.rule,
                if missing.is_empty() {
                    "a field is missing".to_string()
                } else {
                    missing.join("; ")
                },
                g.condition,
                bindings_text(&g.bindings)
            ),
        },
        "locations": locations,
        "descriptor": { "id": "data-gap" },
        "associatedRule": rule_reference(&g.rule, index),
    })
}

/// Renders the report as a SARIF 2.1.0 log (pretty-printed JSON ending with a newline).
///
/// `rules` gives the metadata of every loaded rule (`tool.driver.rules`, sorted by id), also of
/// rules without findings. The output depends only on the report and the rules: the same
/// input gives the same bytes. [`write_sarif`] writes the same log as it is made.
pub fn sarif(report: &Report, sources: &SourceMap, rules: &RuleSet) -> String {
    super::to_string(|out| write_sarif(out, report, sources, rules))
}

/// Writes the SARIF log of [`sarif`] to `out`, a result (or notification) at a time, never
/// holding the whole log.
///
/// # Errors
/// The first error of writing to `out`.
pub fn write_sarif(
    out: &mut dyn std::io::Write,
    report: &Report,
    sources: &SourceMap,
    rules: &RuleSet,
) -> std::io::Result<()> {
    let mut decls: Vec<&crate::syntax::RuleDecl> = rules.iter().collect();
    decls.sort_by(|a, b| a.id.name.cmp(&b.id.name));
    let index = |rule: &str| decls.iter().position(|d| &*d.id.name == rule);
    let descriptors: Vec<Json> = decls
        .iter()
        .map(|d| {
            let title = d
                .title
                .as_ref()
                .map_or_else(|| d.id.name.to_string(), |t| t.text.clone());
            let mut r = Map::new();
            r.insert("id".into(), json!(&*d.id.name));
            r.insert("name".into(), json!(title));
            r.insert("shortDescription".into(), json!({ "text": title }));
            if let Some(reference) = &d.reference {
                r.insert("help".into(), json!({ "text": reference.text }));
            }
            r.insert(
                "defaultConfiguration".into(),
                json!({ "level": sarif_level(d.severity) }),
            );
            r.insert(
                "properties".into(),
                json!({
                    "tags": d.tags.iter().map(|t| &**t).collect::<Vec<_>>(),
                    "severity": d.severity,
                }),
            );
            Json::Object(r)
        })
        .collect();
    // The results and notifications are made one at a time while the log is written: a
    // report of many findings, data gaps or errors is never held as one tree of JSON values
    // (60,000 errors took 1.2 GB that way). The bytes are those of the whole tree
    // pretty-printed: the same objects and lists in the same order.
    let results = Part::Each(Box::new(|| {
        Box::new(
            report
                .findings
                .iter()
                .map(|f| result(f, sources, index(&f.rule))),
        )
    }));
    let notifications = Part::Each(Box::new(|| {
        Box::new(
            report
                .errors
                .iter()
                .map(|e| error_notification(e, sources, index(&e.rule)))
                .chain(
                    report
                        .data_gaps
                        .iter()
                        .map(|g| gap_notification(g, sources, index(&g.rule))),
                ),
        )
    }));
    let tool = json!({
        "driver": {
            "name": "dealrules",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "rules": descriptors,
        },
    });
    let properties = json!({
        "rules": report.rules,
        "facts": report.facts,
        "dataGaps": report.data_gaps.len(),
        "errors": report.errors.len(),
    });
    let invocation = Part::Object(vec![
        (
            "executionSuccessful",
            Part::Value(json!(report.errors.is_empty())),
        ),
        ("toolExecutionNotifications", notifications),
    ]);
    let run = Part::Object(vec![
        ("tool", Part::Value(tool)),
        ("invocations", Part::List(vec![invocation])),
        ("columnKind", Part::Value(json!("unicodeCodePoints"))),
        ("results", results),
        ("properties", Part::Value(properties)),
    ]);
    let doc = Part::Object(vec![
        ("$schema", Part::Value(json!(SCHEMA))),
        ("version", Part::Value(json!("2.1.0"))),
        ("runs", Part::List(vec![run])),
    ]);
    let mut ser = serde_json::Serializer::pretty(&mut *out);
    serde::Serialize::serialize(&doc, &mut ser).map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}

/// A part of the SARIF log, written by `serde_json` as the JSON value it stands for.
enum Part<'a> {
    /// A value made beforehand.
    Value(Json),
    /// A list of the values an iterator gives, each made when it is written.
    Each(Box<dyn Fn() -> Box<dyn Iterator<Item = Json> + 'a> + 'a>),
    /// An object of these entries, in order.
    Object(Vec<(&'static str, Part<'a>)>),
    /// A list of these parts.
    List(Vec<Part<'a>>),
}

impl serde::Serialize for Part<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Part::Value(v) => v.serialize(s),
            Part::Each(make) => {
                let mut list = s.serialize_seq(None)?;
                for item in make() {
                    list.serialize_element(&item)?;
                }
                list.end()
            }
            Part::Object(entries) => {
                let mut object = s.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    object.serialize_entry(key, value)?;
                }
                object.end()
            }
            Part::List(items) => {
                let mut list = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    list.serialize_element(item)?;
                }
                list.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_become_uri_references() {
        assert_eq!(
            uri("examples/ai-compute-2025.deals"),
            "examples/ai-compute-2025.deals"
        );
        assert_eq!(
            uri("my deals/交易.csv"),
            "my%20deals/%E4%BA%A4%E6%98%93.csv"
        );
        assert_eq!(uri(r"C:\deals\a.deals"), "C%3A%5Cdeals%5Ca.deals");
    }

    #[test]
    fn levels_follow_severity() {
        let levels: Vec<&str> = Severity::ALL.into_iter().map(sarif_level).collect();
        assert_eq!(levels, ["error", "error", "warning", "note", "note"]);
    }
}
