//! Reminders: what someone should act on, computed each day by the scheduler from the open
//! engagements. Ids and codes only: a messaging system following them looks up whom to tell.
//!
//! Streams: `reminders-<day>` holds the day's reminders, at most one per kind, engagement and
//! day, however often or wherever the scheduler runs.

use chrono::NaiveDate;
use mosaic_types::{OrganisationId, ResidentId};
use serde::{Deserialize, Serialize};

use super::Milestone;

mosaic_types::vocabulary!(
    /// What a reminder is about.
    ReminderKind {
        /// The engagement has a session tomorrow.
        SessionTomorrow = 1 => "session_tomorrow",
        /// No check-in for four weeks (since the later of the first day and the last check-in).
        CheckInOverdue = 2 => "check_in_overdue",
        /// An internship milestone falls within a week, or has passed, without its reflection.
        MilestoneDue = 3 => "milestone_due",
    }
);

/// Payload of `ReminderDue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReminderDue {
    /// What about.
    pub kind: ReminderKind,
    /// The engagement.
    pub engagement_id: String,
    /// Its resident.
    pub resident_id: ResidentId,
    /// Its activity's host organisation.
    pub host_organisation_id: OrganisationId,
    /// The day it concerns (JST): the session's, the day the check-in fell due, the milestone's.
    pub due_on: NaiveDate,
    /// With `milestone_due`: which milestone.
    pub milestone: Option<Milestone>,
    /// The day the scheduler found it (JST).
    pub day: NaiveDate,
}
