//! Input files: finding `.deals` and `.rules` files in folders, reading them, and loading them by
//! their extension.
//!
//! This is the one module of the library that touches the file system. It serves the
//! `dealrules` command and host programs that are handed paths (the Python package), so that
//! both expand folders and read files the same way.

use crate::diag::{Code, Diagnostic, Level};
use crate::{Engine, LoadError};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// File extensions found in folders.
const EXTENSIONS: [&str; 2] = ["deals", "rules"];

/// Extensions of fact tables (`docs/inputs.md`), read only when a file is named: a folder may
/// hold other CSV or JSON files (a saved JSON report, for one).
const TABLE_EXTENSIONS: [&str; 2] = ["csv", "json"];

/// Expands `paths` (files and folders, searched recursively in name order) into the list of
/// `.deals` and `.rules` files, each once, plus the `.csv` and `.json` files named.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("b.rules"), "")?;
/// std::fs::write(dir.path().join("a.deals"), "")?;
/// std::fs::write(dir.path().join("notes.txt"), "")?;
/// let files = dealrules::files::collect(&[dir.path().to_path_buf()]).unwrap_or_default();
/// let names: Vec<_> = files.iter().filter_map(|f| f.file_name()?.to_str()).collect();
/// assert_eq!(names, ["a.deals", "b.rules"]);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// One message per bad path (it does not exist, is not a file of a known kind, or is a folder
/// with no `.deals` or `.rules` file), or a single message when nothing was found at all.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<String>> {
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
        return Err(errors);
    }
    if files.is_empty() {
        return Err(vec![
            "no `.deals` or `.rules` files found in the given paths".into(),
        ]);
    }
    Ok(files)
}

/// Whether `p` is named as a `.deals` or `.rules` file.
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

/// Reads a file as UTF-8 text.
///
/// # Errors
/// A diagnostic (code `E013`, no place) naming the file when it cannot be read or is not UTF-8.
pub fn read_text(path: &Path) -> Result<String, Diagnostic> {
    let name = path.display();
    let bytes =
        std::fs::read(path).map_err(|e| path_error(format!("cannot read `{name}`: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        path_error(format!(
            "`{name}` is not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Loads one file's text under the name `path` by its extension: a CSV or JSON fact table
/// ([`crate::input`]), else deal or rule text ([`Engine::load`]).
///
/// # Errors
/// The [`LoadError`] of the loader.
pub fn load_text(engine: &mut Engine, path: &Path, text: String) -> Result<(), LoadError> {
    let name = path.display().to_string();
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => crate::input::load_owned(engine, name, text, false),
        Some("json") => crate::input::load_owned(engine, name, text, true),
        _ => engine.load_owned(name, text),
    }
}

/// Reads and loads every file, calling `on_file` before each; returns all diagnostics (every
/// file is read, whatever fails).
pub fn load(engine: &mut Engine, files: &[PathBuf], on_file: &mut dyn FnMut()) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for path in files {
        on_file();
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
    diags
}

/// A diagnostic without a place (code `E013`) for a problem with a path, such as a message of
/// [`collect`].
pub fn path_error(message: String) -> Diagnostic {
    Diagnostic {
        level: Level::Error,
        code: Code::BadOption,
        message,
        labels: Vec::new(),
        help: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_path_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "").unwrap();
        let missing = dir.path().join("missing");
        let errors = collect(&[empty.clone(), text.clone(), missing.clone()]).unwrap_err();
        assert_eq!(
            errors,
            [
                format!("`{}` has no `.deals` or `.rules` files", empty.display()),
                format!(
                    "`{}` is not a `.deals`, `.rules`, `.csv` or `.json` file",
                    text.display()
                ),
                format!("`{}` does not exist", missing.display()),
            ]
        );
        assert_eq!(
            collect(&[]).unwrap_err(),
            ["no `.deals` or `.rules` files found in the given paths"]
        );
    }

    #[test]
    fn files_named_twice_are_loaded_once_and_tables_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let deals = dir.path().join("a.deals");
        std::fs::write(&deals, "entity Nvidia { type: company }\n").unwrap();
        let csv = dir.path().join("more.csv");
        std::fs::write(&csv, "id,fact,type\nOpenAI,entity,company\n").unwrap();
        let files = collect(&[dir.path().to_path_buf(), deals.clone(), csv.clone()]).unwrap();
        assert_eq!(files, [deals, csv]);
        let mut engine = Engine::new();
        let mut calls = 0;
        let diags = load(&mut engine, &files, &mut || calls += 1);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(calls, 2);
        assert_eq!(engine.facts().len(), 2);
    }

    #[test]
    fn unreadable_and_non_utf8_files_are_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.deals");
        std::fs::write(&bad, b"entity \xff").unwrap();
        let missing = dir.path().join("gone.deals");
        let mut engine = Engine::new();
        let diags = load(&mut engine, &[bad.clone(), missing.clone()], &mut || {});
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 2);
        assert_eq!(
            messages[0],
            format!(
                "`{}` is not valid UTF-8 (invalid byte at offset 7)",
                bad.display()
            )
        );
        assert!(
            messages[1].starts_with(&format!("cannot read `{}`: ", missing.display())),
            "{}",
            messages[1]
        );
    }
}
