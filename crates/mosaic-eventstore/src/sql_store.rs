use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mosaic_db::{Db, Migrations, on_db};
use mosaic_types::{EventId, MunicipalityCode};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, FromRow};
use tokio::sync::watch;
use uuid::Uuid;

use crate::writer::Writer;
use crate::{
    AppendOutcome, AppendRequest, Committed, EventStore, Idempotency, LogQuery, StoreError,
    StoredEvent,
};
use mosaic_db::lease;

/// The migrations table of the event store's own schema.
pub const MIGRATIONS_TABLE: &str = "_mosaic_eventstore_migrations";

/// Creates or updates the event store's tables (and the lease table it relies on).
pub async fn migrate(db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
    mosaic_db::run_migrations(db, mosaic_db::lease::migrations()).await?;
    mosaic_db::run_migrations(db, migrations()).await
}

/// The event store's schema for both backends.
pub fn migrations() -> Migrations {
    Migrations {
        table: MIGRATIONS_TABLE,
        postgres: sqlx::migrate!("migrations/postgres"),
        sqlite: sqlx::migrate!("migrations/sqlite"),
    }
}

/// The event store on PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct SqlEventStore {
    db: Db,
    context: String,
    head: watch::Sender<u64>,
    writer: Writer,
}

pub(crate) const EVENT_COLUMNS: &str = "position, event_id, municipality, context, stream_id, \
    version, event_type, schema_version, occurred_at, recorded_at, actor, correlation_id, \
    causation_id, idempotency_key, trace_context, payload";

/// One row of [`EVENT_COLUMNS`], decoded by position: cheaper for every row of a long read than
/// looking each of the 16 columns up by name.
pub(crate) type EventRow = (
    i64,
    Uuid,
    String,
    String,
    String,
    i64,
    String,
    i32,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
    Uuid,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    Json<serde_json::Value>,
);

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;
    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        let (
            position,
            event_id,
            municipality,
            context,
            stream_id,
            version,
            event_type,
            schema_version,
            occurred_at,
            recorded_at,
            actor,
            correlation_id,
            causation_id,
            idempotency_key,
            trace_context,
            payload,
        ) = row;
        let corrupt = |what: &str| StoreError::Corrupt(format!("{what} at position {position}"));
        Ok(StoredEvent {
            position: u64::try_from(position).map_err(|_| corrupt("negative position"))?,
            event_id: EventId(event_id),
            municipality: MunicipalityCode::parse(&municipality)
                .map_err(|_| corrupt("bad municipality"))?,
            context,
            stream_id,
            version: u64::try_from(version).map_err(|_| corrupt("negative version"))?,
            event_type,
            schema_version: u32::try_from(schema_version)
                .map_err(|_| corrupt("negative schema version"))?,
            occurred_at,
            recorded_at,
            actor,
            correlation_id,
            causation_id,
            idempotency_key,
            trace_context,
            payload: payload.0,
        })
    }
}

pub(crate) fn to_events(rows: Vec<EventRow>) -> Result<Vec<StoredEvent>, StoreError> {
    rows.into_iter().map(StoredEvent::try_from).collect()
}

#[derive(FromRow, Clone)]
pub(crate) struct IdempotencyRow {
    pub request_hash: String,
    pub stream_id: String,
    pub first_position: Option<i64>,
    pub last_position: Option<i64>,
    pub version: Option<i64>,
    pub response: Option<Json<serde_json::Value>>,
}

impl IdempotencyRow {
    pub(crate) fn committed(self) -> Committed {
        Committed {
            stream_id: self.stream_id,
            positions: self
                .first_position
                .zip(self.last_position)
                .map(|(a, b)| (a as u64, b as u64)),
            version: self.version.unwrap_or(0) as u64,
            response: self.response.map(|j| j.0),
        }
    }
}

pub(crate) const IDEMPOTENCY_SELECT: &str = "SELECT request_hash, stream_id, first_position, \
    last_position, version, response FROM idempotency WHERE municipality = $1 AND key = $2";

/// Pages of at least twice this many events are read as two halves at once.
const MIN_HALF_PAGE: u32 = 256;

/// One `read_log` query.
async fn fetch_log(db: Db, query: LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
    // Conditions are added only when set, so each shape gets a plan that can use its index.
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE position > $1");
    let mut n = 1;
    let mut next = |cond: &str| {
        n += 1;
        format!(" AND {cond} ${n}")
    };
    if query.municipality.is_some() {
        sql += &next("municipality =");
    }
    if query.as_of.is_some() {
        sql += &next("occurred_at <=");
    }
    if query.up_to.is_some() {
        sql += &next("position <=");
    }
    sql += &format!(" ORDER BY position LIMIT {}", query.limit.max(1));
    let rows: Vec<EventRow> = on_db!(&db, pool => {
        let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(query.after as i64);
        if let Some(m) = &query.municipality {
            q = q.bind(m.as_str().to_owned());
        }
        if let Some(t) = query.as_of {
            q = q.bind(t);
        }
        if let Some(p) = query.up_to {
            q = q.bind(p as i64);
        }
        q.fetch_all(pool).await?
    });
    to_events(rows)
}

impl SqlEventStore {
    /// Opens the store of `context` on a migrated database (see [`migrations`]) and starts its
    /// writer task on the current runtime; the task ends when the last clone of the store is
    /// dropped.
    pub async fn open(db: Db, context: impl Into<String>) -> Result<Self, StoreError> {
        let head: i64 = on_db!(&db, pool => {
            sqlx::query_scalar("SELECT position FROM log_head WHERE id = 1").fetch_one(pool).await?
        });
        let (tx, _) = watch::channel(head as u64);
        let context = context.into();
        Ok(Self {
            writer: Writer::spawn(db.clone(), context.clone()),
            db,
            context,
            head: tx,
        })
    }

    /// The database under the store (projections of the same service share it).
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) fn advance_head(&self, position: u64) {
        self.head.send_if_modified(|h| {
            let moved = position > *h;
            if moved {
                *h = position;
            }
            moved
        });
    }
}

#[async_trait]
impl EventStore for SqlEventStore {
    fn context(&self) -> &str {
        &self.context
    }

    #[tracing::instrument(
        name = "eventstore.append",
        skip_all,
        fields(stream_id = %request.stream_id, municipality = %request.municipality, events = request.events.len())
    )]
    async fn append(&self, request: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let outcome = self.writer.append(request).await?;
        if let AppendOutcome::Appended(Committed {
            positions: Some((_, last)),
            ..
        }) = &outcome
        {
            self.advance_head(*last);
        }
        Ok(outcome)
    }

    async fn idempotent_result(
        &self,
        municipality: MunicipalityCode,
        idempotency: &Idempotency,
    ) -> Result<Option<Committed>, StoreError> {
        let row: Option<IdempotencyRow> = on_db!(&self.db, pool => {
            sqlx::query_as(IDEMPOTENCY_SELECT)
                .bind(municipality.as_str())
                .bind(&idempotency.key)
                .fetch_optional(pool)
                .await?
        });
        match row {
            // A claim whose append has not committed yet has no result: treat as unseen; the
            // append's own claim decides.
            Some(row) if row.version.is_none() => Ok(None),
            Some(row) if row.request_hash != idempotency.request_hash => {
                Err(StoreError::IdempotencyMismatch {
                    key: idempotency.key.clone(),
                })
            }
            other => Ok(other.map(IdempotencyRow::committed)),
        }
    }

    #[tracing::instrument(name = "eventstore.read_stream", skip(self), fields(municipality = %municipality))]
    async fn read_stream(
        &self,
        municipality: MunicipalityCode,
        stream_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND municipality = $2 ORDER BY version"
        );
        let rows: Vec<EventRow> = on_db!(&self.db, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(stream_id)
                .bind(municipality.as_str())
                .fetch_all(pool)
                .await?
        });
        to_events(rows)
    }

    #[tracing::instrument(name = "eventstore.read_log", skip_all, fields(after = query.after, limit = query.limit))]
    async fn read_log(&self, query: &LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
        let limit = query.limit.max(1);
        let known_head = *self.head.borrow();
        // A full page of the whole log is dense: its first half is exactly the next `half`
        // positions. The second half is then read on another connection at the same time, so the
        // server produces it while the first is decoded. Only when the page is known to be full
        // (committed up to the head this store has seen); a short read stays one query.
        let dense = query.municipality.is_none() && query.as_of.is_none();
        let full = known_head >= query.after + u64::from(limit)
            && query
                .up_to
                .is_none_or(|p| p >= query.after + u64::from(limit));
        if !(dense && full && limit >= 2 * MIN_HALF_PAGE) {
            return fetch_log(self.db.clone(), query.clone()).await;
        }
        let half = limit / 2;
        let second = tokio::spawn(fetch_log(
            self.db.clone(),
            LogQuery {
                after: query.after + u64::from(half),
                limit: limit - half,
                ..query.clone()
            },
        ));
        let mut events = fetch_log(
            self.db.clone(),
            LogQuery {
                limit: half,
                ..query.clone()
            },
        )
        .await?;
        let rest = second
            .await
            .map_err(|e| StoreError::Database(sqlx::Error::Io(std::io::Error::other(e))))??;
        // Both halves are contiguous only if the first is complete.
        if events.len() == half as usize {
            events.extend(rest);
        }
        Ok(events)
    }

    async fn head(&self) -> Result<u64, StoreError> {
        let head: i64 = on_db!(&self.db, pool => {
            sqlx::query_scalar("SELECT position FROM log_head WHERE id = 1").fetch_one(pool).await?
        });
        self.advance_head(head as u64);
        Ok(head as u64)
    }

    fn watch_head(&self) -> watch::Receiver<u64> {
        self.head.subscribe()
    }

    async fn outbox_pending(&self, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {} FROM outbox o JOIN events e ON e.position = o.position \
             WHERE o.published_at IS NULL ORDER BY o.position LIMIT {}",
            EVENT_COLUMNS
                .split(", ")
                .map(|c| format!("e.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            limit.max(1)
        );
        let rows: Vec<EventRow> = on_db!(&self.db, pool => {
            sqlx::query_as(AssertSqlSafe(sql)).fetch_all(pool).await?
        });
        to_events(rows)
    }

    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        let (Some(first), Some(last)) = (positions.iter().min(), positions.iter().max()) else {
            return Ok(());
        };
        // The relay publishes contiguous runs, so a range update marks exactly the batch.
        on_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE outbox SET published_at = $1 WHERE position >= $2 AND position <= $3 \
                 AND published_at IS NULL",
            )
            .bind(mosaic_types::now_utc())
            .bind(*first as i64)
            .bind(*last as i64)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    async fn purge_published(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = on_db!(&self.db, pool => {
            sqlx::query("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        Ok(lease::try_lease(&self.db, name, holder, ttl).await?)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        Ok(lease::release_lease(&self.db, name, holder).await?)
    }
}
