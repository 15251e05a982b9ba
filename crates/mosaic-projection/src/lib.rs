//! Runs consumers and projections over the event log.
//!
//! A [`Projection`] is a pure-ish reaction: `apply(tx, event)` writes its effect through the given
//! transaction, and the runner commits the checkpoint in that same transaction, so an event
//! delivered twice (a crash between commit and acknowledgement, a replay) changes nothing.
//!
//! The same [`Runner`] reads either source:
//! - [`Source::JetStream`]: a durable pull consumer on the `MOSAIC` stream, filtered to the
//!   projection's interests (the distributed deployment);
//! - [`Source::Store`]: the producing store's own log, tailed directly (the embedded deployment).
//!
//! Catch-up and live are one loop. Rebuilds (one municipality or all) run inside that loop, so
//! they never race it: the read model is reset and the log replayed up to the checkpoint, then
//! live reading resumes. One runner per projection and source is active (a leader); a failing
//! event is retried a bounded number of times, then the runner stops and reports
//! [`RunnerStatus::Failed`] — it never skips an event silently. A database that is away is
//! waited out ([`RunnerStatus::Unavailable`]), and the runner then continues from the
//! checkpoint the database holds; a runner checks its read model against its source at start
//! and after a database fault, and rebuilds it when they differ.

mod checkpoint;
mod projection;
mod runner;
mod source;

pub use checkpoint::{checkpoint, load_contexts as read_up_to, migrate, migrations};
pub use projection::{
    Interest, Projection, ProjectionError, apply_each, apply_many_span, apply_span,
};
pub use runner::{RebuildReport, Runner, RunnerConfig, RunnerError, RunnerHandle, RunnerStatus};
pub use source::Source;
