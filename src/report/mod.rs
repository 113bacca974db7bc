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
pub use json::{JSON_FORMAT_VERSION, json, value_json};
pub use markdown::markdown;
pub use ruletest::{expect_text, test_junit, test_text};
pub use sarif::{SARIF_FINGERPRINT_KEY, sarif, sarif_level};
pub use text::text;
pub use why::{why_json, why_text};
