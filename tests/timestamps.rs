//! Timestamps: midnight in zones east and west of UTC, a daylight-saving change, CSV and JSON
//! cells, the JSON report, the formatter, and results that do not depend on the machine's `TZ`.

mod common;

use common::{dealrules, run, stderr, stdout};
use std::process::Command;

const FIXTURE: &str = "tests/fixtures/timestamps";

/// The binary run with `TZ` set to `tz` (or removed).
#[expect(clippy::expect_used, reason = "a helper of tests: fails loudly")]
fn with_tz(tz: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dealrules"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    match tz {
        Some(tz) => cmd.env("TZ", tz),
        None => cmd.env_remove("TZ"),
    };
    cmd.output().expect("the binary runs")
}

#[test]
fn dates_are_taken_in_the_rules_zone_at_midnight_east_and_west_of_utc() {
    let out = dealrules(&["run", FIXTURE, "--color", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn the_report_is_the_same_bytes_under_any_tz() {
    for format in ["text", "json"] {
        let args = ["run", FIXTURE, "--color", "never", "--format", format];
        let outputs: Vec<Vec<u8>> = [
            None,
            Some("UTC"),
            Some("Asia/Shanghai"),
            Some("America/Los_Angeles"),
            Some("Pacific/Chatham"),
        ]
        .into_iter()
        .map(|tz| with_tz(tz, &args).stdout)
        .collect();
        assert!(!outputs[0].is_empty());
        for o in &outputs {
            assert_eq!(o, &outputs[0], "{format}");
        }
    }
}

#[test]
fn the_json_report_writes_rfc_3339_with_the_offset_as_written_and_the_zone_of_each_date() {
    let out = dealrules(&["run", FIXTURE, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let day_later = &findings[0];
    assert_eq!(day_later["rule"], "a_day_later");
    assert_eq!(
        day_later["trace"][1]["operands"][0]["value"],
        serde_json::json!({
            "type": "timestamp",
            "value": "2026-03-08T12:00:00-04:00",
            "zone": "America/New_York"
        })
    );
    assert_eq!(
        day_later["trace"][1]["operands"][1]["value"],
        serde_json::json!({ "type": "timestamp", "value": "2026-03-08T16:00:00Z" })
    );
    assert!(day_later["trace"][1].get("dates").is_none());
    // The report, timestamps and dates included, follows its schema.
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("docs/report.schema.json").unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let shanghai = findings
        .iter()
        .find(|f| f["rule"] == "quarter_in_shanghai" && f["bindings"][0]["fact"] == "west_before")
        .unwrap();
    assert_eq!(
        shanghai["trace"][1]["dates"],
        serde_json::json!([{
            "expr": "date(at)",
            "timestamp": { "type": "timestamp", "value": "2026-03-31T23:59:59-07:00" },
            "date": "2026-04-01",
            "zone": "Asia/Shanghai"
        }])
    );
    // A saved report is read back (by `diff`) to the same findings, dates included.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("report.json");
    std::fs::write(&saved, &out.stdout).unwrap();
    let diff = dealrules(&["diff", saved.to_str().unwrap(), saved.to_str().unwrap()]);
    assert_eq!(diff.status.code(), Some(0), "{}", stderr(&diff));
}

#[test]
fn timestamps_compare_by_instant_and_move_by_calendar_days() {
    let deals = "deal a { t: 2026-03-01T10:00:00+08:00 }\n\
                 deal b { t: 2026-03-01T02:00Z }\n\
                 deal c { t: 2026-03-01T10:00 [Asia/Shanghai] }\n\
                 deal d { t: 2026-11-01T01:30-04:00 [America/New_York] }\n\
                 deal e { t: 2026-11-01T01:30-05:00 [America/New_York] }";
    let rules = r#"rule same { severity: low  match x: deal  y: deal where x.id < y.id and x.t == y.t  flag "{x.id}={y.id}" }
rule later { severity: info  match x: deal  y: deal where x.t < y.t and x.id == d and y.id == e  flag "{x.t} < {y.t}" }
rule shift { severity: info  when id == a  flag "{t + 90 days} {t - 1 month} {months_between(t, t + 13 months)} {t + 1 year}" }"#;
    let report = run(deals, rules);
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "b=c",
            "a=c",
            "a=b",
            "2026-11-01T01:30:00-04:00 [America/New_York] < 2026-11-01T01:30:00-05:00 [America/New_York]",
            "2026-05-30T10:00:00+08:00 2026-02-01T10:00:00+08:00 13 months 2027-03-01T10:00:00+08:00",
        ]
    );
}

#[test]
fn a_date_compared_with_a_timestamp_is_an_error_that_says_to_take_its_date() {
    let report = run(
        "deal a { t: 2026-03-01T10:00:00+08:00  d: 2026-03-01 }",
        r#"rule r { severity: low  when t > d  flag "x" }
rule q { severity: low  fiscal_year_end: "12-31"  when fiscal_year(t) > 2025  flag "x" }"#,
    );
    let errors: Vec<String> = report.errors.iter().map(|e| e.message.clone()).collect();
    assert_eq!(
        errors,
        [
            "cannot take the fiscal year of a timestamp: take its date in a zone first, with `date(t)` or `date(t, \"Asia/Shanghai\")`",
            "cannot compare a date and a timestamp: take the timestamp's date in a zone with `date(t)` or `date(t, \"Asia/Shanghai\")`",
        ]
    );
}

#[test]
fn fiscal_years_and_quarters_follow_the_declared_year_end() {
    let deals = "deal a { d: 2026-06-30 }\ndeal b { d: 2026-07-01 }\ndeal c { d: 2026-12-31 }\ndeal e { d: 2027-01-01 }";
    let rules = r#"rule r { severity: low  fiscal_year_end: "06-30"  flag "{d} {quarter(d)} {fiscal_year(d)} {fiscal_quarter(d)} {fiscal_quarter(d, \"12-31\")} {fiscal_year(d, \"09-30\")}" }"#;
    let report = run(deals, rules);
    let mut messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    messages.sort_unstable();
    assert_eq!(
        messages,
        [
            "2026-06-30 2026-Q2 2026 FY2026-Q4 FY2026-Q2 2026",
            "2026-07-01 2026-Q3 2027 FY2027-Q1 FY2026-Q3 2026",
            "2026-12-31 2026-Q4 2027 FY2027-Q2 FY2026-Q4 2027",
            "2027-01-01 2027-Q1 2027 FY2027-Q3 FY2027-Q1 2027",
        ]
    );
}

#[test]
fn csv_and_json_cells_read_timestamps_as_deal_files_do() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("deals.csv");
    let json = dir.path().join("deals.json");
    std::fs::write(
        &csv,
        "id,signed_at\na,2026-03-01T10:00:00+08:00\nb,2026-03-01T10:00 [Asia/Shanghai]\n",
    )
    .unwrap();
    std::fs::write(
        &json,
        r#"{ "deals": [
            { "id": "a", "fields": { "signed_at": "2026-03-01T10:00:00+08:00" } },
            { "id": "b", "fields": { "signed_at": "2026-03-01T10:00 [Asia/Shanghai]" } } ] }"#,
    )
    .unwrap();
    for table in [&csv, &json] {
        let out = dealrules(&["convert", table.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("signed_at: 2026-03-01T10:00:00+08:00\n")
                && text.contains("signed_at: 2026-03-01T10:00:00+08:00 [Asia/Shanghai]\n"),
            "{text}"
        );
    }
    std::fs::write(&csv, "id,signed_at\na,2026-03-01T10:00\n").unwrap();
    let out = dealrules(&["convert", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("a date and time without an offset or a time zone"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_formatter_keeps_timestamps_as_written() {
    let text = "deal x {   t: 2026-03-01T10:00 [Asia/Shanghai]  u: [2026-03-01T02:00Z,2026-03-01T10:00:00.5+08:00] }\nrule r { severity: low  timezone: America/New_York  when date(t) == 2026-02-28  flag \"x\" }\n";
    let formatted = dealrules::format::format(text).unwrap();
    assert_eq!(
        formatted,
        "deal x {\n  t: 2026-03-01T10:00 [Asia/Shanghai]\n  u: [2026-03-01T02:00Z, 2026-03-01T10:00:00.5+08:00]\n}\nrule r {\n  severity: low\n  timezone: America/New_York\n\n  when  date(t) == 2026-02-28\n  flag  \"x\"\n}\n"
    );
}

#[test]
fn a_cell_that_looks_like_a_date_and_time_gets_the_timestamp_hint_never_the_text_one() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("deals.csv");
    let json = dir.path().join("deals.json");
    std::fs::write(
        &csv,
        "id,at\na,2026-03-31T23:30:00z\nb,2026-03-31 23:30:00+08:00\nc,2026-03-31T23:30:00+0800\nd,2026-03-31T23:30 [ Asia/Shanghai ]\n",
    )
    .unwrap();
    std::fs::write(
        &json,
        r#"{ "deals": [ { "id": "a", "fields": { "at": "2026-03-31T23:30:00z" } } ] }"#,
    )
    .unwrap();
    let out = dealrules(&["convert", csv.to_str().unwrap(), "--color", "never"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for expected in [
        "row 2, column `at`: `z` is in lower case",
        "help: write `T` and `Z` in upper case: `2026-03-01T10:00:00Z`",
        "row 3, column `at`: the date and the time are not joined by `T`",
        "help: write `T` between the date and the time: `2026-03-01T10:00:00Z`",
        "row 4, column `at`: `+0800` is not an offset",
        "help: an offset is written `+HH:MM` or `-HH:MM`",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
    assert!(
        !err.contains("row 5") && !err.contains("double quotes"),
        "{err}"
    );
    let out = dealrules(&["convert", json.to_str().unwrap(), "--color", "never"]);
    let err = stderr(&out);
    assert!(
        err.contains("deal `a`, field `at`: `z` is in lower case")
            && err.contains("write `T` and `Z` in upper case")
            && !err.contains("double quotes"),
        "{err}"
    );
}

#[test]
fn months_between_timestamps_agrees_with_months_between_their_dates() {
    let report = run(
        "deal a { t: 2026-03-31T23:30:00+08:00  u: 2026-05-01T08:00:00+08:00  d: 2026-03-31  e: 2026-05-01 }",
        r#"rule r { severity: info  flag "{months_between(t, u)} {months_between(d, e)}" }"#,
    );
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["1 month 1 month"]);
}

#[test]
fn a_zone_named_in_the_call_or_a_setting_is_shown_by_its_canonical_name() {
    let dir = tempfile::tempdir().unwrap();
    let deals = dir.path().join("z.deals");
    let rules = dir.path().join("z.rules");
    std::fs::write(&deals, "deal d { at: 2026-03-01T10:00:00+08:00 }\n").unwrap();
    std::fs::write(
        &rules,
        r#"defaults { timezone: asia/shanghai }
rule a { severity: low  when date(at, "asia/shanghai") == 2026-03-01  flag "a" }
rule b { severity: low  timezone: america/new_york  when date(at) == 2026-02-28  flag "b" }
rule c { severity: low  when date(at) == 2026-03-01  flag "c" }
"#,
    )
    .unwrap();
    let (deals, rules) = (deals.to_str().unwrap(), rules.to_str().unwrap());
    let out = dealrules(&["run", deals, rules, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let zones: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["trace"][0]["dates"][0]["zone"].as_str().unwrap())
        .collect();
    assert_eq!(
        zones,
        ["Asia/Shanghai", "America/New_York", "Asia/Shanghai"]
    );
    let text = stdout(&dealrules(&["run", deals, rules, "--color", "never"]));
    assert!(!text.contains("in asia/shanghai"), "{text}");
}

#[test]
fn abs_fractions_and_differences_of_timestamps_say_what_is_wrong() {
    let report = run(
        "deal a { t: 2026-03-01T10:00:00+08:00  u: 2026-03-02T10:00Z }",
        r#"rule abs { severity: low  when abs(t) > 1  flag "x" }
rule frac { severity: low  when t + 1.5 days > u  flag "x" }
rule diff { severity: low  when t - u > 1  flag "x" }"#,
    );
    let mut errors: Vec<String> = report.errors.iter().map(|e| e.message.clone()).collect();
    errors.sort();
    assert_eq!(
        errors,
        [
            "`abs` needs a number or an amount, not a timestamp",
            "a timestamp moves by whole days only",
            "cannot subtract two timestamps: use `months_between(a, b)`, or `date(a) - date(b)` for the days between their dates",
        ]
    );
    // Known when rules are checked (literals): the same words, with the help.
    let mut engine = dealrules::Engine::new();
    engine
        .load(
            "t.rules",
            r#"rule a { severity: low  when abs(2026-03-01T10:00Z) > 1  flag "x" }
rule d { severity: low  when 2026-03-01T10:00Z - 2026-03-02T10:00Z > 1  flag "x" }"#,
        )
        .unwrap();
    let diags = engine.check();
    let shown: Vec<(String, Option<String>)> = diags
        .iter()
        .map(|d| (d.message.clone(), d.help.clone()))
        .collect();
    assert_eq!(
        shown,
        [
            ("`abs` needs a number or an amount, not a timestamp".to_string(), None),
            (
                "cannot subtract a timestamp and a timestamp".to_string(),
                Some("the engine has no durations in hours: use `months_between(a, b)`, or `date(a) - date(b)` for the days between their dates".to_string())
            ),
        ]
    );
}
