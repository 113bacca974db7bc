//! Typed views of the lossless tree ([`super::tree`]): the parts of one node by name, for the
//! formatter.
//!
//! A view splits one node into its tokens and child nodes; the child nodes stay places in the
//! tree ([`Syn`]) until they are viewed in turn. Nothing is read again from the text. The tree
//! comes from a successful parse, so every part a view names is there; were the grammar to grow
//! past a view, the missing part would be an empty token, and the formatter's check of its own
//! output would refuse the file.

use super::grammar::Rule;
use super::tree::{Syn, Tok, atomic};

/// The children of a node, read in order.
struct Parts<'t> {
    all: Vec<Syn<'t>>,
    next: usize,
}

impl<'t> Parts<'t> {
    fn of(s: Syn<'t>) -> Self {
        Parts {
            all: s.children().collect(),
            next: 0,
        }
    }

    fn peek(&self) -> Option<Syn<'t>> {
        self.all.get(self.next).copied()
    }

    fn next(&mut self) -> Option<Syn<'t>> {
        let s = self.peek();
        self.next += 1;
        s
    }

    /// The next child as a token (an empty token when there is none).
    fn tok(&mut self) -> Tok<'t> {
        self.next().map(Syn::tok).unwrap_or_default()
    }

    /// The next child when it is the rule `r`.
    fn take(&mut self, r: Rule) -> Option<Syn<'t>> {
        self.peek().filter(|s| s.is(r)).inspect(|_| self.next += 1)
    }

    /// The next child as a token when it is the literal `text`.
    fn take_literal(&mut self, text: &str) -> Option<Tok<'t>> {
        self.peek()
            .filter(|s| s.is_literal(text))
            .inspect(|_| self.next += 1)
            .map(Syn::tok)
    }

    /// The children of rule `r` from here on, each with the comma after it.
    fn separated(&mut self, r: Rule) -> Vec<(Syn<'t>, Option<Tok<'t>>)> {
        let mut out = Vec::new();
        while let Some(s) = self.take(r) {
            out.push((s, self.take_literal(",")));
        }
        out
    }

    /// The children of rule `r` from here on.
    fn many(&mut self, r: Rule) -> Vec<Syn<'t>> {
        std::iter::from_fn(|| self.take(r)).collect()
    }
}

/// Every token of a node as the formatter writes them, literals whole.
pub(crate) fn toks(s: Syn<'_>) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    push_toks(s, &mut out);
    out
}

fn push_toks<'t>(s: Syn<'t>, out: &mut Vec<Tok<'t>>) {
    for c in s.children() {
        match c.rule() {
            Some(r) if !atomic(r) && c.children().next().is_some() => push_toks(c, out),
            _ => out.push(c.tok()),
        }
    }
}

/// A top-level declaration.
pub(crate) enum Decl<'t> {
    /// `entity` or `deal`.
    Fact(Fact<'t>),
    /// `rule`.
    Rule(Box<RuleDecl<'t>>),
    /// `fx USD/CNY 7.10 on 2025-10-01`.
    Fx(Fx<'t>),
    /// `relation flow(from: entity, to: entity)`.
    Relation(Relation<'t>),
    /// `derive flow(a, b) from patterns [when condition]`.
    Derive(Derive<'t>),
    /// `schema deal [kind] ["title"] { field specs }`.
    Schema(Schema<'t>),
    /// `test name ["title"] { given ... expect ... }`.
    Test(Test<'t>),
    /// `defaults { settings }`.
    Defaults(Defaults<'t>),
    /// A declaration no view knows.
    Other,
}

impl<'t> Decl<'t> {
    /// The view of a declaration.
    pub fn of(s: Syn<'t>) -> Self {
        match s.rule() {
            Some(Rule::entity_decl | Rule::deal_decl) => Decl::Fact(Fact::of(s)),
            Some(Rule::rule_decl) => Decl::Rule(Box::new(RuleDecl::of(s))),
            Some(Rule::fx_decl) => Decl::Fx(Fx::of(s)),
            Some(Rule::relation_decl) => Decl::Relation(Relation::of(s)),
            Some(Rule::derive_decl) => Decl::Derive(Derive::of(s)),
            Some(Rule::schema_decl) => Decl::Schema(Schema::of(s)),
            Some(Rule::test_decl) => Decl::Test(Test::of(s)),
            Some(Rule::defaults_decl) => Decl::Defaults(Defaults::of(s)),
            _ => Decl::Other,
        }
    }
}

/// `entity ID ["title"] { fields }` or `deal ...`.
pub(crate) struct Fact<'t> {
    pub keyword: Tok<'t>,
    pub id: Tok<'t>,
    pub title: Option<Tok<'t>>,
    pub open: Tok<'t>,
    /// [`Field`]s.
    pub fields: Vec<Syn<'t>>,
    pub close: Tok<'t>,
}

impl<'t> Fact<'t> {
    /// The view of an `entity_decl` or `deal_decl`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        Fact {
            keyword: p.tok(),
            id: p.tok(),
            title: p.take(Rule::title).map(Syn::tok),
            open: p.tok(),
            fields: p.many(Rule::field),
            close: p.tok(),
        }
    }
}

/// `name: value [,]` in a fact, a record or the settings of a rule.
pub(crate) struct Field<'t> {
    pub name: Tok<'t>,
    pub colon: Tok<'t>,
    pub value: Value<'t>,
    pub comma: Option<Tok<'t>>,
}

impl<'t> Field<'t> {
    /// The view of a `field` or a `rule_meta`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        Field {
            name: p.tok(),
            colon: p.tok(),
            value: p.next().map_or_else(Value::default, Value::of),
            comma: p.take_literal(","),
        }
    }
}

/// A value in a fact: an optional `up to`, then the value.
#[derive(Default)]
pub(crate) struct Value<'t> {
    pub ceiling: Option<Tok<'t>>,
    pub inner: Inner<'t>,
}

/// The shapes of a [`Value`].
pub(crate) enum Inner<'t> {
    /// A literal, a string, a boolean or a symbol.
    Atom(Tok<'t>),
    /// `[a, b]`: each element (a [`Value`]) with the comma after it, if any.
    List {
        open: Tok<'t>,
        items: Vec<(Syn<'t>, Option<Tok<'t>>)>,
        close: Tok<'t>,
    },
    /// `{ a: 1  b: 2 }`: [`Field`]s.
    Record {
        open: Tok<'t>,
        fields: Vec<Syn<'t>>,
        close: Tok<'t>,
    },
}

impl Default for Inner<'_> {
    fn default() -> Self {
        Inner::Atom(Tok::default())
    }
}

impl<'t> Value<'t> {
    /// The view of a `value` (or of a time zone name, the value of a rule setting).
    pub fn of(s: Syn<'t>) -> Self {
        if !s.is(Rule::value) {
            return Value {
                ceiling: None,
                inner: Inner::Atom(s.tok()),
            };
        }
        let mut p = Parts::of(s);
        let ceiling = p.take(Rule::ceiling).map(Syn::tok);
        let inner = match p.next() {
            Some(l) if l.is(Rule::list) => {
                let mut p = Parts::of(l);
                Inner::List {
                    open: p.tok(),
                    items: p.separated(Rule::value),
                    close: p.tok(),
                }
            }
            Some(r) if r.is(Rule::record) => {
                let mut p = Parts::of(r);
                Inner::Record {
                    open: p.tok(),
                    fields: p.many(Rule::field),
                    close: p.tok(),
                }
            }
            Some(a) => Inner::Atom(a.tok()),
            None => Inner::default(),
        };
        Value { ceiling, inner }
    }
}

/// `rule ID ["title"] { settings params match lets when flag }`.
pub(crate) struct RuleDecl<'t> {
    pub keyword: Tok<'t>,
    pub id: Tok<'t>,
    pub title: Option<Tok<'t>>,
    pub open: Tok<'t>,
    /// Settings, [`Field`]s.
    pub settings: Vec<Syn<'t>>,
    /// [`Definition`]s of values.
    pub params: Vec<Syn<'t>>,
    /// `match` and its [`Pattern`]s.
    pub patterns: Option<(Tok<'t>, Vec<Syn<'t>>)>,
    /// [`Definition`]s of expressions.
    pub lets: Vec<Syn<'t>>,
    /// `when` and its condition, an expression.
    pub when: Option<(Tok<'t>, Syn<'t>)>,
    /// `flag` and its message.
    pub flag: (Tok<'t>, Tok<'t>),
    pub close: Tok<'t>,
}

/// A clause of one keyword and one node (`when expr`, `flag "message"`).
fn clause(s: Syn<'_>) -> (Tok<'_>, Syn<'_>) {
    let mut p = Parts::of(s);
    let kw = p.tok();
    (kw, p.next().unwrap_or(s))
}

impl<'t> RuleDecl<'t> {
    /// The view of a `rule_decl`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        let keyword = p.tok();
        let id = p.tok();
        let title = p.take(Rule::title).map(Syn::tok);
        let open = p.tok();
        let settings = p.many(Rule::rule_meta);
        let params = p.many(Rule::param_decl);
        let patterns = p.take(Rule::match_clause).map(|m| {
            let mut p = Parts::of(m);
            (p.tok(), p.many(Rule::pattern))
        });
        let lets = p.many(Rule::let_decl);
        let when = p.take(Rule::when_clause).map(clause);
        let flag = p
            .take(Rule::flag_clause)
            .map(|f| {
                let (kw, message) = clause(f);
                (kw, message.tok())
            })
            .unwrap_or_default();
        RuleDecl {
            keyword,
            id,
            title,
            open,
            settings,
            params,
            patterns,
            lets,
            when,
            flag,
            close: p.tok(),
        }
    }
}

/// `param name = value` or `let name = expr`.
pub(crate) struct Definition<'t> {
    pub keyword: Tok<'t>,
    pub name: Tok<'t>,
    pub equals: Tok<'t>,
    /// A value or an expression.
    pub value: Syn<'t>,
}

impl<'t> Definition<'t> {
    /// The view of a `param_decl` or a `let_decl`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        Definition {
            keyword: p.tok(),
            name: p.tok(),
            equals: p.tok(),
            value: p.next().unwrap_or(s),
        }
    }
}

/// `var: deal [where condition]`; also `var: flow` (a relation) and `var: cycle flow max 5 hops`.
pub(crate) struct Pattern<'t> {
    pub var: Tok<'t>,
    pub colon: Tok<'t>,
    /// `deal`, `entity`, a relation's name, or the words of `cycle flow max 5 hops`.
    pub kind: Vec<Tok<'t>>,
    /// `where` and an expression.
    pub filter: Option<(Tok<'t>, Syn<'t>)>,
}

impl<'t> Pattern<'t> {
    /// The view of a `pattern`.
    pub fn of(s: Syn<'t>) -> Self {
        Self::read(&mut Parts::of(s))
    }

    /// A pattern from its binding on (in `pattern`, `exists` and aggregates).
    fn read(p: &mut Parts<'t>) -> Self {
        let var = p.tok();
        let colon = p.tok();
        let kind = match p.next() {
            Some(c) if c.is(Rule::cycle_source) => toks(c),
            Some(k) => vec![k.tok()],
            None => Vec::new(),
        };
        let filter = p
            .take_literal("where")
            .and_then(|kw| p.next().map(|e| (kw, e)));
        Pattern {
            var,
            colon,
            kind,
            filter,
        }
    }
}

/// One piece of an expression as the grammar reads it: `prefix* primary (infix prefix*
/// primary)*`.
pub(crate) enum Part<'t> {
    /// `not` or `-` before an operand.
    Prefix(Tok<'t>),
    /// A binary operator.
    Infix(Tok<'t>),
    /// An operand, a [`Primary`].
    Primary(Syn<'t>),
}

/// The pieces of an `expr`.
pub(crate) fn expr_parts(s: Syn<'_>) -> Vec<Part<'_>> {
    s.children()
        .map(|c| match c.rule() {
            Some(Rule::op_not | Rule::op_neg) => Part::Prefix(c.tok()),
            Some(
                Rule::op_or
                | Rule::op_and
                | Rule::op_in
                | Rule::op_le
                | Rule::op_ge
                | Rule::op_eq
                | Rule::op_ne
                | Rule::op_lt
                | Rule::op_gt
                | Rule::op_add
                | Rule::op_sub
                | Rule::op_mul
                | Rule::op_div,
            ) => Part::Infix(c.tok()),
            _ => Part::Primary(c),
        })
        .collect()
}

/// An operand of an expression.
pub(crate) enum Primary<'t> {
    /// A literal, a string, a boolean or a path.
    Atom(Tok<'t>),
    /// `( expr )`.
    Paren {
        open: Tok<'t>,
        expr: Syn<'t>,
        close: Tok<'t>,
    },
    /// `[a, b]`: each expression with the comma after it, if any.
    List {
        open: Tok<'t>,
        items: Vec<(Syn<'t>, Option<Tok<'t>>)>,
        close: Tok<'t>,
    },
    /// `f(a, b)`: each argument with the comma after it, if any.
    Call {
        name: Tok<'t>,
        open: Tok<'t>,
        args: Vec<(Syn<'t>, Option<Tok<'t>>)>,
        close: Tok<'t>,
    },
    /// `exists x: deal [where condition]`.
    Exists {
        keyword: Tok<'t>,
        pattern: Box<Pattern<'t>>,
    },
    /// `any t in list where condition`, `all ...`.
    Quantifier {
        keyword: Tok<'t>,
        var: Tok<'t>,
        in_kw: Tok<'t>,
        /// A [`Primary`].
        list: Syn<'t>,
        where_kw: Tok<'t>,
        cond: Syn<'t>,
    },
    /// `sum(value for x: deal [where condition])`, `count(x: deal ...)` and the others.
    Aggregate {
        keyword: Tok<'t>,
        open: Tok<'t>,
        value: Option<(Syn<'t>, Tok<'t>)>,
        pattern: Box<Pattern<'t>>,
        close: Tok<'t>,
    },
}

impl<'t> Primary<'t> {
    /// The view of an operand.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        match s.rule() {
            Some(Rule::paren) => Primary::Paren {
                open: p.tok(),
                expr: p.next().unwrap_or(s),
                close: p.tok(),
            },
            Some(Rule::expr_list) => Primary::List {
                open: p.tok(),
                items: p.separated(Rule::expr),
                close: p.tok(),
            },
            Some(Rule::call) => Primary::Call {
                name: p.tok(),
                open: p.tok(),
                args: p.separated(Rule::expr),
                close: p.tok(),
            },
            Some(Rule::exists_expr) => Primary::Exists {
                keyword: p.tok(),
                pattern: Box::new(Pattern::read(&mut p)),
            },
            Some(Rule::quantifier) => Primary::Quantifier {
                keyword: p.tok(),
                var: p.tok(),
                in_kw: p.tok(),
                list: p.next().unwrap_or(s),
                where_kw: p.tok(),
                cond: p.next().unwrap_or(s),
            },
            Some(Rule::aggregate) => {
                let keyword = p.tok();
                let open = p.tok();
                let value = p.take(Rule::expr).map(|e| (e, p.tok()));
                Primary::Aggregate {
                    keyword,
                    open,
                    value,
                    pattern: Box::new(Pattern::read(&mut p)),
                    close: p.tok(),
                }
            }
            _ => Primary::Atom(s.tok()),
        }
    }
}

/// `fx USD/CNY 7.10 [on 2025-10-01]`.
pub(crate) struct Fx<'t> {
    pub keyword: Tok<'t>,
    pub pair: Tok<'t>,
    pub rate: Tok<'t>,
    pub on: Option<(Tok<'t>, Tok<'t>)>,
}

impl<'t> Fx<'t> {
    /// The view of an `fx_decl`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        let keyword = p.tok();
        let pair = p.tok();
        let rate = p.tok();
        let on = p.take_literal("on").map(|on| (on, p.tok()));
        Fx {
            keyword,
            pair,
            rate,
            on,
        }
    }
}

/// `defaults { settings }`: the pack's settings, each a `rule_meta` ([`Field`]).
pub(crate) struct Defaults<'t> {
    pub keyword: Tok<'t>,
    pub open: Tok<'t>,
    pub settings: Vec<Syn<'t>>,
    pub close: Tok<'t>,
}

impl<'t> Defaults<'t> {
    /// The view of a `defaults_decl`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        let keyword = p.tok();
        let open = p.tok();
        let settings = p.many(Rule::rule_meta);
        Defaults {
            keyword,
            open,
            settings,
            close: p.tok(),
        }
    }
}

/// A column of a relation: `name: type`.
pub(crate) type Column<'t> = (Tok<'t>, Tok<'t>, Tok<'t>);

/// `relation name(column: type, ...)`.
pub(crate) struct Relation<'t> {
    pub keyword: Tok<'t>,
    pub name: Tok<'t>,
    pub open: Tok<'t>,
    /// Each column with the comma after it, if any.
    pub columns: Vec<(Column<'t>, Option<Tok<'t>>)>,
    pub close: Tok<'t>,
}

impl<'t> Relation<'t> {
    /// The view of a `relation_decl`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        let keyword = p.tok();
        let name = p.tok();
        let open = p.tok();
        let columns = p
            .separated(Rule::column)
            .into_iter()
            .map(|(c, comma)| {
                let mut p = Parts::of(c);
                ((p.tok(), p.tok(), p.tok()), comma)
            })
            .collect();
        Relation {
            keyword,
            name,
            open,
            columns,
            close: p.tok(),
        }
    }
}

/// `derive name(expr, ...) from patterns [when condition]`.
pub(crate) struct Derive<'t> {
    pub keyword: Tok<'t>,
    pub relation: Tok<'t>,
    pub open: Tok<'t>,
    /// Each expression with the comma after it, if any.
    pub head: Vec<(Syn<'t>, Option<Tok<'t>>)>,
    pub close: Tok<'t>,
    /// `from` and the [`Pattern`]s.
    pub from: (Tok<'t>, Vec<Syn<'t>>),
    /// `when` and its condition.
    pub when: Option<(Tok<'t>, Syn<'t>)>,
}

impl<'t> Derive<'t> {
    /// The view of a `derive_decl`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        let keyword = p.tok();
        let relation = p.tok();
        let open = p.tok();
        let head = p.separated(Rule::expr);
        let close = p.tok();
        let from = (p.tok(), p.many(Rule::pattern));
        Derive {
            keyword,
            relation,
            open,
            head,
            close,
            from,
            when: p.take(Rule::when_clause).map(clause),
        }
    }
}

/// `schema deal|entity [kind] ["title"] { field specs }`.
pub(crate) struct Schema<'t> {
    pub keyword: Tok<'t>,
    /// `deal` or `entity`.
    pub target: Tok<'t>,
    pub kind: Option<Tok<'t>>,
    pub title: Option<Tok<'t>>,
    pub open: Tok<'t>,
    /// [`FieldSpec`]s.
    pub fields: Vec<Syn<'t>>,
    pub close: Tok<'t>,
}

impl<'t> Schema<'t> {
    /// The view of a `schema_decl`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        Schema {
            keyword: p.tok(),
            target: p.tok(),
            kind: p.take(Rule::schema_kind).map(Syn::tok),
            title: p.take(Rule::title).map(Syn::tok),
            open: p.tok(),
            fields: p.many(Rule::field_spec),
            close: p.tok(),
        }
    }
}

/// `name: type [required] ["doc"] [,]` in a schema or a record type.
pub(crate) struct FieldSpec<'t> {
    pub name: Tok<'t>,
    pub colon: Tok<'t>,
    /// A `type_expr`.
    pub ty: Syn<'t>,
    pub required: Option<Tok<'t>>,
    pub doc: Option<Tok<'t>>,
    pub comma: Option<Tok<'t>>,
}

impl<'t> FieldSpec<'t> {
    /// The view of a `field_spec`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        FieldSpec {
            name: p.tok(),
            colon: p.tok(),
            ty: p.next().unwrap_or(s),
            required: p.take(Rule::kw_required).map(Syn::tok),
            doc: p.take(Rule::field_doc).map(Syn::tok),
            comma: p.take_literal(","),
        }
    }
}

/// `alt | alt | ...`: the first alternative, then each other with the `|` before it.
pub(crate) struct TypeExpr<'t> {
    pub first: TypeAlt<'t>,
    pub rest: Vec<(Tok<'t>, TypeAlt<'t>)>,
}

impl<'t> TypeExpr<'t> {
    /// The view of a `type_expr`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        let first = TypeAlt::read(&mut p);
        let mut rest = Vec::new();
        while let Some(bar) = p.take_literal("|") {
            rest.push((bar, TypeAlt::read(&mut p)));
        }
        TypeExpr { first, rest }
    }
}

/// One alternative of a [`TypeExpr`].
pub(crate) enum TypeAlt<'t> {
    /// `money`, `entity`, `text`...
    Name(Tok<'t>),
    /// `list of T`.
    List {
        list: Tok<'t>,
        of: Tok<'t>,
        item: Box<TypeAlt<'t>>,
    },
    /// `enum(a, b)`: each symbol with the comma after it, if any.
    Enum {
        keyword: Tok<'t>,
        open: Tok<'t>,
        items: Vec<(Tok<'t>, Option<Tok<'t>>)>,
        close: Tok<'t>,
    },
    /// `{ a: T, b: U }`: [`FieldSpec`]s.
    Record {
        open: Tok<'t>,
        fields: Vec<Syn<'t>>,
        close: Tok<'t>,
    },
    /// `( type )`, kept as written: `list of (a | b)` is not `list of a | b`.
    Paren {
        open: Tok<'t>,
        ty: Syn<'t>,
        close: Tok<'t>,
    },
}

impl<'t> TypeAlt<'t> {
    /// The alternative that starts at the next child.
    fn read(p: &mut Parts<'t>) -> Self {
        let Some(s) = p.next() else {
            return TypeAlt::Name(Tok::default());
        };
        if s.is_literal("(") {
            return TypeAlt::Paren {
                open: s.tok(),
                ty: p.next().unwrap_or(s),
                close: p.tok(),
            };
        }
        let mut q = Parts::of(s);
        match s.rule() {
            Some(Rule::list_type) => TypeAlt::List {
                list: q.tok(),
                of: q.tok(),
                item: Box::new(TypeAlt::read(&mut q)),
            },
            Some(Rule::enum_type) => TypeAlt::Enum {
                keyword: q.tok(),
                open: q.tok(),
                items: q
                    .separated(Rule::ident)
                    .into_iter()
                    .map(|(s, comma)| (s.tok(), comma))
                    .collect(),
                close: q.tok(),
            },
            Some(Rule::record_type) => TypeAlt::Record {
                open: q.tok(),
                fields: q.many(Rule::field_spec),
                close: q.tok(),
            },
            _ => TypeAlt::Name(s.tok()),
        }
    }
}

/// `test ID ["title"] { given... expect... }`.
pub(crate) struct Test<'t> {
    pub keyword: Tok<'t>,
    pub name: Tok<'t>,
    pub title: Option<Tok<'t>>,
    pub open: Tok<'t>,
    pub given: Vec<Given<'t>>,
    /// Each `expect` and the tokens after it as written: words, names, strings, `(`, `,`, `)`.
    pub expects: Vec<(Tok<'t>, Vec<Tok<'t>>)>,
    pub close: Tok<'t>,
}

/// `given "file"` or `given { facts }`.
pub(crate) enum Given<'t> {
    /// `given "../examples/ai-compute-2025.deals"`.
    File { keyword: Tok<'t>, path: Tok<'t> },
    /// `given { entity ... deal ... fx ... }`: only facts and exchange rates, [`Decl`]s.
    Facts {
        keyword: Tok<'t>,
        open: Tok<'t>,
        decls: Vec<Syn<'t>>,
        close: Tok<'t>,
    },
}

impl<'t> Test<'t> {
    /// The view of a `test_decl`.
    pub fn of(s: Syn<'t>) -> Self {
        let mut p = Parts::of(s);
        let keyword = p.tok();
        let name = p.tok();
        let title = p.take(Rule::title).map(Syn::tok);
        let open = p.tok();
        let given = p
            .many(Rule::given_clause)
            .into_iter()
            .map(|g| {
                let mut p = Parts::of(g);
                let keyword = p.tok();
                match p.take(Rule::given_facts) {
                    Some(facts) => {
                        let mut q = Parts::of(facts);
                        let open = q.tok();
                        let mut decls = Vec::new();
                        while q.peek().is_some_and(|d| d.rule().is_some()) {
                            decls.extend(q.next());
                        }
                        Given::Facts {
                            keyword,
                            open,
                            decls,
                            close: q.tok(),
                        }
                    }
                    None => Given::File {
                        keyword,
                        path: p.tok(),
                    },
                }
            })
            .collect();
        let expects = p
            .many(Rule::expect_clause)
            .into_iter()
            .map(|e| {
                let mut words = toks(e);
                let keyword = if words.is_empty() {
                    Tok::default()
                } else {
                    words.remove(0)
                };
                (keyword, words)
            })
            .collect();
        Test {
            keyword,
            name,
            title,
            open,
            given,
            expects,
            close: p.tok(),
        }
    }
}
