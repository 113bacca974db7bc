//! The fact base: entities and deals, from deal files or built in code, indexed by id.

use crate::diag::{Code, Diagnostic, Span};
use crate::hash::{FastMap, FastSet};
use crate::syntax::{FactDecl, FactKind, FxDecl};
use crate::value::Currency;
use crate::value::{Name, Value};
use indexmap::{IndexMap, IndexSet};
use std::sync::Arc;

/// The fields of a fact by name, in written order.
pub type FieldMap = IndexMap<Name, FactField, crate::hash::FastHasher>;

/// One field of a fact: its value and where it was written.
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
        self.fields.get(name).map(|f| &f.value)
    }

    /// Builds a fact from its declaration. A field written twice is an error (never
    /// last-one-wins); the first value is kept.
    pub fn from_decl(decl: &FactDecl, diags: &mut Vec<Diagnostic>) -> Fact {
        Fact::from_owned_decl(decl.clone(), diags)
    }

    /// [`Fact::from_decl`], taking the declaration: its values are moved, not copied.
    pub fn from_owned_decl(decl: FactDecl, diags: &mut Vec<Diagnostic>) -> Fact {
        let mut fields = FieldMap::with_capacity_and_hasher(decl.fields.len(), Default::default());
        for field in decl.fields {
            if let Some(first) = fields.get(&field.name.name) {
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
            fields.insert(
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

/// How a derived row or a cycle came about: the derive rule (or cycle pattern) and the facts it
/// was derived from.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// What derived it (`derive flow`, `cycle of flow`).
    pub by: String,
    /// Where that is declared.
    pub span: Span,
    /// The facts it was derived from, in binding (or hop) order.
    pub sources: Vec<FactIndex>,
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
    facts: Arc<Vec<Fact>>,
    /// Derived rows (and any fact added after them), after `facts` in index order.
    rows: Vec<Fact>,
    by_id: FastMap<Name, usize>,
    /// The facts of each kind, in load order.
    by_kind: FastMap<FactKind, Vec<FactIndex>>,
    /// The facts of each kind by the name in their `kind` (or `type`) field, in load order.
    by_kind_name: FastMap<(FactKind, Name), Vec<FactIndex>>,
    /// The facts of each kind whose `kind` (or `type`) field is missing or not a name.
    unnamed_kind: FastMap<FactKind, Vec<FactIndex>>,
    field_names: IndexMap<FactKind, IndexSet<Name>>,
    symbols: FastSet<Name>,
    fx: Vec<FxDecl>,
    provenance: IndexMap<FactIndex, Provenance>,
}

fn collect_symbols(v: &Value, out: &mut FastSet<Name>) {
    match v {
        Value::Symbol(s) => {
            out.insert(s.clone());
        }
        Value::List(items) => items.iter().for_each(|i| collect_symbols(i, out)),
        Value::Record(fields) => fields.values().for_each(|i| collect_symbols(i, out)),
        _ => {}
    }
}

/// A fact's position in its [`FactBase`].
pub type FactIndex = usize;

impl FactBase {
    /// Adds a fact. A second fact with an id already taken is refused with a diagnostic that
    /// names both places.
    pub fn add(&mut self, fact: Fact) -> Result<FactIndex, Box<Diagnostic>> {
        if let Some(&first) = self.by_id.get(&fact.id) {
            let first_span = self.get(first).map(|f| f.span).unwrap_or_default();
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
        let mut fact = fact;
        self.intern(&mut fact, true);
        for field in fact.fields.values() {
            collect_symbols(&field.value, &mut self.symbols);
        }
        self.symbols.insert(fact.id.clone());
        let index = self.len();
        self.by_id.insert(fact.id.clone(), index);
        self.index_kind(&fact, index);
        if self.rows.is_empty() {
            Arc::make_mut(&mut self.facts).push(fact);
        } else {
            self.rows.push(fact);
        }
        Ok(index)
    }

    /// Shares the text of the fact's field names (and of its symbol values) with the facts
    /// already added, and records the field names of its kind. Symbols new to the fact base are
    /// learned only from loaded facts (`learn`), never from derived rows.
    fn intern(&mut self, fact: &mut Fact, learn: bool) {
        use indexmap::map::MutableKeys as _;
        let names = self.field_names.entry(fact.kind.clone()).or_default();
        // A key is replaced by an equal one (the same text, stored once): its hash and place do
        // not change.
        for (name, field) in fact.fields.iter_mut2() {
            let (i, _) = names.insert_full(name.clone());
            if let Some(shared) = names.get_index(i) {
                *name = shared.clone();
            }
            if let Value::Symbol(s) = &mut field.value {
                match self.symbols.get(&**s) {
                    Some(known) => *s = known.clone(),
                    None if learn => {
                        self.symbols.insert(s.clone());
                    }
                    None => {}
                }
            }
        }
    }

    fn index_kind(&mut self, fact: &Fact, index: FactIndex) {
        self.by_kind
            .entry(fact.kind.clone())
            .or_default()
            .push(index);
        let name = fact
            .fields
            .get(crate::schema::discriminator(&fact.kind))
            .and_then(|f| f.value.as_name());
        match name {
            Some(n) => self
                .by_kind_name
                .entry((fact.kind.clone(), Name::from(n)))
                .or_default()
                .push(index),
            None => self
                .unnamed_kind
                .entry(fact.kind.clone())
                .or_default()
                .push(index),
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
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The fact at `index`.
    pub fn get(&self, index: FactIndex) -> Option<&Fact> {
        self.facts.get(index).or_else(|| {
            index
                .checked_sub(self.facts.len())
                .and_then(|i| self.rows.get(i))
        })
    }

    /// The fact with this id.
    pub fn find(&self, id: &str) -> Option<FactIndex> {
        self.by_id.get(id).copied()
    }

    /// All facts in load order.
    pub fn iter(&self) -> impl Iterator<Item = (FactIndex, &Fact)> {
        self.facts.iter().chain(&self.rows).enumerate()
    }

    /// Number of facts.
    pub fn len(&self) -> usize {
        self.facts.len() + self.rows.len()
    }

    /// Whether there are no facts.
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty() && self.rows.is_empty()
    }

    /// Whether any fact of `kind` has a field named `name`.
    pub fn has_field_name(&self, kind: &FactKind, name: &str) -> bool {
        self.field_names.get(kind).is_some_and(|s| s.contains(name))
    }

    /// Adds a derived row (or a cycle): ids of rows need not be unique and are not looked up by
    /// [`FactBase::find`].
    pub fn add_row(&mut self, fact: Fact, provenance: Provenance) -> FactIndex {
        let mut fact = fact;
        self.intern(&mut fact, false);
        let index = self.len();
        self.index_kind(&fact, index);
        self.rows.push(fact);
        self.provenance.insert(index, provenance);
        index
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

    /// How a derived row or cycle came about.
    pub fn provenance(&self, index: FactIndex) -> Option<&Provenance> {
        self.provenance.get(&index)
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
