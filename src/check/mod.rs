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

pub(crate) mod derive;
pub mod types;

use crate::diag::{Code, Diagnostic, Level, SourceMap, Span, did_you_mean};
use crate::facts::FactBase;
pub use crate::ir::{
    CExpr, CKind, CheckedRule, Condition, Function, MAX_BINDINGS, MessagePart, SubQuery, Var,
};
use crate::schema::Schema;
use crate::syntax::{
    BinaryOp, Expr, ExprKind, FactKind, Ident, RuleDecl, TemplatePart, Text, UnaryOp,
};
use crate::value::{Name, Value};
use indexmap::IndexMap;
use std::sync::Arc;

/// A name in scope inside a sub-expression.
#[derive(Clone, Debug)]
enum Scoped {
    /// A local fact binding (`exists x`, `sum(... for x ...)`).
    Local(usize),
    /// A quantifier element (`any t in ...`).
    Element(usize),
}

struct Checker<'a> {
    facts: &'a FactBase,
    schema: &'a Schema,
    sources: &'a SourceMap,
    vars: Vec<Var>,
    implicit: bool,
    diags: Vec<Diagnostic>,
    /// Names bound by enclosing `exists`, aggregates and quantifiers, innermost last.
    scope: Vec<(Name, Scoped)>,
    lets: IndexMap<Name, CExpr>,
    params: IndexMap<Name, Value>,
    locals: Vec<Var>,
    elements: usize,
    subqueries: Vec<SubQuery>,
    /// Fields already warned about as unknown (one warning per field and rule).
    warned: indexmap::IndexSet<Name>,
    /// The field names the rule reads, by slot.
    fields: indexmap::IndexSet<Name>,
    /// The rule's `timezone` (or the pack's), for `date(t)`.
    timezone: Option<Name>,
    /// The rule's `fiscal_year_end` (or the pack's), for `fiscal_year(d)` and `fiscal_quarter(d)`.
    fiscal_year_end: Option<Name>,
}

/// The settings of the rule pack (`defaults { timezone: Asia/Shanghai  fiscal_year_end: "06-30" }`),
/// taken by every rule and derive that does not set its own; each setting keeps the span where
/// it was declared.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PackDefaults {
    /// The zone of `date(t)` (a canonical zone name).
    pub timezone: Option<Text>,
    /// The last day of the fiscal year (`MM-DD`).
    pub fiscal_year_end: Option<Text>,
}

/// Values given for a run that replace rule parameters: `rule id` → `param` → value.
pub type ParamOverrides = IndexMap<Name, IndexMap<Name, Value>>;

/// Resolves one rule. Returns the checked rule (if it has no errors) and every diagnostic,
/// warnings included.
///
/// With a [`Schema`] declared, every field path must resolve against it and operands must have
/// compatible types (see [`types`]); without one, fields are checked against the
/// loaded facts only, as warnings.
pub fn check_rule(
    rule: &RuleDecl,
    facts: &FactBase,
    schema: &Schema,
    sources: &SourceMap,
    overrides: &ParamOverrides,
) -> (Option<CheckedRule>, Vec<Diagnostic>) {
    let defaults = PackDefaults::default();
    check_rule_in_pack(rule, facts, schema, sources, overrides, &defaults)
}

/// [`check_rule`] for a rule of a pack with `defaults`: the rule's own `timezone` and
/// `fiscal_year_end` win, the pack's apply when it sets none.
pub fn check_rule_in_pack(
    rule: &RuleDecl,
    facts: &FactBase,
    schema: &Schema,
    sources: &SourceMap,
    overrides: &ParamOverrides,
    defaults: &PackDefaults,
) -> (Option<CheckedRule>, Vec<Diagnostic>) {
    let setting = |own: &Option<Text>, pack: &Option<Text>| {
        own.as_ref()
            .or(pack.as_ref())
            .map(|t| Name::from(t.text.as_str()))
    };
    let mut c = Checker {
        facts,
        schema,
        sources,
        vars: Vec::new(),
        implicit: rule.patterns.is_empty(),
        diags: Vec::new(),
        scope: Vec::new(),
        lets: IndexMap::new(),
        params: IndexMap::new(),
        locals: Vec::new(),
        elements: 0,
        subqueries: Vec::new(),
        warned: indexmap::IndexSet::new(),
        fields: indexmap::IndexSet::new(),
        timezone: setting(&rule.timezone, &defaults.timezone),
        fiscal_year_end: setting(&rule.fiscal_year_end, &defaults.fiscal_year_end),
    };
    let given = overrides.get(&rule.id.name);
    for p in &rule.params {
        let value = given
            .and_then(|g| g.get(&p.name.name))
            .cloned()
            .unwrap_or_else(|| p.value.clone());
        c.params.insert(p.name.name.clone(), value);
    }
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
                    Code::NameInUse,
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
            kind: p.kind.clone(),
            span: p.var.span,
        });
    }
    if c.vars.len() > MAX_BINDINGS {
        c.diags.push(Diagnostic::error(
            Code::TooManyBindings,
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
    for l in &rule.lets {
        if c.vars.iter().any(|v| v.name == l.name.name) || c.lets.contains_key(&l.name.name) {
            c.diags.push(Diagnostic::error(
                Code::NameInUse,
                format!("`{}` is already a binding or a `let`", l.name.name),
                l.name.span,
                "declared again here",
            ));
            continue;
        }
        if let Some(e) = c.expr(&l.expr) {
            c.lets.insert(l.name.name.clone(), e);
        }
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
    let implicit = c.implicit;
    let mut diags = std::mem::take(&mut c.diags);
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
        params: c.params.into_iter().collect(),
        locals: c.locals,
        elements: c.elements,
        subqueries: c.subqueries,
        fields: c.fields.into_iter().collect(),
    });
    let checked = checked.and_then(|rule| {
        let found = types::check_rule_types(&rule, schema, implicit);
        let failed = found.iter().any(|d| d.level == Level::Error);
        diags.extend(found);
        (!failed).then_some(rule)
    });
    (checked, diags)
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
    /// The slot of field name `name` in the rule's table of field names.
    fn field_slot(&mut self, name: &Name) -> usize {
        self.fields.insert_full(name.clone()).0
    }

    /// The zone of `date` or the year end of `fiscal_year` and `fiscal_quarter`: `Some(Some(v))`
    /// when taken from the rule's setting or the pack's (one argument given) or when a zone is
    /// written as the second argument (then by its canonical name, to replace it), `Some(None)`
    /// when a year end is written as the second argument (quoted text, checked here), `None`
    /// after reporting an error.
    fn calendar_argument(
        &mut self,
        func: &str,
        setting: &str,
        declared: Option<Name>,
        args: &[Expr],
        span: Span,
    ) -> Option<Option<String>> {
        let is_zone = setting == "timezone";
        let example = if is_zone {
            "\"Asia/Shanghai\""
        } else {
            "\"06-30\""
        };
        let Some(arg) = args.get(1) else {
            if let Some(v) = declared {
                return Some(Some(v.to_string()));
            }
            let (message, help) = if is_zone {
                (
                    format!(
                        "`{func}(t)` needs a time zone, and neither the rule nor its pack \
                         declares one"
                    ),
                    format!(
                        "declare a zone in the rule (`timezone: Asia/Shanghai`), for the whole \
                         pack (`defaults {{ timezone: Asia/Shanghai }}`) or in the call \
                         (`{func}(t, {example})`); the machine's zone is never used"
                    ),
                )
            } else {
                (
                    format!(
                        "`{func}(d)` needs a fiscal year end, and neither the rule nor its pack \
                         declares one"
                    ),
                    format!(
                        "declare it in the rule (`fiscal_year_end: {example}`), for the whole \
                         pack (`defaults {{ fiscal_year_end: {example} }}`) or in the call \
                         (`{func}(d, {example})`)"
                    ),
                )
            };
            self.diags
                .push(Diagnostic::error(Code::BadCall, message, span, "here").with_help(help));
            return None;
        };
        let text = match &arg.kind {
            ExprKind::Literal(Value::Text(t)) => Some(t.clone()),
            _ => None,
        };
        if is_zone {
            // The zone by its canonical name (`asia/shanghai` is `Asia/Shanghai`), as traces
            // and reports show it.
            if let Some((canonical, _)) = text.as_deref().and_then(crate::value::zone) {
                return Some(Some(canonical.to_string()));
            }
        } else if text
            .as_deref()
            .is_some_and(|t| crate::value::month_day(t).is_some())
        {
            return Some(None);
        }
        let refused =
            (!is_zone && text.is_some()).then(|| crate::value::year_end_refused(text.as_deref()));
        let message = match (&text, is_zone) {
            (Some(t), true) => format!("unknown time zone `{t}`"),
            (Some(_), false) => refused.clone().map(|(m, _)| m).unwrap_or_default(),
            (None, true) => format!("the zone of `{func}` must be quoted text"),
            (None, false) => format!("the fiscal year end of `{func}` must be quoted text"),
        };
        let mut d = Diagnostic::error(Code::BadCall, message, arg.span, "here");
        d.help = match (&text, is_zone) {
            (Some(t), true) => crate::value::zone_suggestion(t),
            (Some(_), false) => refused.map(|(_, h)| h),
            _ => None,
        }
        .or(Some(format!("write it as `{func}(..., {example})`")));
        self.diags.push(d);
        None
    }

    fn node(&self, kind: CKind, span: Span) -> CExpr {
        CExpr {
            kind,
            span,
            text: Name::from(self.sources.slice(span)),
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
                        Code::BadCall,
                        format!("unknown function `{}`", name.name),
                        name.span,
                        "not a function",
                    );
                    d.help = did_you_mean(&name.name, Function::ALL.iter().map(|(n, ..)| *n))
                        .or_else(|| {
                            let names: Vec<&str> = Function::ALL.iter().map(|(n, ..)| *n).collect();
                            Some(format!("the functions are: {}", names.join(", ")))
                        });
                    self.diags.push(d);
                    return None;
                };
                if args.len() < *least || args.len() > *most {
                    let expected = if least == most {
                        least.to_string()
                    } else {
                        format!("{least} or {most}")
                    };
                    let plural = if *most == 1 { "argument" } else { "arguments" };
                    self.diags.push(Diagnostic::error(
                        Code::BadCall,
                        format!(
                            "`{}` takes {expected} {plural}, not {}",
                            name.name,
                            args.len()
                        ),
                        e.span,
                        "here",
                    ));
                    return None;
                }
                // The rounding mode is a symbol (`half_even`), never a field; it is checked here.
                if let (Function::Round, Some(mode)) = (*f, args.get(2)) {
                    let name = match &mode.kind {
                        ExprKind::Path(p) if p.len() == 1 => p.first().map(|i| i.name.clone()),
                        ExprKind::Literal(v) => v.as_name().map(Arc::from),
                        _ => None,
                    };
                    if !name
                        .as_deref()
                        .is_some_and(|n| crate::ir::ROUNDING_MODES.contains(&n))
                    {
                        let mut d = Diagnostic::error(
                            Code::BadCall,
                            "unknown rounding mode",
                            mode.span,
                            "not a mode",
                        );
                        d.help = Some(format!(
                            "the modes are: {}",
                            crate::ir::ROUNDING_MODES.join(", ")
                        ));
                        self.diags.push(d);
                        return None;
                    }
                }
                // `has` needs a field to look for.
                let bad_has = match (*f, args.first()) {
                    (Function::Has, Some(arg)) => {
                        (!matches!(&arg.kind, ExprKind::Path(p) if p.len() > 1 || self.implicit))
                            .then_some(arg.span)
                    }
                    _ => None,
                };
                if let Some(span) = bad_has {
                    self.diags.push(
                        Diagnostic::error(
                            Code::BadCall,
                            "`has` needs a field path",
                            span,
                            "not a field",
                        )
                        .with_help("name the binding and the field: `has(d.status)`"),
                    );
                    return None;
                }
                let setting = match *f {
                    Function::Date => Some(("timezone", self.timezone.clone())),
                    Function::FiscalYear | Function::FiscalQuarter => {
                        Some(("fiscal_year_end", self.fiscal_year_end.clone()))
                    }
                    _ => None,
                };
                let mut given = None;
                if let Some((setting, declared)) = setting {
                    given = self.calendar_argument(&name.name, setting, declared, args, e.span)?;
                }
                let mut checked = Vec::with_capacity(args.len() + 1);
                for (i, a) in args.iter().enumerate() {
                    let c = if i == 1
                        && let Some(value) = &given
                    {
                        // The written zone, by its canonical name.
                        Some(self.node(CKind::Literal(Value::text(value)), a.span))
                    } else if *f == Function::Round && i == 2 {
                        let name = match &a.kind {
                            ExprKind::Path(p) => p.first().map(|i| i.name.clone()),
                            _ => None,
                        };
                        match name {
                            Some(n) => Some(self.node(
                                CKind::Literal(Value::Symbol(n, crate::value::SymbolId::NONE)),
                                a.span,
                            )),
                            None => self.expr(a),
                        }
                    } else {
                        self.expr(a)
                    };
                    checked.extend(c);
                }
                // `date(t)` takes the rule's zone, `fiscal_year(d)` its year end: as an argument.
                if let Some(value) = given.filter(|_| args.len() == 1) {
                    checked.push(self.node(CKind::Literal(Value::text(&value)), e.span));
                }
                CKind::Call(*f, checked)
            }
            ExprKind::Exists { var, kind, filter } => {
                let (sub, vars) = self.subquery(var, kind.clone(), None, filter.as_deref())?;
                CKind::Exists(sub, vars)
            }
            ExprKind::Aggregate {
                func,
                value,
                var,
                kind,
                filter,
            } => {
                let (sub, vars) =
                    self.subquery(var, kind.clone(), value.as_deref(), filter.as_deref())?;
                CKind::Aggregate(*func, sub, vars)
            }
            ExprKind::Quantifier {
                all,
                var,
                list,
                cond,
            } => {
                let list = self.expr(list);
                let elem = self.elements;
                self.elements += 1;
                self.scope.push((var.name.clone(), Scoped::Element(elem)));
                let cond = self.expr(cond);
                self.scope.pop();
                CKind::Quantifier {
                    all: *all,
                    elem,
                    list: Box::new(list?),
                    cond: Box::new(cond?),
                }
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
        let scoped = self
            .scope
            .iter()
            .rev()
            .find(|(n, _)| *n == head.name)
            .map(|(_, s)| s.clone());
        let mut expr = if let Some(s) = scoped {
            let kind = match s {
                Scoped::Local(i) => CKind::Local(i),
                Scoped::Element(i) => CKind::Element(i),
            };
            self.node(kind, head.span)
        } else if let Some(i) = self.vars.iter().position(|v| v.name == head.name) {
            self.node(CKind::Var(i), head.span)
        } else if let Some(e) = self.lets.get(&head.name) {
            // A `let` stands for its expression; the reference keeps its own text.
            let mut e = e.clone();
            e.span = head.span;
            e.text = head.name.clone();
            e
        } else if let Some(v) = self.params.get(&head.name) {
            let mut e = self.node(CKind::Literal(v.clone()), head.span);
            e.text = head.name.clone();
            e
        } else if self.implicit
            && (self.is_field(&head.name) || (field_position && unknown_name) || !rest.is_empty())
        {
            if rest.is_empty() && self.is_field(&head.name) && !unknown_name {
                self.diags.push(Diagnostic {
                    level: Level::Warning,
                    code: Code::AmbiguousName,
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
            let slot = self.field_slot(&head.name);
            self.node(
                CKind::Field(Box::new(var), head.name.clone(), slot),
                head.span,
            )
        } else if rest.is_empty() {
            if !self.implicit
                && self
                    .vars
                    .iter()
                    .any(|v| self.facts.has_field_name(&v.kind, &head.name))
            {
                let example = self.vars.first().map_or("d", |v| &v.name);
                self.diags.push(Diagnostic {
                    level: Level::Warning,
                    code: Code::AmbiguousName,
                    message: format!("`{}` is read as a symbol, not as a field", head.name),
                    labels: vec![(head.span, "a symbol here".into())],
                    help: Some(format!(
                        "to read the field, name the binding: `{example}.{}`; to compare with the \
                         symbol, this warning can be ignored",
                        head.name
                    )),
                });
            }
            return Some(self.node(
                CKind::Literal(Value::Symbol(
                    head.name.clone(),
                    crate::value::SymbolId::NONE,
                )),
                span,
            ));
        } else {
            let names: Vec<&str> = self.vars.iter().map(|v| &*v.name).collect();
            let mut d = Diagnostic::error(
                Code::UnknownBinding,
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
            let slot = self.field_slot(&part.name);
            expr = self.node(CKind::Field(Box::new(expr), part.name.clone(), slot), whole);
        }
        Some(expr)
    }

    /// `inv.investee` where no loaded fact of the binding's kind has a field `investee`: most
    /// likely a typo, and the condition could never be true.
    fn warn_unknown_field(&mut self, var: usize, field: &Ident) {
        let Some(kind) = self.vars.get(var).map(|v| v.kind.clone()) else {
            return;
        };
        let known = self.facts.field_names(&kind).next().is_some();
        if !known
            || self.schema.is_declared(&kind)
            || matches!(&*field.name, "id" | "title")
            || self.facts.has_field_name(&kind, &field.name)
            || !self.warned.insert(field.name.clone())
        {
            return;
        }
        let mut d = Diagnostic {
            level: Level::Warning,
            code: Code::UnseenField,
            message: format!("no loaded {} has a field `{}`", kind.keyword(), field.name),
            labels: vec![(field.span, "unknown field".into())],
            help: None,
        };
        d.help = did_you_mean(&field.name, self.facts.field_names(&kind));
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
                code: Code::BareBinding,
                message: format!("`{}` here is the binding `{}` (a fact), not the symbol `{}`", only.name, only.name, only.name),
                labels: vec![(only.span, "the bound fact".into())],
                help: Some(format!(
                    "to compare with the symbol, rename the binding or write the symbol in quotes: `\"{}\"`",
                    only.name
                )),
            });
        }
    }

    /// Checks the pattern of an `exists` or aggregate and splits its condition for evaluation by
    /// index. Returns the sub-query's index and the rule bindings it reads.
    fn subquery(
        &mut self,
        var: &Ident,
        kind: FactKind,
        value: Option<&Expr>,
        filter: Option<&Expr>,
    ) -> Option<(usize, u64)> {
        if self.vars.iter().any(|v| v.name == var.name)
            || self.scope.iter().any(|(n, _)| *n == var.name)
        {
            self.diags.push(Diagnostic::error(
                Code::NameInUse,
                format!("`{}` is already bound here; choose another name", var.name),
                var.span,
                "name in use",
            ));
            return None;
        }
        let local = self.locals.len();
        self.locals.push(Var {
            name: var.name.clone(),
            kind: kind.clone(),
            span: var.span,
        });
        self.scope.push((var.name.clone(), Scoped::Local(local)));
        let value = value.map(|v| self.expr(v));
        let mut conjuncts = Vec::new();
        let mut ok = true;
        if let Some(f) = filter {
            let mut parts = Vec::new();
            split_and(f, &mut parts);
            for p in parts {
                match self.expr(p) {
                    Some(e) => conjuncts.push(e),
                    None => ok = false,
                }
            }
        }
        self.scope.pop();
        for c in &conjuncts {
            if !self.refs_local(c, local) {
                self.diags.push(Diagnostic {
                    level: Level::Warning,
                    code: Code::DetachedCondition,
                    message: format!("this condition inside `{}` does not read `{}`", if value.is_some() { "the aggregate" } else { "exists" }, var.name),
                    labels: vec![(c.span, "part of the `where` of the `exists` or aggregate".into())],
                    help: Some("the `where` of `exists` extends as far as it can; put the `exists` in parentheses to end it: `(not exists x: deal where ...) and ...`".into()),
                });
            }
        }
        let value = match value {
            Some(Some(v)) => Some(v),
            Some(None) => return None,
            None => None,
        };
        if !ok {
            return None;
        }
        let mut vars = value.as_ref().map_or(0, CExpr::vars);
        let mut sub = SubQuery {
            local,
            kind,
            value,
            prefilter: Vec::new(),
            build: Vec::new(),
            probe: Vec::new(),
            residual: Vec::new(),
            key_residuals: Vec::new(),
        };
        for c in conjuncts {
            vars |= c.vars();
            let only_local = |e: &CExpr, this: &Self| e.vars() == 0 && this.refs_only(e, local);
            if only_local(&c, self) {
                sub.prefilter.push(c);
                continue;
            }
            if let CKind::Binary(BinaryOp::Eq, a, b) = &c.kind {
                let outer = |e: &CExpr, this: &Self| !this.refs_local(e, local);
                if only_local(a, self) && self.refs_local(a, local) && outer(b, self) {
                    sub.build.push((**a).clone());
                    sub.probe.push((**b).clone());
                    sub.key_residuals.push(sub.residual.len());
                    sub.residual.push(c);
                    continue;
                }
                if only_local(b, self) && self.refs_local(b, local) && outer(a, self) {
                    sub.build.push((**b).clone());
                    sub.probe.push((**a).clone());
                    sub.key_residuals.push(sub.residual.len());
                    sub.residual.push(c);
                    continue;
                }
            }
            sub.residual.push(c);
        }
        let index = self.subqueries.len();
        self.subqueries.push(sub);
        Some((index, vars))
    }

    /// The locals an expression reads (through nested sub-queries too), and whether it reads a
    /// quantifier element.
    fn local_refs(&self, e: &CExpr, out: &mut Vec<usize>, elements: &mut bool) {
        match &e.kind {
            CKind::Local(i) => out.push(*i),
            CKind::Element(_) => *elements = true,
            CKind::Literal(_) | CKind::Var(_) => {}
            CKind::Field(x, ..) | CKind::Not(x) | CKind::Neg(x) => {
                self.local_refs(x, out, elements)
            }
            CKind::List(items) | CKind::Call(_, items) => {
                items.iter().for_each(|x| self.local_refs(x, out, elements))
            }
            CKind::Binary(_, a, b) => {
                self.local_refs(a, out, elements);
                self.local_refs(b, out, elements);
            }
            CKind::Quantifier { list, cond, .. } => {
                self.local_refs(list, out, elements);
                self.local_refs(cond, out, elements);
            }
            CKind::Exists(sub, _) | CKind::Aggregate(_, sub, _) => {
                if let Some(q) = self.subqueries.get(*sub) {
                    let inner = q
                        .value
                        .iter()
                        .chain(&q.prefilter)
                        .chain(&q.probe)
                        .chain(&q.residual);
                    for x in inner {
                        self.local_refs(x, out, elements);
                    }
                    out.retain(|l| *l != q.local);
                }
            }
        }
    }

    /// Whether `e` reads local `local`.
    fn refs_local(&self, e: &CExpr, local: usize) -> bool {
        let (mut refs, mut elements) = (Vec::new(), false);
        self.local_refs(e, &mut refs, &mut elements);
        refs.contains(&local)
    }

    /// Whether `e` reads no local other than `local` and no quantifier element.
    fn refs_only(&self, e: &CExpr, local: usize) -> bool {
        let (mut refs, mut elements) = (Vec::new(), false);
        self.local_refs(e, &mut refs, &mut elements);
        !elements && refs.iter().all(|l| *l == local)
    }

    /// Whether a bare name is a field of deals: by the schema when one is declared (so that
    /// the reading does not depend on the data loaded), else by the loaded deals.
    fn is_field(&self, name: &str) -> bool {
        if name == "id" || name == "title" {
            return true;
        }
        if self.schema.is_declared(&FactKind::Deal) {
            matches!(
                self.schema.field(&FactKind::Deal, None, name),
                crate::schema::Lookup::Found(_)
            )
        } else {
            self.facts.has_field_name(&FactKind::Deal, name)
        }
    }
}
