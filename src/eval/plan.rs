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

use super::errors::Distinct;
use super::{Budgets, Evaluator, Failure, Truth};
use crate::explain::{DataGap, EvalError, Finding, MissingField};
use crate::facts::{FactBase, FactIndex};
use crate::hash::FastMap;
use crate::ir::{CExpr, CKind, CheckedRule, bit};
use crate::syntax::{BinaryOp, FactKind};
use crate::value::{Key, KeyClass, Value};
use arrayvec::ArrayVec;
use rayon::prelude::*;
use std::borrow::Cow;
use std::hash::BuildHasher;
use std::rc::Rc;

/// One step of the plan: bind `var`, from an index probe or from its candidates.
struct Step<'r> {
    var: usize,
    /// Build-side and probe-side expressions of the equality conditions used as index key.
    join: Option<(Vec<&'r CExpr>, Vec<&'r CExpr>)>,
    /// Conditions (by position) that become checkable at this step.
    checks: Vec<usize>,
}

/// One value of a join key: a name (symbol or text) interned in the fact base, compared as an
/// integer, or any other value's [`Key`].
///
/// Two names are equal exactly when their texts are: a text the fact base knows has one id, and
/// a text it does not know can equal no name of a fact, so it keeps its text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum KeyPart {
    /// A name the fact base knows, by its id ([`FactBase::symbol_id`]).
    Name(u32),
    /// Any other value.
    Other(Key),
}

impl KeyPart {
    /// The join key part of `v`, or `None` for a list or record (compared by evaluation).
    pub(super) fn of(v: &Value, facts: &FactBase) -> Option<KeyPart> {
        match v {
            Value::Symbol(s, sid) => Some(match facts.symbol_number(s, *sid) {
                Some(id) => KeyPart::Name(id),
                None => KeyPart::Other(Key::Name(s.clone())),
            }),
            Value::Text(s) => Some(match facts.symbol_id(s) {
                Some(id) => KeyPart::Name(id),
                None => KeyPart::Other(Key::Name(s.clone())),
            }),
            other => other.key().map(KeyPart::Other),
        }
    }

    /// [`KeyPart::of`] a value of a field of a fact of `facts`: a symbol there holds the
    /// number `facts` gave it ([`FactBase::add`] numbers every symbol field of a fact it
    /// adds), so the number is used without checking it against the text.
    pub(super) fn of_own(v: &Value, facts: &FactBase) -> Option<KeyPart> {
        match v {
            Value::Symbol(_, sid) if let Some(id) = sid.get() => Some(KeyPart::Name(id)),
            other => KeyPart::of(other, facts),
        }
    }

    fn class(&self) -> KeyClass {
        match self {
            KeyPart::Name(_) => KeyClass::Name,
            KeyPart::Other(k) => k.class(),
        }
    }
}

/// How many names a join key holds inline.
const KEY_WIDTH: usize = 4;

/// The values of the key expressions of a join, when every one has a key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Parts {
    /// Every value is a name the fact base knows (the usual join on entities and deals): their
    /// ids, without allocation.
    Names(ArrayVec<u32, KEY_WIDTH>),
    /// Any other key.
    Mixed(Box<[KeyPart]>),
}

impl Parts {
    /// Appends a part: names stay inline until a part of another kind, or a fifth part, comes.
    fn push(&mut self, part: KeyPart) {
        if let (Parts::Names(ids), KeyPart::Name(id)) = (&mut *self, &part)
            && ids.try_push(*id).is_ok()
        {
            return;
        }
        let mut parts: Vec<KeyPart> = match std::mem::replace(self, Parts::Mixed(Box::default())) {
            Parts::Names(ids) => ids.into_iter().map(KeyPart::Name).collect(),
            Parts::Mixed(parts) => parts.into_vec(),
        };
        parts.push(part);
        *self = Parts::Mixed(parts.into_boxed_slice());
    }

    /// The classes of the parts, in one form for one list of classes: equal classes are equal.
    fn classes(&self) -> Classes {
        match self {
            Parts::Names(ids) => Classes::Names(ids.len()),
            // A name the fact base does not know is still of the class of names.
            Parts::Mixed(parts) if parts.iter().all(|p| p.class() == KeyClass::Name) => {
                Classes::Names(parts.len())
            }
            Parts::Mixed(parts) => Classes::Mixed(parts.iter().map(KeyPart::class).collect()),
        }
    }
}

/// The classes of the values of a join key: `n` names (the usual join, without allocation), or
/// any other list of classes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Classes {
    /// `n` names.
    Names(usize),
    /// A list with some class other than a name.
    Mixed(Vec<KeyClass>),
}

/// The value of the key expressions of a join for one fact or binding.
#[derive(Clone)]
pub(super) enum JoinKey {
    /// Every value has a key.
    Keyed(Parts),
    /// Some value is a list or record: compare by evaluation.
    Unkeyed,
}

/// The keys of an index's candidates, gathered in candidate order before it is made
/// ([`JoinIndex::of_keys`]). While every key is names the fact base knows, all of one width,
/// each is kept packed into one integer beside its fact (16 bytes for up to two names), as
/// grouping in parts reads them ([`JoinIndex::grouped`]); the first key of another class or
/// width turns the list into keys as they are.
pub(super) enum Keyed {
    /// Keys of this many names (one or two, or none yet), packed into 64 bits.
    Narrow(usize, Vec<(u64, FactIndex)>),
    /// Keys of this many names (three or four), packed into 128 bits.
    Wide(usize, Vec<(u128, FactIndex)>),
    /// Any keys.
    Any(Vec<(JoinKey, FactIndex)>),
}

impl Default for Keyed {
    fn default() -> Self {
        Keyed::Narrow(0, Vec::new())
    }
}

impl Keyed {
    /// Appends `key`, the key of candidate `f`.
    pub(super) fn push(&mut self, key: JoinKey, f: FactIndex) {
        // The key's width and its names packed ([`pack`]).
        let packed = match &key {
            JoinKey::Keyed(parts @ Parts::Names(ids)) => {
                pack(parts, ids.len()).map(|k| (ids.len(), k))
            }
            _ => None,
        };
        match (&mut *self, packed) {
            (Keyed::Narrow(width, keys), Some((n, k)))
                if n <= 2 && (*width == n || keys.is_empty()) =>
            {
                *width = n;
                keys.push((k as u64, f));
            }
            (Keyed::Narrow(_, keys), Some((n, _))) if keys.is_empty() => {
                *self = Keyed::Wide(n, Vec::new());
                self.push(key, f);
            }
            (Keyed::Wide(width, keys), Some((n, k))) if *width == n => keys.push((k, f)),
            (Keyed::Any(keys), _) => keys.push((key, f)),
            _ => {
                let mut any = std::mem::take(self).into_any();
                any.push((key, f));
                *self = Keyed::Any(any);
            }
        }
    }

    /// Appends `more`, the keys of the candidates after these.
    pub(super) fn append(&mut self, more: Keyed) {
        match (&mut *self, more) {
            (Keyed::Narrow(w, keys), Keyed::Narrow(v, more)) if *w == v || more.is_empty() => {
                keys.extend(more);
            }
            (Keyed::Narrow(_, keys), more) if keys.is_empty() => *self = more,
            (Keyed::Wide(w, keys), Keyed::Wide(v, more)) if *w == v => keys.extend(more),
            (Keyed::Wide(_, _), Keyed::Narrow(_, more)) if more.is_empty() => {}
            (_, more) => {
                let mut any = std::mem::take(self).into_any();
                any.extend(more.into_any());
                *self = Keyed::Any(any);
            }
        }
    }

    /// How many keys there are.
    pub(super) fn len(&self) -> usize {
        match self {
            Keyed::Narrow(_, keys) => keys.len(),
            Keyed::Wide(_, keys) => keys.len(),
            Keyed::Any(keys) => keys.len(),
        }
    }

    /// The keys as they are.
    fn into_any(self) -> Vec<(JoinKey, FactIndex)> {
        match self {
            Keyed::Narrow(width, keys) => keys
                .into_iter()
                .map(|(k, f)| (JoinKey::Keyed(unpack(u128::from(k), width)), f))
                .collect(),
            Keyed::Wide(width, keys) => keys
                .into_iter()
                .map(|(k, f)| (JoinKey::Keyed(unpack(k, width)), f))
                .collect(),
            Keyed::Any(keys) => keys,
        }
    }
}

#[cfg(test)]
impl From<&[(JoinKey, FactIndex)]> for Keyed {
    fn from(keys: &[(JoinKey, FactIndex)]) -> Self {
        let mut keyed = Keyed::default();
        for (k, f) in keys {
            keyed.push(k.clone(), *f);
        }
        keyed
    }
}

/// The key of `width` names packed into `key` ([`pack`]).
fn unpack(key: u128, width: usize) -> Parts {
    let mut ids = ArrayVec::new();
    for i in (0..width).rev() {
        ids.push((key >> (32 * i)) as u32);
    }
    Parts::Names(ids)
}

/// A hash index over one binding's candidates, built once ([`JoinIndexBuilder`]).
///
/// Each distinct key is a group; the members of all groups sit in one array, group after group,
/// each group in candidate order, so that probing returns a slice of it.
///
/// Probing returns exactly the candidates for which the equality conditions can be true or can
/// fail with an error, so that a join finds what a nested loop would: the candidates with an
/// equal key, those whose values are of another class (comparing them is an error that must be
/// reported, not a silent `false`), and those whose values have no key (lists, records).
#[derive(Default)]
pub(super) struct JoinIndex {
    /// The group number of each key. Only looked up, never walked, so its order is no concern.
    groups: Groups,
    /// Group `g`'s members are `members[starts[g]..starts[g + 1]]`.
    starts: Vec<u32>,
    members: Vec<FactIndex>,
    /// The groups of each class of key, classes in first-seen order.
    classes: FastMap<Classes, Vec<u32>>,
    unkeyed: Vec<FactIndex>,
    /// The group of each member, when asked for ([`JoinIndexBuilder::by_member`]).
    member_groups: Option<MemberGroups>,
    /// Whether some key inserted was not made of names the fact base knows ([`Parts::Names`]).
    mixed: bool,
}

/// The group of each member of a [`JoinIndex`], by fact index: `groups[f - first]`, or
/// [`NO_GROUP`] for a fact that is no member. Members come from one kind of fact, mostly in
/// load order, so the range is about the facts of that kind.
struct MemberGroups {
    first: FactIndex,
    groups: Vec<u32>,
}

/// The group of a fact that is no member of a [`JoinIndex`].
const NO_GROUP: u32 = u32::MAX;

/// The group number of each key of a [`JoinIndex`]: keys of names the fact base knows, all of
/// one width, packed into one integer (no key to hash field by field or to free); any other key
/// as it is.
enum Groups {
    /// Keys of any kind.
    Any(GroupMap<Parts>),
    /// Keys of this many names (one or two), packed into 64 bits.
    Narrow(usize, GroupMap<u64>),
    /// Keys of this many names (three or four), packed into 128 bits.
    Wide(usize, GroupMap<u128>),
}

impl Default for Groups {
    fn default() -> Self {
        Groups::Any(GroupMap::default())
    }
}

impl Groups {
    /// The group of `key`.
    fn get(&self, key: &Parts) -> Option<u32> {
        match self {
            Groups::Any(map) => map.get(key),
            Groups::Narrow(width, map) => map.get(&u64::try_from(pack(key, *width)?).ok()?),
            Groups::Wide(width, map) => map.get(&pack(key, *width)?),
        }
    }

    /// How many parts the map is in.
    #[cfg(test)]
    fn parts(&self) -> usize {
        match self {
            Groups::Any(map) => map.parts.len(),
            Groups::Narrow(_, map) => map.parts.len(),
            Groups::Wide(_, map) => map.parts.len(),
        }
    }
}

/// `key` packed into one integer, the first name in the highest bits, when it is `width` names.
fn pack(key: &Parts, width: usize) -> Option<u128> {
    match key {
        Parts::Names(ids) if ids.len() == width => Some(
            ids.iter()
                .fold(0u128, |acc, &id| (acc << 32) | u128::from(id)),
        ),
        _ => None,
    }
}

/// A map from key to group number, in parts chosen by bits of the key's hash.
///
/// A map of a few hundred thousand keys is larger than a core's cache: inserting them one after
/// the other in candidate order misses the cache at nearly every key. Grouping the candidates
/// of a large index ([`JoinIndex::grouped`]) first places them by part (a pass that reads and
/// writes in order), then fills each part on its own, within the cache (the parts on several
/// threads when asked); the tables it fills are the map. Where a key sits depends on the
/// process's hash seed; the group number it maps to does not.
struct GroupMap<K> {
    parts: Vec<hashbrown::HashTable<(K, u32)>>,
    /// A hash's part is `(hash >> PART_SHIFT) & (parts.len() - 1)`.
    hasher: crate::hash::FastHasher,
    len: usize,
}

/// Where a key's part is read from its hash: bits the tables leave alone (`hashbrown` takes a
/// bucket from the low bits and its tag from the top seven).
const PART_SHIFT: u32 = 40;

/// The fewest keys of an index grouped in parts rather than by hashing each key into one map
/// ([`JoinIndex::of_keys`]): below it, the map fits in a core's cache and hashing is faster.
pub(super) const PARTS_INDEX_MIN: usize = 1 << 15;

/// About how many keys one part of a [`GroupMap`] holds (some 20 to 40 bytes each with the
/// table's control bytes), so that a part fits in a core's cache.
const KEYS_PER_PART: usize = 8192;

impl<K: Eq + std::hash::Hash> Default for GroupMap<K> {
    fn default() -> Self {
        GroupMap::with_capacity(0)
    }
}

impl<K: Eq + std::hash::Hash> GroupMap<K> {
    /// An empty map of one part, filled key by key ([`GroupMap::get_or_insert`]).
    fn with_capacity(n: usize) -> GroupMap<K> {
        GroupMap {
            parts: vec![hashbrown::HashTable::with_capacity(n)],
            hasher: crate::hash::FastHasher::default(),
            len: 0,
        }
    }

    fn part(&self, hash: u64) -> Option<&hashbrown::HashTable<(K, u32)>> {
        let count = self.parts.len();
        self.parts
            .get(((hash >> PART_SHIFT) as usize) & count.saturating_sub(1))
    }

    /// The group of `key`.
    fn get(&self, key: &K) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.part(hash)?
            .find(hash, |(k, _)| k == key)
            .map(|&(_, g)| g)
    }

    /// The group of `key`, or `next` for a key not seen yet (a map of one part).
    fn get_or_insert(&mut self, key: K, next: impl FnOnce() -> u32) -> u32 {
        let hash = self.hasher.hash_one(&key);
        let hasher = &self.hasher;
        let Some(table) = self.parts.first_mut() else {
            return u32::MAX;
        };
        match table.entry(hash, |(k, _)| *k == key, |(k, _)| hasher.hash_one(k)) {
            hashbrown::hash_table::Entry::Occupied(e) => e.get().1,
            hashbrown::hash_table::Entry::Vacant(e) => {
                let g = next();
                e.insert((key, g));
                self.len += 1;
                g
            }
        }
    }

    /// How many keys the map holds.
    fn len(&self) -> usize {
        self.len
    }
}

/// Builds a [`JoinIndex`]: candidates are inserted in order with their keys.
#[derive(Default)]
pub(super) struct JoinIndexBuilder {
    index: JoinIndex,
    /// The group number of each key inserted so far.
    groups: GroupMap<Parts>,
    /// (group, candidate), in insertion order.
    pairs: Vec<(u32, FactIndex)>,
    /// The classes of the last new group and their position in `index.classes`: the keys of
    /// one index are nearly always of one class, which is then not hashed again.
    last_classes: Option<(Classes, usize)>,
    /// Whether to keep the group of each member ([`JoinIndexBuilder::by_member`]).
    by_member: bool,
}

impl JoinIndexBuilder {
    /// A builder for about `n` candidates.
    pub(super) fn with_capacity(n: usize) -> Self {
        JoinIndexBuilder {
            groups: GroupMap::with_capacity(n),
            pairs: Vec::with_capacity(n),
            ..JoinIndexBuilder::default()
        }
    }

    /// Keeps the group of each member, so that a probe with a member's own key finds its group
    /// without hashing the key ([`JoinIndex::member_group`]).
    pub(super) fn by_member(mut self) -> Self {
        self.by_member = true;
        self
    }

    pub(super) fn insert(&mut self, key: JoinKey, f: FactIndex) {
        let index = &mut self.index;
        match key {
            JoinKey::Keyed(parts) => {
                index.mixed |= !matches!(parts, Parts::Names(_));
                let next = u32::try_from(self.groups.len()).unwrap_or(u32::MAX);
                let last = &mut self.last_classes;
                let classes = parts.classes();
                let group = self.groups.get_or_insert(parts, || {
                    let at = match last.as_ref() {
                        Some((c, at)) if *c == classes => *at,
                        _ => {
                            let entry = index.classes.entry(classes.clone());
                            let at = entry.index();
                            entry.or_default();
                            *last = Some((classes, at));
                            at
                        }
                    };
                    if let Some((_, groups)) = index.classes.get_index_mut(at) {
                        groups.push(next);
                    }
                    next
                });
                self.pairs.push((group, f));
            }
            JoinKey::Unkeyed => index.unkeyed.push(f),
        }
    }

    /// The index: the members sorted by group (stable, so each group keeps candidate order).
    pub(super) fn finish(self) -> JoinIndex {
        let JoinIndexBuilder {
            mut index,
            groups: map,
            pairs,
            by_member,
            ..
        } = self;
        if by_member {
            index.member_groups = MemberGroups::of(pairs.iter().copied());
        }
        let groups = map.len();
        index.groups = Groups::Any(map);
        let laid = by_bucket(groups, pairs.iter().map(|&(g, f)| (g as usize, f)));
        (index.starts, index.members) = laid.unwrap_or_default();
        index
    }
}

/// A counting sort: the items of `items` ((bucket, item) pairs, buckets below `buckets`) laid
/// out bucket after bucket, each bucket in the order given; bucket `b`'s items are
/// `out[starts[b]..starts[b + 1]]`. `None` for a bucket out of range or past 2^32 items.
fn by_bucket<T: Copy + Default>(
    buckets: usize,
    items: impl Iterator<Item = (usize, T)> + Clone,
) -> Option<(Vec<u32>, Vec<T>)> {
    let mut starts = vec![0u32; buckets + 1];
    for (b, _) in items.clone() {
        *starts.get_mut(b + 1)? += 1;
    }
    for b in 0..buckets {
        let before = *starts.get(b)?;
        *starts.get_mut(b + 1)? += before;
    }
    let mut next: Vec<u32> = starts.iter().take(buckets).copied().collect();
    let mut out = vec![T::default(); starts.last().copied().unwrap_or(0) as usize];
    for (b, item) in items {
        let slot = next.get_mut(b)?;
        *out.get_mut(*slot as usize)? = item;
        *slot += 1;
    }
    Some((starts, out))
}

impl MemberGroups {
    /// The group of each fact of `pairs` ((group, fact) pairs); `None` for no pair.
    fn of(pairs: impl Iterator<Item = (u32, FactIndex)> + Clone) -> Option<MemberGroups> {
        let first = pairs.clone().map(|(_, f)| f).min()?;
        let last = pairs.clone().map(|(_, f)| f).max()?;
        let mut groups = vec![NO_GROUP; last - first + 1];
        for (g, f) in pairs {
            if let Some(slot) = groups.get_mut(f - first) {
                *slot = g;
            }
        }
        Some(MemberGroups { first, groups })
    }
}

impl JoinIndex {
    /// The group of member `f` and its members, when the index can vouch for them as
    /// [`JoinIndex::exact`] does: every key is made of names the fact base knows, all of one
    /// width, and no candidate is without a key. A probe with `f`'s own key (the same fields of
    /// the same fact) finds exactly this group; `None` when `f` is no member, when the index
    /// does not keep the group of each member, or when it cannot vouch.
    pub(super) fn member_group(&self, f: FactIndex) -> Option<(u32, &[FactIndex])> {
        let by = self.member_groups.as_ref()?;
        if self.mixed || !self.unkeyed.is_empty() || self.classes.len() > 1 {
            return None;
        }
        let g = *by.groups.get(f.checked_sub(by.first)?)?;
        (g != NO_GROUP).then(|| (g, self.group(g)))
    }

    /// The members of group `g`.
    fn group(&self, g: u32) -> &[FactIndex] {
        let g = g as usize;
        let (Some(&start), Some(&end)) = (self.starts.get(g), self.starts.get(g + 1)) else {
            return &[];
        };
        self.members
            .get(start as usize..end as usize)
            .unwrap_or(&[])
    }

    /// The candidates with key `parts`, when the index alone can say which they are: `parts`
    /// are names (equal exactly when their numbers are) and every candidate's key is names of
    /// the same width. Then they are the members of one group (its number) or none at all, and
    /// the equalities of the key hold for each of them. `None` when candidates of another class
    /// of key, or without one, must still be compared by evaluation ([`JoinIndex::probe`]).
    pub(super) fn exact(&self, parts: &Parts) -> Option<(Option<u32>, &[FactIndex])> {
        let Parts::Names(_) = parts else {
            return None;
        };
        let classes = parts.classes();
        if !self.unkeyed.is_empty() || self.classes.keys().any(|c| *c != classes) {
            return None;
        }
        Some(match self.groups.get(parts) {
            Some(g) => (Some(g), self.group(g)),
            None => (None, &[]),
        })
    }

    /// How many groups (distinct keys) the index holds.
    pub(super) fn group_count(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// The index of `keyed` (keys and candidates, in candidate order) and `unkeyed` (the
    /// candidates whose key holds a list or record). One probed by its own members
    /// (`by_member`), or one of at least [`PARTS_INDEX_MIN`] keys, is grouped in parts
    /// ([`JoinIndex::in_parts`], on several threads when `parallel`) when its keys allow, and
    /// keeps each member's group when `by_member`; any other is hashed in candidate order
    /// ([`JoinIndex::hashed`]). Both give the same groups, numbered alike.
    pub(super) fn of_keys(
        keyed: Keyed,
        unkeyed: &[FactIndex],
        by_member: bool,
        parallel: bool,
    ) -> JoinIndex {
        if by_member || keyed.len() >= PARTS_INDEX_MIN {
            JoinIndex::in_parts(keyed, unkeyed, by_member, parallel)
        } else {
            JoinIndex::hashed(keyed.into_any(), unkeyed, by_member)
        }
    }

    /// The index of `keyed` and `unkeyed` (as for [`JoinIndex::of_keys`]), grouped by hashing
    /// the keys in candidate order ([`JoinIndexBuilder`]), keeping each member's group when
    /// `by_member`.
    pub(super) fn hashed(
        keyed: Vec<(JoinKey, FactIndex)>,
        unkeyed: &[FactIndex],
        by_member: bool,
    ) -> JoinIndex {
        let mut b = JoinIndexBuilder::with_capacity(keyed.len());
        if by_member {
            b = b.by_member();
        }
        for (k, f) in keyed {
            b.insert(k, f);
        }
        for &f in unkeyed {
            b.insert(JoinKey::Unkeyed, f);
        }
        b.finish()
    }

    /// [`JoinIndex::in_parts`] of keys given as they are; `None` unless every key is names the
    /// fact base knows, all of one width.
    #[cfg(test)]
    fn by_parts(
        keyed: &[(JoinKey, FactIndex)],
        unkeyed: &[FactIndex],
        by_member: bool,
        parallel: bool,
    ) -> Option<JoinIndex> {
        match Keyed::from(keyed) {
            Keyed::Any(_) => None,
            Keyed::Narrow(_, keys) if keys.is_empty() => None,
            keyed => Some(JoinIndex::in_parts(keyed, unkeyed, by_member, parallel)),
        }
    }

    /// An index of `keyed` (keys and candidates, in candidate order) and `unkeyed` (the
    /// candidates whose key holds a list or record), grouped a part of the keys at a time
    /// ([`JoinIndex::grouped`], the parts on several threads when `parallel`) rather than by
    /// hashing every key into one map, when every key is names the fact base knows, all of one
    /// width (packed as [`Keyed`] gathers them); otherwise hashed ([`JoinIndex::hashed`]).
    /// Groups are numbered in the order of their first candidate, as when hashed; each keeps
    /// candidate order.
    ///
    /// With `by_member`, the index keeps the group of each member
    /// ([`JoinIndexBuilder::by_member`]), for an index probed by its own members
    /// ([`JoinIndex::member_group`]). Past the caches, grouping in parts is faster than hashing
    /// each candidate's key into one large map, which misses the cache at nearly every key.
    fn in_parts(keyed: Keyed, unkeyed: &[FactIndex], by_member: bool, parallel: bool) -> JoinIndex {
        // Grouped, or the keys given back (past 2^32 candidates, or not packed) to be hashed.
        let grouped = match keyed {
            Keyed::Narrow(width, keys) if !keys.is_empty() => {
                match JoinIndex::grouped(&keys, width, unkeyed, by_member, parallel) {
                    Some((index, map)) => Ok((index, Groups::Narrow(width, map))),
                    None => Err(Keyed::Narrow(width, keys)),
                }
            }
            Keyed::Wide(width, keys) => {
                match JoinIndex::grouped(&keys, width, unkeyed, by_member, parallel) {
                    Some((index, map)) => Ok((index, Groups::Wide(width, map))),
                    None => Err(Keyed::Wide(width, keys)),
                }
            }
            keyed => Err(keyed),
        };
        match grouped {
            Ok((index, groups)) => JoinIndex { groups, ..index },
            Err(keyed) => JoinIndex::hashed(keyed.into_any(), unkeyed, by_member),
        }
    }

    /// [`JoinIndex::in_parts`] over `keys`: (packed key, fact) pairs, in candidate order,
    /// keeping the group of each member when `by_member`. `None` only past 2^32 candidates.
    ///
    /// The candidates are placed by a part of their key's hash (one pass, reading and writing
    /// in order); each part is grouped on its own, in candidate order, with a hash table that
    /// fits in a core's cache (the parts on several threads when `parallel`). The groups of all
    /// parts are then numbered in the order of their first candidate, as hashing every key in
    /// candidate order into one table numbers them, and the members laid out group after group.
    /// The tables of the parts, their groups renumbered, are the map from key to group.
    fn grouped<K: Copy + Eq + std::hash::Hash + Send + Sync>(
        keys: &[(K, FactIndex)],
        width: usize,
        unkeyed: &[FactIndex],
        by_member: bool,
        parallel: bool,
    ) -> Option<(JoinIndex, GroupMap<K>)> {
        let n = keys.len();
        // Positions are kept in 32 bits.
        u32::try_from(n).ok()?;
        let count = (n / KEYS_PER_PART).max(1).next_power_of_two();
        let hasher = crate::hash::FastHasher::default();
        // Each key hashed once: for its part, and for its part's table.
        let hashes: Vec<u64> = keys.iter().map(|(k, _)| hasher.hash_one(k)).collect();
        let part_of = |h: u64| ((h >> PART_SHIFT) as usize) & (count - 1);
        // The candidates of each part, one part after the other, each in candidate order:
        // `order[starts[p]..starts[p + 1]]`.
        let placed = (0u32..).zip(&hashes).map(|(at, &h)| (part_of(h), at));
        let (starts, order) = by_bucket(count, placed)?;
        let range = |p: usize| {
            let at = |p: usize| starts.get(p).map_or(0, |&s| s as usize);
            at(p)..at(p + 1)
        };
        // For the candidates of part `p`, in order: the group of each, numbered within the
        // part; the first candidate of each group; and the part's table from key to group.
        type Part<K> = (Vec<u32>, Vec<u32>, hashbrown::HashTable<(K, u32)>);
        let group_part = |p: usize| -> Part<K> {
            let of_part = order.get(range(p)).unwrap_or(&[]);
            let mut table: hashbrown::HashTable<(K, u32)> =
                hashbrown::HashTable::with_capacity(of_part.len());
            let mut groups = Vec::with_capacity(of_part.len());
            let mut firsts = Vec::new();
            for &at in of_part {
                let (Some(&(k, _)), Some(&hash)) = (keys.get(at as usize), hashes.get(at as usize))
                else {
                    continue;
                };
                let new = u32::try_from(firsts.len()).unwrap_or(u32::MAX);
                let g = match table.entry(hash, |(x, _)| *x == k, |(x, _)| hasher.hash_one(x)) {
                    hashbrown::hash_table::Entry::Occupied(e) => e.get().1,
                    hashbrown::hash_table::Entry::Vacant(e) => {
                        e.insert((k, new));
                        firsts.push(at);
                        new
                    }
                };
                groups.push(g);
            }
            (groups, firsts, table)
        };
        let mut parts: Vec<Part<K>> = if parallel && count > 1 {
            (0..count).into_par_iter().map(group_part).collect()
        } else {
            (0..count).map(group_part).collect()
        };
        // Part `p`'s groups are `offsets[p]..` in one numbering of all groups (by part); the
        // group that each candidate starts, in that numbering.
        let mut offsets = Vec::with_capacity(count);
        let mut total = 0u32;
        for (_, firsts, _) in &parts {
            offsets.push(total);
            total = total.checked_add(u32::try_from(firsts.len()).ok()?)?;
        }
        let mut starts_group = vec![u32::MAX; n];
        for ((_, firsts, _), &offset) in parts.iter().zip(&offsets) {
            for (g, &at) in (0u32..).zip(firsts) {
                *starts_group.get_mut(at as usize)? = offset + g;
            }
        }
        // Groups numbered in the order of their first candidate: the members of the candidates
        // checked one after the other sit near each other.
        let mut number = vec![u32::MAX; total as usize];
        let mut next_group = 0u32;
        for &flat in &starts_group {
            if flat != u32::MAX {
                *number.get_mut(flat as usize)? = next_group;
                next_group += 1;
            }
        }
        drop(starts_group);
        let mut group_of = vec![0u32; n];
        for (p, ((groups, _, _), &offset)) in parts.iter().zip(&offsets).enumerate() {
            for (&at, &g) in order.get(range(p))?.iter().zip(groups) {
                *group_of.get_mut(at as usize)? = *number.get((offset + g) as usize)?;
            }
        }
        drop(order);
        // Each part's table, from its own numbering to that of all groups.
        let renumber = |((_, _, table), &offset): (&mut Part<K>, &u32)| {
            for (_, g) in table.iter_mut() {
                *g = number
                    .get((offset + *g) as usize)
                    .copied()
                    .unwrap_or(u32::MAX);
            }
        };
        if parallel && count > 1 {
            parts.par_iter_mut().zip(&offsets).for_each(renumber);
        } else {
            parts.iter_mut().zip(&offsets).for_each(renumber);
        }
        let map = GroupMap {
            parts: parts.into_iter().map(|(_, _, table)| table).collect(),
            hasher,
            len: total as usize,
        };
        drop(number);
        // The members, group after group, each group in candidate order.
        let grouped = || keys.iter().zip(&group_of).map(|(&(_, f), &g)| (g, f));
        let (group_starts, members) =
            by_bucket(total as usize, grouped().map(|(g, f)| (g as usize, f)))?;
        let mut index = JoinIndex {
            unkeyed: unkeyed.to_vec(),
            starts: group_starts,
            members,
            member_groups: by_member.then(|| MemberGroups::of(grouped())).flatten(),
            ..JoinIndex::default()
        };
        index
            .classes
            .insert(Classes::Names(width), (0..total).collect());
        Some((index, map))
    }

    /// The candidates that `key` can match: a slice of the index when every candidate's key is
    /// of the probe's class (the usual case), else a new list with the others added.
    pub(super) fn probe<'i>(&'i self, key: &JoinKey, all: &'i [FactIndex]) -> Cow<'i, [FactIndex]> {
        let JoinKey::Keyed(parts) = key else {
            return Cow::Borrowed(all);
        };
        let own = self.groups.get(parts).map_or(&[][..], |g| self.group(g));
        let classes = parts.classes();
        let others = self.classes.keys().any(|c| *c != classes);
        if !others && self.unkeyed.is_empty() {
            return Cow::Borrowed(own);
        }
        let mut out = own.to_vec();
        for (c, groups) in &self.classes {
            if *c != classes {
                let mut facts: Vec<FactIndex> = groups
                    .iter()
                    .flat_map(|&g| self.group(g))
                    .copied()
                    .collect();
                facts.sort_unstable();
                out.extend(facts);
            }
        }
        out.extend(&self.unkeyed);
        Cow::Owned(out)
    }
}

/// The execution state of one rule.
pub(super) struct Run<'r, 'a, 'x> {
    rule: &'r CheckedRule,
    ev: &'x Evaluator<'a>,
    errors: Distinct<'x>,
    /// Each binding's candidates (shared with the loop that walks them).
    candidates: Rc<Vec<Vec<FactIndex>>>,
    steps: Rc<Vec<Step<'r>>>,
    /// The index of each step's binding over its candidates, keyed by the build-side values (an
    /// empty index for a step without a join).
    indexes: Rc<Vec<JoinIndex>>,
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
    pub(super) collected: Option<super::Bindings>,
    /// How many threads may check the candidates of one binding.
    threads: usize,
}

/// A condition that was unknown because of missing fields.
#[derive(Clone, Debug)]
struct Gap {
    condition: usize,
    missing: Vec<MissingField>,
}

impl<'r, 'a, 'x> Run<'r, 'a, 'x> {
    /// A run of `rule` that checks the candidates of a binding on up to `threads` threads.
    pub(super) fn new(
        rule: &'r CheckedRule,
        ev: &'x Evaluator<'a>,
        errors: &'x mut Vec<EvalError>,
        budgets: Budgets,
        threads: usize,
    ) -> Self {
        Self::restricted(rule, ev, errors, budgets, Vec::new(), threads)
    }

    /// A run whose binding `v` ranges only over `restrict[v]` where that is given (used by the
    /// semi-naive evaluation of derived relations).
    pub(super) fn restricted(
        rule: &'r CheckedRule,
        ev: &'x Evaluator<'a>,
        errors: &'x mut Vec<EvalError>,
        budgets: Budgets,
        restrict: Vec<Option<Vec<FactIndex>>>,
        threads: usize,
    ) -> Self {
        let mut run = Run {
            rule,
            ev,
            errors: Distinct::new(errors),
            candidates: Rc::default(),
            steps: Rc::default(),
            indexes: Rc::default(),
            possible: true,
            unknown_filters: FastMap::default(),
            pending: Vec::new(),
            work: 0,
            results: 0,
            budgets,
            stopped: false,
            restrict,
            collected: None,
            threads,
        };
        run.filter_candidates();
        run.plan();
        run
    }

    fn record(&mut self, failure: Failure<'_>, bound: &[Option<FactIndex>]) {
        record(self.ev, self.rule, &mut self.errors, failure, bound);
    }

    /// Stops the rule with an error naming it.
    fn stop(&mut self, message: String) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        self.errors.push_anyway(EvalError {
            rule: self.rule.id.clone(),
            span: self.rule.span,
            expr: crate::value::Name::from(""),
            message,
            bindings: Vec::new(),
        });
    }

    /// Evaluates condition `cond`; an error is recorded and counts as false. An unknown result
    /// comes with the missing fields behind it.
    fn check(&mut self, cond: usize, bound: &[Option<FactIndex>]) -> (Truth, Option<Gap>) {
        check(self.ev, self.rule, &mut self.errors, cond, bound)
    }

    fn filter_candidates(&mut self) {
        let n = self.rule.vars.len();
        let bound = vec![None; self.rule.slots()];
        let mut candidates = Vec::with_capacity(n);
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
            let (all, scan) = match self.restrict.get(v).cloned().flatten() {
                Some(only) => (only, KindScan::All),
                None => {
                    let conds = own
                        .iter()
                        .filter_map(|&i| self.rule.conditions.get(i).map(|c| &c.expr));
                    kind_scan(
                        self.ev.facts,
                        conds,
                        &kind,
                        &|e| matches!(e.kind, CKind::Var(x) if x == v),
                    )
                }
            };
            let own = Own {
                v,
                conditions: &own,
                scan,
                kind: &kind,
            };
            // Checked on several threads only when there are many candidates and a condition
            // has a sub-query (`exists`, `sum`...), which costs more than an evaluator per
            // thread.
            let mut subs = Vec::new();
            for c in own
                .conditions
                .iter()
                .filter_map(|&c| self.rule.conditions.get(c))
            {
                subqueries(&c.expr, &mut subs);
            }
            let kept = if self.threads > 1 && all.len() >= PARALLEL_CANDIDATES && !subs.is_empty() {
                self.filter_in_parts(&own, &subs, &all)
            } else {
                filter(self.ev, self.rule, &mut self.errors, &own, &all)
            };
            for (f, gap) in kept.gaps {
                self.unknown_filters.insert((v, f), gap);
            }
            candidates.push(kept.facts);
        }
        self.candidates = Rc::new(candidates);
    }

    /// [`filter`] on several threads, with the same result: the first candidates are checked
    /// here until this evaluator holds the index of every sub-query `subs` of the conditions (or for
    /// [`FIRST_HERE`] candidates); the others in one part per thread, each with an evaluator
    /// of its own that starts with those indexes. The parts' results and errors are taken in
    /// candidate order, and the indexes they built are given to this evaluator, which would have
    /// built them itself while checking them in order.
    fn filter_in_parts(&mut self, own: &Own<'_>, subs: &[usize], all: &[FactIndex]) -> Kept {
        let mut kept = Kept::default();
        let mut at = 0;
        while at < all.len().min(FIRST_HERE) && !subs.iter().all(|&s| self.ev.holds_index(s)) {
            let one = all.get(at..=at).unwrap_or_default();
            kept.extend(filter(self.ev, self.rule, &mut self.errors, own, one));
            at += 1;
        }
        let rest = all.get(at..).unwrap_or_default();
        if rest.is_empty() {
            return kept;
        }
        let built = self.ev.built();
        let (facts, rule) = (self.ev.facts, self.rule);
        // Parts of a few hundred candidates at least, however many threads there are.
        let part = rest.len().div_ceil(self.threads).max(FIRST_HERE);
        let parts: Vec<_> = rest
            .par_chunks(part)
            .map(|chunk| {
                let ev = Evaluator::with_built(facts, rule, &built);
                let mut errors = Vec::new();
                let kept = filter(&ev, rule, &mut Distinct::new(&mut errors), own, chunk);
                (kept, errors, ev.built())
            })
            .collect();
        for (part_kept, errors, built) in parts {
            kept.extend(part_kept);
            self.errors.extend(errors);
            self.ev.adopt(built);
        }
        kept
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
        let mut steps = Vec::with_capacity(n);
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
            steps.push(Step { var, join, checks });
        }
        self.steps = Rc::new(steps);
        self.build_indexes();
    }

    fn build_indexes(&mut self) {
        let mut failures = Vec::new();
        let mut indexes = Vec::with_capacity(self.steps.len());
        for step in self.steps.iter() {
            let candidates = self.candidates.get(step.var).map_or(&[][..], Vec::as_slice);
            let Some((build, _)) = &step.join else {
                indexes.push(JoinIndex::default());
                continue;
            };
            let mut bound = vec![None; self.rule.slots()];
            let mut key_of = |f: FactIndex| {
                if let Some(slot) = bound.get_mut(step.var) {
                    *slot = Some(f);
                }
                match keys(self.ev, build.iter().copied(), &bound) {
                    Ok(key) => key,
                    Err(e) => {
                        failures.push((e, bound.clone()));
                        None
                    }
                }
            };
            // Few candidates: each key hashed into one map as it is read (gathering them packed
            // first, to hash them after, costs about 8% of W2 at 10k deals).
            if candidates.len() < PARTS_INDEX_MIN {
                let mut index = JoinIndexBuilder::with_capacity(candidates.len());
                for &f in candidates {
                    if let Some(k) = key_of(f) {
                        index.insert(k, f);
                    }
                }
                indexes.push(index.finish());
                continue;
            }
            // Many: their keys are gathered, then grouped in parts (`JoinIndex::of_keys`).
            let mut keyed = Keyed::default();
            let mut unkeyed = Vec::new();
            for &f in candidates {
                match key_of(f) {
                    Some(JoinKey::Unkeyed) => unkeyed.push(f),
                    Some(key) => keyed.push(key, f),
                    None => {}
                }
            }
            indexes.push(JoinIndex::of_keys(keyed, &unkeyed, false, self.threads > 1));
        }
        self.indexes = Rc::new(indexes);
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
            collected.push(bound);
            return;
        }
        let (finding, errors) = self.ev.finding(self.rule, bound);
        findings.push(finding);
        self.errors.extend(errors);
    }

    fn step(
        &mut self,
        at: usize,
        bound: &mut Vec<Option<FactIndex>>,
        findings: &mut Vec<Finding>,
        gaps: &mut Vec<DataGap>,
    ) {
        let (steps, indexes, candidates) = (
            Rc::clone(&self.steps),
            Rc::clone(&self.indexes),
            Rc::clone(&self.candidates),
        );
        let Some(step) = steps.get(at) else {
            self.complete(bound, findings, gaps);
            return;
        };
        let var = step.var;
        let all = candidates.get(var).map_or(&[][..], Vec::as_slice);
        let cands: Cow<'_, [FactIndex]> = match (&step.join, indexes.get(at)) {
            (Some((_, probe)), Some(index)) => match keys(self.ev, probe.iter().copied(), bound) {
                Ok(Some(k)) => index.probe(&k, all),
                Ok(None) => return,
                Err(e) => {
                    let snapshot = bound.clone();
                    self.record(e, &snapshot);
                    return;
                }
            },
            _ => Cow::Borrowed(all),
        };
        let checks = &step.checks;
        for &f in cands.iter() {
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
            for &c in checks {
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

/// The fewest candidates of a binding checked on several threads ([`Run::filter_in_parts`]).
const PARALLEL_CANDIDATES: usize = 2048;

/// Most candidates checked on the calling thread before the others are parted out
/// ([`Run::filter_in_parts`]).
const FIRST_HERE: usize = 256;

/// The conditions of one binding alone, and how its candidates were found.
struct Own<'o> {
    /// The binding.
    v: usize,
    /// Its conditions, by number.
    conditions: &'o [usize],
    /// How its candidates were found (a first condition the kind index proves).
    scan: KindScan,
    /// Its kind.
    kind: &'o FactKind,
}

/// The candidates of a binding that no condition of its own rules out ([`filter`]).
#[derive(Default)]
struct Kept {
    /// In order.
    facts: Vec<FactIndex>,
    /// Those kept although one of their conditions is unknown, each with the gap of the first
    /// such condition, in order.
    gaps: Vec<(FactIndex, Gap)>,
}

impl Kept {
    /// Appends the candidates of `more`, which come after these.
    fn extend(&mut self, more: Kept) {
        self.facts.extend(more.facts);
        self.gaps.extend(more.gaps);
    }
}

/// The candidates among `all` that no condition of `own` rules out, in order, with the gap of
/// the first unknown condition of each that has one; errors go to `errors`.
fn filter(
    ev: &Evaluator<'_>,
    rule: &CheckedRule,
    errors: &mut Distinct<'_>,
    own: &Own<'_>,
    all: &[FactIndex],
) -> Kept {
    let mut bound = vec![None; rule.slots()];
    let mut kept = Kept::default();
    let proven = own.scan.over(ev.facts, own.kind);
    for &f in all {
        if let Some(slot) = bound.get_mut(own.v) {
            *slot = Some(f);
        }
        let mut first_gap = None;
        let mut passed = true;
        for (at, &c) in own.conditions.iter().enumerate() {
            if proven.proves(at, f) {
                continue;
            }
            match check(ev, rule, errors, c, &bound) {
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
            kept.facts.push(f);
            if let Some(gap) = first_gap {
                kept.gaps.push((f, gap));
            }
        }
    }
    kept
}

/// Evaluates condition `cond` of `rule`; an error is recorded in `errors` and counts as false.
/// An unknown result comes with the missing fields behind it.
fn check(
    ev: &Evaluator<'_>,
    rule: &CheckedRule,
    errors: &mut Distinct<'_>,
    cond: usize,
    bound: &[Option<FactIndex>],
) -> (Truth, Option<Gap>) {
    let Some(c) = rule.conditions.get(cond) else {
        return (Truth::False, None);
    };
    ev.take_missing();
    ev.forget_steps();
    match ev.truth(&c.expr, bound) {
        Ok(Truth::Unknown) => {
            let gap = Gap {
                condition: cond,
                missing: ev.take_missing(),
            };
            (Truth::Unknown, Some(gap))
        }
        Ok(t) => (t, None),
        Err(f) => {
            record(ev, rule, errors, f, bound);
            (Truth::False, None)
        }
    }
}

/// Records the error of `failure` under `bound` in `errors`, once.
fn record(
    ev: &Evaluator<'_>,
    rule: &CheckedRule,
    errors: &mut Distinct<'_>,
    failure: Failure<'_>,
    bound: &[Option<FactIndex>],
) {
    errors.push(ev.error(rule, bound, failure));
}

/// The sub-queries `e` holds, by number, outermost first.
fn subqueries(e: &CExpr, out: &mut Vec<usize>) {
    match &e.kind {
        CKind::Exists(sub, _) | CKind::Aggregate(_, sub, _) => out.push(*sub),
        CKind::Literal(_) | CKind::Var(_) | CKind::Local(_) | CKind::Element(_) => {}
        CKind::Field(inner, ..) | CKind::Not(inner) | CKind::Neg(inner) => subqueries(inner, out),
        CKind::List(items) | CKind::Call(_, items) => {
            items.iter().for_each(|i| subqueries(i, out));
        }
        CKind::Binary(_, a, b) => {
            subqueries(a, out);
            subqueries(b, out);
        }
        CKind::Quantifier { list, cond, .. } => {
            subqueries(list, out);
            subqueries(cond, out);
        }
    }
}

/// The join key of `exprs` under `bound`; `None` if a value is missing (the equality is then
/// unknown and cannot hold).
pub(super) fn keys<'e>(
    ev: &Evaluator<'_>,
    exprs: impl ExactSizeIterator<Item = &'e CExpr>,
    bound: &[Option<FactIndex>],
) -> Result<Option<JoinKey>, Failure<'e>> {
    let mut parts = Parts::Names(ArrayVec::new());
    let mut unkeyed = false;
    for e in exprs {
        // The usual part, a name in a field of a bound loaded fact (`buy.buyer`): its number,
        // from the fact base's column of that field.
        if let Some(n) = ev.bound_symbol(e, bound) {
            if !unkeyed {
                parts.push(KeyPart::Name(n));
            }
            continue;
        }
        // Any other field of a bound fact: a symbol there holds the fact base's own number.
        match ev.read_bound_field(e, bound) {
            Some(Some(v)) => {
                match KeyPart::of_own(v, ev.facts) {
                    Some(k) if !unkeyed => parts.push(k),
                    _ => unkeyed = true,
                }
                continue;
            }
            // A part the fact lacks (noted as a gap): no key.
            Some(None) => return Ok(None),
            None => {}
        }
        // A bound fact's id (`b.id`): its number.
        if let Some(n) = ev.bound_id_number(e, bound) {
            if !unkeyed {
                parts.push(KeyPart::Name(n));
            }
            continue;
        }
        let Some(v) = ev.value(e, bound)? else {
            return Ok(None);
        };
        match KeyPart::of(&v, ev.facts) {
            Some(k) if !unkeyed => parts.push(k),
            _ => unkeyed = true,
        }
    }
    Ok(Some(if unkeyed {
        JoinKey::Unkeyed
    } else {
        JoinKey::Keyed(parts)
    }))
}

/// How the facts a binding ranges over were chosen.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum KindScan {
    /// All facts of its kind (or those given): every condition is evaluated.
    All,
    /// Through the index by kind, for a first condition `x.kind == k` or `x.kind in [a, b]`
    /// (`type` for entities): that condition is true for every fact with a kind name
    /// ([`FactBase::has_kind_name`]), so it is not evaluated again for them.
    ByKindName,
}

impl KindScan {
    /// What the scan proves of the facts of `kind`, looked up once for a loop over them.
    pub(super) fn over<'f>(self, facts: &'f FactBase, kind: &FactKind) -> Proven<'f> {
        Proven {
            by_kind_name: self == KindScan::ByKindName,
            unnamed: facts.unnamed_of_kind(kind),
        }
    }
}

/// What a [`KindScan`] proves of the facts of one kind ([`KindScan::over`]).
pub(super) struct Proven<'f> {
    by_kind_name: bool,
    /// The facts of the kind without a kind name, in order.
    unnamed: &'f [FactIndex],
}

impl Proven<'_> {
    /// Whether the binding's own condition at position `at` (in written order) is known true
    /// for fact `f`: the first, for a fact with a kind name, when the facts were found by it.
    pub(super) fn proves(&self, at: usize, f: FactIndex) -> bool {
        self.by_kind_name && at == 0 && self.unnamed.binary_search(&f).is_err()
    }
}

/// The facts of `kind` that a binding with its own conditions `conds` (in written order) can
/// hold for, where `is_binding` recognises the binding: with a first condition `x.kind == k` or
/// `x.kind in [a, b]`, only the facts with one of those kind names and those with none (for
/// which the condition is unknown or an error, which must still be seen); otherwise all.
///
/// Only a first condition narrows the facts: the conditions of a binding are checked in
/// written order (docs/language.md, section 8), so a condition written before the kind's is
/// evaluated, and may fail with an error, for facts of every kind.
pub(super) fn kind_scan<'r>(
    facts: &FactBase,
    conds: impl IntoIterator<Item = &'r CExpr>,
    kind: &FactKind,
    is_binding: &dyn Fn(&CExpr) -> bool,
) -> (Vec<FactIndex>, KindScan) {
    let disc = crate::schema::discriminator(kind);
    let is_disc = |e: &CExpr| matches!(&e.kind, CKind::Field(inner, f, _) if &**f == disc && is_binding(inner));
    let name = |e: &'r CExpr| match &e.kind {
        CKind::Literal(value) => value.as_name(),
        _ => None,
    };
    let names: Option<Vec<&str>> = conds.into_iter().next().and_then(|c| {
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
    });
    match names {
        Some(names) => (facts.of_kind_named(kind, &names), KindScan::ByKindName),
        None => (facts.of_kind(kind).to_vec(), KindScan::All),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Fact;
    use rust_decimal::Decimal;

    fn key(facts: &FactBase, values: &[Value]) -> JoinKey {
        let mut parts = Parts::Names(ArrayVec::new());
        for v in values {
            match KeyPart::of(v, facts) {
                Some(p) => parts.push(p),
                None => return JoinKey::Unkeyed,
            }
        }
        JoinKey::Keyed(parts)
    }

    #[test]
    fn a_probe_returns_its_group_in_candidate_order_and_never_misses_a_comparable_candidate() {
        let mut facts = FactBase::default();
        for id in ["Nvidia", "OpenAI"] {
            assert!(facts.add(Fact::entity(id)).is_ok());
        }
        let (nvidia, openai) = (Value::symbol("Nvidia"), Value::symbol("OpenAI"));
        // A name no fact uses keeps its text; a number is of another class than a name.
        let stranger = Value::Text("Oracle".into());
        let number = Value::Number(Decimal::from(7));
        let mut b = JoinIndexBuilder::default();
        b.insert(key(&facts, &[nvidia.clone(), openai.clone()]), 10);
        b.insert(key(&facts, &[openai.clone(), openai.clone()]), 11);
        b.insert(key(&facts, &[nvidia.clone(), openai.clone()]), 12);
        b.insert(key(&facts, &[stranger.clone(), openai.clone()]), 13);
        let index = b.finish();
        let all = [10, 11, 12, 13];
        let probe = |values: &[Value]| index.probe(&key(&facts, values), &all).into_owned();
        assert_eq!(probe(&[nvidia.clone(), openai.clone()]), vec![10, 12]);
        assert_eq!(probe(&[openai.clone(), openai.clone()]), vec![11]);
        assert_eq!(probe(&[stranger.clone(), openai.clone()]), vec![13]);
        // The same text as a symbol or as text is the same key.
        assert_eq!(
            probe(&[Value::Text("Nvidia".into()), openai.clone()]),
            vec![10, 12]
        );
        assert_eq!(
            probe(&[openai.clone(), nvidia.clone()]),
            Vec::<FactIndex>::new()
        );
        // All keys are names: the probe borrows its group from the index.
        assert!(matches!(
            index.probe(&key(&facts, &[nvidia.clone(), openai.clone()]), &all),
            Cow::Borrowed(_)
        ));
        // A name no fact uses is of the class of names too: still a borrowed group.
        assert!(matches!(
            index.probe(&key(&facts, &[stranger.clone(), openai.clone()]), &all),
            Cow::Borrowed(_)
        ));
        // A key of another class must meet every candidate, so that comparing is an error.
        assert_eq!(
            probe(&[number.clone(), openai.clone()]),
            vec![10, 11, 12, 13]
        );
        // An unkeyed probe (a list) meets all candidates.
        assert_eq!(probe(&[Value::List(std::sync::Arc::new([]))]), all.to_vec());

        // Candidates of another class, and unkeyed ones, are added after the group.
        let mut b = JoinIndexBuilder::default();
        b.insert(key(&facts, std::slice::from_ref(&nvidia)), 1);
        b.insert(key(&facts, std::slice::from_ref(&number)), 2);
        b.insert(key(&facts, &[Value::List(std::sync::Arc::new([]))]), 3);
        b.insert(key(&facts, std::slice::from_ref(&nvidia)), 4);
        let index = b.finish();
        let got = index.probe(&key(&facts, std::slice::from_ref(&nvidia)), &[1, 2, 3, 4]);
        assert_eq!(got.into_owned(), vec![1, 4, 2, 3]);
        let got = index.probe(&key(&facts, &[Value::Number(Decimal::new(70, 1))]), &[]);
        assert_eq!(got.into_owned(), vec![2, 1, 4, 3]);
    }

    /// An index grouped in parts finds, for every key, the candidates that one
    /// grouped by hashing finds, in the same order, and gives each member its group; keys that
    /// are not all names of one width are left to hashing.
    #[test]
    fn an_index_grouped_by_parts_probes_as_one_grouped_by_hashing() {
        let mut facts = FactBase::default();
        for id in ["A", "B", "C", "D"] {
            assert!(facts.add(Fact::entity(id)).is_ok());
        }
        let name = |id: &str| Value::symbol(id);
        let pairs = [
            ("A", "B"),
            ("C", "D"),
            ("A", "B"),
            ("B", "A"),
            ("C", "D"),
            ("A", "A"),
        ];
        let keyed: Vec<(JoinKey, FactIndex)> = pairs
            .iter()
            .enumerate()
            .map(|(i, (a, b))| (key(&facts, &[name(a), name(b)]), 10 + i))
            .collect();
        let hashed = |keyed: &[(JoinKey, FactIndex)], unkeyed: &[FactIndex]| {
            JoinIndex::hashed(keyed.to_vec(), unkeyed, true)
        };
        for unkeyed in [&[][..], &[16][..]] {
            let in_parts =
                JoinIndex::by_parts(&keyed, unkeyed, true, false).expect("names of one width");
            let hashed = hashed(&keyed, unkeyed);
            assert_eq!(in_parts.group_count(), 4);
            assert_eq!(hashed.group_count(), 4);
            let all: Vec<FactIndex> = (10..=16).collect();
            for (a, b) in pairs.iter().chain(&[("D", "D")]) {
                let k = key(&facts, &[name(a), name(b)]);
                assert_eq!(
                    in_parts.probe(&k, &all).into_owned(),
                    hashed.probe(&k, &all).into_owned(),
                    "{a}, {b}"
                );
                if let JoinKey::Keyed(parts) = &k {
                    let members = |i: &JoinIndex| i.exact(parts).map(|(g, m)| (g, m.to_vec()));
                    assert_eq!(members(&in_parts), members(&hashed), "{a}, {b}");
                }
            }
            for f in 9..=17 {
                // Numbered in the order of first candidates, the groups are the same.
                let group = |i: &JoinIndex| i.member_group(f).map(|(g, m)| (g, m.to_vec()));
                assert_eq!(group(&in_parts), group(&hashed), "member {f}");
                if unkeyed.is_empty() && (10..16).contains(&f) {
                    assert!(
                        group(&in_parts).is_some_and(|(_, m)| m.contains(&f)),
                        "member {f}"
                    );
                }
            }
        }
        assert_eq!(
            JoinIndex::by_parts(&keyed, &[], true, true)
                .expect("names")
                .member_group(12)
                .map(|(_, m)| m.to_vec()),
            Some(vec![10, 12])
        );
        // Three names to a key are packed into 128 bits: the same groups.
        let triples: Vec<(JoinKey, FactIndex)> = pairs
            .iter()
            .enumerate()
            .map(|(i, (a, b))| (key(&facts, &[name(b), name(a), name("D")]), 10 + i))
            .collect();
        let (in_parts, hashed) = (
            JoinIndex::by_parts(&triples, &[], false, false).expect("names of one width"),
            hashed(&triples, &[]),
        );
        for (k, _) in &triples {
            let all: Vec<FactIndex> = (10..16).collect();
            assert_eq!(
                in_parts.probe(k, &all).into_owned(),
                hashed.probe(k, &all).into_owned()
            );
        }
        // Another width, another class, or nothing at all: left to hashing.
        let mut widths = keyed.clone();
        widths.push((key(&facts, &[name("A")]), 20));
        assert!(JoinIndex::by_parts(&widths, &[], false, false).is_none());
        let mut classes = keyed.clone();
        classes.push((
            key(&facts, &[Value::Number(Decimal::from(7)), name("A")]),
            20,
        ));
        assert!(JoinIndex::by_parts(&classes, &[], false, false).is_none());
        assert!(JoinIndex::by_parts(&[], &[16], false, false).is_none());
    }

    /// A large index is grouped, and maps its keys to groups, in many parts, on several
    /// threads; every key finds the group (its number included), with its members in the same
    /// order, that hashing the keys one by one into one map finds, every member is given that
    /// group, and a key of no candidate finds none.
    #[test]
    fn a_large_index_maps_its_keys_in_parts_as_one_map_does() {
        let mut facts = FactBase::default();
        let ids: Vec<String> = (0..400).map(|i| format!("e{i}")).collect();
        for id in &ids {
            assert!(facts.add(Fact::entity(id)).is_ok());
        }
        let name = |i: usize| Value::symbol(ids.get(i % ids.len()).map_or("e0", String::as_str));
        // 60,000 candidates over 400 x 400 keys, with repeats, in a scrambled order.
        let keyed: Vec<(JoinKey, FactIndex)> = (0..60_000usize)
            .map(|i| {
                let (a, b) = ((i * 7919) % 397, (i * 104_729) % 389);
                (key(&facts, &[name(a), name(b)]), 1_000 + i)
            })
            .collect();
        let in_parts = JoinIndex::by_parts(&keyed, &[], false, true).expect("names of one width");
        let hashed = JoinIndex::hashed(keyed.clone(), &[], false);
        assert!(
            in_parts.groups.parts() >= 4,
            "{} parts",
            in_parts.groups.parts()
        );
        assert_eq!(in_parts.group_count(), hashed.group_count());
        let all: Vec<FactIndex> = (1_000..61_000).collect();
        for (k, _) in keyed.iter().step_by(7) {
            assert_eq!(in_parts.probe(k, &all), hashed.probe(k, &all));
            let JoinKey::Keyed(parts) = k else {
                panic!("a key of names");
            };
            let exact = |i: &JoinIndex| i.exact(parts).map(|(g, m)| (g, m.to_vec()));
            assert_eq!(exact(&in_parts), exact(&hashed));
        }
        let absent = key(&facts, &[name(398), name(399)]);
        assert!(in_parts.probe(&absent, &all).is_empty());
        assert!(hashed.probe(&absent, &all).is_empty());
        // A key of one name is of another class than the index's keys of two: every candidate
        // must be compared, as with the index grouped by hashing.
        let one = key(&facts, &[name(5)]);
        assert_eq!(in_parts.probe(&one, &all), hashed.probe(&one, &all));
        assert_eq!(in_parts.probe(&one, &all).len(), 60_000);
        // Keeping each member's group: the same group numbers for every member.
        let (by_member, hashed) = (
            JoinIndex::by_parts(&keyed, &[], true, true).expect("names of one width"),
            JoinIndex::hashed(keyed.clone(), &[], true),
        );
        for f in (999..61_001).step_by(3) {
            let group = |i: &JoinIndex| i.member_group(f).map(|(g, m)| (g, m.to_vec()));
            assert_eq!(group(&by_member), group(&hashed), "member {f}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// Keys gathered as they come (packed while they are names of one width, as they are
        /// after the first of another class or width), whole or in two parts appended, read
        /// back as the keys given, in order, each with its candidate.
        #[test]
        fn keys_gathered_packed_read_back_as_given(
            rows in proptest::collection::vec((1usize..=4, proptest::collection::vec(0u32..1000, 4), proptest::bool::weighted(0.05)), 0..40),
            cut in 0usize..40,
        ) {
            // Keys of names of one width (mostly), some of another width or a number.
            let keys: Vec<(JoinKey, FactIndex)> = rows
                .iter()
                .enumerate()
                .map(|(i, (width, ids, other))| {
                    let mut parts = Parts::Names(ArrayVec::new());
                    let width = if *other { *width } else { rows.first().map_or(1, |r| r.0) };
                    for &id in ids.iter().take(width) {
                        parts.push(KeyPart::Name(id));
                    }
                    if *other && width == 4 {
                        parts.push(KeyPart::Other(Key::Number(Decimal::from(7))));
                    }
                    (JoinKey::Keyed(parts), 10 + i)
                })
                .collect();
            let whole = Keyed::from(&keys[..]);
            proptest::prop_assert_eq!(whole.len(), keys.len());
            let same = |a: &[(JoinKey, FactIndex)], b: &[(JoinKey, FactIndex)]| {
                a.len() == b.len()
                    && a.iter().zip(b).all(|((x, f), (y, g))| f == g && match (x, y) {
                        (JoinKey::Keyed(p), JoinKey::Keyed(q)) => p == q,
                        _ => false,
                    })
            };
            proptest::prop_assert!(same(&whole.into_any(), &keys));
            // Gathered in two parts and appended, as on two threads.
            let cut = cut.min(keys.len());
            let (first, second) = keys.split_at(cut);
            let mut parted = Keyed::from(first);
            parted.append(Keyed::from(second));
            proptest::prop_assert_eq!(parted.len(), keys.len());
            proptest::prop_assert!(same(&parted.into_any(), &keys));
        }

        /// On any keys (names of one width, drawn from a few, some candidates without a key),
        /// an index grouped in parts gives every probe, every exact group and every member's
        /// group (its number included) that the index grouped by hashing gives.
        #[test]
        fn grouping_in_parts_and_hashing_group_alike(
            width in 1usize..=4,
            rows in proptest::collection::vec((proptest::collection::vec(0usize..4, 4), proptest::bool::weighted(0.1)), 1..60),
        ) {
            let mut facts = FactBase::default();
            let names = ["A", "B", "C", "D"];
            for id in names {
                proptest::prop_assert!(facts.add(Fact::entity(id)).is_ok());
            }
            let key_of = |picks: &[usize]| {
                let values: Vec<Value> = picks.iter().take(width).map(|&p| Value::symbol(names[p])).collect();
                key(&facts, &values)
            };
            let mut keyed = Vec::new();
            let mut unkeyed = Vec::new();
            for (i, (picks, without)) in rows.iter().enumerate() {
                if *without {
                    unkeyed.push(100 + i);
                } else {
                    keyed.push((key_of(picks), 100 + i));
                }
            }
            let Some(in_parts) = JoinIndex::by_parts(&keyed, &unkeyed, true, false) else {
                proptest::prop_assert!(keyed.is_empty());
                return Ok(());
            };
            // Without the group of each member, the map from key to group is made at once.
            let mapped = JoinIndex::by_parts(&keyed, &unkeyed, false, true);
            proptest::prop_assert!(mapped.as_ref().is_some_and(|m| m.member_groups.is_none()));
            let hashed = JoinIndex::hashed(keyed.clone(), &unkeyed, true);
            let all: Vec<FactIndex> = (100..100 + rows.len()).collect();
            proptest::prop_assert_eq!(in_parts.group_count(), hashed.group_count());
            for (picks, _) in &rows {
                let k = key_of(picks);
                let want = hashed.probe(&k, &all).into_owned();
                proptest::prop_assert_eq!(&in_parts.probe(&k, &all).into_owned(), &want);
                proptest::prop_assert_eq!(&mapped.as_ref().map(|m| m.probe(&k, &all).into_owned()), &Some(want));
                if let JoinKey::Keyed(parts) = &k {
                    let exact = |i: &JoinIndex| i.exact(parts).map(|(g, m)| (g, m.to_vec()));
                    proptest::prop_assert_eq!(exact(&in_parts), exact(&hashed));
                    proptest::prop_assert_eq!(mapped.as_ref().map(exact), Some(exact(&hashed)));
                }
            }
            for f in 99..=100 + rows.len() {
                let group = |i: &JoinIndex| i.member_group(f).map(|(g, m)| (g, m.to_vec()));
                proptest::prop_assert_eq!(group(&in_parts), group(&hashed));
            }
        }
    }
}
