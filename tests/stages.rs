//! Data flows one way (ARCHITECTURE.md): a module of the library uses `crate::` paths only into
//! its own stage or an earlier one. This test reads every `src/**/*.rs` file of the library (not
//! the `dealrules` binary in `src/cli/`, which sees only the public API) and fails on any path
//! into a later stage, naming the file and line.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "a test fails loudly"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The stages, earliest first, each with the modules in it (`lib` is `src/lib.rs`: `Engine`,
/// `Report`, `RuleSet`, `LoadError`, `Why`). A stage may use its own modules and those of
/// earlier stages, never those of a later one.
const STAGES: &[(&str, &[&str])] = &[
    // Used by every phase.
    ("hash", &["hash"]),
    ("diag", &["diag"]),
    ("value", &["value"]),
    // Text to declarations, and declarations back to text.
    ("syntax", &["syntax"]),
    ("format", &["format"]),
    // Facts, and what the schema says about them.
    ("facts", &["facts"]),
    ("schema", &["schema"]),
    // Rules: the checked form, produced by `check`.
    ("ir", &["ir"]),
    ("check", &["check"]),
    // Findings: what `eval` produces, then the evaluation.
    ("explain", &["explain"]),
    ("eval", &["eval"]),
    // The engine, and what is built on it.
    ("engine", &["lib"]),
    ("input", &["input"]),
    ("files", &["files"]),
    ("ruletest", &["ruletest"]),
    ("diff", &["diff"]),
    ("report", &["report"]),
    ("ide", &["ide"]),
];

/// Paths into a later stage kept on purpose: the file, the module it names, and why.
const KEPT: &[(&str, &str, &str)] = &[(
    "src/schema/mod.rs",
    "check",
    "the deprecated re-export `schema::types` keeps an old public path working",
)];

/// One `crate::` path (or, in `src/lib.rs`, a path into a module) found in code.
struct Use {
    file: String,
    line: usize,
    /// The module the path enters.
    module: String,
    text: String,
}

#[test]
fn no_stage_uses_a_later_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let modules = declared_modules(&lib);
    let reexported = root_reexports(&lib);

    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = String::new();
    for path in &files {
        let rel = path
            .strip_prefix(root)
            .expect("under the crate")
            .to_string_lossy()
            .replace('\\', "/");
        let module = module_of(&rel);
        if module == "cli" {
            continue;
        }
        let Some(own) = stage_of(&module) else {
            let _ = writeln!(
                problems,
                "{rel}: module `{module}` is in no stage; add it to STAGES in tests/stages.rs and to ARCHITECTURE.md"
            );
            continue;
        };
        let text = std::fs::read_to_string(path).expect("readable source");
        for u in uses(&rel, &text, &modules, &reexported, module == "lib") {
            if u.module == module {
                continue;
            }
            let Some(theirs) = stage_of(&u.module) else {
                continue;
            };
            if theirs <= own || KEPT.iter().any(|(f, m, _)| *f == u.file && *m == u.module) {
                continue;
            }
            let _ = writeln!(
                problems,
                "{}:{}: `{module}` (stage {}) uses `{}` (stage {}, later): {}",
                u.file, u.line, STAGES[own].0, u.module, STAGES[theirs].0, u.text
            );
        }
    }
    let order: Vec<String> = STAGES
        .iter()
        .map(|(name, mods)| {
            if mods.len() == 1 && mods[0] == *name {
                name.to_string()
            } else {
                format!("{name} ({})", mods.join(", "))
            }
        })
        .collect();
    assert!(
        problems.is_empty(),
        "a stage uses a later one; the stages, in order: {}\n\n{problems}\nmove the shared item to \
         the earlier stage (re-exporting it from its old path), or pass it in from the later one",
        order.join(" → ")
    );
}

/// The index in [`STAGES`] of the stage holding `module`.
fn stage_of(module: &str) -> Option<usize> {
    STAGES.iter().position(|(_, mods)| mods.contains(&module))
}

/// The top-level module of a file: `src/eval/plan.rs` → `eval`, `src/facts.rs` → `facts`.
fn module_of(rel: &str) -> String {
    let inside = rel.trim_start_matches("src/");
    let first = inside.split('/').next().unwrap_or(inside);
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `mod x;` and `pub mod x;` of `src/lib.rs`.
fn declared_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("pub ").unwrap_or(l);
            l.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect()
}

/// Items that `src/lib.rs` re-exports from a module (`pub use explain::{Finding, ...}`), with
/// that module: `crate::Finding` is a path into `explain`.
fn root_reexports(lib: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let code = strip_comments(lib);
    let mut rest = code.as_str();
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let end = rest.find(';').unwrap_or(rest.len());
        let stmt = &rest[..end];
        if let Some((module, items)) = stmt.split_once("::") {
            for item in items.split([',', '{', '}']) {
                let item = item.trim();
                if !item.is_empty() {
                    out.push((item.to_string(), module.trim().to_string()));
                }
            }
        }
        rest = &rest[end..];
    }
    out
}

/// The text with `//` comments (and so doc comments) blanked, lines kept in place.
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            // The first `//` outside a string (`"https://..."` is not a comment).
            let code = line
                .match_indices("//")
                .find(|(i, _)| line[..*i].matches('"').count() % 2 == 0)
                .map_or(line, |(i, _)| &line[..i]);
            format!("{code}\n")
        })
        .collect()
}

/// Every path into a module of the crate: `crate::m...` (with each item of a `crate::{...}`
/// group), and in `src/lib.rs` also `m::...` for a declared module `m`.
fn uses(
    file: &str,
    text: &str,
    modules: &[String],
    reexported: &[(String, String)],
    is_lib: bool,
) -> Vec<Use> {
    let code = strip_comments(text);
    let lines: Vec<&str> = text.lines().collect();
    let line_at = |offset: usize| code[..offset].matches('\n').count() + 1;
    let target = |name: &str| -> String {
        if modules.iter().any(|m| m == name) {
            name.to_string()
        } else if let Some((_, m)) = reexported.iter().find(|(item, _)| item == name) {
            m.clone()
        } else {
            "lib".to_string()
        }
    };
    let mut out = Vec::new();
    let mut push = |offset: usize, name: &str| {
        let line = line_at(offset);
        out.push(Use {
            file: file.to_string(),
            line,
            module: target(name),
            text: lines.get(line - 1).map_or("", |l| l.trim()).to_string(),
        });
    };
    let bytes = code.as_bytes();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && is_ident(bytes[at - 1]) {
            continue;
        }
        let after = at + "crate::".len();
        if bytes.get(after) == Some(&b'{') {
            // A group: the first name of each top-level item.
            let mut depth = 0usize;
            let mut start = after + 1;
            for (i, &b) in bytes.iter().enumerate().skip(after) {
                match b {
                    b'{' => depth += 1,
                    b'}' | b',' if depth == 1 => {
                        let item = code[start..i].trim_start();
                        let offset = i - code[start..i].trim_start().len();
                        let name = ident(item);
                        if !name.is_empty() && name != "self" {
                            push(offset, name);
                        }
                        start = i + 1;
                        if b == b'}' {
                            break;
                        }
                    }
                    b'}' => depth -= 1,
                    _ => {}
                }
            }
        } else {
            push(at, ident(&code[after..]));
        }
    }
    if is_lib {
        for m in modules {
            let pattern = format!("{m}::");
            for (at, _) in code.match_indices(&pattern) {
                if at > 0 && (is_ident(bytes[at - 1]) || bytes[at - 1] == b':') {
                    continue;
                }
                push(at, m);
            }
        }
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s.bytes().position(|b| !is_ident(b)).unwrap_or(s.len());
    &s[..end]
}

#[test]
fn the_reader_finds_groups_inline_paths_and_root_items_but_not_comments() {
    let modules: Vec<String> = ["eval", "explain", "report"].map(String::from).to_vec();
    let reexported = vec![("Finding".to_string(), "explain".to_string())];
    let text = "use crate::{\n    Finding,\n    eval::Budgets,\n};\n/// see [`crate::report`]\nfn f() -> crate::Engine { g(\"https://x\") } // crate::report\nlet e = report::text;\n";
    let found: Vec<(usize, String)> = uses("src/x.rs", text, &modules, &reexported, false)
        .into_iter()
        .map(|u| (u.line, u.module))
        .collect();
    let expected = [(2, "explain"), (3, "eval"), (6, "lib")].map(|(l, m)| (l, m.to_string()));
    assert_eq!(found, expected);
    let in_lib: Vec<(usize, String)> = uses("src/lib.rs", text, &modules, &reexported, true)
        .into_iter()
        .map(|u| (u.line, u.module))
        .collect();
    assert!(in_lib.contains(&(7, "report".to_string())), "{in_lib:?}");
}
