//! Runs consumers and projections over the event log.
//!
//! A [`Projection`] is a pure-ish reaction: `apply(tx, event)` writes its effect through the given
//! transaction, and the runner commits the checkpoint in that same transaction, so an event
//! delivered twice (a crash between commit and acknowledgement, a replay) changes nothing.
//!
//! The same [`Runner`] reads either source:
//! - [`Source::JetStream`]: an ordered pull consumer on the `MOSAIC` stream, made afresh from the
//!   checkpoint the database holds at every start and reconnect — the server keeps no consumer
//!   state, so losing a consumer (a NATS restart) loses nothing — filtered to the
//!   projection's interests (the distributed deployment);
//! - [`Source::Store`]: the producing store's own log, tailed directly (the embedded deployment).
//!
//! An [`EventProjection`] receives a context's typed events (`mosaic-events`) through [`Typed`].
//!
//! Catch-up and live are one loop. Rebuilds (one municipality or all) run inside that loop, so
//! they never race it: the read model is reset and the log replayed up to the checkpoint, then
//! live reading resumes. An operator asks for one from outside the service
//! ([`request_rebuild`], `mosaic projections rebuild`); the leading runner takes it between
//! batches. One runner per projection and source is active (a leader). A database failure is
//! retried a bounded number of times; an event that can never be read (a poison message) or
//! that the projection cannot apply or panics on stops the runner at once: it reports
//! [`RunnerStatus::Failed`] naming the projection and the event's position, and never skips an
//! event silently. A database that is away is waited out ([`RunnerStatus::Unavailable`]), and
//! the runner then continues from the checkpoint the database holds; a runner checks its read
//! model against its source at start and after a database fault, and rebuilds it when they
//! differ. How far a projection has read each context's log is kept with its checkpoint
//! ([`read_up_to`]), so a request that names a write can wait for it.

mod checkpoint;
mod projection;
mod requests;
mod runner;
mod source;
mod typed;

pub use checkpoint::{checkpoint, load_contexts as read_up_to, migrate, migrations};
pub use projection::{
    Interest, Projection, ProjectionError, apply_each, apply_many_span, apply_span,
};
pub use requests::{RebuildProgress, rebuild_progress, request_rebuild, withdraw_rebuild};
pub use runner::{
    Cause, RebuildReport, Runner, RunnerConfig, RunnerError, RunnerHandle, RunnerStatus,
};
pub use source::Source;
pub use typed::{EventProjection, Typed, decode, reset_tables, unreadable};
