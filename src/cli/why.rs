//! `dealrules why`: why a rule did or did not fire on chosen facts.

use super::{ColourChoice, Exit, inputs};
use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Output formats of `why`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WhyFormat {
    /// Each condition with its values, for people
    Text,
    /// The same as JSON
    Json,
}

/// Arguments of `dealrules why`.
#[derive(Args, Debug)]
pub struct WhyArgs {
    /// The rule id, e.g. `vendor_financing`
    pub rule: String,

    /// A fact to bind: `FACT` (bindings in order) or `BINDING=FACT`, e.g. `--on buy=openai_broadcom_accelerators`;
    /// bindings not given are searched for the closest match
    #[arg(long = "on", value_name = "[BINDING=]FACT", required = true)]
    pub on: Vec<String>,

    /// `.deals` and `.rules` files, or folders [default: rules/ examples/]
    #[arg(long = "in", value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// List every condition, not only up to the first that does not hold
    #[arg(long)]
    pub all: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = WhyFormat::Text)]
    pub format: WhyFormat,

    /// Override a rule parameter, as for `run`
    #[arg(long = "set", value_name = "RULE.PARAM=VALUE")]
    pub set: Vec<String>,

    /// Read parameter overrides from a file, as for `run`
    #[arg(long = "params", value_name = "FILE")]
    pub params: Vec<PathBuf>,

    /// When to colour the diagnostics
    #[arg(long, value_enum, default_value_t = ColourChoice::Auto, value_name = "WHEN")]
    pub color: ColourChoice,
}

/// Runs the command: exit 0 when the rule fires on the facts, 1 when it does not, 2 on bad input.
pub fn why(args: &WhyArgs) -> Exit {
    let colour = args.color.resolve(std::io::stderr().is_terminal());
    let (engine, _) = match inputs::engine(&args.paths, &args.params, &args.set, colour, None) {
        Ok(e) => e,
        Err(exit) => return exit,
    };
    let given: Vec<(&str, &str)> = args
        .on
        .iter()
        .map(|s| {
            s.split_once('=')
                .map_or(("", s.as_str()), |(v, f)| (v.trim(), f.trim()))
        })
        .collect();
    let why = match engine.why(&args.rule, &given) {
        Ok(w) => w,
        Err(e) => {
            let mut diags = e.diagnostics;
            inputs::print_diagnostics(&engine, &mut diags, colour);
            return Exit::Invalid;
        }
    };
    let out = match args.format {
        WhyFormat::Text => dealrules::report::why_text(&why, engine.sources(), args.all, colour),
        WhyFormat::Json => dealrules::report::why_json(&why, engine.sources()),
    };
    if let Err(exit) = inputs::write_stdout(&out) {
        return exit;
    }
    if why.answer.finding.is_some() {
        Exit::Clean
    } else {
        Exit::Findings
    }
}
