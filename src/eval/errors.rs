//! Evaluation errors kept once each, in the order first raised.

use crate::explain::EvalError;
use crate::hash::FastHasher;
use std::hash::{BuildHasher, Hash, Hasher};

/// A list of evaluation errors to which an error is added only when no equal one is in it
/// already, so each is reported once, in the order first raised.
///
/// Beside the list sits a hash table of positions in it: adding an error costs a hash and, when
/// an error of the same hash is there, a comparison. Comparing every new error with all the
/// errors before it made 40,000 errors of one rule take over a minute.
pub(crate) struct Distinct<'v> {
    list: &'v mut Vec<EvalError>,
    /// The position in `list` of the first of each set of equal errors, by [`Distinct::hash`].
    index: hashbrown::HashTable<usize>,
    state: FastHasher,
}

impl<'v> Distinct<'v> {
    /// Errors added to `list`, which keeps the errors it holds (each indexed at its first
    /// position, as adding them one by one would find them).
    pub(crate) fn new(list: &'v mut Vec<EvalError>) -> Self {
        let mut distinct = Distinct {
            list,
            index: hashbrown::HashTable::new(),
            state: FastHasher::default(),
        };
        for at in 0..distinct.list.len() {
            distinct.index_at(at);
        }
        distinct
    }

    /// Adds `error` unless an equal error is in the list; `true` when it was added.
    pub(crate) fn push(&mut self, error: EvalError) -> bool {
        let hash = self.hash(&error);
        let list = &*self.list;
        if self
            .index
            .find(hash, |&at| list.get(at) == Some(&error))
            .is_some()
        {
            return false;
        }
        self.index.insert_unique(hash, self.list.len(), |&at| {
            self.list.get(at).map_or(0, |e| self.state.hash_one(Key(e)))
        });
        self.list.push(error);
        true
    }

    /// Adds `error` even when an equal one is in the list (a budget's stop, reported where it
    /// happened).
    pub(crate) fn push_anyway(&mut self, error: EvalError) {
        self.list.push(error);
        self.index_at(self.list.len() - 1);
    }

    /// Adds each error of `errors` that is not in the list, in order.
    pub(crate) fn extend(&mut self, errors: impl IntoIterator<Item = EvalError>) {
        for e in errors {
            self.push(e);
        }
    }

    /// Indexes the error at `at` unless an equal one is indexed.
    fn index_at(&mut self, at: usize) {
        let Some(error) = self.list.get(at) else {
            return;
        };
        let hash = self.hash(error);
        let list = &*self.list;
        if self
            .index
            .find(hash, |&i| list.get(i) == Some(error))
            .is_none()
        {
            let state = &self.state;
            self.index.insert_unique(hash, at, |&i| {
                list.get(i).map_or(0, |e| state.hash_one(Key(e)))
            });
        }
    }

    fn hash(&self, error: &EvalError) -> u64 {
        self.state.hash_one(Key(error))
    }
}

/// The parts of an error that its equality compares and that hash cheaply: the rule, the
/// expression, the message and the bound facts. Spans are left out: equality ignores them.
struct Key<'e>(&'e EvalError);

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let e = self.0;
        e.rule.hash(state);
        e.expr.hash(state);
        e.message.hash(state);
        for b in &e.bindings {
            b.var.hash(state);
            b.fact.hash(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;
    use crate::explain::Binding;
    use crate::syntax::FactKind;

    fn error(rule: &str, message: &str, facts: &[&str]) -> EvalError {
        EvalError {
            rule: rule.into(),
            span: Span::none(),
            expr: "a.x + b.y".into(),
            message: message.into(),
            bindings: facts
                .iter()
                .map(|f| Binding {
                    var: "a".into(),
                    fact: (*f).into(),
                    kind: FactKind::Deal,
                    span: Span::none(),
                })
                .collect(),
        }
    }

    #[test]
    fn each_error_is_kept_once_in_the_order_first_raised() {
        let mut list = vec![error("r", "m", &["x"]), error("r", "m", &["x"])];
        let mut d = Distinct::new(&mut list);
        assert!(!d.push(error("r", "m", &["x"])));
        assert!(d.push(error("r", "m", &["y"])));
        assert!(d.push(error("r", "n", &["x"])));
        assert!(d.push(error("s", "m", &["x"])));
        assert!(!d.push(error("r", "m", &["y"])));
        // Equality ignores where an error was written, and so does the index.
        let mut elsewhere = error("r", "m", &["y"]);
        elsewhere.span.start = 40;
        elsewhere.span.end = 52;
        if let Some(b) = elsewhere.bindings.first_mut() {
            b.span.start = 7;
        }
        assert!(!d.push(elsewhere));
        d.push_anyway(error("r", "n", &["x"]));
        d.extend([
            error("t", "m", &[]),
            error("r", "n", &["x"]),
            error("t", "m", &[]),
        ]);
        let got: Vec<_> = list
            .iter()
            .map(|e| {
                format!(
                    "{} {} {:?}",
                    e.rule,
                    e.message,
                    e.bindings.iter().map(|b| &*b.fact).collect::<Vec<_>>()
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                r#"r m ["x"]"#,
                r#"r m ["x"]"#,
                r#"r m ["y"]"#,
                r#"r n ["x"]"#,
                r#"s m ["x"]"#,
                r#"r n ["x"]"#,
                r#"t m []"#,
            ]
        );
    }

    #[test]
    fn many_errors_are_kept_as_a_search_of_the_list_keeps_them() {
        let raised: Vec<_> = (0..3000)
            .map(|i| {
                error(
                    "r",
                    &format!("m{}", i % 1000 % 7),
                    &[&format!("f{}", i % 1000)],
                )
            })
            .collect();
        let mut by_search: Vec<EvalError> = Vec::new();
        for e in &raised {
            if !by_search.contains(e) {
                by_search.push(e.clone());
            }
        }
        let mut list = Vec::new();
        Distinct::new(&mut list).extend(raised);
        assert_eq!(list.len(), 1000);
        assert_eq!(list, by_search);
    }
}
