//! Rendering of `dealrules why`: each condition of a rule on chosen facts, and whether it held.

use crate::Why;
use crate::diag::{Colour, SourceMap};
use crate::explain::TraceStep;
use crate::report::json::{binding_json, step_json};
use crate::report::text::{binding_lines, conversion, date_taken, place, values};
use serde_json::{Value as Json, json};
use std::fmt::Write as _;

fn verdict(step: &TraceStep) -> &'static str {
    match step.holds {
        Some(true) => "holds  ",
        Some(false) => "fails  ",
        None => "unknown",
    }
}

/// The text form: the bindings (given or found), then the conditions in written order up to
/// the first that does not hold (all of them with `all`), then the verdict.
pub fn why_text(why: &Why, sources: &SourceMap, all: bool, _colour: Colour) -> String {
    let a = &why.answer;
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", why.rule, why.title);
    binding_lines(&mut out, &a.bindings, sources);
    if why.given < a.bindings.len() {
        let _ = writeln!(
            out,
            "  ({} binding(s) not given: the closest of {} combination(s) is shown)",
            a.bindings.len() - why.given,
            a.tried
        );
    }
    let _ = writeln!(out, "  conditions");
    let width = a
        .steps
        .iter()
        .map(|s| s.condition.chars().count())
        .max()
        .unwrap_or(0);
    let mut first_failure = None;
    for s in &a.steps {
        let pad = width - s.condition.chars().count();
        let _ = writeln!(
            out,
            "    {} {}{}   {}",
            verdict(s),
            s.condition,
            " ".repeat(pad),
            values(s)
        );
        // The exchange rates used and the dates taken, under the values, as a finding shows them.
        let under = " ".repeat("unknown".len() + 1 + width);
        for c in &s.conversions {
            let _ = writeln!(out, "    {under}   {}", conversion(c, sources));
        }
        for d in &s.dates {
            let _ = writeln!(out, "    {under}   {}", date_taken(d));
        }
        if s.holds != Some(true) && first_failure.is_none() {
            first_failure = Some(s);
            if !all {
                break;
            }
        }
    }
    match (first_failure, &a.finding) {
        (None, Some(f)) => {
            let _ = writeln!(out, "  fires: {}", f.message);
        }
        (Some(s), _) => {
            let why_not = if s.holds == Some(false) {
                "is false"
            } else {
                "is unknown (a field is missing)"
            };
            let _ = writeln!(out, "  does not fire: `{}` {why_not}", s.condition);
        }
        (None, None) => {}
    }
    let _ = writeln!(out, "  rule {}", place(sources, why.rule_span));
    out
}

/// The JSON form: `{"rule", "fires", "message", "bindings", "conditions", "first_failure"}`.
pub fn why_json(why: &Why, sources: &SourceMap) -> String {
    let a = &why.answer;
    let first_failure = a.steps.iter().position(|s| s.holds != Some(true));
    let doc = json!({
        "rule": &*why.rule,
        "title": why.title,
        "fires": a.finding.is_some(),
        "message": a.finding.as_ref().map(|f| f.message.clone()),
        "bindings": a.bindings.iter().map(|b| binding_json(b, sources)).collect::<Vec<_>>(),
        "given": why.given,
        "tried": a.tried,
        "conditions": a.steps.iter().map(|s| step_json(s, sources)).collect::<Vec<_>>(),
        "first_failure": first_failure.map_or(Json::Null, |i| json!(i)),
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}
