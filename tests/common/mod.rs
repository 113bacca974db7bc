//! Helpers shared by the tests that run the real `dealrules` binary.
#![allow(
    dead_code,
    clippy::expect_used,
    reason = "each test crate uses what it needs; helpers may fail loudly"
)]

use std::process::{Command, Output};

/// Runs the binary in the crate root with `args`.
pub fn dealrules(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dealrules"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// Loads `deals` and `rules` into a fresh engine and evaluates them; panics on bad input.
pub fn run(deals: &str, rules: &str) -> dealrules::Report {
    let mut engine = dealrules::Engine::new();
    engine.load("t.deals", deals).expect("deals load");
    engine.load("t.rules", rules).expect("rules load");
    engine.evaluate().expect("rules check")
}

/// An engine with the shipped schema (`rules/schema.rules`) loaded.
pub fn engine_with_schema() -> dealrules::Engine {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/schema.rules");
    let mut engine = dealrules::Engine::new();
    let text = std::fs::read_to_string(path).expect("the shipped schema is readable");
    engine
        .load("rules/schema.rules", text)
        .expect("the shipped schema loads");
    engine
}
