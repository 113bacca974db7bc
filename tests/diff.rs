//! Fingerprints as a contract, and `dealrules diff`: the fixture rule pack in
//! `tests/fixtures/diff/` (old and new versions over one deal file) in every output format,
//! saved reports read back, `--base` in a git repository made by the test, and the errors.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

mod common;
use common::{dealrules, stderr, stdout};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output};

const DEALS: &str = "tests/fixtures/diff/deals.deals";
const OLD: &str = "tests/fixtures/diff/old";
const NEW: &str = "tests/fixtures/diff/new";

// ---------------------------------------------------------------------------------------------
// Fingerprints

/// The fingerprint as `docs/output.md` defines it, computed here independently of the crate.
fn documented_fingerprint(rule: &str, facts: &[&str]) -> String {
    let mut bytes = b"dealrules-finding-v1\0".to_vec();
    bytes.extend_from_slice(rule.as_bytes());
    bytes.push(0);
    for f in facts {
        bytes.extend_from_slice(f.as_bytes());
        bytes.push(0);
    }
    let digest = Sha256::digest(&bytes);
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Loads the texts in the order given (names decide deal or rule file) and returns each
/// finding's rule, bound facts and fingerprint.
fn fingerprints(files: &[(&str, &str)]) -> Vec<(String, Vec<String>, String)> {
    let mut engine = dealrules::Engine::new();
    for (name, text) in files {
        engine.load(*name, *text).expect("loads");
    }
    let report = engine.evaluate().expect("checks");
    let mut out: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.to_string(),
                f.facts().map(str::to_string).collect(),
                f.fingerprint.clone(),
            )
        })
        .collect();
    out.sort();
    out
}

const FP_DEALS: &str = "\
entity Acme { type: company }
entity Beta { type: company }
deal inv { kind: investment  investor: Acme  investee: Beta }
deal buy { kind: purchase  buyer: Beta  seller: Acme }
";

const FP_RULES: &str = "\
rule vendor_financing \"Supplier finances a customer\" {
  severity: high
  match inv: deal where inv.kind == investment
        buy: deal where buy.kind == purchase
  when  buy.buyer == inv.investee and buy.seller == inv.investor
  flag  \"{inv.investor} invests in {inv.investee}\"
}
";

#[test]
fn fingerprint_is_the_documented_hash_of_rule_and_fact_ids() {
    let found = fingerprints(&[("a.deals", FP_DEALS), ("a.rules", FP_RULES)]);
    let expected = documented_fingerprint("vendor_financing", &["inv", "buy"]);
    assert_eq!(
        found,
        [(
            "vendor_financing".to_string(),
            vec!["inv".to_string(), "buy".to_string()],
            expected.clone()
        )]
    );
    // The worked example of docs/output.md.
    assert_eq!(
        documented_fingerprint(
            "vendor_financing",
            &["nvidia_openai_loi", "openai_nvidia_systems"]
        ),
        "2320f56225e6f4ba828712e167ca7e8e"
    );
}

#[test]
fn fingerprint_ignores_message_wording_title_severity_and_layout() {
    let base = fingerprints(&[("a.deals", FP_DEALS), ("a.rules", FP_RULES)]);
    let reworded = FP_RULES
        .replace(
            "{inv.investor} invests in {inv.investee}",
            "{inv.investee} is funded by its supplier {inv.investor}",
        )
        .replace("Supplier finances a customer", "Vendor financing")
        .replace("severity: high", "severity: critical");
    assert_eq!(
        fingerprints(&[("a.deals", FP_DEALS), ("a.rules", &reworded)]),
        base
    );
    let relaid = format!(
        "// a comment before the rule\n\n{}",
        FP_RULES
            .replace(
                "  when  ",
                "\n  // the supplier, then the customer\n  when\n      "
            )
            .replace(" and ", "\n      and ")
    );
    assert_eq!(
        fingerprints(&[("a.deals", FP_DEALS), ("a.rules", &relaid)]),
        base
    );
    let deals_relaid = FP_DEALS.replace("  ", "\n    ").replace("{ ", "{\n    ");
    assert_eq!(
        fingerprints(&[("a.deals", &deals_relaid), ("a.rules", FP_RULES)]),
        base
    );
}

#[test]
fn fingerprint_does_not_depend_on_file_order() {
    let (entities, deals) = FP_DEALS.split_at(FP_DEALS.find("deal inv").unwrap());
    let forward = fingerprints(&[
        ("e.deals", entities),
        ("d.deals", deals),
        ("a.rules", FP_RULES),
    ]);
    let backward = fingerprints(&[
        ("a.rules", FP_RULES),
        ("d.deals", deals),
        ("e.deals", entities),
    ]);
    assert_eq!(forward, backward);
    // And on the binary: the same report bytes whatever the order of the paths.
    let a = dealrules(&["run", DEALS, NEW, "--format", "json"]);
    let b = dealrules(&["run", NEW, DEALS, "--format", "json"]);
    assert_eq!(stdout(&a), stdout(&b));
}

#[test]
fn fingerprint_changes_when_the_bound_facts_change() {
    let base = fingerprints(&[("a.deals", FP_DEALS), ("a.rules", FP_RULES)]);
    let renamed = FP_DEALS.replace("deal buy ", "deal buy_2 ");
    let moved = fingerprints(&[("a.deals", &renamed), ("a.rules", FP_RULES)]);
    assert_eq!(
        moved,
        [(
            "vendor_financing".to_string(),
            vec!["inv".to_string(), "buy_2".to_string()],
            documented_fingerprint("vendor_financing", &["inv", "buy_2"])
        )]
    );
    assert_ne!(moved[0].2, base[0].2);
    // Another rule id on the same facts is another finding.
    let other = FP_RULES.replace("rule vendor_financing", "rule supplier_credit");
    let other = fingerprints(&[("a.deals", FP_DEALS), ("a.rules", &other)]);
    assert_ne!(other[0].2, base[0].2);
    // So is the same pair of facts bound the other way round.
    assert_ne!(
        documented_fingerprint("vendor_financing", &["buy", "inv"]),
        base[0].2
    );
}

// ---------------------------------------------------------------------------------------------
// diff of the fixture rule pack

/// A temporary folder holding the JSON report of the old rule pack.
fn old_report() -> (tempfile::TempDir, String) {
    let out = dealrules(&["run", DEALS, OLD, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baseline.json");
    std::fs::write(&path, &out.stdout).unwrap();
    (dir, path.to_str().unwrap().to_string())
}

fn diff_against_old(format: &str) -> Output {
    let (_dir, baseline) = old_report();
    dealrules(&[
        "diff",
        "--baseline",
        &baseline,
        DEALS,
        NEW,
        "--format",
        format,
    ])
}

#[test]
fn diff_of_the_fixture_pack_as_text() {
    let out = diff_against_old("text");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn diff_of_the_fixture_pack_as_markdown() {
    let out = diff_against_old("markdown");
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(stdout(&out));
}

fn assert_valid_diff(instance: &Json) {
    struct Docs;
    impl jsonschema::Retrieve for Docs {
        fn retrieve(
            &self,
            uri: &jsonschema::Uri<String>,
        ) -> Result<Json, Box<dyn std::error::Error + Send + Sync>> {
            let name = uri.as_str().rsplit('/').next().unwrap_or("");
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("docs")
                .join(name);
            Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/diff.schema.json");
    let schema: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .with_retriever(Docs)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the diff schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(20)
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let mut extra = instance.clone();
    extra["changed"][0]["changes"][0]["part"] = Json::from("colour");
    assert!(!validator.is_valid(&extra));
}

#[test]
fn diff_of_the_fixture_pack_as_json() {
    let out = diff_against_old("json");
    assert_eq!(out.status.code(), Some(1));
    let json: Json = serde_json::from_str(&stdout(&out)).unwrap();
    assert_valid_diff(&json);
    assert_eq!(json["summary"]["appeared"], 1);
    assert_eq!(json["summary"]["disappeared"], 1);
    assert_eq!(json["summary"]["changed"], 2);
    assert_eq!(json["summary"]["unchanged"], 1);
    assert_eq!(json["appeared"][0]["rule"], "up_to_amount");
    assert_eq!(json["disappeared"][0]["rule"], "letter_of_intent");
    assert_eq!(
        json["changed"][1]["changes"],
        serde_json::json!([{ "part": "severity", "subject": null, "old": "medium", "new": "high" }])
    );
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn two_saved_reports_give_the_same_diff_as_a_baseline_and_a_run() {
    let (dir, baseline) = old_report();
    let new = dealrules(&["run", DEALS, NEW, "--format", "json"]);
    let new_path = dir.path().join("new.json");
    std::fs::write(&new_path, &new.stdout).unwrap();
    for format in ["text", "json", "markdown"] {
        let two = dealrules(&[
            "diff",
            &baseline,
            new_path.to_str().unwrap(),
            "--format",
            format,
        ]);
        let run = dealrules(&[
            "diff",
            "--baseline",
            &baseline,
            DEALS,
            NEW,
            "--format",
            format,
        ]);
        assert_eq!(two.status.code(), Some(1));
        assert_eq!(stdout(&two), stdout(&run));
    }
    // The other way round, what appeared has disappeared.
    let back = dealrules(&["diff", new_path.to_str().unwrap(), &baseline]);
    assert_eq!(back.status.code(), Some(1));
    let text = stdout(&back);
    assert!(text.contains("- LOW up_to_amount"));
    assert!(text.contains("+ LOW letter_of_intent"));
    assert!(text.contains("    severity   high → medium\n"));
    assert!(text.ends_with(
        "1 appeared, 1 disappeared, 2 changed, 1 unchanged (old: 4 findings, new: 4 findings)\n"
    ));
}

#[test]
fn nothing_changed_exits_0() {
    let (_dir, baseline) = old_report();
    let out = dealrules(&["diff", "--baseline", &baseline, DEALS, OLD]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "0 appeared, 0 disappeared, 0 changed, 4 unchanged (old: 4 findings, new: 4 findings)\n"
    );
    let out = dealrules(&["diff", &baseline, &baseline, "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "# dealrules diff\n\n\
         0 appeared, 0 disappeared, 0 changed, 4 unchanged (old: 4 findings, new: 4 findings)\n\n\
         | severity | appeared | disappeared | changed |\n|---|---:|---:|---:|\n\
         | critical | 0 | 0 | 0 |\n| high | 0 | 0 | 0 |\n| medium | 0 | 0 | 0 |\n\
         | low | 0 | 0 | 0 |\n| info | 0 | 0 | 0 |\n\
         | **total** | **0** | **0** | **0** |\n"
    );
}

#[test]
fn a_saved_report_reads_back_whole() {
    // Every finding of the main job, with traces, aggregates, exchange rates and chains, read
    // back and written again is the same JSON.
    let main = dealrules(&["run", "--format", "json"]);
    let report: Json = serde_json::from_str(&stdout(&main)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("main.json");
    std::fs::write(&full, &main.stdout).unwrap();
    let mut empty = report.clone();
    empty["findings"] = Json::Array(Vec::new());
    let empty_path = dir.path().join("empty.json");
    std::fs::write(&empty_path, empty.to_string()).unwrap();
    let out = dealrules(&[
        "diff",
        empty_path.to_str().unwrap(),
        full.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let diff: Json = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(diff["appeared"], report["findings"]);
    assert_eq!(diff["summary"]["appeared"], 38);
    assert_valid_diff_without_changes(&diff);
}

fn assert_valid_diff_without_changes(diff: &Json) {
    assert_eq!(diff["changed"], Json::Array(Vec::new()));
    assert_eq!(diff["disappeared"], Json::Array(Vec::new()));
}

// ---------------------------------------------------------------------------------------------
// Errors

fn diff_of_texts(old: &str, new: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.json"), old).unwrap();
    std::fs::write(dir.path().join("new.json"), new).unwrap();
    Command::new(env!("CARGO_BIN_EXE_dealrules"))
        .args(["diff", "old.json", "new.json"])
        .current_dir(dir.path())
        .output()
        .unwrap()
}

#[test]
fn files_that_are_not_reports_are_refused_with_their_place() {
    let (_dir, baseline) = old_report();
    let good = std::fs::read_to_string(&baseline).unwrap();
    let out = diff_of_texts("{\n  \"version\": 1,\n  \"findings\": [\n", "[1, 2]");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: `old.json` is not JSON: EOF while parsing a list at line 4 column 0\n\
         error: `new.json` is not a dealrules JSON report: it is not a JSON object (make one \
         with `dealrules run --format json`)\n"
    );
    let out = diff_of_texts(
        "{ \"findings\": [] }",
        &good.replace("\"version\": 1", "\"version\": 2"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: `old.json` is not a dealrules JSON report: it has no `version` member (make one \
         with `dealrules run --format json`)\n\
         error: `new.json` is a dealrules JSON report of version 2; this dealrules reads version 1 \
         (run both versions with the same dealrules)\n"
    );
    let no_fingerprint = good.replacen("      \"fingerprint\": ", "      \"print\": ", 1);
    // serde notices the missing member where the first finding's object closes.
    let findings = no_fingerprint
        .lines()
        .position(|l| l == "  \"findings\": [")
        .unwrap();
    let line = findings
        + no_fingerprint
            .lines()
            .skip(findings)
            .position(|l| l == "    },")
            .unwrap()
        + 1;
    assert_eq!(line, 119);
    let bad_severity = good.replacen("\"severity\": \"high\"", "\"severity\": \"urgent\"", 1);
    let out = diff_of_texts(&no_fingerprint, &bad_severity);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!(
            "error: `old.json` is not a valid dealrules JSON report: missing field `fingerprint` \
             at line {line} column 5\n\
             error: `new.json` at `/findings/0/severity`: `urgent` is not a severity (critical, \
             high, medium, low or info)\n"
        )
    );
    let first = serde_json::from_str::<Json>(&good).unwrap()["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let forged = good.replacen(&first, &"0".repeat(32), 1);
    let out = diff_of_texts(&good, &forged);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: `new.json` at `/findings/0/fingerprint`: `00000000000000000000000000000000` is \
         not the fingerprint of rule `big_commitment` on facts beta_acme_purchase\n"
    );
}

#[test]
fn diff_needs_two_reports_or_a_base() {
    let out = dealrules(&["diff", "a.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: give two JSON reports (`dealrules diff OLD.json NEW.json`), or `--baseline FILE` \
         or `--base REV` with the paths to run; 1 path given\n"
    );
    let out = dealrules(&["diff", "missing.json", "tests/fixtures/diff/deals.deals"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("error: cannot read `missing.json`: "),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains(
        "error: `tests/fixtures/diff/deals.deals` is not JSON: expected value at line 1 column 1\n"
    ));
}

// ---------------------------------------------------------------------------------------------
// --base in a git repository

/// Runs `program` with `args` in `dir`, with a fixed identity and no user or system git
/// configuration, so that it works the same on a fresh machine.
fn command_in(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "dealrules tests")
        .env("GIT_AUTHOR_EMAIL", "tests@example.com")
        .env("GIT_COMMITTER_NAME", "dealrules tests")
        .env("GIT_COMMITTER_EMAIL", "tests@example.com")
        .env("GIT_AUTHOR_DATE", "2025-11-01T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2025-11-01T12:00:00Z")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env(
            "GIT_CEILING_DIRECTORIES",
            dir.parent().unwrap_or(dir).as_os_str(),
        )
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"))
}

fn git(dir: &Path, args: &[&str]) {
    let mut all = vec![
        "-c",
        "user.name=dealrules tests",
        "-c",
        "user.email=tests@example.com",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "init.defaultBranch=main",
    ];
    all.extend_from_slice(args);
    let out = command_in(dir, "git", &all);
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

fn copy_pack(from: &str, repo: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(repo.join("rules")).unwrap();
    std::fs::copy(
        root.join(from).join("pack.rules"),
        repo.join("rules/pack.rules"),
    )
    .unwrap();
}

fn diff_in(dir: &Path, args: &[&str]) -> Output {
    command_in(dir, env!("CARGO_BIN_EXE_dealrules"), args)
}

#[test]
fn base_compares_with_the_rules_at_a_git_revision() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("examples")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join(DEALS), repo.join("examples/deals.deals")).unwrap();
    copy_pack(OLD, &repo);
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "old rules"]);

    // The working tree changes the rules: HEAD has the old ones.
    copy_pack(NEW, &repo);
    let modified = diff_in(&repo, &["diff", "--base", "HEAD"]);
    assert_eq!(modified.status.code(), Some(1), "{}", stderr(&modified));
    assert_eq!(stderr(&modified), "");
    insta::assert_snapshot!(stdout(&modified));

    // Committed: nothing changed since HEAD, and HEAD~1 gives the same diff as before, with the
    // old rules named after that revision.
    git(&repo, &["commit", "-q", "-a", "-m", "new rules"]);
    let same = diff_in(&repo, &["diff", "--base", "HEAD", "rules", "examples"]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert_eq!(
        stdout(&same),
        "0 appeared, 0 disappeared, 0 changed, 4 unchanged (old: 4 findings, new: 4 findings)\n"
    );
    let previous = diff_in(&repo, &["diff", "--base", "HEAD~1"]);
    assert_eq!(previous.status.code(), Some(1));
    assert_eq!(
        stdout(&previous),
        stdout(&modified).replace("HEAD:rules/", "HEAD~1:rules/")
    );

    // A revision git does not know.
    let unknown = diff_in(&repo, &["diff", "--base", "HEAD~5"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(stdout(&unknown), "");
    assert_eq!(
        stderr(&unknown),
        "error: unknown revision `HEAD~5`: git knows no commit by that name\n"
    );
}

#[test]
fn base_outside_a_git_checkout_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(plain.join("examples")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join(DEALS), plain.join("examples/deals.deals")).unwrap();
    copy_pack(NEW, &plain);
    let out = diff_in(&plain, &["diff", "--base", "main"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out), "");
    insta::assert_snapshot!(stderr(&out));
}

// ---------------------------------------------------------------------------------------------
// Which part changed

/// The JSON report of `rules` over `deals`, read back.
fn saved(deals: &str, rules: &str) -> dealrules::diff::SavedReport {
    let mut engine = dealrules::Engine::new();
    engine.load("t.deals", deals).expect("deals load");
    engine.load("t.rules", rules).expect("rules load");
    let report = engine.evaluate().expect("rules check");
    let json = dealrules::report::json(&report, engine.sources());
    dealrules::diff::read_report("t.json", &json).expect("reads back")
}

#[test]
fn each_changed_part_is_named_with_old_and_new() {
    use dealrules::diff::{ChangeKind, Diff, Part, PartChange};
    let deals = "\
entity Beta { type: company  revenue_2025: 200M USD }
deal big { kind: purchase  buyer: Beta  amount: 3B USD }
";
    let old = "\
rule big_commitment \"Commitment far above revenue\" {
  severity: high
  param ratio_limit = 10
  match c: deal where c.kind == purchase
  when  c.amount > ratio_limit * c.buyer.revenue_2025
  flag  \"{c.buyer} commits {c.amount}\"
}
";
    let new = old
        .replace("ratio_limit = 10", "ratio_limit = 5")
        .replace("c: deal", "contract: deal")
        .replace("c.", "contract.")
        .replace("{c.", "{contract.")
        .replace("Commitment far above revenue", "Commitment above revenue");
    let diff = Diff::new(saved(deals, old), saved(deals, &new));
    assert_eq!(diff.entries.len(), 1);
    let e = &diff.entries[0];
    assert_eq!(e.kind, ChangeKind::Changed);
    let change = |part, old: &str, new: &str| PartChange {
        part,
        old: old.to_string(),
        new: new.to_string(),
    };
    assert_eq!(
        e.changes,
        [
            change(
                Part::Title,
                "Commitment far above revenue",
                "Commitment above revenue"
            ),
            change(Part::Bindings, "c = big", "contract = big"),
            change(
                Part::Conditions,
                "c.kind == purchase; c.amount > ratio_limit * c.buyer.revenue_2025",
                "contract.kind == purchase; contract.amount > ratio_limit * contract.buyer.revenue_2025"
            ),
            change(Part::Param("ratio_limit".to_string()), "10", "5"),
        ]
    );
    // Same binding names: the value of an expression read on both sides is compared.
    let renamed_back = new.replace("contract", "c");
    let diff = Diff::new(saved(deals, old), saved(deals, &renamed_back));
    assert_eq!(
        diff.entries[0].changes,
        [
            change(
                Part::Title,
                "Commitment far above revenue",
                "Commitment above revenue"
            ),
            change(
                Part::Value("ratio_limit * c.buyer.revenue_2025".to_string()),
                "2B USD",
                "1B USD"
            ),
            change(Part::Param("ratio_limit".to_string()), "10", "5"),
        ]
    );
    assert_eq!(diff.unchanged, 0);
    assert_eq!(
        dealrules::report::diff_summary(&diff),
        "0 appeared, 0 disappeared, 1 changed, 0 unchanged (old: 1 finding, new: 1 finding)"
    );
}

#[test]
fn a_report_with_evaluation_errors_makes_the_diff_invalid() {
    let run = dealrules(&["run", "tests/fixtures/eval/", "--format", "json"]);
    assert_eq!(run.status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eval.json");
    std::fs::write(&path, &run.stdout).unwrap();
    let path = path.to_str().unwrap();
    let out = dealrules(&["diff", path, path]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stdout(&out),
        "0 appeared, 0 disappeared, 0 changed, 0 unchanged (old: 0 findings, new: 0 findings); \
         evaluation errors: 1 → 1\n"
    );
    assert_eq!(
        stderr(&out),
        "error: the old report records 1 evaluation error, so its findings are incomplete; \
         `dealrules run` shows them\n\
         error: the new report records 1 evaluation error, so its findings are incomplete; \
         `dealrules run` shows them\n"
    );
}
