//! Editor services: what a language server answers about a set of deal and rule files —
//! diagnostics, hover, go to definition, document symbols, completion — in byte offsets and
//! [`Span`]s. The protocol itself (JSON-RPC, UTF-16 positions on the wire) is the command line's
//! `dealrules lsp`; this module reads no file: the host hands it every text, and makes a new
//! [`Analysis`] when one changes.
//!
//! An [`Analysis`] loads every document into an [`Engine`] as `dealrules check` does, so the
//! diagnostics are the same, and keeps each document's declarations (from the same parser) to
//! find names in.

pub mod position;

use crate::diag::FileId;
use crate::schema::{FieldSet, Lookup, Schema, Type};
use crate::syntax::{self, Expr, ExprKind, FactKind, Item, Pattern, RuleDecl};
use crate::value::{Name, Value};
use crate::{Diagnostic, Engine, SourceMap, Span};
use std::ops::Range;
use std::sync::Arc;

/// The documents of a workspace, loaded and checked together.
#[derive(Debug)]
pub struct Analysis {
    engine: Engine,
    files: Vec<Document>,
    diagnostics: Vec<Diagnostic>,
}

/// One loaded document and its declarations.
#[derive(Debug)]
struct Document {
    name: String,
    file: FileId,
    text: Arc<str>,
    items: Vec<Item>,
}

/// The answer to a hover: Markdown text about the name at a position, and the name's span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hover {
    /// What the name is, in Markdown.
    pub markdown: String,
    /// The name (or field path) hovered.
    pub span: Span,
}

/// What a [`Symbol`] declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    /// `rule`.
    Rule,
    /// `deal`.
    Deal,
    /// `entity`.
    Entity,
    /// `relation` or `derive`.
    Relation,
    /// `schema`.
    Schema,
    /// `test`.
    Test,
    /// `fx`.
    Fx,
    /// `defaults`: the pack's settings.
    Defaults,
}

/// One declaration of a document, for an outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    /// Its name (`vendor_financing`, `USD/CNY`, `deal investment`).
    pub name: String,
    /// Its title, when it has one.
    pub detail: Option<String>,
    /// What it declares.
    pub kind: SymbolKind,
    /// The whole declaration.
    pub span: Span,
    /// The name in the declaration.
    pub name_span: Span,
}

/// What a [`Completion`] inserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    /// A field of a binding (`inv.investor`).
    Field,
    /// A deal kind or entity type (`investment`).
    Kind,
}

/// One completion candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The text inserted.
    pub label: String,
    /// Its type or title.
    pub detail: Option<String>,
    /// Its documentation.
    pub documentation: Option<String>,
    /// What it is.
    pub kind: CompletionKind,
}

/// A name written in a rule: a binding of a `match` pattern or of `exists`, an aggregate or a
/// quantifier.
struct Binding<'a> {
    var: &'a syntax::Ident,
    kind: FactKind,
    filter: Option<&'a Expr>,
}

impl Analysis {
    /// Loads `documents` (a file name, used in locations, and its text) in order, then checks
    /// them together as [`Engine::check`] does.
    pub fn new(documents: impl IntoIterator<Item = (String, Arc<str>)>) -> Self {
        let mut engine = Engine::new();
        let mut diagnostics = Vec::new();
        let mut files = Vec::new();
        for (name, text) in documents {
            if let Err(e) = engine.load(name.clone(), text.clone()) {
                diagnostics.extend(e.diagnostics);
            }
            // The engine numbers its files in load order.
            let file = FileId::new(u32::try_from(files.len()).unwrap_or(u32::MAX));
            let (parsed, _) = syntax::parse(file, &text);
            files.push(Document {
                name,
                file,
                text,
                items: parsed.items,
            });
        }
        diagnostics.extend(engine.check());
        crate::diag::sort(&mut diagnostics);
        Analysis {
            engine,
            files,
            diagnostics,
        }
    }

    /// The loaded texts, to turn spans into file names and positions.
    pub fn sources(&self) -> &SourceMap {
        self.engine.sources()
    }

    /// The text of document `name`, if it is loaded.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.document(name).map(|d| &*d.text)
    }

    fn document(&self, name: &str) -> Option<&Document> {
        self.files.iter().find(|d| d.name == name)
    }

    fn schema(&self) -> &Schema {
        self.engine.schema()
    }

    /// Every diagnostic whose primary span is in document `name` (errors and warnings of
    /// loading and checking, as `dealrules check` prints them), sorted by position.
    pub fn diagnostics(&self, name: &str) -> Vec<&Diagnostic> {
        let Some(doc) = self.document(name) else {
            return Vec::new();
        };
        self.diagnostics
            .iter()
            .filter(|d| d.span().and_then(|s| s.file) == Some(doc.file))
            .collect()
    }

    /// The declarations of document `name`, in written order.
    pub fn symbols(&self, name: &str) -> Vec<Symbol> {
        let Some(doc) = self.document(name) else {
            return Vec::new();
        };
        let title = |t: &Option<syntax::Text>| t.as_ref().map(|t| t.text.clone());
        let symbol = |name: String, detail, kind, span, name_span| Symbol {
            name,
            detail,
            kind,
            span,
            name_span,
        };
        doc.items
            .iter()
            .map(|item| match item {
                Item::Rule(r) => symbol(
                    r.id.name.to_string(),
                    title(&r.title),
                    SymbolKind::Rule,
                    r.span,
                    r.id.span,
                ),
                Item::Fact(f) => symbol(
                    f.id.name.to_string(),
                    title(&f.title),
                    match f.kind {
                        FactKind::Entity => SymbolKind::Entity,
                        _ => SymbolKind::Deal,
                    },
                    f.span,
                    f.id.span,
                ),
                Item::Relation(r) => symbol(
                    r.name.name.to_string(),
                    Some("relation".into()),
                    SymbolKind::Relation,
                    r.span,
                    r.name.span,
                ),
                Item::Derive(d) => symbol(
                    d.relation.name.to_string(),
                    Some("derive".into()),
                    SymbolKind::Relation,
                    d.span,
                    d.relation.span,
                ),
                Item::Schema(s) => symbol(
                    match &s.kind {
                        Some(k) => format!("{} {}", s.target.keyword(), k.name),
                        None => s.target.keyword().to_string(),
                    },
                    title(&s.title),
                    SymbolKind::Schema,
                    s.span,
                    s.kind.as_ref().map_or(s.span, |k| k.span),
                ),
                Item::Test(t) => symbol(
                    t.name.name.to_string(),
                    title(&t.title),
                    SymbolKind::Test,
                    t.span,
                    t.name.span,
                ),
                Item::Fx(x) => symbol(
                    format!("{}/{}", x.base, x.quote),
                    Some(x.rate.to_string()),
                    SymbolKind::Fx,
                    x.span,
                    x.span,
                ),
                Item::Defaults(d) => symbol(
                    "defaults".into(),
                    {
                        let settings: Vec<&str> = [&d.timezone, &d.fiscal_year_end]
                            .into_iter()
                            .flatten()
                            .map(|t| t.text.as_str())
                            .collect();
                        (!settings.is_empty()).then(|| settings.join(", "))
                    },
                    SymbolKind::Defaults,
                    d.span,
                    d.keyword,
                ),
            })
            .collect()
    }

    /// What the name at byte `offset` of document `name` is: a field path's type and unit from
    /// the schema, an entity's or deal's title and place, a rule's title, severity and
    /// reference, a relation's columns, a parameter's default.
    pub fn hover(&self, name: &str, offset: usize) -> Option<Hover> {
        let doc = self.document(name)?;
        let (path, spans) = path_at(&doc.text, offset)?;
        let span = |r: Range<usize>| Span::new(doc.file, r);
        let last = spans.last()?.clone();
        let word: &str = path.last()?;
        let rule = enclosing_rule(&doc.items, offset);
        if let Some(rule) = rule {
            let bindings = bindings(rule);
            if let Some(b) = path
                .first()
                .and_then(|v| find_binding(&bindings, v, offset))
            {
                let whole = span(spans.first()?.start..last.end);
                let written = path.join(".");
                let (target, kinds) = (b.kind.clone(), kinds_of(b));
                if path.len() == 1 {
                    let of = match &kinds {
                        Some(k) if !k.is_empty() => format!(
                            " ({} {})",
                            crate::schema::discriminator(&target),
                            k.iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(" or ")
                        ),
                        _ => String::new(),
                    };
                    return Some(Hover {
                        markdown: format!("`{written}`: {}{of}", describe_kind(&target)),
                        span: whole,
                    });
                }
                let (ty, def) = self.field_type(target, kinds, path.get(1..)?)?;
                let mut markdown = format!("`{written}`: {ty}{}", units(&ty));
                if let Some(def) = def {
                    if let Some(d) = &def.doc {
                        markdown.push_str(&format!("\n\n{d}"));
                    }
                    if let Some(l) = self.sources().location(def.span) {
                        markdown.push_str(&format!("\n\ndeclared at `{}:{}`", l.file, l.line));
                    }
                }
                return Some(Hover {
                    markdown,
                    span: whole,
                });
            }
            if path.len() == 1
                && let Some(p) = rule.params.iter().find(|p| &*p.name.name == word)
            {
                return Some(Hover {
                    markdown: format!(
                        "parameter `{word}` of rule `{}` = `{}`",
                        rule.id.name, p.value
                    ),
                    span: span(last),
                });
            }
        }
        if path.len() != 1 {
            return None;
        }
        // The keyword or a setting of `defaults`: the pack's settings, as every rule takes them.
        if let Some(Item::Defaults(d)) = enclosing(&doc.items, offset) {
            return Some(Hover {
                markdown: self.describe_defaults(),
                span: if d.keyword.range().contains(&offset) {
                    d.keyword
                } else {
                    span(last)
                },
            });
        }
        // A field name written in an entity or deal.
        if let Some(Item::Fact(f)) = enclosing(&doc.items, offset)
            && let Some(field) = f
                .fields
                .iter()
                .find(|x| x.name.span.range().contains(&offset))
        {
            let kinds = f
                .fields
                .iter()
                .find(|x| *x.name.name == *crate::schema::discriminator(&f.kind))
                .and_then(|x| x.value.as_name().map(Name::from))
                .map(|k| vec![k]);
            let (ty, def) = self.field_type(
                f.kind.clone(),
                kinds,
                std::slice::from_ref(&field.name.name),
            )?;
            let mut markdown = format!("`{}`: {ty}{}", field.name.name, units(&ty));
            if let Some(d) = def.and_then(|d| d.doc.as_ref()) {
                markdown.push_str(&format!("\n\n{d}"));
            }
            return Some(Hover {
                markdown,
                span: field.name.span,
            });
        }
        let markdown = self.describe_name(word)?;
        Some(Hover {
            markdown,
            span: span(last),
        })
    }

    /// The pack's settings (`defaults`), each with where it is declared, in Markdown.
    fn describe_defaults(&self) -> String {
        let defaults = self.engine.defaults();
        let mut md = String::from(
            "**defaults** of the rule pack: taken by every rule that does not set its own",
        );
        for (name, setting) in [
            ("timezone", &defaults.timezone),
            ("fiscal_year_end", &defaults.fiscal_year_end),
        ] {
            let Some(t) = setting else { continue };
            let at = self
                .sources()
                .location(t.span)
                .map(|l| format!(" (`{}:{}`)", l.file, l.line))
                .unwrap_or_default();
            md.push_str(&format!("\n\n{name}: {}{at}", t.text));
        }
        md
    }

    /// A rule, fact, relation or schema kind named `word`, in Markdown.
    fn describe_name(&self, word: &str) -> Option<String> {
        let at = |s: Span| {
            self.sources()
                .location(s)
                .map(|l| format!("\n\n`{}:{}`", l.file, l.line))
                .unwrap_or_default()
        };
        for doc in &self.files {
            for item in &doc.items {
                match item {
                    Item::Rule(r) if &*r.id.name == word => {
                        let mut md = format!("**rule `{word}`**");
                        if let Some(t) = &r.title {
                            md.push_str(&format!(" {}", t.text));
                        }
                        md.push_str(&format!("\n\nseverity: {}", r.severity));
                        if let Some(reference) = &r.reference {
                            md.push_str(&format!("\n\nreference: {}", reference.text));
                        }
                        md.push_str(&at(r.id.span));
                        return Some(md);
                    }
                    Item::Fact(f) if &*f.id.name == word => {
                        let mut md = format!("**{} `{word}`**", f.kind.keyword());
                        if let Some(t) = &f.title {
                            md.push_str(&format!(" {}", t.text));
                        }
                        let disc = crate::schema::discriminator(&f.kind);
                        if let Some(k) = f.fields.iter().find(|x| &*x.name.name == disc) {
                            md.push_str(&format!("\n\n{disc}: {}", k.value));
                        }
                        md.push_str(&at(f.id.span));
                        return Some(md);
                    }
                    Item::Relation(r) if &*r.name.name == word => {
                        let columns: Vec<String> = r
                            .columns
                            .iter()
                            .map(|(c, t)| format!("{}: {}", c.name, t.name))
                            .collect();
                        let md = format!("**relation `{word}`**({})", columns.join(", "));
                        return Some(md + &at(r.name.span));
                    }
                    _ => {}
                }
            }
        }
        for target in [FactKind::Deal, FactKind::Entity] {
            if let Some(k) = self
                .schema()
                .target(&target)
                .and_then(|t| t.kinds.get(word))
            {
                let mut md = format!(
                    "**{} {} `{word}`**",
                    target.keyword(),
                    crate::schema::discriminator(&target)
                );
                if let Some(t) = &k.title {
                    md.push_str(&format!(" {t}"));
                }
                return Some(md + &at(k.span));
            }
        }
        None
    }

    /// The type of the field at the end of `fields`, read from a fact of `target` whose kind is
    /// one of `kinds`, and its declaration when one field declares it.
    fn field_type(
        &self,
        mut target: FactKind,
        mut kinds: Option<Vec<Name>>,
        fields: &[Name],
    ) -> Option<(Type, Option<&crate::schema::FieldDef>)> {
        let schema = self.schema();
        let mut record: Option<&FieldSet> = None;
        let mut found = None;
        for (i, field) in fields.iter().enumerate() {
            let (ty, def) = match record {
                Some(set) => {
                    let def = set.get(field)?;
                    (def.ty.clone(), Some(def))
                }
                None => match schema.field(&target, kinds.as_deref(), field) {
                    Lookup::Found(ty) => (ty, self.field_def(&target, kinds.as_deref(), field)),
                    Lookup::Undeclared | Lookup::Unknown(_) => return None,
                },
            };
            if i + 1 < fields.len() {
                record = None;
                kinds = None;
                match &ty {
                    Type::Entity => target = FactKind::Entity,
                    Type::Deal => target = FactKind::Deal,
                    Type::Record(_) => {
                        // The record's fields, borrowed from the schema.
                        record = match def.map(|d| &d.ty) {
                            Some(Type::Record(set)) => Some(&**set),
                            _ => return None,
                        };
                    }
                    _ => return None,
                }
            }
            found = Some((ty, def));
        }
        found
    }

    /// The declaration of field `field` of `target` when exactly one kind (or the common
    /// fields) declares it.
    fn field_def(
        &self,
        target: &FactKind,
        kinds: Option<&[Name]>,
        field: &str,
    ) -> Option<&crate::schema::FieldDef> {
        let t = self.schema().target(target)?;
        let mut defs = t
            .kinds
            .iter()
            .filter(|(k, _)| kinds.is_none_or(|ks| ks.contains(k)))
            .filter_map(|(_, k)| k.fields.get(field));
        match (defs.next(), defs.next()) {
            (Some(d), None) => Some(d),
            (None, _) => t.common.get(field),
            _ => None,
        }
    }

    /// Where the name at byte `offset` of document `name` is declared: a binding, parameter or
    /// `let` of the enclosing rule, a rule, entity, deal, relation, deal kind or entity type, or
    /// (after a binding) a field of the schema.
    pub fn definition(&self, name: &str, offset: usize) -> Option<Span> {
        let doc = self.document(name)?;
        let (path, _) = path_at(&doc.text, offset)?;
        let word: &str = path.last()?;
        if let Some(rule) = enclosing_rule(&doc.items, offset) {
            let bindings = bindings(rule);
            if let Some(b) = path
                .first()
                .and_then(|v| find_binding(&bindings, v, offset))
            {
                if path.len() == 1 {
                    return Some(b.var.span);
                }
                let (_, def) = self.field_type(b.kind.clone(), kinds_of(b), path.get(1..)?)?;
                return def.map(|d| d.span);
            }
            if path.len() == 1 {
                if let Some(p) = rule.params.iter().find(|p| &*p.name.name == word) {
                    return Some(p.name.span);
                }
                if let Some(l) = rule.lets.iter().find(|l| &*l.name.name == word) {
                    return Some(l.name.span);
                }
            }
        }
        if path.len() != 1 {
            return None;
        }
        for doc in &self.files {
            for item in &doc.items {
                let found = match item {
                    Item::Rule(r) if &*r.id.name == word => r.id.span,
                    Item::Fact(f) if &*f.id.name == word => f.id.span,
                    Item::Relation(r) if &*r.name.name == word => r.name.span,
                    _ => continue,
                };
                return Some(found);
            }
        }
        [FactKind::Deal, FactKind::Entity]
            .iter()
            .find_map(|t| self.schema().target(t)?.kinds.get(word).map(|k| k.span))
    }

    /// Completions at byte `offset` of document `name`: the fields of a binding after
    /// `binding.` (from the schema, for the binding's kinds), and the deal kinds or entity
    /// types after `kind:`, `type:`, `.kind ==` or `.kind in [`.
    pub fn completions(&self, name: &str, offset: usize) -> Vec<Completion> {
        let Some(doc) = self.document(name) else {
            return Vec::new();
        };
        let text = &*doc.text;
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = text.get(..offset).unwrap_or("");
        let start = before.trim_end_matches(is_word_char).len();
        let head = before.get(..start).unwrap_or("");
        if head.ends_with('.') {
            return self.field_completions(doc, head).unwrap_or_default();
        }
        let line = head.rsplit('\n').next().unwrap_or("").trim_end();
        // `kind:`, `x.kind ==`, `x.kind !=`, or `x.kind in [a, ` (an open list).
        let operand = match line
            .strip_suffix("==")
            .or_else(|| line.strip_suffix("!="))
            .or_else(|| line.strip_suffix(':'))
        {
            Some(before) => before,
            None => match line.rsplit_once('[') {
                Some((before, list)) if !list.contains(']') => {
                    before.trim_end().strip_suffix("in").unwrap_or("")
                }
                _ => "",
            },
        };
        let line = operand;
        let target = match line.trim_end().rsplit(|c: char| !is_word_char(c)).next() {
            Some("kind") => FactKind::Deal,
            Some("type") => FactKind::Entity,
            _ => return Vec::new(),
        };
        let Some(t) = self.schema().target(&target) else {
            return Vec::new();
        };
        t.kinds
            .iter()
            .map(|(k, s)| Completion {
                label: k.to_string(),
                detail: s.title.clone(),
                documentation: None,
                kind: CompletionKind::Kind,
            })
            .collect()
    }

    /// The fields of the path that `head` (text ending in `.`) ends with. The document is read
    /// again with a placeholder field after the dot, so that a rule being written parses.
    fn field_completions(&self, doc: &Document, head: &str) -> Option<Vec<Completion>> {
        let prefix = head.strip_suffix('.')?;
        let path_start = prefix
            .trim_end_matches(|c: char| is_word_char(c) || c == '.')
            .len();
        let path: Vec<Name> = prefix
            .get(path_start..)?
            .split('.')
            .map(Name::from)
            .collect();
        let rest = doc.text.get(head.len()..)?;
        let patched = format!("{head}{PLACEHOLDER}{rest}");
        let (parsed, _) = syntax::parse(doc.file, &patched);
        let rule = enclosing_rule(&parsed.items, head.len())?;
        let bindings = bindings(rule);
        let b = find_binding(&bindings, path.first()?, head.len())?;
        let (target, kinds) = match path.get(1..) {
            Some([]) | None => (b.kind.clone(), kinds_of(b)),
            Some(fields) => match self.field_type(b.kind.clone(), kinds_of(b), fields)?.0 {
                Type::Entity => (FactKind::Entity, None),
                Type::Deal => (FactKind::Deal, None),
                Type::Record(set) => return Some(field_items(&set)),
                _ => return None,
            },
        };
        let t = self.schema().target(&target)?;
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let sets = t
            .kinds
            .iter()
            .filter(|(k, _)| kinds.as_ref().is_none_or(|ks| ks.contains(k)))
            .map(|(_, k)| &k.fields)
            .chain([&t.common]);
        for set in sets {
            for item in field_items(set) {
                if seen.insert(item.label.clone()) {
                    out.push(item);
                }
            }
        }
        Some(out)
    }
}

/// The field name written after a dot while completing (never a real field).
const PLACEHOLDER: &str = "dealrules_completion";

fn field_items(set: &FieldSet) -> Vec<Completion> {
    set.fields
        .values()
        .map(|d| Completion {
            label: d.name.to_string(),
            detail: Some(d.ty.to_string()),
            documentation: d.doc.clone(),
            kind: CompletionKind::Field,
        })
        .collect()
}

/// The units a value of `ty` is written with (` (in `W`, `kW`, `MW`, `GW`)`), or nothing.
fn units(ty: &Type) -> String {
    let written = match ty {
        Type::Money => "a currency: `100B USD`".to_string(),
        Type::Price => "a currency per unit: `0.01 USD/share`".to_string(),
        Type::Quantity(Some(d)) => {
            let symbols: Vec<String> = crate::value::UNITS
                .iter()
                .filter(|u| u.dimension == *d)
                .map(|u| format!("`{}`", u.symbol))
                .collect();
            if symbols.is_empty() {
                return String::new();
            }
            symbols.join(", ")
        }
        _ => return String::new(),
    };
    format!(" (in {written})")
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The dotted path at `offset` up to the word under it (`inv.investor` on `investor` in
/// `inv.investor.sector`), with each word's byte range.
fn path_at(text: &str, offset: usize) -> Option<(Vec<Name>, Vec<Range<usize>>)> {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = text.get(..offset)?;
    let after = text.get(offset..)?;
    let end = offset + (after.len() - after.trim_start_matches(is_word_char).len());
    let mut start = before.trim_end_matches(is_word_char).len();
    if start == end {
        return None;
    }
    let mut ranges = Vec::new();
    ranges.push(start..end);
    // Earlier words joined by dots.
    loop {
        let head = text.get(..start)?;
        let Some(head) = head.strip_suffix('.') else {
            break;
        };
        let word_start = head.trim_end_matches(is_word_char).len();
        if word_start == head.len() {
            break;
        }
        ranges.insert(0, word_start..head.len());
        start = word_start;
    }
    let words = ranges
        .iter()
        .map(|r| text.get(r.clone()).map(Name::from))
        .collect::<Option<Vec<_>>>()?;
    // A path never starts with a digit (`1.5`).
    if words.first()?.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((words, ranges))
}

/// The declaration that contains byte `offset`.
fn enclosing(items: &[Item], offset: usize) -> Option<&Item> {
    items.iter().find(|i| {
        let r = i.span().range();
        r.start <= offset && offset <= r.end
    })
}

fn enclosing_rule(items: &[Item], offset: usize) -> Option<&RuleDecl> {
    match enclosing(items, offset)? {
        Item::Rule(r) => Some(r),
        _ => None,
    }
}

/// Every binding of a rule: its patterns, then those of `exists`, aggregates and quantifiers.
fn bindings(rule: &RuleDecl) -> Vec<Binding<'_>> {
    let mut out: Vec<Binding<'_>> = rule.patterns.iter().map(pattern_binding).collect();
    let exprs = rule
        .patterns
        .iter()
        .filter_map(|p| p.filter.as_ref())
        .chain(rule.lets.iter().map(|l| &l.expr))
        .chain(rule.when.as_ref())
        .chain(rule.message.parts.iter().filter_map(|p| match p {
            syntax::TemplatePart::Expr(e) => Some(e),
            syntax::TemplatePart::Text(_) => None,
        }));
    for e in exprs {
        local_bindings(e, &mut out);
    }
    out
}

fn pattern_binding(p: &Pattern) -> Binding<'_> {
    Binding {
        var: &p.var,
        kind: if p.cycle.is_some() {
            FactKind::Row(Name::from("cycle"))
        } else {
            p.kind.clone()
        },
        filter: p.filter.as_ref(),
    }
}

fn local_bindings<'a>(e: &'a Expr, out: &mut Vec<Binding<'a>>) {
    match &e.kind {
        ExprKind::Literal(_) | ExprKind::Path(_) => {}
        ExprKind::List(items) | ExprKind::Call(_, items) => {
            items.iter().for_each(|i| local_bindings(i, out));
        }
        ExprKind::Unary(_, a) => local_bindings(a, out),
        ExprKind::Binary(_, a, b) => {
            local_bindings(a, out);
            local_bindings(b, out);
        }
        ExprKind::Exists { var, kind, filter } => {
            out.push(Binding {
                var,
                kind: kind.clone(),
                filter: filter.as_deref(),
            });
            filter.iter().for_each(|f| local_bindings(f, out));
        }
        ExprKind::Aggregate {
            value,
            var,
            kind,
            filter,
            ..
        } => {
            out.push(Binding {
                var,
                kind: kind.clone(),
                filter: filter.as_deref(),
            });
            value
                .iter()
                .chain(filter)
                .for_each(|f| local_bindings(f, out));
        }
        ExprKind::Quantifier { list, cond, .. } => {
            local_bindings(list, out);
            local_bindings(cond, out);
        }
    }
}

/// The binding named `name` whose scope holds `offset`: the innermost local whose span
/// (from its filter) contains it, else a pattern binding.
fn find_binding<'a, 'b>(
    bindings: &'b [Binding<'a>],
    name: &str,
    offset: usize,
) -> Option<&'b Binding<'a>> {
    let named = bindings.iter().filter(|b| *b.var.name == *name);
    named
        .clone()
        .rfind(|b| {
            b.filter.is_some_and(|f| {
                let r = b.var.span.to(f.span).range();
                r.start <= offset && offset <= r.end
            })
        })
        .or_else(|| named.clone().next())
}

/// The kinds a binding can have, from the conjuncts `v.kind == k` and `v.kind in [a, b]` of its
/// filter (`None`: any kind).
fn kinds_of(b: &Binding<'_>) -> Option<Vec<Name>> {
    let disc = crate::schema::discriminator(&b.kind);
    let mut out: Option<Vec<Name>> = None;
    let mut conjuncts = Vec::new();
    fn split<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
        match &e.kind {
            ExprKind::Binary(syntax::BinaryOp::And, a, c) => {
                split(a, out);
                split(c, out);
            }
            _ => out.push(e),
        }
    }
    if let Some(f) = b.filter {
        split(f, &mut conjuncts);
    }
    let symbol = |e: &Expr| match &e.kind {
        ExprKind::Path(p) if p.len() == 1 => p.first().map(|i| i.name.clone()),
        ExprKind::Literal(Value::Symbol(s, _) | Value::Text(s)) => Some(s.clone()),
        _ => None,
    };
    for c in conjuncts {
        let ExprKind::Binary(op, a, other) = &c.kind else {
            continue;
        };
        let is_disc = matches!(&a.kind, ExprKind::Path(p)
            if p.len() == 2
                && p.first().is_some_and(|v| v.name == b.var.name)
                && p.get(1).is_some_and(|f| &*f.name == disc));
        if !is_disc {
            continue;
        }
        let kinds: Vec<Name> = match (op, &other.kind) {
            (syntax::BinaryOp::Eq, _) => symbol(other).into_iter().collect(),
            (syntax::BinaryOp::In, ExprKind::List(items)) => {
                items.iter().filter_map(symbol).collect()
            }
            _ => continue,
        };
        out = Some(match out {
            None => kinds,
            Some(prev) => prev.into_iter().filter(|k| kinds.contains(k)).collect(),
        });
    }
    out
}

fn describe_kind(kind: &FactKind) -> String {
    match kind {
        FactKind::Entity => "an entity".into(),
        FactKind::Deal => "a deal".into(),
        FactKind::Row(r) => format!("a row of `{r}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "schema deal investment \"An equity investment\" {\n  investor: entity required \"Who pays.\"\n  amount: money\n  capacity: power\n}\nschema deal purchase { buyer: entity  seller: entity }\nschema entity company { sector: symbol }\n";
    const DEALS: &str = "entity Société \"Société Générale\" { type: company }\nentity 甲骨文 { type: company }\ndeal loi \"A letter\" { kind: investment  investor: Société  amount: 5B USD }\n";
    const RULES: &str = "rule big \"Big investment\" {\n  severity: high\n  reference: \"ASC 606\"\n  param limit = 1B USD\n  match inv: deal where inv.kind == investment\n  when inv.amount > limit and inv.investor.sector == x and inv.capacity > 1 GW\n  flag \"{inv.investor}\"\n}\n";

    fn analysis() -> Analysis {
        Analysis::new([
            ("schema.rules".to_string(), Arc::from(SCHEMA)),
            ("a.deals".to_string(), Arc::from(DEALS)),
            ("a.rules".to_string(), Arc::from(RULES)),
        ])
    }

    fn at(text: &str, needle: &str) -> usize {
        text.find(needle).unwrap_or(usize::MAX)
    }

    #[test]
    fn hover_on_a_field_path_gives_its_type_and_doc() {
        let a = analysis();
        let h = a
            .hover("a.rules", at(RULES, "investor.sector") + 2)
            .unwrap();
        assert_eq!(
            h.markdown,
            "`inv.investor`: an entity id\n\nWho pays.\n\ndeclared at `schema.rules:2`"
        );
        assert_eq!(a.sources().slice(h.span), "inv.investor");
        let h = a.hover("a.rules", at(RULES, "amount >")).unwrap();
        assert_eq!(
            h.markdown,
            "`inv.amount`: money (in a currency: `100B USD`)\n\ndeclared at `schema.rules:3`"
        );
        let h = a.hover("a.rules", at(RULES, "capacity")).unwrap();
        assert_eq!(
            h.markdown,
            "`inv.capacity`: a quantity of power (in `W`, `kW`, `MW`, `GW`)\n\ndeclared at `schema.rules:4`"
        );
        let h = a.hover("a.rules", at(RULES, "sector ==")).unwrap();
        assert_eq!(
            h.markdown,
            "`inv.investor.sector`: a name\n\ndeclared at `schema.rules:7`"
        );
        let h = a.hover("a.rules", at(RULES, "inv: deal")).unwrap();
        assert_eq!(h.markdown, "`inv`: a deal (kind `investment`)");
        let h = a.hover("a.rules", at(RULES, "limit and")).unwrap();
        assert_eq!(h.markdown, "parameter `limit` of rule `big` = `1B USD`");
    }

    #[test]
    fn hover_on_names_and_fields_of_facts() {
        let a = analysis();
        let h = a.hover("a.deals", at(DEALS, "Société  amount")).unwrap();
        assert_eq!(
            h.markdown,
            "**entity `Société`** Société Générale\n\ntype: company\n\n`a.deals:1`"
        );
        let h = a.hover("a.deals", at(DEALS, "investor:")).unwrap();
        assert_eq!(h.markdown, "`investor`: an entity id\n\nWho pays.");
        let h = a.hover("a.deals", at(DEALS, "investment ")).unwrap();
        assert_eq!(
            h.markdown,
            "**deal kind `investment`** An equity investment\n\n`schema.rules:1`"
        );
        let h = a.hover("a.rules", at(RULES, "big")).unwrap();
        assert_eq!(
            h.markdown,
            "**rule `big`** Big investment\n\nseverity: high\n\nreference: ASC 606\n\n`a.rules:1`"
        );
        assert_eq!(a.hover("a.rules", RULES.len() + 10), None);
        assert_eq!(a.hover("nowhere.rules", 0), None);
    }

    #[test]
    fn definitions_across_files() {
        let a = analysis();
        let d = a
            .definition("a.deals", at(DEALS, "Société  amount"))
            .unwrap();
        assert_eq!(
            a.sources().location(d).map(|l| (l.file, l.line, l.column)),
            Some(("a.deals".into(), 1, 8))
        );
        let d = a
            .definition("a.rules", at(RULES, "investor.sector"))
            .unwrap();
        assert_eq!(
            a.sources().location(d).map(|l| (l.file, l.line)),
            Some(("schema.rules".into(), 2))
        );
        let d = a.definition("a.rules", at(RULES, "limit and")).unwrap();
        assert_eq!(a.sources().slice(d), "limit");
        assert_eq!(a.sources().location(d).map(|l| l.line), Some(4));
        let d = a.definition("a.rules", at(RULES, "inv.amount")).unwrap();
        assert_eq!(
            a.sources().location(d).map(|l| (l.line, l.column)),
            Some((5, 9))
        );
    }

    #[test]
    fn symbols_and_completions() {
        let a = analysis();
        let names: Vec<(String, SymbolKind)> = a
            .symbols("a.deals")
            .into_iter()
            .map(|s| (s.name, s.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("Société".to_string(), SymbolKind::Entity),
                ("甲骨文".to_string(), SymbolKind::Entity),
                ("loi".to_string(), SymbolKind::Deal)
            ]
        );
        let broken = "rule r {\n  severity: low\n  match d: deal where d.kind == investment\n  when d.\n  flag \"x\"\n}\n";
        let a = Analysis::new([
            ("schema.rules".to_string(), Arc::from(SCHEMA)),
            ("b.rules".to_string(), Arc::from(broken)),
        ]);
        let labels: Vec<String> = a
            .completions("b.rules", at(broken, "d.\n") + 2)
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(labels, ["investor", "amount", "capacity"]);
        let kinds: Vec<String> = a
            .completions("b.rules", at(broken, "investment"))
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(kinds, ["investment", "purchase"]);
        let list = "rule r {\n  severity: low\n  match d: deal where d.kind in [purchase, inv\n";
        let a = Analysis::new([
            ("schema.rules".to_string(), Arc::from(SCHEMA)),
            ("c.rules".to_string(), Arc::from(list)),
        ]);
        let kinds: Vec<String> = a
            .completions("c.rules", list.len() - 1)
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert_eq!(kinds, ["investment", "purchase"]);
        assert!(a.completions("c.rules", at(list, "purchase")).len() == 2);
        assert!(
            a.completions("c.rules", at(list, "severity: ") + 10)
                .is_empty()
        );
        assert!(a.completions("b.rules", 0).is_empty());
    }
}
