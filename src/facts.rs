//! The fact base: entities and deals, from deal files or built in code, indexed by id.

use crate::diag::{Code, Diagnostic, Span};
use crate::hash::FastMap;
use crate::syntax::{FactDecl, FactKind, FxDecl};
use crate::value::Currency;
use crate::value::{Name, SymbolId, Value};
use indexmap::{IndexMap, IndexSet};
use std::borrow::Cow;
use std::hash::BuildHasher as _;
use std::sync::Arc;

/// The fields of a fact by name, in written order.
///
/// A fact has a handful of fields, so they are kept as one short list searched by name, with
/// no hash table of their own: the engine reads fields by position ([`FactBase`] places each
/// fact's names once), and this map is only searched by name off that path. Two maps are equal
/// when they hold the same fields, whatever their order.
///
/// The names are kept apart from the fields: once a fact is in a [`FactBase`], its list of
/// names is the one shared by every fact written with the same fields in the same order. Where
/// a field was written is kept as offsets: a field costs its value and 8 bytes (32 in all), not
/// also a name and two 12-byte spans. A field is read as a [`FieldRef`].
#[derive(Clone, Default)]
pub struct FieldMap {
    names: Names,
    cells: Vec<Cell>,
    /// The file of every span, unless `wide` holds them.
    file: Option<crate::diag::FileId>,
    /// The offset every cell's offsets are from, unless `wide` holds the spans.
    base: u32,
    /// Spans that do not fit a [`Cell`]'s offsets, (value, name) for each field in order: a
    /// span 64 KiB or more past `base` or as long, in another file, or a field replaced. Once
    /// one does not fit, every field's spans are kept here, for this map only; a declaration of
    /// a deal file always fits. Boxed twice so that the pointer is thin: 8 bytes in every map
    /// for spans that nearly none has.
    #[allow(clippy::box_collection)]
    wide: Option<Box<Vec<(Span, Span)>>>,
}

/// One field of a [`FieldMap`]: its value, and where its value and its name were written, as
/// offsets from the map's base (unused when the map keeps its spans whole).
#[derive(Clone, Debug)]
pub(crate) struct Cell {
    value: Value,
    value_at: u16,
    value_len: u16,
    name_at: u16,
    name_len: u16,
}

impl Cell {
    /// The field, its spans at its offsets from `base` in `file`.
    fn field(&self, file: Option<crate::diag::FileId>, base: u32) -> FieldRef<'_> {
        let offsets = [self.value_at, self.value_len, self.name_at, self.name_len];
        FieldRef::at_offsets(&self.value, offsets, file, base)
    }
}

/// The offsets of `span` from `base` in `file`, if they fit a [`Cell`].
fn offsets(span: Span, file: Option<crate::diag::FileId>, base: u32) -> Option<(u16, u16)> {
    if span.file != file {
        return None;
    }
    let at = u16::try_from(span.start.checked_sub(base)?).ok()?;
    let len = u16::try_from(span.end.checked_sub(span.start)?).ok()?;
    Some((at, len))
}

/// A field of a fact as read from its [`FieldMap`]: its value and where it was written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldRef<'m> {
    /// The value.
    pub value: &'m Value,
    /// Where the value was written ([`Span::none`] for facts built in code).
    pub span: Span,
    /// Where the field's name was written (the value's span for CSV and JSON cells).
    pub name_span: Span,
}

impl<'m> FieldRef<'m> {
    /// `value`, written at `offsets` from `base` in `file` (value at, value length, name at,
    /// name length).
    fn at_offsets(
        value: &'m Value,
        offsets: [u16; 4],
        file: Option<crate::diag::FileId>,
        base: u32,
    ) -> FieldRef<'m> {
        let [value_at, value_len, name_at, name_len] = offsets;
        let span = |at: u16, len: u16| {
            let start = base.saturating_add(u32::from(at));
            Span {
                file,
                start,
                end: start.saturating_add(u32::from(len)),
            }
        };
        FieldRef {
            value,
            span: span(value_at, value_len),
            name_span: span(name_at, name_len),
        }
    }

    /// The field as an owned [`FactField`].
    pub fn to_field(&self) -> FactField {
        FactField {
            value: self.value.clone(),
            span: self.span,
            name_span: self.name_span,
        }
    }
}

/// A list of field names, in the order of a map's fields, with the number of its layout in the
/// fact base that shared it ([`BY_NAME`] for none). The maps of one shape share one list (a
/// field read finds the layout in the fact itself, not in a table beside it); a map being built
/// or changed has a list of its own.
#[derive(Clone, Debug)]
pub(crate) struct NameList {
    names: Vec<Name>,
    layout: u32,
}

impl NameList {
    /// A list of `names` in no layout, to be shared by maps ([`FieldMap::from_columns`]).
    pub(crate) fn shared(names: impl IntoIterator<Item = Name>) -> Arc<NameList> {
        Arc::new(NameList {
            names: names.into_iter().collect(),
            layout: BY_NAME,
        })
    }

    /// The names, in order.
    pub(crate) fn as_slice(&self) -> &[Name] {
        &self.names
    }
}

/// The names of a [`FieldMap`], in the order of its fields: a pointer, so that a map of
/// shared names costs 8 bytes for them (none for an empty map).
#[derive(Clone, Default)]
struct Names(Option<Arc<NameList>>);

impl Names {
    /// An own list with room for `n` names.
    fn with_capacity(n: usize) -> Names {
        Names(Some(Arc::new(NameList {
            names: Vec::with_capacity(n),
            layout: BY_NAME,
        })))
    }

    fn as_slice(&self) -> &[Name] {
        self.0.as_deref().map_or(&[], NameList::as_slice)
    }

    /// The list to change, in no layout: a shared list is copied first.
    fn to_mut(&mut self) -> &mut Vec<Name> {
        let list = self.0.get_or_insert_with(|| NameList::shared([]));
        // A shared list is copied; the copy is in no layout.
        let own = Arc::make_mut(list);
        own.layout = BY_NAME;
        &mut own.names
    }

    /// The list, when no other map shares it.
    fn own(&mut self) -> Option<&mut NameList> {
        self.0.as_mut().and_then(Arc::get_mut)
    }

    /// The layout number the list was shared with.
    fn layout(&self) -> u32 {
        self.0.as_ref().map_or(BY_NAME, |l| l.layout)
    }
}

impl FieldMap {
    /// An empty map.
    pub fn new() -> Self {
        FieldMap::default()
    }

    /// An empty map with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        FieldMap {
            names: Names::with_capacity(n),
            cells: Vec::with_capacity(n),
            ..FieldMap::default()
        }
    }

    /// The fields of a row of columns `names` (a list shared with other rows), `None` where a
    /// column has no value: a row with every column shares `names`; any other keeps the names
    /// of the columns it has.
    pub(crate) fn from_columns(
        columns: &Arc<NameList>,
        values: impl IntoIterator<Item = Option<FactField>>,
    ) -> Self {
        let names = columns.as_slice();
        // The names of the columns present, made only once one is missing.
        let mut own: Option<Vec<Name>> = None;
        let mut map = FieldMap {
            cells: Vec::with_capacity(names.len()),
            ..FieldMap::default()
        };
        for (at, (name, value)) in names.iter().zip(values).enumerate() {
            match value {
                Some(field) => {
                    if let Some(own) = &mut own {
                        own.push(name.clone());
                    }
                    map.push_cell(field);
                }
                None if own.is_none() => own = Some(names.iter().take(at).cloned().collect()),
                None => {}
            }
        }
        map.names = Names(Some(match own {
            Some(own) => NameList::shared(own),
            None if map.cells.len() == names.len() => columns.clone(),
            None => NameList::shared(names.iter().take(map.cells.len()).cloned()),
        }));
        map
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The position of field `name`.
    pub fn get_index_of(&self, name: &str) -> Option<usize> {
        self.names.as_slice().iter().position(|n| **n == *name)
    }

    /// Field `name`.
    pub fn get(&self, name: &str) -> Option<FieldRef<'_>> {
        self.get_index_of(name).and_then(|i| self.field(i))
    }

    /// The value of field `name`.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.get_index_of(name).and_then(|i| self.value_at(i))
    }

    /// The value of the field at position `index`.
    pub(crate) fn value_at(&self, index: usize) -> Option<&Value> {
        self.cells.get(index).map(|c| &c.value)
    }

    /// The field at position `index`.
    fn field(&self, index: usize) -> Option<FieldRef<'_>> {
        let cell = self.cells.get(index)?;
        match &self.wide {
            None => Some(cell.field(self.file, self.base)),
            Some(spans) => {
                let (span, name_span) = spans.get(index).copied().unwrap_or_default();
                Some(FieldRef {
                    value: &cell.value,
                    span,
                    name_span,
                })
            }
        }
    }

    /// Whether field `name` is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get_index_of(name).is_some()
    }

    /// Sets field `name`: a field already present keeps its place and gets the new value and
    /// spans (the old field is returned); a new field goes last.
    pub fn insert(&mut self, name: Name, field: FactField) -> Option<FactField> {
        match self.get_index_of(&name) {
            Some(i) => {
                let old = self.field(i).map(|f| f.to_field());
                // The spans of every field are kept apart, then this one's replaced.
                let mut spans = self.wide_spans();
                if let Some(slot) = spans.get_mut(i) {
                    *slot = (field.span, field.name_span);
                }
                if let Some(cell) = self.cells.get_mut(i) {
                    cell.value = field.value;
                }
                self.wide = Some(Box::new(spans));
                old
            }
            None => {
                self.push(name, field);
                None
            }
        }
    }

    /// The (value, name) spans of every field, in order.
    fn wide_spans(&self) -> Vec<(Span, Span)> {
        (0..self.len())
            .filter_map(|i| self.field(i).map(|f| (f.span, f.name_span)))
            .collect()
    }

    /// Appends field `name`, known not to be present.
    fn push(&mut self, name: Name, field: FactField) {
        self.names.to_mut().push(name);
        self.push_cell(field);
    }

    /// Appends a field's value and spans (its name is added apart).
    fn push_cell(&mut self, field: FactField) {
        let FactField {
            value,
            span,
            name_span,
        } = field;
        if self.cells.is_empty() {
            // The first field sets the file and the base; a name in another file than its
            // value is kept whole.
            (self.file, self.base) = (span.file, span.start.min(name_span.start));
            self.wide = (name_span.file != span.file).then(Box::default);
        }
        let compact = match &self.wide {
            None => {
                offsets(span, self.file, self.base).zip(offsets(name_span, self.file, self.base))
            }
            Some(_) => None,
        };
        let cell = |(value_at, value_len), (name_at, name_len)| Cell {
            value,
            value_at,
            value_len,
            name_at,
            name_len,
        };
        match compact {
            Some((at, name)) => self.cells.push(cell(at, name)),
            None => {
                let mut spans = match self.wide.take() {
                    Some(spans) => spans,
                    None => Box::new(self.wide_spans()),
                };
                spans.push((span, name_span));
                self.wide = Some(spans);
                self.cells.push(cell((0, 0), (0, 0)));
            }
        }
    }

    /// The field at position `index`, with its name.
    pub fn get_index(&self, index: usize) -> Option<(&Name, FieldRef<'_>)> {
        self.names.as_slice().get(index).zip(self.field(index))
    }

    /// The fields with their names, in written order.
    pub fn iter(&self) -> Fields<'_> {
        FieldsView(FieldsHeld::Map(self)).iter()
    }

    /// The names, in written order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Name> + ExactSizeIterator {
        self.names.as_slice().iter()
    }

    /// The fields, in written order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = FieldRef<'_>> + ExactSizeIterator {
        self.iter().map(|(_, f)| f)
    }

    /// The values, in written order, to change them (their spans stay).
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.cells.iter_mut().map(|c| &mut c.value)
    }

    /// Stores the names once per shape among the facts read by one thread (`shapes`): the
    /// facts of one shape share a list, so that [`FieldMap::intern_names`] shares them again
    /// once per shape, on another thread, without freeing a list per fact there.
    pub(crate) fn share_shape(&mut self, shapes: &mut Shapes) {
        let Some(own) = self.names.own() else { return };
        let own = own.as_slice();
        let same = |list: &Arc<NameList>| {
            list.names.len() == own.len()
                && list.names.iter().zip(own).all(|(a, b)| Arc::ptr_eq(a, b))
        };
        let shared = match shapes.known.iter().position(same) {
            Some(at) => {
                // The shapes in use move to the front.
                shapes.known.swap(0, at);
                shapes.known.first().cloned()
            }
            None => None,
        };
        let shared = shared.unwrap_or_else(|| {
            let list = NameList::shared(own.iter().cloned());
            if shapes.known.len() < MAX_THREAD_SHAPES {
                shapes.known.push(list.clone());
            }
            list
        });
        self.names = Names(Some(shared));
    }

    /// Replaces each name by the one of `names` with the same text (names read on another
    /// thread are another interner's): the fact base places fields by the identity of their
    /// names. A list shared by [`FieldMap::share_shape`] is replaced once, through `lists`.
    pub(crate) fn intern_names(
        &mut self,
        names: &mut crate::value::Interner,
        lists: &mut SharedLists,
    ) {
        if let Some(own) = self.names.own() {
            for (position, name) in own.names.iter_mut().enumerate() {
                let shared = names.intern_at(name, position);
                *name = shared;
            }
            own.layout = BY_NAME;
            return;
        }
        let Some(list) = &mut self.names.0 else {
            return;
        };
        // A list shared by other maps. The list read is kept beside its replacement, so that
        // its address, the key, is not reused while `lists` lives (and no map holding it is
        // ever the only one to).
        let key = Arc::as_ptr(list).cast::<u8>() as usize;
        let known = lists.by_address.entry(key).or_insert_with(|| Reinterned {
            read: list.clone(),
            interned: NameList::shared(
                list.names
                    .iter()
                    .enumerate()
                    .map(|(position, name)| names.intern_at(name, position)),
            ),
        });
        debug_assert!(Arc::ptr_eq(&known.read, list));
        *list = known.interned.clone();
    }

    /// Replaces the names by `shared`, the same names in the same order stored once for every
    /// fact of this shape, with the number of that shape in the fact base.
    fn share_names(&mut self, shared: &Arc<NameList>) {
        debug_assert_eq!(self.names.as_slice(), shared.as_slice());
        self.names = Names(Some(shared.clone()));
    }

    /// The number of this map's layout in the fact base it was added to ([`BY_NAME`] for a map
    /// not added to one, changed since, or with too many fields for a layout).
    fn layout(&self) -> u32 {
        self.names.layout()
    }

    /// The number of this map's layout in the fact base it was added to: every map of that
    /// fact base with this number has the same field names in the same order. `None` for a
    /// map not added to one, changed since, or with too many fields for a layout.
    pub(crate) fn layout_number(&self) -> Option<u32> {
        Some(self.layout()).filter(|&l| l != BY_NAME)
    }
}

impl PartialEq for FieldMap {
    fn eq(&self, other: &FieldMap) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(name, field)| other.get(name) == Some(field))
    }
}

impl std::fmt::Debug for FieldMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The fields of a [`FieldMap`] (or a [`FieldsView`]) with their names, in written order
/// ([`FieldMap::iter`]).
pub struct Fields<'m> {
    map: FieldsView<'m>,
    front: usize,
    back: usize,
}

impl<'m> Iterator for Fields<'m> {
    type Item = (&'m Name, FieldRef<'m>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        let item = self.map.get_index(self.front);
        self.front += 1;
        item
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back.saturating_sub(self.front);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Fields<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.map.get_index(self.back)
    }
}

impl ExactSizeIterator for Fields<'_> {}

impl<'m> IntoIterator for &'m FieldMap {
    type Item = (&'m Name, FieldRef<'m>);
    type IntoIter = Fields<'m>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl FromIterator<(Name, FactField)> for FieldMap {
    /// A later field of the same name replaces the earlier one, in its place.
    fn from_iter<I: IntoIterator<Item = (Name, FactField)>>(iter: I) -> Self {
        let mut map = FieldMap::new();
        for (name, field) in iter {
            map.insert(name, field);
        }
        map
    }
}

/// Most fields a declaration is checked for duplicates by scanning; past it, with a set.
const SCAN_FIELDS: usize = 16;

/// One field of a fact, owned: its value and where it was written. Fields are given to a
/// [`FieldMap`] in this form ([`FieldMap::insert`]) and read back as [`FieldRef`] views.
#[derive(Clone, Debug, PartialEq)]
pub struct FactField {
    /// The value.
    pub value: Value,
    /// Where the value was written ([`Span::none`] for facts built in code).
    pub span: Span,
    /// Where the field's name was written (the value's span for CSV and JSON cells).
    pub name_span: Span,
}

/// An entity or a deal.
///
/// Build one in code with [`Fact::deal`] or [`Fact::entity`] and [`Fact::with`]:
///
/// ```
/// use dealrules::{Fact, Value};
/// let loi = Fact::deal("nvidia_openai_loi")
///     .with("kind", Value::symbol("investment"))
///     .with("investor", Value::symbol("Nvidia"));
/// assert_eq!(loi.get("investor"), Some(&Value::symbol("Nvidia")));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    /// Unique id across all facts (`nvidia_openai_loi`, `OpenAI`).
    pub id: Name,
    /// Entity or deal.
    pub kind: FactKind,
    /// Optional display title.
    pub title: Option<String>,
    /// Fields in written order.
    pub fields: FieldMap,
    /// Where the id was written ([`Span::none`] for facts built in code).
    pub span: Span,
}

impl Fact {
    /// A deal with this id and no fields.
    pub fn deal(id: &str) -> Fact {
        Fact::new(FactKind::Deal, id)
    }

    /// An entity with this id and no fields.
    pub fn entity(id: &str) -> Fact {
        Fact::new(FactKind::Entity, id)
    }

    fn new(kind: FactKind, id: &str) -> Fact {
        Fact {
            id: Arc::from(id),
            kind,
            title: None,
            fields: FieldMap::default(),
            span: Span::none(),
        }
    }

    /// Sets a field (replacing an earlier value of the same name) and returns the fact.
    pub fn with(mut self, name: &str, value: Value) -> Fact {
        self.fields.insert(
            Arc::from(name),
            FactField {
                value,
                span: Span::none(),
                name_span: Span::none(),
            },
        );
        self
    }

    /// The value of a field, if the fact has it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.value(name)
    }

    /// Builds a fact from its declaration. A field written twice is an error (never
    /// last-one-wins); the first value is kept.
    pub fn from_decl(decl: &FactDecl, diags: &mut Vec<Diagnostic>) -> Fact {
        Fact::from_owned_decl(decl.clone(), diags)
    }

    /// [`Fact::from_decl`], taking the declaration: its values are moved, not copied.
    pub fn from_owned_decl(decl: FactDecl, diags: &mut Vec<Diagnostic>) -> Fact {
        let cells = Vec::with_capacity(decl.fields.len());
        Fact::from_owned_decl_into(decl, diags, cells)
    }

    /// [`Fact::from_owned_decl`], its cells in `cells` (an empty buffer).
    pub(crate) fn from_owned_decl_into(
        decl: FactDecl,
        diags: &mut Vec<Diagnostic>,
        cells: Vec<Cell>,
    ) -> Fact {
        let mut fields = FieldMap {
            names: Names::with_capacity(decl.fields.len()),
            cells,
            ..FieldMap::default()
        };
        // A long declaration is checked for duplicates with a set, not by scanning.
        let mut seen: Option<crate::hash::FastMap<Name, usize>> =
            (decl.fields.len() > SCAN_FIELDS).then(Default::default);
        for field in decl.fields {
            let first = match &mut seen {
                None => fields.get(&field.name.name),
                Some(seen) => match seen.get(&field.name.name) {
                    Some(&i) => fields.get_index(i).map(|(_, f)| f),
                    None => {
                        seen.insert(field.name.name.clone(), fields.len());
                        None
                    }
                },
            };
            if let Some(first) = first {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateField,
                        format!(
                            "field `{}` appears twice in `{}`",
                            field.name.name, decl.id.name
                        ),
                        field.name.span,
                        "second value",
                    )
                    .with_label(first.span, "first value")
                    .with_help("keep one value; a field is never overwritten by a later one"),
                );
                continue;
            }
            fields.push(
                field.name.name,
                FactField {
                    value: field.value,
                    span: field.value_span,
                    name_span: field.name.span,
                },
            );
        }
        Fact {
            id: decl.id.name,
            kind: decl.kind,
            title: decl.title.map(|t| t.text),
            fields,
            span: decl.id.span,
        }
    }
}

/// A fact as a [`FactBase`] holds it, read in place: what [`FactBase::get`] and
/// [`FactBase::iter`] give. Its parts are read through methods, so that the fact base is free to
/// store facts in another form than [`Fact`] (it stores most derived rows in tables);
/// [`FactView::to_fact`] copies one out.
#[derive(Clone, Copy)]
pub struct FactView<'f>(Held<'f>);

#[derive(Clone, Copy)]
enum Held<'f> {
    /// A fact stored whole (every loaded fact, a row with a title or with fields written apart
    /// from it, a fact added after the rows).
    Fact(&'f Fact),
    /// A loaded fact in a [`FactTable`]: the fact base (for its id), its index, its table
    /// and its row there.
    Loaded {
        base: &'f FactBase,
        index: u32,
        table: &'f FactTable,
        at: u32,
    },
    /// Row `at` of a [`RowTable`], its id (`None` when made from its relation and values,
    /// [`write_row_id`]), and the pool of the table's pooled columns.
    Row {
        id: Option<&'f Name>,
        table: &'f RowTable,
        at: u32,
        pool: &'f [Value],
    },
}

impl<'f> FactView<'f> {
    /// Unique id across all facts (`nvidia_openai_loi`, `OpenAI`); a derived row's id is its
    /// relation and values (`flow(Nvidia, OpenAI, ...)`). Borrowed from the fact base, but for
    /// a row of a derive, whose id is made from its relation and values when asked (it is not
    /// stored: a million `flow` rows' ids took 66 MB).
    pub fn id(&self) -> Cow<'f, Name> {
        match self.0 {
            Held::Fact(f) => Cow::Borrowed(&f.id),
            Held::Loaded { base, index, .. } => Cow::Borrowed(base.loaded_id(index)),
            Held::Row { id: Some(id), .. } => Cow::Borrowed(id),
            Held::Row {
                id: None,
                table,
                at,
                pool,
            } => {
                let mut id = String::new();
                let relation = match &table.kind {
                    FactKind::Row(relation) => &**relation,
                    other => other.keyword(),
                };
                let values = table.columns.iter().map(|c| c.value(at as usize, pool));
                write_row_id(&mut id, relation, values);
                Cow::Owned(Name::from(id))
            }
        }
    }

    /// Entity, deal, or the rows of a relation.
    pub fn kind(&self) -> &'f FactKind {
        match self.0 {
            Held::Fact(f) => &f.kind,
            Held::Loaded { table, .. } => &table.kind,
            Held::Row { table, .. } => &table.kind,
        }
    }

    /// The display title, if one was written (derived rows have none).
    pub fn title(&self) -> Option<&'f str> {
        match self.0 {
            Held::Fact(f) => f.title.as_deref(),
            Held::Loaded { table, at, .. } => table.title(at as usize),
            Held::Row { .. } => None,
        }
    }

    /// The fields, in written order (a row's in the order of its relation's columns).
    pub fn fields(&self) -> FieldsView<'f> {
        match self.0 {
            Held::Fact(f) => FieldsView(FieldsHeld::Map(&f.fields)),
            Held::Loaded {
                base, table, at, ..
            } => FieldsView(table.fields(at as usize, &base.facts.pool.values)),
            Held::Row {
                table, at, pool, ..
            } => FieldsView(FieldsHeld::Row {
                table,
                at: at as usize,
                pool,
            }),
        }
    }

    /// Where the id was written ([`Span::none`] for facts built in code); for a derived row,
    /// the derive.
    pub fn span(&self) -> Span {
        match self.0 {
            Held::Fact(f) => f.span,
            Held::Loaded { table, at, .. } => table
                .rows
                .get(at as usize)
                .map(|r| r.span)
                .unwrap_or_default(),
            Held::Row { table, .. } => table.span,
        }
    }

    /// The value of a field, if the fact has it.
    pub fn get(&self, name: &str) -> Option<&'f Value> {
        self.fields().value(name)
    }

    /// The fact, copied out of the fact base.
    pub fn to_fact(&self) -> Fact {
        match self.0 {
            Held::Fact(f) => f.clone(),
            Held::Loaded {
                base, table, at, ..
            } => Fact {
                id: self.id().into_owned(),
                kind: table.kind.clone(),
                title: self.title().map(String::from),
                fields: table.field_map(at as usize, &base.facts.pool.values),
                span: self.span(),
            },
            Held::Row {
                table, at, pool, ..
            } => Fact {
                id: self.id().into_owned(),
                kind: table.kind.clone(),
                title: None,
                fields: FieldMap::from_columns(
                    &table.names,
                    table.columns.iter().map(|column| {
                        Some(FactField {
                            value: column.value(at as usize, pool)?.clone(),
                            span: table.span,
                            name_span: table.span,
                        })
                    }),
                ),
                span: table.span,
            },
        }
    }
}

impl std::fmt::Debug for FactView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Held::Fact(fact) => fact.fmt(f),
            Held::Loaded { .. } | Held::Row { .. } => self.to_fact().fmt(f),
        }
    }
}

impl<'f> From<&'f Fact> for FactView<'f> {
    /// A fact built in code, read as a fact base's facts are.
    fn from(fact: &'f Fact) -> Self {
        FactView(Held::Fact(fact))
    }
}

impl PartialEq for FactView<'_> {
    /// The same id, kind, title, span and fields (whatever their order), as for [`Fact`].
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
            && self.kind() == other.kind()
            && self.title() == other.title()
            && self.span() == other.span()
            && self.fields() == other.fields()
    }
}

impl PartialEq<Fact> for FactView<'_> {
    fn eq(&self, other: &Fact) -> bool {
        *self == FactView::from(other)
    }
}

/// The fields of a fact as a [`FactBase`] holds them ([`FactView::fields`]): a fact's
/// [`FieldMap`], or a derived row's values in its relation's table. Read as a map is.
#[derive(Clone, Copy)]
pub struct FieldsView<'f>(FieldsHeld<'f>);

#[derive(Clone, Copy)]
enum FieldsHeld<'f> {
    Map(&'f FieldMap),
    /// A loaded fact's cells in its table, their spans offsets from `base` in `file`.
    Cells {
        table: &'f FactTable,
        at: usize,
        /// The pool of the table's pooled columns.
        pool: &'f [Value],
        file: Option<crate::diag::FileId>,
        base: u32,
    },
    /// Row `at` of a derived rows table: every column present, all written at the table's
    /// span.
    Row {
        table: &'f RowTable,
        at: usize,
        /// The pool of the table's pooled columns.
        pool: &'f [Value],
    },
}

impl<'f> FieldsView<'f> {
    /// How many fields there are.
    pub fn len(&self) -> usize {
        match self.0 {
            FieldsHeld::Map(m) => m.len(),
            FieldsHeld::Cells { table, .. } => table.columns.len(),
            FieldsHeld::Row { table, .. } => table.columns.len(),
        }
    }

    /// Whether there is no field.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn names(&self) -> &'f [Name] {
        match self.0 {
            FieldsHeld::Map(m) => m.names.as_slice(),
            FieldsHeld::Cells { table, .. } => table.names.as_slice(),
            FieldsHeld::Row { table, .. } => table.names.as_slice(),
        }
    }

    /// The position of field `name`.
    pub fn get_index_of(&self, name: &str) -> Option<usize> {
        self.names().iter().position(|n| **n == *name)
    }

    /// Field `name`.
    pub fn get(&self, name: &str) -> Option<FieldRef<'f>> {
        self.get_index_of(name)
            .and_then(|i| self.get_index(i))
            .map(|(_, f)| f)
    }

    /// The value of field `name`.
    pub fn value(&self, name: &str) -> Option<&'f Value> {
        self.get_index_of(name).and_then(|i| self.value_at(i))
    }

    /// Whether field `name` is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get_index_of(name).is_some()
    }

    /// The value of the field at position `index`.
    pub(crate) fn value_at(&self, index: usize) -> Option<&'f Value> {
        match self.0 {
            FieldsHeld::Map(m) => m.value_at(index),
            FieldsHeld::Cells {
                table, at, pool, ..
            } => table.columns.get(index)?.value(at, pool),
            FieldsHeld::Row { table, at, pool } => table.columns.get(index)?.value(at, pool),
        }
    }

    /// The field at position `index`, with its name.
    pub fn get_index(&self, index: usize) -> Option<(&'f Name, FieldRef<'f>)> {
        match self.0 {
            FieldsHeld::Map(m) => m.get_index(index),
            FieldsHeld::Cells {
                table,
                at,
                pool,
                file,
                base,
            } => table
                .names
                .as_slice()
                .get(index)
                .zip(table.columns.get(index)?.field(
                    at,
                    pool,
                    table.offsets.get(at, index)?,
                    file,
                    base,
                )),
            FieldsHeld::Row { table, at, pool } => {
                let value = table.columns.get(index)?.value(at, pool)?;
                let span = table.span;
                table.names.as_slice().get(index).map(|name| {
                    (
                        name,
                        FieldRef {
                            value,
                            span,
                            name_span: span,
                        },
                    )
                })
            }
        }
    }

    /// The fields with their names, in written order.
    pub fn iter(&self) -> Fields<'f> {
        Fields {
            map: *self,
            front: 0,
            back: self.len(),
        }
    }

    /// The names, in written order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &'f Name> + ExactSizeIterator {
        self.names().iter()
    }

    /// The fields, in written order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = FieldRef<'f>> + ExactSizeIterator {
        self.iter().map(|(_, f)| f)
    }

    /// See [`FieldMap::layout_number`].
    pub(crate) fn layout_number(&self) -> Option<u32> {
        match self.0 {
            FieldsHeld::Map(m) => m.layout_number(),
            FieldsHeld::Cells { table, .. } => Some(table.names.layout).filter(|&l| l != BY_NAME),
            FieldsHeld::Row { table, .. } => Some(table.names.layout).filter(|&l| l != BY_NAME),
        }
    }
}

impl PartialEq for FieldsView<'_> {
    /// The same fields, whatever their order.
    fn eq(&self, other: &FieldsView<'_>) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(name, field)| other.get(name) == Some(field))
    }
}

impl std::fmt::Debug for FieldsView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'f> IntoIterator for FieldsView<'f> {
    type Item = (&'f Name, FieldRef<'f>);
    type IntoIter = Fields<'f>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Rows of `width` items each, kept in blocks of [`ROWS_PER_BLOCK`] rows: a table grows a block
/// at a time and never moves what it holds. (A vector that doubles copies its items each time,
/// and below the allocator's threshold for mapping memory the old copy's pages stay in use:
/// CSV input of 200,000 deals peaked 9% higher with one vector per table.)
#[derive(Clone, Debug)]
struct Blocks<T> {
    width: usize,
    blocks: Vec<Vec<T>>,
    rows: usize,
}

/// Rows in a block of [`Blocks`].
const ROWS_PER_BLOCK: usize = 4096;

impl<T> Blocks<T> {
    fn new(width: usize) -> Self {
        Blocks {
            width,
            blocks: Vec::new(),
            rows: 0,
        }
    }

    /// How many rows there are.
    fn len(&self) -> usize {
        self.rows
    }

    /// Appends a row of the items of `row` (exactly `width` of them).
    fn push(&mut self, row: impl IntoIterator<Item = T>) {
        if self.rows.is_multiple_of(ROWS_PER_BLOCK) {
            self.blocks.push(self.new_block());
        }
        if let Some(block) = self.blocks.last_mut() {
            block.extend(row.into_iter().take(self.width));
        }
        self.rows += 1;
    }

    /// A block for the next rows: the first grows as rows come (a table of a few rows takes
    /// a few rows' memory), the others are made whole.
    fn new_block(&self) -> Vec<T> {
        if self.blocks.is_empty() {
            Vec::new()
        } else {
            Vec::with_capacity(ROWS_PER_BLOCK * self.width)
        }
    }

    /// Item `at` of a table one item wide.
    #[inline]
    fn get(&self, at: usize) -> Option<&T> {
        self.blocks
            .get(at / ROWS_PER_BLOCK)?
            .get(at % ROWS_PER_BLOCK)
    }

    /// Appends `item` to a table one item wide.
    fn push_one(&mut self, item: T) {
        self.push(std::iter::once(item));
    }

    /// The items, row after row.
    fn iter(&self) -> impl Iterator<Item = &T> {
        self.blocks.iter().flatten()
    }

    /// Row `at`.
    fn row(&self, at: usize) -> Option<&[T]> {
        if at >= self.rows {
            return None;
        }
        let start = (at % ROWS_PER_BLOCK) * self.width;
        self.blocks
            .get(at / ROWS_PER_BLOCK)?
            .get(start..start + self.width)
    }
}

/// Loaded facts of one kind and layout, stored together: they share the list of field names
/// (and so the layout), and keep their fields by column, with each fact's span, title and the
/// base its fields' offsets are from. A fact costs 32 bytes and, for each field, 12 bytes
/// when its column holds symbols and dates (their places in the [`Pool`]) or 32 bytes (the
/// value and its offsets), not a [`Fact`] of 128 bytes and an allocation of its own.
#[derive(Clone, Debug)]
struct FactTable {
    kind: FactKind,
    names: Arc<NameList>,
    /// One column per name.
    columns: Vec<Column>,
    /// Where each field's value and name were written, as offsets from its row's base.
    offsets: Offsets,
    /// Each fact's span, title and base, in the order of the columns' rows.
    rows: Vec<TableRow>,
    /// The titles, one after another.
    titles: String,
}

/// Where the fields of a [`FactTable`]'s facts were written, as offsets from each fact's base:
/// for each field, where its value starts, its length, where its name starts, its length.
#[derive(Clone, Debug)]
enum Offsets {
    /// Every field so far written as its column's first: 4 bytes a field (the other two
    /// offsets follow from the column's [`PairForm`]).
    Pairs {
        /// Each column's form, from the first row.
        forms: Vec<PairForm>,
        /// Row after row: for each field, where its name starts (its value, for
        /// [`PairForm::Same`]) and its value's length.
        pairs: Blocks<[u16; 2]>,
    },
    /// All four offsets of each field, row after row: 8 bytes a field.
    Full(Blocks<[u16; 4]>),
}

/// How the fields of one column of a table are written, in [`Offsets::Pairs`].
#[derive(Clone, Copy, Debug, PartialEq)]
enum PairForm {
    /// The name (`name_len` bytes), then `gap` bytes, then the value: `kind: purchase` in a
    /// deal file.
    Named { name_len: u16, gap: u16 },
    /// The name's place is the value's: a CSV cell, a JSON value.
    Same,
}

impl PairForm {
    /// The form of a field written at `offsets` (value at, value length, name at, name
    /// length), if it has one.
    fn of([value_at, value_len, name_at, name_len]: [u16; 4]) -> Option<PairForm> {
        if value_at == name_at && value_len == name_len {
            return Some(PairForm::Same);
        }
        let gap = value_at.checked_sub(name_at)?.checked_sub(name_len)?;
        Some(PairForm::Named { name_len, gap })
    }

    /// The pair kept for a field of this form written at `offsets`, if it is of this form.
    fn pair(self, offsets: [u16; 4]) -> Option<[u16; 2]> {
        let [value_at, value_len, name_at, _] = offsets;
        match (PairForm::of(offsets)?, self) {
            (PairForm::Same, PairForm::Same) => Some([value_at, value_len]),
            (named, _) if named == self => Some([name_at, value_len]),
            _ => None,
        }
    }

    /// The four offsets of a field of this form kept as `pair`.
    fn offsets(self, [first, value_len]: [u16; 2]) -> [u16; 4] {
        match self {
            PairForm::Same => [first, value_len, first, value_len],
            PairForm::Named { name_len, gap } => [
                first.wrapping_add(name_len).wrapping_add(gap),
                value_len,
                first,
                name_len,
            ],
        }
    }
}

impl Offsets {
    /// The offsets of field `index` of row `at`.
    #[inline]
    fn get(&self, at: usize, index: usize) -> Option<[u16; 4]> {
        match self {
            Offsets::Pairs { forms, pairs } => {
                Some(forms.get(index)?.offsets(*pairs.row(at)?.get(index)?))
            }
            Offsets::Full(full) => full.row(at)?.get(index).copied(),
        }
    }

    /// Appends the offsets of the fields `cells` (as many as the table's columns): as pairs
    /// while each is of its column's form, else every row's four offsets from then on.
    fn push(&mut self, cells: &[Cell]) {
        let four = |c: &Cell| [c.value_at, c.value_len, c.name_at, c.name_len];
        if let Offsets::Pairs { forms, pairs } = self {
            if pairs.len() == 0 {
                forms.clear();
                forms.extend(cells.iter().map_while(|c| PairForm::of(four(c))));
            }
            let fits = forms.len() == cells.len()
                && cells
                    .iter()
                    .zip(forms.iter())
                    .all(|(c, form)| form.pair(four(c)).is_some());
            if fits {
                let row = cells.iter().zip(forms.iter());
                pairs.push(row.map(|(c, form)| form.pair(four(c)).unwrap_or_default()));
                return;
            }
            let mut full = Blocks::new(pairs.width);
            for at in 0..pairs.len() {
                let row = pairs.row(at).unwrap_or_default();
                full.push(
                    row.iter()
                        .zip(forms.iter())
                        .map(|(p, form)| form.offsets(*p)),
                );
            }
            *self = Offsets::Full(full);
        }
        if let Offsets::Full(full) = self {
            full.push(cells.iter().map(four));
        }
    }
}

/// The values of one field of every fact of a [`FactTable`].
#[derive(Clone, Debug)]
struct Column {
    values: ColumnValues,
}

#[derive(Clone, Debug)]
enum ColumnValues {
    /// Every value so far a symbol or a date: its place in the [`Pool`].
    Pooled(Blocks<u32>),
    /// The values themselves (once one value is neither a symbol nor a date).
    Whole(Blocks<Value>),
}

impl Column {
    fn new() -> Column {
        Column {
            values: ColumnValues::Pooled(Blocks::new(1)),
        }
    }

    /// The value of row `at`, whose pooled values are in `pool`.
    #[inline]
    fn value<'f>(&'f self, at: usize, pool: &'f [Value]) -> Option<&'f Value> {
        match &self.values {
            ColumnValues::Pooled(places) => pool.get(*places.get(at)? as usize),
            ColumnValues::Whole(values) => values.get(at),
        }
    }

    /// The field of row `at`, its spans at `offsets` from `base` in `file`.
    fn field<'f>(
        &'f self,
        at: usize,
        pool: &'f [Value],
        offsets: [u16; 4],
        file: Option<crate::diag::FileId>,
        base: u32,
    ) -> Option<FieldRef<'f>> {
        let value = self.value(at, pool)?;
        Some(FieldRef::at_offsets(value, offsets, file, base))
    }

    /// Appends `cell`: its value to the pool when the column keeps its values there and the
    /// pool takes it; else the column keeps its values whole from now on.
    fn push(&mut self, cell: Cell, pool: &mut Pool) {
        if let ColumnValues::Pooled(places) = &mut self.values {
            if let Some(place) = pool.place(&cell.value) {
                places.push_one(place);
                return;
            }
            let mut whole = Blocks::new(1);
            for &place in places.iter() {
                // Every place is in the pool: it was given by it.
                let value = pool.values.get(place as usize).cloned();
                whole.push_one(value.unwrap_or(Value::Bool(false)));
            }
            self.values = ColumnValues::Whole(whole);
        }
        if let ColumnValues::Whole(values) = &mut self.values {
            values.push_one(cell.value);
        }
    }
}

/// What a fact of a [`FactTable`] keeps besides its fields.
#[derive(Clone, Debug)]
struct TableRow {
    /// Where the id was written; its file is the fields' file.
    span: Span,
    /// The offset the fields' offsets are from.
    base: u32,
    /// Where the title starts in the table's titles ([`NO_TITLE`] for none), and its length.
    title_at: u32,
    title_len: u32,
}

/// In [`TableRow::title_at`]: the fact has no title.
const NO_TITLE: u32 = u32::MAX;

impl FactTable {
    /// The title of fact `at`, if it has one.
    fn title(&self, at: usize) -> Option<&str> {
        let row = self.rows.get(at).filter(|r| r.title_at != NO_TITLE)?;
        let start = row.title_at as usize;
        self.titles.get(start..start + row.title_len as usize)
    }

    /// The file and the base of fact `at`'s offsets.
    fn place(&self, at: usize) -> (Option<crate::diag::FileId>, u32) {
        self.rows
            .get(at)
            .map_or((None, 0), |r| (r.span.file, r.base))
    }

    /// The fields of fact `at`, whose pooled values are in `pool`.
    fn fields<'f>(&'f self, at: usize, pool: &'f [Value]) -> FieldsHeld<'f> {
        let (file, base) = self.place(at);
        FieldsHeld::Cells {
            table: self,
            at,
            pool,
            file,
            base,
        }
    }

    /// The fields of fact `at` as a map of their own: the same names (and layout), values,
    /// offsets, file and base.
    fn field_map(&self, at: usize, pool: &[Value]) -> FieldMap {
        let (file, base) = self.place(at);
        let cells = self.columns.iter().enumerate().map(|(i, column)| {
            let [value_at, value_len, name_at, name_len] =
                self.offsets.get(at, i).unwrap_or_default();
            Cell {
                value: column
                    .value(at, pool)
                    .cloned()
                    .unwrap_or(Value::Bool(false)),
                value_at,
                value_len,
                name_at,
                name_len,
            }
        });
        FieldMap {
            names: Names(Some(self.names.clone())),
            cells: cells.collect(),
            file,
            base,
            wide: None,
        }
    }
}

/// The loaded facts: most in a table of their kind and layout, the others whole.
#[derive(Clone, Debug, Default)]
struct Loaded {
    /// For each fact, in load order: its table and row there, or [`OWN`] and its place in
    /// `own`.
    slots: Vec<(u32, u32)>,
    tables: Vec<FactTable>,
    /// The table of each (layout, kind).
    table_of: FastMap<(u32, FactKind), u32>,
    /// Facts no table holds: with more fields than a layout places, or spans that do not fit
    /// as offsets.
    own: Vec<Fact>,
    /// The symbols and dates of the tables' cells.
    pool: Pool,
}

/// The symbols and dates of loaded facts' cells, each kept once (a deal's kind, status and
/// parties) and read by every fact that holds it.
#[derive(Clone, Debug, Default)]
struct Pool {
    values: Vec<Value>,
    /// The place in `values` of each symbol there, by the symbol's number ([`NOT_POOLED`]
    /// for a symbol not there).
    symbols: Vec<u32>,
    /// The place in `values` of each date there, by [`date_number`] from `first_date`
    /// ([`NOT_POOLED`] for a date not there): the dates from ten years before the first one
    /// pooled to two centuries after, without hashing (grown to the latest date seen).
    dates: Vec<u32>,
    first_date: i32,
    /// The place in `values` of each other date there.
    far_dates: FastMap<crate::value::Date, u32>,
}

/// How many dates [`Pool::dates`] places at most: about two centuries.
const POOL_DATES: usize = 200 * 372;

/// How far before the first date pooled [`Pool::dates`] starts: ten years.
const POOL_DATES_BEFORE: i32 = 10 * 372;

/// A number for each date, in order (not a count of days: each month takes 31).
fn date_number(d: crate::value::Date) -> i32 {
    (i32::from(d.year()) * 12 + i32::from(d.month())) * 31 + i32::from(d.day())
}

/// The most values the pool holds.
const POOL_MAX: u32 = u32::MAX - 1;

/// In [`Pool::symbols`]: a symbol not in the pool.
const NOT_POOLED: u32 = u32::MAX;

impl Pool {
    /// The place of `value`, added if it is not there yet: for a symbol (with its number in
    /// the fact base) or a date; `None` for any other value, kept by its table.
    fn place(&mut self, value: &Value) -> Option<u32> {
        let next = u32::try_from(self.values.len())
            .ok()
            .filter(|&n| n < POOL_MAX)?;
        let place = match value {
            Value::Symbol(_, id) => {
                let n = id.get()? as usize;
                if self.symbols.len() <= n {
                    self.symbols.resize(n + 1, NOT_POOLED);
                }
                let slot = self.symbols.get_mut(n)?;
                if *slot == NOT_POOLED {
                    *slot = next;
                }
                *slot
            }
            Value::Date(d) => {
                if self.dates.is_empty() {
                    // Ten years before the first date, grown as later dates come.
                    self.first_date = date_number(*d) - POOL_DATES_BEFORE;
                }
                let i = usize::try_from(date_number(*d) - self.first_date)
                    .ok()
                    .filter(|&i| i < POOL_DATES);
                if let Some(i) = i
                    && self.dates.len() <= i
                {
                    self.dates.resize(i + 1, NOT_POOLED);
                }
                let slot = i.and_then(|i| self.dates.get_mut(i));
                match slot {
                    Some(slot) => {
                        if *slot == NOT_POOLED {
                            *slot = next;
                        }
                        *slot
                    }
                    None => *self.far_dates.entry(*d).or_insert(next),
                }
            }
            _ => return None,
        };
        if place == next {
            self.values.push(value.clone());
        }
        Some(place)
    }
}

/// In [`Loaded::slots`]: a fact kept whole.
const OWN: u32 = u32::MAX;

impl Loaded {
    fn len(&self) -> usize {
        self.slots.len()
    }

    /// Stores `fact`, whose names are shared already ([`FactBase::intern`]); the buffer its
    /// cells were in, emptied, goes to `emptied` when given.
    fn push(&mut self, fact: Fact, emptied: Option<&mut Vec<Vec<Cell>>>) {
        let mut fact = fact;
        let layout = fact.fields.layout();
        let fits = layout != BY_NAME
            && fact.fields.wide.is_none()
            && (fact.fields.is_empty() || fact.fields.file == fact.span.file);
        let names = fact.fields.names.0.clone();
        let (Some(names), true) = (names, fits) else {
            return self.push_own(fact);
        };
        let table = match self.table_of.get(&(layout, fact.kind.clone())) {
            Some(&t) => t,
            None => {
                let Ok(t) = u32::try_from(self.tables.len()) else {
                    return self.push_own(fact);
                };
                self.tables.push(FactTable {
                    kind: fact.kind.clone(),
                    columns: (0..names.as_slice().len()).map(|_| Column::new()).collect(),
                    offsets: Offsets::Pairs {
                        forms: Vec::new(),
                        pairs: Blocks::new(names.as_slice().len()),
                    },
                    names,
                    rows: Vec::new(),
                    titles: String::new(),
                });
                self.table_of.insert((layout, fact.kind.clone()), t);
                t
            }
        };
        let pool = &mut self.pool;
        let Some(t) = self.tables.get_mut(table as usize) else {
            return self.push_own(fact);
        };
        let Ok(at) = u32::try_from(t.rows.len()) else {
            return self.push_own(fact);
        };
        let title = match &fact.title {
            None => Some((NO_TITLE, 0)),
            Some(title) => u32::try_from(t.titles.len())
                .ok()
                .zip(u32::try_from(title.len()).ok())
                .filter(|&(start, len)| start.checked_add(len).is_some_and(|e| e < NO_TITLE)),
        };
        let (true, Some((title_at, title_len))) =
            (fact.fields.cells.len() == t.columns.len(), title)
        else {
            return self.push_own(fact);
        };
        t.titles.push_str(fact.title.as_deref().unwrap_or_default());
        t.rows.push(TableRow {
            span: fact.span,
            base: fact.fields.base,
            title_at,
            title_len,
        });
        t.offsets.push(&fact.fields.cells);
        for (column, cell) in t.columns.iter_mut().zip(fact.fields.cells.drain(..)) {
            column.push(cell, pool);
        }
        if let Some(emptied) = emptied {
            emptied.push(std::mem::take(&mut fact.fields.cells));
        }
        self.slots.push((table, at));
    }

    fn push_own(&mut self, fact: Fact) {
        let at = u32::try_from(self.own.len()).unwrap_or(OWN);
        self.own.push(fact);
        self.slots.push((OWN, at));
    }
}

/// Derived rows of one shape, stored together: the rows with every column of their relation,
/// made by one derive, share the list of column names, the kind, and one span (the derive's),
/// and keep only their values, by column (a column of symbols and dates as their places in the
/// fact base's [`Pool`] of rows, 4 bytes a value). A row costs its values and its id, not a
/// [`Fact`] and a map of its own.
#[derive(Clone, Debug)]
struct RowTable {
    kind: FactKind,
    names: Arc<NameList>,
    /// Where every row (each value, each name) was written: the derive.
    span: Span,
    /// One column per name.
    columns: Vec<Column>,
    /// How many rows there are.
    len: usize,
}

/// A derived row (or a fact added after the rows), in 12 bytes: where it is stored (row `at`
/// of row table `table`, or, when `table` is [`OWN_ROW`], whole at `at` in the fact base's own
/// rows) and where its id is kept ([`MADE_ID`] for an id made from the row's relation and
/// values when read, [`write_row_id`]; a row kept whole has its own).
#[derive(Clone, Copy, Debug)]
struct StoredRow {
    table: u32,
    at: u32,
    id: u32,
}

/// In [`StoredRow::table`]: the row is kept whole.
const OWN_ROW: u32 = u32::MAX;

/// In [`StoredRow::id`]: the id is made when read (or, for a row kept whole, is its own).
const MADE_ID: u32 = u32::MAX;

/// Writes the id of a row of relation `relation` with the given column values into `id`:
/// `flow(Nvidia, OpenAI, nvidia_openai_loi, 100B USD, 2025-09-22)`, a name or a text as
/// itself, any other value as displayed, a missing one as `missing`. A derive names each row
/// so; a row stored in a table with its id made so keeps no id of its own.
pub(crate) fn write_row_id<'v>(
    id: &mut String,
    relation: &str,
    values: impl IntoIterator<Item = Option<&'v Value>>,
) {
    use std::fmt::Write as _;
    id.push_str(relation);
    id.push('(');
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            id.push_str(", ");
        }
        match v {
            // A name or a text displays as itself.
            Some(Value::Symbol(s, _) | Value::Text(s)) => id.push_str(s),
            Some(v) => {
                let _ = write!(id, "{v}");
            }
            None => id.push_str("missing"),
        }
    }
    id.push(')');
}

/// How a derived row or a cycle came about: the derive rule (or cycle pattern) and the facts it
/// was derived from. Given to [`FactBase::add_row`], read back as a [`ProvenanceRef`].
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// What derived it (`derive flow`, `cycle of flow`): one text shared by all its rows.
    pub by: Name,
    /// Where that is declared.
    pub span: Span,
    /// The facts it was derived from, in binding (or hop) order.
    pub sources: Vec<FactIndex>,
}

/// The [`Provenance`] of a row, as a fact base keeps it ([`FactBase::provenance`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProvenanceRef<'f> {
    /// What derived it (`derive flow`, `cycle of flow`).
    pub by: &'f Name,
    /// Where that is declared.
    pub span: Span,
    /// The facts it was derived from, in binding (or hop) order.
    pub sources: &'f [FactIndex],
}

/// The provenance of every row of a fact base, flat: a row costs its origin's number, where
/// its sources start, and 4 bytes a source, not a [`Provenance`] and a list of its own.
#[derive(Clone, Debug, Default)]
struct Provenances {
    /// Each distinct (what derived it, where that is declared), by number.
    origins: Vec<(Name, Span)>,
    /// For each row, in order: its origin's number ([`NO_ORIGIN`] for a fact added after the
    /// rows, not derived) and where its sources start in `sources`.
    rows: Vec<(u32, usize)>,
    /// The sources of every row, in row order.
    sources: Vec<FactIndex>,
}

/// The origin of a fact added after the rows, not derived.
const NO_ORIGIN: u32 = u32::MAX;

impl Provenances {
    /// Appends the provenance of the next row (`None` for a fact not derived).
    fn push(&mut self, provenance: Option<Provenance>) {
        let start = self.sources.len();
        let Some(p) = provenance else {
            self.rows.push((NO_ORIGIN, start));
            return;
        };
        let same = |(by, span): &(Name, Span)| *by == p.by && span.same_place(&p.span);
        // Nearly always the origin of the row before.
        let origin = match self.rows.last() {
            Some(&(o, _)) if self.origins.get(o as usize).is_some_and(same) => Some(o as usize),
            _ => self.origins.iter().position(same),
        };
        let origin = origin.unwrap_or_else(|| {
            self.origins.push((p.by.clone(), p.span));
            self.origins.len() - 1
        });
        self.sources.extend_from_slice(&p.sources);
        self.rows
            .push((u32::try_from(origin).unwrap_or(NO_ORIGIN), start));
    }

    /// The provenance of row `row` (counted from the first row).
    fn get(&self, row: usize) -> Option<ProvenanceRef<'_>> {
        let &(origin, start) = self.rows.get(row)?;
        let (by, span) = self.origins.get(origin as usize)?;
        let end = self.rows.get(row + 1).map_or(self.sources.len(), |r| r.1);
        Some(ProvenanceRef {
            by,
            span: *span,
            sources: self.sources.get(start..end)?,
        })
    }
}

/// All facts of one evaluation, with an index by id, an index by kind (deal, entity or relation)
/// and by the value of the `kind` (deals) or `type` (entities) field, and the set of field names
/// per kind.
///
/// Field names and symbol values are stored once: a fact added shares the name's text with
/// every other fact that uses it.
#[derive(Clone, Debug, Default)]
pub struct FactBase {
    /// The facts added with [`FactBase::add`], shared between copies of the fact base: the copy
    /// made to derive rows (and cycles) does not copy them.
    facts: Arc<Loaded>,
    /// Derived rows (and any fact added after them), after `facts` in index order.
    rows: Vec<StoredRow>,
    /// The rows kept whole ([`OWN_ROW`]): with a title or with fields written apart from
    /// the row, and facts added after the rows.
    own_rows: Vec<Fact>,
    /// The ids of rows whose id is not made from their relation and values.
    row_ids: Vec<Name>,
    /// The tables most derived rows are stored in ([`StoredRow::table`]).
    tables: Vec<RowTable>,
    /// The symbols and dates of the columns of `tables` that keep them once.
    row_pool: Pool,
    /// The facts of each kind, in load order.
    by_kind: FastMap<FactKind, Vec<FactIndex>>,
    /// The position in `by_kind` of the kind of the last fact added.
    last_kind: Option<usize>,
    /// The position in `unnamed_kind` of the kind of the last fact added there.
    last_unnamed: Option<usize>,
    /// The facts of each kind by the name in their `kind` (or `type`) field, in load order.
    by_kind_name: FastMap<(FactKind, Name), Vec<FactIndex>>,
    /// The facts of each kind whose `kind` (or `type`) field is missing or not a name.
    unnamed_kind: FastMap<FactKind, Vec<FactIndex>>,
    field_names: IndexMap<FactKind, IndexSet<Name, crate::hash::FastHasher>>,
    /// Field layouts: how a fact's field map is laid out, by field id.
    layouts: Layouts,
    /// Every symbol value and id, numbered in first-seen order; shared with the copy made to
    /// derive rows (which learn no symbols), so that copy neither copies nor frees it.
    symbols: Arc<Symbols>,
    /// For each symbol (by its number in `symbols`), the loaded fact it is the id of
    /// ([`NO_FACT`] for none; shorter than `symbols` when the last ones are no fact's id);
    /// shared as `symbols` is.
    fact_of_symbol: Arc<Vec<u32>>,
    /// For each fact (by index), the number of its id in `symbols` (`u32::MAX` for derived
    /// rows, whose ids are not symbols).
    id_symbol: Vec<u32>,
    /// Each currency an amount (or a price) of a fact is in, with where it was first written.
    currencies: IndexMap<Currency, Span>,
    fx: Vec<FxDecl>,
    /// How each of `rows` came about, in the same order (none for a fact added after the rows,
    /// not derived).
    provenance: Provenances,
    /// Columns of the symbol numbers of a field over the loaded facts, made on first use
    /// ([`FactBase::symbol_column`]).
    symbol_columns: SymbolColumns,
}

/// The columns of [`FactBase::symbol_column`] made so far, by field name. A copy of the fact
/// base starts without any (its facts may differ from then on).
#[derive(Default)]
struct SymbolColumns(std::sync::Mutex<FastMap<Name, Arc<[u32]>>>);

impl Clone for SymbolColumns {
    fn clone(&self) -> Self {
        SymbolColumns::default()
    }
}

impl std::fmt::Debug for SymbolColumns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymbolColumns").finish_non_exhaustive()
    }
}

/// In a column of [`FactBase::symbol_column`]: the fact's field is not a name this fact base
/// numbered (missing, another kind of value).
pub(crate) const NOT_A_NAME: u32 = u32::MAX;

/// The fewest loaded facts for which a column is made on several threads.
const PARALLEL_COLUMN: usize = 1 << 16;

/// The lists of field names one thread has read, for [`FieldMap::share_shape`].
#[derive(Debug, Default)]
pub(crate) struct Shapes {
    known: Vec<Arc<NameList>>,
    /// Buffers of cells taken from a [`SpareCells`], to read the next facts into.
    cells: Vec<Vec<Cell>>,
}

impl Shapes {
    /// An empty buffer for `n` cells: one handed back through `spare` when there is one, so
    /// that a buffer is freed by no other thread than the one that made it while facts are
    /// read (which makes threads wait on each other's memory).
    pub(crate) fn cells_for(&mut self, n: usize, spare: &SpareCells) -> Vec<Cell> {
        if self.cells.is_empty() {
            let mut pool = spare
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let keep = pool.len().saturating_sub(SPARE_BATCH);
            self.cells = pool.split_off(keep);
        }
        let mut cells = self.cells.pop().unwrap_or_default();
        cells.clear();
        cells.reserve_exact(n);
        cells
    }
}

/// Buffers of cells emptied into a fact table while a file is read on several threads, handed
/// back to the threads that read facts ([`Shapes::cells_for`]) instead of freed. A buffer costs
/// its capacity until the file is read.
#[derive(Debug, Default)]
pub(crate) struct SpareCells(std::sync::Mutex<Vec<Vec<Cell>>>);

impl SpareCells {
    /// Hands back the buffers of `emptied` once there are a batch of them.
    pub(crate) fn give(&self, emptied: &mut Vec<Vec<Cell>>) {
        if emptied.len() >= SPARE_BATCH {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .append(emptied);
        }
    }
}

/// How many buffers of cells move between threads at a time.
const SPARE_BATCH: usize = 256;

/// Most lists of field names a thread keeps in [`Shapes`]; the facts of any other shape keep a
/// list of their own.
const MAX_THREAD_SHAPES: usize = 64;

/// The lists of field names shared by [`FieldMap::share_shape`] on other threads, by address,
/// with the same names as the calling thread's interner has them.
#[derive(Default)]
pub(crate) struct SharedLists {
    by_address: FastMap<usize, Reinterned>,
}

/// A list of field names read on another thread (kept, so that its address is not reused),
/// and the same names as the calling thread's interner has them.
struct Reinterned {
    read: Arc<NameList>,
    interned: Arc<NameList>,
}

/// Records the currencies of `v` (amounts, and prices per unit) not seen before, at `span`.
fn collect_currencies(v: &Value, span: Span, out: &mut IndexMap<Currency, Span>) {
    match v {
        // Nearly always a currency seen already, among a handful: looked for without hashing.
        Value::Money(m) if out.len() <= 8 && out.keys().any(|&c| c == m.currency) => {}
        Value::Money(m) => {
            out.entry(m.currency).or_insert(span);
        }
        Value::Quantity(crate::value::Quantity {
            unit: crate::value::Unit::MoneyPer(c, _),
            ..
        }) => {
            out.entry(*c).or_insert(span);
        }
        Value::List(items) => items.iter().for_each(|i| collect_currencies(i, span, out)),
        Value::Record(fields) => fields
            .values()
            .for_each(|i| collect_currencies(i, span, out)),
        _ => {}
    }
}

/// How the symbol values of a fact get their numbers ([`SymbolId`]) when it is added.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Numbering {
    /// A loaded fact: each symbol is looked up, and learned when new.
    Learn,
    /// A row built anywhere: each symbol is looked up (a number it holds is checked first),
    /// none is learned.
    Look,
    /// A row the engine derived from this fact base's own facts: a number a symbol holds was
    /// given by this fact base (or a copy sharing its symbol table) and is kept without a check;
    /// a symbol without one is looked up. The derive keeps numbers only for columns read
    /// straight from a field of a bound fact (whose top-level symbols this fact base numbered
    /// when it added the fact) and clears any other, such as a symbol read inside a record.
    Trust,
}

/// Shares the text of a symbol value with the facts already added (and learns it into
/// `symbols`, with [`Numbering::Learn`]), and gives it the number of its text there
/// ([`SymbolId`]). A symbol that already holds its number here (a value copied from a fact into
/// a derived row) is not looked up again.
fn intern_symbol(symbols: &mut Arc<Symbols>, value: &mut Value, numbering: Numbering) {
    if let Value::Symbol(s, sid) = value {
        if sid
            .get()
            .is_some_and(|i| numbering == Numbering::Trust || numbers(symbols, i, s))
        {
            return;
        }
        let learn = numbering == Numbering::Learn;
        let found = match symbols.get_full(s) {
            Some((i, known)) => {
                *s = known.clone();
                Some(i)
            }
            None if learn => Some(Arc::make_mut(symbols).insert_full(s.clone()).0),
            None => None,
        };
        *sid = found
            .and_then(|i| u32::try_from(i).ok())
            .map_or(SymbolId::NONE, SymbolId::new);
    }
}

/// Every symbol value and id of a fact base, numbered from 0 in first-seen order: their texts
/// in a list, and their numbers in a table hashed by text, 4 bytes a place (an `IndexSet` keeps
/// 8 more a symbol, its hash and a wider place; here a text's hash is made again when the
/// table grows). A 4-billionth symbol and later ones are numbered but not found again.
#[derive(Clone, Default)]
pub(crate) struct Symbols {
    names: Vec<Name>,
    table: hashbrown::HashTable<u32>,
    state: crate::hash::FastHasher,
}

impl std::fmt::Debug for Symbols {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbols")
            .field("len", &self.names.len())
            .finish_non_exhaustive()
    }
}

impl Symbols {
    /// The number of `name` and its shared text, if it is there.
    fn get_full(&self, name: &str) -> Option<(usize, &Name)> {
        self.find(self.state.hash_one(name), name)
    }

    /// [`Symbols::get_full`] of `name`, whose hash is `hash`.
    fn find(&self, hash: u64, name: &str) -> Option<(usize, &Name)> {
        let &at = self.table.find(hash, |&at| {
            self.names
                .get(at as usize)
                .is_some_and(|known| **known == *name)
        })?;
        Some((at as usize, self.names.get(at as usize)?))
    }

    /// The number of `name`, if it is there.
    fn get_index_of(&self, name: &str) -> Option<usize> {
        self.get_full(name).map(|(at, _)| at)
    }

    /// Whether `name` is there.
    fn contains(&self, name: &str) -> bool {
        self.get_full(name).is_some()
    }

    /// The text numbered `at`.
    fn get_index(&self, at: usize) -> Option<&Name> {
        self.names.get(at)
    }

    /// The number of `name`, added if it is not there yet, and whether it was added.
    fn insert_full(&mut self, name: Name) -> (usize, bool) {
        let hash = self.state.hash_one(&*name);
        if let Some((at, _)) = self.find(hash, &name) {
            return (at, false);
        }
        let at = self.names.len();
        if let Ok(number) = u32::try_from(at) {
            let (names, state) = (&self.names, &self.state);
            self.table.insert_unique(hash, number, |&i| {
                state.hash_one(names.get(i as usize).map_or("", |n| &**n))
            });
        }
        self.names.push(name);
        (at, true)
    }
}

/// Whether `i` is the number of `name` in `symbols`: the very same shared text is there.
fn numbers(symbols: &Symbols, i: u32, name: &Name) -> bool {
    symbols
        .get_index(i as usize)
        .is_some_and(|known| Arc::ptr_eq(known, name))
}

fn collect_symbols(v: &Value, out: &mut Symbols) {
    match v {
        Value::Symbol(s, _) => {
            out.insert_full(s.clone());
        }
        Value::List(items) => items.iter().for_each(|i| collect_symbols(i, out)),
        Value::Record(fields) => fields.values().for_each(|i| collect_symbols(i, out)),
        _ => {}
    }
}

/// Appends `index` to the list of `kind` in `lists`. Facts of one kind come in runs (a
/// relation's rows above all): the list of the last kind used (at `last`) is found again
/// without hashing the kind.
fn push_by_kind(
    lists: &mut FastMap<FactKind, Vec<FactIndex>>,
    last: &mut Option<usize>,
    kind: &FactKind,
    index: FactIndex,
) {
    let at = match *last {
        Some(at) if lists.get_index(at).is_some_and(|(k, _)| k == kind) => at,
        _ => {
            let entry = lists.entry(kind.clone());
            let at = entry.index();
            entry.or_default();
            at
        }
    };
    *last = Some(at);
    if let Some((_, list)) = lists.get_index_mut(at) {
        list.push(index);
    }
}

/// No fact: see [`FactBase::fact_of_symbol`].
const NO_FACT: u32 = u32::MAX;

/// A fact's position in its [`FactBase`].
pub type FactIndex = usize;

/// A field name interned in a [`FactBase`]: an index into its table of field names.
pub(crate) type FieldId = u32;

/// No position: the layout has no such field.
const ABSENT: u16 = u16::MAX;

/// The field layouts of a fact base.
///
/// Facts of one kind are nearly always written with the same fields in the same order, so the
/// fact base keeps each distinct order once (a *layout*: for every field id, the position of the
/// field in the fact's map, or none) and each fact keeps only its layout's number. Reading a
/// field by id is then two array reads and no hash lookup by name.
#[derive(Clone, Debug, Default)]
struct Layouts {
    /// Every field name used by any fact, by field id.
    field_ids: IndexSet<Name, crate::hash::FastHasher>,
    /// The distinct field orders (field ids in map order), by layout number.
    orders: IndexSet<Box<[FieldId]>, crate::hash::FastHasher>,
    /// For each layout, the map position of each field id (`ABSENT` when missing); shorter than
    /// `field_ids` when later ids are missing.
    positions: Vec<Box<[u16]>>,
    /// For each layout, its field names in order: the names every fact of that layout shares.
    names: Vec<Arc<NameList>>,
    /// The field order of the fact being added (reused from fact to fact).
    order: Vec<FieldId>,
    /// The field names of the last derived row added, as it brought them (the rows of one
    /// relation bring their columns' names, the very same `Arc`s, in the same order),
    /// with the shared names they were replaced by and the fact's layout.
    last: Option<LastNames>,
    /// The same for loaded facts, by the addresses of the names they brought, in order: facts
    /// read from a deal file bring names stored once ([`crate::value::Interner`]), so the facts
    /// of one shape bring the very same `Arc`s. Each entry holds those `Arc`s, so an address
    /// cannot be reused by another name while it is a key. At most [`MAX_SHAPES`] entries.
    shapes: FastMap<Box<[usize]>, LastNames>,
    /// The key of [`Layouts::shapes`] of the fact being added (reused from fact to fact).
    shape: Vec<usize>,
}

/// Most fact shapes remembered in [`Layouts::shapes`]; beyond them, facts are placed by looking
/// up each name (facts built in code with names of their own would otherwise fill it).
const MAX_SHAPES: usize = 1024;

/// See [`Layouts::last`].
#[derive(Clone, Debug)]
struct LastNames {
    kind: FactKind,
    brought: Vec<Name>,
    shared: Arc<NameList>,
}

impl Layouts {
    /// Appends field `name` to the order of the fact being added, giving the name an id on
    /// first sight.
    fn push_field(&mut self, name: &Name) {
        let id = match self.field_ids.get_index_of(&**name) {
            Some(id) => id,
            None => self.field_ids.insert_full(name.clone()).0,
        };
        self.order
            .push(FieldId::try_from(id).unwrap_or(FieldId::MAX));
    }

    /// The layout number of the order of the fact being added, made on first sight. `None`
    /// when the fact has more fields than a layout can place (it is then read by name).
    fn layout(&mut self) -> Option<u32> {
        let order = self.order.as_slice();
        if order.len() >= usize::from(ABSENT) {
            return None;
        }
        if let Some(i) = self.orders.get_index_of(order) {
            return u32::try_from(i).ok();
        }
        let width = order.iter().max().map_or(0, |&m| m as usize + 1);
        let mut positions = vec![ABSENT; width];
        for (pos, &id) in order.iter().enumerate() {
            if let (Some(p), Ok(pos)) = (positions.get_mut(id as usize), u16::try_from(pos)) {
                *p = pos;
            }
        }
        let names = order
            .iter()
            .filter_map(|&id| self.field_ids.get_index(id as usize).cloned())
            .collect();
        let (i, _) = self.orders.insert_full(order.into());
        let layout = u32::try_from(i).ok()?;
        self.positions.push(positions.into_boxed_slice());
        self.names.push(Arc::new(NameList { names, layout }));
        Some(layout)
    }

    /// The field names of layout `layout`, in order, stored once for all its facts.
    fn names(&self, layout: u32) -> Option<&Arc<NameList>> {
        self.names.get(layout as usize)
    }

    /// The map position of field `id` in layout `layout`.
    fn position(&self, layout: u32, id: FieldId) -> Option<usize> {
        let pos = *self.positions.get(layout as usize)?.get(id as usize)?;
        (pos != ABSENT).then_some(usize::from(pos))
    }
}

/// The layout number of a fact whose fields are read by name (too many for a layout).
const BY_NAME: u32 = u32::MAX;

impl FactBase {
    /// Adds a fact. A second fact with an id already taken is refused with a diagnostic that
    /// names both places.
    ///
    /// Every symbol at the top of a field of the fact is given its number in this fact base
    /// ([`SymbolId`]; the symbol is learned if new), and shares its text with the same symbol
    /// elsewhere; the engine relies on it to read join keys without looking texts up.
    pub fn add(&mut self, fact: Fact) -> Result<FactIndex, Box<Diagnostic>> {
        self.add_emptying(fact, None)
    }

    /// [`FactBase::add`], putting the emptied buffer of the fact's cells in `emptied` (when
    /// given) once they are in a table.
    pub(crate) fn add_emptying(
        &mut self,
        fact: Fact,
        emptied: Option<&mut Vec<Vec<Cell>>>,
    ) -> Result<FactIndex, Box<Diagnostic>> {
        let mut fact = fact;
        // The id is a symbol: one lookup finds (or makes) its number and tells whether a fact
        // already has it.
        let (symbol, new) = Arc::make_mut(&mut self.symbols).insert_full(fact.id.clone());
        if !new {
            if let Some(first) = self.fact_at_symbol(symbol) {
                let first_span = self.get(first).map(|f| f.span()).unwrap_or_default();
                return Err(Box::new(
                    Diagnostic::error(
                        Code::DuplicateId,
                        format!("duplicate id `{}`", fact.id),
                        fact.span,
                        "declared again here",
                    )
                    .with_label(first_span, "first declared here")
                    .with_help("ids of entities and deals must be unique across all loaded files"),
                ));
            }
            // Named before it was declared: share the text.
            if let Some(known) = self.symbols.get_index(symbol) {
                fact.id = known.clone();
            }
        }
        self.intern(&mut fact, Numbering::Learn);
        for field in fact.fields.values() {
            // A symbol at the top of a field was learned by `intern`: only lists and records
            // are left to walk.
            if matches!(field.value, Value::List(_) | Value::Record(_)) {
                collect_symbols(field.value, Arc::make_mut(&mut self.symbols));
            }
            collect_currencies(field.value, field.span, &mut self.currencies);
        }
        let index = self.len();
        let fact_of_symbol = Arc::make_mut(&mut self.fact_of_symbol);
        if fact_of_symbol.len() <= symbol {
            fact_of_symbol.resize(symbol + 1, NO_FACT);
        }
        if let Some(slot) = fact_of_symbol.get_mut(symbol) {
            *slot = u32::try_from(index).unwrap_or(NO_FACT);
        }
        self.id_symbol
            .push(u32::try_from(symbol).unwrap_or(u32::MAX));
        self.index_kind(&fact, index);
        if self.rows.is_empty() {
            Arc::make_mut(&mut self.facts).push(fact, emptied);
        } else {
            let row = self.own_row(fact);
            self.rows.push(row);
            self.provenance.push(None);
        }
        Ok(index)
    }

    /// The loaded fact whose id is symbol number `symbol`.
    fn fact_at_symbol(&self, symbol: usize) -> Option<FactIndex> {
        self.fact_of_symbol
            .get(symbol)
            .filter(|&&f| f != NO_FACT)
            .map(|&f| f as FactIndex)
    }

    /// Shares the text of the fact's field names (and of its symbol values) with the facts
    /// already added, and records the field names of its kind. Symbols new to the fact base are
    /// learned only from loaded facts ([`Numbering::Learn`]), never from derived rows.
    fn intern(&mut self, fact: &mut Fact, numbering: Numbering) {
        let learn = numbering == Numbering::Learn;
        // The same names as the last row's, in the same `Arc`s: share them without a lookup.
        // (Loaded facts bring names of their own, so only rows are remembered.)
        let same = self.layouts.last.as_ref().filter(|last| {
            !learn
                && last.kind == fact.kind
                && last.brought.len() == fact.fields.len()
                && last
                    .brought
                    .iter()
                    .zip(fact.fields.keys())
                    .all(|(a, b)| Arc::ptr_eq(a, b))
        });
        if let Some(last) = same {
            fact.fields.share_names(&last.shared);
            for field in fact.fields.values_mut() {
                intern_symbol(&mut self.symbols, field, numbering);
            }
            return;
        }
        if learn {
            let shape = &mut self.layouts.shape;
            shape.clear();
            shape.extend(
                fact.fields
                    .keys()
                    .map(|k| Arc::as_ptr(k).cast::<u8>() as usize),
            );
            let hit = self
                .layouts
                .shapes
                .get(shape.as_slice())
                .filter(|h| h.kind == fact.kind);
            if let Some(hit) = hit {
                fact.fields.share_names(&hit.shared);
                for field in fact.fields.values_mut() {
                    intern_symbol(&mut self.symbols, field, numbering);
                }
                return;
            }
        }
        let brought: Vec<Name> = fact.fields.keys().cloned().collect();
        let names = self.field_names.entry(fact.kind.clone()).or_default();
        let layouts = &mut self.layouts;
        layouts.order.clear();
        // A key is replaced by an equal one (the same text, stored once): its hash and place do
        // not change.
        for name in fact.fields.keys() {
            let (i, _) = names.insert_full(name.clone());
            layouts.push_field(names.get_index(i).unwrap_or(name));
        }
        let layout = layouts.layout();
        let shared = match layout.and_then(|l| layouts.names(l)) {
            Some(shared) => shared.clone(),
            // Too many fields for a layout: the names of the kind, stored once.
            None => NameList::shared(
                fact.fields
                    .keys()
                    .map(|k| names.get(k).unwrap_or(k).clone()),
            ),
        };
        fact.fields.share_names(&shared);
        for field in fact.fields.values_mut() {
            intern_symbol(&mut self.symbols, field, numbering);
        }
        let last = LastNames {
            kind: fact.kind.clone(),
            brought,
            shared,
        };
        if !learn {
            self.layouts.last = Some(last);
        } else if self.layouts.shapes.len() < MAX_SHAPES {
            let shape = last
                .brought
                .iter()
                .map(|k| Arc::as_ptr(k).cast::<u8>() as usize)
                .collect();
            self.layouts.shapes.insert(shape, last);
        }
    }

    fn index_kind(&mut self, fact: &Fact, index: FactIndex) {
        push_by_kind(&mut self.by_kind, &mut self.last_kind, &fact.kind, index);
        let name = fact
            .fields
            .get(crate::syntax::discriminator(&fact.kind))
            .and_then(|f| match &f.value {
                Value::Symbol(s, _) => Some(s.clone()),
                other => other.as_name().map(Name::from),
            });
        match name {
            Some(n) => self
                .by_kind_name
                .entry((fact.kind.clone(), n))
                .or_default()
                .push(index),
            // The rows of a relation have no `kind` field.
            None => push_by_kind(
                &mut self.unnamed_kind,
                &mut self.last_unnamed,
                &fact.kind,
                index,
            ),
        }
    }

    /// The facts of `kind` (deals, entities or the rows of a relation), in load order.
    pub fn of_kind(&self, kind: &FactKind) -> &[FactIndex] {
        self.by_kind.get(kind).map_or(&[], Vec::as_slice)
    }

    /// The facts of `kind` whose `kind` field (`type` for entities) names one of `names`, and
    /// those whose field is missing or not a name (a condition on it is unknown or an error for
    /// them, which the caller must still see), in load order.
    pub fn of_kind_named(&self, kind: &FactKind, names: &[&str]) -> Vec<FactIndex> {
        let mut out: Vec<FactIndex> = self
            .unnamed_kind
            .get(kind)
            .map_or(&[][..], Vec::as_slice)
            .to_vec();
        for n in names {
            if let Some(v) = self.by_kind_name.get(&(kind.clone(), Name::from(*n))) {
                out.extend_from_slice(v);
            }
        }
        // Each list is in load order already: the stable sort finds those runs and merges
        // them, linear in their length, where an unstable sort would sort from scratch.
        out.sort();
        out.dedup();
        out
    }

    /// Whether fact `index` of `kind` has a name in its `kind` field (`type` for entities), so
    /// that it is listed by [`FactBase::of_kind_named`] under that name only.
    pub fn has_kind_name(&self, kind: &FactKind, index: FactIndex) -> bool {
        self.unnamed_of_kind(kind).binary_search(&index).is_err()
    }

    /// The facts of `kind` without a name in their `kind` field (`type` for entities), in
    /// order: those [`FactBase::has_kind_name`] is false for.
    pub(crate) fn unnamed_of_kind(&self, kind: &FactKind) -> &[FactIndex] {
        self.unnamed_kind.get(kind).map_or(&[][..], Vec::as_slice)
    }

    /// The fact at `index`.
    #[inline]
    pub fn get(&self, index: FactIndex) -> Option<FactView<'_>> {
        match self.facts.slots.get(index) {
            Some(&(table, at)) => self.loaded_view(index, table, at),
            None => index
                .checked_sub(self.facts.len())
                .and_then(|i| self.rows.get(i))
                .and_then(|&row| self.row_view(row)),
        }
    }

    /// Loaded fact `index`, at row `at` of table `table` (or kept whole).
    #[inline]
    fn loaded_view(&self, index: FactIndex, table: u32, at: u32) -> Option<FactView<'_>> {
        if table == OWN {
            return self
                .facts
                .own
                .get(at as usize)
                .map(|f| FactView(Held::Fact(f)));
        }
        Some(FactView(Held::Loaded {
            base: self,
            index: u32::try_from(index).ok()?,
            table: self.facts.tables.get(table as usize)?,
            at,
        }))
    }

    /// The id of loaded fact `index`: its symbol.
    fn loaded_id(&self, index: u32) -> &Name {
        static NONE: std::sync::LazyLock<Name> = std::sync::LazyLock::new(|| Name::from(""));
        self.id_symbol
            .get(index as usize)
            .and_then(|&s| self.symbols.get_index(s as usize))
            .unwrap_or(&NONE)
    }

    /// A row as stored, read in place.
    fn row_view(&self, row: StoredRow) -> Option<FactView<'_>> {
        let StoredRow { table, at, id } = row;
        if table == OWN_ROW {
            return self
                .own_rows
                .get(at as usize)
                .map(|f| FactView(Held::Fact(f)));
        }
        let table = self.tables.get(table as usize)?;
        if at as usize >= table.len {
            return None;
        }
        Some(FactView(Held::Row {
            id: self.row_ids.get(id as usize),
            table,
            at,
            pool: &self.row_pool.values,
        }))
    }

    /// Keeps `fact` whole among the own rows.
    fn own_row(&mut self, fact: Fact) -> StoredRow {
        let at = u32::try_from(self.own_rows.len()).unwrap_or(OWN_ROW);
        self.own_rows.push(fact);
        StoredRow {
            table: OWN_ROW,
            at,
            id: MADE_ID,
        }
    }

    /// The id of field name `name`, if some fact has a field of that name.
    /// For each loaded fact (by index; derived rows are not in it), the number of the name its
    /// field `name` holds ([`SymbolId`]), or [`NOT_A_NAME`] when the field is missing or not a
    /// name. Made on first use, on every thread of the current pool when `parallel`, and kept
    /// for every rule and evaluation after: a join key read from it is one sequential read of
    /// 4 bytes instead of a read of the fact's fields, wherever they are in memory.
    pub(crate) fn symbol_column(&self, name: &Name, parallel: bool) -> Arc<[u32]> {
        use rayon::prelude::*;
        let columns = || {
            self.symbol_columns
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(column) = columns().get(name)
            && column.len() == self.facts.len()
        {
            return column.clone();
        }
        // Made without the lock held: on several threads, the thread waiting for its parts
        // may run another rule's task meanwhile, which may want a column too. Two threads
        // wanting the same column at once may both make it, alike.
        let id = self.field_id(name);
        let number = |fact: FactView<'_>| {
            match id.and_then(|id| self.field_by_id(fact, id, name)) {
                Some(Value::Symbol(_, sid)) => sid.get(),
                _ => None,
            }
            .unwrap_or(NOT_A_NAME)
        };
        let column: Arc<[u32]> = if parallel && self.facts.len() >= PARALLEL_COLUMN {
            let numbers: Vec<u32> = (0..self.facts.len())
                .into_par_iter()
                .filter_map(|i| self.get(i))
                .map(number)
                .collect();
            numbers.into()
        } else {
            (0..self.facts.len())
                .filter_map(|i| self.get(i))
                .map(number)
                .collect()
        };
        columns().insert(name.clone(), column.clone());
        column
    }

    pub(crate) fn field_id(&self, name: &str) -> Option<FieldId> {
        self.layouts
            .field_ids
            .get_index_of(name)
            .and_then(|i| FieldId::try_from(i).ok())
    }

    /// Field `id` (named `name`) of `fact`, a fact of this fact base: two array reads through
    /// the layout the fact holds, no hash lookup (a fact with too many fields for a layout is
    /// read by name).
    #[inline]
    pub(crate) fn field_by_id<'f>(
        &self,
        fact: FactView<'f>,
        id: FieldId,
        name: &str,
    ) -> Option<&'f Value> {
        // One match on where the fact is stored, then the map's (or the table's) layout.
        match fact.0 {
            Held::Fact(fact) => match fact.fields.layout() {
                BY_NAME => fact.fields.value(name),
                layout => {
                    let pos = self.layouts.position(layout, id)?;
                    fact.fields.value_at(pos)
                }
            },
            Held::Loaded {
                base, table, at, ..
            } => match table.names.layout {
                BY_NAME => fact.get(name),
                layout => {
                    let pos = self.layouts.position(layout, id)?;
                    table
                        .columns
                        .get(pos)?
                        .value(at as usize, &base.facts.pool.values)
                }
            },
            Held::Row {
                table, at, pool, ..
            } => match table.names.layout {
                BY_NAME => fact.get(name),
                layout => table
                    .columns
                    .get(self.layouts.position(layout, id)?)?
                    .value(at as usize, pool),
            },
        }
    }

    /// The fact with this id.
    pub fn find(&self, id: &str) -> Option<FactIndex> {
        self.fact_at_symbol(self.symbols.get_index_of(id)?)
    }

    /// All facts in load order.
    pub fn iter(&self) -> impl Iterator<Item = (FactIndex, FactView<'_>)> {
        (0..self.facts.len())
            .filter_map(|i| self.get(i))
            .chain(self.rows.iter().filter_map(|&row| self.row_view(row)))
            .enumerate()
    }

    /// Number of facts.
    pub fn len(&self) -> usize {
        self.facts.len() + self.rows.len()
    }

    /// Whether there are no facts.
    pub fn is_empty(&self) -> bool {
        self.facts.slots.is_empty() && self.rows.is_empty()
    }

    /// Whether any fact of `kind` has a field named `name`.
    pub fn has_field_name(&self, kind: &FactKind, name: &str) -> bool {
        self.field_names.get(kind).is_some_and(|s| s.contains(name))
    }

    /// Adds a derived row (or a cycle): ids of rows need not be unique and are not looked up by
    /// [`FactBase::find`].
    pub fn add_row(&mut self, fact: Fact, provenance: Provenance) -> FactIndex {
        self.add_row_numbered(fact, provenance, Numbering::Look, false)
    }

    /// [`FactBase::add_row`] of a row derived from this fact base's facts: the numbers its
    /// symbols hold are this fact base's (see [`Numbering::Trust`]).
    /// `id_made` says that the row's id is [`write_row_id`] of its relation (its kind) and its
    /// values, in the relation's column order: a row stored in a table then keeps no id.
    pub(crate) fn add_derived_row(
        &mut self,
        fact: Fact,
        provenance: Provenance,
        id_made: bool,
    ) -> FactIndex {
        self.add_row_numbered(fact, provenance, Numbering::Trust, id_made)
    }

    fn add_row_numbered(
        &mut self,
        fact: Fact,
        provenance: Provenance,
        numbering: Numbering,
        id_made: bool,
    ) -> FactIndex {
        let mut fact = fact;
        self.intern(&mut fact, numbering);
        for field in fact.fields.values() {
            collect_currencies(field.value, field.span, &mut self.currencies);
        }
        let index = self.len();
        self.index_kind(&fact, index);
        let row = self.store_row(fact, id_made);
        self.rows.push(row);
        self.provenance.push(Some(provenance));
        self.id_symbol.push(u32::MAX);
        index
    }

    /// A row in the table of its shape (made on first sight) when it has no title and every
    /// field was written where the row was (a derive's rows), else whole.
    fn store_row(&mut self, fact: Fact, id_made: bool) -> StoredRow {
        let Some(names) = fact.fields.names.0.clone() else {
            return self.own_row(fact);
        };
        let span = fact.span;
        let one_place = fact.title.is_none()
            && fact
                .fields
                .values()
                .all(|f| f.span.same_place(&span) && f.name_span.same_place(&span));
        if !one_place {
            return self.own_row(fact);
        }
        let same = |t: &RowTable| {
            Arc::ptr_eq(&t.names, &names) && t.kind == fact.kind && t.span.same_place(&span)
        };
        // Rows come in runs of one derive: the last table is nearly always the one.
        let found = match self.tables.last() {
            Some(t) if same(t) => Some(self.tables.len() - 1),
            _ => self.tables.iter().position(same),
        };
        let table = found.unwrap_or_else(|| {
            self.tables.push(RowTable {
                kind: fact.kind.clone(),
                names: names.clone(),
                span,
                columns: (0..names.as_slice().len()).map(|_| Column::new()).collect(),
                len: 0,
            });
            self.tables.len() - 1
        });
        let (Ok(number), Some(t)) = (u32::try_from(table), self.tables.get_mut(table)) else {
            return self.own_row(fact);
        };
        let Ok(at) = u32::try_from(t.len) else {
            return self.own_row(fact);
        };
        if fact.fields.cells.len() != t.columns.len() {
            return self.own_row(fact);
        }
        let Fact { id, fields, .. } = fact;
        for (column, cell) in t.columns.iter_mut().zip(fields.cells) {
            column.push(cell, &mut self.row_pool);
        }
        t.len += 1;
        let id = match id_made {
            true => MADE_ID,
            false => {
                let at = u32::try_from(self.row_ids.len()).unwrap_or(MADE_ID);
                self.row_ids.push(id);
                at
            }
        };
        StoredRow {
            table: number,
            at,
            id,
        }
    }

    /// Declares field names for a kind before any fact of it exists (the columns of a relation).
    pub fn declare_fields<'n>(
        &mut self,
        kind: &FactKind,
        names: impl IntoIterator<Item = &'n Name>,
    ) {
        let set = self.field_names.entry(kind.clone()).or_default();
        for n in names {
            set.insert(n.clone());
        }
    }

    /// How a derived row or cycle came about (`None` for a loaded fact, or one added after the
    /// rows without a provenance).
    pub fn provenance(&self, index: FactIndex) -> Option<ProvenanceRef<'_>> {
        let row = index.checked_sub(self.facts.len())?;
        self.provenance.get(row)
    }

    /// Adds an exchange rate. A second rate for the same pair and date is refused (both
    /// directions count as the same pair).
    pub fn add_fx(&mut self, fx: FxDecl) -> Result<(), Box<Diagnostic>> {
        let same_pair = |r: &&FxDecl| {
            ((r.base, r.quote) == (fx.base, fx.quote) || (r.base, r.quote) == (fx.quote, fx.base))
                && r.date == fx.date
        };
        if let Some(first) = self.fx.iter().find(same_pair) {
            return Err(Box::new(
                Diagnostic::error(
                    Code::BadFx,
                    format!(
                        "a second exchange rate for {}/{} on the same date",
                        fx.base, fx.quote
                    ),
                    fx.span,
                    "declared again here",
                )
                .with_label(first.span, "first declared here")
                .with_help("keep one rate per currency pair and date"),
            ));
        }
        self.fx.push(fx);
        Ok(())
    }

    /// The exchange rate to use between `a` and `b`: of the rates declared for the pair (in
    /// either direction), the one with the latest date (a rate without date counts as the
    /// earliest; on a tie, the first declared).
    pub fn fx_rate(&self, a: Currency, b: Currency) -> Option<&FxDecl> {
        let mut best: Option<&FxDecl> = None;
        for r in &self.fx {
            let same_pair = (r.base, r.quote) == (a, b) || (r.base, r.quote) == (b, a);
            if same_pair && best.is_none_or(|cur| r.date > cur.date) {
                best = Some(r);
            }
        }
        best
    }

    /// The number of `name` among the symbol values and ids of the facts (each distinct text
    /// has one, from 0 in first-seen order), if some fact uses it: join keys compare these
    /// integers instead of texts.
    pub fn symbol_id(&self, name: &str) -> Option<u32> {
        self.symbols
            .get_index_of(name)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// [`FactBase::symbol_id`] of symbol `name` numbered `id`: the number itself when it is
    /// this fact base's number of that very name (no lookup), otherwise by its text.
    pub fn symbol_number(&self, name: &Name, id: SymbolId) -> Option<u32> {
        match id.get() {
            Some(i) if numbers(&self.symbols, i, name) => Some(i),
            _ => self.symbol_id(name),
        }
    }

    /// The number of fact `index`'s id among this fact base's symbols (the number a join key
    /// of that id holds), if it has one.
    pub(crate) fn id_number(&self, index: FactIndex) -> Option<u32> {
        self.id_symbol
            .get(index)
            .copied()
            .filter(|&n| n != u32::MAX)
    }

    /// The id of fact `index` as a symbol value, with its number ([`SymbolId::NONE`] for a
    /// derived row, whose id is no symbol).
    pub fn id_value(&self, index: FactIndex) -> Option<Value> {
        let fact = self.get(index)?;
        let id = self
            .id_symbol
            .get(index)
            .map_or(SymbolId::NONE, |&n| SymbolId::new(n));
        Some(Value::Symbol(fact.id().into_owned(), id))
    }

    /// [`FactBase::find`] of symbol `name` numbered `id`: through the number when it is this
    /// fact base's (no lookup), otherwise by the text.
    #[inline]
    pub fn find_symbol(&self, name: &Name, id: SymbolId) -> Option<FactIndex> {
        match id.get() {
            Some(i) if numbers(&self.symbols, i, name) => self.fact_at_symbol(i as usize),
            _ => self.find(name),
        }
    }

    /// The currencies the amounts and prices of the facts are in, each with the span of its first
    /// amount, in the order the facts were added.
    pub fn currencies(&self) -> impl Iterator<Item = (Currency, Span)> + '_ {
        self.currencies.iter().map(|(c, s)| (*c, *s))
    }

    /// Whether `name` is used as a symbol value or as an id anywhere in the facts.
    pub fn has_symbol(&self, name: &str) -> bool {
        self.symbols.contains(name)
    }

    /// Field names used by facts of `kind`, in first-seen order.
    pub fn field_names(&self, kind: &FactKind) -> impl Iterator<Item = &str> {
        self.field_names
            .get(kind)
            .into_iter()
            .flat_map(|s| s.iter().map(|n| &**n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field is a value and the offsets of its spans; its name is kept once per shape, in
    /// the fact base.
    #[test]
    fn symbols_are_numbered_in_first_seen_order_and_found_again_as_the_table_grows() {
        let mut symbols = Symbols::default();
        let names: Vec<Name> = (0..50_000)
            .map(|i| Name::from(format!("e{i:07}")))
            .collect();
        for (i, name) in names.iter().enumerate() {
            assert_eq!(symbols.insert_full(name.clone()), (i, true));
        }
        // A text given again, even as another allocation, keeps its number and is not added.
        assert_eq!(symbols.insert_full(Name::from("e0000007")), (7, false));
        for (i, name) in names.iter().enumerate() {
            let (at, known) = symbols.get_full(name).expect("found");
            assert_eq!(at, i);
            assert!(Arc::ptr_eq(known, name), "the first text is the one shared");
            assert_eq!(symbols.get_index(i), Some(name));
        }
        assert_eq!(symbols.get_index_of("e0049999"), Some(49_999));
        assert!(symbols.contains("e0000000"));
        assert!(!symbols.contains("e0050000") && !symbols.contains(""));
        assert_eq!(symbols.get_index(50_000), None);
    }

    #[test]
    fn a_field_takes_32_bytes() {
        assert_eq!(std::mem::size_of::<Cell>(), 32);
        // A fact in a table: its span, base and the place of its title among the table's.
        assert_eq!(std::mem::size_of::<TableRow>(), 24);
        // A derived row: its table and row there (or its place among those kept whole), and
        // where its id is kept.
        assert_eq!(std::mem::size_of::<StoredRow>(), 12);
    }

    /// Columns made on several threads at once, each on several threads, by the tasks of one
    /// scope: none waits for another (a thread waiting for the parts of its column may run
    /// another task wanting a column), and each column is right.
    #[test]
    fn columns_are_made_on_several_threads_without_waiting_on_each_other() {
        let n = PARALLEL_COLUMN + 1_000;
        let mut facts = FactBase::default();
        for i in 0..n {
            let mut fact = Fact::deal(&format!("d{i}"));
            for f in 0..12 {
                if (i + f) % 7 != 0 {
                    fact = fact.with(
                        &format!("f{f}"),
                        Value::symbol(&format!("e{}", (i * f) % 50)),
                    );
                }
            }
            facts.add(fact).expect("unique ids");
        }
        let facts = Arc::new(facts);
        let names: Vec<Name> = (0..12)
            .map(|f| Name::from(format!("f{f}").as_str()))
            .collect();
        let (send, receive) = std::sync::mpsc::channel();
        let (shared, asked) = (facts.clone(), names.clone());
        std::thread::spawn(move || {
            let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(2).build() else {
                return;
            };
            // Four rounds (a copy of the fact base has no columns yet): whether a thread runs
            // another task while it waits depends on timing.
            let mut rounds = Vec::new();
            for _ in 0..4 {
                let shared = Arc::new(FactBase::clone(&shared));
                // Tasks of one scope, as the rules of an evaluation are: a thread waiting for the
                // parts of its column takes the next task, which wants another column.
                let made = std::sync::Mutex::new(vec![None; 60]);
                pool.in_place_scope(|scope| {
                    for t in 0..60usize {
                        let (shared, asked, made) = (&shared, &asked, &made);
                        scope.spawn(move |_| {
                            // Most tasks only keep a thread busy, as rules that read no column do.
                            if t % 5 != 0 {
                                std::hint::black_box((0..400_000u64).sum::<u64>());
                                return;
                            }
                            let column = shared.symbol_column(&asked[(t / 5) % asked.len()], true);
                            if let Ok(mut made) = made.lock()
                                && let Some(slot) = made.get_mut(t)
                            {
                                *slot = Some(column);
                            }
                        });
                    }
                });
                rounds.push(made.into_inner().unwrap_or_default());
            }
            let _ = send.send(rounds);
        });
        let rounds: Vec<Vec<Option<Arc<[u32]>>>> = receive
            .recv_timeout(std::time::Duration::from_secs(300))
            .expect("every column made, none waiting on another");
        assert_eq!(rounds.len(), 4);
        let made = &rounds[3];
        assert!(rounds.iter().all(|r| r == made));
        assert_eq!(made.iter().flatten().count(), 12);
        for (t, column) in made.iter().enumerate() {
            let Some(column) = column else { continue };
            let name = &names[(t / 5) % names.len()];
            assert_eq!(column.len(), n);
            for (i, &number) in column.iter().enumerate().step_by(997) {
                let fact = facts.get(i).expect("a fact");
                let expected = match fact.get(name) {
                    Some(Value::Symbol(_, sid)) => sid.get().unwrap_or(NOT_A_NAME),
                    _ => NOT_A_NAME,
                };
                assert_eq!(number, expected, "{name} of {}", fact.id());
            }
        }
    }

    /// Each row reads back the provenance it was added with: origins shared by their text and
    /// place (consecutive or not), any number of sources, and none for a fact added after the
    /// rows.
    #[test]
    fn rows_read_back_their_provenance() {
        let mut facts = FactBase::default();
        let base = facts.add(Fact::entity("A")).expect("unique");
        let at = |start| Span::new(crate::diag::FileId::new(0), start..start + 4);
        let given = [
            ("derive flow", at(10), vec![base]),
            ("derive flow", at(10), vec![]),
            ("cycle of flow", at(20), vec![1, 2, 1]),
            // The same text in another `Arc`, and the first origin again after another.
            ("derive flow", at(10), vec![base, base]),
            ("derive flow", at(30), vec![2]),
        ];
        let rows: Vec<FactIndex> = given
            .iter()
            .enumerate()
            .map(|(n, (by, span, sources))| {
                let row = Fact::deal(&format!("r{n}")).with("kind", Value::symbol("flow"));
                let provenance = Provenance {
                    by: Name::from(*by),
                    span: *span,
                    sources: sources.clone(),
                };
                facts.add_row(row, provenance)
            })
            .collect();
        let later = facts.add(Fact::entity("B")).expect("unique");
        for (row, (by, span, sources)) in rows.iter().zip(&given) {
            let p = facts.provenance(*row).expect("a row");
            assert_eq!(
                (&**p.by, p.span, p.sources),
                (*by, *span, sources.as_slice())
            );
        }
        assert_eq!(facts.provenance(base), None);
        assert_eq!(facts.provenance(later), None);
        assert_eq!(facts.provenance(later + 1), None);
        assert_eq!(facts.provenance.origins.len(), 3);
    }

    /// A map is its names (one pointer to a list shared by the facts of its shape), its cells,
    /// and the file and base of their offsets: 48 bytes, whatever its fields.
    #[test]
    fn a_field_map_takes_48_bytes() {
        assert_eq!(std::mem::size_of::<FieldMap>(), 48);
    }

    /// Spans are kept as offsets from the first field while they fit, and whole once one does
    /// not (64 KiB or more away, a name in another file, a field replaced); either way each
    /// field reads back the spans it was given.
    #[test]
    fn field_spans_read_back_as_given_compact_or_wide() {
        let (file, other) = (crate::diag::FileId::new(0), crate::diag::FileId::new(1));
        let at = |f, start, end| Span {
            file: Some(f),
            start,
            end,
        };
        let field = |v: &str, span, name_span| FactField {
            value: Value::symbol(v),
            span,
            name_span,
        };
        let spans = |m: &FieldMap| {
            m.iter()
                .map(|(n, f)| {
                    (
                        n.to_string(),
                        f.span.file,
                        f.span.range(),
                        f.name_span.file,
                        f.name_span.range(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let mut map = FieldMap::new();
        map.insert(
            "a".into(),
            field("x", at(file, 105, 106), at(file, 100, 101)),
        );
        map.insert(
            "b".into(),
            field("y", at(file, 65_634, 65_640), at(file, 65_630, 65_631)),
        );
        assert!(map.wide.is_none() && map.base == 100);
        let compact = spans(&map);
        assert_eq!(
            compact,
            [
                ("a".to_string(), Some(file), 105..106, Some(file), 100..101),
                (
                    "b".to_string(),
                    Some(file),
                    65_634..65_640,
                    Some(file),
                    65_630..65_631
                ),
            ]
        );
        // 64 KiB past the base: every span is kept whole from then on.
        map.insert(
            "c".into(),
            field("z", at(file, 65_636, 65_637), at(file, 65_620, 65_621)),
        );
        assert!(map.wide.is_some());
        let mut wide = compact.clone();
        wide.push((
            "c".to_string(),
            Some(file),
            65_636..65_637,
            Some(file),
            65_620..65_621,
        ));
        assert_eq!(spans(&map), wide);
        assert_eq!(map.value("c"), Some(&Value::symbol("z")));

        // A name in another file than its value, first or later.
        let mut first = FieldMap::new();
        first.insert("a".into(), field("x", at(file, 5, 6), at(other, 1, 2)));
        assert!(first.wide.is_some());
        assert_eq!(
            spans(&first),
            [("a".to_string(), Some(file), 5..6, Some(other), 1..2)]
        );
        let mut later = FieldMap::new();
        later.insert("a".into(), field("x", at(file, 5, 6), at(file, 1, 2)));
        later.insert("b".into(), field("y", at(other, 9, 12), at(other, 7, 8)));
        assert_eq!(
            spans(&later),
            [
                ("a".to_string(), Some(file), 5..6, Some(file), 1..2),
                ("b".to_string(), Some(other), 9..12, Some(other), 7..8),
            ]
        );

        // Replacing a field gives back the old one and keeps the others' spans.
        let mut replaced = FieldMap::new();
        replaced.insert("a".into(), field("x", at(file, 5, 6), at(file, 1, 2)));
        replaced.insert("b".into(), field("y", at(file, 9, 12), at(file, 7, 8)));
        let old = replaced.insert("a".into(), field("w", at(file, 30, 31), at(file, 28, 29)));
        assert_eq!(
            old.map(|f| (f.value, f.span.range())),
            Some((Value::symbol("x"), 5..6))
        );
        assert_eq!(
            spans(&replaced),
            [
                ("a".to_string(), Some(file), 30..31, Some(file), 28..29),
                ("b".to_string(), Some(file), 9..12, Some(file), 7..8),
            ]
        );
        assert_eq!(replaced.value("a"), Some(&Value::symbol("w")));

        // Facts built in code have no spans.
        let built = Fact::deal("d").with("a", Value::symbol("x"));
        let (_, f) = built.fields.get_index(0).expect("a field");
        assert_eq!((f.span.file, f.name_span.file), (None, None));
    }

    /// A symbol value added to a fact base holds its number there; a number from another fact
    /// base is not trusted.
    #[test]
    fn symbols_hold_their_number_in_the_fact_base() {
        let mut facts = FactBase::default();
        facts.add(Fact::entity("OpenAI")).expect("unique");
        let deal = Fact::deal("d1").with("buyer", Value::symbol("OpenAI"));
        let index = facts.add(deal).expect("unique");
        let Some(Value::Symbol(name, id)) = facts.get(index).and_then(|f| f.get("buyer")).cloned()
        else {
            panic!("a symbol");
        };
        assert_eq!(id.get(), facts.symbol_id("OpenAI"));
        assert_eq!(facts.find_symbol(&name, id), Some(0));
        assert_eq!(facts.symbol_number(&name, id), facts.symbol_id("OpenAI"));
        // The same text with the number of another fact base (or none) is found by its text.
        let mut other = FactBase::default();
        other.add(Fact::entity("xAI")).expect("unique");
        other.add(Fact::entity("OpenAI")).expect("unique");
        assert_eq!(other.find_symbol(&name, id), Some(1));
        assert_eq!(other.symbol_number(&name, id), other.symbol_id("OpenAI"));
        assert_eq!(
            facts.find_symbol(&Name::from("OpenAI"), SymbolId::NONE),
            Some(0)
        );
        assert_eq!(
            facts.find_symbol(&Name::from("Oracle"), SymbolId::NONE),
            None
        );
    }

    /// A derived row with every column shares the relation's names; one with a column missing
    /// keeps the names of the columns it has, in order.
    #[test]
    fn a_row_shares_its_columns_names_only_when_it_has_them_all() {
        let columns = NameList::shared(["from", "to", "amount"].map(Name::from));
        let field = |v: &str| {
            Some(FactField {
                value: Value::symbol(v),
                span: Span::none(),
                name_span: Span::none(),
            })
        };
        let full = FieldMap::from_columns(&columns, [field("a"), field("b"), field("c")]);
        assert!(matches!(&full.names.0, Some(n) if Arc::ptr_eq(n, &columns)));
        assert_eq!(full.value("to"), Some(&Value::symbol("b")));
        for (values, present) in [
            ([field("a"), None, field("c")], vec!["from", "amount"]),
            ([None, field("b"), field("c")], vec!["to", "amount"]),
            ([field("a"), field("b"), None], vec!["from", "to"]),
        ] {
            let row = FieldMap::from_columns(&columns, values);
            assert_eq!(row.keys().map(|n| &**n).collect::<Vec<_>>(), present);
            assert_eq!(row.len(), 2);
        }
    }

    /// Facts of one shape share one list of names once added.
    #[test]
    fn facts_of_one_shape_share_their_names() {
        let mut facts = FactBase::default();
        for id in ["a", "b"] {
            let fact = Fact::deal(id)
                .with("kind", Value::symbol("purchase"))
                .with("buyer", Value::symbol("OpenAI"));
            facts.add(fact).expect("unique ids");
        }
        let names = |id: &str| {
            let view = facts
                .get(facts.find(id).expect("added"))
                .expect("a fact")
                .fields();
            let FieldsView(FieldsHeld::Cells { table, .. }) = view else {
                panic!("a loaded fact of a layout is in a table");
            };
            view.layout_number().map(|_| table.names.clone())
        };
        let (a, b) = (names("a").expect("shared"), names("b").expect("shared"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(
            a.as_slice().iter().map(|n| &**n).collect::<Vec<_>>(),
            ["kind", "buyer"]
        );
        let mut changed = facts.get(0).expect("a fact").to_fact();
        changed.fields.insert(
            Name::from("seller"),
            FactField {
                value: Value::symbol("Nvidia"),
                span: Span::none(),
                name_span: Span::none(),
            },
        );
        assert_eq!(
            changed.fields.keys().map(|n| &**n).collect::<Vec<_>>(),
            ["kind", "buyer", "seller"]
        );
        assert_eq!(a.as_slice().len(), 2, "the shared list is not changed");
        assert_eq!(
            changed.fields.layout_number(),
            None,
            "a changed map is in no layout"
        );
    }

    fn read<'f>(facts: &'f FactBase, id: &str, name: &str) -> Option<&'f Value> {
        let index = facts.find(id)?;
        let field = facts.field_id(name)?;
        let fact = facts.get(index)?;
        let got = facts.field_by_id(fact, field, name);
        // The same as reading by name.
        assert_eq!(got, fact.get(name));
        got
    }

    #[test]
    fn fields_read_by_id_through_layouts_match_reads_by_name() {
        let mut facts = FactBase::default();
        let a = Fact::deal("a")
            .with("buyer", Value::symbol("OpenAI"))
            .with("seller", Value::symbol("Nvidia"));
        // Same fields in another order, and a fact with a field no earlier fact has.
        let b = Fact::deal("b")
            .with("seller", Value::symbol("AMD"))
            .with("buyer", Value::symbol("OpenAI"));
        let c = Fact::deal("c").with("status", Value::symbol("definitive"));
        for f in [a, b, c] {
            assert!(facts.add(f).is_ok());
        }
        assert_eq!(read(&facts, "a", "seller"), Some(&Value::symbol("Nvidia")));
        assert_eq!(read(&facts, "b", "seller"), Some(&Value::symbol("AMD")));
        assert_eq!(read(&facts, "b", "buyer"), Some(&Value::symbol("OpenAI")));
        // `status` has an id past the width of the first two layouts: missing, not a panic.
        assert_eq!(read(&facts, "a", "status"), None);
        assert_eq!(read(&facts, "c", "buyer"), None);
        assert_eq!(
            read(&facts, "c", "status"),
            Some(&Value::symbol("definitive"))
        );
        assert_eq!(facts.field_id("no_such_field"), None);
        // Two facts with the same order share one layout.
        assert_eq!(facts.layouts.orders.len(), 3);
        let d = Fact::deal("d")
            .with("buyer", Value::symbol("xAI"))
            .with("seller", Value::symbol("Nvidia"));
        assert!(facts.add(d).is_ok());
        assert_eq!(facts.layouts.orders.len(), 3);
        assert_eq!(read(&facts, "d", "buyer"), Some(&Value::symbol("xAI")));
    }

    #[test]
    fn rows_that_bring_the_same_names_share_the_last_layout() {
        let mut facts = FactBase::default();
        let (from, to): (Name, Name) = (Arc::from("from"), Arc::from("to"));
        let row = |a: &str, b: &str, names: [&Name; 2]| {
            let mut fields = FieldMap::default();
            for (name, v) in names.into_iter().zip([a, b]) {
                let field = FactField {
                    value: Value::symbol(v),
                    span: Span::none(),
                    name_span: Span::none(),
                };
                fields.insert(name.clone(), field);
            }
            Fact {
                id: Arc::from(format!("flow({a}, {b})").as_str()),
                kind: FactKind::Row(Arc::from("flow")),
                title: None,
                fields,
                span: Span::none(),
            }
        };
        let provenance = || Provenance {
            by: "derive flow".into(),
            span: Span::none(),
            sources: vec![],
        };
        let a = facts.add_row(row("Nvidia", "OpenAI", [&from, &to]), provenance());
        let b = facts.add_row(row("OpenAI", "Oracle", [&from, &to]), provenance());
        // The same names in the other order: another layout.
        let c = facts.add_row(row("Oracle", "AMD", [&to, &from]), provenance());
        let read = |at: FactIndex, name: &str| {
            let fact = facts.get(at)?;
            let got = facts.field_by_id(fact, facts.field_id(name)?, name);
            assert_eq!(got, fact.get(name));
            got.cloned()
        };
        assert_eq!(read(b, "from"), Some(Value::symbol("OpenAI")));
        assert_eq!(read(b, "to"), Some(Value::symbol("Oracle")));
        assert_eq!(read(a, "to"), Some(Value::symbol("OpenAI")));
        assert_eq!(read(c, "from"), Some(Value::symbol("AMD")));
        assert_eq!(read(c, "to"), Some(Value::symbol("Oracle")));
        let layout = |at: FactIndex| facts.get(at).map(|f| f.fields().layout_number());
        assert_eq!(layout(a), layout(b));
        assert_ne!(layout(a), layout(c));
    }

    #[test]
    fn derived_rows_get_layouts_too() {
        let mut facts = FactBase::default();
        assert!(facts.add(Fact::entity("Nvidia")).is_ok());
        let row = Fact::deal("r").with("from", Value::symbol("Nvidia"));
        let at = facts.add_row(
            row,
            Provenance {
                by: "derive flow".into(),
                span: Span::none(),
                sources: vec![0],
            },
        );
        let id = facts.field_id("from");
        assert!(id.is_some());
        let fact = facts.get(at);
        let got = id
            .zip(fact)
            .and_then(|(id, fact)| facts.field_by_id(fact, id, "from"));
        assert_eq!(got, Some(&Value::symbol("Nvidia")));
    }

    #[test]
    fn rows_of_one_derive_are_stored_in_a_table_and_read_back_as_given() {
        let mut facts = FactBase::default();
        assert!(facts.add(Fact::entity("Nvidia")).is_ok());
        let file = crate::diag::FileId::new(0);
        let (at_derive, elsewhere) = (Span::new(file, 100..140), Span::new(file, 7..12));
        let columns = NameList::shared([Name::from("from"), Name::from("amount")]);
        let row = |id: &str, from: &str, amount: Option<&str>, span: Span| {
            let field = |value: Value| FactField {
                value,
                span,
                name_span: span,
            };
            Fact {
                id: Arc::from(id),
                kind: FactKind::Row(Arc::from("flow")),
                title: None,
                fields: FieldMap::from_columns(
                    &columns,
                    [
                        Some(field(Value::symbol(from))),
                        amount.map(|a| field(a.parse().expect("an amount"))),
                    ],
                ),
                span,
            }
        };
        let given = [
            row("flow(Nvidia, 1B USD)", "Nvidia", Some("1B USD"), at_derive),
            row("flow(OpenAI, 2B USD)", "OpenAI", Some("2B USD"), at_derive),
            // A column missing, and a row written elsewhere: each a table of its own shape.
            row("flow(AMD, missing)", "AMD", None, at_derive),
            row("flow(xAI, 3B USD)", "xAI", Some("3B USD"), elsewhere),
            row("flow(Oracle, 4B USD)", "Oracle", Some("4B USD"), at_derive),
        ];
        let provenance = || Provenance {
            by: "derive flow".into(),
            span: at_derive,
            sources: vec![0],
        };
        let at: Vec<FactIndex> = given
            .iter()
            .map(|f| facts.add_derived_row(f.clone(), provenance(), false))
            .collect();
        // A fact added after the rows is kept whole.
        let late = facts.add(Fact::deal("late").with("from", Value::symbol("Nvidia")));
        let places: Vec<&str> = facts
            .rows
            .iter()
            .map(|r| match r.table {
                OWN_ROW => "own",
                _ => "table",
            })
            .collect();
        assert_eq!(places, ["table", "table", "table", "table", "table", "own"]);
        let rows_per_table: Vec<usize> = facts.tables.iter().map(|t| t.len).collect();
        assert_eq!(rows_per_table, [3, 1, 1]);
        for (f, &i) in given.iter().zip(&at) {
            let view = facts.get(i).expect("added");
            assert_eq!(view, *f);
            assert_eq!(view.to_fact(), *f);
            assert_eq!(*view.id(), f.id);
            assert_eq!(view.span(), f.span);
            assert_eq!(view.fields().len(), f.fields.len());
            for (name, field) in &f.fields {
                assert_eq!(view.fields().get(name), Some(field));
                let id = facts.field_id(name).expect("a field name");
                assert_eq!(facts.field_by_id(view, id, name), Some(field.value));
            }
            assert_eq!(view.get("no_such_column"), None);
        }
        let listed: Vec<Fact> = facts.iter().map(|(_, f)| f.to_fact()).collect();
        assert_eq!(listed.len(), 7);
        assert_eq!(listed.get(1..6), Some(&given[..]));
        assert_eq!(
            late.ok()
                .and_then(|i| facts.get(i))
                .map(|f| f.id().into_owned()),
            Some(Name::from("late"))
        );
        assert_eq!(
            facts.provenance(at[4]).map(|p| p.sources.to_vec()),
            Some(vec![0])
        );
    }

    #[test]
    fn loaded_facts_are_stored_in_tables_by_kind_and_layout_and_read_back_as_given() {
        let file = crate::diag::FileId::new(0);
        let at = |start: usize, len: usize| Span::new(file, start..start + len);
        let field = |value: &str, at_value: Span, at_name: Span| FactField {
            value: value.parse().expect("a value"),
            span: at_value,
            name_span: at_name,
        };
        let deal = |id: &str, start: usize, title: Option<&str>, far: bool| {
            let mut fields = FieldMap::default();
            fields.insert(
                Name::from("amount"),
                field("1B USD", at(start + 20, 6), at(start + 12, 6)),
            );
            // A value 64 KiB or more past the first: its spans do not fit as offsets.
            let value_at = if far { start + 70_000 } else { start + 40 };
            fields.insert(
                Name::from("status"),
                field("definitive", at(value_at, 10), at(start + 32, 6)),
            );
            Fact {
                id: Arc::from(id),
                kind: FactKind::Deal,
                title: title.map(String::from),
                fields,
                span: at(start + 5, id.len()),
            }
        };
        let entity = |id: &str, start: usize| {
            let mut fact = Fact::entity(id);
            fact.span = at(start, id.len());
            fact.fields.insert(
                Name::from("type"),
                field("company", at(start + 20, 7), at(start + 14, 4)),
            );
            fact
        };
        let given = [
            deal("a", 0, Some("Nvidia invests in OpenAI"), false),
            entity("Nvidia", 100),
            deal("b", 200, None, false),
            deal("c", 300, None, true),
            entity("OpenAI", 400),
            deal("d", 500, Some("a title"), false),
        ];
        let mut facts = FactBase::default();
        let mut emptied = Vec::new();
        for f in &given {
            assert!(facts.add_emptying(f.clone(), Some(&mut emptied)).is_ok());
        }
        // Every fact in a table hands back its emptied buffer; the one kept whole does not.
        assert_eq!(emptied.len(), 5);
        assert!(emptied.iter().all(|b| b.is_empty() && b.capacity() >= 1));
        let slots: Vec<u32> = facts.facts.slots.iter().map(|&(t, _)| t).collect();
        assert_eq!(slots, [0, 1, 0, OWN, 1, 0]);
        for (i, f) in given.iter().enumerate() {
            let view = facts.get(i).expect("added");
            assert_eq!(view, *f);
            assert_eq!(view.to_fact(), *f);
            assert_eq!(view.title(), f.title.as_deref());
            for (name, field) in &f.fields {
                assert_eq!(view.fields().get(name), Some(field), "{} {name}", f.id);
                let id = facts.field_id(name).expect("a field name");
                assert_eq!(facts.field_by_id(view, id, name), Some(field.value));
            }
            assert_eq!(facts.find(&f.id), Some(i));
        }
        let listed: Vec<Fact> = facts.iter().map(|(_, f)| f.to_fact()).collect();
        assert_eq!(listed, given);
    }

    #[test]
    fn a_derived_rows_id_made_from_its_values_is_not_stored_and_reads_back_the_same() {
        let mut facts = FactBase::default();
        facts
            .add(Fact::entity("Nvidia"))
            .and(facts.add(Fact::entity("OpenAI")))
            .expect("unique ids");
        let span = Span::new(crate::diag::FileId::new(0), 10..20);
        let columns = NameList::shared([
            Name::from("from"),
            Name::from("to"),
            Name::from("amount"),
            Name::from("date"),
        ]);
        let values = |from: &str, amount: &str| {
            vec![
                Value::symbol(from),
                Value::symbol("OpenAI"),
                amount.parse::<Value>().expect("an amount"),
                "2025-09-22".parse::<Value>().expect("a date"),
            ]
        };
        let row = |values: &[Value], id: &str| Fact {
            id: Arc::from(id),
            kind: FactKind::Row(Arc::from("flow")),
            title: None,
            fields: FieldMap::from_columns(
                &columns,
                values.iter().map(|v| {
                    Some(FactField {
                        value: v.clone(),
                        span,
                        name_span: span,
                    })
                }),
            ),
            span,
        };
        let provenance = || Provenance {
            by: "derive flow".into(),
            span,
            sources: vec![0],
        };
        let made = values("Nvidia", "100.50B USD");
        let mut id = String::new();
        write_row_id(&mut id, "flow", made.iter().map(Some));
        assert_eq!(id, "flow(Nvidia, OpenAI, 100.5B USD, 2025-09-22)");
        let a = facts.add_derived_row(row(&made, &id), provenance(), true);
        // A row whose id is not made so keeps it.
        let other = values("OpenAI", "1 USD");
        let b = facts.add_derived_row(row(&other, "flow #2"), provenance(), false);
        let ids: Vec<Option<&str>> = facts
            .rows
            .iter()
            .map(|r| facts.row_ids.get(r.id as usize).map(|id| &**id))
            .collect();
        assert_eq!(ids, [None, Some("flow #2")]);
        let view = facts.get(a).expect("a row");
        assert_eq!(&**view.id(), id);
        assert_eq!(&*view.to_fact().id, id);
        assert_eq!(&**facts.get(b).expect("a row").id(), "flow #2");
    }

    #[test]
    fn offsets_are_kept_as_pairs_while_fields_are_written_alike_and_read_back_exactly() {
        let file = crate::diag::FileId::new(0);
        // A fact of two fields at `start`, each written `name`, `gap` bytes, then its value
        // (`gap` `None`: the name's place is the value's, as in a CSV cell).
        let fact = |id: &str, start: usize, gaps: [Option<usize>; 2]| {
            let mut fact = Fact::deal(id);
            fact.span = Span::new(file, start..start + id.len());
            for (i, (name, gap)) in ["kind", "buyer"].into_iter().zip(gaps).enumerate() {
                let at = start + 10 + 30 * i;
                let value = if i == 0 { "purchase" } else { "OpenAI" };
                let (name_span, value_at) = match gap {
                    Some(gap) => (Span::new(file, at..at + name.len()), at + name.len() + gap),
                    None => (Span::new(file, at..at + value.len()), at),
                };
                fact.fields.insert(
                    Name::from(name),
                    FactField {
                        value: Value::symbol(value),
                        span: Span::new(file, value_at..value_at + value.len()),
                        name_span,
                    },
                );
            }
            fact
        };
        let place = |s: Span| (s.file, s.start, s.end);
        let check = |facts: &FactBase, given: &[Fact]| {
            for (i, f) in given.iter().enumerate() {
                let view = facts.get(i).expect("added");
                for (name, field) in &f.fields {
                    let read = view.fields().get(name).expect("present");
                    assert_eq!(place(read.span), place(field.span), "{} {name}", f.id);
                    assert_eq!(place(read.name_span), place(field.name_span));
                }
                let copied = view.to_fact();
                for (name, field) in &copied.fields {
                    let given = f.fields.get(name).expect("present");
                    assert_eq!(place(field.span), place(given.span));
                    assert_eq!(place(field.name_span), place(given.name_span));
                }
            }
        };
        let pairs = |facts: &FactBase| {
            matches!(
                facts.facts.tables.first().map(|t| &t.offsets),
                Some(Offsets::Pairs { .. })
            )
        };
        // Written alike (`kind: ...`, `buyer:  ...`; then CSV cells): pairs.
        for gaps in [[Some(2), Some(3)], [None, None]] {
            let given: Vec<Fact> = (0..3)
                .map(|i| fact(&format!("d{i}"), 100 * i, gaps))
                .collect();
            let mut facts = FactBase::default();
            for f in &given {
                assert!(facts.add(f.clone()).is_ok());
            }
            assert!(pairs(&facts), "{gaps:?}");
            check(&facts, &given);
        }
        // A third fact written otherwise: every row's four offsets from then on, the first
        // two read back as they were written.
        let given = [
            fact("a", 0, [Some(2), Some(2)]),
            fact("b", 100, [Some(2), Some(2)]),
            fact("c", 200, [Some(2), Some(7)]),
            fact("d", 300, [None, Some(2)]),
        ];
        let mut facts = FactBase::default();
        for f in &given {
            assert!(facts.add(f.clone()).is_ok());
        }
        assert!(!pairs(&facts));
        check(&facts, &given);
    }

    #[test]
    fn symbols_and_dates_are_kept_once_in_the_pool_and_a_column_of_other_values_whole() {
        let file = crate::diag::FileId::new(0);
        let deal = |id: &str, start: usize, status: &str, when: &str| {
            let mut fields = FieldMap::default();
            for (i, (name, value)) in [("status", status), ("when", when), ("kind", "purchase")]
                .into_iter()
                .enumerate()
            {
                let at = start + 10 + 20 * i;
                fields.insert(
                    Name::from(name),
                    FactField {
                        value: value.parse().expect("a value"),
                        span: Span::new(file, at + 8..at + 8 + value.len()),
                        name_span: Span::new(file, at..at + name.len()),
                    },
                );
            }
            let mut fact = Fact::deal(id);
            fact.span = Span::new(file, start..start + id.len());
            fact.fields = fields;
            fact
        };
        // `when` holds dates, then a symbol, then money written with trailing zeros: from then
        // on its column keeps its values whole, the earlier ones read back as they were.
        let given = [
            deal("a", 0, "definitive", "2025-10-06"),
            deal("b", 100, "definitive", "2025-10-06"),
            deal("c", 200, "announced", "later"),
            deal("d", 300, "definitive", "1.50 USD"),
            deal("e", 400, "announced", "2026-01-01"),
        ];
        let mut facts = FactBase::default();
        for f in &given {
            assert!(facts.add(f.clone()).is_ok());
        }
        assert_eq!(facts.facts.tables.len(), 1);
        let table = &facts.facts.tables[0];
        let pooled: Vec<bool> = table
            .columns
            .iter()
            .map(|c| matches!(c.values, ColumnValues::Pooled(_)))
            .collect();
        assert_eq!(pooled, [true, false, true]);
        // `definitive`, `announced`, `purchase`, and the dates while `when` was pooled.
        let texts: Vec<String> = facts
            .facts
            .pool
            .values
            .iter()
            .map(Value::to_string)
            .collect();
        assert_eq!(
            texts,
            ["definitive", "2025-10-06", "purchase", "announced", "later"]
        );
        for (i, f) in given.iter().enumerate() {
            let view = facts.get(i).expect("added");
            assert_eq!(view, *f);
            assert_eq!(view.to_fact(), *f);
            for (name, field) in &f.fields {
                let read = view.fields().get(name).expect("present");
                assert_eq!(read, field, "{} {name}", f.id);
                assert_eq!(read.value.to_string(), field.value.to_string());
                let id = facts.field_id(name).expect("a field name");
                let by_id = facts.field_by_id(view, id, name).map(Value::to_string);
                assert_eq!(by_id, Some(field.value.to_string()));
            }
        }
    }
}
