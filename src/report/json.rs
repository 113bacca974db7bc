//! The JSON report. Its shape is documented in `docs/output.md`; decimals are strings so that
//! no reader has to go through a float.
//!
//! Every part of the report is written by a `Serialize` view over the report's own data (the
//! views below): the whole report is streamed straight into its text, never built as a tree of
//! `serde_json::Value`s first. The functions that return a `serde_json::Value` (for the reports
//! that embed a finding or a value, such as SARIF and `why`) go through the same views.

use crate::diag::{SourceMap, Span};
use crate::explain::{
    Binding, Chain, Conversion, DataGap, DateTaken, Detail, EvalError, FactRef, Finding, Hop,
    MissingField, Operand, TraceStep,
};
use crate::report::Locate;
use crate::value::Name;
use crate::{Report, Severity, Value};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value as Json;

pub use crate::explain::JSON_FORMAT_VERSION;

/// A map written entry by entry: `map!(serializer, "key" => value, ...)`.
macro_rules! map {
    ($s:expr, $($key:literal => $value:expr),* $(,)?) => {{
        let mut m = $s.serialize_map(None)?;
        $(m.serialize_entry($key, &$value)?;)*
        m.end()
    }};
}

/// A list of `T`s, each written through the view `F` makes of it.
struct Each<'a, T, F>(&'a [T], F);

impl<'a, T, V: Serialize, F: Fn(&'a T) -> V> Serialize for Each<'a, T, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(&self.1))
    }
}

/// Where `span` starts, `{"file", "line", "column"}`, or `null`.
struct Loc<'a>(&'a dyn Locate, Span);

impl Serialize for Loc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.location(self.1) {
            Some(l) => map!(s, "file" => l.file, "line" => l.line, "column" => l.column),
            None => s.serialize_none(),
        }
    }
}

/// A value: see [`value_json`].
struct Val<'a>(&'a Value);

impl Serialize for Val<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let text = || v.to_string();
        match v {
            Value::Bool(b) => map!(s, "type" => "bool", "value" => b),
            Value::Number(d) => {
                map!(s, "type" => "number", "value" => d.normalize().to_string(), "text" => text())
            }
            Value::Percent(d) => {
                map!(s, "type" => "percent", "value" => d.normalize().to_string(), "text" => text())
            }
            Value::Money(m) => map!(s,
                "type" => "money",
                "amount" => m.amount.normalize().to_string(),
                "currency" => m.currency.code(),
                "ceiling" => m.ceiling,
                "text" => text(),
            ),
            Value::Quantity(q) => map!(s,
                "type" => "quantity",
                "amount" => q.amount.normalize().to_string(),
                "unit" => q.unit.to_string(),
                "ceiling" => q.ceiling,
                "text" => text(),
            ),
            Value::Date(d) => map!(s, "type" => "date", "value" => d.to_string()),
            Value::Timestamp(t) => match t.zone_name() {
                Some(zone) => {
                    map!(s, "type" => "timestamp", "value" => t.rfc3339(), "zone" => zone)
                }
                None => map!(s, "type" => "timestamp", "value" => t.rfc3339()),
            },
            Value::Text(t) => map!(s, "type" => "text", "value" => &**t),
            Value::Symbol(n, _) => map!(s, "type" => "name", "value" => &**n),
            Value::List(items) => map!(s, "type" => "list", "items" => Each(items, Val)),
            Value::Record(fields) => map!(s, "type" => "record", "fields" => Fields(fields)),
        }
    }
}

/// The fields of a record value, by name, in written order.
struct Fields<'a>(&'a indexmap::IndexMap<Name, Value>);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (&**k, Val(v))))
    }
}

/// A name's text.
fn text(n: &Name) -> &str {
    n
}

/// The id of the fact a binding is bound to.
fn bound_fact(b: &Binding) -> &str {
    &b.fact
}

/// An optional value: the value, or `null`.
fn opt(v: &Option<Value>) -> Option<Val<'_>> {
    v.as_ref().map(Val)
}

/// A value as JSON: `{"type": "money", "amount": "100000000000", "currency": "USD",
/// "ceiling": true, "text": "up to 100B USD"}` and similar for each kind; decimals are strings.
pub fn value_json(v: &Value) -> Json {
    serde_json::to_value(Val(v)).unwrap_or(Json::Null)
}

struct BindingView<'a>(&'a Binding, &'a dyn Locate);

impl Serialize for BindingView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let BindingView(b, sources) = *self;
        map!(s,
            "var" => &*b.var,
            "fact" => &*b.fact,
            "kind" => b.kind.keyword(),
            "location" => Loc(sources, b.span),
        )
    }
}

pub(super) fn binding_json(b: &Binding, sources: &dyn Locate) -> Json {
    serde_json::to_value(BindingView(b, sources)).unwrap_or(Json::Null)
}

/// The bindings of a finding, a data gap or an error.
fn bindings<'a>(
    bs: &'a [Binding],
    sources: &'a dyn Locate,
) -> Each<'a, Binding, impl Fn(&'a Binding) -> BindingView<'a>> {
    Each(bs, move |b| BindingView(b, sources))
}

struct FactView<'a>(&'a FactRef, &'a dyn Locate);

impl Serialize for FactView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let FactView(f, sources) = *self;
        map!(s, "fact" => &*f.fact, "location" => Loc(sources, f.span))
    }
}

struct Counted<'a>(&'a (FactRef, Option<Value>), &'a dyn Locate);

impl Serialize for Counted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Counted((f, v), sources) = *self;
        map!(s,
            "fact" => &*f.fact,
            "location" => Loc(sources, f.span),
            "value" => opt(v),
        )
    }
}

struct DetailView<'a>(&'a Detail, &'a dyn Locate);

impl Serialize for DetailView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let DetailView(d, sources) = *self;
        let fact = move |f| FactView(f, sources);
        match d {
            Detail::Matches(facts) => map!(s, "kind" => "matches", "facts" => Each(facts, fact)),
            Detail::Aggregate {
                func,
                counted,
                skipped,
                chosen,
            } => map!(s,
                "kind" => "aggregate",
                "func" => func,
                "counted" => Each(counted, |c| Counted(c, sources)),
                "skipped" => Each(skipped, fact),
                "chosen" => chosen,
            ),
            Detail::Element { index, value } => {
                map!(s, "kind" => "element", "index" => index, "value" => Val(value))
            }
        }
    }
}

fn detail<'a>(d: &'a Option<Detail>, sources: &'a dyn Locate) -> Option<DetailView<'a>> {
    d.as_ref().map(|d| DetailView(d, sources))
}

struct OperandView<'a>(&'a Operand, &'a dyn Locate);

impl Serialize for OperandView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let OperandView(o, sources) = *self;
        map!(s,
            "expr" => &*o.expr,
            "value" => opt(&o.value),
            "detail" => detail(&o.detail, sources),
        )
    }
}

struct DateView<'a>(&'a DateTaken);

impl Serialize for DateView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        map!(s,
            "expr" => &*d.expr,
            "timestamp" => Val(&d.timestamp),
            "date" => d.date.to_string(),
            "zone" => &*d.zone,
        )
    }
}

struct StepView<'a>(&'a TraceStep, &'a dyn Locate);

impl Serialize for StepView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let StepView(t, sources) = *self;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("condition", &*t.condition)?;
        m.serialize_entry("holds", &t.holds)?;
        m.serialize_entry("op", &t.op)?;
        m.serialize_entry("operands", &Each(&t.operands, |o| OperandView(o, sources)))?;
        m.serialize_entry("detail", &detail(&t.detail, sources))?;
        m.serialize_entry("parts", &Each(&t.parts, |p| StepView(p, sources)))?;
        m.serialize_entry(
            "conversions",
            &Each(&t.conversions, |c| ConversionView(c, sources)),
        )?;
        m.serialize_entry("location", &Loc(sources, t.span))?;
        // Only steps that took a date show `dates`, so that reports without timestamps are
        // unchanged.
        if !t.dates.is_empty() {
            m.serialize_entry("dates", &Each(&t.dates, DateView))?;
        }
        m.end()
    }
}

pub(super) fn step_json(t: &TraceStep, sources: &dyn Locate) -> Json {
    serde_json::to_value(StepView(t, sources)).unwrap_or(Json::Null)
}

struct HopView<'a>(&'a Hop, &'a dyn Locate);

impl Serialize for HopView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let HopView(h, sources) = *self;
        map!(s,
            "from" => opt(&h.from),
            "to" => opt(&h.to),
            "deal" => h.deal.as_ref().map(|d| &*d.fact),
            "deal_location" => h.deal.as_ref().map(|d| Loc(sources, d.span)),
            "amount" => opt(&h.amount),
            "date" => opt(&h.date),
            "derived_by" => h.derived_by,
            "derived_at" => Loc(sources, h.derived_at),
        )
    }
}

struct ChainView<'a>(&'a Chain, &'a dyn Locate);

impl Serialize for ChainView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ChainView(c, sources) = *self;
        map!(s,
            "var" => &*c.var,
            "alternatives" => c.alternatives,
            "hops" => Each(&c.hops, |h| HopView(h, sources)),
        )
    }
}

/// The parameters of a finding's rule, by name.
struct Params<'a>(&'a [(Name, Value)]);

impl Serialize for Params<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(n, v)| (&**n, Val(v))))
    }
}

struct FindingView<'a>(&'a Finding, &'a dyn Locate);

impl Serialize for FindingView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let FindingView(f, sources) = *self;
        let facts: Vec<&str> = f.facts().collect();
        map!(s,
            "rule" => &*f.rule,
            "severity" => f.severity,
            "title" => f.title,
            "message" => f.message,
            "reference" => f.reference,
            "tags" => Each(&f.tags, text),
            "facts" => facts,
            "bindings" => bindings(&f.bindings, sources),
            "trace" => Each(&f.trace, |t| StepView(t, sources)),
            "rule_location" => Loc(sources, f.rule_span),
            "fingerprint" => f.fingerprint,
            "params" => Params(&f.params),
            "chains" => Each(&f.chains, |c| ChainView(c, sources)),
            "note" => f.chains.iter().any(|c| c.hops.len() > 1).then_some(
                "money is fungible; a cycle shows the capacity for round-tripping, not proof that the same dollars moved"
            ),
        )
    }
}

pub(super) fn finding(f: &Finding, sources: &dyn Locate) -> Json {
    serde_json::to_value(FindingView(f, sources)).unwrap_or(Json::Null)
}

struct ConversionView<'a>(&'a Conversion, &'a dyn Locate);

impl Serialize for ConversionView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ConversionView(c, sources) = *self;
        map!(s,
            "from" => c.base.code(),
            "to" => c.quote.code(),
            "rate" => c.rate.normalize().to_string(),
            "date" => c.date.map(|d| d.to_string()),
            "location" => Loc(sources, c.span),
        )
    }
}

struct MissingView<'a>(&'a MissingField);

impl Serialize for MissingView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        map!(s, "fact" => &*m.fact, "field" => &*m.field, "declared" => m.declared)
    }
}

struct GapView<'a>(&'a DataGap, &'a dyn Locate);

impl Serialize for GapView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let GapView(g, sources) = *self;
        map!(s,
            "rule" => &*g.rule,
            "facts" => Each(&g.bindings, bound_fact),
            "bindings" => bindings(&g.bindings, sources),
            "condition" => &*g.condition,
            "location" => Loc(sources, g.span),
            "missing" => Each(&g.missing, MissingView),
        )
    }
}

struct ErrorView<'a>(&'a EvalError, &'a dyn Locate);

impl Serialize for ErrorView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ErrorView(e, sources) = *self;
        map!(s,
            "rule" => &*e.rule,
            "message" => e.message,
            "expr" => &*e.expr,
            "location" => Loc(sources, e.span),
            "bindings" => bindings(&e.bindings, sources),
        )
    }
}

/// How many findings there are of each severity, by severity name.
struct BySeverity<'a>(&'a [Finding]);

impl Serialize for BySeverity<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(Severity::ALL.iter().map(|&sev| {
            let n = self.0.iter().filter(|f| f.severity == sev).count();
            (sev.name(), n)
        }))
    }
}

struct Summary<'a>(&'a Report);

impl Serialize for Summary<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        map!(s,
            "findings" => r.findings.len(),
            "by_severity" => BySeverity(&r.findings),
            "data_gaps" => r.data_gaps.len(),
            "errors" => r.errors.len(),
            "rules" => r.rules,
            "facts" => r.facts,
        )
    }
}

struct ReportView<'a>(&'a Report, &'a SourceMap);

impl Serialize for ReportView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ReportView(r, sources) = *self;
        let sources: &dyn Locate = sources;
        map!(s,
            "version" => JSON_FORMAT_VERSION,
            "summary" => Summary(r),
            "findings" => Each(&r.findings, |f| FindingView(f, sources)),
            "data_gaps" => Each(&r.data_gaps, |g| GapView(g, sources)),
            "errors" => Each(&r.errors, |e| ErrorView(e, sources)),
        )
    }
}

/// Renders the report as pretty-printed JSON (see `docs/output.md` for the schema), ending with
/// a newline. The text is written as the report is walked, with no tree of JSON values between.
/// [`write_json`] writes the same text as it is made.
pub fn json(report: &Report, sources: &SourceMap) -> String {
    super::to_string(|out| write_json(out, report, sources))
}

/// Writes the JSON of [`json`] to `out` as the report is walked, never holding the whole text.
///
/// # Errors
/// The first error of writing to `out` (every key is a string: making the JSON cannot fail).
pub fn write_json(
    out: &mut dyn std::io::Write,
    report: &Report,
    sources: &SourceMap,
) -> std::io::Result<()> {
    let mut ser = serde_json::Serializer::pretty(&mut *out);
    ReportView(report, sources)
        .serialize(&mut ser)
        .map_err(std::io::Error::from)?;
    out.write_all(b"\n")
}
