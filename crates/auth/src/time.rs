//! Request timestamps and the clock-skew check.
//!
//! V1 requests carry `Timestamp`, V3 requests `x-acs-date`; every SDK writes
//! both as `YYYY-MM-DDTHH:MM:SSZ` in UTC, without fractions. Alibaba refuses
//! a request whose time is more than 15 minutes from its own
//! (`InvalidTimeStamp.Expired`), and so bounds how long a nonce must be
//! remembered (see [`crate::NonceCache`]).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far a request's time may be from the server's, either way
/// (inclusive): Alibaba's 15 minutes.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

const SECONDS_PER_DAY: i64 = 86_400;

/// How much of an offending value an error keeps: enough to recognise it,
/// not so much that a hostile request inflates logs.
const MAX_QUOTED_LEN: usize = 64;

/// A UTC instant with whole-second precision, as the SDKs send it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Why a timestamp string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// The text does not have the shape `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("timestamp {value:?} is not in the form YYYY-MM-DDTHH:MM:SSZ (UTC, no fractions)")]
    Malformed {
        /// The offending value (clipped to 64 characters).
        value: String,
    },
    /// The shape is right but a field is out of range (month 13, 31 April,
    /// hour 24, ...).
    #[error("timestamp {value:?} has an impossible {field}")]
    OutOfRange {
        /// The offending value.
        value: String,
        /// Which field: `month`, `day`, `hour`, `minute` or `second`.
        field: &'static str,
    },
}

/// A request time too far from the server's clock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "request time {request} is {} from server time {now}; at most {} s either way is allowed",
    describe_offset(*request, *now),
    max_skew.as_secs()
)]
pub struct SkewError {
    /// The time the request claims.
    pub request: Timestamp,
    /// The server's time when it checked.
    pub now: Timestamp,
    /// The allowed skew.
    pub max_skew: Duration,
}

fn describe_offset(request: Timestamp, now: Timestamp) -> String {
    let offset = i128::from(request.0) - i128::from(now.0);
    if offset >= 0 {
        format!("{offset} s ahead")
    } else {
        format!("{} s behind", -offset)
    }
}

/// Keeps at most [`MAX_QUOTED_LEN`] characters of `value`.
pub(crate) fn clip(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_LEN) {
        Some((end, _)) => format!("{}…", value.get(..end).unwrap_or_default()),
        None => value.to_owned(),
    }
}

impl Timestamp {
    /// The instant `seconds` after 1970-01-01T00:00:00Z.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Self(seconds)
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    /// The given system time, truncated to whole seconds (saturating far
    /// outside the representable range).
    pub fn from_system_time(time: SystemTime) -> Self {
        let seconds = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => {
                let before = before.duration();
                // 1.5 s before the epoch is second -2 (floor, like after).
                let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                let extra = i64::from(before.subsec_nanos() > 0);
                whole.saturating_add(extra).saturating_neg()
            }
        };
        Self(seconds)
    }

    /// The current system time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` exactly (the form of V1 `Timestamp`
    /// and V3 `x-acs-date`).
    pub fn parse(value: &str) -> Result<Self, TimestampError> {
        let malformed = || TimestampError::Malformed { value: clip(value) };
        let bytes = value.as_bytes();
        let shape_ok = bytes.len() == 20
            && bytes.iter().enumerate().all(|(i, &b)| match i {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 => b == b':',
                19 => b == b'Z',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(malformed());
        }
        let number = |from: usize, to: usize| -> Result<i64, TimestampError> {
            bytes
                .get(from..to)
                .map(|digits| {
                    digits
                        .iter()
                        .fold(0_i64, |acc, d| acc * 10 + i64::from(d - b'0'))
                })
                .ok_or_else(malformed)
        };
        let year = number(0, 4)?;
        let month = number(5, 7)?;
        let day = number(8, 10)?;
        let hour = number(11, 13)?;
        let minute = number(14, 16)?;
        let second = number(17, 19)?;

        let out_of_range = |field| TimestampError::OutOfRange {
            value: clip(value),
            field,
        };
        if !(1..=12).contains(&month) {
            return Err(out_of_range("month"));
        }
        if !(1..=days_in_month(year, month)).contains(&day) {
            return Err(out_of_range("day"));
        }
        if hour > 23 {
            return Err(out_of_range("hour"));
        }
        if minute > 59 {
            return Err(out_of_range("minute"));
        }
        if second > 59 {
            return Err(out_of_range("second"));
        }
        let days = days_from_civil(year, month, day);
        Ok(Self(
            days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second,
        ))
    }

    /// Formats as `YYYY-MM-DDTHH:MM:SSZ` (what the SDKs send, and what
    /// `Credentials.Expiration` must look like).
    pub fn to_iso8601(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(SECONDS_PER_DAY);
        let of_day = self.0.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            of_day / 3600,
            of_day % 3600 / 60,
            of_day % 60
        )
    }
}

/// Checks that `request` is within `max_skew` of `now`, either way; a
/// difference of exactly `max_skew` passes.
pub fn check_skew(request: Timestamp, now: Timestamp, max_skew: Duration) -> Result<(), SkewError> {
    let offset = (i128::from(request.0) - i128::from(now.0)).unsigned_abs();
    if offset <= u128::from(max_skew.as_secs()) {
        Ok(())
    } else {
        Err(SkewError {
            request,
            now,
            max_skew,
        })
    }
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Conversions between a proleptic Gregorian date and a day count since
// 1970-01-01. Both work in 400-year eras (146,097 days) counted from
// 0000-03-01, so that the leap day is the last day of the "year".

/// Days since 1970-01-01 of the given date (`month` in 1..=12).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date (year, month 1..=12, day 1..=31) `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_sdk_timestamps() {
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:00Z")
                .unwrap()
                .unix_seconds(),
            0
        );
        assert_eq!(
            Timestamp::parse("2024-01-01T12:00:00Z")
                .unwrap()
                .unix_seconds(),
            1_704_110_400
        );
        assert_eq!(
            Timestamp::parse("2016-02-23T12:46:24Z")
                .unwrap()
                .unix_seconds(),
            1_456_231_584
        );
        assert_eq!(
            Timestamp::parse("2024-02-29T23:59:59Z")
                .unwrap()
                .unix_seconds(),
            1_709_251_199
        );
        assert_eq!(
            Timestamp::parse("1969-12-31T23:59:59Z")
                .unwrap()
                .unix_seconds(),
            -1
        );
    }

    #[test]
    fn formats_like_the_sdks() {
        assert_eq!(
            Timestamp::from_unix_seconds(1_704_110_400).to_iso8601(),
            "2024-01-01T12:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(-1).to_string(),
            "1969-12-31T23:59:59Z"
        );
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "",
            "2024-01-01",
            "2024-01-01T12:00:00",
            "2024-01-01T12:00:00.000Z",
            "2024-01-01T12:00:00+00:00",
            "2024-01-01 12:00:00Z",
            "2024-01-01t12:00:00z",
            "2024-1-01T12:00:00Z",
            "+024-01-01T12:00:00Z",
            "2024-01-01T12:00:0AZ",
            "Mon, 01 Jan 2024 12:00:00 GMT",
            "２０２４-01-01T12:00:00Z",
        ] {
            assert!(
                matches!(Timestamp::parse(bad), Err(TimestampError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rejects_impossible_fields() {
        for (bad, field) in [
            ("2024-00-01T12:00:00Z", "month"),
            ("2024-13-01T12:00:00Z", "month"),
            ("2024-01-00T12:00:00Z", "day"),
            ("2024-04-31T12:00:00Z", "day"),
            ("2023-02-29T12:00:00Z", "day"),
            ("1900-02-29T12:00:00Z", "day"),
            ("2024-01-01T24:00:00Z", "hour"),
            ("2024-01-01T12:60:00Z", "minute"),
            ("2024-01-01T12:00:60Z", "second"),
        ] {
            assert_eq!(
                Timestamp::parse(bad),
                Err(TimestampError::OutOfRange {
                    value: bad.to_owned(),
                    field
                })
            );
        }
        assert!(Timestamp::parse("2000-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn errors_clip_long_values() {
        let long = "x".repeat(10_000);
        let err = Timestamp::parse(&long).unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
    }

    #[test]
    fn system_time_conversion_floors() {
        let after = UNIX_EPOCH + Duration::from_millis(1_500);
        assert_eq!(Timestamp::from_system_time(after).unix_seconds(), 1);
        let before = UNIX_EPOCH - Duration::from_millis(1_500);
        assert_eq!(Timestamp::from_system_time(before).unix_seconds(), -2);
        let exact = UNIX_EPOCH - Duration::from_secs(3);
        assert_eq!(Timestamp::from_system_time(exact).unix_seconds(), -3);
    }

    #[test]
    fn skew_boundaries_are_inclusive() {
        let now = Timestamp::parse("2024-01-01T12:00:00Z").unwrap();
        let at = |s: &str| Timestamp::parse(s).unwrap();
        assert!(check_skew(now, now, MAX_CLOCK_SKEW).is_ok());
        assert!(check_skew(at("2024-01-01T12:15:00Z"), now, MAX_CLOCK_SKEW).is_ok());
        assert!(check_skew(at("2024-01-01T11:45:00Z"), now, MAX_CLOCK_SKEW).is_ok());
        let ahead = check_skew(at("2024-01-01T12:15:01Z"), now, MAX_CLOCK_SKEW).unwrap_err();
        assert!(ahead.to_string().contains("901 s ahead"), "{ahead}");
        let behind = check_skew(at("2024-01-01T11:44:59Z"), now, MAX_CLOCK_SKEW).unwrap_err();
        assert!(behind.to_string().contains("901 s behind"), "{behind}");
        assert_eq!(behind.request, at("2024-01-01T11:44:59Z"));
    }

    #[test]
    fn skew_check_survives_extreme_values() {
        let min = Timestamp::from_unix_seconds(i64::MIN);
        let max = Timestamp::from_unix_seconds(i64::MAX);
        assert!(check_skew(min, max, MAX_CLOCK_SKEW).is_err());
        assert!(check_skew(max, min, Duration::MAX).is_ok());
        let _ = max.to_string();
        let _ = min.to_string();
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(seconds in -62_167_219_200_i64..253_402_300_800) {
            // 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z
            let ts = Timestamp::from_unix_seconds(seconds);
            prop_assert_eq!(Timestamp::parse(&ts.to_iso8601()), Ok(ts));
        }

        #[test]
        fn parse_never_panics(value in ".{0,40}") {
            let _ = Timestamp::parse(&value);
        }

        #[test]
        fn days_round_trip(days in -1_000_000_i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
