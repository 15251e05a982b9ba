//! How appends are stored: one `commits` row per append, holding the envelope its events share
//! once and the events themselves as a JSON array (see `migrations/postgres/3_commits.sql`).
//! Positions and versions stay per event: a commit covers `first_position..=last_position` and
//! versions from `first_version` on, so readers get the same [`StoredEvent`]s as ever.

use chrono::{DateTime, Utc};
use mosaic_types::{EventId, MunicipalityCode};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use crate::{NewEvent, Payload, StoreError, StoredEvent};

/// The columns of a commit, in the order of [`CommitRow`].
pub(crate) const COMMIT_COLUMNS: &str = "last_position, first_position, municipality, context, \
    stream_id, first_version, recorded_at, actor, correlation_id, causation_id, idempotency_key, \
    trace_context, events";

/// One event of a commit's JSON array, as read.
#[derive(Deserialize)]
pub(crate) struct Entry {
    event_id: Uuid,
    event_type: String,
    schema_version: u32,
    occurred_at: DateTime<Utc>,
    payload: Payload,
}

/// One event of a commit's JSON array, as written (borrowed from the append).
#[derive(Serialize)]
struct EntryRef<'a> {
    event_id: Uuid,
    event_type: &'a str,
    schema_version: u32,
    occurred_at: DateTime<Utc>,
    payload: &'a Payload,
}

/// The JSON array of an append's events, as the `events` column holds it.
pub(crate) fn encode_events(events: &[NewEvent]) -> String {
    let entries: Vec<EntryRef<'_>> = events
        .iter()
        .map(|e| EntryRef {
            event_id: e.event_id.0,
            event_type: &e.event_type,
            schema_version: e.schema_version,
            occurred_at: e.occurred_at,
            payload: &e.payload,
        })
        .collect();
    // Serialising plain values and JSON text cannot fail.
    serde_json::to_string(&entries).unwrap_or_else(|_| "[]".into())
}

/// One row of [`COMMIT_COLUMNS`], decoded by position (cheaper than by name for long reads).
pub(crate) type CommitRow = (
    i64,
    i64,
    String,
    String,
    String,
    i64,
    DateTime<Utc>,
    String,
    Uuid,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    Json<Vec<Entry>>,
);

/// Which of a commit's events a read wants.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Keep {
    /// Only positions after this one.
    pub after: u64,
    /// Only positions up to this one.
    pub up_to: Option<u64>,
    /// Only events that occurred at or before this instant.
    pub as_of: Option<DateTime<Utc>>,
}

impl Keep {
    fn admits(&self, position: u64, occurred_at: DateTime<Utc>) -> bool {
        position > self.after
            && self.up_to.is_none_or(|p| position <= p)
            && self.as_of.is_none_or(|t| occurred_at <= t)
    }
}

/// Expands commits into their events, keeping those `keep` admits, at most `limit` of them.
pub(crate) fn expand(
    rows: Vec<CommitRow>,
    keep: Keep,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut out = Vec::with_capacity(limit.min(rows.len().saturating_mul(4)));
    for row in rows {
        if out.len() >= limit {
            break;
        }
        let (
            last_position,
            first_position,
            municipality,
            context,
            stream_id,
            first_version,
            recorded_at,
            actor,
            correlation_id,
            causation_id,
            idempotency_key,
            trace_context,
            Json(entries),
        ) = row;
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("{what} in the commit at {last_position}"));
        let first = u64::try_from(first_position).map_err(|_| corrupt("negative position"))?;
        let first_version = u64::try_from(first_version).map_err(|_| corrupt("bad version"))?;
        if entries.is_empty()
            || u64::try_from(last_position).ok() != Some(first + entries.len() as u64 - 1)
        {
            return Err(corrupt("a wrong number of events"));
        }
        let municipality =
            MunicipalityCode::parse(&municipality).map_err(|_| corrupt("a bad municipality"))?;
        for (k, e) in entries.into_iter().enumerate() {
            let position = first + k as u64;
            if out.len() >= limit {
                break;
            }
            if !keep.admits(position, e.occurred_at) {
                continue;
            }
            out.push(StoredEvent {
                position,
                event_id: EventId(e.event_id),
                municipality,
                context: context.clone(),
                stream_id: stream_id.clone(),
                version: first_version + k as u64,
                event_type: e.event_type,
                schema_version: e.schema_version,
                occurred_at: e.occurred_at,
                recorded_at,
                actor: actor.clone(),
                correlation_id,
                causation_id,
                idempotency_key: idempotency_key.clone(),
                trace_context: trace_context.clone(),
                payload: e.payload,
            });
        }
    }
    Ok(out)
}
