//! Renderers: turn a [`Report`](crate::Report) into text for people, JSON for programs, SARIF
//! for code-review tools, or Markdown for a pull request; a [`Diff`](crate::diff::Diff) into
//! text, JSON or Markdown; and the results of `test` blocks into text or JUnit XML.
//! Renderers never change findings; they only resolve spans to `file:line` and format values.

mod diagnostics;
mod diff;
pub mod graph;
mod json;
mod markdown;
mod ruletest;
mod sarif;
mod text;
mod why;

pub use crate::diag::Locate;
pub use diagnostics::{DIAGNOSTICS_FORMAT_VERSION, diagnostics_json};

pub use diff::{DIFF_FORMAT_VERSION, diff_json, diff_markdown, diff_summary, diff_text};
pub use json::{JSON_FORMAT_VERSION, json, value_json, write_json};
pub use markdown::{markdown, write_markdown};
pub use ruletest::{expect_text, test_junit, test_text};
pub use sarif::{SARIF_FINGERPRINT_KEY, sarif, sarif_level, write_sarif};
pub use text::{text, write_text};
pub use why::{why_json, why_text};

/// Writes a report a part at a time (a finding, a data gap): each part is made in one buffer
/// of text, then written, so that a report of many findings is never held whole in memory
/// (the text of 44,000 findings over a million deals is 49 MB; as JSON, 250 MB). The line
/// breaks a part ends with are held back until more text comes, so that the renderer decides
/// at the end how many the whole text ends with ([`Parts::finish`]).
struct Parts<'w> {
    out: &'w mut dyn std::io::Write,
    buf: String,
    /// Whether any text was made yet.
    made: bool,
    /// Line breaks held back.
    breaks: usize,
}

impl<'w> Parts<'w> {
    fn new(out: &'w mut dyn std::io::Write) -> Self {
        Parts {
            out,
            buf: String::new(),
            made: false,
            breaks: 0,
        }
    }

    /// Makes one part with `make` (told whether any text was made before it) and writes it,
    /// but for the line breaks it ends with.
    fn part(&mut self, make: impl FnOnce(&mut String, bool)) -> std::io::Result<()> {
        self.buf.clear();
        make(&mut self.buf, self.made);
        self.made |= !self.buf.is_empty();
        let text = self.buf.trim_end_matches('\n');
        if !text.is_empty() {
            write_breaks(self.out, self.breaks)?;
            self.out.write_all(text.as_bytes())?;
            self.breaks = 0;
        }
        self.breaks += self.buf.len() - text.len();
        Ok(())
    }

    /// Writes the line breaks held back, `at_most` of them.
    fn finish(self, at_most: usize) -> std::io::Result<()> {
        write_breaks(self.out, self.breaks.min(at_most))
    }
}

/// Writes `n` line breaks.
fn write_breaks(out: &mut dyn std::io::Write, n: usize) -> std::io::Result<()> {
    for _ in 0..n {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The text a renderer wrote into memory (which cannot fail) with `write`.
fn to_string(write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> String {
    let mut out = Vec::with_capacity(4096);
    // Writing to memory cannot fail; the renderers write UTF-8 only.
    let _ = write(&mut out);
    String::from_utf8(out).unwrap_or_default()
}
