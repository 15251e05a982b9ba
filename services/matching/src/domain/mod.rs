//! The matching context's domain: pure decisions with no async and no I/O.
//!
//! - [`facts`]: what matching knows of the resident, the piece and its host, learned from the
//!   registry's and activity's events, and the municipality's policy;
//! - [`commitment`]: what a piece asks of a person (windows, period, hours, days);
//! - [`booking`]: one match's workflow and the decision that spans the match, the piece's seats
//!   and the person's commitments;
//! - [`recommend`]: the hard filters, scores and order of recommendations;
//! - [`index`]: the candidate index that ranks a municipality's residents for a piece;
//! - [`team`]: mosaic team assembly, several people who together staff a set of pieces.

pub mod booking;
pub mod commitment;
mod error;
pub mod facts;
pub mod index;
pub mod recommend;
pub mod team;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod recommend_proptests;
#[cfg(test)]
mod team_proptests;

pub use booking::{
    Booking, Command, Commitments, Match, Review, Seats, Stage, Writes, decide, review,
};
pub use error::{CapUnit, MatchError};
pub use facts::{HostFacts, PieceFacts, Policy, ResidentFacts};
pub use mosaic_events::matching::*;
