//! The registry's events: municipalities, host organisations, coordinators and residents.

mod events;
mod values;

pub use events::*;
pub use values::*;

/// The producing context's name, as events and subjects carry it.
pub const CONTEXT: &str = "registry";
