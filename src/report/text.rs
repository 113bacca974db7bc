//! The text report: one block per finding, then evaluation errors, then a summary line.

use crate::diag::{Colour, SourceMap, Span};
use crate::explain::{Detail, Finding, Operand, TraceStep};
use crate::report::Locate;
use crate::{Report, Severity};
use anstyle::{AnsiColor, Style};
use std::fmt::Write as _;

pub(super) fn paint(colour: Colour, style: Style, text: &str) -> String {
    match colour {
        Colour::Never => text.to_string(),
        Colour::Always => format!("{}{text}{}", style.render(), style.render_reset()),
    }
}

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Critical => AnsiColor::Red.on_default().bold(),
        Severity::High => AnsiColor::Red.on_default(),
        Severity::Medium => AnsiColor::Yellow.on_default(),
        Severity::Low => AnsiColor::Cyan.on_default(),
        Severity::Info => Style::new().dimmed(),
    }
}

/// `  inv = nvidia_openai_loi   examples/ai-compute-2025.deals:351`, locations aligned.
pub(super) fn binding_lines(
    out: &mut String,
    bindings: &[crate::explain::Binding],
    sources: &dyn Locate,
) {
    let width = bindings
        .iter()
        .map(|b| b.var.chars().count() + b.fact.chars().count())
        .max()
        .unwrap_or(0);
    for b in bindings {
        let pad = width - (b.var.chars().count() + b.fact.chars().count());
        let _ = writeln!(
            out,
            "  {} = {}{}   {}",
            b.var,
            b.fact,
            " ".repeat(pad),
            place(sources, b.span)
        );
    }
}

pub(super) fn place(sources: &dyn Locate, span: Span) -> String {
    sources
        .location(span)
        .map_or_else(|| "(added in code)".to_string(), |l| l.to_string())
}

/// Longest value shown in full in the text trace (the JSON report always has it all).
const MAX_VALUE_CHARS: usize = 100;

/// Widest condition column; longer conditions put their values on the next line.
const MAX_CONDITION_COLUMN: usize = 48;

fn shorten(text: String) -> String {
    if text.chars().count() <= MAX_VALUE_CHARS {
        return text;
    }
    let mut short: String = text.chars().take(MAX_VALUE_CHARS).collect();
    short.push('…');
    short
}

fn operand(o: &Operand) -> String {
    match &o.value {
        Some(v) => shorten(v.to_string()),
        None => "missing".to_string(),
    }
}

pub(super) fn values(step: &TraceStep) -> String {
    match &step.detail {
        Some(Detail::Matches(facts)) if facts.is_empty() => return "no match".to_string(),
        Some(Detail::Matches(facts)) => {
            let ids: Vec<&str> = facts.iter().map(|f| &*f.fact).collect();
            return format!("matched {}", ids.join(", "));
        }
        Some(Detail::Element { index, value }) => return format!("element {index}: {value}"),
        _ => {}
    }
    match (step.op, step.operands.as_slice(), step.parts.as_slice()) {
        (Some("not"), _, [inner]) => format!("not ({})", values(inner)),
        (Some(connective), _, [a, b]) => format!("{} {connective} {}", part(a), part(b)),
        (Some(op), [a, b], _) => format!("{} {op} {}", operand(a), operand(b)),
        (_, operands, _) => operands
            .iter()
            .map(|o| format!("{} = {}", o.expr, operand(o)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A sub-condition inside `and`/`or`, with "(unknown)" when a field it reads is missing.
fn part(step: &TraceStep) -> String {
    let text = values(step);
    let text = if step.parts.is_empty() {
        text
    } else {
        format!("({text})")
    };
    match step.holds {
        None => format!("{text} (unknown)"),
        Some(_) => text,
    }
}

/// `chain c: Nvidia -(nvidia_openai_loi, up to 100B USD)-> OpenAI -(...)-> ...`, then each deal
/// with its location.
fn chain_lines(out: &mut String, chain: &crate::explain::Chain, sources: &dyn Locate) {
    let mut line = String::new();
    for (i, h) in chain.hops.iter().enumerate() {
        if i == 0 {
            line.push_str(&h.from.as_ref().map_or("?".to_string(), ToString::to_string));
        }
        let deal = h.deal.as_ref().map_or("?", |d| &*d.fact);
        let amount = h
            .amount
            .as_ref()
            .map(|a| format!(", {a}"))
            .unwrap_or_default();
        let to = h.to.as_ref().map_or("?".to_string(), ToString::to_string);
        let _ = write!(line, " -({deal}{amount})-> {to}");
    }
    let _ = writeln!(out, "  chain {}: {line}", chain.var);
    let width = chain
        .hops
        .iter()
        .map(|h| h.deal.as_ref().map_or(1, |d| d.fact.chars().count()))
        .max()
        .unwrap_or(0);
    for h in &chain.hops {
        let (deal, at) = match &h.deal {
            Some(d) => (d.fact.to_string(), place(sources, d.span)),
            None => ("?".to_string(), String::new()),
        };
        let pad = width.saturating_sub(deal.chars().count());
        let _ = writeln!(
            out,
            "    {deal}{}   {at}   ({} at {})",
            " ".repeat(pad),
            h.derived_by,
            place(sources, h.derived_at)
        );
    }
    if chain.alternatives > 0 {
        let _ = writeln!(
            out,
            "    ({} other combination{} of deals link the same entities)",
            chain.alternatives,
            if chain.alternatives == 1 { "" } else { "s" }
        );
    }
}

/// The facts that went into an aggregate: `sum of 3: a 1B USD (f:1), ...`.
fn aggregate_lines(expr: &str, d: &Detail, sources: &dyn Locate) -> Vec<String> {
    let Detail::Aggregate {
        func,
        counted,
        skipped,
        chosen,
    } = d
    else {
        return Vec::new();
    };
    let mut lines = vec![format!(
        "{expr}: {func} of {} fact{}",
        counted.len(),
        if counted.len() == 1 { "" } else { "s" }
    )];
    for (i, (f, v)) in counted.iter().enumerate() {
        let value = v.as_ref().map(|v| format!(" {v}")).unwrap_or_default();
        let mark = if *chosen == Some(i) {
            "  ← this one"
        } else {
            ""
        };
        lines.push(format!(
            "  {}{value}   {}{mark}",
            f.fact,
            place(sources, f.span)
        ));
    }
    if !skipped.is_empty() {
        let ids: Vec<&str> = skipped.iter().map(|f| &*f.fact).collect();
        lines.push(format!("  not counted, value missing: {}", ids.join(", ")));
    }
    lines
}

fn finding(out: &mut String, f: &Finding, sources: &dyn Locate, colour: Colour) {
    finding_head(out, f, colour);
    finding_body(out, f, sources);
}

/// The first line of a finding: `HIGH vendor_financing — title`, the severity coloured.
pub(super) fn finding_head(out: &mut String, f: &Finding, colour: Colour) {
    let head = format!("{} {}", f.severity.name().to_uppercase(), f.rule);
    let _ = writeln!(
        out,
        "{} — {}",
        paint(colour, severity_style(f.severity), &head),
        f.title
    );
}

/// The rest of a finding, indented: message, bindings, `because`, chains, parameters, rule.
pub(super) fn finding_body(out: &mut String, f: &Finding, sources: &dyn Locate) {
    let _ = writeln!(out, "  {}", f.message);
    binding_lines(out, &f.bindings, sources);
    if !f.trace.is_empty() {
        let _ = writeln!(out, "  because");
        let width = f
            .trace
            .iter()
            .map(|t| t.condition.chars().count())
            .filter(|w| *w <= MAX_CONDITION_COLUMN)
            .max()
            .unwrap_or(0);
        for t in &f.trace {
            let len = t.condition.chars().count();
            if len > width {
                let _ = writeln!(out, "    {}", t.condition);
                let _ = writeln!(out, "    {}   {}", " ".repeat(width), values(t));
            } else {
                let pad = width - len;
                let _ = writeln!(
                    out,
                    "    {}{}   {}",
                    t.condition,
                    " ".repeat(pad),
                    values(t)
                );
            }
            for c in &t.conversions {
                let _ = writeln!(
                    out,
                    "    {}   {}",
                    " ".repeat(width),
                    conversion(c, sources)
                );
            }
            for d in &t.dates {
                let _ = writeln!(out, "    {}   {}", " ".repeat(width), date_taken(d));
            }
            for o in &t.operands {
                if let Some(d) = &o.detail {
                    for line in aggregate_lines(&o.expr, d, sources) {
                        let _ = writeln!(out, "    {}   {line}", " ".repeat(width));
                    }
                }
            }
        }
    }
    for chain in &f.chains {
        chain_lines(out, chain, sources);
    }
    if f.chains.iter().any(|c| c.hops.len() > 1) {
        let _ = writeln!(
            out,
            "  note: money is fungible; a cycle shows the capacity for round-tripping, not proof that the same dollars moved"
        );
    }
    if !f.params.is_empty() {
        let params: Vec<String> = f.params.iter().map(|(n, v)| format!("{n} = {v}")).collect();
        let _ = writeln!(out, "  with {}", params.join(", "));
    }
    let _ = write!(out, "  rule {}", place(sources, f.rule_span));
    if let Some(r) = &f.reference {
        let _ = write!(out, " · {r}");
    }
    let _ = writeln!(out);
}

/// Renders the report as text: each finding with its message, bound facts (`file:line`) and the
/// values behind each condition; then data gaps; then evaluation errors; then a summary line.
/// [`write_text`] writes the same text as it is made.
pub fn text(report: &Report, sources: &SourceMap, colour: Colour) -> String {
    super::to_string(|out| write_text(out, report, sources, colour))
}

/// Writes the text of [`text`] to `out` a finding (or data gap, or error) at a time, never
/// holding the whole text.
///
/// # Errors
/// The first error of writing to `out`.
pub fn write_text(
    out: &mut dyn std::io::Write,
    report: &Report,
    sources: &SourceMap,
    colour: Colour,
) -> std::io::Result<()> {
    let mut parts = super::Parts::new(out);
    for (i, f) in report.findings.iter().enumerate() {
        parts.part(|out, _| {
            if i > 0 {
                out.push('\n');
            }
            finding(out, f, sources, colour);
        })?;
    }
    if !report.data_gaps.is_empty() {
        parts.part(|out, wrote| {
            if wrote {
                out.push('\n');
            }
            data_gaps_heading(out, report, colour);
        })?;
        for g in &report.data_gaps {
            parts.part(|out, _| data_gap(out, g, sources))?;
        }
    }
    for (i, e) in report.errors.iter().enumerate() {
        parts.part(|out, wrote| {
            if i == 0 && wrote {
                out.push('\n');
            }
            error(out, e, sources, colour);
        })?;
    }
    parts.part(|out, wrote| {
        if wrote {
            out.push('\n');
        }
        out.push_str(&summary(report));
        out.push('\n');
    })?;
    parts.finish(usize::MAX)
}

/// An evaluation error's line.
fn error(out: &mut String, e: &crate::explain::EvalError, sources: &SourceMap, colour: Colour) {
    let facts: Vec<String> = e
        .bindings
        .iter()
        .map(|b| format!("{} = {} {}", b.var, b.fact, place(sources, b.span)))
        .collect();
    let facts = if facts.is_empty() {
        String::new()
    } else {
        format!(" ({})", facts.join(", "))
    };
    let _ = writeln!(
        out,
        "{} rule {} could not be evaluated at {}: {}{}{facts}",
        paint(colour, AnsiColor::Red.on_default().bold(), "error:"),
        e.rule,
        place(sources, e.span),
        e.message,
        if e.expr.is_empty() {
            String::new()
        } else {
            format!(" in `{}`", e.expr)
        },
    );
}

/// `USD converted to CNY at 7.10 (fx USD/CNY on 2025-10-01, rates.deals:1)`.
/// `date(d.signed_at) is 2026-03-02 in Asia/Shanghai (2026-03-01T18:00:00-08:00)`.
pub(super) fn date_taken(d: &crate::explain::DateTaken) -> String {
    format!("{} is {} in {} ({})", d.expr, d.date, d.zone, d.timestamp)
}

pub(super) fn conversion(c: &crate::explain::Conversion, sources: &dyn Locate) -> String {
    let date = c.date.map(|d| format!(" on {d}")).unwrap_or_default();
    format!(
        "{} converted to {} at {} (fx {}/{}{date}, {})",
        c.base,
        c.quote,
        c.rate.normalize(),
        c.base,
        c.quote,
        place(sources, c.span)
    )
}

fn data_gaps_heading(out: &mut String, report: &Report, colour: Colour) {
    let n = report.data_gaps.len();
    let _ = writeln!(
        out,
        "{} {n} check{} could not be completed because a field is missing",
        paint(colour, AnsiColor::Yellow.on_default().bold(), "DATA GAPS"),
        if n == 1 { "" } else { "s" }
    );
}

fn data_gap(out: &mut String, g: &crate::explain::DataGap, sources: &SourceMap) {
    let facts: Vec<String> = g
        .bindings
        .iter()
        .map(|b| format!("{} = {} {}", b.var, b.fact, place(sources, b.span)))
        .collect();
    let missing: Vec<String> = g.missing.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "  {}  {}", g.rule, facts.join(", "));
    let _ = writeln!(out, "    {}   in `{}`", missing.join("; "), g.condition);
}

pub(super) fn summary(report: &Report) -> String {
    let n = report.findings.len();
    let mut parts = Vec::new();
    for s in Severity::ALL {
        let count = report.findings.iter().filter(|f| f.severity == s).count();
        if count > 0 {
            parts.push(format!("{count} {s}"));
        }
    }
    let mut line = format!(
        "{n} finding{}{} from {} rule{} over {} fact{}",
        if n == 1 { "" } else { "s" },
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        },
        report.rules,
        if report.rules == 1 { "" } else { "s" },
        report.facts,
        if report.facts == 1 { "" } else { "s" },
    );
    if !report.data_gaps.is_empty() {
        let n = report.data_gaps.len();
        let _ = write!(line, "; {n} data gap{}", if n == 1 { "" } else { "s" });
    }
    if !report.errors.is_empty() {
        let _ = write!(
            line,
            "; {} evaluation error{}",
            report.errors.len(),
            if report.errors.len() == 1 { "" } else { "s" }
        );
    }
    line
}
