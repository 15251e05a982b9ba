//! The activity context's domain: pure decisions with no async and no I/O, so they are tested
//! directly and replayed without a database.

pub mod activity;
pub mod decompose;
mod error;
mod events;
mod values;

#[cfg(test)]
mod proptests;

pub use error::ActivityError;
pub use events::*;
pub use values::*;
