//! Number, money and quantity literals: from their text to exact values.

use crate::value::{Currency, Money, Quantity, Unit, Value, all_spellings};
use rust_decimal::Decimal;
use std::str::FromStr;

/// Why a literal could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiteralError {
    /// The number does not fit the exact decimal type (28-29 significant digits, about 7.9e28).
    TooLarge,
    /// `USX`: not a known unit or currency; the string is the suggestion, if any.
    UnknownUnit(String, Option<String>),
    /// A date that does not exist (`2025-02-30`).
    BadDate(String),
}

impl LiteralError {
    /// The message and the help line.
    pub fn describe(&self) -> (String, Option<String>) {
        match self {
            LiteralError::TooLarge => (
                "number too large for an exact decimal".into(),
                Some("the largest exact value is about 7.9e28".into()),
            ),
            LiteralError::UnknownUnit(u, hint) => (
                format!("unknown unit or currency `{u}`"),
                Some(hint.clone().unwrap_or_else(|| {
                    "currencies are ISO 4217 codes (`USD`, `CNY`); units are `W kW MW GW`, \
                     `days months years`, `shares GPUs chips servers racks units sites data_centers`, \
                     or money per unit such as `USD/share`"
                        .into()
                })),
            ),
            LiteralError::BadDate(why) => ("not a calendar date".into(), Some(why.clone())),
        }
    }
}

/// Reads the parts of a `number` token: optional `-`, digits with `_`, optional fraction and
/// optional scale word (`K M B T bn 万 亿 万亿`).
pub fn number(
    sign: bool,
    digits: &str,
    fraction: Option<&str>,
    scale: Option<&str>,
) -> Result<Decimal, LiteralError> {
    let mut text: String = digits.chars().filter(|c| *c != '_').collect();
    if let Some(f) = fraction {
        text.push_str(f);
    }
    let mut value = Decimal::from_str_exact(&text).map_err(|_| LiteralError::TooLarge)?;
    if let Some(scale) = scale {
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
    if sign {
        value = -value;
    }
    Ok(value)
}

/// Attaches a unit or currency (as written) to an amount.
pub fn with_unit(amount: Decimal, unit: &str) -> Result<Value, LiteralError> {
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
        .map_err(|e| LiteralError::BadDate(e.to_string()))
}

/// Resolves the escapes of a string literal's inner text.
pub fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let rest: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let hex = rest.strip_prefix('{').ok_or("expected `\\u{...}`")?;
                let code = u32::from_str_radix(hex, 16)
                    .map_err(|_| format!("`\\u{{{hex}}}` is not hexadecimal"))?;
                out.push(char::from_u32(code).ok_or(format!("`\\u{{{hex}}}` is not a character"))?);
            }
            Some(other) => return Err(format!("unknown escape `\\{other}`")),
            None => return Err("a string cannot end with `\\`".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str, scale: Option<&str>) -> Decimal {
        let (digits, fraction) = match s.find('.') {
            Some(i) => (&s[..i], Some(&s[i..])),
            None => (s, None),
        };
        number(false, digits, fraction, scale).unwrap_or_default()
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
        assert_eq!(
            number(false, "99999999999999999999999999999", None, Some("T")),
            Err(LiteralError::TooLarge)
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
    fn escapes() {
        assert_eq!(unescape(r#"a\"b\\c\u{4e2d}"#), Ok("a\"b\\c中".to_string()));
        assert!(unescape(r"\q").is_err());
    }
}
