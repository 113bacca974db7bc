//! The results of `test` blocks: text for people (`ok` / `FAILED`, and for each failure the
//! expectation, what the rule found and the difference) and JUnit XML for CI systems.

use crate::Finding;
use crate::diag::{Colour, SourceMap, Span};
use crate::input::quote;
use crate::ruletest::{Failure, Problem, TestError, TestResult};
use crate::syntax::{ExpectKind, Ident, MessageCheck};
use anstyle::{AnsiColor, Style};
use std::fmt::Write as _;

fn paint(colour: Colour, style: Style, text: &str) -> String {
    match colour {
        Colour::Never => text.to_string(),
        Colour::Always => format!("{}{text}{}", style.render(), style.render_reset()),
    }
}

/// `file:line` of a span, or `?` when it has no file.
fn place(sources: &SourceMap, span: Span) -> String {
    sources
        .location(span)
        .map_or_else(|| "?".to_string(), |l| l.to_string())
}

/// `file:line:column` of a span.
fn place_column(sources: &SourceMap, span: Span) -> String {
    sources.location(span).map_or_else(
        || "?".to_string(),
        |l| format!("{}:{}:{}", l.file, l.line, l.column),
    )
}

/// The text of each test's results: one `ok` or `FAILED` line per test with its `file:line`,
/// each failure explained under its test, then `N passed, N failed`.
pub fn test_text(results: &[TestResult], colour: Colour) -> String {
    let locations: Vec<String> = results
        .iter()
        .map(|r| place(&r.sources, r.test.name.span))
        .collect();
    let width = locations
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (r, location) in results.iter().zip(&locations) {
        let status = if r.passed() {
            paint(colour, AnsiColor::Green.on_default(), "ok    ")
        } else {
            paint(colour, AnsiColor::Red.on_default().bold(), "FAILED")
        };
        let pad = " ".repeat(width - location.chars().count());
        let _ = writeln!(out, "{status}  {location}{pad}  {}", r.test.name.name);
        for f in &r.failures {
            out.push_str(&failure_text(f, &r.sources, colour));
            out.push('\n');
        }
    }
    let failed = results.iter().filter(|r| !r.passed()).count();
    if !results.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    let _ = writeln!(out, "{} passed, {failed} failed", results.len() - failed);
    out
}

/// One failure, indented under its test: the expectation and where it is written, what was
/// found, and the difference (`-` expected, `+` actual), each `+` line written as the
/// expectation that would hold.
fn failure_text(f: &Failure, sources: &SourceMap, colour: Colour) -> String {
    let mut out = String::new();
    let minus = |s: String| paint(colour, AnsiColor::Red.on_default(), &format!("- {s}"));
    let plus = |s: String| paint(colour, AnsiColor::Green.on_default(), &format!("+ {s}"));
    let mut diff: Vec<String> = Vec::new();
    match &f.expect {
        Some(e) => {
            let _ = writeln!(
                out,
                "  expect {}   {}",
                expect_text(&e.kind),
                place(sources, e.span)
            );
        }
        None => {
            let _ = writeln!(out, "  an error that no `expect error` expects");
        }
    }
    let rule = f.expect.as_ref().and_then(|e| e.kind.rule());
    match (&f.problem, f.expect.as_ref().map(|e| &e.kind)) {
        (Problem::NoMatch { findings, closest }, Some(kind)) => {
            findings_text(&mut out, rule, findings, sources);
            diff.push(minus(expect_text(kind)));
            if let Some(c) = closest.and_then(|i| findings.get(i)) {
                let parts = crate::ruletest::differences(kind, c);
                let _ = writeln!(
                    out,
                    "    the closest finding differs in: {}",
                    parts.join(", ")
                );
                diff.push(plus(finding_as(kind, c)));
            }
        }
        (Problem::Unexpected { findings, matching }, Some(kind)) => {
            findings_text(&mut out, rule, findings, sources);
            diff.push(minus(expect_text(kind)));
            for f in matching.iter().filter_map(|i| findings.get(*i)) {
                diff.push(plus(finding_as(kind, f)));
            }
        }
        (Problem::Count { findings, unnamed }, Some(kind)) => {
            findings_text(&mut out, rule, findings, sources);
            diff.push(minus(expect_text(kind)));
            if let ExpectKind::Count { rule, .. } = kind {
                diff.push(plus(format!("count {} {}", name(rule), findings.len())));
            }
            if !unnamed.is_empty() {
                diff.push("  findings that no `expect` of this test names:".to_string());
                for f in unnamed.iter().filter_map(|i| findings.get(*i)) {
                    diff.push(plus(format!(
                        "{} on ({})",
                        quote_name(&f.rule),
                        fact_list(f)
                    )));
                }
            }
        }
        (Problem::NoError { errors }, Some(kind)) => {
            if errors.is_empty() {
                out.push_str("    errors: none\n");
            } else {
                let _ = writeln!(out, "    errors ({}):", errors.len());
                for e in errors {
                    let _ = writeln!(out, "      {}", error_line(e, sources));
                }
            }
            diff.push(minus(expect_text(kind)));
            for e in errors {
                diff.push(plus(format!("error {}", quote(&e.message))));
            }
        }
        (Problem::UnexpectedError(e), _) => {
            let _ = writeln!(out, "    {}", error_line(e, sources));
            diff.push(plus(format!("error {}", quote(&e.message))));
        }
        // Every problem but an unexpected error has its expectation.
        (_, None) => {}
    }
    out.push_str("    difference (- expected, + actual):\n");
    for line in diff {
        let _ = writeln!(out, "      {line}");
    }
    out
}

/// `findings of `r` (2):`, then each finding: severity and bindings, then the message.
fn findings_text(
    out: &mut String,
    rule: Option<&Ident>,
    findings: &[Finding],
    sources: &SourceMap,
) {
    let rule = rule.map_or(String::new(), |r| format!(" of `{}`", r.name));
    if findings.is_empty() {
        let _ = writeln!(out, "    findings{rule}: none");
        return;
    }
    let _ = writeln!(out, "    findings{rule} ({}):", findings.len());
    for f in findings {
        let bindings: Vec<String> = f
            .bindings
            .iter()
            .map(|b| format!("{} = {}", b.var, b.fact))
            .collect();
        let at = f
            .bindings
            .first()
            .and_then(|b| sources.location(b.span))
            .map_or(String::new(), |l| format!("   {l}"));
        let _ = writeln!(
            out,
            "      {:<8}{}{at}",
            f.severity.name(),
            bindings.join(", ")
        );
        let _ = writeln!(out, "              {}", quote(&f.message));
    }
}

fn error_line(e: &TestError, sources: &SourceMap) -> String {
    let mut line = e.message.clone();
    let mut at = Vec::new();
    if let Some(rule) = &e.rule {
        at.push(format!("rule `{rule}`"));
    }
    if let Some(span) = e.span {
        at.push(place_column(sources, span));
    }
    if !at.is_empty() {
        let _ = write!(line, "   ({})", at.join(", "));
    }
    line
}

/// An expectation as written in the canonical layout, without `expect`.
pub fn expect_text(kind: &ExpectKind) -> String {
    match kind {
        ExpectKind::Finding {
            rule,
            on,
            severity,
            message,
        } => {
            let mut s = name(rule);
            if let Some(on) = on {
                let _ = write!(s, " on ({})", names(on));
            }
            if let Some(sev) = severity {
                let _ = write!(s, " severity {sev}");
            }
            match message {
                Some(MessageCheck::Is(t)) => {
                    let _ = write!(s, " message {}", quote(&t.text));
                }
                Some(MessageCheck::Contains(t)) => {
                    let _ = write!(s, " message contains {}", quote(&t.text));
                }
                None => {}
            }
            s
        }
        ExpectKind::NoFinding { rule, on } => match on {
            Some(on) => format!("no {} on ({})", name(rule), names(on)),
            None => format!("no {}", name(rule)),
        },
        ExpectKind::Count { rule, count } => format!("count {} {count}", name(rule)),
        ExpectKind::Error(t) => format!("error {}", quote(&t.text)),
    }
}

/// A finding written as an expectation that it satisfies, with the parts `like` checks: the
/// bound facts, and the severity and the whole message when `like` checks them.
fn finding_as(like: &ExpectKind, f: &Finding) -> String {
    let mut s = format!("{} on ({})", quote_name(&f.rule), fact_list(f));
    if let ExpectKind::Finding {
        severity, message, ..
    } = like
    {
        if severity.is_some() {
            let _ = write!(s, " severity {}", f.severity);
        }
        if message.is_some() {
            let _ = write!(s, " message {}", quote(&f.message));
        }
    }
    s
}

fn fact_list(f: &Finding) -> String {
    f.facts().map(quote_name).collect::<Vec<_>>().join(", ")
}

fn name(i: &Ident) -> String {
    quote_name(&i.name)
}

fn names(ids: &[Ident]) -> String {
    ids.iter().map(name).collect::<Vec<_>>().join(", ")
}

/// A name as written in a rule file: bare when it is an identifier, quoted otherwise.
fn quote_name(n: &str) -> String {
    let mut chars = n.chars();
    let ident = chars
        .next()
        .is_some_and(|c| pest::unicode::XID_START(c) || c == '_')
        && chars.all(pest::unicode::XID_CONTINUE);
    if ident { n.to_string() } else { quote(n) }
}

/// The results as JUnit XML: one `testsuite` per file (in the order of the results), one
/// `testcase` per test with its file and line, and for a failed test a `failure` element whose
/// text is the explanation that [`test_text`] prints. No times are written, so the same input
/// gives the same bytes.
pub fn test_junit(results: &[TestResult]) -> String {
    let mut suites: Vec<(String, Vec<&TestResult>)> = Vec::new();
    for r in results {
        let file = r
            .sources
            .location(r.test.name.span)
            .map_or_else(|| "?".to_string(), |l| l.file);
        match suites.iter_mut().find(|(f, _)| *f == file) {
            Some((_, tests)) => tests.push(r),
            None => suites.push((file, vec![r])),
        }
    }
    let failed = |rs: &[&TestResult]| rs.iter().filter(|r| !r.passed()).count();
    let all: Vec<&TestResult> = results.iter().collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"dealrules test\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
        all.len(),
        failed(&all)
    );
    for (file, tests) in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
            xml_attr(file),
            tests.len(),
            failed(tests)
        );
        for r in tests {
            let line = r.sources.location(r.test.name.span).map_or(0, |l| l.line);
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{line}\"",
                xml_attr(&r.test.name.name),
                xml_attr(file),
                xml_attr(file),
            );
            let Some(first) = r.failures.first() else {
                out.push_str("/>\n");
                continue;
            };
            out.push_str(">\n");
            let mut message = match &first.expect {
                Some(e) => format!("expect {}", expect_text(&e.kind)),
                None => match &first.problem {
                    Problem::UnexpectedError(e) => format!("unexpected error: {}", e.message),
                    _ => "failed".to_string(),
                },
            };
            if r.failures.len() > 1 {
                let _ = write!(message, " (and {} more)", r.failures.len() - 1);
            }
            let body: String = r
                .failures
                .iter()
                .map(|f| failure_text(f, &r.sources, Colour::Never))
                .collect();
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"expectation\">{}</failure>",
                xml_attr(&message),
                xml_text(&body)
            );
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Text for XML element content: `&`, `<` and `>` escaped; characters XML 1.0 does not allow
/// (control characters other than tab and line breaks, U+FFFE, U+FFFF) written as `\u{..}`.
fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Text for an XML attribute value in double quotes: as [`xml_text`], and `"`, `'`, tabs and
/// line breaks as character references (a parser would otherwise turn them into spaces).
fn xml_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push_str(&xml_text(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped() {
        assert_eq!(
            xml_text("a < b && c > \"d\""),
            "a &lt; b &amp;&amp; c &gt; \"d\""
        );
        assert_eq!(xml_text("bell\u{7}\ttab"), "bell\\u{7}\ttab");
        assert_eq!(
            xml_attr("say \"hi\"\n'x' <y>"),
            "say &quot;hi&quot;&#10;&apos;x&apos; &lt;y&gt;"
        );
    }

    #[test]
    fn names_and_strings_are_written_as_in_a_rule_file() {
        assert_eq!(quote_name("nvidia_openai_loi"), "nvidia_openai_loi");
        assert_eq!(quote_name("甲骨文"), "甲骨文");
        assert_eq!(
            quote_name("Nvidia > OpenAI > Nvidia"),
            "\"Nvidia > OpenAI > Nvidia\""
        );
        assert_eq!(quote("a \"b\" \\ c\nd"), "\"a \\\"b\\\" \\\\ c\\nd\"");
    }
}
