//! The matching context's read models. Each is its own projection because each follows one
//! context's log (their positions are not comparable): `matching.registry` (residents and host
//! organisations, from the registry), `matching.activity` (activities and pieces, from activity)
//! and `matching.matches` (this context's matches, for lists).

mod activity;
pub(crate) mod matches;
mod registry;

pub use activity::Activities;
pub use matches::Matches;
pub use registry::Registry;
