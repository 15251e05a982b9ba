//! The validated parts of activities and pieces. The gRPC edge builds them once; the domain never
//! re-checks them. Stored names are the serde names: never change them.

use chrono::{DateTime, NaiveDate, Utc};
use mosaic_privacy::Sealed;
use mosaic_types::{
    CoordinatorId, EngagementForm, Field, OrganisationId, PhysicalLoad, Skill, WeeklyWindow,
};
use serde::{Deserialize, Serialize};

mosaic_types::vocabulary!(
    /// Where an activity's work comes from.
    Origin {
        /// An organisation's existing work.
        ExistingActivity = 1 => "existing_activity",
        /// A job cut into pieces (モザイク化).
        MosaicDecomposition = 2 => "mosaic_decomposition",
        /// A goal set by the municipality.
        MunicipalGoal = 3 => "municipal_goal",
        /// A need residents expressed.
        ResidentNeed = 4 => "resident_need",
        /// An idea residents brought.
        ResidentSeed = 5 => "resident_seed",
        /// A practical internship project.
        InternshipProject = 6 => "internship_project",
    }
);

mosaic_types::vocabulary!(
    /// How people come to an activity.
    ApplicationMode {
        /// Open to per-application sign-up (都度申し込み).
        Open = 1 => "open",
        /// Only through a coordinator.
        CoordinatedOnly = 2 => "coordinated_only",
    }
);

mosaic_types::vocabulary!(
    /// Where an activity's lifecycle stands.
    Status {
        /// Being designed.
        Draft = 1 => "draft",
        /// Listed and open.
        Published = 2 => "published",
        /// Temporarily unlisted.
        Paused = 3 => "paused",
        /// Filled or ended.
        Closed = 4 => "closed",
        /// Cancelled.
        Cancelled = 5 => "cancelled",
    }
);

mosaic_types::vocabulary!(
    /// Why an activity was closed.
    CloseReason {
        /// Every seat is taken.
        Filled = 1 => "filled",
        /// Its period or purpose ended.
        Ended = 2 => "ended",
    }
);

/// Where an activity takes place; at least one of the three.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Place {
    /// The district (地区).
    pub district: Option<String>,
    /// Latitude and longitude rounded to 0.01°.
    pub location: Option<(f64, f64)>,
    /// Done online.
    pub online: bool,
}

/// Transport fee per session, most yen.
pub const MAX_TRANSPORT_FEE_YEN: u32 = 10_000;
/// Honorarium per session, most yen.
pub const MAX_HONORARIUM_YEN: u32 = 50_000;
/// Local points per session, most.
pub const MAX_LOCAL_POINTS: u32 = 10_000;

/// What an activity offers; zero means "none".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Incentives {
    /// Transport fee per session, yen.
    pub transport_fee_yen: u32,
    /// Honorarium per session, yen.
    pub honorarium_yen: u32,
    /// Local points per session.
    pub local_points: u32,
    /// A certificate is issued.
    pub certificate: bool,
    /// A meal is offered.
    pub meal: bool,
}

/// What describes an activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActivityDetails {
    /// The host organisation (a registry id).
    pub host_organisation_id: OrganisationId,
    /// Title.
    pub title: String,
    /// Description, free of personal data.
    pub description: String,
    /// Field.
    pub field: Field,
    /// Where the work comes from.
    pub origin: Origin,
    /// How people take part.
    pub engagement_form: EngagementForm,
    /// Where.
    pub place: Place,
    /// How demanding.
    pub physical_load: Option<PhysicalLoad>,
    /// Open or coordinated only.
    pub application_mode: ApplicationMode,
    /// What it offers.
    pub incentives: Incentives,
    /// First day (JST).
    pub period_start: NaiveDate,
    /// Last day (JST).
    pub period_end: NaiveDate,
    /// The coordinator responsible.
    pub coordinator_id: Option<CoordinatorId>,
    /// The regional goal it serves.
    pub regional_goal: Option<String>,
}

/// When a piece happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// One session, at most 24 hours.
    OneOff {
        /// Start.
        start: DateTime<Utc>,
        /// End, after the start.
        end: DateTime<Utc>,
    },
    /// Every week, one commitment to the whole recurrence.
    Weekly {
        /// Day and time (JST).
        window: WeeklyWindow,
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
        /// Days without a session.
        exceptions: Vec<NaiveDate>,
        /// No session on national holidays.
        skip_national_holidays: bool,
    },
}

/// What describes a piece.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PieceDetails {
    /// Title.
    pub title: String,
    /// Skills every person on it needs.
    pub skills: Vec<Skill>,
    /// When.
    pub schedule: Schedule,
    /// Seats, at least 1.
    pub headcount: u32,
    /// Expected minutes of work per session.
    pub expected_minutes: u32,
}

/// The milestones of an internship (what follow-up tracks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Milestones {
    /// Start orientation.
    pub orientation: NaiveDate,
    /// Mid-term review.
    pub mid_term_review: NaiveDate,
    /// Final reflection.
    pub final_reflection: NaiveDate,
}

/// A practical internship project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Internship {
    /// The goal.
    pub goal: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Weekly hours.
    pub weekly_hours: u32,
    /// The mentor's name, sealed under the activity's key (subject = activity id).
    pub mentor_name: Sealed,
    /// Milestones.
    pub milestones: Milestones,
}
