//! The benchmarks' synthetic generator (`benches/support/generate.rs`): the same seed gives the
//! same file, the file loads as deals and as CSV, and the shipped rule pack finds exactly what
//! was planted — no more, since background flows never close a loop.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

#[allow(
    dead_code,
    reason = "not every helper of the shared generator is used here"
)]
#[path = "../benches/support/generate.rs"]
mod generate;

use dealrules::{Engine, Report};
use std::collections::BTreeSet;

/// An engine with the shipped schema (so generated deals are validated against it) and the
/// named rule files.
fn rules(names: &[&str]) -> Engine {
    let mut engine = Engine::new();
    for name in ["schema.rules"].iter().chain(names) {
        let path = format!("{}/rules/{name}", env!("CARGO_MANIFEST_DIR"));
        engine
            .load(path.clone(), std::fs::read_to_string(&path).unwrap())
            .unwrap();
    }
    engine
}

/// The rule files of the shipped pack (besides the schema).
const PACK: [&str; 7] = [
    "commitment_quality.rules",
    "commitments.rules",
    "equity_to_customer.rules",
    "flows.rules",
    "round_trip.rules",
    "spv.rules",
    "vendor_financing.rules",
];

fn fired(report: &Report, rule: &str) -> BTreeSet<Vec<String>> {
    report
        .findings
        .iter()
        .filter(|f| &*f.rule == rule)
        .map(|f| f.facts().map(str::to_string).collect())
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_file_and_another_seed_another() {
    let a = generate::generate(&generate::Config::new(2_000, 7)).to_deals();
    let b = generate::generate(&generate::Config::new(2_000, 7)).to_deals();
    let c = generate::generate(&generate::Config::new(2_000, 8)).to_deals();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn the_shipped_pack_finds_exactly_the_planted_pairs_and_cycles() {
    let config = generate::Config::new(5_000, 7);
    let data = generate::generate(&config);
    assert_eq!(data.deals.len(), 5_000);
    assert_eq!(data.entities.len(), 1_000);
    assert_eq!(data.vendor_pairs.len(), 5);
    assert_eq!(data.cycles.len(), 5);

    let mut engine = rules(&["vendor_financing.rules", "flows.rules"]);
    engine.load("synthetic.deals", data.to_deals()).unwrap();
    let report = engine.evaluate().unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.facts, 6_000);

    let planted: BTreeSet<Vec<String>> = data
        .vendor_pairs
        .iter()
        .map(|&(inv, buy)| vec![data.deals[inv].id.clone(), data.deals[buy].id.clone()])
        .collect();
    let vendor = fired(&report, "vendor_financing");
    assert_eq!(vendor.len(), 5);
    assert_eq!(vendor, planted);
    // Every other planted investment names its investor as the supplier its proceeds pay.
    assert_eq!(fired(&report, "self_supplied_investment").len(), 3);

    // Each planted loop once, read from its smallest entity; the 6-hop loop is beyond `max 5`.
    let mut expected: BTreeSet<String> = data
        .vendor_pairs
        .iter()
        .map(|&(inv, _)| {
            let d = &data.deals[inv];
            let (a, b) = (&data.entities[d.from].id, &data.entities[d.to].id);
            format!("{a} > {b} > {a}")
        })
        .collect();
    for nodes in &data.cycles {
        let mut ids: Vec<&str> = nodes.iter().map(|&i| &*data.entities[i].id).collect();
        ids.push(ids[0]);
        expected.insert(ids.join(" > "));
    }
    let cycles: BTreeSet<String> = fired(&report, "circular_flow")
        .into_iter()
        .map(|facts| facts[0].clone())
        .collect();
    assert_eq!(cycles.len(), 10);
    assert_eq!(cycles, expected);
}

#[test]
fn the_whole_pack_runs_within_its_budgets_on_generated_deals() {
    let data = generate::generate(&generate::Config::new(5_000, 3));
    let mut engine = rules(&PACK);
    engine.load("synthetic.deals", data.to_deals()).unwrap();
    let report = engine.evaluate().unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.rules, 15);
    // Loops exist only where planted: no round trip, SPV or warrant rule fires.
    for rule in [
        "supplier_leases_back",
        "supplier_buys_capacity_back",
        "supplier_funded_spv",
        "warrants_to_customer",
    ] {
        assert_eq!(fired(&report, rule).len(), 0, "{rule}");
    }
    assert_eq!(fired(&report, "vendor_financing").len(), 5);
    assert_eq!(fired(&report, "circular_flow").len(), 10);
}

#[test]
fn the_csv_form_loads_the_same_facts() {
    let data = generate::generate(&generate::Config::new(1_000, 5));
    let mut from_deals = Engine::new();
    from_deals.load("synthetic.deals", data.to_deals()).unwrap();
    let mut from_csv = Engine::new();
    dealrules::input::load_csv(&mut from_csv, "synthetic.csv", data.to_csv()).unwrap();
    assert_eq!(from_csv.facts().len(), 1_200);
    let fields = |e: &Engine| -> Vec<(String, Vec<(String, String)>)> {
        e.facts()
            .iter()
            .map(|(_, f)| {
                // CSV fields come in column order, deal-file fields in written order.
                let mut fields: Vec<(String, String)> = f
                    .fields()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.value.to_string()))
                    .collect();
                fields.sort();
                (f.id().to_string(), fields)
            })
            .collect()
    };
    let (a, b) = (fields(&from_deals), fields(&from_csv));
    let differ = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert_eq!(
        differ,
        0,
        "first: {:?}",
        a.iter().zip(&b).find(|(x, y)| x != y)
    );
}

#[test]
fn the_report_is_the_same_byte_for_byte_on_any_number_of_threads() {
    let data = generate::generate(&generate::Config::new(3_000, 11));
    let mut engine = rules(&PACK);
    engine.load("synthetic.deals", data.to_deals()).unwrap();
    let outputs = |threads: usize| {
        let mut engine = engine.clone();
        engine.set_threads(Some(threads));
        let mut calls = Vec::new();
        let report = engine
            .evaluate_with_progress(&mut |done, total| calls.push((done, total)))
            .unwrap();
        // Progress counts finished rules, in order, whatever order they finish in.
        let expected: Vec<(usize, usize)> = (0..=15).map(|done| (done, 15)).collect();
        assert_eq!(calls, expected, "{threads} threads");
        let json = dealrules::report::json(&report, engine.sources());
        let text = dealrules::report::text(&report, engine.sources(), dealrules::Colour::Never);
        (report.findings.len(), report.data_gaps.len(), json, text)
    };
    let one = outputs(1);
    assert_eq!(
        fired_count(&one.2, "vendor_financing"),
        data.vendor_pairs.len()
    );
    assert!(one.0 > 3 && one.1 > 0, "{} findings, {} gaps", one.0, one.1);
    for threads in [2, 3, 8] {
        let many = outputs(threads);
        assert_eq!(many.0, one.0, "{threads} threads: findings");
        assert_eq!(many.1, one.1, "{threads} threads: data gaps");
        assert!(
            many.2 == one.2,
            "{threads} threads: the JSON report differs"
        );
        assert!(
            many.3 == one.3,
            "{threads} threads: the text report differs"
        );
    }
}

/// How many findings of `rule` a JSON report holds.
fn fired_count(json: &str, rule: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .count()
}

/// With several threads, the rules that read no derived relation are checked and evaluated
/// while relations are derived. A mistake in such a rule, or in deriving, must stop the
/// evaluation with the same diagnostics, in the same order, as on one thread.
#[test]
fn errors_found_while_relations_are_derived_are_the_same_on_any_number_of_threads() {
    let data = generate::generate(&generate::Config::new(500, 5));
    let broken = [
        // A rule that reads no relation, calling an unknown function (checked early).
        "rule broken_early \"Early\" {\n  severity: low\n  match d: deal where d.kind == purchase\n  when  amountt(d.amount)\n  flag  \"{d.id}\"\n}\n",
        // A rule over the relation, the same mistake (checked after deriving).
        "rule broken_late \"Late\" {\n  severity: low\n  match f: flow\n  when  amountt(f.amount)\n  flag  \"{f.deal}\"\n}\n",
    ];
    for (i, text) in broken.iter().enumerate() {
        let mut engine = rules(&PACK);
        engine.load("synthetic.deals", data.to_deals()).unwrap();
        engine.load("broken.rules", *text).unwrap();
        let diagnostics = |threads: usize| {
            let mut engine = engine.clone();
            engine.set_threads(Some(threads));
            let err = engine.evaluate().expect_err("a broken rule");
            err.diagnostics
                .iter()
                .map(|d| dealrules::diag::render(d, engine.sources(), dealrules::Colour::Never))
                .collect::<Vec<_>>()
        };
        let one = diagnostics(1);
        assert!(
            one.iter().any(|d| d.contains("amountt")),
            "case {i}: {one:?}"
        );
        for threads in [2, 3] {
            assert_eq!(diagnostics(threads), one, "case {i}, {threads} threads");
        }
    }
}

#[test]
fn a_large_deal_file_loads_the_same_on_any_number_of_threads() {
    // Over 4 MiB, a file is read in chunks on every thread the engine may use. A duplicate id,
    // a field written twice and a broken deal at the end check that errors come out the same.
    let data = generate::generate(&generate::Config::new(17_000, 5));
    let clean = data.to_deals();
    assert!(clean.len() > 4 << 20, "{} bytes", clean.len());
    let mut text = clean.clone();
    text.push_str(
        "deal d0000000 {\n  kind: loan\n}\ndeal twice {\n  kind: loan\n  kind: lease\n}\n",
    );
    text.push_str("deal broken {\n  kind: \n}\n");
    let load = |threads: usize| {
        let mut engine = rules(&["vendor_financing.rules", "commitments.rules"]);
        engine.set_threads(Some(threads));
        let errors = engine.load("synthetic.deals", text.clone()).unwrap_err();
        let facts: Vec<dealrules::Fact> = engine.facts().iter().map(|(_, f)| f.to_fact()).collect();
        let mut engine = rules(&["vendor_financing.rules", "commitments.rules"]);
        engine.set_threads(Some(threads));
        engine.load("synthetic.deals", clean.clone()).unwrap();
        engine.set_threads(Some(1));
        let report = engine.evaluate().unwrap();
        let json = dealrules::report::json(&report, engine.sources());
        (format!("{:?}", errors.diagnostics), facts, json)
    };
    let one = load(1);
    assert_eq!(one.0.matches("DuplicateId").count(), 1, "{}", one.0);
    assert_eq!(one.0.matches("DuplicateField").count(), 1, "{}", one.0);
    assert!(one.1.len() > 17_000);
    assert_eq!(
        fired_count(&one.2, "vendor_financing"),
        data.vendor_pairs.len()
    );
    for threads in [2, 3] {
        let many = load(threads);
        assert!(many.0 == one.0, "{threads} threads: the errors differ");
        assert!(many.1 == one.1, "{threads} threads: the facts differ");
        assert!(
            many.2 == one.2,
            "{threads} threads: the JSON report differs"
        );
    }
}

/// The JSON report and the errors of evaluating a copy of `engine` on `threads` threads, with
/// the report.
fn evaluate_on(engine: &Engine, threads: usize) -> (String, Vec<String>, Report) {
    let mut engine = engine.clone();
    engine.set_threads(Some(threads));
    let report = engine.evaluate().unwrap();
    let json = dealrules::report::json(&report, engine.sources());
    let errors = report.errors.iter().map(|e| format!("{e:?}")).collect();
    (json, errors, report)
}

#[test]
fn candidates_checked_on_several_threads_give_the_same_report() {
    // Over 2,048 purchases, the candidates of a rule whose conditions hold a sub-query (a sum,
    // a `not exists`) are checked in parts on several threads. The deals added at the end fall
    // in the last part: amounts in two currencies (an error in the sum), a buyer without
    // revenue and a purchase without amount (data gaps), an `up to` ceiling.
    let data = generate::generate(&generate::Config::new(8_000, 9));
    let mut text = data.to_deals();
    text.push_str(concat!(
        "entity zbuyer {\n  type: company\n  revenue_2025: 1M USD\n}\n",
        "entity zseller {\n  type: company\n  revenue_2025: 5B USD\n}\n",
        "entity zpoor {\n  type: company\n}\n",
        "deal zp1 {\n  kind: purchase\n  buyer: zbuyer\n  seller: zseller\n  amount: 30M USD\n  announced: 2025-09-01\n  status: signed\n}\n",
        "deal zp2 {\n  kind: purchase\n  buyer: zbuyer\n  seller: zseller\n  amount: 20M EUR\n  announced: 2025-09-02\n  status: signed\n}\n",
        "deal zp3 {\n  kind: purchase\n  buyer: zpoor\n  seller: zseller\n  amount: 40M USD\n  announced: 2025-09-03\n  status: signed\n}\n",
        "deal zp4 {\n  kind: purchase\n  buyer: zbuyer\n  seller: zpoor\n  announced: 2025-09-04\n  status: signed\n}\n",
        "deal zp5 {\n  kind: cloud_contract\n  buyer: zpoor\n  seller: zbuyer\n  amount: up to 90M USD\n  annual_amount: 9M USD\n  announced: 2025-09-05\n  status: signed\n}\n",
    ));
    let mut engine = rules(&["commitments.rules", "commitment_quality.rules"]);
    engine.load("synthetic.deals", text).unwrap();
    let report = |threads: usize| {
        let (json, errors, report) = evaluate_on(&engine, threads);
        (json, errors, report.data_gaps.len())
    };
    let one = report(1);
    assert!(
        one.1.iter().any(|e| e.contains("zp2")),
        "the sum over zbuyer's purchases adds USD and EUR: {:?}",
        one.1
    );
    assert!(one.0.contains("zpoor") && one.2 > 0, "{} data gaps", one.2);
    for threads in [2, 3] {
        let many = report(threads);
        assert_eq!(many.1, one.1, "{threads} threads: the errors differ");
        assert!(
            many.0 == one.0,
            "{threads} threads: the JSON report differs"
        );
    }
}

#[test]
fn a_sub_querys_index_built_on_several_threads_gives_the_same_report() {
    // Over 16,384 deals, the facts of a sub-query without a kind are filtered and keyed a part
    // per thread. Its own condition converts the EUR amounts (rates taken in every part); one
    // index is probed by its own members (grouped by sorting), one by an entity's id (hashed).
    // In the second file, two deals in currencies without a rate make that condition fail:
    // the GBP one, nearer the start, is the error on any number of threads.
    let data = generate::generate(&generate::Config::new(17_000, 11));
    let base = data.to_deals();
    let ours = concat!(
        "fx EUR/USD 1.10 on 2025-01-01\n",
        "entity zbuyer {\n  type: company\n}\n",
        "entity zseller {\n  type: zspecial\n}\n",
        "deal zp1 {\n  kind: purchase\n  buyer: zbuyer\n  seller: zseller\n  amount: 30M EUR\n}\n",
        "deal zp2 {\n  kind: purchase\n  buyer: zbuyer\n  seller: zseller\n  amount: 40M USD\n}\n",
        "deal zp3 {\n  kind: lease\n  buyer: zbuyer\n  seller: zseller\n}\n",
        "deal zodd {\n  kind: odd\n  buyer: zbuyer\n}\n",
    );
    let rules = "rule spread { severity: low\n\
           match c: deal where c.buyer == zbuyer\n\
           let total = sum(x.amount for x: deal where x.amount > 1 USD and x.buyer == c.buyer and x.seller == c.seller)\n\
           when total > 1 USD\n\
           flag \"{c.id}: {total}\" }\n\
         rule backed { severity: low\n\
           match s: entity where s.type == zspecial\n\
           when exists x: deal where x.amount > 1 USD and x.seller == s.id\n\
           flag \"{s.id}\" }\n";
    // One outer deal: the index is built (and fails) once.
    let odd = "rule odd { severity: low\n\
           match c: deal where c.kind == odd\n\
           when exists x: deal where x.amount > 1 USD and x.buyer == c.buyer\n\
           flag \"{c.id}\" }\n";
    let middle = base.find("deal d0008000 ").expect("a deal in the middle");
    let failing = format!(
        "{}deal zq1 {{\n  kind: purchase\n  buyer: zbuyer\n  amount: 5M GBP\n}}\n{}deal zq2 {{\n  kind: purchase\n  buyer: zbuyer\n  amount: 6M JPY\n}}\n",
        &base[..middle],
        &base[middle..]
    );
    for (deals, rules, fails) in [(base.clone(), rules, false), (failing, odd, true)] {
        let mut engine = Engine::new();
        engine.load("r.rules", rules).unwrap();
        engine.load("synthetic.deals", deals).unwrap();
        engine.load("ours.deals", ours).unwrap();
        let report = |threads: usize| {
            let (json, errors, report) = evaluate_on(&engine, threads);
            (json, errors, messages(&report))
        };
        let one = report(1);
        if fails {
            assert!(
                one.1.iter().any(|e| e.contains("GBP")) && !one.1.iter().any(|e| e.contains("JPY")),
                "{:?}",
                one.1
            );
        } else {
            assert!(one.1.is_empty(), "{:?}", one.1);
            assert!(
                one.2.contains(&"zp1: 73M USD".to_string())
                    && one.2.contains(&"zseller".to_string()),
                "{:?}",
                one.2
            );
        }
        for threads in [2, 3] {
            let many = report(threads);
            assert_eq!(many.1, one.1, "{threads} threads: the errors differ");
            assert_eq!(many.2, one.2, "{threads} threads: the findings differ");
            assert!(
                many.0 == one.0,
                "{threads} threads: the JSON report differs"
            );
        }
    }
}

/// The messages of a report's findings, in report order.
fn messages(report: &Report) -> Vec<String> {
    report.findings.iter().map(|f| f.message.clone()).collect()
}
