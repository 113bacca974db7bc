//! Differential testing against SQLite: random deals and random rules from a subset of the
//! language (joins on equality, comparisons, correlated `not exists`, `count` and `sum`
//! compared with a constant), each rule also written as SQL; the sets of bound fact ids of the
//! findings must equal the rows of the query.
//!
//! Semantics matched:
//! - a missing field is SQL `NULL`; comparisons, `and`, `or` and `not` are three-valued in both,
//!   and a rule fires (a row is selected) only when every condition is true;
//! - `not exists` and the aggregates count a candidate only when its condition is true, like a
//!   SQL sub-query's `WHERE`;
//! - an empty `sum` is `0` (`COALESCE(SUM(..), 0)`), values missing in a `sum` are not counted
//!   (SQL `SUM` skips `NULL`), `count` counts the matching facts (`COUNT(*)`).
//!
//! One difference is by design and written into the SQL: when an outer value an `exists` or
//! an aggregate is correlated on by equality (`z.a == p1.b`) is missing, the engine makes the
//! whole `exists` / aggregate *unknown* (docs/language.md, "`exists` and `not exists`"), so the
//! rule does not fire; SQL would evaluate `NOT EXISTS` to true and `COUNT(*)` to 0. The SQL
//! therefore adds `p1.b IS NOT NULL`.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

use std::collections::BTreeSet;
use std::fmt::Write as _;

use dealrules::Engine;
use proptest::prelude::*;

/// Symbol fields take values from `SYMS`, number fields from `0..NUMS`.
const SYM_FIELDS: [&str; 2] = ["a", "b"];
const NUM_FIELDS: [&str; 2] = ["x", "y"];
const SYMS: [&str; 3] = ["red", "green", "blue"];
const NUMS: i64 = 4;

#[derive(Clone, Debug)]
struct Deal {
    syms: [Option<usize>; 2],
    nums: [Option<i64>; 2],
}

fn deal() -> impl Strategy<Value = Deal> {
    (
        [
            proptest::option::weighted(0.8, 0..SYMS.len()),
            proptest::option::weighted(0.8, 0..SYMS.len()),
        ],
        [
            proptest::option::weighted(0.8, 0..NUMS),
            proptest::option::weighted(0.8, 0..NUMS),
        ],
    )
        .prop_map(|(syms, nums)| Deal { syms, nums })
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
}

impl Op {
    fn dsl(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
        }
    }
    fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Gt => ">",
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![Just(Op::Eq), Just(Op::Ne), Just(Op::Lt), Just(Op::Gt)]
}

fn eq_op() -> impl Strategy<Value = Op> {
    prop_oneof![Just(Op::Eq), Just(Op::Ne)]
}

/// A condition on one binding, rendered with the binding's name.
#[derive(Clone, Debug)]
enum Cond {
    /// `v.SYM op symbol` (`==`/`!=`).
    SymConst(usize, Op, usize),
    /// `v.SYM op v.SYM` (`==`/`!=`).
    SymField(usize, Op, usize),
    /// `v.NUM op constant`.
    NumConst(usize, Op, i64),
    /// `v.NUM op v.NUM`.
    NumField(usize, Op, usize),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

fn cond() -> impl Strategy<Value = Cond> {
    let leaf = prop_oneof![
        (0..2usize, eq_op(), 0..SYMS.len()).prop_map(|(f, o, c)| Cond::SymConst(f, o, c)),
        (0..2usize, eq_op(), 0..2usize).prop_map(|(f, o, g)| Cond::SymField(f, o, g)),
        (0..2usize, op(), 0..NUMS).prop_map(|(f, o, c)| Cond::NumConst(f, o, c)),
        (0..2usize, op(), 0..2usize).prop_map(|(f, o, g)| Cond::NumField(f, o, g)),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
        ]
    })
}

impl Cond {
    fn dsl(&self, v: &str) -> String {
        match self {
            Cond::SymConst(f, o, c) => format!("{v}.{} {} {}", SYM_FIELDS[*f], o.dsl(), SYMS[*c]),
            Cond::SymField(f, o, g) => {
                format!("{v}.{} {} {v}.{}", SYM_FIELDS[*f], o.dsl(), SYM_FIELDS[*g])
            }
            Cond::NumConst(f, o, c) => format!("{v}.{} {} {c}", NUM_FIELDS[*f], o.dsl()),
            Cond::NumField(f, o, g) => {
                format!("{v}.{} {} {v}.{}", NUM_FIELDS[*f], o.dsl(), NUM_FIELDS[*g])
            }
            Cond::Not(c) => format!("not ({})", c.dsl(v)),
            Cond::And(a, b) => format!("({} and {})", a.dsl(v), b.dsl(v)),
            Cond::Or(a, b) => format!("({} or {})", a.dsl(v), b.dsl(v)),
        }
    }

    fn sql(&self, v: &str) -> String {
        match self {
            Cond::SymConst(f, o, c) => {
                format!("{v}.{} {} '{}'", SYM_FIELDS[*f], o.sql(), SYMS[*c])
            }
            Cond::SymField(f, o, g) => {
                format!("{v}.{} {} {v}.{}", SYM_FIELDS[*f], o.sql(), SYM_FIELDS[*g])
            }
            Cond::NumConst(f, o, c) => format!("{v}.{} {} {c}", NUM_FIELDS[*f], o.sql()),
            Cond::NumField(f, o, g) => {
                format!("{v}.{} {} {v}.{}", NUM_FIELDS[*f], o.sql(), NUM_FIELDS[*g])
            }
            Cond::Not(c) => format!("NOT ({})", c.sql(v)),
            Cond::And(a, b) => format!("({} AND {})", a.sql(v), b.sql(v)),
            Cond::Or(a, b) => format!("({} OR {})", a.sql(v), b.sql(v)),
        }
    }
}

/// An equality join key between two bindings: both symbol fields or both number fields.
#[derive(Clone, Copy, Debug)]
struct Key {
    numeric: bool,
    left: usize,
    right: usize,
}

impl Key {
    fn field(&self, i: usize) -> &'static str {
        if self.numeric {
            NUM_FIELDS[i]
        } else {
            SYM_FIELDS[i]
        }
    }
    fn dsl(&self, l: &str, r: &str) -> String {
        format!(
            "{l}.{} == {r}.{}",
            self.field(self.left),
            self.field(self.right)
        )
    }
    fn sql(&self, l: &str, r: &str) -> String {
        format!(
            "{l}.{} = {r}.{}",
            self.field(self.left),
            self.field(self.right)
        )
    }
}

fn key() -> impl Strategy<Value = Key> {
    (any::<bool>(), 0..2usize, 0..2usize).prop_map(|(numeric, left, right)| Key {
        numeric,
        left,
        right,
    })
}

/// An optional extra correlation `z.NUM op p1.NUM`: with `==` a second join key, otherwise a
/// residual condition evaluated per candidate.
#[derive(Clone, Copy, Debug)]
struct Residual(Option<(usize, Op, usize)>);

impl Residual {
    fn dsl(&self) -> String {
        match self.0 {
            Some((f, o, g)) => format!(" and z.{} {} p1.{}", NUM_FIELDS[f], o.dsl(), NUM_FIELDS[g]),
            None => String::new(),
        }
    }
    fn sql(&self) -> String {
        match self.0 {
            Some((f, o, g)) => format!(" AND z.{} {} p1.{}", NUM_FIELDS[f], o.sql(), NUM_FIELDS[g]),
            None => String::new(),
        }
    }
}

impl Residual {
    /// SQL for the engine's rule that an `exists` or aggregate joined by equality on a missing
    /// outer value is unknown: an equality here is a second join key.
    fn sql_outer_known(&self) -> String {
        match self.0 {
            Some((_, Op::Eq, g)) => format!(" AND p1.{} IS NOT NULL", NUM_FIELDS[g]),
            _ => String::new(),
        }
    }
}

fn residual() -> impl Strategy<Value = Residual> {
    proptest::option::weighted(0.3, (0..2usize, op(), 0..2usize)).prop_map(Residual)
}

#[derive(Clone, Copy, Debug)]
enum Agg {
    Count,
    SumX,
}

#[derive(Clone, Debug)]
enum Rule {
    /// `match p1: deal where C1  p2: deal where C2  when p1.K == p2.K`
    Join(Cond, Cond, Key),
    /// `match p1: deal where C1  when not exists z: deal where z.K == p1.K and Cz [and R]`
    NotExists(Cond, Key, Cond, Residual),
    /// `match p1: deal where C1  when AGG(z: deal where z.K == p1.K and Cz [and R]) op K`
    Aggregate(Cond, Agg, Key, Cond, Residual, Op, i64),
}

fn rule() -> impl Strategy<Value = Rule> {
    prop_oneof![
        (cond(), cond(), key()).prop_map(|(a, b, k)| Rule::Join(a, b, k)),
        (cond(), key(), cond(), residual()).prop_map(|(a, k, z, r)| Rule::NotExists(a, k, z, r)),
        (
            cond(),
            prop_oneof![Just(Agg::Count), Just(Agg::SumX)],
            key(),
            cond(),
            residual(),
            op(),
            0..6i64
        )
            .prop_map(|(a, g, k, z, r, o, c)| Rule::Aggregate(a, g, k, z, r, o, c)),
    ]
}

impl Rule {
    fn dsl(&self) -> String {
        let body = match self {
            Rule::Join(a, b, k) => format!(
                "match p1: deal where {}\n        p2: deal where {}\n  when {}\n  flag \"{{p1.id}} {{p2.id}}\"",
                a.dsl("p1"),
                b.dsl("p2"),
                k.dsl("p1", "p2")
            ),
            Rule::NotExists(a, k, z, r) => format!(
                "match p1: deal where {}\n  when (not exists z: deal where {} and {}{})\n  flag \"{{p1.id}}\"",
                a.dsl("p1"),
                k.dsl("z", "p1"),
                z.dsl("z"),
                r.dsl()
            ),
            Rule::Aggregate(a, g, k, z, r, o, c) => {
                let agg = match g {
                    Agg::Count => "count(z: deal where",
                    Agg::SumX => "sum(z.x for z: deal where",
                };
                format!(
                    "match p1: deal where {}\n  when {agg} {} and {}{}) {} {c}\n  flag \"{{p1.id}}\"",
                    a.dsl("p1"),
                    k.dsl("z", "p1"),
                    z.dsl("z"),
                    r.dsl(),
                    o.dsl()
                )
            }
        };
        format!("rule r {{\n  severity: low\n  {body}\n}}\n")
    }

    fn sql(&self) -> String {
        match self {
            Rule::Join(a, b, k) => format!(
                "SELECT p1.id, p2.id FROM deals p1, deals p2 WHERE ({}) AND ({}) AND {}",
                a.sql("p1"),
                b.sql("p2"),
                k.sql("p1", "p2")
            ),
            Rule::NotExists(a, k, z, r) => format!(
                "SELECT p1.id FROM deals p1 WHERE ({}) AND p1.{} IS NOT NULL{} \
                 AND NOT EXISTS (SELECT 1 FROM deals z WHERE {} AND ({}){})",
                a.sql("p1"),
                k.field(k.right),
                r.sql_outer_known(),
                k.sql("z", "p1"),
                z.sql("z"),
                r.sql()
            ),
            Rule::Aggregate(a, g, k, z, r, o, c) => {
                let agg = match g {
                    Agg::Count => "COUNT(*)",
                    Agg::SumX => "COALESCE(SUM(z.x), 0)",
                };
                format!(
                    "SELECT p1.id FROM deals p1 WHERE ({}) AND p1.{} IS NOT NULL{} \
                     AND (SELECT {agg} FROM deals z WHERE {} AND ({}){}) {} {c}",
                    a.sql("p1"),
                    k.field(k.right),
                    r.sql_outer_known(),
                    k.sql("z", "p1"),
                    z.sql("z"),
                    r.sql(),
                    o.sql()
                )
            }
        }
    }
}

fn deals_text(deals: &[Deal]) -> String {
    let mut out = String::new();
    for (i, d) in deals.iter().enumerate() {
        write!(out, "deal d{i} {{").unwrap();
        for (f, v) in SYM_FIELDS.iter().zip(d.syms) {
            if let Some(v) = v {
                write!(out, " {f}: {}", SYMS[v]).unwrap();
            }
        }
        for (f, v) in NUM_FIELDS.iter().zip(d.nums) {
            if let Some(v) = v {
                write!(out, " {f}: {v}").unwrap();
            }
        }
        out.push_str(" }\n");
    }
    out
}

fn engine_results(deals: &[Deal], rule: &Rule) -> BTreeSet<Vec<String>> {
    let mut engine = Engine::new();
    engine
        .load("t.deals", deals_text(deals))
        .expect("deals load");
    let rules = rule.dsl();
    engine
        .load("t.rules", rules.as_str())
        .unwrap_or_else(|e| panic!("rule does not load: {e:?}\n{rules}"));
    let report = engine
        .evaluate()
        .unwrap_or_else(|e| panic!("rule does not check: {e:?}\n{rules}"));
    assert!(
        report.errors.is_empty(),
        "evaluation errors: {:?}\n{rules}",
        report.errors
    );
    report
        .findings
        .iter()
        .map(|f| f.facts().map(|s| s.to_string()).collect())
        .collect()
}

fn sql_results(deals: &[Deal], rule: &Rule) -> BTreeSet<Vec<String>> {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE deals (id TEXT PRIMARY KEY, a TEXT, b TEXT, x INTEGER, y INTEGER)",
    )
    .unwrap();
    let mut insert = db
        .prepare("INSERT INTO deals VALUES (?1, ?2, ?3, ?4, ?5)")
        .unwrap();
    for (i, d) in deals.iter().enumerate() {
        insert
            .execute(rusqlite::params![
                format!("d{i}"),
                d.syms[0].map(|s| SYMS[s]),
                d.syms[1].map(|s| SYMS[s]),
                d.nums[0],
                d.nums[1],
            ])
            .unwrap();
    }
    let sql = rule.sql();
    let mut query = db.prepare(&sql).unwrap();
    let columns = query.column_count();
    query
        .query_map([], |row| {
            (0..columns)
                .map(|c| row.get::<_, String>(c))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
        .collect::<Result<BTreeSet<_>, _>>()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn findings_match_sqlite(deals in proptest::collection::vec(deal(), 0..8), rule in rule()) {
        let engine = engine_results(&deals, &rule);
        let sql = sql_results(&deals, &rule);
        prop_assert_eq!(
            &engine,
            &sql,
            "\nrule:\n{}\nsql: {}\ndeals:\n{}",
            rule.dsl(),
            rule.sql(),
            deals_text(&deals)
        );
    }
}
