//! What one context knows of another's entities, learned from their events (never from their
//! tables): read models that several contexts keep alike, each in its own database and table.
//!
//! - [`Hosts`]: host organisations as activity design and matching check them — kind, suspension
//!   and licences — from the registry's events; [`host`] reads one's suspension and licences.
//! - [`erasure`]: a context's keys of the people the registry erases, destroyed.

mod erasure;
mod hosts;

pub use erasure::erasure;

pub use hosts::{Host, Hosts, host, licences_of};
