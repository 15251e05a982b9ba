//! The append transaction. Both backends follow the same steps; only the bulk insert differs:
//!
//! 1. claim the idempotency key (`INSERT … ON CONFLICT DO NOTHING`): a key already claimed means a
//!    retry, answered with the first result;
//! 2. read the stream's version and check the expectation;
//! 3. take the log head (the one row every append locks, so positions are gapless and committed in
//!    order), insert events and outbox rows, record the result under the key;
//! 4. commit. A unique violation on `(stream_id, version)` is a concurrent writer: a conflict.

use mosaic_db::{DbTx, is_unique_violation, on_db, on_tx};
use mosaic_types::now_utc;
use sqlx::types::Json;

use crate::sql_store::{IDEMPOTENCY_SELECT, IdempotencyRow};
use crate::{
    AppendOutcome, AppendRequest, Committed, EventStore, ExpectedVersion, SqlEventStore, StoreError,
};

/// How often an append with [`ExpectedVersion::Any`] retries after losing a race.
const ANY_VERSION_RETRIES: usize = 5;

pub(crate) async fn append(
    store: &SqlEventStore,
    request: AppendRequest,
) -> Result<AppendOutcome, StoreError> {
    let mut attempt = 0;
    loop {
        match append_once(store, &request).await {
            Err(StoreError::Conflict { .. })
                if request.expected == ExpectedVersion::Any && attempt < ANY_VERSION_RETRIES =>
            {
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn append_once(
    store: &SqlEventStore,
    request: &AppendRequest,
) -> Result<AppendOutcome, StoreError> {
    let municipality = request.municipality.as_str();
    let mut tx = store.db.begin().await?;

    if let Some(idem) = &request.meta.idempotency {
        let claimed = on_tx!(&mut tx, t => {
            sqlx::query(
                "INSERT INTO idempotency (municipality, key, request_hash, stream_id, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (municipality, key) DO NOTHING",
            )
            .bind(municipality)
            .bind(&idem.key)
            .bind(&idem.request_hash)
            .bind(&request.stream_id)
            .bind(now_utc())
            .execute(&mut **t)
            .await?
            .rows_affected()
        });
        if claimed == 0 {
            tx.rollback().await?;
            return earlier_result(store, request).await;
        }
    }

    let actual = stream_version(&mut tx, &request.stream_id, municipality).await?;
    if !request.expected.admits(actual) {
        tx.rollback().await?;
        return Err(conflict(request, actual));
    }

    let count = request.events.len() as i64;
    let written = if count == 0 {
        record_result(&mut tx, request, None, actual)
            .await
            .map(|_| None)
    } else {
        insert_events(&mut tx, store.context(), request, actual).await
    };
    let positions = match written {
        Ok(p) => p,
        Err(e) if is_unique_violation(&e) => {
            tx.rollback().await?;
            let now = current_version(store, &request.stream_id).await?;
            return Err(conflict(request, now));
        }
        Err(e) => return Err(e.into()),
    };
    if let Err(e) = tx.commit().await {
        if is_unique_violation(&e) {
            let now = current_version(store, &request.stream_id).await?;
            return Err(conflict(request, now));
        }
        return Err(e.into());
    }
    Ok(AppendOutcome::Appended(Committed {
        stream_id: request.stream_id.clone(),
        positions,
        version: actual + count as u64,
        response: request.response.clone(),
    }))
}

fn conflict(request: &AppendRequest, actual: u64) -> StoreError {
    StoreError::Conflict {
        stream_id: request.stream_id.clone(),
        expected: request.expected.describe(),
        actual,
    }
}

/// The stream's current version. A stream id that exists in another municipality counts as
/// taken (version reported as found), so no writer can append into another tenant's stream.
async fn stream_version(
    tx: &mut DbTx,
    stream_id: &str,
    municipality: &str,
) -> Result<u64, StoreError> {
    let last: Option<(i64, String)> = on_tx!(tx, t => {
        sqlx::query_as(
            "SELECT version, municipality FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(stream_id)
        .fetch_optional(&mut **t)
        .await?
    });
    match last {
        None => Ok(0),
        Some((v, m)) if m == municipality => Ok(v as u64),
        Some((v, _)) => Err(StoreError::Conflict {
            stream_id: stream_id.to_owned(),
            expected: "a stream of this municipality".into(),
            actual: v as u64,
        }),
    }
}

async fn current_version(store: &SqlEventStore, stream_id: &str) -> Result<u64, StoreError> {
    let v: Option<i64> = on_db!(&store.db, pool => {
        sqlx::query_scalar("SELECT MAX(version) FROM events WHERE stream_id = $1")
            .bind(stream_id)
            .fetch_one(pool)
            .await?
    });
    Ok(v.unwrap_or(0) as u64)
}

async fn earlier_result(
    store: &SqlEventStore,
    request: &AppendRequest,
) -> Result<AppendOutcome, StoreError> {
    let Some(idem) = &request.meta.idempotency else {
        return Err(StoreError::Corrupt(
            "idempotency lookup without a key".into(),
        ));
    };
    let row: Option<IdempotencyRow> = on_db!(&store.db, pool => {
        sqlx::query_as(IDEMPOTENCY_SELECT)
            .bind(request.municipality.as_str())
            .bind(&idem.key)
            .fetch_optional(pool)
            .await?
    });
    match row {
        Some(row) if row.request_hash == idem.request_hash => {
            Ok(AppendOutcome::Duplicate(row.committed()))
        }
        Some(_) => Err(StoreError::IdempotencyMismatch {
            key: idem.key.clone(),
        }),
        // The claim was rolled back between our insert and this read: the first attempt failed,
        // so this one may simply be tried again by the caller.
        None => Err(StoreError::Conflict {
            stream_id: request.stream_id.clone(),
            expected: "an unclaimed request_id".into(),
            actual: 0,
        }),
    }
}

async fn record_result(
    tx: &mut DbTx,
    request: &AppendRequest,
    positions: Option<(u64, u64)>,
    version: u64,
) -> Result<(), sqlx::Error> {
    let Some(idem) = &request.meta.idempotency else {
        return Ok(());
    };
    on_tx!(tx, t => {
        sqlx::query(
            "UPDATE idempotency SET first_position = $1, last_position = $2, version = $3, \
             response = $4 WHERE municipality = $5 AND key = $6",
        )
        .bind(positions.map(|p| p.0 as i64))
        .bind(positions.map(|p| p.1 as i64))
        .bind(version as i64)
        .bind(request.response.as_ref().map(Json))
        .bind(request.municipality.as_str())
        .bind(&idem.key)
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

/// One statement under the head lock: the lock is held only for this statement and the commit.
const PG_APPEND: &str = r#"
WITH head AS (
    UPDATE log_head SET position = position + $1 WHERE id = 1 RETURNING position - $1 AS base
), ins AS (
    INSERT INTO events (position, event_id, municipality, context, stream_id, version, event_type,
        schema_version, occurred_at, recorded_at, actor, correlation_id, causation_id,
        idempotency_key, trace_context, payload)
    SELECT head.base + e.ord, e.event_id, $2, $3, $4, $5 + e.ord, e.event_type, e.schema_version,
        e.occurred_at, $6, $7, $8, $9, $10, $11, e.payload::jsonb
    FROM head, UNNEST($12::uuid[], $13::text[], $14::int4[], $15::timestamptz[], $16::text[])
        WITH ORDINALITY AS e(event_id, event_type, schema_version, occurred_at, payload, ord)
    RETURNING position
), ob AS (
    INSERT INTO outbox (position) SELECT position FROM ins
), idem AS (
    UPDATE idempotency SET first_position = head.base + 1, last_position = head.base + $1,
        version = $5 + $1, response = $17::jsonb
    FROM head WHERE municipality = $2 AND key = $10
)
SELECT base FROM head
"#;

async fn insert_events(
    tx: &mut DbTx,
    context: &str,
    request: &AppendRequest,
    version: u64,
) -> Result<Option<(u64, u64)>, sqlx::Error> {
    match tx {
        // PostgreSQL records the idempotent result inside its one statement.
        DbTx::Postgres(t) => insert_postgres(t, context, request, version).await,
        DbTx::Sqlite(t) => {
            let positions = insert_sqlite(t, context, request, version).await?;
            let n = request.events.len() as u64;
            record_result(tx, request, positions, version + n).await?;
            Ok(positions)
        }
    }
}

async fn insert_postgres(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    context: &str,
    request: &AppendRequest,
    version: u64,
) -> Result<Option<(u64, u64)>, sqlx::Error> {
    let n = request.events.len() as i64;
    let meta = &request.meta;
    let ids: Vec<uuid::Uuid> = request.events.iter().map(|e| e.event_id.0).collect();
    let types: Vec<&str> = request
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    let schemas: Vec<i32> = request
        .events
        .iter()
        .map(|e| e.schema_version as i32)
        .collect();
    let occurred: Vec<_> = request.events.iter().map(|e| e.occurred_at).collect();
    let payloads: Vec<String> = request
        .events
        .iter()
        .map(|e| e.payload.to_string())
        .collect();
    let base: i64 = sqlx::query_scalar(PG_APPEND)
        .bind(n)
        .bind(request.municipality.as_str())
        .bind(context)
        .bind(&request.stream_id)
        .bind(version as i64)
        .bind(meta.recorded_at)
        .bind(&meta.actor)
        .bind(meta.correlation_id)
        .bind(meta.causation_id)
        .bind(meta.idempotency.as_ref().map(|i| i.key.as_str()))
        .bind(meta.trace_context.as_deref())
        .bind(ids)
        .bind(types)
        .bind(schemas)
        .bind(occurred)
        .bind(payloads)
        .bind(request.response.as_ref().map(|r| r.to_string()))
        .fetch_one(&mut **tx)
        .await?;
    Ok(Some((base as u64 + 1, (base + n) as u64)))
}

async fn insert_sqlite(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    context: &str,
    request: &AppendRequest,
    version: u64,
) -> Result<Option<(u64, u64)>, sqlx::Error> {
    // BEGIN IMMEDIATE already serialises writers, so reading the head here is safe.
    let base: i64 = sqlx::query_scalar("SELECT position FROM log_head WHERE id = 1")
        .fetch_one(&mut **tx)
        .await?;
    let meta = &request.meta;
    let recorded_at = meta.recorded_at;
    for (i, event) in request.events.iter().enumerate() {
        let position = base + 1 + i as i64;
        sqlx::query(
            "INSERT INTO events (position, event_id, municipality, context, stream_id, version, \
             event_type, schema_version, occurred_at, recorded_at, actor, correlation_id, \
             causation_id, idempotency_key, trace_context, payload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(position)
        .bind(event.event_id.0)
        .bind(request.municipality.as_str())
        .bind(context)
        .bind(&request.stream_id)
        .bind((version + 1 + i as u64) as i64)
        .bind(&event.event_type)
        .bind(event.schema_version as i32)
        .bind(event.occurred_at)
        .bind(recorded_at)
        .bind(&meta.actor)
        .bind(meta.correlation_id)
        .bind(meta.causation_id)
        .bind(meta.idempotency.as_ref().map(|i| i.key.as_str()))
        .bind(meta.trace_context.as_deref())
        .bind(Json(&event.payload))
        .execute(&mut **tx)
        .await?;
        sqlx::query("INSERT INTO outbox (position) VALUES ($1)")
            .bind(position)
            .execute(&mut **tx)
            .await?;
    }
    let n = request.events.len() as i64;
    sqlx::query("UPDATE log_head SET position = $1 WHERE id = 1")
        .bind(base + n)
        .execute(&mut **tx)
        .await?;
    Ok(Some((base as u64 + 1, (base + n) as u64)))
}
