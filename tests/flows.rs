//! Derived relations, recursion and cycles: exact results, each cycle once, termination, and
//! agreement with brute force on random graphs.
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
use std::collections::BTreeSet;

const FLOW: &str = "
relation flow(from: entity, to: entity, deal: deal, amount: any, date: any)
derive flow(d.payer, d.payee, d.id, d.amount, d.date) from d: deal
";

fn edges(list: &[(&str, &str, &str, u32)]) -> String {
    list.iter()
        .map(|(id, from, to, amount)| format!("deal {id} {{ payer: {from}  payee: {to}  amount: {amount}B USD  date: 2025-01-01 }}\n"))
        .collect()
}

fn cycles(r: &Report) -> Vec<String> {
    let mut ids: Vec<String> = r
        .findings
        .iter()
        .map(|f| f.bindings[0].fact.to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn each_simple_cycle_is_reported_once_whatever_the_rotation_or_parallel_deals() {
    let deals = edges(&[
        ("ab", "A", "B", 10),
        ("ab2", "A", "B", 5),
        ("bc", "B", "C", 10),
        ("ca", "C", "A", 10),
        ("ba", "B", "A", 1),
        ("cd", "C", "D", 1),
    ]);
    let rules = format!(
        "{FLOW} rule r {{ severity: high  match c: cycle flow max 5 hops  flag \"{{c.id}}\" }}"
    );
    let r = run(&deals, &rules);
    assert_eq!(cycles(&r), ["A > B > A", "A > B > C > A"]);
    let abca = r
        .findings
        .iter()
        .find(|f| &*f.bindings[0].fact == "A > B > C > A")
        .unwrap();
    let chain = &abca.chains[0];
    let deals: Vec<&str> = chain
        .hops
        .iter()
        .map(|h| &*h.deal.as_ref().unwrap().fact)
        .collect();
    assert_eq!(deals, ["ab", "bc", "ca"]);
    assert_eq!(chain.alternatives, 1, "ab2 links A and B too");
    assert_eq!(chain.hops[0].derived_by, "derive flow #1");
}

#[test]
fn hop_conditions_can_compare_with_the_first_hop() {
    let deals = edges(&[
        ("ab", "A", "B", 100),
        ("bc", "B", "C", 50),
        ("ca", "C", "A", 5),
        ("bd", "B", "D", 50),
        ("da", "D", "A", 20),
    ]);
    let rules = format!(
        "{FLOW} rule r {{ severity: high  match c: cycle flow max 5 hops where hop.amount >= 10% * first.amount  flag \"{{c.id}}\" }}"
    );
    // A > B > C > A returns 5B on 100B: less than 10% of the first hop, so it is not a cycle here.
    assert_eq!(cycles(&run(&deals, &rules)), ["A > B > D > A"]);
}

#[test]
fn max_hops_bounds_the_cycles() {
    let deals = edges(&[
        ("ab", "A", "B", 1),
        ("bc", "B", "C", 1),
        ("cd", "C", "D", 1),
        ("da", "D", "A", 1),
        ("ca", "C", "A", 1),
    ]);
    let rules = |n: u32| {
        format!("{FLOW} rule r {{ severity: high  match c: cycle flow max {n} hops  flag \"x\" }}")
    };
    assert_eq!(cycles(&run(&deals, &rules(3))), ["A > B > C > A"]);
    assert_eq!(
        cycles(&run(&deals, &rules(4))),
        ["A > B > C > A", "A > B > C > D > A"]
    );
}

#[test]
fn recursive_relations_reach_a_fixpoint() {
    let deals = edges(&[
        ("ab", "A", "B", 1),
        ("bc", "B", "C", 1),
        ("cd", "C", "D", 1),
        ("da", "D", "A", 1),
        ("xy", "X", "Y", 1),
    ]);
    let rules = format!(
        "{FLOW}
         relation reaches(from: entity, to: entity)
         derive reaches(f.from, f.to) from f: flow
         derive reaches(r.from, f.to) from r: reaches  f: flow where f.from == r.to
         rule r {{ severity: info  match x: reaches where x.from == A  flag \"{{x.to}}\" }}"
    );
    let r = run(&deals, &rules);
    let mut reached: Vec<&str> = r.findings.iter().map(|f| f.message.as_str()).collect();
    reached.sort();
    assert_eq!(reached, ["A", "B", "C", "D"]);
}

#[test]
fn recursion_through_negation_is_refused() {
    let mut engine = Engine::new();
    engine
        .load("t.deals", edges(&[("ab", "A", "B", 1)]))
        .unwrap();
    engine
        .load(
            "t.rules",
            format!(
                "{FLOW}
                 relation odd(from: entity, to: entity)
                 derive odd(f.from, f.to) from f: flow where not exists o: odd where o.from == f.to"
            ),
        )
        .unwrap();
    let err = engine.evaluate().unwrap_err();
    assert_eq!(
        err.diagnostics[0].message,
        "`odd` depends on itself through `exists` or an aggregate over `odd`"
    );
}

#[test]
fn a_runaway_recursive_derive_stops_with_an_error() {
    let mut engine = Engine::new();
    engine.set_budgets(dealrules::eval::Budgets {
        max_derived_rows: 100,
        ..Default::default()
    });
    engine.load("t.deals", "deal seed { n: 1 }").unwrap();
    engine
        .load(
            "t.rules",
            "relation count(n: number)
             derive count(d.n) from d: deal
             derive count(c.n + 1) from c: count",
        )
        .unwrap();
    let r = engine.evaluate().unwrap();
    assert_eq!(r.errors.len(), 1);
    assert!(
        r.errors[0]
            .message
            .starts_with("derived relations stopped after 100 rows"),
        "{}",
        r.errors[0].message
    );
}

/// A small deterministic generator (no external randomness): a linear congruential sequence.
fn random_edges(nodes: usize, edges: usize, seed: u64) -> Vec<(usize, usize)> {
    let mut x = seed;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) as usize
    };
    let mut out = BTreeSet::new();
    while out.len() < edges {
        let (a, b) = (next() % nodes, next() % nodes);
        if a != b {
            out.insert((a, b));
        }
    }
    out.into_iter().collect()
}

fn brute_force_cycles(nodes: usize, edges: &[(usize, usize)], max: usize) -> usize {
    let set: BTreeSet<(usize, usize)> = edges.iter().copied().collect();
    let mut found = BTreeSet::new();
    fn extend(
        path: &mut Vec<usize>,
        set: &BTreeSet<(usize, usize)>,
        nodes: usize,
        max: usize,
        found: &mut BTreeSet<Vec<usize>>,
    ) {
        let last = *path.last().unwrap();
        if path.len() > 1 && set.contains(&(last, path[0])) {
            // Canonical rotation: starting at the smallest node.
            let min = path.iter().enumerate().min_by_key(|(_, n)| **n).unwrap().0;
            let mut c = path[min..].to_vec();
            c.extend_from_slice(&path[..min]);
            found.insert(c);
        }
        if path.len() == max {
            return;
        }
        for n in 0..nodes {
            if !path.contains(&n) && set.contains(&(last, n)) {
                path.push(n);
                extend(path, set, nodes, max, found);
                path.pop();
            }
        }
    }
    for s in 0..nodes {
        extend(&mut vec![s], &set, nodes, max, &mut found);
    }
    found.len()
}

fn graph_deals(edges: &[(usize, usize)]) -> String {
    edges
        .iter()
        .enumerate()
        .map(|(i, (a, b))| {
            format!("deal e{i} {{ payer: n{a:05}  payee: n{b:05}  amount: 1B USD }}\n")
        })
        .collect()
}

#[test]
fn cycles_match_brute_force_on_small_random_graphs() {
    for seed in 1..=5 {
        let edges = random_edges(9, 24, seed);
        let rules = format!(
            "{FLOW} rule r {{ severity: info  match c: cycle flow max 5 hops  flag \"x\" }}"
        );
        let r = run(&graph_deals(&edges), &rules);
        assert_eq!(
            r.findings.len(),
            brute_force_cycles(9, &edges, 5),
            "seed {seed}"
        );
    }
}

#[test]
fn a_10000_entity_random_graph_finishes() {
    let edges = random_edges(10_000, 30_000, 7);
    let rules =
        format!("{FLOW} rule r {{ severity: info  match c: cycle flow max 4 hops  flag \"x\" }}");
    let r = run(&graph_deals(&edges), &rules);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // Every reported cycle is simple and starts at its smallest entity.
    for f in &r.findings {
        let id = &*f.bindings[0].fact;
        let nodes: Vec<&str> = id.split(" > ").collect();
        let inner = &nodes[..nodes.len() - 1];
        assert_eq!(nodes.first(), nodes.last());
        assert_eq!(inner.iter().collect::<BTreeSet<_>>().len(), inner.len());
        assert_eq!(inner.iter().min(), inner.first());
    }
}

#[test]
fn a_derive_is_limited_by_the_derived_row_budget_not_by_the_results_of_one_rule() {
    // Five flow rows make one cycle; each rule may give only two results.
    let mut engine = Engine::new();
    engine.set_budgets(dealrules::eval::Budgets {
        max_results: 2,
        ..Default::default()
    });
    let deals = edges(&[
        ("ab", "A", "B", 1),
        ("bc", "B", "C", 1),
        ("cd", "C", "D", 1),
        ("de", "D", "E", 1),
        ("ea", "E", "A", 1),
    ]);
    engine.load("t.deals", deals).unwrap();
    let rules = format!(
        "{FLOW} rule r {{ severity: high  match c: cycle flow max 5 hops  flag \"{{c.id}}\" }}"
    );
    engine.load("t.rules", rules).unwrap();
    let r = engine.evaluate().unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(cycles(&r), ["A > B > C > D > E > A"]);
}

/// Which rules read derived relations (and so wait for them): a pattern over rows or cycles,
/// or a sub-query over rows anywhere in the rule; the others run while relations are derived.
#[test]
fn rules_that_read_relations_are_told_apart() {
    let text = format!(
        "{FLOW}
rule over_rows {{ severity: low  match f: flow  flag \"{{f.deal}}\" }}
rule over_cycles {{ severity: low  match c: cycle flow max 3 hops  flag \"{{c.id}}\" }}
rule counts_rows {{ severity: low  when count(f for f: flow where f.deal == id) > 1  flag \"{{id}}\" }}
rule in_message {{ severity: low  match d: deal  flag \"{{sum(f.amount for f: flow where f.from == d.payer)}}\" }}
rule deals_only {{ severity: low  match d: deal  when not exists e: deal where e.payer == d.payee  flag \"{{d.id}}\" }}
"
    );
    let (file, diags) = dealrules::syntax::parse(dealrules::diag::FileId::new(0), &text);
    assert!(diags.is_empty(), "{diags:?}");
    let read: Vec<(String, bool)> = file
        .items
        .iter()
        .filter_map(|i| match i {
            dealrules::syntax::Item::Rule(r) => Some((r.id.name.to_string(), r.reads_relations())),
            _ => None,
        })
        .collect();
    let expected = [
        ("over_rows", true),
        ("over_cycles", true),
        ("counts_rows", true),
        ("in_message", true),
        ("deals_only", false),
    ];
    assert_eq!(read, expected.map(|(n, b)| (n.to_string(), b)).to_vec());
}

/// A row's column taken from inside a record holds the number the symbol had where the record
/// was made, maybe another engine's: the row is numbered by its text, so a join on it still
/// finds the entity.
#[test]
fn a_row_column_read_inside_a_record_from_another_engine_still_joins() {
    let mut a = Engine::new();
    a.load(
        "a.deals",
        "entity X { type: company }\nentity Y { type: company }",
    )
    .unwrap();
    let x_from_a = a.facts().id_value(a.facts().find("X").unwrap()).unwrap();
    let mut b = Engine::new();
    // The same names in the other order: `X` has another number here.
    b.load(
        "b.deals",
        "entity Y { type: company }\nentity X { type: company }",
    )
    .unwrap();
    let mut record = indexmap::IndexMap::new();
    record.insert(std::sync::Arc::<str>::from("party"), x_from_a);
    let deal = dealrules::Fact::deal("d1")
        .with("kind", dealrules::Value::symbol("investment"))
        .with("rec", dealrules::Value::Record(std::sync::Arc::new(record)));
    b.add_fact(deal).unwrap();
    b.load(
        "r.rules",
        r#"relation r(who: entity)
derive r(d.rec.party) from d: deal
rule j { severity: low  match x: r  e: entity  when x.who == e.id  flag "row {x.who} joined entity {e.id}" }"#,
    )
    .unwrap();
    let report = b.evaluate().unwrap();
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["row X joined entity X"]);
}

/// A derive over more bindings than it makes rows at once (4,096): a row made again, in the
/// same batch or a later one, is kept once.
#[test]
fn rows_made_again_across_batches_are_kept_once() {
    let mut deals = String::from(
        "entity A { type: company }\nentity B { type: company }\nentity C { type: company }\n",
    );
    for i in 0..9000 {
        let investee = if i % 3 == 2 { "C" } else { "B" };
        deals.push_str(&format!(
            "deal d{i:05} {{ kind: investment  investor: A  investee: {investee} }}\n"
        ));
    }
    let rules = r#"relation pair(from: entity, to: entity)
derive pair(d.investor, d.investee) from d: deal
rule p { severity: low  match x: pair  flag "{x.from}>{x.to}" }"#;
    let report = run(&deals, rules);
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    // Findings come in the report's order, not the rows'.
    assert_eq!(messages, ["A>C", "A>B"]);
}
