//! Every fact the activity context records. Stored names are the `rename`s and the payloads are
//! what analysts and other contexts read: never change either; a new version of a payload gets a
//! new schema version, and the payload type keeps reading the older ones. The mentor's name
//! appears only sealed.

use mosaic_types::{ActivityId, PieceId};
use serde::{Deserialize, Serialize};

use super::values::{ActivityDetails, CloseReason, Internship, PieceDetails};

/// Every fact the activity context records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", content = "data")]
pub enum ActivityEvent {
    /// A draft activity was created.
    #[serde(rename = "ActivityCreated")]
    ActivityCreated(ActivityCreated),
    /// An activity's details were replaced.
    #[serde(rename = "ActivityUpdated")]
    ActivityUpdated(ActivityCreated),
    /// A piece was added.
    #[serde(rename = "PieceAdded")]
    PieceAdded(PieceAdded),
    /// A piece's details were replaced.
    #[serde(rename = "PieceRevised")]
    PieceRevised(PieceAdded),
    /// A piece was removed. Matching undoes any confirmation on it that raced the removal.
    #[serde(rename = "PieceRemoved")]
    PieceRemoved(PieceRef),
    /// A draft was published.
    #[serde(rename = "ActivityPublished")]
    ActivityPublished(ActivityRef),
    /// A published activity was paused.
    #[serde(rename = "ActivityPaused")]
    ActivityPaused(ActivityRef),
    /// A paused activity was resumed.
    #[serde(rename = "ActivityResumed")]
    ActivityResumed(ActivityRef),
    /// An activity was closed, filled or ended.
    #[serde(rename = "ActivityClosed")]
    ActivityClosed(ActivityClosed),
    /// An activity was cancelled.
    #[serde(rename = "ActivityCancelled")]
    ActivityCancelled(ActivityCancelled),
    /// An internship project was defined or replaced.
    #[serde(rename = "InternshipDefined")]
    InternshipDefined(InternshipDefined),
}

impl mosaic_domain::DomainEvent for ActivityEvent {}

/// Payload of `ActivityCreated` and `ActivityUpdated`: the whole details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActivityCreated {
    /// The activity.
    pub activity_id: ActivityId,
    /// Its details.
    pub details: ActivityDetails,
}

/// Payload of `PieceAdded` and `PieceRevised`: the whole piece.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PieceAdded {
    /// The activity.
    pub activity_id: ActivityId,
    /// The piece.
    pub piece_id: PieceId,
    /// Its details.
    pub piece: PieceDetails,
}

/// Payload of `PieceRemoved`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PieceRef {
    /// The activity.
    pub activity_id: ActivityId,
    /// The piece.
    pub piece_id: PieceId,
}

/// An event about an activity that carries nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActivityRef {
    /// The activity.
    pub activity_id: ActivityId,
}

/// Payload of `ActivityClosed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActivityClosed {
    /// The activity.
    pub activity_id: ActivityId,
    /// Filled or ended.
    pub reason: CloseReason,
}

/// Payload of `ActivityCancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActivityCancelled {
    /// The activity.
    pub activity_id: ActivityId,
    /// Why.
    pub reason: String,
}

/// Payload of `InternshipDefined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct InternshipDefined {
    /// The activity.
    pub activity_id: ActivityId,
    /// The project (mentor sealed).
    pub internship: Internship,
}
