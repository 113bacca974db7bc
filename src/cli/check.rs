//! `dealrules check`: every mistake of every file, before anything is evaluated.

use super::{ColourChoice, Exit, inputs};
use clap::{Args, ValueEnum};
use dealrules::{Engine, Level};
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;

/// Output formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Diagnostics with source snippets, on standard error
    Text,
    /// One JSON document on standard output (layout in docs/output.md)
    Json,
}

/// Arguments of `dealrules check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// `.deals`, `.rules`, `.csv` and `.json` files, or folders [default: rules/ examples/]
    pub paths: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,

    /// Fail (exit code 2) on warnings too
    #[arg(long)]
    pub deny_warnings: bool,

    /// When to colour the diagnostics
    #[arg(long, value_enum, default_value_t = ColourChoice::Auto, value_name = "WHEN")]
    pub color: ColourChoice,
}

/// Runs the command: 0 clean, 2 an error (or a warning with `--deny-warnings`).
pub fn check(args: &CheckArgs) -> Exit {
    let colour = args.color.resolve(std::io::stderr().is_terminal());
    let files = match inputs::files(&args.paths) {
        Ok(f) => f,
        Err(exit) => return exit,
    };
    let mut engine = Engine::new();
    let mut diags = inputs::load(&mut engine, &files);
    diags.extend(engine.check());
    dealrules::diag::sort(&mut diags);
    let errors = diags.iter().filter(|d| d.level == Level::Error).count();
    let warnings = diags.len() - errors;
    match args.format {
        CheckFormat::Json => {
            let out = dealrules::report::diagnostics_json(&diags, engine.sources());
            if let Err(exit) = inputs::write_stdout(&out) {
                return exit;
            }
        }
        CheckFormat::Text => {
            let mut err = std::io::stderr().lock();
            for d in &diags {
                let _ = write!(
                    err,
                    "{}",
                    dealrules::diag::render(d, engine.sources(), colour)
                );
            }
            let plural =
                |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
            let _ = writeln!(
                err,
                "{}, {} in {} ({} rules, {} facts)",
                plural(errors, "error"),
                plural(warnings, "warning"),
                plural(files.len(), "file"),
                engine.rules().len(),
                engine.facts().len(),
            );
        }
    }
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        Exit::Invalid
    } else {
        Exit::Clean
    }
}
