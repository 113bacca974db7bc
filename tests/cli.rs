//! Tests that run the real `dealrules` binary.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

mod common;
use common::{dealrules, stderr, stdout};

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
            f["rule"] == "commitments_to_one_seller_vs_revenue"
                && f["facts"][0] == "openai_oracle_cloud"
        })
        .expect("OpenAI–Oracle commitment finding");
    assert_eq!(
        oracle["message"],
        "OpenAI's commitments to Oracle total 300B USD, 23.1x its 2025 revenue of 13B USD"
    );
}

/// The rules that need aggregates, negation and quantifiers fire with exact numbers.
#[test]
fn main_job_logic_rules() {
    let out = dealrules(&["run", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    let findings = json["findings"].as_array().expect("findings array");
    let messages = |rule: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["rule"] == rule)
            .map(|f| f["message"].as_str().expect("message").to_string())
            .collect()
    };
    assert_eq!(
        messages("total_commitments_vs_revenue"),
        [
            "OpenAI has up to 572.4B USD of purchase, cloud and lease commitments, 44x its 2025 revenue of 13B USD"
        ]
    );
    assert_eq!(
        messages("customer_concentration"),
        [
            "OpenAI's contract of 300B USD is 65.9% of Oracle's remaining performance obligation of 455B USD"
        ]
    );
    assert_eq!(
        messages("loi_counted_as_commitment"),
        [
            "nvidia_openai_loi (up to 100B USD) is a non-binding letter of intent; no definitive agreement is recorded"
        ]
    );
    assert_eq!(
        messages("milestone_linked_funding"),
        [
            "Nvidia's investment in OpenAI (up to 100B USD) is released in tranches tied to deploying or buying Nvidia's products"
        ]
    );
    assert_eq!(
        messages("purchase_linked_vesting"),
        [
            "AMD's warrants to OpenAI (up to 160M shares at 0.01 USD/share) vest as OpenAI buys AMD's products"
        ]
    );
    assert_eq!(messages("ceiling_counted_as_committed").len(), 5);
    let total = findings
        .iter()
        .find(|f| f["rule"] == "total_commitments_vs_revenue")
        .expect("total commitments finding");
    assert_eq!(total["params"]["ratio_limit"]["value"], "5");
}

#[test]
fn set_overrides_a_parameter_and_the_finding_shows_it() {
    let out = dealrules(&[
        "run",
        "--format",
        "json",
        "--set",
        "total_commitments_vs_revenue.ratio_limit=50",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    let findings = json["findings"].as_array().expect("findings array");
    assert!(
        !findings
            .iter()
            .any(|f| f["rule"] == "total_commitments_vs_revenue")
    );
    let out = dealrules(&["run", "--set", "total_commitments_vs_revenue.ratio=50"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("rule `total_commitments_vs_revenue` has no parameter `ratio`"));
}

#[test]
fn params_file_overrides_and_set_wins() {
    let dir = std::env::temp_dir().join(format!("dealrules-params-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("limits.params");
    std::fs::write(
        &file,
        "// limits reviewed in Q4\ntotal_commitments_vs_revenue.ratio_limit = 50\n",
    )
    .expect("write params");
    let path = file.to_str().expect("utf-8 path");
    let fired = |args: &[&str]| {
        let out = dealrules(args);
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
        json["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "total_commitments_vs_revenue")
    };
    assert!(!fired(&["run", "--format", "json", "--params", path]));
    let set = "total_commitments_vs_revenue.ratio_limit=5";
    assert!(fired(&[
        "run", "--format", "json", "--params", path, "--set", set
    ]));
    std::fs::write(&file, "total_commitments_vs_revenue.ratio_limit 50\n").expect("write params");
    let out = dealrules(&["run", "--params", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("limits.params:1: `total_commitments_vs_revenue.ratio_limit 50`: expected `rule.param=value`"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn why_all_lists_every_condition() {
    let out = dealrules(&[
        "why",
        "vendor_financing",
        "--on",
        "buy=openai_broadcom_accelerators",
        "--all",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(json["conditions"].as_array().expect("conditions").len(), 4);
    assert_eq!(json["first_failure"], 3);
    // Facts given in binding order: the purchase lands on `inv`, which needs an investment.
    let out = dealrules(&[
        "why",
        "vendor_financing",
        "--on",
        "openai_broadcom_accelerators",
        "--on",
        "nvidia_openai_loi",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out)
            .contains("fails   inv.kind == investment                   purchase == investment"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn why_explains_that_openai_broadcom_is_not_vendor_financing() {
    let out = dealrules(&[
        "why",
        "vendor_financing",
        "--on",
        "buy=openai_broadcom_accelerators",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
    let out = dealrules(&[
        "why",
        "vendor_financing",
        "--on",
        "nvidia_openai_loi",
        "--on",
        "openai_nvidia_systems",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(json["fires"], true);
    assert_eq!(json["first_failure"], serde_json::Value::Null);
    let out = dealrules(&["why", "vendor_finance", "--on", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean `vendor_financing`?"));
}

/// The money-flow cycles analysts call circular are found, each once, with their chains; none
/// goes through OpenAI–Broadcom.
#[test]
fn main_job_cycles() {
    let out = dealrules(&["run", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    let findings = json["findings"].as_array().expect("findings array");
    let cycles: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["rule"] == "circular_flow")
        .collect();
    let ids: std::collections::BTreeSet<&str> = cycles
        .iter()
        .map(|f| f["facts"][0].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), cycles.len(), "each cycle once");
    for expected in [
        "Nvidia > OpenAI > Oracle > Nvidia",
        "Nvidia > xai_spv > Nvidia",
        "CoreWeave > Nvidia > CoreWeave",
        "CoreWeave > OpenAI > CoreWeave",
        "CoreWeave > Nvidia > OpenAI > CoreWeave",
    ] {
        assert!(ids.contains(expected), "{expected} missing from {ids:?}");
    }
    assert!(!ids.iter().any(|id| id.contains("Broadcom")));
    let oracle = cycles
        .iter()
        .find(|f| f["facts"][0] == "Nvidia > OpenAI > Oracle > Nvidia")
        .expect("the Oracle cycle");
    let hops: Vec<(&str, &str)> = oracle["chains"][0]["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|h| {
            (
                h["deal"].as_str().expect("deal"),
                h["amount"]["text"].as_str().expect("amount"),
            )
        })
        .collect();
    assert_eq!(
        hops,
        [
            ("nvidia_openai_loi", "up to 100B USD"),
            ("openai_oracle_cloud", "300B USD"),
            ("oracle_nvidia_chips", "40B USD")
        ]
    );
    assert_eq!(oracle["chains"][0]["hops"][0]["deal_location"]["line"], 351);
    assert!(
        oracle["note"]
            .as_str()
            .expect("note")
            .starts_with("money is fungible")
    );
}

/// The Mermaid picture of the Nvidia–OpenAI–Oracle cycle, in the Markdown report and in the graph.
#[test]
fn mermaid_of_the_oracle_cycle() {
    let expected = "```mermaid
flowchart LR
  n0[\"Nvidia\"]
  n1[\"OpenAI\"]
  n2[\"Oracle\"]
  n0 -->|\"nvidia_openai_loi, up to 100B USD\"| n1
  n1 -->|\"openai_oracle_cloud, 300B USD\"| n2
  n2 -->|\"oracle_nvidia_chips, 40B USD\"| n0
```";
    let out = dealrules(&["run", "--format", "markdown"]);
    assert!(stdout(&out).contains(expected), "{}", stdout(&out));
    let out = dealrules(&["graph", "--format", "mermaid"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for hop in [
        "|\"nvidia_openai_loi, up to 100B USD\"|",
        "|\"openai_oracle_cloud, 300B USD\"|",
        "|\"oracle_nvidia_chips, 40B USD\"|",
    ] {
        assert!(text.contains(hop), "{hop} missing");
    }
    assert!(text.contains("linkStyle "));
    let dot = stdout(&dealrules(&["graph"]));
    assert!(dot.starts_with("digraph flows {"));
    assert!(dot.contains("\"Nvidia\" -> \"OpenAI\" [label=\"nvidia_openai_loi, up to 100B USD\", color=red, penwidth=2];"));
    assert!(dot.contains("\"OpenAI\" -> \"Broadcom\" [label=\"openai_broadcom_accelerators\"];"));
    let out = dealrules(&["graph", "--relation", "flows"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean `flow`?"));
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
        "error: `Cargo.toml` is not a `.deals`, `.rules`, `.csv` or `.json` file\n"
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

/// `why` shows the date a condition took of a timestamp, with its zone, under the condition's
/// values, as a finding's explanation does: that date is what decides "why not".
#[test]
fn why_shows_the_date_taken_of_a_timestamp_and_its_zone() {
    let dir = std::env::temp_dir().join(format!("dealrules-why-date-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rules = dir.join("q.rules");
    let deals = dir.join("d.deals");
    std::fs::write(
        &rules,
        "rule q_ny \"Announced in the second quarter in New York\" {\n  severity: low\n  match d: deal\n  when quarter(date(d.at, \"America/New_York\")) == \"2026-Q2\"\n  flag \"{d.id}\"\n}\n",
    )
    .expect("write rules");
    std::fs::write(
        &deals,
        "deal bj_announce { kind: investment  at: 2026-03-31T23:30:00+08:00 }\n",
    )
    .expect("write deals");
    let (rules, deals) = (rules.to_string_lossy(), deals.to_string_lossy());
    let out = dealrules(&[
        "why",
        "q_ny",
        "--on",
        "d=bj_announce",
        "--in",
        &rules,
        "--in",
        &deals,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("2026-Q1 == 2026-Q2\n")
            && text.contains(
                "   date(d.at, \"America/New_York\") is 2026-03-31 in America/New_York \
                 (2026-03-31T23:30:00+08:00)\n"
            ),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
