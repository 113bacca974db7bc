//! The `dealrules` command: a thin client of the library.

mod check;
mod convert;
mod diff;
mod fmt;
mod graph;
mod inputs;
mod lsp;
mod params;
mod progress;
mod run;
mod test;
mod why;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// Exit codes, as documented in `docs/cli.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    /// No finding at or above `--fail-on` (or no `--fail-on`).
    Clean = 0,
    /// A finding at or above `--fail-on`; for `test`, a test that failed.
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
    /// Check deal and rule files without evaluating: schema, names, types, units
    #[command(
        long_about = "Check deal and rule files without evaluating anything, and print every diagnostic of every file, sorted by file and position.\n\nDeal files are checked against the schema (`schema` declarations: the shipped one is rules/schema.rules): unknown deal kinds, entity types and fields (with \"did you mean\"), values of the wrong type or unit, missing required fields, references to undeclared entities, duplicate ids and fields. Rules are checked too: every field path must exist in the schema, compared and added operands must have compatible types and dimensions (money against GW is an error), and symbols compared with a field must be among its values. Warnings point at unused bindings, bindings that no condition links, conditions that are always true or false, and currencies with no exchange rate between them.\n\nEach diagnostic has a code (E0xx error, W0xx warning), listed with an example in docs/diagnostics.md.",
        after_help = "Examples:\n  dealrules check                         # rules/ and examples/\n  \
dealrules check rules/ deals/ --deny-warnings   # for CI\n  \
dealrules check rules/ deals/ --format json     # for editors and bots\n\n\
Exit codes: 0 no error (and, with --deny-warnings, no warning); 2 otherwise."
    )]
    Check(check::CheckArgs),
    /// Explain why a rule did or did not fire on chosen facts
    #[command(
        long_about = "Explain why a rule did or did not fire on chosen facts.\n\nEach condition of \
the rule is evaluated with the given facts bound and printed with the values it compared, up to \
the first that does not hold (all of them with --all). Bindings not given with --on are searched: \
the combination of facts that satisfies the most conditions, in written order, is shown.\n\n\
Exit codes: 0 the rule fires on these facts; 1 it does not; 2 invalid input.",
        after_help = "Examples:\n  dealrules why vendor_financing --on nvidia_openai_loi --on openai_nvidia_systems\n  \
dealrules why vendor_financing --on buy=openai_broadcom_accelerators\n  \
dealrules why commitments_to_one_seller_vs_revenue --on openai_coreweave_cloud --all --format json"
    )]
    Why(why::WhyArgs),
    /// Run the `test` blocks of rule files, each on its own facts
    #[command(
        long_about = "Run the `test` blocks of rule files (see docs/language.md, \"Testing rules\").\n\n\
Every `.rules` file named, or found in a named folder (recursively, in name order), is loaded; each \
test then runs on its own engine: those rules plus the test's facts (written in the test, or \
`given \"FILE\"`, relative to the rule file), never another test's. Each test is printed `ok` or \
`FAILED` with its file and line; a failure shows the expectation, the findings of its rule and the \
difference. The last line is `N passed, N failed`. A rule file or test with an error (an unknown \
rule in `expect`, a fact id no given fact has, a given file that cannot be read) is reported with \
its line and column, with every other such error, and no test runs.",
        after_help = "Examples:\n  dealrules test                              # the tests in rules/\n  \
dealrules test rules/vendor_financing.rules\n  \
dealrules test --filter vendor_financing\n  \
dealrules test rules/ --format junit > tests.xml   # for CI\n\n\
Exit codes: 0 every test passed; 1 a test failed; 2 invalid input (nothing was run)."
    )]
    Test(test::TestArgs),
    /// Draw the money-and-value flow graph (Graphviz DOT or Mermaid), cycles highlighted
    #[command(
        long_about = "Draw the money-and-value flow graph of the deals as Graphviz DOT or as a Mermaid \
flowchart: one node per entity, one edge per row of the `flow` relation (declared by the rule \
pack's rules/flows.rules), labelled with the deal and amount. The entities and deals on the cycles \
that rules find are drawn in red.",
        after_help = "Examples:\n  dealrules graph > flows.dot && dot -Tsvg flows.dot > flows.svg\n  \
dealrules graph rules/ deals/ --format mermaid > flows.mmd\n\nExit codes: 0 written; 2 invalid input."
    )]
    Graph(graph::GraphArgs),
    /// Rewrite deal and rule files in the canonical layout
    #[command(
        long_about = "Rewrite deal and rule files in the canonical layout (see docs/format.md).\n\n\
Every `.deals` and `.rules` file named, or found in a named folder (recursively), is rewritten in \
place when its layout differs. Formatting keeps every comment and never changes what a file says: \
values are copied as written, and the result is checked to parse to the same declarations before \
anything is written. A file is replaced atomically (a temporary file in the same folder, then a \
rename), so an interrupted run never leaves a half-written file. A file with an error is left \
unchanged, and the error is printed with its line and column.\n\n\
With `-`, the text is read from standard input and the formatted text is written to standard \
output (on an error, the input is written back unchanged).",
        after_help = "Examples:\n  dealrules fmt rules/ examples/            # rewrite in place\n  \
dealrules fmt --check rules/ examples/    # for CI: list unformatted files, exit 1 if any\n  \
dealrules fmt - < deal.deals > tidy.deals # standard input to standard output\n\n\
Exit codes: 0 done (with --check: every file is already formatted); 1 with --check: some file \
would change (each is listed on standard output); 2 a file has an error (it is left unchanged) \
or could not be read or written."
    )]
    Fmt(fmt::FmtArgs),
    /// Write a CSV or JSON fact table as a deal file
    #[command(
        long_about = "Write a CSV or JSON fact table as a deal file (the mapping is in \
docs/inputs.md).\n\nEvery row (CSV) or fact (JSON) is read as `dealrules run` reads it; any error is \
printed with its file, line, column, row and column name, and nothing is written. The deal file is \
checked to read back to the same facts before it is written. With -o it replaces OUT atomically \
(a temporary file in the same folder, then a rename); without -o it goes to standard output.",
        after_help = "Examples:\n  dealrules convert deals.csv -o deals.deals\n  \
dealrules convert deals.json > deals.deals\n\n\
Exit codes: 0 written; 2 invalid input, or a file that could not be read or written."
    )]
    Convert(convert::ConvertArgs),
    /// Compare the findings of two rule versions: appeared, disappeared, changed
    #[command(
        long_about = "Compare the findings of two rule versions over the same facts, keyed by \
fingerprint (the rule id and the ids of the bound facts): which findings appeared, which \
disappeared, and which changed — severity, title, message, bindings, conditions, values or \
parameters, each shown old → new.\n\n\
The two versions are two saved JSON reports (`dealrules run --format json`); or a saved report \
(--baseline) and the current rules run over PATHS; or the rules at a git revision (--base) and \
the rules in the working tree, both run over the facts in the working tree. With --base, the \
rules at the revision are the `.rules` files under the same PATHS (default rules/ and \
examples/).",
        after_help = "Examples:\n  dealrules diff old.json new.json\n  \
dealrules diff --baseline baseline.json rules/ deals/     # CI gate against a committed report\n  \
dealrules diff --base main                                # what this branch changes\n  \
dealrules diff --base HEAD~1 --format markdown > diff.md\n\n\
Exit codes: 0 no finding changed; 1 some finding appeared, disappeared or changed; 2 invalid \
input (not a dealrules JSON report, unknown revision, not in a git checkout, rules that do not \
load) or a report with evaluation errors."
    )]
    Diff(diff::DiffArgs),
    /// Serve editors: a language server on standard input and output
    #[command(
        long_about = "Serve editors over the Language Server Protocol, on standard input and output.\n\n\
The editor starts `dealrules lsp` in the workspace folder. Every `.deals` and `.rules` file of \
`rules/` and `examples/` there (or, without those folders, of the whole folder) is loaded, and each \
open document's text replaces its file's. The server publishes the diagnostics `dealrules check` \
prints, as you type, and answers hover (field types and units from the schema, titles and places of \
entities, deals and rules), go to definition, document symbols, completion of fields after \
`binding.` and of deal kinds, and formatting (`dealrules fmt`). See docs/cli.md.",
        after_help = "Examples:\n  dealrules lsp     # started by the editor, never by hand\n\n\
Exit codes: 0 the editor sent `shutdown` then `exit`; 1 `exit` without `shutdown`; 2 the \
connection failed."
    )]
    Lsp,
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

impl ColourChoice {
    /// Whether to colour output going to a terminal (`terminal`) or not; `auto` respects
    /// `NO_COLOR`.
    fn resolve(self, terminal: bool) -> dealrules::Colour {
        match self {
            ColourChoice::Always => dealrules::Colour::Always,
            ColourChoice::Never => dealrules::Colour::Never,
            ColourChoice::Auto if terminal && std::env::var_os("NO_COLOR").is_none() => {
                dealrules::Colour::Always
            }
            ColourChoice::Auto => dealrules::Colour::Never,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::run(&args).into(),
        Command::Check(args) => check::check(&args).into(),
        Command::Why(args) => why::why(&args).into(),
        Command::Test(args) => test::run(&args).into(),
        Command::Graph(args) => graph::graph(&args).into(),
        Command::Fmt(args) => fmt::run(&args).into(),
        Command::Convert(args) => convert::run(&args).into(),
        Command::Diff(args) => diff::run(&args).into(),
        Command::Lsp => lsp::run(),
    }
}
