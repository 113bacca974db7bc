//! Derive rules and cycle patterns lowered to rules and checked: a `derive` becomes a rule whose
//! message placeholders are its head expressions, the hop condition of a `cycle` pattern a rule
//! over `hop` and `first`; derive rules are then ordered in strata, and recursion through
//! negation refused, before anything is derived.

use super::{PackDefaults, ParamOverrides, check_rule, check_rule_in_pack};
use crate::diag::{Code, Diagnostic, SourceMap, Span};
use crate::facts::FactBase;
use crate::ir::{CheckedDerive, CheckedRule};
use crate::schema::Schema;
use crate::syntax::{
    DeriveDecl, FactKind, Ident, Pattern, RelationDecl, RuleDecl, Severity, Template, TemplatePart,
};
use crate::value::Name;
use indexmap::{IndexMap, IndexSet};
use std::sync::Arc;

/// A derive as a rule over its patterns and `when`, whose message placeholders are its head
/// expressions; named `derive R #n` after its relation and its place among the derives.
fn derive_as_rule(d: &DeriveDecl, index: usize) -> RuleDecl {
    let id = Ident {
        name: Arc::from(format!("derive {} #{}", d.relation.name, index + 1).as_str()),
        span: d.relation.span,
    };
    RuleDecl {
        timezone: None,
        fiscal_year_end: None,
        id,
        title: None,
        severity: Severity::Info,
        tags: Vec::new(),
        reference: None,
        params: Vec::new(),
        patterns: d.patterns.clone(),
        lets: Vec::new(),
        when: d.when.clone(),
        message: Template {
            parts: d.head.iter().cloned().map(TemplatePart::Expr).collect(),
            span: d.span,
        },
        span: d.span,
    }
}

/// Checks every derive rule against its relation's declaration and as a rule over `facts`
/// (whose rows' fields are declared). Errors go to `diags`; the derives that check are returned.
pub(crate) fn check_derives(
    facts: &FactBase,
    relations: &IndexMap<Name, RelationDecl>,
    derives: &[DeriveDecl],
    schema: &Schema,
    sources: &SourceMap,
    defaults: &PackDefaults,
    diags: &mut Vec<Diagnostic>,
) -> Vec<CheckedDerive> {
    let mut checked = Vec::new();
    for (i, d) in derives.iter().enumerate() {
        let Some(rel) = relations.get(&d.relation.name) else {
            let mut e = Diagnostic::error(
                Code::BadRelation,
                format!("no relation `{}` is declared", d.relation.name),
                d.relation.span,
                "derived here",
            );
            e.help = crate::diag::did_you_mean(&d.relation.name, relations.keys().map(|k| &**k))
                .or(Some(format!(
                    "declare it: `relation {}(from: entity, to: entity, ...)`",
                    d.relation.name
                )));
            diags.push(e);
            continue;
        };
        if rel.columns.len() != d.head.len() {
            diags.push(
                Diagnostic::error(
                    Code::BadRelation,
                    format!(
                        "`{}` has {} columns, but this derive gives {} values",
                        rel.name.name,
                        rel.columns.len(),
                        d.head.len()
                    ),
                    d.relation.span,
                    "here",
                )
                .with_label(rel.name.span, "declared here"),
            );
            continue;
        }
        let (c, ds) = check_rule_in_pack(
            &derive_as_rule(d, i),
            facts,
            schema,
            sources,
            &ParamOverrides::new(),
            defaults,
        );
        diags.extend(ds);
        if let Some(rule) = c {
            checked.push(CheckedDerive {
                rule,
                relation: d.relation.name.clone(),
                span: d.span,
            });
        }
    }
    checked
}

/// Relations a checked rule reads positively (patterns) and negatively (`exists`, aggregates).
fn reads(rule: &CheckedRule) -> (Vec<Name>, Vec<Name>) {
    let row = |k: &FactKind| match k {
        FactKind::Row(n) => Some(n.clone()),
        _ => None,
    };
    let positive = rule.vars.iter().filter_map(|v| row(&v.kind)).collect();
    let negative = rule
        .subqueries
        .iter()
        .filter_map(|q| row(&q.kind))
        .collect();
    (positive, negative)
}

/// Orders derive rules in strata: a relation comes after every relation it reads, and
/// recursion through `exists` or an aggregate is refused. `None` (with an error) when refused.
pub(crate) fn stratify(
    checked: &[CheckedDerive],
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<Vec<usize>>> {
    let relations: IndexSet<Name> = checked.iter().map(|d| d.relation.clone()).collect();
    let n = relations.len();
    // reach[a][b]: relation a depends (transitively) on relation b.
    let mut edge = vec![vec![0u8; n]; n]; // 0 none, 1 positive, 2 negative
    for d in checked {
        let Some(a) = relations.get_index_of(&d.relation) else {
            continue;
        };
        let (pos, neg) = reads(&d.rule);
        for (list, mark) in [(pos, 1u8), (neg, 2u8)] {
            for r in list {
                if let Some(b) = relations.get_index_of(&r)
                    && let Some(cell) = edge.get_mut(a).and_then(|row| row.get_mut(b))
                {
                    *cell = (*cell).max(mark);
                }
            }
        }
    }
    let mut reach: Vec<Vec<bool>> = edge
        .iter()
        .map(|row| row.iter().map(|e| *e > 0).collect())
        .collect();
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                let via = reach
                    .get(i)
                    .and_then(|r| r.get(k))
                    .copied()
                    .unwrap_or(false)
                    && reach
                        .get(k)
                        .and_then(|r| r.get(j))
                        .copied()
                        .unwrap_or(false);
                if via && let Some(cell) = reach.get_mut(i).and_then(|r| r.get_mut(j)) {
                    *cell = true;
                }
            }
        }
    }
    let same = |i: usize, j: usize| {
        i == j
            || (reach
                .get(i)
                .and_then(|r| r.get(j))
                .copied()
                .unwrap_or(false)
                && reach
                    .get(j)
                    .and_then(|r| r.get(i))
                    .copied()
                    .unwrap_or(false))
    };
    // A negative edge inside a strongly connected group is a cycle through negation.
    for i in 0..n {
        for j in 0..n {
            let negative = edge.get(i).and_then(|r| r.get(j)).copied() == Some(2);
            if negative && same(i, j) {
                let names: Vec<String> = checked
                    .iter()
                    .filter(|d| {
                        relations
                            .get_index_of(&d.relation)
                            .is_some_and(|k| same(k, i) || same(k, j))
                    })
                    .map(|d| d.rule.id.to_string())
                    .collect();
                let a = relations.get_index(i).map_or("", |s| &**s);
                let b = relations.get_index(j).map_or("", |s| &**s);
                let span = checked
                    .iter()
                    .find(|d| &*d.relation == a)
                    .map_or(Span::none(), |d| d.span);
                diags.push(
                    Diagnostic::error(Code::UnstratifiedRecursion,
                        format!("`{a}` depends on itself through `exists` or an aggregate over `{b}`"),
                        span,
                        "recursion through negation",
                    )
                    .with_help(format!(
                        "a relation may use itself only positively (in patterns); the rules involved: {}",
                        names.join(", ")
                    )),
                );
                return None;
            }
        }
    }
    // Groups in dependency order: a group after every group it reads.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut placed = vec![false; n];
    while placed.iter().any(|p| !p) {
        let mut progressed = false;
        for i in 0..n {
            if placed.get(i).copied().unwrap_or(true) {
                continue;
            }
            let ready = (0..n).all(|j| {
                same(i, j)
                    || !reach
                        .get(i)
                        .and_then(|r| r.get(j))
                        .copied()
                        .unwrap_or(false)
                    || placed.get(j).copied().unwrap_or(false)
            });
            if ready {
                let members: Vec<usize> = (0..n).filter(|&j| same(i, j)).collect();
                for &m in &members {
                    if let Some(p) = placed.get_mut(m) {
                        *p = true;
                    }
                }
                groups.push(members);
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    Some(
        groups
            .into_iter()
            .map(|g| {
                let names: Vec<&Name> = g.iter().filter_map(|&i| relations.get_index(i)).collect();
                checked
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| names.contains(&&d.relation))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect(),
    )
}

/// The hop condition of a cycle pattern as a rule over `hop` and `first`.
fn hop_condition(p: &Pattern, relation: &Name, rule: &str) -> RuleDecl {
    let var = |name: &str| Pattern {
        var: Ident {
            name: Arc::from(name),
            span: p.var.span,
        },
        kind: FactKind::Row(relation.clone()),
        cycle: None,
        filter: None,
        span: p.span,
    };
    RuleDecl {
        timezone: None,
        fiscal_year_end: None,
        id: Ident {
            name: Arc::from(format!("{rule} (hops of {})", p.var.name).as_str()),
            span: p.var.span,
        },
        title: None,
        severity: Severity::Info,
        tags: Vec::new(),
        reference: None,
        params: Vec::new(),
        patterns: vec![var("hop"), var("first")],
        lets: Vec::new(),
        when: p.filter.clone(),
        message: Template {
            parts: Vec::new(),
            span: p.span,
        },
        span: p.span,
    }
}

/// Checks the hop condition of cycle pattern `p` (over `relation`, in rule `rule`) as a rule
/// with the bindings `hop` and `first`; its diagnostics go to `diags`.
pub(crate) fn check_cycle_hops(
    p: &Pattern,
    relation: &Name,
    rule: &str,
    facts: &FactBase,
    schema: &Schema,
    sources: &SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Option<CheckedRule> {
    let hop_rule = hop_condition(p, relation, rule);
    let (checked, ds) = check_rule(&hop_rule, facts, schema, sources, &ParamOverrides::new());
    // The hop condition is checked as a rule with the bindings `hop` and `first`, in
    // that order, of which it may read either or both: warnings about its bindings
    // would be about this construction, not about what the user wrote.
    diags.extend(
        ds.into_iter()
            .filter(|d| !matches!(d.code, Code::UnusedBinding | Code::CartesianProduct)),
    );
    checked
}
