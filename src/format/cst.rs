//! The concrete syntax tree of the formatter: every token as written, with the comments around it.
//!
//! The AST (`syntax`) drops comments, separators and the spelling of literals; the formatter needs
//! all three. This reader follows `grammar/dealrules.pest` rule by rule, character by character,
//! and keeps each token's text. It is only run on text that `syntax::parse` accepted, and
//! `format` checks its result by parsing the output again, so a disagreement with the
//! grammar can never reach a file.

use pest::unicode::{XID_CONTINUE, XID_START};

/// A `//` comment as written, without its line break or trailing whitespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Comment {
    /// `// ...`.
    pub text: String,
    /// Whether a blank line separates it from what comes before it.
    pub blank_before: bool,
}

/// One token: a keyword, a name, a punctuation mark, or a whole literal (`up to`, `USD 100B`,
/// `4.5 GW`, `"text"`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tok {
    /// The text as written; runs of spaces and tabs inside a literal become one space.
    pub text: String,
    /// Comments on their own lines before the token.
    pub lead: Vec<Comment>,
    /// A comment after the token on the same line.
    pub trail: Option<String>,
    /// Whether a blank line separates the token from what comes before it (its last lead comment,
    /// or the previous token).
    pub blank_before: bool,
}

impl Tok {
    /// Whether any comment is attached to the token.
    pub fn has_comments(&self) -> bool {
        !self.lead.is_empty() || self.trail.is_some()
    }
}

/// A whole file.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cst {
    /// Whether the file starts with a byte order mark.
    pub bom: bool,
    /// The declarations in written order.
    pub decls: Vec<Decl>,
    /// An empty token at the end of the file: its lead comments are the file's last comments.
    pub end: Tok,
}

/// A top-level declaration.
#[derive(Clone, Debug)]
pub(crate) enum Decl {
    /// `entity` or `deal`.
    Fact(FactDecl),
    /// `rule`.
    Rule(Box<RuleDecl>),
    /// `fx USD/CNY 7.10 on 2025-10-01`.
    Fx(FxDecl),
    /// `relation flow(from: entity, to: entity)`.
    Relation(RelationDecl),
    /// `derive flow(a, b) from patterns [when condition]`.
    Derive(Box<DeriveDecl>),
    /// `schema deal [kind] ["title"] { field specs }`.
    Schema(SchemaDecl),
    /// `test name ["title"] { given ... expect ... }`.
    Test(Box<TestDecl>),
    /// `defaults { settings }`.
    Defaults(DefaultsDecl),
}

/// `defaults { timezone: Asia/Shanghai  fiscal_year_end: "06-30" }`: settings as in a rule.
#[derive(Clone, Debug)]
pub(crate) struct DefaultsDecl {
    pub keyword: Tok,
    pub open: Tok,
    pub settings: Vec<Field>,
    pub close: Tok,
}

/// `test ID ["title"] { given... expect... }`.
#[derive(Clone, Debug)]
pub(crate) struct TestDecl {
    pub keyword: Tok,
    pub name: Tok,
    pub title: Option<Tok>,
    pub open: Tok,
    pub given: Vec<Given>,
    pub expects: Vec<ExpectClause>,
    pub close: Tok,
}

/// `given "file"` or `given { facts }`.
#[derive(Clone, Debug)]
pub(crate) enum Given {
    /// `given "../examples/ai-compute-2025.deals"`.
    File { keyword: Tok, path: Tok },
    /// `given { entity ... deal ... fx ... }`: only facts and exchange rates.
    Facts {
        keyword: Tok,
        open: Tok,
        decls: Vec<Decl>,
        close: Tok,
    },
}

/// `expect` and the tokens after it as written: words, names, strings, `(`, `,` and `)`.
#[derive(Clone, Debug)]
pub(crate) struct ExpectClause {
    pub keyword: Tok,
    pub words: Vec<Tok>,
}

/// `entity ID ["title"] { fields }` or `deal ...`.
#[derive(Clone, Debug)]
pub(crate) struct FactDecl {
    pub keyword: Tok,
    pub id: Tok,
    pub title: Option<Tok>,
    pub open: Tok,
    pub fields: Vec<Field>,
    pub close: Tok,
}

/// `name: value [,]` in a fact, a record or the settings of a rule.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    pub name: Tok,
    pub colon: Tok,
    pub value: Value,
    pub comma: Option<Tok>,
}

/// A value in a fact: an optional `up to`, then the value.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub ceiling: Option<Tok>,
    pub inner: Inner,
}

/// The shapes of a [`Value`].
#[derive(Clone, Debug)]
pub(crate) enum Inner {
    /// A literal, a string, a boolean or a symbol.
    Atom(Tok),
    /// `[a, b]`: each element with the comma after it, if any.
    List {
        open: Tok,
        items: Vec<(Value, Option<Tok>)>,
        close: Tok,
    },
    /// `{ a: 1  b: 2 }`.
    Record {
        open: Tok,
        fields: Vec<Field>,
        close: Tok,
    },
}

/// `rule ID ["title"] { settings params match lets when flag }`.
#[derive(Clone, Debug)]
pub(crate) struct RuleDecl {
    pub keyword: Tok,
    pub id: Tok,
    pub title: Option<Tok>,
    pub open: Tok,
    pub settings: Vec<Field>,
    pub params: Vec<Definition<Value>>,
    /// `match` and its patterns.
    pub patterns: Option<(Tok, Vec<Pattern>)>,
    pub lets: Vec<Definition<Expr>>,
    /// `when` and its condition.
    pub when: Option<(Tok, Expr)>,
    /// `flag` and its message.
    pub flag: (Tok, Tok),
    pub close: Tok,
}

/// `param name = value` or `let name = expr`.
#[derive(Clone, Debug)]
pub(crate) struct Definition<T> {
    pub keyword: Tok,
    pub name: Tok,
    pub equals: Tok,
    pub value: T,
}

/// `var: deal [where condition]`; also `var: flow` (a relation) and `var: cycle flow max 5 hops`.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    pub var: Tok,
    pub colon: Tok,
    /// `deal`, `entity`, a relation's name, or the words of `cycle flow max 5 hops`.
    pub kind: Vec<Tok>,
    pub filter: Option<(Tok, Expr)>,
}

/// `relation name(column: type, ...)`.
#[derive(Clone, Debug)]
pub(crate) struct RelationDecl {
    pub keyword: Tok,
    pub name: Tok,
    pub open: Tok,
    /// Each column (`name`, `:`, `type`) with the comma after it, if any.
    pub columns: Vec<((Tok, Tok, Tok), Option<Tok>)>,
    pub close: Tok,
}

/// `derive name(expr, ...) from patterns [when condition]`.
#[derive(Clone, Debug)]
pub(crate) struct DeriveDecl {
    pub keyword: Tok,
    pub relation: Tok,
    pub open: Tok,
    pub head: Vec<(Expr, Option<Tok>)>,
    pub close: Tok,
    pub from: (Tok, Vec<Pattern>),
    pub when: Option<(Tok, Expr)>,
}

/// An expression as the grammar reads it: `prefix* primary (infix prefix* primary)*`.
#[derive(Clone, Debug)]
pub(crate) struct Expr {
    pub parts: Vec<Part>,
}

/// One piece of an [`Expr`].
#[derive(Clone, Debug)]
pub(crate) enum Part {
    /// `not` or `-` before an operand.
    Prefix(Tok),
    /// A binary operator.
    Infix(Tok),
    /// An operand.
    Primary(Box<Primary>),
}

/// An operand of an expression.
#[derive(Clone, Debug)]
pub(crate) enum Primary {
    /// A literal, a string, a boolean or a path.
    Atom(Tok),
    /// `( expr )`.
    Paren {
        open: Tok,
        expr: Box<Expr>,
        close: Tok,
    },
    /// `[a, b]`: each element with the comma after it, if any.
    List {
        open: Tok,
        items: Vec<(Expr, Option<Tok>)>,
        close: Tok,
    },
    /// `f(a, b)`: each argument with the comma after it, if any.
    Call {
        name: Tok,
        open: Tok,
        args: Vec<(Expr, Option<Tok>)>,
        close: Tok,
    },
    /// `exists x: deal [where condition]`.
    Exists { keyword: Tok, pattern: Box<Pattern> },
    /// `any t in list where condition`, `all ...`.
    Quantifier {
        keyword: Tok,
        var: Tok,
        in_kw: Tok,
        list: Box<Primary>,
        where_kw: Tok,
        cond: Box<Expr>,
    },
    /// `sum(value for x: deal [where condition])`, `count(x: deal ...)` and the others.
    Aggregate {
        keyword: Tok,
        open: Tok,
        value: Option<(Box<Expr>, Tok)>,
        pattern: Box<Pattern>,
        close: Tok,
    },
}

/// `schema deal|entity [kind] ["title"] { field specs }`.
#[derive(Clone, Debug)]
pub(crate) struct SchemaDecl {
    pub keyword: Tok,
    /// `deal` or `entity`.
    pub target: Tok,
    pub kind: Option<Tok>,
    pub title: Option<Tok>,
    pub open: Tok,
    pub fields: Vec<FieldSpec>,
    pub close: Tok,
}

/// `name: type [required] ["doc"] [,]` in a schema or a record type.
#[derive(Clone, Debug)]
pub(crate) struct FieldSpec {
    pub name: Tok,
    pub colon: Tok,
    pub ty: TypeExpr,
    pub required: Option<Tok>,
    pub doc: Option<Tok>,
    pub comma: Option<Tok>,
}

/// `alt | alt | ...`: the first alternative, then each other with the `|` before it.
#[derive(Clone, Debug)]
pub(crate) struct TypeExpr {
    pub first: TypeAlt,
    pub rest: Vec<(Tok, TypeAlt)>,
}

/// One alternative of a [`TypeExpr`].
#[derive(Clone, Debug)]
pub(crate) enum TypeAlt {
    /// `money`, `entity`, `text`...
    Name(Tok),
    /// `list of T`.
    List {
        list: Tok,
        of: Tok,
        item: Box<TypeAlt>,
    },
    /// `enum(a, b)`: each symbol with the comma after it, if any.
    Enum {
        keyword: Tok,
        open: Tok,
        items: Vec<(Tok, Option<Tok>)>,
        close: Tok,
    },
    /// `{ a: T, b: U }`.
    Record {
        open: Tok,
        fields: Vec<FieldSpec>,
        close: Tok,
    },
    /// `( type )`, kept as written: `list of (a | b)` is not `list of a | b`.
    Paren {
        open: Tok,
        ty: Box<TypeExpr>,
        close: Tok,
    },
}

/// `fx USD/CNY 7.10 [on 2025-10-01]`.
#[derive(Clone, Debug)]
pub(crate) struct FxDecl {
    pub keyword: Tok,
    pub pair: Tok,
    pub rate: Tok,
    pub on: Option<(Tok, Tok)>,
}

/// The reader met text it does not know: the grammar has grown past the formatter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReadError {
    /// Byte offset of the unknown text.
    pub offset: usize,
    /// What the reader expected there.
    pub expected: &'static str,
}

type Read<T> = Result<T, ReadError>;

/// Reads a whole file into its concrete syntax tree.
pub(crate) fn read(text: &str) -> Read<Cst> {
    let mut r = Reader {
        src: text,
        pos: 0,
        lead: Vec::new(),
        newlines: 0,
    };
    let bom = text.starts_with('\u{feff}');
    let mut decls = Vec::new();
    loop {
        r.trivia();
        if r.rest().is_empty() {
            break;
        }
        decls.push(r.decl()?);
    }
    let end = r.tok(0);
    Ok(Cst { bom, decls, end })
}

/// Where the reader is, for going back after an optional part that did not match.
#[derive(Clone)]
struct Mark {
    pos: usize,
    lead: Vec<Comment>,
    newlines: usize,
}

struct Reader<'a> {
    src: &'a str,
    pos: usize,
    /// Comments read since the last token, waiting for the next one.
    lead: Vec<Comment>,
    /// Line breaks since the last token or comment.
    newlines: usize,
}

impl Reader<'_> {
    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            lead: self.lead.clone(),
            newlines: self.newlines,
        }
    }

    /// Goes back to `m`, with the comments that were waiting there (a token read since then
    /// may have taken them).
    fn reset(&mut self, m: Mark) {
        self.pos = m.pos;
        self.lead = m.lead;
        self.newlines = m.newlines;
    }

    fn fail<T>(&self, expected: &'static str) -> Read<T> {
        Err(ReadError {
            offset: self.pos,
            expected,
        })
    }

    /// Skips whitespace and comments, keeping the comments for the next token.
    fn trivia(&mut self) {
        loop {
            let rest = self.rest();
            match rest.chars().next() {
                Some(c) if is_whitespace(c) => {
                    if c == '\n' {
                        self.newlines += 1;
                    }
                    self.pos += c.len_utf8();
                }
                Some('/') if rest.starts_with("//") => {
                    let end = rest.find('\n').unwrap_or(rest.len());
                    let text = rest.get(..end).unwrap_or("").trim_end().to_string();
                    self.lead.push(Comment {
                        text,
                        blank_before: self.newlines >= 2,
                    });
                    self.newlines = 0;
                    self.pos += end;
                }
                _ => return,
            }
        }
    }

    /// Takes the next `len` bytes as a token, with the comments before it and the comment after
    /// it on the same line.
    fn tok(&mut self, len: usize) -> Tok {
        let end = (self.pos + len).min(self.src.len());
        let text = self.src.get(self.pos..end).unwrap_or("").to_string();
        let tok = Tok {
            text,
            lead: std::mem::take(&mut self.lead),
            trail: None,
            blank_before: self.newlines >= 2,
        };
        self.pos = end;
        self.newlines = 0;
        self.with_trail(tok)
    }

    /// Like [`Reader::tok`] for a literal: runs of spaces and tabs inside become one space.
    fn atom(&mut self, len: usize) -> Tok {
        let mut tok = self.tok(len);
        tok.text = collapse_blanks(&tok.text);
        tok
    }

    fn with_trail(&mut self, mut tok: Tok) -> Tok {
        let rest = self.rest();
        let spaces = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\u{feff}']).len();
        let after = rest.get(spaces..).unwrap_or("");
        if after.starts_with("//") {
            let end = after.find('\n').unwrap_or(after.len());
            tok.trail = Some(after.get(..end).unwrap_or("").trim_end().to_string());
            self.pos += spaces + end;
        }
        tok
    }

    /// The literal text `s` (after whitespace and comments) as a token.
    fn expect(&mut self, s: &'static str) -> Read<Tok> {
        self.trivia();
        if self.rest().starts_with(s) {
            Ok(self.tok(s.len()))
        } else {
            self.fail(s)
        }
    }

    /// Whether the literal text `s` comes next (after whitespace and comments).
    fn at(&mut self, s: &str) -> bool {
        self.trivia();
        self.rest().starts_with(s)
    }

    /// Whether the keyword `w`, not followed by a letter, digit or `_`, comes next.
    fn at_word(&mut self, w: &str) -> bool {
        self.trivia();
        word(self.rest(), w).is_some()
    }

    fn decl(&mut self) -> Read<Decl> {
        let rest = self.rest();
        if rest.starts_with("entity") {
            let keyword = self.tok("entity".len());
            Ok(Decl::Fact(self.fact_decl(keyword)?))
        } else if rest.starts_with("deal") {
            let keyword = self.tok("deal".len());
            Ok(Decl::Fact(self.fact_decl(keyword)?))
        } else if rest.starts_with("rule") {
            let keyword = self.tok("rule".len());
            Ok(Decl::Rule(Box::new(self.rule_decl(keyword)?)))
        } else if rest.starts_with("fx") {
            let keyword = self.tok("fx".len());
            Ok(Decl::Fx(self.fx_decl(keyword)?))
        } else if rest.starts_with("relation") {
            let keyword = self.tok("relation".len());
            Ok(Decl::Relation(self.relation_decl(keyword)?))
        } else if rest.starts_with("derive") {
            let keyword = self.tok("derive".len());
            Ok(Decl::Derive(Box::new(self.derive_decl(keyword)?)))
        } else if rest.starts_with("schema") {
            let keyword = self.tok("schema".len());
            Ok(Decl::Schema(self.schema_decl(keyword)?))
        } else if rest.starts_with("test") {
            let keyword = self.tok("test".len());
            Ok(Decl::Test(Box::new(self.test_decl(keyword)?)))
        } else if rest.starts_with("defaults") {
            let keyword = self.tok("defaults".len());
            Ok(Decl::Defaults(self.defaults_decl(keyword)?))
        } else {
            self.fail("a declaration")
        }
    }

    /// `ident | string`.
    fn name(&mut self) -> Read<Tok> {
        self.trivia();
        let rest = self.rest();
        match ident(rest).or_else(|| string(rest)) {
            Some(n) => Ok(self.tok(n)),
            None => self.fail("a name"),
        }
    }

    fn optional_string(&mut self) -> Option<Tok> {
        self.trivia();
        string(self.rest()).map(|n| self.tok(n))
    }

    fn fact_decl(&mut self, keyword: Tok) -> Read<FactDecl> {
        let id = self.name()?;
        let title = self.optional_string();
        let open = self.expect("{")?;
        let mut fields = Vec::new();
        while !self.at("}") {
            fields.push(self.field(true)?);
        }
        let close = self.expect("}")?;
        Ok(FactDecl {
            keyword,
            id,
            title,
            open,
            fields,
            close,
        })
    }

    /// `name: value`, with an optional comma after it when `comma` (not in rule settings).
    fn field(&mut self, comma: bool) -> Read<Field> {
        let name = self.name()?;
        let colon = self.expect(":")?;
        let value = self.value()?;
        let comma = if comma && self.at(",") {
            Some(self.tok(1))
        } else {
            None
        };
        Ok(Field {
            name,
            colon,
            value,
            comma,
        })
    }

    fn value(&mut self) -> Read<Value> {
        self.trivia();
        let ceiling = ceiling(self.rest()).map(|n| self.atom(n));
        let inner = self.value_inner()?;
        Ok(Value { ceiling, inner })
    }

    fn value_inner(&mut self) -> Read<Inner> {
        self.trivia();
        let rest = self.rest();
        if rest.starts_with('[') {
            let open = self.tok(1);
            let mut items = Vec::new();
            while !self.at("]") {
                let value = self.value()?;
                if self.at(",") {
                    let comma = self.tok(1);
                    items.push((value, Some(comma)));
                } else {
                    items.push((value, None));
                    break;
                }
            }
            let close = self.expect("]")?;
            return Ok(Inner::List { open, items, close });
        }
        if rest.starts_with('{') {
            let open = self.tok(1);
            let mut fields = Vec::new();
            while !self.at("}") {
                fields.push(self.field(true)?);
            }
            let close = self.expect("}")?;
            return Ok(Inner::Record {
                open,
                fields,
                close,
            });
        }
        if let Some(n) = string(rest) {
            return Ok(Inner::Atom(self.tok(n)));
        }
        if let Some(n) = literal(rest) {
            return Ok(Inner::Atom(self.atom(n)));
        }
        match boolean(rest)
            .or_else(|| zone_name(rest))
            .or_else(|| ident(rest))
        {
            Some(n) => Ok(Inner::Atom(self.tok(n))),
            None => self.fail("a value"),
        }
    }

    fn schema_decl(&mut self, keyword: Tok) -> Read<SchemaDecl> {
        let target = self.ident()?;
        self.trivia();
        let kind = ident(self.rest()).map(|n| self.tok(n));
        let title = self.optional_string();
        let open = self.expect("{")?;
        let fields = self.field_specs()?;
        let close = self.expect("}")?;
        Ok(SchemaDecl {
            keyword,
            target,
            kind,
            title,
            open,
            fields,
            close,
        })
    }

    /// `field_spec*`, up to a `}`.
    fn field_specs(&mut self) -> Read<Vec<FieldSpec>> {
        let mut fields = Vec::new();
        while !self.at("}") {
            fields.push(self.field_spec()?);
        }
        Ok(fields)
    }

    /// `name: type [required] ["doc"] [,]`.
    fn field_spec(&mut self) -> Read<FieldSpec> {
        let name = self.name()?;
        let colon = self.expect(":")?;
        let ty = self.type_expr()?;
        self.trivia();
        // `kw_required`: not followed by `:` (then it is the name of the next field).
        let required = word(self.rest(), "required")
            .filter(|&n| {
                let after = self.rest().get(n..).unwrap_or("");
                !after.trim_start_matches(is_whitespace).starts_with(':')
            })
            .map(|n| self.tok(n));
        // `field_doc`: a string not followed by `:` (then it is the name of the next field).
        let before = self.mark();
        let doc = match self.optional_string() {
            Some(doc) if !self.at(":") => Some(doc),
            _ => {
                self.reset(before);
                None
            }
        };
        let comma = if self.at(",") {
            Some(self.tok(1))
        } else {
            None
        };
        Ok(FieldSpec {
            name,
            colon,
            ty,
            required,
            doc,
            comma,
        })
    }

    /// `type_alt ("|" type_alt)*`.
    fn type_expr(&mut self) -> Read<TypeExpr> {
        let first = self.type_alt()?;
        let mut rest = Vec::new();
        loop {
            let before = self.mark();
            if !self.at("|") {
                self.reset(before);
                break;
            }
            let bar = self.tok(1);
            match self.type_alt() {
                Ok(alt) => rest.push((bar, alt)),
                Err(_) => {
                    self.reset(before);
                    break;
                }
            }
        }
        Ok(TypeExpr { first, rest })
    }

    /// `list of T`, `enum(a, b)`, `{ fields }`, `( type )` or a type name, in the grammar's order.
    fn type_alt(&mut self) -> Read<TypeAlt> {
        self.trivia();
        let rest = self.rest();
        if let Some(n) = word(rest, "list") {
            let before = self.mark();
            match self.list_type(n) {
                Ok(t) => return Ok(t),
                Err(_) => self.reset(before),
            }
        }
        if let Some(n) = word(self.rest(), "enum") {
            let before = self.mark();
            match self.enum_type(n) {
                Ok(t) => return Ok(t),
                Err(_) => self.reset(before),
            }
        }
        if self.rest().starts_with('{') {
            let open = self.tok(1);
            let fields = self.field_specs()?;
            let close = self.expect("}")?;
            return Ok(TypeAlt::Record {
                open,
                fields,
                close,
            });
        }
        if self.rest().starts_with('(') {
            let open = self.tok(1);
            let ty = Box::new(self.type_expr()?);
            let close = self.expect(")")?;
            return Ok(TypeAlt::Paren { open, ty, close });
        }
        match ident(self.rest()) {
            Some(n) => Ok(TypeAlt::Name(self.tok(n))),
            None => self.fail("a type"),
        }
    }

    fn list_type(&mut self, n: usize) -> Read<TypeAlt> {
        let list = self.tok(n);
        self.trivia();
        let Some(n) = word(self.rest(), "of") else {
            return self.fail("`of`");
        };
        let of = self.tok(n);
        let item = Box::new(self.type_alt()?);
        Ok(TypeAlt::List { list, of, item })
    }

    fn enum_type(&mut self, n: usize) -> Read<TypeAlt> {
        let keyword = self.tok(n);
        let open = self.expect("(")?;
        let mut items = Vec::new();
        loop {
            let symbol = self.ident()?;
            if self.at(",") {
                let comma = self.tok(1);
                items.push((symbol, Some(comma)));
                if self.at(")") {
                    break;
                }
            } else {
                items.push((symbol, None));
                break;
            }
        }
        let close = self.expect(")")?;
        Ok(TypeAlt::Enum {
            keyword,
            open,
            items,
            close,
        })
    }

    fn test_decl(&mut self, keyword: Tok) -> Read<TestDecl> {
        let name = self.name()?;
        let title = self.optional_string();
        let open = self.expect("{")?;
        let mut given = Vec::new();
        while self.at_word("given") {
            let kw = self.tok("given".len());
            self.trivia();
            if let Some(n) = string(self.rest()) {
                let path = self.tok(n);
                given.push(Given::File { keyword: kw, path });
                continue;
            }
            let open = self.expect("{")?;
            let mut decls = Vec::new();
            while !self.at("}") {
                decls.push(self.decl()?);
            }
            let close = self.expect("}")?;
            given.push(Given::Facts {
                keyword: kw,
                open,
                decls,
                close,
            });
        }
        let mut expects = Vec::new();
        while self.at_word("expect") {
            let kw = self.tok("expect".len());
            expects.push(self.expect_rest(kw)?);
        }
        let close = self.expect("}")?;
        Ok(TestDecl {
            keyword,
            name,
            title,
            open,
            given,
            expects,
            close,
        })
    }

    /// What follows `expect`, tried in the grammar's order: `error "text"`, `count RULE N`,
    /// `no RULE [on (...)]`, `RULE [on (...)] [severity S] [message [contains] "text"]`.
    fn expect_rest(&mut self, keyword: Tok) -> Read<ExpectClause> {
        let before = self.mark();
        let mut words = Vec::new();
        if self.at_word("error") {
            words.push(self.tok("error".len()));
            self.trivia();
            if let Some(n) = string(self.rest()) {
                words.push(self.tok(n));
                return Ok(ExpectClause { keyword, words });
            }
            self.reset(before.clone());
            words.clear();
        }
        if self.at_word("count") {
            words.push(self.tok("count".len()));
            if let Ok(rule) = self.name() {
                words.push(rule);
                self.trivia();
                if let Some(n) = digits(self.rest()) {
                    words.push(self.tok(n));
                    return Ok(ExpectClause { keyword, words });
                }
            }
            self.reset(before.clone());
            words.clear();
        }
        if self.at_word("no") {
            words.push(self.tok("no".len()));
            match self.name() {
                Ok(rule) => {
                    words.push(rule);
                    self.expect_on(&mut words);
                    return Ok(ExpectClause { keyword, words });
                }
                Err(_) => {
                    self.reset(before);
                    words.clear();
                }
            }
        }
        words.push(self.name()?);
        self.expect_on(&mut words);
        let mark = self.mark();
        if self.at_word("severity") {
            let kw = self.tok("severity".len());
            match self.ident() {
                Ok(level) => words.extend([kw, level]),
                Err(_) => self.reset(mark),
            }
        }
        let mark = self.mark();
        if self.at_word("message") {
            let mut message = vec![self.tok("message".len())];
            if self.at_word("contains") {
                message.push(self.tok("contains".len()));
            }
            self.trivia();
            match string(self.rest()) {
                Some(n) => {
                    message.push(self.tok(n));
                    words.extend(message);
                }
                None => self.reset(mark),
            }
        }
        Ok(ExpectClause { keyword, words })
    }

    /// An optional `on (name, ...)`, appended to `words` when it is there.
    fn expect_on(&mut self, words: &mut Vec<Tok>) {
        let before = self.mark();
        if !self.at_word("on") {
            return;
        }
        let mut on = vec![self.tok("on".len())];
        let read = (|| -> Read<()> {
            on.push(self.expect("(")?);
            on.push(self.name()?);
            while self.at(",") {
                on.push(self.tok(1));
                if self.at(")") {
                    break;
                }
                on.push(self.name()?);
            }
            on.push(self.expect(")")?);
            Ok(())
        })();
        match read {
            Ok(()) => words.extend(on),
            Err(_) => self.reset(before),
        }
    }

    fn fx_decl(&mut self, keyword: Tok) -> Read<FxDecl> {
        self.trivia();
        let Some(n) = fx_pair(self.rest()) else {
            return self.fail("a currency pair (`USD/CNY`)");
        };
        let pair = self.tok(n);
        self.trivia();
        let Some(n) = number(self.rest()) else {
            return self.fail("a rate");
        };
        let rate = self.atom(n);
        let before_on = self.mark();
        let on = if self.at("on") {
            let on = self.tok(2);
            self.trivia();
            match date(self.rest()) {
                Some(n) => Some((on, self.atom(n))),
                None => {
                    self.reset(before_on);
                    None
                }
            }
        } else {
            None
        };
        Ok(FxDecl {
            keyword,
            pair,
            rate,
            on,
        })
    }

    /// An identifier as a token.
    fn ident(&mut self) -> Read<Tok> {
        self.trivia();
        match ident(self.rest()) {
            Some(n) => Ok(self.tok(n)),
            None => self.fail("a name"),
        }
    }

    fn relation_decl(&mut self, keyword: Tok) -> Read<RelationDecl> {
        let name = self.ident()?;
        let open = self.expect("(")?;
        let mut columns = Vec::new();
        loop {
            let column = (self.ident()?, self.expect(":")?, self.ident()?);
            if self.at(",") {
                let comma = self.tok(1);
                columns.push((column, Some(comma)));
                if self.at(")") {
                    break;
                }
            } else {
                columns.push((column, None));
                break;
            }
        }
        let close = self.expect(")")?;
        Ok(RelationDecl {
            keyword,
            name,
            open,
            columns,
            close,
        })
    }

    fn derive_decl(&mut self, keyword: Tok) -> Read<DeriveDecl> {
        let relation = self.ident()?;
        let open = self.expect("(")?;
        let mut head = Vec::new();
        loop {
            let e = self.expr()?;
            if self.at(",") {
                let comma = self.tok(1);
                head.push((e, Some(comma)));
            } else {
                head.push((e, None));
                break;
            }
        }
        let close = self.expect(")")?;
        let from_kw = self.expect("from")?;
        let patterns = self.patterns()?;
        let when = if self.at("when") {
            let kw = self.tok("when".len());
            Some((kw, self.expr()?))
        } else {
            None
        };
        Ok(DeriveDecl {
            keyword,
            relation,
            open,
            head,
            close,
            from: (from_kw, patterns),
            when,
        })
    }

    /// `pattern+`.
    fn patterns(&mut self) -> Read<Vec<Pattern>> {
        let mut patterns = vec![self.pattern()?];
        loop {
            let before = self.mark();
            match self.pattern() {
                Ok(p) => patterns.push(p),
                Err(_) => {
                    self.reset(before);
                    return Ok(patterns);
                }
            }
        }
    }

    fn defaults_decl(&mut self, keyword: Tok) -> Read<DefaultsDecl> {
        let open = self.expect("{")?;
        let mut settings = Vec::new();
        while !self.at("}") {
            settings.push(self.field(false)?);
        }
        let close = self.expect("}")?;
        Ok(DefaultsDecl {
            keyword,
            open,
            settings,
            close,
        })
    }

    fn rule_decl(&mut self, keyword: Tok) -> Read<RuleDecl> {
        let id = self.name()?;
        let title = self.optional_string();
        let open = self.expect("{")?;
        let mut settings = Vec::new();
        loop {
            let keywords = ["match", "when", "flag", "param", "let"];
            if keywords.iter().any(|w| self.at_word(w)) || self.at("}") {
                break;
            }
            let before = self.mark();
            match self.field(false) {
                Ok(f) => settings.push(f),
                Err(_) => {
                    self.reset(before);
                    break;
                }
            }
        }
        let mut params = Vec::new();
        while self.at("param") {
            let before = self.mark();
            match self.definition("param", Self::value) {
                Ok(d) => params.push(d),
                Err(_) => {
                    self.reset(before);
                    break;
                }
            }
        }
        let patterns = if self.at("match") {
            let kw = self.tok("match".len());
            Some((kw, self.patterns()?))
        } else {
            None
        };
        let mut lets = Vec::new();
        while self.at("let") {
            let before = self.mark();
            match self.definition("let", Self::expr) {
                Ok(d) => lets.push(d),
                Err(_) => {
                    self.reset(before);
                    break;
                }
            }
        }
        let when = if self.at("when") {
            let kw = self.tok("when".len());
            Some((kw, self.expr()?))
        } else {
            None
        };
        let flag_kw = self.expect("flag")?;
        self.trivia();
        let Some(n) = string(self.rest()) else {
            return self.fail("a message in quotes");
        };
        let message = self.tok(n);
        let close = self.expect("}")?;
        Ok(RuleDecl {
            keyword,
            id,
            title,
            open,
            settings,
            params,
            patterns,
            lets,
            when,
            flag: (flag_kw, message),
            close,
        })
    }

    /// `keyword name = ...`, the value read by `value`.
    fn definition<T>(
        &mut self,
        keyword: &'static str,
        value: fn(&mut Self) -> Read<T>,
    ) -> Read<Definition<T>> {
        let keyword = self.expect(keyword)?;
        self.trivia();
        let Some(n) = ident(self.rest()) else {
            return self.fail("a name");
        };
        let name = self.tok(n);
        let equals = self.expect("=")?;
        let value = value(self)?;
        Ok(Definition {
            keyword,
            name,
            equals,
            value,
        })
    }

    fn pattern(&mut self) -> Read<Pattern> {
        self.trivia();
        let Some(n) = ident(self.rest()) else {
            return self.fail("a binding");
        };
        let var = self.tok(n);
        let colon = self.expect(":")?;
        let kind = self.pattern_source()?;
        let filter = if self.at("where") {
            let kw = self.tok("where".len());
            Some((kw, self.expr()?))
        } else {
            None
        };
        Ok(Pattern {
            var,
            colon,
            kind,
            filter,
        })
    }

    /// `cycle R max N hops`, `deal`, `entity`, or a relation's name.
    fn pattern_source(&mut self) -> Read<Vec<Tok>> {
        self.trivia();
        if let Some(n) = word(self.rest(), "cycle") {
            let before = self.mark();
            match self.cycle_source(n) {
                Ok(words) => return Ok(words),
                Err(_) => self.reset(before),
            }
        }
        // `deal`, `entity` and relation names are all identifiers here.
        Ok(vec![self.ident()?])
    }

    fn cycle_source(&mut self, n: usize) -> Read<Vec<Tok>> {
        let cycle = self.tok(n);
        let relation = self.ident()?;
        let max = self.expect("max")?;
        self.trivia();
        let Some(n) = digits(self.rest()) else {
            return self.fail("a number of hops");
        };
        let hops = self.tok(n);
        let unit = if self.at("hops") {
            self.tok("hops".len())
        } else {
            self.expect("hop")?
        };
        Ok(vec![cycle, relation, max, hops, unit])
    }

    fn expr(&mut self) -> Read<Expr> {
        let mut parts = Vec::new();
        self.operand(&mut parts)?;
        loop {
            let before = self.mark();
            self.trivia();
            let Some(n) = infix(self.rest()) else {
                self.reset(before);
                break;
            };
            let mut more = vec![Part::Infix(self.tok(n))];
            if self.operand(&mut more).is_err() {
                self.reset(before);
                break;
            }
            parts.append(&mut more);
        }
        Ok(Expr { parts })
    }

    /// `prefix* primary`.
    fn operand(&mut self, parts: &mut Vec<Part>) -> Read<()> {
        loop {
            self.trivia();
            let rest = self.rest();
            let n = if rest.starts_with('-') {
                1
            } else if let Some(n) = word(rest, "not") {
                n
            } else {
                break;
            };
            parts.push(Part::Prefix(self.tok(n)));
        }
        parts.push(Part::Primary(Box::new(self.primary()?)));
        Ok(())
    }

    fn primary(&mut self) -> Read<Primary> {
        self.trivia();
        let rest = self.rest();
        if rest.starts_with('(') {
            let open = self.tok(1);
            let expr = Box::new(self.expr()?);
            let close = self.expect(")")?;
            return Ok(Primary::Paren { open, expr, close });
        }
        if rest.starts_with('[') {
            let open = self.tok(1);
            let mut items = Vec::new();
            while !self.at("]") {
                let e = self.expr()?;
                if self.at(",") {
                    let comma = self.tok(1);
                    items.push((e, Some(comma)));
                } else {
                    items.push((e, None));
                    break;
                }
            }
            let close = self.expect("]")?;
            return Ok(Primary::List { open, items, close });
        }
        if let Some(n) = string(rest) {
            return Ok(Primary::Atom(self.tok(n)));
        }
        if let Some(n) = literal(rest) {
            return Ok(Primary::Atom(self.atom(n)));
        }
        if let Some(n) = boolean(rest) {
            return Ok(Primary::Atom(self.tok(n)));
        }
        // `exists`, `any`, `all`, `sum`...: if the rest does not follow, it is a call or a path.
        for kw in ["exists", "any", "all", "sum", "count", "min", "max", "avg"] {
            let Some(n) = word(self.rest(), kw) else {
                continue;
            };
            let before = self.mark();
            let keyword = self.tok(n);
            let read = match kw {
                "exists" => self.exists_rest(keyword),
                "any" | "all" => self.quantifier_rest(keyword),
                _ => self.aggregate_rest(keyword),
            };
            match read {
                Ok(p) => return Ok(p),
                Err(_) => self.reset(before),
            }
        }
        let rest = self.rest();
        let Some(n) = ident(rest) else {
            return self.fail("an expression");
        };
        let before = self.mark();
        let name = self.tok(n);
        if self.at("(") {
            match self.call_rest(name) {
                Ok(call) => return Ok(call),
                Err(_) => self.reset(before),
            }
        } else {
            self.reset(before);
        }
        let n = path(self.rest()).unwrap_or(n);
        Ok(Primary::Atom(self.atom(n)))
    }

    /// `x: deal where ...` after `exists`.
    fn exists_rest(&mut self, keyword: Tok) -> Read<Primary> {
        let pattern = Box::new(self.pattern()?);
        Ok(Primary::Exists { keyword, pattern })
    }

    /// `t in list where ...` after `any` or `all`.
    fn quantifier_rest(&mut self, keyword: Tok) -> Read<Primary> {
        self.trivia();
        let Some(n) = ident(self.rest()) else {
            return self.fail("a name");
        };
        let var = self.tok(n);
        let in_kw = self.expect("in")?;
        // `collection`: a parenthesised expression, a list or a path.
        self.trivia();
        let list = if self.rest().starts_with(['(', '[']) {
            self.primary()?
        } else {
            match path(self.rest()) {
                Some(n) => Primary::Atom(self.atom(n)),
                None => return self.fail("a list"),
            }
        };
        let where_kw = self.expect("where")?;
        let cond = Box::new(self.expr()?);
        Ok(Primary::Quantifier {
            keyword,
            var,
            in_kw,
            list: Box::new(list),
            where_kw,
            cond,
        })
    }

    /// `( [value for] x: deal [where ...] )` after `sum`, `count`, `min`, `max` or `avg`.
    fn aggregate_rest(&mut self, keyword: Tok) -> Read<Primary> {
        let open = self.expect("(")?;
        let before = self.mark();
        let value = match self.expr() {
            Ok(e) if self.at("for") => Some((Box::new(e), self.tok("for".len()))),
            _ => {
                self.reset(before);
                None
            }
        };
        let pattern = Box::new(self.pattern()?);
        let close = self.expect(")")?;
        Ok(Primary::Aggregate {
            keyword,
            open,
            value,
            pattern,
            close,
        })
    }

    /// The `( args )` of a call whose name has been read.
    fn call_rest(&mut self, name: Tok) -> Read<Primary> {
        let open = self.expect("(")?;
        let mut args = Vec::new();
        if !self.at(")") {
            loop {
                let e = self.expr()?;
                if self.at(",") {
                    let comma = self.tok(1);
                    args.push((e, Some(comma)));
                } else {
                    args.push((e, None));
                    break;
                }
            }
        }
        let close = self.expect(")")?;
        Ok(Primary::Call {
            name,
            open,
            args,
            close,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens, as the grammar defines them. Each function returns the length in bytes of the token
// at the start of `s`, or `None`.

/// `WHITESPACE` of the grammar.
fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{feff}')
}

/// Runs of spaces and tabs become one space.
fn collapse_blanks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for c in s.chars() {
        if c == ' ' || c == '\t' {
            blank = true;
        } else {
            if blank {
                out.push(' ');
                blank = false;
            }
            out.push(c);
        }
    }
    out
}

fn first_char(s: &str, at: usize) -> Option<char> {
    s.get(at..).and_then(|r| r.chars().next())
}

/// Not followed by `XID_CONTINUE` at byte `at`.
fn boundary(s: &str, at: usize) -> bool {
    !first_char(s, at).is_some_and(XID_CONTINUE)
}

/// `w` as a keyword: not followed by a letter, digit or `_`.
fn word(s: &str, w: &str) -> Option<usize> {
    (s.starts_with(w) && boundary(s, w.len())).then_some(w.len())
}

/// `ident`: `XID_START` or `_`, then `XID_CONTINUE*`.
fn ident(s: &str) -> Option<usize> {
    let mut chars = s.char_indices();
    let (_, c) = chars.next()?;
    if !(XID_START(c) || c == '_') {
        return None;
    }
    Some(
        chars
            .find(|(_, c)| !XID_CONTINUE(*c))
            .map_or(s.len(), |(i, _)| i),
    )
}

/// `path`: `ident ("." ident)*`, no spaces.
fn path(s: &str) -> Option<usize> {
    let mut n = ident(s)?;
    while s.get(n..).is_some_and(|r| r.starts_with('.')) {
        match s.get(n + 1..).and_then(ident) {
            Some(m) => n += 1 + m,
            None => break,
        }
    }
    Some(n)
}

/// `string`: `"` then characters or `\` escapes, on one line, then `"`.
fn string(s: &str) -> Option<usize> {
    let mut chars = s.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    loop {
        match chars.next()? {
            (i, '"') => return Some(i + 1),
            (_, '\\') => {
                chars.next()?;
            }
            (_, '\n') => return None,
            _ => {}
        }
    }
}

fn count_digits(s: &str, at: usize) -> usize {
    s.get(at..)
        .map_or(0, |r| r.bytes().take_while(u8::is_ascii_digit).count())
}

/// `digits`: a digit, then digits or `_` followed by a digit.
fn digits(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut n = 1;
    loop {
        match b.get(n) {
            Some(c) if c.is_ascii_digit() => n += 1,
            Some(b'_') if b.get(n + 1).is_some_and(u8::is_ascii_digit) => n += 1,
            _ => return Some(n),
        }
    }
}

/// `number`: `-`? digits fraction? exponent? scale?
fn number(s: &str) -> Option<usize> {
    let mut n = usize::from(s.starts_with('-'));
    n += s.get(n..).and_then(digits)?;
    // fraction
    if s.get(n..).is_some_and(|r| r.starts_with('.')) {
        let d = count_digits(s, n + 1);
        if d > 0 {
            n += 1 + d;
        }
    }
    // exponent
    if s.get(n..).is_some_and(|r| r.starts_with(['e', 'E'])) {
        let mut m = n + 1;
        if s.get(m..).is_some_and(|r| r.starts_with(['+', '-'])) {
            m += 1;
        }
        let d = count_digits(s, m);
        if d > 0 && boundary(s, m + d) {
            n = m + d;
        }
    }
    // scale
    let rest = s.get(n..).unwrap_or("");
    if let Some(w) = ["万亿", "万", "亿"].iter().find(|w| rest.starts_with(**w)) {
        n += w.len();
    } else if let Some(w) = ["bn", "K", "M", "B", "T"]
        .iter()
        .find(|w| rest.starts_with(**w))
    {
        let next = first_char(rest, w.len());
        if !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            n += w.len();
        }
    }
    Some(n)
}

/// `unit`: not a keyword, a word, optionally `/` and a word, not followed by `:`.
fn unit(s: &str) -> Option<usize> {
    let keywords = [
        "and", "or", "in", "not", "where", "when", "flag", "match", "up", "for", "let", "param",
        "from", "max",
    ];
    if keywords.iter().any(|k| word(s, k).is_some()) {
        return None;
    }
    let mut n = ident(s)?;
    if s.get(n..).is_some_and(|r| r.starts_with('/'))
        && let Some(m) = s.get(n + 1..).and_then(ident)
    {
        n += 1 + m;
    }
    let after = s.get(n..).unwrap_or("").trim_start_matches(is_whitespace);
    (!after.starts_with(':')).then_some(n)
}

/// `suffixed_number`: a number, then `%` or a unit (after spaces or tabs).
fn suffixed_number(s: &str) -> Option<usize> {
    let n = number(s)?;
    let rest = s.get(n..).unwrap_or("");
    if rest.starts_with('%') {
        return Some(n + 1);
    }
    let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    match rest.get(blanks..).and_then(unit) {
        Some(u) => Some(n + blanks + u),
        None => Some(n),
    }
}

/// `prefix_money`: `$`, `€`, `£` or `¥` then a number; or a currency code, spaces, a number.
fn prefix_money(s: &str) -> Option<usize> {
    let c = s.chars().next()?;
    if matches!(c, '$' | '€' | '£' | '¥') {
        let n = c.len_utf8();
        return Some(n + s.get(n..).and_then(number)?);
    }
    let n = currency_code(s)?;
    let rest = s.get(n..)?;
    let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if blanks == 0 {
        return None;
    }
    Some(n + blanks + rest.get(blanks..).and_then(number)?)
}

/// `currency_code`: three capital letters, not followed by a letter, digit or `_`.
fn currency_code(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    (b.len() >= 3 && b.iter().take(3).all(u8::is_ascii_uppercase) && boundary(s, 3)).then_some(3)
}

/// `fx_pair`: `USD/CNY`.
fn fx_pair(s: &str) -> Option<usize> {
    let n = currency_code(s)?;
    if !s.get(n..)?.starts_with('/') {
        return None;
    }
    Some(n + 1 + s.get(n + 1..).and_then(currency_code)?)
}

/// `date`: `YYYY-MM-DD`, not followed by a letter, digit or `_`.
fn date(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let shape = b"dddd-dd-dd";
    let ok = b.len() >= shape.len()
        && shape.iter().zip(b).all(|(want, got)| match want {
            b'd' => got.is_ascii_digit(),
            _ => got == want,
        });
    (ok && boundary(s, shape.len())).then_some(shape.len())
}

/// `partial_date`: `2026-H2`, `2027-Q1`, `2025-10` (an error, but read like the grammar does).
fn partial_date(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !(b.len() >= 7 && b.iter().take(4).all(u8::is_ascii_digit) && b.get(4) == Some(&b'-')) {
        return None;
    }
    let ok = match (b.get(5), b.get(6)) {
        (Some(b'H'), Some(b'1' | b'2')) | (Some(b'Q'), Some(b'1'..=b'4')) => true,
        (Some(x), Some(y)) => x.is_ascii_digit() && y.is_ascii_digit(),
        _ => false,
    };
    let next_ok = !first_char(s, 7).is_some_and(|c| XID_CONTINUE(c) || c == '-');
    (ok && next_ok).then_some(7)
}

/// `timestamp`: `2026-03-01T10:00:00+08:00`, `2026-03-01T10:00Z`,
/// `2026-03-01T10:00 [Asia/Shanghai]` (kept as written), not followed by a letter, digit or `_`.
fn timestamp(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let digits =
        |from: usize, n: usize| (from..from + n).all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let mut n = date(s).map(|_| 10).or_else(|| {
        // `date` wants a boundary after the day; here a `T` follows it.
        (digits(0, 4)
            && b.get(4) == Some(&b'-')
            && digits(5, 2)
            && b.get(7) == Some(&b'-')
            && digits(8, 2))
        .then_some(10)
    })?;
    if !(b.get(n) == Some(&b'T')
        && digits(n + 1, 2)
        && b.get(n + 3) == Some(&b':')
        && digits(n + 4, 2))
    {
        return None;
    }
    n += 6;
    if b.get(n) == Some(&b':') && digits(n + 1, 2) {
        n += 3;
        if b.get(n) == Some(&b'.') && digits(n + 1, 1) {
            n += 1;
            let mut k = 0;
            while k < 9 && digits(n, 1) {
                n += 1;
                k += 1;
            }
        }
    }
    match b.get(n) {
        Some(b'Z') => n += 1,
        Some(b'+' | b'-')
            if digits(n + 1, 2) && b.get(n + 3) == Some(&b':') && digits(n + 4, 2) =>
        {
            n += 6;
        }
        _ => {}
    }
    let open = if b.get(n) == Some(&b'[') {
        Some(n)
    } else if b.get(n) == Some(&b' ') && b.get(n + 1) == Some(&b'[') {
        Some(n + 1)
    } else {
        None
    };
    if let Some(open) = open {
        let zone = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'+' | b'/');
        let len = b.get(open + 1..)?.iter().take_while(|c| zone(c)).count();
        if len > 0 && b.get(open + 1 + len) == Some(&b']') {
            n = open + len + 2;
        }
    }
    boundary(s, n).then_some(n)
}

/// `zone_name`: `Asia/Shanghai` (a rule setting's value).
fn zone_name(s: &str) -> Option<usize> {
    let mut n = ident(s)?;
    let part = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'+');
    let mut parts = 0;
    while s.as_bytes().get(n) == Some(&b'/') {
        let len = s
            .as_bytes()
            .get(n + 1..)?
            .iter()
            .take_while(|c| part(c))
            .count();
        if len == 0 {
            break;
        }
        n += 1 + len;
        parts += 1;
    }
    (parts > 0).then_some(n)
}

/// `literal`: a timestamp, a date, a partial date, money with a prefix, or a number with a
/// suffix.
fn literal(s: &str) -> Option<usize> {
    timestamp(s)
        .or_else(|| date(s))
        .or_else(|| partial_date(s))
        .or_else(|| prefix_money(s))
        .or_else(|| suffixed_number(s))
}

/// `boolean`: `true` or `false`.
fn boolean(s: &str) -> Option<usize> {
    word(s, "true").or_else(|| word(s, "false"))
}

/// `ceiling`: `up`, spaces or tabs, `to`.
fn ceiling(s: &str) -> Option<usize> {
    let rest = s.strip_prefix("up")?;
    let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    if blanks == 0 {
        return None;
    }
    let n = 2 + blanks;
    word(s.get(n..)?, "to").map(|m| n + m)
}

/// An infix operator.
fn infix(s: &str) -> Option<usize> {
    if let Some(n) = ["or", "and", "in"].iter().find_map(|w| word(s, w)) {
        return Some(n);
    }
    ["<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/"]
        .iter()
        .find(|op| s.starts_with(**op))
        .map(|op| op.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_end_where_the_grammar_ends_them() {
        assert_eq!(literal("100B USD }"), Some(8));
        assert_eq!(literal("USD  100B,"), Some(9));
        assert_eq!(literal("$-5 "), Some(3));
        assert_eq!(literal("1000亿美元 x"), Some("1000亿美元".len()));
        assert_eq!(literal("10 shares: 5"), Some(2));
        assert_eq!(literal("10 shares\n  : 5"), Some(2));
        assert_eq!(literal("5 and x"), Some(1));
        assert_eq!(literal("50B USD/GW"), Some(10));
        assert_eq!(literal("10%)"), Some(3));
        assert_eq!(literal("1.5e11 USD"), Some(10));
        assert_eq!(literal("2025-10-13 "), Some(10));
        assert_eq!(literal("1_000.5"), Some(7));
        assert_eq!(literal("5bnx"), Some(4));
        assert_eq!(literal("USD x"), None);
        assert_eq!(ceiling("up \t to 5 GW"), Some(7));
        assert_eq!(ceiling("upto 5"), None);
        assert_eq!(path("a.b.c == 1"), Some(5));
        assert_eq!(string(r#""a \" b" x"#), Some(8));
    }

    #[test]
    fn comments_attach_to_tokens() {
        let cst = read("// head\n\ndeal a { // after brace\n  k: v // after v\n\n  // before j\n  j: 1\n}\n// tail\n")
            .unwrap();
        let Some(Decl::Fact(d)) = cst.decls.first() else {
            panic!("a fact")
        };
        assert_eq!(d.keyword.lead.len(), 1);
        assert!(d.keyword.blank_before);
        assert_eq!(d.open.trail.as_deref(), Some("// after brace"));
        let Inner::Atom(v) = &d.fields[0].value.inner else {
            panic!("an atom")
        };
        assert_eq!(v.trail.as_deref(), Some("// after v"));
        assert!(d.fields[1].name.lead[0].blank_before);
        assert_eq!(cst.end.lead[0].text, "// tail");
    }

    #[test]
    fn schema_types_are_read_like_the_grammar_reads_them() {
        let cst = read(
            "schema deal a { x: list of: money  y: enum required: text\n  \
             z: list of (power | count) required \"doc\" \"*_t\": enum(a, b,) }",
        )
        .unwrap();
        let Some(Decl::Schema(s)) = cst.decls.first() else {
            panic!("a schema")
        };
        let names: Vec<&str> = s.fields.iter().map(|f| f.name.text.as_str()).collect();
        // `list` and `enum` without what follows them are type names.
        assert_eq!(names, ["x", "of", "y", "required", "z", "\"*_t\""]);
        assert!(matches!(&s.fields[0].ty.first, TypeAlt::Name(t) if t.text == "list"));
        assert!(matches!(&s.fields[2].ty.first, TypeAlt::Name(t) if t.text == "enum"));
        assert!(s.fields[2].required.is_none());
        let z = &s.fields[4];
        assert!(z.required.is_some());
        assert_eq!(z.doc.as_ref().map(|d| d.text.as_str()), Some("\"doc\""));
        let TypeAlt::List { item, .. } = &z.ty.first else {
            panic!("a list")
        };
        assert!(matches!(&**item, TypeAlt::Paren { ty, .. } if ty.rest.len() == 1));
        let TypeAlt::Enum { items, .. } = &s.fields[5].ty.first else {
            panic!("an enum")
        };
        assert!(items[1].1.is_some(), "the trailing comma is read");
    }

    #[test]
    fn going_back_keeps_the_comments_read_on_the_way() {
        // After `b: entity`, `flag` is first tried as the binding of another pattern.
        let cst =
            read("rule a { severity: high match b: entity\n  // note\n  flag \"m\" }").unwrap();
        let Some(Decl::Rule(r)) = cst.decls.first() else {
            panic!("a rule")
        };
        assert_eq!(r.flag.0.lead[0].text, "// note");
    }
}
