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

/// The row read last: where it starts, its number, and the line ends inside its cells.
#[derive(Clone, Copy)]
struct Last {
    start: usize,
    number: usize,
    inside: usize,
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
    /// The row read as `record` from `text` (file `file`); `last` is the row read before it
    /// (`None` for the first row). A row's number counts the empty lines the reader skips
    /// before it, as a spreadsheet shows them.
    fn of(file: FileId, text: &str, record: &::csv::StringRecord, last: Option<Last>) -> Row {
        let position = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(0);
        let ranges = cell_ranges(text, position, record.len());
        let start = ranges.first().map_or(position, |r| r.start);
        let end = ranges.last().map_or(start, |r| r.end);
        // From the start of the last row to this one: the line ends inside the last row's
        // quoted cells, its own line end, then one per empty line. (The reader's places are
        // used, not a scan of the cells: a `"` inside an unquoted cell is a plain character
        // to the reader.)
        let skipped = match last {
            None => line_breaks(text.get(..start).unwrap_or("")),
            Some(last) => line_breaks(text.get(last.start..start).unwrap_or(""))
                .saturating_sub(last.inside + 1),
        };
        let before = last.map_or(0, |l| l.number);
        Row {
            cells: record.iter().map(str::to_string).collect(),
            spans: ranges.into_iter().map(|r| Span::new(file, r)).collect(),
            span: Span::new(file, start..end),
            number: before + 1 + skipped,
        }
    }

    /// What the next row's number is counted from.
    fn last(&self) -> Last {
        Last {
            start: self.span.start as usize,
            number: self.number,
            inside: self.cells.iter().map(|c| line_breaks(c)).sum(),
        }
    }

    fn cell(&self, i: usize) -> (&str, Span) {
        (
            self.cells.get(i).map_or("", |c| c.trim()),
            self.spans.get(i).copied().unwrap_or(self.span),
        )
    }
}

/// Reads the rows of `text` (file `file`) into facts, handing each to `add` as soon as its row
/// is read (so that no row or fact of the file is held besides the one being read), with a
/// diagnostic for each bad cell or row. A row with errors still becomes a fact with the fields
/// that could be read, so that duplicate ids are reported too.
pub(super) fn read(file: FileId, text: &str, add: &mut dyn FnMut(Fact)) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    // The header's columns, once its row is read; `None` before it, and after a header with no
    // `id` column (the rest of the file is still read for its CSV errors).
    let mut header: Option<(Vec<Column>, Option<usize>, Span)> = None;
    let mut record = ::csv::StringRecord::new();
    // The row read last.
    let mut last: Option<Last> = None;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let row = Row::of(file, text, &record, last);
                last = Some(row.last());
                match &header {
                    None => {
                        let columns = columns(&row, &mut diags);
                        let id_column = columns.iter().position(|c| *c == Column::Id);
                        header = Some((columns, id_column, row.span));
                    }
                    Some((columns, Some(id_column), _)) => {
                        if let Some(fact) = row_fact(&row, columns, *id_column, &mut diags) {
                            add(fact);
                        }
                    }
                    Some((_, None, _)) => {}
                }
            }
            Err(e) => {
                let at = e
                    .position()
                    .and_then(|p| usize::try_from(p.byte()).ok())
                    .unwrap_or(0);
                let number = last.map_or(1, |l| l.number + 1);
                last = Some(Last {
                    start: at,
                    number,
                    inside: 0,
                });
                diags.push(Diagnostic::error(
                    Code::BadInput,
                    format!("row {number}: cannot read CSV: {e}"),
                    Span::new(file, at..at),
                    "here",
                ));
                // A reader error that is not about one record (an I/O error) ends the file.
                if !matches!(
                    e.kind(),
                    ::csv::ErrorKind::Utf8 { .. } | ::csv::ErrorKind::UnequalLengths { .. }
                ) {
                    break;
                }
            }
        }
    }
    match header {
        None => diags.push(
            Diagnostic::error(
                Code::BadInput,
                "the CSV file has no header row",
                Span::new(file, 0..0),
                "expected here",
            )
            .with_help(
                "the first row names the columns: `id`, `fact`, `title`, then one column per field",
            ),
        ),
        Some((_, None, span)) => diags.push(
            Diagnostic::error(
                Code::BadInput,
                "the header has no `id` column",
                span,
                "header row",
            )
            .with_help("name one column `id`: each row's entity or deal id"),
        ),
        Some(_) => {}
    }
    diags
}

/// One row as a fact (`None` when it has no id or no cell), with a diagnostic for each bad cell
/// and for a row whose number of cells is not the header's.
fn row_fact(
    row: &Row,
    columns: &[Column],
    id_column: usize,
    diags: &mut Vec<Diagnostic>,
) -> Option<Fact> {
    if row.cells.iter().all(|c| c.trim().is_empty()) {
        return None;
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
    fact(row, columns, id_column, diags)
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

/// Line ends in `text`: `\r\n`, `\n` and `\r` each count once, as the CSV reader reads them.
fn line_breaks(text: &str) -> usize {
    let mut after_cr = false;
    text.bytes()
        .filter(|&b| {
            let end = b == b'\r' || (b == b'\n' && !after_cr);
            after_cr = b == b'\r';
            end
        })
        .count()
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

    #[test]
    fn each_row_is_handed_over_as_a_fact_in_file_order_bad_cells_and_all() {
        let text =
            "id,fact,amount\nE,entity,\na,,5 USD\n\nb,deal,not a value\n,deal,\nc,deal,1 GW\n";
        let mut facts = Vec::new();
        let diags = read(FileId::new(0), text, &mut |f| {
            facts.push((f.id.to_string(), f.fields.len()))
        });
        let expected = [("E", 0), ("a", 1), ("b", 0), ("c", 1)];
        let expected: Vec<_> = expected.map(|(i, n)| (i.to_string(), n)).into();
        assert_eq!(facts, expected);
        let messages: Vec<_> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].starts_with("row 5, column `amount`: "),
            "{messages:?}"
        );
        assert_eq!(messages[1], "row 6: the `id` cell is empty");
    }

    /// The row each diagnostic of reading `text` names (`row 5`), in order.
    fn rows_named(text: &str) -> Vec<String> {
        let diags = read(FileId::new(0), text, &mut |_| {});
        diags
            .iter()
            .map(|d| d.message.split(',').next().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_shows_them() {
        // Empty lines are rows (skipped, but counted); a quoted cell over two lines is one row.
        let text = "\r\nid,amount\r\n\r\n\r\na,x x\n\"b\nc\",y y\r\r\nd,z z";
        assert_eq!(rows_named(text), ["row 5", "row 6", "row 8"]);
        // A `"` inside an unquoted cell is a plain character; a later quoted cell over two
        // lines is still one row.
        let text = "id,note,tags\nx, \"a \\\" b\",\"[a,\nb]\"\ny,,5 USX\n";
        assert_eq!(rows_named(text), ["row 3"]);
        assert_eq!(line_breaks("\r\n\n\r\rx\n"), 5);
    }
}
