//! The follow-up context's domain: pure decisions with no async and no I/O.
//!
//! - [`engagement`]: one engagement, from the confirmation that opens it through the attendance
//!   of its sessions and spontaneous engagement observed to its end.
//! - [`account`]: a resident's incentive account (awards, grants, redemptions, caps) and the
//!   municipality's incentive policy.
//! - [`reminders`]: which reminders are due on a day.
//! - [`wellbeing`]: wellbeing instruments and their scoring.
//! - [`journal`]: the check-ins, reflections and feedback written on an engagement.

pub mod account;
pub mod engagement;
pub mod journal;
pub mod reminders;
pub mod wellbeing;

pub use engagement::{Command, Engagement, FollowUpError};
pub use journal::Entry;
pub use mosaic_events::followup::*;
