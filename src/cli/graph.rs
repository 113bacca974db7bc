//! `dealrules graph`: the money-and-value flow graph as Graphviz DOT or Mermaid.

use super::{ColourChoice, Exit, inputs};
use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;

/// Output formats of `graph`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg flows.dot > flows.svg`)
    Dot,
    /// A Mermaid flowchart (renders in GitHub and GitLab Markdown)
    Mermaid,
}

/// Arguments of `dealrules graph`.
#[derive(Args, Debug)]
pub struct GraphArgs {
    /// `.deals` and `.rules` files (the rules must declare the relation), or folders
    /// [default: rules/ examples/]
    pub paths: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,

    /// The relation to draw; it needs `from` and `to` columns
    #[arg(long, default_value = "flow")]
    pub relation: String,

    /// When to colour the diagnostics
    #[arg(long, value_enum, default_value_t = ColourChoice::Auto, value_name = "WHEN")]
    pub color: ColourChoice,
}

/// Runs the command: 0 written, 2 invalid input.
pub fn graph(args: &GraphArgs) -> Exit {
    let colour = args.color.resolve(std::io::stderr().is_terminal());
    let (engine, _) = match inputs::engine(&args.paths, &[], &[], colour, None) {
        Ok(e) => e,
        Err(exit) => return exit,
    };
    let edges = match engine.graph_edges(&args.relation) {
        Ok(e) => e,
        Err(e) => {
            let mut diags = e.diagnostics;
            inputs::print_diagnostics(&engine, &mut diags, colour);
            return Exit::Invalid;
        }
    };
    let findings = match engine.evaluate() {
        Ok(r) => r.findings,
        Err(e) => {
            let mut diags = e.diagnostics;
            inputs::print_diagnostics(&engine, &mut diags, colour);
            return Exit::Invalid;
        }
    };
    let out = match args.format {
        GraphFormat::Dot => dealrules::report::graph::dot(&edges, &findings),
        GraphFormat::Mermaid => dealrules::report::graph::mermaid(&edges, &findings),
    };
    match inputs::write_stdout(&out) {
        Ok(()) => Exit::Clean,
        Err(exit) => exit,
    }
}
