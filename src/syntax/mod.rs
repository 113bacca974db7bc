//! Parsing: source text to a typed AST with spans, collecting every syntax error of a file.
//!
//! The pest grammar lives in `grammar/dealrules.pest`. Pest's pairs are read only to build the
//! lossless syntax tree (`tree.rs`); the lowering to the AST reads that tree, as the formatter
//! does, with one lowering function per grammar rule, named after it.

pub mod ast;
pub(crate) mod chunked;
mod fast;
mod literal;
pub(crate) mod tree;
pub(crate) mod view;

pub use ast::*;

use crate::diag::{Code, Diagnostic, FileId, Span};
use crate::value::{Currency, Name, Value};
use indexmap::IndexMap;
use pest::Parser as _;
use std::sync::Arc;
use tree::Cursor;

mod grammar {
    //! The parser generated from `grammar/dealrules.pest`.
    #![allow(missing_docs)]
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/dealrules.pest"]
    pub(super) struct Grammar;
}

use grammar::{Grammar, Rule};

/// Largest source file accepted, in bytes (spans are 32-bit).
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;

/// Parses one file. Returns every declaration that parsed and a diagnostic for each syntax error
/// or bad literal; after an error the parser resumes at the next line that starts with
/// `entity`, `deal` or `rule`.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    parse_with(file, text, true)
}

/// [`parse`], reading entity and deal declarations of the common shape with the fast reader
/// ([`fast`]) when `fast` is set, and everything with the general parser otherwise.
fn parse_with(file: FileId, text: &str, fast: bool) -> (File, Vec<Diagnostic>) {
    let mut out = File::default();
    let mut diags = Vec::new();
    let mut names = crate::value::Interner::default();
    parse_each_with(file, text, fast, &mut names, &mut diags, &mut |item, _| {
        out.items.push(item)
    });
    (out, diags)
}

/// Parses `text` as [`parse`] does, but hands each declaration to `each` as soon as it is read,
/// in file order, instead of keeping them all: a deal file of a million deals never exists as
/// one syntax tree. `each` may add diagnostics of its own; syntax errors go to `diags` as they
/// are found, so the two are in file order. The field names of entities and deals
/// are taken from `names`, so that each distinct name is stored once.
pub fn parse_each(
    file: FileId,
    text: &str,
    names: &mut crate::value::Interner,
    diags: &mut Vec<Diagnostic>,
    each: &mut dyn FnMut(Item, &mut Vec<Diagnostic>),
) {
    parse_each_with(file, text, true, names, diags, each);
}

/// [`parse_each`], with the fast reader on or off (see [`parse_with`]).
fn parse_each_with(
    file: FileId,
    text: &str,
    fast: bool,
    names: &mut crate::value::Interner,
    diags: &mut Vec<Diagnostic>,
    each: &mut dyn FnMut(Item, &mut Vec<Diagnostic>),
) {
    if let Some(d) = check_size(file, text) {
        diags.push(d);
        return;
    }
    if let Some(d) = check_nesting(file, text) {
        diags.push(d);
        return;
    }
    let mut tree = tree::Builder::new(text);
    let mut offset = 0;
    while offset <= text.len() {
        match step(file, text, offset, fast, &mut tree, names, diags, each) {
            Some(next) => offset = next,
            None => break,
        }
    }
}

/// Reads the one declaration at byte `offset` of `text` (after white space and comments), hands
/// it to `each` or reports what is wrong with it, and returns where reading goes on; `None`
/// at the end of the file.
#[allow(
    clippy::too_many_arguments,
    reason = "the state of one reading of a file, shared by the sequential and chunked readers"
)]
fn step(
    file: FileId,
    text: &str,
    offset: usize,
    fast: bool,
    tree: &mut tree::Builder<'_>,
    names: &mut crate::value::Interner,
    diags: &mut Vec<Diagnostic>,
    each: &mut dyn FnMut(Item, &mut Vec<Diagnostic>),
) -> Option<usize> {
    if fast && let Some((decl, end)) = fast::fact_decl(file, text, offset, names) {
        each(Item::Fact(decl), diags);
        return Some(end);
    }
    let rest = text.get(offset..).unwrap_or("");
    match Grammar::parse(Rule::chunk, rest) {
        Ok(mut pairs) => {
            let item = pairs.next().and_then(|chunk| chunk.into_inner().next())?;
            if item.as_rule() == Rule::EOI {
                return None;
            }
            let end = item.as_span().end();
            // The declaration's tree, with spans in the file: the lowering reads it.
            let node = tree.item(item, offset);
            let mut lower = Lower {
                file,
                base: 0,
                diags,
            };
            if let Some(item) = Cursor::new(text, &node).and_then(|c| lower.item(c)) {
                each(item, diags);
            }
            Some(offset + end.max(1))
        }
        Err(quick) => {
            // Parse the failing declaration again, tracking what was expected where.
            pest::set_error_detail(true);
            let err = Grammar::parse(Rule::chunk, rest).err().unwrap_or(quick);
            pest::set_error_detail(false);
            let next = resync(text, offset);
            let pos = offset + error_offset(&err);
            match next.filter(|&n| pos >= n) {
                Some(n) => diags.push(unclosed(file, text, offset, n)),
                None => diags.push(syntax_error(file, text, offset, &err)),
            }
            next
        }
    }
}

/// An error when `text` is larger than [`MAX_FILE_BYTES`] (spans are 32-bit).
pub fn check_size(file: FileId, text: &str) -> Option<Diagnostic> {
    (text.len() > MAX_FILE_BYTES).then(|| {
        Diagnostic::error(
            Code::FileTooLarge,
            format!(
                "file too large ({} bytes; the limit is {MAX_FILE_BYTES})",
                text.len()
            ),
            Span::new(file, 0..0),
            "",
        )
    })
}

/// Deepest nesting of brackets, braces and parentheses accepted in a file.
pub const MAX_NESTING: usize = 128;

/// Most operators accepted in one expression.
pub const MAX_OPERATORS: usize = 256;

/// Most names in one path (`a.b.c` has 3).
pub const MAX_PATH: usize = 32;

/// Refuses files nested deeper than [`MAX_NESTING`] before parsing them, so that no input can
/// exhaust the stack of the parser or of later recursive passes.
/// The bytes [`check_nesting`] looks at: a quote, the start of a comment, a bracket. A table,
/// so that the scan passes over every other byte with one load and one branch.
#[allow(
    clippy::indexing_slicing,
    reason = "every index is a byte value below 256, in a table of 256"
)]
const NESTING_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(
            b as u8,
            b'"' | b'/' | b'(' | b'[' | b'{' | b')' | b']' | b'}'
        );
        b += 1;
    }
    table
};

fn check_nesting(file: FileId, text: &str) -> Option<Diagnostic> {
    // Bytes, not characters: every byte that matters here is ASCII, and no byte of a multi-byte
    // character is.
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if NESTING_BYTES.get(usize::from(b)) == Some(&false) {
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                // Messages hold `{expression}` placeholders: their nesting counts too.
                let mut inner = 0usize;
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 1,
                        b'"' | b'\n' => break,
                        b'(' | b'[' | b'{' => {
                            inner += 1;
                            if depth + inner > MAX_NESTING {
                                return Some(too_deep(file, i));
                            }
                        }
                        b')' | b']' | b'}' => inner = inner.saturating_sub(1),
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let rest = bytes.get(i..).unwrap_or_default();
                i += rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(too_deep(file, i));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

fn too_deep(file: FileId, at: usize) -> Diagnostic {
    Diagnostic::error(
        Code::TooComplex,
        format!("nesting deeper than {MAX_NESTING} levels"),
        Span::new(file, at..at + 1),
        "too deep here",
    )
    .with_help("flatten the structure; no deal or rule needs this depth")
}

/// The start of the next line after the item starting at `offset` that begins a declaration.
/// Inside a `test`, facts are declared on indented lines: after an error in a test, only an
/// unindented line starts the next declaration.
fn resync(text: &str, offset: usize) -> Option<usize> {
    let rest = text.get(offset..)?;
    let item_start = offset + (rest.len() - skip_trivia(rest).len());
    let in_test = text
        .get(item_start..)
        .and_then(|s| s.strip_prefix("test"))
        .is_some_and(|after| after.starts_with([' ', '\t']));
    let mut pos = text
        .get(item_start..)?
        .find('\n')
        .map(|i| item_start + i + 1)?;
    while pos < text.len() {
        let line = text.get(pos..)?;
        let trimmed = if in_test {
            line
        } else {
            line.trim_start_matches([' ', '\t'])
        };
        for kw in [
            "entity", "deal", "rule", "fx", "relation", "derive", "test", "defaults",
        ] {
            if trimmed
                .strip_prefix(kw)
                .is_some_and(|after| after.starts_with([' ', '\t']))
            {
                return Some(pos);
            }
        }
        pos = line.find('\n').map(|i| pos + i + 1)?;
    }
    None
}

/// The declaration starting at `offset` runs into the next one (at `next`) without its `}`.
fn unclosed(file: FileId, text: &str, offset: usize, next: usize) -> Diagnostic {
    let rest = text.get(offset..).unwrap_or("");
    let start = offset + (rest.len() - skip_trivia(rest).len());
    let header_end = text
        .get(start..)
        .and_then(|s| s.find('\n'))
        .map_or(text.len(), |i| start + i);
    let header = text
        .get(start..header_end)
        .unwrap_or("")
        .trim_end_matches(['{', ' ', '\t', '\r']);
    let next_kw_end = text
        .get(next..)
        .map_or(next, |s| next + (s.len() - s.trim_start().len()));
    let next_word_end = text
        .get(next_kw_end..)
        .and_then(|s| s.find(char::is_whitespace))
        .map_or(text.len(), |i| next_kw_end + i);
    Diagnostic::error(
        Code::Syntax,
        format!("`{header}` is not closed: expected `}}` before the next declaration"),
        Span::new(file, next_kw_end..next_word_end),
        "the next declaration starts here",
    )
    .with_label(Span::new(file, start..header_end), "opened here")
    .with_help("add the missing `}` (or remove the extra `{`)")
}

fn skip_trivia(mut s: &str) -> &str {
    loop {
        let t = s.trim_start();
        if let Some(comment) = t.strip_prefix("//") {
            s = comment
                .find('\n')
                .map_or("", |i| comment.get(i..).unwrap_or(""));
        } else {
            return t;
        }
    }
}

/// Plain words for what a grammar rule stands for, used in "expected ..." messages.
fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::entity_decl
        | Rule::deal_decl
        | Rule::rule_decl
        | Rule::test_decl
        | Rule::schema_decl
        | Rule::fx_decl
        | Rule::relation_decl
        | Rule::derive_decl
        | Rule::defaults_decl
        | Rule::chunk => "a declaration (`entity`, `deal`, `rule`, `schema`, `fx`...)",
        Rule::field => "a field (`name: value`)",
        Rule::field_spec => "a field declaration (`name: type`)",
        Rule::type_expr | Rule::type_name | Rule::list_type | Rule::enum_type => "a type",
        Rule::record_type => "a record type (`{ name: type }`)",
        Rule::kw_required => "`required`",
        Rule::field_doc => "a doc string",
        Rule::value | Rule::list | Rule::record | Rule::symbol | Rule::boolean | Rule::date => {
            "a value"
        }
        Rule::timestamp => "a date and time",
        Rule::zone_name => "a time zone (`Asia/Shanghai`)",
        Rule::month_day => "a month and day in quotes (`\"06-30\"`)",
        Rule::prefix_money | Rule::suffixed_number | Rule::number | Rule::digits => "a value",
        Rule::ident => "a name",
        Rule::string | Rule::string_inner => "a quoted string",
        Rule::title => "a title in quotes",
        Rule::rule_meta => "rule metadata (`severity:`, `tags:`, `reference:`)",
        Rule::match_clause => "`match`",
        Rule::pattern => "a pattern (`name: deal where ...`)",
        Rule::fact_type => "`deal` or `entity`",
        Rule::when_clause => "`when`",
        Rule::flag_clause => "`flag` and a message",
        Rule::expr | Rule::path | Rule::call | Rule::expr_list => "an expression",
        Rule::op_or | Rule::op_and | Rule::op_in | Rule::op_eq | Rule::op_ne | Rule::op_le => {
            "an operator"
        }
        Rule::op_ge | Rule::op_lt | Rule::op_gt | Rule::op_add | Rule::op_sub | Rule::op_mul => {
            "an operator"
        }
        Rule::op_div | Rule::op_not | Rule::op_neg => "an operator",
        Rule::unit => "a unit or currency",
        Rule::percent => "`%`",
        Rule::fraction => "a number",
        Rule::given_clause | Rule::kw_given => "`given`",
        Rule::given_facts => "`{` and facts",
        Rule::expect_clause | Rule::kw_expect => "`expect`",
        Rule::expect_error | Rule::expect_count | Rule::expect_none | Rule::expect_finding => {
            "an expectation (`RULE`, `no RULE`, `count RULE N` or `error \"text\"`)"
        }
        Rule::expect_on | Rule::kw_on => "`on (FACT, ...)`",
        Rule::expect_severity | Rule::kw_severity => "`severity`",
        Rule::expect_message | Rule::kw_message => "`message`",
        _ => return None,
    })
}

/// Where a pest error is: the farthest position the parser reached, where that is known.
fn error_offset(err: &pest::error::Error<Rule>) -> usize {
    let reported = reported_offset(err);
    err.parse_attempts()
        .map_or(reported, |a| a.max_position.max(reported))
}

fn reported_offset(err: &pest::error::Error<Rule>) -> usize {
    match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    }
}

fn syntax_error(
    file: FileId,
    text: &str,
    base: usize,
    err: &pest::error::Error<Rule>,
) -> Diagnostic {
    use pest::error::ErrorVariant;
    let pos = base + error_offset(err);
    let mut expected: Vec<String> = Vec::new();
    let push = |expected: &mut Vec<String>, s: String| {
        if !expected.contains(&s) {
            expected.push(s);
        }
    };
    let attempts = err.parse_attempts();
    let farther = attempts
        .as_ref()
        .is_some_and(|a| base + a.max_position > base + reported_offset(err));
    if let Some(attempts) = &attempts {
        for token in attempts.expected_tokens() {
            let token = token.to_string();
            if ["{", "}", ":", "[", "]", "(", ")", ",", "\""].contains(&token.as_str()) {
                push(&mut expected, format!("`{token}`"));
            }
        }
    }
    if let (false, ErrorVariant::ParsingError { positives, .. }) = (farther, &err.variant) {
        for rule in positives {
            if let Some(words) = describe_rule(*rule) {
                push(&mut expected, words.to_string());
            }
        }
    }
    // Tokens that only start a value or an expression add nothing next to "a value".
    if expected.iter().any(|e| {
        e == "a value" || e == "an expression" || e == "a quoted string" || e.starts_with("a field")
    }) {
        expected.retain(|e| !["`\"`", "`[`", "`{`", "`(`"].contains(&e.as_str()));
    }
    if expected.is_empty() {
        let width = text
            .get(pos..)
            .and_then(|s| s.chars().next())
            .map_or(0, char::len_utf8);
        let found = text
            .get(pos..)
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or("end of file");
        return Diagnostic::error(
            Code::Syntax,
            format!("cannot read `{found}` here"),
            Span::new(file, pos..pos + width),
            "unexpected",
        );
    }
    let list = match expected.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    let before = text.get(..pos).unwrap_or("").trim_end();
    let context = if before.ends_with(':') {
        let name: String = before
            .trim_end_matches(':')
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if name.is_empty() {
            String::new()
        } else {
            format!(" after `{name}:`")
        }
    } else {
        String::new()
    };
    let after = text.get(pos..).unwrap_or("");
    let found = match after.trim_start_matches([' ', '\t']).chars().next() {
        None => "end of file".to_string(),
        Some('\n' | '\r') => "end of line".to_string(),
        Some(_) => {
            let word: String = after
                .trim_start_matches([' ', '\t'])
                .chars()
                .take_while(|c| !c.is_whitespace())
                .take(20)
                .collect();
            format!("`{}`", word.escape_debug())
        }
    };
    let width = text
        .get(pos..)
        .and_then(|s| s.chars().next())
        .map_or(0, char::len_utf8);
    let d = Diagnostic::error(
        Code::Syntax,
        format!("expected {list}{context}, found {found}"),
        Span::new(file, pos..pos + width),
        format!("expected {list}"),
    );
    if after.trim_start().starts_with('#') {
        d.with_help("comments start with `//`")
    } else {
        d
    }
}

/// A value literal that could not be read (`"10 GX".parse::<Value>()`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseValueError(String);

impl std::str::FromStr for Value {
    type Err = ParseValueError;

    /// Reads one value as written in a deal file: `100B USD`, `up to 10 GW`, `2025-10-13`,
    /// `[a, b]`, `"text"`.
    fn from_str(text: &str) -> Result<Value, ParseValueError> {
        match fast::value_only(text) {
            Some(v) => Ok(v),
            None => value_with_parser(text),
        }
    }
}

/// `Value::from_str` ([`std::str::FromStr`]) by the general parser alone.
fn value_with_parser(text: &str) -> Result<Value, ParseValueError> {
    let file = FileId::new(u32::MAX);
    let pair = Grammar::parse(Rule::value_only, text)
        .map_err(|e| ParseValueError(syntax_error(file, text, 0, &e).message))?
        .next()
        .and_then(|p| p.into_inner().next())
        .ok_or_else(|| ParseValueError("expected a value".into()))?;
    let node = tree::Builder::new(text).element(pair, 0);
    let mut diags = Vec::new();
    let mut lower = Lower {
        file,
        base: 0,
        diags: &mut diags,
    };
    let value = Cursor::new(text, &node).and_then(|c| lower.value(c));
    match (value, diags.first()) {
        (Some(v), None) => Ok(v),
        (_, Some(d)) => Err(ParseValueError(match &d.help {
            Some(h) => format!("{}; {h}", d.message),
            None => d.message.clone(),
        })),
        (None, None) => Err(ParseValueError("expected a value".into())),
    }
}

fn fact_kind(text: &str) -> FactKind {
    match text {
        "entity" => FactKind::Entity,
        "deal" => FactKind::Deal,
        relation => FactKind::Row(nfc(relation)),
    }
}

/// Most hops a `cycle` pattern may ask for.
pub const MAX_CYCLE_HOPS: u32 = 8;

/// How an operator of an expression binds: prefix or left-associative infix, and its
/// precedence (higher binds tighter). The table pest's `PrattParser` was built with, with its
/// numbers (`or` 20 ... `-x` 80, one step of 10 per level). That parser consumes only pest's
/// pairs; the lowering climbs precedences itself ([`Lower::operand`]) so that it can read the
/// syntax tree instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binding {
    /// `not x`, `-x`: the operand is parsed at the operator's precedence minus one.
    Prefix(u8),
    /// `a op b`, left-associative: the right operand is parsed at the operator's precedence.
    Infix(u8, BinaryOp),
}

/// The [`Binding`] of an operator rule; `None` for a primary.
fn binding(rule: Rule) -> Option<Binding> {
    use Binding::{Infix, Prefix};
    Some(match rule {
        Rule::op_or => Infix(20, BinaryOp::Or),
        Rule::op_and => Infix(30, BinaryOp::And),
        Rule::op_not => Prefix(40),
        Rule::op_eq => Infix(50, BinaryOp::Eq),
        Rule::op_ne => Infix(50, BinaryOp::Ne),
        Rule::op_lt => Infix(50, BinaryOp::Lt),
        Rule::op_le => Infix(50, BinaryOp::Le),
        Rule::op_gt => Infix(50, BinaryOp::Gt),
        Rule::op_ge => Infix(50, BinaryOp::Ge),
        Rule::op_in => Infix(50, BinaryOp::In),
        Rule::op_add => Infix(60, BinaryOp::Add),
        Rule::op_sub => Infix(60, BinaryOp::Sub),
        Rule::op_mul => Infix(70, BinaryOp::Mul),
        Rule::op_div => Infix(70, BinaryOp::Div),
        Rule::op_neg => Prefix(80),
        _ => return None,
    })
}

/// A name in Unicode normalisation form C, so that `é` typed as one code point or as `e` and a
/// combining accent is the same name.
pub fn nfc(name: &str) -> Name {
    use unicode_normalization::UnicodeNormalization as _;
    if unicode_normalization::is_nfc_quick(name.chars()) == unicode_normalization::IsNormalized::Yes
    {
        Arc::from(name)
    } else {
        Arc::from(name.nfc().collect::<String>().as_str())
    }
}

/// Turns the syntax tree's nodes ([`tree::Cursor`]) into AST nodes; one method per grammar rule.
struct Lower<'a> {
    file: FileId,
    /// Byte offset in the file of the text the tree was built from: 0 for a declaration, whose
    /// tree has the file's offsets; where the text starts for a message's placeholder, read on
    /// its own.
    base: usize,
    diags: &'a mut Vec<Diagnostic>,
}

impl Lower<'_> {
    fn span(&self, pair: &Cursor<'_>) -> Span {
        Span::new(self.file, self.base + pair.start()..self.base + pair.end())
    }

    fn error(
        &mut self,
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::error(code, message, span, label));
    }

    fn item(&mut self, pair: Cursor<'_>) -> Option<Item> {
        match pair.as_rule() {
            Rule::entity_decl => Some(Item::Fact(self.fact_decl(pair, FactKind::Entity))),
            Rule::deal_decl => Some(Item::Fact(self.fact_decl(pair, FactKind::Deal))),
            Rule::rule_decl => self.rule_decl(pair).map(|r| Item::Rule(Box::new(r))),
            Rule::fx_decl => self.fx_decl(pair).map(Item::Fx),
            Rule::relation_decl => self.relation_decl(pair).map(Item::Relation),
            Rule::derive_decl => self.derive_decl(pair).map(|d| Item::Derive(Box::new(d))),
            Rule::schema_decl => self.schema_decl(pair).map(Item::Schema),
            Rule::test_decl => self.test_decl(pair).map(|t| Item::Test(Box::new(t))),
            Rule::defaults_decl => self.defaults_decl(pair).map(Item::Defaults),
            _ => None,
        }
    }

    fn schema_decl(&mut self, pair: Cursor<'_>) -> Option<SchemaDecl> {
        let span = self.span(&pair);
        let mut target = None;
        let mut kind = None;
        let mut title = None;
        let mut fields = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::fact_type => {
                    target = Some(if p.as_str() == "deal" {
                        FactKind::Deal
                    } else {
                        FactKind::Entity
                    });
                }
                Rule::schema_kind => kind = p.into_inner().next().map(|i| self.name(i)),
                Rule::title => title = Some(self.title(p)),
                Rule::field_spec => fields.push(self.field_spec(p)?),
                _ => {}
            }
        }
        Some(SchemaDecl {
            target: target?,
            kind,
            title,
            fields,
            span,
        })
    }

    fn field_spec(&mut self, pair: Cursor<'_>) -> Option<FieldSpec> {
        let span = self.span(&pair);
        let mut name = None;
        let mut ty = None;
        let mut required = false;
        let mut doc = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident | Rule::string if name.is_none() => name = Some(self.name(p)),
                Rule::type_expr => ty = Some(self.type_expr(p)?),
                Rule::kw_required => required = true,
                Rule::field_doc => {
                    if let Some(s) = p.into_inner().next() {
                        let span = self.span(&s);
                        doc = Some(Text {
                            text: self.string(s),
                            span,
                        });
                    }
                }
                _ => {}
            }
        }
        Some(FieldSpec {
            name: name?,
            ty: ty?,
            required,
            doc,
            span,
        })
    }

    fn type_expr(&mut self, pair: Cursor<'_>) -> Option<TypeExpr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::type_expr => {
                let mut alts = Vec::new();
                for p in pair.into_inner() {
                    alts.push(self.type_expr(p)?);
                }
                if alts.len() == 1 {
                    return alts.pop();
                }
                TypeExprKind::Union(alts)
            }
            Rule::type_name => TypeExprKind::Name(self.name(pair.into_inner().next()?)),
            Rule::list_type => {
                let inner = pair
                    .into_inner()
                    .find(|p| !matches!(p.as_rule(), Rule::kw_list | Rule::kw_of))?;
                TypeExprKind::List(Box::new(self.type_expr(inner)?))
            }
            Rule::enum_type => TypeExprKind::Enum(
                pair.into_inner()
                    .filter(|p| p.as_rule() == Rule::ident)
                    .map(|p| self.name(p))
                    .collect(),
            ),
            Rule::record_type => {
                let mut fields = Vec::new();
                for p in pair.into_inner() {
                    fields.push(self.field_spec(p)?);
                }
                TypeExprKind::Record(fields)
            }
            _ => return None,
        };
        Some(TypeExpr { kind, span })
    }

    fn relation_decl(&mut self, pair: Cursor<'_>) -> Option<RelationDecl> {
        const TYPES: [&str; 10] = [
            "entity", "deal", "money", "quantity", "number", "percent", "date", "text", "name",
            "any",
        ];
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.name(inner.next()?);
        let mut columns: Vec<(Ident, Ident)> = Vec::new();
        for c in inner {
            let mut parts = c.into_inner();
            let (Some(col), Some(ty)) = (parts.next(), parts.next()) else {
                continue;
            };
            let col = self.name(col);
            let ty = self.name(ty);
            if !TYPES.contains(&&*ty.name) {
                let mut d = Diagnostic::error(
                    Code::UnknownType,
                    format!("unknown column type `{}`", ty.name),
                    ty.span,
                    "not a type",
                );
                d.help = crate::diag::did_you_mean(&ty.name, TYPES)
                    .or(Some(format!("the types are: {}", TYPES.join(", "))));
                self.diags.push(d);
                return None;
            }
            if columns.iter().any(|(c, _)| c.name == col.name) {
                self.error(
                    Code::DeclaredTwice,
                    format!("column `{}` appears twice", col.name),
                    col.span,
                    "second time",
                );
                return None;
            }
            columns.push((col, ty));
        }
        Some(RelationDecl {
            name,
            columns,
            span,
        })
    }

    fn derive_decl(&mut self, pair: Cursor<'_>) -> Option<DeriveDecl> {
        let span = self.span(&pair);
        let mut relation = None;
        let mut head = Vec::new();
        let mut patterns = Vec::new();
        let mut when = None;
        let mut ok = true;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident if relation.is_none() => relation = Some(self.name(p)),
                Rule::expr => match self.expr(p) {
                    Some(e) => head.push(e),
                    None => ok = false,
                },
                Rule::pattern => match self.pattern(p) {
                    Some(pat) => patterns.push(pat),
                    None => ok = false,
                },
                Rule::when_clause => {
                    if let Some(e) = p.into_inner().next() {
                        match self.expr(e) {
                            Some(e) => when = Some(e),
                            None => ok = false,
                        }
                    }
                }
                _ => {}
            }
        }
        if !ok {
            return None;
        }
        Some(DeriveDecl {
            relation: relation?,
            head,
            patterns,
            when,
            span,
        })
    }

    fn test_decl(&mut self, pair: Cursor<'_>) -> Option<TestDecl> {
        let span = self.span(&pair);
        let mut name = None;
        let mut title = None;
        let mut given = Vec::new();
        let mut expects = Vec::new();
        let mut ok = true;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident | Rule::string if name.is_none() => name = Some(self.name(p)),
                Rule::title => title = Some(self.title(p)),
                Rule::given_clause => match self.given_clause(p) {
                    Some(g) => given.push(g),
                    None => ok = false,
                },
                Rule::expect_clause => match self.expect_clause(p) {
                    Some(e) => expects.push(e),
                    None => ok = false,
                },
                _ => {}
            }
        }
        let name = name?;
        if expects.is_empty() && ok {
            self.diags.push(
                Diagnostic::error(
                    Code::BadTest,
                    format!("test `{}` has no `expect`", name.name),
                    name.span,
                    "this test checks nothing",
                )
                .with_help(
                    "add what the rules must find: `expect RULE on (FACT, ...)`, `expect no RULE`",
                ),
            );
            return None;
        }
        ok.then_some(TestDecl {
            name,
            title,
            given,
            expects,
            span,
        })
    }

    /// `given "file"` or `given { facts }`.
    fn given_clause(&mut self, pair: Cursor<'_>) -> Option<Given> {
        let inner = pair.into_inner().find(|p| p.as_rule() != Rule::kw_given)?;
        if inner.as_rule() == Rule::string {
            return Some(Given::File(self.text(inner)));
        }
        let span = self.span(&inner);
        let mut facts = Vec::new();
        let mut rates = Vec::new();
        let mut ok = true;
        for p in inner.into_inner() {
            match p.as_rule() {
                Rule::entity_decl => facts.push(self.fact_decl(p, FactKind::Entity)),
                Rule::deal_decl => facts.push(self.fact_decl(p, FactKind::Deal)),
                Rule::fx_decl => match self.fx_decl(p) {
                    Some(fx) => rates.push(fx),
                    None => ok = false,
                },
                _ => {}
            }
        }
        ok.then_some(Given::Facts { facts, rates, span })
    }

    /// `expect ...`.
    fn expect_clause(&mut self, pair: Cursor<'_>) -> Option<Expect> {
        let span = self.span(&pair);
        let inner = pair.into_inner().find(|p| p.as_rule() != Rule::kw_expect)?;
        let rule = inner.as_rule();
        let mut parts = inner
            .into_inner()
            .filter(|p| !matches!(p.as_rule(), Rule::kw_error | Rule::kw_count | Rule::kw_no));
        let kind = match rule {
            Rule::expect_error => ExpectKind::Error(self.text(parts.next()?)),
            Rule::expect_count => {
                let rule = self.name(parts.next()?);
                let digits = parts.next()?;
                let Ok(count) = digits.as_str().replace('_', "").parse::<usize>() else {
                    let span = self.span(&digits);
                    self.error(Code::BadTest, "too many findings to expect", span, "here");
                    return None;
                };
                ExpectKind::Count { rule, count }
            }
            Rule::expect_none => {
                let rule = self.name(parts.next()?);
                let on = parts.next().map(|p| self.expect_on(p));
                ExpectKind::NoFinding { rule, on }
            }
            _ => {
                let rule = self.name(parts.next()?);
                let mut on = None;
                let mut severity = None;
                let mut message = None;
                for p in parts {
                    match p.as_rule() {
                        Rule::expect_on => on = Some(self.expect_on(p)),
                        Rule::expect_severity => {
                            let word = p.into_inner().find(|w| w.as_rule() == Rule::ident)?;
                            let span = self.span(&word);
                            match Severity::parse(word.as_str()) {
                                Some(s) => severity = Some(s),
                                None => {
                                    let names = Severity::ALL.map(Severity::name);
                                    let mut d = Diagnostic::error(
                                        Code::BadTest,
                                        format!("unknown severity `{}`", word.as_str()),
                                        span,
                                        "not a severity",
                                    );
                                    d.help = crate::diag::did_you_mean(word.as_str(), names).or(
                                        Some(
                                            "severity is one of `critical`, `high`, `medium`, `low`, `info`"
                                                .into(),
                                        ),
                                    );
                                    self.diags.push(d);
                                    return None;
                                }
                            }
                        }
                        Rule::expect_message => {
                            let mut contains = false;
                            let mut text = None;
                            for w in p.into_inner() {
                                match w.as_rule() {
                                    Rule::kw_contains => contains = true,
                                    Rule::string => text = Some(self.text(w)),
                                    _ => {}
                                }
                            }
                            let text = text?;
                            message = Some(if contains {
                                MessageCheck::Contains(text)
                            } else {
                                MessageCheck::Is(text)
                            });
                        }
                        _ => {}
                    }
                }
                ExpectKind::Finding {
                    rule,
                    on,
                    severity,
                    message,
                }
            }
        };
        Some(Expect { kind, span })
    }

    /// `on (a, b)`: the fact ids.
    fn expect_on(&mut self, pair: Cursor<'_>) -> Vec<Ident> {
        pair.into_inner()
            .filter(|p| matches!(p.as_rule(), Rule::ident | Rule::string))
            .map(|p| self.name(p))
            .collect()
    }

    fn fx_decl(&mut self, pair: Cursor<'_>) -> Option<FxDecl> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let pair_text = inner.next()?;
        let pair_span = self.span(&pair_text);
        let (base, quote) = pair_text.as_str().split_once('/')?;
        let rate = self.number(inner.next()?)?;
        let date = match inner.next() {
            Some(d) => {
                let date_span = self.span(&d);
                match self.literal_result(literal::fx_date(d.as_str()), date_span)? {
                    Value::Date(d) => Some(d),
                    _ => None,
                }
            }
            None => None,
        };
        let mut ok = true;
        let mut currency = |code: &str, this: &mut Self| match Currency::parse(code) {
            Some(c) => Some(c),
            None => {
                ok = false;
                let mut d = Diagnostic::error(
                    Code::BadLiteral,
                    format!("unknown currency `{code}`"),
                    pair_span,
                    "here",
                );
                d.help = crate::diag::did_you_mean(code, crate::value::CURRENCIES.iter().copied());
                this.diags.push(d);
                None
            }
        };
        let base = currency(base, self);
        let quote = currency(quote, self);
        if rate <= rust_decimal::Decimal::ZERO {
            self.error(
                Code::BadFx,
                "an exchange rate must be positive",
                span,
                "here",
            );
            return None;
        }
        if base == quote {
            self.error(
                Code::BadFx,
                "an exchange rate needs two different currencies",
                pair_span,
                "here",
            );
            return None;
        }
        Some(FxDecl {
            base: base?,
            quote: quote?,
            rate,
            date,
            span,
        })
    }

    fn name(&mut self, pair: Cursor<'_>) -> Ident {
        let span = self.span(&pair);
        let name: Name = match pair.as_rule() {
            Rule::string => nfc(&self.string(pair)),
            _ => nfc(pair.as_str()),
        };
        Ident { name, span }
    }

    fn string(&mut self, pair: Cursor<'_>) -> String {
        let span = self.span(&pair);
        let raw = pair.into_inner().next().map_or("", |p| p.as_str());
        match literal::unescape(raw) {
            Ok(s) => s,
            Err(why) => {
                self.error(
                    Code::BadLiteral,
                    format!("invalid string: {why}"),
                    span,
                    "here",
                );
                raw.to_string()
            }
        }
    }

    /// A quoted string with its span.
    fn text(&mut self, pair: Cursor<'_>) -> Text {
        let span = self.span(&pair);
        let text = self.string(pair);
        Text { text, span }
    }

    fn title(&mut self, pair: Cursor<'_>) -> Text {
        let span = self.span(&pair);
        let inner = pair.into_inner().next();
        let text = inner.map(|s| self.string(s)).unwrap_or_default();
        Text { text, span }
    }

    fn fact_decl(&mut self, pair: Cursor<'_>, kind: FactKind) -> FactDecl {
        let span = self.span(&pair);
        let mut id = None;
        let mut title = None;
        let mut fields = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident | Rule::string if id.is_none() => id = Some(self.name(p)),
                Rule::title => title = Some(self.title(p)),
                Rule::field => {
                    if let Some(f) = self.field(p) {
                        fields.push(f);
                    }
                }
                _ => {}
            }
        }
        if let Some(i) = id.as_ref().filter(|i| matches!(&*i.name, "true" | "false")) {
            self.diags.push(
                Diagnostic::error(
                    Code::ReservedId,
                    format!("`{}` cannot be an id", i.name),
                    i.span,
                    "reserved word",
                )
                .with_help(
                    "`true` and `false` are values; choose another id, or quote a different name",
                ),
            );
        }
        FactDecl {
            kind,
            id: id.unwrap_or(Ident {
                name: Arc::from(""),
                span,
            }),
            title,
            fields,
            span,
        }
    }

    fn field(&mut self, pair: Cursor<'_>) -> Option<Field> {
        let mut inner = pair.into_inner();
        let name = self.name(inner.next()?);
        let value_pair = inner.next()?;
        let value_span = self.span(&value_pair);
        if value_pair.as_rule() == Rule::month_day {
            let (message, help) = crate::value::unquoted_month_day(value_pair.as_str());
            let d = Diagnostic::error(Code::RuleSetting, message, value_span, "not quoted");
            self.diags.push(d.with_help(help));
            return None;
        }
        let value = if value_pair.as_rule() == Rule::zone_name {
            // `timezone: Asia/Shanghai`, a rule setting: the name as text.
            Value::text(value_pair.as_str())
        } else {
            self.value(value_pair)?
        };
        Some(Field {
            name,
            value,
            value_span,
        })
    }

    fn value(&mut self, pair: Cursor<'_>) -> Option<Value> {
        let span = self.span(&pair);
        let mut ceiling = false;
        let mut result = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ceiling => ceiling = true,
                _ => result = self.value_inner(p),
            }
        }
        let mut value = result?;
        if ceiling {
            match &mut value {
                Value::Money(m) => m.ceiling = true,
                Value::Quantity(q) => q.ceiling = true,
                other => {
                    self.error(
                        Code::BadLiteral,
                        format!(
                            "`up to` needs an amount or a quantity, not {}",
                            other.describe()
                        ),
                        span,
                        "here",
                    );
                }
            }
        }
        Some(value)
    }

    fn value_inner(&mut self, pair: Cursor<'_>) -> Option<Value> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::list => {
                let items = pair.into_inner().filter_map(|p| self.value(p)).collect();
                Some(Value::List(items))
            }
            Rule::record => {
                let mut fields: IndexMap<Name, Value> = IndexMap::new();
                for f in pair.into_inner() {
                    if let Some(field) = self.field(f) {
                        if fields.contains_key(&field.name.name) {
                            self.error(
                                Code::DuplicateField,
                                format!("field `{}` appears twice in this record", field.name.name),
                                field.name.span,
                                "second time",
                            );
                            continue;
                        }
                        fields.insert(field.name.name, field.value);
                    }
                }
                Some(Value::Record(Arc::new(fields)))
            }
            Rule::string => Some(Value::Text(Arc::from(self.string(pair).as_str()))),
            Rule::boolean => Some(Value::Bool(pair.as_str() == "true")),
            Rule::symbol => Some(Value::Symbol(
                nfc(pair.as_str()),
                crate::value::SymbolId::NONE,
            )),
            Rule::date => self.literal_result(literal::date(pair.as_str()), span),
            Rule::timestamp => self.literal_result(literal::timestamp(pair.as_str()), span),
            Rule::partial_date => {
                self.diags.push(
                    Diagnostic::error(Code::BadLiteral,
                        format!("`{}` is not an exact date", pair.as_str()),
                        span,
                        "a partial date",
                    )
                    .with_help(format!(
                        "dates are exact days (`2025-10-13`); keep imprecise timing as text: `\"{}\"`",
                        pair.as_str()
                    )),
                );
                None
            }
            Rule::prefix_money => self.prefix_money(pair),
            Rule::suffixed_number => self.suffixed_number(pair),
            _ => None,
        }
    }

    fn literal_result(
        &mut self,
        r: Result<Value, literal::LiteralError>,
        span: Span,
    ) -> Option<Value> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let (message, help) = e.describe();
                let mut d = Diagnostic::error(Code::BadLiteral, message, span, "here");
                d.help = help;
                self.diags.push(d);
                None
            }
        }
    }

    fn number(&mut self, pair: Cursor<'_>) -> Option<rust_decimal::Decimal> {
        let span = self.span(&pair);
        let mut parts = literal::NumberParts::default();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::sign => parts.negative = true,
                Rule::digits => parts.digits = p.as_str(),
                Rule::fraction => parts.fraction = Some(p.as_str()),
                Rule::exponent => parts.exponent = Some(p.as_str()),
                Rule::scale => parts.scale = Some(p.as_str()),
                _ => {}
            }
        }
        let r = literal::number(parts).map(Value::Number);
        match self.literal_result(r, span)? {
            Value::Number(d) => Some(d),
            _ => None,
        }
    }

    fn prefix_money(&mut self, pair: Cursor<'_>) -> Option<Value> {
        let span = self.span(&pair);
        let mut currency = "USD".to_string();
        let mut amount = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::currency_prefix => {
                    for c in p.into_inner() {
                        currency = match c.as_str() {
                            "$" => "USD".to_string(),
                            "€" => "EUR".to_string(),
                            "£" => "GBP".to_string(),
                            "¥" => {
                                let err = Err(literal::LiteralError::AmbiguousYen);
                                return self.literal_result(err, span);
                            }
                            code => code.to_string(),
                        };
                    }
                }
                Rule::number => amount = Some(self.number(p)?),
                _ => {}
            }
        }
        let r = literal::with_unit(amount?, &currency);
        self.literal_result(r, span)
    }

    fn suffixed_number(&mut self, pair: Cursor<'_>) -> Option<Value> {
        let mut amount = None;
        let mut suffix: Option<(Rule, &str, Span)> = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::number => amount = Some(self.number(p)?),
                Rule::percent | Rule::unit => {
                    suffix = Some((p.as_rule(), p.as_str(), self.span(&p)))
                }
                Rule::spaced_scale => {
                    let span = self.span(&p);
                    let mut words = p.into_inner();
                    let scale = words.next().map_or("", |w| w.as_str());
                    let unit = words.next().map_or("", |w| w.as_str());
                    self.diags.push(
                        Diagnostic::error(
                            Code::BadLiteral,
                            format!("`{scale}` is apart from its number"),
                            span,
                            "a space before the scale word",
                        )
                        .with_help(format!(
                            "write the scale word against the number: `{}{scale} {unit}`",
                            amount.map_or(String::new(), |a: rust_decimal::Decimal| a.to_string())
                        )),
                    );
                    return None;
                }
                _ => {}
            }
        }
        let amount = amount?;
        match suffix {
            None => Some(Value::Number(amount)),
            Some((Rule::percent, _, span)) => {
                self.literal_result(literal::ratio(amount, 100), span)
            }
            Some((_, unit, span)) => self.literal_result(literal::with_unit(amount, unit), span),
        }
    }

    /// `timezone: Asia/Shanghai` (in a rule or in `defaults`): the zone's canonical name, or
    /// `None` after reporting an unknown zone (with the closest names).
    fn timezone_setting(&mut self, field: &Field) -> Option<Text> {
        let zone = field.value.as_name().map(str::to_string);
        if let Some((canonical, _)) = zone.as_deref().and_then(crate::value::zone) {
            return Some(Text {
                text: canonical.to_string(),
                span: field.value_span,
            });
        }
        let mut d = Diagnostic::error(
            Code::RuleSetting,
            match &zone {
                Some(z) => format!("unknown time zone `{z}`"),
                None => "`timezone` must be a time zone name".into(),
            },
            field.value_span,
            "not a time zone",
        );
        d.help = zone
            .as_deref()
            .and_then(crate::value::zone_suggestion)
            .or(Some(
                "a zone is an IANA name: `timezone: Asia/Shanghai`, \
                 `timezone: America/New_York`, `timezone: UTC`"
                    .into(),
            ));
        self.diags.push(d);
        None
    }

    /// `fiscal_year_end: "06-30"` (in a rule or in `defaults`), or `None` after reporting a
    /// value that is not a month and day.
    fn fiscal_year_end_setting(&mut self, field: &Field) -> Option<Text> {
        if let Some(t) = field
            .value
            .as_name()
            .filter(|t| crate::value::month_day(t).is_some())
        {
            return Some(Text {
                text: t.to_string(),
                span: field.value_span,
            });
        }
        let (message, help) = crate::value::year_end_refused(field.value.as_name());
        let d = Diagnostic::error(Code::RuleSetting, message, field.value_span, "here");
        self.diags.push(d.with_help(help));
        None
    }

    /// Records setting `field` among `settings` (name and place of each so far); `false`, with
    /// an error naming both places, when it was given before (`what`: `rule setting`).
    fn first_setting(
        &mut self,
        settings: &mut Vec<(Name, Span)>,
        field: &Field,
        what: &str,
    ) -> bool {
        if let Some((_, first)) = settings.iter().find(|(n, _)| *n == field.name.name) {
            self.diags.push(
                Diagnostic::error(
                    Code::RuleSetting,
                    format!("{what} `{}` is given twice", field.name.name),
                    field.name.span,
                    "second time",
                )
                .with_label(*first, "first time"),
            );
            return false;
        }
        settings.push((field.name.name.clone(), field.name.span));
        true
    }

    /// `defaults { timezone: ...  fiscal_year_end: ... }`. Two declarations of the pack (in one
    /// file or two) are reconciled when they are loaded, not here.
    fn defaults_decl(&mut self, pair: Cursor<'_>) -> Option<DefaultsDecl> {
        let span = self.span(&pair);
        let mut keyword = span;
        let mut timezone = None;
        let mut fiscal_year_end = None;
        let mut ok = true;
        let mut settings: Vec<(Name, Span)> = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::kw_defaults => keyword = self.span(&p),
                Rule::rule_meta => {
                    let Some(field) = self.field(p) else {
                        ok = false;
                        continue;
                    };
                    if !self.first_setting(&mut settings, &field, "pack default") {
                        ok = false;
                        continue;
                    }
                    let setting = match &*field.name.name {
                        "timezone" => self.timezone_setting(&field).map(|t| timezone = Some(t)),
                        "fiscal_year_end" => self
                            .fiscal_year_end_setting(&field)
                            .map(|t| fiscal_year_end = Some(t)),
                        other => {
                            const SETTINGS: [&str; 2] = ["timezone", "fiscal_year_end"];
                            let mut d = Diagnostic::error(
                                Code::RuleSetting,
                                format!("unknown pack default `{other}`"),
                                field.name.span,
                                "not a pack default",
                            );
                            d.help = crate::diag::did_you_mean(other, SETTINGS).or(Some(
                                "`defaults` sets `timezone` and `fiscal_year_end`; other \
                                 settings belong in each rule"
                                    .into(),
                            ));
                            self.diags.push(d);
                            None
                        }
                    };
                    ok &= setting.is_some();
                }
                _ => {}
            }
        }
        ok.then_some(DefaultsDecl {
            timezone,
            fiscal_year_end,
            keyword,
            span,
        })
    }

    fn rule_decl(&mut self, pair: Cursor<'_>) -> Option<RuleDecl> {
        let span = self.span(&pair);
        let mut id = None;
        let mut title = None;
        let mut severity = None;
        let mut tags = Vec::new();
        let mut reference = None;
        let mut timezone = None;
        let mut fiscal_year_end = None;
        let mut patterns = Vec::new();
        let mut when = None;
        let mut message = None;
        let mut ok = true;
        let mut settings: Vec<(Name, Span)> = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        let mut lets: Vec<Let> = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident | Rule::string if id.is_none() => id = Some(self.name(p)),
                Rule::title => title = Some(self.title(p)),
                Rule::rule_meta => {
                    let Some(field) = self.field(p) else {
                        ok = false;
                        continue;
                    };
                    if !self.first_setting(&mut settings, &field, "rule setting") {
                        ok = false;
                        continue;
                    }
                    match &*field.name.name {
                        "severity" => match field.value.as_name().and_then(Severity::parse) {
                            Some(s) => severity = Some(s),
                            None => {
                                ok = false;
                                self.diags.push(
                                    Diagnostic::error(Code::RuleSetting,
                                        format!("unknown severity `{}`", field.value),
                                        field.value_span,
                                        "not a severity",
                                    )
                                    .with_help("severity is one of `critical`, `high`, `medium`, `low`, `info`"),
                                );
                            }
                        },
                        "tags" => match field.value {
                            Value::List(items)
                                if items.iter().all(|v| matches!(v, Value::Symbol(..))) =>
                            {
                                tags = items
                                    .iter()
                                    .filter_map(|v| v.as_name().map(Arc::from))
                                    .collect()
                            }
                            _ => self.error(
                                Code::RuleSetting,
                                "`tags` must be a list of names (`[circular, asc606]`)",
                                field.value_span,
                                "not a list of names",
                            ),
                        },
                        "reference" => match field.value {
                            Value::Text(t) => {
                                reference = Some(Text {
                                    text: t.to_string(),
                                    span: field.value_span,
                                })
                            }
                            _ => self.error(
                                Code::RuleSetting,
                                "`reference` must be quoted text",
                                field.value_span,
                                "not text",
                            ),
                        },
                        "timezone" => match self.timezone_setting(&field) {
                            Some(t) => timezone = Some(t),
                            None => ok = false,
                        },
                        "fiscal_year_end" => match self.fiscal_year_end_setting(&field) {
                            Some(t) => fiscal_year_end = Some(t),
                            None => ok = false,
                        },
                        other => {
                            const SETTINGS: [&str; 5] = [
                                "severity",
                                "tags",
                                "reference",
                                "timezone",
                                "fiscal_year_end",
                            ];
                            let mut d = Diagnostic::error(
                                Code::RuleSetting,
                                format!("unknown rule setting `{other}`"),
                                field.name.span,
                                "not a rule setting",
                            );
                            d.help = crate::diag::did_you_mean(other, SETTINGS).or(Some(
                                "rule settings are `severity`, `tags`, `reference`, `timezone` \
                                 and `fiscal_year_end`"
                                    .into(),
                            ));
                            self.diags.push(d);
                            ok = false;
                        }
                    }
                }
                Rule::param_decl => {
                    let mut inner = p.into_inner();
                    let (Some(name), Some(value)) = (inner.next(), inner.next()) else {
                        continue;
                    };
                    let name = self.name(name);
                    let value_span = self.span(&value);
                    if let Some(first) = params.iter().find(|q: &&Param| q.name.name == name.name) {
                        self.diags.push(
                            Diagnostic::error(
                                Code::DeclaredTwice,
                                format!("parameter `{}` is declared twice", name.name),
                                name.span,
                                "again here",
                            )
                            .with_label(first.name.span, "first here"),
                        );
                        ok = false;
                        continue;
                    }
                    match self.value(value) {
                        Some(value) => params.push(Param {
                            name,
                            value,
                            value_span,
                        }),
                        None => ok = false,
                    }
                }
                Rule::let_decl => {
                    let mut inner = p.into_inner();
                    let (Some(name), Some(e)) = (inner.next(), inner.next()) else {
                        continue;
                    };
                    let name = self.name(name);
                    match self.expr(e) {
                        Some(expr) => lets.push(Let { name, expr }),
                        None => ok = false,
                    }
                }
                Rule::match_clause => {
                    for pat in p.into_inner() {
                        match self.pattern(pat) {
                            Some(pattern) => patterns.push(pattern),
                            None => ok = false,
                        }
                    }
                }
                Rule::when_clause => {
                    let Some(e) = p.into_inner().next() else {
                        continue;
                    };
                    match self.expr(e) {
                        Some(e) => when = Some(e),
                        None => ok = false,
                    }
                }
                Rule::flag_clause => {
                    let Some(s) = p.into_inner().next() else {
                        continue;
                    };
                    match self.template(s) {
                        Some(t) => message = Some(t),
                        None => ok = false,
                    }
                }
                _ => {}
            }
        }
        let id = id?;
        if severity.is_none() && ok {
            self.diags.push(
                Diagnostic::error(
                    Code::RuleSetting,
                    format!("rule `{}` has no `severity`", id.name),
                    id.span,
                    "this rule",
                )
                .with_help("add `severity: high` (or `critical`, `medium`, `low`, `info`)"),
            );
            ok = false;
        }
        if !ok {
            return None;
        }
        Some(RuleDecl {
            id,
            title,
            severity: severity?,
            tags,
            reference,
            timezone,
            fiscal_year_end,
            params,
            patterns,
            lets,
            when,
            message: message?,
            span,
        })
    }

    fn pattern(&mut self, pair: Cursor<'_>) -> Option<Pattern> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let var = self.name(inner.next()?);
        let source = inner.next()?;
        let (kind, cycle) = match source.as_rule() {
            Rule::cycle_source => {
                let mut parts = source
                    .into_inner()
                    .filter(|p| p.as_rule() != Rule::kw_cycle);
                let relation = parts.next()?.as_str();
                let hops_pair = parts.next()?;
                let hops_span = self.span(&hops_pair);
                let hops: u32 = hops_pair.as_str().replace('_', "").parse().unwrap_or(0);
                if !(1..=MAX_CYCLE_HOPS).contains(&hops) {
                    self.error(
                        Code::TooComplex,
                        format!("a cycle has from 1 to {MAX_CYCLE_HOPS} hops"),
                        hops_span,
                        "out of range",
                    );
                    return None;
                }
                (FactKind::Row(nfc(relation)), Some(hops))
            }
            _ => (fact_kind(source.as_str()), None),
        };
        let filter = match inner.next() {
            Some(e) => Some(self.expr(e)?),
            None => None,
        };
        Some(Pattern {
            var,
            kind,
            cycle,
            filter,
            span,
        })
    }

    fn template(&mut self, pair: Cursor<'_>) -> Option<Template> {
        let span = self.span(&pair);
        let raw_pair = pair.into_inner().next()?;
        let raw = raw_pair.as_str();
        let raw_start = self.base + raw_pair.start();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = raw.char_indices().peekable();
        let mut ok = true;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    // An escape: copied as written (resolved below); `\u{...}` is not a placeholder.
                    text.push('\\');
                    if let Some((_, e)) = chars.next() {
                        text.push(e);
                        if e == 'u' && chars.peek().map(|(_, c)| *c) == Some('{') {
                            for (_, c) in chars.by_ref() {
                                text.push(c);
                                if c == '}' {
                                    break;
                                }
                            }
                        }
                    }
                }
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let Some(close) = raw.get(i..).and_then(|s| s.find('}')).map(|j| i + j) else {
                        self.error(
                            Code::Syntax,
                            "unclosed `{` in message",
                            Span::new(self.file, raw_start + i..raw_start + i + 1),
                            "opened here; write `{{` for a literal brace",
                        );
                        return None;
                    };
                    if !text.is_empty() {
                        parts.push(TemplatePart::Text(self.unescape_part(&text, span)));
                        text.clear();
                    }
                    let inner = raw.get(i + 1..close).unwrap_or("");
                    match self.placeholder(inner, raw_start + i + 1) {
                        Some(e) => parts.push(TemplatePart::Expr(e)),
                        None => ok = false,
                    }
                    while chars.peek().is_some_and(|(j, _)| *j <= close) {
                        chars.next();
                    }
                }
                '}' => {
                    self.error(
                        Code::Syntax,
                        "unmatched `}` in message",
                        Span::new(self.file, raw_start + i..raw_start + i + 1),
                        "write `}}` for a literal brace",
                    );
                    ok = false;
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(TemplatePart::Text(self.unescape_part(&text, span)));
        }
        ok.then_some(Template { parts, span })
    }

    fn unescape_part(&mut self, raw: &str, span: Span) -> String {
        match literal::unescape(raw) {
            Ok(s) => s,
            Err(why) => {
                self.error(
                    Code::BadLiteral,
                    format!("invalid string: {why}"),
                    span,
                    "in this message",
                );
                raw.to_string()
            }
        }
    }

    /// Parses the expression inside `{...}` of a message; `start` is its byte offset in the file.
    fn placeholder(&mut self, text: &str, start: usize) -> Option<Expr> {
        // Inside the message, a quoted string is written `\"...\"`; read it as `"..."`.
        // (Positions after such a string are then off by one byte per backslash.)
        let text = &text.replace("\\\"", "\"");
        match Grammar::parse(Rule::placeholder, text) {
            Ok(mut pairs) => {
                let e = pairs.next()?.into_inner().next()?;
                let node = tree::Builder::new(text).element(e, 0);
                let mut sub = Lower {
                    file: self.file,
                    base: start,
                    diags: self.diags,
                };
                sub.expr(Cursor::new(text, &node)?)
            }
            Err(err) => {
                let full_text = " ".repeat(start) + text;
                let mut d = syntax_error(self.file, &full_text, start, &err);
                d.message = format!("in message placeholder: {}", d.message);
                self.diags.push(d);
                None
            }
        }
    }

    fn expr(&mut self, pair: Cursor<'_>) -> Option<Expr> {
        let operators = pair
            .into_inner()
            .filter(|p| {
                !matches!(
                    p.as_rule(),
                    Rule::expr
                        | Rule::expr_list
                        | Rule::call
                        | Rule::path
                        | Rule::string
                        | Rule::boolean
                ) && !matches!(
                    p.as_rule(),
                    Rule::date | Rule::timestamp | Rule::prefix_money | Rule::suffixed_number
                )
            })
            .count();
        if operators > MAX_OPERATORS {
            let span = self.span(&pair);
            self.error(
                Code::TooComplex,
                format!("expression with {operators} operators; the limit is {MAX_OPERATORS}"),
                span,
                "this expression",
            );
            return None;
        }
        let mut items = pair.into_inner().peekable();
        let result = self.operand(&mut items, 0);
        // The grammar leaves nothing after the last operand.
        if items.next().is_some() {
            return None;
        }
        result
    }

    /// Precedence climbing over an `expr`'s children (`prefix* primary (infix prefix*
    /// primary)*`), as pest's Pratt parser did it: the operand at the front, then each infix
    /// operator that binds tighter than `min` with its right operand. Every primary is lowered,
    /// and so reports its errors, even when one before it failed.
    fn operand<'t>(
        &mut self,
        items: &mut std::iter::Peekable<impl Iterator<Item = Cursor<'t>>>,
        min: u8,
    ) -> Option<Expr> {
        let first = items.next()?;
        let mut lhs = match binding(first.as_rule()) {
            None => self.primary(first),
            Some(Binding::Prefix(prec)) => {
                let op_span = self.span(&first);
                let e = self.operand(items, prec - 1);
                let kind = if first.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                e.map(|e| Expr {
                    span: op_span.to(e.span),
                    kind: ExprKind::Unary(kind, Box::new(e)),
                })
            }
            Some(Binding::Infix(..)) => return None,
        };
        while let Some((prec, op)) = items.peek().and_then(|c| match binding(c.as_rule()) {
            Some(Binding::Infix(prec, op)) if min < prec => Some((prec, op)),
            _ => None,
        }) {
            items.next();
            let rhs = self.operand(items, prec);
            lhs = match (lhs, rhs) {
                (Some(l), Some(r)) => Some(Expr {
                    span: l.span.to(r.span),
                    kind: ExprKind::Binary(op, Box::new(l), Box::new(r)),
                }),
                _ => None,
            };
        }
        lhs
    }

    fn primary(&mut self, pair: Cursor<'_>) -> Option<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::expr => return self.expr(pair),
            Rule::paren => {
                let inner = self.expr(pair.into_inner().next()?)?;
                return Some(Expr {
                    kind: inner.kind,
                    span,
                });
            }
            Rule::expr_list => {
                let items: Option<Vec<Expr>> = pair.into_inner().map(|p| self.expr(p)).collect();
                ExprKind::List(items?)
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = self.name(inner.next()?);
                let args: Option<Vec<Expr>> = inner.map(|p| self.expr(p)).collect();
                ExprKind::Call(name, args?)
            }
            Rule::exists_expr => {
                let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_exists);
                let var = self.name(inner.next()?);
                let kind = fact_kind(inner.next()?.as_str());
                let filter = match inner.next() {
                    Some(e) => Some(Box::new(self.expr(e)?)),
                    None => None,
                };
                ExprKind::Exists { var, kind, filter }
            }
            Rule::quantifier => {
                let mut inner = pair.into_inner();
                let all = inner.next()?.as_str() == "all";
                let var = self.name(inner.next()?);
                let list = Box::new(self.primary(inner.next()?)?);
                let cond = Box::new(self.expr(inner.next()?)?);
                ExprKind::Quantifier {
                    all,
                    var,
                    list,
                    cond,
                }
            }
            Rule::aggregate => {
                let mut inner = pair.into_inner().peekable();
                let func = match inner.next()?.as_str() {
                    "sum" => AggFunc::Sum,
                    "count" => AggFunc::Count,
                    "min" => AggFunc::Min,
                    "max" => AggFunc::Max,
                    _ => AggFunc::Avg,
                };
                let value = match inner.peek().map(|p| p.as_rule()) {
                    Some(Rule::expr) => Some(Box::new(self.expr(inner.next()?)?)),
                    _ => None,
                };
                let var = self.name(inner.next()?);
                let kind = fact_kind(inner.next()?.as_str());
                let filter = match inner.next() {
                    Some(e) => Some(Box::new(self.expr(e)?)),
                    None => None,
                };
                if value.is_none() && func != AggFunc::Count {
                    self.error(
                        Code::Syntax,
                        format!(
                            "`{}` needs a value: `{}(x.amount for x: deal where ...)`",
                            func.name(),
                            func.name()
                        ),
                        span,
                        "no value",
                    );
                    return None;
                }
                ExprKind::Aggregate {
                    func,
                    value,
                    var,
                    kind,
                    filter,
                }
            }
            Rule::path => {
                let parts: Vec<Ident> = pair.into_inner().map(|p| self.name(p)).collect();
                if parts.len() > MAX_PATH {
                    self.error(
                        Code::TooComplex,
                        format!("path of {} names; the limit is {MAX_PATH}", parts.len()),
                        span,
                        "this path",
                    );
                    return None;
                }
                ExprKind::Path(parts)
            }
            _ => ExprKind::Literal(self.value_inner(pair)?),
        };
        Some(Expr { kind, span })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(src: &str) -> File {
        let (file, diags) = parse(FileId::new(0), src);
        assert_eq!(diags, vec![], "unexpected diagnostics for {src}");
        file
    }

    fn field_values(src: &str) -> Vec<String> {
        let file = parse_ok(src);
        let Some(Item::Fact(fact)) = file.items.first() else {
            return vec![];
        };
        fact.fields
            .iter()
            .map(|f| format!("{}={:?}", f.name.name, f.value))
            .collect()
    }

    fn value_of(src: &str) -> Value {
        let file = parse_ok(&format!("deal d {{ v: {src} }}"));
        match file.items.first() {
            Some(Item::Fact(fact)) => fact
                .fields
                .first()
                .map(|f| f.value.clone())
                .unwrap_or(Value::Bool(false)),
            _ => Value::Bool(false),
        }
    }

    #[test]
    fn money_forms_are_equal() {
        let a = value_of("100B USD");
        for other in [
            "USD 100B",
            "$100B",
            "1000亿美元",
            "100_000_000_000 USD",
            "100.00B USD",
            "0.1T USD",
        ] {
            assert_eq!(a.equals(&value_of(other)), Ok(true), "{other}");
        }
        assert_eq!(value_of("1.5T USD").to_string(), "1.5T USD");
        assert_eq!(value_of("-10B USD").to_string(), "-10B USD");
        assert_eq!(value_of("1.2万亿人民币").to_string(), "1.2T CNY");
    }

    #[test]
    fn quantities_percentages_dates() {
        assert_eq!(value_of("4.5 GW").to_string(), "4.5 GW");
        assert_eq!(value_of("500 MW").equals(&value_of("0.5 GW")), Ok(true));
        assert_eq!(value_of("5 years").to_string(), "5 years");
        assert_eq!(value_of("160M shares").to_string(), "160M shares");
        assert_eq!(value_of("0.01 USD/share").to_string(), "0.01 USD/share");
        assert_eq!(
            value_of("10%"),
            Value::Percent(rust_decimal::Decimal::new(1, 1))
        );
        assert_eq!(value_of("2025-10-13").to_string(), "2025-10-13");
        assert_eq!(
            value_of("0.01"),
            Value::Number(rust_decimal::Decimal::new(1, 2))
        );
        assert_eq!(
            value_of("1_000"),
            Value::Number(rust_decimal::Decimal::from(1000))
        );
    }

    #[test]
    fn up_to_marks_a_ceiling() {
        let v = value_of("up to 100B USD");
        assert!(v.is_ceiling());
        assert_eq!(v.to_string(), "up to 100B USD");
    }

    #[test]
    fn fields_lists_records_and_unicode_names() {
        let got = field_values(
            "entity 甲骨文 \"Oracle\" { type: company  tags: [a, b]  r: { amount: 10B USD, trigger: \"per GW\" } ok: true }",
        );
        assert_eq!(got.len(), 4);
        let file = parse_ok("entity \"Oracle (OCI)\" { type: company }");
        assert!(matches!(file.items.first(), Some(Item::Fact(f)) if &*f.id.name == "Oracle (OCI)"));
    }

    #[test]
    fn expressions_follow_precedence() {
        let file = parse_ok(
            "rule r { severity: high when not a.x == 1 and b.y + 2 * 3 > 4 GW or c in [d, e] flag \"{a.x} {{x}}\" }",
        );
        let Some(Item::Rule(rule)) = file.items.first() else {
            return;
        };
        assert_eq!(
            rule.when.as_ref().map(|e| e.to_string()),
            Some("(or (and (not (== a.x 1)) (> (+ b.y (* 2 3)) 4 GW)) (in c [d e]))".to_string())
        );
        assert_eq!(rule.message.parts.len(), 2);
    }

    /// An expression as nested operators with the span of each, primaries as written.
    fn shape(text: &str, e: &Expr) -> String {
        let r = e.span.range();
        match &e.kind {
            ExprKind::Unary(op, x) => format!("({op:?} {})@{r:?}", shape(text, x)),
            ExprKind::Binary(op, l, r2) => {
                format!("({op:?} {} {})@{r:?}", shape(text, l), shape(text, r2))
            }
            _ => format!("{}@{r:?}", text.get(r.clone()).unwrap_or("?")),
        }
    }

    /// The same shape from pest's Pratt parser, with the table the lowering had when it read
    /// pest's pairs: the oracle for the precedence climbing that replaced it.
    fn pest_shape(text: &str) -> String {
        let expr = Grammar::parse(Rule::placeholder, text)
            .unwrap()
            .next()
            .unwrap()
            .into_inner()
            .next()
            .unwrap();
        pest_expr(expr).0
    }

    fn pest_expr(expr: pest::iterators::Pair<'_, Rule>) -> (String, std::ops::Range<usize>) {
        use pest::pratt_parser::{Assoc, Op, PrattParser};
        let pratt = PrattParser::new()
            .op(Op::infix(Rule::op_or, Assoc::Left))
            .op(Op::infix(Rule::op_and, Assoc::Left))
            .op(Op::prefix(Rule::op_not))
            .op(Op::infix(Rule::op_eq, Assoc::Left)
                | Op::infix(Rule::op_ne, Assoc::Left)
                | Op::infix(Rule::op_lt, Assoc::Left)
                | Op::infix(Rule::op_le, Assoc::Left)
                | Op::infix(Rule::op_gt, Assoc::Left)
                | Op::infix(Rule::op_ge, Assoc::Left)
                | Op::infix(Rule::op_in, Assoc::Left))
            .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
            .op(Op::infix(Rule::op_mul, Assoc::Left) | Op::infix(Rule::op_div, Assoc::Left))
            .op(Op::prefix(Rule::op_neg));
        let binary = |r: Rule| match r {
            Rule::op_or => BinaryOp::Or,
            Rule::op_and => BinaryOp::And,
            Rule::op_eq => BinaryOp::Eq,
            Rule::op_ne => BinaryOp::Ne,
            Rule::op_lt => BinaryOp::Lt,
            Rule::op_le => BinaryOp::Le,
            Rule::op_gt => BinaryOp::Gt,
            Rule::op_ge => BinaryOp::Ge,
            Rule::op_in => BinaryOp::In,
            Rule::op_add => BinaryOp::Add,
            Rule::op_sub => BinaryOp::Sub,
            Rule::op_mul => BinaryOp::Mul,
            _ => BinaryOp::Div,
        };
        pratt
            .map_primary(|p| {
                let s = p.as_span();
                let range = s.start()..s.end();
                match p.as_rule() {
                    // A parenthesised expression keeps its operators, with the parentheses'
                    // span.
                    Rule::paren => {
                        let (inner, inner_range) = pest_expr(p.into_inner().next().unwrap());
                        let inner = inner.strip_suffix(&format!("@{inner_range:?}")).unwrap();
                        (format!("{inner}@{range:?}"), range)
                    }
                    _ => (format!("{}@{range:?}", p.as_str()), range),
                }
            })
            .map_prefix(|op, (e, r)| {
                let kind = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                let r = op.as_span().start()..r.end;
                (format!("({kind:?} {e})@{r:?}"), r)
            })
            .map_infix(|(l, lr), op, (r, rr)| {
                let range = lr.start..rr.end;
                let op = binary(op.as_rule());
                (format!("({op:?} {l} {r})@{range:?}"), range)
            })
            .parse(expr.into_inner())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        #[test]
        fn operators_bind_as_pests_pratt_parser_bound_them(
            first in proptest::collection::vec(0..2usize, 0..3),
            first_primary in 0..PRIMARIES.len(),
            rest in proptest::collection::vec(
                (0..INFIX.len(), proptest::collection::vec(0..2usize, 0..3), 0..PRIMARIES.len()),
                0..8,
            ),
        ) {
            let mut text = String::new();
            for p in first {
                text.push_str(PREFIX[p]);
            }
            text.push_str(PRIMARIES[first_primary]);
            for (op, prefixes, primary) in rest {
                text.push_str(INFIX[op]);
                for p in prefixes {
                    text.push_str(PREFIX[p]);
                }
                text.push_str(PRIMARIES[primary]);
            }
            let mut diags = Vec::new();
            let e = placeholder_expr(&text, &mut diags);
            proptest::prop_assert_eq!(&diags, &vec![]);
            let got = e.map(|e| shape(&text, &e));
            proptest::prop_assert_eq!(got, Some(pest_shape(&text)), "{}", text);
        }
    }

    const PREFIX: [&str; 2] = ["not ", "-"];
    const INFIX: [&str; 13] = [
        " or ", " and ", " in ", " <= ", " >= ", " == ", " != ", " < ", " > ", " + ", " - ", " * ",
        " / ",
    ];
    const PRIMARIES: [&str; 7] = ["a", "b.c", "1", "(a + -b * c)", "[a, b]", "f(a, 2)", "2 GW"];

    /// An expression read on its own, as a message's placeholder is.
    fn placeholder_expr(text: &str, diags: &mut Vec<Diagnostic>) -> Option<Expr> {
        let mut lower = Lower {
            file: FileId::new(0),
            base: 0,
            diags,
        };
        lower.placeholder(text, 0)
    }

    #[test]
    fn every_syntax_error_is_reported() {
        let src = "deal a { amount: }\ndeal b { x: 1 }\ndeal c { y: [1, }\n";
        let (file, diags) = parse(FileId::new(0), src);
        assert_eq!(file.items.len(), 1);
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages
                .first()
                .is_some_and(|m| m.starts_with("expected a value after `amount:`")),
            "{messages:?}"
        );
    }

    #[test]
    fn test_blocks_are_read() {
        let file = parse_ok(
            r#"test t "shows" {
              given { entity A { type: company } deal d { kind: loan } fx USD/CNY 7.1 }
              given "../x.deals"
              expect r on (d, "A b",) severity low message contains "x"
              expect no r on (d)
              expect no r
              expect count r 1_0
              expect r message "m"
              expect error "boom"
            }"#,
        );
        let Some(Item::Test(t)) = file.items.first() else {
            panic!("a test");
        };
        assert_eq!(&*t.name.name, "t");
        assert_eq!(t.title.as_ref().map(|t| t.text.as_str()), Some("shows"));
        assert!(
            matches!(&t.given[..], [Given::Facts { facts, rates, .. }, Given::File(f)]
            if facts.len() == 2 && rates.len() == 1 && f.text == "../x.deals")
        );
        let kinds: Vec<String> = t
            .expects
            .iter()
            .map(|e| match &e.kind {
                ExpectKind::Finding {
                    rule,
                    on,
                    severity,
                    message,
                } => format!(
                    "finding {} {:?} {:?} {:?}",
                    rule.name,
                    on.as_ref()
                        .map(|on| on.iter().map(|i| i.name.to_string()).collect::<Vec<_>>()),
                    severity,
                    message.as_ref().map(|m| match m {
                        MessageCheck::Is(t) => format!("is {}", t.text),
                        MessageCheck::Contains(t) => format!("contains {}", t.text),
                    })
                ),
                ExpectKind::NoFinding { rule, on } => {
                    format!("no {} {:?}", rule.name, on.as_ref().map(Vec::len))
                }
                ExpectKind::Count { rule, count } => format!("count {} {count}", rule.name),
                ExpectKind::Error(t) => format!("error {}", t.text),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                r#"finding r Some(["d", "A b"]) Some(Low) Some("contains x")"#,
                "no r Some(1)",
                "no r None",
                "count r 10",
                r#"finding r None None Some("is m")"#,
                "error boom",
            ]
        );
    }

    #[test]
    fn bad_tests_are_reported() {
        let (file, diags) = parse(
            FileId::new(0),
            "test a { expect r severity hihg }\ntest b { given {} }\ntest c { expect r }",
        );
        let messages: Vec<(&str, Option<&str>)> = diags
            .iter()
            .map(|d| (d.message.as_str(), d.help.as_deref()))
            .collect();
        assert_eq!(
            messages,
            [
                ("unknown severity `hihg`", Some("did you mean `high`?")),
                (
                    "test `b` has no `expect`",
                    Some(
                        "add what the rules must find: `expect RULE on (FACT, ...)`, `expect no RULE`"
                    )
                ),
            ]
        );
        assert_eq!(file.items.len(), 1);
    }

    #[test]
    fn unknown_currency_is_located() {
        let src = "deal a { amount: 100B USX }";
        let (_, diags) = parse(FileId::new(0), src);
        let d = diags.first().map(|d| {
            (
                d.message.clone(),
                d.help.clone(),
                d.span().map(|s| s.range()),
            )
        });
        assert_eq!(
            d,
            Some((
                "unknown unit or currency `USX`".to_string(),
                Some("did you mean `USD`?".to_string()),
                Some(22..25)
            ))
        );
    }
}
