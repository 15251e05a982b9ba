//! Wellbeing and effect measures: special-care data under APPI, recorded only with the resident's
//! research consent. What a measure says (its items, score, value, unit) is sealed under the
//! resident's key; the event keeps only which instrument and when, so an erasure leaves nothing to
//! read.
//!
//! Streams: `wellbeing-<resident id>`.

use chrono::NaiveDate;
use mosaic_privacy::Sealed;
use mosaic_types::ResidentId;
use serde::{Deserialize, Serialize};

mosaic_types::vocabulary!(
    /// A wellbeing or effect instrument.
    Instrument {
        /// WHO-5 Well-Being Index: five items scored 0 to 5; the raw score (0–25) times 4 is
        /// the percentage (0–100).
        Who5 = 1 => "who5",
        /// Three-item loneliness scale (Hughes et al., 2004): three items scored 1 to 3; the
        /// score is their sum (3–9), higher is lonelier.
        Loneliness3 = 2 => "loneliness3",
        /// Self-rated health: one item, 1 (excellent) to 5 (poor).
        SelfRatedHealth = 3 => "self_rated_health",
        /// A numeric measure of the municipality's own, with its name and unit.
        Custom = 4 => "custom",
    }
);

/// Payload of `MeasureRecorded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MeasureRecorded {
    /// The resident.
    pub resident_id: ResidentId,
    /// Which instrument.
    pub instrument: Instrument,
    /// When it was taken (JST).
    pub on: NaiveDate,
    /// What it says — the items and score, or the name, value and unit — as JSON sealed under
    /// the resident's key (field `followup.measure`).
    pub reading: Sealed,
}
