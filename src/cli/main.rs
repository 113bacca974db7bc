//! The `dealrules` command: a thin client of the library.

mod inputs;
mod run;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// Exit codes, as documented in `docs/cli.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    /// No finding at or above `--fail-on` (or no `--fail-on`).
    Clean = 0,
    /// A finding at or above `--fail-on`.
    Findings = 1,
    /// Invalid input, or a rule that could not be evaluated.
    Invalid = 2,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "dealrules",
    version,
    about = "Run risk rules over financial deals and explain every finding",
    long_about = "dealrules runs rule files (`.rules`) over deal files (`.deals`) and prints \
explained findings: which rule fired, on which deals (file:line), with which values, and why each \
condition held.\n\nWith no arguments, `dealrules run` runs the rule pack in `rules/` over the deals \
in `examples/`.",
    after_help = "Examples:\n  dealrules run                                   # rules/ over examples/\n  \
dealrules run rules/ my-deals/ --format json     # findings as JSON\n  \
dealrules run rules/ deals.deals --fail-on high  # exit 1 when a high or critical finding exists\n\n\
Exit codes: 0 no finding at or above --fail-on; 1 such a finding exists; 2 invalid input or a rule \
that could not be evaluated."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Evaluate rules over deals and print explained findings
    #[command(
        long_about = "Evaluate rules over deals and print explained findings.\n\nEvery `.deals` and \
`.rules` file named (or found in a named folder, recursively, in name order) is loaded. If any file \
has an error, every error is printed with its file, line and column and nothing is evaluated (exit \
code 2). Otherwise each rule runs over all facts; findings are sorted by severity, rule id and \
fingerprint, so the same input always gives the same output.",
        after_help = "Examples:\n  dealrules run\n  dealrules run rules/vendor_financing.rules examples/\n  \
dealrules run rules/ deals/ --format json > findings.json\n  dealrules run rules/ deals/ --fail-on high   # for CI"
    )]
    Run(run::RunArgs),
}

/// When to use colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColourChoice {
    /// Colour when writing to a terminal
    Auto,
    /// Always colour
    Always,
    /// Never colour
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::run(&args).into(),
    }
}
