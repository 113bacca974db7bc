//! Snapshot tests of the diagnostics for broken files: one file in `tests/fixtures/err/` (read
//! alone) or `tests/fixtures/check/` (read with the shipped schema), one mistake each, one
//! snapshot. Each snapshot shows the code, the message, the located source snippet and the help.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

mod common;

use dealrules::{Colour, Engine, diag};

fn diagnostics_of(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let name = format!(
        "tests/fixtures/err/{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("?")
    );
    let mut engine = Engine::new();
    let mut diags = match engine.load(name, text) {
        Ok(()) => Vec::new(),
        Err(e) => e.diagnostics,
    };
    if diags.is_empty() {
        diags = match engine.evaluate() {
            Ok(report) => report.warnings,
            Err(e) => e.diagnostics,
        };
    }
    assert!(!diags.is_empty(), "{} gave no diagnostic", path.display());
    diags
        .iter()
        .map(|d| diag::render(d, engine.sources(), Colour::Never))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn broken_files() {
    insta::glob!("fixtures/err/*", |path| {
        insta::assert_snapshot!(diagnostics_of(path));
    });
}

/// Diagnostics of `dealrules check` over the shipped schema and one fixture.
fn checked(path: &std::path::Path) -> String {
    let mut engine = common::engine_with_schema();
    let name = format!(
        "tests/fixtures/check/{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("?")
    );
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let mut diags = match engine.load(name, text) {
        Ok(()) => Vec::new(),
        Err(e) => e.diagnostics,
    };
    diags.extend(engine.check());
    assert!(!diags.is_empty(), "{} gave no diagnostic", path.display());
    diags
        .iter()
        .map(|d| diag::render(d, engine.sources(), Colour::Never))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn files_that_fail_the_check() {
    insta::glob!("fixtures/check/*", |path| {
        insta::assert_snapshot!(checked(path));
    });
}
