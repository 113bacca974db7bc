//! The pack's settings (`defaults { timezone: ...  fiscal_year_end: ... }`): taken by every rule
//! and derive that sets none, a rule's own setting wins, one value per setting in a run, located
//! errors, the same explanation whichever declared the zone, and the formatter's layout.

mod common;

use common::{dealrules, stderr, stdout};
use dealrules::{Colour, Engine, diag};

/// A filing at 20:00 in New York on 31 March: 1 April in Shanghai.
const DEALS: &str = "deal f1 { kind: filing  at: 2026-03-31T20:00:00-04:00  filed: 2026-07-01 }";

/// Loads `files` (name, text) into one engine and evaluates; the messages of the findings, or
/// every diagnostic rendered when the files do not load or check.
fn messages(files: &[(&str, &str)]) -> Result<Vec<String>, String> {
    let mut engine = Engine::new();
    let mut diags = Vec::new();
    for (name, text) in files {
        if let Err(e) = engine.load(*name, *text) {
            diags.extend(e.diagnostics);
        }
    }
    let report = if diags.is_empty() {
        engine.evaluate().map_err(|e| e.diagnostics)
    } else {
        Err(diags)
    };
    match report {
        Ok(r) => Ok(r.findings.iter().map(|f| f.message.clone()).collect()),
        Err(diags) => Err(diags
            .iter()
            .map(|d| diag::render(d, engine.sources(), Colour::Never))
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

#[test]
fn a_rule_without_a_zone_takes_the_packs() {
    let rules = r#"rule r { severity: low  flag "{date(at)} {fiscal_year(filed)} {fiscal_quarter(filed)}" }"#;
    let pack = r#"defaults { timezone: Asia/Shanghai  fiscal_year_end: "06-30" }"#;
    assert_eq!(
        messages(&[("f.deals", DEALS), ("pack.rules", pack), ("r.rules", rules)]),
        Ok(vec!["2026-04-01 2027 FY2027-Q1".to_string()])
    );
    // Declared after the rules that take it, or in the same file: the same.
    assert_eq!(
        messages(&[("f.deals", DEALS), ("r.rules", &format!("{rules}\n{pack}"))]),
        Ok(vec!["2026-04-01 2027 FY2027-Q1".to_string()])
    );
}

#[test]
fn a_rules_own_setting_wins_over_the_packs() {
    let rules = r#"defaults { timezone: Asia/Shanghai  fiscal_year_end: "06-30" }
rule own { severity: low  timezone: America/New_York  fiscal_year_end: "12-31"  flag "{date(at)} {fiscal_year(filed)}" }
rule pack { severity: low  flag "{date(at)} {fiscal_year(filed)}" }
rule call { severity: low  flag "{date(at, \"UTC\")} {fiscal_year(filed, \"09-30\")}" }"#;
    let mut got = messages(&[("f.deals", DEALS), ("r.rules", rules)]).unwrap();
    got.sort();
    assert_eq!(
        got,
        ["2026-03-31 2026", "2026-04-01 2026", "2026-04-01 2027"]
    );
}

#[test]
fn derives_take_the_packs_zone() {
    let rules = r#"defaults { timezone: Asia/Shanghai }
relation filed_on(deal: deal, day: date)
derive filed_on(d, date(d.at)) from d: deal where d.kind == filing
rule r { severity: low  match f: filed_on where f.day == 2026-04-01  flag "{f.deal} {f.day}" }"#;
    assert_eq!(
        messages(&[("f.deals", DEALS), ("r.rules", rules)]),
        Ok(vec!["f1 2026-04-01".to_string()])
    );
}

#[test]
fn two_different_pack_zones_are_an_error_at_both_places() {
    let a = "defaults {\n  timezone: Asia/Shanghai\n  fiscal_year_end: \"06-30\"\n}\n";
    let b =
        "// New York desk\ndefaults { timezone: America/New_York  fiscal_year_end: \"06-30\" }\n";
    let mut engine = Engine::new();
    engine.load("a.rules", a).unwrap();
    let err = engine.load("b.rules", b).unwrap_err();
    // The same year end declared twice is one setting; the zones differ.
    assert_eq!(err.diagnostics.len(), 1);
    let d = &err.diagnostics[0];
    assert_eq!(d.code, diag::Code::DeclaredTwice);
    assert_eq!(
        d.message,
        "the pack's `timezone` is declared twice, as `Asia/Shanghai` and as `America/New_York`"
    );
    let at = |span| {
        let l = engine.sources().location(span).unwrap();
        format!("{}:{}:{}", l.file, l.line, l.column)
    };
    let spans: Vec<String> = d.labels.iter().map(|(s, _)| at(*s)).collect();
    assert_eq!(spans, ["b.rules:2:22", "a.rules:2:13"]);
    assert_eq!(
        d.help.as_deref(),
        Some(
            "the rules loaded together share one `defaults`; keep one `timezone`, and set \
             `timezone:` in the rules that need another"
        )
    );
    // The first value stays the pack's.
    assert_eq!(
        engine.defaults().timezone.as_ref().map(|t| t.text.as_str()),
        Some("Asia/Shanghai")
    );

    // The command reports both places.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rules"), a).unwrap();
    std::fs::write(dir.path().join("b.rules"), b).unwrap();
    let out = dealrules(&["check", dir.path().to_str().unwrap(), "--color", "never"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("b.rules:2:22]"), "{err}");
    assert!(err.contains("first declared here: "), "{err}");
    assert!(err.contains("a.rules:2:13"), "{err}");
}

#[test]
fn an_unknown_pack_zone_suggests_the_closest() {
    let mut engine = Engine::new();
    let err = engine
        .load("p.rules", "defaults {\n  timezone: America/New_Yrok\n}")
        .unwrap_err();
    let found: Vec<(String, Option<String>, String)> = err
        .diagnostics
        .iter()
        .map(|d| {
            let l = engine.sources().location(d.span().unwrap()).unwrap();
            (
                d.message.clone(),
                d.help.clone(),
                format!("{}:{}:{}", l.file, l.line, l.column),
            )
        })
        .collect();
    assert_eq!(
        found,
        [(
            "unknown time zone `America/New_Yrok`".to_string(),
            Some("did you mean `America/New_York`?".to_string()),
            "p.rules:2:13".to_string()
        )]
    );
}

#[test]
fn the_explanation_is_the_same_whichever_declared_the_zone() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    std::fs::write(path("f.deals"), DEALS).unwrap();
    std::fs::write(
        path("own.rules"),
        "rule r {\n  severity: low\n  timezone: Asia/Shanghai\n\n  when  date(at) == 2026-04-01\n  flag  \"x\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        path("pack.rules"),
        "defaults {\n  timezone: Asia/Shanghai\n}\nrule r {\n  severity: low\n\n  when  date(at) == 2026-04-01\n  flag  \"x\"\n}\n",
    )
    .unwrap();
    let trace = |rules: &str| {
        let out = dealrules(&["run", &path("f.deals"), &path(rules), "--color", "never"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        text.lines()
            .filter(|l| l.contains("date(at)"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let own = trace("own.rules");
    assert_eq!(
        own,
        "date(at) == 2026-04-01   2026-04-01 == 2026-04-01\n\
         date(at) is 2026-04-01 in Asia/Shanghai (2026-03-31T20:00:00-04:00)"
    );
    assert_eq!(trace("pack.rules"), own);
}

#[test]
fn a_date_with_no_zone_anywhere_says_the_three_ways_to_give_one() {
    let err = messages(&[
        ("f.deals", DEALS),
        (
            "r.rules",
            r#"rule r { severity: low  when date(at) == 2026-04-01  flag "x" }"#,
        ),
    ])
    .unwrap_err();
    assert!(
        err.contains("`date(t)` needs a time zone, and neither the rule nor its pack declares one"),
        "{err}"
    );
    let help: String = err.split_whitespace().collect::<Vec<_>>().join(" ");
    for way in [
        "`timezone: Asia/Shanghai`",
        "`defaults { timezone: Asia/Shanghai }`",
        "`date(t, \"Asia/Shanghai\")`",
    ] {
        assert!(help.contains(way), "{way} in {err}");
    }
}

#[test]
fn the_formatter_lays_out_defaults_as_a_rules_settings_and_keeps_comments() {
    let text = "// the pack\ndefaults{timezone:Asia/Shanghai   // filings are dated in Beijing\nfiscal_year_end :\"06-30\"}\ndefaults {   }\nrule r { severity: low  when date(at) == 2026-04-01  flag \"x\" }\n";
    let formatted = dealrules::format::format(text).unwrap();
    assert_eq!(
        formatted,
        "// the pack\ndefaults {\n  timezone: Asia/Shanghai  // filings are dated in Beijing\n  fiscal_year_end: \"06-30\"\n}\ndefaults {}\nrule r {\n  severity: low\n\n  when  date(at) == 2026-04-01\n  flag  \"x\"\n}\n"
    );
    assert_eq!(dealrules::format::format(&formatted).unwrap(), formatted);
}
