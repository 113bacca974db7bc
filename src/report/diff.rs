//! Renderers of a [`Diff`]: text for people, JSON for programs, Markdown for a pull request.
//! Each finding is shown with the pieces of the `run` reports, located as its own report
//! says.

use crate::Severity;
use crate::diag::Colour;
use crate::diff::{ChangeKind, Diff, Entry, Part, PartChange, SavedReport};
use crate::explain::Finding;
use crate::report::{Locate, json, markdown, text};
use anstyle::AnsiColor;
use serde_json::{Map, Value as Json, json};
use std::fmt::Write as _;

/// Version of the JSON diff format; raised on any incompatible change.
pub const DIFF_FORMAT_VERSION: u32 = 1;

/// Widest `old → new` shown on one line; longer changes get a `was` and a `now` line.
const INLINE_CHANGE: usize = 60;

fn marker(kind: ChangeKind) -> (&'static str, AnsiColor) {
    match kind {
        ChangeKind::Appeared => ("+", AnsiColor::Green),
        ChangeKind::Disappeared => ("-", AnsiColor::Red),
        ChangeKind::Changed => ("~", AnsiColor::Yellow),
    }
}

/// The finding to show for an entry and the report that locates it.
fn shown<'a>(diff: &'a Diff, e: &Entry) -> Option<(&'a Finding, &'a dyn Locate)> {
    match diff.new_finding(e) {
        Some(f) => Some((f, &diff.new.places)),
        None => diff.old_finding(e).map(|f| (f, &diff.old.places as _)),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1 appeared, 1 disappeared, 2 changed, 3 unchanged (old: 6 findings, new: 6 findings)`,
/// then the counts of data gaps and evaluation errors where they differ or are not zero.
pub fn diff_summary(diff: &Diff) -> String {
    let count = |k| diff.of_kind(k).count();
    let mut line = format!(
        "{} appeared, {} disappeared, {} changed, {} unchanged (old: {}, new: {})",
        count(ChangeKind::Appeared),
        count(ChangeKind::Disappeared),
        count(ChangeKind::Changed),
        diff.unchanged,
        plural(diff.old.findings.len(), "finding", "findings"),
        plural(diff.new.findings.len(), "finding", "findings"),
    );
    if diff.old.data_gaps != diff.new.data_gaps {
        let _ = write!(
            line,
            "; data gaps: {} → {}",
            diff.old.data_gaps, diff.new.data_gaps
        );
    }
    if diff.old.errors > 0 || diff.new.errors > 0 {
        let _ = write!(
            line,
            "; evaluation errors: {} → {}",
            diff.old.errors, diff.new.errors
        );
    }
    line
}

/// `  changed`, then one line per part: `severity   medium → high`, or a `was` and a `now`
/// line for long texts.
fn change_lines(out: &mut String, changes: &[PartChange]) {
    if changes.is_empty() {
        return;
    }
    let _ = writeln!(out, "  changed");
    let width = changes
        .iter()
        .map(|c| c.part.label().chars().count())
        .max()
        .unwrap_or(0);
    for c in changes {
        let label = c.part.label();
        let pad = " ".repeat(width - label.chars().count());
        if c.old.chars().count() + c.new.chars().count() <= INLINE_CHANGE {
            let _ = writeln!(out, "    {label}{pad}   {} → {}", c.old, c.new);
        } else {
            let _ = writeln!(out, "    {label}{pad}   was {}", c.old);
            let _ = writeln!(out, "    {}   now {}", " ".repeat(width), c.new);
        }
    }
}

/// Renders the diff as text: each appeared (`+`), disappeared (`-`) and changed (`~`)
/// finding as in the `run` text report (a changed one with what changed, old → new, before
/// its new explanation), then a summary line.
pub fn diff_text(diff: &Diff, colour: Colour) -> String {
    let mut out = String::new();
    for e in &diff.entries {
        let Some((f, places)) = shown(diff, e) else {
            continue;
        };
        if !out.is_empty() {
            out.push('\n');
        }
        let (mark, style) = marker(e.kind);
        let _ = write!(
            out,
            "{} ",
            text::paint(colour, style.on_default().bold(), mark)
        );
        text::finding_head(&mut out, f, colour);
        change_lines(&mut out, &e.changes);
        text::finding_body(&mut out, f, places);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&diff_summary(diff));
    out.push('\n');
    out
}

fn counts_json(r: &SavedReport) -> Json {
    json!({
        "findings": r.findings.len(),
        "data_gaps": r.data_gaps,
        "errors": r.errors,
        "rules": r.rules,
        "facts": r.facts,
    })
}

fn change_json(c: &PartChange) -> Json {
    json!({
        "part": c.part.name(),
        "subject": c.part.subject(),
        "old": c.old,
        "new": c.new,
    })
}

/// Renders the diff as pretty-printed JSON (described in `docs/output.md`, schema in
/// `docs/diff.schema.json`), ending with a newline. Findings are the `FINDING` objects of the
/// JSON report.
pub fn diff_json(diff: &Diff) -> String {
    let mut by_severity = Map::new();
    for s in Severity::ALL {
        let counts: Map<String, Json> = ChangeKind::ALL
            .into_iter()
            .map(|k| (k.name().to_string(), json!(diff.count(k, s))))
            .collect();
        by_severity.insert(s.name().to_string(), Json::Object(counts));
    }
    let findings = |kind| {
        diff.of_kind(kind)
            .filter_map(|e| shown(diff, e).map(|(f, places)| json::finding(f, places)))
            .collect::<Vec<_>>()
    };
    let changed: Vec<Json> = diff
        .of_kind(ChangeKind::Changed)
        .filter_map(|e| {
            let old = diff.old_finding(e)?;
            let new = diff.new_finding(e)?;
            Some(json!({
                "fingerprint": e.fingerprint,
                "rule": &*new.rule,
                "changes": e.changes.iter().map(change_json).collect::<Vec<_>>(),
                "old": json::finding(old, &diff.old.places),
                "new": json::finding(new, &diff.new.places),
            }))
        })
        .collect();
    let doc = json!({
        "version": DIFF_FORMAT_VERSION,
        "summary": {
            "appeared": diff.of_kind(ChangeKind::Appeared).count(),
            "disappeared": diff.of_kind(ChangeKind::Disappeared).count(),
            "changed": changed.len(),
            "unchanged": diff.unchanged,
            "by_severity": by_severity,
            "old": counts_json(&diff.old),
            "new": counts_json(&diff.new),
        },
        "appeared": findings(ChangeKind::Appeared),
        "disappeared": findings(ChangeKind::Disappeared),
        "changed": changed,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

/// A changed part as a Markdown table cell: text parts escaped, the others as code spans.
fn md_value(part: &Part, text: &str) -> String {
    match part {
        Part::Title | Part::Message => markdown::message(text),
        _ => markdown::cell(text),
    }
}

/// Renders the diff as GitHub-flavoured Markdown: a title, the summary line, a table of the
/// counts by severity and change kind, then a section per kind with each finding as in the
/// `run` Markdown report (a changed one with a table of what changed, old and new).
pub fn diff_markdown(diff: &Diff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# dealrules diff\n");
    let _ = writeln!(out, "{}\n", markdown::escape(&diff_summary(diff)));
    let _ = writeln!(out, "| severity | appeared | disappeared | changed |");
    let _ = writeln!(out, "|---|---:|---:|---:|");
    for s in Severity::ALL {
        let counts: Vec<String> = ChangeKind::ALL
            .into_iter()
            .map(|k| diff.count(k, s).to_string())
            .collect();
        let _ = writeln!(out, "| {s} | {} |", counts.join(" | "));
    }
    let totals: Vec<String> = ChangeKind::ALL
        .into_iter()
        .map(|k| format!("**{}**", diff.of_kind(k).count()))
        .collect();
    let _ = writeln!(out, "| **total** | {} |", totals.join(" | "));
    for kind in ChangeKind::ALL {
        let mut entries = diff.of_kind(kind).peekable();
        if entries.peek().is_none() {
            continue;
        }
        let title = match kind {
            ChangeKind::Appeared => "Appeared",
            ChangeKind::Disappeared => "Disappeared",
            ChangeKind::Changed => "Changed",
        };
        if !out.ends_with("\n\n") {
            out.push('\n');
        }
        let _ = writeln!(out, "## {title}\n");
        for e in entries {
            let Some((f, places)) = shown(diff, e) else {
                continue;
            };
            markdown::finding_heading(&mut out, f);
            if !e.changes.is_empty() {
                let _ = writeln!(out, "| changed | old | new |");
                let _ = writeln!(out, "|---|---|---|");
                for c in &e.changes {
                    let label = match c.part.subject() {
                        Some(s) => format!("{} {}", c.part.name(), markdown::code(s)),
                        None => c.part.name().to_string(),
                    };
                    let _ = writeln!(
                        out,
                        "| {label} | {} | {} |",
                        md_value(&c.part, &c.old),
                        md_value(&c.part, &c.new)
                    );
                }
                out.push('\n');
            }
            markdown::finding_body(&mut out, f, places);
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
