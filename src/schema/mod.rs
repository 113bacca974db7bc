//! Schemas: the declared fields of each deal kind and entity type, with their types, and the
//! validation of facts against them.
//!
//! A deal's kind is its `kind` field (`kind: investment`); an entity's type is its `type` field
//! (`type: company`). `schema deal investment { ... }` declares the fields of one kind;
//! `schema deal { ... }` declares fields that every deal may have. Several declarations of the
//! same kind add up, so users extend the shipped schema in their own files. A field declared
//! twice for the same kind is an error.
//!
//! Until a file declares a schema for deals (or for entities), facts of that target are not
//! validated and rule fields are checked only against the loaded data (warning `W007`).

/// The type checks of checked rules, formerly here: they are part of checking now.
#[deprecated(note = "moved to `dealrules::check::types`")]
pub mod types {
    pub use crate::check::types::check_rule_types;
}

use crate::diag::{Code, Diagnostic, Span, did_you_mean};
use crate::facts::{FactBase, FactView};
pub use crate::syntax::discriminator;
use crate::syntax::{FactKind, FieldSpec, SchemaDecl, TypeExpr, TypeExprKind};
use crate::value::{Dimension, Name, UNITS, Unit, Value};
use indexmap::IndexMap;
use std::fmt;
use std::sync::Arc;

/// The type of a field, a relation column or an expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// Anything (or not known statically).
    Any,
    /// `true` or `false`.
    Bool,
    /// A plain number.
    Number,
    /// A ratio: a percentage (`10%`) or a number (`0.1`).
    Ratio,
    /// An amount of money in any currency.
    Money,
    /// Money per unit (`0.01 USD/share`).
    Price,
    /// A quantity of one dimension, or of any dimension (`None`).
    Quantity(Option<Dimension>),
    /// A count of any kind of thing (`250K GPUs`, `37 data_centers`).
    Count,
    /// A calendar date.
    Date,
    /// An instant with an offset or a zone (`2026-03-01T10:00:00+08:00`).
    Timestamp,
    /// Quoted text.
    Text,
    /// A bare name.
    Symbol,
    /// One of these symbols.
    Enum(Vec<Name>),
    /// The id of a declared entity.
    Entity,
    /// The id of a declared deal.
    Deal,
    /// A list of values of one type.
    List(Box<Type>),
    /// A record with these fields.
    Record(Arc<FieldSet>),
    /// A value of any of these types.
    Union(Vec<Type>),
}

/// The type names a schema may use, with what each means (for `--help`-like messages).
pub const TYPE_NAMES: &[(&str, &str)] = &[
    ("any", "any value"),
    ("bool", "`true` or `false`"),
    ("number", "a plain number"),
    ("ratio", "a percentage or a number (`10%`, `0.1`)"),
    ("money", "an amount of money (`100B USD`)"),
    ("price", "money per unit (`0.01 USD/share`)"),
    ("quantity", "a quantity of any unit"),
    ("power", "a quantity of power (`4.5 GW`)"),
    ("duration", "a time in months or years (`5 years`)"),
    ("days", "a time in days"),
    ("count", "a count of any kind of thing (`250K GPUs`)"),
    ("date", "a date (`2025-09-22`)"),
    (
        "timestamp",
        "a date and time with an offset or a zone (`2026-03-01T10:00:00+08:00`)",
    ),
    ("text", "quoted text"),
    ("symbol", "a bare name"),
    ("entity", "the id of a declared entity"),
    ("deal", "the id of a declared deal"),
];

impl Type {
    /// Resolves a written type. Unknown names are reported.
    fn resolve(t: &TypeExpr, diags: &mut Vec<Diagnostic>) -> Option<Type> {
        Some(match &t.kind {
            TypeExprKind::Name(n) => match &*n.name {
                "any" => Type::Any,
                "bool" => Type::Bool,
                "number" => Type::Number,
                "ratio" | "percent" => Type::Ratio,
                "money" => Type::Money,
                "price" => Type::Price,
                "quantity" => Type::Quantity(None),
                "power" => Type::Quantity(Some(Dimension::Power)),
                "duration" => Type::Quantity(Some(Dimension::Months)),
                "days" => Type::Quantity(Some(Dimension::Days)),
                "count" => Type::Count,
                "date" => Type::Date,
                "timestamp" => Type::Timestamp,
                "text" => Type::Text,
                "symbol" | "name" => Type::Symbol,
                "entity" => Type::Entity,
                "deal" => Type::Deal,
                other => {
                    let count = UNITS.iter().find_map(|u| match u.dimension {
                        Dimension::Count(what) if what == other => Some(u.dimension),
                        _ => None,
                    });
                    if let Some(d) = count {
                        return Some(Type::Quantity(Some(d)));
                    }
                    let names = TYPE_NAMES.iter().map(|(n, _)| *n);
                    let mut d = Diagnostic::error(
                        Code::UnknownType,
                        format!("unknown type `{other}`"),
                        n.span,
                        "not a type",
                    );
                    d.help = did_you_mean(other, names.clone()).or_else(|| {
                        Some(format!(
                            "the types are: {}, a count unit (`shares`, `GPUs`...), \
                             `enum(a, b)`, `list of T`, `{{ field: T }}` and `A | B`",
                            names.collect::<Vec<_>>().join(", ")
                        ))
                    });
                    diags.push(d);
                    return None;
                }
            },
            TypeExprKind::Enum(names) => Type::Enum(names.iter().map(|n| n.name.clone()).collect()),
            TypeExprKind::List(inner) => Type::List(Box::new(Type::resolve(inner, diags)?)),
            TypeExprKind::Record(fields) => {
                let mut set = FieldSet::default();
                for f in fields {
                    set.add(f, "this record", diags);
                }
                Type::Record(Arc::new(set))
            }
            TypeExprKind::Union(alts) => {
                let mut out = Vec::new();
                for a in alts {
                    out.push(Type::resolve(a, diags)?);
                }
                Type::Union(out)
            }
        })
    }

    /// Resolves a relation column type (`entity`, `money`...), as schema declarations resolve
    /// a single name; `None` for an unknown name.
    pub fn of_column(name: &str) -> Option<Type> {
        let t = TypeExpr {
            kind: TypeExprKind::Name(crate::syntax::Ident {
                name: Arc::from(name),
                span: Span::none(),
            }),
            span: Span::none(),
        };
        Type::resolve(&t, &mut Vec::new())
    }

    /// The type of a value, as far as it shows.
    pub fn of_value(v: &Value) -> Type {
        match v {
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::Percent(_) => Type::Ratio,
            Value::Money(_) => Type::Money,
            Value::Quantity(q) => match q.unit {
                Unit::Plain(u) => Type::Quantity(Some(u.dimension)),
                Unit::MoneyPer(..) => Type::Price,
            },
            Value::Date(_) => Type::Date,
            Value::Timestamp(_) => Type::Timestamp,
            Value::Text(_) => Type::Text,
            Value::Symbol(..) => Type::Symbol,
            Value::List(items) => {
                let mut types = items.iter().map(Type::of_value);
                match types.next() {
                    Some(first) if types.all(|t| t == first) => Type::List(Box::new(first)),
                    _ => Type::List(Box::new(Type::Any)),
                }
            }
            Value::Record(_) => Type::Any,
        }
    }

    /// Whether values of this type are names (symbols, text, ids).
    fn is_name(&self) -> bool {
        matches!(
            self,
            Type::Text | Type::Symbol | Type::Enum(_) | Type::Entity | Type::Deal
        )
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Any => f.write_str("any value"),
            Type::Bool => f.write_str("true or false"),
            Type::Number => f.write_str("a number"),
            Type::Ratio => f.write_str("a ratio (`10%` or `0.1`)"),
            Type::Money => f.write_str("money"),
            Type::Price => f.write_str("a price (money per unit)"),
            Type::Quantity(None) => f.write_str("a quantity"),
            Type::Quantity(Some(Dimension::Count(what))) => write!(f, "a count of {what}"),
            Type::Quantity(Some(d)) => write!(f, "a quantity of {d}"),
            Type::Count => f.write_str("a count"),
            Type::Date => f.write_str("a date"),
            Type::Timestamp => f.write_str("a timestamp"),
            Type::Text => f.write_str("text"),
            Type::Symbol => f.write_str("a name"),
            Type::Enum(names) => {
                let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
                write!(f, "one of {}", names.join(", "))
            }
            Type::Entity => f.write_str("an entity id"),
            Type::Deal => f.write_str("a deal id"),
            Type::List(t) => write!(f, "a list of {t}"),
            Type::Record(_) => f.write_str("a record"),
            Type::Union(alts) => {
                let alts: Vec<String> = alts.iter().map(ToString::to_string).collect();
                f.write_str(&alts.join(" or "))
            }
        }
    }
}

/// A declared field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    /// The field name, or the suffix of a pattern (`_text` for `*_text`).
    pub name: Name,
    /// Its type.
    pub ty: Type,
    /// Whether every fact of the kind must have it.
    pub required: bool,
    /// What it means.
    pub doc: Option<String>,
    /// Where it was declared.
    pub span: Span,
}

/// The fields of one kind (or of a record type): by name, and patterns by suffix.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldSet {
    /// Fields by exact name, in declaration order.
    pub fields: crate::hash::FastMap<Name, FieldDef>,
    /// `*suffix` patterns, in declaration order.
    pub patterns: Vec<FieldDef>,
}

impl FieldSet {
    fn add(&mut self, spec: &FieldSpec, owner: &str, diags: &mut Vec<Diagnostic>) {
        let Some(ty) = Type::resolve(&spec.ty, diags) else {
            return;
        };
        let (name, pattern) = match spec.name.name.strip_prefix('*') {
            Some(suffix) => (Arc::from(suffix), true),
            None => (spec.name.name.clone(), false),
        };
        let def = FieldDef {
            name: name.clone(),
            ty,
            required: spec.required && !pattern,
            doc: spec.doc.as_ref().map(|d| d.text.clone()),
            span: spec.name.span,
        };
        let first = if pattern {
            self.patterns.iter().find(|p| p.name == name)
        } else {
            self.fields.get(&name)
        };
        if let Some(first) = first {
            diags.push(
                Diagnostic::error(
                    Code::SchemaConflict,
                    format!("field `{}` of {owner} is declared twice", spec.name.name),
                    spec.name.span,
                    "declared again here",
                )
                .with_label(first.span, "first declared here")
                .with_help(
                    "declare each field once; an extension may add fields, not redeclare them",
                ),
            );
            return;
        }
        if pattern {
            self.patterns.push(def);
        } else {
            self.fields.insert(name, def);
        }
    }

    /// The declaration that covers field `name`: its own, or the first matching pattern.
    pub fn get(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .get(name)
            .or_else(|| self.patterns.iter().find(|p| name.ends_with(&*p.name)))
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(|k| &**k)
    }
}

/// The schema of one deal kind or entity type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KindSchema {
    /// What the kind is, in words.
    pub title: Option<String>,
    /// Its fields.
    pub fields: FieldSet,
    /// Where it was first declared.
    pub span: Span,
}

/// The schema of deals or of entities.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TargetSchema {
    /// Whether any schema declaration exists for this target.
    pub declared: bool,
    /// Fields that every fact of the target may have.
    pub common: FieldSet,
    /// Each kind (deals) or type (entities) by name.
    pub kinds: crate::hash::FastMap<Name, KindSchema>,
}

/// The schema of a program: what deals and entities look like.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    /// Deals, by `kind`.
    pub deals: TargetSchema,
    /// Entities, by `type`.
    pub entities: TargetSchema,
    /// The column types of each declared relation.
    pub relations: IndexMap<Name, Vec<(Name, Type)>>,
}

/// What a field lookup found.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    /// No schema is declared for the target: anything goes.
    Undeclared,
    /// The field's type (a union when the possible kinds disagree).
    Found(Type),
    /// No possible kind declares the field; the names that exist, for "did you mean".
    Unknown(Vec<Name>),
}

impl Schema {
    /// Adds a declaration. Fields declared twice and unknown types are reported.
    pub fn add(&mut self, decl: &SchemaDecl, diags: &mut Vec<Diagnostic>) {
        let target = self.target_mut(&decl.target);
        target.declared = true;
        let (set, owner) = match &decl.kind {
            None => (
                &mut target.common,
                format!("every {}", decl.target.keyword()),
            ),
            Some(kind) => {
                let k = target
                    .kinds
                    .entry(kind.name.clone())
                    .or_insert_with(|| KindSchema {
                        title: None,
                        fields: FieldSet::default(),
                        span: kind.span,
                    });
                if k.title.is_none() {
                    k.title = decl.title.as_ref().map(|t| t.text.clone());
                }
                (
                    &mut k.fields,
                    format!("{} `{}`", decl.target.keyword(), kind.name),
                )
            }
        };
        for f in &decl.fields {
            set.add(f, &owner, diags);
        }
    }

    fn target_mut(&mut self, target: &FactKind) -> &mut TargetSchema {
        match target {
            FactKind::Entity => &mut self.entities,
            _ => &mut self.deals,
        }
    }

    /// The schema of deals or of entities; `None` for relation rows.
    pub fn target(&self, target: &FactKind) -> Option<&TargetSchema> {
        match target {
            FactKind::Entity => Some(&self.entities),
            FactKind::Deal => Some(&self.deals),
            FactKind::Row(_) => None,
        }
    }

    /// Whether a schema is declared for deals or for entities.
    pub fn is_declared(&self, target: &FactKind) -> bool {
        self.target(target).is_some_and(|t| t.declared)
    }

    /// The type of field `field` of a fact of `target` whose kind is one of `kinds` (any kind
    /// when `None`).
    pub fn field(&self, target: &FactKind, kinds: Option<&[Name]>, field: &str) -> Lookup {
        let Some(t) = self.target(target).filter(|t| t.declared) else {
            return Lookup::Undeclared;
        };
        match field {
            "id" => return Lookup::Found(Type::Symbol),
            "title" => return Lookup::Found(Type::Text),
            _ => {}
        }
        if field == discriminator(target) && !t.kinds.is_empty() {
            return Lookup::Found(Type::Enum(t.kinds.keys().cloned().collect()));
        }
        let mut found: Vec<Type> = Vec::new();
        let push = |found: &mut Vec<Type>, ty: &Type| {
            if !found.contains(ty) {
                found.push(ty.clone());
            }
        };
        let selected: Vec<&KindSchema> = match kinds {
            Some(ks) => ks.iter().filter_map(|k| t.kinds.get(k)).collect(),
            None => t.kinds.values().collect(),
        };
        for k in &selected {
            if let Some(d) = k.fields.get(field) {
                push(&mut found, &d.ty);
            }
        }
        if let (true, Some(d)) = (found.is_empty(), t.common.get(field)) {
            push(&mut found, &d.ty);
        }
        match found.len() {
            0 => {
                let mut names: Vec<Name> = t.common.fields.keys().cloned().collect();
                for k in &selected {
                    names.extend(k.fields.fields.keys().cloned());
                }
                Lookup::Unknown(names)
            }
            1 => Lookup::Found(found.pop().unwrap_or(Type::Any)),
            _ => Lookup::Found(Type::Union(found)),
        }
    }

    /// Validates every fact against the schema: unknown kinds and fields, wrong types, missing
    /// required fields, references to undeclared entities or deals.
    pub fn validate(&self, facts: &FactBase, diags: &mut Vec<Diagnostic>) {
        let mut plans = Plans::default();
        for (_, fact) in facts.iter() {
            if let Some(t) = self.target(fact.kind()).filter(|t| t.declared) {
                Validator { facts, diags }.fact(fact, t, &mut plans);
            }
        }
    }
}

struct Validator<'a> {
    facts: &'a FactBase,
    diags: &'a mut Vec<Diagnostic>,
}

/// What the schema says of every fact with one layout of field names (the same names in the
/// same order, [`FieldMap::layout_number`](crate::facts::FieldMap)) and one kind, worked out
/// once for the first such fact: by (entity or deal, layout, the kind's position in the schema).
type Plans<'s> = crate::hash::FastMap<(bool, u32, Option<usize>), Plan<'s>>;

/// See [`Plans`].
struct Plan<'s> {
    /// The definition of each field, in the fact's order; `None` for the kind's own field.
    defs: Vec<Option<&'s FieldDef>>,
    /// Whether every field is declared and every required field is there: then only the
    /// values remain to be checked against their types.
    clean: bool,
}

impl<'s> Plan<'s> {
    fn new(
        fact: FactView<'_>,
        t: &'s TargetSchema,
        kind: Option<&'s KindSchema>,
        disc: &str,
    ) -> Self {
        let mut defs = Vec::with_capacity(fact.fields().len());
        let mut clean = true;
        for (name, _) in fact.fields().iter() {
            if **name == *disc && kind.is_some() {
                defs.push(None);
                continue;
            }
            let def = definition(t, kind, name);
            clean &= def.is_some();
            defs.push(def);
        }
        clean &= required(t, kind, disc).all(|d| fact.fields().contains_key(&d.name));
        Plan { defs, clean }
    }
}

/// The definition of field `name` of a fact of kind `kind` (its kind's own, else the common
/// one), if the schema declares it.
fn definition<'s>(
    t: &'s TargetSchema,
    kind: Option<&'s KindSchema>,
    name: &str,
) -> Option<&'s FieldDef> {
    kind.and_then(|k| k.fields.get(name))
        .or_else(|| t.common.get(name))
}

/// The fields every fact of kind `kind` must have, but for the kind's own field `disc`.
fn required<'s>(
    t: &'s TargetSchema,
    kind: Option<&'s KindSchema>,
    disc: &'s str,
) -> impl Iterator<Item = &'s FieldDef> {
    kind.into_iter()
        .flat_map(|k| k.fields.fields.values())
        .chain(t.common.fields.values())
        .filter(move |d| d.required && *d.name != *disc)
}

/// Why a value does not fit a type.
enum Misfit {
    /// The value is of another type.
    Type { expected: String, found: String },
    /// A symbol that names no declared entity or deal (`actual`: it names a fact of the other
    /// kind).
    Reference {
        what: &'static str,
        name: Name,
        actual: Option<&'static str>,
    },
    /// A symbol outside an enum.
    NotInEnum { name: Name, options: Vec<Name> },
    /// A record field that the record type does not declare.
    UnknownField { name: Name, known: Vec<Name> },
    /// A record without one of its required fields.
    Missing { name: Name },
}

impl Validator<'_> {
    fn fact<'s>(&mut self, fact: FactView<'_>, t: &'s TargetSchema, plans: &mut Plans<'s>) {
        let what = fact.kind().keyword();
        let disc = discriminator(fact.kind());
        // The fact's kind (`investment`) and its schema, when the schema declares kinds.
        let mut kind: Option<(&str, &KindSchema)> = None;
        if !t.kinds.is_empty() {
            match fact.fields().get(disc) {
                None => {
                    // `typ: company`: a misspelt `type` says more than "missing".
                    let close = fact
                        .fields()
                        .iter()
                        .find(|(n, _)| did_you_mean(n, [disc]).is_some());
                    let help = match close {
                        Some((n, _)) => format!("`{n}` here: did you mean `{disc}`?"),
                        None => format!(
                            "add `{disc}: ...`; the declared {}s are: {}",
                            if disc == "kind" { "kind" } else { "type" },
                            join(t.kinds.keys())
                        ),
                    };
                    let mut d = Diagnostic::error(
                        Code::MissingField,
                        format!("{what} `{}` has no `{disc}`", fact.id()),
                        fact.span(),
                        format!("this {what}"),
                    )
                    .with_help(help);
                    if let Some((n, f)) = close {
                        d = d.with_label(f.name_span, format!("`{n}`"));
                    }
                    self.diags.push(d);
                    return;
                }
                Some(field) => {
                    let name = field.value.as_name().unwrap_or_default();
                    match t.kinds.get(name) {
                        Some(k) => {
                            kind = Some((name, k));
                        }
                        None => {
                            let label = if disc == "kind" {
                                "deal kind"
                            } else {
                                "entity type"
                            };
                            let mut d = Diagnostic::error(
                                Code::UnknownKind,
                                format!("unknown {label} `{}`", field.value),
                                field.span,
                                format!("no schema declares this {label}"),
                            );
                            d.help = did_you_mean(name, t.kinds.keys().map(|k| &**k)).or_else(|| {
                                Some(format!(
                                    "the declared {label}s are: {}; declare a new one with `schema {what} {name} {{ ... }}`",
                                    join(t.kinds.keys())
                                ))
                            });
                            self.diags.push(d);
                            return;
                        }
                    }
                }
            }
        }
        // ` (investment)`, after a deal's id in a message.
        let kind_name = || kind.map_or(String::new(), |(name, _)| format!(" ({name})"));
        let kind_number = kind.and_then(|(name, _)| t.kinds.get_index_of(name));
        let kind = kind.map(|(_, k)| k);
        // A fact laid out like one seen before, whose fields are all declared and whose required
        // fields are all there: only its values are checked.
        if let Some(layout) = fact.fields().layout_number() {
            let key = (*fact.kind() == FactKind::Entity, layout, kind_number);
            let plan = plans
                .entry(key)
                .or_insert_with(|| Plan::new(fact, t, kind, disc));
            if plan.clean {
                for ((name, field), def) in fact.fields().iter().zip(&plan.defs) {
                    if let Some(def) = def
                        && let Err(m) = self.fits(&def.ty, field.value)
                    {
                        self.misfit(m, fact, name, field.span, &def.ty);
                    }
                }
                return;
            }
        }
        for (name, field) in fact.fields().iter() {
            if **name == *disc && kind.is_some() {
                continue;
            }
            let Some(def) = definition(t, kind, name) else {
                let mut known: Vec<&str> = t.common.names().collect();
                if let Some(k) = kind {
                    known.extend(k.fields.names());
                }
                let kind_name = kind_name();
                let mut d = Diagnostic::error(
                    Code::UnknownField,
                    format!(
                        "{what} `{}`{kind_name} has no field `{name}` in the schema",
                        fact.id()
                    ),
                    field.name_span,
                    "unknown field",
                );
                d.help = did_you_mean(name, known.iter().copied()).or_else(|| {
                    Some(format!(
                        "declare it in a `schema {what}{}` block, or check the spelling",
                        kind_name
                            .trim_start()
                            .trim_start_matches('(')
                            .trim_end_matches(')')
                            .split_whitespace()
                            .next()
                            .map_or(String::new(), |k| format!(" {k}"))
                    ))
                });
                self.diags.push(d);
                continue;
            };
            if let Err(m) = self.fits(&def.ty, field.value) {
                self.misfit(m, fact, name, field.span, &def.ty);
            }
        }
        for def in required(t, kind, disc) {
            if !fact.fields().contains_key(&def.name) {
                let mut d = Diagnostic::error(
                    Code::MissingField,
                    format!(
                        "{what} `{}`{} has no `{}`, which is required",
                        fact.id(),
                        kind_name(),
                        def.name
                    ),
                    fact.span(),
                    format!("this {what}"),
                )
                .with_label(def.span, "required here");
                d.help = Some(match &def.doc {
                    Some(doc) => format!("add `{}: ...` ({}: {doc})", def.name, def.ty),
                    None => format!("add `{}: ...` ({})", def.name, def.ty),
                });
                self.diags.push(d);
            }
        }
    }

    fn misfit(&mut self, m: Misfit, fact: FactView<'_>, field: &str, span: Span, ty: &Type) {
        let what = fact.kind().keyword();
        let d = match m {
            Misfit::Type { expected, found } => Diagnostic::error(
                Code::WrongType,
                format!(
                    "field `{field}` of {what} `{}` should be {expected}, not {found}",
                    fact.id()
                ),
                span,
                format!("{found} here"),
            )
            .with_help(format!("the schema declares `{field}` as {ty}")),
            Misfit::Reference {
                what: target,
                name,
                actual: Some(actual),
            } => Diagnostic::error(
                Code::UnknownReference,
                format!(
                    "`{name}` in field `{field}` of `{}` is {}, not {}",
                    fact.id(),
                    with_article(actual),
                    with_article(target)
                ),
                span,
                format!("the id of {}", with_article(actual)),
            )
            .with_help(format!("the schema declares `{field}` as {ty}")),
            Misfit::Reference {
                what: target, name, ..
            } => {
                let ids: Vec<Name> = self
                    .facts
                    .iter()
                    .filter(|(_, f)| f.kind().keyword() == target)
                    .map(|(_, f)| f.id().into_owned())
                    .collect();
                let ids = ids.iter().map(|n| &**n);
                let mut d = Diagnostic::error(
                    Code::UnknownReference,
                    format!(
                        "`{name}` in field `{field}` of `{}` is not a declared {target}",
                        fact.id()
                    ),
                    span,
                    format!("no {target} has this id"),
                );
                d.help = did_you_mean(&name, ids)
                    .or_else(|| Some(format!("declare it: `{target} {name} {{ ... }}`")));
                d
            }
            Misfit::NotInEnum { name, options } => {
                let mut d = Diagnostic::error(
                    Code::NotInEnum,
                    format!(
                        "`{name}` is not allowed in field `{field}` of `{}`",
                        fact.id()
                    ),
                    span,
                    "not one of the declared values",
                );
                d.help = did_you_mean(&name, options.iter().map(|o| &**o))
                    .or_else(|| Some(format!("the values are: {}", join(options.iter()))));
                d
            }
            Misfit::UnknownField { name, known } => {
                let mut d = Diagnostic::error(
                    Code::UnknownField,
                    format!(
                        "a record in field `{field}` of `{}` has an undeclared field `{name}`",
                        fact.id()
                    ),
                    span,
                    "in this value",
                );
                d.help = did_you_mean(&name, known.iter().map(|k| &**k))
                    .or_else(|| Some(format!("the record's fields are: {}", join(known.iter()))));
                d
            }
            Misfit::Missing { name } => Diagnostic::error(
                Code::MissingField,
                format!(
                    "a record in field `{field}` of `{}` has no `{name}`, which is required",
                    fact.id()
                ),
                span,
                "in this value",
            ),
        };
        self.diags.push(d);
    }

    /// Whether `v` is a value of type `ty`.
    fn fits(&self, ty: &Type, v: &Value) -> Result<(), Misfit> {
        let wrong = || {
            Err(Misfit::Type {
                expected: ty.to_string(),
                found: v.describe(),
            })
        };
        match (ty, v) {
            (Type::Any, _)
            | (Type::Bool, Value::Bool(_))
            | (Type::Number, Value::Number(_))
            | (Type::Ratio, Value::Number(_) | Value::Percent(_))
            | (Type::Money, Value::Money(_))
            | (Type::Date, Value::Date(_))
            | (Type::Timestamp, Value::Timestamp(_))
            | (Type::Text, Value::Text(_))
            | (Type::Symbol, Value::Symbol(..)) => Ok(()),
            (Type::Price, Value::Quantity(q)) if matches!(q.unit, Unit::MoneyPer(..)) => Ok(()),
            (Type::Quantity(d), Value::Quantity(q)) => match (d, q.unit) {
                (None, Unit::Plain(_)) => Ok(()),
                (Some(d), Unit::Plain(u)) if u.dimension == *d => Ok(()),
                _ => wrong(),
            },
            (Type::Count, Value::Quantity(q)) if matches!(q.unit, Unit::Plain(u) if matches!(u.dimension, Dimension::Count(_))) => {
                Ok(())
            }
            (Type::Enum(options), Value::Symbol(s, _)) => {
                if options.contains(s) {
                    Ok(())
                } else {
                    Err(Misfit::NotInEnum {
                        name: s.clone(),
                        options: options.clone(),
                    })
                }
            }
            (Type::Entity | Type::Deal, Value::Symbol(s, _) | Value::Text(s)) => {
                let (target, what) = if *ty == Type::Entity {
                    (FactKind::Entity, "entity")
                } else {
                    (FactKind::Deal, "deal")
                };
                let index = match v {
                    Value::Symbol(name, id) => self.facts.find_symbol(name, *id),
                    _ => self.facts.find(s),
                };
                let found = index.and_then(|i| self.facts.get(i));
                match found {
                    Some(f) if *f.kind() == target => Ok(()),
                    other => Err(Misfit::Reference {
                        what,
                        name: s.clone(),
                        actual: other.map(|f| {
                            if *f.kind() == FactKind::Entity {
                                "entity"
                            } else {
                                "deal"
                            }
                        }),
                    }),
                }
            }
            (Type::List(inner), Value::List(items)) => {
                items.iter().try_for_each(|i| self.fits(inner, i))
            }
            (Type::Record(set), Value::Record(fields)) => {
                for (name, value) in fields.iter() {
                    match set.get(name) {
                        Some(def) => self.fits(&def.ty, value)?,
                        None => {
                            return Err(Misfit::UnknownField {
                                name: name.clone(),
                                known: set.fields.keys().cloned().collect(),
                            });
                        }
                    }
                }
                match set
                    .fields
                    .values()
                    .find(|d| d.required && !fields.contains_key(&d.name))
                {
                    Some(d) => Err(Misfit::Missing {
                        name: d.name.clone(),
                    }),
                    None => Ok(()),
                }
            }
            (Type::Union(alts), _) => {
                let mut first = None;
                for a in alts {
                    match self.fits(a, v) {
                        Ok(()) => return Ok(()),
                        Err(m) => {
                            // A deeper problem (a bad reference, an enum value) says more than
                            // "wrong type".
                            if first.is_none() && !matches!(m, Misfit::Type { .. }) {
                                first = Some(m);
                            }
                        }
                    }
                }
                first.map_or_else(wrong, Err)
            }
            _ => wrong(),
        }
    }
}

/// `an entity`, `a deal`.
fn with_article(what: &str) -> String {
    format!("{} {what}", crate::diag::article(what))
}

fn join<'a>(names: impl Iterator<Item = &'a Name>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Type {
    /// Whether values of the two types can be compared with `==` or `<` (types not known
    /// statically compare with anything).
    pub fn comparable(&self, other: &Type) -> bool {
        use Type::*;
        match (self, other) {
            (Any, _) | (_, Any) => true,
            (Union(alts), t) | (t, Union(alts)) => alts.iter().any(|a| a.comparable(t)),
            (Number | Ratio, Number | Ratio) => true,
            (Money, Money) | (Price, Price) | (Date, Date) | (Bool, Bool) => true,
            (Timestamp, Timestamp) => true,
            (Quantity(a), Quantity(b)) => a.is_none() || b.is_none() || a == b,
            (Count, Count) => true,
            (Count, Quantity(d)) | (Quantity(d), Count) => {
                d.is_none() || matches!(d, Some(Dimension::Count(_)))
            }
            (List(a), List(b)) => a.comparable(b),
            (Record(_), Record(_)) => true,
            (a, b) => a.is_name() && b.is_name(),
        }
    }
}
