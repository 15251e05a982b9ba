//! The append-only event store every command service writes to.
//!
//! One trait, [`EventStore`], with one SQL implementation, [`SqlEventStore`], over the two
//! backends of [`mosaic_db::Db`]: PostgreSQL when distributed, SQLite when embedded.
//!
//! What it guarantees:
//! - **Optimistic concurrency**: an append names the stream version it expects; a mismatch is
//!   [`StoreError::Conflict`] (the API answers `ABORTED`). The unique `(stream_id,
//!   first_version)` of appends decides races, never an unlocked read.
//! - **Idempotency**: an append may carry a key (the request's `request_id`); a retry with the same
//!   key returns the first result and writes nothing.
//! - **A gapless log in commit order**: appends take the single head row, so a reader that sees
//!   position `p` has seen every position below it; nobody skips an event that was still
//!   committing.
//! - **A transactional outbox**: the log itself, past the position published so far
//!   (`log_published`); the relay (`mosaic-bus`) publishes it in order, so what is published is
//!   always a prefix of the log.
//!
//! How appends are stored: one row per append (a commit) with the envelope its events share and
//! the events as a JSON array, so an append of many events is one row to write and to read
//! (`commit.rs`); the `events` view shows one event per row for SQL readers.
//!
//! How appends are written: since every append takes the head, appends commit one after another
//! anyway, so each store has one writer task that takes the appends queued by concurrent callers
//! (first come, first served) and commits them as a group: one head update and one durable flush
//! for the group. Each append is still decided on its own, in queue order, exactly as if the
//! appends ran one after another; a conflict or a duplicate is answered alone, and an append the
//! database refuses is retried alone, so it never makes the others fail (see `append.rs`).
//!
//! It does not interpret payloads: domain crates own their event types, and their payload types
//! read every schema version the log holds.

mod append;
mod commit;
mod envelope;
mod error;
mod payload;
mod reader;
mod sql_store;
mod writer;

pub use envelope::{
    AppendOutcome, AppendRequest, CommandMeta, Committed, ExpectedVersion, Idempotency, LogQuery,
    NewEvent, StoredEvent, StreamEvents,
};
pub use error::StoreError;
pub use payload::Payload;
pub use reader::{LogReader, READ_AHEAD_PAGE};
pub use sql_store::{MIGRATIONS_TABLE, SqlEventStore, migrate, migrations};

use async_trait::async_trait;
use mosaic_types::MunicipalityCode;
use tokio::sync::watch;

/// An event log owned by one context (registry, activity, …).
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// The context whose events this store holds, e.g. `registry`.
    fn context(&self) -> &str;

    /// Appends events to one stream atomically (and to the streams of [`AppendRequest::also`],
    /// in the same transaction).
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError>;

    /// The first result recorded for an idempotency key, if the key was used before;
    /// [`StoreError::IdempotencyMismatch`] if it was used for a request with another fingerprint.
    async fn idempotent_result(
        &self,
        municipality: MunicipalityCode,
        idempotency: &Idempotency,
    ) -> Result<Option<Committed>, StoreError> {
        let mut results = self
            .idempotent_results(municipality, std::slice::from_ref(idempotency))
            .await?;
        results.pop().unwrap_or(Ok(None))
    }

    /// [`EventStore::idempotent_result`] for many keys of one municipality in one lookup, in
    /// their order.
    async fn idempotent_results(
        &self,
        municipality: MunicipalityCode,
        keys: &[Idempotency],
    ) -> Result<Vec<Result<Option<Committed>, StoreError>>, StoreError>;

    /// Every event of one stream in version order; empty when the stream does not exist in this
    /// municipality (so another municipality's stream looks like no stream at all).
    async fn read_stream(
        &self,
        municipality: MunicipalityCode,
        stream_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// [`EventStore::read_stream`] for several streams of one municipality, in their order: for a
    /// decision that rests on several streams, in one read.
    async fn read_streams(
        &self,
        municipality: MunicipalityCode,
        stream_ids: &[&str],
    ) -> Result<Vec<Vec<StoredEvent>>, StoreError> {
        let mut out = Vec::with_capacity(stream_ids.len());
        for id in stream_ids {
            out.push(self.read_stream(municipality, id).await?);
        }
        Ok(out)
    }

    /// Events of the whole log in position order, optionally for one municipality and as of an
    /// instant (by `occurred_at`).
    async fn read_log(&self, query: &LogQuery) -> Result<Vec<StoredEvent>, StoreError>;

    /// The last committed position (0 for an empty log).
    async fn head(&self) -> Result<u64, StoreError>;

    /// A receiver that changes whenever this process commits an append; tailers wake on it and
    /// also poll, since other processes append too.
    fn watch_head(&self) -> watch::Receiver<u64>;

    /// Turns false when the store can no longer append (its writer task stopped); `None` for a
    /// store without such a task.
    fn writer_alive(&self) -> Option<watch::Receiver<bool>> {
        None
    }

    /// Stops the store's writer task as a crash would: a fault to rehearse (the service turns
    /// `NOT_SERVING` and appends fail until it restarts). Does nothing on a store without one.
    fn crash_writer(&self) {}

    /// Unpublished events in position order: whole appends (an append's events are published and
    /// marked together), as many as hold `limit` events, at least one append.
    async fn outbox_pending(&self, limit: u32) -> Result<Vec<StoredEvent>, StoreError>;

    /// Marks the appends holding these positions as published. What is published is a prefix of
    /// the log: the range (from the least to the greatest position) extends it when the range
    /// starts at or before the first unpublished position, up to the last append wholly inside
    /// the range; appends only partly inside stay pending, and the prefix never shrinks.
    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError>;

    /// A contender, as `holder`, for the lead of a job on this store (its relay): one holder at
    /// a time, released when the holder gives it up or its process dies
    /// ([`mosaic_db::lease::Leader`]; `ttl` is the lease time where a lease is used).
    fn leader(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> mosaic_db::lease::Leader;
}
