//! Tests of rules: `test` blocks, each run on its own facts against the loaded rules.
//!
//! A `test` declaration names facts (`given`) and what the rules must find in them (`expect`).
//! [`Engine::load`] keeps tests aside and [`Engine::evaluate`] never runs them. Running one takes
//! three steps, so that a host program (the `dealrules test` command) can report every bad test
//! before running any:
//!
//! 1. [`check`]: every `expect` names a loaded rule (with "did you mean"), and `on (...)` lists
//!    as many facts as the rule has bindings;
//! 2. [`prepare`]: a copy of the engine with the rules, plus the test's own facts (written in
//!    the test, or the texts of its `given` files, which the caller reads); every fact id in
//!    `on (...)` must name a given entity or deal of the right kind;
//! 3. [`run`]: evaluate, and compare the findings and errors with the expectations. The result
//!    holds each failed expectation with the findings of its rule, so that a renderer
//!    (`report::test_text`, `report::test_junit`) can show the difference.
//!
//! Tests are isolated: the facts of one test, or of the files it is given, are never seen by
//! another.

use crate::diag::{Code, Diagnostic, Level, SourceMap, Span, article, did_you_mean};
use crate::syntax::{Expect, ExpectKind, FactKind, Given, MessageCheck, RuleDecl, TestDecl};
use crate::value::Name;
use crate::{Engine, Finding};
use std::sync::Arc;

/// The text of a file named by `given "..."`, read by the caller.
#[derive(Clone, Debug)]
pub struct GivenFile {
    /// The name to show in locations (the path as resolved from the test's file).
    pub name: String,
    /// The file's text: a deal file, or a CSV or JSON fact table when `name` ends in `.csv` or
    /// `.json`.
    pub text: Arc<str>,
}

/// The bindings of a rule: their names and what they range over, in binding order (one
/// binding, `deal`, in the implicit single-deal form).
fn bindings(rule: &RuleDecl) -> Vec<(Name, Option<FactKind>)> {
    if rule.patterns.is_empty() {
        return vec![(Arc::from("deal"), Some(FactKind::Deal))];
    }
    rule.patterns
        .iter()
        .map(|p| {
            let kind = match (&p.kind, p.cycle) {
                (FactKind::Entity | FactKind::Deal, None) => Some(p.kind.clone()),
                // Rows of relations and cycles exist only while the rules run.
                _ => None,
            };
            (p.var.name.clone(), kind)
        })
        .collect()
}

/// Checks `test` against the rules of `engine` without running it: each `expect` names a loaded
/// rule, and each `on (...)` lists one fact per binding of that rule. Returns every problem.
pub fn check(engine: &Engine, test: &TestDecl) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for expect in &test.expects {
        let Some(rule_id) = expect.kind.rule() else {
            continue;
        };
        let Some(rule) = engine.rules().iter().find(|r| r.id.name == rule_id.name) else {
            let mut d = Diagnostic::error(
                Code::BadTest,
                format!("no rule `{}` is loaded", rule_id.name),
                rule_id.span,
                "unknown rule",
            );
            d.help = did_you_mean(&rule_id.name, engine.rules().iter().map(|r| &*r.id.name))
                .or_else(|| Some("name the rule files to test on the command line".into()));
            diags.push(d);
            continue;
        };
        let on = match &expect.kind {
            ExpectKind::Finding { on: Some(on), .. }
            | ExpectKind::NoFinding { on: Some(on), .. } => on,
            _ => continue,
        };
        let vars = bindings(rule);
        if on.len() != vars.len() {
            let names: Vec<&str> = vars.iter().map(|(n, _)| &**n).collect();
            let span = on
                .first()
                .zip(on.last())
                .map_or(expect.span, |(a, b)| a.span.to(b.span));
            diags.push(
                Diagnostic::error(
                    Code::BadTest,
                    format!(
                        "rule `{}` has {} binding{}, but {} fact{} given",
                        rule_id.name,
                        vars.len(),
                        if vars.len() == 1 { "" } else { "s" },
                        on.len(),
                        if on.len() == 1 { " is" } else { "s are" }
                    ),
                    span,
                    "one fact id per binding",
                )
                .with_help(format!(
                    "list the bound facts in binding order: `on ({})`",
                    names.join(", ")
                )),
            );
        }
    }
    diags
}

/// A test with its engine built: the rules, plus the test's facts.
#[derive(Debug)]
pub struct Prepared {
    test: TestDecl,
    engine: Engine,
    /// Errors from loading the given facts; the rules are not evaluated when there are any.
    load_errors: Vec<Diagnostic>,
}

impl Prepared {
    /// The test.
    pub fn test(&self) -> &TestDecl {
        &self.test
    }
}

/// Builds the engine of `test`: a copy of `base` (its rules and any facts of the rule files)
/// with the facts written in the test and the texts of its `given` files, `files` holding one
/// [`GivenFile`] per `given "..."` in written order.
///
/// Errors while loading the given facts (a duplicate id, a bad literal in a given file...) do
/// not stop this step: they are errors of the test, which `expect error` can expect.
///
/// # Errors
/// A diagnostic for each fact id in `on (...)` that names no given entity or deal, or one of the
/// wrong kind (with "did you mean"); and one when `files` does not match the `given` files.
pub fn prepare(
    base: &Engine,
    test: &TestDecl,
    files: &[GivenFile],
) -> Result<Prepared, Vec<Diagnostic>> {
    let mut engine = base.clone();
    let mut load_errors = Vec::new();
    let mut files = files.iter();
    for given in &test.given {
        let loaded = match given {
            Given::Facts { facts, rates, .. } => engine.add_given(facts, rates),
            Given::File(path) => {
                let Some(file) = files.next() else {
                    return Err(vec![Diagnostic::error(
                        Code::BadTest,
                        format!("the text of `{}` was not given", path.text),
                        path.span,
                        "this file",
                    )]);
                };
                let name = file.name.clone();
                let text = file.text.clone();
                if name.ends_with(".csv") {
                    crate::input::load_csv(&mut engine, name, text.to_string())
                } else if name.ends_with(".json") {
                    crate::input::load_json(&mut engine, name, text.to_string())
                } else {
                    engine.load_facts(name, text)
                }
            }
        };
        if let Err(e) = loaded {
            load_errors.extend(
                e.diagnostics
                    .into_iter()
                    .filter(|d| d.level == Level::Error),
            );
        }
    }
    let mut diags = Vec::new();
    if load_errors.is_empty() {
        for expect in &test.expects {
            check_fact_ids(&engine, expect, &mut diags);
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Prepared {
        test: test.clone(),
        engine,
        load_errors,
    })
}

/// Each fact id of `on (...)` names a loaded fact of the kind its binding ranges over.
fn check_fact_ids(engine: &Engine, expect: &Expect, diags: &mut Vec<Diagnostic>) {
    let (rule_id, on) = match &expect.kind {
        ExpectKind::Finding {
            rule, on: Some(on), ..
        }
        | ExpectKind::NoFinding { rule, on: Some(on) } => (rule, on),
        _ => return,
    };
    let Some(rule) = engine.rules().iter().find(|r| r.id.name == rule_id.name) else {
        return;
    };
    let facts = engine.facts();
    for ((var, kind), id) in bindings(rule).iter().zip(on) {
        let Some(kind) = kind else {
            continue;
        };
        let found = facts.find(&id.name).and_then(|i| facts.get(i));
        match found {
            Some(f) if *f.kind() == *kind => {}
            Some(f) => diags.push(Diagnostic::error(
                Code::BadTest,
                format!(
                    "`{}` is {} {}, but binding `{var}` of `{}` ranges over {}s",
                    id.name,
                    article(f.kind().keyword()),
                    f.kind().keyword(),
                    rule_id.name,
                    kind.keyword()
                ),
                id.span,
                format!("not {} {}", article(kind.keyword()), kind.keyword()),
            )),
            None => {
                let mut d = Diagnostic::error(
                    Code::BadTest,
                    format!("no fact `{}` is given to this test", id.name),
                    id.span,
                    "unknown fact",
                );
                let same_kind: Vec<crate::value::Name> = facts
                    .iter()
                    .filter(|(_, f)| *f.kind() == *kind)
                    .map(|(_, f)| f.id().into_owned())
                    .collect();
                let same_kind: Vec<&str> = same_kind.iter().map(|n| &**n).collect();
                d.help = did_you_mean(&id.name, same_kind.iter().copied()).or_else(|| {
                    match same_kind.len() {
                        0 => Some(format!("this test is given no {}", kind.keyword())),
                        1..=12 => Some(format!(
                            "the given {}s are: {}",
                            kind.keyword(),
                            same_kind.join(", ")
                        )),
                        _ => None,
                    }
                });
                diags.push(d);
            }
        }
    }
}

/// An error met while running a test: from loading its facts, checking the rules against
/// them, or evaluating a rule.
#[derive(Clone, Debug, PartialEq)]
pub struct TestError {
    /// What went wrong.
    pub message: String,
    /// The rule being evaluated, for an evaluation error.
    pub rule: Option<Name>,
    /// Where, if known.
    pub span: Option<Span>,
}

/// Why an expectation (or a test) failed.
#[derive(Clone, Debug, PartialEq)]
pub enum Problem {
    /// `expect RULE ...`: no finding of the rule has everything expected. `closest` is the
    /// position in `findings` of the finding that matches the most, if the rule found any.
    NoMatch {
        /// The findings of the rule, by the ids of their facts.
        findings: Vec<Finding>,
        /// The finding closest to the expectation.
        closest: Option<usize>,
    },
    /// `expect no RULE ...`: the rule found these.
    Unexpected {
        /// The findings of the rule, by the ids of their facts.
        findings: Vec<Finding>,
        /// The positions in `findings` of those the expectation excludes.
        matching: Vec<usize>,
    },
    /// `expect count RULE N`: the rule found another number.
    Count {
        /// The findings of the rule, by the ids of their facts.
        findings: Vec<Finding>,
        /// The positions in `findings` of those that no `expect RULE on (...)` of the test
        /// names.
        unnamed: Vec<usize>,
    },
    /// `expect error "..."`: no error has this text.
    NoError {
        /// The errors there were.
        errors: Vec<TestError>,
    },
    /// An error that no `expect error` of the test expects.
    UnexpectedError(TestError),
}

/// One failure of a test.
#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    /// The expectation that failed; `None` for an error no expectation expects.
    pub expect: Option<Expect>,
    /// What was found instead.
    pub problem: Problem,
}

/// The result of running one test.
#[derive(Clone, Debug)]
pub struct TestResult {
    /// The test.
    pub test: TestDecl,
    /// Its failures; none when the test passed.
    pub failures: Vec<Failure>,
    /// The sources of the test's engine: the rule files and the given files, to resolve the
    /// spans of the test, its expectations and the findings.
    pub sources: SourceMap,
}

impl TestResult {
    /// Whether every expectation held and no unexpected error occurred.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs a prepared test: evaluates the rules over its facts (unless loading them failed) and
/// compares findings and errors with each expectation.
pub fn run(prepared: &Prepared) -> TestResult {
    let test = &prepared.test;
    let engine = &prepared.engine;
    let mut errors: Vec<TestError> = prepared.load_errors.iter().map(diagnostic_error).collect();
    let mut findings = Vec::new();
    if errors.is_empty() {
        match engine.evaluate() {
            Ok(report) => {
                findings = report.findings;
                errors.extend(report.errors.into_iter().map(|e| TestError {
                    message: format!("{} in `{}`", e.message, e.expr),
                    rule: Some(e.rule),
                    span: Some(e.span),
                }));
            }
            Err(e) => {
                errors.extend(
                    e.diagnostics
                        .iter()
                        .filter(|d| d.level == Level::Error)
                        .map(diagnostic_error),
                );
            }
        }
    }
    // The findings of one rule, by the ids of their facts (easier to compare by eye than the
    // report's order by fingerprint).
    let of_rule = |rule: &str| -> Vec<Finding> {
        let mut found: Vec<Finding> = findings
            .iter()
            .filter(|f| &*f.rule == rule)
            .cloned()
            .collect();
        found.sort_by(|a, b| a.facts().cmp(b.facts()));
        found
    };
    let mut failures = Vec::new();
    for expect in &test.expects {
        let problem = match &expect.kind {
            ExpectKind::Finding { rule, .. } => {
                let found = of_rule(&rule.name);
                if found.iter().any(|f| score(&expect.kind, f) == FULL) {
                    continue;
                }
                let closest = (0..found.len())
                    .rev()
                    .max_by_key(|&i| found.get(i).map_or(0, |f| score(&expect.kind, f)));
                Problem::NoMatch {
                    findings: found,
                    closest,
                }
            }
            ExpectKind::NoFinding { rule, on } => {
                let found = of_rule(&rule.name);
                let matching: Vec<usize> = found
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| on.as_ref().is_none_or(|on| same_facts(on, f)))
                    .map(|(i, _)| i)
                    .collect();
                if matching.is_empty() {
                    continue;
                }
                Problem::Unexpected {
                    findings: found,
                    matching,
                }
            }
            ExpectKind::Count { rule, count } => {
                let found = of_rule(&rule.name);
                if found.len() == *count {
                    continue;
                }
                let unnamed = found
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| !named(test, f))
                    .map(|(i, _)| i)
                    .collect();
                Problem::Count {
                    findings: found,
                    unnamed,
                }
            }
            ExpectKind::Error(text) => {
                if errors.iter().any(|e| e.message.contains(&text.text)) {
                    continue;
                }
                Problem::NoError {
                    errors: errors.clone(),
                }
            }
        };
        failures.push(Failure {
            expect: Some(expect.clone()),
            problem,
        });
    }
    for error in &errors {
        let expected = test.expects.iter().any(|e| match &e.kind {
            ExpectKind::Error(text) => error.message.contains(&text.text),
            _ => false,
        });
        if !expected {
            failures.push(Failure {
                expect: None,
                problem: Problem::UnexpectedError(error.clone()),
            });
        }
    }
    TestResult {
        test: test.clone(),
        failures,
        sources: engine.sources().clone(),
    }
}

fn diagnostic_error(d: &Diagnostic) -> TestError {
    TestError {
        message: d.message.clone(),
        rule: None,
        span: d.span().filter(|s| s.file.is_some()),
    }
}

/// The score of a finding that has everything an expectation asks for.
const FULL: u8 = 7;

/// What of `expect RULE [on (...)] [severity S] [message ...]` the finding does not have:
/// `on`, `severity`, `message`, in that order.
pub fn differences(expect: &ExpectKind, f: &Finding) -> Vec<&'static str> {
    let score = score(expect, f);
    [(4, "on"), (2, "severity"), (1, "message")]
        .into_iter()
        .filter(|(bit, _)| score & bit == 0)
        .map(|(_, part)| part)
        .collect()
}

/// How well a finding matches `expect RULE [on (...)] [severity S] [message ...]`: 4 for the
/// bound facts, 2 for the severity, 1 for the message; what is not asked for counts as matched.
fn score(expect: &ExpectKind, f: &Finding) -> u8 {
    let ExpectKind::Finding {
        on,
        severity,
        message,
        ..
    } = expect
    else {
        return 0;
    };
    let on_ok = on.as_ref().is_none_or(|on| same_facts(on, f));
    let severity_ok = severity.is_none_or(|s| s == f.severity);
    let message_ok = message.as_ref().is_none_or(|m| match m {
        MessageCheck::Is(t) => f.message == t.text,
        MessageCheck::Contains(t) => f.message.contains(&t.text),
    });
    4 * u8::from(on_ok) + 2 * u8::from(severity_ok) + u8::from(message_ok)
}

/// Whether the finding's bound facts are `on`, in binding order.
fn same_facts(on: &[crate::syntax::Ident], f: &Finding) -> bool {
    on.len() == f.bindings.len() && on.iter().zip(f.facts()).all(|(id, fact)| *id.name == *fact)
}

/// Whether an `expect RULE on (...)` of the test names the finding's facts.
fn named(test: &TestDecl, f: &Finding) -> bool {
    test.expects.iter().any(|e| match &e.kind {
        ExpectKind::Finding {
            rule, on: Some(on), ..
        } => rule.name == f.rule && same_facts(on, f),
        _ => false,
    })
}
