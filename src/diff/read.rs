//! Reading a JSON report (`run --format json`, version [`JSON_FORMAT_VERSION`]) back into
//! findings, with their locations in a table, so that the renderers show them as `run` did.

use crate::diag::Locate;
use crate::diag::{FileId, Location, Span};
use crate::explain::JSON_FORMAT_VERSION;
use crate::explain::{
    Binding, Chain, Conversion, Detail, FactRef, Finding, Hop, Operand, TraceStep, fingerprint,
};
use crate::value::{Currency, Money, Name, Quantity, Unit, Value};
use crate::{FactKind, Severity};
use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value as Json;
use std::str::FromStr;
use std::sync::Arc;

/// A JSON report read back: its findings, in the report's order, and its counts.
#[derive(Debug, Default)]
pub struct SavedReport {
    /// The findings; their spans point into `places`.
    pub findings: Vec<Finding>,
    /// Where the findings' facts, rules and conditions are written, as the report says.
    pub places: Places,
    /// The number of rules evaluated (`summary.rules`).
    pub rules: usize,
    /// The number of facts (`summary.facts`).
    pub facts: usize,
    /// The number of data gaps (`summary.data_gaps`).
    pub data_gaps: usize,
    /// The number of evaluation errors (`summary.errors`).
    pub errors: usize,
}

/// The locations of a report read back. A span made by [`Places::add`] resolves to the
/// location it was made from.
#[derive(Debug, Default)]
pub struct Places {
    locations: Vec<Location>,
}

impl Places {
    /// Records a location and returns a span that resolves to it; `None` gives a span
    /// without a place (a fact added in code).
    pub fn add(&mut self, location: Option<Location>) -> Span {
        let Some(l) = location else {
            return Span::none();
        };
        let index = self.locations.len();
        self.locations.push(l);
        Span::new(FileId::new(0), index..index)
    }
}

impl Locate for Places {
    fn location(&self, span: Span) -> Option<Location> {
        span.file?;
        self.locations.get(span.start as usize).cloned()
    }
}

/// Why a file could not be read as a JSON report. Each names the file; errors in the JSON
/// text give its line and column, errors in a finding give its JSON pointer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not JSON at all.
    #[error("`{name}` is not JSON: {message} at line {line} column {column}")]
    NotJson {
        /// The file name.
        name: String,
        /// What the JSON parser says.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// JSON, but not a dealrules report (no `version`, or not an object).
    #[error(
        "`{name}` is not a dealrules JSON report: {reason} (make one with `dealrules run --format json`)"
    )]
    NotAReport {
        /// The file name.
        name: String,
        /// What is missing.
        reason: String,
    },
    /// A report of a format version this program does not read.
    #[error(
        "`{name}` is a dealrules JSON report of version {found}; this dealrules reads version {supported} (run both versions with the same dealrules)"
    )]
    UnsupportedVersion {
        /// The file name.
        name: String,
        /// The version found.
        found: String,
        /// The version read.
        supported: u32,
    },
    /// A report whose shape differs from the schema at a place in the text.
    #[error(
        "`{name}` is not a valid dealrules JSON report: {message} at line {line} column {column}"
    )]
    Shape {
        /// The file name.
        name: String,
        /// What serde says.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A member with a value this version does not know, or a fingerprint that does not match.
    #[error("`{name}` at `{pointer}`: {message}")]
    Invalid {
        /// The file name.
        name: String,
        /// The JSON pointer of the member (`/findings/2/severity`).
        pointer: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize)]
struct Doc {
    summary: SummaryDoc,
    findings: Vec<FindingDoc>,
}

#[derive(Deserialize)]
struct SummaryDoc {
    rules: usize,
    facts: usize,
    data_gaps: usize,
    errors: usize,
}

#[derive(Deserialize)]
struct LocationDoc {
    file: String,
    line: usize,
    column: usize,
}

#[derive(Deserialize)]
struct BindingDoc {
    var: String,
    fact: String,
    kind: String,
    location: Option<LocationDoc>,
}

#[derive(Deserialize)]
struct FactRefDoc {
    fact: String,
    location: Option<LocationDoc>,
}

#[derive(Deserialize)]
struct CountedDoc {
    fact: String,
    location: Option<LocationDoc>,
    value: Option<Json>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum DetailDoc {
    Matches {
        facts: Vec<FactRefDoc>,
    },
    Aggregate {
        func: String,
        counted: Vec<CountedDoc>,
        skipped: Vec<FactRefDoc>,
        chosen: Option<usize>,
    },
    Element {
        index: usize,
        value: Json,
    },
}

#[derive(Deserialize)]
struct OperandDoc {
    expr: String,
    value: Option<Json>,
    detail: Option<DetailDoc>,
}

#[derive(Deserialize)]
struct ConversionDoc {
    from: String,
    to: String,
    rate: String,
    date: Option<String>,
    location: Option<LocationDoc>,
}

#[derive(Deserialize)]
struct StepDoc {
    condition: String,
    holds: Option<bool>,
    op: Option<String>,
    operands: Vec<OperandDoc>,
    detail: Option<DetailDoc>,
    parts: Vec<StepDoc>,
    conversions: Vec<ConversionDoc>,
    #[serde(default)]
    dates: Vec<DateDoc>,
    location: Option<LocationDoc>,
}

/// A date taken of a timestamp in a trace step (only in steps that took one).
#[derive(Deserialize)]
struct DateDoc {
    expr: String,
    timestamp: Json,
    date: String,
    zone: String,
}

#[derive(Deserialize)]
struct HopDoc {
    from: Option<Json>,
    to: Option<Json>,
    deal: Option<String>,
    deal_location: Option<LocationDoc>,
    amount: Option<Json>,
    date: Option<Json>,
    derived_by: String,
    derived_at: Option<LocationDoc>,
}

#[derive(Deserialize)]
struct ChainDoc {
    var: String,
    alternatives: usize,
    hops: Vec<HopDoc>,
}

#[derive(Deserialize)]
struct FindingDoc {
    rule: String,
    severity: String,
    title: String,
    message: String,
    reference: Option<String>,
    tags: Vec<String>,
    facts: Vec<String>,
    bindings: Vec<BindingDoc>,
    trace: Vec<StepDoc>,
    rule_location: Option<LocationDoc>,
    fingerprint: String,
    params: serde_json::Map<String, Json>,
    chains: Vec<ChainDoc>,
}

/// Operators and connectives a trace step may carry.
const OPS: [&str; 10] = ["and", "or", "not", "==", "!=", "<", "<=", ">", ">=", "in"];

/// Aggregate functions.
const FUNCS: [&str; 5] = ["sum", "count", "min", "max", "avg"];

/// Reads the text of a JSON report named `name` (for messages). Every problem in the
/// findings is reported, not only the first.
pub fn read_report(name: &str, text: &str) -> Result<SavedReport, Vec<ReadError>> {
    let whole: Json = serde_json::from_str(text).map_err(|e| {
        vec![ReadError::NotJson {
            name: name.to_string(),
            message: message_of(&e),
            line: e.line(),
            column: e.column(),
        }]
    })?;
    let Some(object) = whole.as_object() else {
        return Err(vec![ReadError::NotAReport {
            name: name.to_string(),
            reason: "it is not a JSON object".to_string(),
        }]);
    };
    match object.get("version") {
        None => {
            return Err(vec![ReadError::NotAReport {
                name: name.to_string(),
                reason: "it has no `version` member".to_string(),
            }]);
        }
        Some(v) if v.as_u64() != Some(u64::from(JSON_FORMAT_VERSION)) => {
            return Err(vec![ReadError::UnsupportedVersion {
                name: name.to_string(),
                found: v.to_string(),
                supported: JSON_FORMAT_VERSION,
            }]);
        }
        Some(_) => {}
    }
    let doc: Doc = serde_json::from_str(text).map_err(|e| {
        vec![ReadError::Shape {
            name: name.to_string(),
            message: message_of(&e),
            line: e.line(),
            column: e.column(),
        }]
    })?;
    let mut reader = Reader {
        name,
        places: Places::default(),
        errors: Vec::new(),
    };
    let mut findings = Vec::new();
    let mut seen: IndexMap<String, usize> = IndexMap::new();
    for (i, f) in doc.findings.into_iter().enumerate() {
        let at = format!("/findings/{i}");
        if let Some(first) = seen.insert(f.fingerprint.clone(), i) {
            reader.error(
                &format!("{at}/fingerprint"),
                format!(
                    "fingerprint `{}` is also the fingerprint of finding {first}",
                    f.fingerprint
                ),
            );
        }
        if let Some(finding) = reader.finding(f, &at) {
            findings.push(finding);
        }
    }
    if !reader.errors.is_empty() {
        return Err(reader.errors);
    }
    Ok(SavedReport {
        findings,
        places: reader.places,
        rules: doc.summary.rules,
        facts: doc.summary.facts,
        data_gaps: doc.summary.data_gaps,
        errors: doc.summary.errors,
    })
}

/// serde_json's message without its trailing ` at line L column C`.
fn message_of(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

struct Reader<'a> {
    name: &'a str,
    places: Places,
    errors: Vec<ReadError>,
}

impl Reader<'_> {
    fn error(&mut self, pointer: &str, message: String) {
        self.errors.push(ReadError::Invalid {
            name: self.name.to_string(),
            pointer: pointer.to_string(),
            message,
        });
    }

    fn place(&mut self, l: Option<LocationDoc>) -> Span {
        self.places.add(l.map(|l| Location {
            file: l.file,
            line: l.line,
            column: l.column,
        }))
    }

    fn finding(&mut self, f: FindingDoc, at: &str) -> Option<Finding> {
        let errors = self.errors.len();
        let severity = Severity::ALL.into_iter().find(|s| s.name() == f.severity);
        if severity.is_none() {
            self.error(
                &format!("{at}/severity"),
                format!(
                    "`{}` is not a severity (critical, high, medium, low or info)",
                    f.severity
                ),
            );
        }
        let bindings: Vec<Binding> = f
            .bindings
            .into_iter()
            .map(|b| Binding {
                var: Name::from(b.var),
                fact: Name::from(b.fact),
                kind: match b.kind.as_str() {
                    "deal" => FactKind::Deal,
                    "entity" => FactKind::Entity,
                    other => FactKind::Row(Name::from(other)),
                },
                span: self.place(b.location),
            })
            .collect();
        let bound: Vec<&str> = bindings.iter().map(|b| &*b.fact).collect();
        if bound != f.facts.iter().map(String::as_str).collect::<Vec<_>>() {
            self.error(
                &format!("{at}/facts"),
                "`facts` are not the ids of the facts in `bindings`".to_string(),
            );
        } else if fingerprint(&f.rule, bound.iter().copied()) != f.fingerprint {
            self.error(
                &format!("{at}/fingerprint"),
                format!(
                    "`{}` is not the fingerprint of rule `{}` on facts {}",
                    f.fingerprint,
                    f.rule,
                    f.facts.join(", ")
                ),
            );
        }
        let trace: Vec<TraceStep> = f
            .trace
            .into_iter()
            .enumerate()
            .map(|(i, s)| self.step(s, &format!("{at}/trace/{i}")))
            .collect();
        let mut params = Vec::new();
        for (n, v) in f.params {
            if let Some(v) = self.value(&v, &format!("{at}/params/{n}")) {
                params.push((Name::from(n), v));
            }
        }
        let chains = f
            .chains
            .into_iter()
            .enumerate()
            .map(|(i, c)| self.chain(c, &format!("{at}/chains/{i}")))
            .collect();
        let rule_span = self.place(f.rule_location);
        if self.errors.len() > errors {
            return None;
        }
        Some(Finding {
            rule: Name::from(f.rule),
            title: f.title,
            severity: severity?,
            message: f.message,
            reference: f.reference,
            tags: f.tags.into_iter().map(Name::from).collect(),
            rule_span,
            bindings,
            trace,
            fingerprint: f.fingerprint,
            params,
            chains,
        })
    }

    fn step(&mut self, s: StepDoc, at: &str) -> TraceStep {
        let op = s.op.and_then(|op| {
            let found = OPS.into_iter().find(|o| *o == op);
            if found.is_none() {
                self.error(&format!("{at}/op"), format!("`{op}` is not an operator"));
            }
            found
        });
        let operands = s
            .operands
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                let at = format!("{at}/operands/{i}");
                Operand {
                    expr: o.expr.into(),
                    value: o.value.and_then(|v| self.value(&v, &format!("{at}/value"))),
                    detail: o
                        .detail
                        .and_then(|d| self.detail(d, &format!("{at}/detail"))),
                }
            })
            .collect();
        let detail = s
            .detail
            .and_then(|d| self.detail(d, &format!("{at}/detail")));
        let parts = s
            .parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| self.step(p, &format!("{at}/parts/{i}")))
            .collect();
        let conversions = s
            .conversions
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| self.conversion(c, &format!("{at}/conversions/{i}")))
            .collect();
        let mut dates = Vec::new();
        for (i, d) in s.dates.into_iter().enumerate() {
            let place = format!("{at}/dates/{i}");
            let timestamp = self.value(&d.timestamp, &format!("{place}/timestamp"));
            let date = d.date.parse().ok();
            if date.is_none() {
                self.error(
                    &format!("{place}/date"),
                    format!("`{}` is not a date", d.date),
                );
            }
            if let (Some(timestamp), Some(date)) = (timestamp, date) {
                dates.push(crate::explain::DateTaken {
                    expr: d.expr.into(),
                    timestamp,
                    date,
                    zone: Name::from(d.zone),
                });
            }
        }
        TraceStep {
            dates,
            condition: s.condition.into(),
            span: self.place(s.location),
            holds: s.holds,
            op,
            operands,
            parts,
            conversions,
            detail,
        }
    }

    fn fact_ref(&mut self, f: FactRefDoc) -> FactRef {
        FactRef {
            fact: Name::from(f.fact),
            span: self.place(f.location),
        }
    }

    fn detail(&mut self, d: DetailDoc, at: &str) -> Option<Detail> {
        match d {
            DetailDoc::Matches { facts } => Some(Detail::Matches(
                facts.into_iter().map(|f| self.fact_ref(f)).collect(),
            )),
            DetailDoc::Aggregate {
                func,
                counted,
                skipped,
                chosen,
            } => {
                let Some(func) = FUNCS.into_iter().find(|f| *f == func) else {
                    self.error(
                        &format!("{at}/func"),
                        format!("`{func}` is not an aggregate function"),
                    );
                    return None;
                };
                let counted = counted
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let value = c
                            .value
                            .and_then(|v| self.value(&v, &format!("{at}/counted/{i}/value")));
                        let fact = self.fact_ref(FactRefDoc {
                            fact: c.fact,
                            location: c.location,
                        });
                        (fact, value)
                    })
                    .collect();
                let skipped = skipped.into_iter().map(|f| self.fact_ref(f)).collect();
                Some(Detail::Aggregate {
                    func,
                    counted,
                    skipped,
                    chosen,
                })
            }
            DetailDoc::Element { index, value } => Some(Detail::Element {
                index,
                value: self.value(&value, &format!("{at}/value"))?,
            }),
        }
    }

    fn conversion(&mut self, c: ConversionDoc, at: &str) -> Option<Conversion> {
        let base = self.currency(&c.from, &format!("{at}/from"));
        let quote = self.currency(&c.to, &format!("{at}/to"));
        let rate = self.decimal(&c.rate, &format!("{at}/rate"));
        let date = match c.date {
            None => None,
            Some(d) => {
                let parsed = d.parse().ok();
                if parsed.is_none() {
                    self.error(&format!("{at}/date"), format!("`{d}` is not a date"));
                }
                Some(parsed?)
            }
        };
        let span = self.place(c.location);
        Some(Conversion {
            base: base?,
            quote: quote?,
            rate: rate?,
            date,
            span,
        })
    }

    fn chain(&mut self, c: ChainDoc, at: &str) -> Chain {
        let hops = c
            .hops
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                let at = format!("{at}/hops/{i}");
                let mut value = |v: Option<Json>, member: &str| {
                    v.and_then(|v| self.value(&v, &format!("{at}/{member}")))
                };
                let from = value(h.from, "from");
                let to = value(h.to, "to");
                let amount = value(h.amount, "amount");
                let date = value(h.date, "date");
                let deal = h.deal.map(|d| {
                    self.fact_ref(FactRefDoc {
                        fact: d,
                        location: h.deal_location,
                    })
                });
                Hop {
                    from,
                    to,
                    deal,
                    amount,
                    date,
                    derived_by: h.derived_by,
                    derived_at: self.place(h.derived_at),
                }
            })
            .collect();
        Chain {
            var: Name::from(c.var),
            hops,
            alternatives: c.alternatives,
        }
    }

    fn currency(&mut self, code: &str, at: &str) -> Option<Currency> {
        let c = Currency::parse(code);
        if c.is_none() {
            self.error(at, format!("`{code}` is not a known currency"));
        }
        c
    }

    fn decimal(&mut self, text: &str, at: &str) -> Option<Decimal> {
        let d = Decimal::from_str(text).ok();
        if d.is_none() {
            self.error(at, format!("`{text}` is not a decimal number"));
        }
        d
    }

    /// A `VALUE` of the report (see `docs/output.md`) back as a [`Value`].
    fn value(&mut self, v: &Json, at: &str) -> Option<Value> {
        let text = |member: &str| v.get(member).and_then(Json::as_str);
        let ceiling = v.get("ceiling").and_then(Json::as_bool).unwrap_or(false);
        let kind = text("type").unwrap_or("");
        let value = match kind {
            "bool" => v.get("value").and_then(Json::as_bool).map(Value::Bool),
            "number" => {
                let d = self.decimal(text("value").unwrap_or(""), &format!("{at}/value"))?;
                Some(Value::Number(d))
            }
            "percent" => {
                let d = self.decimal(text("value").unwrap_or(""), &format!("{at}/value"))?;
                Some(Value::Percent(d))
            }
            "money" => {
                let amount = self.decimal(text("amount").unwrap_or(""), &format!("{at}/amount"));
                let currency =
                    self.currency(text("currency").unwrap_or(""), &format!("{at}/currency"));
                Some(Value::Money(Money {
                    amount: amount?,
                    currency: currency?,
                    ceiling,
                }))
            }
            "quantity" => {
                let amount = self.decimal(text("amount").unwrap_or(""), &format!("{at}/amount"));
                let unit_text = text("unit").unwrap_or("");
                let unit = Unit::parse(unit_text);
                if unit.is_none() {
                    self.error(
                        &format!("{at}/unit"),
                        format!("`{unit_text}` is not a known unit"),
                    );
                }
                Some(Value::Quantity(Quantity {
                    amount: amount?,
                    unit: unit?,
                    ceiling,
                }))
            }
            "date" => text("value").and_then(|d| d.parse().ok()).map(Value::Date),
            "timestamp" => {
                let written = match (text("value"), text("zone")) {
                    (Some(t), Some(zone)) => Some(format!("{t} [{zone}]")),
                    (Some(t), None) => Some(t.to_string()),
                    _ => None,
                };
                written
                    .and_then(|t| crate::value::Timestamp::parse(&t).ok())
                    .map(Value::Timestamp)
            }
            "text" => text("value").map(|s| Value::Text(Arc::from(s))),
            "name" => {
                text("value").map(|s| Value::Symbol(Name::from(s), crate::value::SymbolId::NONE))
            }
            "list" => match v.get("items").and_then(Json::as_array) {
                Some(items) => {
                    let mut values = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        values.push(self.value(item, &format!("{at}/items/{i}"))?);
                    }
                    Some(Value::List(values.into()))
                }
                None => None,
            },
            "record" => match v.get("fields").and_then(Json::as_object) {
                Some(fields) => {
                    let mut values = IndexMap::new();
                    for (k, item) in fields {
                        values.insert(
                            Name::from(k.as_str()),
                            self.value(item, &format!("{at}/fields/{k}"))?,
                        );
                    }
                    Some(Value::Record(Arc::new(values)))
                }
                None => None,
            },
            _ => None,
        };
        if value.is_none() {
            self.error(
                at,
                format!("not a value of the report format: {}", short(v)),
            );
        }
        value
    }
}

/// A JSON value for a message, cut at 80 characters.
fn short(v: &Json) -> String {
    let text = v.to_string();
    if text.chars().count() <= 80 {
        return text;
    }
    let mut cut: String = text.chars().take(80).collect();
    cut.push('…');
    cut
}
