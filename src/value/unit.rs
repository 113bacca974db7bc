//! Currencies and units: the closed tables that literals are resolved against.

use rust_decimal::Decimal;
use std::fmt;

/// An ISO 4217 currency, by its code (`USD`, `CNY`).
///
/// Stored as its position in [`CURRENCIES`] (one byte), so that money stays small; currencies
/// order as their codes do, since the table is sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(u8);

impl Currency {
    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        CURRENCIES
            .get(usize::from(self.0))
            .copied()
            .unwrap_or("XXX")
    }

    /// Looks up a currency by ISO code (`USD`) or by its Chinese name (`美元` = USD,
    /// `人民币` = CNY). Returns `None` for anything else.
    pub fn parse(text: &str) -> Option<Currency> {
        let code = CURRENCY_WORDS
            .iter()
            .find(|(word, _)| *word == text)
            .map_or(text, |(_, code)| code);
        let index = CURRENCIES.iter().position(|c| *c == code)?;
        u8::try_from(index).ok().map(Currency)
    }

    /// US dollars (what `$` means).
    pub const USD: Currency = Currency(27);
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The ISO 4217 codes this version accepts, sorted (a [`Currency`] is a position here).
pub const CURRENCIES: &[&str] = &[
    "AED", "AUD", "BRL", "CAD", "CHF", "CNY", "DKK", "EUR", "GBP", "HKD", "IDR", "ILS", "INR",
    "JPY", "KRW", "MXN", "MYR", "NOK", "NZD", "PLN", "QAR", "SAR", "SEK", "SGD", "THB", "TRY",
    "TWD", "USD", "VND", "ZAR",
];

/// Currency names written in words, with the ISO code they mean.
pub const CURRENCY_WORDS: &[(&str, &str)] = &[
    ("美元", "USD"),
    ("人民币", "CNY"),
    ("欧元", "EUR"),
    ("英镑", "GBP"),
    ("港元", "HKD"),
    ("日元", "JPY"),
];

/// What a quantity measures. Quantities of different dimensions never compare or add.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// Electrical power; base unit W.
    Power,
    /// Calendar time in months; base unit month (1 year = 12 months).
    Months,
    /// Time in days (days do not convert to months).
    Days,
    /// A count of things of one kind (`shares`, `GPUs`); each kind is its own dimension.
    Count(&'static str),
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dimension::Power => f.write_str("power"),
            Dimension::Months => f.write_str("time in months or years"),
            Dimension::Days => f.write_str("time in days"),
            Dimension::Count(what) => write!(f, "count of {what}"),
        }
    }
}

/// A unit of a [`Dimension`]: its spelling and its size in the dimension's base unit.
#[derive(Clone, Copy, Debug)]
pub struct UnitDef {
    /// How the unit is written (`GW`).
    pub symbol: &'static str,
    /// What it measures.
    pub dimension: Dimension,
    /// Size in base units, as a decimal mantissa and scale (`GW` = 1_000_000_000 W).
    factor: (i64, u32),
}

impl UnitDef {
    /// Size of one of this unit in the base unit of its dimension.
    pub fn factor(&self) -> Decimal {
        Decimal::new(self.factor.0, self.factor.1)
    }
}

impl PartialEq for UnitDef {
    fn eq(&self, other: &Self) -> bool {
        self.symbol == other.symbol
    }
}

impl Eq for UnitDef {}

const fn unit(symbol: &'static str, dimension: Dimension, factor: i64) -> UnitDef {
    UnitDef {
        symbol,
        dimension,
        factor: (factor, 0),
    }
}

/// Every unit this version accepts. Singular spellings are accepted and shown as written.
pub const UNITS: &[UnitDef] = &[
    unit("W", Dimension::Power, 1),
    unit("kW", Dimension::Power, 1_000),
    unit("MW", Dimension::Power, 1_000_000),
    unit("GW", Dimension::Power, 1_000_000_000),
    unit("day", Dimension::Days, 1),
    unit("days", Dimension::Days, 1),
    unit("month", Dimension::Months, 1),
    unit("months", Dimension::Months, 1),
    unit("year", Dimension::Months, 12),
    unit("years", Dimension::Months, 12),
    unit("share", Dimension::Count("shares"), 1),
    unit("shares", Dimension::Count("shares"), 1),
    unit("GPU", Dimension::Count("GPUs"), 1),
    unit("GPUs", Dimension::Count("GPUs"), 1),
    unit("chip", Dimension::Count("chips"), 1),
    unit("chips", Dimension::Count("chips"), 1),
    unit("server", Dimension::Count("servers"), 1),
    unit("servers", Dimension::Count("servers"), 1),
    unit("rack", Dimension::Count("racks"), 1),
    unit("racks", Dimension::Count("racks"), 1),
    unit("unit", Dimension::Count("units"), 1),
    unit("units", Dimension::Count("units"), 1),
    unit("site", Dimension::Count("sites"), 1),
    unit("sites", Dimension::Count("sites"), 1),
    unit("data_center", Dimension::Count("data_centers"), 1),
    unit("data_centers", Dimension::Count("data_centers"), 1),
];

/// Singular and plural spellings of the units that have both.
const NUMBER_FORMS: &[(&str, &str)] = &[
    ("day", "days"),
    ("month", "months"),
    ("year", "years"),
    ("share", "shares"),
    ("GPU", "GPUs"),
    ("chip", "chips"),
    ("server", "servers"),
    ("rack", "racks"),
    ("unit", "units"),
    ("site", "sites"),
    ("data_center", "data_centers"),
];

/// How a unit is written next to an amount: singular for exactly one (`1 month`), plural
/// otherwise (`13 months`); units without both forms as they are (`GW`).
pub fn spelling(symbol: &'static str, one: bool) -> &'static str {
    NUMBER_FORMS
        .iter()
        .find(|(s, p)| *s == symbol || *p == symbol)
        .map_or(symbol, |(s, p)| if one { s } else { p })
}

/// Looks up a unit by its exact spelling.
pub fn find_unit(symbol: &str) -> Option<UnitRef> {
    let index = UNITS.iter().position(|u| u.symbol == symbol)?;
    u8::try_from(index).ok().map(UnitRef)
}

/// One of [`UNITS`], by its position there (one byte); it reads as the [`UnitDef`] it names.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnitRef(u8);

impl UnitRef {
    /// The definition of this unit.
    pub fn def(self) -> &'static UnitDef {
        UNITS.get(usize::from(self.0)).unwrap_or(&UNKNOWN_UNIT)
    }
}

impl std::ops::Deref for UnitRef {
    type Target = UnitDef;
    fn deref(&self) -> &UnitDef {
        self.def()
    }
}

impl fmt::Debug for UnitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.def(), f)
    }
}

/// What a [`UnitRef`] outside [`UNITS`] reads as; none is ever made.
const UNKNOWN_UNIT: UnitDef = unit("?", Dimension::Count("?"), 1);

/// The unit of a quantity: a plain unit (`GW`) or money per unit (`USD/share`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A unit from [`UNITS`].
    Plain(UnitRef),
    /// Money per one of a unit: `USD/share`, `USD/GW`.
    MoneyPer(Currency, UnitRef),
}

impl Unit {
    /// Resolves `GW`, `USD/share`, `USD/GW`. Returns `None` when either part is unknown.
    pub fn parse(text: &str) -> Option<Unit> {
        match text.split_once('/') {
            None => find_unit(text).map(Unit::Plain),
            Some((cur, per)) => Some(Unit::MoneyPer(Currency::parse(cur)?, find_unit(per)?)),
        }
    }

    /// The dimension key used to decide whether two quantities compare.
    pub fn dimension_key(&self) -> (Option<Currency>, Dimension) {
        match self {
            Unit::Plain(u) => (None, u.dimension),
            Unit::MoneyPer(c, u) => (Some(*c), u.dimension),
        }
    }

    /// Factor to the base unit of the dimension. For money per unit the base is per base unit
    /// (USD/GW is USD per 1e9 W, so its factor is 1e-9).
    pub fn to_base(&self, amount: Decimal) -> Option<Decimal> {
        match self {
            Unit::Plain(u) => amount.checked_mul(u.factor()),
            Unit::MoneyPer(_, u) => amount.checked_div(u.factor()),
        }
    }

    /// The amount in a unit common to the whole dimension, exactly: plain units in the base unit
    /// (`1 GW` is 1e9), money per unit per the dimension's largest unit (`1 USD/MW` is 1000,
    /// per GW). Used for hashing, so equal quantities get equal keys.
    pub fn key_amount(&self, amount: Decimal) -> Option<Decimal> {
        match self {
            Unit::Plain(u) => amount.checked_mul(u.factor()),
            Unit::MoneyPer(_, u) => {
                let largest = UNITS
                    .iter()
                    .filter(|x| x.dimension == u.dimension)
                    .map(UnitDef::factor)
                    .max()?;
                amount.checked_mul(largest.checked_div(u.factor())?)
            }
        }
    }

    /// A short description of what it measures, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Unit::Plain(u) => u.dimension.to_string(),
            Unit::MoneyPer(c, u) => format!("{c} per {}", u.symbol),
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unit::Plain(u) => f.write_str(u.symbol),
            Unit::MoneyPer(c, u) => write!(f, "{c}/{}", u.symbol),
        }
    }
}

/// Every spelling a unit or currency may take, for "did you mean" suggestions.
pub fn all_spellings() -> impl Iterator<Item = &'static str> {
    CURRENCIES
        .iter()
        .copied()
        .chain(CURRENCY_WORDS.iter().map(|(w, _)| *w))
        .chain(UNITS.iter().map(|u| u.symbol))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_positions_in_a_sorted_table() {
        assert_eq!(Currency::USD.code(), "USD");
        assert_eq!(Currency::parse("USD"), Some(Currency::USD));
        assert!(CURRENCIES.windows(2).all(|w| w[0] < w[1]));
        assert!(CURRENCIES.len() <= usize::from(u8::MAX));
        let (cny, eur) = (Currency::parse("人民币"), Currency::parse("EUR"));
        assert_eq!(cny.map(Currency::code), Some("CNY"));
        assert!(cny < eur);
        assert_eq!(Currency::parse("XYZ"), None);
    }

    #[test]
    fn a_unit_reads_as_its_definition() {
        assert!(UNITS.len() <= usize::from(u8::MAX));
        let gw = find_unit("GW").map(|u| (u.symbol, u.dimension, u.factor()));
        assert_eq!(
            gw,
            Some(("GW", Dimension::Power, Decimal::new(1_000_000_000, 0)))
        );
        assert_eq!(find_unit("gigawatt").map(|u| u.symbol), None);
    }
}
