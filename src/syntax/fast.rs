//! A fast reader for the common shape of deal data: an `entity` or `deal` declaration whose
//! names are ASCII identifiers or strings and whose values are symbols, strings, numbers,
//! amounts and quantities, dates, `up to` ceilings, lists and records.
//!
//! Loading a large deal file was mostly spent in the general parser (docs/performance.md, W1).
//! This reader walks the bytes once and builds the same [`FactDecl`] the general parser and its
//! lowering build, spans included. It accepts a strict subset of the grammar: at anything else
//! (another declaration, a non-ASCII identifier, an exponent, a currency symbol, a scale word
//! apart from its number...) and at anything the lowering would report (a bad literal, a field
//! written twice in a record, a reserved id), it gives up, and the general parser reads the
//! declaration and reports what is wrong. So the result never depends on which reader read a
//! declaration; `tests::the_fast_reader_builds_what_the_parser_builds` holds it to that.

use super::ast::{FactDecl, FactKind, Field, Ident, Text};
use super::literal;
use super::nfc;
use crate::diag::{FileId, Span};
use crate::value::{Interner, Name, Value};
use indexmap::IndexMap;
use std::sync::Arc;

/// The fields a declaration's list has room for from the start (a generated deal has 7 to 11).
const FIELDS_AT_ONCE: usize = 12;

/// The entity or deal declaration that starts at byte `offset` of `text` (after white space
/// and comments), and the offset just after it; `None` when the general parser must read it.
/// Field names and symbols are taken from `names` (the id, unique, is not).
pub(super) fn fact_decl(
    file: FileId,
    text: &str,
    offset: usize,
    names: &mut Interner,
) -> Option<(FactDecl, usize)> {
    let mut r = Reader {
        file,
        bytes: text.as_bytes(),
        text,
        at: offset,
        names,
        position: 0,
    };
    r.skip();
    let start = r.at;
    let kind = if r.keyword("entity") {
        FactKind::Entity
    } else if r.keyword("deal") {
        FactKind::Deal
    } else {
        return None;
    };
    let id = r.name(false)?;
    if matches!(&*id.name, "true" | "false") {
        return None;
    }
    r.skip();
    let title = match r.peek() {
        Some(b'"') => {
            let (s, span) = r.string()?;
            r.skip();
            Some(Text { text: s, span })
        }
        _ => None,
    };
    r.eat(b'{')?;
    // Room for the fields of a usual deal, so that the list is not grown field by field.
    let mut fields = Vec::with_capacity(FIELDS_AT_ONCE);
    loop {
        r.skip();
        if r.peek() == Some(b'}') {
            r.at += 1;
            break;
        }
        r.position = fields.len();
        fields.push(r.field()?);
    }
    let span = r.span(start, r.at);
    Some((
        FactDecl {
            kind,
            id,
            title,
            fields,
            span,
        },
        r.at,
    ))
}

/// Where the next declaration after byte `offset` of `text` starts for this reader: past white
/// space, byte order marks and line comments, as [`fact_decl`] skips them first.
pub(super) fn skip_from(text: &str, offset: usize) -> usize {
    let mut names = Interner::default();
    let mut r = Reader {
        file: FileId::new(u32::MAX),
        bytes: text.as_bytes(),
        text,
        at: offset,
        names: &mut names,
        position: 0,
    };
    r.skip();
    r.at
}

/// The value that is the whole of `text` (white space and comments around it allowed), as a
/// cell of a CSV or JSON input holds it; `None` when the general parser must read it.
pub(super) fn value_only(text: &str) -> Option<Value> {
    let mut names = Interner::default();
    let mut r = Reader {
        file: FileId::new(u32::MAX),
        bytes: text.as_bytes(),
        text,
        at: 0,
        names: &mut names,
        position: 0,
    };
    r.skip();
    let value = r.value()?;
    r.skip();
    (r.at == text.len()).then_some(value)
}

struct Reader<'t> {
    file: FileId,
    bytes: &'t [u8],
    text: &'t str,
    at: usize,
    /// Where field names are stored once.
    names: &'t mut Interner,
    /// The position of the field being read in its declaration.
    position: usize,
}

/// Whether `b` may continue an ASCII identifier. A non-ASCII byte may too (the grammar's
/// `XID_CONTINUE`), so the reader gives up on identifiers next to one.
fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The words that end an expression in a rule and so are never a unit (the grammar's
/// `unit_keyword`).
const UNIT_KEYWORDS: [&str; 14] = [
    "and", "or", "in", "not", "where", "when", "flag", "match", "up", "for", "let", "param",
    "from", "max",
];

impl<'t> Reader<'t> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start..end)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn peek_at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    /// Whether a byte order mark (white space to the grammar) starts here.
    fn at_bom(&self) -> bool {
        self.bytes.get(self.at..self.at + 3) == Some(&[0xEF, 0xBB, 0xBF])
    }

    /// Skips white space and comments, as the grammar does between tokens.
    fn skip(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.at += 1,
                Some(0xEF) if self.at_bom() => self.at += 3,
                Some(b'/') if self.peek_at(self.at + 1) == Some(b'/') => {
                    while let Some(b) = self.peek() {
                        if b == b'\n' {
                            break;
                        }
                        self.at += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// Skips spaces and tabs only (inside a literal).
    fn blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// Consumes `b`, after white space.
    fn eat(&mut self, b: u8) -> Option<()> {
        self.skip();
        (self.peek() == Some(b)).then(|| self.at += 1)
    }

    /// `word` followed by a space or tab (not by an identifier, nor by a comment or line end,
    /// which the general parser handles).
    fn keyword(&mut self, word: &str) -> bool {
        let end = self.at + word.len();
        if self.bytes.get(self.at..end) == Some(word.as_bytes())
            && matches!(self.peek_at(end), Some(b' ' | b'\t'))
        {
            self.at = end;
            true
        } else {
            false
        }
    }

    /// An ASCII identifier at the current position, or `None` (nothing is consumed).
    fn ident(&mut self) -> Option<&'t str> {
        let start = self.at;
        let first = self.peek()?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let mut end = start + 1;
        while self.peek_at(end).is_some_and(ident_byte) {
            end += 1;
        }
        if self.peek_at(end).is_some_and(|b| !b.is_ascii()) {
            return None;
        }
        self.at = end;
        self.text.get(start..end)
    }

    /// A name: an identifier or a string, after white space; shared through [`Reader::names`]
    /// when `shared`.
    fn name(&mut self, shared: bool) -> Option<Ident> {
        self.skip();
        let start = self.at;
        if self.peek() == Some(b'"') {
            let (s, span) = self.string()?;
            let name = nfc(&s);
            let name = if shared {
                self.names.intern(&name)
            } else {
                name
            };
            return Some(Ident { name, span });
        }
        let word = self.ident()?;
        // An identifier here is ASCII, which is in NFC already.
        let name = if shared {
            self.names.intern_at(word, self.position)
        } else {
            Arc::from(word)
        };
        Some(Ident {
            name,
            span: self.span(start, self.at),
        })
    }

    /// A string literal at the current position, unescaped, with its span (quotes included).
    fn string(&mut self) -> Option<(String, Span)> {
        let start = self.at;
        if self.peek() != Some(b'"') {
            return None;
        }
        let mut i = start + 1;
        loop {
            match self.peek_at(i)? {
                b'"' => break,
                b'\n' => return None,
                b'\\' => {
                    // An escaped character, which may be more than one byte long.
                    let c = self.text.get(i + 1..)?.chars().next()?;
                    i += 1 + c.len_utf8();
                }
                _ => i += 1,
            }
        }
        let raw = self.text.get(start + 1..i)?;
        let s = literal::unescape(raw).ok()?;
        self.at = i + 1;
        Some((s, self.span(start, self.at)))
    }

    /// `name: value`, with an optional comma after it.
    fn field(&mut self) -> Option<Field> {
        let name = self.name(true)?;
        self.eat(b':')?;
        self.skip();
        let start = self.at;
        let value = self.value()?;
        let value_span = self.span(start, self.at);
        self.skip();
        if self.peek() == Some(b',') {
            self.at += 1;
        }
        Some(Field {
            name,
            value,
            value_span,
        })
    }

    /// A value with an optional `up to`, at the current position.
    fn value(&mut self) -> Option<Value> {
        if self.bytes.get(self.at..self.at + 2) == Some(b"up")
            && matches!(self.peek_at(self.at + 2), Some(b' ' | b'\t'))
        {
            self.at += 2;
            self.blanks();
            if self.bytes.get(self.at..self.at + 2) != Some(b"to")
                || self
                    .peek_at(self.at + 2)
                    .is_some_and(|b| ident_byte(b) || !b.is_ascii())
            {
                return None;
            }
            self.at += 2;
            self.skip();
            return match self.value_inner()? {
                Value::Money(mut m) => {
                    m.ceiling = true;
                    Some(Value::Money(m))
                }
                Value::Quantity(mut q) => {
                    q.ceiling = true;
                    Some(Value::Quantity(q))
                }
                _ => None,
            };
        }
        self.value_inner()
    }

    fn value_inner(&mut self) -> Option<Value> {
        match self.peek()? {
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip();
                    if self.peek() == Some(b']') {
                        self.at += 1;
                        return Some(Value::List(items.into()));
                    }
                    items.push(self.value()?);
                    self.skip();
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {}
                        _ => return None,
                    }
                }
            }
            b'{' => {
                self.at += 1;
                let mut fields: IndexMap<Name, Value> = IndexMap::new();
                loop {
                    self.skip();
                    if self.peek() == Some(b'}') {
                        self.at += 1;
                        return Some(Value::Record(Arc::new(fields)));
                    }
                    let f = self.field()?;
                    if fields.contains_key(&f.name.name) {
                        return None;
                    }
                    fields.insert(f.name.name, f.value);
                }
            }
            b'"' => {
                let (s, _) = self.string()?;
                Some(Value::Text(Arc::from(s.as_str())))
            }
            b'0'..=b'9' | b'-' => self.literal(),
            _ => {
                let start = self.at;
                let word = self.ident()?;
                // Three capitals may start an amount (`USD 100`): the parser decides.
                if word.len() == 3 && word.bytes().all(|b| b.is_ascii_uppercase()) {
                    self.at = start;
                    return None;
                }
                Some(match word {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    // An identifier here is ASCII, which is in NFC already.
                    _ => Value::Symbol(
                        self.names.symbol_at(word, self.position),
                        crate::value::SymbolId::NONE,
                    ),
                })
            }
        }
    }

    /// A date, or a number with an optional scale word, `%` or unit.
    fn literal(&mut self) -> Option<Value> {
        let start = self.at;
        let digits_at = |i: usize, n: usize| {
            (i..i + n).all(|j| self.peek_at(j).is_some_and(|b| b.is_ascii_digit()))
        };
        if digits_at(start, 4) && self.peek_at(start + 4) == Some(b'-') {
            // A date, or a partial date the parser reports.
            let end = start + 10;
            let is_date = digits_at(start + 5, 2)
                && self.peek_at(start + 7) == Some(b'-')
                && digits_at(start + 8, 2)
                && !self
                    .peek_at(end)
                    .is_some_and(|b| ident_byte(b) || !b.is_ascii());
            if !is_date {
                return None;
            }
            let v = literal::date(self.text.get(start..end)?).ok()?;
            self.at = end;
            return Some(v);
        }
        let mut parts = literal::NumberParts::default();
        let mut i = start;
        if self.peek_at(i) == Some(b'-') {
            parts.negative = true;
            i += 1;
        }
        let digits_start = i;
        if !self.peek_at(i)?.is_ascii_digit() {
            return None;
        }
        while let Some(b) = self.peek_at(i) {
            if b.is_ascii_digit()
                || (b == b'_' && self.peek_at(i + 1).is_some_and(|c| c.is_ascii_digit()))
            {
                i += 1;
            } else {
                break;
            }
        }
        parts.digits = self.text.get(digits_start..i)?;
        if self.peek_at(i) == Some(b'.') && self.peek_at(i + 1).is_some_and(|b| b.is_ascii_digit())
        {
            let f = i;
            i += 1;
            while self.peek_at(i).is_some_and(|b| b.is_ascii_digit()) {
                i += 1;
            }
            parts.fraction = Some(self.text.get(f..i)?);
        }
        // An exponent, or a scale word of the general parser's (`bn`, `万`): left to it.
        match self.peek_at(i) {
            Some(b'e' | b'E') => return None,
            Some(b) if !b.is_ascii() => return None,
            _ => {}
        }
        let scale_end = match self.peek_at(i) {
            Some(b'K' | b'M' | b'B' | b'T') => i + 1,
            Some(b'b') if self.peek_at(i + 1) == Some(b'n') => i + 2,
            _ => i,
        };
        if scale_end > i {
            if self
                .peek_at(scale_end)
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                // `5Mt`: a unit written against the number, or a word: left to the parser.
                return None;
            }
            parts.scale = Some(self.text.get(i..scale_end)?);
            i = scale_end;
        }
        let amount = literal::number(parts).ok()?;
        self.at = i;
        if self.peek() == Some(b'%') {
            self.at += 1;
            return literal::ratio(amount, 100).ok();
        }
        // A unit after spaces or tabs, unless it is the next field's name (`10  status: x`).
        let before_unit = self.at;
        self.blanks();
        if self.spaced_scale() {
            // `100 B USD`: the parser says how to write it.
            return None;
        }
        if let Some(unit) = self.unit() {
            return literal::with_unit(amount, unit).ok();
        }
        self.at = before_unit;
        Some(Value::Number(amount))
    }

    /// A unit word (`GW`, `USD`, `USD/share`), not a keyword and not followed by `:`; `None`
    /// (nothing consumed) otherwise.
    fn unit(&mut self) -> Option<&'t str> {
        let start = self.at;
        let first = self.ident()?;
        if UNIT_KEYWORDS.contains(&first) {
            self.at = start;
            return None;
        }
        if self.peek() == Some(b'/') {
            self.at += 1;
            if self.ident().is_none() {
                self.at = start;
                return None;
            }
        }
        let end = self.at;
        self.skip_white();
        let named_field = self.peek() == Some(b':');
        self.at = end;
        if named_field {
            self.at = start;
            return None;
        }
        self.text.get(start..end)
    }

    /// Whether a scale word apart from its number starts here (`B USD` in `100 B USD`).
    fn spaced_scale(&self) -> bool {
        let word_end = match (self.peek(), self.peek_at(self.at + 1)) {
            (Some(b'b'), Some(b'n')) => self.at + 2,
            (Some(b'K' | b'M' | b'B' | b'T'), _) => self.at + 1,
            _ => return false,
        };
        if self
            .peek_at(word_end)
            .is_some_and(|b| ident_byte(b) || !b.is_ascii())
        {
            return false;
        }
        let mut i = word_end;
        while matches!(self.peek_at(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        i > word_end
    }

    /// Skips white space (not comments), as the grammar's `WHITESPACE*`.
    fn skip_white(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.at += 1,
                Some(0xEF) if self.at_bom() => self.at += 3,
                _ => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostic;
    use crate::syntax::ast::File;
    use crate::syntax::{parse_with, value_with_parser};
    use proptest::prelude::*;

    fn both(text: &str) -> ((File, Vec<Diagnostic>), (File, Vec<Diagnostic>)) {
        (
            parse_with(FileId::new(0), text, true),
            parse_with(FileId::new(0), text, false),
        )
    }

    fn assert_same(text: &str) {
        let (fast, general) = both(text);
        assert_eq!(fast, general, "the readers differ on:\n{text}");
    }

    #[test]
    fn the_fast_reader_builds_what_the_parser_builds() {
        for path in [
            "examples/ai-compute-2025.deals",
            "rules/vendor_financing.rules",
        ] {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            assert!(!text.is_empty(), "{path} is readable");
            assert_same(&text);
        }
        // Shapes the fast reader reads, and shapes it leaves to the parser (errors included).
        for text in [
            "entity e1 {  type: company  sector: ai_lab  revenue_2025: 89.3B USD  rpo: 68.8B USD }",
            "entity e2 { share_price: 327.16 USD/share }\n// a comment\ndeal d1 \"A title\" {\n  kind: purchase\n  amount: up to 100B USD, capacity: up\t to 10 GW\n  announced: 2025-09-22\n  tranches: [{ amount: 100000 USD  trigger: time }, { shares: 5M shares }]\n  tags: [a, b,]\n  ok: true  no: false  share: 35%  n: -1_000.50  r: 25 bps\n}",
            "deal \"quoted id\" { \"odd name\": \"a \\\"b\\\" c\"  x: 10  status: y }",
            "deal d { amount: 100 B USD }",
            "deal d { a: 5 GW: 3 }",
            "deal d { a: 5 GW }",
            "deal d { a: 1e3 USD  b: 5EUR  c: 5Mt }",
            "deal d { a: USD 100  b: $5  c: 100亿 CNY }",
            "deal d { a: 2025-13-45  b: 2025-Q3  c: 2025-01-02x }",
            "deal d { a: up to letter }",
            "deal d { a: up  b: upper }",
            "deal d { r: { x: 1  x: 2 } }",
            "deal true { a: 1 }",
            "deal d { a: 5 % }",
            "deal d { a: 0.0000000000000000000000000001%  b: 0.000000000000000000000001 bps }",
            "deal d { a: 5. }",
            "deal d { a: [1, , 2] }",
            "deal d { a: 10 and }",
            "deal d { a: \"unterminated }\ndeal e { b: 1 }",
            "deal d { a: 10 USD/ }",
            "entity Société { type: company }",
            "deal d { a: AMD }",
            "deal\nd { a: 1 }",
            "dealx { a: 1 }",
            "deal d { a: 1 } junk deal e { b: 2 }",
            "deal d { a: 1 ",
            "\u{FEFF}deal d { a: 1 \u{FEFF} }",
            "deal d { t: 2026-03-01T10:00:00+08:00  u: 2026-03-01T10:00 [Asia/Shanghai]  v: 2026-03-01T02:00Z }",
            "deal d { t: [2026-03-01T10:00[Asia/Shanghai], 2026-03-01T10:00:00.5-05:00] }",
            "deal d { t: 2026-03-01T10:00  u: 2026-03-01T10:00 [Asia/Shanghia]  v: 2026-03-08T02:30 [America/New_York] }",
            "deal d { t: 2026-03-01T10:00:00+08:00x }",
        ] {
            assert_same(text);
        }
    }

    #[test]
    fn a_value_alone_reads_as_the_parser_reads_it() {
        for text in [
            "100B USD",
            " up to 10 GW ",
            "2025-10-13",
            "[a, b]",
            "\"text\"",
            "35%",
            "-1.5",
            "327.16 USD/share",
            "{ x: 1  y: [2, 3] }",
            "5 GW // a comment",
            "true",
            "e0000017",
            "5 GW: 3",
            "AMD",
            "1e3 USD",
            "100 B USD",
            "5.",
            "",
            "  ",
            "[1, , 2]",
            "up to letter",
            "0.0000000000000000000000000001%",
            "10 USD/",
            "Société",
            "a b",
            "2026-03-01T10:00:00+08:00",
            "2026-03-01T10:00 [Asia/Shanghai]",
            "2026-03-01T10:00",
        ] {
            // A text the fast reader leaves to the parser has nothing to compare.
            if let Some(v) = value_only(text) {
                assert_eq!(Ok(v), value_with_parser(text), "{text:?}");
            }
        }
        assert_eq!(
            value_only(" up to 10 GW "),
            Some(value_with_parser("up to 10 GW").unwrap_or(Value::Bool(false)))
        );
    }

    #[test]
    fn the_fast_reader_reads_the_generated_shape() {
        let text = "deal d0000001 {\n  kind: purchase\n  buyer: e0000007\n  seller: e0000002\n  amount: 1.5B USD\n  annual_amount: up to 300M USD\n  announced: 2025-03-04\n  status: definitive\n  vesting: [{ shares: 7M shares  trigger: purchase_volume }]\n}\n";
        let read = fact_decl(FileId::new(0), text, 0, &mut Interner::default());
        assert_eq!(read.as_ref().map(|(_, end)| *end), Some(text.len() - 1));
        assert_eq!(read.map(|(d, _)| d.fields.len()), Some(8));
    }

    /// Pieces of deal files, good and bad, that random texts are made of.
    const PIECES: [&str; 47] = [
        "entity ",
        "deal ",
        "e1 ",
        "d1 ",
        "\"t\" ",
        "{ ",
        "} ",
        "kind: ",
        "amount: ",
        "x: ",
        "purchase ",
        "100B USD ",
        "up to ",
        "up ",
        "to ",
        "5 GW ",
        "35% ",
        "2025-09-22 ",
        "2025-Q3 ",
        "-3.5 ",
        "1_000 ",
        "USD ",
        "B ",
        "\"s\" ",
        "[ ",
        "] ",
        ", ",
        ": ",
        "\n",
        "// c\n",
        "true ",
        "AMD ",
        "10 USD/share ",
        "1e3 ",
        "$5 ",
        "5M shares ",
        "{ a: 1 } ",
        "\t",
        "GW",
        "and ",
        "5",
        ".",
        "\"",
        "Société ",
        "2026-03-01T10:00:00+08:00 ",
        "2026-03-01T10:00 [Asia/Shanghai] ",
        "2026-03-01T10:00 ",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_texts_read_the_same_with_either_reader(
            pieces in proptest::collection::vec(0..PIECES.len(), 0..40),
            lead in 0..3usize,
        ) {
            let mut text = String::new();
            // Most texts start as a declaration, so that the fast reader is tried in earnest.
            text.push_str(["deal d ", "entity e ", ""][lead]);
            for i in pieces {
                text.push_str(PIECES[i]);
            }
            let (fast, general) = both(&text);
            prop_assert_eq!(fast, general, "the readers differ on: {:?}", text);
            // The same text as one value (a CSV or JSON cell).
            if let Some(v) = value_only(&text) {
                prop_assert_eq!(Ok(v), value_with_parser(&text), "the readers differ on: {:?}", text);
            }
        }
    }
}
