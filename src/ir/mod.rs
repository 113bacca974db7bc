//! The checked form of rules: names resolved to bindings, fields and symbols, conditions split
//! into conjuncts, `exists` and aggregates split into [`SubQuery`]s. [`crate::check`] produces it;
//! `eval`, the type checks of rules and the renderers only read it.

use crate::diag::Span;
use crate::syntax::{AggFunc, BinaryOp, FactKind, Severity};
use crate::value::{Name, Value};

/// A rule whose names are resolved, with its conditions split into conjuncts.
#[derive(Clone, Debug)]
pub struct CheckedRule {
    /// Rule id.
    pub id: Name,
    /// Title (the id when the rule has none).
    pub title: String,
    /// Severity of its findings.
    pub severity: Severity,
    /// Tags.
    pub tags: Vec<Name>,
    /// What motivates the rule (a standard paragraph, a source).
    pub reference: Option<String>,
    /// The rule's id span.
    pub span: Span,
    /// Bindings in declaration order; the implicit form has one, named `deal`.
    pub vars: Vec<Var>,
    /// Every conjunct of every `where` and of `when`, in written order.
    pub conditions: Vec<Condition>,
    /// The message, text and placeholders.
    pub message: Vec<MessagePart>,
    /// Parameters with the values used (defaults, or overrides given for the run).
    pub params: Vec<(Name, Value)>,
    /// Local bindings of `exists` and aggregates: slot `vars.len() + i` of a binding vector.
    pub locals: Vec<Var>,
    /// Number of quantifier element slots (`any t in ...`).
    pub elements: usize,
    /// The `exists` and aggregate sub-queries, referenced by index from [`CKind`].
    pub subqueries: Vec<SubQuery>,
    /// The field names the rule reads, by slot ([`CKind::Field`]): resolved once per fact base
    /// to the fact base's field ids, so that reading a field is not a lookup by name.
    pub fields: Vec<Name>,
}

impl CheckedRule {
    /// Length of a binding vector for this rule: its bindings, then its local bindings.
    pub fn slots(&self) -> usize {
        self.vars.len() + self.locals.len()
    }
}

/// The pattern of an `exists` or an aggregate, split for evaluation by index.
#[derive(Clone, Debug)]
pub struct SubQuery {
    /// The local binding's index in [`CheckedRule::locals`].
    pub local: usize,
    /// Entity or deal.
    pub kind: FactKind,
    /// The value aggregated, if any.
    pub value: Option<CExpr>,
    /// Conjuncts that read only the local binding: filter its candidates once.
    pub prefilter: Vec<CExpr>,
    /// Equalities `local side == outer side`: a hash index on the local side, probed with the
    /// outer side.
    pub build: Vec<CExpr>,
    /// The outer sides of `build`, in the same order.
    pub probe: Vec<CExpr>,
    /// Every other conjunct, checked per candidate. The equalities of `build` and `probe` are
    /// kept here too (checked for candidates that an index cannot vouch for).
    pub residual: Vec<CExpr>,
    /// The positions in `residual` of the equalities of `build` and `probe`.
    pub key_residuals: Vec<usize>,
}

/// A binding: a name that ranges over facts of one kind.
#[derive(Clone, Debug)]
pub struct Var {
    /// The name (`inv`).
    pub name: Name,
    /// Entity or deal.
    pub kind: FactKind,
    /// Where it was declared.
    pub span: Span,
}

/// One conjunct of a rule's conditions.
#[derive(Clone, Debug)]
pub struct Condition {
    /// The resolved expression.
    pub expr: CExpr,
    /// The source text, as written (`buy.buyer == inv.investee`), shared with every trace step
    /// and data gap that quotes it.
    pub text: Name,
    /// Bitmask of the bindings it reads (bit `i` for `vars[i]`).
    pub vars: u64,
}

/// A piece of a message.
#[derive(Clone, Debug)]
pub enum MessagePart {
    /// Literal text.
    Text(String),
    /// A placeholder's resolved expression.
    Expr(CExpr),
}

/// A resolved expression.
#[derive(Clone, Debug)]
pub struct CExpr {
    /// What it is.
    pub kind: CKind,
    /// Where it was written.
    pub span: Span,
    /// The source text, shared with every trace step and operand that quotes it.
    pub text: Name,
}

/// The shapes of [`CExpr`].
#[derive(Clone, Debug)]
pub enum CKind {
    /// A constant.
    Literal(Value),
    /// The fact bound to `vars[i]`.
    Var(usize),
    /// A field of the value of the inner expression (a fact, an entity named by a symbol, or a
    /// record): the field's name and its slot in [`CheckedRule::fields`].
    Field(Box<CExpr>, Name, usize),
    /// `[a, b]`.
    List(Vec<CExpr>),
    /// A built-in function.
    Call(Function, Vec<CExpr>),
    /// `not e`.
    Not(Box<CExpr>),
    /// `-e`.
    Neg(Box<CExpr>),
    /// `a op b`.
    Binary(BinaryOp, Box<CExpr>, Box<CExpr>),
    /// The fact bound to local binding `i` (of an `exists` or aggregate).
    Local(usize),
    /// The element bound by quantifier slot `i`.
    Element(usize),
    /// `exists ...`: the sub-query, and the bindings of the rule it reads.
    Exists(usize, u64),
    /// An aggregate over a sub-query, and the bindings of the rule it reads.
    Aggregate(AggFunc, usize, u64),
    /// `any`/`all` element slot `elem` in `list` where `cond`.
    Quantifier {
        /// `all` rather than `any`.
        all: bool,
        /// The element slot.
        elem: usize,
        /// The list.
        list: Box<CExpr>,
        /// The condition.
        cond: Box<CExpr>,
    },
}

/// Built-in functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// `round(x, places[, mode])`: rounds a number, percentage, amount or quantity to `places`
    /// decimal places; the mode is `half_up` (half away from zero, the default), `half_even`,
    /// `half_down`, `up`, `down`, `floor` or `ceiling` (`round(2.345, 2)` is `2.35`).
    Round,
    /// `has(path)`: whether the field exists (true or false, never unknown).
    Has,
    /// `months_between(a, b)`: whole calendar months from date `a` to date `b`, as a quantity in
    /// months (negative when `b` is earlier), truncated toward zero.
    MonthsBetween,
    /// `abs(x)`: the absolute value of a number, percentage, amount or quantity.
    Abs,
    /// `min(a, b)`: the smaller of two comparable values.
    Min,
    /// `max(a, b)`: the larger of two comparable values.
    Max,
    /// `lower(text)`: text or a name in lower case.
    Lower,
    /// `contains(text, part)`: whether text contains `part`; for a list, whether it holds an
    /// element equal to `part`.
    Contains,
    /// `starts_with(text, prefix)`.
    StartsWith,
    /// `len(x)`: the number of elements of a list or characters of a text.
    Len,
    /// `is_ceiling(x)`: whether an amount or quantity is an `up to` ceiling (or a total that
    /// includes one).
    IsCeiling,
    /// `date(t, zone)`: the calendar date of a timestamp in a zone (the rule's `timezone` when
    /// not given); a date is itself.
    Date,
    /// `quarter(d)`: the calendar quarter of a date, as text (`2026-Q1`).
    Quarter,
    /// `fiscal_year(d, end)`: the fiscal year of a date, named by the calendar year in which it
    /// ends (the rule's `fiscal_year_end` when `end` is not given).
    FiscalYear,
    /// `fiscal_quarter(d, end)`: the fiscal quarter of a date, as text (`FY2027-Q1`).
    FiscalQuarter,
}

impl Function {
    /// Name, function, fewest and most arguments.
    pub const ALL: [(&'static str, Function, usize, usize); 15] = [
        ("is_ceiling", Function::IsCeiling, 1, 1),
        ("round", Function::Round, 2, 3),
        ("has", Function::Has, 1, 1),
        ("months_between", Function::MonthsBetween, 2, 2),
        ("abs", Function::Abs, 1, 1),
        ("min", Function::Min, 2, 2),
        ("max", Function::Max, 2, 2),
        ("lower", Function::Lower, 1, 1),
        ("contains", Function::Contains, 2, 2),
        ("starts_with", Function::StartsWith, 2, 2),
        ("len", Function::Len, 1, 1),
        ("date", Function::Date, 1, 2),
        ("quarter", Function::Quarter, 1, 1),
        ("fiscal_year", Function::FiscalYear, 1, 2),
        ("fiscal_quarter", Function::FiscalQuarter, 1, 2),
    ];
}

impl CExpr {
    /// Bitmask of the bindings this expression reads.
    pub fn vars(&self) -> u64 {
        match &self.kind {
            CKind::Literal(_) => 0,
            CKind::Var(i) => bit(*i),
            CKind::Field(e, ..) | CKind::Not(e) | CKind::Neg(e) => e.vars(),
            CKind::List(items) | CKind::Call(_, items) => items.iter().fold(0, |m, e| m | e.vars()),
            CKind::Binary(_, a, b) => a.vars() | b.vars(),
            CKind::Local(_) | CKind::Element(_) => 0,
            CKind::Exists(_, vars) | CKind::Aggregate(_, _, vars) => *vars,
            CKind::Quantifier { list, cond, .. } => list.vars() | cond.vars(),
        }
    }
}

/// The bit of binding `i` in a bitmask of bindings (0 past the 64th).
pub(crate) fn bit(i: usize) -> u64 {
    1u64.checked_shl(u32::try_from(i).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// The most bindings one rule may declare.
pub const MAX_BINDINGS: usize = 64;

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

/// A derive rule checked as a rule whose message placeholders are its head expressions.
#[derive(Clone, Debug)]
pub struct CheckedDerive {
    /// The derive as a checked rule.
    pub rule: CheckedRule,
    /// The relation it derives rows of.
    pub relation: Name,
    /// Where the derive is written.
    pub span: Span,
}
