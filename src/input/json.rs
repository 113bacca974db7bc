//! JSON to facts: `{"entities": [FACT, ...], "deals": [FACT, ...]}`, each `FACT` being
//! `{"id": ..., "title": ..., "fields": {...}}`.
//!
//! Values are read from the raw text of the document, so that a number keeps every digit it
//! was written with (`100000000000000.02` stays exact) and every error points at its place.

use super::parse_value;
use crate::diag::{Code, Diagnostic, FileId, Span, did_you_mean};
use crate::facts::FactField;
use crate::value::{Name, Value};
use crate::{Fact, FactKind};
use indexmap::IndexMap;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::sync::Arc;

/// A JSON object as its keys and raw values, in written order (duplicates kept, to be reported).
struct RawObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push((key, value));
                }
                Ok(RawObject(entries))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// Reads one document; every problem is a diagnostic at its place.
struct Reader<'a> {
    file: FileId,
    text: &'a str,
    diags: Vec<Diagnostic>,
}

/// What a raw value is, from its first character.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Shape {
    fn of(raw: &RawValue) -> Shape {
        match raw.get().trim_start().as_bytes().first() {
            Some(b'{') => Shape::Object,
            Some(b'[') => Shape::Array,
            Some(b'"') => Shape::String,
            Some(b't' | b'f') => Shape::Bool,
            Some(b'n') => Shape::Null,
            _ => Shape::Number,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Shape::Object => "an object",
            Shape::Array => "an array",
            Shape::String => "a string",
            Shape::Number => "a number",
            Shape::Bool => "a boolean",
            Shape::Null => "null",
        }
    }
}

impl<'a> Reader<'a> {
    /// Where `raw`, a slice of the document, is written.
    fn span(&self, raw: &RawValue) -> Span {
        let base = self.text.as_ptr() as usize;
        let start = (raw.get().as_ptr() as usize).wrapping_sub(base);
        if start > self.text.len() {
            return Span::new(self.file, 0..0);
        }
        Span::new(self.file, start..start + raw.get().len())
    }

    fn error(&mut self, message: String, raw: &RawValue, help: Option<String>) {
        let mut d = Diagnostic::error(Code::BadInput, message, self.span(raw), "here");
        d.help = help;
        self.diags.push(d);
    }

    /// An object's entries; a diagnostic when `raw` is something else or a key appears twice.
    fn object(&mut self, raw: &'a RawValue, what: &str) -> Option<Vec<(String, &'a RawValue)>> {
        let shape = Shape::of(raw);
        if shape != Shape::Object {
            self.error(
                format!("{what} must be an object, not {}", shape.name()),
                raw,
                None,
            );
            return None;
        }
        let RawObject(entries) = serde_json::from_str::<RawObject<'a>>(raw.get()).ok()?;
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in &entries {
            if seen.contains(&key.as_str()) {
                self.error(
                    format!("key `{key}` appears twice in {what}"),
                    value,
                    Some("keep one value; a key is never overwritten by a later one".into()),
                );
            }
            seen.push(key);
        }
        Some(entries)
    }

    fn array(&mut self, raw: &'a RawValue, what: &str) -> Option<Vec<&'a RawValue>> {
        let shape = Shape::of(raw);
        if shape != Shape::Array {
            self.error(
                format!("{what} must be an array, not {}", shape.name()),
                raw,
                None,
            );
            return None;
        }
        serde_json::from_str::<Vec<&'a RawValue>>(raw.get()).ok()
    }

    fn string(&mut self, raw: &'a RawValue, what: &str) -> Option<String> {
        let shape = Shape::of(raw);
        if shape != Shape::String {
            self.error(
                format!("{what} must be a string, not {}", shape.name()),
                raw,
                None,
            );
            return None;
        }
        serde_json::from_str::<String>(raw.get()).ok()
    }

    /// The whole document; each fact is handed to `add` as soon as it is read.
    fn document(&mut self, add: &mut dyn FnMut(Fact)) {
        let top = match serde_json::from_str::<&RawValue>(self.text) {
            Ok(raw) => raw,
            Err(e) => {
                self.syntax_error(&e);
                return;
            }
        };
        let Some(entries) = self.object(top, "the document") else {
            return;
        };
        for (key, list) in entries {
            let kind = match key.as_str() {
                "entities" => FactKind::Entity,
                "deals" => FactKind::Deal,
                other => {
                    let help = did_you_mean(other, ["entities", "deals"])
                        .or_else(|| Some("the document holds `entities` and `deals`".into()));
                    self.error(format!("unknown key `{other}` in the document"), list, help);
                    continue;
                }
            };
            let Some(items) = self.array(list, &format!("`{key}`")) else {
                continue;
            };
            for (i, item) in items.into_iter().enumerate() {
                let what = format!("`{key}[{i}]`");
                if let Some(fact) = self.fact(item, kind.clone(), &what) {
                    add(fact);
                }
            }
        }
    }

    /// `{"id": ..., "title": ..., "fields": {...}}`.
    fn fact(&mut self, raw: &'a RawValue, kind: FactKind, what: &str) -> Option<Fact> {
        let entries = self.object(raw, what)?;
        let mut id = None;
        let mut title = None;
        let mut fields = None;
        for (key, value) in entries {
            match key.as_str() {
                "id" => {
                    id = self
                        .string(value, &format!("the `id` of {what}"))
                        .map(|s| (s, value))
                }
                "title" if Shape::of(value) == Shape::Null => {}
                "title" => title = self.string(value, &format!("the `title` of {what}")),
                "fields" if Shape::of(value) == Shape::Null => {}
                "fields" => fields = Some(value),
                other => {
                    let help = did_you_mean(other, ["id", "title", "fields"]).or_else(|| {
                        Some(
                            "a fact has `id`, `title` and `fields`; put its fields under `fields`"
                                .into(),
                        )
                    });
                    self.error(format!("unknown key `{other}` in {what}"), value, help);
                }
            }
        }
        let Some((id, id_raw)) = id else {
            self.error(format!("{what} has no `id`"), raw, None);
            return None;
        };
        if id.trim().is_empty() {
            self.error(format!("the `id` of {what} is empty"), id_raw, None);
            return None;
        }
        let mut fact = if kind == FactKind::Entity {
            Fact::entity(&id)
        } else {
            Fact::deal(&id)
        };
        fact.span = self.span(id_raw);
        fact.title = title;
        if let Some(fields) = fields {
            let context = format!("{} `{id}`", kind.keyword());
            for (name, value) in self.object(fields, &format!("the `fields` of {context}"))? {
                let what = format!("{context}, field `{name}`");
                if fact.fields.contains_key(name.as_str()) {
                    continue;
                }
                if let Ok(Some(v)) = self.value(value, &what) {
                    let span = self.span(value);
                    fact.fields.insert(
                        Arc::from(name.as_str()),
                        FactField {
                            value: v,
                            span,
                            name_span: span,
                        },
                    );
                }
            }
        }
        Some(fact)
    }

    /// A field value: `Ok(None)` for `null` and an empty string (the field is absent),
    /// `Err(())` for a value with an error (already reported).
    fn value(&mut self, raw: &'a RawValue, what: &str) -> Result<Option<Value>, ()> {
        match Shape::of(raw) {
            Shape::Null => Ok(None),
            Shape::Bool => Ok(Some(Value::Bool(raw.get().trim() == "true"))),
            Shape::Number => match parse_value(raw.get().trim(), |_| String::new()) {
                Ok(v @ Value::Number(_)) => Ok(Some(v)),
                Ok(_) => Err(()),
                Err((message, help)) => {
                    self.error(format!("{what}: {message}"), raw, help);
                    Err(())
                }
            },
            Shape::String => {
                let text = self.string(raw, what).ok_or(())?;
                if text.trim().is_empty() {
                    return Ok(None);
                }
                let hint = |t: &str| {
                    format!(
                        "text is written in double quotes inside the JSON string: `{}`",
                        serde_json::to_string(&format!("\"{t}\"")).unwrap_or_default()
                    )
                };
                match parse_value(text.trim(), hint) {
                    Ok(v) => Ok(Some(v)),
                    Err((message, help)) => {
                        self.error(format!("{what}: {message}"), raw, help);
                        Err(())
                    }
                }
            }
            Shape::Array => {
                let items = self.array(raw, what).ok_or(())?;
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for item in items {
                    match self.value(item, what) {
                        Ok(Some(v)) => out.push(v),
                        Ok(None) => {
                            self.error(
                                format!("{what}: a list cannot hold `null` or an empty string"),
                                item,
                                None,
                            );
                            ok = false;
                        }
                        Err(()) => ok = false,
                    }
                }
                if ok {
                    Ok(Some(Value::List(out.into())))
                } else {
                    Err(())
                }
            }
            Shape::Object => {
                let entries = self.object(raw, what).ok_or(())?;
                let mut out: IndexMap<Name, Value> = IndexMap::new();
                let mut ok = true;
                for (key, item) in entries {
                    if out.contains_key(key.as_str()) {
                        continue;
                    }
                    match self.value(item, &format!("{what}, `{key}`")) {
                        Ok(Some(v)) => {
                            out.insert(Arc::from(key.as_str()), v);
                        }
                        Ok(None) => {}
                        Err(()) => ok = false,
                    }
                }
                if ok {
                    Ok(Some(Value::Record(Arc::new(out))))
                } else {
                    Err(())
                }
            }
        }
    }

    fn syntax_error(&mut self, e: &serde_json::Error) {
        let text = e.to_string();
        let message = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(m, _)| m);
        let offset = offset_of(self.text, e.line(), e.column());
        self.diags.push(Diagnostic::error(
            Code::BadInput,
            format!("invalid JSON: {message}"),
            Span::new(self.file, offset..offset),
            "here",
        ));
    }
}

/// Byte offset of 1-based `line` and `column` (serde_json counts columns in bytes).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut offset = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Reads the facts of JSON text `text` (file `file`), handing each to `add` as soon as it is
/// read, with a diagnostic for each problem.
pub(super) fn read(file: FileId, text: &str, add: &mut dyn FnMut(Fact)) -> Vec<Diagnostic> {
    let mut reader = Reader {
        file,
        text,
        diags: Vec::new(),
    };
    reader.document(add);
    reader.diags
}
