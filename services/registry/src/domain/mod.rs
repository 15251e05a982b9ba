//! Registry domain: commands, events, aggregates. No I/O.

pub mod coordinator;
mod error;
pub mod municipality;
pub mod organisation;
pub mod resident;

#[cfg(test)]
mod proptests;

pub use error::RegistryError;
pub use mosaic_events::registry::*;
