//! Evaluation: plans each rule (binding order, hash indexes on equality joins) and runs it over
//! the fact base, producing explained findings.
//!
//! Conditions use three-valued logic: a condition that reads a field a fact does not have is
//! *unknown*, not false and not zero, and a rule fires only when every condition is *true*.
//! So `d.status != definitive` does not fire on a deal without `status`.

pub mod derive;
mod errors;
pub(crate) use errors::Distinct;
mod plan;

use crate::explain::{
    Binding, Conversion, DataGap, Detail, EvalError, FactRef, Finding, MissingField, Operand,
    TraceStep, fingerprint,
};
use crate::facts::{FactBase, FactIndex, FactView};
pub use crate::ir::ROUNDING_MODES;
use crate::ir::{CExpr, CKind, CheckedRule, Function, MessagePart};
use crate::syntax::BinaryOp;
use crate::value::{Value, ValueError};
use rayon::prelude::*;
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

/// Most bindings a [`Slots`] holds on the stack.
const INLINE_SLOTS: usize = 12;

/// The bindings of a rule with a sub-query's local binding set ([`Evaluator::with_local`]).
enum Slots {
    Inline(arrayvec::ArrayVec<Option<FactIndex>, INLINE_SLOTS>),
    Heap(Vec<Option<FactIndex>>),
}

impl std::ops::Deref for Slots {
    type Target = Bound;
    fn deref(&self) -> &Bound {
        match self {
            Slots::Inline(s) => s,
            Slots::Heap(s) => s,
        }
    }
}

impl std::ops::DerefMut for Slots {
    fn deref_mut(&mut self) -> &mut Bound {
        match self {
            Slots::Inline(s) => s,
            Slots::Heap(s) => s,
        }
    }
}

/// Fewest facts of a sub-query's kind whose filtering and keys are split across threads
/// ([`Evaluator::build_sub_index`]).
const PARALLEL_SUB_INDEX: usize = 16_384;

/// The facts of a sub-query that pass its own conditions, and their keys, in fact order
/// ([`Evaluator::sub_keys`]).
#[derive(Default)]
struct SubKeys {
    candidates: Vec<FactIndex>,
    keyed: plan::Keyed,
    unkeyed: Vec<FactIndex>,
}

/// The candidates of a sub-query (`exists`, aggregate), filtered once, with its hash index.
#[derive(Default)]
struct SubIndex {
    candidates: Vec<FactIndex>,
    index: plan::JoinIndex,
}

/// The sub-query indexes an evaluator has built, by sub-query ([`Evaluator::built`]).
#[derive(Clone, Default)]
struct Built {
    subs: Vec<(usize, Arc<SubIndex>)>,
    shared: Vec<(usize, Arc<SubIndex>)>,
}

/// A quantifier element's fact, list field and position (`inv`, `tranches`, 2).
type ElementSource = (Arc<str>, crate::value::Name, usize);

/// Evaluates expressions of one rule against one fact base.
struct Evaluator<'a> {
    facts: &'a FactBase,
    rule: &'a CheckedRule,
    /// Values of the quantifier elements being evaluated.
    elements: RefCell<Vec<Option<Value>>>,
    /// Where each quantifier element comes from, when its list is a field of a fact.
    element_sources: RefCell<Vec<Option<ElementSource>>>,
    /// Sub-query indexes, built on first use, by the first sub-query with the same index
    /// ([`shared_indexes`]).
    subs: RefCell<indexmap::IndexMap<usize, Arc<SubIndex>>>,
    /// For each sub-query, the first sub-query alike to it ([`shared_indexes`]).
    index_of: Vec<usize>,
    /// The indexes that alike sub-queries share, by the first of them: those whose building
    /// took no exchange rate and no date of a timestamp.
    shared: RefCell<crate::hash::FastMap<usize, Arc<SubIndex>>>,
    /// Fields found missing since the last [`Evaluator::take_missing`].
    missing: RefCell<crate::hash::FastSet<MissingField>>,
    /// Outer values a sub-query is joined on, found missing inside [`Evaluator::without_gaps`]:
    /// they make the sub-query unknown, so they are a gap of the condition around it.
    outer_missing: RefCell<Vec<MissingField>>,
    /// How many [`Evaluator::without_gaps`] calls are running.
    gapless: std::cell::Cell<usize>,
    /// Above 0 while a sub-query's index is built: fields found missing then are not noted
    /// (see [`Evaluator::sub_index`]).
    unnoted: std::cell::Cell<usize>,
    /// Exchange rates used since the last [`Evaluator::take_conversions`].
    conversions: RefCell<Vec<Conversion>>,
    /// Dates taken of timestamps since the last [`Evaluator::take_conversions`].
    dates: RefCell<Vec<crate::explain::DateTaken>>,
    /// The fact base's id of each field name the rule reads, by the rule's field slot.
    field_ids: Vec<Option<crate::facts::FieldId>>,
    /// For each sub-query, whether its aggregate is a function of its join key alone: no
    /// condition but the key's equalities, and a value that reads only the local binding. Its result is then
    /// computed once per key ([`Evaluator::aggregates`]).
    keyed_aggregate: Vec<bool>,
    /// The aggregates computed so far for those of `keyed_aggregate`, by sub-query and then by
    /// group of its index (the group number its join key probes to): the outer facts of one
    /// key (the deals of one buyer and seller) share one sum, found without hashing the key a
    /// second time. `None` for a group not computed yet; `Some(None)` for a missing result.
    aggregates: RefCell<Vec<Vec<Option<Option<Value>>>>>,
    /// For each sub-query, the binding whose fact probes its index with the fact's own key,
    /// if there is one ([`self_key`]).
    self_key: Vec<Option<usize>>,
    /// For each sub-query, whether its index keeps the group of each member: some sub-query
    /// sharing it probes with a member's own key.
    by_member: Vec<bool>,
    /// The threads a sub-query's index may be built on (1 unless set).
    threads: usize,
    /// The fact base's column of symbol numbers of each field the rule reads, by the rule's
    /// field slot, once a join key reads it ([`Evaluator::bound_symbol`]).
    columns: Vec<std::cell::OnceCell<Arc<[u32]>>>,
}

/// The binding (by slot) whose fact probes sub-query `q`'s index with the fact's own key: each
/// outer side of the key is a field of that one binding, and each local side is the same field
/// of the local binding (`x.buyer == c.buyer and x.seller == c.seller`). When that fact is a
/// member of the index, its group is the one its key probes to ([`plan::JoinIndex::member_group`]).
fn self_key(rule: &CheckedRule, q: &crate::ir::SubQuery) -> Option<usize> {
    let slot_of = |e: &CExpr| match &e.kind {
        CKind::Var(v) => Some(*v),
        CKind::Local(l) => Some(rule.vars.len() + l),
        _ => None,
    };
    let mut outer = None;
    for (build, probe) in q.build.iter().zip(&q.probe) {
        let (CKind::Field(local, name, _), CKind::Field(base, probe_name, _)) =
            (&build.kind, &probe.kind)
        else {
            return None;
        };
        let slot = slot_of(base)?;
        let same_field = name == probe_name && !matches!(&**name, "id" | "title");
        if !matches!(local.kind, CKind::Local(l) if l == q.local)
            || !same_field
            || slot == rule.vars.len() + q.local
            || outer.is_some_and(|o| o != slot)
        {
            return None;
        }
        outer = Some(slot);
    }
    outer
}

/// Whether `e` reads nothing but constants and local binding `local` (and the facts its fields
/// name): its value is the same wherever the local binding is the same fact.
fn reads_only_local(e: &CExpr, local: usize) -> bool {
    match &e.kind {
        CKind::Literal(_) => true,
        CKind::Local(i) => *i == local,
        CKind::Field(inner, ..) | CKind::Not(inner) | CKind::Neg(inner) => {
            reads_only_local(inner, local)
        }
        CKind::List(items) | CKind::Call(_, items) => {
            items.iter().all(|i| reads_only_local(i, local))
        }
        CKind::Binary(_, a, b) => reads_only_local(a, local) && reads_only_local(b, local),
        CKind::Var(_)
        | CKind::Element(_)
        | CKind::Exists(..)
        | CKind::Aggregate(..)
        | CKind::Quantifier { .. } => false,
    }
}

/// Whether `a`, over local binding `la`, and `b`, over local binding `lb`, are the same
/// expression but for the name of that binding (`x.kind in [purchase]` and `y.kind in
/// [purchase]`): constants written alike, the same fields, operators and functions. Only the
/// shapes of a sub-query's own conditions are compared; any other (a rule's binding, an element,
/// a nested sub-query) is not the same.
fn same_over_local(a: &CExpr, la: usize, b: &CExpr, lb: usize) -> bool {
    let all = |x: &[CExpr], y: &[CExpr]| {
        x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_over_local(x, la, y, lb))
    };
    match (&a.kind, &b.kind) {
        (CKind::Literal(x), CKind::Literal(y)) => a.text == b.text && x == y,
        (CKind::Local(x), CKind::Local(y)) => *x == la && *y == lb,
        (CKind::Field(x, nx, _), CKind::Field(y, ny, _)) => {
            nx == ny && same_over_local(x, la, y, lb)
        }
        (CKind::Not(x), CKind::Not(y)) | (CKind::Neg(x), CKind::Neg(y)) => {
            same_over_local(x, la, y, lb)
        }
        (CKind::List(x), CKind::List(y)) => all(x, y),
        (CKind::Call(fx, x), CKind::Call(fy, y)) => fx == fy && all(x, y),
        (CKind::Binary(ox, x1, x2), CKind::Binary(oy, y1, y2)) => {
            ox == oy && same_over_local(x1, la, y1, lb) && same_over_local(x2, la, y2, lb)
        }
        _ => false,
    }
}

/// For each sub-query of `rule`, the first sub-query (itself or an earlier one) whose index is
/// the same: the same kind of fact, the same conditions on the local binding alone and the same
/// local sides of its join key. The `sum` and the `not exists` of one rule over the deals of
/// one buyer and seller then share one index, built once.
fn shared_indexes(rule: &CheckedRule) -> Vec<usize> {
    let subs = &rule.subqueries;
    let same = |a: &crate::ir::SubQuery, b: &crate::ir::SubQuery| {
        let all = |x: &[CExpr], y: &[CExpr]| {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(x, y)| same_over_local(x, a.local, y, b.local))
        };
        a.kind == b.kind && all(&a.prefilter, &b.prefilter) && all(&a.build, &b.build)
    };
    subs.iter()
        .enumerate()
        .map(|(i, q)| {
            subs.iter()
                .take(i)
                .position(|earlier| same(earlier, q))
                .unwrap_or(i)
        })
        .collect()
}

impl<'a> Evaluator<'a> {
    fn fact(&self, i: FactIndex) -> Option<FactView<'a>> {
        self.facts.get(i)
    }

    fn new(facts: &'a FactBase, rule: &'a CheckedRule) -> Self {
        Evaluator {
            facts,
            rule,
            elements: RefCell::new(vec![None; rule.elements]),
            element_sources: RefCell::new(vec![None; rule.elements]),
            subs: RefCell::new(indexmap::IndexMap::new()),
            index_of: shared_indexes(rule),
            shared: RefCell::default(),
            missing: RefCell::new(crate::hash::FastSet::default()),
            outer_missing: RefCell::new(Vec::new()),
            gapless: std::cell::Cell::new(0),
            unnoted: std::cell::Cell::new(0),
            conversions: RefCell::new(Vec::new()),
            dates: RefCell::new(Vec::new()),
            field_ids: rule.fields.iter().map(|n| facts.field_id(n)).collect(),
            keyed_aggregate: rule
                .subqueries
                .iter()
                .map(|q| {
                    // Each equality of the join key is also kept as a residual condition
                    // (checked for candidates of another class of value); any other residual
                    // condition reads the outer bindings beyond the key.
                    !q.probe.is_empty()
                        && q.residual.len() == q.build.len()
                        && q.value
                            .as_ref()
                            .is_none_or(|v| reads_only_local(v, q.local))
                })
                .collect(),
            aggregates: RefCell::default(),
            self_key: Vec::new(),
            by_member: Vec::new(),
            threads: 1,
            columns: rule
                .fields
                .iter()
                .map(|_| std::cell::OnceCell::new())
                .collect(),
        }
        .with_self_keys()
    }

    /// Sets [`Evaluator::self_key`] and [`Evaluator::by_member`].
    fn with_self_keys(mut self) -> Self {
        let rule = self.rule;
        self.self_key = rule.subqueries.iter().map(|q| self_key(rule, q)).collect();
        self.by_member = (0..rule.subqueries.len())
            .map(|sub| {
                let alike = self.index_of.get(sub).copied().unwrap_or(sub);
                self.index_of
                    .iter()
                    .zip(&self.self_key)
                    .any(|(&other, key)| other == alike && key.is_some())
            })
            .collect();
        self
    }

    /// The group that the fact bound in sub-query `sub`'s [`self_key`] binding probes to in
    /// `idx`, with its members, when the index can tell it without making the key.
    fn member_group<'i>(
        &self,
        sub: usize,
        idx: &'i SubIndex,
        bound: &Bound,
    ) -> Option<(u32, &'i [FactIndex])> {
        let slot = (*self.self_key.get(sub)?)?;
        let f = (*bound.get(slot)?)?;
        idx.index.member_group(f)
    }

    /// The sub-query indexes built so far, to start another evaluator of the same rule with
    /// ([`Evaluator::with_built`]) or to give back to this one ([`Evaluator::adopt`]).
    fn built(&self) -> Built {
        Built {
            subs: self
                .subs
                .borrow()
                .iter()
                .map(|(&s, i)| (s, i.clone()))
                .collect(),
            shared: self
                .shared
                .borrow()
                .iter()
                .map(|(&s, i)| (s, i.clone()))
                .collect(),
        }
    }

    /// An evaluator of `rule` (on another thread) that starts with the indexes `built`.
    fn with_built(facts: &'a FactBase, rule: &'a CheckedRule, built: &Built) -> Self {
        let ev = Evaluator::new(facts, rule);
        ev.adopt(built.clone());
        ev
    }

    /// Takes the indexes of `built` this evaluator has not built: the same as it would have
    /// built itself (an index depends only on its sub-query and the facts), so that it neither
    /// builds them again nor lists, in an explanation, a rate taken while building them.
    fn adopt(&self, built: Built) {
        let mut subs = self.subs.borrow_mut();
        for (s, index) in built.subs {
            subs.entry(s).or_insert(index);
        }
        let mut shared = self.shared.borrow_mut();
        for (s, index) in built.shared {
            shared.entry(s).or_insert(index);
        }
    }

    /// Whether the index of sub-query `sub` is built (its own or an alike one's).
    fn holds_index(&self, sub: usize) -> bool {
        let alike = self.index_of.get(sub).copied().unwrap_or(sub);
        self.subs.borrow().contains_key(&sub) || self.shared.borrow().contains_key(&alike)
    }

    fn take_missing(&self) -> Vec<MissingField> {
        std::mem::take(&mut *self.missing.borrow_mut())
            .into_iter()
            .collect()
    }

    /// Runs `f` without recording what it finds missing: the candidates of an `exists` or an
    /// aggregate that lack a field simply do not match (or are listed as not counted). What the
    /// sub-query's outer join values lack is recorded: it makes the sub-query unknown.
    fn without_gaps<T>(&self, f: impl FnOnce() -> T) -> T {
        let saved = std::mem::take(&mut *self.missing.borrow_mut());
        self.gapless.set(self.gapless.get() + 1);
        let r = f();
        self.gapless.set(self.gapless.get().saturating_sub(1));
        let outer = std::mem::take(&mut *self.outer_missing.borrow_mut());
        let mut missing = self.missing.borrow_mut();
        *missing = saved;
        missing.extend(outer);
        r
    }

    fn take_conversions(&self) -> Vec<Conversion> {
        std::mem::take(&mut *self.conversions.borrow_mut())
    }

    /// Forgets the exchange rates used and the dates taken so far: the search for findings
    /// does not keep them (an explanation evaluates its conditions again and takes its own), and
    /// kept they would grow with every fact examined.
    fn forget_steps(&self) {
        self.conversions.borrow_mut().clear();
        self.dates.borrow_mut().clear();
    }

    /// The dates taken by `date(t)` since the last call (taken with the conversions).
    fn take_dates(&self) -> Vec<crate::explain::DateTaken> {
        std::mem::take(&mut *self.dates.borrow_mut())
    }

    /// The fact a symbol (or text) names, by the symbol's number in the fact base when it
    /// has one.
    fn find_fact(&self, v: &Value) -> Option<FactIndex> {
        match v {
            Value::Symbol(name, id) => self.facts.find_symbol(name, *id),
            Value::Text(name) => self.facts.find(name),
            _ => None,
        }
    }

    fn note_missing(&self, fact: &Arc<str>, field: &str, declared: bool) {
        if self.unnoted.get() > 0 {
            return;
        }
        let m = MissingField {
            fact: fact.clone(),
            field: Arc::from(field),
            declared,
        };
        self.missing.borrow_mut().insert(m);
    }

    /// Field `name` of `fact`, read through the fact's layout when `slot` is the rule's slot of
    /// that name (by name otherwise).
    fn field_of(&self, fact: FactView<'a>, name: &str, slot: usize) -> Option<&'a Value> {
        let same = self.rule.fields.get(slot).is_some_and(|n| {
            (std::ptr::eq(n.as_ptr(), name.as_ptr()) && n.len() == name.len()) || &**n == name
        });
        match self.field_ids.get(slot) {
            Some(Some(id)) if same => self.facts.field_by_id(fact, *id, name),
            _ => fact.fields().value(name),
        }
    }

    /// When `e` is a field of a bound fact (`buy.buyer`, `x.amount` of a local binding): the
    /// fact's index, the fact, the field's name and its slot in the rule.
    fn bound_field_of<'e>(
        &self,
        e: &'e CExpr,
        bound: &Bound,
    ) -> Option<(FactIndex, FactView<'a>, &'e crate::value::Name, usize)> {
        let (i, name, slot) = self.bound_place(e, bound)?;
        Some((i, self.fact(i)?, name, slot))
    }

    /// When `e` is a field of a bound fact: the fact's index, the field's name and its slot in
    /// the rule, without reading the fact.
    fn bound_place<'e>(
        &self,
        e: &'e CExpr,
        bound: &Bound,
    ) -> Option<(FactIndex, &'e crate::value::Name, usize)> {
        let CKind::Field(base, name, slot) = &e.kind else {
            return None;
        };
        let binding = match base.kind {
            CKind::Var(v) => v,
            CKind::Local(l) => self.rule.vars.len() + l,
            _ => return None,
        };
        let i = bound.get(binding).copied().flatten()?;
        Some((i, name, *slot))
    }

    /// The number of the name in field `e` of a bound loaded fact (`buy.buyer`), read from the
    /// fact base's column of that field ([`FactBase::symbol_column`]) instead of from the fact.
    /// `None` for any other expression, for a derived row, and for a field that is missing or
    /// not a name: those are read by [`Evaluator::read_bound_field`], which notes the gap.
    fn bound_symbol(&self, e: &CExpr, bound: &Bound) -> Option<u32> {
        let (i, name, slot) = self.bound_place(e, bound)?;
        let column = self
            .columns
            .get(slot)?
            .get_or_init(|| self.facts.symbol_column(name, self.threads > 1));
        column
            .get(i)
            .copied()
            .filter(|&n| n != crate::facts::NOT_A_NAME)
    }

    /// The value of `e` when it is a field of a bound fact (`buy.buyer`), read directly by its
    /// slot, without the general evaluator: `Some(Some(v))` when present; `Some(None)` when
    /// missing, noted as a gap exactly as the general evaluator notes it
    /// ([`Evaluator::fact_field`]); `None` for any other expression, and for `id` and `title`,
    /// which a fact has without a field of that name.
    fn read_bound_field(&self, e: &CExpr, bound: &Bound) -> Option<Option<&'a Value>> {
        let (_, fact, name, slot) = self.bound_field_of(e, bound)?;
        match self.field_of(fact, name, slot) {
            Some(v) => Some(Some(v)),
            None if matches!(&**name, "id" | "title") => None,
            None => {
                self.note_missing(&fact.id(), name, true);
                Some(None)
            }
        }
    }

    /// The number of the id of the fact bound in `e` when `e` is its `id` (`b.id`) and the fact
    /// has no field of that name: the part of a join key that the id is, without making the
    /// id's value. `None` otherwise.
    fn bound_id_number(&self, e: &CExpr, bound: &Bound) -> Option<u32> {
        let (i, fact, name, slot) = self.bound_field_of(e, bound)?;
        if &**name != "id" || self.field_of(fact, name, slot).is_some() {
            return None;
        }
        self.facts.id_number(i)
    }

    /// The value of a field of fact `i`; `id` and `title` are always there. `slot` is the
    /// field's slot in the rule ([`CheckedRule::fields`]).
    fn fact_field(&self, i: FactIndex, name: &str, slot: usize) -> Ev<'a> {
        let Some(fact) = self.fact(i) else {
            return Ev::Missing;
        };
        match self.field_of(fact, name, slot) {
            Some(v) => Ev::Val(Cow::Borrowed(v)),
            None if name == "id" => self
                .facts
                .id_value(i)
                .map_or(Ev::Missing, |v| Ev::Val(Cow::Owned(v))),
            None if name == "title" && fact.title().is_some() => match fact.title() {
                Some(t) => Ev::Val(Cow::Owned(Value::Text(Arc::from(t)))),
                None => Ev::Missing,
            },
            None => {
                self.note_missing(&fact.id(), name, true);
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
            CKind::Local(i) => match bound.get(self.rule.vars.len() + i).copied().flatten() {
                Some(f) => Ev::Fact(f),
                None => Ev::Missing,
            },
            CKind::Element(i) => match self.elements.borrow().get(*i).cloned().flatten() {
                Some(v) => Ev::Val(Cow::Owned(v)),
                None => Ev::Missing,
            },
            CKind::Exists(..) | CKind::Quantifier { .. } => self.truth_value(e, bound)?,
            CKind::Aggregate(func, sub, _) => self.aggregate_value(*func, *sub, bound, e)?,
            CKind::Field(base, name, slot) => match self.eval(base, bound)? {
                Ev::Fact(i) => self.fact_field(i, name, *slot),
                Ev::Missing => Ev::Missing,
                Ev::Val(Cow::Borrowed(v)) => self.value_field(v, name, *slot, e)?,
                Ev::Val(Cow::Owned(v)) => match self.value_field(&v, name, *slot, e)? {
                    Ev::Val(inner) => Ev::Val(Cow::Owned(inner.into_owned())),
                    Ev::Fact(i) => Ev::Fact(i),
                    Ev::Missing => {
                        // A record of a list that `any`/`all` walks (`t.trigger` for a
                        // tranche): name the fact and the element in the data gap.
                        if let CKind::Element(slot) = base.kind {
                            let source = self.element_sources.borrow().get(slot).cloned();
                            if let Some(Some((fact, list, index))) = source {
                                self.note_missing(&fact, &format!("{list}[{index}].{name}"), true);
                            }
                        }
                        Ev::Missing
                    }
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
                Ev::Val(Cow::Owned(Value::List(values.into())))
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
                // Looking for a field is not reading it: what `has` finds missing is no data gap.
                let before = self.missing.borrow().len();
                let present = match args.first() {
                    Some(a) => !matches!(self.eval(a, bound)?, Ev::Missing),
                    None => false,
                };
                self.missing.borrow_mut().truncate(before);
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
            CKind::Call(f, args) => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    match self.value(a, bound)? {
                        Some(v) => values.push(v.into_owned()),
                        None => return Ok(Ev::Missing),
                    }
                }
                let v = self.call(*f, &values).map_err(|m| Failure {
                    expr: e,
                    message: m,
                })?;
                if let (Function::Date, [t @ Value::Timestamp(_), zone], Value::Date(date)) =
                    (*f, values.as_slice(), &v)
                {
                    let taken = crate::explain::DateTaken {
                        expr: e.text.clone(),
                        timestamp: t.clone(),
                        date: *date,
                        zone: crate::value::Name::from(zone.as_name().unwrap_or_default()),
                    };
                    let mut dates = self.dates.borrow_mut();
                    if !dates.contains(&taken) {
                        dates.push(taken);
                    }
                }
                Ev::Val(Cow::Owned(v))
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
        slot: usize,
        e: &'e CExpr,
    ) -> Result<Ev<'v>, Failure<'e>>
    where
        'a: 'v,
    {
        match v {
            Value::Record(fields) => Ok(fields
                .get(name)
                .map_or(Ev::Missing, |v| Ev::Val(Cow::Borrowed(v)))),
            Value::Symbol(id, _) | Value::Text(id) => Ok(match self.find_fact(v) {
                Some(i) => self.fact_field(i, name, slot),
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
        // The usual operand, a field of a bound fact (`buy.buyer`), is read directly by its
        // slot.
        if let Some(v) = self.read_bound_field(e, bound) {
            return Ok(v.map(Cow::Borrowed));
        }
        Ok(match self.eval(e, bound)? {
            Ev::Fact(i) => self.facts.id_value(i).map(Cow::Owned),
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
            CKind::Exists(sub, _) => {
                // What the candidates of the `exists` lack is not a gap of this condition: a
                // candidate whose condition is unknown simply does not match.
                Ok(self.without_gaps(|| self.matches(*sub, bound, 1, e))?.0)
            }
            CKind::Quantifier {
                all,
                elem,
                list,
                cond,
            } => Ok(self.quantify(*all, *elem, list, cond, bound)?.0),
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
                for item in items.iter() {
                    if self.with_fx(&x, item, Value::equals).map_err(fail)? {
                        return Ok(Truth::True);
                    }
                }
                Ok(Truth::False)
            }
            // The usual filter, a symbol field compared with a symbol (`d.status ==
            // definitive`): two symbols are equal when their names are (`Value::equals`).
            CKind::Binary(op @ (BinaryOp::Eq | BinaryOp::Ne), a, b)
                if let CKind::Literal(Value::Symbol(want, _)) = &b.kind
                    && let Some(Some(Value::Symbol(have, _))) = self.read_bound_field(a, bound) =>
            {
                Ok(Truth::from_bool((have == want) == (*op == BinaryOp::Eq)))
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
    /// The functions other than `round`, `has` and `months_between`, on evaluated arguments.
    fn call(&self, f: Function, args: &[Value]) -> Result<Value, String> {
        let text = |v: &Value| -> Result<String, String> {
            v.as_name().map(str::to_string).ok_or_else(|| {
                format!(
                    "`{}` needs text or a name, not {}",
                    function_name(f),
                    v.describe()
                )
            })
        };
        match (f, args) {
            (Function::Abs, [x]) => {
                if !matches!(
                    x,
                    Value::Number(_) | Value::Percent(_) | Value::Money(_) | Value::Quantity(_)
                ) {
                    return Err(format!(
                        "`abs` needs a number or an amount, not {}",
                        x.describe()
                    ));
                }
                let zero = Value::Number(rust_decimal::Decimal::ZERO);
                let negative = x.compare(&zero).map_err(|e| e.to_string())?.is_lt();
                if negative {
                    x.neg().map_err(|e| e.to_string())
                } else {
                    Ok(x.clone())
                }
            }
            (Function::Min | Function::Max, [a, b]) => {
                let order = self
                    .with_fx(a, b, Value::compare)
                    .map_err(|e| e.to_string())?;
                let pick_a = if f == Function::Min {
                    order.is_le()
                } else {
                    order.is_ge()
                };
                Ok(if pick_a { a.clone() } else { b.clone() })
            }
            (Function::IsCeiling, [x]) => Ok(Value::Bool(x.is_ceiling())),
            (Function::Date, [x, zone]) => {
                crate::value::date_of(x, &text(zone)?).map_err(|e| e.to_string())
            }
            (Function::Quarter, [x]) => crate::value::quarter(x).map_err(|e| e.to_string()),
            (Function::FiscalYear, [x, end]) => {
                crate::value::fiscal_year(x, end).map_err(|e| e.to_string())
            }
            (Function::FiscalQuarter, [x, end]) => {
                crate::value::fiscal_quarter(x, end).map_err(|e| e.to_string())
            }
            (Function::Lower, [x]) => Ok(Value::Text(Arc::from(text(x)?.to_lowercase().as_str()))),
            (Function::Contains, [Value::List(items), part]) => {
                for item in items.iter() {
                    if self
                        .with_fx(item, part, Value::equals)
                        .map_err(|e| e.to_string())?
                    {
                        return Ok(Value::Bool(true));
                    }
                }
                Ok(Value::Bool(false))
            }
            (Function::Contains, [x, part]) => Ok(Value::Bool(text(x)?.contains(&text(part)?))),
            (Function::StartsWith, [x, prefix]) => {
                Ok(Value::Bool(text(x)?.starts_with(&text(prefix)?)))
            }
            (Function::Len, [Value::List(items)]) => {
                Ok(Value::Number(rust_decimal::Decimal::from(items.len())))
            }
            (Function::Len, [x]) => Ok(Value::Number(rust_decimal::Decimal::from(
                text(x)?.chars().count(),
            ))),
            (f, _) => {
                let name = function_name(f);
                let kinds: Vec<String> = args.iter().map(Value::describe).collect();
                Err(format!("`{name}` does not take {}", kinds.join(" and ")))
            }
        }
    }

    /// The sub-query's index, built on first use: candidates passing the conjuncts that read
    /// only the local binding, hashed on the local side of its equalities.
    ///
    /// A sub-query alike to one whose index is built ([`shared_indexes`]) uses that index,
    /// unless building it took exchange rates or dates of timestamps: those steps belong in the
    /// explanation of the condition that builds the index, so each such sub-query builds (and
    /// explains) its own, as it would alone.
    fn sub_index<'e>(&self, sub: usize, e: &'e CExpr) -> Result<Arc<SubIndex>, Failure<'e>> {
        if let Some(idx) = self.subs.borrow().get(&sub) {
            return Ok(idx.clone());
        }
        let alike = self.index_of.get(sub).copied().unwrap_or(sub);
        let shared = self.shared.borrow().get(&alike).cloned();
        if let Some(idx) = shared {
            self.subs.borrow_mut().insert(sub, idx.clone());
            return Ok(idx);
        }
        let steps = (self.conversions.borrow().len(), self.dates.borrow().len());
        // The fields found missing while the index is built (a candidate without a key part
        // never joins, and records no data gap) are not about the binding being evaluated:
        // they are not noted at all.
        self.unnoted.set(self.unnoted.get() + 1);
        let built = self.build_sub_index(sub, e);
        self.unnoted.set(self.unnoted.get() - 1);
        let built = built?;
        if steps == (self.conversions.borrow().len(), self.dates.borrow().len()) {
            self.shared
                .borrow_mut()
                .entry(alike)
                .or_insert_with(|| built.clone());
        }
        Ok(built)
    }

    /// Builds the index of sub-query `sub` (see [`Evaluator::sub_index`]).
    ///
    /// With more than one thread and [`PARALLEL_SUB_INDEX`] facts or more, the facts are
    /// filtered and their keys made a part per thread, each part with an evaluator of its own;
    /// the parts are joined in fact order, with the exchange rates and dates each took, up to
    /// the first part that failed (whose error is the one a single thread meets first).
    fn build_sub_index<'e>(&self, sub: usize, e: &'e CExpr) -> Result<Arc<SubIndex>, Failure<'e>> {
        let Some(q) = self.rule.subqueries.get(sub) else {
            return Ok(Arc::new(SubIndex::default()));
        };
        let relocate = |message: String| Failure { expr: e, message };
        let local = q.local;
        let (of_kind, scan) = plan::kind_scan(
            self.facts,
            &q.prefilter,
            &q.kind,
            &|x| matches!(x.kind, CKind::Local(l) if l == local),
        );
        let keys = if self.threads > 1 && of_kind.len() >= PARALLEL_SUB_INDEX {
            let (facts, rule) = (self.facts, self.rule);
            let part = of_kind
                .len()
                .div_ceil(self.threads)
                .max(PARALLEL_SUB_INDEX / 4);
            let parts: Vec<_> = of_kind
                .par_chunks(part)
                .map(|chunk| {
                    let ev = Evaluator::new(facts, rule);
                    ev.unnoted.set(1);
                    let keys = ev.sub_keys(q, scan, chunk);
                    (keys, ev.take_conversions(), ev.take_dates())
                })
                .collect();
            let mut all = SubKeys::default();
            for (keys, conversions, dates) in parts {
                self.conversions.borrow_mut().extend(conversions);
                self.dates.borrow_mut().extend(dates);
                let keys = keys.map_err(relocate)?;
                all.candidates.extend(keys.candidates);
                all.keyed.append(keys.keyed);
                all.unkeyed.extend(keys.unkeyed);
            }
            all
        } else {
            self.sub_keys(q, scan, &of_kind).map_err(relocate)?
        };
        let SubKeys {
            candidates,
            keyed,
            unkeyed,
        } = keys;
        let by_member = self.by_member.get(sub).copied().unwrap_or(false);
        let parallel = self.threads > 1 && keyed.len() >= PARALLEL_SUB_INDEX;
        let index = plan::JoinIndex::of_keys(keyed, &unkeyed, by_member, parallel);
        let built = Arc::new(SubIndex { candidates, index });
        self.subs.borrow_mut().insert(sub, built.clone());
        Ok(built)
    }

    /// The facts of `of_kind` that pass sub-query `q`'s own conditions (those `scan` proves
    /// are not evaluated), with their keys, in order; the message of the first error.
    fn sub_keys(
        &self,
        q: &crate::ir::SubQuery,
        scan: plan::KindScan,
        of_kind: &[FactIndex],
    ) -> Result<SubKeys, String> {
        let slot = self.rule.vars.len() + q.local;
        let mut bound = vec![None; self.rule.slots()];
        let mut out = SubKeys::default();
        let proven = scan.over(self.facts, &q.kind);
        for &f in of_kind {
            if let Some(s) = bound.get_mut(slot) {
                *s = Some(f);
            }
            let mut keep = true;
            for (at, c) in q.prefilter.iter().enumerate() {
                if proven.proves(at, f) {
                    continue;
                }
                if self.truth(c, &bound).map_err(|x| x.message)? != Truth::True {
                    keep = false;
                    break;
                }
            }
            if !keep {
                continue;
            }
            out.candidates.push(f);
            let key = if q.build.is_empty() {
                None
            } else {
                plan::keys(self, q.build.iter(), &bound).map_err(|x| x.message)?
            };
            match key {
                Some(plan::JoinKey::Unkeyed) => out.unkeyed.push(f),
                Some(k) => out.keyed.push(k, f),
                None => {}
            }
        }
        Ok(out)
    }

    /// The facts of sub-query `sub` that match under `bound` (every conjunct true), at most
    /// `limit`; `Unknown` when an outer value it is joined on is missing.
    fn matches<'e>(
        &self,
        sub: usize,
        bound: &Bound,
        limit: usize,
        e: &'e CExpr,
    ) -> Result<(Truth, Vec<FactIndex>), Failure<'e>> {
        self.with_sub_candidates(sub, bound, e, |cands, keys_hold| {
            let Some(cands) = cands else {
                return Ok((Truth::Unknown, Vec::new()));
            };
            let mut found = Vec::new();
            let local = self.rule.subqueries.get(sub).map_or(0, |q| q.local);
            let mut inner = self.with_local(bound, local, 0);
            for &f in cands {
                self.set_local(&mut inner, local, f);
                if self.sub_holds(sub, &inner, e, keys_hold)? {
                    found.push(f);
                    if found.len() >= limit {
                        break;
                    }
                }
            }
            let t = if found.is_empty() {
                Truth::False
            } else {
                Truth::True
            };
            Ok((t, found))
        })
    }

    /// Calls `then` with the candidates of sub-query `sub` for the outer values in `bound`
    /// (borrowed from its index), or with `None` when an outer value it is joined on is missing.
    /// The flag given with them tells whether the equalities of the join key are known to hold
    /// for every candidate: they are exactly the group of a key made of names (symbols compare
    /// equal exactly when their numbers do), so [`Evaluator::sub_holds`] need not check them.
    fn with_sub_candidates<'e, T>(
        &self,
        sub: usize,
        bound: &Bound,
        e: &'e CExpr,
        then: impl FnOnce(Option<&[FactIndex]>, bool) -> Result<T, Failure<'e>>,
    ) -> Result<T, Failure<'e>> {
        self.with_sub_candidates_keyed(sub, bound, e, None, then)
    }

    /// [`Evaluator::with_sub_candidates`], with the candidates of the outer join key when the
    /// caller has them already (`known`: exactly those whose key equals the outer one, computed
    /// from `bound`, so the key's equalities hold for each).
    fn with_sub_candidates_keyed<'e, T>(
        &self,
        sub: usize,
        bound: &Bound,
        e: &'e CExpr,
        known: Option<&[FactIndex]>,
        then: impl FnOnce(Option<&[FactIndex]>, bool) -> Result<T, Failure<'e>>,
    ) -> Result<T, Failure<'e>> {
        if let Some(members) = known {
            return then(Some(members), true);
        }
        let idx = self.sub_index(sub, e)?;
        let Some(q) = self.rule.subqueries.get(sub) else {
            return then(Some(&[]), false);
        };
        if q.probe.is_empty() {
            return then(Some(&idx.candidates), false);
        }
        // An outer fact that is itself a member: its group, without making its key (it has
        // every part, so nothing is missing).
        if let Some((_, members)) = self.member_group(sub, &idx, bound) {
            return then(Some(members), true);
        }
        // The candidates of a key, and whether its equalities hold for each of them.
        let probe = |key: &plan::JoinKey| {
            let found = idx.index.probe(key, &idx.candidates);
            let exact = matches!(found, Cow::Borrowed(_))
                && matches!(key, plan::JoinKey::Keyed(plan::Parts::Names(_)));
            (found, exact)
        };
        // What the outer values lack, apart from what was noted before.
        let before = std::mem::take(&mut *self.missing.borrow_mut());
        let key = plan::keys(self, q.probe.iter(), bound);
        let probed = std::mem::replace(&mut *self.missing.borrow_mut(), before);
        self.missing.borrow_mut().extend(probed.iter().cloned());
        match key {
            Ok(Some(k)) => {
                let (found, exact) = probe(&k);
                then(Some(&found), exact)
            }
            Ok(None) => {
                // Kept past `without_gaps`: they make the sub-query unknown.
                if self.gapless.get() > 0 {
                    self.outer_missing.borrow_mut().extend(probed);
                }
                then(None, false)
            }
            Err(failure) => Err(Failure {
                expr: e,
                message: failure.message,
            }),
        }
    }

    /// Whether candidate `f` satisfies every other conjunct of sub-query `sub`; unknown counts
    /// as not (a fact matches only when its conditions are true). With `keys_hold`, the
    /// equalities of the join key are known to hold and are not checked again.
    ///
    /// `inner` is `bound` with the sub-query's local binding set to `f` (see
    /// [`Evaluator::with_local`]); it is reused across candidates to save allocations.
    fn sub_holds<'e>(
        &self,
        sub: usize,
        inner: &Bound,
        e: &'e CExpr,
        keys_hold: bool,
    ) -> Result<bool, Failure<'e>> {
        let Some(q) = self.rule.subqueries.get(sub) else {
            return Ok(false);
        };
        for (i, c) in q.residual.iter().enumerate() {
            if keys_hold && q.key_residuals.contains(&i) {
                continue;
            }
            match self.truth(c, inner) {
                Ok(Truth::True) => {}
                Ok(_) => return Ok(false),
                Err(failure) => {
                    return Err(Failure {
                        expr: e,
                        message: failure.message,
                    });
                }
            }
        }
        Ok(true)
    }

    /// A copy of `bound` with local binding `local` set to fact `f`: on the stack when the rule
    /// has few bindings (an aggregate makes one per outer binding).
    fn with_local(&self, bound: &Bound, local: usize, f: FactIndex) -> Slots {
        let len = self.rule.slots().max(bound.len());
        let mut inner = if len <= INLINE_SLOTS {
            let mut inline = arrayvec::ArrayVec::new();
            inline.extend(bound.iter().copied());
            while inline.len() < len {
                inline.push(None);
            }
            Slots::Inline(inline)
        } else {
            let mut heap = bound.to_vec();
            heap.resize(len, None);
            Slots::Heap(heap)
        };
        self.set_local(&mut inner, local, f);
        inner
    }

    /// Sets local binding `local` of `inner` to fact `f`.
    fn set_local(&self, inner: &mut [Option<FactIndex>], local: usize, f: FactIndex) {
        if let Some(s) = inner.get_mut(self.rule.vars.len() + local) {
            *s = Some(f);
        }
    }

    /// An aggregate, and what went into it when `detail` is asked for (the explanation of a
    /// finding; the search for findings needs only the value). Facts whose value is missing are
    /// not counted and are listed as skipped; `sum` of nothing is 0, `min`/`max`/`avg` of
    /// nothing are unknown.
    fn aggregate<'e>(
        &self,
        func: crate::syntax::AggFunc,
        sub: usize,
        bound: &Bound,
        e: &'e CExpr,
        detail: bool,
    ) -> Result<(Ev<'a>, Option<Detail>), Failure<'e>> {
        self.aggregate_keyed(func, sub, bound, e, detail, None)
    }

    /// [`Evaluator::aggregate`], over the candidates of the outer join key when the caller has
    /// them already (`known`: exactly those whose key equals the outer one, from
    /// [`plan::JoinIndex::exact`]).
    fn aggregate_keyed<'e>(
        &self,
        func: crate::syntax::AggFunc,
        sub: usize,
        bound: &Bound,
        e: &'e CExpr,
        detail: bool,
        known: Option<&[FactIndex]>,
    ) -> Result<(Ev<'a>, Option<Detail>), Failure<'e>> {
        use crate::syntax::AggFunc;
        let fail = |err: ValueError| Failure {
            expr: e,
            message: err.to_string(),
        };
        let empty = || {
            detail.then(|| Detail::Aggregate {
                func: func.name(),
                counted: Vec::new(),
                skipped: Vec::new(),
                chosen: None,
            })
        };
        let Some(q) = self.rule.subqueries.get(sub) else {
            return Ok((Ev::Missing, empty()));
        };
        // Without the explanation, a count or an aggregate of a field of the local binding
        // (`x.amount`, whose reading records nothing and cannot fail) over candidates that need
        // no condition checked (the equalities of an exact key hold for each) is folded as it
        // is read: nothing else is evaluated between two values, so the errors and the
        // exchange rates met are those of gathering the values first.
        let plain = func == AggFunc::Count
            || q.value.as_ref().is_some_and(|v| {
                matches!(&v.kind, CKind::Field(base, ..) if matches!(base.kind, CKind::Local(l) if l == q.local))
            });
        let only_keys = (0..q.residual.len()).all(|i| q.key_residuals.contains(&i));
        if !detail && plain && only_keys {
            let folded =
                self.with_sub_candidates_keyed(sub, bound, e, known, |cands, holds| match cands {
                    None => Ok(Some(Ev::Missing)),
                    Some(c) if holds => self.fold(func, sub, c, bound, e).map(Some),
                    Some(_) => Ok(None),
                })?;
            if let Some(folded) = folded {
                return Ok((folded, None));
            }
        }
        // The facts counted (with their values, except for `count`) and those skipped.
        let gathered =
            self.with_sub_candidates_keyed(sub, bound, e, known, |cands, keys_hold| {
                let Some(cands) = cands else {
                    return Ok(None);
                };
                let mut counted: Vec<(FactIndex, Option<Cow<'a, Value>>)> = Vec::new();
                let mut skipped = Vec::new();
                let mut inner = self.with_local(bound, q.local, 0);
                for &f in cands {
                    self.set_local(&mut inner, q.local, f);
                    if !self.sub_holds(sub, &inner, e, keys_hold)? {
                        continue;
                    }
                    let value = match &q.value {
                        Some(v) if func != AggFunc::Count => {
                            let value = self.value(v, &inner).map_err(|failure| Failure {
                                expr: e,
                                message: failure.message,
                            })?;
                            match value {
                                Some(v) => Some(v),
                                None => {
                                    skipped.push(f);
                                    continue;
                                }
                            }
                        }
                        _ => None,
                    };
                    counted.push((f, value));
                }
                Ok(Some((counted, skipped)))
            })?;
        let Some((counted, skipped)) = gathered else {
            return Ok((Ev::Missing, empty()));
        };
        let values: Vec<&Value> = counted.iter().filter_map(|(_, v)| v.as_deref()).collect();
        let mut chosen: Option<usize> = None;
        let result = match func {
            AggFunc::Count => Some(Value::Number(rust_decimal::Decimal::from(counted.len()))),
            AggFunc::Sum | AggFunc::Avg => {
                let mut total = Value::Number(rust_decimal::Decimal::ZERO);
                for v in &values {
                    total = self.with_fx(&total, v, Value::add).map_err(fail)?;
                }
                if func == AggFunc::Sum {
                    Some(total)
                } else if values.is_empty() {
                    None
                } else {
                    let n = Value::Number(rust_decimal::Decimal::from(values.len()));
                    Some(total.div(&n).map_err(fail)?)
                }
            }
            AggFunc::Min | AggFunc::Max => {
                for (i, v) in values.iter().enumerate() {
                    let best = chosen.and_then(|c| values.get(c)).copied();
                    if self.better(func, v, best).map_err(fail)? {
                        chosen = Some(i);
                    }
                }
                chosen.and_then(|c| values.get(c)).map(|v| (*v).clone())
            }
        };
        let detail = detail.then(|| {
            let fact_ref = |f: FactIndex| {
                self.fact(f).map(|x| FactRef {
                    fact: x.id().into_owned(),
                    span: x.span(),
                })
            };
            Detail::Aggregate {
                func: func.name(),
                counted: counted
                    .iter()
                    .filter_map(|(f, v)| {
                        fact_ref(*f).map(|r| (r, v.as_ref().map(|v| v.clone().into_owned())))
                    })
                    .collect(),
                skipped: skipped.iter().filter_map(|f| fact_ref(*f)).collect(),
                chosen,
            }
        });
        Ok((
            result.map_or(Ev::Missing, |v| Ev::Val(Cow::Owned(v))),
            detail,
        ))
    }

    /// Whether `v` is to replace `best` (none yet: it is) as the result of `min` (smaller) or
    /// `max` (larger).
    fn better(
        &self,
        func: crate::syntax::AggFunc,
        v: &Value,
        best: Option<&Value>,
    ) -> Result<bool, ValueError> {
        let Some(best) = best else {
            return Ok(true);
        };
        let o = self.with_fx(v, best, Value::compare)?;
        Ok(if func == crate::syntax::AggFunc::Min {
            o.is_lt()
        } else {
            o.is_gt()
        })
    }

    /// The aggregate `func` of sub-query `sub` over candidates `cands`, each of which matches
    /// (no condition is left to check), for a count or a value that is a field of the local
    /// binding: each value is added (or compared) as it is read, in candidate order, as
    /// [`Evaluator::aggregate_keyed`] does after gathering them. A candidate whose value is
    /// missing is not counted; `sum` of nothing is 0, `min`/`max`/`avg` of nothing missing.
    fn fold<'e>(
        &self,
        func: crate::syntax::AggFunc,
        sub: usize,
        cands: &[FactIndex],
        bound: &Bound,
        e: &'e CExpr,
    ) -> Result<Ev<'a>, Failure<'e>> {
        use crate::syntax::AggFunc;
        let fail = |err: ValueError| Failure {
            expr: e,
            message: err.to_string(),
        };
        let Some(q) = self.rule.subqueries.get(sub) else {
            return Ok(Ev::Missing);
        };
        let mut inner = self.with_local(bound, q.local, 0);
        let mut counted = 0usize;
        let mut total = Value::Number(rust_decimal::Decimal::ZERO);
        let mut best: Option<Cow<'a, Value>> = None;
        for &f in cands {
            self.set_local(&mut inner, q.local, f);
            let value = match &q.value {
                // A field of the local binding, read by its slot (a missing one is noted as the
                // general evaluator notes it).
                Some(v)
                    if func != AggFunc::Count
                        && let Some(read) = self.read_bound_field(v, &inner) =>
                {
                    match read {
                        Some(value) => Cow::Borrowed(value),
                        None => continue,
                    }
                }
                Some(v) if func != AggFunc::Count => match self.value(v, &inner) {
                    Ok(Some(value)) => value,
                    Ok(None) => continue,
                    Err(failure) => {
                        return Err(Failure {
                            expr: e,
                            message: failure.message,
                        });
                    }
                },
                _ => {
                    counted += 1;
                    continue;
                }
            };
            counted += 1;
            match func {
                AggFunc::Count => {}
                AggFunc::Sum | AggFunc::Avg => {
                    total = self.with_fx(&total, &value, Value::add).map_err(fail)?;
                }
                AggFunc::Min | AggFunc::Max => {
                    if self.better(func, &value, best.as_deref()).map_err(fail)? {
                        best = Some(value);
                    }
                }
            }
        }
        let result = match func {
            AggFunc::Count => Some(Value::Number(rust_decimal::Decimal::from(counted))),
            AggFunc::Sum => Some(total),
            AggFunc::Avg if counted == 0 => None,
            AggFunc::Avg => {
                let n = Value::Number(rust_decimal::Decimal::from(counted));
                Some(total.div(&n).map_err(fail)?)
            }
            AggFunc::Min | AggFunc::Max => best.map(Cow::into_owned),
        };
        Ok(result.map_or(Ev::Missing, |v| Ev::Val(Cow::Owned(v))))
    }

    /// The value of an aggregate (no explanation), computed once per join key where it is a
    /// function of the key alone (see [`Evaluator::keyed_aggregate`]). A result that converted
    /// currencies or took dates is not kept: those steps belong in each finding's explanation.
    fn aggregate_value<'e>(
        &self,
        func: crate::syntax::AggFunc,
        sub: usize,
        bound: &Bound,
        e: &'e CExpr,
    ) -> Result<Ev<'a>, Failure<'e>> {
        // Facts skipped for a missing value are listed in the explanation, not as gaps.
        let compute = || {
            self.without_gaps(|| self.aggregate(func, sub, bound, e, false))
                .map(|(v, _)| v)
        };
        let keyed = self.keyed_aggregate.get(sub).copied().unwrap_or(false);
        let Some(q) = self.rule.subqueries.get(sub).filter(|_| keyed) else {
            return compute();
        };
        // The index is built first: the general path builds it too, before it makes a key.
        let index = self.sub_index(sub, e)?;
        // An outer fact that is a member of the index: its group, without making its key.
        let (group, members) = match self.member_group(sub, &index, bound) {
            Some((g, members)) => (Some(g), members),
            None => {
                // A key with a missing part, or with a list or record, is left to the general
                // path (which records the gap).
                let key = self.without_gaps(|| plan::keys(self, q.probe.iter(), bound));
                let Ok(Some(plan::JoinKey::Keyed(parts))) = key else {
                    return compute();
                };
                // Keys that the index cannot vouch for are compared by evaluation, each time.
                let Some(found) = index.index.exact(&parts) else {
                    return compute();
                };
                found
            }
        };
        let stored = |g: u32| -> Option<Option<Value>> {
            self.aggregates.borrow().get(sub)?.get(g as usize)?.clone()
        };
        if let Some(v) = group.and_then(stored) {
            return Ok(v.map_or(Ev::Missing, |v| Ev::Val(Cow::Owned(v))));
        }
        let steps = (self.conversions.borrow().len(), self.dates.borrow().len());
        let result = self
            .without_gaps(|| self.aggregate_keyed(func, sub, bound, e, false, Some(members)))
            .map(|(v, _)| v)?;
        if let Some(g) = group
            && steps == (self.conversions.borrow().len(), self.dates.borrow().len())
        {
            let value = match &result {
                Ev::Val(v) => Some(v.clone().into_owned()),
                _ => None,
            };
            let mut all = self.aggregates.borrow_mut();
            if all.len() <= sub {
                all.resize_with(sub + 1, Vec::new);
            }
            if let Some(groups) = all.get_mut(sub) {
                if groups.is_empty() {
                    groups.resize(index.index.group_count(), None);
                }
                if let Some(slot) = groups.get_mut(g as usize) {
                    *slot = Some(value);
                }
            }
        }
        Ok(result)
    }

    /// `any`/`all`: the truth, and the element that decided it.
    fn quantify<'e>(
        &self,
        all: bool,
        elem: usize,
        list: &'e CExpr,
        cond: &'e CExpr,
        bound: &Bound,
    ) -> Result<(Truth, Option<(usize, Value)>), Failure<'e>> {
        let Some(items) = self.value(list, bound)? else {
            return Ok((Truth::Unknown, None));
        };
        let Value::List(items) = items.into_owned() else {
            return Err(Failure {
                expr: list,
                message: format!("`{}` needs a list", if all { "all" } else { "any" }),
            });
        };
        // Where the list comes from, when it is a field of a fact: for data gaps.
        let source = match &list.kind {
            CKind::Field(base, field, _) => match self.eval(base, bound) {
                Ok(Ev::Fact(f)) => self.fact(f).map(|x| (x.id().into_owned(), field.clone())),
                _ => None,
            },
            _ => None,
        };
        let mut unknown = false;
        for (i, item) in items.iter().enumerate() {
            let previous = self.set_element(elem, Some(item.clone()));
            let previous_source = self.set_element_source(
                elem,
                source.as_ref().map(|(f, l)| (f.clone(), l.clone(), i)),
            );
            let t = self.truth(cond, bound);
            self.set_element(elem, previous);
            self.set_element_source(elem, previous_source);
            match (all, t?) {
                (false, Truth::True) => return Ok((Truth::True, Some((i, item.clone())))),
                (true, Truth::False) => return Ok((Truth::False, Some((i, item.clone())))),
                (_, Truth::Unknown) => unknown = true,
                _ => {}
            }
        }
        let t = match (all, unknown) {
            (_, true) => Truth::Unknown,
            (false, false) => Truth::False,
            (true, false) => Truth::True,
        };
        Ok((t, None))
    }

    fn set_element_source(
        &self,
        slot: usize,
        source: Option<ElementSource>,
    ) -> Option<ElementSource> {
        let mut sources = self.element_sources.borrow_mut();
        match sources.get_mut(slot) {
            Some(s) => std::mem::replace(s, source),
            None => None,
        }
    }

    fn set_element(&self, slot: usize, value: Option<Value>) -> Option<Value> {
        let mut elements = self.elements.borrow_mut();
        match elements.get_mut(slot) {
            Some(s) => std::mem::replace(s, value),
            None => None,
        }
    }

    /// The facts behind the aggregates of an operand (`total`, or `sum(...) + sum(...)`): the
    /// details of aggregates of one kind are merged into one list.
    fn aggregate_detail(&self, x: &CExpr, bound: &Bound) -> Option<Detail> {
        fn collect<'c>(e: &'c CExpr, out: &mut Vec<&'c CExpr>) {
            match &e.kind {
                CKind::Aggregate(..) => out.push(e),
                CKind::Binary(_, a, b) => {
                    collect(a, out);
                    collect(b, out);
                }
                CKind::Neg(a) => collect(a, out),
                _ => {}
            }
        }
        let mut aggregates = Vec::new();
        collect(x, &mut aggregates);
        let mut merged: Option<Detail> = None;
        for a in aggregates {
            let CKind::Aggregate(func, sub, _) = &a.kind else {
                continue;
            };
            let d = self
                .without_gaps(|| self.aggregate(*func, *sub, bound, a, true))
                .ok()
                .and_then(|(_, d)| d);
            let Some(Detail::Aggregate {
                func,
                counted,
                skipped,
                chosen,
            }) = d
            else {
                continue;
            };
            merged = match merged {
                None => Some(Detail::Aggregate {
                    func,
                    counted,
                    skipped,
                    chosen,
                }),
                Some(Detail::Aggregate {
                    func: f0,
                    counted: mut c0,
                    skipped: mut s0,
                    chosen: ch0,
                }) if f0 == func => {
                    c0.extend(counted);
                    s0.extend(skipped);
                    Some(Detail::Aggregate {
                        func: f0,
                        counted: c0,
                        skipped: s0,
                        chosen: ch0,
                    })
                }
                other => other,
            };
        }
        merged
    }

    fn trace(&self, e: &CExpr, bound: &Bound) -> TraceStep {
        let holds = match self.truth(e, bound) {
            Ok(Truth::True) => Some(true),
            Ok(Truth::False) => Some(false),
            Ok(Truth::Unknown) | Err(_) => None,
        };
        let operand = |x: &CExpr| {
            let detail = self.aggregate_detail(x, bound);
            Operand {
                expr: x.text.clone(),
                value: self.value(x, bound).ok().flatten().map(Cow::into_owned),
                detail,
            }
        };
        let fact_ref = |f: FactIndex| {
            self.fact(f).map(|x| FactRef {
                fact: x.id().into_owned(),
                span: x.span(),
            })
        };
        let detail = match &e.kind {
            CKind::Exists(sub, _) => self.matches(*sub, bound, 5, e).ok().map(|(_, found)| {
                Detail::Matches(found.into_iter().filter_map(fact_ref).collect())
            }),
            CKind::Quantifier {
                all,
                elem,
                list,
                cond,
            } => self
                .quantify(*all, *elem, list, cond, bound)
                .ok()
                .and_then(|(_, w)| w)
                .map(|(index, value)| Detail::Element { index, value }),
            _ => None,
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
            CKind::Call(Function::Has, _) => (None, vec![operand(e)], vec![]),
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
            dates: Vec::new(),
            detail,
        }
    }
}

fn collect_fields<'e>(e: &'e CExpr, out: &mut Vec<&'e CExpr>) {
    match &e.kind {
        CKind::Field(..) => out.push(e),
        CKind::Literal(_) | CKind::Var(_) | CKind::Local(_) | CKind::Element(_) => {}
        CKind::Exists(..) => {}
        CKind::Aggregate(..) => out.push(e),
        CKind::Quantifier { list, .. } => collect_fields(list, out),
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

fn function_name(f: Function) -> &'static str {
    Function::ALL
        .iter()
        .find(|(_, g, ..)| *g == f)
        .map_or("function", |(n, ..)| *n)
}

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
    /// Most rows all `derive` rules together may produce.
    pub max_derived_rows: usize,
    /// Most path steps one `cycle` pattern may explore.
    pub max_cycle_steps: u64,
}

impl Default for Budgets {
    /// 20,000,000 combinations and 100,000 results per rule; 1,000,000 derived rows;
    /// 10,000,000 cycle search steps per cycle pattern.
    fn default() -> Self {
        Budgets {
            max_combinations: 20_000_000,
            max_results: 100_000,
            max_derived_rows: 1_000_000,
            max_cycle_steps: 10_000_000,
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
    run_rule_on(rule, facts, budgets, 1, findings, gaps, errors);
}

/// [`run_rule`], checking the candidates of a binding against conditions with a sub-query
/// (`exists`, `sum`...) on up to `threads` threads, with the same results.
fn run_rule_on(
    rule: &CheckedRule,
    facts: &FactBase,
    budgets: Budgets,
    threads: usize,
    findings: &mut Vec<Finding>,
    gaps: &mut Vec<DataGap>,
    errors: &mut Vec<EvalError>,
) {
    let mut ev = Evaluator::new(facts, rule);
    ev.threads = threads;
    let mut run = plan::Run::new(rule, &ev, errors, budgets, threads);
    run.execute(findings, gaps);
}

/// What one rule produced: its findings, data gaps and errors, in the order it made them.
#[derive(Debug, Default)]
pub struct RuleResults {
    /// The rule's findings.
    pub findings: Vec<Finding>,
    /// The rule's data gaps.
    pub data_gaps: Vec<DataGap>,
    /// The rule's evaluation errors (each once).
    pub errors: Vec<EvalError>,
}

/// Runs every rule over the fact base on up to `threads` threads, and returns each rule's
/// results in the order of `rules`, whatever order they finished in: the output does not depend
/// on the number of threads. `progress(done, total)` is called on the calling thread, with `done`
/// counting finished rules, from `(0, total)` to `(total, total)`.
///
/// With one thread (or one rule) the rules run on the calling thread. Otherwise a thread pool
/// of `threads` workers (no more than there are rules) takes one rule at a time; if the pool
/// cannot be built, the rules run on the calling thread. Within a rule, the candidates of a
/// binding whose conditions hold a sub-query (`exists`, `sum`...) are checked on up to
/// `threads` threads, with the same results.
pub fn run_rules<R: std::borrow::Borrow<CheckedRule> + Sync>(
    rules: &[R],
    facts: &FactBase,
    budgets: Budgets,
    threads: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Vec<RuleResults> {
    let never = std::sync::atomic::AtomicBool::new(false);
    run_rules_until(rules, facts, budgets, threads, progress, &never)
}

/// [`run_rules`], skipping the rules not yet started once `stop` is set (their results are
/// empty: the caller throws them away).
pub(crate) fn run_rules_until<R: std::borrow::Borrow<CheckedRule> + Sync>(
    rules: &[R],
    facts: &FactBase,
    budgets: Budgets,
    threads: usize,
    progress: &mut dyn FnMut(usize, usize),
    stop: &std::sync::atomic::AtomicBool,
) -> Vec<RuleResults> {
    let total = rules.len();
    let one = |rule: &R| {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return RuleResults::default();
        }
        let rule: &CheckedRule = rule.borrow();
        let mut r = RuleResults::default();
        run_rule_on(
            rule,
            facts,
            budgets,
            threads,
            &mut r.findings,
            &mut r.data_gaps,
            &mut r.errors,
        );
        r
    };
    progress(0, total);
    let pool = (threads > 1 && total > 1)
        .then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads.min(total))
                .build()
                .ok()
        })
        .flatten();
    let Some(pool) = pool else {
        let mut out = Vec::with_capacity(total);
        for (done, rule) in rules.iter().enumerate() {
            out.push(one(rule));
            progress(done + 1, total);
        }
        return out;
    };
    let mut out: Vec<Option<RuleResults>> = Vec::new();
    out.resize_with(total, || None);
    let (send, receive) = std::sync::mpsc::channel();
    pool.in_place_scope(|scope| {
        for (i, rule) in rules.iter().enumerate() {
            let send = send.clone();
            let one = &one;
            scope.spawn(move |_| {
                // The receiver outlives the scope: sending cannot fail.
                let _ = send.send((i, one(rule)));
            });
        }
        drop(send);
        // The calling thread is not one of the pool's workers: it only collects.
        for (done, (i, r)) in receive.iter().enumerate() {
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(r);
            }
            progress(done + 1, total);
        }
    });
    out.into_iter().map(Option::unwrap_or_default).collect()
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
                self.take_dates();
                let mut step = self.trace(&c.expr, bound);
                step.conversions = self.take_conversions();
                step.dates = self.take_dates();
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
                        CKind::Field(_, name, _) => {
                            message.push_str(&format!("({name} not given)"))
                        }
                        _ => message.push_str("(unknown)"),
                    },
                    Err(f) => {
                        message.push_str(&format!("(error: {})", f.message));
                        errors.push(self.error(rule, bound, f));
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
            params: rule.params.clone(),
            chains: self.chains(rule, bound),
        };
        (finding, errors)
    }

    /// The chains of deals behind the bindings to derived rows and cycles.
    fn chains(&self, rule: &CheckedRule, bound: &Bound) -> Vec<crate::explain::Chain> {
        use crate::explain::{Chain, Hop};
        let hop = |row: FactIndex| -> Option<Hop> {
            let fact = self.fact(row)?;
            let provenance = self.facts.provenance(row)?;
            let deal = fact.get("deal").and_then(Value::as_name).and_then(|id| {
                let f = self.facts.find(id)?;
                let x = self.fact(f)?;
                Some(FactRef {
                    fact: x.id().into_owned(),
                    span: x.span(),
                })
            });
            Some(Hop {
                from: fact.get("from").cloned(),
                to: fact.get("to").cloned(),
                deal,
                amount: fact.get("amount").cloned(),
                date: fact.get("date").cloned(),
                derived_by: provenance.by.to_string(),
                derived_at: provenance.span,
            })
        };
        let mut chains = Vec::new();
        for (var, f) in rule.vars.iter().zip(bound) {
            let Some(f) = *f else { continue };
            let Some(fact) = self.fact(f) else { continue };
            if !matches!(fact.kind(), crate::syntax::FactKind::Row(_)) {
                continue;
            }
            let Some(provenance) = self.facts.provenance(f) else {
                continue;
            };
            let is_cycle = fact.fields().contains_key("hops");
            let hops: Vec<Hop> = if is_cycle {
                provenance.sources.iter().filter_map(|r| hop(*r)).collect()
            } else {
                hop(f).into_iter().collect()
            };
            let alternatives = match fact.get("alternatives") {
                Some(Value::Number(n)) => usize::try_from(n.mantissa()).unwrap_or(0),
                _ => 0,
            };
            chains.push(Chain {
                var: var.name.clone(),
                hops,
                alternatives,
            });
        }
        chains
    }

    /// The evaluation error of `rule` for a failure under `bound`, with the bindings it had.
    fn error(&self, rule: &CheckedRule, bound: &Bound, f: Failure<'_>) -> EvalError {
        EvalError {
            rule: rule.id.clone(),
            span: f.expr.span,
            expr: f.expr.text.clone(),
            message: f.message,
            bindings: self.bindings(rule, bound),
        }
    }

    fn bindings(&self, rule: &CheckedRule, bound: &Bound) -> Vec<Binding> {
        rule.vars
            .iter()
            .zip(bound)
            .filter_map(|(var, f)| {
                let fact = self.fact((*f)?)?;
                Some(Binding {
                    var: var.name.clone(),
                    fact: fact.id().into_owned(),
                    kind: fact.kind().clone(),
                    span: fact.span(),
                })
            })
            .collect()
    }
}

/// The answer to "why did (or didn't) this rule fire on these facts?".
#[derive(Clone, Debug)]
pub struct WhyAnswer {
    /// The bindings used, in the rule's binding order.
    pub bindings: Vec<Binding>,
    /// Every condition of the rule, in written order, with whether it held and its values.
    pub steps: Vec<TraceStep>,
    /// The finding, when every condition held.
    pub finding: Option<Finding>,
    /// How many combinations of facts were tried for the bindings not given.
    pub tried: u64,
}

/// Most combinations `why` tries for bindings that were not given.
pub const WHY_MAX_COMBINATIONS: u64 = 1_000_000;

/// Evaluates `rule` with some bindings given (`given[i]` for binding `i`). Bindings not given
/// range over all facts of their kind; the combination that satisfies the most conditions, in
/// written order, is explained. `None` when no fact at all can fill a binding.
pub fn why(rule: &CheckedRule, facts: &FactBase, given: &[Option<FactIndex>]) -> Option<WhyAnswer> {
    let ev = Evaluator::new(facts, rule);
    let n = rule.vars.len();
    let choices: Vec<Vec<FactIndex>> = (0..n)
        .map(|v| match given.get(v).copied().flatten() {
            Some(f) => vec![f],
            None => {
                let kind = rule.vars.get(v).map(|x| &x.kind);
                facts
                    .iter()
                    .filter(|(_, f)| Some(f.kind()) == kind)
                    .map(|(i, _)| i)
                    .collect()
            }
        })
        .collect();
    if choices.iter().any(Vec::is_empty) {
        return None;
    }
    let score = |bound: &[Option<FactIndex>]| -> usize {
        rule.conditions
            .iter()
            .take_while(|c| matches!(ev.truth(&c.expr, bound), Ok(Truth::True)))
            .count()
    };
    let mut best: Option<(usize, Vec<Option<FactIndex>>)> = None;
    let mut counters = vec![0usize; n];
    let mut tried = 0u64;
    loop {
        let mut bound: Vec<Option<FactIndex>> = vec![None; rule.slots()];
        for (v, c) in counters.iter().enumerate() {
            if let Some(slot) = bound.get_mut(v) {
                *slot = choices.get(v).and_then(|opts| opts.get(*c)).copied();
            }
        }
        tried += 1;
        let s = score(&bound);
        if best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, bound));
        }
        if s == rule.conditions.len() || tried >= WHY_MAX_COMBINATIONS {
            break;
        }
        // Next combination (odometer over the bindings not given).
        let mut v = 0;
        while let Some(c) = counters.get_mut(v) {
            *c += 1;
            if *c < choices.get(v).map_or(0, Vec::len) {
                break;
            }
            *c = 0;
            v += 1;
        }
        if v >= n {
            break;
        }
    }
    let (_, bound) = best?;
    ev.take_missing();
    let steps: Vec<TraceStep> = rule
        .conditions
        .iter()
        .map(|c| {
            ev.take_conversions();
            ev.take_dates();
            let mut step = ev.trace(&c.expr, &bound);
            step.conversions = ev.take_conversions();
            step.dates = ev.take_dates();
            step
        })
        .collect();
    let fires = steps.iter().all(|s| s.holds == Some(true));
    let finding = fires.then(|| ev.finding(rule, &bound).0);
    Some(WhyAnswer {
        bindings: ev.bindings(rule, &bound),
        steps,
        finding,
        tried,
    })
}

/// The complete bindings of `rule` for which every condition holds, as binding vectors (one
/// slot per binding, then its local bindings). Binding `v` ranges over `restrict[v]` where that
/// is given, else over all facts of its kind. Used to derive the rows of relations.
pub fn matching_bindings(
    rule: &CheckedRule,
    facts: &FactBase,
    budgets: Budgets,
    restrict: Vec<Option<Vec<FactIndex>>>,
    errors: &mut Vec<EvalError>,
) -> Vec<Vec<Option<FactIndex>>> {
    collect_bindings(rule, facts, budgets, restrict, errors)
        .iter()
        .map(<[_]>::to_vec)
        .collect()
}

/// [`matching_bindings`], kept in one flat list.
pub(crate) fn collect_bindings(
    rule: &CheckedRule,
    facts: &FactBase,
    budgets: Budgets,
    restrict: Vec<Option<Vec<FactIndex>>>,
    errors: &mut Vec<EvalError>,
) -> Bindings {
    let ev = Evaluator::new(facts, rule);
    let mut run = plan::Run::restricted(rule, &ev, errors, budgets, restrict, 1);
    run.collected = Some(Bindings::default());
    let mut findings = Vec::new();
    let mut gaps = Vec::new();
    run.execute(&mut findings, &mut gaps);
    run.collected.take().unwrap_or_default()
}

/// Binding vectors of one rule, all of one length, kept end to end in one list (not one
/// allocation each: a derive over a million deals collects a million of them).
#[derive(Debug, Default)]
pub(crate) struct Bindings {
    /// The length of each binding vector.
    width: usize,
    /// How many there are.
    count: usize,
    /// The binding vectors, one after the other.
    slots: Vec<Option<FactIndex>>,
}

impl Bindings {
    /// Appends a binding vector (every one has the length of the first).
    fn push(&mut self, bound: &[Option<FactIndex>]) {
        if self.count == 0 {
            self.width = bound.len();
        }
        debug_assert_eq!(bound.len(), self.width);
        self.slots.extend_from_slice(bound);
        self.count += 1;
    }

    /// How many binding vectors there are.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Binding vectors `range`, in the order they were found.
    pub(crate) fn range(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = &[Option<FactIndex>]> {
        let width = self.width;
        range.map(move |i| self.slots.get(i * width..(i + 1) * width).unwrap_or(&[]))
    }

    /// Every binding vector, in the order they were found.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[Option<FactIndex>]> {
        self.range(0..self.count)
    }
}

/// The values of the message placeholders of `rule` for a binding (a derive rule keeps its head
/// expressions there): `None` for a missing value.
pub fn placeholder_values(
    rule: &CheckedRule,
    facts: &FactBase,
    bound: &[Option<FactIndex>],
) -> Result<Vec<Option<Value>>, EvalError> {
    Placeholders::new(rule, facts).values(bound)
}

/// The message placeholders of one rule, evaluated again and again for different bindings (the
/// head of a derive rule, once per row) with one evaluator, as [`Conditions`] does.
pub(crate) struct Placeholders<'a> {
    ev: Evaluator<'a>,
}

impl<'a> Placeholders<'a> {
    /// The placeholders of `rule` over `facts`.
    pub(crate) fn new(rule: &'a CheckedRule, facts: &'a FactBase) -> Self {
        Placeholders {
            ev: Evaluator::new(facts, rule),
        }
    }

    /// The values of the placeholders for `bound`, as [`placeholder_values`] gives them.
    pub(crate) fn values(
        &self,
        bound: &[Option<FactIndex>],
    ) -> Result<Vec<Option<Value>>, EvalError> {
        let (ev, rule) = (&self.ev, self.ev.rule);
        let mut values = Ok(Vec::with_capacity(rule.message.len()));
        for part in &rule.message {
            let (MessagePart::Expr(e), Ok(out)) = (part, &mut values) else {
                continue;
            };
            match ev.value(e, bound) {
                Ok(v) => out.push(v.map(Cow::into_owned)),
                Err(f) => values = Err(ev.error(rule, bound, f)),
            }
        }
        // What is missing is a `None` in the values; the evaluator keeps nothing between calls.
        ev.missing.borrow_mut().clear();
        ev.forget_steps();
        values
    }
}

/// Whether every condition of `rule` is true for `bound` (unknown counts as not).
pub fn all_hold(
    rule: &CheckedRule,
    facts: &FactBase,
    bound: &[Option<FactIndex>],
) -> Result<bool, EvalError> {
    Conditions::new(rule, facts).all_hold(bound)
}

/// The conditions of one rule, checked again and again for different bindings (the hop
/// condition of a cycle search, once per edge tried) with one evaluator: its field ids are
/// resolved and its sub-query indexes built once, not at every check.
pub(crate) struct Conditions<'a> {
    ev: Evaluator<'a>,
}

impl<'a> Conditions<'a> {
    /// The conditions of `rule` over `facts`.
    pub(crate) fn new(rule: &'a CheckedRule, facts: &'a FactBase) -> Self {
        Conditions {
            ev: Evaluator::new(facts, rule),
        }
    }

    /// Whether every condition is true for `bound` (unknown counts as not), as [`all_hold`].
    pub(crate) fn all_hold(&self, bound: &[Option<FactIndex>]) -> Result<bool, EvalError> {
        let ev = &self.ev;
        let mut result = Ok(true);
        for c in &ev.rule.conditions {
            match ev.truth(&c.expr, bound) {
                Ok(Truth::True) => {}
                Ok(_) => {
                    result = Ok(false);
                    break;
                }
                Err(f) => {
                    result = Err(ev.error(ev.rule, bound, f));
                    break;
                }
            }
        }
        // What one check found missing or converted is not carried into the next.
        ev.take_missing();
        ev.take_conversions();
        ev.take_dates();
        result
    }
}
