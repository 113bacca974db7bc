//! Parameter overrides: `--set rule.param=value` and `--params FILE`.

use dealrules::{Engine, Value};
use std::path::Path;

/// Reads `rule.param=value` (spaces around `=` allowed; the value is written as in a deal file:
/// `5`, `20%`, `10B USD`).
pub fn parse_assignment(text: &str) -> Result<(String, String, Value), String> {
    let (target, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected `rule.param=value`"))?;
    let (rule, param) = target.trim().split_once('.').ok_or_else(|| {
        format!("`{text}`: expected `rule.param=value` (the rule id, a dot, the parameter)")
    })?;
    let value: Value = value.trim().parse().map_err(|e| format!("`{text}`: {e}"))?;
    Ok((rule.trim().to_string(), param.trim().to_string(), value))
}

/// Reads a parameter file: one `rule.param = value` a line; blank lines and `//` comments are
/// skipped. Every bad line is reported with its number.
pub fn read_file(path: &Path) -> Result<Vec<(String, String, Value)>, Vec<String>> {
    let name = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| vec![format!("cannot read `{name}`: {e}")])?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match parse_assignment(line) {
            Ok(a) => out.push(a),
            Err(e) => errors.push(format!("{name}:{}: {e}", i + 1)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Applies `--params` files, then `--set` values (later ones win).
pub fn apply(
    engine: &mut Engine,
    files: &[std::path::PathBuf],
    sets: &[String],
) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    let mut all = Vec::new();
    for f in files {
        match read_file(f) {
            Ok(a) => all.extend(a),
            Err(e) => errors.extend(e),
        }
    }
    for s in sets {
        match parse_assignment(s) {
            Ok(a) => all.push(a),
            Err(e) => errors.push(format!("--set {e}")),
        }
    }
    for (rule, param, value) in all {
        engine.set_param(&rule, &param, value);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments() {
        let (r, p, v) = parse_assignment("commitment_exceeds_revenue.ratio_limit = 5").unwrap();
        assert_eq!(
            (r.as_str(), p.as_str(), v.to_string()),
            ("commitment_exceeds_revenue", "ratio_limit", "5".to_string())
        );
        assert_eq!(
            parse_assignment("x=1").unwrap_err(),
            "`x=1`: expected `rule.param=value` (the rule id, a dot, the parameter)"
        );
        assert!(
            parse_assignment("a.b=5 USX")
                .unwrap_err()
                .contains("unknown unit or currency `USX`")
        );
    }
}
