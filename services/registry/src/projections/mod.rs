//! The registry's own read models, built from its own events.

mod directory;

pub use directory::{Directory, NAME_PURPOSE, PROFILE_TABLES};
