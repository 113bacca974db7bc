//! Finding and reading the input files, and loading them into an engine.

use dealrules::{Colour, Diagnostic, Engine, Level};
use std::io::Write as _;
use std::path::PathBuf;

pub use dealrules::files::{load_text, read_text};

/// Expands `paths` like [`dealrules::files::collect`]; with no paths, `rules/` and
/// `examples/`. The error is every problem, one per line, each line after the first starting
/// with `error: ` (the caller prints the first).
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let defaults = [PathBuf::from("rules"), PathBuf::from("examples")];
    let paths: &[PathBuf] = if paths.is_empty() {
        if !defaults.iter().any(|p| p.is_dir()) {
            return Err(
                "no paths given, and there is no `rules/` or `examples/` folder here; \
                        name the rule and deal files or folders to run"
                    .into(),
            );
        }
        &defaults
    } else {
        paths
    };
    dealrules::files::collect(paths).map_err(|errors| errors.join("\nerror: "))
}

/// Reads and loads every file with a progress bar; returns all diagnostics (every file is
/// read, whatever fails).
pub fn load(engine: &mut Engine, files: &[PathBuf]) -> Vec<Diagnostic> {
    let bar = super::progress::bar(files, "loading");
    bar.set_length(files.len() as u64);
    let diags = dealrules::files::load(engine, files, &mut || bar.inc(1));
    bar.finish_and_clear();
    diags
}

/// Prints diagnostics to standard error, sorted by file and position, then a count.
pub fn print_diagnostics(engine: &Engine, diags: &mut [Diagnostic], colour: Colour) {
    print_diagnostics_then(engine, diags, colour, "nothing was evaluated");
}

/// [`print_diagnostics`], the count of errors followed by `consequence` (`no test was run`).
pub fn print_diagnostics_then(
    engine: &Engine,
    diags: &mut [Diagnostic],
    colour: Colour,
    consequence: &str,
) {
    diags.sort_by_key(|d| d.span().map(|s| (s.file, s.start)));
    let mut err = std::io::stderr().lock();
    for d in diags.iter() {
        let _ = write!(
            err,
            "{}",
            dealrules::diag::render(d, engine.sources(), colour)
        );
    }
    let errors = diags.iter().filter(|d| d.level == Level::Error).count();
    if errors > 0 {
        let _ = writeln!(
            err,
            "{errors} error{} found; {consequence}",
            if errors == 1 { "" } else { "s" }
        );
    }
}

/// [`collect`], printing the problems: `Err` is the exit code.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, super::Exit> {
    collect(paths).map_err(|message| {
        eprintln!("error: {message}");
        super::Exit::Invalid
    })
}

/// Writes a command's output to standard output; a write that fails (a closed pipe) is exit
/// code 2, never a panic.
pub fn write_stdout(text: &str) -> Result<(), super::Exit> {
    write_stdout_with(|out| out.write_all(text.as_bytes()))
}

/// Writes a command's output to standard output as `write` makes it, through a buffer; a write
/// that fails (a closed pipe) is exit code 2, never a panic.
pub fn write_stdout_with(
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), super::Exit> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(|_| super::Exit::Invalid)
}

/// The common start of the commands that evaluate: finds the files, applies parameter
/// overrides, loads everything on `threads` threads (`None`: one per core), and prints every
/// problem. `Err` carries the exit code.
pub fn engine(
    paths: &[PathBuf],
    params: &[PathBuf],
    sets: &[String],
    colour: Colour,
    threads: Option<usize>,
) -> Result<(Engine, Vec<PathBuf>), super::Exit> {
    let files = files(paths)?;
    let mut engine = Engine::new();
    engine.set_threads(threads);
    if let Err(errors) = super::params::apply(&mut engine, params, sets) {
        for e in errors {
            eprintln!("error: {e}");
        }
        return Err(super::Exit::Invalid);
    }
    let mut diags = load(&mut engine, &files);
    if !diags.is_empty() {
        print_diagnostics(&engine, &mut diags, colour);
        return Err(super::Exit::Invalid);
    }
    Ok((engine, files))
}
