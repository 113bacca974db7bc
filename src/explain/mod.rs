//! Explained findings: which rule fired, on which facts, with which values, and why each
//! condition held; plus evaluation errors, located.

use crate::diag::Span;
use crate::syntax::{FactKind, Severity};
use crate::value::{Currency, Date, Name, Value};
use sha2::{Digest, Sha256};

/// One firing of a rule on one combination of facts.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The rule id.
    pub rule: Name,
    /// The rule title.
    pub title: String,
    /// The rule's severity.
    pub severity: Severity,
    /// The `flag` message with its placeholders filled in.
    pub message: String,
    /// What motivates the rule.
    pub reference: Option<String>,
    /// The rule's tags.
    pub tags: Vec<Name>,
    /// Where the rule is declared.
    pub rule_span: Span,
    /// Each binding and the fact bound to it, in the rule's binding order.
    pub bindings: Vec<Binding>,
    /// Each condition with the values it compared, in the rule's written order.
    pub trace: Vec<TraceStep>,
    /// Stable hash of the rule id and the bound facts' ids; see [`fingerprint`].
    pub fingerprint: String,
    /// The rule's parameters and the values used in this run.
    pub params: Vec<(Name, Value)>,
    /// For each binding to a derived row or a cycle: the chain of deals behind it.
    pub chains: Vec<Chain>,
}

/// The deals behind a derived row or a cycle, hop by hop, with where each comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    /// The binding (`c`).
    pub var: Name,
    /// The hops in order; for a cycle, the last hop returns to the first entity.
    pub hops: Vec<Hop>,
    /// For a cycle: other combinations of deals that link the same entities.
    pub alternatives: usize,
}

/// One hop of a [`Chain`]: a row of a derived relation.
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    /// The row's `from` column, if it has one.
    pub from: Option<Value>,
    /// The row's `to` column, if it has one.
    pub to: Option<Value>,
    /// The deal the row was derived from (its `deal` column, when that names a deal).
    pub deal: Option<FactRef>,
    /// The row's `amount` column, if it has one.
    pub amount: Option<Value>,
    /// The row's `date` column, if it has one.
    pub date: Option<Value>,
    /// The `derive` rule that made the row, and where it is declared.
    pub derived_by: String,
    /// Where that derive rule is declared.
    pub derived_at: Span,
}

/// One edge of the flow graph: a row of a relation with `from` and `to` columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    /// The paying (or granting) entity.
    pub from: String,
    /// The receiving entity.
    pub to: String,
    /// The deal behind the edge, if the row names one.
    pub deal: Option<String>,
    /// The amount, if the row has one.
    pub amount: Option<Value>,
}

impl Finding {
    /// Ids of the bound facts, in binding order.
    pub fn facts(&self) -> impl Iterator<Item = &str> {
        self.bindings.iter().map(|b| &*b.fact)
    }
}

/// A binding of a finding: `inv = nvidia_openai_loi`.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// The binding name from the rule (`inv`, or `deal` in the implicit form).
    pub var: Name,
    /// The id of the bound fact.
    pub fact: Name,
    /// Entity or deal.
    pub kind: FactKind,
    /// Where the fact is declared ([`Span::none`] for facts built in code).
    pub span: Span,
}

/// One condition of a rule and the values that made it hold (or not).
///
/// A comparison (`buy.buyer == inv.investee`) has `op` and its two sides as `operands`; a
/// condition built with `and`, `or` or `not` has that word as `op` and one sub-step per operand
/// in `parts`; any other condition lists the fields it read as `operands`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceStep {
    /// The condition as written (`buy.buyer == inv.investee`).
    pub condition: Name,
    /// Where it is written.
    pub span: Span,
    /// Whether it held: `Some(true)`, `Some(false)`, or `None` when unknown because a field it
    /// reads is missing. The top-level steps of a finding always hold.
    pub holds: Option<bool>,
    /// The comparison operator (`==`) or connective (`and`, `or`, `not`), if any.
    pub op: Option<&'static str>,
    /// For a comparison, its two sides; for other non-connective conditions, the fields read.
    pub operands: Vec<Operand>,
    /// For `and`, `or` and `not`: the sub-conditions.
    pub parts: Vec<TraceStep>,
    /// Exchange rates used to evaluate this condition (top-level steps only).
    pub conversions: Vec<Conversion>,
    /// The dates taken of timestamps by `date(...)` in this condition, with their zones
    /// (top-level steps only).
    pub dates: Vec<DateTaken>,
    /// For `exists`, `any` and `all`: which facts or element decided it.
    pub detail: Option<Detail>,
}

/// A fact named in an explanation, with where it is declared.
#[derive(Clone, Debug, PartialEq)]
pub struct FactRef {
    /// The fact's id.
    pub fact: Name,
    /// Where it is declared.
    pub span: Span,
}

/// What decided an `exists`, an aggregate or a quantifier.
#[derive(Clone, Debug, PartialEq)]
pub enum Detail {
    /// The facts that matched an `exists` (at most five are listed; none when it was false).
    Matches(Vec<FactRef>),
    /// The facts that went into an aggregate.
    Aggregate {
        /// `sum`, `count`, `min`, `max` or `avg`.
        func: &'static str,
        /// Each contributing fact and its value (`None` for `count`).
        counted: Vec<(FactRef, Option<Value>)>,
        /// Facts that matched but had no value (a missing field), so were not counted.
        skipped: Vec<FactRef>,
        /// For `min` and `max`: the position in `counted` of the fact the result came from.
        chosen: Option<usize>,
    },
    /// The element of the list that made `any` true or `all` false.
    Element {
        /// Its position in the list, from 0.
        index: usize,
        /// Its value.
        value: Value,
    },
}

/// An exchange rate used in a comparison or sum: an amount in `base` was multiplied by `rate`
/// to express it in `quote`.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    /// The currency converted from.
    pub base: Currency,
    /// The currency converted to.
    pub quote: Currency,
    /// Units of `quote` per unit of `base`.
    pub rate: rust_decimal::Decimal,
    /// The date of the rate, if declared.
    pub date: Option<Date>,
    /// Where the rate is declared.
    pub span: Span,
}

/// A timestamp's date taken by `date(t)` in a zone: `2026-03-02 in Asia/Shanghai`.
#[derive(Clone, Debug, PartialEq)]
pub struct DateTaken {
    /// The call as written (`date(d.signed_at)`).
    pub expr: Name,
    /// The timestamp.
    pub timestamp: Value,
    /// Its date in `zone`.
    pub date: Date,
    /// The zone the date was taken in.
    pub zone: Name,
}

/// A field that was not there when a condition read it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MissingField {
    /// The fact (or, when `declared` is false, the name that no fact has).
    pub fact: Name,
    /// The field that was read.
    pub field: Name,
    /// `false` when `fact` is not a declared entity or deal at all.
    pub declared: bool,
}

impl std::fmt::Display for MissingField {
    /// `a has no `status``, or, for a name that is no fact, `` `X` is not a declared entity or
    /// deal (reading `f`) ``.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.declared {
            write!(f, "{} has no `{}`", self.fact, self.field)
        } else {
            write!(
                f,
                "`{}` is not a declared entity or deal (reading `{}`)",
                self.fact, self.field
            )
        }
    }
}

/// A rule that could not be checked on some facts because a field is missing: every condition
/// was true or unknown, and at least one was unknown. The rule did not fire.
#[derive(Clone, Debug, PartialEq)]
pub struct DataGap {
    /// The rule id.
    pub rule: Name,
    /// The facts bound, in binding order.
    pub bindings: Vec<Binding>,
    /// The first condition that was unknown, as written.
    pub condition: Name,
    /// Where that condition is written.
    pub span: Span,
    /// The missing fields behind the unknown conditions.
    pub missing: Vec<MissingField>,
}

/// A sub-expression of a condition and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Operand {
    /// The sub-expression as written (`inv.investee`).
    pub expr: Name,
    /// Its value; `None` when a field it reads is missing.
    pub value: Option<Value>,
    /// For an aggregate: the facts that went into it.
    pub detail: Option<Detail>,
}

/// An error raised while evaluating a rule on some facts (currency mismatch, division by zero,
/// overflow). The rule is skipped for those facts; evaluation goes on for everything else.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalError {
    /// The rule id.
    pub rule: Name,
    /// The expression that failed.
    pub span: Span,
    /// The expression as written.
    pub expr: Name,
    /// What went wrong.
    pub message: String,
    /// The facts bound when it failed.
    pub bindings: Vec<Binding>,
}

/// Version of the JSON report format (findings as `run --format json` writes them, and as `diff`
/// reads them back); raised on any incompatible change.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// The stable fingerprint of a finding: the first 16 bytes, in hex, of SHA-256 over
/// `dealrules-finding-v1`, the rule id and the bound fact ids in binding order, each followed by
/// a NUL byte. It does not depend on file order, whitespace, message wording or values, so the
/// same finding is recognised across runs and rule versions.
pub fn fingerprint<'a>(rule: &str, facts: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new();
    h.update(b"dealrules-finding-v1\0");
    h.update(rule.as_bytes());
    h.update(b"\0");
    for f in facts {
        h.update(f.as_bytes());
        h.update(b"\0");
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Sorts findings by severity (most serious first), rule id, then fingerprint.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then_with(|| a.rule.cmp(&b.rule))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_and_order_sensitive() {
        let a = fingerprint(
            "vendor_financing",
            ["nvidia_openai_loi", "openai_nvidia_systems"],
        );
        assert_eq!(a.len(), 32);
        assert_eq!(
            a,
            fingerprint(
                "vendor_financing",
                ["nvidia_openai_loi", "openai_nvidia_systems"]
            )
        );
        assert_ne!(
            a,
            fingerprint(
                "vendor_financing",
                ["openai_nvidia_systems", "nvidia_openai_loi"]
            )
        );
        assert_ne!(fingerprint("ab", ["c"]), fingerprint("a", ["bc"]));
    }
}
