//! The performance workloads of docs/performance.md, each beside its baselines in one criterion
//! group, over deals from the seeded generator (`support/generate.rs`):
//!
//! - `w1_load`: parse + check of a generated deal file (`Engine::load`), bytes per second; beside
//!   it the engine's CSV input of the same facts, `serde_json` reading the same facts as JSON, and
//!   the `csv` crate reading the CSV records.
//! - `w2_vendor_financing`: the `vendor_financing` rule over loaded facts (`Engine::evaluate`)
//!   vs a hand-written hash join over plain structs and vs SQLite (in memory, indexed).
//! - `w3_commitments`: `commitments_to_one_seller_vs_revenue` (sum by buyer and seller vs the
//!   buyer's revenue) vs SQLite and vs a hand-written hash aggregation.
//! - With the feature `bench-duckdb`, W2 and W3 are also timed against DuckDB (in memory, the
//!   same tables and SQL as SQLite); without it DuckDB is not built.
//! - `w4_cycles`: `circular_flow` of `rules/flows.rules` (derive the flow graph, simple cycles of
//!   2-5 hops) vs the same query in `ascent` and vs a hand-written bounded depth-first search.
//!
//! Before timing, each baseline's answer is checked equal to the engine's findings. Sizes come
//! from `DEALRULES_BENCH_SIZES` (deals, comma-separated) when set; W5 (the whole pack through the
//! command line on 1M deals) is `benches/w5.sh`.
#![allow(
    clippy::disallowed_types,
    reason = "the hand-written baselines use hash maps whose order never reaches output"
)]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark harness: a wrong answer or bad setup stops it loudly"
)]

#[allow(
    dead_code,
    reason = "not every helper of the shared generator is used here"
)]
#[path = "support/generate.rs"]
mod generate;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dealrules::Engine;
use generate::{Data, Kind};
use std::collections::BTreeSet;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

type FoldMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

const SEED: u64 = 1;

/// The sizes to run, from `DEALRULES_BENCH_SIZES` or the default.
fn sizes(default: &[usize]) -> Vec<usize> {
    match std::env::var("DEALRULES_BENCH_SIZES") {
        Ok(s) if !s.trim().is_empty() => {
            let wanted: Vec<usize> = s
                .split(',')
                .map(|n| {
                    n.trim()
                        .replace('_', "")
                        .parse()
                        .expect("a number of deals")
                })
                .collect();
            default
                .iter()
                .copied()
                .filter(|n| wanted.contains(n))
                .collect()
        }
        _ => default.to_vec(),
    }
}

fn label(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

fn data(deals: usize) -> Data {
    generate::generate(&generate::Config::new(deals, SEED))
}

/// The text of rule file `rules/FILE`.
fn rule_file(file: &str) -> String {
    let path = format!("{}/rules/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

/// The declaration of rule `id` in the shipped `rules/FILE`, from `rule ID` to its closing `}`.
fn shipped_rule(file: &str, id: &str) -> String {
    let text = rule_file(file);
    let start = text
        .find(&format!("rule {id} "))
        .expect("the rule is shipped");
    let len = text[start..].find("\n}\n").expect("the rule ends") + 3;
    text[start..start + len].to_string()
}

/// An engine with the deals of `data` and the given rule text loaded.
fn engine(deals: &Arc<str>, rules: &str) -> Engine {
    let mut engine = Engine::new();
    engine.load("synthetic.deals", deals.clone()).unwrap();
    engine.load("bench.rules", rules).unwrap();
    engine
}

/// The ids of the facts of each finding of `rule`.
fn findings(engine: &Engine) -> BTreeSet<Vec<String>> {
    let report = engine.evaluate().unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
        .findings
        .iter()
        .map(|f| f.facts().map(str::to_string).collect())
        .collect()
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
}

// ---------------------------------------------------------------------------------------------
// W1: parse + check
// ---------------------------------------------------------------------------------------------

fn w1_load(c: &mut Criterion) {
    let mut group = c.benchmark_group("w1_load");
    configure(&mut group);
    for n in sizes(&[10_000, 100_000]) {
        let data = data(n);
        let deals: Arc<str> = Arc::from(data.to_deals());
        let csv: Arc<str> = Arc::from(data.to_csv());
        let json = {
            let mut e = Engine::new();
            e.load("synthetic.deals", deals.clone()).unwrap();
            dealrules::input::to_json(e.facts().iter().map(|(_, f)| f)).unwrap()
        };
        let facts = data.entities.len() + data.deals.len();

        group.throughput(Throughput::Bytes(deals.len() as u64));
        group.bench_function(BenchmarkId::new("engine_deals_file", label(n)), |b| {
            b.iter_with_large_drop(|| {
                let mut e = Engine::new();
                e.load("synthetic.deals", deals.clone()).unwrap();
                assert_eq!(e.facts().len(), facts);
                e
            });
        });
        group.throughput(Throughput::Bytes(csv.len() as u64));
        group.bench_function(BenchmarkId::new("engine_csv", label(n)), |b| {
            b.iter_with_large_drop(|| {
                let mut e = Engine::new();
                dealrules::input::load_csv(&mut e, "synthetic.csv", csv.clone()).unwrap();
                assert_eq!(e.facts().len(), facts);
                e
            });
        });
        group.bench_function(
            BenchmarkId::new("baseline_csv_crate_records", label(n)),
            |b| {
                b.iter(|| {
                    let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
                    let mut record = csv::StringRecord::new();
                    let mut rows = 0;
                    while reader.read_record(&mut record).unwrap() {
                        rows += 1;
                    }
                    assert_eq!(rows, facts);
                });
            },
        );
        group.throughput(Throughput::Bytes(json.len() as u64));
        group.bench_function(BenchmarkId::new("engine_json", label(n)), |b| {
            b.iter_with_large_drop(|| {
                let mut e = Engine::new();
                dealrules::input::load_json(&mut e, "synthetic.json", json.as_str()).unwrap();
                assert_eq!(e.facts().len(), facts);
                e
            });
        });
        group.bench_function(
            BenchmarkId::new("baseline_serde_json_value", label(n)),
            |b| {
                b.iter_with_large_drop(|| {
                    serde_json::from_str::<serde_json::Value>(&json).unwrap()
                });
            },
        );
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// W2: the vendor-financing join
// ---------------------------------------------------------------------------------------------

/// A row of table `deal` (see [`TABLES_SQL`]), as the parameters of an insert in SQLite or
/// DuckDB: id, kind, investor, investee, buyer, seller, lessee, lessor, amount.
type DealRow<'d> = (
    &'d str,
    &'static str,
    Option<&'d str>,
    Option<&'d str>,
    Option<&'d str>,
    Option<&'d str>,
    Option<&'d str>,
    Option<&'d str>,
    Option<i64>,
);

fn deal_row<'d>(data: &'d Data, d: &'d generate::Deal) -> DealRow<'d> {
    let (from, to) = (&data.entities[d.from].id, &data.entities[d.to].id);
    let (from, to) = (Some(from.as_str()), Some(to.as_str()));
    let [a, b, c, e, f, g] = match d.kind {
        Kind::Investment => [from, to, None, None, None, None],
        Kind::Purchase | Kind::CloudContract => [None, None, from, to, None, None],
        Kind::Lease => [None, None, None, None, from, to],
        _ => [None; 6],
    };
    (&d.id, d.kind.name(), a, b, c, e, f, g, d.amount)
}

/// A row of table `entity`: id, revenue.
fn entity_row(e: &generate::Entity) -> (&str, Option<i64>) {
    (&e.id, e.revenue_2025)
}

/// The tables of the SQL baselines. Money is whole US dollars in 64-bit integers: the generator
/// makes whole-dollar amounts only, so the integers are exact (a sum of 1M deals stays far below
/// 2^63).
const TABLES_SQL: &str = "CREATE TABLE entity (id TEXT PRIMARY KEY, revenue_2025 BIGINT);
    CREATE TABLE deal (id TEXT PRIMARY KEY, kind TEXT NOT NULL, investor TEXT,
      investee TEXT, buyer TEXT, seller TEXT, lessee TEXT, lessor TEXT, amount BIGINT);";

/// An in-memory SQLite database of the generated facts ([`TABLES_SQL`]), indexed on the join
/// keys.
fn sqlite(data: &Data) -> rusqlite::Connection {
    let mut db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch(TABLES_SQL).unwrap();
    let tx = db.transaction().unwrap();
    {
        let mut put = tx.prepare("INSERT INTO entity VALUES (?1, ?2)").unwrap();
        for e in &data.entities {
            put.execute(entity_row(e)).unwrap();
        }
        let mut put = tx
            .prepare("INSERT INTO deal VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
            .unwrap();
        for d in &data.deals {
            put.execute(deal_row(data, d)).unwrap();
        }
    }
    tx.commit().unwrap();
    db.execute_batch(
        "CREATE INDEX deal_kind ON deal (kind);
         CREATE INDEX deal_buyer_seller ON deal (buyer, seller);
         CREATE INDEX deal_investee_investor ON deal (investee, investor);
         CREATE INDEX deal_lessee ON deal (lessee);
         ANALYZE;",
    )
    .unwrap();
    db
}

/// An in-memory DuckDB database of the same tables and rows as [`sqlite`], loaded with DuckDB's
/// appender. No index: DuckDB answers these joins and groupings with hash tables of its own.
#[cfg(feature = "bench-duckdb")]
fn duckdb(data: &Data) -> duckdb::Connection {
    let db = duckdb::Connection::open_in_memory().unwrap();
    db.execute_batch(TABLES_SQL).unwrap();
    {
        let mut put = db.appender("entity").unwrap();
        for e in &data.entities {
            put.append_row(entity_row(e)).unwrap();
        }
        let mut put = db.appender("deal").unwrap();
        for d in &data.deals {
            put.append_row(deal_row(data, d)).unwrap();
        }
    }
    db
}

/// The rows of `$sql` on connection `$db` (rusqlite or duckdb, whose APIs agree), each made by
/// `$row` from the row.
macro_rules! query_rows {
    ($db:expr, $sql:expr, $row:expr) => {{
        let mut q = $db.prepare_cached($sql).unwrap();
        q.query_map([], $row)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }};
}

const VENDOR_SQL: &str = "SELECT inv.id, buy.id FROM deal inv JOIN deal buy
    ON buy.buyer = inv.investee AND buy.seller = inv.investor
    WHERE inv.kind = 'investment' AND buy.kind IN ('purchase', 'cloud_contract')";

fn vendor_sql(db: &rusqlite::Connection) -> Vec<(String, String)> {
    query_rows!(db, VENDOR_SQL, |r| Ok((r.get(0)?, r.get(1)?)))
}

#[cfg(feature = "bench-duckdb")]
fn vendor_duckdb(db: &duckdb::Connection) -> Vec<(String, String)> {
    query_rows!(db, VENDOR_SQL, |r| Ok((r.get(0)?, r.get(1)?)))
}

/// The hand-written hash join: investments by (investee, investor), probed with each purchase's
/// (buyer, seller).
fn vendor_hash_join(data: &Data) -> Vec<(usize, usize)> {
    let id = |i: usize| data.entities[i].id.as_str();
    let mut index: FoldMap<(&str, &str), Vec<usize>> = FoldMap::default();
    for (i, d) in data.deals.iter().enumerate() {
        if d.kind == Kind::Investment {
            index.entry((id(d.to), id(d.from))).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (j, d) in data.deals.iter().enumerate() {
        if matches!(d.kind, Kind::Purchase | Kind::CloudContract)
            && let Some(invs) = index.get(&(id(d.from), id(d.to)))
        {
            out.extend(invs.iter().map(|&i| (i, j)));
        }
    }
    out
}

fn w2_vendor_financing(c: &mut Criterion) {
    let rule = shipped_rule("vendor_financing.rules", "vendor_financing");
    let mut group = c.benchmark_group("w2_vendor_financing");
    configure(&mut group);
    for n in sizes(&[10_000, 100_000, 1_000_000]) {
        let data = data(n);
        let engine = engine(&Arc::from(data.to_deals()), &rule);
        let db = sqlite(&data);
        let expected = findings(&engine);
        assert_eq!(expected.len(), data.vendor_pairs.len());
        let joined: BTreeSet<Vec<String>> = vendor_hash_join(&data)
            .into_iter()
            .map(|(i, j)| vec![data.deals[i].id.clone(), data.deals[j].id.clone()])
            .collect();
        assert_eq!(joined, expected);
        let pairs = |rows: Vec<(String, String)>| -> BTreeSet<Vec<String>> {
            rows.into_iter().map(|(a, b)| vec![a, b]).collect()
        };
        assert_eq!(pairs(vendor_sql(&db)), expected);
        #[cfg(feature = "bench-duckdb")]
        let duck = duckdb(&data);
        #[cfg(feature = "bench-duckdb")]
        assert_eq!(pairs(vendor_duckdb(&duck)), expected);

        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("engine", label(n)), |b| {
            b.iter(|| black_box(engine.evaluate().unwrap()));
        });
        group.bench_function(BenchmarkId::new("baseline_hash_join", label(n)), |b| {
            b.iter(|| black_box(vendor_hash_join(&data)));
        });
        group.bench_function(BenchmarkId::new("baseline_sqlite", label(n)), |b| {
            b.iter(|| black_box(vendor_sql(&db)));
        });
        #[cfg(feature = "bench-duckdb")]
        group.bench_function(BenchmarkId::new("baseline_duckdb", label(n)), |b| {
            b.iter(|| black_box(vendor_duckdb(&duck)));
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// W3: commitments by buyer and seller vs revenue
// ---------------------------------------------------------------------------------------------

/// The rule's parameter `ratio_limit`.
const RATIO_LIMIT: i64 = 10;

/// Per (buyer, seller) of purchases and cloud contracts: the sum of the amounts and the first
/// deal by id, kept when the sum exceeds 10 times the buyer's revenue. Missing amounts are not
/// summed (SQL `SUM` skips `NULL`, the engine's `sum` skips missing values); a buyer with no
/// revenue is not selected (the engine reports a data gap, not a finding).
const COMMITMENTS_SQL: &str = "SELECT g.first FROM (
      SELECT buyer, seller, SUM(amount) AS total, MIN(id) AS first FROM deal
      WHERE kind IN ('purchase', 'cloud_contract') GROUP BY buyer, seller) g
    JOIN entity b ON b.id = g.buyer
    WHERE g.total > 10 * b.revenue_2025";

fn commitments_sql(db: &rusqlite::Connection) -> Vec<String> {
    query_rows!(db, COMMITMENTS_SQL, |r| r.get(0))
}

#[cfg(feature = "bench-duckdb")]
fn commitments_duckdb(db: &duckdb::Connection) -> Vec<String> {
    query_rows!(db, COMMITMENTS_SQL, |r| r.get(0))
}

/// The hand-written hash aggregation of the same query.
fn commitments_hash(data: &Data) -> Vec<usize> {
    let mut groups: FoldMap<(usize, usize), (i64, usize)> = FoldMap::default();
    for (i, d) in data.deals.iter().enumerate() {
        if matches!(d.kind, Kind::Purchase | Kind::CloudContract) {
            let g = groups.entry((d.from, d.to)).or_insert((0, i));
            g.0 += d.amount.unwrap_or(0);
        }
    }
    groups
        .into_iter()
        .filter(|((buyer, _), (total, _))| {
            data.entities[*buyer]
                .revenue_2025
                .is_some_and(|r| *total > RATIO_LIMIT * r)
        })
        .map(|(_, (_, first))| first)
        .collect()
}

fn w3_commitments(c: &mut Criterion) {
    let rule = shipped_rule("commitments.rules", "commitments_to_one_seller_vs_revenue");
    assert!(rule.contains(&format!("param ratio_limit = {RATIO_LIMIT}\n")));
    let mut group = c.benchmark_group("w3_commitments");
    configure(&mut group);
    for n in sizes(&[10_000, 100_000, 1_000_000]) {
        let data = data(n);
        let engine = engine(&Arc::from(data.to_deals()), &rule);
        let db = sqlite(&data);
        let expected = findings(&engine);
        assert!(!expected.is_empty());
        let hashed: BTreeSet<Vec<String>> = commitments_hash(&data)
            .into_iter()
            .map(|i| vec![data.deals[i].id.clone()])
            .collect();
        assert_eq!(hashed, expected);
        let firsts = |rows: Vec<String>| -> BTreeSet<Vec<String>> {
            rows.into_iter().map(|a| vec![a]).collect()
        };
        assert_eq!(firsts(commitments_sql(&db)), expected);
        #[cfg(feature = "bench-duckdb")]
        let duck = duckdb(&data);
        #[cfg(feature = "bench-duckdb")]
        assert_eq!(firsts(commitments_duckdb(&duck)), expected);
        eprintln!("w3 {}: {} findings", label(n), expected.len());

        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("engine", label(n)), |b| {
            b.iter(|| black_box(engine.evaluate().unwrap()));
        });
        group.bench_function(BenchmarkId::new("baseline_sqlite", label(n)), |b| {
            b.iter(|| black_box(commitments_sql(&db)));
        });
        #[cfg(feature = "bench-duckdb")]
        group.bench_function(BenchmarkId::new("baseline_duckdb", label(n)), |b| {
            b.iter(|| black_box(commitments_duckdb(&duck)));
        });
        group.bench_function(BenchmarkId::new("baseline_hash_aggregate", label(n)), |b| {
            b.iter(|| black_box(commitments_hash(&data)));
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// W4: cycles of 2-5 hops
// ---------------------------------------------------------------------------------------------

/// The flow edges of the deals (as `rules/flows.rules` derives them): (from, to, deal), entities
/// and deals by index. Entity ids sort as their indexes, so `<` on indexes is the engine's
/// order of entity names.
fn flow_edges(data: &Data) -> Vec<(u32, u32, u32)> {
    data.deals
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind.is_flow())
        .map(|(i, d)| (d.from as u32, d.to as u32, i as u32))
        .collect()
}

/// A cycle as the engine names its fact: the entities from the smallest, back to it.
fn cycle_name(data: &Data, nodes: &[u32]) -> String {
    let mut ids: Vec<&str> = nodes
        .iter()
        .map(|&n| data.entities[n as usize].id.as_str())
        .collect();
    ids.push(ids[0]);
    ids.join(" > ")
}

/// One cycle: its entities from the smallest, and the deal of each hop (the first by id of
/// the deals between the same two entities).
type Cycle = (Vec<u32>, Vec<u32>);

/// The hand-written bounded depth-first search: from each entity `s`, simple paths of at most
/// `MAX_HOPS` hops through entities greater than `s`, closed by an edge back to `s`.
fn cycles_dfs(data: &Data) -> Vec<Cycle> {
    const MAX_HOPS: usize = 5;
    let n = data.entities.len();
    let mut adjacency: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n];
    for (from, to, deal) in flow_edges(data) {
        adjacency[from as usize].push((to, deal));
    }
    for edges in &mut adjacency {
        edges.sort_unstable();
        edges.dedup_by_key(|e| e.0);
    }
    fn dfs(
        adjacency: &[Vec<(u32, u32)>],
        start: u32,
        nodes: &mut Vec<u32>,
        deals: &mut Vec<u32>,
        out: &mut Vec<Cycle>,
    ) {
        let here = *nodes.last().unwrap();
        for &(to, deal) in &adjacency[here as usize] {
            if to == start {
                deals.push(deal);
                out.push((nodes.clone(), deals.clone()));
                deals.pop();
            } else if to > start && deals.len() + 1 < MAX_HOPS && !nodes.contains(&to) {
                nodes.push(to);
                deals.push(deal);
                dfs(adjacency, start, nodes, deals, out);
                deals.pop();
                nodes.pop();
            }
        }
    }
    let mut out = Vec::new();
    for s in 0..n as u32 {
        let (mut nodes, mut deals) = (vec![s], Vec::new());
        dfs(&adjacency, s, &mut nodes, &mut deals, &mut out);
    }
    out
}

#[allow(
    clippy::all,
    unused_parens,
    reason = "code generated by the ascent macro"
)]
/// Simple cycles of 2 to 5 hops in `ascent`, each from its smallest entity, with the first deal
/// of each hop (by id) as provenance.
mod datalog {
    use ascent::aggregators::min;
    use ascent::ascent;

    ascent! {
        pub struct Cycles;
        relation flow(u32, u32, u32);
        relation edge(u32, u32, u32);
        edge(a, b, d) <-- flow(a, b, _), agg d = min(x) in flow(a, b, x);

        relation cycle2(u32, u32, u32, u32);
        cycle2(a, b, d1, d2) <-- edge(a, b, d1), if a < b, edge(b, a, d2);

        relation cycle3(u32, u32, u32, u32, u32, u32);
        cycle3(a, b, c, d1, d2, d3) <--
            edge(a, b, d1), if a < b, edge(b, c, d2), if a < c, edge(c, a, d3);

        relation cycle4(u32, u32, u32, u32, u32, u32, u32, u32);
        cycle4(a, b, c, e, d1, d2, d3, d4) <--
            edge(a, b, d1), if a < b, edge(b, c, d2), if a < c,
            edge(c, e, d3), if a < e && e != b, edge(e, a, d4);

        relation cycle5(u32, u32, u32, u32, u32, u32, u32, u32, u32, u32);
        cycle5(a, b, c, e, f, d1, d2, d3, d4, d5) <--
            edge(a, b, d1), if a < b, edge(b, c, d2), if a < c,
            edge(c, e, d3), if a < e && e != b,
            edge(e, f, d4), if a < f && f != b && f != c, edge(f, a, d5);
    }
}

fn cycles_ascent(data: &Data) -> Vec<Cycle> {
    let mut program = datalog::Cycles::default();
    program.flow = flow_edges(data);
    program.run();
    let mut out: Vec<Cycle> = Vec::new();
    out.extend(
        program
            .cycle2
            .iter()
            .map(|&(a, b, d1, d2)| (vec![a, b], vec![d1, d2])),
    );
    out.extend(
        program
            .cycle3
            .iter()
            .map(|&(a, b, c, d1, d2, d3)| (vec![a, b, c], vec![d1, d2, d3])),
    );
    out.extend(
        program
            .cycle4
            .iter()
            .map(|&(a, b, c, e, d1, d2, d3, d4)| (vec![a, b, c, e], vec![d1, d2, d3, d4])),
    );
    out.extend(
        program
            .cycle5
            .iter()
            .map(|&(a, b, c, e, f, d1, d2, d3, d4, d5)| {
                (vec![a, b, c, e, f], vec![d1, d2, d3, d4, d5])
            }),
    );
    out
}

fn w4_cycles(c: &mut Criterion) {
    let rules = rule_file("flows.rules");
    let mut group = c.benchmark_group("w4_cycles");
    configure(&mut group);
    for n in sizes(&[10_000, 100_000]) {
        let data = data(n);
        let engine = engine(&Arc::from(data.to_deals()), &rules);
        let expected: BTreeSet<String> = findings(&engine)
            .into_iter()
            .map(|f| f[0].clone())
            .collect();
        assert_eq!(expected.len(), data.vendor_pairs.len() + data.cycles.len());
        let named = |cycles: Vec<Cycle>| -> BTreeSet<String> {
            cycles
                .iter()
                .map(|(nodes, _)| cycle_name(&data, nodes))
                .collect()
        };
        let dfs = cycles_dfs(&data);
        let ascent = cycles_ascent(&data);
        let hops = |cycles: &[Cycle]| {
            let mut v: Vec<Cycle> = cycles.to_vec();
            v.sort();
            v
        };
        assert_eq!(hops(&dfs), hops(&ascent));
        assert_eq!(named(dfs), expected);
        assert_eq!(named(ascent), expected);
        eprintln!(
            "w4 {}: {} flow edges, {} entities, {} cycles",
            label(n),
            flow_edges(&data).len(),
            data.entities.len(),
            expected.len()
        );

        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("engine", label(n)), |b| {
            b.iter(|| black_box(engine.evaluate().unwrap()));
        });
        group.bench_function(BenchmarkId::new("baseline_ascent", label(n)), |b| {
            b.iter(|| black_box(cycles_ascent(&data)));
        });
        group.bench_function(BenchmarkId::new("baseline_dfs", label(n)), |b| {
            b.iter(|| black_box(cycles_dfs(&data)));
        });
    }
    group.finish();
}

criterion_group!(
    workloads,
    w1_load,
    w2_vendor_financing,
    w3_commitments,
    w4_cycles
);
criterion_main!(workloads);
