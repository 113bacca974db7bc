//! `dealrules fmt`: rewrite deal and rule files in the canonical layout.

use super::{ColourChoice, Exit, inputs};
use clap::Args;
use dealrules::{Colour, Diagnostic, SourceMap};
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments of `dealrules fmt`.
#[derive(Args, Debug)]
pub struct FmtArgs {
    /// `.deals` and `.rules` files, folders searched recursively, or `-` for standard input
    /// [default: rules/ examples/]
    pub paths: Vec<PathBuf>,

    /// Change nothing: list the files whose layout would change, and exit with code 1 if any
    #[arg(long)]
    pub check: bool,

    /// When to colour error messages
    #[arg(long, value_enum, default_value_t = ColourChoice::Auto, value_name = "WHEN")]
    pub color: ColourChoice,
}

/// What happened to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Already in the canonical layout.
    Unchanged,
    /// Rewritten, or (with `--check`) would be.
    Changed,
    /// An error in the file, or it could not be read or written; the file is unchanged.
    Failed,
}

/// Runs the command and returns its exit code.
pub fn run(args: &FmtArgs) -> Exit {
    let colour = args.color.resolve(std::io::stderr().is_terminal());
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        if args.paths.len() > 1 {
            eprintln!("error: `-` (standard input) cannot be combined with other paths");
            return Exit::Invalid;
        }
        return standard_input(args.check, colour);
    }
    let files = match inputs::files(&args.paths) {
        Ok(f) => f,
        Err(exit) => return exit,
    };
    let mut changed = 0;
    let mut failed = false;
    for path in &files {
        match file(path, args.check, colour) {
            Outcome::Unchanged => {}
            Outcome::Changed => {
                changed += 1;
                if args.check {
                    println!("{}", path.display());
                }
            }
            Outcome::Failed => failed = true,
        }
    }
    if args.check && changed > 0 {
        eprintln!(
            "{changed} file{} not in the canonical layout; `dealrules fmt` rewrites {}",
            if changed == 1 { " is" } else { "s are" },
            if changed == 1 { "it" } else { "them" }
        );
    }
    if failed {
        Exit::Invalid
    } else if args.check && changed > 0 {
        Exit::Findings
    } else {
        Exit::Clean
    }
}

/// Formats one file in place (or, with `check`, only tells whether it would change).
fn file(path: &Path, check: bool, colour: Colour) -> Outcome {
    let name = path.display().to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "error: `{name}` is not valid UTF-8 (invalid byte at offset {}); it was left unchanged",
                    e.utf8_error().valid_up_to()
                );
                return Outcome::Failed;
            }
        },
        Err(e) => {
            eprintln!("error: cannot read `{name}`: {e}");
            return Outcome::Failed;
        }
    };
    let formatted = match dealrules::format::format(&text) {
        Ok(f) => f,
        Err(diags) => {
            print_diagnostics(&name, &text, diags, colour);
            return Outcome::Failed;
        }
    };
    if formatted == text {
        return Outcome::Unchanged;
    }
    if check {
        return Outcome::Changed;
    }
    match write_atomically(path, &formatted) {
        Ok(()) => Outcome::Changed,
        Err(e) => {
            eprintln!("error: cannot write `{name}`: {e}; it was left unchanged");
            Outcome::Failed
        }
    }
}

/// `dealrules fmt -`: standard input to standard output. On an error the input is written back
/// unchanged, so that an editor filtering its buffer through the command never loses text.
fn standard_input(check: bool, colour: Colour) -> Exit {
    let name = "<stdin>";
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("error: cannot read standard input: {e}");
        return Exit::Invalid;
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "error: standard input is not valid UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            );
            if !check {
                write_stdout(e.as_bytes());
            }
            return Exit::Invalid;
        }
    };
    match dealrules::format::format(&text) {
        Ok(formatted) if check => {
            if formatted == text {
                Exit::Clean
            } else {
                println!("{name}");
                Exit::Findings
            }
        }
        Ok(formatted) => {
            if write_stdout(formatted.as_bytes()) {
                Exit::Clean
            } else {
                Exit::Invalid
            }
        }
        Err(diags) => {
            print_diagnostics(name, &text, diags, colour);
            if !check {
                write_stdout(text.as_bytes());
            }
            Exit::Invalid
        }
    }
}

fn write_stdout(bytes: &[u8]) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).is_ok()
}

/// Replaces the file at `path` (the file a symbolic link points to, not the link) with `text`:
/// the text goes to a temporary file in the same folder, which is then renamed over the file,
/// so an interrupted run leaves either the old file or the new one, never a part of either.
/// The file keeps its permissions.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let folder = target
        .parent()
        .ok_or_else(|| std::io::Error::other("the file has no parent folder"))?;
    let permissions = std::fs::metadata(&target)?.permissions();
    let mut temp = tempfile::Builder::new()
        .prefix(".dealrules-fmt-")
        .suffix(".tmp")
        .tempfile_in(folder)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    temp.as_file().set_permissions(permissions)?;
    temp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

/// Prints a file's diagnostics to standard error, then says that the file was left unchanged.
fn print_diagnostics(name: &str, text: &str, mut diags: Vec<Diagnostic>, colour: Colour) {
    let mut sources = SourceMap::default();
    // The first file of a new map has the id the diagnostics refer to (`format::FILE`).
    sources.add(name, Arc::from(text));
    diags.sort_by_key(|d| d.span().map(|s| s.start));
    let mut err = std::io::stderr().lock();
    for d in &diags {
        let _ = write!(err, "{}", dealrules::diag::render(d, &sources, colour));
    }
    let errors = diags
        .iter()
        .filter(|d| d.level == dealrules::Level::Error)
        .count();
    let _ = writeln!(
        err,
        "{errors} error{} in `{name}`; it was left unchanged",
        if errors == 1 { "" } else { "s" }
    );
}
