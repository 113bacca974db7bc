//! The planner and executor of one rule.
//!
//! 1. Each binding's candidates are the facts of its kind that pass its single-binding
//!    conditions (evaluated once per fact).
//! 2. Bindings are ordered greedily: first the one with the fewest candidates, then always a
//!    binding linked to those already bound by an equality condition (`buy.buyer ==
//!    inv.investee`) when there is one, the smallest first.
//! 3. For a linked binding, a hash index on its side of the equalities is built once over its
//!    candidates and probed with the bound side: no nested loop over all pairs.
//! 4. Every other condition is checked as soon as all the bindings it reads are bound.

use super::{Budgets, Evaluator, Failure, Truth};
use crate::check::{CExpr, CKind, CheckedRule, bit};
use crate::explain::{DataGap, EvalError, Finding, MissingField};
use crate::facts::FactIndex;
use crate::hash::FastMap;
use crate::syntax::{BinaryOp, FactKind};
use crate::value::{Key, KeyClass};

/// One step of the plan: bind `var`, from an index probe or from its candidates.
struct Step<'r> {
    var: usize,
    /// Build-side and probe-side expressions of the equality conditions used as index key.
    join: Option<(Vec<&'r CExpr>, Vec<&'r CExpr>)>,
    /// The index over `var`'s candidates, keyed by the build-side values.
    index: JoinIndex,
    /// Conditions (by position) that become checkable at this step.
    checks: Vec<usize>,
}

/// A hash index over one binding's candidates.
///
/// Probing returns exactly the candidates for which the equality conditions can be true or can
/// fail with an error, so that a join finds what a nested loop would: the candidates with an
/// equal key, those whose values are of another class (comparing them is an error that must be
/// reported, not a silent `false`), and those whose values have no key (lists, records).
#[derive(Default)]
pub(super) struct JoinIndex {
    by_key: FastMap<Vec<Key>, Vec<FactIndex>>,
    by_class: FastMap<Vec<KeyClass>, Vec<FactIndex>>,
    unkeyed: Vec<FactIndex>,
}

impl JoinIndex {
    pub(super) fn insert(&mut self, key: JoinKey, f: FactIndex) {
        match key {
            JoinKey::Keyed(k, classes) => {
                self.by_key.entry(k).or_default().push(f);
                self.by_class.entry(classes).or_default().push(f);
            }
            JoinKey::Unkeyed => self.unkeyed.push(f),
        }
    }

    pub(super) fn probe(&self, key: &JoinKey, all: &[FactIndex]) -> Vec<FactIndex> {
        match key {
            JoinKey::Keyed(k, classes) => {
                let mut out = self.by_key.get(k).cloned().unwrap_or_default();
                for (c, facts) in &self.by_class {
                    if c != classes {
                        out.extend(facts);
                    }
                }
                out.extend(&self.unkeyed);
                out
            }
            JoinKey::Unkeyed => all.to_vec(),
        }
    }
}

/// The value of the key expressions of a join for one fact or binding.
pub(super) enum JoinKey {
    /// Every value has a key: the keys and their classes.
    Keyed(Vec<Key>, Vec<KeyClass>),
    /// Some value is a list or record: compare by evaluation.
    Unkeyed,
}

/// The execution state of one rule.
pub(super) struct Run<'r, 'a, 'x> {
    rule: &'r CheckedRule,
    ev: &'x Evaluator<'a>,
    errors: &'x mut Vec<EvalError>,
    candidates: Vec<Vec<FactIndex>>,
    steps: Vec<Step<'r>>,
    /// `false` when a condition without bindings is not true: the rule cannot fire.
    possible: bool,
    /// Candidates kept although one of their own conditions is unknown, with why.
    unknown_filters: FastMap<(usize, FactIndex), Gap>,
    /// The unknown conditions of the binding being built.
    pending: Vec<Gap>,
    /// Candidate bindings examined so far, against the budget.
    work: u64,
    /// Findings and data gaps made so far, against the budget.
    results: usize,
    budgets: Budgets,
    /// Set when a budget ran out: the rule stops.
    stopped: bool,
    /// Candidates given for some bindings instead of all facts of their kind.
    restrict: Vec<Option<Vec<FactIndex>>>,
    /// When set, complete bindings whose conditions all hold are collected here instead of
    /// becoming findings.
    pub(super) collected: Option<Vec<Vec<Option<FactIndex>>>>,
}

/// A condition that was unknown because of missing fields.
#[derive(Clone, Debug)]
struct Gap {
    condition: usize,
    missing: Vec<MissingField>,
}

impl<'r, 'a, 'x> Run<'r, 'a, 'x> {
    pub(super) fn new(
        rule: &'r CheckedRule,
        ev: &'x Evaluator<'a>,
        errors: &'x mut Vec<EvalError>,
        budgets: Budgets,
    ) -> Self {
        Self::restricted(rule, ev, errors, budgets, Vec::new())
    }

    /// A run whose binding `v` ranges only over `restrict[v]` where that is given (used by the
    /// semi-naive evaluation of derived relations).
    pub(super) fn restricted(
        rule: &'r CheckedRule,
        ev: &'x Evaluator<'a>,
        errors: &'x mut Vec<EvalError>,
        budgets: Budgets,
        restrict: Vec<Option<Vec<FactIndex>>>,
    ) -> Self {
        let mut run = Run {
            rule,
            ev,
            errors,
            candidates: Vec::new(),
            steps: Vec::new(),
            possible: true,
            unknown_filters: FastMap::default(),
            pending: Vec::new(),
            work: 0,
            results: 0,
            budgets,
            stopped: false,
            restrict,
            collected: None,
        };
        run.filter_candidates();
        run.plan();
        run
    }

    fn record(&mut self, failure: Failure<'_>, bound: &[Option<FactIndex>]) {
        let error = self.ev.error(self.rule, bound, failure);
        if !self.errors.contains(&error) {
            self.errors.push(error);
        }
    }

    /// Stops the rule with an error naming it.
    fn stop(&mut self, message: String) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        self.errors.push(EvalError {
            rule: self.rule.id.clone(),
            span: self.rule.span,
            expr: String::new(),
            message,
            bindings: Vec::new(),
        });
    }

    /// Evaluates condition `cond`; an error is recorded and counts as false. An unknown result
    /// comes with the missing fields behind it.
    fn check(&mut self, cond: usize, bound: &[Option<FactIndex>]) -> (Truth, Option<Gap>) {
        let Some(c) = self.rule.conditions.get(cond) else {
            return (Truth::False, None);
        };
        self.ev.take_missing();
        match self.ev.truth(&c.expr, bound) {
            Ok(Truth::Unknown) => {
                let gap = Gap {
                    condition: cond,
                    missing: self.ev.take_missing(),
                };
                (Truth::Unknown, Some(gap))
            }
            Ok(t) => (t, None),
            Err(f) => {
                self.record(f, bound);
                (Truth::False, None)
            }
        }
    }

    fn filter_candidates(&mut self) {
        let n = self.rule.vars.len();
        let mut bound = vec![None; self.rule.slots()];
        for i in 0..self.rule.conditions.len() {
            let constant = self.rule.conditions.get(i).is_some_and(|c| c.vars == 0);
            if constant && self.check(i, &bound).0 != Truth::True {
                self.possible = false;
            }
        }
        for v in 0..n {
            let kind = self
                .rule
                .vars
                .get(v)
                .map_or(FactKind::Deal, |var| var.kind.clone());
            let own: Vec<usize> = (0..self.rule.conditions.len())
                .filter(|&i| {
                    self.rule
                        .conditions
                        .get(i)
                        .is_some_and(|c| c.vars == bit(v))
                })
                .collect();
            let mut keep = Vec::new();
            let all: Vec<FactIndex> = match self.restrict.get(v).cloned().flatten() {
                Some(only) => only,
                None => match self.kind_names(v, &own) {
                    // `v.kind == k` or `v.kind in [...]`: only the facts that can pass it (and
                    // those without a kind, for which it is unknown) are examined.
                    Some(names) => self.ev.facts.of_kind_named(&kind, &names),
                    None => self.ev.facts.of_kind(&kind).to_vec(),
                },
            };
            for f in all {
                if let Some(slot) = bound.get_mut(v) {
                    *slot = Some(f);
                }
                let mut first_gap = None;
                let mut passed = true;
                for &c in &own {
                    match self.check(c, &bound) {
                        (Truth::True, _) => {}
                        (Truth::Unknown, gap) => {
                            if first_gap.is_none() {
                                first_gap = gap;
                            }
                        }
                        (Truth::False, _) => {
                            passed = false;
                            break;
                        }
                    }
                }
                if passed {
                    keep.push(f);
                    if let Some(gap) = first_gap {
                        self.unknown_filters.insert((v, f), gap);
                    }
                }
            }
            if let Some(slot) = bound.get_mut(v) {
                *slot = None;
            }
            self.candidates.push(keep);
        }
    }

    /// The names that condition `v.kind == k` or `v.kind in [a, b]` (`type` for entities) among
    /// `own` (the conditions on `v` alone) allows, if there is one.
    fn kind_names(&self, v: usize, own: &[usize]) -> Option<Vec<&'r str>> {
        let var = self.rule.vars.get(v)?;
        let conds = own
            .iter()
            .filter_map(|&i| self.rule.conditions.get(i).map(|c| &c.expr));
        kind_names(
            conds,
            &var.kind,
            &|e| matches!(e.kind, CKind::Var(x) if x == v),
        )
    }

    /// Equality conditions linking `v` to the bindings in `bound_mask`: (build side over `v`,
    /// probe side over bound bindings).
    fn joins(&self, v: usize, bound_mask: u64) -> (Vec<&'r CExpr>, Vec<&'r CExpr>) {
        let mut build = Vec::new();
        let mut probe = Vec::new();
        for c in &self.rule.conditions {
            let CKind::Binary(BinaryOp::Eq, a, b) = &c.expr.kind else {
                continue;
            };
            let (va, vb) = (a.vars(), b.vars());
            if va == bit(v) && vb != 0 && vb & !bound_mask == 0 {
                build.push(&**a);
                probe.push(&**b);
            } else if vb == bit(v) && va != 0 && va & !bound_mask == 0 {
                build.push(&**b);
                probe.push(&**a);
            }
        }
        (build, probe)
    }

    fn plan(&mut self) {
        let n = self.rule.vars.len();
        let mut bound_mask = 0u64;
        let mut remaining: Vec<usize> = (0..n).collect();
        while !remaining.is_empty() {
            let size = |v: &usize| self.candidates.get(*v).map_or(0, Vec::len);
            let linked: Vec<usize> = remaining
                .iter()
                .copied()
                .filter(|&v| bound_mask != 0 && !self.joins(v, bound_mask).0.is_empty())
                .collect();
            let pool = if linked.is_empty() {
                &remaining
            } else {
                &linked
            };
            let Some(&var) = pool.iter().min_by_key(|v| (size(v), **v)) else {
                break;
            };
            remaining.retain(|&v| v != var);
            let (build, probe) = self.joins(var, bound_mask);
            let before = bound_mask;
            bound_mask |= bit(var);
            let checks = (0..self.rule.conditions.len())
                .filter(|&i| {
                    self.rule.conditions.get(i).is_some_and(|c| {
                        c.vars.count_ones() > 1
                            && c.vars & !bound_mask == 0
                            && c.vars & !before != 0
                    })
                })
                .collect();
            let join = (!build.is_empty()).then_some((build, probe));
            self.steps.push(Step {
                var,
                join,
                index: JoinIndex::default(),
                checks,
            });
        }
        self.build_indexes();
    }

    fn build_indexes(&mut self) {
        let mut failures = Vec::new();
        for step in &mut self.steps {
            let Some((build, _)) = &step.join else {
                continue;
            };
            let mut bound = vec![None; self.rule.slots()];
            for &f in self.candidates.get(step.var).map_or(&[][..], Vec::as_slice) {
                if let Some(slot) = bound.get_mut(step.var) {
                    *slot = Some(f);
                }
                match keys(self.ev, build, &bound) {
                    Ok(Some(k)) => step.index.insert(k, f),
                    Ok(None) => {}
                    Err(e) => failures.push((e, bound.clone())),
                }
            }
        }
        for (failure, bound) in failures {
            self.record(failure, &bound);
        }
    }

    pub(super) fn execute(&mut self, findings: &mut Vec<Finding>, gaps: &mut Vec<DataGap>) {
        if !self.possible {
            return;
        }
        let mut bound = vec![None; self.rule.slots()];
        self.step(0, &mut bound, findings, gaps);
    }

    /// A complete binding: a finding when every condition held, a data gap when some were
    /// unknown.
    fn complete(
        &mut self,
        bound: &[Option<FactIndex>],
        findings: &mut Vec<Finding>,
        gaps: &mut Vec<DataGap>,
    ) {
        self.results += 1;
        if self.results > self.budgets.max_results {
            let max = self.budgets.max_results;
            self.stop(format!(
                "the rule stopped after {max} findings and data gaps; narrow its conditions"
            ));
            return;
        }
        if let Some(first) = self.pending.first() {
            let condition = self.rule.conditions.get(first.condition);
            let mut missing: Vec<MissingField> = Vec::new();
            for m in self.pending.iter().flat_map(|g| &g.missing) {
                if !missing.contains(m) {
                    missing.push(m.clone());
                }
            }
            gaps.push(DataGap {
                rule: self.rule.id.clone(),
                bindings: self.ev.bindings(self.rule, bound),
                condition: condition.map(|c| c.text.clone()).unwrap_or_default(),
                span: condition.map(|c| c.expr.span).unwrap_or_default(),
                missing,
            });
            return;
        }
        if let Some(collected) = &mut self.collected {
            collected.push(bound.to_vec());
            return;
        }
        let (finding, errors) = self.ev.finding(self.rule, bound);
        findings.push(finding);
        for e in errors {
            if !self.errors.contains(&e) {
                self.errors.push(e);
            }
        }
    }

    fn step(
        &mut self,
        at: usize,
        bound: &mut Vec<Option<FactIndex>>,
        findings: &mut Vec<Finding>,
        gaps: &mut Vec<DataGap>,
    ) {
        let Some(step) = self.steps.get(at) else {
            self.complete(bound, findings, gaps);
            return;
        };
        let var = step.var;
        let cands: Vec<FactIndex> = match &step.join {
            Some((_, probe)) => match keys(self.ev, probe, bound) {
                Ok(Some(k)) => step
                    .index
                    .probe(&k, self.candidates.get(var).map_or(&[][..], Vec::as_slice)),
                Ok(None) => return,
                Err(e) => {
                    let snapshot = bound.clone();
                    self.record(e, &snapshot);
                    return;
                }
            },
            None => self.candidates.get(var).cloned().unwrap_or_default(),
        };
        let checks = step.checks.clone();
        for f in cands {
            if self.stopped {
                break;
            }
            self.work += 1;
            if self.work > self.budgets.max_combinations {
                let max = self.budgets.max_combinations;
                self.stop(format!(
                    "the rule stopped after examining {max} combinations of facts; \
                     link its patterns with equality conditions (`a.x == b.y`)"
                ));
                break;
            }
            if let Some(slot) = bound.get_mut(var) {
                *slot = Some(f);
            }
            let depth = self.pending.len();
            if let Some(gap) = self.unknown_filters.get(&(var, f)) {
                self.pending.push(gap.clone());
            }
            let mut passed = true;
            for &c in &checks {
                match self.check(c, bound) {
                    (Truth::True, _) => {}
                    (Truth::Unknown, gap) => self.pending.extend(gap),
                    (Truth::False, _) => {
                        passed = false;
                        break;
                    }
                }
            }
            if passed {
                self.step(at + 1, bound, findings, gaps);
            }
            self.pending.truncate(depth);
        }
        if let Some(slot) = bound.get_mut(var) {
            *slot = None;
        }
    }
}

/// The join key of `exprs` under `bound`; `None` if a value is missing (the equality is then
/// unknown and cannot hold).
pub(super) fn keys<'e>(
    ev: &Evaluator<'_>,
    exprs: &[&'e CExpr],
    bound: &[Option<FactIndex>],
) -> Result<Option<JoinKey>, Failure<'e>> {
    let mut keys = Vec::with_capacity(exprs.len());
    let mut unkeyed = false;
    for e in exprs {
        let Some(v) = ev.value(e, bound)? else {
            return Ok(None);
        };
        match v.key() {
            Some(k) => keys.push(k),
            None => unkeyed = true,
        }
    }
    if unkeyed {
        return Ok(Some(JoinKey::Unkeyed));
    }
    let classes = keys.iter().map(Key::class).collect();
    Ok(Some(JoinKey::Keyed(keys, classes)))
}

/// The names that a condition `x.kind == k` or `x.kind in [a, b]` (`type` for entities) among
/// `conds` allows, where `is_binding` recognises `x`; `None` when there is no such condition.
pub(super) fn kind_names<'r>(
    conds: impl IntoIterator<Item = &'r CExpr>,
    kind: &FactKind,
    is_binding: &dyn Fn(&CExpr) -> bool,
) -> Option<Vec<&'r str>> {
    let disc = crate::schema::discriminator(kind);
    let is_disc = |e: &CExpr| matches!(&e.kind, CKind::Field(inner, f, _) if &**f == disc && is_binding(inner));
    let name = |e: &'r CExpr| match &e.kind {
        CKind::Literal(value) => value.as_name(),
        _ => None,
    };
    conds.into_iter().find_map(|c| {
        let CKind::Binary(op, a, b) = &c.kind else {
            return None;
        };
        match op {
            BinaryOp::Eq if is_disc(a) => name(b).map(|n| vec![n]),
            BinaryOp::Eq if is_disc(b) => name(a).map(|n| vec![n]),
            BinaryOp::In if is_disc(a) => match &b.kind {
                CKind::List(items) => items.iter().map(name).collect(),
                _ => None,
            },
            _ => None,
        }
    })
}
