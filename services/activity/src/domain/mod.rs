//! The activity context's domain: pure decisions with no async and no I/O, so they are tested
//! directly and replayed without a database.

pub mod activity;
pub mod decompose;
mod error;

#[cfg(test)]
mod proptests;

pub use error::ActivityError;
pub use mosaic_events::activity::*;
