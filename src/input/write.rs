//! Facts written back as deal-file, CSV or JSON text; each writer checks that its text reads
//! back to the same facts.

use super::csv::RESERVED;
use crate::value::{Name, Value};
use crate::{Engine, FactKind, FactView};
use rust_decimal::Decimal;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;
use std::fmt::Write as _;

/// A fact that cannot be written in the requested form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot write `{fact}`: {message}")]
pub struct WriteError {
    /// The id of the fact.
    pub fact: Name,
    /// What cannot be written, and why.
    pub message: String,
}

/// A value as it is written in a deal file (`100B USD`, `up to 10 GW`, `2025-10-13`,
/// `"text"`, `[a, b]`), checked to read back to an equal value.
///
/// ```
/// use dealrules::{Value, input::write_value};
/// assert_eq!(write_value(&Value::Text("say \"hi\"".into())), Ok(r#""say \"hi\"""#.to_string()));
/// assert_eq!(write_value(&"up to 100B USD".parse()?), Ok("up to 100B USD".to_string()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// A message when the value has no deal-file form: a name that is not an identifier (built in
/// code), or an amount whose exact digits the syntax cannot express.
pub fn write_value(value: &Value) -> Result<String, String> {
    let mut out = String::new();
    write(value, &mut out)?;
    match out.parse::<Value>() {
        Ok(back) if back == *value => Ok(out),
        _ => Err(format!("`{out}` does not read back as the same value")),
    }
}

/// Whether `name` can be written bare (an identifier that is not `true` or `false`).
fn is_ident(name: &str) -> bool {
    matches!(name.parse::<Value>(), Ok(Value::Symbol(s, _)) if &*s == name)
}

/// A name as written in a deal file: bare when it is an identifier, quoted otherwise.
fn name(name: &str) -> String {
    if is_ident(name) {
        name.to_string()
    } else {
        quote(name)
    }
}

/// `"text"` with `\"`, `\\`, `\n`, `\t` and `\u{..}` escapes: text as a quoted string of the
/// language.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An amount with its unit, as `Display` writes it when that reads back exactly, else with
/// every digit (`1234.5678912345678912345678 USD`).
fn amount(value: &Value, amount: Decimal, ceiling: bool, unit: &str) -> String {
    let shown = value.to_string();
    if shown.parse::<Value>().is_ok_and(|v| v == *value) {
        return shown;
    }
    let up_to = if ceiling { "up to " } else { "" };
    format!("{up_to}{} {unit}", amount.normalize())
}

fn write(value: &Value, out: &mut String) -> Result<(), String> {
    match value {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(d) => {
            let _ = write!(out, "{}", d.normalize());
        }
        Value::Percent(d) => {
            let pct = d
                .checked_mul(Decimal::ONE_HUNDRED)
                .ok_or_else(|| format!("the percentage {d} is too large to write"))?;
            let _ = write!(out, "{}%", pct.normalize());
        }
        Value::Money(m) => out.push_str(&amount(value, m.amount, m.ceiling, m.currency.code())),
        Value::Quantity(q) => {
            out.push_str(&amount(value, q.amount, q.ceiling, &q.unit.to_string()));
        }
        Value::Date(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Timestamp(t) => {
            let _ = write!(out, "{t}");
        }
        Value::Text(t) => out.push_str(&quote(t)),
        Value::Symbol(s, _) => {
            if !is_ident(s) {
                return Err(format!(
                    "the name `{s}` is not an identifier, so a deal file cannot hold it"
                ));
            }
            out.push_str(s);
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(item, out)?;
            }
            out.push(']');
        }
        Value::Record(fields) => {
            out.push('{');
            for (i, (key, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, " {}: ", name(key));
                write(item, out)?;
            }
            out.push_str(" }");
        }
    }
    Ok(())
}

/// `entity` or `deal`; other kinds (rows of derived relations) have no written form.
fn keyword(fact: &FactView<'_>) -> Result<&'static str, WriteError> {
    if *fact.kind() == FactKind::Entity {
        Ok("entity")
    } else if *fact.kind() == FactKind::Deal {
        Ok("deal")
    } else {
        Err(WriteError {
            fact: fact.id().into_owned(),
            message: format!(
                "it is a `{}`; only entities and deals can be written",
                fact.kind().keyword()
            ),
        })
    }
}

fn field_value(fact: &FactView<'_>, field: &str, value: &Value) -> Result<String, WriteError> {
    write_value(value).map_err(|message| WriteError {
        fact: fact.id().into_owned(),
        message: format!("field `{field}`: {message}"),
    })
}

/// Whether `back` holds the same facts as `facts`: same ids, kinds, titles, and equal values
/// field by field (field order aside).
fn check(facts: &[FactView<'_>], back: &Engine) -> Result<(), WriteError> {
    let differs = |fact: &FactView<'_>, what: String| WriteError {
        fact: fact.id().into_owned(),
        message: format!("{what} does not read back as written"),
    };
    for fact in facts {
        let Some(read) = back
            .facts()
            .find(&fact.id())
            .and_then(|i| back.facts().get(i))
        else {
            return Err(differs(fact, "the fact".into()));
        };
        if *read.kind() != *fact.kind() || read.title() != fact.title() {
            return Err(differs(fact, "the kind or title".into()));
        }
        if read.fields().len() != fact.fields().len() {
            return Err(differs(fact, "the set of fields".into()));
        }
        for (field, f) in fact.fields().iter() {
            if read.get(field) != Some(f.value) {
                return Err(differs(fact, format!("field `{field}`")));
            }
        }
    }
    if back.facts().len() != facts.len() {
        return Err(WriteError {
            fact: "".into(),
            message: "the text holds a different number of facts".into(),
        });
    }
    Ok(())
}

fn first_error(facts: &[FactView<'_>], diags: &[crate::Diagnostic]) -> WriteError {
    WriteError {
        fact: facts
            .first()
            .map_or_else(|| "".into(), |f| f.id().into_owned()),
        message: diags.first().map_or_else(String::new, |d| {
            format!("the written text does not read back: {}", d.message)
        }),
    }
}

/// Writes facts as a deal file: one declaration per fact, one field per line, values written
/// by [`write_value`]; checked to read back to the same facts.
///
/// ```
/// use dealrules::{Fact, Value};
/// let loi = Fact::deal("nvidia_openai_loi")
///     .with("kind", Value::symbol("investment"))
///     .with("amount", "up to 100B USD".parse()?);
/// let text = dealrules::input::to_deals([&loi])?;
/// assert_eq!(text, "deal nvidia_openai_loi {\n  kind: investment\n  amount: up to 100B USD\n}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`WriteError`] for a fact whose kind or values have no deal-file form.
pub fn to_deals<'a>(
    facts: impl IntoIterator<Item = impl Into<FactView<'a>>>,
) -> Result<String, WriteError> {
    let facts: Vec<FactView<'a>> = facts.into_iter().map(Into::into).collect();
    let mut out = String::new();
    for (i, fact) in facts.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{} {}", keyword(fact)?, name(&fact.id()));
        if let Some(title) = &fact.title() {
            let _ = write!(out, " {}", quote(title));
        }
        out.push_str(" {\n");
        for (field, f) in fact.fields().iter() {
            let _ = writeln!(
                out,
                "  {}: {}",
                name(field),
                field_value(fact, field, f.value)?
            );
        }
        out.push_str("}\n");
    }
    let mut back = Engine::new();
    back.load("converted.deals", out.as_str())
        .map_err(|e| first_error(&facts, &e.diagnostics))?;
    check(&facts, &back)?;
    Ok(out)
}

/// Writes facts as CSV (see `docs/inputs.md`): the columns `id`, `fact`, `title`, then one
/// column per field name in first-seen order; each cell written by [`write_value`], empty
/// where the fact does not have the field. Checked to read back to the same facts.
///
/// # Errors
/// [`WriteError`] for a fact whose kind or values have no written form, or with a field named
/// `id`, `fact` or `title` (those columns are taken).
pub fn to_csv<'a>(
    facts: impl IntoIterator<Item = impl Into<FactView<'a>>>,
) -> Result<String, WriteError> {
    let facts: Vec<FactView<'a>> = facts.into_iter().map(Into::into).collect();
    let mut columns: indexmap::IndexSet<&str> = indexmap::IndexSet::new();
    for fact in &facts {
        keyword(fact)?;
        for field in fact.fields().keys() {
            if RESERVED.contains(&&**field) {
                return Err(WriteError {
                    fact: fact.id().into_owned(),
                    message: format!(
                        "field `{field}`: a CSV file cannot hold it, as column `{field}` is taken"
                    ),
                });
            }
            columns.insert(field);
        }
    }
    let csv_error = |e: &dyn std::fmt::Display| WriteError {
        fact: "".into(),
        message: format!("cannot write CSV: {e}"),
    };
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let header = RESERVED.iter().copied().chain(columns.iter().copied());
    writer.write_record(header).map_err(|e| csv_error(&e))?;
    for fact in &facts {
        let mut row = vec![
            fact.id().to_string(),
            keyword(fact)?.to_string(),
            fact.title().unwrap_or_default().to_string(),
        ];
        for column in &columns {
            row.push(match fact.fields().get(column) {
                Some(f) => field_value(fact, column, f.value)?,
                None => String::new(),
            });
        }
        writer.write_record(&row).map_err(|e| csv_error(&e))?;
    }
    let bytes = writer.into_inner().map_err(|e| csv_error(&e))?;
    let out = String::from_utf8(bytes).map_err(|e| csv_error(&e))?;
    let mut back = Engine::new();
    super::load_csv(&mut back, "converted.csv", out.as_str())
        .map_err(|e| first_error(&facts, &e.diagnostics))?;
    check(&facts, &back)?;
    Ok(out)
}

/// A JSON document being written: numbers keep their exact digits.
enum Json {
    Raw(Box<RawValue>),
    String(String),
    Bool(bool),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Raw(raw) => raw.serialize(s),
            Json::String(text) => s.serialize_str(text),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, item) in entries {
                    map.serialize_entry(key, item)?;
                }
                map.end()
            }
        }
    }
}

/// A value in the JSON input form: booleans, numbers, lists and records as JSON; everything
/// else as a string holding its deal-file form.
fn json_value(value: &Value) -> Result<Json, String> {
    Ok(match value {
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(d) => {
            Json::Raw(RawValue::from_string(d.normalize().to_string()).map_err(|e| e.to_string())?)
        }
        Value::List(items) => Json::Array(items.iter().map(json_value).collect::<Result<_, _>>()?),
        Value::Record(fields) => Json::Object(
            fields
                .iter()
                .map(|(k, v)| Ok((k.to_string(), json_value(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => Json::String(write_value(other)?),
    })
}

/// Writes facts as JSON (see `docs/inputs.md`): `{"entities": [...], "deals": [...]}`, each
/// fact as `{"id", "title", "fields"}`; numbers as JSON numbers with their exact digits, other
/// values as their deal-file text. Checked to read back to the same facts.
///
/// # Errors
/// [`WriteError`] for a fact whose kind or values have no written form.
pub fn to_json<'a>(
    facts: impl IntoIterator<Item = impl Into<FactView<'a>>>,
) -> Result<String, WriteError> {
    let facts: Vec<FactView<'a>> = facts.into_iter().map(Into::into).collect();
    let mut entities = Vec::new();
    let mut deals = Vec::new();
    for fact in &facts {
        let list = if keyword(fact)? == "entity" {
            &mut entities
        } else {
            &mut deals
        };
        let mut entry = vec![("id".to_string(), Json::String(fact.id().to_string()))];
        if let Some(title) = &fact.title() {
            entry.push(("title".into(), Json::String(title.to_string())));
        }
        let mut fields = Vec::new();
        for (field, f) in fact.fields().iter() {
            let value = json_value(f.value).map_err(|message| WriteError {
                fact: fact.id().into_owned(),
                message: format!("field `{field}`: {message}"),
            })?;
            fields.push((field.to_string(), value));
        }
        entry.push(("fields".into(), Json::Object(fields)));
        list.push(Json::Object(entry));
    }
    let doc = Json::Object(vec![
        ("entities".into(), Json::Array(entities)),
        ("deals".into(), Json::Array(deals)),
    ]);
    let mut out = serde_json::to_string_pretty(&doc).map_err(|e| WriteError {
        fact: "".into(),
        message: format!("cannot write JSON: {e}"),
    })?;
    out.push('\n');
    let mut back = Engine::new();
    super::load_json(&mut back, "converted.json", out.as_str())
        .map_err(|e| first_error(&facts, &e.diagnostics))?;
    check(&facts, &back)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        let v: Value = text.parse().unwrap();
        let written = write_value(&v).unwrap();
        assert_eq!(written.parse::<Value>().unwrap(), v, "{text} -> {written}");
        written
    }

    #[test]
    fn values_read_back_the_same() {
        assert_eq!(round_trip("up to 100B USD"), "up to 100B USD");
        assert_eq!(round_trip("1000亿美元"), "100B USD");
        assert_eq!(round_trip("500 MW"), "500 MW");
        assert_eq!(round_trip("-2.5"), "-2.5");
        assert_eq!(round_trip("25 bps"), "0.25%");
        assert_eq!(round_trip("0.01 USD/share"), "0.01 USD/share");
        assert_eq!(round_trip("160M shares"), "160M shares");
        assert_eq!(round_trip("2025-10-13"), "2025-10-13");
        assert_eq!(
            round_trip(r#""a \"b\"\n\\ \u{7}""#),
            r#""a \"b\"\n\\ \u{7}""#
        );
        assert_eq!(
            round_trip(r#"[{ year: "2025"  amount: 8B USD }, x]"#),
            r#"[{ year: "2025", amount: 8B USD }, x]"#
        );
        assert_eq!(
            round_trip("1234567.891234567891234567 USD"),
            "1.234567891234567891234567M USD"
        );
    }

    #[test]
    fn names_that_are_not_identifiers_are_refused() {
        assert!(write_value(&Value::symbol("two words")).is_err());
        assert!(write_value(&Value::symbol("true")).is_err());
        assert_eq!(name("two words"), "\"two words\"");
        assert_eq!(name("OpenAI"), "OpenAI");
    }
}
