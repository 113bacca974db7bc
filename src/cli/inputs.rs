//! Finding and reading the input files, and loading them into an engine.

use dealrules::{Colour, Diagnostic, Engine, Level};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// File extensions found in folders.
const EXTENSIONS: [&str; 2] = ["deals", "rules"];

/// Extensions of fact tables (`docs/inputs.md`), read only when a file is named: a folder may
/// hold other CSV or JSON files (a saved JSON report, for one).
const TABLE_EXTENSIONS: [&str; 2] = ["csv", "json"];

/// Expands `paths` (files and folders, searched recursively in name order) into the list of
/// `.deals` and `.rules` files, each once, plus the `.csv` and `.json` files named. With no
/// paths: `rules/` and `examples/`.
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
    let mut seen = BTreeSet::new();
    let mut files = Vec::new();
    let mut add = |p: PathBuf, files: &mut Vec<PathBuf>| {
        let key = p.canonicalize().unwrap_or_else(|_| p.clone());
        if seen.insert(key) {
            files.push(p);
        }
    };
    // Every bad path is reported, not only the first.
    let mut errors: Vec<String> = Vec::new();
    for path in paths {
        if path.is_dir() {
            let walker = walkdir::WalkDir::new(path).sort_by_file_name();
            let mut found = false;
            for entry in walker {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        errors.push(format!("cannot read `{}`: {e}", path.display()));
                        continue;
                    }
                };
                if entry.file_type().is_file() && has_extension(entry.path()) {
                    found = true;
                    add(entry.into_path(), &mut files);
                }
            }
            if !found {
                errors.push(format!(
                    "`{}` has no `.deals` or `.rules` files",
                    path.display()
                ));
            }
        } else if path.is_file() {
            if !has_extension(path) && !is_table(path) {
                errors.push(format!(
                    "`{}` is not a `.deals`, `.rules`, `.csv` or `.json` file",
                    path.display()
                ));
                continue;
            }
            add(path.clone(), &mut files);
        } else if path.exists() {
            errors.push(format!(
                "`{}` is neither a file nor a folder",
                path.display()
            ));
        } else {
            errors.push(format!("`{}` does not exist", path.display()));
        }
    }
    if !errors.is_empty() {
        // Each line is printed after `error: ` by the caller.
        return Err(errors.join("\nerror: "));
    }
    if files.is_empty() {
        return Err("no `.deals` or `.rules` files found in the given paths".into());
    }
    Ok(files)
}

/// Whether `p` is a `.deals` or `.rules` file name.
pub fn has_extension(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e))
}

fn is_table(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| TABLE_EXTENSIONS.contains(&e))
}

/// Reads a file as UTF-8 text; the error is a diagnostic naming the file.
pub fn read_text(path: &Path) -> Result<String, Diagnostic> {
    let name = path.display();
    let bytes =
        std::fs::read(path).map_err(|e| plain_error(format!("cannot read `{name}`: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        plain_error(format!(
            "`{name}` is not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Loads one file's text by its extension: a CSV or JSON fact table, else deal or rule text.
pub fn load_text(
    engine: &mut Engine,
    path: &Path,
    text: String,
) -> Result<(), dealrules::LoadError> {
    let name = path.display().to_string();
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => dealrules::input::load_csv(engine, name, text),
        Some("json") => dealrules::input::load_json(engine, name, text),
        _ => engine.load(name, text),
    }
}

/// Reads and loads every file; returns all diagnostics (every file is read, whatever fails).
pub fn load(engine: &mut Engine, files: &[PathBuf]) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let bar = super::progress::bar(files, "loading");
    bar.set_length(files.len() as u64);
    for path in files {
        bar.inc(1);
        let text = match read_text(path) {
            Ok(t) => t,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        if let Err(e) = load_text(engine, path, text) {
            diags.extend(e.diagnostics);
        }
    }
    bar.finish_and_clear();
    diags
}

fn plain_error(message: String) -> Diagnostic {
    Diagnostic {
        level: Level::Error,
        code: dealrules::diag::Code::BadOption,
        message,
        labels: Vec::new(),
        help: None,
    }
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
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|_| super::Exit::Invalid)
}

/// The common start of the commands that evaluate: finds the files, applies parameter
/// overrides, loads everything, and prints every problem. `Err` carries the exit code.
pub fn engine(
    paths: &[PathBuf],
    params: &[PathBuf],
    sets: &[String],
    colour: Colour,
) -> Result<(Engine, Vec<PathBuf>), super::Exit> {
    let files = files(paths)?;
    let mut engine = Engine::new();
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
