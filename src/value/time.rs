//! Timestamps: instants written with an offset (`2026-03-01T10:00:00+08:00`, `...Z`) or with a
//! named zone (`2026-03-01T10:00 [Asia/Shanghai]`), and the time zone database they are read
//! with.
//!
//! The database is the IANA database bundled into the binary by `jiff` (feature
//! `tzdb-bundle-always`); the machine's `/usr/share/zoneinfo` and its `TZ` are never read, so
//! every machine reads the same zones and gives the same results.

use super::Date;
use jiff::tz::{Offset, TimeZone, TimeZoneDatabase};
use std::cmp::Ordering;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The bundled IANA time zone database (never the machine's).
pub fn zones() -> &'static TimeZoneDatabase {
    static DB: OnceLock<TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(TimeZoneDatabase::bundled)
}

/// The zone named `name` (`Asia/Shanghai`, `UTC`; case-insensitive), with its canonical name.
pub fn zone(name: &str) -> Option<(Arc<str>, TimeZone)> {
    let tz = zones().get(name).ok()?;
    let canonical = tz.iana_name().unwrap_or(name);
    Some((Arc::from(canonical), tz))
}

/// "did you mean `Asia/Shanghai`?" for a zone name that is not in the database.
pub fn zone_suggestion(name: &str) -> Option<String> {
    let names: Vec<String> = zones()
        .available()
        .map(|n| n.as_str().to_string())
        .collect();
    crate::diag::did_you_mean(name, names.iter().map(String::as_str))
}

/// A fiscal year end written `MM-DD` (`06-30`): the month and day, when they are a day of every
/// year (`02-29` is not).
pub fn month_day(text: &str) -> Option<(i8, i8)> {
    let (m, d) = text.split_once('-')?;
    if m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (m, d): (i8, i8) = (m.parse().ok()?, d.parse().ok()?);
    jiff::civil::Date::new(2001, m, d).ok()?;
    Some((m, d))
}

/// Why a fiscal year end (`written`, the text or name given, if any) is refused: the message
/// and the help line.
pub fn year_end_refused(written: Option<&str>) -> (String, String) {
    let example = "write the last day of the fiscal year as `\"MM-DD\"`: \
                   `fiscal_year_end: \"06-30\"`";
    let leap_day = written
        .and_then(|t| t.split_once('-'))
        .filter(|(m, d)| digits(m, 2) && digits(d, 2))
        .and_then(|(m, d)| Some((m.parse::<i8>().ok()?, d.parse::<i8>().ok()?)))
        .filter(|&(m, d)| jiff::civil::Date::new(2000, m, d).is_ok());
    match (written, leap_day) {
        (Some(t), Some((m, _))) => (
            format!("`{t}` is refused: not every year has it"),
            format!(
                "use the last day every year has: `\"{m:02}-{:02}\"`",
                jiff::civil::Date::new(2001, m, 1)
                    .map(|d| d.days_in_month())
                    .unwrap_or(28)
            ),
        ),
        (Some(t), None) => (format!("`{t}` is not a month and day"), example.into()),
        (None, _) => (
            "`fiscal_year_end` must be a month and day in quotes".into(),
            example.into(),
        ),
    }
}

/// The message and help for a month and day written without quotes (`06-30`).
pub fn unquoted_month_day(text: &str) -> (String, String) {
    (
        format!("quote the year end: `\"{text}\"`"),
        "a month and day is written in quotes, as `\"MM-DD\"`".into(),
    )
}

/// How a timestamp was written, kept so that it is shown and written back the same way.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Written {
    /// `Z`.
    Zulu,
    /// A numeric offset (`+08:00`).
    Offset,
    /// `-00:00`: UTC, written so (RFC 3339's "local offset unknown"), shown back so.
    MinusZero,
    /// A named zone (`[Asia/Shanghai]`), by its canonical name.
    Zone(Arc<str>),
}

/// An instant, with the offset or zone it was written with. Two timestamps compare by their
/// instant only: `2026-03-01T10:00:00+08:00 == 2026-03-01T02:00:00Z`.
///
/// Shared behind an `Arc`, so that a [`Value`](crate::Value) holding one stays three words.
#[derive(Clone, Debug)]
pub struct Timestamp(Arc<Stamp>);

/// The parts of a [`Timestamp`].
#[derive(Debug)]
struct Stamp {
    /// The instant in the zone it was written with (a fixed offset, or the named zone).
    zoned: jiff::ZonedDateTime,
    written: Written,
}

/// Why a timestamp could not be made or moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// A date-time without an offset or a zone.
    NoZone,
    /// A zone name not in the database; with a suggestion.
    UnknownZone(String, Option<String>),
    /// A civil time that does not exist (skipped) or exists twice (repeated) in the zone.
    Ambiguous {
        /// The zone.
        zone: String,
        /// The time as written.
        civil: jiff::civil::DateTime,
        /// `true` when the time was skipped (a gap), `false` when repeated (a fold).
        gap: bool,
        /// The zone's offset before the change.
        before: Offset,
        /// The zone's offset after the change.
        after: Offset,
    },
    /// An offset that the named zone does not have at that time.
    OffsetMismatch {
        /// The offset written.
        written: Offset,
        /// The zone.
        zone: String,
        /// The zone's offset at that time.
        actual: Offset,
    },
    /// Not written as a date and time: the part at fault, as written, and what is wrong with it.
    Malformed(String, Form),
    /// Outside the supported range of instants.
    OutOfRange,
}

/// What is wrong with the way a timestamp is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// A year that is not four digits (`12026`).
    Year,
    /// A month or day that is not one of the calendar (`2026-02-30`).
    Date,
    /// A lower-case `t` or `z`.
    Case,
    /// A space (or anything else) between the date and the time instead of `T`.
    Separator,
    /// An hour not from 00 to 23 (`24:00`).
    Hour,
    /// Minutes or seconds not from 00 to 59, or not two digits.
    Minute,
    /// The leap second `:60`.
    LeapSecond,
    /// More than 9 digits after the seconds' point.
    Fraction,
    /// An offset not written `+HH:MM` with hours 00 to 23 and minutes 00 to 59.
    Offset,
    /// Empty brackets `[]`.
    EmptyZone,
    /// Anything else (text after the offset).
    Other,
}

/// `text` is `n` digits (and nothing else).
fn digits(text: &str, n: usize) -> bool {
    text.len() == n && text.bytes().all(|b| b.is_ascii_digit())
}

/// Two digits from 00 to `max`.
fn two_digits(text: &str, max: u8) -> bool {
    digits(text, 2) && text.parse::<u8>().is_ok_and(|v| v <= max)
}

/// Checks the written form of a timestamp without its zone (`2026-03-01T10:00:00.5+08:00`),
/// part by part, so that each mistake gets its own message. Returns the form it is in.
fn check_form(head: &str) -> Result<(), TimeError> {
    let bad = |part: &str, form: Form| TimeError::Malformed(part.to_string(), form);
    // The date: `YYYY-MM-DD`.
    let year_len = head.find('-').unwrap_or(head.len());
    let (year, rest) = head.split_at(year_len);
    if !digits(year, 4) {
        return Err(bad(year, Form::Year));
    }
    let date_text = head.get(..10).unwrap_or(head);
    let (month, day) = (rest.get(1..3).unwrap_or(""), rest.get(4..6).unwrap_or(""));
    let date_ok = rest.get(..1) == Some("-")
        && rest.get(3..4) == Some("-")
        && digits(month, 2)
        && digits(day, 2)
        && match (year.parse::<i16>(), month.parse::<i8>(), day.parse::<i8>()) {
            (Ok(y), Ok(m), Ok(d)) => jiff::civil::Date::new(y, m, d).is_ok(),
            _ => false,
        };
    if !date_ok {
        return Err(bad(date_text, Form::Date));
    }
    // `T`, then `HH:MM`, `:SS`, `.fraction`.
    let rest = rest.get(6..).unwrap_or("");
    let mut chars = rest.chars();
    match chars.next() {
        Some('T') => {}
        Some('t') => return Err(bad("t", Form::Case)),
        Some(c) => return Err(bad(&c.to_string(), Form::Separator)),
        None => return Err(TimeError::NoZone),
    }
    let rest = chars.as_str();
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (time, offset) = rest.split_at(zone_at);
    let (hms, fraction) = match time.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (time, None),
    };
    let mut parts = hms.split(':');
    let hour = parts.next().unwrap_or("");
    if !two_digits(hour, 23) {
        return Err(bad(hour, Form::Hour));
    }
    let minute = parts.next().unwrap_or("");
    if !two_digits(minute, 59) {
        return Err(bad(minute, Form::Minute));
    }
    if let Some(second) = parts.next() {
        if second == "60" {
            return Err(bad(hms, Form::LeapSecond));
        }
        if !two_digits(second, 59) {
            return Err(bad(second, Form::Minute));
        }
    }
    if let Some(extra) = parts.next() {
        return Err(bad(extra, Form::Other));
    }
    if let Some(f) = fraction {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(f, Form::Other));
        }
        if f.len() > 9 {
            return Err(bad(f, Form::Fraction));
        }
    }
    // `Z` or `+HH:MM`.
    match offset.get(..1) {
        None | Some("Z") if offset.len() <= 1 => Ok(()),
        Some("z") => Err(bad("z", Form::Case)),
        Some("+" | "-") => {
            let ok = offset.len() == 6
                && offset.get(3..4) == Some(":")
                && two_digits(offset.get(1..3).unwrap_or(""), 23)
                && two_digits(offset.get(4..6).unwrap_or(""), 59);
            if ok {
                Ok(())
            } else {
                Err(bad(offset, Form::Offset))
            }
        }
        _ => Err(bad(offset, Form::Other)),
    }
}

/// An offset written `+08:00`, `-05:00`, `+05:45` (seconds only when it has some).
pub fn offset_text(offset: Offset) -> String {
    let total = offset.seconds();
    let sign = if total < 0 { '-' } else { '+' };
    let abs = total.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs % 3600 / 60, abs % 60);
    if s == 0 {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

/// A civil date and time as a user writes it: `2026-10-25T01:30`, seconds when there are some.
fn civil_text(civil: jiff::civil::DateTime) -> String {
    if civil.second() == 0 && civil.subsec_nanosecond() == 0 {
        format!("{}T{:02}:{:02}", civil.date(), civil.hour(), civil.minute())
    } else {
        civil.to_string()
    }
}

impl Timestamp {
    /// Reads `2026-03-01T10:00:00+08:00`, `2026-03-01T10:00Z`, `2026-03-01T10:00 [Asia/Shanghai]`
    /// (a space before `[` is optional) and `2026-11-01T01:30-04:00 [America/New_York]` (the
    /// offset then says which of two repeated times is meant, and must be the zone's).
    pub fn parse(text: &str) -> Result<Timestamp, TimeError> {
        let (head, zone_name) = match text.split_once('[') {
            Some((head, rest)) => {
                let (name, after) = rest.split_once(']').unwrap_or((rest, "]"));
                if !after.is_empty() {
                    return Err(TimeError::Malformed(after.trim().to_string(), Form::Other));
                }
                (
                    head.trim_end_matches([' ', '\t']),
                    Some(name.trim_matches([' ', '\t'])),
                )
            }
            None => (text, None),
        };
        check_form(head)?;
        if zone_name == Some("") {
            return Err(TimeError::Malformed("[]".into(), Form::EmptyZone));
        }
        // The form is checked above: jiff's own message is never shown.
        let pieces = jiff::fmt::temporal::Pieces::parse(head)
            .map_err(|_| TimeError::Malformed(head.to_string(), Form::Other))?;
        let time = pieces.time().ok_or(TimeError::NoZone)?;
        let civil = pieces.date().to_datetime(time);
        let offset = pieces.offset();
        let zulu = matches!(offset, Some(jiff::fmt::temporal::PiecesOffset::Zulu));
        let numeric = pieces.to_numeric_offset();
        match zone_name {
            Some(name) => {
                let (canonical, tz) = zone(name).ok_or_else(|| {
                    TimeError::UnknownZone(name.to_string(), zone_suggestion(name))
                })?;
                let zoned = match numeric {
                    // RFC 9557: `Z` with a zone is this instant in UTC, shown in the zone.
                    Some(off) if zulu => TimeZone::fixed(off)
                        .to_zoned_datetime(civil)
                        .map_err(|_| TimeError::OutOfRange)?
                        .timestamp()
                        .to_zoned_datetime(tz),
                    Some(off) => {
                        let at = TimeZone::fixed(off)
                            .to_zoned_datetime(civil)
                            .map_err(|_| TimeError::OutOfRange)?;
                        let actual = tz.to_offset(at.timestamp());
                        if actual != off {
                            return Err(TimeError::OffsetMismatch {
                                written: off,
                                zone: canonical.to_string(),
                                actual,
                            });
                        }
                        at.timestamp().to_zoned_datetime(tz)
                    }
                    None => {
                        let ambiguous = tz.to_ambiguous_zoned_datetime(civil);
                        let (gap, before, after) = match ambiguous.offset() {
                            jiff::tz::AmbiguousOffset::Gap { before, after } => {
                                (true, before, after)
                            }
                            jiff::tz::AmbiguousOffset::Fold { before, after } => {
                                (false, before, after)
                            }
                            jiff::tz::AmbiguousOffset::Unambiguous { offset } => {
                                (false, offset, offset)
                            }
                        };
                        ambiguous.unambiguous().map_err(|_| TimeError::Ambiguous {
                            zone: canonical.to_string(),
                            civil,
                            gap,
                            before,
                            after,
                        })?
                    }
                };
                Ok(Timestamp(Arc::new(Stamp {
                    zoned,
                    written: Written::Zone(canonical),
                })))
            }
            None => {
                let off = numeric.ok_or(TimeError::NoZone)?;
                let zoned = TimeZone::fixed(off)
                    .to_zoned_datetime(civil)
                    .map_err(|_| TimeError::OutOfRange)?;
                let written = if zulu {
                    Written::Zulu
                } else if head.ends_with("-00:00") {
                    Written::MinusZero
                } else {
                    Written::Offset
                };
                Ok(Timestamp(Arc::new(Stamp { zoned, written })))
            }
        }
    }

    /// The instant.
    pub fn instant(&self) -> jiff::Timestamp {
        self.0.zoned.timestamp()
    }

    /// The offset from UTC at the instant, as written or as the named zone has it.
    pub fn offset(&self) -> Offset {
        self.0.zoned.offset()
    }

    /// The named zone it was written with, if any.
    pub fn zone_name(&self) -> Option<&str> {
        match &self.0.written {
            Written::Zone(name) => Some(name),
            _ => None,
        }
    }

    /// RFC 3339 with the offset as written (`Z` when written `Z`), seconds always shown and a
    /// fraction only when there is one: `2026-03-01T10:00:00+08:00`.
    pub fn rfc3339(&self) -> String {
        match self.0.written {
            Written::Zulu => self.instant().to_string(),
            Written::MinusZero => {
                let utc = self.instant().display_with_offset(Offset::UTC).to_string();
                match utc.strip_suffix("+00:00") {
                    Some(stem) => format!("{stem}-00:00"),
                    None => utc,
                }
            }
            _ => self
                .instant()
                .display_with_offset(self.offset())
                .to_string(),
        }
    }

    /// The calendar date of the instant in `tz`.
    pub fn date_in(&self, tz: &TimeZone) -> Date {
        tz.to_datetime(self.instant()).date()
    }

    /// Moved by a calendar span (days, months) in the zone it was written with: a day is the
    /// same time of day on the next calendar day, across a daylight-saving change too.
    pub fn shift(&self, span: jiff::Span) -> Result<Timestamp, TimeError> {
        let zoned = self
            .0
            .zoned
            .checked_add(span)
            .map_err(|_| TimeError::OutOfRange)?;
        Ok(Timestamp(Arc::new(Stamp {
            zoned,
            written: self.0.written.clone(),
        })))
    }

    /// Whole calendar months from `self` to `other`, as between their calendar dates taken in
    /// the zone of `self` (the time of day plays no part, as for two dates), truncated toward
    /// zero.
    pub fn months_until(&self, other: &Timestamp) -> Result<i64, TimeError> {
        let from = self.0.zoned.date();
        let to = other.date_in(self.0.zoned.time_zone());
        let span = from
            .until((jiff::Unit::Month, to))
            .map_err(|_| TimeError::OutOfRange)?;
        Ok(i64::from(span.get_months()))
    }
}

impl PartialEq for Timestamp {
    /// The same instant written the same way (the meaning of a literal); the engine's `==`
    /// compares instants only (see [`Timestamp::cmp_instant`]).
    fn eq(&self, other: &Timestamp) -> bool {
        self.instant() == other.instant()
            && self.offset() == other.offset()
            && self.0.written == other.0.written
    }
}

impl Eq for Timestamp {}

impl Timestamp {
    /// Orders two timestamps by instant, whatever their offsets or zones.
    pub fn cmp_instant(&self, other: &Timestamp) -> Ordering {
        self.instant().cmp(&other.instant())
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 with the offset, then the zone in brackets when written with one:
    /// `2026-03-01T10:00:00+08:00 [Asia/Shanghai]` (read back as the same timestamp).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())?;
        if let Written::Zone(name) = &self.0.written {
            write!(f, " [{name}]")?;
        }
        Ok(())
    }
}

impl TimeError {
    /// The message and the help line.
    pub fn describe(&self) -> (String, Option<String>) {
        match self {
            TimeError::NoZone => (
                "a date and time without an offset or a time zone".into(),
                Some(
                    "the engine never reads a time in the machine's zone; add the offset \
                     (`2026-03-01T10:00:00+08:00`, `Z` for UTC) or the zone \
                     (`2026-03-01T10:00 [Asia/Shanghai]`)"
                        .into(),
                ),
            ),
            TimeError::UnknownZone(name, hint) => (
                format!("unknown time zone `{name}`"),
                Some(hint.clone().unwrap_or_else(|| {
                    "zones are IANA names such as `Asia/Shanghai`, `America/New_York`, `UTC`".into()
                })),
            ),
            TimeError::Ambiguous {
                zone,
                civil,
                gap: true,
                before,
                after,
            } => {
                let later = jiff::SignedDuration::from_secs(i64::from(
                    after.seconds().saturating_sub(before.seconds()),
                ));
                let moved = civil
                    .checked_add(later)
                    .map_or_else(|_| civil_text(*civil), civil_text);
                (
                    format!(
                        "`{}` does not exist in `{zone}`: the clocks skip it",
                        civil_text(*civil)
                    ),
                    Some(format!(
                        "`{zone}` moves from `{}` to `{}` then; write the time after the \
                         change: `{moved}{} [{zone}]`",
                        offset_text(*before),
                        offset_text(*after),
                        offset_text(*after),
                    )),
                )
            }
            TimeError::Ambiguous {
                zone,
                civil,
                gap: false,
                before,
                after,
            } => {
                let c = civil_text(*civil);
                (
                    format!("`{c}` happens twice in `{zone}`: the clocks go back over it"),
                    Some(format!(
                        "write the offset to say which: `{c}{} [{zone}]` is the first, \
                         `{c}{} [{zone}]` the second",
                        offset_text(*before),
                        offset_text(*after),
                    )),
                )
            }
            TimeError::OffsetMismatch {
                written,
                zone,
                actual,
            } => (
                format!(
                    "the offset `{}` is not the offset of `{zone}` at this time",
                    offset_text(*written)
                ),
                Some(format!("`{zone}` is at `{}` then", offset_text(*actual))),
            ),
            TimeError::Malformed(part, form) => form.describe(part),
            TimeError::OutOfRange => (
                "a date and time out of range".into(),
                Some(
                    "the last instant is `9999-12-30T22:00:00Z`, the last that every offset can \
                     show; write an earlier time"
                        .into(),
                ),
            ),
        }
    }
}

impl Form {
    /// The message and the help line for `part`, the part written wrong.
    fn describe(self, part: &str) -> (String, Option<String>) {
        let (message, help) = match self {
            Form::Year => (
                format!("`{part}` is not a year of four digits"),
                "years are 0000 to 9999",
            ),
            Form::Date => (
                format!("`{part}` is not a calendar date"),
                "a date is written `YYYY-MM-DD`, a day that the month has",
            ),
            Form::Case => (
                format!("`{part}` is in lower case"),
                "write `T` and `Z` in upper case: `2026-03-01T10:00:00Z`",
            ),
            Form::Separator => (
                "the date and the time are not joined by `T`".to_string(),
                "write `T` between the date and the time: `2026-03-01T10:00:00Z`",
            ),
            Form::Hour => (
                format!("`{part}` is not an hour"),
                "hours are 00 to 23, written with two digits; midnight at the end of a day is \
                 `T00:00` of the next",
            ),
            Form::Minute => (
                format!("`{part}` is not a minute or a second"),
                "minutes and seconds are 00 to 59, written with two digits",
            ),
            Form::LeapSecond => (
                format!("`{part}` is a leap second"),
                "the engine does not count leap seconds; write `23:59:59`",
            ),
            Form::Fraction => (
                format!("`.{part}` has more than 9 digits"),
                "at most 9 digits after the seconds' point (nanoseconds)",
            ),
            Form::Offset => (
                format!("`{part}` is not an offset"),
                "an offset is written `+HH:MM` or `-HH:MM`, hours 00 to 23 and minutes 00 to \
                 59 (`+08:00`), or `Z` for UTC",
            ),
            Form::EmptyZone => (
                "the brackets name no time zone".to_string(),
                "name an IANA zone in the brackets: `[Asia/Shanghai]`",
            ),
            Form::Other => (
                format!("cannot read `{part}` in a date and time"),
                "a timestamp is written `2026-03-01T10:00:00+08:00`, `2026-03-01T02:00Z` or \
                 `2026-03-01T10:00 [Asia/Shanghai]`",
            ),
        };
        (message, Some(help.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        match Timestamp::parse(s) {
            Ok(t) => t,
            Err(e) => unreachable!("{s}: {e:?}"),
        }
    }

    #[test]
    fn offsets_and_zones_read_to_the_same_instant() {
        let a = ts("2026-03-01T10:00:00+08:00");
        let b = ts("2026-03-01T02:00Z");
        let c = ts("2026-03-01T10:00 [Asia/Shanghai]");
        let d = ts("2026-03-01T10:00[asia/shanghai]");
        assert_eq!(a.cmp_instant(&b), Ordering::Equal);
        assert_eq!(a.cmp_instant(&c), Ordering::Equal);
        assert_eq!(c, d);
        assert_ne!(a, b);
        assert_eq!(a.to_string(), "2026-03-01T10:00:00+08:00");
        assert_eq!(b.to_string(), "2026-03-01T02:00:00Z");
        assert_eq!(c.to_string(), "2026-03-01T10:00:00+08:00 [Asia/Shanghai]");
        assert_eq!(ts(&c.to_string()), c);
        assert_eq!(
            ts("2026-03-01T10:00:00.25-05:00").to_string(),
            "2026-03-01T10:00:00.25-05:00"
        );
    }

    #[test]
    fn minus_zero_is_shown_as_written_and_z_with_a_zone_is_that_instant_in_the_zone() {
        let m = ts("2026-03-01T10:00:00-00:00");
        assert_eq!(m.to_string(), "2026-03-01T10:00:00-00:00");
        assert_eq!(ts(&m.to_string()), m);
        assert_eq!(m.cmp_instant(&ts("2026-03-01T10:00Z")), Ordering::Equal);
        let z = ts("2026-03-01T02:00Z [Asia/Shanghai]");
        assert_eq!(z.to_string(), "2026-03-01T10:00:00+08:00 [Asia/Shanghai]");
        assert_eq!(z, ts("2026-03-01T10:00 [Asia/Shanghai]"));
    }

    #[test]
    fn spaces_and_tabs_around_the_zone_are_allowed() {
        let c = ts("2026-03-01T10:00 [Asia/Shanghai]");
        for text in [
            "2026-03-01T10:00  [Asia/Shanghai]",
            "2026-03-01T10:00\t[Asia/Shanghai]",
            "2026-03-01T10:00 [ Asia/Shanghai ]",
            "2026-03-01T10:00[\tAsia/Shanghai]",
        ] {
            assert_eq!(ts(text), c, "{text}");
        }
    }

    #[test]
    fn each_mistake_in_the_form_is_named() {
        let form = |s: &str| match Timestamp::parse(s) {
            Err(TimeError::Malformed(part, form)) => (part, form),
            other => unreachable!("{s}: {other:?}"),
        };
        let cases = [
            ("2026-03-01T10:00:00+25:00", "+25:00", Form::Offset),
            ("2026-03-01T10:00:00+08:60", "+08:60", Form::Offset),
            ("2026-03-01T10:00:00+08", "+08", Form::Offset),
            ("2026-03-01T10:00:00+0800", "+0800", Form::Offset),
            ("2026-03-01t10:00:00Z", "t", Form::Case),
            ("2026-03-01T10:00:00z", "z", Form::Case),
            ("2026-03-01 10:00:00Z", " ", Form::Separator),
            (
                "2026-03-01T10:00:00.1234567890Z",
                "1234567890",
                Form::Fraction,
            ),
            ("12026-03-01T10:00:00Z", "12026", Form::Year),
            ("2026-03-01T24:00Z", "24", Form::Hour),
            ("2026-03-01T10:60Z", "60", Form::Minute),
            ("2026-12-31T23:59:60Z", "23:59:60", Form::LeapSecond),
            ("2026-02-30T10:00Z", "2026-02-30", Form::Date),
            ("2026-03-01T10:00 []", "[]", Form::EmptyZone),
        ];
        for (text, part, f) in cases {
            assert_eq!(form(text), (part.to_string(), f), "{text}");
        }
        assert!(Timestamp::parse("2026-03-01T10:00:00.123456789+23:59").is_ok());
    }

    #[test]
    fn offsets_in_messages_are_written_with_hours_and_minutes() {
        assert_eq!(offset_text(Offset::UTC), "+00:00");
        assert_eq!(offset_text(Offset::constant(-5)), "-05:00");
        assert_eq!(
            offset_text(Offset::from_seconds(5 * 3600 + 45 * 60).unwrap_or(Offset::UTC)),
            "+05:45"
        );
    }

    #[test]
    fn without_offset_or_zone_is_an_error() {
        assert_eq!(Timestamp::parse("2026-03-01T10:00"), Err(TimeError::NoZone));
        assert!(matches!(
            Timestamp::parse("2026-03-01T10:00 [Asia/Shanghia]"),
            Err(TimeError::UnknownZone(_, Some(h))) if h == "did you mean `Asia/Shanghai`?"
        ));
    }

    #[test]
    fn daylight_saving_gaps_and_folds_need_the_offset() {
        // New York: 2026-03-08 02:00 jumps to 03:00; 2026-11-01 02:00 goes back to 01:00.
        assert!(matches!(
            Timestamp::parse("2026-03-08T02:30 [America/New_York]"),
            Err(TimeError::Ambiguous { gap: true, .. })
        ));
        // The hint gives the user's own time, with the offsets of that zone then.
        let hint = |s: &str| Timestamp::parse(s).err().and_then(|e| e.describe().1);
        assert_eq!(
            hint("2026-10-25T01:30 [Europe/London]").as_deref(),
            Some(
                "write the offset to say which: `2026-10-25T01:30+01:00 [Europe/London]` is the \
                 first, `2026-10-25T01:30+00:00 [Europe/London]` the second"
            )
        );
        assert_eq!(
            hint("2026-03-29T01:30 [Europe/London]").as_deref(),
            Some(
                "`Europe/London` moves from `+00:00` to `+01:00` then; write the time after the \
                 change: `2026-03-29T02:30+01:00 [Europe/London]`"
            )
        );
        assert!(
            ts("2026-03-29T02:30+01:00 [Europe/London]")
                .cmp_instant(&ts("2026-03-29T01:30Z"))
                .is_eq()
        );
        assert!(matches!(
            Timestamp::parse("2026-11-01T01:30 [America/New_York]"),
            Err(TimeError::Ambiguous { gap: false, .. })
        ));
        let first = ts("2026-11-01T01:30-04:00 [America/New_York]");
        let second = ts("2026-11-01T01:30-05:00 [America/New_York]");
        assert_eq!(first.cmp_instant(&second), Ordering::Less);
        assert!(matches!(
            Timestamp::parse("2026-07-01T01:30-05:00 [America/New_York]"),
            Err(TimeError::OffsetMismatch { .. })
        ));
    }

    #[test]
    fn a_day_is_a_calendar_day_in_the_zone_written() {
        // Across the spring-forward change, one day later is the same time of day (23 hours).
        let t = ts("2026-03-07T12:00 [America/New_York]");
        let next = t.shift(jiff::Span::new().days(1));
        assert_eq!(
            next.map(|n| n.to_string()),
            Ok("2026-03-08T12:00:00-04:00 [America/New_York]".to_string())
        );
        let fixed = ts("2026-03-07T12:00-05:00");
        assert_eq!(
            fixed
                .shift(jiff::Span::new().days(1))
                .map(|n| n.to_string()),
            Ok("2026-03-08T12:00:00-05:00".to_string())
        );
    }

    #[test]
    fn months_between_timestamps_are_months_between_their_dates_in_the_zone_of_the_first() {
        let months = |a: &str, b: &str| ts(a).months_until(&ts(b));
        // As `months_between(2026-03-31, 2026-05-01)`: the time of day plays no part.
        assert_eq!(
            months("2026-03-31T23:30:00+08:00", "2026-05-01T08:00:00+08:00"),
            Ok(1)
        );
        assert_eq!(
            months("2026-05-01T08:00:00+08:00", "2026-03-31T23:30:00+08:00"),
            Ok(-1)
        );
        assert_eq!(months("2026-01-15T23:00Z", "2026-02-15T01:00Z"), Ok(1));
        assert_eq!(months("2026-01-31T10:00Z", "2026-02-28T10:00Z"), Ok(0));
        // `b` is taken in the zone of `a`: 2026-04-30T20:00Z is 2026-05-01 in Shanghai.
        assert_eq!(
            months("2026-03-31T10:00 [Asia/Shanghai]", "2026-04-30T20:00Z"),
            Ok(1)
        );
        assert_eq!(months("2026-03-31T10:00Z", "2026-04-30T20:00Z"), Ok(0));
    }

    #[test]
    fn the_date_depends_on_the_zone_it_is_taken_in() {
        let t = ts("2026-03-01T18:00:00-08:00");
        let (_, shanghai) = zone("Asia/Shanghai").unwrap_or_else(|| unreachable!());
        let (_, la) = zone("America/Los_Angeles").unwrap_or_else(|| unreachable!());
        assert_eq!(t.date_in(&shanghai).to_string(), "2026-03-02");
        assert_eq!(t.date_in(&la).to_string(), "2026-03-01");
    }
}
