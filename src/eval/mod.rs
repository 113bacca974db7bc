//! Evaluation: plans each rule (binding order, hash indexes on equality joins) and runs it over
//! the fact base, producing explained findings.
//!
//! Conditions use three-valued logic: a condition that reads a field a fact does not have is
//! *unknown*, not false and not zero, and a rule fires only when every condition is *true*.
//! So `d.status != definitive` does not fire on a deal without `status`.

mod plan;

use crate::check::{CExpr, CKind, CheckedRule, Function, MessagePart};
use crate::explain::{
    Binding, Conversion, DataGap, EvalError, Finding, MissingField, Operand, TraceStep, fingerprint,
};
use crate::facts::{Fact, FactBase, FactIndex};
use crate::syntax::BinaryOp;
use crate::value::{Value, ValueError};
use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

/// The result of evaluating an expression.
#[derive(Clone, Debug)]
enum Ev<'a> {
    /// A bound fact (the value of a binding).
    Fact(FactIndex),
    /// A value, borrowed from the fact base where possible.
    Val(Cow<'a, Value>),
    /// A field that is not there.
    Missing,
}

/// A three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }
}

/// Why an expression could not be evaluated.
#[derive(Clone, Debug)]
struct Failure<'e> {
    expr: &'e CExpr,
    message: String,
}

type Bound = [Option<FactIndex>];

/// Evaluates expressions of one rule against one fact base.
struct Evaluator<'a> {
    facts: &'a FactBase,
    /// Fields found missing since the last [`Evaluator::take_missing`].
    missing: RefCell<Vec<MissingField>>,
    /// Exchange rates used since the last [`Evaluator::take_conversions`].
    conversions: RefCell<Vec<Conversion>>,
}

impl<'a> Evaluator<'a> {
    fn fact(&self, i: FactIndex) -> Option<&'a Fact> {
        self.facts.get(i)
    }

    fn new(facts: &'a FactBase) -> Self {
        Evaluator {
            facts,
            missing: RefCell::new(Vec::new()),
            conversions: RefCell::new(Vec::new()),
        }
    }

    fn take_missing(&self) -> Vec<MissingField> {
        std::mem::take(&mut *self.missing.borrow_mut())
    }

    fn take_conversions(&self) -> Vec<Conversion> {
        std::mem::take(&mut *self.conversions.borrow_mut())
    }

    fn note_missing(&self, fact: &Arc<str>, field: &str, declared: bool) {
        let m = MissingField {
            fact: fact.clone(),
            field: Arc::from(field),
            declared,
        };
        let mut missing = self.missing.borrow_mut();
        if !missing.contains(&m) {
            missing.push(m);
        }
    }

    /// The value of a field of fact `i`; `id` and `title` are always there.
    fn fact_field(&self, i: FactIndex, name: &str) -> Ev<'a> {
        let Some(fact) = self.fact(i) else {
            return Ev::Missing;
        };
        match fact.fields.get(name) {
            Some(f) => Ev::Val(Cow::Borrowed(&f.value)),
            None if name == "id" => Ev::Val(Cow::Owned(Value::Symbol(fact.id.clone()))),
            None if name == "title" && fact.title.is_some() => match &fact.title {
                Some(t) => Ev::Val(Cow::Owned(Value::Text(Arc::from(t.as_str())))),
                None => Ev::Missing,
            },
            None => {
                self.note_missing(&fact.id, name, true);
                Ev::Missing
            }
        }
    }

    /// Applies `f`; when it fails because two amounts are in different currencies and the facts
    /// declare a rate between them, converts one amount by multiplying it by the rate (exact)
    /// and applies `f` again. The rate used is recorded for the trace.
    fn with_fx<T>(
        &self,
        x: &Value,
        y: &Value,
        f: impl Fn(&Value, &Value) -> Result<T, ValueError>,
    ) -> Result<T, ValueError> {
        let err = match f(x, y) {
            Err(e @ ValueError::CurrencyMismatch { .. }) => e,
            other => return other,
        };
        let (Value::Money(a), Value::Money(b)) = (x, y) else {
            return Err(err);
        };
        let Some(rate) = self.facts.fx_rate(a.currency, b.currency) else {
            return Err(err);
        };
        let convert = |m: &crate::value::Money| -> Result<Value, ValueError> {
            let amount = m
                .amount
                .checked_mul(rate.rate)
                .ok_or(ValueError::Overflow { op: "convert" })?;
            Ok(Value::Money(crate::value::Money {
                amount,
                currency: rate.quote,
                ceiling: m.ceiling,
            }))
        };
        let result = if a.currency == rate.base {
            f(&convert(a)?, y)
        } else {
            f(x, &convert(b)?)
        };
        let c = Conversion {
            base: rate.base,
            quote: rate.quote,
            rate: rate.rate,
            date: rate.date,
            span: rate.span,
        };
        let mut conversions = self.conversions.borrow_mut();
        if !conversions.contains(&c) {
            conversions.push(c);
        }
        result
    }

    fn eval<'e>(&self, e: &'e CExpr, bound: &Bound) -> Result<Ev<'a>, Failure<'e>> {
        let fail = |err: ValueError| Failure {
            expr: e,
            message: err.to_string(),
        };
        Ok(match &e.kind {
            CKind::Literal(v) => Ev::Val(Cow::Owned(v.clone())),
            CKind::Var(i) => match bound.get(*i).copied().flatten() {
                Some(f) => Ev::Fact(f),
                None => Ev::Missing,
            },
            CKind::Field(base, name) => match self.eval(base, bound)? {
                Ev::Fact(i) => self.fact_field(i, name),
                Ev::Missing => Ev::Missing,
                Ev::Val(Cow::Borrowed(v)) => self.value_field(v, name, e)?,
                Ev::Val(Cow::Owned(v)) => match self.value_field(&v, name, e)? {
                    Ev::Val(inner) => Ev::Val(Cow::Owned(inner.into_owned())),
                    Ev::Fact(i) => Ev::Fact(i),
                    Ev::Missing => Ev::Missing,
                },
            },
            CKind::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    match self.value(item, bound)? {
                        Some(v) => values.push(v.into_owned()),
                        None => return Ok(Ev::Missing),
                    }
                }
                Ev::Val(Cow::Owned(Value::List(values)))
            }
            CKind::Call(Function::Round, args) => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    match self.value(a, bound)? {
                        Some(v) => values.push(v.into_owned()),
                        None => return Ok(Ev::Missing),
                    }
                }
                let r = match values.as_slice() {
                    [x, places] => round(x, places, None),
                    [x, places, mode] => round(x, places, Some(mode)),
                    _ => Err("`round` takes 2 or 3 arguments".to_string()),
                };
                Ev::Val(Cow::Owned(r.map_err(|m| Failure {
                    expr: e,
                    message: m,
                })?))
            }
            CKind::Call(Function::Has, args) => {
                let present = match args.first() {
                    Some(a) => !matches!(self.eval(a, bound)?, Ev::Missing),
                    None => false,
                };
                Ev::Val(Cow::Owned(Value::Bool(present)))
            }
            CKind::Call(Function::MonthsBetween, args) => {
                let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
                    return Ok(Ev::Missing);
                };
                let (Some(a), Some(b)) = (self.value(a, bound)?, self.value(b, bound)?) else {
                    return Ok(Ev::Missing);
                };
                let months = crate::value::months_between(&a, &b).map_err(fail)?;
                Ev::Val(Cow::Owned(months))
            }
            CKind::Neg(inner) => match self.value(inner, bound)? {
                Some(v) => Ev::Val(Cow::Owned(v.neg().map_err(fail)?)),
                None => Ev::Missing,
            },
            CKind::Not(_) | CKind::Binary(BinaryOp::And | BinaryOp::Or, ..) => {
                self.truth_value(e, bound)?
            }
            CKind::Binary(op, ..) if op.is_comparison() => self.truth_value(e, bound)?,
            CKind::Binary(op, a, b) => {
                let (Some(x), Some(y)) = (self.value(a, bound)?, self.value(b, bound)?) else {
                    return Ok(Ev::Missing);
                };
                let r = match op {
                    BinaryOp::Add => self.with_fx(&x, &y, Value::add),
                    BinaryOp::Sub => self.with_fx(&x, &y, Value::sub),
                    BinaryOp::Mul => x.mul(&y),
                    _ => self.with_fx(&x, &y, Value::div),
                };
                Ev::Val(Cow::Owned(r.map_err(fail)?))
            }
        })
    }

    /// A condition used as a value: `true`, `false`, or missing when unknown.
    fn truth_value<'e>(&self, e: &'e CExpr, bound: &Bound) -> Result<Ev<'a>, Failure<'e>> {
        Ok(match self.truth(e, bound)? {
            Truth::True => Ev::Val(Cow::Owned(Value::Bool(true))),
            Truth::False => Ev::Val(Cow::Owned(Value::Bool(false))),
            Truth::Unknown => Ev::Missing,
        })
    }

    /// A field of a value: a record's field, or a field of the entity or deal a name refers to.
    fn value_field<'v, 'e>(
        &self,
        v: &'v Value,
        name: &str,
        e: &'e CExpr,
    ) -> Result<Ev<'v>, Failure<'e>>
    where
        'a: 'v,
    {
        match v {
            Value::Record(fields) => Ok(fields
                .get(name)
                .map_or(Ev::Missing, |v| Ev::Val(Cow::Borrowed(v)))),
            Value::Symbol(id) | Value::Text(id) => Ok(match self.facts.find(id) {
                Some(i) => self.fact_field(i, name),
                None => {
                    self.note_missing(id, name, false);
                    Ev::Missing
                }
            }),
            Value::List(_) => Err(Failure {
                expr: e,
                message: format!("a list has no field `{name}`"),
            }),
            other => Err(Failure {
                expr: e,
                message: format!("{} has no field `{name}`", other.describe()),
            }),
        }
    }

    /// Evaluates to a value; a bound fact becomes its id; `None` when a field is missing.
    fn value<'e>(
        &self,
        e: &'e CExpr,
        bound: &Bound,
    ) -> Result<Option<Cow<'a, Value>>, Failure<'e>> {
        Ok(match self.eval(e, bound)? {
            Ev::Fact(i) => self
                .fact(i)
                .map(|f| Cow::Owned(Value::Symbol(f.id.clone()))),
            Ev::Val(v) => Some(v),
            Ev::Missing => None,
        })
    }

    fn truth<'e>(&self, e: &'e CExpr, bound: &Bound) -> Result<Truth, Failure<'e>> {
        let fail = |err: ValueError| Failure {
            expr: e,
            message: err.to_string(),
        };
        match &e.kind {
            CKind::Binary(BinaryOp::And, a, b) => {
                let x = self.truth(a, bound)?;
                if x == Truth::False {
                    return Ok(Truth::False);
                }
                let y = self.truth(b, bound)?;
                Ok(match (x, y) {
                    (_, Truth::False) => Truth::False,
                    (Truth::True, Truth::True) => Truth::True,
                    _ => Truth::Unknown,
                })
            }
            CKind::Binary(BinaryOp::Or, a, b) => {
                let x = self.truth(a, bound)?;
                if x == Truth::True {
                    return Ok(Truth::True);
                }
                let y = self.truth(b, bound)?;
                Ok(match (x, y) {
                    (_, Truth::True) => Truth::True,
                    (Truth::False, Truth::False) => Truth::False,
                    _ => Truth::Unknown,
                })
            }
            CKind::Not(inner) => Ok(match self.truth(inner, bound)? {
                Truth::True => Truth::False,
                Truth::False => Truth::True,
                Truth::Unknown => Truth::Unknown,
            }),
            CKind::Binary(BinaryOp::In, a, b) => {
                let Some(x) = self.value(a, bound)? else {
                    return Ok(Truth::Unknown);
                };
                // `x in [a, b]` is `x == a or x == b`: a missing element is unknown, not a veto.
                if let CKind::List(items) = &b.kind {
                    let mut result = Truth::False;
                    for item in items {
                        match self.value(item, bound)? {
                            None => result = Truth::Unknown,
                            Some(v) if self.with_fx(&x, &v, Value::equals).map_err(fail)? => {
                                return Ok(Truth::True);
                            }
                            Some(_) => {}
                        }
                    }
                    return Ok(result);
                }
                let Some(list) = self.value(b, bound)? else {
                    return Ok(Truth::Unknown);
                };
                let Value::List(items) = &*list else {
                    return Err(Failure {
                        expr: b,
                        message: format!("`in` needs a list on its right, not {}", list.describe()),
                    });
                };
                for item in items {
                    if self.with_fx(&x, item, Value::equals).map_err(fail)? {
                        return Ok(Truth::True);
                    }
                }
                Ok(Truth::False)
            }
            CKind::Binary(op, a, b) if op.is_comparison() => {
                let (Some(x), Some(y)) = (self.value(a, bound)?, self.value(b, bound)?) else {
                    return Ok(Truth::Unknown);
                };
                let r = match op {
                    BinaryOp::Eq => self.with_fx(&x, &y, Value::equals),
                    BinaryOp::Ne => self.with_fx(&x, &y, Value::equals).map(|b| !b),
                    BinaryOp::Lt => self.with_fx(&x, &y, Value::compare).map(|o| o.is_lt()),
                    BinaryOp::Le => self.with_fx(&x, &y, Value::compare).map(|o| o.is_le()),
                    BinaryOp::Gt => self.with_fx(&x, &y, Value::compare).map(|o| o.is_gt()),
                    _ => self.with_fx(&x, &y, Value::compare).map(|o| o.is_ge()),
                };
                Ok(Truth::from_bool(r.map_err(fail)?))
            }
            _ => match self.value(e, bound)? {
                None => Ok(Truth::Unknown),
                Some(v) => match &*v {
                    Value::Bool(b) => Ok(Truth::from_bool(*b)),
                    other => Err(Failure {
                        expr: e,
                        message: format!(
                            "a condition must be true or false; this is {}",
                            other.describe()
                        ),
                    }),
                },
            },
        }
    }

    /// The trace of one condition: its values, and for `and`/`or`/`not` its parts.
    fn trace(&self, e: &CExpr, bound: &Bound) -> TraceStep {
        let holds = match self.truth(e, bound) {
            Ok(Truth::True) => Some(true),
            Ok(Truth::False) => Some(false),
            Ok(Truth::Unknown) | Err(_) => None,
        };
        let operand = |x: &CExpr| Operand {
            expr: x.text.clone(),
            value: self.value(x, bound).ok().flatten().map(Cow::into_owned),
        };
        let (op, operands, parts) = match &e.kind {
            CKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), a, b) => (
                Some(op.symbol()),
                vec![],
                vec![self.trace(a, bound), self.trace(b, bound)],
            ),
            CKind::Not(inner) => (Some("not"), vec![], vec![self.trace(inner, bound)]),
            CKind::Binary(op, a, b) if op.is_comparison() => {
                (Some(op.symbol()), vec![operand(a), operand(b)], vec![])
            }
            _ => {
                let mut leaves = Vec::new();
                collect_fields(e, &mut leaves);
                (None, leaves.into_iter().map(operand).collect(), vec![])
            }
        };
        TraceStep {
            condition: e.text.clone(),
            span: e.span,
            holds,
            op,
            operands,
            parts,
            conversions: Vec::new(),
        }
    }
}

fn collect_fields<'e>(e: &'e CExpr, out: &mut Vec<&'e CExpr>) {
    match &e.kind {
        CKind::Field(..) => out.push(e),
        CKind::Literal(_) | CKind::Var(_) => {}
        CKind::List(items) | CKind::Call(_, items) => {
            items.iter().for_each(|i| collect_fields(i, out))
        }
        CKind::Not(x) | CKind::Neg(x) => collect_fields(x, out),
        CKind::Binary(_, a, b) => {
            collect_fields(a, out);
            collect_fields(b, out);
        }
    }
}

/// The rounding modes of `round(x, places, mode)`, by name.
pub const ROUNDING_MODES: [&str; 7] = [
    "half_up",
    "half_even",
    "half_down",
    "up",
    "down",
    "floor",
    "ceiling",
];

/// `round(x, places[, mode])`; the default mode is `half_up` (half away from zero).
fn round(x: &Value, places: &Value, mode: Option<&Value>) -> Result<Value, String> {
    use rust_decimal::RoundingStrategy as S;
    let mode = match mode.map(|m| m.as_name()) {
        None => S::MidpointAwayFromZero,
        Some(Some("half_up")) => S::MidpointAwayFromZero,
        Some(Some("half_even")) => S::MidpointNearestEven,
        Some(Some("half_down")) => S::MidpointTowardZero,
        Some(Some("up")) => S::AwayFromZero,
        Some(Some("down")) => S::ToZero,
        Some(Some("floor")) => S::ToNegativeInfinity,
        Some(Some("ceiling")) => S::ToPositiveInfinity,
        Some(_) => {
            return Err(format!(
                "unknown rounding mode; the modes are: {}",
                ROUNDING_MODES.join(", ")
            ));
        }
    };
    let mode_of = mode;
    #[allow(non_snake_case)]
    let Mode = mode_of;
    let places = match places {
        Value::Number(n) if n.fract().is_zero() && *n >= rust_decimal::Decimal::ZERO => {
            u32::try_from(n.mantissa() / 10i128.pow(n.scale()))
                .ok()
                .filter(|p| *p <= 28)
        }
        _ => None,
    }
    .ok_or_else(|| {
        format!("`round` needs a whole number of places from 0 to 28, not `{places}`")
    })?;
    Ok(match x {
        Value::Number(n) => Value::Number(n.round_dp_with_strategy(places, Mode)),
        Value::Percent(n) => {
            Value::Percent(n.round_dp_with_strategy(places.saturating_add(2), Mode))
        }
        Value::Money(m) => Value::Money(crate::value::Money {
            amount: m.amount.round_dp_with_strategy(places, Mode),
            ..m.clone()
        }),
        Value::Quantity(q) => Value::Quantity(crate::value::Quantity {
            amount: q.amount.round_dp_with_strategy(places, Mode),
            ..q.clone()
        }),
        other => {
            return Err(format!(
                "`round` needs a number or an amount, not {}",
                other.describe()
            ));
        }
    })
}

/// Limits on the work of one rule; a rule that reaches one stops with an evaluation error
/// naming it, and the run goes on with the other rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budgets {
    /// Most combinations of facts (candidate bindings) one rule may examine.
    pub max_combinations: u64,
    /// Most findings plus data gaps one rule may produce.
    pub max_results: usize,
}

impl Default for Budgets {
    /// 20,000,000 combinations and 100,000 results per rule.
    fn default() -> Self {
        Budgets {
            max_combinations: 20_000_000,
            max_results: 100_000,
        }
    }
}

/// Runs one checked rule over the fact base; appends its findings, data gaps and errors.
pub fn run_rule(
    rule: &CheckedRule,
    facts: &FactBase,
    budgets: Budgets,
    findings: &mut Vec<Finding>,
    gaps: &mut Vec<DataGap>,
    errors: &mut Vec<EvalError>,
) {
    let ev = Evaluator::new(facts);
    let mut run = plan::Run::new(rule, &ev, errors, budgets);
    run.execute(findings, gaps);
}

impl Evaluator<'_> {
    /// The finding for a complete binding, and the errors raised while filling in its message.
    fn finding(&self, rule: &CheckedRule, bound: &Bound) -> (Finding, Vec<EvalError>) {
        let mut errors = Vec::new();
        let bindings = self.bindings(rule, bound);
        let trace = rule
            .conditions
            .iter()
            .map(|c| {
                self.take_conversions();
                let mut step = self.trace(&c.expr, bound);
                step.conversions = self.take_conversions();
                step
            })
            .collect();
        let mut message = String::new();
        for part in &rule.message {
            match part {
                MessagePart::Text(t) => message.push_str(t),
                MessagePart::Expr(e) => match self.value(e, bound) {
                    Ok(Some(v)) => message.push_str(&v.to_string()),
                    Ok(None) => match &e.kind {
                        CKind::Field(_, name) => message.push_str(&format!("({name} not given)")),
                        _ => message.push_str("(unknown)"),
                    },
                    Err(f) => {
                        message.push_str(&format!("(error: {})", f.message));
                        errors.push(EvalError {
                            rule: rule.id.clone(),
                            span: f.expr.span,
                            expr: f.expr.text.clone(),
                            message: f.message,
                            bindings: self.bindings(rule, bound),
                        });
                    }
                },
            }
        }
        let fingerprint = fingerprint(&rule.id, bindings.iter().map(|b| &*b.fact));
        let finding = Finding {
            rule: rule.id.clone(),
            title: rule.title.clone(),
            severity: rule.severity,
            message,
            reference: rule.reference.clone(),
            tags: rule.tags.clone(),
            rule_span: rule.span,
            bindings,
            trace,
            fingerprint,
        };
        (finding, errors)
    }

    fn bindings(&self, rule: &CheckedRule, bound: &Bound) -> Vec<Binding> {
        rule.vars
            .iter()
            .zip(bound)
            .filter_map(|(var, f)| {
                let fact = self.fact((*f)?)?;
                Some(Binding {
                    var: var.name.clone(),
                    fact: fact.id.clone(),
                    kind: fact.kind,
                    span: fact.span,
                })
            })
            .collect()
    }
}
