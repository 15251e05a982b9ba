//! The activity context's read models: the host organisations it learns from the registry, the
//! seats it learns from matching, and the search tables built from its own events. Each is its own projection because each follows
//! one context's log (their positions are not comparable).

mod search;
mod seats;

pub use search::Search;
pub use seats::Seats;
