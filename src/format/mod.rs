//! Formatting: one canonical layout for deal and rule files, checked to keep meaning and comments.
//!
//! [`format()`] reads the text into the lossless syntax tree of `syntax` (every token as written,
//! every comment next to the token it was next to), then prints that tree in the layout
//! described in `docs/format.md` (`print.rs`), through the typed views of `syntax`. Literals are copied as written, except that runs
//! of spaces or tabs inside one (`USD   100B`, `up  to`) become one space.
//!
//! Before returning, [`format()`] checks its own output: it must parse without error to the same
//! AST as the input (spans aside) and hold the same comments. If it does not, the input is
//! refused rather than changed, so a formatter bug can make a file stay as it is but never lose
//! data.

mod print;

pub use print::WIDTH;

use crate::diag::{Code, Diagnostic, FileId, Level, Span};
use crate::syntax::{self, Item};

/// The file id that the spans of [`format()`]'s diagnostics refer to. To render them, add the text
/// as the first file of a new [`SourceMap`](crate::SourceMap).
pub const FILE: FileId = FileId::new(0);

/// Formats the text of a deal or rule file in the canonical layout.
///
/// The result parses to the same declarations as `text` and keeps every comment; formatting it
/// again gives it back unchanged. Line breaks are `\n`, or `\r\n` when the first line of `text`
/// ends with `\r\n`; a byte order mark at the start is kept.
///
/// ```
/// let messy = "deal x{kind:loan   amount :  5B  USD // ceiling to be confirmed\n}";
/// let tidy = dealrules::format::format(messy).unwrap();
/// assert_eq!(tidy, "deal x {\n  kind:   loan\n  amount: 5B USD  // ceiling to be confirmed\n}\n");
/// ```
///
/// # Errors
/// The diagnostics of the file when it has a syntax error or a bad literal (with spans in
/// [`FILE`]); then nothing can be formatted. An error too when the formatter cannot show that its
/// output means the same as the input (a construct newer than the formatter, or a bug): the
/// text is then left as it is.
pub fn format(text: &str) -> Result<String, Vec<Diagnostic>> {
    let (before, diags) = syntax::parse(FILE, text);
    if diags.iter().any(|d| d.level == Level::Error) {
        return Err(diags);
    }
    let Some(tree) = syntax::tree::read(text) else {
        // `syntax::parse` read the file, so its tree can be built; refuse rather than guess.
        return Err(vec![
            Diagnostic::error(
                Code::Unformattable,
                "cannot format this file safely: its syntax tree cannot be built",
                Span::new(FILE, 0..0),
                "this file",
            )
            .with_help(REFUSED),
        ]);
    };
    let mut out = print::print(&tree);
    if text
        .find('\n')
        .is_some_and(|i| i > 0 && text.get(i - 1..i) == Some("\r"))
    {
        out = out.replace('\n', "\r\n");
    }
    check(text, &before.items, &out)?;
    Ok(out)
}

const REFUSED: &str =
    "the file is left unchanged; this is a bug in the formatter, please report it with the file";

/// Checks that `out` parses to `items` and holds the comments of `text`.
fn check(text: &str, items: &[Item], out: &str) -> Result<(), Vec<Diagnostic>> {
    let (after, diags) = syntax::parse(FILE, out);
    let first_error = diags.iter().find(|d| d.level == Level::Error);
    if first_error.is_some() || after.items != items {
        let differs = items
            .iter()
            .zip(after.items.iter().map(Some).chain(std::iter::repeat(None)))
            .find(|(a, b)| Some(*a) != *b)
            .map_or(Span::new(FILE, 0..0), |(a, _)| a.span());
        let why = match first_error {
            Some(d) => format!("the formatted text does not parse: {}", d.message),
            None => "the formatted text means something else".to_string(),
        };
        return Err(vec![
            Diagnostic::error(
                Code::Unformattable,
                format!("cannot format this file safely: {why}"),
                differs,
                "formatting changes this declaration",
            )
            .with_help(REFUSED),
        ]);
    }
    let mut expected = comments(text);
    let mut got = comments(out);
    expected.sort_by_key(|c| c.1);
    got.sort_by_key(|c| c.1);
    if expected.iter().map(|c| c.1).ne(got.iter().map(|c| c.1)) {
        let lost = expected
            .iter()
            .find(|c| !got.iter().any(|g| g.1 == c.1))
            .map_or(0, |c| c.0);
        return Err(vec![
            Diagnostic::error(
                Code::Unformattable,
                "cannot format this file safely: a comment would be lost",
                Span::new(FILE, lost..lost + 2),
                "this comment",
            )
            .with_help(REFUSED),
        ]);
    }
    Ok(())
}

/// Every `//` comment of `text` (outside quoted strings): its byte offset and its text without
/// trailing whitespace.
fn comments(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' | '\n' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek().map(|(_, c)| *c) == Some('/') => {
                let end = text
                    .get(i..)
                    .and_then(|s| s.find('\n'))
                    .map_or(text.len(), |n| i + n);
                out.push((i, text.get(i..end).unwrap_or("").trim_end()));
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
            }
            _ => {}
        }
    }
    out
}
