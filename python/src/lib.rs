//! `dealrules._native`: the Rust side of the Python package.
//!
//! It loads files or texts into a [`dealrules::Engine`] and evaluates it; reports and
//! diagnostics cross into Python as the JSON documents of the command line (`run --format
//! json`, `check --format json`), which the `dealrules` Python package turns into plain objects.
//! Amounts are decimal strings in those documents, so nothing goes through a float.

use dealrules::diag;
use dealrules::{Colour, Diagnostic, Engine, Level, Value};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use std::path::{Path, PathBuf};

create_exception!(
    _native,
    LoadFailure,
    PyException,
    "Input that could not be loaded: args are (the diagnostics rendered as text, the diagnostics as JSON)."
);

/// The error raised for `diags`: their text as the command prints it and their JSON document.
fn load_failure(engine: &Engine, mut diags: Vec<Diagnostic>) -> PyErr {
    diag::sort(&mut diags);
    let mut text = String::new();
    for d in &diags {
        text.push_str(&diag::render(d, engine.sources(), Colour::Never));
    }
    let errors = diags.iter().filter(|d| d.level == Level::Error).count();
    text.push_str(&format!(
        "{errors} error{} found; nothing was evaluated",
        if errors == 1 { "" } else { "s" }
    ));
    let json = dealrules::report::diagnostics_json(&diags, engine.sources());
    LoadFailure::new_err((text, json))
}

/// Loaded rules and facts.
#[pyclass(module = "dealrules._native", frozen)]
struct NativeEngine {
    engine: Engine,
}

/// Loads files into a new engine; returns it with every diagnostic.
fn load_files(paths: &[PathBuf]) -> (Engine, Vec<Diagnostic>) {
    let mut engine = Engine::new();
    let diags = match dealrules::files::collect(paths) {
        Ok(files) => dealrules::files::load(&mut engine, &files, &mut || {}),
        Err(errors) => errors
            .into_iter()
            .map(dealrules::files::path_error)
            .collect(),
    };
    (engine, diags)
}

/// Loads texts under their names into a new engine, each by the extension of its name;
/// returns it with every diagnostic.
fn load_texts(sources: Vec<(String, String)>) -> (Engine, Vec<Diagnostic>) {
    let mut engine = Engine::new();
    let mut diags = Vec::new();
    for (name, text) in sources {
        if let Err(e) = dealrules::files::load_text(&mut engine, Path::new(&name), text) {
            diags.extend(e.diagnostics);
        }
    }
    (engine, diags)
}

/// The engine, or the error for its diagnostics.
fn loaded((engine, diags): (Engine, Vec<Diagnostic>)) -> PyResult<NativeEngine> {
    if diags.is_empty() {
        Ok(NativeEngine { engine })
    } else {
        Err(load_failure(&engine, diags))
    }
}

/// Reads a parameter override `rule.param` = `value`, the value written as in a deal file.
fn parse_param(target: &str, value: &str) -> PyResult<(String, String, Value)> {
    let Some((rule, param)) = target.trim().split_once('.') else {
        return Err(PyValueError::new_err(format!(
            "parameter `{target}`: expected `rule.param` (the rule id, a dot, the parameter)"
        )));
    };
    let parsed: Value = value
        .trim()
        .parse()
        .map_err(|e| PyValueError::new_err(format!("parameter `{target}` = `{value}`: {e}")))?;
    Ok((rule.trim().to_string(), param.trim().to_string(), parsed))
}

#[pymethods]
impl NativeEngine {
    /// Loads `.deals` and `.rules` files and folders (searched recursively, in name order) and
    /// `.csv` and `.json` fact tables, as `dealrules run PATHS` does.
    #[staticmethod]
    fn load(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Self> {
        loaded(py.detach(|| load_files(&paths)))
    }

    /// Loads `(name, text)` pairs; the extension of each name says how to read it.
    #[staticmethod]
    fn from_texts(py: Python<'_>, sources: Vec<(String, String)>) -> PyResult<Self> {
        loaded(py.detach(|| load_texts(sources)))
    }

    /// Evaluates with parameter overrides `(rule.param, value)` on `jobs` threads; returns the
    /// JSON report and the warnings as a diagnostics JSON document.
    #[pyo3(signature = (params, jobs=None))]
    fn evaluate(
        &self,
        py: Python<'_>,
        params: Vec<(String, String)>,
        jobs: Option<usize>,
    ) -> PyResult<(String, String)> {
        let mut engine = self.engine.clone();
        for (target, value) in &params {
            let (rule, param, value) = parse_param(target, value)?;
            engine.set_param(&rule, &param, value);
        }
        engine.set_threads(jobs);
        let evaluated = py.detach(|| {
            engine.evaluate().map(|report| {
                (
                    dealrules::report::json(&report, engine.sources()),
                    dealrules::report::diagnostics_json(&report.warnings, engine.sources()),
                )
            })
        });
        evaluated.map_err(|e| load_failure(&engine, e.diagnostics))
    }

    /// Checks the facts against the schema and the rules, without evaluating: the diagnostics
    /// JSON document of `dealrules check --format json`.
    fn check(&self, py: Python<'_>) -> String {
        py.detach(|| {
            let mut diags = self.engine.check();
            diag::sort(&mut diags);
            dealrules::report::diagnostics_json(&diags, self.engine.sources())
        })
    }
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeEngine>()?;
    m.add("LoadFailure", m.py().get_type::<LoadFailure>())?;
    Ok(())
}
