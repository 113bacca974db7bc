//! `dealrules check`: the schema, static checks of rules, exit codes and output formats, through
//! the real binary; and the same checks refusing evaluation in `dealrules run`.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests may fail loudly"
)]

mod common;

use common::{dealrules, stderr, stdout};
use dealrules::{Engine, Level, diag::Code};
use serde_json::Value as Json;

const MONEY_VS_POWER: &str = "tests/fixtures/check/money_compared_with_power.rules";

#[test]
fn the_shipped_rules_and_example_check_clean() {
    let out = dealrules(&["check", "--color", "never", "--deny-warnings"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "0 errors, 0 warnings in 10 files (15 rules, 52 facts)\n"
    );
    assert_eq!(stdout(&out), "");
}

#[test]
fn money_compared_with_gigawatts_fails_with_both_spans_underlined() {
    let out = dealrules(&["check", "rules/", MONEY_VS_POWER, "--color", "never"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&out));
}

#[test]
fn check_json_gives_code_place_and_every_label() {
    let out = dealrules(&["check", "rules/", MONEY_VS_POWER, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc: Json = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["warnings"], 0);
    let d = &doc["diagnostics"][0];
    assert_eq!(d["code"], "E034");
    assert_eq!(d["level"], "error");
    assert_eq!(
        d["message"],
        "cannot compare money with a quantity of power"
    );
    assert_eq!(d["file"], MONEY_VS_POWER);
    assert_eq!(
        (d["line"].clone(), d["column"].clone()),
        (4.into(), 9.into())
    );
    assert_eq!(
        (d["end_line"].clone(), d["end_column"].clone()),
        (4.into(), 17.into())
    );
    let labels = d["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[0]["message"], "this is money");
    assert_eq!(labels[1]["message"], "this is a quantity of power");
    assert_eq!(
        (labels[1]["line"].clone(), labels[1]["column"].clone()),
        (4.into(), 20.into())
    );
    assert_eq!(d["help"], Json::Null);
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let file = "tests/fixtures/check/always_true.rules";
    let out = dealrules(&["check", "rules/", file, "--color", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).ends_with("0 errors, 1 warning in 9 files (16 rules, 0 facts)\n"));
    let out = dealrules(&["check", "rules/", file, "--deny-warnings"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_refuses_a_program_that_does_not_check_and_prints_the_same_diagnostics() {
    let check = dealrules(&[
        "check",
        "rules/",
        "examples/",
        MONEY_VS_POWER,
        "--color",
        "never",
    ]);
    let run = dealrules(&[
        "run",
        "rules/",
        "examples/",
        MONEY_VS_POWER,
        "--color",
        "never",
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(stdout(&run), "", "nothing is evaluated");
    let diagnostic = stderr(&check);
    let diagnostic = diagnostic
        .lines()
        .take_while(|l| !l.contains("error,"))
        .collect::<Vec<_>>();
    assert!(diagnostic.len() > 5);
    assert!(
        stderr(&run).starts_with(&diagnostic.join("\n")),
        "{}",
        stderr(&run)
    );
}

#[test]
fn every_error_of_every_file_is_collected_and_sorted_by_file() {
    let out = dealrules(&[
        "check",
        "rules/",
        "tests/fixtures/check/unknown_field.deals",
        "tests/fixtures/err/missing_value.deals",
        MONEY_VS_POWER,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let doc: Json = serde_json::from_str(&stdout(&out)).unwrap();
    let found: Vec<(String, String)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["file"].as_str().unwrap().to_string(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "tests/fixtures/check/unknown_field.deals".to_string(),
                "E021".to_string()
            ),
            (
                "tests/fixtures/err/missing_value.deals".to_string(),
                "E001".to_string()
            ),
            (
                "tests/fixtures/err/missing_value.deals".to_string(),
                "E001".to_string()
            ),
            (MONEY_VS_POWER.to_string(), "E034".to_string()),
        ]
    );
}

#[test]
fn a_rule_id_declared_in_two_files_names_both_places() {
    let mut engine = Engine::new();
    let rule = "rule twice {\n  severity: low\n  flag \"x\"\n}\n";
    engine.load("a.rules", rule).unwrap();
    let err = engine.load("b.rules", rule).unwrap_err();
    let d = err.errors().next().unwrap();
    assert_eq!(d.code, Code::DeclaredTwice);
    assert_eq!(d.message, "duplicate rule id `twice`");
    let text = dealrules::diag::render(d, engine.sources(), dealrules::Colour::Never);
    assert!(text.contains("b.rules:1:6"), "{text}");
    assert!(text.contains("first declared here: a.rules:1:6"), "{text}");
}

#[test]
fn names_are_compared_after_nfc_normalisation() {
    // `Société` with `é` as one code point (NFC) in the deal, as `e` + U+0301 in the rule.
    let composed = "Soci\u{e9}t\u{e9}";
    let decomposed = "Socie\u{301}te\u{301}";
    assert_ne!(composed, decomposed);
    let mut engine = Engine::new();
    engine
        .load(
            "t.deals",
            format!("entity {composed} {{ type: company }}\ndeal d {{ kind: investment  investor: {composed} }}\n"),
        )
        .unwrap();
    engine
        .load(
            "t.rules",
            format!(
                "rule r {{\n  severity: low\n  match d: deal where d.investor == {decomposed}\n  flag \"{{d.investor}}\"\n}}\n"
            ),
        )
        .unwrap();
    let report = engine.evaluate().unwrap();
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].message, composed);
}

#[test]
fn a_schema_extension_adds_fields_to_a_shipped_kind() {
    let mut engine = common::engine_with_schema();
    engine
        .load(
            "mine.rules",
            "schema deal purchase { incoterm: enum(fob, cif) \"Delivery terms.\" }\n",
        )
        .unwrap();
    engine
        .load(
            "t.deals",
            "entity A { type: company }\nentity B { type: company }\n\
             deal p { kind: purchase  buyer: A  seller: B  incoterm: fob  source: [\"s\"]  confidence: filed }\n\
             deal q { kind: purchase  buyer: A  seller: B  incoterm: exw  source: [\"s\"]  confidence: filed }\n",
        )
        .unwrap();
    let diags = engine.check();
    let errors: Vec<(Code, &str)> = diags
        .iter()
        .filter(|d| d.level == Level::Error)
        .map(|d| (d.code, d.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [(
            Code::NotInEnum,
            "`exw` is not allowed in field `incoterm` of `q`"
        )]
    );
}

/// Facts written with the same fields in the same order share what the schema says of their
/// fields, worked out once: each still gets every diagnostic of its own values, an unknown field
/// or a missing required one, and a fact of another kind with the same fields is checked
/// against its own kind.
#[test]
fn facts_of_one_layout_each_get_their_own_diagnostics() {
    let mut engine = common::engine_with_schema();
    engine
        .load(
            "t.deals",
            "entity A { type: company }\nentity B { type: company }\n\
             deal p1 { kind: purchase  buyer: A  seller: B  amount: 1 USD  source: [\"s\"]  confidence: filed }\n\
             deal p2 { kind: purchase  buyer: A  seller: B  amount: 2 GW  source: [\"s\"]  confidence: filed }\n\
             deal p3 { kind: purchase  buyer: A  seller: C  amount: 3 USD  source: [\"s\"]  confidence: filed }\n\
             deal p4 { kind: purchase  buyer: A  seller: B  amount: 4 GW  source: [\"s\"]  confidence: filed }\n\
             deal x1 { kind: purchase  buyer: A  seller: B  amont: 5 USD  source: [\"s\"]  confidence: filed }\n\
             deal x2 { kind: purchase  buyer: A  seller: B  amont: 6 USD  source: [\"s\"]  confidence: filed }\n\
             deal l1 { kind: lease  buyer: A  seller: B  amount: 7 USD  source: [\"s\"]  confidence: filed }\n",
        )
        .unwrap();
    let errors: Vec<(Code, String)> = engine
        .check()
        .into_iter()
        .filter(|d| d.level == Level::Error)
        .map(|d| (d.code, d.message))
        .collect();
    let expected: Vec<(Code, &str)> = vec![
        (
            Code::WrongType,
            "field `amount` of deal `p2` should be money, not power (GW)",
        ),
        (
            Code::UnknownReference,
            "`C` in field `seller` of `p3` is not a declared entity",
        ),
        (
            Code::WrongType,
            "field `amount` of deal `p4` should be money, not power (GW)",
        ),
        (
            Code::UnknownField,
            "deal `x1` (purchase) has no field `amont` in the schema",
        ),
        (
            Code::UnknownField,
            "deal `x2` (purchase) has no field `amont` in the schema",
        ),
        // Sorted by place: the missing fields are reported on the fact, before its fields.
        (
            Code::MissingField,
            "deal `l1` (lease) has no `lessor`, which is required",
        ),
        (
            Code::MissingField,
            "deal `l1` (lease) has no `lessee`, which is required",
        ),
        (
            Code::UnknownField,
            "deal `l1` (lease) has no field `buyer` in the schema",
        ),
        (
            Code::UnknownField,
            "deal `l1` (lease) has no field `seller` in the schema",
        ),
    ];
    let errors: Vec<(Code, &str)> = errors.iter().map(|(c, m)| (*c, m.as_str())).collect();
    assert_eq!(errors, expected);
}

/// The facts are checked against the schema once for each state of facts and schema: evaluating
/// again gives the same diagnostics, and a fact, a file of facts or a schema declaration added
/// after an evaluation is checked at the next one.
#[test]
fn facts_and_schema_added_after_an_evaluation_are_checked_at_the_next() {
    let errors = |engine: &dealrules::Engine| -> Vec<String> {
        let diagnostics = match engine.evaluate() {
            Ok(_) => engine.check(),
            Err(e) => e.diagnostics,
        };
        diagnostics
            .into_iter()
            .filter(|d| d.level == Level::Error)
            .map(|d| d.message)
            .collect()
    };
    let mut engine = common::engine_with_schema();
    engine
        .load(
            "a.deals",
            "entity A { type: company }\nentity B { type: company }\n\
             deal p1 { kind: purchase  buyer: A  seller: B  amount: 1 USD  source: [\"s\"]  confidence: filed }\n",
        )
        .unwrap();
    assert_eq!(errors(&engine), Vec::<String>::new());
    assert_eq!(errors(&engine), Vec::<String>::new());
    // A fact built in code.
    let p2 = dealrules::Fact::deal("p2")
        .with("kind", dealrules::Value::symbol("purchase"))
        .with("buyer", dealrules::Value::symbol("A"))
        .with("seller", dealrules::Value::symbol("C"));
    engine.add_fact(p2).unwrap();
    let after_fact = vec!["`C` in field `seller` of `p2` is not a declared entity".to_string()];
    assert_eq!(errors(&engine), after_fact);
    assert_eq!(errors(&engine), after_fact);
    // A file of facts.
    engine
        .load(
            "b.deals",
            "deal p3 { kind: purchase  buyer: A  seller: B  amont: 3 USD }\n",
        )
        .unwrap();
    let mut after_file = after_fact.clone();
    after_file.push("deal `p3` (purchase) has no field `amont` in the schema".to_string());
    assert_eq!(errors(&engine), after_file);
    // A schema declaration that makes `amont` a field of purchases.
    engine
        .load(
            "s.rules",
            "schema deal purchase { amont: money \"A misspelt amount.\" }\n",
        )
        .unwrap();
    assert_eq!(errors(&engine), after_fact);
}

#[test]
fn without_a_schema_fields_are_not_validated() {
    let mut engine = Engine::new();
    engine
        .load("t.deals", "deal d { kind: anything  whatever: 10 GW }\n")
        .unwrap();
    assert_eq!(engine.check(), []);
}

/// The shipped schema, plus `text` loaded as `t.rules`; the errors of `check`.
fn check_errors(text: &str) -> Vec<(Code, String)> {
    let mut engine = common::engine_with_schema();
    let mut diags = match engine.load("t.rules", text) {
        Ok(()) => Vec::new(),
        Err(e) => e.diagnostics,
    };
    diags.extend(engine.check());
    diags
        .into_iter()
        .filter(|d| d.level == Level::Error)
        .map(|d| (d.code, d.message))
        .collect()
}

#[test]
fn arithmetic_with_a_field_of_several_types_fails_when_no_alternative_fits() {
    let rule = "rule r {\n  severity: low\n  match d: deal where d.kind == purchase\n  when  d.amount + d.capacity > 0\n  flag  \"x\"\n}\n";
    assert_eq!(
        check_errors(rule),
        [(
            Code::BadArithmetic,
            "cannot add money and a quantity of power or a count".to_string()
        )]
    );
    // `capacity` is power or a count: adding GW fits one alternative.
    let fits = rule.replace("d.amount + d.capacity > 0", "d.capacity + 1 GW > 2 GW");
    assert_eq!(check_errors(&fits), []);
}

#[test]
fn a_deal_id_where_an_entity_is_declared_says_so() {
    let facts = "deal loi { kind: investment  investor: loi  investee: loi }\n";
    let errors = check_errors(facts);
    assert!(
        errors.contains(&(
            Code::UnknownReference,
            "`loi` in field `investor` of `loi` is a deal, not an entity".to_string()
        )),
        "{errors:?}"
    );
}

#[test]
fn a_misspelt_kind_field_is_named() {
    let mut engine = common::engine_with_schema();
    engine
        .load("t.deals", "entity Delta { typ: company }\n")
        .unwrap();
    let diags = engine.check();
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].message, "entity `Delta` has no `type`");
    assert_eq!(
        diags[0].help.as_deref(),
        Some("`typ` here: did you mean `type`?")
    );
}

#[test]
fn a_set_value_of_another_type_than_the_default_is_refused_at_the_option() {
    let out = dealrules(&[
        "run",
        "--set",
        "customer_concentration.high_share=35",
        "--color",
        "never",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("`--set`: `customer_concentration.high_share` is a ratio (`10%` or `0.1`) (default `35%`), not"),
        "{err}"
    );
    assert!(
        err.contains("write a percentage: `customer_concentration.high_share=35%`"),
        "{err}"
    );
}

#[test]
fn every_bad_path_is_reported() {
    let out = dealrules(&["check", "rules/", "no_such_folder", "README.md"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: `no_such_folder` does not exist\n\
         error: `README.md` is not a `.deals`, `.rules`, `.csv` or `.json` file\n"
    );
}
