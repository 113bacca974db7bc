//! The JSON report. Its shape is documented in `docs/output.md`; decimals are strings so that
//! no reader has to go through a float.

use crate::diag::{SourceMap, Span};
use crate::explain::{Binding, Conversion, DataGap, Detail, EvalError, Finding, TraceStep};
use crate::report::Locate;
use crate::{Report, Severity, Value};
use serde_json::{Map, Value as Json, json};

pub use crate::explain::JSON_FORMAT_VERSION;

fn location(sources: &dyn Locate, span: Span) -> Json {
    match sources.location(span) {
        Some(l) => json!({ "file": l.file, "line": l.line, "column": l.column }),
        None => Json::Null,
    }
}

/// A value as JSON: `{"type": "money", "amount": "100000000000", "currency": "USD",
/// "ceiling": true, "text": "up to 100B USD"}` and similar for each kind; decimals are strings.
pub fn value_json(v: &Value) -> Json {
    let text = v.to_string();
    match v {
        Value::Bool(b) => json!({ "type": "bool", "value": b }),
        Value::Number(d) => {
            json!({ "type": "number", "value": d.normalize().to_string(), "text": text })
        }
        Value::Percent(d) => {
            json!({ "type": "percent", "value": d.normalize().to_string(), "text": text })
        }
        Value::Money(m) => json!({
            "type": "money",
            "amount": m.amount.normalize().to_string(),
            "currency": m.currency.code(),
            "ceiling": m.ceiling,
            "text": text,
        }),
        Value::Quantity(q) => json!({
            "type": "quantity",
            "amount": q.amount.normalize().to_string(),
            "unit": q.unit.to_string(),
            "ceiling": q.ceiling,
            "text": text,
        }),
        Value::Date(d) => json!({ "type": "date", "value": d.to_string() }),
        Value::Timestamp(t) => match t.zone_name() {
            Some(zone) => json!({ "type": "timestamp", "value": t.rfc3339(), "zone": zone }),
            None => json!({ "type": "timestamp", "value": t.rfc3339() }),
        },
        Value::Text(s) => json!({ "type": "text", "value": &**s }),
        Value::Symbol(s, _) => json!({ "type": "name", "value": &**s }),
        Value::List(items) => {
            json!({ "type": "list", "items": items.iter().map(value_json).collect::<Vec<_>>() })
        }
        Value::Record(fields) => {
            let fields: Map<String, Json> = fields
                .iter()
                .map(|(k, v)| (k.to_string(), value_json(v)))
                .collect();
            json!({ "type": "record", "fields": fields })
        }
    }
}

pub(super) fn binding_json(b: &Binding, sources: &dyn Locate) -> Json {
    json!({
        "var": &*b.var,
        "fact": &*b.fact,
        "kind": b.kind.keyword(),
        "location": location(sources, b.span),
    })
}

fn detail(d: &Detail, sources: &dyn Locate) -> Json {
    let fact = |f: &crate::explain::FactRef| json!({ "fact": &*f.fact, "location": location(sources, f.span) });
    match d {
        Detail::Matches(facts) => {
            json!({ "kind": "matches", "facts": facts.iter().map(fact).collect::<Vec<_>>() })
        }
        Detail::Aggregate {
            func,
            counted,
            skipped,
            chosen,
        } => json!({
            "kind": "aggregate",
            "func": func,
            "counted": counted.iter().map(|(f, v)| json!({
                "fact": &*f.fact,
                "location": location(sources, f.span),
                "value": v.as_ref().map_or(Json::Null, value_json),
            })).collect::<Vec<_>>(),
            "skipped": skipped.iter().map(fact).collect::<Vec<_>>(),
            "chosen": chosen,
        }),
        Detail::Element { index, value } => {
            json!({ "kind": "element", "index": index, "value": value_json(value) })
        }
    }
}

pub(super) fn step_json(t: &TraceStep, sources: &dyn Locate) -> Json {
    let mut step = json!({
        "condition": t.condition,
        "holds": t.holds,
        "op": t.op,
        "operands": t.operands.iter().map(|o| json!({
            "expr": o.expr,
            "value": o.value.as_ref().map_or(Json::Null, value_json),
            "detail": o.detail.as_ref().map(|d| detail(d, sources)),
        })).collect::<Vec<_>>(),
        "detail": t.detail.as_ref().map(|d| detail(d, sources)),
        "parts": t.parts.iter().map(|p| step_json(p, sources)).collect::<Vec<_>>(),
        "conversions": t.conversions.iter().map(|c| conversion(c, sources)).collect::<Vec<_>>(),
        "location": location(sources, t.span),
    });
    // Only steps that took a date show `dates`, so that reports without timestamps are unchanged.
    if !t.dates.is_empty()
        && let Some(object) = step.as_object_mut()
    {
        let dates = t.dates.iter().map(|d| {
            json!({
                "expr": d.expr,
                "timestamp": value_json(&d.timestamp),
                "date": d.date.to_string(),
                "zone": &*d.zone,
            })
        });
        object.insert("dates".into(), Json::Array(dates.collect()));
    }
    step
}

pub(super) fn finding(f: &Finding, sources: &dyn Locate) -> Json {
    json!({
        "rule": &*f.rule,
        "severity": f.severity,
        "title": f.title,
        "message": f.message,
        "reference": f.reference,
        "tags": f.tags.iter().map(|t| &**t).collect::<Vec<_>>(),
        "facts": f.facts().collect::<Vec<_>>(),
        "bindings": f.bindings.iter().map(|b| binding_json(b, sources)).collect::<Vec<_>>(),
        "trace": f.trace.iter().map(|t| step_json(t, sources)).collect::<Vec<_>>(),
        "rule_location": location(sources, f.rule_span),
        "fingerprint": f.fingerprint,
        "params": f.params.iter().map(|(n, v)| (n.to_string(), value_json(v))).collect::<Map<String, Json>>(),
        "chains": f.chains.iter().map(|c| json!({
            "var": &*c.var,
            "alternatives": c.alternatives,
            "hops": c.hops.iter().map(|h| json!({
                "from": h.from.as_ref().map_or(Json::Null, value_json),
                "to": h.to.as_ref().map_or(Json::Null, value_json),
                "deal": h.deal.as_ref().map(|d| &*d.fact),
                "deal_location": h.deal.as_ref().map_or(Json::Null, |d| location(sources, d.span)),
                "amount": h.amount.as_ref().map_or(Json::Null, value_json),
                "date": h.date.as_ref().map_or(Json::Null, value_json),
                "derived_by": h.derived_by,
                "derived_at": location(sources, h.derived_at),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "note": (f.chains.iter().any(|c| c.hops.len() > 1)).then_some(
            "money is fungible; a cycle shows the capacity for round-tripping, not proof that the same dollars moved"
        ),
    })
}

fn conversion(c: &Conversion, sources: &dyn Locate) -> Json {
    json!({
        "from": c.base.code(),
        "to": c.quote.code(),
        "rate": c.rate.normalize().to_string(),
        "date": c.date.map(|d| d.to_string()),
        "location": location(sources, c.span),
    })
}

fn gap(g: &DataGap, sources: &SourceMap) -> Json {
    json!({
        "rule": &*g.rule,
        "facts": g.bindings.iter().map(|b| &*b.fact).collect::<Vec<_>>(),
        "bindings": g.bindings.iter().map(|b| binding_json(b, sources)).collect::<Vec<_>>(),
        "condition": g.condition,
        "location": location(sources, g.span),
        "missing": g.missing.iter().map(|m| json!({
            "fact": &*m.fact,
            "field": &*m.field,
            "declared": m.declared,
        })).collect::<Vec<_>>(),
    })
}

fn error(e: &EvalError, sources: &SourceMap) -> Json {
    json!({
        "rule": &*e.rule,
        "message": e.message,
        "expr": e.expr,
        "location": location(sources, e.span),
        "bindings": e.bindings.iter().map(|b| binding_json(b, sources)).collect::<Vec<_>>(),
    })
}

/// Renders the report as pretty-printed JSON (see `docs/output.md` for the schema), ending with
/// a newline.
pub fn json(report: &Report, sources: &SourceMap) -> String {
    let mut by_severity = Map::new();
    for s in Severity::ALL {
        let n = report.findings.iter().filter(|f| f.severity == s).count();
        by_severity.insert(s.name().to_string(), json!(n));
    }
    let doc = json!({
        "version": JSON_FORMAT_VERSION,
        "summary": {
            "findings": report.findings.len(),
            "by_severity": by_severity,
            "data_gaps": report.data_gaps.len(),
            "errors": report.errors.len(),
            "rules": report.rules,
            "facts": report.facts,
        },
        "findings": report.findings.iter().map(|f| finding(f, sources)).collect::<Vec<_>>(),
        "data_gaps": report.data_gaps.iter().map(|g| gap(g, sources)).collect::<Vec<_>>(),
        "errors": report.errors.iter().map(|e| error(e, sources)).collect::<Vec<_>>(),
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}
