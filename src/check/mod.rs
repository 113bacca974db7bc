//! Checking: resolves the names of a rule (bindings, fields, symbols, functions) against the
//! loaded facts and turns it into a [`CheckedRule`] ready to plan.
//!
//! Name resolution of a bare name `x` in a condition or message:
//! 1. a binding declared by `match` (`inv`);
//! 2. in the implicit single-deal form (no `match`), a field of the deal if any loaded deal has
//!    a field of that name (`investor`), or `id` / `title`;
//! 3. a symbol (`investment`, `Nvidia`) if it is used as a value or an id in the facts;
//! 4. otherwise, in the implicit form, a field when it is not the right-hand side of a
//!    comparison or an element of a list (`status != definitive` reads the field `status` even
//!    when no deal has one, so the condition is unknown rather than true), and a symbol elsewhere.
//!
//! A longer path `a.b.c` must start with a binding (or, in the implicit form, a field).

use crate::diag::{Diagnostic, Level, SourceMap, Span, did_you_mean};
use crate::facts::FactBase;
use crate::syntax::{
    BinaryOp, Expr, ExprKind, FactKind, Ident, RuleDecl, Severity, TemplatePart, UnaryOp,
};
use crate::value::{Name, Value};
use std::sync::Arc;

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
    /// The source text, as written (`buy.buyer == inv.investee`).
    pub text: String,
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
    /// The source text.
    pub text: String,
}

/// The shapes of [`CExpr`].
#[derive(Clone, Debug)]
pub enum CKind {
    /// A constant.
    Literal(Value),
    /// The fact bound to `vars[i]`.
    Var(usize),
    /// A field of the value of the inner expression (a fact, an entity named by a symbol, or a
    /// record).
    Field(Box<CExpr>, Name),
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
}

impl Function {
    /// Name, function, fewest and most arguments.
    const ALL: [(&'static str, Function, usize, usize); 3] = [
        ("round", Function::Round, 2, 3),
        ("has", Function::Has, 1, 1),
        ("months_between", Function::MonthsBetween, 2, 2),
    ];
}

impl CExpr {
    /// Bitmask of the bindings this expression reads.
    pub fn vars(&self) -> u64 {
        match &self.kind {
            CKind::Literal(_) => 0,
            CKind::Var(i) => 1u64
                .checked_shl(u32::try_from(*i).unwrap_or(63))
                .unwrap_or(0),
            CKind::Field(e, _) | CKind::Not(e) | CKind::Neg(e) => e.vars(),
            CKind::List(items) | CKind::Call(_, items) => items.iter().fold(0, |m, e| m | e.vars()),
            CKind::Binary(_, a, b) => a.vars() | b.vars(),
        }
    }
}

/// The most bindings one rule may declare.
pub const MAX_BINDINGS: usize = 64;

struct Checker<'a> {
    facts: &'a FactBase,
    sources: &'a SourceMap,
    vars: Vec<Var>,
    implicit: bool,
    diags: Vec<Diagnostic>,
}

/// Resolves one rule. Returns the checked rule (if it has no errors) and every diagnostic,
/// warnings included.
pub fn check_rule(
    rule: &RuleDecl,
    facts: &FactBase,
    sources: &SourceMap,
) -> (Option<CheckedRule>, Vec<Diagnostic>) {
    let mut c = Checker {
        facts,
        sources,
        vars: Vec::new(),
        implicit: rule.patterns.is_empty(),
        diags: Vec::new(),
    };
    if c.implicit {
        c.vars.push(Var {
            name: Arc::from("deal"),
            kind: FactKind::Deal,
            span: rule.id.span,
        });
    }
    for p in &rule.patterns {
        if let Some(first) = c.vars.iter().find(|v| v.name == p.var.name) {
            c.diags.push(
                Diagnostic::error(
                    format!("binding `{}` is declared twice", p.var.name),
                    p.var.span,
                    "again here",
                )
                .with_label(first.span, "first here"),
            );
            continue;
        }
        c.vars.push(Var {
            name: p.var.name.clone(),
            kind: p.kind,
            span: p.var.span,
        });
    }
    if c.vars.len() > MAX_BINDINGS {
        c.diags.push(Diagnostic::error(
            format!(
                "rule `{}` declares {} bindings; at most {MAX_BINDINGS} are allowed",
                rule.id.name,
                c.vars.len()
            ),
            rule.id.span,
            "this rule",
        ));
        return (None, c.diags);
    }
    let mut conditions = Vec::new();
    let filters = rule.patterns.iter().filter_map(|p| p.filter.as_ref());
    for e in filters.chain(rule.when.as_ref()) {
        let mut conjuncts = Vec::new();
        split_and(e, &mut conjuncts);
        for conjunct in conjuncts {
            if let Some(expr) = c.expr(conjunct) {
                conditions.push(Condition {
                    vars: expr.vars(),
                    text: expr.text.clone(),
                    expr,
                });
            }
        }
    }
    let mut message = Vec::new();
    for part in &rule.message.parts {
        match part {
            TemplatePart::Text(t) => message.push(MessagePart::Text(t.clone())),
            TemplatePart::Expr(e) => {
                if let Some(e) = c.expr(e) {
                    message.push(MessagePart::Expr(e));
                }
            }
        }
    }
    let has_error = c.diags.iter().any(|d| d.level == Level::Error);
    let checked = (!has_error).then(|| CheckedRule {
        id: rule.id.name.clone(),
        title: rule
            .title
            .as_ref()
            .map_or_else(|| rule.id.name.to_string(), |t| t.text.clone()),
        severity: rule.severity,
        tags: rule.tags.clone(),
        reference: rule.reference.as_ref().map(|r| r.text.clone()),
        span: rule.id.span,
        vars: c.vars,
        conditions,
        message,
    });
    (checked, c.diags)
}

fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Binary(BinaryOp::And, a, b) => {
            split_and(a, out);
            split_and(b, out);
        }
        _ => out.push(e),
    }
}

impl Checker<'_> {
    fn node(&self, kind: CKind, span: Span) -> CExpr {
        CExpr {
            kind,
            span,
            text: self.sources.slice(span).to_string(),
        }
    }

    fn expr(&mut self, e: &Expr) -> Option<CExpr> {
        let kind = match &e.kind {
            ExprKind::Literal(v) => CKind::Literal(v.clone()),
            ExprKind::Path(parts) => return self.path(parts, e.span, true),
            ExprKind::List(items) => {
                let items: Vec<CExpr> = items.iter().filter_map(|i| self.operand(i)).collect();
                CKind::List(items)
            }
            ExprKind::Call(name, args) => {
                let Some((_, f, least, most)) =
                    Function::ALL.iter().find(|(n, ..)| **n == *name.name)
                else {
                    let mut d = Diagnostic::error(
                        format!("unknown function `{}`", name.name),
                        name.span,
                        "not a function",
                    );
                    d.help = did_you_mean(&name.name, Function::ALL.iter().map(|(n, ..)| *n)).or(Some(
                        "the functions are `round(x, places[, mode])`, `has(path)` and `months_between(a, b)`".into(),
                    ));
                    self.diags.push(d);
                    return None;
                };
                if args.len() < *least || args.len() > *most {
                    let expected = if least == most {
                        least.to_string()
                    } else {
                        format!("{least} or {most}")
                    };
                    self.diags.push(Diagnostic::error(
                        format!(
                            "`{}` takes {expected} arguments, not {}",
                            name.name,
                            args.len()
                        ),
                        e.span,
                        "here",
                    ));
                    return None;
                }
                // The rounding mode is a symbol (`half_even`), never a field.
                let args: Vec<CExpr> = args
                    .iter()
                    .enumerate()
                    .filter_map(|(i, a)| {
                        if *f == Function::Round && i == 2 {
                            self.operand(a)
                        } else {
                            self.expr(a)
                        }
                    })
                    .collect();
                CKind::Call(*f, args)
            }
            ExprKind::Unary(UnaryOp::Not, inner) => CKind::Not(Box::new(self.expr(inner)?)),
            ExprKind::Unary(UnaryOp::Neg, inner) => CKind::Neg(Box::new(self.expr(inner)?)),
            ExprKind::Binary(op, a, b) => {
                if op.is_comparison() {
                    self.warn_bare_binding(a);
                    self.warn_bare_binding(b);
                }
                let a = self.expr(a);
                let b = if op.is_comparison() {
                    self.operand(b)
                } else {
                    self.expr(b)
                };
                CKind::Binary(*op, Box::new(a?), Box::new(b?))
            }
        };
        Some(self.node(kind, e.span))
    }

    /// The right-hand side of a comparison or a list element: an unknown bare name there is a
    /// symbol.
    fn operand(&mut self, e: &Expr) -> Option<CExpr> {
        match &e.kind {
            ExprKind::Path(parts) => self.path(parts, e.span, false),
            _ => self.expr(e),
        }
    }

    fn path(&mut self, parts: &[Ident], span: Span, field_position: bool) -> Option<CExpr> {
        let (head, rest) = parts.split_first()?;
        let unknown_name = !self.facts.has_symbol(&head.name);
        let mut expr = if let Some(i) = self.vars.iter().position(|v| v.name == head.name) {
            self.node(CKind::Var(i), head.span)
        } else if self.implicit
            && (self.is_field(&head.name) || (field_position && unknown_name) || !rest.is_empty())
        {
            if rest.is_empty() && self.is_field(&head.name) && !unknown_name {
                self.diags.push(Diagnostic {
                    level: Level::Warning,
                    message: format!(
                        "`{}` is both a field of some deals and a value in the facts; read as the field",
                        head.name
                    ),
                    labels: vec![(head.span, "read as the field".into())],
                    help: Some(format!(
                        "write `deal.{0}` for the field or `\"{0}\"` for the value, to say which",
                        head.name
                    )),
                });
            }
            let var = self.node(CKind::Var(0), head.span);
            self.node(CKind::Field(Box::new(var), head.name.clone()), head.span)
        } else if rest.is_empty() {
            if !self.implicit
                && self
                    .vars
                    .iter()
                    .any(|v| self.facts.has_field_name(v.kind, &head.name))
            {
                let example = self.vars.first().map_or("d", |v| &v.name);
                self.diags.push(Diagnostic {
                    level: Level::Warning,
                    message: format!("`{}` is read as a symbol, not as a field", head.name),
                    labels: vec![(head.span, "a symbol here".into())],
                    help: Some(format!(
                        "to read the field, name the binding: `{example}.{}`; to compare with the \
                         symbol, this warning can be ignored",
                        head.name
                    )),
                });
            }
            return Some(self.node(CKind::Literal(Value::Symbol(head.name.clone())), span));
        } else {
            let names: Vec<&str> = self.vars.iter().map(|v| &*v.name).collect();
            let mut d = Diagnostic::error(
                format!("unknown binding `{}`", head.name),
                head.span,
                "not declared by `match`",
            );
            d.help = did_you_mean(&head.name, names.iter().copied()).or_else(|| {
                if names.is_empty() {
                    None
                } else {
                    Some(format!(
                        "the bindings of this rule are: {}",
                        names.join(", ")
                    ))
                }
            });
            self.diags.push(d);
            return None;
        };
        if let (CKind::Var(i), Some(first)) = (&expr.kind, rest.first()) {
            self.warn_unknown_field(*i, first);
        }
        for part in rest {
            let whole = expr.span.to(part.span);
            expr = self.node(CKind::Field(Box::new(expr), part.name.clone()), whole);
        }
        Some(expr)
    }

    /// `inv.investee` where no loaded fact of the binding's kind has a field `investee`: most
    /// likely a typo, and the condition could never be true.
    fn warn_unknown_field(&mut self, var: usize, field: &Ident) {
        let Some(kind) = self.vars.get(var).map(|v| v.kind) else {
            return;
        };
        let known = self.facts.field_names(kind).next().is_some();
        if !known
            || matches!(&*field.name, "id" | "title")
            || self.facts.has_field_name(kind, &field.name)
        {
            return;
        }
        let mut d = Diagnostic {
            level: Level::Warning,
            message: format!("no loaded {} has a field `{}`", kind.keyword(), field.name),
            labels: vec![(field.span, "unknown field".into())],
            help: None,
        };
        d.help = did_you_mean(&field.name, self.facts.field_names(kind));
        self.diags.push(d);
    }

    /// A binding written alone in a comparison (`lease.kind == lease`) is the bound fact, which
    /// is rarely what was meant when the binding has the name of a symbol.
    fn warn_bare_binding(&mut self, e: &Expr) {
        let ExprKind::Path(parts) = &e.kind else {
            return;
        };
        let [only] = parts.as_slice() else { return };
        if self.vars.iter().any(|v| v.name == only.name) && !self.implicit {
            self.diags.push(Diagnostic {
                level: Level::Warning,
                message: format!("`{}` here is the binding `{}` (a fact), not the symbol `{}`", only.name, only.name, only.name),
                labels: vec![(only.span, "the bound fact".into())],
                help: Some(format!(
                    "to compare with the symbol, rename the binding or write the symbol in quotes: `\"{}\"`",
                    only.name
                )),
            });
        }
    }

    fn is_field(&self, name: &str) -> bool {
        name == "id" || name == "title" || self.facts.has_field_name(FactKind::Deal, name)
    }
}
