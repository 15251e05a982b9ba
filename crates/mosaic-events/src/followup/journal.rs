//! The follow-up journal of an engagement: coordinators' check-ins, reflection dialogues at
//! milestones and two-way feedback. Their free text is about a person: it is sealed under the
//! resident's key in the follow-up context's vault (subject = resident id), so the events keep
//! only ciphertext, and a person's erasure leaves the codes, dates and ratings and nothing to read.

use chrono::NaiveDate;
use mosaic_privacy::Sealed;
use serde::{Deserialize, Serialize};

mosaic_types::vocabulary!(
    /// How a check-in reached the resident.
    CheckInChannel {
        /// Face to face.
        InPerson = 1 => "in_person",
        /// By telephone.
        Phone = 2 => "phone",
        /// By video call.
        Online = 3 => "online",
        /// By message or letter.
        Message = 4 => "message",
    }
);

mosaic_types::vocabulary!(
    /// What a coordinator fears may go wrong, noted at a check-in.
    RiskFlag {
        /// The resident may stop taking part.
        MayDropOut = 1 => "may_drop_out",
        /// A health concern.
        Health = 2 => "health",
        /// Friction with the host or others on the activity.
        Relationship = 3 => "relationship",
        /// More than the resident can carry (hours, travel, family).
        Overload = 4 => "overload",
    }
);

mosaic_types::vocabulary!(
    /// A point at which a reflection dialogue (振り返り) is held.
    Milestone {
        /// At the start (orientation).
        Orientation = 1 => "orientation",
        /// Midway (mid-term review).
        MidTerm = 2 => "mid_term",
        /// At the end (final reflection).
        Final = 3 => "final",
    }
);

mosaic_types::vocabulary!(
    /// Who rates whom.
    FeedbackDirection {
        /// The resident rates the host organisation.
        ResidentToHost = 1 => "resident_to_host",
        /// The host organisation rates the resident.
        HostToResident = 2 => "host_to_resident",
    }
);

mosaic_types::vocabulary!(
    /// Who wrote an entry of the journal.
    Author {
        /// Municipal staff (a coordinator or officer).
        Staff = 1 => "staff",
        /// The activity's host organisation.
        Host = 2 => "host",
        /// The resident.
        Resident = 3 => "resident",
    }
);

/// Payload of `CheckInRecorded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CheckInRecorded {
    /// The engagement.
    pub engagement_id: String,
    /// When it took place (JST).
    pub on: NaiveDate,
    /// How.
    pub channel: CheckInChannel,
    /// What was said, sealed under the resident's key (field `followup.check_in.note`).
    pub note: Sealed,
    /// What the coordinator fears, if anything: the latest check-in's flags are the engagement's.
    pub risks: Vec<RiskFlag>,
}

/// Payload of `ReflectionRecorded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReflectionRecorded {
    /// The engagement.
    pub engagement_id: String,
    /// Which milestone; recording it again replaces the earlier reflection.
    pub milestone: Milestone,
    /// When it was held (JST).
    pub on: NaiveDate,
    /// What went well, sealed under the resident's key (field `followup.reflection.went_well`).
    pub went_well: Sealed,
    /// What was learned, sealed (field `followup.reflection.learned`).
    pub learned: Sealed,
    /// The next steps, sealed (field `followup.reflection.next_steps`).
    pub next_steps: Sealed,
    /// Who wrote it down.
    pub author: Author,
}

/// Payload of `FeedbackGiven`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FeedbackGiven {
    /// The engagement.
    pub engagement_id: String,
    /// Who rates whom; giving it again replaces the earlier feedback of that direction.
    pub direction: FeedbackDirection,
    /// 1 (poor) to 5 (excellent).
    pub rating: u8,
    /// A comment, if any, sealed under the resident's key (field `followup.feedback.comment`).
    pub comment: Option<Sealed>,
    /// When it was given (JST).
    pub on: NaiveDate,
    /// Who wrote it down (staff may on either side's behalf).
    pub author: Author,
}
