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

/// How a timestamp was written, kept so that it is shown and written back the same way.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Written {
    /// `Z`.
    Zulu,
    /// A numeric offset (`+08:00`).
    Offset,
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
        /// `true` when the time was skipped (a gap), `false` when repeated (a fold).
        gap: bool,
    },
    /// An offset that the named zone does not have at that time.
    OffsetMismatch {
        /// The offset written.
        written: String,
        /// The zone.
        zone: String,
        /// The zone's offset at that time.
        actual: String,
    },
    /// Not a date and time (`2026-02-30T10:00Z`, `25:00`).
    Invalid(String),
    /// Outside the supported range of instants.
    OutOfRange,
}

impl Timestamp {
    /// Reads `2026-03-01T10:00:00+08:00`, `2026-03-01T10:00Z`, `2026-03-01T10:00 [Asia/Shanghai]`
    /// (a space before `[` is optional) and `2026-11-01T01:30-04:00 [America/New_York]` (the
    /// offset then says which of two repeated times is meant, and must be the zone's).
    pub fn parse(text: &str) -> Result<Timestamp, TimeError> {
        let (head, zone_name) = match text.split_once('[') {
            Some((head, rest)) => (
                head.trim_end(),
                Some(rest.strip_suffix(']').unwrap_or(rest).trim()),
            ),
            None => (text, None),
        };
        let pieces = jiff::fmt::temporal::Pieces::parse(head)
            .map_err(|e| TimeError::Invalid(e.to_string()))?;
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
                    Some(off) => {
                        let at = TimeZone::fixed(off)
                            .to_zoned_datetime(civil)
                            .map_err(|_| TimeError::OutOfRange)?;
                        let actual = tz.to_offset(at.timestamp());
                        if actual != off {
                            return Err(TimeError::OffsetMismatch {
                                written: off.to_string(),
                                zone: canonical.to_string(),
                                actual: actual.to_string(),
                            });
                        }
                        at.timestamp().to_zoned_datetime(tz)
                    }
                    None => {
                        let ambiguous = tz.to_ambiguous_zoned_datetime(civil);
                        let gap =
                            matches!(ambiguous.offset(), jiff::tz::AmbiguousOffset::Gap { .. });
                        ambiguous.unambiguous().map_err(|_| TimeError::Ambiguous {
                            zone: canonical.to_string(),
                            gap,
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
                Ok(Timestamp(Arc::new(Stamp {
                    zoned,
                    written: if zulu { Written::Zulu } else { Written::Offset },
                })))
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
        if self.0.written == Written::Zulu {
            self.instant().to_string()
        } else {
            self.instant()
                .display_with_offset(self.offset())
                .to_string()
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

    /// Whole calendar months from `self` to `other`, counted in the zone of `self`, truncated
    /// toward zero.
    pub fn months_until(&self, other: &Timestamp) -> Result<i64, TimeError> {
        let other = other
            .instant()
            .to_zoned_datetime(self.0.zoned.time_zone().clone());
        let span = self
            .0
            .zoned
            .until((jiff::Unit::Month, &other))
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
            TimeError::Ambiguous { zone, gap: true } => (
                format!("this time does not exist in `{zone}`: the clocks skip it"),
                Some(
                    "write the offset as well (`2026-03-08T03:30-04:00 [America/New_York]`)".into(),
                ),
            ),
            TimeError::Ambiguous { zone, gap: false } => (
                format!("this time happens twice in `{zone}`: the clocks go back over it"),
                Some(
                    "write the offset to say which (`2026-11-01T01:30-04:00 [America/New_York]` \
                     is the first)"
                        .into(),
                ),
            ),
            TimeError::OffsetMismatch {
                written,
                zone,
                actual,
            } => (
                format!("the offset `{written}` is not the offset of `{zone}` at this time"),
                Some(format!("`{zone}` is at `{actual}` then")),
            ),
            TimeError::Invalid(why) => ("not a date and time".into(), Some(why.clone())),
            TimeError::OutOfRange => ("a date and time out of range".into(), None),
        }
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
    fn the_date_depends_on_the_zone_it_is_taken_in() {
        let t = ts("2026-03-01T18:00:00-08:00");
        let (_, shanghai) = zone("Asia/Shanghai").unwrap_or_else(|| unreachable!());
        let (_, la) = zone("America/Los_Angeles").unwrap_or_else(|| unreachable!());
        assert_eq!(t.date_in(&shanghai).to_string(), "2026-03-02");
        assert_eq!(t.date_in(&la).to_string(), "2026-03-01");
    }
}
