//! Semantics of evaluation through the library API: joins, three-valued logic on missing
//! fields, units, errors that do not stop the run, and the hash join against a brute force.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

mod common;
use common::run;
use dealrules::{Engine, Report};
use proptest::prelude::*;

fn messages(r: &Report) -> Vec<String> {
    r.findings.iter().map(|f| f.message.clone()).collect()
}

#[test]
fn evaluation_reports_progress_rule_by_rule() {
    let mut engine = Engine::new();
    engine.load("t.deals", "deal a { x: 1 }").unwrap();
    engine
        .load("t.rules", "rule r1 { severity: low  match d: deal  flag \"1\" }\nrule r2 { severity: low  match d: deal  flag \"2\" }")
        .unwrap();
    let mut calls = Vec::new();
    let report = engine
        .evaluate_with_progress(&mut |done, total| calls.push((done, total)))
        .unwrap();
    assert_eq!(calls, [(0, 2), (1, 2), (2, 2)]);
    assert_eq!(report.findings.len(), 2);
}

/// Sub-queries over the same facts with the same join key share one index; those that differ
/// in a constant of their own conditions (`lease`, not `purchase`), or in the field of their
/// key, must not.
#[test]
fn sub_queries_alike_but_for_a_constant_or_a_key_field_keep_their_own_facts() {
    let r = run(
        "entity A { }\nentity B { }\n\
         deal p1 { kind: purchase  buyer: A  seller: B  amount: 10 USD }\n\
         deal p2 { kind: purchase  buyer: A  seller: B  amount: 5 USD }\n\
         deal l1 { kind: lease  buyer: A  seller: B  amount: 7 USD }\n\
         deal l2 { kind: lease  buyer: B  seller: A  amount: 3 USD }",
        "rule r { severity: low\n\
           match c: deal where c.kind == purchase\n\
           let bought = sum(x.amount for x: deal where x.kind == purchase and x.buyer == c.buyer and x.seller == c.seller)\n\
           let leased = sum(y.amount for y: deal where y.kind == lease and y.buyer == c.buyer and y.seller == c.seller)\n\
           let back = sum(w.amount for w: deal where w.kind == lease and w.seller == c.buyer and w.buyer == c.seller)\n\
           when not exists z: deal where z.kind == purchase and z.buyer == c.buyer and z.seller == c.seller and z.id < c.id\n\
           flag \"{c.id}: {bought} bought, {leased} leased, {back} back\" }",
    );
    assert_eq!(
        messages(&r),
        ["p1: 15 USD bought, 7 USD leased, 3 USD back"]
    );
}

/// A sub-query keyed on the same fields of the outer deal (`x.buyer == c.buyer and x.seller ==
/// c.seller`) finds an outer deal's group directly when that deal is itself one of the
/// sub-query's facts; an outer deal that is not (a lease, a purchase without a seller) is
/// probed with its key as before, and a missing key part stays a data gap.
#[test]
fn an_outer_deal_among_the_sub_querys_facts_finds_its_own_group() {
    let r = run(
        "entity A { }\nentity B { }\n\
         deal p1 { kind: purchase  buyer: A  seller: B  amount: 10 USD }\n\
         deal p2 { kind: purchase  buyer: A  seller: B  amount: 5 USD }\n\
         deal l1 { kind: lease  buyer: A  seller: B  amount: 7 USD }\n\
         deal p3 { kind: purchase  buyer: A  amount: 4 USD }\n\
         deal p4 { kind: purchase  buyer: B  seller: A  amount: 2 USD }\n\
         deal p5 { kind: purchase  buyer: \"B\"  seller: A  amount: 1 USD }",
        "rule r { severity: low\n\
           match c: deal\n\
           let bought = sum(x.amount for x: deal where x.kind == purchase and x.buyer == c.buyer and x.seller == c.seller)\n\
           when bought > 0 USD\n\
             and not exists z: deal where z.kind == purchase and z.buyer == c.buyer and z.seller == c.seller and z.id < c.id\n\
           flag \"{c.id}: {bought}\" }",
    );
    let mut found = messages(&r);
    found.sort();
    assert_eq!(found, ["l1: 15 USD", "p1: 15 USD", "p4: 3 USD"]);
    let gaps: Vec<_> = r
        .data_gaps
        .iter()
        .flat_map(|g| &g.missing)
        .map(|m| format!("{}.{}", m.fact, m.field))
        .collect();
    assert_eq!(gaps, ["p3.seller"]);
}

/// A join key read from the fact base's column of a field: names found there, and anything
/// else (quoted text, equal to a name of the same text; a number, an error against either; a
/// missing field, no match; a derived row's column) read from the fact itself; facts loaded
/// after an evaluation are in the next.
#[test]
fn join_keys_from_a_fields_column_match_as_read_from_the_facts() {
    let rules = "relation owes(from: name, to: name)\n\
         derive owes(d.buyer, d.seller) from d: deal where d.kind == purchase\n\
         rule r { severity: low\n\
           match inv: deal where inv.kind == investment\n\
                 buy: deal where buy.kind == purchase\n\
           when buy.buyer == inv.investee and buy.seller == inv.investor\n\
           flag \"{inv.id}/{buy.id}\" }\n\
         rule o { severity: low\n\
           match inv: deal where inv.kind == investment\n\
                 o: owes\n\
           when o.from == inv.investee and o.to == inv.investor\n\
           flag \"{inv.id} owes\" }";
    let deals = "entity A { }\nentity B { }\n\
         deal i1 { kind: investment  investor: B  investee: A }\n\
         deal i2 { kind: investment  investor: \"B\"  investee: A }\n\
         deal i3 { kind: investment  investor: 7  investee: A }\n\
         deal i4 { kind: investment  investee: A }\n\
         deal p1 { kind: purchase  buyer: A  seller: B }\n\
         deal p2 { kind: purchase  buyer: A  seller: \"B\" }\n\
         deal p3 { kind: purchase  buyer: A  seller: 7 }\n\
         deal p4 { kind: purchase  buyer: A }";
    let mut engine = Engine::new();
    engine.load("t.rules", rules).unwrap();
    engine.load("t.deals", deals).unwrap();
    let found = |r: &Report| {
        let mut m = messages(r);
        m.sort();
        m
    };
    let first = engine.evaluate().unwrap();
    assert_eq!(
        found(&first),
        [
            "i1 owes", "i1/p1", "i1/p2", "i2 owes", "i2/p1", "i2/p2", "i3 owes", "i3/p3"
        ]
    );
    assert_eq!(first.errors.len(), 7, "{:?}", first.errors);
    assert!(first.data_gaps.is_empty());
    // The same again (the columns are kept), then with a deal loaded since.
    assert_eq!(found(&engine.evaluate().unwrap()), found(&first));
    engine
        .load(
            "more.deals",
            "deal p5 { kind: purchase  buyer: A  seller: B }",
        )
        .unwrap();
    let after = engine.evaluate().unwrap();
    assert_eq!(
        found(&after),
        [
            "i1 owes", "i1/p1", "i1/p2", "i1/p5", "i2 owes", "i2/p1", "i2/p2", "i2/p5", "i3 owes",
            "i3/p3"
        ]
    );
    // And the error of p5's seller against i3's number.
    assert_eq!(after.errors.len(), 8);
}

/// Joins over more than 32,768 candidates, whose index is grouped a part of the keys at a time
/// (two names to a key, and three), and a sub-query over them, find exactly the pairs a nested
/// loop finds, in the same order on one thread and on two.
#[test]
fn joins_over_many_candidates_find_what_a_nested_loop_finds() {
    let entities = 180usize;
    let goods = ["gpus", "power", "land"];
    let mut deals = String::new();
    for e in 0..entities {
        deals.push_str(&format!("entity e{e} {{ }}\n"));
    }
    // (buyer, seller, goods) of each purchase, and (investor, investee, use) of each investment:
    // the seller and buyer of a purchase, what it bought for every other one.
    let purchases = 34_000usize;
    let purchase = |p: usize| ((p * 7919) % entities, (p * 104_729 + 3) % entities, p % 3);
    let investment = |i: usize| {
        let (b, s, g) = purchase((i * 97) % purchases);
        (s, b, if i.is_multiple_of(2) { g } else { (g + 1) % 3 })
    };
    let investments = 200usize;
    for p in 0..purchases {
        let (b, s, g) = purchase(p);
        deals.push_str(&format!(
            "deal p{p} {{ kind: purchase  buyer: e{b}  seller: e{s}  goods: {} }}\n",
            goods[g]
        ));
    }
    for i in 0..investments {
        let (from, to, g) = investment(i);
        deals.push_str(&format!(
            "deal i{i} {{ kind: investment  investor: e{from}  investee: e{to}  use_of_proceeds: {} }}\n",
            goods[g]
        ));
    }
    let rules = "rule two { severity: low\n\
           match inv: deal where inv.kind == investment\n\
                 buy: deal where buy.kind == purchase\n\
           when buy.buyer == inv.investee and buy.seller == inv.investor\n\
           flag \"{inv.id}/{buy.id}\" }\n\
         rule three { severity: low\n\
           match inv: deal where inv.kind == investment\n\
                 buy: deal where buy.kind == purchase\n\
           when buy.buyer == inv.investee and buy.seller == inv.investor\n\
             and buy.goods == inv.use_of_proceeds\n\
           flag \"{inv.id}+{buy.id}\" }\n\
         rule again { severity: low\n\
           match buy: deal where buy.kind == purchase\n\
           when exists other: deal where other.kind == purchase\n\
             and other.buyer == buy.buyer and other.seller == buy.seller and other.id != buy.id\n\
           flag \"{buy.id}\" }";
    let mut engine = Engine::new();
    engine.load("t.rules", rules).unwrap();
    engine.load("t.deals", deals).unwrap();
    // The nested loop, over the purchases of each (buyer, seller).
    let mut pairs: indexmap::IndexMap<(usize, usize), Vec<usize>> = Default::default();
    for p in 0..purchases {
        let (b, s, _) = purchase(p);
        pairs.entry((b, s)).or_default().push(p);
    }
    let mut want = Vec::new();
    for i in 0..investments {
        let (from, to, g) = investment(i);
        for &p in pairs.get(&(to, from)).map_or(&[][..], Vec::as_slice) {
            want.push(format!("i{i}/p{p}"));
            if purchase(p).2 == g {
                want.push(format!("i{i}+p{p}"));
            }
        }
    }
    for same in pairs.values().filter(|same| same.len() > 1) {
        want.extend(same.iter().map(|p| format!("p{p}")));
    }
    want.sort();
    let mut reports = Vec::new();
    for threads in [1, 2] {
        engine.set_threads(Some(threads));
        let report = engine.evaluate().unwrap();
        let mut got = messages(&report);
        got.sort();
        assert_eq!(got.len(), want.len(), "{threads} thread(s)");
        assert_eq!(got, want, "{threads} thread(s)");
        assert!(report.errors.is_empty() && report.data_gaps.is_empty());
        reports.push(messages(&report));
    }
    assert!(want.iter().any(|m| m.contains('+')) && want.len() > 1_000);
    assert_eq!(reports[0], reports[1]);
}

/// Two alike sub-queries whose own conditions convert a currency: the rate taken while the
/// second one's candidates are found is shown in the explanation of the condition holding it,
/// as it is when the sub-query stands alone (their index is not shared).
#[test]
fn alike_sub_queries_that_convert_currencies_keep_the_rate_in_the_explanation() {
    let r = run(
        "fx EUR/USD 1.10\nentity A { type: company }\n\
         deal d1 { kind: purchase  buyer: A  amount: 100 EUR }\n\
         deal d2 { kind: purchase  buyer: A  amount: 200 USD }",
        "rule r { severity: low  match b: entity\n\
           when (exists x: deal where x.amount > 50 USD and x.buyer == b.id)\n\
             or count(y: deal where y.amount > 50 USD and y.buyer == b.id) > 5\n\
           flag \"{b.id}\" }",
    );
    assert_eq!(messages(&r), ["A"]);
    let step = &r.findings[0].trace[0];
    assert_eq!(step.op, Some("or"));
    let rates: Vec<String> = step
        .conversions
        .iter()
        .map(|c| format!("{}/{} {}", c.base, c.quote, c.rate))
        .collect();
    assert_eq!(rates, ["EUR/USD 1.10"]);
}

/// An aggregate whose candidates have conditions of their own reports the error of those
/// conditions before an error in adding the values: every candidate is checked first.
#[test]
fn an_error_in_a_candidates_condition_comes_before_an_error_in_adding() {
    let r = run(
        "entity A { type: company  limit: 5 }\n\
         deal d1 { kind: purchase  buyer: A  amount: 100 USD  score: 1 }\n\
         deal d2 { kind: purchase  buyer: A  amount: 200 EUR  score: 2 }\n\
         deal d3 { kind: purchase  buyer: A  amount: 300 USD  score: 3 USD }",
        "rule s { severity: low  match b: entity\n\
           when sum(x.amount for x: deal where x.buyer == b.id and x.score < b.limit) > 0 USD\n\
           flag \"{b.id}\" }",
    );
    let errors: Vec<&str> = r.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(errors, ["cannot compare money (USD) and a number"]);
}

#[test]
fn not_equal_on_a_missing_field_does_not_fire() {
    let r = run(
        "deal a { kind: investment }\ndeal b { kind: investment  status: letter_of_intent }",
        "rule r { severity: high  when kind == investment and status != definitive  flag \"{id}\" }",
    );
    assert_eq!(messages(&r), ["b"]);
}

#[test]
fn a_missing_field_is_listed_as_a_data_gap() {
    let r = run(
        "deal a { kind: investment }\ndeal b { kind: investment  status: definitive }",
        "rule not_definitive { severity: high  match d: deal where d.kind == investment  when d.status != definitive  flag \"{d.id}\" }",
    );
    assert!(r.findings.is_empty());
    assert_eq!(r.data_gaps.len(), 1);
    let gap = &r.data_gaps[0];
    assert_eq!(&*gap.rule, "not_definitive");
    assert_eq!(&*gap.bindings[0].fact, "a");
    assert_eq!(&*gap.condition, "d.status != definitive");
    assert_eq!(gap.missing.len(), 1);
    assert_eq!(
        (&*gap.missing[0].fact, &*gap.missing[0].field),
        ("a", "status")
    );
}

#[test]
fn has_tests_presence_without_a_gap() {
    let r = run(
        "deal a { kind: investment }\ndeal b { kind: investment  status: definitive }",
        "rule r { severity: low  match d: deal  when not has(d.status)  flag \"{d.id}\" }",
    );
    assert_eq!(messages(&r), ["a"]);
    assert!(r.data_gaps.is_empty());
}

/// The JSON report writes a conversion with its rate and date as texts, where it was declared.
#[test]
fn the_json_report_shows_each_conversion_of_a_step() {
    let mut engine = dealrules::Engine::new();
    engine
        .load(
            "t.deals",
            "fx USD/CNY 7.10 on 2025-10-01\ndeal a { amount: 50B USD  other: 355B CNY }",
        )
        .unwrap();
    engine
        .load(
            "t.rules",
            "rule r { severity: low  match d: deal  when d.amount == d.other  flag \"x\" }",
        )
        .unwrap();
    let report = engine.evaluate().unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&dealrules::report::json(&report, engine.sources())).unwrap();
    let step = &json["findings"][0]["trace"][0];
    assert_eq!(step["condition"], "d.amount == d.other");
    assert_eq!(
        step["conversions"],
        serde_json::json!([{
            "from": "USD",
            "to": "CNY",
            "rate": "7.1",
            "date": "2025-10-01",
            "location": { "file": "t.deals", "line": 1, "column": 1 },
        }])
    );
}

#[test]
fn declared_exchange_rates_convert_exactly_and_show_in_the_trace() {
    let r = run(
        "fx USD/CNY 7.10 on 2025-10-01\nfx USD/CNY 7.00 on 2025-01-01\ndeal a { amount: 50B USD  other: 355B CNY }",
        "rule r { severity: low  match d: deal  when d.amount == d.other and d.amount + d.other == 710B CNY  flag \"{d.amount + d.other}\" }",
    );
    assert_eq!(messages(&r), ["710B CNY"]);
    let conv = &r.findings[0].trace[0].conversions;
    assert_eq!(conv.len(), 1);
    assert_eq!(
        (
            conv[0].base.code(),
            conv[0].quote.code(),
            conv[0].rate.to_string()
        ),
        ("USD", "CNY", "7.10".to_string())
    );
    assert_eq!(
        conv[0].date.map(|d| d.to_string()),
        Some("2025-10-01".to_string())
    );
}

#[test]
fn shares_times_price_overflow_is_an_error() {
    let r = run(
        "deal w { shares: 79228162514264337593543950335 shares  price: 2 USD/share }",
        "rule r { severity: low  match d: deal  when d.shares * d.price > 0 USD  flag \"x\" }",
    );
    assert!(r.findings.is_empty());
    assert_eq!(
        r.errors[0].message,
        "cannot multiply exactly: the result needs more than 28-29 significant digits or exceeds about 7.9e28"
    );
}

#[test]
fn literal_forms_are_exact() {
    let r = run(
        "deal a { x: 1.2万亿 CNY  y: 1.2T CNY  e: 1.5e11 USD  b: 25 bps  n: 1_234.56 }",
        "rule r { severity: low  match d: deal
           when d.x == d.y and d.e == 150B USD and d.b == 0.25% and d.n == 1234.56 and 1000亿美元 == 100B USD
           flag \"{d.e} {d.b}\" }",
    );
    assert_eq!(messages(&r), ["150B USD 0.25%"]);
}

#[test]
fn dates_move_by_months_and_days() {
    let r = run(
        "deal a { signed: 2025-01-31  start: 2026-03-14 }",
        "rule r { severity: low  match d: deal
           when d.signed + 1 month == 2025-02-28 and d.signed + 12 months == 2026-01-31
            and d.start - d.signed == 407 days and months_between(d.signed, d.start) == 13 months
            and d.signed < d.start
           flag \"{d.signed + 2 years} {months_between(d.start, d.signed)}\" }",
    );
    assert_eq!(messages(&r), ["2027-01-31 -13 months"]);
}

#[test]
fn rounding_modes() {
    let r = run(
        "deal a { x: 2.345  y: 2.5 }",
        "rule r { severity: low  match d: deal
           flag \"{round(d.x, 2)} {round(d.x, 2, half_even)} {round(d.y, 0, half_even)} {round(d.x, 1, down)} {round(-2.345, 2)} {round(d.x, 1, ceiling)}\" }",
    );
    assert_eq!(messages(&r), ["2.35 2.34 2 2.3 -2.35 2.4"]);
}

#[test]
fn or_is_true_when_one_side_is_true_and_the_other_unknown() {
    let r = run(
        "deal a { y: 2 }\ndeal b { x: 3 }",
        "rule r { severity: low  match d: deal  when d.x == 1 or d.y == 2  flag \"{d.id}\" }",
    );
    assert_eq!(messages(&r), ["a"]);
    let step = &r.findings[0].trace[0];
    assert_eq!(step.op, Some("or"));
    assert_eq!(step.parts[0].holds, None);
    assert_eq!(step.parts[1].holds, Some(true));
}

#[test]
fn not_of_unknown_is_unknown() {
    let r = run(
        "deal a { kind: lease }",
        "rule r { severity: low  match d: deal  when not (d.status == definitive)  flag \"{d.id}\" }",
    );
    assert_eq!(messages(&r), Vec::<String>::new());
}

#[test]
fn units_convert_and_ceilings_show() {
    let r = run(
        "deal a { capacity: 500 MW  amount: up to 100B USD }\ndeal b { capacity: 0.4 GW }",
        "rule r { severity: low  match d: deal  when d.capacity == 0.5 GW  flag \"{d.amount} for {d.capacity}\" }",
    );
    assert_eq!(messages(&r), ["up to 100B USD for 500 MW"]);
}

#[test]
fn exact_money_arithmetic() {
    let r = run(
        "deal a { x: 10.1%  y: 20.2%  amount: 100B USD  big: 100000000000000.02 CNY  small: 100000000000000.01 CNY }",
        "rule r { severity: low  match d: deal
           when d.x + d.y == 30.3% and d.amount * 1.1 == 110B USD and d.big > d.small and 1000亿美元 == 100B USD
           flag \"{d.amount * 1.1}\" }",
    );
    assert_eq!(messages(&r), ["110B USD"]);
}

#[test]
fn currency_mismatch_is_an_error_and_the_run_goes_on() {
    let r = run(
        "deal a { amount: 50B USD  other: 50B CNY }",
        "rule bad { severity: high  match d: deal  when d.amount == d.other  flag \"x\" }
         rule good { severity: low  match d: deal  when d.amount == 50B USD  flag \"ok\" }",
    );
    assert_eq!(messages(&r), ["ok"]);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(&*r.errors[0].rule, "bad");
    assert_eq!(&*r.errors[0].expr, "d.amount == d.other");
    assert_eq!(
        r.errors[0].message,
        "cannot compare `USD` and `CNY`: different currencies and no exchange rate"
    );
    assert_eq!(&*r.errors[0].bindings[0].fact, "a");
}

#[test]
fn division_by_zero_is_an_error_naming_rule_deal_and_expression() {
    let r = run(
        "deal a { amount: 10B USD  capacity: 0 GW }",
        "rule per_gw { severity: low  match d: deal  when d.amount / d.capacity > 1B USD/GW  flag \"x\" }",
    );
    assert!(r.findings.is_empty());
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].message, "division by zero");
    assert_eq!(&*r.errors[0].expr, "d.amount / d.capacity");
    assert_eq!(&*r.errors[0].bindings[0].fact, "a");
}

#[test]
fn comparing_money_with_power_is_an_error_not_false() {
    let r = run(
        "deal a { amount: 10B USD }",
        "rule r { severity: low  match d: deal  when d.amount > 10 GW  flag \"x\" }",
    );
    assert_eq!(
        r.errors[0].message,
        "cannot compare money (USD) and power (GW)"
    );
}

#[test]
fn paths_follow_entity_references() {
    let r = run(
        "entity Nvidia { sector: semiconductors }\nentity OpenAI { sector: ai_lab }
         deal a { kind: investment  investor: Nvidia  investee: OpenAI }",
        "rule r { severity: low  match inv: deal where inv.investor.sector == semiconductors
           flag \"{inv.investor} ({inv.investor.sector}) in {inv.investee.sector}\" }",
    );
    assert_eq!(messages(&r), ["Nvidia (semiconductors) in ai_lab"]);
}

#[test]
fn entity_patterns_and_joins_with_entities() {
    let r = run(
        "entity OpenAI { type: company  revenue_2025: 13B USD }
         deal c { kind: cloud_contract  buyer: OpenAI  amount: 300B USD }",
        "rule r { severity: low  match e: entity where e.type == company
                  c: deal where c.kind == cloud_contract
           when c.buyer == e.id and c.amount > 10 * e.revenue_2025
           flag \"{e.id} {round(c.amount / e.revenue_2025, 1)}\" }",
    );
    assert_eq!(messages(&r), ["OpenAI 23.1"]);
}

#[test]
fn missing_placeholder_field_says_so() {
    let r = run(
        "deal a { kind: investment }",
        "rule r { severity: low  when kind == investment  flag \"{amount}\" }",
    );
    assert_eq!(messages(&r), ["(amount not given)"]);
}

#[test]
fn fingerprints_do_not_depend_on_file_order_or_wording() {
    let deals = "deal a { kind: investment  investor: X  investee: Y }\ndeal b { kind: purchase  buyer: Y  seller: X }";
    let rule = |msg: &str| {
        format!(
            "rule vf {{ severity: high  match inv: deal where inv.kind == investment  buy: deal where buy.kind == purchase
              when buy.buyer == inv.investee and buy.seller == inv.investor  flag \"{msg}\" }}"
        )
    };
    let one = run(deals, &rule("one"));
    let mut engine = Engine::new();
    engine.load("t.rules", rule("two")).unwrap();
    engine
        .load("b.deals", "deal b { kind: purchase  buyer: Y  seller: X }")
        .unwrap();
    engine
        .load(
            "a.deals",
            "deal a { kind: investment  investor: X  investee: Y }",
        )
        .unwrap();
    let two = engine.evaluate().unwrap();
    assert_eq!(one.findings[0].fingerprint, two.findings[0].fingerprint);
    assert_eq!(one.findings[0].facts().collect::<Vec<_>>(), ["a", "b"]);
}

#[test]
fn equality_joins_behave_like_equality_on_lists() {
    let r = run(
        "deal p { sites: [s1, s2] }\ndeal q { sites: [s1, s2] }\ndeal z { sites: [s3] }",
        "rule r { severity: low  match a: deal  b: deal  when a.sites == b.sites and a.id < b.id  flag \"{a.id}/{b.id}\" }",
    );
    assert_eq!(messages(&r), ["p/q"]);
}

#[test]
fn equality_joins_report_incomparable_values() {
    let r = run(
        "deal p { amount: 5B USD }\ndeal q { amount: 5B CNY }",
        "rule r { severity: low  match a: deal  b: deal where b.id == q  when a.id != b.id and a.amount == b.amount  flag \"{a.id}\" }",
    );
    assert_eq!(messages(&r), Vec::<String>::new());
    assert_eq!(r.errors.len(), 1);
    assert_eq!(
        r.errors[0].message,
        "cannot compare `USD` and `CNY`: different currencies and no exchange rate"
    );
    assert_eq!(r.findings.len(), 0);
}

#[test]
fn in_with_a_missing_element_is_true_when_another_matches() {
    let r = run(
        "deal a { kind: investment }",
        "rule r { severity: low  match d: deal  when d.kind in [d.nope, investment]  flag \"{d.id}\" }",
    );
    assert_eq!(messages(&r), ["a"]);
}

#[test]
fn percentages_mix_with_numbers() {
    let r = run(
        "deal a { x: 10% }",
        "rule r { severity: low  match d: deal  when d.x + 0.05 == 0.15 and d.x * 2 == 20%  flag \"{d.x * 2}\" }",
    );
    assert_eq!(messages(&r), ["20%"]);
}

#[test]
fn an_error_in_a_message_placeholder_is_an_evaluation_error() {
    let r = run(
        "deal a { x: 1  z: 0 }",
        "rule r { severity: low  match d: deal  when d.x == 1  flag \"{d.x / d.z}\" }",
    );
    assert_eq!(messages(&r), ["(error: division by zero)"]);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(&*r.errors[0].expr, "d.x / d.z");
}

#[test]
fn a_rule_setting_given_twice_is_an_error() {
    let mut engine = Engine::new();
    let err = engine
        .load(
            "t.rules",
            "rule r { severity: low  severity: critical  when kind == x  flag \"x\" }",
        )
        .expect_err("a setting twice is refused");
    assert_eq!(
        err.diagnostics[0].message,
        "rule setting `severity` is given twice"
    );
}

#[test]
fn budgets_stop_a_runaway_rule_with_an_error_and_the_run_goes_on() {
    let mut engine = Engine::new();
    engine.set_budgets(dealrules::eval::Budgets {
        max_combinations: 50,
        max_results: 1_000,
        ..Default::default()
    });
    let deals: String = (0..10)
        .map(|i| format!("deal d{i} {{ kind: x }}\n"))
        .collect();
    engine.load("t.deals", deals).unwrap();
    engine
        .load(
            "t.rules",
            "rule cartesian { severity: low  match a: deal  b: deal  c: deal  flag \"x\" }
             rule fine { severity: low  match a: deal where a.id == d0  flag \"ok\" }",
        )
        .unwrap();
    let r = engine.evaluate().unwrap();
    assert_eq!(r.errors.len(), 1);
    assert_eq!(&*r.errors[0].rule, "cartesian");
    assert!(
        r.errors[0]
            .message
            .starts_with("the rule stopped after examining 50 combinations")
    );
    assert!(r.findings.iter().any(|f| f.message == "ok"));

    let mut engine = Engine::new();
    engine.set_budgets(dealrules::eval::Budgets {
        max_combinations: 1_000_000,
        max_results: 5,
        ..Default::default()
    });
    engine
        .load(
            "t.deals",
            (0..10)
                .map(|i| format!("deal d{i} {{ kind: x }}\n"))
                .collect::<String>(),
        )
        .unwrap();
    engine
        .load(
            "t.rules",
            "rule many { severity: low  match a: deal  flag \"x\" }",
        )
        .unwrap();
    let r = engine.evaluate().unwrap();
    assert_eq!(r.findings.len(), 5);
    assert_eq!(
        r.errors[0].message,
        "the rule stopped after 5 findings and data gaps; narrow its conditions"
    );
}

const COMMITMENTS: &str = "
entity C { revenue_2025: 10B USD }
entity S { type: company }
entity T { type: company }
deal a { kind: purchase  buyer: C  seller: S  amount: 50B USD }
deal b { kind: purchase  buyer: C  seller: S  amount: 50B USD }
deal c { kind: purchase  buyer: C  seller: S  amount: up to 20B USD }
deal d { kind: purchase  buyer: C  seller: S }
deal e { kind: purchase  buyer: C  seller: T  amount: 5B USD }
";

#[test]
fn sum_adds_every_contributing_fact_and_says_what_it_skipped() {
    let r = run(
        COMMITMENTS,
        "rule r { severity: low  match s: entity where s.id == S
           let total = sum(x.amount for x: deal where x.buyer == C and x.seller == s.id)
           when total > 0 USD
           flag \"{total} from {count(x: deal where x.seller == s.id)} deals\" }",
    );
    assert_eq!(messages(&r), ["up to 120B USD from 4 deals"]);
    let detail = r.findings[0].trace[1].operands[0].detail.clone().unwrap();
    let dealrules::explain::Detail::Aggregate {
        func,
        counted,
        skipped,
        ..
    } = detail
    else {
        panic!()
    };
    assert_eq!(func, "sum");
    assert_eq!(
        counted
            .iter()
            .map(|(f, _)| f.fact.to_string())
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(
        skipped
            .iter()
            .map(|f| f.fact.to_string())
            .collect::<Vec<_>>(),
        ["d"]
    );
}

#[test]
fn empty_groups() {
    let r = run(
        COMMITMENTS,
        "rule r { severity: low  match e: entity where e.id == T
           flag \"{sum(x.amount for x: deal where x.buyer == e.id)} {count(x: deal where x.buyer == e.id)} {max(x.amount for x: deal where x.buyer == e.id)} {avg(x.amount for x: deal where x.buyer == e.id)}\" }",
    );
    assert_eq!(messages(&r), ["0 0 (unknown) (unknown)"]);
}

#[test]
fn min_and_max_name_the_fact() {
    let r = run(
        COMMITMENTS,
        "rule r { severity: low  match e: entity where e.id == C
           when max(x.amount for x: deal where x.buyer == e.id) >= min(x.amount for x: deal where x.buyer == e.id)
           flag \"{max(x.amount for x: deal where x.buyer == e.id)} {min(x.amount for x: deal where x.buyer == e.id)} {avg(x.amount for x: deal where x.buyer == e.id and x.seller == S)}\" }",
    );
    assert_eq!(messages(&r), ["50B USD 5B USD up to 40B USD"]);
    let dealrules::explain::Detail::Aggregate {
        counted, chosen, ..
    } = r.findings[0].trace[1].operands[1].detail.clone().unwrap()
    else {
        panic!()
    };
    assert_eq!(counted[chosen.unwrap()].0.fact.to_string(), "e");
}

#[test]
fn not_exists_is_correlated_and_explained() {
    let r = run(
        "deal loi { kind: investment  status: letter_of_intent }
         deal loi2 { kind: investment  status: letter_of_intent }
         deal def { kind: investment  status: definitive  agreement: loi2 }",
        "rule r { severity: low  match l: deal where l.status == letter_of_intent
           when not exists d: deal where d.agreement == l.id and d.status == definitive
           flag \"{l.id}\" }",
    );
    assert_eq!(messages(&r), ["loi"]);
    let step = &r.findings[0].trace[1];
    assert_eq!(step.op, Some("not"));
    assert_eq!(
        step.parts[0].detail,
        Some(dealrules::explain::Detail::Matches(vec![]))
    );
}

#[test]
fn any_and_all_over_lists_name_the_element() {
    let r = run(
        "deal w { tranches: [{ trigger: date }, { trigger: purchase_volume  quantity: 1 GW }] }
         deal v { tranches: [{ trigger: date }] }",
        "rule any_purchase { severity: low  match d: deal
           when any t in d.tranches where t.trigger == purchase_volume  flag \"{d.id}\" }
         rule all_dated { severity: low  match d: deal
           when all t in d.tranches where t.trigger == date  flag \"{d.id}\" }",
    );
    assert_eq!(messages(&r), ["v", "w"]);
    assert_eq!(
        r.findings[1].trace[0].detail,
        Some(dealrules::explain::Detail::Element {
            index: 1,
            value: "{ trigger: purchase_volume  quantity: 1 GW }"
                .parse()
                .unwrap()
        })
    );
}

#[test]
fn let_and_param_values() {
    let deals = "entity C { revenue_2025: 13B USD }\ndeal o { kind: cloud_contract  buyer: C  amount: 300B USD }";
    let rules = "rule r { severity: high  param ratio_limit = 10
        match c: deal
        let ratio = c.amount / c.buyer.revenue_2025
        when ratio > ratio_limit
        flag \"{round(ratio, 1)}x > {ratio_limit}x\" }";
    let r = run(deals, rules);
    assert_eq!(messages(&r), ["23.1x > 10x"]);
    assert_eq!(r.findings[0].params[0].1.to_string(), "10");
    let mut engine = Engine::new();
    engine.load("t.deals", deals).unwrap();
    engine.load("t.rules", rules).unwrap();
    engine.set_param("r", "ratio_limit", "30".parse().unwrap());
    assert!(engine.evaluate().unwrap().findings.is_empty());
}

#[test]
fn function_library() {
    let r = run(
        "deal a { name: \"Oracle OCI\"  tags: [x, y]  n: -5B USD  p: 4% }",
        r#"rule r { severity: low  match d: deal
           flag "{abs(d.n)} {min(d.p, 10%)} {max(2, 3)} {lower(d.name)} {contains(d.name, \"OCI\")} {contains(d.tags, y)} {starts_with(d.name, \"Ora\")} {len(d.tags)} {len(d.name)} {is_ceiling(d.n)}" }"#,
    );
    assert_eq!(
        messages(&r),
        ["5B USD 4% 3 oracle oci true true true 2 10 false"]
    );
}

#[test]
fn unknown_function_is_a_check_error() {
    let mut engine = Engine::new();
    engine
        .load(
            "t.rules",
            "rule r { severity: low  match d: deal  when sqrt(d.x) > 1  flag \"x\" }",
        )
        .unwrap();
    let err = engine.evaluate().unwrap_err();
    assert_eq!(err.diagnostics[0].message, "unknown function `sqrt`");
}

#[test]
fn arithmetic_never_rounds_silently() {
    let r = run(
        "deal a { big: 10000000000000000000000000000  tiny: 0.000000000000001  y: 1 year  m: 13 months  p: 12 USD/year }",
        "rule r { severity: low  match d: deal
           when d.y + 1 month == d.m and d.y - d.m == -1 month and d.p * 1 month == 1 USD and 500 MW + 1 GW == 1.5 GW
           flag \"{d.y + 1 month} {1 GW + 500 MW} {d.p * 1 month}\" }
         rule big { severity: low  match d: deal  when d.big + 0.5 > 0  flag \"x\" }
         rule tiny { severity: low  match d: deal  when d.tiny * d.tiny > 0  flag \"x\" }",
    );
    assert_eq!(messages(&r), ["13 months 1500 MW 1 USD"]);
    let errors: Vec<(&str, &str)> = r
        .errors
        .iter()
        .map(|e| (&*e.rule, e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                "big",
                "cannot add exactly: the result needs more than 28-29 significant digits or exceeds about 7.9e28"
            ),
            (
                "tiny",
                "cannot multiply exactly: the result needs more than 28-29 significant digits or exceeds about 7.9e28"
            ),
        ]
    );
}

#[test]
fn rounding_mode_and_has_are_checked_before_evaluation() {
    for (rule, message) in [
        (
            "rule r { severity: low  match d: deal  flag \"{round(d.x, 1, sideways)}\" }",
            "unknown rounding mode",
        ),
        (
            "rule r { severity: low  match d: deal  when has(status)  flag \"x\" }",
            "`has` needs a field path",
        ),
        (
            "rule r { severity: low  match d: deal  when has(d.x, d.y)  flag \"x\" }",
            "`has` takes 1 argument, not 2",
        ),
    ] {
        let mut engine = Engine::new();
        engine.load("t.rules", rule).unwrap();
        let err = engine.evaluate().unwrap_err();
        assert_eq!(err.diagnostics[0].message, message);
    }
    // In the implicit form a deal field named like a mode does not change the mode.
    let r = run(
        "deal a { x: 2.5  down: 7 }",
        "rule r { severity: low  flag \"{round(x, 0, down)}\" }",
    );
    assert_eq!(messages(&r), ["2"]);
}

const NAMES: [&str; 4] = ["A", "B", "C", "D"];
const KINDS: [&str; 3] = ["investment", "purchase", "lease"];

fn deal_strategy() -> impl Strategy<Value = (usize, usize, usize, Option<usize>)> {
    (
        0..KINDS.len(),
        0..NAMES.len(),
        0..NAMES.len(),
        proptest::option::of(0..NAMES.len()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// The planner's hash join finds exactly the pairs a nested loop over all pairs finds.
    #[test]
    fn hash_join_matches_brute_force(deals in proptest::collection::vec(deal_strategy(), 0..30)) {
        let mut src = String::new();
        for (i, (k, a, b, extra)) in deals.iter().enumerate() {
            let (ka, kb) = if KINDS[*k] == "investment" { ("investor", "investee") } else { ("seller", "buyer") };
            src.push_str(&format!("deal d{i} {{ kind: {}  {ka}: {}  {kb}: {}", KINDS[*k], NAMES[*a], NAMES[*b]));
            if let Some(x) = extra {
                src.push_str(&format!("  region: {}", NAMES[*x]));
            }
            src.push_str(" }\n");
        }
        let rules = "rule vf { severity: high
            match inv: deal where inv.kind == investment
                  buy: deal where buy.kind in [purchase, lease]
            when buy.buyer == inv.investee and buy.seller == inv.investor and buy.region != inv.investor
            flag \"x\" }";
        let mut engine = Engine::new();
        engine.load("r.rules", rules).unwrap();
        if !src.is_empty() {
            engine.load("d.deals", src).unwrap();
        }
        let report = engine.evaluate().unwrap();
        let mut got: Vec<(String, String)> = report
            .findings
            .iter()
            .map(|f| (f.bindings[0].fact.to_string(), f.bindings[1].fact.to_string()))
            .collect();
        got.sort();
        let mut want = Vec::new();
        for (i, (ki, inv_a, inv_b, _)) in deals.iter().enumerate() {
            for (j, (kj, sel, buy, region)) in deals.iter().enumerate() {
                // `region != investor` is unknown (so the rule does not fire) when region is missing.
                if KINDS[*ki] == "investment" && KINDS[*kj] != "investment" && buy == inv_b && sel == inv_a
                    && region.is_some_and(|r| r != *inv_a)
                {
                    want.push((format!("d{i}"), format!("d{j}")));
                }
            }
        }
        want.sort();
        prop_assert_eq!(got, want);
    }

    /// A money literal and its display read back as the same value.
    #[test]
    fn money_display_round_trips(units in 0i64..1_000_000_000_000i64, scale in 0u32..6) {
        let amount = rust_decimal::Decimal::new(units, scale);
        let v = dealrules::Value::Money(dealrules::Money { amount, currency: dealrules::value::Currency::USD, ceiling: false });
        let text = v.to_string();
        let back: dealrules::Value = text.parse().unwrap();
        prop_assert_eq!(v.equals(&back), Ok(true), "{}", text);
    }
}

#[test]
fn a_fact_without_a_kind_is_still_examined_by_a_kind_condition() {
    // The kind index serves `d.kind == investment`; a deal with no `kind` is not in it under
    // any kind, yet the condition on it is unknown, not false: a data gap.
    let r = run(
        "deal a { amount: 5B USD }\ndeal b { kind: investment  amount: 5B USD }\ndeal c { kind: purchase  amount: 5B USD }",
        "rule big { severity: low  match d: deal where d.kind == investment  when d.amount > 1B USD  flag \"{d.id}\" }",
    );
    assert_eq!(messages(&r), ["b"]);
    assert_eq!(r.data_gaps.len(), 1);
    assert_eq!(&*r.data_gaps[0].bindings[0].fact, "a");
    assert_eq!(
        (
            &*r.data_gaps[0].missing[0].fact,
            &*r.data_gaps[0].missing[0].field
        ),
        ("a", "kind")
    );
}

/// An aggregate that is a function of its join key is computed once per key, and the deals of
/// one key share it; a sum that converted currencies is computed for each, so that every
/// finding's explanation shows the conversion.
#[test]
fn deals_of_one_key_share_their_sum_and_each_shows_its_conversions() {
    let r = run(
        "fx USD/CNY 7.10 on 2025-10-01
         deal p1 { buyer: C  seller: S  amount: 10B USD }
         deal p2 { buyer: C  seller: S  amount: 71B CNY }
         deal p3 { buyer: C  seller: T  amount: 3B USD }
         deal p4 { buyer: C  seller: T  amount: 4B USD }
         deal p5 { buyer: D  seller: T  amount: 5B USD }",
        "rule r { severity: low  match c: deal
           let total = sum(x.amount for x: deal where x.buyer == c.buyer and x.seller == c.seller)
           when total > 1B USD
           flag \"{c.id}: {total}\" }",
    );
    let mut findings: Vec<_> = r.findings.iter().collect();
    findings.sort_by(|a, b| a.message.cmp(&b.message));
    let found: Vec<_> = findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        found,
        [
            "p1: 142B CNY",
            "p2: 142B CNY",
            "p3: 7B USD",
            "p4: 7B USD",
            "p5: 5B USD"
        ]
    );
    let rates = |i: usize| {
        findings[i].trace[0]
            .conversions
            .iter()
            .map(|c| (c.base.code(), c.quote.code(), c.rate.to_string()))
            .collect::<Vec<_>>()
    };
    for i in 0..2 {
        assert_eq!(
            rates(i),
            [("USD", "CNY", "7.10".to_string())],
            "finding {i}"
        );
    }
    for i in 2..5 {
        assert_eq!(rates(i), [], "finding {i}");
    }
}
