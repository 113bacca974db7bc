//! Reading a large deal file on several threads, with the same result as reading it in order.
//!
//! The file is cut into chunks of about [`Chunks::bytes`] bytes, each starting at a line that
//! starts with `deal ` or `entity `. Worker threads (and the calling thread, when it would
//! otherwise wait) read the entities and deals of a chunk with the fast reader ([`super::fast`])
//! and convert each one (`convert`, the caller's, run on the worker). The calling thread takes
//! the chunks in file order and hands what they hold to `each`.
//!
//! A chunk's start is only a guess that a declaration starts there (the line could be inside a
//! block comment or a rule). The calling thread keeps the true place of reading, as the
//! sequential reader would, and takes a chunk only when that place, past white space and
//! comments, is the chunk's start. The fast reader's result depends only on the text and the
//! offset, so a chunk taken holds exactly the declarations the sequential reading would have
//! read there. Where a worker stopped (the fast reader gave up, or the text is not a
//! declaration), and for every chunk that does not line up, the calling thread reads on in
//! order with the fast reader and the general parser, which report every error. Diagnostics
//! and declarations reach `each` in file order, as with [`super::parse_each`].
//!
//! Names read here are not the caller's: each thread reads with an [`Interner`] of its own, so
//! `each` must share them again where their identity matters (the fact base places fields by
//! the identity of their names).

use super::{FactDecl, Item, check_nesting, check_size, fast, step, tree};
use crate::diag::{Diagnostic, FileId};
use crate::value::Interner;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// What [`parse_each_chunked`] hands over, in file order.
pub(crate) enum Parsed<T> {
    /// A declaration read by the calling thread.
    Item(Item),
    /// An entity or deal read and converted on a worker.
    Converted(T),
}

/// How a file is cut and how far the workers may read ahead.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chunks {
    /// The size of a chunk, in bytes (a chunk ends at the next declaration's line).
    pub bytes: usize,
    /// How many threads read, the calling one included (at least 2 for any worker).
    pub threads: usize,
    /// How many chunks past the one the calling thread waits for may be read, per thread.
    pub ahead: usize,
}

impl Chunks {
    /// Chunks of 1 MiB (about 4,000 generated deals), four per thread read ahead.
    pub(crate) fn new(threads: usize) -> Chunks {
        Chunks {
            bytes: 1 << 20,
            threads,
            ahead: 4,
        }
    }
}

/// The smallest file read in chunks: below it, a thread costs more than it saves.
pub(crate) const CHUNKED_MIN_BYTES: usize = 4 << 20;

/// What each thread reads with: its interner and its state for `convert`.
type Thread<S> = (Interner, S);

/// Reads one chunk (by number) into a list, with the state of the thread reading it.
type ReadChunk<'r, T, S> = dyn Fn(usize, Vec<T>, &mut Thread<S>) -> Read<T> + Sync + 'r;

/// What a worker read in one chunk.
struct Read<T> {
    /// The declarations, converted, in file order.
    items: Vec<T>,
    /// Where the worker stopped: at or past the next chunk's start, or where the fast reader
    /// gave up.
    stop: usize,
}

/// The state shared by the threads.
struct State<T> {
    /// The next chunk no thread has taken yet.
    claimed: usize,
    /// The chunk the calling thread waits for, or will: the chunks before it are done with.
    consumed: usize,
    /// What each chunk held, once read.
    read: Vec<Option<Read<T>>>,
    /// Set when the calling thread stops: the workers stop too.
    stop: bool,
    /// Set when a worker panicked: the calling thread no longer waits for chunks.
    broken: bool,
    /// Lists of chunks handed over, emptied, for the next chunks read: a list is reused, not
    /// freed on a thread other than the one that made it.
    spare: Vec<Vec<T>>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// A chunk was read.
    done: Condvar,
    /// The calling thread moved on: there may be room to read ahead.
    moved: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A worker that panicked left whole chunks or none: the state is still sound.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Held by a worker: if it panics, the calling thread is told, so that it reads on by itself
/// instead of waiting (the panic is then raised again when the threads are joined).
struct Worker<'s, T>(&'s Shared<T>);

impl<T> Drop for Worker<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().broken = true;
            self.0.done.notify_all();
        }
    }
}

/// The starts of the chunks of `text`: 0, then the first line starting with `deal ` or
/// `entity ` at least `bytes` past the previous start.
fn starts(text: &str, bytes: usize) -> Vec<usize> {
    let mut out = vec![0];
    let b = text.as_bytes();
    let mut from = bytes.max(1);
    while from < b.len() {
        let Some(rest) = b.get(from..) else { break };
        let mut found = None;
        let mut i = 0;
        while let Some(nl) = rest.get(i..).and_then(|r| memchr::memchr(b'\n', r)) {
            let line = i + nl + 1;
            let after = rest.get(line..).unwrap_or_default();
            if after.starts_with(b"deal ") || after.starts_with(b"entity ") {
                found = Some(from + line);
                break;
            }
            i = line;
        }
        let Some(start) = found else { break };
        out.push(start);
        from = start + bytes.max(1);
    }
    out
}

/// Reads `text` as [`super::parse_each`] does, with the entities and deals of the common shape
/// read and converted by `convert` on `chunks.threads` threads, each with a state `S` of its
/// own. `each` gets every declaration and diagnostic in file order.
pub(crate) fn parse_each_chunked<T: Send, S: Default>(
    file: FileId,
    text: &str,
    chunks: Chunks,
    diags: &mut Vec<Diagnostic>,
    convert: &(dyn Fn(FactDecl, &mut S) -> T + Sync),
    each: &mut dyn FnMut(Parsed<T>, &mut Vec<Diagnostic>),
) {
    if let Some(d) = check_size(file, text) {
        diags.push(d);
        return;
    }
    let starts = starts(text, chunks.bytes);
    // No more threads than chunks: a large `-j` on a small file starts a few.
    let threads = chunks.threads.clamp(1, starts.len().max(1));
    let ahead = chunks.ahead.max(1) * threads;
    let shared = Shared {
        state: Mutex::new(State {
            claimed: 0,
            consumed: 0,
            read: starts.iter().map(|_| None).collect(),
            stop: false,
            broken: false,
            spare: Vec::new(),
        }),
        done: Condvar::new(),
        moved: Condvar::new(),
    };
    // Reads chunk `k` with the fast reader only, into `items`.
    let read_chunk = |k: usize, mut items: Vec<T>, thread: &mut Thread<S>| -> Read<T> {
        let next = starts.get(k + 1).copied().unwrap_or(usize::MAX);
        let mut at = starts.get(k).copied().unwrap_or(text.len());
        // A declaration starting at the next chunk's start is that chunk's.
        while fast::skip_from(text, at) < next {
            let Some((decl, end)) = fast::fact_decl(file, text, at, &mut thread.0) else {
                break;
            };
            items.push(convert(decl, &mut thread.1));
            at = end;
        }
        Read { items, stop: at }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(|| {
                let _worker = Worker(&shared);
                let mut thread = (Interner::default(), S::default());
                loop {
                    let (k, items) = {
                        let mut state = shared.lock();
                        loop {
                            if state.stop || state.claimed >= starts.len() {
                                return;
                            }
                            if state.claimed < state.consumed + ahead {
                                break;
                            }
                            state = shared
                                .moved
                                .wait(state)
                                .unwrap_or_else(PoisonError::into_inner);
                        }
                        state.claimed += 1;
                        (state.claimed - 1, state.spare.pop().unwrap_or_default())
                    };
                    let read = read_chunk(k, items, &mut thread);
                    let mut state = shared.lock();
                    if k >= state.consumed
                        && let Some(slot) = state.read.get_mut(k)
                    {
                        *slot = Some(read);
                    }
                    drop(state);
                    shared.done.notify_all();
                }
            });
        }
        // The calling thread: nothing is handed over before the whole file's nesting is known
        // to be sound (a file too deep loads nothing), but the workers read meanwhile.
        if let Some(d) = check_nesting(file, text) {
            diags.push(d);
        } else {
            read_in_order(
                file,
                text,
                &starts,
                ahead,
                &shared,
                &read_chunk,
                diags,
                each,
            );
        }
        shared.lock().stop = true;
        shared.moved.notify_all();
    });
}

/// The calling thread's part of [`parse_each_chunked`]: keeps the place of reading, takes each
/// chunk that lines up with it, and reads everything else itself, in order.
#[allow(
    clippy::too_many_arguments,
    reason = "the parts of one reading shared with the workers"
)]
fn read_in_order<T: Send, S: Default>(
    file: FileId,
    text: &str,
    starts: &[usize],
    ahead: usize,
    shared: &Shared<T>,
    read_chunk: &ReadChunk<'_, T, S>,
    diags: &mut Vec<Diagnostic>,
    each: &mut dyn FnMut(Parsed<T>, &mut Vec<Diagnostic>),
) {
    // Chunk `k`, once read by a worker or by this thread; `None` if a worker was lost.
    let mut helper = (Interner::default(), S::default());
    let mut take = |k: usize| -> Option<Read<T>> {
        let mut state = shared.lock();
        loop {
            if let Some(read) = state.read.get_mut(k).and_then(Option::take) {
                return Some(read);
            }
            // Rather than wait, read a chunk no one has taken: this one first.
            if state.claimed < starts.len() && state.claimed < state.consumed + ahead {
                let j = state.claimed;
                state.claimed += 1;
                let items = state.spare.pop().unwrap_or_default();
                drop(state);
                let read = read_chunk(j, items, &mut helper);
                if j == k {
                    return Some(read);
                }
                state = shared.lock();
                if let Some(slot) = state.read.get_mut(j) {
                    *slot = Some(read);
                }
                continue;
            }
            if state.broken || state.claimed <= k {
                return None;
            }
            state = shared
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    };
    // Moves the window of reading ahead to start at chunk `k`, with `spare`, a list emptied.
    let move_to = |k: usize, spare: Option<Vec<T>>| {
        let mut state = shared.lock();
        state.spare.extend(spare);
        // Chunks passed over are dropped here, or by the worker that reads them.
        let consumed = state.consumed;
        for slot in state.read.iter_mut().take(k).skip(consumed) {
            *slot = None;
        }
        state.consumed = consumed.max(k);
        drop(state);
        shared.moved.notify_all();
    };
    let mut names = Interner::default();
    let mut tree = tree::Builder::new(text);
    let mut offset = 0;
    let mut k = 0;
    while offset <= text.len() {
        // A chunk starting before the place of reading can no longer line up.
        let passed = starts.iter().skip(k).take_while(|&&s| s < offset).count();
        if passed > 0 {
            k += passed;
            move_to(k, None);
        }
        if let Some(&start) = starts.get(k)
            && fast::skip_from(text, offset) == fast::skip_from(text, start)
        {
            let read = take(k);
            k += 1;
            if let Some(mut read) = read {
                for item in read.items.drain(..) {
                    each(Parsed::Converted(item), diags);
                }
                move_to(k, Some(read.items));
                offset = read.stop.max(offset);
                continue;
            }
            move_to(k, None);
        }
        let mut one = |item: Item, diags: &mut Vec<Diagnostic>| each(Parsed::Item(item), diags);
        match step(
            file, text, offset, true, &mut tree, &mut names, diags, &mut one,
        ) {
            Some(next) => offset = next,
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "test helpers may fail loudly"
    )]

    use super::*;

    /// What a reading hands over: each declaration with the number of diagnostics before it,
    /// and every diagnostic, so that the order of the two is compared too.
    type Reading = (Vec<(Item, usize)>, Vec<Diagnostic>);

    fn sequential(text: &str) -> Reading {
        let mut items = Vec::new();
        let mut diags = Vec::new();
        let mut names = Interner::default();
        super::super::parse_each(FileId::new(0), text, &mut names, &mut diags, &mut |i, d| {
            items.push((i, d.len()));
        });
        (items, diags)
    }

    /// The reading in chunks, and how many declarations were read on a worker.
    fn chunked(text: &str, chunks: Chunks) -> (Reading, usize) {
        let mut converted = 0;
        let mut items = Vec::new();
        let mut diags = Vec::new();
        let convert = |decl: FactDecl, count: &mut usize| {
            *count += 1;
            decl
        };
        parse_each_chunked(
            FileId::new(0),
            text,
            chunks,
            &mut diags,
            &convert,
            &mut |parsed, d| {
                let item = match parsed {
                    Parsed::Item(item) => item,
                    Parsed::Converted(decl) => {
                        converted += 1;
                        Item::Fact(decl)
                    }
                };
                items.push((item, d.len()));
            },
        );
        ((items, diags), converted)
    }

    /// Pieces of deal files, among them every place a chunk's start may be wrong: a deal line
    /// inside a block comment, a list, a test; and what the fast reader leaves to the parser.
    const PIECES: [&str; 12] = [
        "deal d{n} {\n  kind: investment\n  investor: A{n}\n  amount: 5B USD\n}\n",
        "entity A{n} \"Firm {n}\" {\n  type: company\n  revenue_2025: 13B USD\n}\n",
        "deal p{n} {\n  kind: purchase\n  buyer: A{n}\n  tags: [\ndeal x {n}\n  ]\n}\n",
        "/* a comment\ndeal hidden{n} {\n  kind: lease\n}\n*/\n",
        "// deal commented{n} {\n",
        "deal café{n} {\n  kind: loan\n}\n",
        "deal broken{n} {\n  kind: \n}\n",
        "rule r{n} {\n  when d: deal where d.kind == investment\n  flag high \"x\"\n}\n",
        "test t{n} {\n  given {\n    deal g{n} {\n      kind: loan\n    }\n  }\n  expect no finding\n}\n",
        "deal twice{n} {\n  kind: loan\n  kind: lease\n}\n",
        "\n\n   \n",
        "deal open{n} {\n  kind: loan\n",
    ];

    fn text_of(pieces: &[usize]) -> String {
        pieces
            .iter()
            .enumerate()
            .map(|(n, &p)| PIECES[p % PIECES.len()].replace("{n}", &n.to_string()))
            .collect()
    }

    #[test]
    fn a_chunk_is_taken_only_where_the_reading_in_order_is() {
        // A deal line in a comment and in a list, then good deals: with chunks of one byte,
        // every line that starts with `deal ` is a chunk's start.
        let text = text_of(&[3, 0, 2, 1, 0, 5, 0, 6, 0, 7, 0, 8, 1, 9, 0, 4, 0, 11]);
        let expected = sequential(&text);
        assert!(expected.0.len() > 8 && !expected.1.is_empty());
        for threads in [2, 3, 64] {
            let chunks = Chunks {
                bytes: 1,
                threads,
                ahead: 1,
            };
            let (reading, converted) = chunked(&text, chunks);
            assert_eq!(reading, expected, "{threads} threads");
            // The good deals after the comment, the list and the test lie in chunks taken.
            assert!(converted >= 6, "{converted} declarations read in chunks");
        }
    }

    #[test]
    fn a_file_too_deep_hands_over_nothing() {
        let text = format!(
            "{}deal deep {{ x: {}1{} }}\n",
            text_of(&[0; 40]),
            "[".repeat(200),
            "]".repeat(200)
        );
        let chunks = Chunks {
            bytes: 64,
            threads: 2,
            ahead: 2,
        };
        let ((items, diags), _) = chunked(&text, chunks);
        assert!(items.is_empty());
        assert_eq!(diags, sequential(&text).1);
        assert_eq!(diags.len(), 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_file_reads_the_same_in_chunks_as_in_order(
            pieces in proptest::collection::vec(0..PIECES.len(), 0..40),
            bytes in 1..300usize,
            threads in 2..5usize,
            ahead in 1..4usize,
        ) {
            let text = text_of(&pieces);
            let chunks = Chunks { bytes, threads, ahead };
            proptest::prop_assert_eq!(chunked(&text, chunks).0, sequential(&text));
        }
    }
}
