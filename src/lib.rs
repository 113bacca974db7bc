//! `dealrules`: a rules engine for financial deals.
//!
//! Analysts describe entities and the deals between them in `.deals` files, and risk rules —
//! vendor financing, warrants to customers, supplier-funded SPVs, commitments far above revenue —
//! in `.rules` files. The engine runs the rules over the deals and returns **explained
//! findings**: which rule fired, on which deals (file:line), with which values, and why each
//! condition held.
//!
//! The same API serves the `dealrules` command and host programs. Apart from [`files`], which
//! finds and reads input files for the hosts that are handed paths, no function of this library
//! reads files, the environment or the clock: the host gives it source text or facts.
//!
//! ```
//! use dealrules::{Engine, Fact, Severity, Value};
//!
//! let mut engine = Engine::new();
//! engine.load("example.deals", r#"
//!     entity Nvidia { type: company }
//!     entity OpenAI { type: company  revenue_2025: 13B USD }
//!     deal nvidia_openai_loi { kind: investment  investor: Nvidia  investee: OpenAI  amount: up to 100B USD }
//! "#)?;
//! engine.load("vendor_financing.rules", r#"
//!     rule vendor_financing "Supplier finances a customer's purchases of its own goods" {
//!       severity: high
//!       reference: "ASC 606-10-32-25"
//!       match inv: deal where inv.kind == investment
//!             buy: deal where buy.kind in [purchase, cloud_contract]
//!       when  buy.buyer == inv.investee and buy.seller == inv.investor
//!       flag  "{inv.investor} invests {inv.amount} in {inv.investee}, which buys {buy.capacity} from {inv.investor}"
//!     }
//! "#)?;
//! // Facts can also be added in code.
//! engine.add_fact(
//!     Fact::deal("openai_nvidia_systems")
//!         .with("kind", Value::symbol("purchase"))
//!         .with("buyer", Value::symbol("OpenAI"))
//!         .with("seller", Value::symbol("Nvidia"))
//!         .with("capacity", "10 GW".parse()?),
//! )?;
//!
//! let report = engine.evaluate()?;
//! let finding = &report.findings[0];
//! assert_eq!(&*finding.rule, "vendor_financing");
//! assert_eq!(finding.severity, Severity::High);
//! assert_eq!(finding.message, "Nvidia invests up to 100B USD in OpenAI, which buys 10 GW from Nvidia");
//! assert_eq!(finding.facts().collect::<Vec<_>>(), ["nvidia_openai_loi", "openai_nvidia_systems"]);
//! // Each condition with the values it compared:
//! assert_eq!(&*finding.trace[2].condition, "buy.buyer == inv.investee");
//! assert_eq!(finding.trace[2].operands[0].value, Some(Value::symbol("OpenAI")));
//! // Renderers turn the report into text, JSON...
//! let text = dealrules::report::text(&report, engine.sources(), dealrules::Colour::Never);
//! assert!(text.starts_with("HIGH vendor_financing"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod check;
pub mod diag;
pub mod diff;
pub mod eval;
pub mod explain;
pub mod facts;
pub mod files;
pub mod format;
pub mod hash;
pub mod ide;
pub mod input;
pub mod ir;
pub mod report;
pub mod ruletest;
pub mod schema;
pub mod syntax;
pub mod value;

pub use diag::{Colour, Diagnostic, Level, Location, SourceMap, Span};
pub use explain::{
    Binding, Conversion, DataGap, EvalError, Finding, MissingField, Operand, TraceStep,
};
pub use facts::{Fact, FactBase, FactView, FieldsView};
pub use syntax::{FactKind, Severity};
pub use value::{Money, Quantity, SymbolId, Value, ValueError};

use std::sync::Arc;

/// Input that could not be loaded or checked: every diagnostic found, not only the first.
#[derive(Debug, thiserror::Error)]
#[error("{} error(s) in the input", self.errors().count())]
pub struct LoadError {
    /// All diagnostics, errors and warnings, in the order they were found.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    /// The diagnostics that are errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }
}

/// The rules loaded into an engine, in load order.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    rules: Vec<syntax::RuleDecl>,
}

impl RuleSet {
    /// The rule declarations.
    pub fn iter(&self) -> impl Iterator<Item = &syntax::RuleDecl> {
        self.rules.iter()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The answer of [`Engine::why`].
#[derive(Clone, Debug)]
pub struct Why {
    /// The rule id.
    pub rule: value::Name,
    /// The rule title.
    pub title: String,
    /// The rule severity.
    pub severity: Severity,
    /// Where the rule is declared.
    pub rule_span: Span,
    /// How many bindings were given (the others were searched).
    pub given: usize,
    /// The bindings, conditions and finding.
    pub answer: eval::WhyAnswer,
}

/// An error for a name declared a second time, pointing at both declarations.
fn declared_twice(message: String, again: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        diag::Code::DeclaredTwice,
        message,
        again,
        "declared again here",
    )
    .with_label(first, "first declared here")
}

/// The result of one evaluation.
#[derive(Debug, Default)]
pub struct Report {
    /// Findings sorted by severity (most serious first), rule id, then fingerprint.
    pub findings: Vec<Finding>,
    /// Rule evaluations that failed on some facts (currency mismatch, division by zero...).
    pub errors: Vec<EvalError>,
    /// Rules that could not be checked on some facts because a field is missing, sorted by rule
    /// id and bound facts.
    pub data_gaps: Vec<DataGap>,
    /// Warnings from checking the rules.
    pub warnings: Vec<Diagnostic>,
    /// Number of rules evaluated.
    pub rules: usize,
    /// Number of facts (entities and deals) evaluated.
    pub facts: usize,
}

impl Report {
    /// The most serious severity among the findings, if any.
    pub fn max_severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).min()
    }
}

/// The checked program ([`Engine::checked_with`]): the facts with derived rows, the checked
/// rules with their positions among the rules, warnings, the evaluation errors of deriving,
/// and the results of the rules evaluated early.
struct CheckedAt<'a> {
    facts: std::borrow::Cow<'a, FactBase>,
    rules: Vec<(usize, check::CheckedRule)>,
    diags: Vec<Diagnostic>,
    errors: Vec<EvalError>,
    /// The results of the rules evaluated early, by position.
    early: Vec<(usize, eval::RuleResults)>,
}

/// A rule that reads no derived relation, checked against the loaded facts (and evaluated over
/// them when `results` is set) while relations are derived.
struct EarlyCheck {
    /// Its position among the rules.
    at: usize,
    rule: Option<check::CheckedRule>,
    diags: Vec<Diagnostic>,
    results: Option<eval::RuleResults>,
}

/// The text of a file being loaded: shared with the caller, or given to the engine.
enum Given {
    Shared(Arc<str>),
    Owned(String),
}

impl Given {
    fn as_str(&self) -> &str {
        match self {
            Given::Shared(text) => text,
            Given::Owned(text) => text,
        }
    }

    /// Gives the text, read, to `sources` as `file`: a large one is kept compressed.
    fn keep(self, sources: &mut SourceMap, file: diag::FileId, parallel: bool) {
        match self {
            Given::Shared(_) => sources.pack(file, parallel),
            Given::Owned(text) => sources.set_read(file, text, parallel),
        }
    }
}

/// One thread per core, as the system reports it (1 if it cannot tell).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Loads rules and facts, evaluates, and returns explained findings.
///
/// Cloning an engine copies its rules and facts (the source texts are shared), so that each
/// test of [`ruletest`] can add its own facts to the same rules.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    sources: SourceMap,
    facts: FactBase,
    rules: RuleSet,
    budgets: eval::Budgets,
    params: check::ParamOverrides,
    relations: indexmap::IndexMap<value::Name, syntax::RelationDecl>,
    derives: Vec<syntax::DeriveDecl>,
    schema: schema::Schema,
    tests: Vec<syntax::TestDecl>,
    /// The pack's settings (`defaults { ... }`), merged over the loaded files.
    defaults: check::PackDefaults,
    /// Threads that evaluate rules; `None` for one per core.
    threads: Option<usize>,
    /// The field names and symbols read from deal files, each stored once.
    names: value::Interner,
    /// What checking the facts against the schema found ([`Engine::validated`]), kept until a
    /// fact or a schema declaration is added: a host evaluating again after changing only
    /// parameters or budgets does not check every fact again.
    validated: std::sync::OnceLock<Vec<Diagnostic>>,
}

impl Engine {
    /// The facts and rules to evaluate: with derived relations and cycles, a copy of the facts
    /// extended with their rows, and the rules with cycle patterns rewritten to range over them.
    fn prepare(
        &self,
        diags: &mut Vec<Diagnostic>,
        errors: &mut Vec<EvalError>,
    ) -> Result<
        (
            std::borrow::Cow<'_, FactBase>,
            std::borrow::Cow<'_, [syntax::RuleDecl]>,
        ),
        LoadError,
    > {
        use std::borrow::Cow;
        let cycles = self
            .rules
            .iter()
            .any(|r| r.patterns.iter().any(|p| p.cycle.is_some()));
        if self.derives.is_empty() && self.relations.is_empty() && !cycles {
            return Ok((Cow::Borrowed(&self.facts), Cow::Borrowed(&self.rules.rules)));
        }
        let mut facts = eval::derive::derive_all(
            &self.facts,
            &self.relations,
            &self.derives,
            &self.schema,
            &self.sources,
            &self.defaults,
            self.budgets,
            self.threads.unwrap_or_else(cores),
            diags,
            errors,
        );
        let mut rules = self.rules.rules.clone();
        if !diags.iter().any(|d| d.level == Level::Error) {
            eval::derive::materialize_cycles(
                &mut facts,
                &mut rules,
                &self.schema,
                &self.sources,
                self.budgets,
                diags,
                errors,
            );
        }
        if diags.iter().any(|d| d.level == Level::Error) {
            return Err(LoadError {
                diagnostics: std::mem::take(diags),
            });
        }
        Ok((Cow::Owned(facts), Cow::Owned(rules)))
    }

    /// The rows of relation `relation` with `from` and `to` columns, as the edges of a graph
    /// (the flow model of the rule pack: `relation flow(from: entity, to: entity, ...)`).
    ///
    /// # Errors
    /// [`LoadError`] when the relation is not declared, or the rules do not check.
    pub fn graph_edges(&self, relation: &str) -> Result<Vec<explain::Edge>, LoadError> {
        if !self.relations.contains_key(relation) {
            let help = diag::did_you_mean(relation, self.relations.keys().map(|k| &**k))
                .or(Some("load the rule files that declare it (the pack's `rules/flows.rules` declares `flow`)".into()));
            return Err(LoadError {
                diagnostics: vec![Diagnostic {
                    level: Level::Error,
                    code: diag::Code::BadOption,
                    message: format!("no relation `{relation}` is declared"),
                    labels: Vec::new(),
                    help,
                }],
            });
        }
        let mut diags = Vec::new();
        let mut errors = Vec::new();
        let (facts, _) = self.prepare(&mut diags, &mut errors)?;
        let kind = FactKind::Row(std::sync::Arc::from(relation));
        Ok(facts
            .iter()
            .filter(|(_, f)| *f.kind() == kind)
            .filter_map(|(_, f)| {
                Some(explain::Edge {
                    from: f.get("from")?.to_string(),
                    to: f.get("to")?.to_string(),
                    deal: f.get("deal").map(ToString::to_string),
                    amount: f.get("amount").cloned(),
                })
            })
            .collect())
    }

    /// Errors for overrides that name no loaded rule or no parameter of that rule.
    fn check_overrides(&self) -> Vec<Diagnostic> {
        let mut diags = Vec::new();
        for (rule, params) in &self.params {
            let Some(decl) = self.rules.iter().find(|r| r.id.name == *rule) else {
                let mut d = Diagnostic::error(
                    diag::Code::BadOption,
                    format!("`--set`: no rule `{rule}` is loaded"),
                    Span::none(),
                    "",
                );
                d.labels.clear();
                d.help = diag::did_you_mean(rule, self.rules.iter().map(|r| &*r.id.name));
                diags.push(d);
                continue;
            };
            for (name, given) in params {
                // A value of another type than the default would only fail (or never fire)
                // inside the rule: say so here, about `--set`.
                if let Some(p) = decl.params.iter().find(|p| p.name.name == *name) {
                    let (want, got) = (
                        schema::Type::of_value(&p.value),
                        schema::Type::of_value(given),
                    );
                    let percent_as_number =
                        matches!((&p.value, given), (Value::Percent(_), Value::Number(_)));
                    if !want.comparable(&got) || percent_as_number {
                        let mut d = Diagnostic::error(
                            diag::Code::BadOption,
                            format!(
                                "`--set`: `{rule}.{name}` is {want} (default `{}`), not {}",
                                p.value,
                                given.describe()
                            ),
                            Span::none(),
                            "",
                        )
                        .with_label(p.value_span, "the default");
                        d.labels.remove(0);
                        d.help = Some(if percent_as_number {
                            format!("write a percentage: `{rule}.{name}={given}%`")
                        } else {
                            format!("give a value like the default: `{rule}.{name}={}`", p.value)
                        });
                        diags.push(d);
                    }
                    continue;
                }
                {
                    let mut d = Diagnostic::error(
                        diag::Code::BadOption,
                        format!("`--set`: rule `{rule}` has no parameter `{name}`"),
                        Span::none(),
                        "",
                    );
                    d.labels.clear();
                    let names: Vec<&str> = decl.params.iter().map(|p| &*p.name.name).collect();
                    d.help = diag::did_you_mean(name, names.iter().copied()).or_else(|| {
                        if names.is_empty() {
                            Some(format!("rule `{rule}` has no parameters"))
                        } else {
                            Some(format!("its parameters are: {}", names.join(", ")))
                        }
                    });
                    diags.push(d);
                }
            }
        }
        diags
    }

    /// Explains why rule `rule` does or does not fire on the given facts: `given` names facts
    /// for some bindings (`("inv", "nvidia_openai_loi")`), or in binding order with an empty
    /// binding name. Bindings not given range over all facts of their kind, and the closest
    /// combination is explained.
    ///
    /// # Errors
    /// [`LoadError`] for an unknown rule, binding or fact, a fact of the wrong kind, more facts
    /// than bindings, facts that do not fit the schema, or a rule that does not check.
    pub fn why(&self, rule: &str, given: &[(&str, &str)]) -> Result<Why, LoadError> {
        let plain = |message: String, help: Option<String>| LoadError {
            diagnostics: vec![Diagnostic {
                level: Level::Error,
                code: diag::Code::BadOption,
                message,
                labels: Vec::new(),
                help,
            }],
        };
        let mut diags = self.validated().to_vec();
        if diags.iter().any(|d| d.level == Level::Error) {
            diag::sort(&mut diags);
            return Err(LoadError { diagnostics: diags });
        }
        let mut errors = Vec::new();
        let (facts, rules) = self.prepare(&mut diags, &mut errors)?;
        let facts: &FactBase = &facts;
        let Some(decl) = rules.iter().find(|r| &*r.id.name == rule) else {
            let help = diag::did_you_mean(rule, self.rules.iter().map(|r| &*r.id.name));
            return Err(plain(format!("no rule `{rule}` is loaded"), help));
        };
        let (checked, diags) = check::check_rule_in_pack(
            decl,
            facts,
            &self.schema,
            &self.sources,
            &self.params,
            &self.defaults,
        );
        let Some(checked) = checked else {
            return Err(LoadError { diagnostics: diags });
        };
        let mut bound: Vec<Option<facts::FactIndex>> = vec![None; checked.vars.len()];
        let mut next = 0;
        for (var, fact) in given {
            let Some(f) = self.facts.find(fact) else {
                let ids: Vec<value::Name> = self
                    .facts
                    .iter()
                    .map(|(_, f)| f.id().into_owned())
                    .collect();
                let help = diag::did_you_mean(fact, ids.iter().map(|n| &**n));
                return Err(plain(format!("no fact `{fact}` is loaded"), help));
            };
            let slot = if var.is_empty() {
                while bound.get(next).is_some_and(Option::is_some) {
                    next += 1;
                }
                next
            } else {
                let names: Vec<&str> = checked.vars.iter().map(|v| &*v.name).collect();
                let Some(i) = names.iter().position(|n| n == var) else {
                    let help = diag::did_you_mean(var, names.iter().copied()).or_else(|| {
                        Some(format!(
                            "the bindings of `{rule}` are: {}",
                            names.join(", ")
                        ))
                    });
                    return Err(plain(format!("rule `{rule}` has no binding `{var}`"), help));
                };
                i
            };
            let Some(v) = checked.vars.get(slot) else {
                return Err(plain(
                    format!(
                        "rule `{rule}` has {} binding(s); more facts were given",
                        checked.vars.len()
                    ),
                    None,
                ));
            };
            let kind = self.facts.get(f).map(|x| x.kind().clone());
            if kind.as_ref() != Some(&v.kind) {
                return Err(plain(
                    format!(
                        "`{fact}` is not a {}, but binding `{}` of `{rule}` ranges over {}s",
                        v.kind.keyword(),
                        v.name,
                        v.kind.keyword()
                    ),
                    None,
                ));
            }
            if let Some(s) = bound.get_mut(slot) {
                *s = Some(f);
            }
        }
        let answer = eval::why(&checked, facts, &bound).ok_or_else(|| {
            plain(
                format!("no loaded fact can fill the bindings of `{rule}`"),
                None,
            )
        })?;
        Ok(Why {
            rule: checked.id.clone(),
            title: checked.title.clone(),
            severity: checked.severity,
            rule_span: checked.span,
            given: bound.iter().filter(|b| b.is_some()).count(),
            answer,
        })
    }

    /// An empty engine.
    pub fn new() -> Self {
        Engine::default()
    }

    /// The diagnostics of checking the facts against the schema ([`schema::Schema::validate`]),
    /// worked out once for the facts and schema as they are: every method that adds a fact or a
    /// declaration forgets them ([`Engine::changed`]).
    fn validated(&self) -> &[Diagnostic] {
        self.validated.get_or_init(|| {
            let mut diags = Vec::new();
            self.schema.validate(&self.facts, &mut diags);
            diags
        })
    }

    /// Forgets what depends on the facts and the schema, before either changes.
    fn changed(&mut self) {
        self.validated = std::sync::OnceLock::new();
    }

    /// Parses `text` (a deal file, a rule file, or both kinds of declaration) under the file
    /// name `name` (used in locations) and adds its entities, deals and rules.
    ///
    /// Every declaration that is valid is kept, even when others in the same file are not. A
    /// text of 4 MiB or more is read on the threads set by [`Engine::set_threads`], with the
    /// same result as on one. A text of 1 MiB or more ([`diag::PACK_MIN_BYTES`]) is kept
    /// compressed once read ([`SourceMap::pack`]); locations and snippets read the same.
    ///
    /// # Errors
    /// [`LoadError`] with every syntax error, bad literal, duplicate id or duplicate field.
    pub fn load(
        &mut self,
        name: impl Into<String>,
        text: impl Into<Arc<str>>,
    ) -> Result<(), LoadError> {
        self.load_with(name, Given::Shared(text.into()), Self::add_item)
    }

    /// [`Engine::load`] of a text the engine may own: a large one is compressed once read, its
    /// memory given back as it goes ([`diag::SourceMap::set_read`]).
    pub(crate) fn load_owned(
        &mut self,
        name: impl Into<String>,
        text: String,
    ) -> Result<(), LoadError> {
        self.load_with(name, Given::Owned(text), Self::add_item)
    }

    /// Parses `text` under the file name `name` and hands each declaration to `add`, but for
    /// entities and deals, which are always added as facts; every diagnostic is collected.
    fn load_with(
        &mut self,
        name: impl Into<String>,
        given: Given,
        mut add: impl FnMut(&mut Self, syntax::Item, &mut Vec<Diagnostic>),
    ) -> Result<(), LoadError> {
        self.changed();
        let file = match &given {
            Given::Shared(text) => self.sources.add(name, text.clone()),
            Given::Owned(_) => self.sources.add_reading(name),
        };
        let text = given.as_str();
        let mut diags = Vec::new();
        let threads = self.threads.unwrap_or_else(cores);
        if threads > 1 && text.len() >= syntax::chunked::CHUNKED_MIN_BYTES {
            // Entities and deals are read and converted on every core; they are added here, in
            // file order, after their names are shared with those read before.
            let chunks = syntax::chunked::Chunks::new(threads);
            let fact_of = |decl: syntax::FactDecl| {
                let mut diags = Vec::new();
                (Fact::from_owned_decl(decl, &mut diags), diags)
            };
            // The buffers of cells emptied into the fact base's tables here go back to the
            // reading threads, which fill them again, instead of being freed on this thread.
            let spare = facts::SpareCells::default();
            let mut emptied = Vec::new();
            let convert = |decl: syntax::FactDecl, shapes: &mut facts::Shapes| {
                let mut diags = Vec::new();
                let cells = shapes.cells_for(decl.fields.len(), &spare);
                let mut fact = Fact::from_owned_decl_into(decl, &mut diags, cells);
                fact.fields.share_shape(shapes);
                (fact, diags)
            };
            let mut lists = facts::SharedLists::default();
            syntax::chunked::parse_each_chunked(
                file,
                text,
                chunks,
                &mut diags,
                &convert,
                &mut |parsed, diags| {
                    let (mut fact, fact_diags) = match parsed {
                        syntax::chunked::Parsed::Converted(converted) => converted,
                        syntax::chunked::Parsed::Item(syntax::Item::Fact(decl)) => fact_of(decl),
                        syntax::chunked::Parsed::Item(item) => return add(self, item, diags),
                    };
                    diags.extend(fact_diags);
                    fact.fields.intern_names(&mut self.names, &mut lists);
                    if let Err(d) = self.facts.add_emptying(fact, Some(&mut emptied)) {
                        diags.push(*d);
                    }
                    spare.give(&mut emptied);
                },
            );
        } else {
            let mut names = std::mem::take(&mut self.names);
            syntax::parse_each(file, text, &mut names, &mut diags, &mut |item, diags| {
                add(self, item, diags)
            });
            self.names = names;
        }
        // Read: a large text is kept compressed from now on.
        given.keep(&mut self.sources, file, threads > 1);
        if diags.iter().any(|d| d.level == Level::Error) {
            Err(LoadError { diagnostics: diags })
        } else {
            Ok(())
        }
    }

    /// Adds one declaration of a deal or rule file.
    fn add_item(&mut self, item: syntax::Item, diags: &mut Vec<Diagnostic>) {
        match item {
            syntax::Item::Fact(decl) => self.add_fact_decl(decl, diags),
            syntax::Item::Fx(fx) => self.add_fx_decl(fx, diags),
            syntax::Item::Test(test) => {
                if let Some(first) = self.tests.iter().find(|t| t.name.name == test.name.name) {
                    let what = format!("test `{}` is declared twice", test.name.name);
                    diags.push(declared_twice(what, test.name.span, first.name.span));
                    return;
                }
                self.tests.push(*test);
            }
            syntax::Item::Relation(r) => {
                if let Some(first) = self.relations.get(&r.name.name) {
                    let what = format!("relation `{}` is declared twice", r.name.name);
                    diags.push(declared_twice(what, r.name.span, first.name.span));
                    return;
                }
                let columns = r
                    .columns
                    .iter()
                    .map(|(c, t)| {
                        let ty = schema::Type::of_column(&t.name).unwrap_or(schema::Type::Any);
                        (c.name.clone(), ty)
                    })
                    .collect();
                self.schema.relations.insert(r.name.name.clone(), columns);
                self.relations.insert(r.name.name.clone(), r);
            }
            syntax::Item::Derive(d) => self.derives.push(*d),
            syntax::Item::Schema(s) => self.schema.add(&s, diags),
            syntax::Item::Defaults(d) => self.add_defaults(d, diags),
            syntax::Item::Rule(rule) => {
                if let Some(first) = self.rules.rules.iter().find(|r| r.id.name == rule.id.name) {
                    let what = format!("duplicate rule id `{}`", rule.id.name);
                    diags.push(declared_twice(what, rule.id.span, first.id.span));
                    return;
                }
                self.rules.rules.push(*rule);
            }
        }
    }

    /// Adds the settings of a `defaults` declaration to the pack's. A run has one value per
    /// setting: the same value declared again is accepted, a different one is an error located
    /// at both declarations.
    fn add_defaults(&mut self, d: syntax::DefaultsDecl, diags: &mut Vec<Diagnostic>) {
        let pack = &mut self.defaults;
        for (name, slot, given) in [
            ("timezone", &mut pack.timezone, d.timezone),
            (
                "fiscal_year_end",
                &mut pack.fiscal_year_end,
                d.fiscal_year_end,
            ),
        ] {
            let Some(given) = given else { continue };
            match slot {
                None => *slot = Some(given),
                Some(first) if first.text == given.text => {}
                Some(first) => diags.push(
                    Diagnostic::error(
                        diag::Code::DeclaredTwice,
                        format!(
                            "the pack's `{name}` is declared twice, as `{}` and as `{}`",
                            first.text, given.text
                        ),
                        given.span,
                        "declared again here",
                    )
                    .with_label(first.span, "first declared here")
                    .with_help(format!(
                        "the rules loaded together share one `defaults`; keep one `{name}`, and \
                         set `{name}:` in the rules that need another"
                    )),
                ),
            }
        }
    }

    /// The settings of the rule pack (`defaults { ... }`) that rules and derives take when they
    /// do not set their own.
    pub fn defaults(&self) -> &check::PackDefaults {
        &self.defaults
    }

    /// Parses `text` as [`Engine::load`] does, but accepts only entities, deals, exchange
    /// rates and schema declarations: the facts a test is given from a file (`given
    /// "deals.deals"`), and the schema extension that describes them.
    ///
    /// # Errors
    /// [`LoadError`] as for [`Engine::load`], and for any rule, relation, derive rule or test in
    /// the text.
    pub fn load_facts(
        &mut self,
        name: impl Into<String>,
        text: impl Into<Arc<str>>,
    ) -> Result<(), LoadError> {
        self.load_with(
            name,
            Given::Shared(text.into()),
            |this, item, diags| match item {
                syntax::Item::Fact(decl) => this.add_fact_decl(decl, diags),
                syntax::Item::Fx(fx) => this.add_fx_decl(fx, diags),
                syntax::Item::Schema(s) => this.schema.add(&s, diags),
                other => diags.push(
                    Diagnostic::error(
                        diag::Code::BadTest,
                        "a file given to a test may hold only entities, deals, exchange rates and \
                         schema declarations",
                        other.span(),
                        "not a fact",
                    )
                    .with_help("name rule files on the command line of `dealrules test`"),
                ),
            },
        )
    }

    /// Adds the facts and exchange rates written in a test's `given { ... }` block (already
    /// parsed with the test's file).
    ///
    /// # Errors
    /// [`LoadError`] for a duplicate id, a field written twice, or a second rate for a pair.
    pub fn add_given(
        &mut self,
        facts: &[syntax::FactDecl],
        rates: &[syntax::FxDecl],
    ) -> Result<(), LoadError> {
        self.changed();
        let mut diags = Vec::new();
        for decl in facts {
            self.add_fact_decl(decl.clone(), &mut diags);
        }
        for fx in rates {
            self.add_fx_decl(fx.clone(), &mut diags);
        }
        if diags.iter().any(|d| d.level == Level::Error) {
            Err(LoadError { diagnostics: diags })
        } else {
            Ok(())
        }
    }

    fn add_fact_decl(&mut self, decl: syntax::FactDecl, diags: &mut Vec<Diagnostic>) {
        let fact = Fact::from_owned_decl(decl, diags);
        if let Err(d) = self.facts.add(fact) {
            diags.push(*d);
        }
    }

    fn add_fx_decl(&mut self, fx: syntax::FxDecl, diags: &mut Vec<Diagnostic>) {
        if let Err(d) = self.facts.add_fx(fx) {
            diags.push(*d);
        }
    }

    /// The tests loaded (`test` declarations), in load order. [`Engine::evaluate`] never runs
    /// them; see [`ruletest`].
    pub fn tests(&self) -> &[syntax::TestDecl] {
        &self.tests
    }

    /// Adds a fact built in code.
    ///
    /// # Errors
    /// [`LoadError`] when a fact with the same id exists.
    pub fn add_fact(&mut self, fact: Fact) -> Result<(), LoadError> {
        self.changed();
        self.facts.add(fact).map(|_| ()).map_err(|d| LoadError {
            diagnostics: vec![*d],
        })
    }

    /// Sets how many threads load deal files and evaluate rules. A file of
    /// 4 MiB or more is read in chunks of 1 MiB on every thread (the calling one included), and
    /// its facts are added on the calling thread in file order; independent rules run in
    /// parallel, one rule per thread at a time, and within a rule the rows of a derive round,
    /// the candidates of a binding whose conditions hold a sub-query, the filtering and keys
    /// of a sub-query over 16,384 facts or more, and the grouping of a join index of 32,768
    /// candidates or more are split across the threads. `None` (the
    /// default) uses one thread per core
    /// (`std::thread::available_parallelism`); `Some(1)` loads and evaluates on the calling
    /// thread. The facts, diagnostics and report are the same, byte for byte, whatever the
    /// number of threads: each rule's results are merged in rule order before sorting.
    pub fn set_threads(&mut self, threads: Option<usize>) {
        self.threads = threads.map(|n| n.max(1));
    }

    /// Sets the limits on the work of each rule (see [`eval::Budgets`] for the defaults).
    pub fn set_budgets(&mut self, budgets: eval::Budgets) {
        self.budgets = budgets;
    }

    /// Overrides parameter `param` of rule `rule` for the next evaluations (`--set
    /// rule.param=value`). An unknown rule or parameter is reported by [`Engine::evaluate`].
    pub fn set_param(&mut self, rule: &str, param: &str, value: Value) {
        self.params
            .entry(Arc::from(rule))
            .or_default()
            .insert(Arc::from(param), value);
    }

    /// The loaded source files (to resolve spans to `file:line:column`).
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// The loaded facts.
    pub fn facts(&self) -> &FactBase {
        &self.facts
    }

    /// The loaded rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The schema declared by the loaded files (deal kinds, entity types, their fields).
    pub fn schema(&self) -> &schema::Schema {
        &self.schema
    }

    /// Checks the whole program without evaluating any rule: the facts against the schema, and
    /// every rule (names, field paths, types and dimensions). Returns every diagnostic, errors
    /// and warnings, sorted by file and position. The program can be evaluated when none is an
    /// error.
    pub fn check(&self) -> Vec<Diagnostic> {
        let mut diags = match self.checked_with(Vec::new) {
            Ok(c) => c.diags,
            Err(e) => e.diagnostics,
        };
        diag::sort(&mut diags);
        diags
    }

    /// The checked program: facts (with derived rows) and rules ready to evaluate, warnings,
    /// and the evaluation errors of deriving. Some rules may have been checked already, by
    /// `early` (against the loaded facts, as they read no derived relation; called once
    /// relations are derived): their checks are merged with the others in rule order. Each
    /// checked rule comes with its position, and the results of the rules `early` evaluated
    /// come too.
    fn checked_with(
        &self,
        early: impl FnOnce() -> Vec<EarlyCheck>,
    ) -> Result<CheckedAt<'_>, LoadError> {
        let mut diags = self.check_overrides();
        let mut errors = Vec::new();
        // Deriving stops at its own errors, not at those of the facts found below.
        let mut derive_diags = Vec::new();
        // The facts are checked against the schema while relations are derived, on two
        // threads when the engine may use them (the diagnostics are sorted below, so the result
        // is the same).
        let validate = |diags: &mut Vec<Diagnostic>| {
            diags.extend_from_slice(self.validated());
            self.currency_warnings(diags);
        };
        let mut prepare = || self.prepare(&mut derive_diags, &mut errors);
        let prepared = if self.threads.unwrap_or_else(cores) > 1 {
            let (prepared, ()) = rayon::join(prepare, || validate(&mut diags));
            prepared
        } else {
            validate(&mut diags);
            prepare()
        };
        let (facts, rules) = match prepared {
            Ok(p) => p,
            Err(e) => {
                diags.extend(e.diagnostics);
                diag::sort(&mut diags);
                return Err(LoadError { diagnostics: diags });
            }
        };
        diags.extend(derive_diags);
        let mut early = early().into_iter().peekable();
        let mut checked = Vec::new();
        let mut results = Vec::new();
        for (at, rule) in rules.iter().enumerate() {
            let (c, d) = match early.next_if(|e| e.at == at) {
                Some(e) => {
                    results.extend(e.results.map(|r| (at, r)));
                    (e.rule, e.diags)
                }
                None => check::check_rule_in_pack(
                    rule,
                    &facts,
                    &self.schema,
                    &self.sources,
                    &self.params,
                    &self.defaults,
                ),
            };
            diags.extend(d);
            checked.extend(c.map(|c| (at, c)));
        }
        diag::sort(&mut diags);
        if diags.iter().any(|d| d.level == Level::Error) {
            return Err(LoadError { diagnostics: diags });
        }
        Ok(CheckedAt {
            facts,
            rules: checked,
            diags,
            errors,
            early: results,
        })
    }

    /// Checks the rules at positions `early` (which read no derived relation) against the
    /// loaded facts, and evaluates them over those facts when none has an error, on `threads`
    /// threads.
    fn evaluate_early(
        &self,
        early: &[usize],
        threads: usize,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Vec<EarlyCheck> {
        let mut checks: Vec<EarlyCheck> = early
            .iter()
            .filter_map(|&at| {
                let rule = self.rules.rules.get(at)?;
                let (rule, diags) = check::check_rule_in_pack(
                    rule,
                    &self.facts,
                    &self.schema,
                    &self.sources,
                    &self.params,
                    &self.defaults,
                );
                Some(EarlyCheck {
                    at,
                    rule,
                    diags,
                    results: None,
                })
            })
            .collect();
        let failed = checks
            .iter()
            .any(|c| c.diags.iter().any(|d| d.level == Level::Error));
        if failed {
            return checks;
        }
        let rules: Vec<&check::CheckedRule> =
            checks.iter().filter_map(|c| c.rule.as_ref()).collect();
        let results = eval::run_rules_until(
            &rules,
            &self.facts,
            self.budgets,
            threads,
            &mut |_, _| {},
            stop,
        );
        let mut results = results.into_iter();
        for c in checks.iter_mut().filter(|c| c.rule.is_some()) {
            c.results = results.next();
        }
        checks
    }

    /// Warnings for amounts in two currencies that no exchange rate links: comparing them is an
    /// evaluation error.
    fn currency_warnings(&self, diags: &mut Vec<Diagnostic>) {
        let mut first: indexmap::IndexMap<value::Currency, Span> = indexmap::IndexMap::new();
        fn walk(v: &Value, span: Span, first: &mut indexmap::IndexMap<value::Currency, Span>) {
            match v {
                Value::Money(m) => {
                    first.entry(m.currency).or_insert(span);
                }
                Value::Quantity(Quantity {
                    unit: value::Unit::MoneyPer(c, _),
                    ..
                }) => {
                    first.entry(*c).or_insert(span);
                }
                Value::List(items) => items.iter().for_each(|i| walk(i, span, first)),
                Value::Record(fields) => fields.values().for_each(|i| walk(i, span, first)),
                _ => {}
            }
        }
        // The facts' currencies are gathered as they are added, not walked at every evaluation.
        first.extend(self.facts.currencies());
        for rule in self.rules.iter() {
            rule.visit_literals(&mut |v, span| walk(v, span, &mut first));
        }
        let currencies: Vec<(value::Currency, Span)> = first.into_iter().collect();
        for (i, (b, b_span)) in currencies.iter().enumerate() {
            for (a, a_span) in currencies.iter().take(i) {
                if self.facts.fx_rate(*a, *b).is_none() {
                    diags.push(
                        Diagnostic::warning(
                            diag::Code::CurrencyMix,
                            format!("amounts in {a} and in {b}, but no exchange rate between them"),
                            *b_span,
                            format!("first amount in {b}"),
                        )
                        .with_label(*a_span, format!("first amount in {a}"))
                        .with_help(format!(
                            "comparing or adding them is an evaluation error; declare a rate:                              `fx {a}/{b} RATE on DATE`"
                        )),
                    );
                }
            }
        }
    }

    /// Checks every rule against the loaded facts, then runs them all.
    ///
    /// Rules never change facts, so the result does not depend on rule order. Findings are
    /// sorted by severity, rule id and fingerprint: the same input gives the same report.
    ///
    /// # Errors
    /// [`LoadError`] when a rule does not check (unknown binding or function...); no rule is
    /// evaluated then.
    pub fn evaluate(&self) -> Result<Report, LoadError> {
        self.evaluate_with_progress(&mut |_, _| {})
    }

    /// [`Engine::evaluate`], calling `progress(done, total)` once before the first rule
    /// (`done` 0) and then each time a rule finishes (`total` is the number of rules, `done` the
    /// number finished: with several threads rules finish in any order), on the calling thread,
    /// so that a host can show progress on long runs.
    ///
    /// # Errors
    /// As [`Engine::evaluate`].
    pub fn evaluate_with_progress(
        &self,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Report, LoadError> {
        let threads = self.threads.unwrap_or_else(cores);
        // With several threads, the rules that read no derived relation are checked and
        // evaluated over the loaded facts while relations are derived (the loaded facts keep
        // their positions among the derived ones, so their findings are the same).
        let early: Vec<usize> = self
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.reads_relations())
            .map(|(i, _)| i)
            .collect();
        let overlap = threads > 1 && !early.is_empty() && early.len() < self.rules.len();
        let checked = if overlap {
            // Set when the program turns out not to check: the early rules not yet started are
            // skipped, since nothing will be evaluated.
            let stop = std::sync::atomic::AtomicBool::new(false);
            std::thread::scope(|scope| {
                let early = scope.spawn(|| self.evaluate_early(&early, threads, &stop));
                // A panic of the early rules is the engine's panic, as on one thread.
                let checked = self.checked_with(|| {
                    early
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p))
                });
                if checked.is_err() {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                checked
            })
        } else {
            self.checked_with(Vec::new)
        };
        let CheckedAt {
            facts,
            rules: checked,
            diags,
            errors,
            early: mut results,
        } = checked?;
        let facts: &FactBase = &facts;
        let mut report = Report {
            warnings: diags,
            rules: checked.len(),
            facts: self.facts.len(),
            errors,
            ..Report::default()
        };
        let total = checked.len();
        let ran = results.len();
        let (late_at, late): (Vec<usize>, Vec<check::CheckedRule>) = checked
            .into_iter()
            .filter(|(at, _)| results.binary_search_by_key(at, |(a, _)| *a).is_err())
            .unzip();
        // The rules evaluated early count as finished first, one by one.
        for done in 0..=ran {
            progress(done, total);
        }
        let late_results = eval::run_rules(&late, facts, self.budgets, threads, &mut |done, _| {
            if done > 0 {
                progress(ran + done, total);
            }
        });
        results.extend(late_at.into_iter().zip(late_results));
        // Merged in rule order, as one run over all the rules would give them.
        results.sort_by_key(|(at, _)| *at);
        let mut errors = eval::Distinct::new(&mut report.errors);
        for (_, r) in results {
            report.findings.extend(r.findings);
            report.data_gaps.extend(r.data_gaps);
            errors.extend(r.errors);
        }
        explain::sort(&mut report.findings);
        report.data_gaps.sort_by(|a, b| {
            let facts = |g: &DataGap| {
                g.bindings
                    .iter()
                    .map(|b| b.fact.clone())
                    .collect::<Vec<_>>()
            };
            a.rule.cmp(&b.rule).then_with(|| facts(a).cmp(&facts(b)))
        });
        report.errors.sort_by(|a, b| {
            a.rule
                .cmp(&b.rule)
                .then_with(|| (a.span.file, a.span.start).cmp(&(b.span.file, b.span.start)))
        });
        Ok(report)
    }
}
