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
    let Some(at) = DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32) else {
        errors.add(field, "is not a valid instant");
        return now;
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

/// A wire timestamp of an instant.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}
