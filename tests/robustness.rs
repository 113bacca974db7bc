//! Robustness: the fixed inputs of the fuzz targets (`fuzz/`) stay valid, so that the targets
//! exercise evaluation instead of stopping at a load error; regression tests for inputs found
//! by fuzzing go here too (docs/security.md).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

use dealrules::Engine;

const SMALL_DEALS: &str = include_str!("../fuzz/fixed/small.deals");
const PACK_RULES: &str = include_str!("../fuzz/fixed/pack.rules");

#[test]
fn the_fixed_inputs_of_the_fuzz_targets_load_and_evaluate() {
    let mut engine = Engine::new();
    engine
        .load("small.deals", SMALL_DEALS)
        .expect("small.deals loads");
    engine
        .load("pack.rules", PACK_RULES)
        .expect("pack.rules loads");
    let report = engine.evaluate().expect("pack.rules checks");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(
        report
            .findings
            .iter()
            .any(|f| &*f.rule == "vendor_financing"),
        "the fixed deals reach the fixed rules"
    );
    assert!(report.findings.iter().any(|f| &*f.rule == "circular_flow"));
}

fn first_error(text: &str) -> String {
    let mut engine = Engine::new();
    match engine.load("t.rules", text) {
        Ok(()) => String::new(),
        Err(e) => e.diagnostics[0].message.clone(),
    }
}

#[test]
fn five_thousand_nested_parentheses_give_a_located_error() {
    let text = format!(
        "rule r {{ severity: low  match d: deal  when {}d.x{} == 1  flag \"x\" }}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let mut engine = Engine::new();
    let err = engine.load("t.rules", text).unwrap_err();
    let d = &err.diagnostics[0];
    assert_eq!(d.message, "nesting deeper than 128 levels");
    let at = engine.sources().location(d.span().unwrap()).unwrap();
    // The rule's `{` is level 1, so the 128th `(` (column 44 + 128) is one level too deep.
    assert_eq!((at.line, at.column), (1, 44 + 128));
    // Inside a message placeholder too.
    let text = format!(
        "rule r {{ severity: low  match d: deal  flag \"{{{}d.x{}}}\" }}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert_eq!(first_error(&text), "nesting deeper than 128 levels");
}

#[test]
fn a_100000_term_expression_fails_cleanly() {
    let text = format!(
        "rule r {{ severity: low  match d: deal  when {} > 1  flag \"x\" }}",
        vec!["d.x"; 100_000].join(" + ")
    );
    assert_eq!(
        first_error(&text),
        "expression with 100000 operators; the limit is 256"
    );
    let chain = format!(
        "rule r {{ severity: low  match d: deal  when d{} == 1  flag \"x\" }}",
        ".x".repeat(10_000)
    );
    assert_eq!(first_error(&chain), "path of 10001 names; the limit is 32");
}

#[test]
fn crlf_and_lf_give_the_same_positions() {
    let lf = "deal a {\n  kind: investment\n  amount: 5B USX\n}\n";
    let crlf = lf.replace('\n', "\r\n");
    let position = |text: &str| {
        let mut engine = Engine::new();
        let err = engine.load("t.deals", text.to_string()).unwrap_err();
        let at = engine
            .sources()
            .location(err.diagnostics[0].span().unwrap())
            .unwrap();
        (at.line, at.column)
    };
    assert_eq!(position(lf), (3, 14));
    assert_eq!(position(&crlf), (3, 14));
    assert_eq!(position(&format!("\u{feff}{lf}")), (3, 14));
}
