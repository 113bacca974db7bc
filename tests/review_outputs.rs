//! The outputs for review tools, checked on the real binary: SARIF 2.1.0 (validated against
//! the official schema in `tests/schemas/`), the JSON report (validated against
//! `docs/report.schema.json`) and the Markdown report (snapshot).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

mod common;
use common::{dealrules, stdout};
use serde_json::Value as Json;
use std::process::Output;

fn json_of(o: &Output) -> Json {
    serde_json::from_str(&stdout(o)).expect("valid JSON")
}

/// Validates `instance` against the schema in `path` (formats checked too) and panics with
/// every error found.
fn assert_valid(schema_path: &str, instance: &Json) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(schema_path);
    let schema: Json =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file")).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(20)
        .collect();
    assert!(
        errors.is_empty(),
        "not valid against {schema_path}:\n{}",
        errors.join("\n")
    );
}

const SARIF_SCHEMA: &str = "tests/schemas/sarif-2.1.0.json";
const REPORT_SCHEMA: &str = "docs/report.schema.json";

fn level_of(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "note",
    }
}

#[test]
fn sarif_of_the_main_job_is_valid_and_complete() {
    let out = dealrules(&["run", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(0));
    let sarif = json_of(&out);
    assert_valid(SARIF_SCHEMA, &sarif);
    // The validation has teeth: a level SARIF does not know is refused.
    let mut wrong = sarif.clone();
    wrong["runs"][0]["results"][0]["level"] = Json::from("critical");
    let schema: Json = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SARIF_SCHEMA),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(!jsonschema::validator_for(&schema).unwrap().is_valid(&wrong));
    let report = json_of(&dealrules(&["run", "--format", "json"]));

    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert_eq!(run["tool"]["driver"]["name"], "dealrules");

    // Rule metadata: every rule, sorted by id, level from severity, help from reference.
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    assert_eq!(
        rules.len() as u64,
        report["summary"]["rules"].as_u64().unwrap()
    );
    let vendor = rules
        .iter()
        .find(|r| r["id"] == "vendor_financing")
        .unwrap();
    assert_eq!(
        vendor["name"],
        "Supplier finances a customer's purchases of its own goods"
    );
    assert_eq!(vendor["shortDescription"]["text"], vendor["name"]);
    assert_eq!(vendor["defaultConfiguration"]["level"], "error");
    assert!(
        vendor["help"]["text"]
            .as_str()
            .unwrap()
            .starts_with("ASC 606-10-32-25")
    );
    assert!(
        vendor["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&Json::from("vendor_financing"))
    );

    // One result per finding, in the report's order, with its message and fingerprint.
    let results = run["results"].as_array().unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    for (r, f) in results.iter().zip(findings) {
        assert_eq!(r["ruleId"], f["rule"]);
        assert_eq!(
            rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
            f["rule"]
        );
        assert_eq!(r["message"]["text"], f["message"]);
        assert_eq!(r["level"], level_of(f["severity"].as_str().unwrap()));
        assert_eq!(
            r["partialFingerprints"]["dealrulesFinding/v1"],
            f["fingerprint"]
        );
        assert_eq!(r["properties"]["facts"], f["facts"]);
    }

    // Located at the bound deal; the other bound fact and the rule as related locations.
    let (r, f) = results
        .iter()
        .zip(findings)
        .find(|(_, f)| f["rule"] == "vendor_financing" && f["facts"][0] == "nvidia_openai_loi")
        .unwrap();
    let place = |l: &Json| {
        let p = &l["physicalLocation"];
        (
            p["artifactLocation"]["uri"].as_str().unwrap().to_string(),
            p["region"]["startLine"].clone(),
            p["region"]["startColumn"].clone(),
        )
    };
    let loc = |j: &Json| {
        (
            j["file"].as_str().unwrap().to_string(),
            j["line"].clone(),
            j["column"].clone(),
        )
    };
    assert_eq!(
        place(&r["locations"][0]),
        loc(&f["bindings"][0]["location"])
    );
    assert_eq!(
        r["locations"][0]["message"]["text"],
        "inv = nvidia_openai_loi"
    );
    let related = r["relatedLocations"].as_array().unwrap();
    assert_eq!(related.len(), 2);
    assert_eq!(place(&related[0]), loc(&f["bindings"][1]["location"]));
    assert_eq!(related[0]["message"]["text"], "buy = openai_nvidia_systems");
    assert_eq!(place(&related[1]), loc(&f["rule_location"]));
    assert_eq!(related[1]["message"]["text"], "rule vendor_financing");

    // No evaluation error: the run succeeded; data gaps are notes.
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), report["data_gaps"].as_array().unwrap().len());
    assert!(
        notes
            .iter()
            .all(|n| n["level"] == "note" && n["descriptor"]["id"] == "data-gap")
    );
}

#[test]
fn sarif_reports_evaluation_errors_as_notifications() {
    let out = dealrules(&["run", "tests/fixtures/eval/", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2));
    let sarif = json_of(&out);
    assert_valid(SARIF_SCHEMA, &sarif);
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    let error = &notes[0];
    assert_eq!(error["level"], "error");
    assert_eq!(error["descriptor"]["id"], "evaluation-error");
    assert_eq!(error["associatedRule"]["id"], "big_commitment");
    assert_eq!(
        error["message"]["text"],
        "rule big_commitment could not be evaluated: cannot compare `USD` and `CNY`: different \
         currencies and no exchange rate in `c.amount > 10 * c.buyer.revenue_2025` \
         (c = cny_contract)"
    );
    let at = &error["locations"][0]["physicalLocation"];
    assert_eq!(
        at["artifactLocation"]["uri"],
        "tests/fixtures/eval/currency_mismatch.rules"
    );
    assert_eq!(at["region"]["startLine"], 5);
    let gap = &notes[1];
    assert_eq!(gap["level"], "note");
    assert_eq!(
        gap["message"]["text"],
        "rule not_definitive could not be checked: no_status has no `status` in \
         `status != definitive` (deal = no_status)"
    );
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn sarif_is_the_same_whatever_the_file_order() {
    let a = dealrules(&["run", "rules/", "examples/", "--format", "sarif"]);
    let b = dealrules(&["run", "examples/", "rules/", "--format", "sarif"]);
    assert_eq!(stdout(&a), stdout(&b));
}

#[test]
fn json_report_matches_its_schema() {
    let main = json_of(&dealrules(&["run", "--format", "json"]));
    assert_valid(REPORT_SCHEMA, &main);
    let out = dealrules(&["run", "tests/fixtures/eval/", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let eval = json_of(&out);
    assert_eq!(eval["errors"].as_array().unwrap().len(), 1);
    assert_valid(REPORT_SCHEMA, &eval);

    // The schema is strict: an undocumented member or a float amount is refused.
    let mut extra = main.clone();
    extra["findings"][0]["confidence"] = Json::from("high");
    let mut float = eval.clone();
    float["errors"][0]["bindings"][0]["location"]["line"] = Json::from(3.5);
    let schema: Json = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(REPORT_SCHEMA),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(!validator.is_valid(&extra));
    assert!(!validator.is_valid(&float));
}

#[test]
fn markdown_report_of_the_main_job() {
    let out = dealrules(&["run", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn markdown_report_lists_gaps_and_errors() {
    let out = dealrules(&["run", "tests/fixtures/eval/", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn sarif_log_of_the_main_job() {
    let out = dealrules(&["run", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&out));
}

/// A writer that takes at most `step` bytes a call and fails once `fail_at` bytes are taken.
struct Trickle {
    taken: Vec<u8>,
    step: usize,
    fail_at: usize,
}

impl std::io::Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.taken.len() >= self.fail_at {
            return Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "closed",
            ));
        }
        let n = buf.len().min(self.step);
        self.taken.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn reports_written_as_they_are_made_are_the_rendered_bytes_and_stop_at_a_failed_write() {
    // Findings, data gaps and an evaluation error: every part of every format.
    let mut engine = dealrules::Engine::new();
    for dir in ["rules", "examples", "tests/fixtures/eval"] {
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .expect("a directory of the repository")
            .map(|e| e.expect("an entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "rules" || x == "deals"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("readable");
            engine
                .load(path.display().to_string(), text)
                .expect("loads");
        }
    }
    let report = engine.evaluate().expect("checks");
    assert!(!report.findings.is_empty() && !report.data_gaps.is_empty());
    assert!(!report.errors.is_empty());
    let sources = engine.sources();
    let rules = engine.rules();
    type Write<'a> = Box<dyn Fn(&mut dyn std::io::Write) -> std::io::Result<()> + 'a>;
    let formats: [(String, Write<'_>); 4] = [
        (
            dealrules::report::text(&report, sources, dealrules::Colour::Never),
            Box::new(|out| {
                dealrules::report::write_text(out, &report, sources, dealrules::Colour::Never)
            }),
        ),
        (
            dealrules::report::json(&report, sources),
            Box::new(|out| dealrules::report::write_json(out, &report, sources)),
        ),
        (
            dealrules::report::sarif(&report, sources, rules),
            Box::new(|out| dealrules::report::write_sarif(out, &report, sources, rules)),
        ),
        (
            dealrules::report::markdown(&report, sources),
            Box::new(|out| dealrules::report::write_markdown(out, &report, sources)),
        ),
    ];
    for (whole, write) in &formats {
        assert!(whole.ends_with('\n') && !whole.ends_with("\n\n"));
        // Three bytes a call: the same bytes as the text rendered whole.
        let mut out = Trickle {
            taken: Vec::new(),
            step: 3,
            fail_at: usize::MAX,
        };
        write(&mut out).expect("written");
        assert_eq!(String::from_utf8(out.taken).expect("UTF-8"), *whole);
        // A write that fails halfway is the error, with what was taken before it.
        let mut out = Trickle {
            taken: Vec::new(),
            step: 3,
            fail_at: whole.len() / 2,
        };
        let error = write(&mut out).expect_err("the write fails");
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe);
        assert!(whole.as_bytes().starts_with(&out.taken));
        assert!(out.taken.len() >= whole.len() / 2 && out.taken.len() < whole.len());
    }
}
