//! Values: exact decimals, money, quantities with units, percentages, dates, text, names, lists
//! and records, with checked arithmetic and typed errors.
//!
//! Nothing here goes through `f64`. Arithmetic uses `rust_decimal`'s `checked_*` operations and
//! returns [`ValueError`] on overflow, division by zero, or operands that do not go together
//! (USD with CNY, USD with GW). Errors carry no location: the evaluator attaches one.

mod time;
mod unit;

pub use time::{
    Form, TimeError, Timestamp, month_day, unquoted_month_day, year_end_refused, zone,
    zone_suggestion, zones,
};

pub use unit::{
    CURRENCIES, CURRENCY_WORDS, Currency, Dimension, UNITS, Unit, UnitDef, UnitRef, all_spellings,
    find_unit,
};

use indexmap::IndexMap;
use rust_decimal::Decimal;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A name: an entity or deal id, a field name, or a symbol such as `investment`.
pub type Name = Arc<str>;

/// A calendar date without time zone (`2025-10-13`).
pub type Date = jiff::civil::Date;

/// Money: an exact amount in one currency. `ceiling` marks an `up to` amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Money {
    /// The amount in currency units (`100B USD` is `100000000000`).
    pub amount: Decimal,
    /// The ISO 4217 currency.
    pub currency: Currency,
    /// `true` for `up to` amounts: a ceiling, not committed money.
    pub ceiling: bool,
}

/// A quantity with a unit (`10 GW`, `160M shares`, `0.01 USD/share`). The amount is kept as
/// written; comparisons convert to the dimension's base unit exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// The amount in `unit`.
    pub amount: Decimal,
    /// The unit the amount is written in.
    pub unit: Unit,
    /// `true` for `up to` quantities.
    pub ceiling: bool,
}

/// A value of a fact field, a literal, or the result of an expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `true` or `false`.
    Bool(bool),
    /// An exact decimal without unit.
    Number(Decimal),
    /// A ratio written as a percentage: `10%` is stored as `0.1`.
    Percent(Decimal),
    /// Money in one currency.
    Money(Money),
    /// A quantity with a unit.
    Quantity(Quantity),
    /// A calendar date.
    Date(Date),
    /// An instant, with the offset or zone it was written with
    /// (`2026-03-01T10:00:00+08:00`, `2026-03-01T10:00 [Asia/Shanghai]`).
    Timestamp(Timestamp),
    /// Quoted text.
    Text(Arc<str>),
    /// A bare name: a symbol (`investment`) or a reference to an entity or deal (`Nvidia`),
    /// with its number in the fact base the value belongs to, if any (a join compares these
    /// numbers; two symbols are equal when their names are, whatever their numbers).
    Symbol(Name, SymbolId),
    /// `[a, b]`, shared: copying a list value does not copy its items.
    List(Arc<[Value]>),
    /// `{ field: value ... }`, in written order, shared as a list is.
    Record(Arc<IndexMap<Name, Value>>),
}

/// The number of a symbol in a [`FactBase`](crate::FactBase): every symbol value of a fact
/// added to a fact base gets the number of its text there, so that a join key or a reference
/// to an entity is read without looking the text up. Only a fact base gives numbers; a symbol
/// made anywhere else has [`SymbolId::NONE`].
///
/// The number is a cache, not part of the value: two `SymbolId`s are always equal and hash
/// alike, so two symbols compare by their names only.
#[derive(Clone, Copy)]
pub struct SymbolId(u32);

impl Default for SymbolId {
    /// [`SymbolId::NONE`].
    fn default() -> Self {
        SymbolId::NONE
    }
}

impl SymbolId {
    /// No number: the symbol is not in a fact base, or its number is not known.
    pub const NONE: SymbolId = SymbolId(u32::MAX);

    /// The number `n` (`u32::MAX` is [`SymbolId::NONE`]).
    pub(crate) fn new(n: u32) -> SymbolId {
        SymbolId(n)
    }

    /// The number, if there is one.
    pub fn get(self) -> Option<u32> {
        (self.0 != u32::MAX).then_some(self.0)
    }
}

impl PartialEq for SymbolId {
    fn eq(&self, _: &SymbolId) -> bool {
        true
    }
}

impl Eq for SymbolId {}

impl std::hash::Hash for SymbolId {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl std::fmt::Debug for SymbolId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.get() {
            Some(n) => write!(f, "#{n}"),
            None => f.write_str("#none"),
        }
    }
}

/// Names stored once: each distinct text is one shared `Arc`, so that the field names of a
/// million facts cost one allocation each, not one per occurrence, and the same name read twice
/// is the very same `Arc` (which [`FactBase`](crate::FactBase) uses to place a fact's fields
/// without looking each name up). Symbol values are not kept here: the fact base stores each
/// once, with its number, when the fact is added.
#[derive(Clone, Debug, Default)]
pub struct Interner {
    names: crate::hash::FastSet<Name>,
    /// The name last interned at each position of a declaration ([`Interner::intern_at`]).
    recent: Vec<Name>,
    /// The text of the symbol value last read at each position ([`Interner::symbol_at`]).
    recent_symbols: Vec<Name>,
}

/// Positions remembered by [`Interner::intern_at`].
const MAX_RECENT: usize = 64;

/// Keeps `name` as the last one read at `position` of a declaration (below [`MAX_RECENT`]).
fn remember(recent: &mut Vec<Name>, position: usize, name: &Name) {
    if position >= MAX_RECENT {
        return;
    }
    if recent.len() <= position {
        recent.resize(position + 1, name.clone());
    }
    if let Some(slot) = recent.get_mut(position) {
        *slot = name.clone();
    }
}

impl Interner {
    /// The shared name with text `text`, made on first sight. `text` must already be in the
    /// form names are compared in (NFC, as the readers make it).
    pub fn intern(&mut self, text: &str) -> Name {
        if let Some(name) = self.names.get(text) {
            return name.clone();
        }
        let name: Name = Arc::from(text);
        self.names.insert(name.clone());
        name
    }

    /// The text of a symbol value read at `position` in a declaration: the same `Arc` as the
    /// last one read there when the text is the same (a deal's kind or status, which the next
    /// deal often has too), else a new one. Unlike names, symbol values are not all kept: the
    /// fact base keeps each once when the fact is added, so this only spares an allocation.
    pub(crate) fn symbol_at(&mut self, text: &str, position: usize) -> Name {
        if let Some(name) = self.recent_symbols.get(position)
            && **name == *text
        {
            return name.clone();
        }
        let name: Name = Arc::from(text);
        remember(&mut self.recent_symbols, position, &name);
        name
    }

    /// [`Interner::intern`] of the name at `position` in a declaration (its `position`-th
    /// field): facts of one shape follow each other, so the name at the same position in the
    /// last declaration is tried first, by comparing texts, before any lookup.
    pub fn intern_at(&mut self, text: &str, position: usize) -> Name {
        if let Some(name) = self.recent.get(position)
            && **name == *text
        {
            return name.clone();
        }
        let name = self.intern(text);
        remember(&mut self.recent, position, &name);
        name
    }

    /// How many distinct names are stored.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no name is stored yet.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Why an operation on values failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Two amounts in different currencies were added or compared.
    #[error("cannot {op} `{left}` and `{right}`: different currencies and no exchange rate")]
    CurrencyMismatch {
        /// The operation (`add`, `compare`...).
        op: &'static str,
        /// Left currency.
        left: Currency,
        /// Right currency.
        right: Currency,
    },
    /// Operands whose kinds or dimensions do not go together (money and GW).
    #[error("cannot {op} {left} and {right}")]
    Mismatch {
        /// The operation.
        op: &'static str,
        /// What the left operand is (`money (USD)`, `power`).
        left: String,
        /// What the right operand is.
        right: String,
    },
    /// An operation that needs a number, amount or quantity got something else.
    #[error("cannot {op} {what}")]
    NotNumeric {
        /// The operation.
        op: &'static str,
        /// What the operand is.
        what: String,
    },
    /// A date or timestamp moved by a fraction of a day or month.
    #[error("{what} moves by whole {unit} only")]
    NotWhole {
        /// `a date` or `a timestamp`.
        what: &'static str,
        /// The unit of the quantity.
        unit: &'static str,
    },
    /// Two timestamps subtracted: the engine has no durations of hours or seconds.
    #[error(
        "cannot subtract two timestamps: use `months_between(a, b)`, or `date(a) - date(b)` for the days between their dates"
    )]
    TimestampDifference,
    /// A date and a timestamp compared or subtracted: a timestamp has a date only in a zone.
    #[error(
        "cannot {op} a date and a timestamp: take the timestamp's date in a zone with `date(t)` or `date(t, \"Asia/Shanghai\")`"
    )]
    DateAndTimestamp {
        /// The operation.
        op: &'static str,
    },
    /// A calendar function (`quarter`...) given a timestamp, which has a date only in a zone.
    #[error(
        "cannot {op} a timestamp: take its date in a zone first, with `date(t)` or `date(t, \"Asia/Shanghai\")`"
    )]
    TimestampNeedsDate {
        /// The operation.
        op: &'static str,
    },
    /// A timestamp moved beyond the range of instants.
    #[error("a timestamp out of range")]
    TimestampRange,
    /// Division by zero.
    #[error("division by zero")]
    DivisionByZero,
    /// The exact result does not fit the decimal type: larger than about 7.9e28, or more
    /// significant digits than it keeps (28 to 29).
    #[error(
        "cannot {op} exactly: the result needs more than 28-29 significant digits or exceeds about 7.9e28"
    )]
    Overflow {
        /// The operation.
        op: &'static str,
    },
}

impl Value {
    /// A symbol or entity reference (`investment`, `Nvidia`).
    pub fn symbol(name: &str) -> Value {
        Value::Symbol(Arc::from(name), SymbolId::NONE)
    }

    /// Quoted text.
    pub fn text(text: &str) -> Value {
        Value::Text(Arc::from(text))
    }

    /// A short description of what kind of value this is, for messages (`money (USD)`).
    pub fn describe(&self) -> String {
        match self {
            Value::Bool(_) => "a true/false value".into(),
            Value::Number(_) => "a number".into(),
            Value::Percent(_) => "a percentage".into(),
            Value::Money(m) => format!("money ({})", m.currency),
            Value::Quantity(q) => format!("{} ({})", q.unit.describe(), q.unit),
            Value::Date(_) => "a date".into(),
            Value::Timestamp(_) => "a timestamp".into(),
            Value::Text(_) => "text".into(),
            Value::Symbol(..) => "a name".into(),
            Value::List(_) => "a list".into(),
            Value::Record(_) => "a record".into(),
        }
    }

    /// Whether this is an `up to` ceiling.
    pub fn is_ceiling(&self) -> bool {
        match self {
            Value::Money(m) => m.ceiling,
            Value::Quantity(q) => q.ceiling,
            _ => false,
        }
    }

    /// The name if this value is a symbol or text (`Nvidia`, `"Oracle (OCI)"`).
    pub fn as_name(&self) -> Option<&str> {
        match self {
            Value::Symbol(s, _) | Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// A field of a record value.
    pub fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Record(fields) => fields.get(name),
            _ => None,
        }
    }

    fn mismatch(op: &'static str, a: &Value, b: &Value) -> ValueError {
        ValueError::Mismatch {
            op,
            left: a.describe(),
            right: b.describe(),
        }
    }

    /// Equality with the engine's semantics: exact decimal comparison (`100B USD == 100.00B USD`),
    /// unit conversion (`500 MW == 0.5 GW`), symbols and text compare by name. Values of kinds
    /// that cannot be compared (money with GW, USD with CNY) are an error, not `false`.
    pub fn equals(&self, other: &Value) -> Result<bool, ValueError> {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => Ok(a == b),
            (Value::Date(a), Value::Date(b)) => Ok(a == b),
            (Value::Symbol(a, _) | Value::Text(a), Value::Symbol(b, _) | Value::Text(b)) => {
                Ok(a == b)
            }
            (Value::List(a), Value::List(b)) => {
                if a.len() != b.len() {
                    return Ok(false);
                }
                for (x, y) in a.iter().zip(b.iter()) {
                    if !x.equals(y)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            (Value::Record(a), Value::Record(b)) => {
                if a.len() != b.len() {
                    return Ok(false);
                }
                for (k, x) in a.iter() {
                    match b.get(k) {
                        Some(y) if x.equals(y)? => {}
                        _ => return Ok(false),
                    }
                }
                Ok(true)
            }
            _ => self.compare(other).map(|o| o == Ordering::Equal),
        }
    }

    /// Ordering of two numbers, amounts in one currency, quantities of one dimension, or dates.
    pub fn compare(&self, other: &Value) -> Result<Ordering, ValueError> {
        match (self, other) {
            // Zero (an empty sum) compares with any amount or quantity.
            (
                Value::Number(z),
                Value::Money(Money { amount, .. }) | Value::Quantity(Quantity { amount, .. }),
            ) if z.is_zero() => Ok(Decimal::ZERO.cmp(amount)),
            (
                Value::Money(Money { amount, .. }) | Value::Quantity(Quantity { amount, .. }),
                Value::Number(z),
            ) if z.is_zero() => Ok(amount.cmp(&Decimal::ZERO)),
            (Value::Number(a) | Value::Percent(a), Value::Number(b) | Value::Percent(b)) => {
                Ok(a.cmp(b))
            }
            (Value::Money(a), Value::Money(b)) => {
                if a.currency != b.currency {
                    return Err(ValueError::CurrencyMismatch {
                        op: "compare",
                        left: a.currency,
                        right: b.currency,
                    });
                }
                Ok(a.amount.cmp(&b.amount))
            }
            (Value::Quantity(a), Value::Quantity(b)) => {
                let (x, y) = same_dimension("compare", a, b)?;
                Ok(x.cmp(&y))
            }
            (Value::Date(a), Value::Date(b)) => Ok(a.cmp(b)),
            (Value::Timestamp(a), Value::Timestamp(b)) => Ok(a.cmp_instant(b)),
            (Value::Date(_), Value::Timestamp(_)) | (Value::Timestamp(_), Value::Date(_)) => {
                Err(ValueError::DateAndTimestamp { op: "compare" })
            }
            (Value::Text(a) | Value::Symbol(a, _), Value::Text(b) | Value::Symbol(b, _)) => {
                Ok(a.cmp(b))
            }
            _ => Err(Value::mismatch("compare", self, other)),
        }
    }

    /// `self + other`: numbers, percentages, money of one currency, quantities of one dimension.
    pub fn add(&self, other: &Value) -> Result<Value, ValueError> {
        self.additive(other, "add", exact_add)
    }

    /// `self - other`, with the same rules as [`Value::add`].
    pub fn sub(&self, other: &Value) -> Result<Value, ValueError> {
        self.additive(other, "subtract", exact_sub)
    }

    fn additive(
        &self,
        other: &Value,
        op: &'static str,
        f: fn(Decimal, Decimal) -> Option<Decimal>,
    ) -> Result<Value, ValueError> {
        let of = |x: Decimal, y: Decimal| f(x, y).ok_or(ValueError::Overflow { op });
        match (self, other) {
            // Zero (an empty sum) adds to any amount or quantity.
            (Value::Number(z), Value::Money(_) | Value::Quantity(_)) if z.is_zero() => {
                if op == "add" {
                    Ok(other.clone())
                } else {
                    other.neg()
                }
            }
            (Value::Money(_) | Value::Quantity(_), Value::Number(z)) if z.is_zero() => {
                Ok(self.clone())
            }
            (Value::Number(a), Value::Number(b)) => Ok(Value::Number(of(*a, *b)?)),
            (Value::Percent(a), Value::Percent(b)) => Ok(Value::Percent(of(*a, *b)?)),
            (Value::Percent(a), Value::Number(b)) | (Value::Number(a), Value::Percent(b)) => {
                Ok(Value::Number(of(*a, *b)?))
            }
            (Value::Date(d), Value::Quantity(q)) => {
                Ok(Value::Date(shift_date(*d, q, op == "subtract")?))
            }
            (Value::Timestamp(t), Value::Quantity(q)) => Ok(Value::Timestamp(
                t.shift(calendar_span(q, op == "subtract", "a timestamp")?)
                    .map_err(|_| ValueError::TimestampRange)?,
            )),
            (Value::Timestamp(_), Value::Timestamp(_)) if op == "subtract" => {
                Err(ValueError::TimestampDifference)
            }
            (Value::Date(_), Value::Timestamp(_)) | (Value::Timestamp(_), Value::Date(_))
                if op == "subtract" =>
            {
                Err(ValueError::DateAndTimestamp { op })
            }
            (Value::Date(a), Value::Date(b)) if op == "subtract" => {
                let days = b
                    .until(*a)
                    .map_err(|_| ValueError::Overflow { op })?
                    .get_days();
                Ok(Value::Quantity(Quantity {
                    amount: Decimal::from(days),
                    unit: Unit::Plain(find_unit("days").ok_or(ValueError::Overflow { op })?),
                    ceiling: false,
                }))
            }
            (Value::Money(a), Value::Money(b)) => {
                if a.currency != b.currency {
                    return Err(ValueError::CurrencyMismatch {
                        op,
                        left: a.currency,
                        right: b.currency,
                    });
                }
                Ok(Value::Money(Money {
                    amount: of(a.amount, b.amount)?,
                    currency: a.currency,
                    ceiling: a.ceiling || b.ceiling,
                }))
            }
            (Value::Quantity(a), Value::Quantity(b)) => {
                // In the finer of the two units, so that nothing is rounded.
                let (unit, x, y) = in_common_unit(op, a, b)?;
                Ok(Value::Quantity(Quantity {
                    amount: of(x, y)?,
                    unit,
                    ceiling: a.ceiling || b.ceiling,
                }))
            }
            _ => Err(Value::mismatch(op, self, other)),
        }
    }

    /// `self * other`: a number or percentage scales money and quantities; money per unit times
    /// a quantity of that unit gives money.
    pub fn mul(&self, other: &Value) -> Result<Value, ValueError> {
        const OP: &str = "multiply";
        let m = |x: Decimal, y: Decimal| exact_mul(x, y).ok_or(ValueError::Overflow { op: OP });
        match (self, other) {
            (Value::Number(a), Value::Number(b)) => Ok(Value::Number(m(*a, *b)?)),
            // A percentage scaled by a number, or of a percentage, stays a percentage.
            (Value::Percent(a), Value::Percent(b) | Value::Number(b))
            | (Value::Number(b), Value::Percent(a)) => Ok(Value::Percent(m(*a, *b)?)),
            (Value::Money(x), Value::Number(k) | Value::Percent(k))
            | (Value::Number(k) | Value::Percent(k), Value::Money(x)) => Ok(Value::Money(Money {
                amount: m(x.amount, *k)?,
                ..x.clone()
            })),
            (Value::Quantity(q), Value::Number(k) | Value::Percent(k))
            | (Value::Number(k) | Value::Percent(k), Value::Quantity(q)) => {
                Ok(Value::Quantity(Quantity {
                    amount: m(q.amount, *k)?,
                    ..q.clone()
                }))
            }
            (Value::Quantity(p), Value::Quantity(q)) | (Value::Quantity(q), Value::Quantity(p))
                if matches!(p.unit, Unit::MoneyPer(..)) && matches!(q.unit, Unit::Plain(_)) =>
            {
                let Unit::MoneyPer(currency, per) = p.unit else {
                    return Err(Value::mismatch(OP, self, other));
                };
                let Unit::Plain(qu) = q.unit else {
                    return Err(Value::mismatch(OP, self, other));
                };
                if per.dimension != qu.dimension {
                    return Err(Value::mismatch(OP, self, other));
                }
                // price per `per` × amount in `qu` = price × amount × (qu / per)
                // price × amount × (unit / per-unit), dividing last.
                let amount = m(m(p.amount, q.amount)?, qu.factor())?
                    .checked_div(per.factor())
                    .ok_or(ValueError::Overflow { op: OP })?;
                Ok(Value::Money(Money {
                    amount,
                    currency,
                    ceiling: p.ceiling || q.ceiling,
                }))
            }
            _ => Err(Value::mismatch(OP, self, other)),
        }
    }

    /// `self / other`: money / money (one currency) and quantity / quantity (one dimension) give
    /// a plain ratio; money / quantity gives money per unit (`USD/GW`); division by a number
    /// scales. Division by zero is an error.
    pub fn div(&self, other: &Value) -> Result<Value, ValueError> {
        const OP: &str = "divide";
        let d = |x: Decimal, y: Decimal| {
            if y.is_zero() {
                Err(ValueError::DivisionByZero)
            } else {
                x.checked_div(y).ok_or(ValueError::Overflow { op: OP })
            }
        };
        match (self, other) {
            // Zero (an empty sum) divided by an amount is zero.
            (Value::Number(z), Value::Money(_) | Value::Quantity(_)) if z.is_zero() => {
                Ok(Value::Number(*z))
            }
            (Value::Percent(a), Value::Number(b)) => Ok(Value::Percent(d(*a, *b)?)),
            (Value::Number(a) | Value::Percent(a), Value::Number(b) | Value::Percent(b)) => {
                Ok(Value::Number(d(*a, *b)?))
            }
            (Value::Money(x), Value::Number(k) | Value::Percent(k)) => Ok(Value::Money(Money {
                amount: d(x.amount, *k)?,
                ..x.clone()
            })),
            (Value::Quantity(q), Value::Number(k) | Value::Percent(k)) => {
                Ok(Value::Quantity(Quantity {
                    amount: d(q.amount, *k)?,
                    ..q.clone()
                }))
            }
            (Value::Money(a), Value::Money(b)) => {
                if a.currency != b.currency {
                    return Err(ValueError::CurrencyMismatch {
                        op: OP,
                        left: a.currency,
                        right: b.currency,
                    });
                }
                Ok(Value::Number(d(a.amount, b.amount)?))
            }
            (Value::Quantity(a), Value::Quantity(b)) => {
                let (x, y) = same_dimension(OP, a, b)?;
                Ok(Value::Number(d(x, y)?))
            }
            (Value::Money(a), Value::Quantity(q)) => match q.unit {
                Unit::Plain(u) => Ok(Value::Quantity(Quantity {
                    amount: d(a.amount, q.amount)?,
                    unit: Unit::MoneyPer(a.currency, u),
                    ceiling: a.ceiling || q.ceiling,
                })),
                Unit::MoneyPer(..) => Err(Value::mismatch(OP, self, other)),
            },
            _ => Err(Value::mismatch(OP, self, other)),
        }
    }

    /// `-self` for numbers, percentages, money and quantities.
    pub fn neg(&self) -> Result<Value, ValueError> {
        match self {
            Value::Number(a) => Ok(Value::Number(-*a)),
            Value::Percent(a) => Ok(Value::Percent(-*a)),
            Value::Money(m) => Ok(Value::Money(Money {
                amount: -m.amount,
                ..m.clone()
            })),
            Value::Quantity(q) => Ok(Value::Quantity(Quantity {
                amount: -q.amount,
                ..q.clone()
            })),
            _ => Err(ValueError::NotNumeric {
                op: "negate",
                what: self.describe(),
            }),
        }
    }

    /// A hashable key such that `a.key() == b.key()` exactly when `a.equals(b)` is `Ok(true)`,
    /// for values used as join keys. `None` for lists and records (never used as join keys).
    pub fn key(&self) -> Option<Key> {
        Some(match self {
            Value::Bool(b) => Key::Bool(*b),
            Value::Number(d) | Value::Percent(d) => Key::Number(d.normalize()),
            Value::Money(m) => Key::Money(m.currency, m.amount.normalize()),
            Value::Quantity(q) => {
                let (cur, dim) = q.unit.dimension_key();
                Key::Quantity(cur, dim, q.unit.key_amount(q.amount)?.normalize())
            }
            Value::Date(d) => Key::Date(*d),
            Value::Timestamp(t) => Key::Timestamp(t.instant()),
            Value::Text(s) | Value::Symbol(s, _) => Key::Name(s.clone()),
            Value::List(_) | Value::Record(_) => return None,
        })
    }
}

impl Key {
    /// The class of values this key can be compared with without an error: two keys of the
    /// same class compare (equal or not); keys of different classes never do.
    pub fn class(&self) -> KeyClass {
        match self {
            Key::Bool(_) => KeyClass::Bool,
            Key::Number(_) => KeyClass::Number,
            Key::Money(c, _) => KeyClass::Money(*c),
            Key::Quantity(c, d, _) => KeyClass::Quantity(*c, *d),
            Key::Date(_) => KeyClass::Date,
            Key::Timestamp(_) => KeyClass::Timestamp,
            Key::Name(_) => KeyClass::Name,
        }
    }
}

/// What a [`Key`] can be compared with: see [`Key::class`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyClass {
    /// Booleans.
    Bool,
    /// Numbers and percentages.
    Number,
    /// Money in one currency.
    Money(Currency),
    /// Quantities of one dimension.
    Quantity(Option<Currency>, Dimension),
    /// Dates.
    Date,
    /// Timestamps.
    Timestamp,
    /// Symbols and text.
    Name,
}

/// `date ± quantity` for a whole number of days, months or years. Adding months keeps the day of
/// the month, clamped to the month's last day (`2025-01-31 + 1 month` is `2025-02-28`).
fn shift_date(d: Date, q: &Quantity, subtract: bool) -> Result<Date, ValueError> {
    let op = if subtract { "subtract" } else { "add" };
    d.checked_add(calendar_span(q, subtract, "a date")?)
        .map_err(|_| ValueError::Overflow { op })
}

/// The calendar span of a quantity in days, months or years, negated for a subtraction; a
/// fraction of a day or month is an error (`what` is `a date` or `a timestamp`).
fn calendar_span(
    q: &Quantity,
    subtract: bool,
    what: &'static str,
) -> Result<jiff::Span, ValueError> {
    let op = if subtract { "subtract" } else { "add" };
    let mismatch = || ValueError::Mismatch {
        op,
        left: what.into(),
        right: format!("{} ({})", q.unit.describe(), q.unit),
    };
    let Unit::Plain(u) = q.unit else {
        return Err(mismatch());
    };
    let base = q
        .unit
        .to_base(q.amount)
        .ok_or(ValueError::Overflow { op })?;
    use rust_decimal::prelude::ToPrimitive;
    let Some(mut n) = base.to_i64().filter(|_| base.fract().is_zero()) else {
        return Err(ValueError::NotWhole {
            what,
            unit: u.symbol,
        });
    };
    if subtract {
        n = -n;
    }
    match u.dimension {
        Dimension::Months => jiff::Span::new().try_months(n),
        Dimension::Days => jiff::Span::new().try_days(n),
        _ => return Err(mismatch()),
    }
    .map_err(|_| ValueError::Overflow { op })
}

/// Whole calendar months from `a` to `b` (negative when `b` is earlier), truncated toward zero
/// (two dates, or the dates of two timestamps taken in the zone of `a`, time of day ignored),
/// as a quantity in months: `months_between(2025-01-31, 2025-02-28)` is 0 months,
/// `months_between(2025-01-15, 2026-03-14)` is 13 months.
pub fn months_between(a: &Value, b: &Value) -> Result<Value, ValueError> {
    const OP: &str = "take months between";
    let months = match (a, b) {
        (Value::Date(a), Value::Date(b)) => i64::from(
            a.until((jiff::Unit::Month, *b))
                .map_err(|_| ValueError::Overflow { op: OP })?
                .get_months(),
        ),
        (Value::Timestamp(a), Value::Timestamp(b)) => {
            a.months_until(b).map_err(|_| ValueError::TimestampRange)?
        }
        (Value::Date(_), Value::Timestamp(_)) | (Value::Timestamp(_), Value::Date(_)) => {
            return Err(ValueError::DateAndTimestamp { op: OP });
        }
        _ => {
            return Err(ValueError::Mismatch {
                op: OP,
                left: a.describe(),
                right: b.describe(),
            });
        }
    };
    Ok(Value::Quantity(Quantity {
        amount: Decimal::from(months),
        unit: Unit::Plain(find_unit("months").ok_or(ValueError::Overflow {
            op: "take months between",
        })?),
        ceiling: false,
    }))
}

/// `date(t, zone)`: the calendar date of timestamp `t` in the zone named `zone`; a date is
/// itself.
pub fn date_of(v: &Value, zone_name: &str) -> Result<Value, ValueError> {
    match v {
        Value::Date(_) => Ok(v.clone()),
        Value::Timestamp(t) => {
            let (_, tz) = zone(zone_name).ok_or(ValueError::NotNumeric {
                op: "take the date in",
                what: format!("`{zone_name}`, which is not a time zone"),
            })?;
            Ok(Value::Date(t.date_in(&tz)))
        }
        other => Err(ValueError::NotNumeric {
            op: "take the date of",
            what: other.describe(),
        }),
    }
}

/// The date argument of a calendar function (`quarter`...): a timestamp is an error that says to
/// take its date in a zone first.
fn calendar_date(v: &Value, op: &'static str) -> Result<Date, ValueError> {
    match v {
        Value::Date(d) => Ok(*d),
        Value::Timestamp(_) => Err(ValueError::TimestampNeedsDate { op }),
        other => Err(ValueError::NotNumeric {
            op,
            what: other.describe(),
        }),
    }
}

/// `quarter(d)`: the calendar quarter of a date as text, `2026-Q1`.
pub fn quarter(v: &Value) -> Result<Value, ValueError> {
    let d = calendar_date(v, "take the quarter of")?;
    let q = (d.month() - 1) / 3 + 1;
    Ok(Value::text(&format!("{:04}-Q{q}", d.year())))
}

/// The fiscal year of date `d` (named by the calendar year in which it ends) and the day it
/// starts, for a year ending on `end` (`MM-DD`).
fn fiscal(d: Date, end: &str) -> Result<(i16, Date), ValueError> {
    const OP: &str = "take the fiscal year of";
    let (m, day) = month_day(end).ok_or(ValueError::NotNumeric {
        op: OP,
        what: format!("a date with the year end `{end}`, which is not a month and day"),
    })?;
    let end_in = |year: i16| Date::new(year, m, day).map_err(|_| ValueError::Overflow { op: OP });
    let year = if d <= end_in(d.year())? {
        d.year()
    } else {
        d.year()
            .checked_add(1)
            .ok_or(ValueError::Overflow { op: OP })?
    };
    let previous_end = end_in(year.checked_sub(1).ok_or(ValueError::Overflow { op: OP })?)?;
    let start = previous_end
        .tomorrow()
        .map_err(|_| ValueError::Overflow { op: OP })?;
    Ok((year, start))
}

/// `fiscal_year(d, end)`: the fiscal year of a date, as the number of the calendar year in which
/// it ends: with `end` `06-30`, 2026-07-01 is in fiscal year 2027.
pub fn fiscal_year(v: &Value, end: &Value) -> Result<Value, ValueError> {
    let d = calendar_date(v, "take the fiscal year of")?;
    let (year, _) = fiscal(d, end.as_name().unwrap_or(""))?;
    Ok(Value::Number(Decimal::from(year)))
}

/// `fiscal_quarter(d, end)`: the fiscal quarter of a date as text, `FY2027-Q1`: quarters are
/// three calendar months from the day after the fiscal year end.
pub fn fiscal_quarter(v: &Value, end: &Value) -> Result<Value, ValueError> {
    const OP: &str = "take the fiscal quarter of";
    let d = calendar_date(v, OP)?;
    let (year, start) = fiscal(d, end.as_name().unwrap_or(""))?;
    let months = start
        .until((jiff::Unit::Month, d))
        .map_err(|_| ValueError::Overflow { op: OP })?
        .get_months();
    let q = (months / 3 + 1).clamp(1, 4);
    Ok(Value::text(&format!("FY{year:04}-Q{q}")))
}

/// A canonical, hashable form of a [`Value`] used by join indexes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    /// A boolean.
    Bool(bool),
    /// A normalised decimal (numbers and percentages).
    Number(Decimal),
    /// Currency and normalised amount.
    Money(Currency, Decimal),
    /// Dimension and normalised amount in base units.
    Quantity(Option<Currency>, Dimension, Decimal),
    /// A date.
    Date(Date),
    /// The instant of a timestamp.
    Timestamp(jiff::Timestamp),
    /// A symbol or text.
    Name(Name),
}

/// `x + y`, or `None` when the exact sum does not fit (too large, or too many digits to keep
/// every decimal: `1e28 + 0.5`). Never rounds.
fn exact_add(x: Decimal, y: Decimal) -> Option<Decimal> {
    let r = x.checked_add(y)?;
    (r.checked_sub(x) == Some(y)).then_some(r)
}

/// `x - y`, or `None` when the exact difference does not fit. Never rounds.
fn exact_sub(x: Decimal, y: Decimal) -> Option<Decimal> {
    let r = x.checked_sub(y)?;
    (x.checked_sub(r) == Some(y)).then_some(r)
}

/// `x * y`, or `None` when the exact product does not fit (too large, or more than 28 decimal
/// places: `1e-15 * 1e-15`). Never rounds.
fn exact_mul(x: Decimal, y: Decimal) -> Option<Decimal> {
    let (a, b) = (x.normalize(), y.normalize());
    if !a.is_zero() && !b.is_zero() && a.scale() + b.scale() > 28 {
        return None;
    }
    a.checked_mul(b)
}

/// The amounts of `a` and `b` expressed in one common unit, exactly (see [`common_unit`]).
fn same_dimension(
    op: &'static str,
    a: &Quantity,
    b: &Quantity,
) -> Result<(Decimal, Decimal), ValueError> {
    in_common_unit(op, a, b).map(|(_, x, y)| (x, y))
}

/// The finer unit of `a` and `b`, and both amounts in it, exactly.
fn in_common_unit(
    op: &'static str,
    a: &Quantity,
    b: &Quantity,
) -> Result<(Unit, Decimal, Decimal), ValueError> {
    let (unit, ma, mb) = common_unit(op, &a.unit, &b.unit)?;
    let x = a
        .amount
        .checked_mul(ma)
        .ok_or(ValueError::Overflow { op })?;
    let y = b
        .amount
        .checked_mul(mb)
        .ok_or(ValueError::Overflow { op })?;
    Ok((unit, x, y))
}

/// The finer of two units of one dimension, and the whole-number multipliers that express an
/// amount of each in it: `GW` and `MW` give `MW` (×1000, ×1); `year` and `month` give `month`
/// (×12, ×1); `USD/MW` and `USD/GW` give `USD/GW` (×1000, ×1). Multiplying never rounds.
fn common_unit(
    op: &'static str,
    a: &Unit,
    b: &Unit,
) -> Result<(Unit, Decimal, Decimal), ValueError> {
    if a.dimension_key() != b.dimension_key() {
        return Err(ValueError::Mismatch {
            op,
            left: format!("{} ({a})", a.describe()),
            right: format!("{} ({b})", b.describe()),
        });
    }
    let ratio =
        |big: Decimal, small: Decimal| big.checked_div(small).ok_or(ValueError::Overflow { op });
    match (a, b) {
        (Unit::Plain(x), Unit::Plain(y)) => {
            let (fx, fy) = (x.factor(), y.factor());
            if fx <= fy {
                Ok((*a, Decimal::ONE, ratio(fy, fx)?))
            } else {
                Ok((*b, ratio(fx, fy)?, Decimal::ONE))
            }
        }
        (Unit::MoneyPer(_, x), Unit::MoneyPer(_, y)) => {
            let (fx, fy) = (x.factor(), y.factor());
            if fx >= fy {
                Ok((*a, Decimal::ONE, ratio(fx, fy)?))
            } else {
                Ok((*b, ratio(fy, fx)?, Decimal::ONE))
            }
        }
        _ => Err(ValueError::Mismatch {
            op,
            left: format!("{} ({a})", a.describe()),
            right: format!("{} ({b})", b.describe()),
        }),
    }
}

/// Writes `amount` with the largest scale word that keeps it at least 1: `100B`, `1.5T`,
/// `350M`; amounts under a thousand are written in full. Exact: scaling divides by a power of
/// ten.
pub fn scaled(amount: Decimal) -> String {
    let (q, word) = scale_word(amount);
    format!("{q}{word}")
}

/// `amount` divided by the largest of thousand, million, billion, trillion not above it,
/// normalized, with the scale word (`K`, `M`, `B`, `T`; empty below a thousand). Dividing by a
/// power of ten moves the decimal point (exact), and divides only where the scale would pass
/// the 28 places a decimal holds.
fn scale_word(amount: Decimal) -> (Decimal, &'static str) {
    scale_word_by_digits(amount).unwrap_or_else(|| scale_word_by_division(amount))
}

/// [`scale_word`] on the decimal's integer mantissa: comparing with a power of ten and moving
/// the decimal point are integer operations (formatting a million amounts, in reports and in the
/// ids of derived rows, spent most of its time in decimal comparisons and `normalize`). `None`
/// where the scaled amount would need more than 28 places (then [`scale_word_by_division`]).
fn scale_word_by_digits(amount: Decimal) -> Option<(Decimal, &'static str)> {
    const SCALES: [(u32, &str); 4] = [(12, "T"), (9, "B"), (6, "M"), (3, "K")];
    let scale = amount.scale();
    let abs = amount.mantissa().unsigned_abs();
    for (digits, word) in SCALES {
        // |amount| >= 10^digits, that is |mantissa| >= 10^(digits + scale); past 10^38 the
        // power is beyond any 96-bit mantissa.
        let size = POWERS_OF_TEN.get((digits + scale) as usize);
        if size.is_none_or(|&size| abs < size) {
            continue;
        }
        let mut places = scale + digits;
        if places > 28 {
            return None;
        }
        // Normalized: no trailing zero after the point (on 64 bits when the digits fit, where
        // dividing by ten is a multiplication).
        let digits = match u64::try_from(abs) {
            Ok(mut m) => {
                while places > 0 && m.is_multiple_of(10) {
                    m /= 10;
                    places -= 1;
                }
                u128::from(m)
            }
            Err(_) => {
                let mut m = abs;
                while places > 0 && m.is_multiple_of(10) {
                    m /= 10;
                    places -= 1;
                }
                m
            }
        };
        let signed = i128::try_from(digits).ok()?;
        let signed = if amount.is_sign_negative() {
            -signed
        } else {
            signed
        };
        return Decimal::try_from_i128_with_scale(signed, places)
            .ok()
            .map(|q| (q, word));
    }
    Some((amount.normalize(), ""))
}

/// 10^0 to 10^38, every power of ten a `u128` holds.
#[expect(
    clippy::indexing_slicing,
    reason = "a constant table built at compile time, every index below its length"
)]
const POWERS_OF_TEN: [u128; 39] = {
    let mut table = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// [`scale_word`] by decimal comparison and division, for any amount.
fn scale_word_by_division(amount: Decimal) -> (Decimal, &'static str) {
    const SCALES: [(i64, u32, &str); 4] = [
        (1_000_000_000_000, 12, "T"),
        (1_000_000_000, 9, "B"),
        (1_000_000, 6, "M"),
        (1_000, 3, "K"),
    ];
    let abs = amount.abs();
    for (size, digits, word) in SCALES {
        let size = Decimal::from(size);
        if abs >= size {
            let mut q = amount;
            if q.set_scale(q.scale() + digits).is_ok() {
                return (q.normalize(), word);
            }
            if let Some(q) = amount.checked_div(size) {
                return (q.normalize(), word);
            }
        }
    }
    (amount.normalize(), "")
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ceiling {
            f.write_str("up to ")?;
        }
        let (q, word) = scale_word(self.amount);
        write_decimal(f, q)?;
        f.write_str(word)?;
        f.write_str(" ")?;
        f.write_str(self.currency.code())
    }
}

/// Writes `d` as `rust_decimal` displays it (`-12.50`: every place of its scale, a sign only
/// when negative), from its integer mantissa: the amounts of reports and of the ids of derived
/// rows are written without going through a general formatter. Zero goes through
/// `rust_decimal` (its sign is kept as it keeps it).
fn write_decimal(f: &mut impl fmt::Write, d: Decimal) -> fmt::Result {
    let mantissa = d.mantissa();
    if mantissa == 0 {
        return write!(f, "{d}");
    }
    // 96 bits are at most 29 digits; with a leading `0.` for 28 places, 30 characters.
    let mut digits = [b'0'; 40];
    let mut at = digits.len();
    let mut rest = mantissa.unsigned_abs();
    while rest > 0 && at > 0 {
        at -= 1;
        if let Some(slot) = digits.get_mut(at) {
            *slot = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
    }
    let scale = d.scale() as usize;
    // At least one digit before the point.
    let start = at.min(digits.len().saturating_sub(scale + 1));
    let text = digits.get(start..).unwrap_or_default();
    let (whole, places) = text.split_at(text.len().saturating_sub(scale));
    if mantissa < 0 {
        f.write_str("-")?;
    }
    f.write_str(std::str::from_utf8(whole).map_err(|_| fmt::Error)?)?;
    if !places.is_empty() {
        f.write_str(".")?;
        f.write_str(std::str::from_utf8(places).map_err(|_| fmt::Error)?)?;
    }
    Ok(())
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ceiling {
            f.write_str("up to ")?;
        }
        let amount = match self.unit {
            Unit::Plain(u) if matches!(u.dimension, Dimension::Count(_)) => scaled(self.amount),
            Unit::MoneyPer(..) => scaled(self.amount),
            _ => self.amount.normalize().to_string(),
        };
        match self.unit {
            Unit::Plain(u) => {
                let one = self.amount.abs() == Decimal::ONE;
                write!(f, "{amount} {}", unit::spelling(u.symbol, one))
            }
            Unit::MoneyPer(..) => write!(f, "{amount} {}", self.unit),
        }
    }
}

/// Writes `d` as `YYYY-MM-DD`, as `jiff` does: directly for the years 0 to 9999, through
/// `jiff` for the others (`-000001-12-31`). Formatting dates is most of the cost of the ids of
/// derived rows, and of reports.
fn write_date(d: Date, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (Ok(year), Ok(month), Ok(day)) = (
        u16::try_from(d.year()),
        u8::try_from(d.month()),
        u8::try_from(d.day()),
    ) else {
        return write!(f, "{d}");
    };
    if year > 9999 {
        return write!(f, "{d}");
    }
    let digit = |n: u16| b'0' + (n % 10) as u8;
    let text = [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(u16::from(month) / 10),
        digit(u16::from(month)),
        b'-',
        digit(u16::from(day) / 10),
        digit(u16::from(day)),
    ];
    f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(d) => write!(f, "{}", d.normalize()),
            Value::Percent(d) => {
                let pct = d.checked_mul(Decimal::ONE_HUNDRED).unwrap_or(*d);
                write!(f, "{}%", pct.normalize())
            }
            Value::Money(m) => m.fmt(f),
            Value::Quantity(q) => q.fmt(f),
            Value::Date(d) => write_date(*d, f),
            Value::Timestamp(t) => write!(f, "{t}"),
            Value::Text(s) => write!(f, "{s}"),
            Value::Symbol(s, _) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    v.fmt(f)?;
                }
                f.write_str("]")
            }
            Value::Record(fields) => {
                f.write_str("{")?;
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, " {k}: {v}")?;
                }
                f.write_str(" }")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scale word found on the mantissa is the one found by decimal division, with the same
    /// digits and the same scale, for any amount.
    fn same_scale_word(amount: Decimal) -> Result<(), proptest::test_runner::TestCaseError> {
        let slow = scale_word_by_division(amount);
        if let Some(fast) = scale_word_by_digits(amount) {
            proptest::prop_assert_eq!(fast.1, slow.1, "{}", amount);
            proptest::prop_assert_eq!(fast.0.to_string(), slow.0.to_string(), "{}", amount);
            proptest::prop_assert_eq!(fast.0.scale(), slow.0.scale(), "{}", amount);
        }
        proptest::prop_assert_eq!(scale_word(amount), slow);
        Ok(())
    }

    #[test]
    fn dates_display_as_jiff_writes_them() {
        for (y, m, d) in [
            (0, 1, 1),
            (1, 2, 3),
            (999, 12, 31),
            (2024, 2, 29),
            (2025, 7, 7),
            (9999, 12, 31),
            (-1, 12, 31),
            (-9999, 1, 1),
        ] {
            let date = Date::new(y, m, d).unwrap_or_default();
            assert_eq!(Value::Date(date).to_string(), date.to_string());
        }
    }

    proptest::proptest! {
        #[test]
        fn every_date_displays_as_jiff_writes_it(days in -4_000_000i32..3_000_000) {
            let date = Date::new(1970, 1, 1)
                .unwrap_or_default()
                .checked_add(jiff::Span::new().days(days))
                .unwrap_or_default();
            proptest::prop_assert_eq!(Value::Date(date).to_string(), date.to_string());
        }
    }

    /// `write_decimal` writes the decimal of this mantissa and scale as `rust_decimal` does.
    fn written_as_rust_decimal(
        mantissa: i128,
        scale: u32,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let d = Decimal::try_from_i128_with_scale(mantissa, scale).unwrap_or_default();
        let mut out = String::new();
        proptest::prop_assert!(write_decimal(&mut out, d).is_ok());
        proptest::prop_assert_eq!(out, d.to_string());
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn decimals_are_written_as_rust_decimal_displays_them(
            mantissa in -(1i128 << 96) + 1..(1i128 << 96),
            scale in 0u32..=28,
        ) {
            written_as_rust_decimal(mantissa, scale)?;
        }

        #[test]
        fn small_decimals_are_written_as_rust_decimal_displays_them(
            mantissa in -100_000i128..100_000,
            scale in 0u32..=28,
        ) {
            written_as_rust_decimal(mantissa, scale)?;
        }
    }

    #[test]
    fn scale_words_of_edge_amounts() {
        for text in [
            "0",
            "-0",
            "0.000",
            "999.999",
            "1000",
            "-1000",
            "1000.000",
            "1150000",
            "1.15E+6",
            "999999999999.9",
            "1000000000000",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "0.0000000000000000000000000001",
            "12345.6789",
        ] {
            let amount: Decimal = text
                .parse()
                .or_else(|_| Decimal::from_scientific(text))
                .unwrap_or_default();
            assert!(same_scale_word(amount).is_ok(), "{text}");
        }
        assert_eq!(
            scale_word_by_digits(Decimal::new(1_150_000, 0)),
            Some((Decimal::new(115, 2), "M"))
        );
    }

    proptest::proptest! {
        #[test]
        fn scale_word_on_the_mantissa_is_exact(
            mantissa in -(1i128 << 96) + 1..(1i128 << 96),
            scale in 0u32..=28,
        ) {
            let amount = Decimal::try_from_i128_with_scale(mantissa, scale).unwrap_or_default();
            same_scale_word(amount)?;
        }

        #[test]
        fn scale_word_of_round_amounts_is_exact(
            units in -1_000_000i64..1_000_000,
            power in 0u32..20,
            scale in 0u32..=8,
        ) {
            let mantissa = i128::from(units) * 10i128.pow(power);
            let amount = Decimal::try_from_i128_with_scale(mantissa, scale).unwrap_or_default();
            same_scale_word(amount)?;
        }
    }
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    /// A value is read and moved at every step of an evaluation and stored once per field of
    /// every fact: it stays three words.
    #[test]
    fn a_value_is_three_words() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
    }

    /// A name is first compared with the one last read at the same position, and is the
    /// same shared text as any earlier occurrence, whatever its position.
    #[test]
    fn names_read_at_a_position_are_shared() {
        let mut names = Interner::default();
        let kind = names.intern_at("kind", 0);
        let buyer = names.intern_at("buyer", 1);
        assert!(Arc::ptr_eq(&names.intern_at("kind", 0), &kind));
        assert!(Arc::ptr_eq(&names.intern_at("kind", 1), &kind));
        assert!(Arc::ptr_eq(&names.intern_at("buyer", 1), &buyer));
        assert!(Arc::ptr_eq(&names.intern("buyer"), &buyer));
        assert_eq!(&*names.intern_at("seller", 1), "seller");
        assert_eq!(names.len(), 3);
        assert_eq!(&*names.intern_at("x", MAX_RECENT + 5), "x");
    }

    /// A symbol value shares the text of the one last read at its position, and only that:
    /// symbol values are not kept.
    #[test]
    fn symbol_values_share_the_last_text_read_at_their_position() {
        let mut names = Interner::default();
        let purchase = names.symbol_at("purchase", 0);
        assert!(Arc::ptr_eq(&names.symbol_at("purchase", 0), &purchase));
        // Another position, or another text in between: a text of its own.
        assert!(!Arc::ptr_eq(&names.symbol_at("purchase", 1), &purchase));
        let lease = names.symbol_at("lease", 0);
        assert_eq!(&*lease, "lease");
        assert!(!Arc::ptr_eq(&names.symbol_at("purchase", 0), &purchase));
        assert_eq!(&*names.symbol_at("y", MAX_RECENT + 5), "y");
        assert_eq!(names.len(), 0);
    }

    /// A symbol's number is a cache: it never makes two symbols equal or different, and a
    /// symbol made outside a fact base has none.
    #[test]
    fn symbols_compare_by_name_whatever_their_number() {
        assert_eq!(SymbolId::default().get(), None);
        let a = Value::Symbol(Arc::from("OpenAI"), SymbolId::new(3));
        let b = Value::symbol("OpenAI");
        let c = Value::Symbol(Arc::from("Oracle"), SymbolId::new(3));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.equals(&b), Ok(true));
        assert_eq!(a.equals(&c), Ok(false));
    }

    /// Scaling moves the decimal point where it can and divides where it cannot: the same
    /// text as dividing always.
    #[test]
    fn scaled_amounts_read_as_divided_ones() {
        fn by_division(amount: Decimal) -> String {
            for (size, word) in [
                (1_000_000_000_000i64, "T"),
                (1_000_000_000, "B"),
                (1_000_000, "M"),
                (1_000, "K"),
            ] {
                let size = Decimal::from(size);
                if let Some(q) = amount.checked_div(size).filter(|_| amount.abs() >= size) {
                    return format!("{}{word}", q.normalize());
                }
            }
            amount.normalize().to_string()
        }
        for text in [
            "0",
            "999",
            "999.99",
            "1000",
            "-1000",
            "1500",
            "100000000000",
            "300000000000",
            "13000000000.5",
            "0.0000000000000000000000000001",
            "1234567890123.456789",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "1000.0000000000000000000000001",
            "99999.999999999999999999",
            "1e-20",
        ] {
            let amount = Decimal::from_str(text)
                .or_else(|_| Decimal::from_scientific(text))
                .unwrap_or_default();
            assert_eq!(scaled(amount), by_division(amount), "{text}");
        }
    }

    fn usd(s: &str) -> Value {
        Value::Money(Money {
            amount: dec(s),
            currency: Currency::USD,
            ceiling: false,
        })
    }

    fn qty(s: &str, unit: &str) -> Value {
        Value::Quantity(Quantity {
            amount: dec(s),
            unit: Unit::parse(unit).unwrap_or(Unit::Plain(
                find_unit("W").unwrap_or_else(|| unreachable!()),
            )),
            ceiling: false,
        })
    }

    #[test]
    fn megawatts_equal_gigawatts() {
        assert_eq!(qty("500", "MW").equals(&qty("0.5", "GW")), Ok(true));
        assert_eq!(qty("500", "MW").key(), qty("0.5", "GW").key());
        assert_eq!(qty("500", "MW").add(&qty("1", "GW")), Ok(qty("1500", "MW")));
    }

    #[test]
    fn trailing_zeros_do_not_matter() {
        assert_eq!(
            usd("100000000000").equals(&usd("100000000000.00")),
            Ok(true)
        );
        assert_eq!(usd("100000000000").key(), usd("100000000000.00").key());
    }

    #[test]
    fn money_and_power_do_not_compare() {
        let err = usd("1").compare(&qty("1", "GW"));
        assert_eq!(
            err.map_err(|e| e.to_string()),
            Err("cannot compare money (USD) and power (GW)".to_string())
        );
    }

    #[test]
    fn currencies_do_not_mix() {
        let cny = Value::Money(Money {
            amount: dec("1"),
            currency: Currency::parse("CNY").unwrap_or(Currency::USD),
            ceiling: false,
        });
        assert!(matches!(
            usd("1").add(&cny),
            Err(ValueError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn ratio_of_money_is_a_plain_number() {
        assert_eq!(
            usd("300")
                .div(&usd("13"))
                .map(|v| v.to_string())
                .ok()
                .map(|s| s[..7].to_string()),
            Some("23.0769".to_string())
        );
        assert_eq!(usd("1").div(&usd("0")), Err(ValueError::DivisionByZero));
    }

    #[test]
    fn money_per_unit_times_units_is_money() {
        assert_eq!(
            qty("0.01", "USD/share").mul(&qty("160000000", "shares")),
            Ok(usd("1600000"))
        );
        assert_eq!(
            usd("50000000000")
                .div(&qty("1", "GW"))
                .map(|v| v.to_string()),
            Ok("50B USD/GW".to_string())
        );
    }

    #[test]
    fn overflow_is_an_error() {
        let big = Value::Number(Decimal::MAX);
        assert_eq!(
            big.mul(&Value::Number(dec("2"))),
            Err(ValueError::Overflow { op: "multiply" })
        );
    }

    #[test]
    fn display_uses_scale_words_exactly() {
        assert_eq!(usd("100000000000").to_string(), "100B USD");
        assert_eq!(usd("1500000000000").to_string(), "1.5T USD");
        assert_eq!(usd("350000000").to_string(), "350M USD");
        assert_eq!(usd("0.01").to_string(), "0.01 USD");
        assert_eq!(qty("160000000", "shares").to_string(), "160M shares");
        assert_eq!(Value::Percent(dec("0.1")).to_string(), "10%");
    }
}
