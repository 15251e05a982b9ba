//! The activity context's read models: the host organisations it learns from the registry, and
//! the search tables built from its own events. Each is its own projection because each follows
//! one context's log (their positions are not comparable).

pub(crate) mod hosts;
mod search;

pub use hosts::Hosts;
pub use search::Search;
