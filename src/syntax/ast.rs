//! The typed syntax tree of deal and rule files. Every node carries a [`Span`].

use crate::diag::Span;
use crate::value::{Currency, Name, Value};
use std::fmt;

/// A parsed file: its declarations in written order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    /// Entities, deals and rules, in the order they were written.
    pub items: Vec<Item>,
}

/// One top-level declaration.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `entity ID ["title"] { ... }` or `deal ID ["title"] { ... }`.
    Fact(FactDecl),
    /// `rule ID ["title"] { ... }`.
    Rule(Box<RuleDecl>),
    /// `fx USD/CNY 7.10 on 2025-10-01`.
    Fx(FxDecl),
    /// `relation flow(from: entity, to: entity, ...)`.
    Relation(RelationDecl),
    /// `derive flow(...) from ...`.
    Derive(Box<DeriveDecl>),
    /// `schema deal investment { investor: entity required ... }`.
    Schema(SchemaDecl),
    /// `test NAME ["title"] { given ... expect ... }`: run by `dealrules test`, never by `run`.
    Test(Box<TestDecl>),
    /// `defaults { timezone: Asia/Shanghai  fiscal_year_end: "06-30" }`: the pack's settings.
    Defaults(DefaultsDecl),
}

impl Item {
    /// The whole declaration.
    pub fn span(&self) -> Span {
        match self {
            Item::Fact(f) => f.span,
            Item::Rule(r) => r.span,
            Item::Fx(x) => x.span,
            Item::Relation(r) => r.span,
            Item::Derive(d) => d.span,
            Item::Schema(s) => s.span,
            Item::Test(t) => t.span,
            Item::Defaults(d) => d.span,
        }
    }
}

/// `defaults { timezone: Asia/Shanghai  fiscal_year_end: "06-30" }`: the settings of a rule pack,
/// taken by every rule (and derive) loaded with it that does not set its own.
#[derive(Clone, Debug, PartialEq)]
pub struct DefaultsDecl {
    /// `timezone: Asia/Shanghai` — the zone of `date(t)` (its canonical name).
    pub timezone: Option<Text>,
    /// `fiscal_year_end: "06-30"` — the last day of the fiscal year (`MM-DD`).
    pub fiscal_year_end: Option<Text>,
    /// The keyword `defaults`.
    pub keyword: Span,
    /// The whole declaration.
    pub span: Span,
}

/// A schema declaration: the fields of one deal kind or entity type, or (without a kind) of
/// every deal or every entity.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaDecl {
    /// Whether it describes deals or entities.
    pub target: FactKind,
    /// The deal kind (`investment`) or entity type (`company`); `None` for the fields common to
    /// all.
    pub kind: Option<Ident>,
    /// What the kind is, in words.
    pub title: Option<Text>,
    /// The declared fields, in written order.
    pub fields: Vec<FieldSpec>,
    /// The whole declaration.
    pub span: Span,
}

/// A test of rules: facts, and what the rules must find in them.
#[derive(Clone, Debug, PartialEq)]
pub struct TestDecl {
    /// The test's name, unique among the tests loaded together.
    pub name: Ident,
    /// What the test shows, in words.
    pub title: Option<Text>,
    /// Where its facts come from, in written order.
    pub given: Vec<Given>,
    /// What the rules must (or must not) find, in written order.
    pub expects: Vec<Expect>,
    /// The whole declaration.
    pub span: Span,
}

/// One declared field: `investor: entity required "The entity that pays."`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldSpec {
    /// The field name, or a pattern `*suffix` (`*_text`).
    pub name: Ident,
    /// Its type.
    pub ty: TypeExpr,
    /// Whether every fact of the kind must have it.
    pub required: bool,
    /// What the field means.
    pub doc: Option<Text>,
    /// The whole field declaration.
    pub span: Span,
}

/// A written type, resolved by [`crate::schema`].
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    /// Its shape.
    pub kind: TypeExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The shapes of [`TypeExpr`].
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExprKind {
    /// A named type: `money`, `power`, `entity`, `date`...
    Name(Ident),
    /// `enum(a, b, c)`: one of these symbols.
    Enum(Vec<Ident>),
    /// `list of T`.
    List(Box<TypeExpr>),
    /// `{ a: T ... }`: a record with these fields.
    Record(Vec<FieldSpec>),
    /// `A | B`: a value of either type.
    Union(Vec<TypeExpr>),
}

/// The facts of a test.
#[derive(Clone, Debug, PartialEq)]
pub enum Given {
    /// `given "../examples/ai-compute-2025.deals"`: a deal file (or CSV or JSON fact table),
    /// its path relative to the file that holds the test.
    File(Text),
    /// `given { entity ... deal ... fx ... }`: facts written in the test.
    Facts {
        /// Entities and deals, in written order.
        facts: Vec<FactDecl>,
        /// Exchange rates, in written order.
        rates: Vec<FxDecl>,
        /// The braces and what is between them.
        span: Span,
    },
}

/// One `expect` line of a test.
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    /// What is expected.
    pub kind: ExpectKind,
    /// The whole line, from `expect`.
    pub span: Span,
}

/// The shapes of [`Expect`].
#[derive(Clone, Debug, PartialEq)]
pub enum ExpectKind {
    /// `expect RULE [on (FACT, ...)] [severity S] [message [contains] "text"]`: at least one
    /// finding of the rule has all of these.
    Finding {
        /// The rule id.
        rule: Ident,
        /// The ids of the bound facts, in binding order.
        on: Option<Vec<Ident>>,
        /// The finding's severity.
        severity: Option<Severity>,
        /// The finding's message.
        message: Option<MessageCheck>,
    },
    /// `expect no RULE [on (FACT, ...)]`: no finding of the rule (on these facts).
    NoFinding {
        /// The rule id.
        rule: Ident,
        /// The ids of the bound facts, in binding order.
        on: Option<Vec<Ident>>,
    },
    /// `expect count RULE N`: exactly N findings of the rule.
    Count {
        /// The rule id.
        rule: Ident,
        /// How many findings.
        count: usize,
    },
    /// `expect error "text"`: loading, checking or evaluating fails with an error whose message
    /// contains the text.
    Error(Text),
}

impl ExpectKind {
    /// The rule the expectation is about (none for `expect error`).
    pub fn rule(&self) -> Option<&Ident> {
        match self {
            ExpectKind::Finding { rule, .. }
            | ExpectKind::NoFinding { rule, .. }
            | ExpectKind::Count { rule, .. } => Some(rule),
            ExpectKind::Error(_) => None,
        }
    }
}

/// How a finding's message is checked.
#[derive(Clone, Debug, PartialEq)]
pub enum MessageCheck {
    /// `message "text"`: the message is exactly this.
    Is(Text),
    /// `message contains "text"`: the message contains this.
    Contains(Text),
}

/// A derived relation: its name and typed columns.
#[derive(Clone, Debug, PartialEq)]
pub struct RelationDecl {
    /// The relation's name.
    pub name: Ident,
    /// Each column's name and type (`entity`, `deal`, `money`, `quantity`, `number`, `percent`,
    /// `date`, `text`, `name`, `any`).
    pub columns: Vec<(Ident, Ident)>,
    /// The whole declaration.
    pub span: Span,
}

/// A rule that derives rows of a relation: `derive flow(a, b, ...) from PATTERNS [when COND]`.
#[derive(Clone, Debug, PartialEq)]
pub struct DeriveDecl {
    /// The relation it derives.
    pub relation: Ident,
    /// One expression per column.
    pub head: Vec<Expr>,
    /// The patterns, as in `match`.
    pub patterns: Vec<Pattern>,
    /// The condition.
    pub when: Option<Expr>,
    /// The whole declaration.
    pub span: Span,
}

/// An exchange rate: one unit of `base` is `rate` units of `quote`.
#[derive(Clone, Debug, PartialEq)]
pub struct FxDecl {
    /// The currency converted from (`USD` in `USD/CNY`).
    pub base: Currency,
    /// The currency converted to (`CNY` in `USD/CNY`).
    pub quote: Currency,
    /// Units of `quote` per unit of `base`; positive.
    pub rate: rust_decimal::Decimal,
    /// The date the rate is for, if given.
    pub date: Option<crate::value::Date>,
    /// The whole declaration.
    pub span: Span,
}

/// Whether a fact is an entity (company, fund, SPV), a deal between entities, or a row of a
/// derived relation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactKind {
    /// A company, fund, special purpose vehicle...
    Entity,
    /// A deal: investment, purchase, cloud contract, lease, warrant grant...
    Deal,
    /// A row of the derived relation with this name (`flow`), or a cycle found in one.
    Row(Name),
}

impl FactKind {
    /// `entity`, `deal`, or the relation's name.
    pub fn keyword(&self) -> &str {
        match self {
            FactKind::Entity => "entity",
            FactKind::Deal => "deal",
            FactKind::Row(name) => name,
        }
    }
}

/// The field that holds a fact's kind: `kind` for deals, `type` for entities.
pub fn discriminator(target: &FactKind) -> &'static str {
    match target {
        FactKind::Entity => "type",
        _ => "kind",
    }
}

/// A name with its span.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name (quotes removed).
    pub name: Name,
    /// Where it was written.
    pub span: Span,
}

/// A text literal with its span (titles, messages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    /// The text with escapes resolved.
    pub text: String,
    /// Where it was written, quotes included.
    pub span: Span,
}

/// An entity or deal declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct FactDecl {
    /// Entity or deal.
    pub kind: FactKind,
    /// Its id, unique across all loaded files.
    pub id: Ident,
    /// Optional display title.
    pub title: Option<Text>,
    /// `field: value` pairs in written order.
    pub fields: Vec<Field>,
    /// The whole declaration.
    pub span: Span,
}

/// `name: value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The field name.
    pub name: Ident,
    /// Its value.
    pub value: Value,
    /// Where the value was written.
    pub value_span: Span,
}

/// Severity of a rule and of its findings, from most to least serious.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported revenue or solvency likely misstated or at risk.
    Critical,
    /// A structural pattern that needs review every time (circular money, equity to customers).
    High,
    /// Common in legitimate deals; needs context.
    Medium,
    /// Data-quality or presentation issue.
    Low,
    /// Context worth showing next to other findings.
    Info,
}

impl Severity {
    /// All severities, most serious first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lowercase name used in rule files and JSON (`high`).
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// Parses `critical`, `high`, `medium`, `low` or `info`.
    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.name() == text)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rule declaration.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleDecl {
    /// The rule id (`vendor_financing`).
    pub id: Ident,
    /// The title shown with each finding.
    pub title: Option<Text>,
    /// `severity:` (required).
    pub severity: Severity,
    /// `tags: [...]`.
    pub tags: Vec<Name>,
    /// `reference:` — the standard or source that motivates the rule.
    pub reference: Option<Text>,
    /// `timezone: Asia/Shanghai` — the zone in which `date(t)` takes a timestamp's date (its
    /// canonical name).
    pub timezone: Option<Text>,
    /// `fiscal_year_end: "06-30"` — the last day of the fiscal year for `fiscal_year` and
    /// `fiscal_quarter` (`MM-DD`).
    pub fiscal_year_end: Option<Text>,
    /// `param name = value` declarations.
    pub params: Vec<Param>,
    /// `match` patterns; empty for the implicit single-deal form.
    pub patterns: Vec<Pattern>,
    /// `let name = expr` declarations, in order.
    pub lets: Vec<Let>,
    /// The `when` condition, if any.
    pub when: Option<Expr>,
    /// The `flag` message.
    pub message: Template,
    /// The whole declaration.
    pub span: Span,
}

/// `param name = value`: a tunable threshold of a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: Ident,
    /// Its default value.
    pub value: Value,
    /// Where the value is written.
    pub value_span: Span,
}

/// `let name = expr`.
#[derive(Clone, Debug, PartialEq)]
pub struct Let {
    /// Its name.
    pub name: Ident,
    /// Its expression.
    pub expr: Expr,
}

/// The aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    /// `sum(x for ...)`
    Sum,
    /// `count(d: ...)`
    Count,
    /// `min(x for ...)`
    Min,
    /// `max(x for ...)`
    Max,
    /// `avg(x for ...)`
    Avg,
}

impl AggFunc {
    /// Its name as written.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Sum => "sum",
            AggFunc::Count => "count",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Avg => "avg",
        }
    }
}

/// `var: deal where condition`, `var: flow where ...`, or `var: cycle flow max 5 hops where ...`.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    /// The binding name.
    pub var: Ident,
    /// Which facts it ranges over (for a cycle: the relation whose cycles it finds).
    pub kind: FactKind,
    /// For `cycle R max N hops`: the most hops. The `where` condition then applies to each hop,
    /// with `hop` and `first` naming rows of the relation.
    pub cycle: Option<u32>,
    /// Optional `where` condition.
    pub filter: Option<Expr>,
    /// The whole pattern.
    pub span: Span,
}

/// An expression in a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The shapes of [`Expr`].
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal value.
    Literal(Value),
    /// `a.b.c`: a binding, field or symbol, then fields.
    Path(Vec<Ident>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `f(a, b)`.
    Call(Ident, Vec<Expr>),
    /// `not a`, `-a`.
    Unary(UnaryOp, Box<Expr>),
    /// `a op b`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `exists x: deal where condition`.
    Exists {
        /// The local binding.
        var: Ident,
        /// Entity or deal.
        kind: FactKind,
        /// The condition, if any.
        filter: Option<Box<Expr>>,
    },
    /// `any t in list where condition` (`all: false`) or `all ...` (`all: true`).
    Quantifier {
        /// `all` rather than `any`.
        all: bool,
        /// The element's name.
        var: Ident,
        /// The list.
        list: Box<Expr>,
        /// The condition on each element.
        cond: Box<Expr>,
    },
    /// `sum(value for x: deal where condition)` and the other aggregates.
    Aggregate {
        /// Which aggregate.
        func: AggFunc,
        /// The value aggregated (absent for `count`).
        value: Option<Box<Expr>>,
        /// The local binding.
        var: Ident,
        /// Entity or deal.
        kind: FactKind,
        /// The condition, if any.
        filter: Option<Box<Expr>>,
    },
}

impl Expr {
    /// Whether a sub-query in the expression ranges over the rows of a relation.
    pub fn reads_relations(&self) -> bool {
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Path(_) => false,
            ExprKind::List(items) | ExprKind::Call(_, items) => {
                items.iter().any(Expr::reads_relations)
            }
            ExprKind::Unary(_, e) => e.reads_relations(),
            ExprKind::Binary(_, a, b) => a.reads_relations() || b.reads_relations(),
            ExprKind::Exists { kind, filter, .. } => {
                matches!(kind, FactKind::Row(_)) || filter.iter().any(|e| e.reads_relations())
            }
            ExprKind::Quantifier { list, cond, .. } => {
                list.reads_relations() || cond.reads_relations()
            }
            ExprKind::Aggregate {
                kind,
                value,
                filter,
                ..
            } => {
                matches!(kind, FactKind::Row(_))
                    || value.iter().chain(filter).any(|e| e.reads_relations())
            }
        }
    }

    /// Calls `f` on every literal value in the expression, with the literal's span.
    pub fn visit_literals(&self, f: &mut dyn FnMut(&Value, Span)) {
        match &self.kind {
            ExprKind::Literal(v) => f(v, self.span),
            ExprKind::Path(_) => {}
            ExprKind::List(items) | ExprKind::Call(_, items) => {
                items.iter().for_each(|i| i.visit_literals(f))
            }
            ExprKind::Unary(_, e) => e.visit_literals(f),
            ExprKind::Binary(_, a, b) => {
                a.visit_literals(f);
                b.visit_literals(f);
            }
            ExprKind::Exists { filter, .. } => {
                filter.iter().for_each(|e| e.visit_literals(f));
            }
            ExprKind::Quantifier { list, cond, .. } => {
                list.visit_literals(f);
                cond.visit_literals(f);
            }
            ExprKind::Aggregate { value, filter, .. } => {
                value.iter().chain(filter).for_each(|e| e.visit_literals(f));
            }
        }
    }
}

impl RuleDecl {
    /// Whether the rule reads a derived relation or a cycle: a pattern over the rows of a
    /// relation or its cycles, or a sub-query (`exists`, `sum`...) over rows. A rule that does
    /// not reads only entities and deals.
    pub fn reads_relations(&self) -> bool {
        self.patterns.iter().any(|p| {
            p.cycle.is_some()
                || matches!(p.kind, FactKind::Row(_))
                || p.filter.as_ref().is_some_and(Expr::reads_relations)
        }) || self.lets.iter().any(|l| l.expr.reads_relations())
            || self.when.as_ref().is_some_and(Expr::reads_relations)
            || self.message.parts.iter().any(|part| match part {
                TemplatePart::Expr(e) => e.reads_relations(),
                _ => false,
            })
    }

    /// Calls `f` on every literal value of the rule (parameters, conditions, `let`s and
    /// message placeholders), with its span.
    pub fn visit_literals(&self, f: &mut dyn FnMut(&Value, Span)) {
        for p in &self.params {
            f(&p.value, p.value_span);
        }
        for p in &self.patterns {
            p.filter.iter().for_each(|e| e.visit_literals(f));
        }
        for l in &self.lets {
            l.expr.visit_literals(f);
        }
        self.when.iter().for_each(|e| e.visit_literals(f));
        for part in &self.message.parts {
            if let TemplatePart::Expr(e) = part {
                e.visit_literals(f);
            }
        }
    }
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`
    Not,
    /// `-`
    Neg,
}

/// Infix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`
    In,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::In => "in",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }

    /// Whether this operator compares two values (`==`, `<`, `in`...).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::Ne
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge
                | BinaryOp::In
        )
    }
}

/// A `flag` message: text with `{expression}` placeholders.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// Text and placeholders in order.
    pub parts: Vec<TemplatePart>,
    /// The whole string literal.
    pub span: Span,
}

/// One piece of a [`Template`].
#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    /// Literal text (`{{` and `}}` already turned into braces).
    Text(String),
    /// A placeholder's expression.
    Expr(Expr),
}

impl fmt::Display for Expr {
    /// An S-expression view without spans, for snapshot tests and messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Literal(v) => match v {
                Value::Text(t) => write!(f, "{t:?}"),
                other => write!(f, "{other}"),
            },
            ExprKind::Path(parts) => {
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(&p.name)?;
                }
                Ok(())
            }
            ExprKind::List(items) => {
                f.write_str("[")?;
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str("]")
            }
            ExprKind::Call(name, args) => {
                write!(f, "({}", name.name)?;
                for a in args {
                    write!(f, " {a}")?;
                }
                f.write_str(")")
            }
            ExprKind::Unary(UnaryOp::Not, e) => write!(f, "(not {e})"),
            ExprKind::Unary(UnaryOp::Neg, e) => write!(f, "(- {e})"),
            ExprKind::Binary(op, a, b) => write!(f, "({} {a} {b})", op.symbol()),
            ExprKind::Exists { var, kind, filter } => {
                write!(f, "(exists {}: {}", var.name, kind.keyword())?;
                if let Some(c) = filter {
                    write!(f, " {c}")?;
                }
                f.write_str(")")
            }
            ExprKind::Quantifier {
                all,
                var,
                list,
                cond,
            } => {
                write!(
                    f,
                    "({} {} {list} {cond})",
                    if *all { "all" } else { "any" },
                    var.name
                )
            }
            ExprKind::Aggregate {
                func,
                value,
                var,
                kind,
                filter,
            } => {
                write!(f, "({}", func.name())?;
                if let Some(v) = value {
                    write!(f, " {v}")?;
                }
                write!(f, " {}: {}", var.name, kind.keyword())?;
                if let Some(c) = filter {
                    write!(f, " {c}")?;
                }
                f.write_str(")")
            }
        }
    }
}
