//! Derived relations and cycles: rows derived from facts by `derive` rules, relation by relation
//! in strata, each recursive stratum by a semi-naive fixpoint; then the simple cycles that rule
//! patterns ask for (`c: cycle flow max 5 hops`), each found once.

use super::errors::Distinct;
use super::{Budgets, Conditions, Placeholders, collect_bindings};
use crate::check::PackDefaults;
use crate::check::derive::{check_cycle_hops, check_derives, stratify};
use crate::diag::{Diagnostic, Level, SourceMap, Span};
use crate::explain::EvalError;
use crate::facts::{Fact, FactBase, FactField, FactIndex, Provenance};
use crate::hash::FastMap;
use crate::ir::{CKind, CheckedDerive, CheckedRule, MessagePart};
use crate::schema::Schema;
use crate::syntax::{DeriveDecl, FactKind, RelationDecl, RuleDecl};
use crate::value::{Name, SymbolId, Value};
use indexmap::{IndexMap, IndexSet};
use rayon::prelude::*;
use std::hash::BuildHasher as _;
use std::sync::Arc;

/// Derives every relation into a copy of `base`; derives take the pack's `defaults`. Check errors go to `diags` (and nothing is
/// derived); evaluation errors (a value of the wrong type, a budget) go to `errors`. The rows
/// of a round are made on up to `threads` threads and added in binding order: the result is
/// the same for any number.
#[allow(clippy::too_many_arguments)] // the inputs of one evaluation, each used once
pub fn derive_all(
    base: &FactBase,
    relations: &IndexMap<Name, RelationDecl>,
    derives: &[DeriveDecl],
    schema: &Schema,
    sources: &SourceMap,
    defaults: &PackDefaults,
    budgets: Budgets,
    threads: usize,
    diags: &mut Vec<Diagnostic>,
    errors: &mut Vec<EvalError>,
) -> FactBase {
    let mut facts = base.clone();
    for r in relations.values() {
        let names: Vec<Name> = r.columns.iter().map(|(c, _)| c.name.clone()).collect();
        facts.declare_fields(&FactKind::Row(r.name.name.clone()), &names);
    }
    let checked = check_derives(&facts, relations, derives, schema, sources, defaults, diags);
    if diags.iter().any(|d| d.level == Level::Error) {
        return facts;
    }
    let Some(strata) = stratify(&checked, diags) else {
        return facts;
    };
    let mut seen = Seen::default();
    let mut total = 0usize;
    for stratum in strata {
        // Round 0: every derive of the stratum over everything known so far.
        let mut new_rows: IndexMap<Name, Vec<FactIndex>> = IndexMap::new();
        for &i in &stratum {
            let Some(d) = checked.get(i) else { continue };
            let mut rows = Rows {
                seen: &mut seen,
                new: &mut new_rows,
                threads,
            };
            derive_round(
                &mut facts,
                d,
                relations,
                budgets,
                Vec::new(),
                &mut rows,
                errors,
            );
        }
        let in_stratum: IndexSet<Name> = stratum
            .iter()
            .filter_map(|&i| checked.get(i).map(|d| d.relation.clone()))
            .collect();
        // Later rounds: each derive again with one recursive binding over the last round's rows.
        while new_rows.values().any(|v| !v.is_empty()) {
            total += new_rows.values().map(Vec::len).sum::<usize>();
            if total > budgets.max_derived_rows {
                errors.push(EvalError {
                    rule: Arc::from("derive"),
                    span: Span::none(),
                    expr: Name::from(""),
                    message: format!(
                        "derived relations stopped after {} rows; a recursive derive may not terminate: {}",
                        budgets.max_derived_rows,
                        in_stratum.iter().map(|n| &**n).collect::<Vec<_>>().join(", ")
                    ),
                    bindings: Vec::new(),
                });
                break;
            }
            let delta = std::mem::take(&mut new_rows);
            for &i in &stratum {
                let Some(d) = checked.get(i) else { continue };
                for (v, var) in d.rule.vars.iter().enumerate() {
                    let FactKind::Row(r) = &var.kind else {
                        continue;
                    };
                    if !in_stratum.contains(r) {
                        continue;
                    }
                    let Some(rows) = delta.get(r) else { continue };
                    if rows.is_empty() {
                        continue;
                    }
                    let mut restrict = vec![None; d.rule.vars.len()];
                    if let Some(slot) = restrict.get_mut(v) {
                        *slot = Some(rows.clone());
                    }
                    let mut rows = Rows {
                        seen: &mut seen,
                        new: &mut new_rows,
                        threads,
                    };
                    derive_round(
                        &mut facts, d, relations, budgets, restrict, &mut rows, errors,
                    );
                }
            }
        }
    }
    facts
}

/// Turns bindings into rows of the derive's relation; rows already known are skipped.
/// The rows known so far (by id) and those added in the current round, per relation.
struct Rows<'r> {
    seen: &'r mut Seen,
    new: &'r mut IndexMap<Name, Vec<FactIndex>>,
    /// How many threads make rows.
    threads: usize,
}

/// Evaluates one derive (binding `v` restricted to `restrict[v]` where given) and adds the
/// rows it makes that are not known yet.
fn derive_round(
    facts: &mut FactBase,
    d: &CheckedDerive,
    relations: &IndexMap<Name, RelationDecl>,
    budgets: Budgets,
    restrict: Vec<Option<Vec<FactIndex>>>,
    rows: &mut Rows<'_>,
    errors: &mut Vec<EvalError>,
) {
    // A derive's results are rows: they are limited by the budget of derived rows, not by the
    // budget of findings of one rule.
    let budgets = Budgets {
        max_results: budgets.max_derived_rows,
        ..budgets
    };
    let bindings = collect_bindings(&d.rule, facts, budgets, restrict, errors);
    let mut errors = Distinct::new(errors);
    let Some(rel) = relations.get(&d.relation) else {
        return;
    };
    let (seen, new_rows) = (&mut *rows.seen, &mut *rows.new);
    // The column names, in one list shared by every row that has all its columns.
    let columns = crate::facts::NameList::shared(rel.columns.iter().map(|(c, _)| c.name.clone()));
    // The rows are made a chunk at a time (reading the facts), then added (changing them): the
    // rows waiting to be added never take more than one chunk's memory.
    let added = new_rows.entry(d.relation.clone()).or_default();
    // A column read straight from a field of a bound fact (`d.buyer`) holds this fact base's
    // symbol number, which the row keeps unchecked; any other column (a field inside a record,
    // a computed value) may hold a number from elsewhere, and is looked up by its text.
    let direct: Vec<bool> = d
        .rule
        .message
        .iter()
        .filter_map(|part| match part {
            MessagePart::Expr(e) => Some(
                matches!(&e.kind, CKind::Field(base, ..) if matches!(base.kind, CKind::Var(_))),
            ),
            MessagePart::Text(_) => None,
        })
        .collect();
    // Makes the rows of the bindings in `range`, in order, reading the facts only.
    let make = |facts: &FactBase, range: std::ops::Range<usize>| -> Vec<Result<Made, EvalError>> {
        let head = Placeholders::new(&d.rule, facts);
        // The id is written into one buffer, reused from row to row.
        let mut id = String::with_capacity(64);
        let mut out = Vec::with_capacity(range.len());
        for bound in bindings.range(range) {
            let mut values = match head.values(bound) {
                Ok(v) => v,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            for (value, &direct) in values.iter_mut().zip(&direct) {
                if let (Some(Value::Symbol(_, number)), false) = (value, direct) {
                    *number = SymbolId::NONE;
                }
            }
            id.clear();
            crate::facts::write_row_id(&mut id, &d.relation, values.iter().map(Option::as_ref));
            let id_made = values.iter().all(Option::is_some);
            let fields = crate::facts::FieldMap::from_columns(
                &columns,
                values.into_iter().map(|v| {
                    v.map(|value| FactField {
                        value,
                        span: d.span,
                        name_span: d.span,
                    })
                }),
            );
            let sources: Vec<FactIndex> = bound
                .iter()
                .take(d.rule.vars.len())
                .flatten()
                .copied()
                .collect();
            out.push(Ok(Made {
                id: Name::from(id.as_str()),
                id_made,
                fields,
                sources,
            }));
        }
        out
    };
    for start in (0..bindings.len()).step_by(ROWS_AT_ONCE) {
        let end = bindings.len().min(start + ROWS_AT_ONCE);
        // On several threads, each makes the rows of a part of the chunk; they are added here
        // in binding order, so the rows, their numbers and the errors do not depend on it.
        let read: &FactBase = facts;
        let parts: Vec<Vec<Result<Made, EvalError>>> =
            if rows.threads > 1 && end - start >= PARALLEL_ROWS {
                let part = (end - start).div_ceil(rows.threads).max(PARALLEL_ROWS / 2);
                (start..end)
                    .step_by(part)
                    .map(|from| from..end.min(from + part))
                    .collect::<Vec<_>>()
                    .into_par_iter()
                    .map(|range| make(read, range))
                    .collect()
            } else {
                vec![make(read, start..end)]
            };
        for made in parts.into_iter().flatten() {
            let made = match made {
                Ok(made) => made,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let hash = seen.hash(&made.id);
            if seen.contains(facts, hash, &made.id) {
                continue;
            }
            let fact = Fact {
                id: made.id,
                kind: FactKind::Row(d.relation.clone()),
                title: None,
                fields: made.fields,
                span: d.span,
            };
            let provenance = Provenance {
                by: d.rule.id.clone(),
                span: d.span,
                sources: made.sources,
            };
            let index = facts.add_derived_row(fact, provenance, made.id_made);
            seen.insert(hash, index);
            added.push(index);
        }
    }
}

/// The rows derived so far, by id, without keeping the ids (a derive's rows' ids are made
/// when read): each row's position and the hash of its id, in a table hashed by it; a row's
/// id is made again only to tell two rows of one hash apart. A position is kept in 32 bits
/// (8 bytes a row with the hash); one past them, in a fact base of more than 4 billion facts,
/// in a table of its own.
#[derive(Default)]
struct Seen {
    rows: hashbrown::HashTable<(u32, u32)>,
    /// Rows whose position does not fit in 32 bits.
    wide: hashbrown::HashTable<(u32, FactIndex)>,
    state: crate::hash::FastHasher,
}

impl Seen {
    /// The hash of `id`.
    fn hash(&self, id: &str) -> u32 {
        // The low half of a 64-bit hash, spread again over 64 bits by `spread`.
        self.state.hash_one(id) as u32
    }

    /// Whether a row with id `id`, of hash `hash`, was derived.
    fn contains(&self, facts: &FactBase, hash: u32, id: &str) -> bool {
        let is = |i: FactIndex| facts.get(i).is_some_and(|f| **f.id() == *id);
        let spread = spread(hash);
        self.rows
            .find(spread, |&(h, i)| h == hash && is(i as usize))
            .is_some()
            || self
                .wide
                .find(spread, |&(h, i)| h == hash && is(i))
                .is_some()
    }

    /// Notes row `index`, whose id's hash is `hash`.
    fn insert(&mut self, hash: u32, index: FactIndex) {
        match u32::try_from(index) {
            Ok(at) => {
                self.rows
                    .insert_unique(spread(hash), (hash, at), |&(h, _)| spread(h));
            }
            Err(_) => {
                self.wide
                    .insert_unique(spread(hash), (hash, index), |&(h, _)| spread(h));
            }
        }
    }
}

/// A 32-bit hash spread over 64 bits (the table reads both its high and its low bits).
fn spread(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A row made from one binding, before it is added: its id, its fields and the facts it was
/// derived from.
struct Made {
    id: Name,
    /// Whether the id is made from the relation and every column's value (then not stored).
    id_made: bool,
    fields: crate::facts::FieldMap,
    sources: Vec<FactIndex>,
}

/// The fewest bindings of a chunk whose rows are made on several threads.
const PARALLEL_ROWS: usize = 256;

/// How many rows of one derive are made before they are added to the fact base.
const ROWS_AT_ONCE: usize = 4096;

/// The relation name under which the cycles of one `cycle` pattern are stored.
fn cycle_kind(relation: &str, n: usize) -> Name {
    if n == 0 {
        Arc::from(format!("cycle of {relation}").as_str())
    } else {
        Arc::from(format!("cycle of {relation} #{}", n + 1).as_str())
    }
}

/// For every rule pattern `v: cycle R max N hops where COND`, finds the simple cycles of `R`
/// (through its `from` and `to` columns) whose every hop satisfies `COND` (with `hop` the hop's
/// row and `first` the first hop's row), adds each cycle once as a fact, and rewrites the
/// pattern to range over those facts. A cycle is read from its smallest entity (by id): `first`
/// is the hop that leaves it; of several rows between the same entities, the one found first in
/// id order is shown and the others are counted as alternatives.
pub fn materialize_cycles(
    facts: &mut FactBase,
    rules: &mut [RuleDecl],
    schema: &Schema,
    sources: &SourceMap,
    budgets: Budgets,
    diags: &mut Vec<Diagnostic>,
    errors: &mut Vec<EvalError>,
) {
    let mut done: IndexMap<(Name, u32, String), Name> = IndexMap::new();
    for rule in rules.iter_mut() {
        for p in rule.patterns.iter_mut() {
            let (Some(hops), FactKind::Row(relation)) = (p.cycle, p.kind.clone()) else {
                continue;
            };
            let condition_text = p
                .filter
                .as_ref()
                .map(|f| sources.slice(f.span).to_string())
                .unwrap_or_default();
            let key = (relation.clone(), hops, condition_text);
            if let Some(kind) = done.get(&key) {
                p.kind = FactKind::Row(kind.clone());
                p.cycle = None;
                p.filter = None;
                continue;
            }
            let kind = cycle_kind(
                &relation,
                done.values()
                    .filter(|k| k.starts_with(&*format!("cycle of {relation}")))
                    .count(),
            );
            done.insert(key, kind.clone());
            let checked =
                check_cycle_hops(p, &relation, &rule.id.name, facts, schema, sources, diags);
            if let Some(checked) = checked {
                let query = CycleQuery {
                    relation: &relation,
                    kind: &kind,
                    max_hops: hops,
                    hop_rule: &checked,
                    span: p.span,
                    max_steps: budgets.max_cycle_steps,
                };
                find_cycles(facts, &query, errors);
            }
            facts.declare_fields(
                &FactKind::Row(kind.clone()),
                &[
                    "hops",
                    "length",
                    "entities",
                    "start",
                    "deals",
                    "alternatives",
                ]
                .map(Name::from),
            );
            p.kind = FactKind::Row(kind);
            p.cycle = None;
            p.filter = None;
        }
    }
}

/// What one `cycle` pattern asks for.
struct CycleQuery<'q> {
    relation: &'q Name,
    kind: &'q Name,
    max_hops: u32,
    hop_rule: &'q CheckedRule,
    span: Span,
    max_steps: u64,
}

fn find_cycles(facts: &mut FactBase, q: &CycleQuery<'_>, errors: &mut Vec<EvalError>) {
    let row_kind = FactKind::Row(q.relation.clone());
    let mut adjacency = cyclic_edges(facts, &row_kind);
    // Edges from -> to, by node name, in (to, row id) order.
    for edges in adjacency.values_mut() {
        edges.sort_by(|a, b| a.0.cmp(&b.0));
        // A derived row's id is made when read: only for edges to the same node, once each.
        for same_to in edges.chunk_by_mut(|a, b| a.0 == b.0) {
            if same_to.len() > 1 {
                same_to.sort_by_cached_key(|e| facts.get(e.1).map(|f| f.id().into_owned()));
            }
        }
    }
    let mut starts: Vec<Name> = adjacency.keys().cloned().collect();
    starts.sort();
    let mut found: FastMap<Vec<Name>, (Vec<FactIndex>, usize)> = FastMap::default();
    let mut steps = 0u64;
    let mut stopped = false;
    let hop = Conditions::new(q.hop_rule, facts);
    let mut errors = Distinct::new(errors);
    for s in &starts {
        let mut path_nodes = vec![s.clone()];
        let mut path_rows: Vec<FactIndex> = Vec::new();
        dfs(
            &Search {
                adjacency: &adjacency,
                hop_rule: q.hop_rule,
                hop: &hop,
                max_hops: q.max_hops as usize,
                start: s,
                max_steps: q.max_steps,
            },
            &mut path_nodes,
            &mut path_rows,
            &mut found,
            &mut steps,
            &mut stopped,
            &mut errors,
        );
        if stopped {
            errors.push_anyway(EvalError {
                rule: q.hop_rule.id.clone(),
                span: q.span,
                expr: Name::from(""),
                message: format!("the cycle search stopped after {} steps; lower `max` or narrow the hop condition", q.max_steps),
                bindings: Vec::new(),
            });
            break;
        }
    }
    for (nodes, (rows, alternatives)) in found {
        let mut hops = Vec::new();
        let mut deals = Vec::new();
        for &r in &rows {
            if let Some(f) = facts.get(r) {
                let record: IndexMap<Name, Value> = f
                    .fields()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value.clone()))
                    .collect();
                if let Some(d) = f.get("deal") {
                    deals.push(d.clone());
                }
                hops.push(Value::Record(Arc::new(record)));
            }
        }
        let mut shown: Vec<&str> = nodes.iter().map(|n| &**n).collect();
        if let Some(first) = nodes.first() {
            shown.push(first);
        }
        let mut fields = crate::facts::FieldMap::default();
        let mut put = |name: &str, value: Value| {
            fields.insert(
                Name::from(name),
                FactField {
                    value,
                    span: q.span,
                    name_span: q.span,
                },
            );
        };
        put("hops", Value::List(hops.into()));
        put(
            "length",
            Value::Number(rust_decimal::Decimal::from(rows.len())),
        );
        put(
            "entities",
            Value::List(
                nodes
                    .iter()
                    .map(|n| Value::Symbol(n.clone(), crate::value::SymbolId::NONE))
                    .collect(),
            ),
        );
        put(
            "start",
            nodes.first().map_or(Value::List(Arc::new([])), |n| {
                Value::Symbol(n.clone(), crate::value::SymbolId::NONE)
            }),
        );
        put("deals", Value::List(deals.into()));
        put(
            "alternatives",
            Value::Number(rust_decimal::Decimal::from(alternatives)),
        );
        let fact = Fact {
            id: Arc::from(shown.join(" > ").as_str()),
            kind: FactKind::Row(q.kind.clone()),
            title: None,
            fields,
            span: q.span,
        };
        facts.add_row(
            fact,
            Provenance {
                by: q.kind.clone(),
                span: q.span,
                sources: rows,
            },
        );
    }
}

/// The edges `from -> to` of the rows of `row_kind` that lie on a cycle, by node name, each
/// node's in row order (nodes in the order they first leave by such an edge).
///
/// A cycle stays inside one strongly connected component, so only an edge between two nodes of
/// the same component (or from a node to itself) can be on one. On deal graphs, where few
/// entities are on a cycle, this leaves little to search. The whole graph is numbered and its
/// components found over integers; only the edges kept are given names.
fn cyclic_edges(facts: &FactBase, row_kind: &FactKind) -> FastMap<Name, Vec<(Name, FactIndex)>> {
    let mut nodes = Nodes::default();
    let mut edges: Vec<(usize, usize, FactIndex)> = Vec::new();
    for &i in facts.of_kind(row_kind) {
        let Some(f) = facts.get(i) else { continue };
        let (Some(a), Some(b)) = (
            nodes.node(facts, f.get("from")),
            nodes.node(facts, f.get("to")),
        ) else {
            continue;
        };
        edges.push((a, b, i));
    }
    let number = &nodes.names;
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); number.len()];
    for &(a, b, _) in &edges {
        if let Some(out) = succ.get_mut(a) {
            out.push(b);
        }
    }
    let component = strongly_connected_components(&succ);
    let mut adjacency: FastMap<Name, Vec<(Name, FactIndex)>> = FastMap::default();
    for (a, b, i) in edges {
        if a != b && component.get(a) != component.get(b) {
            continue;
        }
        let (Some(from), Some(to)) = (number.get(a), number.get(b)) else {
            continue;
        };
        adjacency
            .entry(from.clone())
            .or_default()
            .push((to.clone(), i));
    }
    adjacency
}

/// The entities of a relation's edges numbered as graph nodes, in first-seen order: through
/// the symbol's number in the fact base (an integer hashed, not a text), or by the text for a
/// name the fact base does not know.
#[derive(Default)]
struct Nodes {
    by_symbol: FastMap<u32, usize>,
    by_text: FastMap<Name, usize>,
    /// The name of each node.
    names: Vec<Name>,
}

impl Nodes {
    /// The node of the entity `v` names (a symbol or a text), made on first sight.
    fn node(&mut self, facts: &FactBase, v: Option<&Value>) -> Option<usize> {
        let (name, number) = match v? {
            Value::Symbol(s, id) => (s.clone(), facts.symbol_number(s, *id)),
            Value::Text(s) => (s.clone(), facts.symbol_id(s)),
            other => {
                let name = Name::from(other.as_name()?);
                let number = facts.symbol_id(&name);
                (name, number)
            }
        };
        let next = self.names.len();
        let node = match number {
            Some(n) => *self.by_symbol.entry(n).or_insert(next),
            None => *self.by_text.entry(name.clone()).or_insert(next),
        };
        if node == next {
            self.names.push(name);
        }
        Some(node)
    }
}

/// The strongly connected component of each node of a graph given by its successor lists
/// (Tarjan's algorithm, with an explicit stack so that long paths cannot overflow the call
/// stack).
#[allow(
    clippy::indexing_slicing,
    reason = "every index is a node number below succ.len()"
)]
fn strongly_connected_components(succ: &[Vec<usize>]) -> Vec<usize> {
    const UNSEEN: usize = usize::MAX;
    let n = succ.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut component = vec![UNSEEN; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut calls: Vec<(usize, usize)> = Vec::new();
    let (mut next, mut components) = (0, 0);
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        calls.push((root, 0));
        while let Some(&(v, edge)) = calls.last() {
            if edge == 0 && index[v] == UNSEEN {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = succ[v].get(edge) {
                if let Some(top) = calls.last_mut() {
                    top.1 += 1;
                }
                if index[w] == UNSEEN {
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component[w] = components;
                    if w == v {
                        break;
                    }
                }
                components += 1;
            }
        }
    }
    component
}

struct Search<'s> {
    adjacency: &'s FastMap<Name, Vec<(Name, FactIndex)>>,
    hop_rule: &'s CheckedRule,
    /// The hop condition, with one evaluator for the whole search.
    hop: &'s Conditions<'s>,
    max_hops: usize,
    start: &'s Name,
    max_steps: u64,
}

/// Depth-first search for simple cycles through `start` whose other entities all sort after it.
fn dfs(
    s: &Search<'_>,
    nodes: &mut Vec<Name>,
    rows: &mut Vec<FactIndex>,
    found: &mut FastMap<Vec<Name>, (Vec<FactIndex>, usize)>,
    steps: &mut u64,
    stopped: &mut bool,
    errors: &mut Distinct<'_>,
) {
    if *stopped || rows.len() >= s.max_hops {
        return;
    }
    let Some(here) = nodes.last().cloned() else {
        return;
    };
    let Some(edges) = s.adjacency.get(&here) else {
        return;
    };
    for (to, row) in edges {
        *steps += 1;
        if *steps > s.max_steps {
            *stopped = true;
            return;
        }
        let closes = to == s.start;
        if !closes && (to < s.start || nodes.contains(to)) {
            continue;
        }
        let first = rows.first().copied().unwrap_or(*row);
        let mut bound = vec![Some(*row), Some(first)];
        bound.resize(s.hop_rule.slots(), None);
        let holds = if s.hop_rule.conditions.is_empty() {
            Ok(true)
        } else {
            s.hop.all_hold(&bound)
        };
        match holds {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                errors.push(e);
                continue;
            }
        }
        rows.push(*row);
        if closes {
            let entry = found
                .entry(nodes.clone())
                .or_insert_with(|| (rows.clone(), 0));
            if entry.0 != *rows {
                entry.1 += 1;
            }
        } else {
            nodes.push(to.clone());
            dfs(s, nodes, rows, found, steps, stopped, errors);
            nodes.pop();
        }
        rows.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::strongly_connected_components;

    #[test]
    fn components_group_the_nodes_of_each_cycle() {
        // 0 -> 1 -> 2 -> 0, 2 -> 3, 3 -> 4 -> 3, 5 alone, 6 -> 6.
        let succ = vec![
            vec![1],
            vec![2],
            vec![0, 3],
            vec![4],
            vec![3],
            vec![],
            vec![6],
        ];
        let c = strongly_connected_components(&succ);
        assert_eq!(c[0], c[1]);
        assert_eq!(c[1], c[2]);
        assert_eq!(c[3], c[4]);
        assert_ne!(c[2], c[3]);
        let distinct: std::collections::BTreeSet<usize> = c.iter().copied().collect();
        assert_eq!(distinct.len(), 4);
    }

    #[test]
    fn a_long_path_does_not_overflow_the_stack() {
        let n = 1_000_000;
        let succ: Vec<Vec<usize>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![0] })
            .collect();
        let c = strongly_connected_components(&succ);
        assert!(c.iter().all(|&x| x == c[0]), "one cycle through every node");
    }
}
