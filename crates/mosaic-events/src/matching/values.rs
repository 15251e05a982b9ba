//! The parts of matching's events. Stored names are the serde names: never change them.

use chrono::NaiveDate;
use mosaic_types::WeeklyWindow;
use serde::{Deserialize, Serialize};

mosaic_types::vocabulary!(
    /// How a match began.
    Origin {
        /// The resident applied themself.
        Application = 1 => "application",
        /// A coordinator applied for the resident, under a confirmed proxy agreement.
        ProxyApplication = 2 => "proxy_application",
        /// A coordinator proposed the resident for the piece.
        Proposal = 3 => "proposal",
    }
);

mosaic_types::vocabulary!(
    /// One side of a match.
    Side {
        /// The resident.
        Resident = 1 => "resident",
        /// The host organisation.
        Host = 2 => "host",
    }
);

mosaic_types::vocabulary!(
    /// Why someone declined, withdrew or cancelled (a code, never free text about a person).
    Reason {
        /// The times do not work.
        Schedule = 1 => "schedule",
        /// The work and the person do not fit.
        NotAFit = 2 => "not_a_fit",
        /// Too far.
        Distance = 3 => "distance",
        /// Health.
        Health = 4 => "health",
        /// Personal or family reasons.
        Personal = 5 => "personal",
        /// The host asked for it.
        HostRequest = 6 => "host_request",
        /// Anything else.
        Other = 7 => "other",
    }
);

mosaic_types::vocabulary!(
    /// How an interview (面談) went.
    InterviewOutcome {
        /// Both sides want to go on.
        Passed = 1 => "passed",
        /// Not passed: the match ends.
        NotPassed = 2 => "not_passed",
    }
);

mosaic_types::vocabulary!(
    /// Why matching itself ended a match (not a decision of either side).
    EndCause {
        /// The activity removed the piece.
        PieceRemoved = 1 => "piece_removed",
        /// The activity was cancelled.
        ActivityCancelled = 2 => "activity_cancelled",
        /// The piece's headcount fell below its confirmed seats; the latest confirmations go.
        HeadcountCut = 3 => "headcount_cut",
        /// The interview was not passed.
        InterviewNotPassed = 4 => "interview_not_passed",
        /// The piece's schedule changed from the one the match committed to.
        ScheduleChanged = 5 => "schedule_changed",
        /// Follow-up ended the engagement of the confirmation (completed or dropped out).
        EngagementEnded = 6 => "engagement_ended",
    }
);

mosaic_types::vocabulary!(
    /// What made matching review a piece's seats.
    ReviewReason {
        /// The activity removed the piece: it takes no more confirmations.
        PieceRemoved = 1 => "piece_removed",
        /// The activity was cancelled: the piece takes no more confirmations.
        ActivityCancelled = 2 => "activity_cancelled",
        /// The piece was revised (headcount or schedule).
        PieceRevised = 3 => "piece_revised",
    }
);

/// What a confirmed match asks of a person: when, and how much. Caps compare these; the figures
/// are upper bounds (a week or month with fewer sessions asks less).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Commitment {
    /// The weekly windows (JST) it occupies.
    pub slots: Vec<WeeklyWindow>,
    /// First day (JST).
    pub first_day: NaiveDate,
    /// Last day (JST).
    pub last_day: NaiveDate,
    /// The most minutes it takes in any one week.
    pub minutes_per_week: u32,
    /// The most days it takes in any one calendar month.
    pub days_per_month: u32,
}

impl Commitment {
    /// Whether two commitments can ask for the same minute: their periods overlap and so do
    /// two of their windows.
    pub fn clashes_with(&self, other: &Commitment) -> bool {
        self.first_day <= other.last_day
            && other.first_day <= self.last_day
            && self
                .slots
                .iter()
                .any(|a| other.slots.iter().any(|b| a.overlaps(b)))
    }

    /// Whether the two periods share a day.
    pub fn overlaps_period(&self, other: &Commitment) -> bool {
        self.first_day <= other.last_day && other.first_day <= self.last_day
    }
}

/// How recommendations weigh each factor of a score: each factor is worth 0 to 1,000 points
/// before its weight (0 to 100) multiplies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Weights {
    /// Skill fit: how far the resident's levels reach in the skills the piece asks for.
    pub skill: u16,
    /// Interest fit: the activity's field is one of the resident's interests.
    pub interest: u16,
    /// Engagement-form preference: the activity's form is one the resident prefers.
    pub form: u16,
    /// Nearness: how far within the resident's travel radius the piece is.
    pub distance: u16,
    /// Fairness boost: no or few engagements in the fairness window.
    pub fairness_boost: u16,
    /// Offer dampener (subtracted): already offered much in the fairness window.
    pub offer_dampener: u16,
}

impl Weights {
    /// The most a weight may be.
    pub const MAX: u16 = 100;
    /// The fairness window when a policy names none, in days.
    pub const DEFAULT_FAIRNESS_WINDOW_DAYS: u16 = 90;

    /// The fairness window when a policy names none (serde's default).
    pub fn default_fairness_window() -> u16 {
        Self::DEFAULT_FAIRNESS_WINDOW_DAYS
    }
}

/// The weights of a municipality that never set any: fit first, with a fairness boost that
/// can lift a resident without recent engagements past a slightly better fit.
impl Default for Weights {
    fn default() -> Self {
        Self {
            skill: 40,
            interest: 20,
            form: 10,
            distance: 10,
            fairness_boost: 20,
            offer_dampener: 10,
        }
    }
}

mosaic_types::vocabulary!(
    /// What a recommendation ranked.
    RecommendationKind {
        /// Residents for a piece (`RecommendResidents`).
        ResidentsForPiece = 1 => "residents_for_piece",
        /// Pieces for a resident (`RecommendPieces`).
        PiecesForResident = 2 => "pieces_for_resident",
    }
);

/// One recommendation as it was shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecordedRecommendation {
    /// Its id, as the answer gave it.
    pub recommendation_id: String,
    /// What was ranked.
    pub kind: RecommendationKind,
    /// The piece (residents for a piece) or the resident (pieces for a resident).
    pub subject_id: String,
    /// Who asked, as events record an actor (a resident as `resident:` and a digest).
    pub asked_by: String,
    /// The version of the matching policy that produced it.
    pub policy_version: u64,
    /// The JST date it was shown on: offers shown count by it.
    pub day: NaiveDate,
    /// How many were asked for.
    pub k: u32,
    /// How many passed every hard filter.
    pub considered: u32,
    /// What was shown, best first.
    pub shown: Vec<Shown>,
}

/// One candidate shown in a recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Shown {
    /// The resident or piece.
    pub id: String,
    /// Its score.
    pub score: i64,
}
