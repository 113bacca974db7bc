//! Tests that run the real `dealrules` binary.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

use std::process::{Command, Output};

fn dealrules(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dealrules"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

#[test]
fn main_job_text_report() {
    let out = dealrules(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn main_job_json_report() {
    let out = dealrules(&["run", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    insta::assert_json_snapshot!(json);
}

/// The pairs analysts call circular are flagged; OpenAI–Broadcom, a plain supply deal, is not.
#[test]
fn main_job_flags_the_circular_deals_and_not_broadcom() {
    let out = dealrules(&["run", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    let findings = json["findings"].as_array().expect("findings array");
    let facts_of = |rule: &str| -> Vec<Vec<String>> {
        findings
            .iter()
            .filter(|f| f["rule"] == rule)
            .map(|f| {
                f["facts"]
                    .as_array()
                    .expect("facts array")
                    .iter()
                    .map(|x| x.as_str().expect("fact id").to_string())
                    .collect()
            })
            .collect()
    };
    let vendor = facts_of("vendor_financing");
    assert!(vendor.contains(&vec![
        "nvidia_openai_loi".to_string(),
        "openai_nvidia_systems".to_string()
    ]));
    assert!(vendor.contains(&vec![
        "nvidia_coreweave_equity_2023".to_string(),
        "coreweave_nvidia_gpus".to_string()
    ]));
    assert_eq!(
        facts_of("warrants_to_customer"),
        vec![vec![
            "amd_openai_warrant".to_string(),
            "openai_amd_gpus".to_string()
        ]]
    );
    assert_eq!(
        facts_of("supplier_funded_spv"),
        vec![vec![
            "nvidia_xai_spv_equity".to_string(),
            "xai_spv_nvidia_gpus".to_string(),
            "xai_spv_lease".to_string()
        ]]
    );
    for f in findings {
        let facts = f["facts"].as_array().expect("facts array");
        assert!(
            !facts.iter().any(|x| x == "openai_broadcom_accelerators"),
            "Broadcom flagged by {}",
            f["rule"]
        );
    }
    let oracle = findings
        .iter()
        .find(|f| {
            f["rule"] == "commitment_exceeds_revenue" && f["facts"][0] == "openai_oracle_cloud"
        })
        .expect("OpenAI–Oracle commitment finding");
    assert_eq!(
        oracle["message"],
        "OpenAI commits 300B USD to Oracle, 23.1x its 2025 revenue of 13B USD"
    );
}

#[test]
fn fail_on_sets_the_exit_code() {
    assert_eq!(
        dealrules(&["run", "--fail-on", "high"]).status.code(),
        Some(1)
    );
    assert_eq!(
        dealrules(&["run", "--fail-on", "medium"]).status.code(),
        Some(1)
    );
    assert_eq!(
        dealrules(&["run", "--fail-on", "critical"]).status.code(),
        Some(0)
    );
}

#[test]
fn broken_deal_file_exits_2_with_located_errors() {
    let out = dealrules(&[
        "run",
        "rules",
        "tests/fixtures/err/unknown_currency.deals",
        "tests/fixtures/err/missing_brace.deals",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    insta::assert_snapshot!(stderr(&out));
}

#[test]
fn missing_path_exits_2() {
    let out = dealrules(&["run", "no/such/place"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: `no/such/place` does not exist\n");
}

#[test]
fn wrong_extension_exits_2() {
    let out = dealrules(&["run", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: `Cargo.toml` is not a `.deals` or `.rules` file\n"
    );
}

#[test]
fn evaluation_error_is_reported_and_exits_2() {
    let out = dealrules(&[
        "run",
        "tests/fixtures/eval/currency_mismatch.rules",
        "tests/fixtures/eval/currency_mismatch.deals",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn same_output_whatever_the_file_order() {
    let a = dealrules(&["run", "rules", "examples", "--format", "json"]);
    let b = dealrules(&[
        "run",
        "examples",
        "rules/vendor_financing.rules",
        "rules",
        "--format",
        "json",
    ]);
    assert_eq!(stdout(&a), stdout(&b));
}
