//! Number, money and quantity literals: from their text to exact values.

use crate::value::{Currency, Money, Quantity, Unit, Value, all_spellings};
use rust_decimal::Decimal;
use std::str::FromStr;

/// Why a literal could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiteralError {
    /// The number does not fit the exact decimal type (28-29 significant digits, about 7.9e28).
    TooLarge,
    /// More than 28 decimal places (`1e-30`).
    TooPrecise,
    /// `¥` alone: JPY or CNY.
    AmbiguousYen,
    /// `USX`: not a known unit or currency; the string is the suggestion, if any.
    UnknownUnit(String, Option<String>),
    /// A date that does not exist (`2025-02-30`), as written.
    BadDate(String),
    /// A date and time where only a date is taken (`fx ... on 2026-03-01T10:00Z`), as written.
    FxTimestamp(String),
    /// A date and time that is not an exact instant (no offset or zone, an unknown zone...).
    BadTimestamp(crate::value::TimeError),
}

impl LiteralError {
    /// The message and the help line.
    pub fn describe(&self) -> (String, Option<String>) {
        match self {
            LiteralError::TooLarge => (
                "number too large for an exact decimal".into(),
                Some("the largest exact value is about 7.9e28".into()),
            ),
            LiteralError::TooPrecise => (
                "number with more than 28 decimal places".into(),
                Some("an exact decimal keeps at most 28 digits after the point".into()),
            ),
            LiteralError::AmbiguousYen => (
                "`¥` is ambiguous: Japanese yen or Chinese yuan".into(),
                Some("write the ISO code: `JPY 100B` or `CNY 100B` (`100B 人民币` or `100B 日元`)".into()),
            ),
            LiteralError::UnknownUnit(u, hint) => (
                format!("unknown unit or currency `{u}`"),
                Some(hint.clone().unwrap_or_else(|| {
                    "currencies are ISO 4217 codes (`USD`, `CNY`); units are `W kW MW GW`, \
                     `days months years`, `shares GPUs chips servers racks units sites data_centers`, \
                     `bps` (basis points), or money per unit such as `USD/share`"
                        .into()
                })),
            ),
            LiteralError::BadDate(text) => (
                format!("`{text}` is not a calendar date"),
                Some("a date is written `YYYY-MM-DD`, a day that the month has".into()),
            ),
            LiteralError::FxTimestamp(text) => (
                "`fx ... on` takes a date, not a timestamp".into(),
                Some(format!(
                    "a rate holds from a day on: write the date alone, `on {}`",
                    text.get(..10).unwrap_or("2026-03-01")
                )),
            ),
            LiteralError::BadTimestamp(e) => e.describe(),
        }
    }
}

/// The parts of a `number` token.
#[derive(Clone, Copy, Debug, Default)]
pub struct NumberParts<'a> {
    /// A leading `-`.
    pub negative: bool,
    /// The integer digits, possibly with `_` separators.
    pub digits: &'a str,
    /// `.5` in `1.5`.
    pub fraction: Option<&'a str>,
    /// `e11` in `1.5e11`.
    pub exponent: Option<&'a str>,
    /// `B` in `100B`.
    pub scale: Option<&'a str>,
}

/// Reads a number exactly: digits with `_`, optional fraction, optional exponent (`1.5e11` is
/// exactly 150000000000) and optional scale word (`K M B T bn 万 亿 万亿`).
pub fn number(parts: NumberParts<'_>) -> Result<Decimal, LiteralError> {
    let mut text: String = parts.digits.chars().filter(|c| *c != '_').collect();
    if let Some(f) = parts.fraction {
        text.push_str(f);
    }
    let mut value = Decimal::from_str_exact(&text).map_err(|_| {
        let decimals = parts.fraction.map_or(0, |f| f.len().saturating_sub(1));
        if decimals > 28 {
            LiteralError::TooPrecise
        } else {
            LiteralError::TooLarge
        }
    })?;
    if let Some(e) = parts.exponent {
        let exp: i64 = e
            .get(1..)
            .unwrap_or("0")
            .trim_start_matches('+')
            .parse()
            .map_err(|_| LiteralError::TooLarge)?;
        if exp.unsigned_abs() > 64 {
            return Err(if exp > 0 {
                LiteralError::TooLarge
            } else {
                LiteralError::TooPrecise
            });
        }
        for _ in 0..exp.unsigned_abs() {
            value = if exp > 0 {
                value
                    .checked_mul(Decimal::TEN)
                    .ok_or(LiteralError::TooLarge)?
            } else {
                let scaled = value
                    .checked_div(Decimal::TEN)
                    .ok_or(LiteralError::TooPrecise)?;
                if scaled.checked_mul(Decimal::TEN) != Some(value) {
                    return Err(LiteralError::TooPrecise);
                }
                scaled
            };
        }
    }
    if let Some(scale) = parts.scale {
        let factor: i64 = match scale {
            "K" => 1_000,
            "M" => 1_000_000,
            "B" | "bn" => 1_000_000_000,
            "T" | "万亿" => 1_000_000_000_000,
            "万" => 10_000,
            "亿" => 100_000_000,
            _ => 1,
        };
        value = value
            .checked_mul(Decimal::from(factor))
            .ok_or(LiteralError::TooLarge)?;
    }
    if parts.negative {
        value = -value;
    }
    Ok(value)
}

/// `amount` percent (`per` 100) or basis points (`per` 10 000) as a ratio: `35%` is 0.35. A ratio
/// that would need more than 28 decimal places is an error, never rounded.
pub fn ratio(amount: Decimal, per: u32) -> Result<Value, LiteralError> {
    let per = Decimal::from(per);
    let ratio = amount.checked_div(per).ok_or(LiteralError::TooLarge)?;
    if ratio.checked_mul(per) != Some(amount) {
        return Err(LiteralError::TooPrecise);
    }
    Ok(Value::Percent(ratio))
}

/// Attaches a unit or currency (as written) to an amount.
pub fn with_unit(amount: Decimal, unit: &str) -> Result<Value, LiteralError> {
    if unit == "bps" {
        // Basis points: 25 bps is 0.25%, the ratio 0.0025.
        return ratio(amount, 10_000);
    }
    if let Some(currency) = Currency::parse(unit) {
        return Ok(Value::Money(Money {
            amount,
            currency,
            ceiling: false,
        }));
    }
    if let Some(unit) = Unit::parse(unit) {
        return Ok(Value::Quantity(Quantity {
            amount,
            unit,
            ceiling: false,
        }));
    }
    let hint = crate::diag::did_you_mean(unit, all_spellings());
    Err(LiteralError::UnknownUnit(unit.to_string(), hint))
}

/// Reads `YYYY-MM-DD`.
pub fn date(text: &str) -> Result<Value, LiteralError> {
    jiff::civil::Date::from_str(text)
        .map(Value::Date)
        .map_err(|_| LiteralError::BadDate(text.to_string()))
}

/// Reads the date of `fx ... on 2026-03-01`: a date; a date and time is an error.
pub fn fx_date(text: &str) -> Result<Value, LiteralError> {
    if text.len() > 10 {
        return Err(LiteralError::FxTimestamp(text.to_string()));
    }
    date(text)
}

/// Reads a timestamp: `2026-03-01T10:00:00+08:00`, `2026-03-01T10:00Z`,
/// `2026-03-01T10:00 [Asia/Shanghai]`. Without an offset or a zone it is an error.
pub fn timestamp(text: &str) -> Result<Value, LiteralError> {
    crate::value::Timestamp::parse(text)
        .map(Value::Timestamp)
        .map_err(LiteralError::BadTimestamp)
}

/// Resolves the escapes of a string literal's inner text.
pub fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    // The text up to each backslash is copied as it is.
    while let Some(at) = rest.find('\\') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let mut chars = rest.get(at + 1..).unwrap_or_default().chars();
        out.push(escaped(&mut chars)?);
        rest = chars.as_str();
    }
    out.push_str(rest);
    Ok(out)
}

/// The character of the escape whose backslash was just read, from `chars` (which it
/// consumes): `\"`, `\\`, `\n`, `\t` or `\u{HEX}`.
fn escaped(chars: &mut std::str::Chars<'_>) -> Result<char, String> {
    match chars.next() {
        Some('"') => Ok('"'),
        Some('\\') => Ok('\\'),
        Some('n') => Ok('\n'),
        Some('t') => Ok('\t'),
        Some('u') => {
            let rest: String = chars.by_ref().take_while(|c| *c != '}').collect();
            let hex = rest.strip_prefix('{').ok_or("expected `\\u{...}`")?;
            let code = u32::from_str_radix(hex, 16)
                .map_err(|_| format!("`\\u{{{hex}}}` is not hexadecimal"))?;
            char::from_u32(code).ok_or(format!("`\\u{{{hex}}}` is not a character"))
        }
        Some(other) => Err(format!("unknown escape `\\{other}`")),
        None => Err("a string cannot end with `\\`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str, scale: Option<&str>) -> Decimal {
        let (digits, fraction) = match s.find('.') {
            Some(i) => (&s[..i], Some(&s[i..])),
            None => (s, None),
        };
        number(NumberParts {
            digits,
            fraction,
            scale,
            ..NumberParts::default()
        })
        .unwrap_or_default()
    }

    #[test]
    fn exponents_are_exact() {
        let e = |digits, fraction, exponent| {
            number(NumberParts {
                digits,
                fraction,
                exponent: Some(exponent),
                ..NumberParts::default()
            })
        };
        assert_eq!(e("1", Some(".5"), "e11"), Ok(n("150000000000", None)));
        assert_eq!(e("25", None, "E-4"), Ok(n("0.0025", None)));
        assert_eq!(e("1", None, "e-29"), Err(LiteralError::TooPrecise));
        assert_eq!(e("1", None, "e30"), Err(LiteralError::TooLarge));
    }

    #[test]
    fn basis_points_are_percentages() {
        assert_eq!(
            with_unit(Decimal::from(25), "bps"),
            Ok(Value::Percent(n("0.0025", None)))
        );
    }

    #[test]
    fn scales_are_exact() {
        assert_eq!(n("100", Some("B")).to_string(), "100000000000");
        assert_eq!(n("1.5", Some("T")).to_string(), "1500000000000.0");
        assert_eq!(n("1000", Some("亿")), n("100", Some("B")));
        assert_eq!(n("1.2", Some("万亿")), n("1.2", Some("T")));
        assert_eq!(n("1_234.56", None), n("1234.56", None));
        assert_eq!(n("3", Some("万")).to_string(), "30000");
    }

    #[test]
    fn too_large_is_an_error() {
        let parts = NumberParts {
            digits: "99999999999999999999999999999",
            scale: Some("T"),
            ..NumberParts::default()
        };
        assert_eq!(number(parts), Err(LiteralError::TooLarge));
    }

    #[test]
    fn a_ratio_too_small_for_28_decimal_places_is_an_error_never_zero() {
        let tiny = Decimal::new(1, 28);
        assert_eq!(ratio(tiny, 100), Err(LiteralError::TooPrecise));
        assert_eq!(with_unit(tiny, "bps"), Err(LiteralError::TooPrecise));
        assert_eq!(
            ratio(Decimal::new(35, 0), 100),
            Ok(Value::Percent(Decimal::new(35, 2)))
        );
        assert_eq!(
            with_unit(Decimal::new(25, 0), "bps"),
            Ok(Value::Percent(Decimal::new(25, 4)))
        );
    }

    #[test]
    fn chinese_currency_words() {
        let v = with_unit(Decimal::ONE, "美元");
        assert_eq!(v.map(|v| v.to_string()), Ok("1 USD".to_string()));
        let v = with_unit(Decimal::ONE, "人民币");
        assert_eq!(v.map(|v| v.to_string()), Ok("1 CNY".to_string()));
    }

    #[test]
    fn unknown_unit_suggests() {
        assert_eq!(
            with_unit(Decimal::ONE, "USX"),
            Err(LiteralError::UnknownUnit(
                "USX".into(),
                Some("did you mean `USD`?".into())
            ))
        );
    }

    #[test]
    fn dates_and_fx_dates_are_read_with_our_own_messages() {
        let described = |r: Result<Value, LiteralError>| r.err().map(|e| e.describe());
        assert_eq!(
            described(date("2025-02-30")),
            Some((
                "`2025-02-30` is not a calendar date".to_string(),
                Some("a date is written `YYYY-MM-DD`, a day that the month has".to_string())
            ))
        );
        assert_eq!(
            described(fx_date("2026-03-01T10:00Z")),
            Some((
                "`fx ... on` takes a date, not a timestamp".to_string(),
                Some(
                    "a rate holds from a day on: write the date alone, `on 2026-03-01`".to_string()
                )
            ))
        );
        assert!(fx_date("2026-03-01").is_ok());
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#"a\"b\\c\u{4e2d}"#), Ok("a\"b\\c中".to_string()));
        assert!(unescape(r"\q").is_err());
        assert_eq!(unescape("plain"), Ok("plain".to_string()));
        assert_eq!(unescape(r"\n\t"), Ok("\n\t".to_string()));
        assert!(unescape("ends\\").is_err());
    }

    /// The escapes resolved one character at a time: what [`unescape`], which copies the
    /// text between escapes whole, must give.
    fn unescape_by_char(raw: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            out.push(if c == '\\' { escaped(&mut chars)? } else { c });
        }
        Ok(out)
    }

    proptest::proptest! {
        #[test]
        fn unescape_copies_runs_as_characters_would(
            raw in r#"([a-z中 ]|\\["\\ntq]|\\u\{[0-9a-fx]{0,7}\}?|\\)*"#
        ) {
            proptest::prop_assert_eq!(unescape(&raw), unescape_by_char(&raw));
        }
    }
}
