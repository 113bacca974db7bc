//! `dealrules test`: run the `test` blocks of rule files, each on its own facts.

use super::{ColourChoice, Exit, inputs};
use clap::{Args, ValueEnum};
use dealrules::ruletest::{self, GivenFile};
use dealrules::syntax::Given;
use dealrules::{Diagnostic, Engine};
use indexmap::IndexMap;
use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Output formats of `test`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// `ok` or `FAILED` per test, each failure explained, then `N passed, N failed`
    Text,
    /// JUnit XML for CI systems: a testsuite per file, a testcase per test
    Junit,
}

/// Arguments of `dealrules test`.
#[derive(Args, Debug)]
pub struct TestArgs {
    /// `.rules` files, or folders searched recursively for them; their rules are tested and
    /// their tests run [default: rules/]
    pub paths: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,

    /// Run only the tests whose name contains this text
    #[arg(long, value_name = "SUBSTR")]
    pub filter: Option<String>,

    /// When to colour the output and the diagnostics
    #[arg(long, value_enum, default_value_t = ColourChoice::Auto, value_name = "WHEN")]
    pub color: ColourChoice,
}

/// Runs the command: exit 0 when every test passed, 1 when one failed, 2 on invalid input
/// (a rule file or a test with an error, a given file that cannot be read).
pub fn run(args: &TestArgs) -> Exit {
    let err_colour = args.color.resolve(std::io::stderr().is_terminal());
    let out_colour = args.color.resolve(std::io::stdout().is_terminal());
    let files = match collect(&args.paths) {
        Ok(f) => f,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Invalid;
        }
    };
    let mut engine = Engine::new();
    let mut diags = inputs::load(&mut engine, &files);
    if diags.is_empty() {
        // The rules must check on their own before any test adds facts.
        if let Err(e) = engine.evaluate() {
            diags = e.diagnostics;
        }
    }
    if !diags.is_empty() {
        inputs::print_diagnostics_then(&engine, &mut diags, err_colour, "no test was run");
        return Exit::Invalid;
    }
    let selected: Vec<_> = engine
        .tests()
        .iter()
        .filter(|t| args.filter.as_ref().is_none_or(|f| t.name.name.contains(f)))
        .collect();
    if engine.tests().is_empty() {
        eprintln!("note: the given files declare no `test`");
    } else if let (true, Some(f)) = (selected.is_empty(), &args.filter) {
        eprintln!("note: no test name contains `{f}`");
    }

    // Check every selected test and read its given files, then build each test's engine;
    // every problem is reported before any test runs.
    let mut texts: IndexMap<PathBuf, Result<Arc<str>, String>> = IndexMap::new();
    let mut prepared = Vec::new();
    for test in &selected {
        let mut problems = ruletest::check(&engine, test);
        let mut files = Vec::new();
        for given in &test.given {
            let Given::File(path) = given else {
                continue;
            };
            let base = path
                .span
                .file
                .and_then(|f| engine.sources().file(f))
                .and_then(|f| Path::new(&f.name).parent().map(Path::to_path_buf))
                .unwrap_or_default();
            // Read as joined (the system resolves `..`), shown without `folder/..`.
            let joined = base.join(&path.text);
            let shown = normalize(&joined);
            let text = texts
                .entry(joined.clone())
                .or_insert_with(|| {
                    inputs::read_text(&joined)
                        .map(Arc::from)
                        .map_err(|d| d.message)
                })
                .clone();
            match text {
                Ok(text) => files.push(GivenFile {
                    name: shown.display().to_string(),
                    text,
                }),
                Err(message) => problems.push(
                    Diagnostic::error(
                        dealrules::diag::Code::BadTest,
                        message,
                        path.span,
                        "given here",
                    )
                    .with_help(
                        "the path is relative to the folder of the file that holds the test",
                    ),
                ),
            }
        }
        // The fact ids in `on (...)` are checked once the given facts are loaded.
        if problems.is_empty() {
            match ruletest::prepare(&engine, test, &files) {
                Ok(p) => prepared.push(p),
                Err(d) => problems.extend(d),
            }
        }
        diags.extend(problems);
    }
    if !diags.is_empty() {
        inputs::print_diagnostics_then(&engine, &mut diags, err_colour, "no test was run");
        return Exit::Invalid;
    }

    let results: Vec<_> = prepared.iter().map(ruletest::run).collect();
    let output = match args.format {
        TestFormat::Text => dealrules::report::test_text(&results, out_colour),
        TestFormat::Junit => dealrules::report::test_junit(&results),
    };
    if let Err(exit) = inputs::write_stdout(&output) {
        return exit;
    }
    if results.iter().all(ruletest::TestResult::passed) {
        Exit::Clean
    } else {
        Exit::Findings
    }
}

/// The `.rules` files named, or found in the named folders (recursively, in name order), each
/// once; with no paths, those in `rules/`.
fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let default = [PathBuf::from("rules")];
    let paths: &[PathBuf] = if paths.is_empty() { &default } else { paths };
    let is_rules = |p: &Path| p.extension().is_some_and(|e| e == "rules");
    let mut files: Vec<PathBuf> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut add = |p: PathBuf, files: &mut Vec<PathBuf>| {
        if seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())) {
            files.push(p);
        }
    };
    for path in paths {
        if path.is_dir() {
            let mut found = false;
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                let entry = entry.map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                if entry.file_type().is_file() && is_rules(entry.path()) {
                    found = true;
                    add(entry.into_path(), &mut files);
                }
            }
            if !found {
                return Err(format!("`{}` has no `.rules` files", path.display()));
            }
        } else if path.is_file() {
            if !is_rules(path) {
                return Err(format!(
                    "`{}` is not a `.rules` file; deal files are given to tests with `given \"FILE\"`",
                    path.display()
                ));
            }
            add(path.clone(), &mut files);
        } else {
            return Err(format!("`{}` does not exist", path.display()));
        }
    }
    Ok(files)
}

/// `rules/../examples/x.deals` as `examples/x.deals`, to show in locations: `.` dropped, and
/// `..` after a folder name removes it.
fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}
