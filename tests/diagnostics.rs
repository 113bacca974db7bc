//! Snapshot tests of the diagnostics for broken files: one file in `tests/fixtures/err/`, one
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]
//! snapshot. Each snapshot shows the message, the located source snippet and the help.

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
