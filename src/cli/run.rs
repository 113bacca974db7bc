//! `dealrules run`: evaluate rules over deals and print explained findings.

use super::{ColourChoice, Exit, inputs};
use clap::{Args, ValueEnum};
use dealrules::Severity;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Output formats of `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Explained findings for people
    Text,
    /// The findings as JSON (schema in docs/output.md)
    Json,
    /// A SARIF 2.1.0 log for code-review tools (GitHub code scanning, SARIF viewers)
    Sarif,
    /// A Markdown report for a pull request
    Markdown,
}

/// A severity as a command-line value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    /// Only critical findings
    Critical,
    /// High or critical
    High,
    /// Medium or above
    Medium,
    /// Low or above
    Low,
    /// Any finding
    Info,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Severity {
        match s {
            SeverityArg::Critical => Severity::Critical,
            SeverityArg::High => Severity::High,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::Low => Severity::Low,
            SeverityArg::Info => Severity::Info,
        }
    }
}

/// Arguments of `dealrules run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// `.deals` and `.rules` files, or folders searched recursively; `.csv` and `.json` fact
    /// tables named one by one (docs/inputs.md) [default: rules/ examples/]
    pub paths: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Exit with code 1 when a finding at or above this severity exists
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArg>,

    /// When to colour the text output
    #[arg(long, value_enum, default_value_t = ColourChoice::Auto, value_name = "WHEN")]
    pub color: ColourChoice,

    /// Override a rule parameter for this run, e.g. `--set commitments_to_one_seller_vs_revenue.ratio_limit=5`
    /// (repeatable; the value is written as in a deal file: `5`, `20%`, `10B USD`)
    #[arg(long = "set", value_name = "RULE.PARAM=VALUE")]
    pub set: Vec<String>,

    /// Read parameter overrides from a file kept in git: one `rule.param = value` a line, `//`
    /// comments; `--set` wins over the file
    #[arg(long = "params", value_name = "FILE")]
    pub params: Vec<PathBuf>,

    /// Read large deal files and evaluate rules on N threads [default: one per core]; the report
    /// is the same for any N
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// Runs the command and returns its exit code.
pub fn run(args: &RunArgs) -> Exit {
    let err_colour = args.color.resolve(std::io::stderr().is_terminal());
    let out_colour = args.color.resolve(std::io::stdout().is_terminal());
    let threads = args.jobs.map(usize::from);
    let (engine, files) =
        match inputs::engine(&args.paths, &args.params, &args.set, err_colour, threads) {
            Ok(e) => e,
            Err(exit) => return exit,
        };
    let bar = super::progress::bar(&files, "rules");
    let evaluated = engine.evaluate_with_progress(&mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    let report = match evaluated {
        Ok(r) => r,
        Err(e) => {
            let mut diags = e.diagnostics;
            inputs::print_diagnostics(&engine, &mut diags, err_colour);
            return Exit::Invalid;
        }
    };
    if !report.warnings.is_empty() {
        let mut warnings = report.warnings.clone();
        inputs::print_diagnostics(&engine, &mut warnings, err_colour);
    }
    // The report is written as it is made, a finding at a time: never held whole in memory.
    let written = inputs::write_stdout_with(|out| {
        let sources = engine.sources();
        match args.format {
            Format::Text => dealrules::report::write_text(out, &report, sources, out_colour),
            Format::Json => dealrules::report::write_json(out, &report, sources),
            Format::Sarif => dealrules::report::write_sarif(out, &report, sources, engine.rules()),
            Format::Markdown => dealrules::report::write_markdown(out, &report, sources),
        }
    });
    if let Err(exit) = written {
        return exit;
    }
    let exit = if !report.errors.is_empty() {
        Exit::Invalid
    } else {
        match (args.fail_on, report.max_severity()) {
            (Some(limit), Some(worst)) if worst <= Severity::from(limit) => Exit::Findings,
            _ => Exit::Clean,
        }
    };
    // The process ends here, and the system takes its memory back at once: freeing a million
    // facts and their findings one allocation at a time would add about 3% to the run.
    std::mem::forget(report);
    std::mem::forget(engine);
    exit
}
