//! Every fact the matching context records. Stored names are the `rename`s and the payloads are
//! what analysts and other contexts read: never change either; a new version of a payload gets a
//! new schema version. No personal data: people appear by id, reasons as codes.
//!
//! Streams: `match-<match id>` holds one match's workflow; `seats-<piece id>` the piece's
//! confirmed seats; `commitments-<resident id>` the person's confirmed commitments;
//! `policy-<municipality>` the municipality's matching policy; `team-<team id>` an assembled
//! team and the seats of it proposed. A confirmation or a release writes
//! the match, the seats and the commitments in one append.

use chrono::{DateTime, Utc};
use mosaic_types::{ActivityId, MatchId, OrganisationId, PieceId, ResidentId};
use serde::{Deserialize, Serialize};

use super::team::{TeamAssembled, TeamProposed};
use super::values::{
    Commitment, EndCause, InterviewOutcome, Origin, Reason, RecordedRecommendation, ReviewReason,
    Side, Weights,
};

/// Every fact the matching context records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", content = "data")]
pub enum MatchingEvent {
    /// A resident applied, a coordinator applied for them, or a coordinator proposed them.
    #[serde(rename = "MatchOpened")]
    MatchOpened(MatchOpened),
    /// An interview (面談) was scheduled.
    #[serde(rename = "InterviewScheduled")]
    InterviewScheduled(InterviewScheduled),
    /// An interview's outcome was recorded.
    #[serde(rename = "InterviewRecorded")]
    InterviewRecorded(InterviewRecorded),
    /// One side accepted.
    #[serde(rename = "MatchAccepted")]
    MatchAccepted(MatchAccepted),
    /// One side declined: the match ends.
    #[serde(rename = "MatchDeclined")]
    MatchDeclined(MatchDeclined),
    /// The resident withdrew before the start: the match ends and frees any seat it held.
    #[serde(rename = "MatchWithdrawn")]
    MatchWithdrawn(MatchWithdrawn),
    /// A coordinator cancelled: the match ends and frees any seat it held.
    #[serde(rename = "MatchCancelled")]
    MatchCancelled(MatchCancelled),
    /// Both sides accepted (and any required interview passed): the resident holds a seat of
    /// the piece. Follow-up opens an engagement from it; activity counts confirmed seats.
    #[serde(rename = "MatchConfirmed")]
    MatchConfirmed(MatchConfirmed),
    /// Matching ended the match for a reason of its own (see [`EndCause`]), freeing any seat.
    #[serde(rename = "MatchEnded")]
    MatchEnded(MatchEnded),
    /// A seat of a piece was taken by a confirmed match.
    #[serde(rename = "SeatTaken")]
    SeatTaken(SeatTaken),
    /// A seat of a piece was freed.
    #[serde(rename = "SeatFreed")]
    SeatFreed(SeatChanged),
    /// Matching reviewed a piece's seats after activity removed it, cancelled its activity or
    /// revised it: confirmations decided before the review must be decided again, and a
    /// removed or cancelled piece takes none any more. The matches it ends follow.
    #[serde(rename = "SeatsReviewed")]
    SeatsReviewed(SeatsReviewed),
    /// A person took on a confirmed match's commitment.
    #[serde(rename = "CommitmentTaken")]
    CommitmentTaken(CommitmentTaken),
    /// A person's commitment ended.
    #[serde(rename = "CommitmentFreed")]
    CommitmentFreed(CommitmentFreed),
    /// A municipality officer set the municipality's matching rules.
    #[serde(rename = "MatchingPolicySet")]
    MatchingPolicySet(MatchingPolicySet),
    /// Recommendations were shown to someone who asked for them to be recorded.
    #[serde(rename = "RecommendationsRecorded")]
    RecommendationsRecorded(RecommendationsRecorded),
    /// A team was assembled for a set of pieces (mosaic team assembly).
    #[serde(rename = "TeamAssembled")]
    TeamAssembled(TeamAssembled),
    /// Seats of an assembled team were proposed.
    #[serde(rename = "TeamProposed")]
    TeamProposed(TeamProposed),
}

impl mosaic_domain::DomainEvent for MatchingEvent {}

/// Payload of `MatchOpened`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchOpened {
    /// The match (derived from the piece and the resident: one match per pair).
    pub match_id: MatchId,
    /// The resident.
    pub resident_id: ResidentId,
    /// The piece.
    pub piece_id: PieceId,
    /// The piece's activity.
    pub activity_id: ActivityId,
    /// The activity's host organisation.
    pub host_organisation_id: OrganisationId,
    /// How it began.
    pub origin: Origin,
    /// The coordinator (token subject) who applied or proposed; `None` for a resident's own
    /// application.
    pub coordinator: Option<String>,
    /// Whether an interview must be passed before confirmation.
    pub interview_required: bool,
    /// The resident is a guest (per-application registration).
    pub guest: bool,
}

/// Payload of `InterviewScheduled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InterviewScheduled {
    /// The match.
    pub match_id: MatchId,
    /// When it takes place.
    pub at: DateTime<Utc>,
}

/// Payload of `InterviewRecorded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InterviewRecorded {
    /// The match.
    pub match_id: MatchId,
    /// How it went.
    pub outcome: InterviewOutcome,
}

/// Payload of `MatchAccepted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchAccepted {
    /// The match.
    pub match_id: MatchId,
    /// Who accepted.
    pub side: Side,
}

/// Payload of `MatchDeclined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchDeclined {
    /// The match.
    pub match_id: MatchId,
    /// Who declined.
    pub side: Side,
    /// Why.
    pub reason: Reason,
}

/// Payload of `MatchWithdrawn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchWithdrawn {
    /// The match.
    pub match_id: MatchId,
    /// Why.
    pub reason: Reason,
}

/// Payload of `MatchCancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchCancelled {
    /// The match.
    pub match_id: MatchId,
    /// Why.
    pub reason: Reason,
}

/// Payload of `MatchConfirmed`: everything a consumer needs without reading the match's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchConfirmed {
    /// The match.
    pub match_id: MatchId,
    /// The resident.
    pub resident_id: ResidentId,
    /// The piece.
    pub piece_id: PieceId,
    /// The piece's activity.
    pub activity_id: ActivityId,
    /// The activity's host organisation.
    pub host_organisation_id: OrganisationId,
    /// What the resident committed to.
    pub commitment: Commitment,
}

/// Payload of `MatchEnded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchEnded {
    /// The match.
    pub match_id: MatchId,
    /// Why.
    pub cause: EndCause,
}

/// Payload of `SeatTaken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SeatTaken {
    /// The piece.
    pub piece_id: PieceId,
    /// The match that holds the seat.
    pub match_id: MatchId,
    /// The resident of that match.
    pub resident_id: ResidentId,
    /// What the resident committed to: the piece's schedule when the seat was taken.
    pub commitment: Commitment,
}

/// Payload of `SeatFreed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SeatChanged {
    /// The piece.
    pub piece_id: PieceId,
    /// The match that holds (or held) the seat.
    pub match_id: MatchId,
    /// The resident of that match.
    pub resident_id: ResidentId,
}

/// Payload of `SeatsReviewed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SeatsReviewed {
    /// The piece.
    pub piece_id: PieceId,
    /// Why.
    pub reason: ReviewReason,
}

/// Payload of `CommitmentTaken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommitmentTaken {
    /// The resident.
    pub resident_id: ResidentId,
    /// The match.
    pub match_id: MatchId,
    /// The piece.
    pub piece_id: PieceId,
    /// What it asks of the resident.
    pub commitment: Commitment,
}

/// Payload of `CommitmentFreed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommitmentFreed {
    /// The resident.
    pub resident_id: ResidentId,
    /// The match.
    pub match_id: MatchId,
}

/// Payload of `MatchingPolicySet`: the whole policy, replacing the one before. Its version is the
/// policy stream's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MatchingPolicySet {
    /// The most hours a week anyone may be committed to (e.g. a Silver Center's rule); `None`:
    /// no municipal cap.
    pub max_hours_per_week: Option<u16>,
    /// The most days a month anyone may be committed to; `None`: no municipal cap.
    pub max_days_per_month: Option<u16>,
    /// How recommendations weigh each factor of their score (absent in events written before
    /// recommendations existed: the defaults).
    #[serde(default)]
    pub weights: Weights,
    /// The recent window, in days, in which engagements and offers count for fairness (absent
    /// in older events: the default).
    #[serde(default = "Weights::default_fairness_window")]
    pub fairness_window_days: u16,
}

/// Payload of `RecommendationsRecorded`: recommendations that were shown, as answered, in one
/// batch (answers given at about the same time are recorded together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RecommendationsRecorded {
    /// The recommendations, in the order they were answered.
    pub recommendations: Vec<RecordedRecommendation>,
}
