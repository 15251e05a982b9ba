//! `occurred_at`: when something happened, for records entered late; never in the future.

use chrono::{DateTime, Utc};

use crate::FieldErrors;

/// Clocks of clients and servers differ a little; a few seconds ahead is not "the future".
const CLOCK_SKEW: chrono::Duration = chrono::Duration::seconds(30);

/// The instant a command happened: the given one (checked against `now`) or `now`.
pub fn occurred_at(
    errors: &mut FieldErrors,
    field: &str,
    given: Option<&prost_types::Timestamp>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let Some(ts) = given else { return now };
    let at = match instant(ts) {
        Ok(at) => at,
        Err((part, why)) => {
            errors.add(format!("{field}.{part}"), why);
            return now;
        }
    };
    // Stored with microsecond precision on both backends.
    let at = DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at);
    if at > now + CLOCK_SKEW {
        errors.add(field, "must not be in the future");
    } else if at.timestamp() < -2_208_988_800 {
        errors.add(field, "must not be before 1900");
    }
    at
}

/// Largest `nanos` of a wire timestamp.
const NANOS_MAX: i32 = 999_999_999;
/// The range of `seconds` a wire timestamp may hold: 0001-01-01 to 9999-12-31 UTC.
const SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// The instant of a wire timestamp, or the part at fault (`seconds` or `nanos`) and why. `nanos`
/// outside 0 to 999,999,999 is refused rather than clamped or read as a leap second.
pub fn instant(ts: &prost_types::Timestamp) -> Result<DateTime<Utc>, (&'static str, String)> {
    if !(0..=NANOS_MAX).contains(&ts.nanos) {
        return Err(("nanos", "must be 0 to 999,999,999".to_owned()));
    }
    if !SECONDS.contains(&ts.seconds) {
        return Err((
            "seconds",
            "must be within years 0001 to 9999 (UTC)".to_owned(),
        ));
    }
    DateTime::from_timestamp(ts.seconds, ts.nanos as u32)
        .ok_or_else(|| ("seconds", "is not a valid instant".to_owned()))
}

/// A wire timestamp of an instant.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(seconds: i64, nanos: i32) -> Vec<String> {
        let mut errors = FieldErrors::new();
        let now = DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
        occurred_at(
            &mut errors,
            "occurred_at",
            Some(&prost_types::Timestamp { seconds, nanos }),
            now,
        );
        errors.violations().iter().map(|(f, _)| f.clone()).collect()
    }

    #[test]
    fn nanos_outside_a_second_and_seconds_outside_the_calendar_are_refused() {
        assert!(check(1_700_000_000, 0).is_empty());
        assert!(check(1_700_000_000, 999_999_999).is_empty());
        assert_eq!(check(1_700_000_000, -1), vec!["occurred_at.nanos"]);
        assert_eq!(
            check(1_700_000_000, 1_000_000_000),
            vec!["occurred_at.nanos"]
        );
        assert_eq!(
            check(1_700_000_000, 1_500_000_000),
            vec!["occurred_at.nanos"]
        );
        assert_eq!(check(i64::MIN, 0), vec!["occurred_at.seconds"]);
        assert_eq!(check(i64::MAX, 0), vec!["occurred_at.seconds"]);
    }
}
