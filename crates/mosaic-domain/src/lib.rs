//! The shape of domain code in every Mosaic context. No I/O, no async.
//!
//! An [`Aggregate`] decides and evolves:
//! `decide(&state, &command) -> Result<Vec<Event>, Error>` and `evolve(state, &event) -> state`.
//! Events are plain data whose stored names are explicit: an event enum is serialised adjacently
//! tagged (`{"type": "...", "data": {...}}`) with `#[serde(rename = "...")]` on each variant, so a
//! Rust rename never orphans history. [`DomainEvent`] turns them into the store's
//! `(event_type, payload)` and back. [`given`] writes tests as given events → when command → then
//! events or error.

mod aggregate;
mod catalogue;
mod event;
mod given;

pub use aggregate::{Aggregate, fold};
pub use catalogue::Catalogue;
pub use event::{DomainEvent, EventCodecError};
pub use given::{Given, given};
