//! The symbol table of a fact base: every symbol value and id it holds, numbered from 0 in the
//! order first seen.
//!
//! Loading a deal looks up each of its symbols (its id, the entities it names, its `kind` and
//! `status`); over a million deals the table holds over a million texts, and a lookup is a few
//! cache misses. An insertion-ordered set (`IndexSet<Name>`) takes four: its hash slots, its
//! entry, the entry's text behind a pointer, then the comparison. This table keeps a short text
//! (up to [`INLINE`] bytes, as most ids are) inside its hash slot with its number, so a lookup
//! reads the slot and compares there; only a longer text is read from the list of names.

use crate::hash::FastHasher;
use crate::value::Name;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// The most bytes of a text kept in its slot.
const INLINE: usize = 11;

/// The `len` of a slot whose text is longer than [`INLINE`] (read from the list of names).
const LONG: u8 = u8::MAX;

/// One entry of the hash table: a symbol's number and, when short, its text.
#[derive(Clone, Copy)]
struct Slot {
    number: u32,
    /// The text's length in bytes, or [`LONG`].
    len: u8,
    text: [u8; INLINE],
}

/// Texts numbered from 0 in the order first inserted, each stored once as a shared [`Name`].
#[derive(Clone, Default)]
pub(crate) struct SymbolTable {
    /// The names, by number.
    names: Vec<Name>,
    slots: HashTable<Slot>,
    hasher: FastHasher,
}

impl std::fmt::Debug for SymbolTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(&self.names).finish()
    }
}

/// The bytes a slot keeps, or `None` when it keeps none (a long text).
fn inline(slot: &Slot) -> Option<&[u8]> {
    slot.text.get(..usize::from(slot.len))
}

impl SymbolTable {
    /// The name numbered `number`.
    pub(crate) fn get_index(&self, number: usize) -> Option<&Name> {
        self.names.get(number)
    }

    fn hash(&self, text: &[u8]) -> u64 {
        self.hasher.hash_one(text)
    }

    /// The slot of `text`, if it is in the table.
    fn find(&self, text: &str) -> Option<&Slot> {
        let text = text.as_bytes();
        let names = &self.names;
        self.slots.find(self.hash(text), |slot| match inline(slot) {
            Some(kept) => kept == text,
            None => {
                text.len() > INLINE
                    && names
                        .get(slot.number as usize)
                        .is_some_and(|n| n.as_bytes() == text)
            }
        })
    }

    /// The number of `text` and its stored name.
    pub(crate) fn get_full(&self, text: &str) -> Option<(usize, &Name)> {
        let number = self.find(text)?.number as usize;
        Some((number, self.names.get(number)?))
    }

    /// The number of `text`.
    pub(crate) fn get_index_of(&self, text: &str) -> Option<usize> {
        self.find(text).map(|s| s.number as usize)
    }

    /// Whether `text` is in the table.
    pub(crate) fn contains(&self, text: &str) -> bool {
        self.find(text).is_some()
    }

    /// The number of `name`'s text, given to it now if it is new (then `true`), with `name`
    /// stored as the shared text. More than `u32::MAX` texts are refused: the number
    /// `u32::MAX` is then returned and nothing is stored.
    pub(crate) fn insert_full(&mut self, name: Name) -> (usize, bool) {
        if let Some(number) = self.get_index_of(&name) {
            return (number, false);
        }
        let Ok(number) = u32::try_from(self.names.len()) else {
            return (u32::MAX as usize, false);
        };
        let bytes = name.as_bytes();
        let mut slot = Slot {
            number,
            len: LONG,
            text: [0; INLINE],
        };
        if let Some(kept) = slot.text.get_mut(..bytes.len()) {
            kept.copy_from_slice(bytes);
            slot.len = u8::try_from(bytes.len()).unwrap_or(LONG);
        }
        let hash = self.hash(bytes);
        let (names, hasher) = (&self.names, &self.hasher);
        self.slots.insert_unique(hash, slot, |s| {
            let text = match inline(s) {
                Some(kept) => kept,
                None => names
                    .get(s.number as usize)
                    .map_or(&[][..], |n| n.as_bytes()),
            };
            hasher.hash_one(text)
        });
        self.names.push(name);
        (number as usize, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn texts_short_and_long_are_numbered_in_first_seen_order() {
        let mut table = SymbolTable::default();
        let texts = [
            "",
            "a",
            "e0000868",
            "exactly_11b",
            "twelve_bytes",
            "nvidia_openai_loi",
            "甲骨文",
            "a",
        ];
        let numbers: Vec<(usize, bool)> = texts
            .iter()
            .map(|t| table.insert_full(Arc::from(*t)))
            .collect();
        assert_eq!(
            numbers,
            [
                (0, true),
                (1, true),
                (2, true),
                (3, true),
                (4, true),
                (5, true),
                (6, true),
                (1, false)
            ]
        );
        assert!(table.get_index(7).is_none());
        for (i, t) in texts.iter().take(7).enumerate() {
            assert_eq!(table.get_index_of(t), Some(i), "{t}");
            assert_eq!(table.get_index(i).map(|n| &**n), Some(*t));
            assert!(table.contains(t));
        }
        // A text that shares a prefix with a kept one, or is longer or shorter, is not found.
        for t in [
            "e000086",
            "e00008688",
            "twelve_byte",
            "nvidia_openai_lo",
            "b",
        ] {
            assert_eq!(table.get_index_of(t), None, "{t}");
        }
    }

    #[test]
    fn the_stored_name_is_the_first_one_inserted() {
        let mut table = SymbolTable::default();
        let first: Name = Arc::from("nvidia_openai_loi");
        table.insert_full(first.clone());
        table.insert_full(Arc::from("nvidia_openai_loi"));
        let (number, stored) = table.get_full("nvidia_openai_loi").unwrap_or((9, &first));
        assert_eq!(number, 0);
        assert!(Arc::ptr_eq(stored, &first));
    }

    #[test]
    fn growing_keeps_every_number() {
        let mut table = SymbolTable::default();
        for i in 0..20_000 {
            let text = if i % 3 == 0 {
                format!("a_long_symbol_number_{i}")
            } else {
                format!("e{i:07}")
            };
            assert_eq!(table.insert_full(Arc::from(text.as_str())), (i, true));
        }
        for i in (0..20_000).step_by(7) {
            let text = if i % 3 == 0 {
                format!("a_long_symbol_number_{i}")
            } else {
                format!("e{i:07}")
            };
            assert_eq!(table.get_index_of(&text), Some(i));
        }
    }
}
