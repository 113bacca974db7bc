//! `dealrules diff`: the findings that appear, disappear or change between two rule versions
//! over the same facts, from two JSON reports, a baseline report and the current rules, or a
//! git revision of the rules and the working tree.

use super::{ColourChoice, Exit, inputs};
use clap::{Args, ValueEnum};
use dealrules::diff::{Diff, ReadError, SavedReport, read_report};
use dealrules::{Colour, Engine};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Output formats of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Each finding that changed, explained, for people
    Text,
    /// The diff as JSON (docs/output.md)
    Json,
    /// A Markdown report for a pull request
    Markdown,
}

/// Arguments of `dealrules diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Without --base or --baseline: the old and the new JSON report (`run --format json`).
    /// With either: `.deals` and `.rules` files or folders, as for `run` [default: rules/ examples/]
    #[arg(value_name = "REPORT|PATH")]
    pub inputs: Vec<PathBuf>,

    /// Compare with the rules as they are at this git revision (`main`, `HEAD~1`, a commit),
    /// run over the same facts (those in the working tree)
    #[arg(long, value_name = "REV", conflicts_with = "baseline")]
    pub base: Option<String>,

    /// Compare with a saved JSON report (`run --format json > baseline.json`); the current
    /// rules are run over PATHS
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,

    /// When to colour the text output
    #[arg(long, value_enum, default_value_t = ColourChoice::Auto, value_name = "WHEN")]
    pub color: ColourChoice,
}

/// Runs the command and returns its exit code: 0 nothing changed, 1 some finding appeared,
/// disappeared or changed, 2 invalid input.
pub fn run(args: &DiffArgs) -> Exit {
    let err_colour = args.color.resolve(std::io::stderr().is_terminal());
    let out_colour = args.color.resolve(std::io::stdout().is_terminal());
    let sides = match (&args.base, &args.baseline) {
        (Some(rev), _) => at_revision(rev, &args.inputs, err_colour),
        (None, Some(file)) => baseline(file, &args.inputs, err_colour),
        (None, None) => two_reports(&args.inputs),
    };
    let Ok((old, new)) = sides else {
        return Exit::Invalid;
    };
    let diff = Diff::new(old, new);
    let output = match args.format {
        DiffFormat::Text => dealrules::report::diff_text(&diff, out_colour),
        DiffFormat::Json => dealrules::report::diff_json(&diff),
        DiffFormat::Markdown => dealrules::report::diff_markdown(&diff),
    };
    if let Err(exit) = inputs::write_stdout(&output) {
        return exit;
    }
    let mut incomplete = false;
    for (side, report) in [("old", &diff.old), ("new", &diff.new)] {
        if report.errors > 0 {
            incomplete = true;
            eprintln!(
                "error: the {side} report records {} evaluation error{}, so its findings are \
                 incomplete; `dealrules run` shows them",
                report.errors,
                if report.errors == 1 { "" } else { "s" }
            );
        }
    }
    if incomplete {
        Exit::Invalid
    } else if diff.is_empty() {
        Exit::Clean
    } else {
        Exit::Findings
    }
}

/// Prints every read error.
fn report_errors(errors: &[ReadError]) {
    for e in errors {
        eprintln!("error: {e}");
    }
}

/// Reads a JSON report from a file (or a pipe: `<(dealrules run --format json)`); on failure,
/// every problem is printed.
fn read_file(path: &Path) -> Result<SavedReport, ()> {
    let text = inputs::read_text(path).map_err(|d| eprintln!("error: {}", d.message))?;
    read_report(&path.display().to_string(), &text).map_err(|e| report_errors(&e))
}

fn two_reports(inputs: &[PathBuf]) -> Result<(SavedReport, SavedReport), ()> {
    let [old, new] = inputs else {
        eprintln!(
            "error: give two JSON reports (`dealrules diff OLD.json NEW.json`), or \
             `--baseline FILE` or `--base REV` with the paths to run; {} given",
            plural_paths(inputs.len())
        );
        return Err(());
    };
    let old = read_file(old);
    let new = read_file(new);
    Ok((old?, new?))
}

fn plural_paths(n: usize) -> String {
    format!("{n} path{}", if n == 1 { "" } else { "s" })
}

fn baseline(
    file: &Path,
    paths: &[PathBuf],
    colour: Colour,
) -> Result<(SavedReport, SavedReport), ()> {
    let old = read_file(file)?;
    let files = inputs::collect(paths).map_err(|message| eprintln!("error: {message}"))?;
    let mut engine = Engine::new();
    let mut diags = inputs::load(&mut engine, &files);
    if !diags.is_empty() {
        inputs::print_diagnostics(&engine, &mut diags, colour);
        return Err(());
    }
    let new = evaluate(&engine, "the current run", colour)?;
    Ok((old, new))
}

/// Evaluates the loaded rules and reads the JSON report back, so that a run compares exactly
/// as a saved report does.
fn evaluate(engine: &Engine, name: &str, colour: Colour) -> Result<SavedReport, ()> {
    let report = match engine.evaluate() {
        Ok(r) => r,
        Err(e) => {
            let mut diags = e.diagnostics;
            inputs::print_diagnostics(engine, &mut diags, colour);
            return Err(());
        }
    };
    let json = dealrules::report::json(&report, engine.sources());
    read_report(name, &json).map_err(|e| report_errors(&e))
}

/// Runs `git` with `args` in the current folder; its standard output, or the first line of
/// what it printed on failure.
fn git(args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `git`: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().next().unwrap_or("").trim().to_string())
    }
}

fn at_revision(
    rev: &str,
    paths: &[PathBuf],
    colour: Colour,
) -> Result<(SavedReport, SavedReport), ()> {
    if let Err(message) = git(&["rev-parse", "--show-toplevel"]) {
        if message.starts_with("cannot run") {
            eprintln!("error: `--base` needs git: {message}");
        } else if !message.contains("not a git repository") {
            eprintln!("error: `--base {rev}`: git cannot read the repository here: {message}");
        } else {
            eprintln!(
                "error: `--base {rev}` needs a git checkout, and the current folder is not in \
                 one (git says: {message}); compare two saved reports with \
                 `dealrules diff OLD.json NEW.json` instead"
            );
        }
        return Err(());
    }
    let spec = format!("{rev}^{{commit}}");
    let commit = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        &spec,
    ])
    .ok()
    .and_then(|o| String::from_utf8(o).ok())
    .map(|c| c.trim().to_string())
    .filter(|c| !c.is_empty());
    let Some(commit) = commit else {
        eprintln!("error: unknown revision `{rev}`: git knows no commit by that name");
        return Err(());
    };
    let files = inputs::collect(paths).map_err(|message| eprintln!("error: {message}"))?;
    let is_rules = |p: &Path| p.extension().is_some_and(|e| e == "rules");

    // The current side: every file as it is in the working tree.
    let mut engine = Engine::new();
    let mut diags = inputs::load(&mut engine, &files);
    if !diags.is_empty() {
        inputs::print_diagnostics(&engine, &mut diags, colour);
        return Err(());
    }
    let new = evaluate(&engine, "the working tree", colour)?;

    // The base side: the same facts, and the `.rules` files under the same paths at `rev`.
    let fact_files: Vec<PathBuf> = files.iter().filter(|p| !is_rules(p)).cloned().collect();
    let default_paths = [PathBuf::from("rules"), PathBuf::from("examples")];
    let rule_paths = if paths.is_empty() {
        &default_paths[..]
    } else {
        paths
    };
    let mut ls = vec!["ls-tree", "-r", "-z", "--name-only", &commit, "--"];
    let rule_paths: Vec<String> = rule_paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    ls.extend(rule_paths.iter().map(String::as_str));
    let listed = git(&ls).map_err(|message| {
        eprintln!("error: cannot list the files at `{rev}`: {message}");
    })?;
    let mut base = Engine::new();
    let mut diags = inputs::load(&mut base, &fact_files);
    for name in listed.split(|b| *b == 0) {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if name.is_empty() || !is_rules(Path::new(name)) {
            continue;
        }
        let object = format!("{commit}:./{name}");
        let text = git(&["show", &object])
            .map_err(|message| eprintln!("error: cannot read `{rev}:{name}`: {message}"))?;
        let Ok(text) = String::from_utf8(text) else {
            eprintln!("error: `{rev}:{name}` is not valid UTF-8");
            return Err(());
        };
        if let Err(e) = base.load(format!("{rev}:{name}"), text) {
            diags.extend(e.diagnostics);
        }
    }
    if !diags.is_empty() {
        eprintln!("error: the rules at `{rev}` do not load:");
        inputs::print_diagnostics(&base, &mut diags, colour);
        return Err(());
    }
    let old = evaluate(&base, &format!("the rules at `{rev}`"), colour)?;
    Ok((old, new))
}
