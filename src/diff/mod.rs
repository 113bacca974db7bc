//! The diff of findings between two rule versions over the same facts: which findings
//! appeared, which disappeared, and which changed (and in what), keyed by fingerprint.
//!
//! Both sides are JSON reports read back ([`read_report`]); a program that runs the rules
//! itself renders its report as JSON and reads it back, so that comparing two saved reports
//! and comparing two runs give the same result.

mod read;

pub use read::{Places, ReadError, SavedReport, read_report};

use crate::Severity;
use crate::explain::{Finding, TraceStep};
use indexmap::IndexMap;

/// What happened to a finding between the old report and the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// In the new report only.
    Appeared,
    /// In the old report only.
    Disappeared,
    /// In both (same fingerprint), with a different severity, title, message, bindings,
    /// conditions, values or parameters.
    Changed,
}

impl ChangeKind {
    /// All kinds, in the order they are reported.
    pub const ALL: [ChangeKind; 3] = [
        ChangeKind::Appeared,
        ChangeKind::Disappeared,
        ChangeKind::Changed,
    ];

    /// `appeared`, `disappeared` or `changed`.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Appeared => "appeared",
            ChangeKind::Disappeared => "disappeared",
            ChangeKind::Changed => "changed",
        }
    }
}

/// The part of a finding that changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// The severity (`medium` → `high`).
    Severity,
    /// The rule title.
    Title,
    /// The `flag` message as filled in.
    Message,
    /// The binding names (the facts are the same: they make the fingerprint).
    Bindings,
    /// The conditions as written (whitespace does not count).
    Conditions,
    /// The value of an expression read by a condition on both sides (`buy.amount`).
    Value(String),
    /// The value of a rule parameter.
    Param(String),
}

impl Part {
    /// `severity`, `title`, `message`, `bindings`, `conditions`, `value` or `param`.
    pub fn name(&self) -> &'static str {
        match self {
            Part::Severity => "severity",
            Part::Title => "title",
            Part::Message => "message",
            Part::Bindings => "bindings",
            Part::Conditions => "conditions",
            Part::Value(_) => "value",
            Part::Param(_) => "param",
        }
    }

    /// The expression or parameter name for `value` and `param`.
    pub fn subject(&self) -> Option<&str> {
        match self {
            Part::Value(s) | Part::Param(s) => Some(s),
            _ => None,
        }
    }

    /// `severity`, or `value buy.amount`, `param ratio_limit`.
    pub fn label(&self) -> String {
        match self.subject() {
            Some(s) => format!("{} {s}", self.name()),
            None => self.name().to_string(),
        }
    }
}

/// One part that changed, old and new as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartChange {
    /// What changed.
    pub part: Part,
    /// Before.
    pub old: String,
    /// After.
    pub new: String,
}

/// One finding that appeared, disappeared or changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// What happened to it.
    pub kind: ChangeKind,
    /// Its fingerprint (the same on both sides).
    pub fingerprint: String,
    /// Its position in the old report's findings, if it is there.
    pub old: Option<usize>,
    /// Its position in the new report's findings, if it is there.
    pub new: Option<usize>,
    /// For [`ChangeKind::Changed`]: each part that changed, in the order of [`Part`].
    pub changes: Vec<PartChange>,
}

/// The comparison of two reports.
#[derive(Debug)]
pub struct Diff {
    /// The old report (the base revision, or the baseline file).
    pub old: SavedReport,
    /// The new report (the working tree, or the current run).
    pub new: SavedReport,
    /// Appeared, then disappeared, then changed findings; each group sorted by severity (most
    /// serious first), rule id and fingerprint.
    pub entries: Vec<Entry>,
    /// Findings present in both reports with nothing changed.
    pub unchanged: usize,
}

impl Diff {
    /// Compares `old` and `new` by fingerprint.
    pub fn new(old: SavedReport, new: SavedReport) -> Diff {
        let old_index: IndexMap<&str, usize> = old
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| (&*f.fingerprint, i))
            .collect();
        let new_index: IndexMap<&str, usize> = new
            .findings
            .iter()
            .enumerate()
            .map(|(i, f)| (&*f.fingerprint, i))
            .collect();
        let mut entries = Vec::new();
        let mut unchanged = 0;
        for (i, f) in new.findings.iter().enumerate() {
            match old_index.get(&*f.fingerprint) {
                None => entries.push(Entry {
                    kind: ChangeKind::Appeared,
                    fingerprint: f.fingerprint.clone(),
                    old: None,
                    new: Some(i),
                    changes: Vec::new(),
                }),
                Some(&j) => {
                    let changes = old.findings.get(j).map_or_else(Vec::new, |o| compare(o, f));
                    if changes.is_empty() {
                        unchanged += 1;
                    } else {
                        entries.push(Entry {
                            kind: ChangeKind::Changed,
                            fingerprint: f.fingerprint.clone(),
                            old: Some(j),
                            new: Some(i),
                            changes,
                        });
                    }
                }
            }
        }
        for (j, f) in old.findings.iter().enumerate() {
            if !new_index.contains_key(&*f.fingerprint) {
                entries.push(Entry {
                    kind: ChangeKind::Disappeared,
                    fingerprint: f.fingerprint.clone(),
                    old: Some(j),
                    new: None,
                    changes: Vec::new(),
                });
            }
        }
        let key = |e: &Entry| {
            let f = e
                .new
                .and_then(|i| new.findings.get(i))
                .or_else(|| e.old.and_then(|i| old.findings.get(i)));
            (
                e.kind,
                f.map(|f| f.severity),
                f.map(|f| f.rule.clone()),
                e.fingerprint.clone(),
            )
        };
        entries.sort_by_cached_key(key);
        Diff {
            old,
            new,
            entries,
            unchanged,
        }
    }

    /// Whether no finding appeared, disappeared or changed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry's finding in the old report.
    pub fn old_finding(&self, e: &Entry) -> Option<&Finding> {
        e.old.and_then(|i| self.old.findings.get(i))
    }

    /// The entry's finding in the new report.
    pub fn new_finding(&self, e: &Entry) -> Option<&Finding> {
        e.new.and_then(|i| self.new.findings.get(i))
    }

    /// The finding to show for an entry: the new one, or the old one when it disappeared.
    pub fn shown(&self, e: &Entry) -> Option<&Finding> {
        self.new_finding(e).or_else(|| self.old_finding(e))
    }

    /// The entries of one kind.
    pub fn of_kind(&self, kind: ChangeKind) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.kind == kind)
    }

    /// The number of entries of `kind` whose shown finding has `severity`.
    pub fn count(&self, kind: ChangeKind, severity: Severity) -> usize {
        self.of_kind(kind)
            .filter(|e| self.shown(e).is_some_and(|f| f.severity == severity))
            .count()
    }
}

/// The parts that differ between two findings with the same fingerprint, in the order of
/// [`Part`]. Locations (lines move) and the order of conditions' values do not count.
pub fn compare(old: &Finding, new: &Finding) -> Vec<PartChange> {
    let mut changes = Vec::new();
    let mut add = |part: Part, old: String, new: String| {
        if old != new {
            changes.push(PartChange { part, old, new });
        }
    };
    add(
        Part::Severity,
        old.severity.name().to_string(),
        new.severity.name().to_string(),
    );
    add(Part::Title, old.title.clone(), new.title.clone());
    add(Part::Message, old.message.clone(), new.message.clone());
    add(Part::Bindings, bindings(old), bindings(new));
    add(Part::Conditions, conditions(old), conditions(new));
    let old_values = values(&old.trace);
    let new_values = values(&new.trace);
    for (expr, o) in &old_values {
        if let Some(n) = new_values.get(expr) {
            add(Part::Value(expr.clone()), o.clone(), n.clone());
        }
    }
    let old_params: IndexMap<String, String> = old
        .params
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let new_params: IndexMap<String, String> = new
        .params
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let names = old_params.keys().chain(new_params.keys());
    let names: indexmap::IndexSet<&String> = names.collect();
    for name in names {
        let shown = |p: &IndexMap<String, String>| {
            p.get(name)
                .cloned()
                .unwrap_or_else(|| "(not declared)".to_string())
        };
        add(
            Part::Param(name.clone()),
            shown(&old_params),
            shown(&new_params),
        );
    }
    changes
}

/// `inv = nvidia_openai_loi, buy = openai_nvidia_systems`.
fn bindings(f: &Finding) -> String {
    f.bindings
        .iter()
        .map(|b| format!("{} = {}", b.var, b.fact))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The conditions as written, whitespace runs made one space, separated by `; `.
fn conditions(f: &Finding) -> String {
    f.trace
        .iter()
        .map(|t| t.condition.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Each expression read by a condition (its first occurrence) and its value as text;
/// `missing` for a missing field.
fn values(trace: &[TraceStep]) -> IndexMap<String, String> {
    fn walk(steps: &[TraceStep], out: &mut IndexMap<String, String>) {
        for s in steps {
            for o in &s.operands {
                let expr = o.expr.split_whitespace().collect::<Vec<_>>().join(" ");
                let value = o
                    .value
                    .as_ref()
                    .map_or_else(|| "missing".to_string(), ToString::to_string);
                out.entry(expr).or_insert(value);
            }
            walk(&s.parts, out);
        }
    }
    let mut out = IndexMap::new();
    walk(trace, &mut out);
    out
}
