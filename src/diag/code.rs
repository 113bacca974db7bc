//! Diagnostic codes: a stable identifier for each kind of mistake, listed with an example in
//! `docs/diagnostics.md`. Errors are `E0xx` (the input cannot be used; exit code 2), warnings
//! `W0xx` (suspicious but usable; `--deny-warnings` makes them fail).

use std::fmt;

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $text:literal, $summary:literal; )*) => {
        /// The code of a [`Diagnostic`](super::Diagnostic).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( $(#[$doc])* $name, )*
        }

        impl Code {
            /// Every code, in order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The code as written in messages (`E021`).
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$name => $text,)* }
            }

            /// What the code means, in a few words.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$name => $summary,)* }
            }
        }
    };
}

codes! {
    /// The text does not follow the grammar.
    Syntax = "E001", "syntax error";
    /// A file over the size limit.
    FileTooLarge = "E002", "file too large";
    /// Nesting, operator or path length over its limit.
    TooComplex = "E003", "expression or value too deep or too long";
    /// A number, unit, currency, date or string that cannot be read.
    BadLiteral = "E004", "invalid literal";
    /// A reserved word used as an id.
    ReservedId = "E005", "reserved word used as an id";
    /// The same field twice in one declaration.
    DuplicateField = "E006", "field given twice";
    /// Two facts with the same id.
    DuplicateId = "E007", "duplicate id";
    /// Two rules, relations or parameters with the same name.
    DeclaredTwice = "E008", "declared twice";
    /// A rule setting that is unknown, repeated, missing or of the wrong shape.
    RuleSetting = "E009", "invalid rule setting";
    /// A bad exchange rate declaration.
    BadFx = "E010", "invalid exchange rate";
    /// A CSV or JSON fact file that cannot be read.
    BadInput = "E011", "invalid CSV or JSON input";
    /// A file the formatter cannot safely rewrite.
    Unformattable = "E012", "cannot format safely";
    /// A command-line setting that names something that does not exist.
    BadOption = "E013", "invalid command-line setting";
    /// A deal kind or entity type that no schema declares.
    UnknownKind = "E020", "unknown deal kind or entity type";
    /// A field that the schema of its kind does not declare.
    UnknownField = "E021", "unknown field";
    /// A value of the wrong type or dimension.
    WrongType = "E022", "wrong type";
    /// A required field that is missing.
    MissingField = "E023", "missing required field";
    /// A reference to an entity or deal that is not declared.
    UnknownReference = "E024", "reference to an undeclared entity or deal";
    /// A symbol outside the values its field allows.
    NotInEnum = "E025", "value not allowed";
    /// A schema field declared twice.
    SchemaConflict = "E026", "schema field declared twice";
    /// An unknown type name in a schema or relation.
    UnknownType = "E027", "unknown type";
    /// A name in a rule that is not a binding.
    UnknownBinding = "E030", "unknown binding";
    /// An unknown function, or the wrong number of arguments.
    BadCall = "E031", "invalid function call";
    /// A name bound twice in one rule.
    NameInUse = "E032", "name bound twice";
    /// A field path in a rule that the schema does not declare.
    UnknownRuleField = "E033", "unknown field in a rule";
    /// Operands of a comparison that can never be compared (money and GW).
    IncomparableTypes = "E034", "incomparable operands";
    /// Operands of arithmetic that do not go together (money plus a date).
    BadArithmetic = "E035", "invalid arithmetic";
    /// A symbol compared with a field that can never hold it.
    UnknownSymbol = "E036", "symbol the field never holds";
    /// Too many bindings in one rule.
    TooManyBindings = "E037", "too many bindings";
    /// A relation that is not declared, or a derive of the wrong arity.
    BadRelation = "E038", "invalid relation or derive";
    /// Recursion through negation or an aggregate.
    UnstratifiedRecursion = "E039", "recursion through negation";
    /// A `test` block that cannot run: an unknown rule or fact, a bad `given` file.
    BadTest = "E040", "invalid test";
    /// A binding that nothing reads.
    UnusedBinding = "W001", "unused binding";
    /// A condition that is always true or always false.
    ConstantCondition = "W002", "condition always true or always false";
    /// Bindings that no condition links (a cartesian product).
    CartesianProduct = "W003", "unlinked bindings";
    /// Amounts in currencies with no exchange rate between them.
    CurrencyMix = "W004", "currencies without an exchange rate";
    /// A binding compared as a whole where a symbol was likely meant.
    BareBinding = "W005", "binding compared as a whole";
    /// A name that could be read two ways.
    AmbiguousName = "W006", "ambiguous name";
    /// A field that no loaded fact has (without a schema).
    UnseenField = "W007", "field no fact has";
    /// A condition inside `exists` or an aggregate that does not read its binding.
    DetachedCondition = "W008", "condition that does not read its binding";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
