//! Which reminders are due on a day: pure, from the open engagements as the scheduler reads them.
//!
//! - `session_tomorrow`: a weekday of the commitment is tomorrow, within its period.
//! - `check_in_overdue`: four weeks have passed since the later of the first day and the last
//!   check-in (repeated each day until someone checks in).
//! - `milestone_due`: an internship milestone is within the next week, or has passed, and has no
//!   reflection yet (repeated each day until one is recorded).

use chrono::{Datelike, Days, NaiveDate};
use mosaic_events::activity::Milestones;
use mosaic_events::followup::{Milestone, ReminderDue, ReminderKind};
use mosaic_types::{OrganisationId, ResidentId};

/// Days without a check-in before one is overdue.
pub const CHECK_IN_EVERY_DAYS: u64 = 28;
/// Days ahead a milestone is announced.
pub const MILESTONE_AHEAD_DAYS: u64 = 7;

/// An open engagement as the scheduler reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    /// The engagement.
    pub engagement_id: String,
    /// Its resident.
    pub resident_id: ResidentId,
    /// Its host.
    pub host_organisation_id: OrganisationId,
    /// Weekdays of its sessions, Monday = bit 0.
    pub weekdays: u8,
    /// First day.
    pub first_day: NaiveDate,
    /// Last day.
    pub last_day: NaiveDate,
    /// The day of the last check-in.
    pub last_check_in: Option<NaiveDate>,
    /// Milestones reflected on, `Milestone::wire()` as bit numbers.
    pub reflected: u8,
    /// The internship's milestones, if its activity is one.
    pub milestones: Option<Milestones>,
}

/// The weekday bit of a day (Monday = bit 0).
pub fn weekday_bit(day: NaiveDate) -> u8 {
    1 << day.weekday().num_days_from_monday()
}

/// The reminders due on `day` for `e`, in kind order.
pub fn due(day: NaiveDate, e: &Scheduled) -> Vec<ReminderDue> {
    let reminder = |kind, due_on, milestone| ReminderDue {
        kind,
        engagement_id: e.engagement_id.clone(),
        resident_id: e.resident_id.clone(),
        host_organisation_id: e.host_organisation_id.clone(),
        due_on,
        milestone,
        day,
    };
    let mut out = Vec::new();
    if let Some(tomorrow) = day.checked_add_days(Days::new(1))
        && e.weekdays & weekday_bit(tomorrow) != 0
        && (e.first_day..=e.last_day).contains(&tomorrow)
    {
        out.push(reminder(ReminderKind::SessionTomorrow, tomorrow, None));
    }
    let since = e.last_check_in.map_or(e.first_day, |c| c.max(e.first_day));
    if let Some(fell_due) = since.checked_add_days(Days::new(CHECK_IN_EVERY_DAYS))
        && fell_due <= day
        && day <= e.last_day
    {
        out.push(reminder(ReminderKind::CheckInOverdue, fell_due, None));
    }
    if let Some(m) = &e.milestones {
        let horizon = day
            .checked_add_days(Days::new(MILESTONE_AHEAD_DAYS))
            .unwrap_or(day);
        for (milestone, on) in [
            (Milestone::Orientation, m.orientation),
            (Milestone::MidTerm, m.mid_term_review),
            (Milestone::Final, m.final_reflection),
        ] {
            let reflected = e.reflected & (1 << milestone.wire()) != 0;
            if !reflected && on <= horizon {
                out.push(reminder(ReminderKind::MilestoneDue, on, Some(milestone)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    fn engagement() -> Scheduled {
        Scheduled {
            engagement_id: "e-1".into(),
            resident_id: "r-1".into(),
            host_organisation_id: "h-1".into(),
            // Mondays and Thursdays.
            weekdays: 0b1001,
            first_day: day("2027-04-05"),
            last_day: day("2027-06-28"),
            last_check_in: None,
            reflected: 0,
            milestones: None,
        }
    }

    fn kinds(day_: &str, e: &Scheduled) -> Vec<(ReminderKind, NaiveDate)> {
        due(day(day_), e)
            .iter()
            .map(|r| (r.kind, r.due_on))
            .collect()
    }

    #[test]
    fn a_session_tomorrow_within_the_period() {
        let e = engagement();
        // Sunday 4 April: Monday 5 April is the first day.
        assert_eq!(
            kinds("2027-04-04", &e),
            [(ReminderKind::SessionTomorrow, day("2027-04-05"))]
        );
        // Wednesday: Thursday is a session day; Tuesday: Wednesday is not.
        assert_eq!(
            kinds("2027-04-07", &e),
            [(ReminderKind::SessionTomorrow, day("2027-04-08"))]
        );
        assert!(kinds("2027-04-06", &e).is_empty());
        // Before the period.
        assert!(kinds("2027-03-28", &e).is_empty());
    }

    #[test]
    fn a_check_in_falls_due_four_weeks_after_the_start_or_the_last_one() {
        let overdue = |d: &str, e: &Scheduled| -> Vec<NaiveDate> {
            due(day(d), e)
                .into_iter()
                .filter(|r| r.kind == ReminderKind::CheckInOverdue)
                .map(|r| r.due_on)
                .collect()
        };
        let mut e = engagement();
        assert!(overdue("2027-05-02", &e).is_empty());
        assert_eq!(overdue("2027-05-04", &e), [day("2027-05-03")]);
        e.last_check_in = Some(day("2027-04-20"));
        assert!(overdue("2027-05-04", &e).is_empty());
        assert_eq!(overdue("2027-05-18", &e), [day("2027-05-18")]);
        // After the last day, nothing is overdue.
        e.last_check_in = None;
        assert!(!overdue("2027-06-28", &e).is_empty());
        assert!(overdue("2027-06-29", &e).is_empty());
    }

    #[test]
    fn a_milestone_is_due_a_week_ahead_until_it_is_reflected_on() {
        let mut e = Scheduled {
            milestones: Some(Milestones {
                orientation: day("2027-04-05"),
                mid_term_review: day("2027-05-17"),
                final_reflection: day("2027-06-28"),
            }),
            last_check_in: Some(day("2027-05-09")),
            ..engagement()
        };
        let milestones = |d: &str, e: &Scheduled| -> Vec<Option<Milestone>> {
            due(day(d), e)
                .into_iter()
                .filter(|r| r.kind == ReminderKind::MilestoneDue)
                .map(|r| r.milestone)
                .collect()
        };
        assert_eq!(milestones("2027-05-09", &e), [Some(Milestone::Orientation)]);
        e.reflected = 1 << Milestone::Orientation.wire();
        assert!(milestones("2027-05-09", &e).is_empty());
        assert_eq!(milestones("2027-05-10", &e), [Some(Milestone::MidTerm)]);
        e.reflected |= 1 << Milestone::MidTerm.wire();
        assert!(milestones("2027-05-20", &e).is_empty());
    }
}
