//! Hash maps and sets for the engine's hot paths: insertion-ordered (`IndexMap`, `IndexSet`, so
//! output never depends on hashing) with `foldhash`, much faster than the standard SipHash on the
//! short keys of facts (field names, ids, join keys). The hasher is seeded per process, so crafted
//! ids cannot force collisions.

/// The hasher of [`FastMap`] and [`FastSet`].
pub type FastHasher = foldhash::fast::RandomState;

/// An insertion-ordered map with a fast hasher.
pub type FastMap<K, V> = indexmap::IndexMap<K, V, FastHasher>;

/// An insertion-ordered set with a fast hasher.
pub type FastSet<K> = indexmap::IndexSet<K, FastHasher>;
