//! `test` blocks and `dealrules test`: the shipped rule pack passes its tests and has tests for
//! every rule; a rule broken on purpose fails with a readable difference (snapshots of the text
//! and the JUnit XML, which is checked to be well-formed by an XML parser); bad tests are
//! reported with their locations; `run` never runs tests; and the library's runner on errors,
//! isolation and given files.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

mod common;

use common::{dealrules, stderr, stdout};
use dealrules::Engine;
use dealrules::ruletest::{self, GivenFile, Problem, TestResult};
use dealrules::syntax::{ExpectKind, Given};
use quick_xml::events::Event;

const BROKEN: &str = "tests/fixtures/ruletests/broken";
const INVALID: &str = "tests/fixtures/ruletests/invalid";

// ---------------------------------------------------------------------------------------------
// The shipped rule pack

#[test]
fn the_shipped_rule_pack_passes_its_tests() {
    let out = dealrules(&["test", "rules/", "--color", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"45 passed, 0 failed"));
    assert_eq!(lines.iter().filter(|l| l.starts_with("ok  ")).count(), 45);
    assert_eq!(
        lines.first(),
        Some(
            &"ok      rules/commitment_quality.rules:48   loi_counted_as_commitment_fires_on_a_letter_of_intent"
        )
    );
    // `rules/` is the default.
    let default = dealrules(&["test", "--color", "never"]);
    assert_eq!(stdout(&default), text);
}

/// Each rule of the pack has a test on facts written in the test that expects a finding, one
/// that expects none, and one over the example that counts its findings exactly.
#[test]
fn every_rule_of_the_pack_has_a_positive_a_negative_and_an_example_test() {
    let mut engine = Engine::new();
    for entry in std::fs::read_dir("rules").unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        engine.load(path.display().to_string(), text).unwrap();
    }
    assert_eq!(engine.rules().len(), 15);
    let inline =
        |t: &&dealrules::syntax::TestDecl| t.given.iter().all(|g| matches!(g, Given::Facts { .. }));
    let example = |t: &&dealrules::syntax::TestDecl| {
        matches!(&t.given[..], [Given::File(f), Given::File(s)]
            if f.text == "../examples/ai-compute-2025.deals"
                && s.text == "../examples/ai-compute-2025.schema.rules")
    };
    for rule in engine.rules().iter() {
        let id = &rule.id.name;
        let expects = |t: &dealrules::syntax::TestDecl, pick: &dyn Fn(&ExpectKind) -> bool| {
            t.expects
                .iter()
                .any(|e| e.kind.rule().is_some_and(|r| r.name == *id) && pick(&e.kind))
        };
        let positive = engine.tests().iter().filter(inline).any(|t| {
            expects(t, &|k| {
                matches!(
                    k,
                    ExpectKind::Finding {
                        on: Some(_),
                        severity: Some(_),
                        message: Some(_),
                        ..
                    }
                )
            })
        });
        let negative = engine
            .tests()
            .iter()
            .filter(inline)
            .any(|t| expects(t, &|k| matches!(k, ExpectKind::NoFinding { .. })));
        let on_example = engine
            .tests()
            .iter()
            .filter(example)
            .any(|t| expects(t, &|k| matches!(k, ExpectKind::Count { .. })));
        assert!(
            positive && negative && on_example,
            "rule `{id}`: {positive} {negative} {on_example}"
        );
    }
}

#[test]
fn run_never_runs_tests_nor_counts_them_as_rules() {
    let out = dealrules(&["run", "--color", "never"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out).lines().last(),
        Some("38 findings (30 high, 3 medium, 5 low) from 15 rules over 52 facts; 40 data gaps")
    );
}

// ---------------------------------------------------------------------------------------------
// A rule broken on purpose

#[test]
fn a_rule_broken_on_purpose_fails_with_a_readable_difference() {
    let out = dealrules(&["test", BROKEN, "--color", "never"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let text = stdout(&out);
    assert_eq!(text.lines().last(), Some("1 passed, 3 failed"));
    insta::assert_snapshot!(text);
}

#[test]
fn filter_runs_the_tests_whose_name_contains_the_text() {
    let out = dealrules(&[
        "test",
        BROKEN,
        "--filter",
        "needs_a_purchase",
        "--color",
        "never",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "ok      tests/fixtures/ruletests/broken/vendor_financing.rules:45  vendor_financing_needs_a_purchase\n\
         \n\
         1 passed, 0 failed\n"
    );
    let none = dealrules(&[
        "test",
        BROKEN,
        "--filter",
        "nothing_has_this",
        "--color",
        "never",
    ]);
    assert_eq!(none.status.code(), Some(0));
    assert_eq!(stdout(&none), "0 passed, 0 failed\n");
    assert_eq!(
        stderr(&none),
        "note: no test name contains `nothing_has_this`\n"
    );
}

/// The parts of a JUnit document that matter, read by an XML parser: each element's name and
/// attributes as `name a="v" ...`, and the text inside `failure` elements. Panics when the
/// document is not well-formed.
fn read_junit(xml: &str) -> (Vec<String>, Vec<String>) {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut elements = Vec::new();
    let mut failures = Vec::new();
    let mut text: Option<String> = None;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let mut s = e.name().as_ref().to_string();
                for a in e.attributes() {
                    let a = a.expect("a well-formed attribute");
                    let key = a.key.as_ref().to_string();
                    s.push_str(&format!(
                        " {key}={:?}",
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .unwrap()
                    ));
                }
                if s.starts_with("failure") {
                    text = Some(String::new());
                }
                elements.push(s);
            }
            Event::Text(t) => {
                if let Some(text) = &mut text {
                    text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(text) = &mut text {
                    let name = r.xml10_content();
                    text.push(match &*name {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("unexpected reference `&{other};`"),
                    });
                }
            }
            Event::End(e) if e.name().as_ref() == "failure" => failures.extend(text.take()),
            Event::Eof => break,
            _ => {}
        }
    }
    (elements, failures)
}

#[test]
fn junit_output_is_well_formed_and_holds_the_same_explanations() {
    let out = dealrules(&["test", BROKEN, "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let xml = stdout(&out);
    insta::assert_snapshot!(xml);
    let (elements, failures) = read_junit(&xml);
    assert_eq!(
        elements[..3],
        [
            r#"testsuites name="dealrules test" tests="4" failures="3" errors="0""#,
            r#"testsuite name="tests/fixtures/ruletests/broken/vendor_financing.rules" tests="4" failures="3" errors="0" skipped="0""#,
            r#"testcase name="vendor_financing_fires_on_an_investor_that_supplies" classname="tests/fixtures/ruletests/broken/vendor_financing.rules" file="tests/fixtures/ruletests/broken/vendor_financing.rules" line="16""#,
        ]
    );
    assert_eq!(
        elements[3],
        "failure message=\"expect vendor_financing on (inv, buy) severity high message \\\"Nvidia invests 100B USD in OpenAI, which buys from Nvidia: OpenAI deploys Nvidia systems\\\"\" type=\"expectation\""
    );
    // The text of each failure, unescaped, is what the text output prints under the test.
    let text = stdout(&dealrules(&["test", BROKEN, "--color", "never"]));
    assert_eq!(failures.len(), 3);
    for failure in &failures {
        assert!(text.contains(failure.as_str()), "{failure}");
    }

    // The whole pack: one testsuite per rule file, one testcase per test, no failure.
    let pack = dealrules(&["test", "rules/", "--format", "junit"]);
    assert_eq!(pack.status.code(), Some(0));
    let (elements, failures) = read_junit(&stdout(&pack));
    assert!(failures.is_empty());
    assert_eq!(
        elements[0],
        r#"testsuites name="dealrules test" tests="45" failures="0" errors="0""#
    );
    assert_eq!(
        elements
            .iter()
            .filter(|e| e.starts_with("testsuite "))
            .count(),
        7
    );
    assert_eq!(
        elements
            .iter()
            .filter(|e| e.starts_with("testcase "))
            .count(),
        45
    );
}

#[test]
fn bad_tests_are_all_reported_with_their_locations_and_none_runs() {
    let out = dealrules(&["test", INVALID, "--color", "never"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    insta::assert_snapshot!(stderr(&out));
}

#[test]
fn deal_files_are_given_to_tests_not_named_on_the_command_line() {
    let out = dealrules(&["test", "examples/ai-compute-2025.deals"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: `examples/ai-compute-2025.deals` is not a `.rules` file; deal files are given to tests with `given \"FILE\"`\n"
    );
}

// ---------------------------------------------------------------------------------------------
// The library's runner

const RULE: &str = r#"
rule big "Big" {
  severity: low

  match d: deal where d.amount > 1B USD
  flag  "{d.id} is big"
}
"#;

/// Loads `text` (rules and tests) and runs every test; `files` are the given files' texts by
/// name.
fn run_all(text: &str, files: &[(&str, &str)]) -> Vec<TestResult> {
    let mut engine = Engine::new();
    engine.load("t.rules", text).expect("the rules load");
    engine
        .tests()
        .iter()
        .map(|t| {
            assert_eq!(ruletest::check(&engine, t), vec![]);
            let given: Vec<GivenFile> = t
                .given
                .iter()
                .filter_map(|g| match g {
                    Given::File(path) => Some(path),
                    Given::Facts { .. } => None,
                })
                .map(|path| {
                    let text = files
                        .iter()
                        .find(|(name, _)| *name == path.text)
                        .map(|(_, text)| *text)
                        .expect("a given file");
                    GivenFile {
                        name: path.text.clone(),
                        text: text.into(),
                    }
                })
                .collect();
            let prepared = ruletest::prepare(&engine, t, &given).expect("the test is valid");
            ruletest::run(&prepared)
        })
        .collect()
}

#[test]
fn tests_are_isolated_from_each_other() {
    // Both tests declare `a`: shared facts would be a duplicate id, and each count would be 2.
    let text = format!(
        "{RULE}
test one {{
  given {{ deal a {{ amount: 5B USD }} }}
  expect big on (a) message \"a is big\"
  expect count big 1
}}
test two {{
  given {{ deal a {{ amount: 7B USD }} deal b {{ amount: 0.5B USD }} }}
  expect count big 1
  expect no big on (b)
}}"
    );
    let results = run_all(&text, &[]);
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(TestResult::passed), "{results:#?}");
}

#[test]
fn errors_fail_a_test_unless_it_expects_them() {
    let text = format!(
        "{RULE}
test duplicate {{
  given {{ deal a {{ amount: 5B USD }} deal a {{ amount: 6B USD }} }}
  expect error \"duplicate id `a`\"
}}
test currency {{
  given {{ deal a {{ amount: 5B CNY }} deal b {{ amount: 5B USD }} }}
  expect big on (b)
}}
test no_error {{
  given {{ deal b {{ amount: 5B USD }} }}
  expect error \"currency\"
}}"
    );
    let results = run_all(&text, &[]);
    assert!(results[0].passed(), "{:#?}", results[0].failures);
    // An evaluation error nobody expects fails the test; the finding on `b` is still there.
    assert_eq!(results[1].failures.len(), 1);
    let Problem::UnexpectedError(e) = &results[1].failures[0].problem else {
        panic!("{:#?}", results[1].failures);
    };
    assert_eq!(
        e.message,
        "cannot compare `CNY` and `USD`: different currencies and no exchange rate in `d.amount > 1B USD`"
    );
    assert_eq!(e.rule.as_deref(), Some("big"));
    // An expected error that does not happen.
    assert_eq!(
        results[2].failures[0].problem,
        Problem::NoError { errors: vec![] }
    );
}

#[test]
fn a_given_file_holds_facts_only() {
    let text = format!(
        "{RULE}
test from_file {{
  given \"deals.deals\"
  expect big on (a)
  expect no big on (b)
}}
test with_a_rule {{
  given \"rules.deals\"
  expect error \"a file given to a test may hold only entities, deals, exchange rates and schema declarations\"
}}"
    );
    let results = run_all(
        &text,
        &[
            (
                "deals.deals",
                "deal a { amount: 5B USD }\ndeal b { amount: 1B USD }",
            ),
            ("rules.deals", "rule r { severity: low flag \"x\" }"),
        ],
    );
    assert!(results.iter().all(TestResult::passed), "{results:#?}");
}
