//! The examples of `docs/diagnostics.md` are tests: every code of [`Code::ALL`] has a section,
//! and each example triggers its section's code.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests may fail loudly"
)]

mod common;

use dealrules::{Engine, diag::Code};

/// One `### CODE summary` section: its code, summary and first fenced block (info, text).
struct Section {
    code: String,
    summary: String,
    example: Option<(String, String)>,
}

fn sections() -> Vec<Section> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("docs/diagnostics.md")).unwrap();
    let mut out: Vec<Section> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(head) = line.strip_prefix("### ") {
            let (code, summary) = head.split_once(' ').unwrap();
            out.push(Section {
                code: code.to_string(),
                summary: summary.to_string(),
                example: None,
            });
        } else if let Some(info) = line.strip_prefix("```")
            && !info.is_empty()
        {
            let mut body = String::new();
            for l in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                body.push_str(l);
                body.push('\n');
            }
            let section = out.last_mut().expect("an example belongs to a section");
            assert!(section.example.is_none(), "{}: one example", section.code);
            section.example = Some((info.to_string(), body));
        }
    }
    out
}

/// The codes of the diagnostics that an example gives.
fn codes_of(info: &str, body: &str) -> Vec<String> {
    let mut engine = if info == "dealrules" {
        common::engine_with_schema()
    } else {
        Engine::new()
    };
    let mut diags = Vec::new();
    match info {
        "dealrules" | "dealrules standalone" => {
            if let Err(e) = engine.load("example.rules", body) {
                diags.extend(e.diagnostics);
            }
            diags.extend(engine.check());
        }
        "csv" => {
            if let Err(e) = dealrules::input::load_csv(&mut engine, "example.csv", body) {
                diags.extend(e.diagnostics);
            }
        }
        "sh" => {
            let args: Vec<&str> = body.split_whitespace().skip(1).collect();
            let out = common::dealrules(&args);
            assert_eq!(out.status.code(), Some(2), "{body}");
            return common::stderr(&out)
                .lines()
                .filter(|l| l.len() == 4 && (l.starts_with('E') || l.starts_with('W')))
                .map(str::to_string)
                .collect();
        }
        other => panic!("unknown example kind `{other}`"),
    }
    diags.iter().map(|d| d.code.as_str().to_string()).collect()
}

#[test]
fn every_code_has_a_section_with_its_summary() {
    let sections = sections();
    let documented: Vec<&str> = sections.iter().map(|s| s.code.as_str()).collect();
    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        documented, codes,
        "docs/diagnostics.md lists every code, in order"
    );
    for (s, code) in sections.iter().zip(Code::ALL) {
        assert_eq!(s.summary, code.summary(), "{}", s.code);
    }
}

#[test]
fn every_example_triggers_its_code() {
    // Codes whose trigger cannot be shown in a page: a 256 MiB file, and a formatter bug.
    let without_example = ["E002", "E012"];
    for s in sections() {
        let Some((info, body)) = &s.example else {
            assert!(
                without_example.contains(&s.code.as_str()),
                "{} has no example",
                s.code
            );
            continue;
        };
        let found = codes_of(info, body);
        assert!(
            found.contains(&s.code),
            "the example of {} gives {found:?}",
            s.code
        );
    }
}
