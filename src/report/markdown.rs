//! The Markdown report, for a pull request: a summary table by severity, then each finding
//! with its message, bound facts, the values behind each condition, parameters and reference;
//! then data gaps and evaluation errors. GitHub-flavoured: tables and `<details>`.

use crate::diag::SourceMap;
use crate::explain::{Chain, DataGap, Detail, Finding};
use crate::report::Locate;
use crate::report::text::{conversion, place, summary, values};
use crate::{Report, Severity};
use std::fmt::Write as _;

/// Plain text with the characters Markdown would read as markup escaped (`*`, `_`, `[`,
/// `<`, `|`...), on one line.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A message whose `quoted` parts (the house style for names and values in messages) become
/// code spans, the rest escaped; with unpaired backticks, everything is escaped.
pub(super) fn message(text: &str) -> String {
    if text.matches('`').count() % 2 == 1 {
        return escape(text);
    }
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 && !part.is_empty() {
                code(part)
            } else {
                escape(part)
            }
        })
        .collect()
}

/// A code span that holds `text` whatever backticks it contains.
pub(super) fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A code span for a table cell: `|` is escaped (GitHub removes the backslash inside the span).
pub(super) fn cell(text: &str) -> String {
    code(&text.replace('|', "\\|"))
}

pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary_table(out: &mut String, report: &Report) {
    let _ = writeln!(out, "| severity | findings |");
    let _ = writeln!(out, "|---|---:|");
    for s in Severity::ALL {
        let n = report.findings.iter().filter(|f| f.severity == s).count();
        let _ = writeln!(out, "| {s} | {n} |");
    }
    let _ = writeln!(out, "| **total** | **{}** |", report.findings.len());
}

fn finding(out: &mut String, f: &Finding, sources: &dyn Locate) {
    finding_heading(out, f);
    finding_body(out, f, sources);
}

/// `### HIGH `vendor_financing` — title`, then a blank line.
pub(super) fn finding_heading(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "### {} {} — {}\n",
        f.severity.name().to_uppercase(),
        code(&f.rule),
        message(&f.title)
    );
}

/// A finding under its heading: message, bindings table, **Because** table, chains,
/// parameters, and the last line with rule, reference and fingerprint.
pub(super) fn finding_body(out: &mut String, f: &Finding, sources: &dyn Locate) {
    let _ = writeln!(out, "{}\n", message(&f.message));
    if !f.bindings.is_empty() {
        let _ = writeln!(out, "| binding | fact | declared at |");
        let _ = writeln!(out, "|---|---|---|");
        for b in &f.bindings {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&b.var),
                cell(&b.fact),
                cell(&place(sources, b.span))
            );
        }
        out.push('\n');
    }
    if !f.trace.is_empty() {
        let _ = writeln!(out, "**Because**\n");
        let _ = writeln!(out, "| condition | values |");
        let _ = writeln!(out, "|---|---|");
        for t in &f.trace {
            let mut values_cell = cell(&values(t));
            for c in &t.conversions {
                let _ = write!(values_cell, "<br>{}", escape(&conversion(c, sources)));
            }
            for d in &t.dates {
                let _ = write!(values_cell, "<br>{}", escape(&super::text::date_taken(d)));
            }
            for o in &t.operands {
                if let Some(d) = &o.detail {
                    aggregate(&mut values_cell, &o.expr, d, sources);
                }
            }
            let _ = writeln!(out, "| {} | {values_cell} |", cell(&t.condition));
        }
        out.push('\n');
    }
    for chain in &f.chains {
        chain_table(out, chain, sources);
    }
    if !f.params.is_empty() {
        let params: Vec<String> = f
            .params
            .iter()
            .map(|(n, v)| code(&format!("{n} = {v}")))
            .collect();
        let _ = writeln!(out, "**Parameters:** {}\n", params.join(", "));
    }
    let _ = write!(out, "**Rule:** {}", code(&place(sources, f.rule_span)));
    if let Some(r) = &f.reference {
        let _ = write!(out, " · **Reference:** {}", message(r));
    }
    let _ = writeln!(out, " · **Fingerprint:** {}\n", code(&f.fingerprint));
}

/// The facts that went into an aggregate, appended to a table cell: `total: sum of 2 facts`,
/// then each fact with its value and place.
fn aggregate(cell_text: &mut String, expr: &str, d: &Detail, sources: &dyn Locate) {
    let Detail::Aggregate {
        func,
        counted,
        skipped,
        chosen,
    } = d
    else {
        return;
    };
    let _ = write!(
        cell_text,
        "<br>{}: {func} of {}",
        cell(expr),
        plural(counted.len(), "fact", "facts")
    );
    for (i, (f, v)) in counted.iter().enumerate() {
        let value = v
            .as_ref()
            .map(|v| format!(" {}", cell(&v.to_string())))
            .unwrap_or_default();
        let mark = if *chosen == Some(i) {
            " ← this one"
        } else {
            ""
        };
        let _ = write!(
            cell_text,
            "<br>{}{value} at {}{mark}",
            cell(&f.fact),
            cell(&place(sources, f.span))
        );
    }
    if !skipped.is_empty() {
        let ids: Vec<String> = skipped.iter().map(|f| cell(&f.fact)).collect();
        let _ = write!(
            cell_text,
            "<br>not counted, value missing: {}",
            ids.join(", ")
        );
    }
}

/// The deals behind a derived row or a cycle, one table row per hop.
fn chain_table(out: &mut String, chain: &Chain, sources: &dyn Locate) {
    let _ = writeln!(out, "**Chain {}**\n", code(&chain.var));
    let _ = writeln!(
        out,
        "| from | to | deal | declared at | amount | derived by |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let shown =
        |v: &Option<crate::Value>| v.as_ref().map_or(String::new(), |v| cell(&v.to_string()));
    for h in &chain.hops {
        let (deal, at) = match &h.deal {
            Some(d) => (cell(&d.fact), cell(&place(sources, d.span))),
            None => (String::new(), String::new()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {deal} | {at} | {} | {} at {} |",
            shown(&h.from),
            shown(&h.to),
            shown(&h.amount),
            escape(&h.derived_by),
            cell(&place(sources, h.derived_at))
        );
    }
    out.push('\n');
    if chain.alternatives > 0 {
        let _ = writeln!(
            out,
            "{} of deals link the same entities.\n",
            plural(
                chain.alternatives,
                "other combination",
                "other combinations"
            )
        );
    }
    if chain.hops.len() > 1 {
        let _ = writeln!(
            out,
            "```mermaid\n{}```\n",
            crate::report::graph::mermaid_chain(chain)
        );
        let _ = writeln!(
            out,
            "Money is fungible: a cycle shows the capacity for round-tripping, not proof that the \
             same dollars moved.\n"
        );
    }
}

fn gap_row(out: &mut String, g: &DataGap, sources: &SourceMap) {
    let facts: Vec<String> = g
        .bindings
        .iter()
        .map(|b| {
            format!(
                "{} ({})",
                cell(&format!("{} = {}", b.var, b.fact)),
                cell(&place(sources, b.span))
            )
        })
        .collect();
    let missing: Vec<String> = g
        .missing
        .iter()
        .map(|m| {
            if m.declared {
                format!("{} has no {}", cell(&m.fact), cell(&m.field))
            } else {
                format!(
                    "{} is not a declared entity or deal (reading {})",
                    cell(&m.fact),
                    cell(&m.field)
                )
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} |",
        cell(&g.rule),
        facts.join("<br>"),
        if missing.is_empty() {
            "a field is missing".to_string()
        } else {
            missing.join("<br>")
        },
        cell(&g.condition)
    );
}

/// Renders the report as GitHub-flavoured Markdown: a title and summary line, a table of
/// findings by severity, each finding (message, bound facts with `file:line`, a "because"
/// table of conditions and values, parameters, rule and reference), then data gaps (folded in
/// a `<details>` block) and evaluation errors. Ends with a newline. [`write_markdown`] writes
/// the same text as it is made.
pub fn markdown(report: &Report, sources: &SourceMap) -> String {
    super::to_string(|out| write_markdown(out, report, sources))
}

/// Writes the Markdown of [`markdown`] to `out` a finding (or data gap, or error) at a time,
/// never holding the whole text.
///
/// # Errors
/// The first error of writing to `out`.
pub fn write_markdown(
    out: &mut dyn std::io::Write,
    report: &Report,
    sources: &SourceMap,
) -> std::io::Result<()> {
    // Ends with one line break, however many the last part ends with.
    let mut parts = super::Parts::new(out);
    parts.part(|out, _| {
        let _ = writeln!(out, "# dealrules report\n");
        let _ = writeln!(out, "{}\n", escape(&summary(report)));
        summary_table(out, report);
        if !report.findings.is_empty() {
            let _ = writeln!(out, "\n## Findings\n");
        }
    })?;
    for f in &report.findings {
        parts.part(|out, _| finding(out, f, sources))?;
    }
    if !report.data_gaps.is_empty() {
        parts.part(|out, _| {
            let n = report.data_gaps.len();
            let _ = writeln!(out, "\n## Data gaps\n");
            let _ = writeln!(
                out,
                "{} could not be completed because a field is missing.\n",
                plural(n, "check", "checks")
            );
            let show = if n == 1 {
                "Show the data gap".to_string()
            } else {
                format!("Show all {n} data gaps")
            };
            let _ = writeln!(out, "<details>\n<summary>{show}</summary>\n");
            let _ = writeln!(out, "| rule | facts | missing | first unknown condition |");
            let _ = writeln!(out, "|---|---|---|---|");
        })?;
        for g in &report.data_gaps {
            parts.part(|out, _| gap_row(out, g, sources))?;
        }
        parts.part(|out, _| {
            let _ = writeln!(out, "\n</details>");
        })?;
    }
    if !report.errors.is_empty() {
        parts.part(|out, _| {
            let _ = writeln!(out, "\n## Evaluation errors\n");
        })?;
    }
    for e in &report.errors {
        parts.part(|out, _| error(out, e, sources))?;
    }
    parts.finish(1)
}

/// An evaluation error's item.
fn error(out: &mut String, e: &crate::explain::EvalError, sources: &SourceMap) {
    let facts: Vec<String> = e
        .bindings
        .iter()
        .map(|b| {
            format!(
                "{} at {}",
                code(&format!("{} = {}", b.var, b.fact)),
                code(&place(sources, b.span))
            )
        })
        .collect();
    let _ = write!(
        out,
        "- {} at {}: {}",
        code(&e.rule),
        code(&place(sources, e.span)),
        message(&e.message)
    );
    if !e.expr.is_empty() {
        let _ = write!(out, " in {}", code(&e.expr));
    }
    if !facts.is_empty() {
        let _ = write!(out, " ({})", facts.join(", "));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(escape("a_b *c* [d]|e"), r"a\_b \*c\* \[d\]\|e");
        assert_eq!(cell("a|b"), r"`a\|b`");
        assert_eq!(code("x `y` z"), "``x `y` z``");
        assert_eq!(code("`y`"), "`` `y` ``");
        assert_eq!(
            message("cannot compare `USD` and `CNY`: a_b"),
            r"cannot compare `USD` and `CNY`: a\_b"
        );
        assert_eq!(message("odd ` one"), r"odd \` one");
    }
}
