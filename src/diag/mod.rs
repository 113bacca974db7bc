//! Diagnostics shared by every stage: source files, spans, located messages and their rendering.
//!
//! A [`Span`] is a file id plus a byte range; line and column are computed only when a
//! diagnostic or finding is rendered ([`SourceMap::location`]). Columns count characters, not
//! bytes, so a caret lands under the right character after Chinese text.

mod code;

pub use code::Code;

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Identifies one source file inside a [`SourceMap`]: its position in the map, from 0.
///
/// Stored as the position plus one, so that an `Option<FileId>` (the file of a [`Span`]) takes
/// four bytes and a span twelve.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(std::num::NonZeroU32);

impl FileId {
    /// The file at position `index` (from 0). `u32::MAX` gives the same id as `u32::MAX - 1`
    /// (no map holds that many files).
    pub const fn new(index: u32) -> FileId {
        match std::num::NonZeroU32::new(index.saturating_add(1)) {
            Some(n) => FileId(n),
            None => FileId(std::num::NonZeroU32::MAX),
        }
    }

    /// The file's position, from 0.
    pub const fn index(self) -> u32 {
        self.0.get() - 1
    }
}

impl fmt::Debug for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileId({})", self.index())
    }
}

/// A byte range in one source file.
///
/// Equality and hashing ignore spans (two AST nodes that differ only in where they were written
/// are equal); use [`Span::same_place`] to compare positions.
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    /// The file, or `None` for values built in code (facts added through the API).
    pub file: Option<FileId>,
    /// Start byte offset (inclusive).
    pub start: u32,
    /// End byte offset (exclusive).
    pub end: u32,
}

impl Span {
    /// A span over `range` in `file`. Offsets beyond `u32::MAX` are clamped (files that large
    /// are refused before parsing).
    pub fn new(file: FileId, range: Range<usize>) -> Self {
        Span {
            file: Some(file),
            start: u32::try_from(range.start).unwrap_or(u32::MAX),
            end: u32::try_from(range.end).unwrap_or(u32::MAX),
        }
    }

    /// A span that points nowhere (for facts built in code).
    pub fn none() -> Self {
        Span::default()
    }

    /// The byte range as `usize`.
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The smallest span covering both `self` and `other` (same file assumed).
    pub fn to(&self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// Whether both spans point at the same file and bytes.
    pub fn same_place(&self, other: &Span) -> bool {
        self.file == other.file && self.start == other.start && self.end == other.end
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

impl std::hash::Hash for Span {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// One source text, stored once: whole, or, for a large file once it is loaded
/// ([`SourceMap::pack`]), compressed.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The name the file was loaded under (usually its path as the user gave it).
    pub name: String,
    /// The text.
    text: Text,
    /// The byte offset of the start of every [`LINE_STRIDE`]-th line (32-bit, as spans are):
    /// a line's start is found from the one before it by scanning at most that many lines, so
    /// the index of a million-deal file takes a few bytes per deal, not one offset per line.
    checkpoints: Arc<[u32]>,
    /// How many lines the text has (a final line break starts an empty last line).
    line_count: usize,
}

/// Lines between two entries of a [`SourceFile`]'s line index.
const LINE_STRIDE: usize = 32;

/// The text of a [`SourceFile`].
#[derive(Clone, Debug)]
enum Text {
    /// The text as it was given.
    Whole(Arc<str>),
    /// The text compressed, in blocks of whole lines.
    Packed(Arc<Packed>),
}

/// A text compressed with Zstandard (level [`PACK_LEVEL`]) in blocks of whole lines of at most
/// [`PACK_BLOCK`] bytes (a line longer than that is a block of its own), with the place of every
/// line break: a line and a column are worked out without reading a block back, unless the line
/// has a character past ASCII (columns count characters). The last block read back is kept.
struct Packed {
    /// The length of the text, in bytes.
    len: usize,
    /// The blocks, in order.
    blocks: Vec<Block>,
    /// The last block read back, by number.
    last: Mutex<Option<(usize, Arc<str>)>>,
    /// The whole text, once something asked for all of it (a snippet of a diagnostic).
    whole: OnceLock<Arc<str>>,
}

/// One block of a [`Packed`] text.
struct Block {
    /// The byte offset of its first byte (the start of a line).
    start: usize,
    /// The 0-based index of its first line.
    first_line: usize,
    /// The offset of each line break in the block, from its start.
    breaks: Breaks,
    /// For each line of the block with a byte past ASCII, in order: the line's number in the
    /// block and the offset of that first byte, from the block's start (empty for a block of
    /// ASCII only). A column before that byte is a count of bytes.
    non_ascii: Box<[(u32, u32)]>,
    /// Its bytes, compressed.
    data: Box<[u8]>,
}

/// The line breaks of a [`Block`], from its start: 16 bits each, but in a block of one line
/// longer than 64 KiB.
enum Breaks {
    Short(Box<[u16]>),
    Long(Box<[u32]>),
}

impl Breaks {
    /// How many breaks are before byte `at` of the block.
    fn before(&self, at: usize) -> usize {
        match self {
            Breaks::Short(b) => b.partition_point(|&i| usize::from(i) < at),
            Breaks::Long(b) => b.partition_point(|&i| (i as usize) < at),
        }
    }

    /// The offset of break `n`.
    fn get(&self, n: usize) -> Option<usize> {
        match self {
            Breaks::Short(b) => b.get(n).map(|&i| usize::from(i)),
            Breaks::Long(b) => b.get(n).map(|&i| i as usize),
        }
    }

    fn len(&self) -> usize {
        match self {
            Breaks::Short(b) => b.len(),
            Breaks::Long(b) => b.len(),
        }
    }
}

impl fmt::Debug for Packed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packed")
            .field("len", &self.len)
            .field("blocks", &self.blocks.len())
            .finish_non_exhaustive()
    }
}

/// The most bytes in a block of a [`Packed`] text, but for a block of one longer line.
const PACK_BLOCK: usize = 64 << 10;

/// The Zstandard level a [`Packed`] text is compressed at: the fastest, which keeps a deal file
/// in about 14% of its size (64 KiB blocks of a generated deal file: 13.6%, where LZ4 kept
/// 22.1%) at about the same speed.
const PACK_LEVEL: i32 = 1;

/// A block of a [`Packed`] text as it is made: its line breaks, its lines past ASCII, its bytes
/// compressed.
type PackedBlock = (Breaks, Box<[(u32, u32)]>, Box<[u8]>);

/// How many blocks [`Packed::from_owned`] compresses before it gives the text's memory back
/// (4 MiB of text).
const PACK_GROUP: usize = 64;

/// The smallest text [`SourceMap::pack`] compresses: below it, the text costs little.
pub const PACK_MIN_BYTES: usize = 1 << 20;

impl Packed {
    /// Compresses `text` in blocks of at most `block` bytes ([`PACK_BLOCK`], smaller in
    /// tests), on every thread of the current pool when `parallel`.
    fn new(text: &str, block: usize, parallel: bool) -> Packed {
        let bytes = text.as_bytes();
        let cuts = Packed::cuts(bytes, block);
        let packed = Packed::pack_each(bytes, &cuts, parallel);
        Packed::of_blocks(bytes.len(), &cuts, packed)
    }

    /// The blocks of `bytes` at `cuts`, in order ([`Packed::pack`]), on every thread of the
    /// current pool when `parallel`.
    fn pack_each(bytes: &[u8], cuts: &[Range<usize>], parallel: bool) -> Vec<PackedBlock> {
        use rayon::prelude::*;
        // One compression context for each thread's run of blocks, not one for each block.
        let context = || zstd::bulk::Compressor::new(PACK_LEVEL).ok();
        if parallel {
            cuts.par_iter()
                .map_init(context, |c, r| Packed::pack(c, bytes, r))
                .collect()
        } else {
            let mut c = context();
            cuts.iter()
                .map(|r| Packed::pack(&mut c, bytes, r))
                .collect()
        }
    }

    /// Compresses `text` as [`Packed::new`] does, giving its memory back as it goes: the
    /// blocks are compressed from the end, [`PACK_GROUP`] at a time, and the text is cut short
    /// after each group, so that the text and its compressed copy are never held whole
    /// together.
    fn from_owned(text: String, block: usize, parallel: bool) -> Packed {
        let mut bytes = text.into_bytes();
        let len = bytes.len();
        let cuts = Packed::cuts(&bytes, block);
        // The groups of blocks, last first.
        let mut groups = Vec::with_capacity(cuts.len().div_ceil(PACK_GROUP));
        for group in cuts.rchunks(PACK_GROUP) {
            groups.push(Packed::pack_each(&bytes, group, parallel));
            bytes.truncate(group.first().map_or(0, |r| r.start));
            bytes.shrink_to_fit();
        }
        let packed = groups.into_iter().rev().flatten().collect();
        Packed::of_blocks(len, &cuts, packed)
    }

    /// Where `bytes` is cut into blocks: after the last line break within `block` bytes, or
    /// after the line if it is longer.
    fn cuts(bytes: &[u8], block: usize) -> Vec<Range<usize>> {
        let block = block.max(1);
        let mut cuts = Vec::with_capacity(bytes.len() / block + 1);
        let mut start = 0;
        while start < bytes.len() {
            let end = match bytes.get(start..start + block) {
                Some(window) if start + block < bytes.len() => {
                    match memchr::memrchr(b'\n', window) {
                        Some(i) => start + i + 1,
                        None => {
                            memchr::memchr(b'\n', bytes.get(start + block..).unwrap_or_default())
                                .map_or(bytes.len(), |i| start + block + i + 1)
                        }
                    }
                }
                _ => bytes.len(),
            };
            cuts.push(start..end);
            start = end;
        }
        cuts
    }

    /// The block of `bytes` at `range`: its line breaks, its lines past ASCII, its bytes
    /// compressed.
    fn pack(
        context: &mut Option<zstd::bulk::Compressor<'static>>,
        bytes: &[u8],
        range: &Range<usize>,
    ) -> PackedBlock {
        let part = bytes.get(range.clone()).unwrap_or_default();
        let at: Vec<usize> = memchr::memchr_iter(b'\n', part).collect();
        let breaks = match part.len() <= usize::from(u16::MAX) {
            true => Breaks::Short(at.iter().filter_map(|&i| u16::try_from(i).ok()).collect()),
            false => Breaks::Long(at.iter().filter_map(|&i| u32::try_from(i).ok()).collect()),
        };
        let mut non_ascii = Vec::new();
        if !part.is_ascii() {
            let mut start = 0;
            for (line, end) in (0..).zip(at.iter().copied().chain(std::iter::once(part.len()))) {
                let first = part
                    .get(start..end)
                    .and_then(|l| l.iter().position(|b| !b.is_ascii()));
                if let (Some(first), Ok(at)) = (first, u32::try_from(start)) {
                    non_ascii.push((
                        line,
                        at.saturating_add(u32::try_from(first).unwrap_or(u32::MAX)),
                    ));
                }
                start = end + 1;
            }
        }
        // Compressing into memory fails only when memory does: the block then reads back as
        // spaces, as one that does not read back (`Packed::block`).
        let data = context
            .as_mut()
            .and_then(|c| c.compress(part).ok())
            .unwrap_or_default()
            .into_boxed_slice();
        (breaks, non_ascii.into_boxed_slice(), data)
    }

    /// The text of `len` bytes cut at `cuts`, of the blocks `packed` (in the same order).
    fn of_blocks(len: usize, cuts: &[Range<usize>], packed: Vec<PackedBlock>) -> Packed {
        let mut first_line = 0;
        let blocks = cuts
            .iter()
            .zip(packed)
            .map(|(range, (breaks, non_ascii, data))| {
                let lines = breaks.len();
                let block = Block {
                    start: range.start,
                    first_line,
                    breaks,
                    non_ascii,
                    data,
                };
                first_line += lines;
                block
            })
            .collect();
        Packed {
            len,
            blocks,
            last: Mutex::new(None),
            whole: OnceLock::new(),
        }
    }

    /// How many lines the text has (a final line break starts an empty last line).
    fn line_count(&self) -> usize {
        self.blocks.iter().map(|b| b.breaks.len()).sum::<usize>() + 1
    }

    /// The length of block `k` read back.
    fn block_len(&self, k: usize) -> usize {
        let end = self.blocks.get(k + 1).map_or(self.len, |b| b.start);
        self.blocks
            .get(k)
            .map_or(0, |b| end.saturating_sub(b.start))
    }

    /// Block `k`, read back (empty for no such block; a block that does not read back, which
    /// only a fault of memory could cause, reads as spaces of its length, so that every offset
    /// still finds its line).
    fn block(&self, k: usize) -> Arc<str> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((n, text)) = &*last
            && *n == k
        {
            return text.clone();
        }
        let len = self.block_len(k);
        let text: Arc<str> = self
            .blocks
            .get(k)
            .and_then(|b| zstd::bulk::decompress(&b.data, len).ok())
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map_or_else(|| " ".repeat(len).into(), Arc::from);
        *last = Some((k, text.clone()));
        text
    }

    /// The number of the block holding byte `offset` (the last block past the end).
    fn block_of(&self, offset: usize) -> usize {
        self.blocks
            .partition_point(|b| b.start <= offset)
            .saturating_sub(1)
    }

    /// The whole text, read back once and kept.
    fn whole(&self) -> Arc<str> {
        self.whole
            .get_or_init(|| {
                let mut text = String::with_capacity(self.len);
                for k in 0..self.blocks.len() {
                    text.push_str(&self.block(k));
                }
                text.into()
            })
            .clone()
    }

    /// The text of `range`, if it is within the text (and on character boundaries).
    fn get(&self, range: Range<usize>) -> Option<Cow<'static, str>> {
        if range.start > range.end || range.end > self.len {
            return None;
        }
        if let Some(whole) = self.whole.get() {
            return whole.get(range).map(|s| Cow::Owned(s.to_string()));
        }
        let first = self.block_of(range.start);
        let last = self.block_of(range.end.saturating_sub(1).max(range.start));
        let mut out = String::new();
        for k in first..=last {
            let start = self.blocks.get(k)?.start;
            let text = self.block(k);
            let from = range.start.saturating_sub(start);
            let to = (range.end - start).min(text.len());
            out.push_str(text.get(from..to)?);
        }
        Some(Cow::Owned(out))
    }
}

impl SourceFile {
    fn new(name: String, text: Arc<str>) -> SourceFile {
        // Bytes, not characters: a line break is one byte, and no byte of a multi-byte character
        // is one.
        let mut checkpoints = vec![0];
        let mut line_count = 1;
        for i in memchr::memchr_iter(b'\n', text.as_bytes()) {
            if line_count % LINE_STRIDE == 0 {
                checkpoints.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
            }
            line_count += 1;
        }
        SourceFile {
            name,
            text: Text::Whole(text),
            checkpoints: checkpoints.into(),
            line_count,
        }
    }

    /// The whole text. A compressed text ([`SourceMap::pack`]) is read back the first time,
    /// and kept from then on.
    pub fn text(&self) -> Arc<str> {
        match &self.text {
            Text::Whole(text) => text.clone(),
            Text::Packed(packed) => packed.whole(),
        }
    }

    /// Keeps `packed` as the text: its blocks give every line, so the line index of a text
    /// kept whole is dropped.
    fn keep_packed(&mut self, packed: Packed) {
        self.line_count = packed.line_count();
        self.checkpoints = Arc::from([0]);
        self.text = Text::Packed(Arc::new(packed));
    }

    /// Whether the text is kept compressed.
    pub fn is_packed(&self) -> bool {
        matches!(self.text, Text::Packed(_))
    }

    /// The length of the text, in bytes.
    fn len(&self) -> usize {
        match &self.text {
            Text::Whole(text) => text.len(),
            Text::Packed(packed) => packed.len,
        }
    }

    /// Whether the line of byte `offset` is known, without reading it back, to be ASCII up to
    /// that byte (in a compressed text), so that its column is a count of bytes.
    fn ascii_at(&self, offset: usize) -> bool {
        let Text::Packed(packed) = &self.text else {
            return false;
        };
        let Some(block) = packed.blocks.get(packed.block_of(offset)) else {
            return false;
        };
        let at = offset.saturating_sub(block.start);
        let line = block.breaks.before(at);
        match block
            .non_ascii
            .binary_search_by_key(&line, |&(l, _)| l as usize)
        {
            Ok(i) => block
                .non_ascii
                .get(i)
                .is_some_and(|&(_, first)| at <= first as usize),
            Err(_) => true,
        }
    }

    /// The text of byte range `range`, if it is within the text and on character boundaries.
    fn get(&self, range: Range<usize>) -> Option<Cow<'_, str>> {
        match &self.text {
            Text::Whole(text) => text.get(range).map(Cow::Borrowed),
            Text::Packed(packed) => packed.get(range),
        }
    }

    /// 0-based line index of byte `offset` (the last line for an offset past the end).
    fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.len());
        let text = match &self.text {
            Text::Whole(text) => text,
            Text::Packed(packed) => {
                return packed
                    .blocks
                    .get(packed.block_of(offset))
                    .map_or(0, |b| b.first_line + b.breaks.before(offset - b.start));
            }
        };
        let k = self
            .checkpoints
            .partition_point(|&s| s as usize <= offset)
            .saturating_sub(1);
        let from = self.checkpoints.get(k).map_or(0, |&s| s as usize);
        let breaks = text
            .as_bytes()
            .get(from..offset)
            .map_or(0, |b| memchr::memchr_iter(b'\n', b).count());
        k * LINE_STRIDE + breaks
    }

    /// Byte offset of the start of line `index`, if the text has that line.
    fn line_start(&self, index: usize) -> Option<usize> {
        if index >= self.line_count {
            return None;
        }
        // The nth line break after a known line start.
        let after = |text: &str, from: usize, skip: usize| match skip {
            0 => Some(from),
            skip => memchr::memchr_iter(b'\n', text.as_bytes().get(from..)?)
                .nth(skip - 1)
                .map(|i| from + i + 1),
        };
        match &self.text {
            Text::Whole(text) => {
                let from = *self.checkpoints.get(index / LINE_STRIDE)? as usize;
                after(text, from, index % LINE_STRIDE)
            }
            Text::Packed(packed) => {
                let k = packed
                    .blocks
                    .partition_point(|b| b.first_line <= index)
                    .saturating_sub(1);
                let Some(block) = packed.blocks.get(k) else {
                    // An empty text: one line, at 0.
                    return Some(0);
                };
                match index - block.first_line {
                    0 => Some(block.start),
                    n => block.breaks.get(n - 1).map(|at| block.start + at + 1),
                }
            }
        }
    }

    /// How many lines the text has.
    fn line_count(&self) -> usize {
        self.line_count
    }

    /// Byte range of line `index`, without its line break.
    fn line_range(&self, index: usize) -> Range<usize> {
        let start = self.line_start(index).unwrap_or(self.len());
        let end = self
            .line_start(index + 1)
            .map_or(self.len(), |next| next.saturating_sub(1));
        start..end.max(start)
    }
}

/// A 1-based line and column (columns count characters).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// The file name as loaded.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// All source files of one engine; resolves spans to locations and text.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: Arc<str>) -> FileId {
        let id = FileId::new(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile::new(name.into(), text));
        id
    }

    /// The file with this id.
    pub fn file(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.index() as usize)
    }

    /// The text a span covers, or `""` for a span without a file. Borrowed from a text kept
    /// whole, read back from one kept compressed ([`SourceMap::pack`]).
    pub fn slice(&self, span: Span) -> Cow<'_, str> {
        span.file
            .and_then(|f| self.file(f))
            .and_then(|f| f.get(span.range()))
            .unwrap_or(Cow::Borrowed(""))
    }

    /// Adds a file whose text is given once it has been read ([`SourceMap::set_read`]); until
    /// then its text is empty.
    pub(crate) fn add_reading(&mut self, name: impl Into<String>) -> FileId {
        self.add(name, Arc::from(""))
    }

    /// Gives `file` (added by [`SourceMap::add_reading`]) its text, once read. A text of
    /// [`PACK_MIN_BYTES`] or more is kept compressed, as [`SourceMap::pack`] keeps it, and its
    /// memory is given back as it is compressed, so that the text and its compressed copy are
    /// never held whole together.
    pub(crate) fn set_read(&mut self, file: FileId, text: String, parallel: bool) {
        let Some(source) = self.files.get_mut(file.index() as usize) else {
            return;
        };
        if text.len() >= PACK_MIN_BYTES {
            source.keep_packed(Packed::from_owned(text, PACK_BLOCK, parallel));
        } else {
            *source = SourceFile::new(std::mem::take(&mut source.name), text.into());
        }
    }

    /// Keeps the text of `file` compressed from now on, if it is [`PACK_MIN_BYTES`] or longer
    /// (every span, location and snippet reads the same; see [`SourceFile`]), on every
    /// thread of the current pool when `parallel`. For a file that is loaded: a deal file of a
    /// million deals (253 MB) keeps 82 MB, 56 MB compressed and 26 MB of line breaks.
    pub fn pack(&mut self, file: FileId, parallel: bool) {
        let Some(source) = self.files.get_mut(file.index() as usize) else {
            return;
        };
        if let Text::Whole(text) = &source.text
            && text.len() >= PACK_MIN_BYTES
        {
            let packed = Packed::new(text, PACK_BLOCK, parallel);
            source.keep_packed(packed);
        }
    }

    /// Line and column of the start of `span`; `None` for spans without a file.
    pub fn location(&self, span: Span) -> Option<Location> {
        let file = self.file(span.file?)?;
        let offset = span.start as usize;
        let line_index = file.line_of(offset);
        let line_start = file.line_start(line_index).unwrap_or(0);
        let column = match file.ascii_at(offset) && offset <= file.len() {
            true => offset.saturating_sub(line_start),
            false => file
                .get(line_start..offset)
                .map(|s| s.trim_start_matches('\u{feff}').chars().count())
                .unwrap_or(0),
        };
        Some(Location {
            file: file.name.clone(),
            line: line_index + 1,
            column: column + 1,
        })
    }
}

/// Resolves a span to its `file:line:column`. Renderers take any `Locate`: the engine's
/// [`SourceMap`], or the locations of a JSON report read back (`diff` reads one).
pub trait Locate {
    /// Line and column of the start of `span`; `None` for spans without a place.
    fn location(&self, span: Span) -> Option<Location>;
}

impl Locate for SourceMap {
    fn location(&self, span: Span) -> Option<Location> {
        SourceMap::location(self, span)
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The input cannot be used; exit code 2.
    Error,
    /// Suspicious but usable.
    Warning,
}

/// A located message about the input: syntax errors, unknown names, bad literals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// The kind of mistake (`E021`); see `docs/diagnostics.md`.
    pub code: Code,
    /// What is wrong, in plain words (lowercase, no final period, user text in backticks).
    pub message: String,
    /// Where: the primary span first, with a short label each.
    pub labels: Vec<(Span, String)>,
    /// How to fix it, when we can tell ("did you mean `USD`?").
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span` with a label.
    pub fn error(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            level: Level::Error,
            code,
            message: message.into(),
            labels: vec![(span, label.into())],
            help: None,
        }
    }

    /// A warning at `span` with a label.
    pub fn warning(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        Diagnostic {
            level: Level::Warning,
            ..Diagnostic::error(code, message, span, label)
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, label: impl Into<String>) -> Self {
        self.labels.push((span, label.into()));
        self
    }

    /// The primary span (the first label's), if any.
    pub fn span(&self) -> Option<Span> {
        self.labels.first().map(|(s, _)| *s)
    }
}

/// `a` or `an` before `word` (`an entity`, `a deal`).
pub(crate) fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Sorts diagnostics by file and position (those without a place first), keeping the order in
/// which they were found among diagnostics at the same place.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by_key(|d| d.span().map(|s| (s.file, s.start)));
}

/// `did you mean `x`?` for the candidate closest to `name`, if one is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let best = candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| {
            (
                strsim::normalized_damerau_levenshtein(&name.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))?;
    Some(format!("did you mean `{}`?", best.1))
}

/// Whether rendered output may use colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    /// Plain text.
    Never,
    /// ANSI colours.
    Always,
}

/// Renders a diagnostic with a source snippet, `file:line:column`, the labels and the help.
pub fn render(diag: &Diagnostic, sources: &SourceMap, colour: Colour) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = match colour {
        Colour::Never => GraphicalTheme::unicode_nocolor(),
        Colour::Always => GraphicalTheme::unicode(),
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
        .tab_width(4);
    let mut report = MietteView::new(diag, sources);
    let long_line = diag.span().and_then(|span| {
        let file = sources.file(span.file?)?;
        let line = file.line_of(span.start as usize);
        let longest = (line.saturating_sub(1)..=line + 1)
            .map(|l| file.line_range(l).len())
            .max()?;
        Some(longest > MAX_SNIPPET_LINE)
    });
    if long_line == Some(true) {
        // Too long to show: give the location in words instead of a snippet.
        if let Some(l) = diag.span().and_then(|s| sources.location(s)) {
            report.message = format!("{} (at {}:{}:{})", report.message, l.file, l.line, l.column);
        }
        report.source = None;
        report.labels.clear();
    }
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("error: {}\n", diag.message);
    }
    out
}

/// Adapter from a [`Diagnostic`] to `miette`'s rendering traits.
#[derive(Debug)]
struct MietteView {
    code: Code,
    message: String,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<SourceView>,
    labels: Vec<miette::LabeledSpan>,
}

/// A source file as `miette` reads it: lines are found through the file's line index (so each
/// snippet costs time proportional to its own lines, not to the file), and columns count
/// characters.
#[derive(Debug)]
struct SourceView {
    file: SourceFile,
    /// The file's whole text (read back once from a compressed one).
    text: Arc<str>,
}

impl miette::SourceCode for SourceView {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let file = &self.file;
        let text: &'a str = &self.text;
        let start = span.offset();
        if start > text.len() {
            return Err(miette::MietteError::OutOfBounds);
        }
        let last = (start + span.len())
            .saturating_sub(1)
            .max(start)
            .min(text.len());
        let first_line = file.line_of(start).saturating_sub(before);
        let last_line = (file.line_of(last) + after).min(file.line_count().saturating_sub(1));
        let (data_start, column) = if before == 0 {
            let line_start = file.line_range(file.line_of(start)).start;
            let column = text
                .get(line_start..start)
                .map_or(0, |s| s.trim_start_matches('\u{feff}').chars().count());
            (start, column)
        } else {
            (file.line_range(first_line).start, 0)
        };
        let data_end = file
            .line_start(last_line + 1)
            .unwrap_or(text.len())
            .max(data_start);
        let data = text
            .get(data_start..data_end)
            .ok_or(miette::MietteError::OutOfBounds)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            file.name.clone(),
            data.as_bytes(),
            (data_start, data_end - data_start).into(),
            file.line_of(data_start),
            column,
            last_line - first_line + 1,
        )))
    }
}

/// Lines longer than this are not shown as a snippet (the location is still given).
const MAX_SNIPPET_LINE: usize = 400;

impl MietteView {
    fn new(diag: &Diagnostic, sources: &SourceMap) -> Self {
        let file = diag
            .span()
            .and_then(|s| s.file)
            .and_then(|f| sources.file(f));
        let message = diag.message.clone();
        let primary_file = diag.span().and_then(|s| s.file);
        let labels = diag
            .labels
            .iter()
            .enumerate()
            .filter(|(_, (s, _))| s.file.is_some() && s.file == primary_file)
            .map(|(i, (s, text))| {
                let len = s.range().len();
                let label = if text.is_empty() {
                    None
                } else {
                    Some(text.clone())
                };
                if i == 0 {
                    miette::LabeledSpan::new_primary_with_span(label, (s.start as usize, len))
                } else {
                    miette::LabeledSpan::new_with_span(label, (s.start as usize, len))
                }
            })
            .collect();
        // Labels in other files (a duplicate declared in another file) become notes.
        let notes: Vec<String> = diag
            .labels
            .iter()
            .filter(|(s, _)| s.file.is_some() && s.file != primary_file)
            .filter_map(|(s, text)| {
                let l = sources.location(*s)?;
                Some(format!("{text}: {}:{}:{}", l.file, l.line, l.column))
            })
            .collect();
        let help = match (&diag.help, notes.is_empty()) {
            (h, true) => h.clone(),
            (Some(h), false) => Some(format!("{}\n{h}", notes.join("\n"))),
            (None, false) => Some(notes.join("\n")),
        };
        MietteView {
            code: diag.code,
            message,
            severity: match diag.level {
                Level::Error => miette::Severity::Error,
                Level::Warning => miette::Severity::Warning,
            },
            help,
            source: file.map(|f| SourceView {
                file: f.clone(),
                text: f.text(),
            }),
            labels,
        }
    }
}

impl fmt::Display for MietteView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MietteView {}

impl miette::Diagnostic for MietteView {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_characters_not_bytes() {
        let mut map = SourceMap::default();
        let id = map.add("a.deals", Arc::from("entity 甲骨文 {\n  x: 1\n}"));
        // `{` after two spaces and three Chinese characters (9 bytes).
        let brace = "entity 甲骨文 ".len();
        let loc = map
            .location(Span::new(id, brace..brace + 1))
            .map(|l| (l.line, l.column));
        assert_eq!(loc, Some((1, 12)));
        let x = "entity 甲骨文 {\n  ".len();
        let loc = map
            .location(Span::new(id, x..x + 1))
            .map(|l| (l.line, l.column));
        assert_eq!(loc, Some((2, 3)));
    }

    /// Every line start, by scanning the whole text (what the sparse index must agree with).
    fn all_line_starts(text: &str) -> Vec<usize> {
        std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn the_sparse_line_index_agrees_with_a_full_scan(
            lines in proptest::collection::vec("[a-z甲 ]{0,5}", 0..200),
            trailing in proptest::bool::ANY,
        ) {
            let mut text = lines.join("\n");
            if trailing {
                text.push('\n');
            }
            let file = SourceFile::new("t".into(), Arc::from(text.as_str()));
            let starts = all_line_starts(&text);
            proptest::prop_assert_eq!(file.line_count(), starts.len());
            for (line, &start) in starts.iter().enumerate() {
                proptest::prop_assert_eq!(file.line_start(line), Some(start));
                let end = starts.get(line + 1).map_or(text.len(), |&n| n - 1);
                proptest::prop_assert_eq!(file.line_range(line), start..end);
            }
            proptest::prop_assert_eq!(file.line_start(starts.len()), None);
            for offset in 0..=text.len() + 2 {
                let expected = starts.partition_point(|&s| s <= offset.min(text.len())) - 1;
                proptest::prop_assert_eq!(file.line_of(offset), expected);
            }
        }
    }

    /// The same text kept whole, and kept compressed in blocks of at most `block` bytes (from
    /// a copy, or from the text itself when `owned`, a group of blocks at a time from the end).
    fn whole_and_packed(text: &str, block: usize, owned: bool) -> (SourceMap, SourceMap) {
        let mut whole = SourceMap::default();
        whole.add("t.deals", Arc::from(text));
        let mut packed = whole.clone();
        let parallel = block.is_multiple_of(2);
        if let Some(file) = packed.files.first_mut() {
            file.text = Text::Packed(Arc::new(match owned {
                true => Packed::from_owned(text.to_string(), block, parallel),
                false => Packed::new(text, block, parallel),
            }));
        }
        (whole, packed)
    }

    /// Every line, location and slice of a compressed text is the one of the text kept whole:
    /// blocks of 1 to 40 bytes put block ends everywhere (inside a line longer than a block,
    /// at a line break, inside a multi-byte character), with line feeds, carriage returns and
    /// a byte order mark.
    fn a_packed_text_reads_as_the_whole_one(text: &str, block: usize, owned: bool) {
        let (whole, packed) = whole_and_packed(text, block, owned);
        let (w, p) = (&whole.files[0], &packed.files[0]);
        assert!(p.is_packed() && !w.is_packed());
        assert_eq!(p.line_count(), w.line_count());
        if let Text::Packed(blocks) = &p.text {
            assert_eq!(blocks.line_count(), w.line_count());
        }
        for line in 0..=w.line_count() {
            assert_eq!(p.line_start(line), w.line_start(line), "line {line}");
            assert_eq!(p.line_range(line), w.line_range(line), "line {line}");
        }
        let file = Some(FileId::new(0));
        for offset in 0..=text.len() + 2 {
            assert_eq!(p.line_of(offset), w.line_of(offset), "offset {offset}");
            let at = |end: usize| Span {
                file,
                start: u32::try_from(offset).unwrap(),
                end: u32::try_from(end).unwrap(),
            };
            assert_eq!(packed.location(at(offset)), whole.location(at(offset)));
            for len in [0, 1, 2, 3, 7, 30] {
                let span = at(offset + len);
                assert_eq!(packed.slice(span), whole.slice(span), "{offset}+{len}");
            }
        }
        assert_eq!(p.text(), w.text());
        // Once read back whole, it still reads the same.
        let span = Span::new(FileId::new(0), 0..text.len());
        assert_eq!(packed.slice(span), whole.slice(span));
    }

    proptest::proptest! {
        #[test]
        fn a_packed_text_reads_as_the_whole_one_in_blocks_of_any_size(
            lines in proptest::collection::vec("[a-z甲 \r]{0,12}", 0..60),
            trailing in proptest::bool::ANY,
            bom in proptest::bool::ANY,
            block in 1usize..40,
        ) {
            let mut text = if bom { "\u{feff}".to_string() } else { String::new() };
            text.push_str(&lines.join("\n"));
            if trailing {
                text.push('\n');
            }
            a_packed_text_reads_as_the_whole_one(&text, block, false);
            a_packed_text_reads_as_the_whole_one(&text, block, true);
        }
    }

    /// A line longer than 64 KiB is a block of its own, with its break kept in 32 bits; a
    /// diagnostic's snippet from a compressed text is the one from the whole text.
    #[test]
    fn a_packed_text_keeps_long_lines_and_snippets() {
        let long = "x".repeat(70_000);
        let text = format!("deal a {{\n  note: \"{long}\"\n}}\ndeal b {{ kind: lé }}\n");
        let (whole, packed) = whole_and_packed(&text, PACK_BLOCK, false);
        let blocks = match &packed.files[0].text {
            Text::Packed(p) => p
                .blocks
                .iter()
                .map(|b| matches!(b.breaks, Breaks::Long(_)))
                .collect(),
            Text::Whole(_) => Vec::new(),
        };
        assert_eq!(blocks, [false, true, false]);
        for offset in [0, 10, 70_005, 70_020, text.len() - 4, text.len()] {
            let span = Span::new(FileId::new(0), offset..offset);
            assert_eq!(
                packed.location(span),
                whole.location(span),
                "offset {offset}"
            );
        }
        let at = text.find("lé").unwrap();
        let d = Diagnostic::error(
            Code::Syntax,
            "unknown kind",
            Span::new(FileId::new(0), at..at + 3),
            "here",
        );
        assert_eq!(
            render(&d, &packed, Colour::Never),
            render(&d, &whole, Colour::Never)
        );
        assert!(render(&d, &packed, Colour::Never).contains("kind: lé"));
        a_packed_text_reads_as_the_whole_one(&text[..200], 16, false);
    }

    /// A text given to the map once read is kept compressed from 1 MiB, and reads as the text
    /// kept whole; a smaller one is kept whole.
    #[test]
    fn a_text_given_once_read_reads_as_given() {
        let line = |i: usize| format!("deal d{i} \"Société Générale {i}\" {{ kind: purchase }}\n");
        let big: String = (0..20_000).map(line).collect();
        assert!(big.len() >= PACK_MIN_BYTES);
        for text in [big.clone(), big[..300].to_string()] {
            let mut whole = SourceMap::default();
            whole.add("t.deals", Arc::from(text.as_str()));
            let mut read = SourceMap::default();
            let file = read.add_reading("t.deals");
            read.set_read(file, text.clone(), true);
            assert_eq!(read.files[0].is_packed(), text.len() >= PACK_MIN_BYTES);
            assert_eq!(read.files[0].line_count(), whole.files[0].line_count());
            for offset in (0..=text.len() + 1).step_by(997) {
                let span = Span::new(file, offset..(offset + 40).min(text.len()));
                assert_eq!(read.location(span), whole.location(span), "offset {offset}");
                assert_eq!(read.slice(span), whole.slice(span), "offset {offset}");
            }
            assert_eq!(read.files[0].text(), whole.files[0].text());
        }
    }

    #[test]
    fn a_span_takes_twelve_bytes() {
        assert_eq!(std::mem::size_of::<Span>(), 12);
    }
    #[test]
    fn did_you_mean_picks_the_closest_name() {
        assert_eq!(
            did_you_mean("USX", ["USD", "EUR", "GW"]),
            Some("did you mean `USD`?".to_string())
        );
        assert_eq!(did_you_mean("zzzz", ["USD", "EUR"]), None);
    }
}
