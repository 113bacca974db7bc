//! `dealrules convert`: a CSV or JSON fact table written as a deal file.

use super::{ColourChoice, Exit, inputs};
use clap::Args;
use dealrules::Engine;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};

/// Arguments of `dealrules convert`.
#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The `.csv` or `.json` file to convert (see docs/inputs.md)
    pub input: PathBuf,

    /// Write the deal file here (replaced atomically) instead of to standard output
    #[arg(short, long, value_name = "OUT.deals")]
    pub output: Option<PathBuf>,

    /// When to colour the diagnostics
    #[arg(long, value_enum, default_value_t = ColourChoice::Auto, value_name = "WHEN")]
    pub color: ColourChoice,
}

/// Writes `text` to `path` through a temporary file in the same folder, renamed over `path`,
/// so that an interrupted run never leaves a half-written file.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(folder)?;
    file.write_all(text.as_bytes())?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Runs the command: 0 written; 2 invalid input or a file that could not be read or written.
pub fn run(args: &ConvertArgs) -> Exit {
    let colour = args.color.resolve(std::io::stderr().is_terminal());
    let path = &args.input;
    let is_table = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("csv" | "json")
    );
    if !is_table {
        eprintln!(
            "error: `{}` is not a `.csv` or `.json` file; `convert` reads fact tables",
            path.display()
        );
        return Exit::Invalid;
    }
    let text = match inputs::read_text(path) {
        Ok(t) => t,
        Err(d) => {
            eprintln!("error: {}", d.message);
            return Exit::Invalid;
        }
    };
    let mut engine = Engine::new();
    if let Err(e) = inputs::load_text(&mut engine, path, text) {
        let mut diags = e.diagnostics;
        diags.sort_by_key(|d| d.span().map(|s| (s.file, s.start)));
        let mut err = std::io::stderr().lock();
        for d in &diags {
            let _ = write!(
                err,
                "{}",
                dealrules::diag::render(d, engine.sources(), colour)
            );
        }
        let n = diags.len();
        let _ = writeln!(
            err,
            "{n} error{} found; nothing was written",
            if n == 1 { "" } else { "s" }
        );
        return Exit::Invalid;
    }
    let facts = engine.facts().iter().map(|(_, f)| f);
    let body = match dealrules::input::to_deals(facts) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let text = format!(
        "// Converted from {} by `dealrules convert`.\n\n{body}",
        path.display()
    );
    // In the canonical layout, so that the file passes `dealrules fmt --check` as written.
    let text = dealrules::format::format(&text).unwrap_or(text);
    match &args.output {
        Some(out) => {
            if let Err(e) = write_atomically(out, &text) {
                eprintln!("error: cannot write `{}`: {e}", out.display());
                return Exit::Invalid;
            }
        }
        None => {
            if let Err(exit) = inputs::write_stdout(&text) {
                return exit;
            }
        }
    }
    Exit::Clean
}
