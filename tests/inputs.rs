//! Deals from CSV and JSON (`docs/inputs.md`): the same facts give the same findings from
//! every form; bad cells are located errors; JSON numbers are exact; `dealrules convert`.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test helpers may fail loudly"
)]

mod common;
use common::{dealrules, stderr, stdout};
use dealrules::{Engine, Value};
use serde_json::Value as Json;
use std::path::Path;

const EXAMPLE: &str = "examples/ai-compute-2025.deals";
/// The example's extension of the pack's schema.
const SCHEMA: &str = "examples/ai-compute-2025.schema.rules";

/// The example's facts, loaded through the library.
fn example() -> Engine {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE);
    let mut engine = Engine::new();
    engine
        .load(EXAMPLE, std::fs::read_to_string(path).unwrap())
        .unwrap();
    engine
}

/// The findings of `dealrules run rules/ FILE --format json`, as (rule, facts, message,
/// fingerprint), and the summary.
fn findings_of(file: &str) -> (Vec<(Json, Json, Json, Json)>, Json) {
    let out = dealrules(&["run", "rules/", SCHEMA, file, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{file}: {}", stderr(&out));
    let report: Json = serde_json::from_str(&stdout(&out)).unwrap();
    let findings = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].clone(),
                f["facts"].clone(),
                f["message"].clone(),
                f["fingerprint"].clone(),
            )
        })
        .collect();
    (findings, report["summary"].clone())
}

#[test]
fn the_example_runs_identically_from_deals_csv_and_json() {
    let engine = example();
    let facts = || engine.facts().iter().map(|(_, f)| f);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ai-compute-2025.csv");
    let json = dir.path().join("ai-compute-2025.json");
    std::fs::write(&csv, dealrules::input::to_csv(facts()).unwrap()).unwrap();
    std::fs::write(&json, dealrules::input::to_json(facts()).unwrap()).unwrap();

    let (from_deals, summary) = findings_of(EXAMPLE);
    assert!(from_deals.len() > 20, "the example has findings");
    for file in [&csv, &json] {
        let (findings, other) = findings_of(file.to_str().unwrap());
        assert_eq!(findings, from_deals, "{}", file.display());
        assert_eq!(other, summary, "{}", file.display());
    }
}

#[test]
fn convert_writes_a_deal_file_that_runs_the_same() {
    let engine = example();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("deals.csv");
    let json = dir.path().join("deals.json");
    let out = dir.path().join("deals.deals");
    std::fs::write(
        &csv,
        dealrules::input::to_csv(engine.facts().iter().map(|(_, f)| f)).unwrap(),
    )
    .unwrap();
    std::fs::write(
        &json,
        dealrules::input::to_json(engine.facts().iter().map(|(_, f)| f)).unwrap(),
    )
    .unwrap();

    let run = dealrules(&[
        "convert",
        csv.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(stdout(&run), "");
    let written = std::fs::read_to_string(&out).unwrap();
    let head = format!(
        "// Converted from {} by `dealrules convert`.\n\nentity OpenAI \"OpenAI Group PBC\" {{\n  type:",
        csv.display()
    );
    assert!(written.starts_with(&head), "{}", &written[..300]);
    // Written in the canonical layout.
    let check = dealrules(&["fmt", "--check", out.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    // Written atomically: no temporary file is left beside it.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["deals.csv", "deals.deals", "deals.json"]);

    assert_eq!(findings_of(out.to_str().unwrap()), findings_of(EXAMPLE));

    // From JSON to standard output: the same declarations.
    let run = dealrules(&["convert", json.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let body = |text: &str| text.split_once("\n\n").unwrap().1.to_string();
    let mut from_json = Engine::new();
    from_json.load("a.deals", body(&stdout(&run))).unwrap();
    let mut from_csv = Engine::new();
    from_csv.load("b.deals", body(&written)).unwrap();
    for (_, fact) in from_csv.facts().iter() {
        let other = from_json
            .facts()
            .find(&fact.id())
            .and_then(|i| from_json.facts().get(i))
            .unwrap();
        assert_eq!(other.title(), fact.title());
        for (name, field) in fact.fields().iter() {
            assert_eq!(other.get(name), Some(field.value), "{}.{name}", fact.id());
        }
    }

    let bad = dealrules(&["convert", "Cargo.toml"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        stderr(&bad),
        "error: `Cargo.toml` is not a `.csv` or `.json` file; `convert` reads fact tables\n"
    );
}

/// Each diagnostic of loading `text` as `name`: `file:line:column message [help]`.
fn diagnostics(name: &str, text: &str) -> Vec<String> {
    let mut engine = Engine::new();
    let result = if name.ends_with(".csv") {
        dealrules::input::load_csv(&mut engine, name, text)
    } else {
        dealrules::input::load_json(&mut engine, name, text)
    };
    let err = result.unwrap_err();
    err.diagnostics
        .iter()
        .map(|d| {
            let at = d
                .span()
                .and_then(|s| engine.sources().location(s))
                .map(|l| format!("{}:{}:{}", l.file, l.line, l.column))
                .unwrap_or_default();
            match &d.help {
                Some(h) => format!("{at} {} [{h}]", d.message),
                None => format!("{at} {}", d.message),
            }
        })
        .collect()
}

#[test]
fn bad_cells_are_errors_naming_row_and_column() {
    let csv = "\
id,fact,title,kind,amount,announced,note,amount
Nvidia,entity,Nvidia Corp.,,,,,
loi,deal,,investment,up to 100B USX,2025-02-30,OpenAI OpCo,
,deal,,purchase,,,,
loi,dael,,x,5 USD,,,
,,,,,,,
short,deal
";
    assert_eq!(
        diagnostics("deals.csv", csv),
        [
            "deals.csv:1:42 column `amount` appears twice in the header [keep one column per field]",
            "deals.csv:3:22 row 3, column `amount`: unknown unit or currency `USX` [did you mean `USD`?]",
            "deals.csv:3:37 row 3, column `announced`: `2025-02-30` is not a calendar date \
             [a date is written `YYYY-MM-DD`, a day that the month has]",
            "deals.csv:3:48 row 3, column `note`: expected end of the value, found `OpCo` \
             [text is written in double quotes: type `\"OpenAI OpCo\"` in the spreadsheet \
             (`\"\"\"OpenAI OpCo\"\"\"` in the CSV text)]",
            "deals.csv:4:1 row 4: the `id` cell is empty [every row needs the id of its entity or deal]",
            "deals.csv:5:5 row 5, column `fact`: expected `deal` or `entity`, found `dael` \
             [did you mean `deal`?]",
            "deals.csv:7:1 row 7 has 2 cells, but the header has 8 columns",
            "deals.csv:5:1 duplicate id `loi` [ids of entities and deals must be unique across all \
             loaded files]",
        ]
    );
    assert_eq!(
        diagnostics("deals.csv", "fact,kind\ndeal,purchase\n"),
        [
            "deals.csv:1:1 the header has no `id` column [name one column `id`: each row's entity \
          or deal id]"
        ]
    );
}

#[test]
fn bad_json_values_are_located_errors() {
    let json = r#"{
  "deals": [
    {"id": "a", "fields": {"amount": "5 USX", "who": "OpenAI OpCo", "big": 1e400, "l": [1, null]}},
    {"idd": "b"}
  ],
  "entitys": []
}"#;
    assert_eq!(
        diagnostics("deals.json", json),
        [
            "deals.json:3:38 deal `a`, field `amount`: unknown unit or currency `USX` [did you mean `USD`?]",
            "deals.json:3:54 deal `a`, field `who`: expected end of the value, found `OpCo` \
             [text is written in double quotes inside the JSON string: `\"\\\"OpenAI OpCo\\\"\"`]",
            "deals.json:3:76 deal `a`, field `big`: number too large for an exact decimal \
             [the largest exact value is about 7.9e28]",
            "deals.json:3:92 deal `a`, field `l`: a list cannot hold `null` or an empty string",
            "deals.json:4:13 unknown key `idd` in `deals[1]` [did you mean `id`?]",
            "deals.json:4:5 `deals[1]` has no `id`",
            "deals.json:6:14 unknown key `entitys` in the document [did you mean `entities`?]",
        ]
    );
    assert_eq!(
        diagnostics("deals.json", "{\"deals\": [\n"),
        ["deals.json:2:1 invalid JSON: EOF while parsing a list"]
    );
}

#[test]
fn json_numbers_are_read_exactly() {
    let mut engine = Engine::new();
    let json = r#"{"deals": [{"id": "d", "fields": {
        "a": 0.1, "b": 0.2, "big": 100000000000000.02, "e": 1.5e3, "tiny": -0.0000000000000000000000000001
    }}]}"#;
    dealrules::input::load_json(&mut engine, "d.json", json).unwrap();
    let d = engine
        .facts()
        .get(engine.facts().find("d").unwrap())
        .unwrap();
    let exact = |text: &str| text.parse::<Value>().unwrap();
    assert_eq!(d.get("a"), Some(&exact("0.1")));
    assert_eq!(d.get("big"), Some(&exact("100000000000000.02")));
    assert_eq!(d.get("big").unwrap().to_string(), "100000000000000.02");
    assert_eq!(d.get("e"), Some(&exact("1500")));
    assert_eq!(
        d.get("tiny").unwrap().to_string(),
        "-0.0000000000000000000000000001"
    );
    // 0.1 + 0.2 is 0.3, not 0.30000000000000004.
    let sum = d.get("a").unwrap().add(d.get("b").unwrap()).unwrap();
    assert_eq!(sum, exact("0.3"));
}

#[test]
fn run_reports_a_bad_cell_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("deals.csv");
    std::fs::write(&csv, "id,kind,amount\nloi,investment,5 USX\n").unwrap();
    let out = dealrules(&["run", "rules/", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("row 2, column `amount`: unknown unit or currency `USX`"),
        "{err}"
    );
    assert!(err.contains("deals.csv:2:16"), "{err}");
    assert!(
        err.ends_with("1 error found; nothing was evaluated\n"),
        "{err}"
    );
}
