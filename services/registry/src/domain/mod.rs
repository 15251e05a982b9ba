//! Registry domain: commands, events, aggregates. No I/O.

pub mod coordinator;
mod error;
mod events;
pub mod municipality;
pub mod organisation;
pub mod resident;
mod values;

#[cfg(test)]
mod proptests;

pub use error::RegistryError;
pub use events::*;
pub use values::*;
