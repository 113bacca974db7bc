//! Static checks of a resolved rule against the schema: every field path resolves, operands of
//! each operator have compatible types and dimensions, symbols compared with an enum field are
//! among its values; and warnings for unused bindings, bindings no condition links, and
//! conditions that are always true or always false.
//!
//! A type that cannot be known statically is [`Type::Any`] and is never an error: the checks
//! reject only what can never work.

use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::ir::{CExpr, CKind, CheckedRule, Function, MessagePart, bit};
use crate::schema::{Lookup, Schema, Type, discriminator};
use crate::syntax::{AggFunc, BinaryOp, FactKind};
use crate::value::{Dimension, Name, Value};
use indexmap::IndexSet;

/// Checks `rule` and returns its diagnostics (errors and warnings).
pub fn check_rule_types(rule: &CheckedRule, schema: &Schema, implicit: bool) -> Vec<Diagnostic> {
    let var_kinds = (0..rule.vars.len())
        .map(|i| {
            let conds = rule.conditions.iter().map(|c| &c.expr);
            let target = rule.vars.get(i).map_or(FactKind::Deal, |v| v.kind.clone());
            kinds_of(
                conds,
                &|e| matches!(e.kind, CKind::Var(v) if v == i),
                &target,
            )
        })
        .collect();
    let local_kinds = rule
        .locals
        .iter()
        .enumerate()
        .map(|(l, var)| {
            let conds = rule
                .subqueries
                .iter()
                .filter(|q| q.local == l)
                .flat_map(|q| q.prefilter.iter());
            kinds_of(
                conds,
                &|e| matches!(e.kind, CKind::Local(x) if x == l),
                &var.kind,
            )
        })
        .collect();
    let mut t = Typer {
        schema,
        rule,
        var_kinds,
        local_kinds,
        elements: vec![Type::Any; rule.elements],
        diags: Vec::new(),
        reported: IndexSet::new(),
    };
    for c in &rule.conditions {
        t.infer(&c.expr);
        t.constant(&c.expr);
    }
    for part in &rule.message {
        if let MessagePart::Expr(e) = part {
            t.infer(e);
        }
    }
    t.contradictions();
    if !implicit {
        t.bindings();
    }
    t.diags
}

/// The kinds a binding can have, from conditions `v.kind == k` and `v.kind in [a, b]`.
fn kinds_of<'e>(
    conds: impl Iterator<Item = &'e CExpr>,
    is_var: &dyn Fn(&CExpr) -> bool,
    target: &FactKind,
) -> Option<Vec<Name>> {
    let disc = discriminator(target);
    let mut out: Option<Vec<Name>> = None;
    for c in conds {
        let CKind::Binary(op, a, b) = &c.kind else {
            continue;
        };
        let field_of_var = |e: &CExpr| matches!(&e.kind, CKind::Field(inner, f, _) if **f == *disc && is_var(inner));
        let other = if field_of_var(a) {
            b
        } else if field_of_var(b) && *op == BinaryOp::Eq {
            a
        } else {
            continue;
        };
        let kinds: Vec<Name> = match (op, &other.kind) {
            (BinaryOp::Eq, CKind::Literal(v)) => v.as_name().map(Name::from).into_iter().collect(),
            (BinaryOp::In, CKind::List(items)) => items
                .iter()
                .filter_map(|i| match &i.kind {
                    CKind::Literal(v) => v.as_name().map(Name::from),
                    _ => None,
                })
                .collect(),
            _ => continue,
        };
        out = Some(match out {
            None => kinds,
            Some(prev) => prev.into_iter().filter(|k| kinds.contains(k)).collect(),
        });
    }
    out
}

struct Typer<'a> {
    schema: &'a Schema,
    rule: &'a CheckedRule,
    var_kinds: Vec<Option<Vec<Name>>>,
    local_kinds: Vec<Option<Vec<Name>>>,
    elements: Vec<Type>,
    diags: Vec<Diagnostic>,
    /// Spans already reported (a `let` used twice is one mistake).
    reported: IndexSet<(Option<crate::diag::FileId>, u32)>,
}

impl Typer<'_> {
    fn report(&mut self, d: Diagnostic) {
        let key = d.span().map_or((None, 0), |s| (s.file, s.start));
        if self.reported.insert(key) {
            self.diags.push(d);
        }
    }

    fn infer(&mut self, e: &CExpr) -> Type {
        match &e.kind {
            CKind::Literal(v) => Type::of_value(v),
            CKind::Var(i) => fact_type(self.rule.vars.get(*i).map(|v| &v.kind)),
            CKind::Local(i) => fact_type(self.rule.locals.get(*i).map(|v| &v.kind)),
            CKind::Element(i) => self.elements.get(*i).cloned().unwrap_or(Type::Any),
            CKind::Field(inner, name, _) => self.field(e, inner, name),
            CKind::List(items) => {
                let types: Vec<Type> = items.iter().map(|i| self.infer(i)).collect();
                match types.split_first() {
                    Some((first, rest)) if rest.iter().all(|t| t == first) => {
                        Type::List(Box::new(first.clone()))
                    }
                    _ => Type::List(Box::new(Type::Any)),
                }
            }
            CKind::Call(f, args) => {
                let types: Vec<Type> = args.iter().map(|a| self.infer(a)).collect();
                let first = types.first().cloned().unwrap_or(Type::Any);
                match f {
                    Function::Has | Function::Contains | Function::StartsWith => Type::Bool,
                    Function::IsCeiling => Type::Bool,
                    Function::Len => Type::Number,
                    Function::Lower => Type::Text,
                    Function::MonthsBetween => {
                        for (a, t) in args.iter().zip(&types) {
                            if !Type::Date.comparable(t) && !Type::Timestamp.comparable(t) {
                                self.report(mismatch(
                                    Code::BadCall,
                                    format!("`months_between` needs two dates, not {t}"),
                                    a,
                                    t,
                                    None,
                                ));
                            }
                        }
                        if let (Some(a), Some(b), Some(ta), Some(tb)) =
                            (args.first(), args.get(1), types.first(), types.get(1))
                            && date_and_timestamp(ta, tb)
                        {
                            let mut d = both(
                                Code::BadCall,
                                format!(
                                    "`months_between` needs two dates or two timestamps, not {ta} and {tb}"
                                ),
                                a,
                                ta,
                                b,
                                tb,
                            );
                            d.help = Some(DATE_OF_TIMESTAMP.into());
                            self.report(d);
                        }
                        Type::Quantity(Some(Dimension::Months))
                    }
                    Function::Date => {
                        if let (Some(a), Some(t)) = (args.first(), types.first())
                            && !Type::Date.comparable(t)
                            && !Type::Timestamp.comparable(t)
                        {
                            self.report(mismatch(
                                Code::BadCall,
                                format!("`date` needs a timestamp, not {t}"),
                                a,
                                t,
                                None,
                            ));
                        }
                        Type::Date
                    }
                    Function::Quarter | Function::FiscalYear | Function::FiscalQuarter => {
                        if let (Some(a), Some(t)) = (args.first(), types.first())
                            && !Type::Date.comparable(t)
                        {
                            let help = Type::Timestamp
                                .comparable(t)
                                .then(|| DATE_OF_TIMESTAMP.to_string());
                            self.report(mismatch(
                                Code::BadCall,
                                format!(
                                    "`{}` needs a date, not {t}",
                                    e.text.split('(').next().unwrap_or("quarter")
                                ),
                                a,
                                t,
                                help,
                            ));
                        }
                        if *f == Function::FiscalYear {
                            Type::Number
                        } else {
                            Type::Text
                        }
                    }
                    Function::Min | Function::Max => {
                        if let (Some(a), Some(b), Some(ta), Some(tb)) =
                            (args.first(), args.get(1), types.first(), types.get(1))
                            && !ta.comparable(tb)
                            && !zero(a)
                            && !zero(b)
                        {
                            self.report(both(
                                Code::IncomparableTypes,
                                format!(
                                    "`{}` cannot compare {ta} with {tb}",
                                    e.text.split('(').next().unwrap_or("min")
                                ),
                                a,
                                ta,
                                b,
                                tb,
                            ));
                        }
                        first
                    }
                    Function::Abs if matches!(first, Type::Timestamp | Type::Date) => {
                        if let Some(a) = args.first() {
                            self.report(mismatch(
                                Code::BadCall,
                                format!("`abs` needs a number or an amount, not {first}"),
                                a,
                                &first,
                                None,
                            ));
                        }
                        Type::Any
                    }
                    Function::Round | Function::Abs => first,
                }
            }
            CKind::Not(inner) => {
                self.infer(inner);
                Type::Bool
            }
            CKind::Neg(inner) => self.infer(inner),
            CKind::Binary(op, a, b) => self.binary(*op, a, b),
            CKind::Exists(sub, _) => {
                self.subquery(*sub);
                Type::Bool
            }
            CKind::Aggregate(func, sub, _) => {
                let value = self.subquery(*sub);
                match func {
                    AggFunc::Count => Type::Number,
                    _ => value,
                }
            }
            CKind::Quantifier {
                elem, list, cond, ..
            } => {
                let lt = self.infer(list);
                let et = match lt {
                    Type::List(t) => *t,
                    Type::Any | Type::Union(_) => Type::Any,
                    other => {
                        self.report(mismatch(
                            Code::WrongType,
                            format!("`any`/`all` needs a list, not {other}"),
                            list,
                            &other,
                            None,
                        ));
                        Type::Any
                    }
                };
                if let Some(slot) = self.elements.get_mut(*elem) {
                    *slot = et;
                }
                self.infer(cond);
                Type::Bool
            }
        }
    }

    /// Types the parts of sub-query `sub`; returns the type of its value.
    fn subquery(&mut self, sub: usize) -> Type {
        let Some(q) = self.rule.subqueries.get(sub) else {
            return Type::Any;
        };
        for c in q.prefilter.iter().chain(&q.residual) {
            self.infer(c);
            self.constant(c);
        }
        q.value.as_ref().map_or(Type::Any, |v| self.infer(v))
    }

    fn field(&mut self, whole: &CExpr, inner: &CExpr, name: &Name) -> Type {
        let (target, kinds, binding) = match &inner.kind {
            CKind::Var(i) => (
                self.rule.vars.get(*i).map(|v| v.kind.clone()),
                self.var_kinds.get(*i).cloned().flatten(),
                self.rule.vars.get(*i).map(|v| v.name.clone()),
            ),
            CKind::Local(i) => (
                self.rule.locals.get(*i).map(|v| v.kind.clone()),
                self.local_kinds.get(*i).cloned().flatten(),
                self.rule.locals.get(*i).map(|v| v.name.clone()),
            ),
            _ => match self.infer(inner) {
                Type::Entity => (Some(FactKind::Entity), None, None),
                Type::Deal => (Some(FactKind::Deal), None, None),
                Type::Record(set) => {
                    return match set.get(name) {
                        Some(d) => d.ty.clone(),
                        None => {
                            let mut d = Diagnostic::error(
                                Code::UnknownRuleField,
                                format!("`{}` is a record without a field `{name}`", inner.text),
                                whole.span,
                                "unknown field",
                            );
                            d.help = did_you_mean(name, set.fields.keys().map(|k| &**k));
                            self.report(d);
                            Type::Any
                        }
                    };
                }
                _ => return Type::Any,
            },
        };
        let Some(target) = target else {
            return Type::Any;
        };
        if let FactKind::Row(rel) = &target {
            return self
                .schema
                .relations
                .get(rel)
                .and_then(|cols| cols.iter().find(|(c, _)| c == name))
                .map_or(Type::Any, |(_, t)| t.clone());
        }
        // Kinds that no schema declares are reported where they are compared; the fields are
        // then looked up in every kind, so that one mistake gives one error.
        let kinds = kinds
            .map(|ks| {
                let declared = self.schema.target(&target).map(|t| &t.kinds);
                ks.into_iter()
                    .filter(|k| declared.is_some_and(|d| d.contains_key(k)))
                    .collect::<Vec<_>>()
            })
            .filter(|ks| !ks.is_empty());
        match self.schema.field(&target, kinds.as_deref(), name) {
            Lookup::Undeclared => Type::Any,
            Lookup::Found(t) => t,
            Lookup::Unknown(names) => {
                let of = match (&binding, &kinds) {
                    (Some(b), Some(k)) if !k.is_empty() => {
                        let k: Vec<&str> = k.iter().map(|k| &**k).collect();
                        format!("`{b}` ({} {})", target.keyword(), k.join(" or "))
                    }
                    (Some(b), _) => format!("`{b}` (any {})", target.keyword()),
                    (None, _) => format!("`{}` (an {})", inner.text, target.keyword()),
                };
                let span = match &whole.kind {
                    CKind::Field(..) => whole.span,
                    _ => inner.span,
                };
                let mut d = Diagnostic::error(
                    Code::UnknownRuleField,
                    format!("{of} has no field `{name}` in the schema"),
                    span,
                    "unknown field",
                );
                d.help = did_you_mean(name, names.iter().map(|n| &**n)).or_else(|| {
                    Some(format!(
                        "declare it in a `schema {}` block, or check the spelling",
                        target.keyword()
                    ))
                });
                self.report(d);
                Type::Any
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, a: &CExpr, b: &CExpr) -> Type {
        let ta = self.infer(a);
        let tb = self.infer(b);
        match op {
            BinaryOp::And | BinaryOp::Or => Type::Bool,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => {
                if !ta.comparable(&tb) && !zero(a) && !zero(b) {
                    let mut d = both(
                        Code::IncomparableTypes,
                        format!("cannot compare {ta} with {tb}"),
                        a,
                        &ta,
                        b,
                        &tb,
                    );
                    if date_and_timestamp(&ta, &tb) {
                        d.help = Some(DATE_OF_TIMESTAMP.into());
                    }
                    self.report(d);
                } else if matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
                    self.enum_member(a, &ta, b);
                    self.enum_member(b, &tb, a);
                }
                Type::Bool
            }
            BinaryOp::In => {
                match &tb {
                    Type::List(t) => {
                        if !ta.comparable(t) {
                            self.report(both(
                                Code::IncomparableTypes,
                                format!("cannot look for {ta} in a list of {t}"),
                                a,
                                &ta,
                                b,
                                &tb,
                            ));
                        } else if let CKind::List(items) = &b.kind {
                            for item in items {
                                self.enum_member(a, &ta, item);
                            }
                        }
                    }
                    Type::Any | Type::Union(_) | Type::Text => {}
                    other => self.report(mismatch(
                        Code::IncomparableTypes,
                        format!("`in` needs a list on its right, not {other}"),
                        b,
                        other,
                        None,
                    )),
                }
                Type::Bool
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                match arithmetic(op, &ta, &tb) {
                    Some(t) => t,
                    None => {
                        let verb = match op {
                            BinaryOp::Add => "add",
                            BinaryOp::Sub => "subtract",
                            BinaryOp::Mul => "multiply",
                            _ => "divide",
                        };
                        let mut d = both(
                            Code::BadArithmetic,
                            format!("cannot {verb} {ta} and {tb}"),
                            a,
                            &ta,
                            b,
                            &tb,
                        );
                        if op == BinaryOp::Sub && ta == Type::Timestamp && tb == Type::Timestamp {
                            d.help = Some(
                                "the engine has no durations in hours: use `months_between(a, b)`, \
                                 or `date(a) - date(b)` for the days between their dates"
                                    .into(),
                            );
                        }
                        self.report(d);
                        Type::Any
                    }
                }
            }
        }
    }

    /// `field == symbol` where the field is an enum (or the kind) that never holds the symbol.
    fn enum_member(&mut self, field: &CExpr, ty: &Type, other: &CExpr) {
        let options = match ty {
            Type::Enum(o) => o.clone(),
            Type::Union(alts) => {
                if alts.iter().any(|a| !matches!(a, Type::Enum(_))) {
                    return;
                }
                alts.iter()
                    .flat_map(|a| match a {
                        Type::Enum(o) => o.clone(),
                        _ => Vec::new(),
                    })
                    .collect()
            }
            _ => return,
        };
        let CKind::Literal(Value::Symbol(s, _)) = &other.kind else {
            return;
        };
        if options.contains(s) {
            return;
        }
        let is_kind =
            matches!(&field.kind, CKind::Field(_, f, _) if &**f == "kind" || &**f == "type");
        let message = if is_kind {
            let what = if matches!(&field.kind, CKind::Field(_, f, _) if &**f == "kind") {
                "deal kind"
            } else {
                "entity type"
            };
            format!("unknown {what} `{s}`")
        } else {
            format!("`{}` is never `{s}`", field.text)
        };
        let mut d = Diagnostic::error(
            Code::UnknownSymbol,
            message,
            other.span,
            "the condition could never be true",
        )
        .with_label(
            field.span,
            if options.len() <= 5 {
                ty.to_string()
            } else {
                format!("one of {} declared values", options.len())
            },
        );
        d.help = did_you_mean(s, options.iter().map(|o| &**o)).or_else(|| {
            let names: Vec<String> = options.iter().map(|o| format!("`{o}`")).collect();
            Some(format!("the values are: {}", names.join(", ")))
        });
        self.report(d);
    }

    /// Conditions that do not depend on any fact: `1 == 1`, `x.a == x.a`, `true`.
    fn constant(&mut self, e: &CExpr) {
        let verdict = match &e.kind {
            CKind::Literal(Value::Bool(b)) => Some(*b),
            CKind::Binary(op, a, b) if op.is_comparison() => {
                let literal = |x: &CExpr| matches!(x.kind, CKind::Literal(_));
                if literal(a) && literal(b) {
                    match (&a.kind, &b.kind) {
                        (CKind::Literal(x), CKind::Literal(y)) => match op {
                            BinaryOp::Eq => x.equals(y).ok(),
                            BinaryOp::Ne => x.equals(y).ok().map(|v| !v),
                            BinaryOp::Lt => x.compare(y).ok().map(|o| o.is_lt()),
                            BinaryOp::Le => x.compare(y).ok().map(|o| o.is_le()),
                            BinaryOp::Gt => x.compare(y).ok().map(|o| o.is_gt()),
                            BinaryOp::Ge => x.compare(y).ok().map(|o| o.is_ge()),
                            _ => None,
                        },
                        _ => None,
                    }
                } else if a.text == b.text && !has_aggregate(a) {
                    match op {
                        BinaryOp::Eq | BinaryOp::Le | BinaryOp::Ge => Some(true),
                        BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Gt => Some(false),
                        _ => None,
                    }
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(v) = verdict {
            let when = if v { "true" } else { "false" };
            self.report(
                Diagnostic::warning(
                    Code::ConstantCondition,
                    format!("this condition is always {when}"),
                    e.span,
                    "does not depend on the facts",
                )
                .with_help(if v {
                    "it filters nothing; remove it, or compare with a field"
                } else {
                    "the rule can never fire; compare with a field instead"
                }),
            );
        }
    }

    /// Two conjuncts that require the same path to equal two different constants.
    fn contradictions(&mut self) {
        let mut seen: Vec<(&str, &Value, &CExpr)> = Vec::new();
        let mut found = Vec::new();
        for c in &self.rule.conditions {
            let CKind::Binary(BinaryOp::Eq, a, b) = &c.expr.kind else {
                continue;
            };
            let (path, value) = match (&a.kind, &b.kind) {
                (CKind::Field(..), CKind::Literal(v)) => (&*a.text, v),
                (CKind::Literal(v), CKind::Field(..)) => (&*b.text, v),
                _ => continue,
            };
            if let Some((_, first, at)) = seen.iter().find(|(p, _, _)| *p == path) {
                if first.equals(value) == Ok(false) {
                    found.push((c.expr.clone(), (*at).clone(), path.to_string()));
                }
                continue;
            }
            seen.push((path, value, &c.expr));
        }
        for (second, first, path) in found {
            self.report(
                Diagnostic::warning(
                    Code::ConstantCondition,
                    format!("`{path}` cannot equal two different values: these conditions are always false together"),
                    second.span,
                    "this condition",
                )
                .with_label(first.span, "contradicts this one")
                .with_help("the rule can never fire; to accept either value, write `x in [a, b]`"),
            );
        }
    }

    /// Unused bindings and bindings that no condition links.
    ///
    /// With two or more bindings, a binding is used when the message reads it or a condition
    /// reads it together with another binding; a binding that only its own filter reads only
    /// multiplies the findings.
    fn bindings(&mut self) {
        let n = self.rule.vars.len();
        if n < 2 {
            return;
        }
        let mut used = 0u64;
        for c in &self.rule.conditions {
            if c.vars.count_ones() >= 2 {
                used |= c.vars;
            }
        }
        for part in &self.rule.message {
            if let MessagePart::Expr(e) = part {
                used |= e.vars();
            }
        }
        let mut unused = Vec::new();
        for (i, v) in self.rule.vars.iter().enumerate() {
            if used & bit(i) == 0 {
                unused.push(i);
                self.report(
                    Diagnostic::warning(
                        Code::UnusedBinding,
                        format!("binding `{}` is never used", v.name),
                        v.span,
                        "only its own filter reads it",
                    )
                    .with_help(format!(
                        "the rule fires once per {} it matches, multiplying its findings; remove \
                         the binding, or use it in a condition",
                        v.kind.keyword()
                    )),
                );
            }
        }
        // Components of the graph whose edges are conditions reading two or more bindings.
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while let Some(&p) = parent.get(i) {
                if p == i {
                    break;
                }
                i = p;
            }
            i
        }
        for c in &self.rule.conditions {
            let members: Vec<usize> = (0..n).filter(|i| c.vars & bit(*i) != 0).collect();
            if let Some((&first, rest)) = members.split_first() {
                for &m in rest {
                    let (a, b) = (root(&mut parent, first), root(&mut parent, m));
                    if let Some(slot) = parent.get_mut(b) {
                        *slot = a;
                    }
                }
            }
        }
        let used_vars: Vec<usize> = (0..n).filter(|i| !unused.contains(i)).collect();
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for &i in &used_vars {
            let r = root(&mut parent, i);
            match groups.iter_mut().find(|(g, _)| *g == r) {
                Some((_, members)) => members.push(i),
                None => groups.push((r, vec![i])),
            }
        }
        if groups.len() > 1 {
            let names = |g: &[usize]| {
                g.iter()
                    .filter_map(|i| self.rule.vars.get(*i))
                    .map(|v| format!("`{}`", v.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let parts: Vec<String> = groups.iter().map(|(_, g)| names(g)).collect();
            let mut d = Diagnostic::warning(
                Code::CartesianProduct,
                format!(
                    "no condition links {}: the rule tries every combination of them",
                    parts.join(" with ")
                ),
                self.rule.span,
                "in this rule",
            );
            for (_, g) in &groups {
                if let Some(v) = g.first().and_then(|i| self.rule.vars.get(*i)) {
                    d = d.with_label(v.span, format!("`{}`", v.name));
                }
            }
            self.report(d.with_help(
                "add a join condition such as `b.buyer == a.investee`, or split the rule",
            ));
        }
    }
}

/// The type of a bound fact, as a value: its id.
fn fact_type(kind: Option<&FactKind>) -> Type {
    match kind {
        Some(FactKind::Entity) => Type::Entity,
        Some(FactKind::Deal) => Type::Deal,
        _ => Type::Any,
    }
}

/// A literal zero, which compares with any amount or quantity.
fn zero(e: &CExpr) -> bool {
    matches!(&e.kind, CKind::Literal(Value::Number(z)) if z.is_zero())
}

fn has_aggregate(e: &CExpr) -> bool {
    match &e.kind {
        CKind::Aggregate(..) | CKind::Exists(..) => true,
        CKind::Field(x, ..) | CKind::Not(x) | CKind::Neg(x) => has_aggregate(x),
        CKind::Binary(_, a, b) => has_aggregate(a) || has_aggregate(b),
        CKind::List(items) | CKind::Call(_, items) => items.iter().any(has_aggregate),
        _ => false,
    }
}

fn numeric(t: &Type) -> bool {
    matches!(t, Type::Number | Type::Ratio)
}

/// The result type of `a op b`, or `None` when the operands never go together.
fn arithmetic(op: BinaryOp, a: &Type, b: &Type) -> Option<Type> {
    use Type::*;
    if matches!(a, Any) || matches!(b, Any) {
        return Some(Any);
    }
    // Alternatives: an error only when no pair of them goes together.
    let alternatives = |t: &Type| match t {
        Union(alts) => alts.clone(),
        other => vec![other.clone()],
    };
    if matches!(a, Union(_)) || matches!(b, Union(_)) {
        let (xs, ys) = (alternatives(a), alternatives(b));
        let results: Vec<Type> = xs
            .iter()
            .flat_map(|x| ys.iter().filter_map(move |y| arithmetic(op, x, y)))
            .collect();
        return match results.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            _ => Some(Any),
        };
    }
    let same_dim =
        |x: &Option<Dimension>, y: &Option<Dimension>| x.is_none() || y.is_none() || x == y;
    match op {
        BinaryOp::Add | BinaryOp::Sub => match (a, b) {
            (x, y) if numeric(x) && numeric(y) => Some(Number),
            (Money, Money) => Some(Money),
            (Price, Price) => Some(Price),
            (Quantity(x), Quantity(y)) if same_dim(x, y) => Some(Quantity(x.or(*y))),
            (Count, Count) | (Count, Quantity(_)) | (Quantity(_), Count) => Some(Count),
            (Date, Quantity(None | Some(Dimension::Months | Dimension::Days))) => Some(Date),
            (Quantity(d), Date)
                if op == BinaryOp::Add
                    && matches!(d, None | Some(Dimension::Months | Dimension::Days)) =>
            {
                Some(Date)
            }
            (Date, Date) if op == BinaryOp::Sub => Some(Quantity(Some(Dimension::Days))),
            (Timestamp, Quantity(None | Some(Dimension::Months | Dimension::Days))) => {
                Some(Timestamp)
            }
            _ => None,
        },
        BinaryOp::Mul => match (a, b) {
            (x, y) if numeric(x) => {
                Some(if numeric(y) { Number } else { y.clone() }).filter(measure)
            }
            (x, y) if numeric(y) => Some(x.clone()).filter(measure),
            (Price, Quantity(_) | Count) | (Quantity(_) | Count, Price) => Some(Money),
            _ => None,
        },
        _ => match (a, b) {
            (x, y) if numeric(y) && (numeric(x) || measure(x)) => Some(x.clone()),
            (Money, Money) | (Price, Price) => Some(Number),
            (Quantity(x), Quantity(y)) if same_dim(x, y) => Some(Number),
            (Count, Count | Quantity(_)) | (Quantity(_), Count) => Some(Number),
            (Money, Quantity(_) | Count) => Some(Price),
            (x, y) if numeric(x) && measure(y) => Some(Any),
            _ => None,
        },
    }
}

/// The help of a date compared or mixed with a timestamp.
const DATE_OF_TIMESTAMP: &str = "a timestamp has a date only in a time zone: compare `date(t)` (in the zone the rule \
     or its pack declares) or `date(t, \"Asia/Shanghai\")` with the date";

/// One of the two types is a date and the other a timestamp (statically known).
fn date_and_timestamp(a: &Type, b: &Type) -> bool {
    matches!(
        (a, b),
        (Type::Date, Type::Timestamp) | (Type::Timestamp, Type::Date)
    )
}

/// Types that scale by a number: numbers, money, prices, quantities.
fn measure(t: &Type) -> bool {
    matches!(
        t,
        Type::Number | Type::Ratio | Type::Money | Type::Price | Type::Quantity(_) | Type::Count
    )
}

fn mismatch(code: Code, message: String, e: &CExpr, t: &Type, help: Option<String>) -> Diagnostic {
    let mut d = Diagnostic::error(code, message, e.span, format!("this is {t}"));
    d.help = help;
    d
}

fn both(code: Code, message: String, a: &CExpr, ta: &Type, b: &CExpr, tb: &Type) -> Diagnostic {
    Diagnostic::error(code, message, a.span, format!("this is {ta}"))
        .with_label(b.span, format!("this is {tb}"))
}
