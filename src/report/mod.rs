//! Renderers: turn a [`Report`](crate::Report) into text for people or JSON for programs.
//! Renderers never change findings; they only resolve spans to `file:line` and format values.

mod json;
mod text;
mod why;

pub use json::{JSON_FORMAT_VERSION, json, value_json};
pub use text::text;
pub use why::{why_json, why_text};
