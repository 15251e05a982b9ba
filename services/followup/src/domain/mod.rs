//! The follow-up context's domain: pure decisions with no async and no I/O.
//!
//! - [`engagement`]: one engagement, from the confirmation that opens it through the attendance
//!   of its sessions and spontaneous engagement observed to its end.

pub mod engagement;

pub use engagement::{Command, Engagement, FollowUpError};
pub use mosaic_events::followup::*;
