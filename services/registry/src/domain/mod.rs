//! Registry domain: commands, events, aggregates. No I/O.

mod error;
mod events;
pub mod municipality;

pub use error::RegistryError;
pub use events::{MunicipalityRegistered, RegistryEvent};
