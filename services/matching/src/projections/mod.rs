//! The matching context's read models. Each is its own projection, and each follows one
//! context's log (their positions are not comparable): `matching.residents` and `matching.hosts`
//! (from the registry; the hosts one is `mosaic_known::Hosts`, as activity keeps it),
//! `matching.activity` (activities and pieces, from activity) and `matching.matches` (this
//! context's matches, for lists).

mod activity;
pub(crate) mod matches;
mod residents;

pub use activity::Activities;
pub use matches::Matches;
pub use residents::Residents;
