//! What a piece asks of the person who takes it, from the piece's schedule: the weekly windows
//! it occupies, its period, and the most minutes a week and days a month it can take. Overlaps
//! and caps are judged on these.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use mosaic_events::activity::Schedule;
use mosaic_events::matching::Commitment;
use mosaic_types::{DAY_MINUTES, JST, Weekday, WeeklyWindow};

/// The commitment a schedule asks for.
pub fn of_schedule(schedule: &Schedule) -> Commitment {
    match schedule {
        Schedule::Weekly {
            window,
            from,
            to,
            exceptions,
            ..
        } => Commitment {
            slots: vec![*window],
            first_day: *from,
            last_day: *to,
            minutes_per_week: window.minutes(),
            days_per_month: busiest_month(*from, *to, window.weekday(), exceptions),
        },
        Schedule::OneOff { start, end } => {
            let (start, end) = (start.with_timezone(&JST), end.with_timezone(&JST));
            let (first, last) = (start.date_naive(), end.date_naive());
            let minute = |t: chrono::NaiveTime| {
                use chrono::Timelike;
                t.hour() * 60 + t.minute()
            };
            let mut slots = Vec::new();
            let mut day = first;
            // A one-off session lasts at most a day, so it touches one or two dates.
            while day <= last {
                let from = if day == first {
                    minute(start.time())
                } else {
                    0
                };
                let to = if day == last {
                    minute(end.time())
                } else {
                    u32::from(DAY_MINUTES)
                };
                if let Ok(w) = WeeklyWindow::new(Weekday::of(day), from, to) {
                    slots.push(w);
                }
                day = day + Days::new(1);
            }
            let minutes = (end - start).num_minutes().max(0) as u32;
            Commitment {
                days_per_month: slots.len() as u32,
                slots,
                first_day: first,
                last_day: last,
                minutes_per_week: minutes,
            }
        }
    }
}

/// The most sessions of a weekly window in any calendar month of its period.
fn busiest_month(from: NaiveDate, to: NaiveDate, weekday: Weekday, skip: &[NaiveDate]) -> u32 {
    let mut per_month: BTreeMap<(i32, u32), u32> = BTreeMap::new();
    let mut day = from;
    while day <= to && Weekday::of(day) != weekday {
        day = day + Days::new(1);
    }
    while day <= to {
        if !skip.contains(&day) {
            *per_month.entry((day.year(), day.month())).or_default() += 1;
        }
        day = day + Days::new(7);
    }
    per_month.into_values().max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn a_weekly_piece_takes_its_window_each_week_and_its_busiest_month() {
        // Given Mondays 09:00–12:00 through April and May 2026 (April has 4 Mondays, June 1…)
        let window = WeeklyWindow::new(Weekday::Monday, 540, 720).unwrap_or_else(|_| panic!());
        let schedule = Schedule::Weekly {
            window,
            from: date("2026-04-01"),
            to: date("2026-06-01"),
            exceptions: vec![],
            skip_national_holidays: false,
        };
        // When its commitment is taken, then
        let c = of_schedule(&schedule);
        assert_eq!(c.slots, vec![window]);
        assert_eq!(c.minutes_per_week, 180);
        // … June 2026 has one Monday in the period, April 4, May 4.
        assert_eq!(c.days_per_month, 4);
    }

    #[test]
    fn a_one_off_session_across_midnight_takes_two_dates() {
        let start = JST.with_ymd_and_hms(2026, 4, 3, 22, 0, 0).unwrap();
        let end = JST.with_ymd_and_hms(2026, 4, 4, 2, 0, 0).unwrap();
        let c = of_schedule(&Schedule::OneOff {
            start: start.to_utc(),
            end: end.to_utc(),
        });
        assert_eq!(c.slots.len(), 2);
        assert_eq!(c.minutes_per_week, 240);
        assert_eq!(c.days_per_month, 2);
        assert_eq!(
            (c.first_day, c.last_day),
            (date("2026-04-03"), date("2026-04-04"))
        );
    }

    #[test]
    fn commitments_clash_only_when_periods_and_windows_both_overlap() {
        let w = |d, s, e| WeeklyWindow::new(d, s, e).unwrap_or_else(|_| panic!());
        let c = |d, s, e, from: &str, to: &str| Commitment {
            slots: vec![w(d, s, e)],
            first_day: date(from),
            last_day: date(to),
            minutes_per_week: e - s,
            days_per_month: 5,
        };
        let a = c(Weekday::Monday, 540, 720, "2026-04-01", "2026-04-30");
        assert!(a.clashes_with(&c(Weekday::Monday, 700, 800, "2026-04-20", "2026-05-30")));
        assert!(!a.clashes_with(&c(Weekday::Monday, 720, 800, "2026-04-01", "2026-04-30")));
        assert!(!a.clashes_with(&c(Weekday::Tuesday, 540, 720, "2026-04-01", "2026-04-30")));
        assert!(!a.clashes_with(&c(Weekday::Monday, 540, 720, "2026-05-01", "2026-05-30")));
    }
}
