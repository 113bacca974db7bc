//! Tests of `dealrules fmt`: the layout (snapshots), safety over every shipped and fixture file
//! and over generated files (same AST, idempotent, every comment kept), and the command.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

use dealrules::diag::FileId;
use dealrules::format::format;
use dealrules::syntax::{self, Item};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// ---------------------------------------------------------------------------------------------
// Helpers

/// The declarations of `text`, or `None` when it has an error.
fn items(text: &str) -> Option<Vec<Item>> {
    let (file, diags) = syntax::parse(FileId::new(0), text);
    diags.is_empty().then_some(file.items)
}

/// Every `//` comment outside quoted strings, trailing whitespace removed, sorted. Written here
/// independently of the formatter's own check.
fn comments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut in_string = false;
        let mut escaped = false;
        let bytes = line.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
            } else if b == b'"' {
                in_string = true;
            } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
                out.push(line[i..].trim_end().to_string());
                break;
            }
        }
    }
    out.sort();
    out
}

/// The three properties every formatted file has: the same declarations (spans aside), the
/// same comments, and formatting again changes nothing.
fn assert_safe(name: &str, text: &str) {
    let before = items(text).unwrap_or_else(|| panic!("{name} does not parse"));
    let once = format(text).unwrap_or_else(|d| panic!("{name} does not format: {d:?}"));
    let after = items(&once).unwrap_or_else(|| panic!("{name} formatted does not parse:\n{once}"));
    assert!(before == after, "{name}: the AST changed\n{once}");
    assert_eq!(
        comments(text),
        comments(&once),
        "{name}: comments changed\n{once}"
    );
    let twice = format(&once).unwrap_or_else(|d| panic!("{name} formatted twice: {d:?}"));
    assert_eq!(once, twice, "{name}: formatting is not idempotent");
}

// ---------------------------------------------------------------------------------------------
// (a) The layout

const MESSY_DEALS: &str = r#"// AI compute, as typed in a hurry.
entity OpenAI "OpenAI Group PBC"{type:company   revenue_2025 : 13B  USD,
aliases:["OpenAI","OpenAI OpCo, LLC",], // two names
}



// Nvidia's letter of intent.
deal nvidia_openai_loi "Nvidia to invest up to 100B USD in OpenAI" { kind: investment
  investor: Nvidia  investee: OpenAI
  amount: up   to 100B USD     // a ceiling, not committed money
  capacity:10GW  price: USD	0.01  share:$1.5bn   fee: 1000亿美元

  // Tranches as reported.
  tranches: [ { amount: 10B USD, trigger: deployment_of_investor_product  quantity: 1 GW  expected: "2026-H2" },
              { amount: 10B USD  quantity: 1 GW } ]
  empty: [ ]  none: {}
  terms: [ // the terms
    "first",   // first term
    "second \"quoted\" // not a comment"
  ]
}
fx USD/CNY 7.10 on 2025-10-01
fx   EUR/USD   1.08
entity Empty {}
// the end
"#;

const MESSY_RULES: &str = r#"rule vendor_financing "Supplier finances a customer's purchases of its own goods" {
  reference: "ASC 606-10-32-25"   tags: [circular,vendor_financing]
  severity: high // the worst
  match inv: deal where inv.kind==investment
   buy: deal where buy.kind in [ purchase , cloud_contract ]   // goods or cloud
  when buy.buyer == inv.investee and buy.seller==inv.investor and not (inv.amount<1B USD or inv.status == "draft")
  flag "{inv.investor} invests {inv.amount} in {inv.investee}"
}
rule self_supplied { severity: high when kind == investment and investor == proceeds_supplier  // same party
 and round ( amount / 2 , 1 ) > - 5 flag "{investor}" }

rule totals "Commitments of one buyer" {
  severity: medium
  param ratio_limit=10   param share = 35%
  match b: entity where has(b.revenue_2025)
  let total=sum(x.amount for x: deal where x.buyer == b.id)
  when total > ratio_limit * b.revenue_2025
    and ( not exists y: deal where y.buyer == b.id and y.kind == lease )
    and count(z: deal) > 1
    and any t in b.tranches where t.trigger == purchase_volume
  flag "{b.id} has {total}"
}
"#;

#[test]
fn formats_a_messy_deal_file() {
    assert_safe("messy.deals", MESSY_DEALS);
    insta::assert_snapshot!(format(MESSY_DEALS).unwrap());
}

#[test]
fn formats_a_messy_rule_file() {
    assert_safe("messy.rules", MESSY_RULES);
    insta::assert_snapshot!(format(MESSY_RULES).unwrap());
}

#[test]
fn relations_derive_rules_and_cycles() {
    let src = "relation flow( from:entity , to: entity,)\nrelation r(a: any)\n\n\
        derive flow(d.investor,d.investee) from d: deal where d.kind == investment e: entity \
        when d.x == e.id and d.y > 1\n\n\
        rule c { severity: high match c: cycle flow max  5 hops when c.length >= 2 flag \"x\" }";
    let expected = "relation flow(from: entity, to: entity)
relation r(a: any)

derive flow(d.investor, d.investee)
  from  d: deal where d.kind == investment
        e: entity
  when  d.x == e.id
    and d.y > 1

rule c {
  severity: high

  match c: cycle flow max 5 hops
  when  c.length >= 2
  flag  \"x\"
}
";
    assert_safe("relations.rules", src);
    assert_eq!(format(src).unwrap(), expected);

    let columns: Vec<String> = (0..12).map(|i| format!("column_{i}: any")).collect();
    let long = format!("relation wide({})", columns.join(", "));
    let out = format(&long).unwrap();
    assert!(
        out.starts_with("relation wide(\n  column_0:  any,\n"),
        "{out}"
    );
    assert!(out.ends_with("  column_11: any\n)\n"), "{out}");
}

#[test]
fn schema_declarations() {
    let src = r#"// Fields every deal may have.
schema   deal{kind:symbol   required"What kind of deal this is." source : list  of text required
   "Where each figure comes from.",
"*_text"   :text "The figure as the source words it."   confidence:enum( filed,confirmed ,reported,
  estimate,secondary, )}
schema deal investment "An equity investment: the investor pays for shares of the investee."{
    investor : entity required "The entity that pays."   investee:entity   required "The entity whose shares are bought."
 amount: money,   capacity:power|count


      tranches:list of{amount:money trigger:text,}   // comment kept
  pieces: list of ( power|count )  // not `list of power | count`
}



schema entity company { revenue_2025:money"Revenue for calendar or fiscal 2025." }
schema deal empty { }
"#;
    let expected = r#"// Fields every deal may have.
schema deal {
  kind:       symbol required "What kind of deal this is."
  source:     list of text required "Where each figure comes from."
  "*_text":   text "The figure as the source words it."
  confidence: enum(filed, confirmed, reported, estimate, secondary)
}
schema deal investment "An equity investment: the investor pays for shares of the investee." {
  investor: entity required "The entity that pays."
  investee: entity required "The entity whose shares are bought."
  amount:   money
  capacity: power | count

  tranches: list of { amount: money, trigger: text }  // comment kept
  pieces:   list of (power | count)  // not `list of power | count`
}

schema entity company {
  revenue_2025: money "Revenue for calendar or fiscal 2025."
}
schema deal empty {}
"#;
    assert_safe("schema.deals", src);
    assert_eq!(format(src).unwrap(), expected);
    assert_eq!(format(expected).unwrap(), expected);
}

#[test]
fn schema_records_with_comments_or_too_long_are_written_one_field_per_line() {
    let src = r#"schema deal loan {
  tranches: list of { amount: money required "The amount paid in this tranche, in the deal's currency.", trigger: text "What releases it." } required
  terms: { // the terms
    rate: percent,  kind: enum(fixed, floating) }
  short: { a: money }
}
"#;
    let expected = r#"schema deal loan {
  tranches: list of {
    amount:  money required "The amount paid in this tranche, in the deal's currency."
    trigger: text "What releases it."
  } required
  terms: {  // the terms
    rate: percent
    kind: enum(fixed, floating)
  }
  short: { a: money }
}
"#;
    assert_safe("records.deals", src);
    assert_eq!(format(src).unwrap(), expected);
}

#[test]
fn test_blocks() {
    let src = r#"// a test
test vendor_financing_fires "Nvidia invests in OpenAI" { given {
    entity Nvidia { type: company }
    entity OpenAI { type: company revenue_2025: 13B USD }  // thirteen


    deal inv { kind: investment investor: Nvidia investee: OpenAI, amount: 100B USD }
    deal buy { kind: purchase buyer: OpenAI
      // a comment
      seller: Nvidia amount: 10B USD }
    fx USD/CNY 7.1
  }
  given   "../examples/ai-compute-2025.deals"   given {}

  expect vendor_financing on ( inv , buy, )
  expect vendor_financing on (inv, buy) severity high message contains "invests"  // trailing

  // none of these
  expect no round_trip expect count vendor_financing 1
  expect "no" on ("Nvidia > OpenAI > Nvidia") message "exact"
  expect error "boom" }
"#;
    let expected = r#"// a test
test vendor_financing_fires "Nvidia invests in OpenAI" {
  given {
    entity Nvidia { type: company }
    entity OpenAI { type: company  revenue_2025: 13B USD }  // thirteen

    deal inv { kind: investment  investor: Nvidia  investee: OpenAI  amount: 100B USD }
    deal buy {
      kind:  purchase
      buyer: OpenAI
      // a comment
      seller: Nvidia
      amount: 10B USD
    }
    fx USD/CNY 7.1
  }
  given "../examples/ai-compute-2025.deals"
  given {}

  expect vendor_financing on (inv, buy)
  expect vendor_financing on (inv, buy) severity high message contains "invests"  // trailing
  // none of these
  expect no round_trip
  expect count vendor_financing 1
  expect "no" on ("Nvidia > OpenAI > Nvidia") message "exact"
  expect error "boom"
}
"#;
    assert_safe("test.rules", src);
    assert_eq!(format(src).unwrap(), expected);
    // A fact too long for one line is written one field per line.
    let long = format!(
        "test t {{ given {{ deal d {{ kind: purchase  source: \"{}\" }} }} expect r }}",
        "x".repeat(80)
    );
    let out = format(&long).unwrap();
    assert!(
        out.contains("    deal d {\n      kind:   purchase\n"),
        "{out}"
    );
}

#[test]
fn literals_are_copied_as_written() {
    let src = "deal d { a: 100.00B USD  b: 1_000  c: 0.1T USD  d: 5GBP  e: 3万  f: 1.5e11 USD  g: \"x\\u{4e2d}\"  h: USD   5 }\n";
    let out = format(src).unwrap();
    for literal in [
        "100.00B USD",
        "1_000",
        "0.1T USD",
        "5GBP",
        "3万",
        "1.5e11 USD",
        "\"x\\u{4e2d}\"",
        "USD 5",
    ] {
        assert!(out.contains(literal), "{literal} is missing from\n{out}");
    }
}

#[test]
fn long_lists_and_records_are_written_one_element_per_line() {
    let long = (0..12)
        .map(|i| format!("\"source number {i}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let src = format!("deal d {{ short: [a, b]  source: [{long}] }}");
    let out = format(&src).unwrap();
    assert!(out.contains("  short: [a, b]\n"), "{out}");
    assert!(
        out.contains("  source: [\n    \"source number 0\",\n"),
        "{out}"
    );
    assert!(out.contains("    \"source number 11\"\n  ]\n"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
}

#[test]
fn keeps_crlf_line_breaks_and_a_byte_order_mark() {
    let src = "\u{feff}deal a {\r\n  kind: investment  // note\r\n}\r\n";
    let out = format(src).unwrap();
    assert_eq!(out, src);
    let messy = "\u{feff}deal a { kind: investment // note\r\n}";
    assert_eq!(format(messy).unwrap(), src);
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(format("").unwrap(), "");
    assert_eq!(format(" \n\n").unwrap(), "");
    assert_eq!(
        format("// only\n\n\n// comments").unwrap(),
        "// only\n\n// comments\n"
    );
}

#[test]
fn a_file_with_an_error_is_refused_with_located_diagnostics() {
    let src = "deal a {\n  kind: investment\n  amount: 5B USX\n}\n";
    let diags = format(src).unwrap_err();
    assert_eq!(diags[0].message, "unknown unit or currency `USX`");
    assert_eq!(diags[0].span().map(|s| s.range()), Some(41..44));
}

#[test]
fn the_examples_in_the_format_docs_are_in_the_canonical_layout() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/format.md"))
        .unwrap();
    let mut checked = 0;
    for block in doc.split("```").skip(1).step_by(2) {
        // Drop the language tag, if any, up to the first line break.
        let code = block.split_once('\n').map_or("", |(_, code)| code);
        if items(code).is_some_and(|i| !i.is_empty()) {
            assert_eq!(format(code).unwrap(), code);
            checked += 1;
        }
    }
    assert!(checked >= 2, "only {checked} examples checked");
}

// ---------------------------------------------------------------------------------------------
// (b) Every shipped file and fixture

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "deals" || e == "rules")
        {
            out.push(path);
        }
    }
}

#[test]
fn every_shipped_and_fixture_file_formats_safely() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["rules", "examples", "tests/fixtures"] {
        files_under(&root.join(dir), &mut files);
    }
    files.sort();
    let mut checked = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        if items(&text).is_none() {
            // A fixture with an error: the formatter must refuse it.
            assert!(format(&text).is_err(), "{} has an error", path.display());
            continue;
        }
        assert_safe(&path.display().to_string(), &text);
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} files parse cleanly");
}

// ---------------------------------------------------------------------------------------------
// (c) Generated files: random declarations, whitespace and comments

/// What may come between a token and the one before it.
#[derive(Clone, Copy, Debug)]
enum Joint {
    /// At least one space, tab, line break or comment.
    Any,
    /// Like `Any`, or nothing.
    Opt,
    /// Nothing or one space (no comment: `name :`).
    Tight,
}

type Toks = Vec<(Joint, String)>;

fn tok(j: Joint, s: impl Into<String>) -> Toks {
    vec![(j, s.into())]
}

/// `toks` with the joint before its first token replaced.
fn first(mut toks: Toks, j: Joint) -> Toks {
    if let Some(t) = toks.first_mut() {
        t.0 = j;
    }
    toks
}

fn cat(parts: impl IntoIterator<Item = Toks>) -> Toks {
    parts.into_iter().flatten().collect()
}

const NAMES: &[&str] = &["a", "kind", "buyer", "x1", "甲骨文", "_z", "Nvidia"];

/// Whitespace and comments between two tokens.
const GAPS: &[&str] = &[
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n\n  ",
    " // note\n",
    "// tight\n",
    "\n  // own line\n  ",
    "\n\n// after a blank line\n\n",
    " //\n",
    " // \"quoted { brace\n",
    "\n// one\n// two\n",
    " // 中文 comment   \n",
];

fn render(toks: &Toks, gaps: &[usize]) -> String {
    let mut out = String::new();
    for (i, (joint, text)) in toks.iter().enumerate() {
        let g = gaps[i % gaps.len()];
        if i > 0 {
            let gap = match joint {
                Joint::Any => GAPS[g % GAPS.len()],
                Joint::Opt => {
                    if g.is_multiple_of(3) {
                        ""
                    } else {
                        GAPS[g % GAPS.len()]
                    }
                }
                Joint::Tight => {
                    if g.is_multiple_of(2) {
                        ""
                    } else {
                        " "
                    }
                }
            };
            if out.ends_with('/') && gap.starts_with('/') {
                // `a /// c` would be a comment, not a division.
                out.push(' ');
            }
            out.push_str(gap);
        }
        out.push_str(text);
    }
    out
}

fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(NAMES).prop_map(str::to_string),
        Just("\"text\"".to_string()),
        Just("\"a \\\"quote\\\" // not a comment\"".to_string()),
        Just("\"Oracle (OCI)\"".to_string()),
        Just(
            "\"a longer text, so that lists and records holding it need several lines\""
                .to_string()
        ),
        Just("true".to_string()),
        Just("-3".to_string()),
        Just("1_234.5".to_string()),
        Just("10%".to_string()),
        Just("100B USD".to_string()),
        Just("100.00B  USD".to_string()),
        Just("USD \t 100B".to_string()),
        Just("$1.5bn".to_string()),
        Just("1000亿美元".to_string()),
        Just("4.5 GW".to_string()),
        Just("10GW".to_string()),
        Just("0.01 USD/share".to_string()),
        Just("160M shares".to_string()),
        Just("2025-10-13".to_string()),
        Just("1.5e11 USD".to_string()),
    ]
}

fn amount() -> impl Strategy<Value = String> {
    proptest::sample::select(&["100B USD", "5 GW", "$2B", "USD 3M", "160M shares"][..])
        .prop_map(str::to_string)
}

fn value() -> BoxedStrategy<Toks> {
    let leaf = prop_oneof![
        atom().prop_map(|a| tok(Joint::Any, a)),
        (amount(), any::<bool>()).prop_map(|(a, tab)| {
            let up_to = if tab { "up \t to" } else { "up to" };
            cat([tok(Joint::Any, up_to), tok(Joint::Any, a)])
        }),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (
                proptest::collection::vec(inner.clone(), 0..4),
                any::<bool>()
            )
                .prop_map(|(items, trailing)| {
                    let mut t = tok(Joint::Any, "[");
                    let n = items.len();
                    for (i, item) in items.into_iter().enumerate() {
                        t.extend(first(item, Joint::Opt));
                        if i + 1 < n || trailing {
                            t.extend(tok(Joint::Opt, ","));
                        }
                    }
                    t.extend(tok(Joint::Opt, "]"));
                    t
                }),
            (proptest::collection::vec(inner, 0..4), any::<bool>()).prop_map(|(values, commas)| {
                let mut t = tok(Joint::Any, "{");
                for (i, v) in values.into_iter().enumerate() {
                    t.extend(field(&format!("f{i}"), v, commas));
                }
                t.extend(tok(Joint::Opt, "}"));
                t
            }),
        ]
    })
    .boxed()
}

fn field(name: &str, value: Toks, comma: bool) -> Toks {
    let mut t = cat([
        tok(Joint::Any, name),
        tok(Joint::Tight, ":"),
        first(value, Joint::Opt),
    ]);
    if comma {
        t.extend(tok(Joint::Opt, ","));
    }
    t
}

fn fact() -> impl Strategy<Value = Toks> {
    (
        any::<bool>(),
        proptest::sample::select(NAMES),
        any::<bool>(),
        proptest::collection::vec((value(), any::<bool>()), 0..5),
    )
        .prop_map(|(entity, id, titled, fields)| {
            let mut t = tok(Joint::Any, if entity { "entity" } else { "deal" });
            t.extend(tok(Joint::Any, id));
            if titled {
                t.extend(tok(Joint::Any, "\"A title // with slashes\""));
            }
            t.extend(tok(Joint::Opt, "{"));
            for (i, (v, comma)) in fields.into_iter().enumerate() {
                t.extend(field(&format!("field_{i}"), v, comma));
            }
            t.extend(tok(Joint::Opt, "}"));
            t
        })
}

/// A type: a name, `list of T`, `enum(...)`, a record, `(T)` or `T | U`.
fn type_expr() -> BoxedStrategy<Toks> {
    let leaf = proptest::sample::select(
        &[
            "money", "text", "entity", "power", "count", "symbol", "list", "enum",
        ][..],
    )
    .prop_map(|s| tok(Joint::Any, s));
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| cat([
                tok(Joint::Any, "list"),
                tok(Joint::Any, "of"),
                first(t, Joint::Any)
            ])),
            (1usize..4, any::<bool>()).prop_map(|(n, trailing)| {
                let mut t = cat([tok(Joint::Any, "enum"), tok(Joint::Opt, "(")]);
                for (i, symbol) in ["filed", "甲", "_c", "estimate"].iter().take(n).enumerate() {
                    if i > 0 {
                        t.extend(tok(Joint::Opt, ","));
                    }
                    t.extend(tok(Joint::Opt, *symbol));
                }
                if trailing {
                    t.extend(tok(Joint::Opt, ","));
                }
                t.extend(tok(Joint::Opt, ")"));
                t
            }),
            proptest::collection::vec(spec_parts(inner.clone()), 0..3).prop_map(|specs| {
                let mut t = tok(Joint::Any, "{");
                for (i, s) in specs.into_iter().enumerate() {
                    t.extend(field_spec(&format!("f{i}"), s));
                }
                t.extend(tok(Joint::Opt, "}"));
                t
            }),
            inner.clone().prop_map(|t| cat([
                tok(Joint::Any, "("),
                first(t, Joint::Opt),
                tok(Joint::Opt, ")")
            ])),
            (inner.clone(), inner).prop_map(|(a, b)| cat([
                a,
                tok(Joint::Opt, "|"),
                first(b, Joint::Opt)
            ])),
        ]
    })
    .boxed()
}

/// The type of a field spec, whether it is `required`, whether it has a doc and a comma.
type SpecParts = (Toks, bool, bool, bool);

fn spec_parts(ty: BoxedStrategy<Toks>) -> impl Strategy<Value = SpecParts> {
    (ty, any::<bool>(), any::<bool>(), any::<bool>())
}

/// `name: type [required] ["doc"] [,]`.
fn field_spec(name: &str, (ty, required, doc, comma): SpecParts) -> Toks {
    let mut t = cat([
        tok(Joint::Any, name),
        tok(Joint::Tight, ":"),
        first(ty, Joint::Opt),
    ]);
    if required {
        t.extend(tok(Joint::Any, "required"));
    }
    if doc {
        t.extend(tok(Joint::Opt, "\"A doc // with slashes\""));
    }
    if comma {
        t.extend(tok(Joint::Opt, ","));
    }
    t
}

fn schema() -> impl Strategy<Value = Toks> {
    (
        any::<bool>(),
        proptest::option::of(proptest::sample::select(NAMES)),
        any::<bool>(),
        proptest::collection::vec(spec_parts(type_expr()), 0..5),
    )
        .prop_map(|(entity, kind, titled, specs)| {
            let mut t = cat([
                tok(Joint::Any, "schema"),
                tok(Joint::Any, if entity { "entity" } else { "deal" }),
            ]);
            if let Some(kind) = kind {
                t.extend(tok(Joint::Any, kind));
            }
            if titled {
                t.extend(tok(Joint::Any, "\"A kind of deal\""));
            }
            t.extend(tok(Joint::Opt, "{"));
            // Quoted patterns and a field named `required` among the names.
            let names = ["\"*_text\"", "required", "list"];
            for (i, s) in specs.into_iter().enumerate() {
                let name = names
                    .get(i)
                    .map_or(format!("field_{i}"), |n| (*n).to_string());
                t.extend(field_spec(&name, s));
            }
            t.extend(tok(Joint::Opt, "}"));
            t
        })
}

fn path() -> impl Strategy<Value = String> {
    proptest::sample::select(&["a", "a.kind", "inv.amount", "b.revenue_2025", "甲骨文.x"][..])
        .prop_map(str::to_string)
}

fn expr() -> BoxedStrategy<Toks> {
    let leaf = prop_oneof![
        path().prop_map(|p| tok(Joint::Any, p)),
        proptest::sample::select(
            &[
                "5",
                "10%",
                "5B USD",
                "USD 5",
                "\"lease\"",
                "true",
                "2025-10-13"
            ][..]
        )
        .prop_map(|s| tok(Joint::Any, s)),
    ];
    leaf.prop_recursive(4, 32, 3, |inner| {
        let binary = proptest::sample::select(
            &["and", "or", "==", "!=", "<", ">=", "+", "-", "*", "/", "in"][..],
        );
        prop_oneof![
            (inner.clone(), binary, inner.clone()).prop_map(|(l, op, r)| cat([
                l,
                tok(Joint::Any, op),
                first(r, Joint::Any)
            ])),
            inner
                .clone()
                .prop_map(|e| cat([tok(Joint::Any, "not"), first(e, Joint::Any)])),
            inner
                .clone()
                .prop_map(|e| cat([tok(Joint::Any, "-"), first(e, Joint::Opt)])),
            inner.clone().prop_map(|e| cat([
                tok(Joint::Any, "("),
                first(e, Joint::Opt),
                tok(Joint::Opt, ")")
            ])),
            proptest::collection::vec(inner.clone(), 0..3).prop_map(|items| {
                let mut t = tok(Joint::Any, "[");
                for (i, e) in items.into_iter().enumerate() {
                    if i > 0 {
                        t.extend(tok(Joint::Opt, ","));
                    }
                    t.extend(first(e, Joint::Opt));
                }
                t.extend(tok(Joint::Opt, "]"));
                t
            }),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| cat([
                tok(Joint::Any, "round"),
                tok(Joint::Opt, "("),
                first(a, Joint::Opt),
                tok(Joint::Opt, ","),
                first(b, Joint::Opt),
                tok(Joint::Opt, ")"),
            ])),
            inner.clone().prop_map(|e| cat([
                tok(Joint::Any, "exists"),
                tok(Joint::Any, "y"),
                tok(Joint::Tight, ":"),
                tok(Joint::Opt, "deal"),
                tok(Joint::Any, "where"),
                e,
            ])),
            inner.clone().prop_map(|e| cat([
                tok(Joint::Any, "sum"),
                tok(Joint::Opt, "("),
                first(e, Joint::Opt),
                tok(Joint::Any, "for"),
                tok(Joint::Any, "x"),
                tok(Joint::Tight, ":"),
                tok(Joint::Opt, "deal"),
                tok(Joint::Opt, ")"),
            ])),
            inner.prop_map(|e| cat([
                tok(Joint::Any, "any"),
                tok(Joint::Any, "t"),
                tok(Joint::Any, "in"),
                tok(Joint::Any, "a.tranches"),
                tok(Joint::Any, "where"),
                e,
            ])),
        ]
    })
    .boxed()
}

/// `b{i}: deal [where e]`, with `entity`, a relation or a cycle instead of `deal` for some `i`.
fn pattern(i: usize, filter: Option<Toks>) -> Toks {
    let mut t = cat([tok(Joint::Any, format!("b{i}")), tok(Joint::Tight, ":")]);
    t.extend(match i % 4 {
        0 => tok(Joint::Opt, "deal"),
        1 => tok(Joint::Opt, "entity"),
        2 => tok(Joint::Opt, "flow"),
        _ => cat([
            tok(Joint::Opt, "cycle"),
            tok(Joint::Any, "flow"),
            tok(Joint::Any, "max"),
            tok(Joint::Any, "5"),
            tok(Joint::Any, "hops"),
        ]),
    });
    if let Some(e) = filter {
        t.extend(tok(Joint::Any, "where"));
        t.extend(e);
    }
    t
}

fn relation() -> impl Strategy<Value = Toks> {
    (1usize..5, any::<bool>()).prop_map(|(n, trailing)| {
        let mut t = cat([
            tok(Joint::Any, "relation"),
            tok(Joint::Any, "flow"),
            tok(Joint::Opt, "("),
        ]);
        for i in 0..n {
            t.extend(cat([
                tok(Joint::Opt, format!("c{i}")),
                tok(Joint::Tight, ":"),
                tok(Joint::Opt, if i % 2 == 0 { "entity" } else { "any" }),
            ]));
            if i + 1 < n || trailing {
                t.extend(tok(Joint::Opt, ","));
            }
        }
        t.extend(tok(Joint::Opt, ")"));
        t
    })
}

fn derive() -> impl Strategy<Value = Toks> {
    (
        proptest::collection::vec(expr(), 1..4),
        proptest::collection::vec(proptest::option::of(expr()), 1..3),
        proptest::option::of(expr()),
    )
        .prop_map(|(head, patterns, when)| {
            let mut t = cat([
                tok(Joint::Any, "derive"),
                tok(Joint::Any, "flow"),
                tok(Joint::Opt, "("),
            ]);
            for (i, e) in head.into_iter().enumerate() {
                if i > 0 {
                    t.extend(tok(Joint::Opt, ","));
                }
                t.extend(first(e, Joint::Opt));
            }
            t.extend(tok(Joint::Opt, ")"));
            t.extend(tok(Joint::Any, "from"));
            for (i, filter) in patterns.into_iter().enumerate() {
                t.extend(pattern(i, filter));
            }
            if let Some(e) = when {
                t.extend(tok(Joint::Any, "when"));
                t.extend(e);
            }
            t
        })
}

fn rule() -> impl Strategy<Value = Toks> {
    (
        proptest::sample::select(NAMES),
        any::<bool>(),
        (Just(vec![0usize, 1, 2]).prop_shuffle(), any::<[bool; 2]>()),
        proptest::collection::vec(value(), 0..2),
        proptest::collection::vec(proptest::option::of(expr()), 0..3),
        proptest::collection::vec(expr(), 0..2),
        proptest::option::of(expr()),
        any::<bool>(),
    )
        .prop_map(
            |(id, titled, (order, with), params, patterns, lets, when, placeholder)| {
                let mut t = tok(Joint::Any, "rule");
                t.extend(tok(Joint::Any, id));
                if titled {
                    t.extend(tok(Joint::Any, "\"A rule\""));
                }
                t.extend(tok(Joint::Opt, "{"));
                // `severity` always, `tags` and `reference` sometimes, in any order.
                for s in order {
                    t.extend(match s {
                        0 => cat([
                            tok(Joint::Any, "severity"),
                            tok(Joint::Tight, ":"),
                            tok(Joint::Opt, "high"),
                        ]),
                        1 if with[0] => cat([
                            tok(Joint::Any, "tags"),
                            tok(Joint::Tight, ":"),
                            tok(Joint::Opt, "["),
                            tok(Joint::Opt, "circular"),
                            tok(Joint::Opt, ","),
                            tok(Joint::Opt, "asc606"),
                            tok(Joint::Opt, "]"),
                        ]),
                        2 if with[1] => cat([
                            tok(Joint::Any, "reference"),
                            tok(Joint::Tight, ":"),
                            tok(Joint::Opt, "\"ASC 606 // 10-32-25\""),
                        ]),
                        _ => Vec::new(),
                    });
                }
                for (i, v) in params.into_iter().enumerate() {
                    t.extend(cat([
                        tok(Joint::Any, "param"),
                        tok(Joint::Any, format!("p{i}")),
                        tok(Joint::Opt, "="),
                        first(v, Joint::Opt),
                    ]));
                }
                for (i, filter) in patterns.into_iter().enumerate() {
                    if i == 0 {
                        t.extend(tok(Joint::Any, "match"));
                    }
                    t.extend(pattern(i, filter));
                }
                for (i, e) in lets.into_iter().enumerate() {
                    t.extend(cat([
                        tok(Joint::Any, "let"),
                        tok(Joint::Any, format!("l{i}")),
                        tok(Joint::Opt, "="),
                        first(e, Joint::Opt),
                    ]));
                }
                if let Some(e) = when {
                    t.extend(tok(Joint::Any, "when"));
                    t.extend(e);
                }
                t.extend(tok(Joint::Any, "flag"));
                let message = if placeholder {
                    "\"{a.kind} is {round(a.amount / 2, 1)} {{literally}}\""
                } else {
                    "\"plain message\""
                };
                t.extend(tok(Joint::Any, message));
                t.extend(tok(Joint::Opt, "}"));
                t
            },
        )
}

/// `on (a, "Nvidia > OpenAI > Nvidia")`, maybe with a trailing comma.
fn on_facts() -> impl Strategy<Value = Toks> {
    (
        proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(NAMES).prop_map(str::to_string),
                Just("\"Nvidia > OpenAI > Nvidia\"".to_string()),
            ],
            1..4,
        ),
        any::<bool>(),
    )
        .prop_map(|(ids, trailing)| {
            let mut t = cat([tok(Joint::Any, "on"), tok(Joint::Opt, "(")]);
            let n = ids.len();
            for (i, id) in ids.into_iter().enumerate() {
                t.extend(tok(Joint::Opt, id));
                if i + 1 < n || trailing {
                    t.extend(tok(Joint::Opt, ","));
                }
            }
            t.extend(tok(Joint::Opt, ")"));
            t
        })
}

/// One `expect` line of each shape.
fn expectation() -> impl Strategy<Value = Toks> {
    let rule = proptest::sample::select(NAMES);
    prop_oneof![
        Just(cat([
            tok(Joint::Any, "expect"),
            tok(Joint::Any, "error"),
            tok(Joint::Any, "\"cannot compare // USD\""),
        ])),
        (rule.clone(), 0usize..100).prop_map(|(r, n)| cat([
            tok(Joint::Any, "expect"),
            tok(Joint::Any, "count"),
            tok(Joint::Any, r),
            tok(Joint::Any, n.to_string()),
        ])),
        (rule.clone(), proptest::option::of(on_facts())).prop_map(|(r, on)| {
            let mut t = cat([
                tok(Joint::Any, "expect"),
                tok(Joint::Any, "no"),
                tok(Joint::Any, r),
            ]);
            t.extend(on.unwrap_or_default());
            t
        }),
        (
            rule,
            proptest::option::of(on_facts()),
            any::<bool>(),
            0usize..3,
        )
            .prop_map(|(r, on, severity, message)| {
                let mut t = cat([tok(Joint::Any, "expect"), tok(Joint::Any, r)]);
                t.extend(on.unwrap_or_default());
                if severity {
                    t.extend(cat([tok(Joint::Any, "severity"), tok(Joint::Any, "high")]));
                }
                match message {
                    1 => t.extend(cat([
                        tok(Joint::Any, "message"),
                        tok(Joint::Any, "\"exactly this\""),
                    ])),
                    2 => t.extend(cat([
                        tok(Joint::Any, "message"),
                        tok(Joint::Any, "contains"),
                        tok(Joint::Any, "\"invests { in\""),
                    ])),
                    _ => {}
                }
                t
            }),
    ]
}

/// `test name ["title"] { given... expect... }` with facts written in the test or given by file.
fn test_block() -> impl Strategy<Value = Toks> {
    let given = prop_oneof![
        Just(cat([
            tok(Joint::Any, "given"),
            tok(Joint::Any, "\"../examples/ai-compute-2025.deals\""),
        ])),
        (proptest::collection::vec(fact(), 0..3), any::<bool>()).prop_map(|(facts, fx)| {
            let mut t = cat([tok(Joint::Any, "given"), tok(Joint::Opt, "{")]);
            for f in facts {
                t.extend(f);
            }
            if fx {
                t.extend(cat([
                    tok(Joint::Any, "fx"),
                    tok(Joint::Any, "USD/CNY"),
                    tok(Joint::Any, "7.10"),
                ]));
            }
            t.extend(tok(Joint::Opt, "}"));
            t
        }),
    ];
    (
        proptest::sample::select(NAMES),
        any::<bool>(),
        proptest::collection::vec(given, 0..3),
        proptest::collection::vec(expectation(), 1..4),
    )
        .prop_map(|(name, titled, given, expects)| {
            let mut t = cat([tok(Joint::Any, "test"), tok(Joint::Any, name)]);
            if titled {
                t.extend(tok(Joint::Any, "\"What it shows // in words\""));
            }
            t.extend(tok(Joint::Opt, "{"));
            for g in given {
                t.extend(g);
            }
            for e in expects {
                t.extend(e);
            }
            t.extend(tok(Joint::Opt, "}"));
            t
        })
}

fn file() -> impl Strategy<Value = String> {
    let decl = prop_oneof![
        3 => fact(),
        3 => rule(),
        1 => relation(),
        1 => derive(),
        2 => schema(),
        2 => test_block(),
        1 => Just(cat([
            tok(Joint::Any, "fx"),
            tok(Joint::Any, "USD/CNY"),
            tok(Joint::Any, "7.10"),
            tok(Joint::Any, "on"),
            tok(Joint::Any, "2025-10-01"),
        ])),
    ];
    (
        proptest::collection::vec(decl, 0..4),
        proptest::collection::vec(0usize..1000, 1..40),
        proptest::option::of(0usize..GAPS.len()),
    )
        .prop_map(|(decls, gaps, trailing)| {
            // A line break between declarations: `when x > 5 deal d {}` on one line would read
            // `deal` as the unit of `5`.
            let decls: Vec<String> = decls.iter().map(|d| render(d, &gaps)).collect();
            let mut text = decls.join("\n");
            if let Some(g) = trailing {
                text.push_str(GAPS[g]);
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Generated files keep their declarations and comments, and formatting is idempotent.
    #[test]
    fn generated_files_format_safely(text in file()) {
        let before = items(&text);
        prop_assert!(before.is_some(), "the generator made a file with an error:\n{}", text);
        let once = format(&text);
        prop_assert!(once.is_ok(), "not formatted: {:?}\n{}", once, text);
        let once = once.unwrap();
        prop_assert!(items(&once) == before, "the AST changed:\n{}\n---\n{}", text, once);
        prop_assert_eq!(comments(&text), comments(&once), "comments changed:\n{}\n---\n{}", text, once);
        let twice = format(&once);
        prop_assert_eq!(Ok(once.clone()), twice, "not idempotent:\n{}", text);
    }
}

// ---------------------------------------------------------------------------------------------
// (d) The command

fn dealrules(args: &[&str], dir: &Path, stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dealrules"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    {
        use std::io::Write as _;
        let mut input = child.stdin.take().expect("stdin");
        // The command may end without reading its input.
        let _ = input.write_all(stdin.unwrap_or("").as_bytes());
    }
    child.wait_with_output().expect("the binary ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

const TIDY: &str = "deal a {\n  kind:   loan\n  amount: 5B USD\n}\n";
const UNTIDY: &str = "deal a { kind: loan  amount: 5B USD }";
const BROKEN: &str = "deal a {\n  kind: loan\n  amount: 5B USX\n}\n";

#[test]
fn check_lists_the_files_that_would_change_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("deals")).unwrap();
    std::fs::write(dir.path().join("deals/tidy.deals"), TIDY).unwrap();
    std::fs::write(dir.path().join("deals/untidy.deals"), UNTIDY).unwrap();

    let out = dealrules(&["fmt", "--check", "deals"], dir.path(), None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("deals{}untidy.deals\n", std::path::MAIN_SEPARATOR)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("deals/untidy.deals")).unwrap(),
        UNTIDY,
        "--check changes nothing"
    );

    let out = dealrules(&["fmt", "--check", "deals/tidy.deals"], dir.path(), None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn fmt_rewrites_files_in_place_and_keeps_their_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("untidy.deals");
    std::fs::write(&path, UNTIDY).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = dealrules(&["fmt", "untidy.deals"], dir.path(), None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), TIDY);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["untidy.deals"]);
    // A second run changes nothing.
    let out = dealrules(&["fmt", "--check", "untidy.deals"], dir.path(), None);
    assert_eq!(out.status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_is_followed_and_stays_a_link() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("real.deals"), UNTIDY).unwrap();
    std::os::unix::fs::symlink("real.deals", dir.path().join("link.deals")).unwrap();
    let out = dealrules(&["fmt", "link.deals"], dir.path(), None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let link = std::fs::symlink_metadata(dir.path().join("link.deals")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("real.deals")).unwrap(),
        TIDY
    );
}

#[test]
fn dash_reads_standard_input_and_writes_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dealrules(&["fmt", "-"], dir.path(), Some(UNTIDY));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), TIDY);

    let out = dealrules(&["fmt", "--check", "-"], dir.path(), Some(UNTIDY));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "<stdin>\n");

    let out = dealrules(&["fmt", "--check", "-"], dir.path(), Some(TIDY));
    assert_eq!(out.status.code(), Some(0));

    let out = dealrules(&["fmt", "-", "other.deals"], dir.path(), Some(TIDY));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_file_with_a_syntax_error_is_left_untouched_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.deals"), BROKEN).unwrap();
    std::fs::write(dir.path().join("untidy.deals"), UNTIDY).unwrap();
    let out = dealrules(&["fmt", "--color", "never", "."], dir.path(), None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("unknown unit or currency `USX`"), "{err}");
    assert!(err.contains("broken.deals:3:"), "{err}");
    assert!(
        err.contains("1 error in `./broken.deals`; it was left unchanged"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("broken.deals")).unwrap(),
        BROKEN.as_bytes()
    );
    // The other file is still formatted.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("untidy.deals")).unwrap(),
        TIDY
    );

    // From standard input, the text comes back unchanged.
    let out = dealrules(&["fmt", "-"], dir.path(), Some(BROKEN));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), BROKEN);
}

#[test]
fn the_shipped_files_are_formatted() {
    let out = dealrules(
        &["fmt", "--check", "rules/", "examples/"],
        Path::new(env!("CARGO_MANIFEST_DIR")),
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "not in the canonical layout:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
