use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use mosaic_db::group::Grouped;
use mosaic_db::{Db, Migrations, PG_NO_FLUSH_WAIT, on_db};
use mosaic_types::MunicipalityCode;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, FromRow};
use tokio::sync::watch;

use crate::commit::{COMMIT_COLUMNS, CommitRow, Keep, expand};
use crate::reader::ReadTask;
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
    /// Idempotency lookups of concurrent commands, made together.
    lookups: Arc<KeyLookups>,
}

/// Idempotency lookups served in groups; an answer of `None` tells the caller to look its key up
/// itself: its group's query failed.
type KeyLookups =
    Grouped<(MunicipalityCode, Idempotency), Option<Result<Option<Committed>, StoreError>>>;

/// At most this many idempotency keys in one lookup.
const MAX_LOOKUP_GROUP: usize = 256;

/// Serves idempotency lookups in groups: one query per municipality of a group. If it fails, a
/// lone caller gets the error; in a larger group each caller looks its key up itself, so it gets
/// its own answer.
fn key_lookups(db: Db) -> KeyLookups {
    Grouped::start_by_part(
        MAX_LOOKUP_GROUP,
        |(municipality, _): &(MunicipalityCode, Idempotency)| *municipality,
        move |municipality, asks: Vec<(MunicipalityCode, Idempotency)>| {
            let db = db.clone();
            async move {
                let keys: Vec<Idempotency> = asks.into_iter().map(|(_, k)| k).collect();
                Some(match lookup_keys(&db, municipality, &keys).await {
                    Ok(found) => found.into_iter().map(Some).collect(),
                    Err(e) if keys.len() == 1 => vec![Some(Err(e))],
                    Err(_) => keys.iter().map(|_| None).collect(),
                })
            }
        },
    )
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

/// The columns of a [`KeyedRow`] (from `idempotency i`).
const IDEMPOTENCY_COLUMNS: &str = "i.key, i.request_hash, i.stream_id, i.first_position, \
    i.last_position, i.version, i.response";

/// A recorded result with its key.
#[derive(FromRow)]
struct KeyedRow {
    key: String,
    #[sqlx(flatten)]
    row: IdempotencyRow,
}

/// Events an `as_of` read looks through per query, at least.
const AS_OF_CHUNK: usize = 10_000;

/// A full page of the whole log is read in parts of at least this many events at once…
const MIN_PART: u32 = 128;
/// …and in at most this many parts.
const MAX_PARTS: u32 = 4;

/// Commits holding the events a log read wants, in position order: those after `$1`, as many
/// as cover `$2` events (the running count of events after `$1` is below `$2` before each), of one
/// municipality if `municipality` (the next parameter), and none beyond the commit that holds a
/// position bound if `bounded` (the parameter after). Without a municipality the log is dense, so
/// the bound `$1 + $2` keeps the scan to the page; as a range of the primary key (the last
/// position of the commit holding the bound) it stops the index scan there, where a filter on
/// `first_position` would not.
fn log_sql(municipality: bool, bounded: bool) -> String {
    const FROM_AFTER: &str = "(last_position - (CASE WHEN first_position > $1 \
        THEN first_position ELSE $1 + 1 END) + 1)";
    let mut cond = String::from("last_position > $1");
    let mut n = 2;
    if municipality {
        n += 1;
        cond += &format!(" AND municipality = ${n}");
    }
    if bounded {
        n += 1;
        cond += &format!(
            " AND last_position <= COALESCE((SELECT MIN(last_position) FROM commits \
             WHERE last_position >= ${n}), ${n})"
        );
    }
    format!(
        "SELECT {COMMIT_COLUMNS} FROM (SELECT {COMMIT_COLUMNS}, \
         SUM{FROM_AFTER} OVER (ORDER BY last_position) AS through \
         FROM commits WHERE {cond} ORDER BY last_position LIMIT $2) c \
         WHERE through - {FROM_AFTER} < $2 ORDER BY last_position"
    )
}

/// One `read_log` query: the events of the commits [`log_sql`] selects that the query wants.
/// Only an `as_of` filter can leave a page short with more of the log to read; then it reads on.
async fn fetch_log(db: Db, query: LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
    let limit = query.limit.max(1) as usize;
    let mut events = Vec::new();
    let mut after = query.after;
    loop {
        // An `as_of` read keeps only some events, so it reads on in chunks of its own size.
        let want = if query.as_of.is_some() {
            (limit - events.len()).max(AS_OF_CHUNK)
        } else {
            limit - events.len()
        } as i64;
        let dense =
            (query.municipality.is_none() && query.as_of.is_none()).then_some(after as i64 + want);
        let bound = match (dense, query.up_to.map(|p| p as i64)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sql = log_sql(query.municipality.is_some(), bound.is_some());
        let rows: Vec<CommitRow> = on_db!(&db, pool => {
            let mut q = sqlx::query_as(AssertSqlSafe(sql.as_str()))
                .bind(after as i64)
                .bind(want);
            if let Some(m) = &query.municipality {
                q = q.bind(m.as_str().to_owned());
            }
            if let Some(p) = bound {
                q = q.bind(p);
            }
            q.fetch_all(pool).await?
        });
        let Some(last) = rows.last().map(|r| r.0 as u64) else {
            break;
        };
        let keep = Keep {
            after,
            up_to: query.up_to,
            as_of: query.as_of,
        };
        events.extend(expand(rows, keep, limit - events.len())?);
        after = last;
        if events.len() >= limit || query.as_of.is_none() {
            break;
        }
    }
    Ok(events)
}

/// The first results of idempotency keys of one municipality, in their order.
async fn lookup_keys(
    db: &Db,
    municipality: MunicipalityCode,
    keys: &[Idempotency],
) -> Result<Vec<Result<Option<Committed>, StoreError>>, StoreError> {
    let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
    let rows: Vec<KeyedRow> = match db {
        // One key is an exact lookup of the primary key; several are driven by the list, one
        // index lookup each (a lateral lookup, kept from being flattened into a join by its
        // `LIMIT`: a join lets a generic plan made while the table was small hash all of it).
        Db::Postgres(pool) if names.len() == 1 => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {IDEMPOTENCY_COLUMNS} FROM idempotency i \
                 WHERE municipality = $1 AND key = $2"
            )))
            .bind(municipality.as_str())
            .bind(names[0])
            .fetch_all(pool)
            .await?
        }
        Db::Postgres(pool) => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {IDEMPOTENCY_COLUMNS} FROM UNNEST($2::text[]) AS k(key) \
                 CROSS JOIN LATERAL (SELECT * FROM idempotency \
                     WHERE municipality = $1 AND key = k.key LIMIT 1) i"
            )))
            .bind(municipality.as_str())
            .bind(&names)
            .fetch_all(pool)
            .await?
        }
        Db::Sqlite(pool) => {
            let names = serde_json::to_string(&names)
                .map_err(|e| StoreError::Database(sqlx::Error::Encode(e.into())))?;
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {IDEMPOTENCY_COLUMNS} FROM idempotency i \
                 WHERE municipality = $1 AND key IN (SELECT value FROM json_each($2))"
            )))
            .bind(municipality.as_str())
            .bind(names)
            .fetch_all(pool)
            .await?
        }
    };
    let found: HashMap<String, IdempotencyRow> = rows.into_iter().map(|r| (r.key, r.row)).collect();
    Ok(keys
        .iter()
        .map(|idempotency| match found.get(&idempotency.key).cloned() {
            // A claim whose append has not committed yet has no result: treat as unseen; the
            // append's own claim decides.
            Some(row) if row.version.is_none() => Ok(None),
            Some(row) if row.request_hash != idempotency.request_hash => {
                Err(StoreError::IdempotencyMismatch {
                    key: idempotency.key.clone(),
                })
            }
            other => Ok(other.map(IdempotencyRow::committed)),
        })
        .collect())
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
            lookups: Arc::new(key_lookups(db.clone())),
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
        match self.lookups.ask((municipality, idempotency.clone())).await {
            Some(Some(answer)) => return answer,
            // The group's query failed: this caller's own lookup gives its own answer.
            Some(None) => {}
            None => tracing::debug!("the idempotency lookup queue is gone (its runtime shut down)"),
        }
        lookup_keys(&self.db, municipality, std::slice::from_ref(idempotency))
            .await?
            .pop()
            .unwrap_or(Ok(None))
    }

    async fn idempotent_results(
        &self,
        municipality: MunicipalityCode,
        keys: &[Idempotency],
    ) -> Result<Vec<Result<Option<Committed>, StoreError>>, StoreError> {
        lookup_keys(&self.db, municipality, keys).await
    }

    #[tracing::instrument(name = "eventstore.read_stream", skip(self), fields(municipality = %municipality))]
    async fn read_stream(
        &self,
        municipality: MunicipalityCode,
        stream_id: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        // By the stream alone, so the plan is always the lookup of the stream's own index (with
        // the municipality too, a planner that misjudges a growing table may walk the
        // municipality's whole log instead); a stream belongs to one municipality (appends check
        // it), so its rows are kept or dropped together.
        let sql = format!(
            "SELECT {COMMIT_COLUMNS} FROM commits WHERE stream_id = $1 ORDER BY first_version"
        );
        let rows: Vec<CommitRow> = on_db!(&self.db, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(stream_id)
                .fetch_all(pool)
                .await?
        });
        let events = expand(rows, Keep::default(), usize::MAX)?;
        Ok(of_municipality(events, municipality))
    }

    async fn read_streams(
        &self,
        municipality: MunicipalityCode,
        stream_ids: &[&str],
    ) -> Result<Vec<Vec<StoredEvent>>, StoreError> {
        let rows: Vec<CommitRow> = match &self.db {
            Db::Postgres(pool) => {
                // One lookup of the stream index per stream (see `read_stream`): the ordered
                // subquery stays a lateral lookup, never a join the planner may turn into a
                // scan of the table.
                sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT c.* FROM UNNEST($1::text[]) WITH ORDINALITY AS s(id, n) \
                     CROSS JOIN LATERAL (SELECT {COMMIT_COLUMNS} FROM commits \
                     WHERE stream_id = s.id ORDER BY first_version) c \
                     ORDER BY s.n, c.first_version"
                )))
                .bind(stream_ids)
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(pool) => {
                // The ids travel as one JSON array, so the statement is the same for any count.
                sqlx::query_as(AssertSqlSafe(format!(
                    "SELECT {COMMIT_COLUMNS} FROM commits WHERE stream_id IN \
                     (SELECT value FROM json_each($1)) ORDER BY stream_id, first_version"
                )))
                .bind(serde_json::Value::from(stream_ids).to_string())
                .fetch_all(pool)
                .await?
            }
        };
        let events = of_municipality(expand(rows, Keep::default(), usize::MAX)?, municipality);
        let mut out: Vec<Vec<StoredEvent>> = stream_ids.iter().map(|_| Vec::new()).collect();
        for event in events {
            for (i, id) in stream_ids.iter().enumerate() {
                if event.stream_id == *id {
                    out[i].push(event);
                    break;
                }
            }
        }
        Ok(out)
    }

    #[tracing::instrument(name = "eventstore.read_log", skip_all, fields(after = query.after, limit = query.limit))]
    async fn read_log(&self, query: &LogQuery) -> Result<Vec<StoredEvent>, StoreError> {
        let limit = query.limit.max(1);
        let known_head = *self.head.borrow();
        // A full page of the whole log is dense: its k-th part is exactly the k-th run of
        // positions after `after`. The parts are then read on several connections at once, so the
        // server produces some while others are decoded, on every core. Only when the page is
        // known to be full (committed up to the head this store has seen); a short read stays one
        // query.
        let dense = query.municipality.is_none() && query.as_of.is_none();
        let full = known_head >= query.after + u64::from(limit)
            && query
                .up_to
                .is_none_or(|p| p >= query.after + u64::from(limit));
        let parts = (limit / MIN_PART).min(MAX_PARTS);
        if !(dense && full && parts >= 2) {
            return fetch_log(self.db.clone(), query.clone()).await;
        }
        let part = limit / parts;
        let ranges: Vec<(u64, u32)> = (0..parts)
            .map(|k| {
                let len = if k + 1 == parts {
                    limit - part * k
                } else {
                    part
                };
                (query.after + u64::from(part * k), len)
            })
            .collect();
        let later: Vec<_> = ranges[1..]
            .iter()
            .map(|&(after, limit)| {
                ReadTask::spawn(fetch_log(
                    self.db.clone(),
                    LogQuery {
                        after,
                        limit,
                        ..query.clone()
                    },
                ))
            })
            .collect();
        let mut events = fetch_log(
            self.db.clone(),
            LogQuery {
                limit: ranges[0].1,
                ..query.clone()
            },
        )
        .await?;
        // The parts are contiguous only while each before is complete.
        let mut complete = events.len() == ranges[0].1 as usize;
        for (task, &(_, len)) in later.into_iter().zip(&ranges[1..]) {
            let got = task.join().await?;
            if complete {
                complete = got.len() == len as usize;
                events.extend(got);
            }
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

    fn writer_alive(&self) -> Option<watch::Receiver<bool>> {
        Some(self.writer.alive())
    }

    fn crash_writer(&self) {
        self.writer.abort();
    }

    async fn outbox_pending(&self, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        // Whole commits, as many as hold `limit` events (at least one): a commit is published and
        // marked as a whole.
        let sql = format!(
            "SELECT {cols} FROM (SELECT {cols}, SUM(last_position - first_position + 1) \
             OVER (ORDER BY last_position) AS through FROM commits \
             WHERE last_position > (SELECT position FROM log_published WHERE id = 1) \
             ORDER BY last_position LIMIT $1) p \
             WHERE through - (last_position - first_position + 1) < $1 ORDER BY last_position",
            cols = COMMIT_COLUMNS,
        );
        let rows: Vec<CommitRow> = on_db!(&self.db, pool => {
            sqlx::query_as(AssertSqlSafe(sql))
                .bind(i64::from(limit.max(1)))
                .fetch_all(pool)
                .await?
        });
        expand(rows, Keep::default(), usize::MAX)
    }

    async fn mark_published(&self, positions: &[u64]) -> Result<(), StoreError> {
        let (Some(first), Some(last)) = (positions.iter().min(), positions.iter().max()) else {
            return Ok(());
        };
        // The published part of the log is a prefix: it grows to the last whole commit in the
        // range when the range starts where it ends, and never shrinks.
        // On PostgreSQL without waiting for the WAL flush: a mark lost in a crash only makes the
        // relay publish those events again, which JetStream drops by their message ids (and
        // consumers skip).
        let (no_wait, from) = match self.db {
            Db::Postgres(_) => (PG_NO_FLUSH_WAIT, "FROM no_wait"),
            Db::Sqlite(_) => ("", ""),
        };
        let sql = format!(
            "{no_wait} UPDATE log_published SET position = COALESCE(\
                 (SELECT MAX(last_position) FROM commits WHERE last_position <= $2), position) \
             {from} \
             WHERE id = 1 AND position >= $1 - 1 AND position < $2"
        );
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql))
                .bind(*first as i64)
                .bind(*last as i64)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    fn leader(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> mosaic_db::lease::Leader {
        lease::Leader::new(&self.db, name, holder, ttl)
    }
}

/// The events of `municipality`: another municipality's stream reads as no stream at all.
fn of_municipality(
    mut events: Vec<StoredEvent>,
    municipality: MunicipalityCode,
) -> Vec<StoredEvent> {
    events.retain(|e| e.municipality == municipality);
    events
}
