//! The matching context's events: matches from application or proposal to confirmation and end,
//! the seats of pieces, the commitments of people, and each municipality's matching policy.

mod events;
mod team;
mod values;

pub use events::*;
pub use team::*;
pub use values::*;

/// The producing context's name, as events and subjects carry it.
pub const CONTEXT: &str = "matching";
