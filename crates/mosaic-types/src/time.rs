use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};

/// Japan Standard Time, UTC+9 all year (no daylight saving). Days, weeks, months and reporting
/// periods are JST; instants on the wire are UTC.
pub const JST: FixedOffset = match FixedOffset::east_opt(9 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+9 is a valid offset"),
};

/// The current instant, truncated to microseconds: both stores keep microseconds, so a value
/// read back equals the value written.
pub fn now_utc() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// The calendar day in Japan of an instant.
pub fn jst_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&JST).date_naive()
}

/// The fiscal year (年度, April to March) a Japan-time date falls in: 2025-03-31 is FY2024,
/// 2025-04-01 is FY2025.
pub fn fiscal_year(date: NaiveDate) -> i32 {
    if date.month() >= 4 {
        date.year()
    } else {
        date.year() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fiscal_year_turns_on_the_first_of_april() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        assert_eq!(fiscal_year(d(2025, 3, 31)), 2024);
        assert_eq!(fiscal_year(d(2025, 4, 1)), 2025);
    }

    #[test]
    fn late_evening_utc_is_already_tomorrow_in_japan() {
        let instant = DateTime::parse_from_rfc3339("2026-03-31T15:30:00Z")
            .expect("valid instant")
            .with_timezone(&Utc);
        assert_eq!(
            jst_date(instant),
            NaiveDate::from_ymd_opt(2026, 4, 1).expect("valid date")
        );
    }
}
