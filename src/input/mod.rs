//! Facts from spreadsheets and JSON, and facts written back as text.
//!
//! [`load_csv`] and [`load_json`] read CSV and JSON text into an [`Engine`] as entities and
//! deals, with the mapping described in `docs/inputs.md`: every cell (CSV) or JSON string is
//! read exactly as a value in a deal file (`100B USD`, `up to 10 GW`, `2025-10-13`,
//! `"text"`), and JSON numbers are exact decimals read from their literal text, never through
//! a float. Every bad cell, row or value is a located diagnostic (file, line, column, and the
//! row and column name or the field); duplicate ids are errors as in deal files. The text is
//! registered with the engine's sources, so findings point at `file.csv:LINE`.
//!
//! [`to_deals`], [`to_csv`] and [`to_json`] write facts back; each checks that what it wrote
//! reads back to the same facts. Like the rest of the library, nothing here reads or writes
//! files: the caller hands over the text and stores the result.

mod csv;
mod json;
mod write;

pub(crate) use write::quote;
pub use write::{WriteError, to_csv, to_deals, to_json, write_value};

use crate::diag::{Diagnostic, FileId, Level};
use crate::{Engine, Fact, LoadError};
use std::sync::Arc;

/// Reads CSV text (one row per entity or deal; see `docs/inputs.md`) under the file name `name`
/// and adds its facts to `engine`.
///
/// The header row names the columns: `id` (required), `fact` (`deal` or `entity`; empty means
/// `deal`), `title`, and one column per field. Each field cell is written as a value in a deal
/// file; an empty cell means the fact does not have that field. Every valid row is added, even
/// when other rows have errors.
///
/// ```
/// let mut engine = dealrules::Engine::new();
/// let csv = "id,fact,kind,investor,amount\n\
///            Nvidia,entity,,,\n\
///            nvidia_openai_loi,deal,investment,Nvidia,up to 100B USD\n";
/// dealrules::input::load_csv(&mut engine, "deals.csv", csv)?;
/// let loi = engine.facts().find("nvidia_openai_loi").and_then(|i| engine.facts().get(i));
/// assert_eq!(loi.and_then(|f| f.get("amount")).map(|v| v.to_string()), Some("up to 100B USD".into()));
/// # Ok::<(), dealrules::LoadError>(())
/// ```
///
/// # Errors
/// [`LoadError`] with a diagnostic for each bad cell or row (naming the row and the column), a
/// header without an `id` column, a column named twice, or a duplicate id.
pub fn load_csv(
    engine: &mut Engine,
    name: impl Into<String>,
    text: impl Into<Arc<str>>,
) -> Result<(), LoadError> {
    load_with(
        engine,
        name.into(),
        crate::Given::Shared(text.into()),
        csv::read,
    )
}

/// Reads JSON text (`{"entities": [...], "deals": [...]}`; see `docs/inputs.md`) under the file
/// name `name` and adds its facts to `engine`.
///
/// Each fact is `{"id": ..., "title": ..., "fields": {...}}`. A field value that is a JSON
/// string is read as a value in a deal file (`"100B USD"`, `"investment"`, `"\"text\""`); a
/// number is an exact decimal read from its literal text; `true`/`false` are booleans; an
/// array is a list and an object a record, their items read by the same rules; `null` means
/// the fact does not have the field.
///
/// ```
/// let mut engine = dealrules::Engine::new();
/// let json = r#"{"deals": [{"id": "d", "fields": {"kind": "purchase", "price": 0.1}}]}"#;
/// dealrules::input::load_json(&mut engine, "deals.json", json)?;
/// let d = engine.facts().find("d").and_then(|i| engine.facts().get(i));
/// assert_eq!(d.and_then(|f| f.get("price")), Some(&"0.1".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`LoadError`] with a diagnostic for invalid JSON, an unexpected key, a value that is not a
/// deal-file value, or a duplicate id.
pub fn load_json(
    engine: &mut Engine,
    name: impl Into<String>,
    text: impl Into<Arc<str>>,
) -> Result<(), LoadError> {
    load_with(
        engine,
        name.into(),
        crate::Given::Shared(text.into()),
        json::read,
    )
}

/// [`load_csv`] or [`load_json`] (`json`) of a text the engine may own: a large one is
/// compressed once read, its memory given back as it goes.
pub(crate) fn load_owned(
    engine: &mut Engine,
    name: String,
    text: String,
    json: bool,
) -> Result<(), LoadError> {
    let read = if json { json::read } else { csv::read };
    load_with(engine, name, crate::Given::Owned(text), read)
}

/// A reader of one input form: hands each fact of a text to the given function as soon as it is
/// read, and returns a diagnostic for each problem.
type Read = fn(FileId, &str, &mut dyn FnMut(Fact)) -> Vec<Diagnostic>;

/// Registers the text, reads it with `read`, adds the facts and gathers every diagnostic.
fn load_with(
    engine: &mut Engine,
    name: String,
    given: crate::Given,
    read: Read,
) -> Result<(), LoadError> {
    let file = match &given {
        crate::Given::Shared(text) => engine.sources.add(name, text.clone()),
        crate::Given::Owned(_) => engine.sources.add_reading(name),
    };
    let text = given.as_str();
    let mut diags = Vec::new();
    if let Some(d) = crate::syntax::check_size(file, text) {
        diags.push(d);
    } else {
        // Each fact is added as soon as it is read, so that the file's facts are never held
        // twice; the diagnostics of adding them (duplicate ids) come after those of reading, as
        // when the facts were read first.
        let mut added = Vec::new();
        diags = read(file, text, &mut |fact| {
            if let Err(e) = engine.add_fact(fact) {
                added.extend(e.diagnostics);
            }
        });
        diags.extend(added);
    }
    // Read: a large text is kept compressed from now on.
    let parallel = engine.threads.unwrap_or_else(crate::cores) > 1;
    given.keep(&mut engine.sources, file, parallel);
    if diags.iter().any(|d| d.level == Level::Error) {
        Err(LoadError { diagnostics: diags })
    } else {
        Ok(())
    }
}

/// Reads one value as written in a deal file. The error is a message and a help line; for a
/// cell that does not parse and looks like plain text, the help is `text_hint(cell)`.
fn parse_value(
    text: &str,
    text_hint: impl Fn(&str) -> String,
) -> Result<crate::Value, (String, Option<String>)> {
    text.parse::<crate::Value>().map_err(|e| {
        // The value parser reports the end of its input as the end of a file; here it is the
        // end of a cell or a string.
        let message = e.to_string().replace("end of file", "end of the value");
        let (message, help) = match message.split_once("; ") {
            Some((m, h)) => (m.to_string(), Some(h.to_string())),
            None => (message, None),
        };
        if looks_like_date_time(text) {
            // Never the hint to quote it: that would silently make it text.
            return match crate::value::Timestamp::parse(text) {
                Err(e) => e.describe(),
                Ok(_) => (message, help.or_else(|| Some(TIMESTAMP_HINT.into()))),
            };
        }
        let plain = !text.starts_with(['"', '[', '{']);
        let help = help.or_else(|| plain.then(|| text_hint(text)));
        (message, help)
    })
}

/// How a timestamp is written, for a cell that looks like one but is not.
const TIMESTAMP_HINT: &str = "a timestamp is written `2026-03-01T10:00:00+08:00`, \
                              `2026-03-01T02:00Z` or `2026-03-01T10:00 [Asia/Shanghai]`";

/// `YYYY-MM-DD` followed by `T`, `t` or a space and a digit: meant as a date and time.
fn looks_like_date_time(text: &str) -> bool {
    let b = text.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    (0..4).all(digit)
        && b.get(4) == Some(&b'-')
        && (5..7).all(digit)
        && b.get(7) == Some(&b'-')
        && (8..10).all(digit)
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && text
            .get(11..)
            .is_some_and(|t| t.trim_start().starts_with(|c: char| c.is_ascii_digit()))
}
