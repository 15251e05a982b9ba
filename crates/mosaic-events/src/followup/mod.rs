//! The follow-up context's events: engagements opened from matching's confirmations, the
//! attendance of their sessions, spontaneous engagement observed, the journal of check-ins,
//! reflections and feedback, incentives (the policy, awards, redemptions), certificates,
//! wellbeing measures, reminders, and their end. Stored names are the `rename`s and the payloads
//! are what analysts and other contexts read: never change either. People appear by id, reasons
//! as codes; free text and wellbeing readings are sealed (see `journal` and `wellbeing`).
//!
//! Streams: `engagement-<engagement id>` holds one engagement: one per confirmation of a match,
//! its id derived from the match and the confirmation, so a confirmation delivered twice opens
//! one engagement. The other streams are named where their events are (`incentives`,
//! `wellbeing`, `reminders`).

use chrono::NaiveDate;
use mosaic_types::{ActivityId, MatchId, OrganisationId, PieceId, ResidentId};
use serde::{Deserialize, Serialize};

use crate::matching::Commitment;

mod certificates;
mod incentives;
mod journal;
mod reminders;
mod wellbeing;

pub use certificates::*;
pub use incentives::*;
pub use journal::*;
pub use reminders::*;
pub use wellbeing::*;

/// The producing context's name, as events and subjects carry it.
pub const CONTEXT: &str = "followup";

mosaic_types::vocabulary!(
    /// What became of one session for one person.
    AttendanceStatus {
        /// They took part, for the minutes recorded.
        Attended = 1 => "attended",
        /// They did not come and did not say.
        NoShow = 2 => "no_show",
        /// The session did not take place for them (cancelled ahead by either side).
        Cancelled = 3 => "cancelled",
    }
);

mosaic_types::vocabulary!(
    /// Who recorded an attendance.
    Reporter {
        /// The activity's host organisation.
        Host = 1 => "host",
        /// Municipal staff.
        Staff = 2 => "staff",
        /// The resident themself: a self-report, until the host or staff record the session.
        Resident = 3 => "resident",
    }
);

mosaic_types::vocabulary!(
    /// Why an engagement ended.
    EngagementEndReason {
        /// The engagement ran its course.
        Completed = 1 => "completed",
        /// The resident stopped taking part before its end.
        DroppedOut = 2 => "dropped_out",
        /// Matching ended the match (withdrawn, cancelled, or ended by matching itself).
        UpstreamCancelled = 3 => "upstream_cancelled",
    }
);

mosaic_types::vocabulary!(
    /// A kind of spontaneous engagement that grows out of an activity, beyond what it asked.
    SpontaneousPattern {
        /// Participants formed a community of their own (exchange, possible collaboration).
        CommunityFormed = 1 => "community_formed",
        /// They offered their knowledge to the area (improving work, teaching tools).
        KnowledgeOffered = 2 => "knowledge_offered",
        /// It connected to their own career (local groups, thoughts of starting a business).
        CareerLink = 3 => "career_link",
        /// They became a go-between (a hub) between the area's groups and others.
        HubRole = 4 => "hub_role",
    }
);

/// Every fact the follow-up context records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", content = "data")]
pub enum FollowUpEvent {
    /// A confirmed match became an engagement to follow up.
    #[serde(rename = "EngagementOpened")]
    EngagementOpened(EngagementOpened),
    /// A session's attendance was recorded (again: a correction replaces the earlier record of
    /// that session).
    #[serde(rename = "AttendanceRecorded")]
    AttendanceRecorded(AttendanceRecorded),
    /// A coordinator observed spontaneous engagement grow out of it.
    #[serde(rename = "SpontaneousEngagementObserved")]
    SpontaneousEngagementObserved(SpontaneousEngagementObserved),
    /// A coordinator checked in with the resident.
    #[serde(rename = "CheckInRecorded")]
    CheckInRecorded(CheckInRecorded),
    /// A reflection dialogue was held at a milestone.
    #[serde(rename = "ReflectionRecorded")]
    ReflectionRecorded(ReflectionRecorded),
    /// The resident rated the host, or the host the resident.
    #[serde(rename = "FeedbackGiven")]
    FeedbackGiven(FeedbackGiven),
    /// An officer set the municipality's incentive policy.
    #[serde(rename = "IncentivePolicySet")]
    IncentivePolicySet(IncentivePolicySet),
    /// An attended session earned points, fees or an honorarium.
    #[serde(rename = "AwardGranted")]
    AwardGranted(AwardGranted),
    /// Staff granted points by hand.
    #[serde(rename = "PointsGranted")]
    PointsGranted(PointsGranted),
    /// A resident redeemed points.
    #[serde(rename = "PointsRedeemed")]
    PointsRedeemed(PointsRedeemed),
    /// A wellbeing or effect measure was taken, with the resident's research consent.
    #[serde(rename = "MeasureRecorded")]
    MeasureRecorded(MeasureRecorded),
    /// The scheduler found something to remind someone of.
    #[serde(rename = "ReminderDue")]
    ReminderDue(ReminderDue),
    /// A completed engagement's certificate was issued.
    #[serde(rename = "CertificateIssued")]
    CertificateIssued(CertificateIssued),
    /// An engagement ended. Unless matching ended it, matching ends the match and frees its
    /// seat.
    #[serde(rename = "EngagementEnded")]
    EngagementEnded(EngagementEnded),
}

impl mosaic_domain::DomainEvent for FollowUpEvent {}

/// Payload of `EngagementOpened`: what the confirmation said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EngagementOpened {
    /// The engagement.
    pub engagement_id: String,
    /// The confirmed match.
    pub match_id: MatchId,
    /// The version of the match's stream its confirmation was written at: which confirmation
    /// of the match this engagement follows.
    pub match_version: u64,
    /// The resident.
    pub resident_id: ResidentId,
    /// The piece.
    pub piece_id: PieceId,
    /// The piece's activity.
    pub activity_id: ActivityId,
    /// The activity's host organisation.
    pub host_organisation_id: OrganisationId,
    /// What the resident committed to: weekly windows, period, hours and days.
    pub commitment: Commitment,
}

/// Payload of `AttendanceRecorded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AttendanceRecorded {
    /// The engagement.
    pub engagement_id: String,
    /// The session's date (JST).
    pub session: NaiveDate,
    /// What became of it.
    pub status: AttendanceStatus,
    /// Minutes taken part (0 unless attended).
    pub minutes: u32,
    /// Who recorded it.
    pub recorded_by: Reporter,
}

/// Payload of `EngagementEnded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EngagementEnded {
    /// The engagement.
    pub engagement_id: String,
    /// Its match.
    pub match_id: MatchId,
    /// The version of the match's stream its confirmation was written at.
    pub match_version: u64,
    /// Why.
    pub reason: EngagementEndReason,
    /// The last day it counted (JST).
    pub last_day: NaiveDate,
}

/// Payload of `SpontaneousEngagementObserved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SpontaneousEngagementObserved {
    /// The engagement it grew out of.
    pub engagement_id: String,
    /// Which kind.
    pub pattern: SpontaneousPattern,
    /// When it was observed (JST).
    pub observed_on: NaiveDate,
}
