//! The activity context's events: activities, their pieces and internship projects.

mod events;
mod values;

pub use events::*;
pub use values::*;

/// The producing context's name, as events and subjects carry it.
pub const CONTEXT: &str = "activity";
