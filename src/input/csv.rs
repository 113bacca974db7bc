//! CSV to facts: a header row naming the columns, then one row per entity or deal.

use super::parse_value;
use crate::diag::{Code, Diagnostic, FileId, Span, did_you_mean};
use crate::facts::FactField;
use crate::value::Name;
use crate::{Fact, FactKind};
use std::ops::Range;
use std::sync::Arc;

/// Columns with a fixed meaning; every other column is a field.
pub(super) const RESERVED: [&str; 3] = ["id", "fact", "title"];

/// What a column holds.
#[derive(Clone, Debug, PartialEq)]
enum Column {
    Id,
    Kind,
    Title,
    Field(Name),
    /// A column without a name: it must stay empty.
    Unnamed,
    /// A column named twice (already reported): ignored.
    Duplicate,
}

/// A row as read: its cells and where each is written.
struct Row {
    cells: Vec<String>,
    spans: Vec<Span>,
    /// The whole row (for errors about the row).
    span: Span,
    /// The row number as a spreadsheet shows it (the header is row 1).
    number: usize,
}

impl Row {
    fn cell(&self, i: usize) -> (&str, Span) {
        (
            self.cells.get(i).map_or("", |c| c.trim()),
            self.spans.get(i).copied().unwrap_or(self.span),
        )
    }
}

/// Reads the rows of `text` (file `file`) into facts, with a diagnostic for each bad cell or
/// row. A row with errors still becomes a fact with the fields that could be read, so that
/// duplicate ids are reported too.
pub(super) fn read(file: FileId, text: &str) -> (Vec<Fact>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut facts = Vec::new();
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(record) => {
                let start = record
                    .position()
                    .and_then(|p| usize::try_from(p.byte()).ok())
                    .unwrap_or(0);
                let ranges = cell_ranges(text, start, record.len());
                let end = ranges.last().map_or(start, |r| r.end);
                rows.push(Row {
                    cells: record.iter().map(str::to_string).collect(),
                    spans: ranges.into_iter().map(|r| Span::new(file, r)).collect(),
                    span: Span::new(file, start..end),
                    number: i + 1,
                });
            }
            Err(e) => {
                let at = e
                    .position()
                    .and_then(|p| usize::try_from(p.byte()).ok())
                    .unwrap_or(0);
                diags.push(Diagnostic::error(
                    Code::BadInput,
                    format!("row {}: cannot read CSV: {e}", i + 1),
                    Span::new(file, at..at),
                    "here",
                ));
            }
        }
    }
    let mut rows = rows.into_iter();
    let Some(header) = rows.next() else {
        diags.push(
            Diagnostic::error(
                Code::BadInput,
                "the CSV file has no header row",
                Span::new(file, 0..0),
                "expected here",
            )
            .with_help(
                "the first row names the columns: `id`, `fact`, `title`, then one column per field",
            ),
        );
        return (facts, diags);
    };
    let columns = columns(&header, &mut diags);
    let Some(id_column) = columns.iter().position(|c| *c == Column::Id) else {
        diags.push(
            Diagnostic::error(
                Code::BadInput,
                "the header has no `id` column",
                header.span,
                "header row",
            )
            .with_help("name one column `id`: each row's entity or deal id"),
        );
        return (facts, diags);
    };
    for row in rows {
        if row.cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if row.cells.len() != columns.len() {
            diags.push(Diagnostic::error(
                Code::BadInput,
                format!(
                    "row {} has {} cell{}, but the header has {} column{}",
                    row.number,
                    row.cells.len(),
                    if row.cells.len() == 1 { "" } else { "s" },
                    columns.len(),
                    if columns.len() == 1 { "" } else { "s" },
                ),
                row.span,
                "this row",
            ));
        }
        if let Some(fact) = fact(&row, &columns, id_column, &mut diags) {
            facts.push(fact);
        }
    }
    (facts, diags)
}

/// The meaning of each header cell; errors for duplicate names.
fn columns(header: &Row, diags: &mut Vec<Diagnostic>) -> Vec<Column> {
    let mut columns: Vec<Column> = Vec::new();
    for i in 0..header.cells.len() {
        let (name, span) = header.cell(i);
        let column = match name {
            "" => Column::Unnamed,
            "id" => Column::Id,
            "fact" => Column::Kind,
            "title" => Column::Title,
            other => Column::Field(Arc::from(other)),
        };
        let seen = column != Column::Unnamed && columns.contains(&column);
        if seen {
            diags.push(
                Diagnostic::error(
                    Code::BadInput,
                    format!("column `{name}` appears twice in the header"),
                    span,
                    "second column of this name",
                )
                .with_help("keep one column per field"),
            );
            columns.push(Column::Duplicate);
        } else {
            columns.push(column);
        }
    }
    columns
}

/// One row as a fact, or `None` when it has no id.
fn fact(
    row: &Row,
    columns: &[Column],
    id_column: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<Fact> {
    let n = row.number;
    let (id, id_span) = row.cell(id_column);
    if id.is_empty() {
        diags.push(
            Diagnostic::error(
                Code::BadInput,
                format!("row {n}: the `id` cell is empty"),
                id_span,
                "no id",
            )
            .with_help("every row needs the id of its entity or deal"),
        );
    }
    let mut kind = FactKind::Deal;
    let mut title = None;
    let mut fields: Vec<(Name, crate::Value, Span)> = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        let (cell, span) = row.cell(i);
        if cell.is_empty() {
            continue;
        }
        match column {
            Column::Id | Column::Duplicate => {}
            Column::Unnamed => diags.push(Diagnostic::error(
                Code::BadInput,
                format!(
                    "row {n}: a value in column {}, which has no name in the header",
                    i + 1
                ),
                span,
                "here",
            )),
            Column::Kind => match cell {
                "deal" => kind = FactKind::Deal,
                "entity" => kind = FactKind::Entity,
                other => diags.push(
                    Diagnostic::error(
                        Code::BadInput,
                        format!(
                            "row {n}, column `fact`: expected `deal` or `entity`, found `{other}`"
                        ),
                        span,
                        "here",
                    )
                    .with_help(
                        did_you_mean(other, ["deal", "entity"])
                            .unwrap_or_else(|| "leave the cell empty for a deal".into()),
                    ),
                ),
            },
            Column::Title => title = Some(cell.to_string()),
            Column::Field(name) => match parse_value(cell, |c| {
                format!(
                    "text is written in double quotes: type `\"{c}\"` in the spreadsheet \
                     (`\"\"\"{c}\"\"\"` in the CSV text)"
                )
            }) {
                Ok(value) => fields.push((name.clone(), value, span)),
                Err((message, help)) => {
                    let mut d = Diagnostic::error(
                        Code::BadInput,
                        format!("row {n}, column `{name}`: {message}"),
                        span,
                        "in this cell",
                    );
                    d.help = help;
                    diags.push(d);
                }
            },
        }
    }
    if id.is_empty() {
        return None;
    }
    let mut fact = if kind == FactKind::Entity {
        Fact::entity(id)
    } else {
        Fact::deal(id)
    };
    fact.span = id_span;
    fact.title = title;
    for (name, value, span) in fields {
        fact.fields.insert(
            name,
            FactField {
                value,
                span,
                name_span: span,
            },
        );
    }
    Some(fact)
}

/// Byte ranges of the first `count` cells of the record that starts at byte `start`, quotes
/// included, following the CSV syntax the reader uses (`,` between cells, `"` around a cell,
/// `""` for a quote inside one).
fn cell_ranges(text: &str, start: usize, count: usize) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::with_capacity(count);
    let mut at = start;
    // After `\r\n`, the reader gives the position of the `\n` (a record never starts with one).
    while matches!(bytes.get(at), Some(b'\r' | b'\n')) {
        at += 1;
    }
    if at == 0 && text.starts_with('\u{feff}') {
        at = '\u{feff}'.len_utf8();
    }
    while ranges.len() < count {
        let cell_start = at;
        let mut quoted = false;
        while let Some(&b) = bytes.get(at) {
            match b {
                b'"' if quoted && bytes.get(at + 1) == Some(&b'"') => at += 2,
                b'"' => {
                    quoted = !quoted;
                    at += 1;
                }
                b',' | b'\n' | b'\r' if !quoted => break,
                _ => at += 1,
            }
        }
        ranges.push(cell_start..at);
        if bytes.get(at) == Some(&b',') {
            at += 1;
        } else if ranges.len() < count {
            // The reader saw more cells than this scan: point the rest at the end of the row.
            ranges.extend(std::iter::repeat_n(at..at, count - ranges.len()));
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_located_with_their_quotes() {
        let text = "a,\"b,\"\"c\"\"\",,d\nx";
        assert_eq!(cell_ranges(text, 0, 4), [0..1, 2..11, 12..12, 13..14]);
        assert_eq!(cell_ranges(text, 15, 1), vec![15..16]);
        assert_eq!(cell_ranges(text, 15, 2), [15..16, 16..16]);
        assert_eq!(cell_ranges("a\r\nb,c", 2, 2), [3..4, 5..6]);
        assert_eq!(cell_ranges("\u{feff}id,x", 0, 2), [3..5, 6..7]);
    }
}
