use chrono::{DateTime, Utc};
use mosaic_types::{EventId, MunicipalityCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Payload;

/// An event as stored and published: the envelope of DESIGN.md with its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Position in this store's log: gapless, from 1, in commit order.
    pub position: u64,
    /// Unique id (UUIDv7, minted by the writing service for every event it decides: the store
    /// does not check it); also the JetStream `Nats-Msg-Id`.
    pub event_id: EventId,
    /// The tenant.
    pub municipality: MunicipalityCode,
    /// The producing context, e.g. `registry`.
    pub context: String,
    /// The aggregate stream, e.g. `resident-0190…`.
    pub stream_id: String,
    /// Version within the stream, from 1.
    pub version: u64,
    /// Stored type name, e.g. `ResidentRegistered` (a constant, never a Rust type name).
    pub event_type: String,
    /// Schema version of the payload, from 1.
    pub schema_version: u32,
    /// When it happened (may be in the past for records entered late).
    pub occurred_at: DateTime<Utc>,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
    /// Who acted: the token subject (and on whose behalf, when a proxy acted).
    pub actor: String,
    /// The request this event belongs to; shared by every event a request caused.
    pub correlation_id: Uuid,
    /// The event or request that directly caused this one.
    pub causation_id: Option<Uuid>,
    /// The idempotency key of the command that wrote it.
    pub idempotency_key: Option<String>,
    /// W3C `traceparent` of the writing request, so consumers continue its trace.
    pub trace_context: Option<String>,
    /// The event body: JSON text as stored, decoded by the reader ([`Payload::decode`]).
    pub payload: Payload,
}

/// One event to append; the store assigns position, version and `recorded_at`.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Server-generated id.
    pub event_id: EventId,
    /// Stored type name.
    pub event_type: String,
    /// Schema version of the payload.
    pub schema_version: u32,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The event body, as JSON text ([`Payload::from_value`] makes it from a `Value`).
    pub payload: Payload,
}

/// Who acted and why, shared by every event of one append.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    /// The acting subject.
    pub actor: String,
    /// When the platform received the command; stored as every event's `recorded_at`.
    pub recorded_at: DateTime<Utc>,
    /// The request's correlation id.
    pub correlation_id: Uuid,
    /// What caused the command, if an event did.
    pub causation_id: Option<Uuid>,
    /// The request's idempotency key and a fingerprint of the request.
    pub idempotency: Option<Idempotency>,
    /// W3C `traceparent` of the current span.
    pub trace_context: Option<String>,
}

/// An idempotency key with the fingerprint of the request that first used it, so the same key
/// with a different request is refused rather than silently answered with another result.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The key (the request's `request_id`).
    pub key: String,
    /// A hash of the request body.
    pub request_hash: String,
}

/// The stream version a command expects to append after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Whatever the stream is at.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be exactly at this version.
    Exact(u64),
}

impl ExpectedVersion {
    pub(crate) fn admits(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exact(v) => v == actual,
        }
    }

    pub(crate) fn describe(self) -> String {
        match self {
            ExpectedVersion::Any => "any".into(),
            ExpectedVersion::NoStream => "no stream".into(),
            ExpectedVersion::Exact(v) => v.to_string(),
        }
    }
}

/// Events for one stream, appended in one transaction; with [`AppendRequest::also`], events for
/// further streams in the same transaction, all or none.
#[derive(Debug, Clone)]
pub struct AppendRequest {
    /// The tenant every event belongs to.
    pub municipality: MunicipalityCode,
    /// The stream to append to.
    pub stream_id: String,
    /// The version the command decided against.
    pub expected: ExpectedVersion,
    /// The events, in order.
    pub events: Vec<NewEvent>,
    /// Who, why, and the idempotency key.
    pub meta: CommandMeta,
    /// The answer to save with the idempotency key, returned verbatim to a retry.
    pub response: Option<serde_json::Value>,
    /// Further streams written by the same append: every stream (this one and these) must be
    /// at its expected version, or nothing is written and the first stream that is not is
    /// named in the conflict. This is how a decision that rests on several streams (a piece's
    /// seats and a person's commitments) stays true under concurrency: each stream's version
    /// moves with the append, so two such appends that read the same versions cannot both
    /// commit. Their events follow this stream's, in order.
    pub also: Vec<StreamEvents>,
}

/// Events for one further stream of an [`AppendRequest`].
#[derive(Debug, Clone)]
pub struct StreamEvents {
    /// The stream.
    pub stream_id: String,
    /// The version the command decided against.
    pub expected: ExpectedVersion,
    /// The events, in order. None: the stream is only checked to be at `expected` (a decision
    /// that read it, without writing it, still rests on it).
    pub events: Vec<NewEvent>,
}

impl AppendRequest {
    /// How many events the append writes, over every stream.
    pub fn event_count(&self) -> usize {
        self.events.len() + self.also.iter().map(|s| s.events.len()).sum::<usize>()
    }
}

/// What an append wrote (or, for a retry, what the first attempt wrote).
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The stream written.
    pub stream_id: String,
    /// First and last log positions written, over every stream of the append; `None` for an
    /// append of no events.
    pub positions: Option<(u64, u64)>,
    /// The stream's version after the append.
    pub version: u64,
    /// The answer saved with the idempotency key.
    pub response: Option<serde_json::Value>,
}

/// The result of an append.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendOutcome {
    /// The events were written now.
    Appended(Committed),
    /// The idempotency key was seen before: nothing was written; this is the first result.
    Duplicate(Committed),
}

impl AppendOutcome {
    /// The committed result, whether written now or before.
    pub fn committed(&self) -> &Committed {
        match self {
            AppendOutcome::Appended(c) | AppendOutcome::Duplicate(c) => c,
        }
    }
}

/// A range of the log to read.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Read positions strictly after this one.
    pub after: u64,
    /// At most this many events.
    pub limit: u32,
    /// Only this municipality's events.
    pub municipality: Option<MunicipalityCode>,
    /// Only events that occurred at or before this instant.
    pub as_of: Option<DateTime<Utc>>,
    /// Only positions up to and including this one (an exactly reproducible view).
    pub up_to: Option<u64>,
}
