//! Appends, a group at a time. The store's writer ([`crate::writer`]) hands over the appends that
//! concurrent callers queued; they are decided and written together:
//!
//! 1. read what the group touches as committed: each stream's version and owner, and the results
//!    already recorded under its idempotency keys;
//! 2. decide each append in queue order as if the appends ran one after another: a key seen before
//!    is a duplicate (or a mismatch), a wrong expected version is a conflict; both are answered
//!    alone and write nothing, while the appends after them still see the versions and keys the
//!    accepted appends before them claim;
//! 3. write every accepted append at once: one head update, the events and the idempotency
//!    results, committed together (on PostgreSQL one statement, so one round trip and
//!    one WAL flush for the whole group).
//!
//! Another process may write between 1 and 3 on PostgreSQL; the unique constraints on
//! `(stream_id, version)` and on the idempotency key then fail the group, and the writer retries
//! each of its appends alone (see [`append_alone`]), where the fresh read turns the lost race into
//! a conflict or a duplicate. On SQLite, 1 to 3 run under `BEGIN IMMEDIATE`, so nobody writes in
//! between.

use std::collections::HashMap;

use mosaic_db::is_unique_violation;
use mosaic_types::now_utc;
use sqlx::pool::PoolConnection;
use sqlx::types::Json;
use sqlx::{Connection, FromRow, PgConnection, Postgres, QueryBuilder, Sqlite, SqliteConnection};

use crate::commit::encode_events;
use crate::sql_store::IdempotencyRow;
use crate::{AppendOutcome, AppendRequest, Committed, ExpectedVersion, NewEvent, StoreError};

/// What one append gets back.
pub(crate) type Answer = Result<AppendOutcome, StoreError>;

/// How often an append alone is retried after losing a race at the database (only
/// [`crate::ExpectedVersion::Any`] can lose one repeatedly).
const RACE_RETRIES: usize = 5;

/// Rows per multi-row `INSERT` on SQLite: 16 columns each, well inside its 32,766 variables.
const SQLITE_ROWS_PER_INSERT: usize = 100;

/// A connection held by the writer while it has work.
pub(crate) enum WriterConn {
    Postgres(PoolConnection<Postgres>),
    Sqlite(PoolConnection<Sqlite>),
}

/// The committed state of the streams and keys one group touches.
#[derive(Default)]
struct Known {
    /// Stream id → (version, owning municipality).
    streams: HashMap<String, (u64, String)>,
    /// (municipality, key) → the result recorded under it.
    keys: HashMap<(String, String), IdempotencyRow>,
}

#[derive(FromRow)]
struct KeyRow {
    municipality: String,
    key: String,
    #[sqlx(flatten)]
    row: IdempotencyRow,
}

/// What to do with one append of a group.
enum Decision {
    /// Answered without writing: a conflict, a mismatch or a retry of an earlier group.
    Answered(Answer),
    /// Write it: the stream is at `version`, and `offset` events of the group come before it;
    /// the further streams of [`AppendRequest::also`] are at `also`, in order.
    Write {
        version: u64,
        offset: u64,
        also: Vec<u64>,
    },
    /// A retry of an append accepted earlier in the group (`of`): its result, once written.
    RetryOf {
        of: usize,
        version: u64,
        offset: u64,
    },
}

/// Whether a group reads the committed state before deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    /// Only when an append expects an existing stream. Appends that create streams are decided
    /// as if nothing existed: if their stream or key does exist, the unique constraints refuse
    /// the group, and it is appended again with [`Read::Always`]. This saves a round trip for
    /// the common case, new aggregates.
    WhenNeeded,
    /// Always (after a refusal).
    Always,
}

/// Appends a group (in queue order) at once. `Err` means the database refused the group as a
/// whole and nothing was written.
#[tracing::instrument(name = "eventstore.append_group", skip_all, fields(appends = group.len()))]
pub(crate) async fn append_group(
    conn: &mut WriterConn,
    context: &str,
    group: &[&AppendRequest],
    read: Read,
) -> Result<Vec<Answer>, sqlx::Error> {
    let new =
        |e: ExpectedVersion| matches!(e, ExpectedVersion::NoStream | ExpectedVersion::Exact(0));
    let read = read == Read::Always
        || !group
            .iter()
            .all(|r| new(r.expected) && r.also.iter().all(|s| new(s.expected)));
    match conn {
        WriterConn::Postgres(c) => {
            let known = if read {
                read_known_postgres(c, group).await?
            } else {
                Known::default()
            };
            let decisions = decide(group, known);
            let base = if needs_write(group, &decisions) {
                write_postgres(c, context, group, &decisions).await?
            } else {
                0
            };
            Ok(answers(group, decisions, base))
        }
        WriterConn::Sqlite(c) => {
            let mut tx = c.begin_with("BEGIN IMMEDIATE").await?;
            let known = if read {
                read_known_sqlite(&mut tx, group).await?
            } else {
                Known::default()
            };
            let decisions = decide(group, known);
            let base = if needs_write(group, &decisions) {
                write_sqlite(&mut tx, context, group, &decisions).await?
            } else {
                0
            };
            tx.commit().await?;
            Ok(answers(group, decisions, base))
        }
    }
}

/// Appends one request on its own, retrying when another writer won a race at the database: the
/// retry reads the winner's write and answers with a conflict or a duplicate.
pub(crate) async fn append_alone(
    conn: &mut WriterConn,
    context: &str,
    request: &AppendRequest,
) -> Answer {
    for _ in 0..RACE_RETRIES {
        match append_group(conn, context, &[request], Read::Always).await {
            Ok(mut answers) => {
                return answers
                    .pop()
                    .unwrap_or_else(|| Err(StoreError::Corrupt("no answer for an append".into())));
            }
            Err(e) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    // Still refused with a fresh read: another writer keeps winning the next version.
    let actual = current_version(conn, &request.stream_id).await?;
    Err(conflict(request, actual))
}

fn decide(group: &[&AppendRequest], known: Known) -> Vec<Decision> {
    enum Claim {
        Recorded(IdempotencyRow),
        InGroup {
            of: usize,
            version: u64,
            offset: u64,
        },
    }
    let mut streams = known.streams;
    let mut claims: HashMap<(String, String), Claim> = known
        .keys
        .into_iter()
        .map(|(k, row)| (k, Claim::Recorded(row)))
        .collect();
    let mut offset = 0;
    let mut decisions = Vec::with_capacity(group.len());
    for (i, request) in group.iter().enumerate() {
        let municipality = request.municipality.as_str();
        let idem = request.meta.idempotency.as_ref();
        let claim_key = idem.map(|k| (municipality.to_owned(), k.key.clone()));
        if let (Some(idem), Some(claimed)) = (idem, claim_key.as_ref().and_then(|k| claims.get(k)))
        {
            let mismatch = || {
                Decision::Answered(Err(StoreError::IdempotencyMismatch {
                    key: idem.key.clone(),
                }))
            };
            decisions.push(match claimed {
                Claim::Recorded(row) if row.request_hash == idem.request_hash => {
                    Decision::Answered(Ok(AppendOutcome::Duplicate(row.clone().committed())))
                }
                Claim::InGroup {
                    of,
                    version,
                    offset,
                } if same_request(group[*of], &idem.request_hash) => Decision::RetryOf {
                    of: *of,
                    version: *version,
                    offset: *offset,
                },
                _ => mismatch(),
            });
            continue;
        }
        // Every stream of the append, this one first: all at their expected versions, or none
        // is written.
        let targets = std::iter::once((&request.stream_id, request.expected, request.events.len()))
            .chain(
                request
                    .also
                    .iter()
                    .map(|s| (&s.stream_id, s.expected, s.events.len())),
            );
        let mut versions = Vec::with_capacity(1 + request.also.len());
        let mut refused = None;
        for (stream_id, expected, _) in targets.clone() {
            let actual = match streams.get(stream_id) {
                None => 0,
                Some((version, owner)) if owner == municipality => *version,
                // A stream id taken in another municipality: no writer appends into another
                // tenant's stream.
                Some((version, _)) => {
                    refused = Some(StoreError::Conflict {
                        stream_id: stream_id.clone(),
                        expected: "a stream of this municipality".into(),
                        actual: *version,
                    });
                    break;
                }
            };
            if !expected.admits(actual) {
                refused = Some(StoreError::Conflict {
                    stream_id: stream_id.clone(),
                    expected: expected.describe(),
                    actual,
                });
                break;
            }
            versions.push(actual);
        }
        if let Some(e) = refused {
            decisions.push(Decision::Answered(Err(e)));
            continue;
        }
        for ((stream_id, _, n), actual) in targets.zip(&versions) {
            if n > 0 {
                streams.insert(
                    stream_id.clone(),
                    (actual + n as u64, municipality.to_owned()),
                );
            }
        }
        let actual = versions[0];
        let n = request.event_count() as u64;
        if let Some(k) = claim_key {
            let (of, version) = (i, actual);
            claims.insert(
                k,
                Claim::InGroup {
                    of,
                    version,
                    offset,
                },
            );
        }
        decisions.push(Decision::Write {
            version: actual,
            offset,
            also: versions.split_off(1),
        });
        offset += n;
    }
    decisions
}

fn same_request(request: &AppendRequest, request_hash: &str) -> bool {
    request
        .meta
        .idempotency
        .as_ref()
        .is_some_and(|k| k.request_hash == request_hash)
}

/// Whether any accepted append writes a row (events, or the result of an empty keyed append).
fn needs_write(group: &[&AppendRequest], decisions: &[Decision]) -> bool {
    group.iter().zip(decisions).any(|(r, d)| {
        matches!(d, Decision::Write { .. }) && (r.event_count() > 0 || r.meta.idempotency.is_some())
    })
}

/// What an accepted append committed, given the position before the group.
fn committed(request: &AppendRequest, version: u64, offset: u64, base: u64) -> Committed {
    let n = request.event_count() as u64;
    Committed {
        stream_id: request.stream_id.clone(),
        positions: (n > 0).then(|| (base + offset + 1, base + offset + n)),
        version: version + request.events.len() as u64,
        response: request.response.clone(),
    }
}

fn answers(group: &[&AppendRequest], decisions: Vec<Decision>, base: u64) -> Vec<Answer> {
    decisions
        .into_iter()
        .enumerate()
        .map(|(i, d)| match d {
            Decision::Answered(answer) => answer,
            Decision::Write {
                version, offset, ..
            } => Ok(AppendOutcome::Appended(committed(
                group[i], version, offset, base,
            ))),
            Decision::RetryOf {
                of,
                version,
                offset,
            } => Ok(AppendOutcome::Duplicate(committed(
                group[of], version, offset, base,
            ))),
        })
        .collect()
}

fn conflict(request: &AppendRequest, actual: u64) -> StoreError {
    StoreError::Conflict {
        stream_id: request.stream_id.clone(),
        expected: request.expected.describe(),
        actual,
    }
}

fn distinct_streams<'a>(group: &[&'a AppendRequest]) -> Vec<&'a str> {
    let mut ids: Vec<&str> = group
        .iter()
        .flat_map(|r| {
            std::iter::once(r.stream_id.as_str()).chain(r.also.iter().map(|s| s.stream_id.as_str()))
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// (municipality, key) of every keyed append.
fn keys<'a>(group: &[&'a AppendRequest]) -> Vec<(&'a str, &'a str)> {
    group
        .iter()
        .filter_map(|r| {
            let k = r.meta.idempotency.as_ref()?;
            Some((r.municipality.as_str(), k.key.as_str()))
        })
        .collect()
}

fn known_from(streams: Vec<(String, i64, String)>, keys: Vec<KeyRow>) -> Known {
    Known {
        streams: streams
            .into_iter()
            .map(|(id, version, owner)| (id, (version as u64, owner)))
            .collect(),
        keys: keys
            .into_iter()
            .map(|k| ((k.municipality, k.key), k.row))
            .collect(),
    }
}

const KEY_COLUMNS: &str = "municipality, key, request_hash, stream_id, first_position, \
    last_position, version, response";

async fn read_known_postgres(
    conn: &mut PgConnection,
    group: &[&AppendRequest],
) -> Result<Known, sqlx::Error> {
    let streams: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT c.stream_id, c.last_version, c.municipality FROM UNNEST($1::text[]) AS s(id) \
         CROSS JOIN LATERAL (SELECT stream_id, last_version, municipality FROM commits \
             WHERE stream_id = s.id ORDER BY first_version DESC LIMIT 1) c",
    )
    .bind(distinct_streams(group))
    .fetch_all(&mut *conn)
    .await?;
    let keys = keys(group);
    let rows: Vec<KeyRow> = if keys.is_empty() {
        Vec::new()
    } else {
        let (municipalities, keys): (Vec<&str>, Vec<&str>) = keys.into_iter().unzip();
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            // One index lookup per key, whatever plan the table's size once suggested.
            "SELECT {KEY_COLUMNS} FROM UNNEST($1::text[], $2::text[]) AS k(m, k) \
             CROSS JOIN LATERAL (SELECT * FROM idempotency \
                 WHERE municipality = k.m AND key = k.k LIMIT 1) i"
        )))
        .bind(municipalities)
        .bind(keys)
        .fetch_all(&mut *conn)
        .await?
    };
    Ok(known_from(streams, rows))
}

async fn read_known_sqlite(
    conn: &mut SqliteConnection,
    group: &[&AppendRequest],
) -> Result<Known, sqlx::Error> {
    // The ids travel as one JSON array, so the statement is the same for any group size.
    let ids = serde_json::Value::from(distinct_streams(group)).to_string();
    let streams: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT c.stream_id, c.last_version, c.municipality FROM json_each($1) AS s \
         JOIN commits c ON c.stream_id = s.value AND c.first_version = \
             (SELECT MAX(first_version) FROM commits WHERE stream_id = s.value)",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let keys = keys(group);
    let rows: Vec<KeyRow> = if keys.is_empty() {
        Vec::new()
    } else {
        let pairs = serde_json::to_string(&keys).map_err(|e| sqlx::Error::Encode(e.into()))?;
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM idempotency WHERE (municipality, key) IN \
             (SELECT value ->> 0, value ->> 1 FROM json_each($1))"
        )))
        .bind(pairs)
        .fetch_all(&mut *conn)
        .await?
    };
    Ok(known_from(streams, rows))
}

async fn current_version(conn: &mut WriterConn, stream_id: &str) -> Result<u64, StoreError> {
    const SQL: &str = "SELECT MAX(last_version) FROM commits WHERE stream_id = $1";
    let v: Option<i64> = match conn {
        WriterConn::Postgres(c) => {
            sqlx::query_scalar(SQL)
                .bind(stream_id)
                .fetch_one(&mut **c)
                .await?
        }
        WriterConn::Sqlite(c) => {
            sqlx::query_scalar(SQL)
                .bind(stream_id)
                .fetch_one(&mut **c)
                .await?
        }
    };
    Ok(v.unwrap_or(0) as u64)
}

/// One accepted append with where it lands.
struct Accepted<'a> {
    request: &'a AppendRequest,
    version: u64,
    offset: u64,
    /// Where the further streams' events land: (stream, its events, version before, offset).
    also: Vec<(&'a str, &'a [NewEvent], u64, u64)>,
}

impl<'a> Accepted<'a> {
    /// The commits it writes, one per stream with events: (stream, events, version before,
    /// offset in the group).
    fn commits(&self) -> impl Iterator<Item = (&'a str, &'a [NewEvent], u64, u64)> + '_ {
        std::iter::once((
            self.request.stream_id.as_str(),
            self.request.events.as_slice(),
            self.version,
            self.offset,
        ))
        .chain(self.also.iter().copied())
        .filter(|(_, events, _, _)| !events.is_empty())
    }
}

fn accepted<'a>(group: &[&'a AppendRequest], decisions: &[Decision]) -> Vec<Accepted<'a>> {
    group
        .iter()
        .zip(decisions)
        .filter_map(|(request, d)| match d {
            Decision::Write {
                version,
                offset,
                also,
            } => {
                let mut at = offset + request.events.len() as u64;
                let also = request
                    .also
                    .iter()
                    .zip(also)
                    .map(|(s, v)| {
                        let here = at;
                        at += s.events.len() as u64;
                        (s.stream_id.as_str(), s.events.as_slice(), *v, here)
                    })
                    .collect();
                Some(Accepted {
                    request,
                    version: *version,
                    offset: *offset,
                    also,
                })
            }
            _ => None,
        })
        .collect()
}

/// The whole group in one statement. Run outside a transaction it commits on its own, so the
/// head row is locked only while the statement runs and its commit is flushed, and the client
/// waits for one round trip.
const PG_APPEND_GROUP: &str = r#"
WITH head AS (
    UPDATE log_head SET position = position + $1 WHERE id = 1 RETURNING position - $1 AS base
), ins AS (
    INSERT INTO commits (last_position, first_position, municipality, context, stream_id,
        first_version, last_version, recorded_at, actor, correlation_id, causation_id,
        idempotency_key, trace_context, events)
    SELECT head.base + c.off + c.n, head.base + c.off + 1, c.municipality, $2, c.stream_id,
        c.first_version, c.first_version + c.n - 1, c.recorded_at, c.actor, c.correlation_id,
        c.causation_id, c.idempotency_key, c.trace_context, c.events::json
    FROM head, UNNEST($3::int8[], $4::int8[], $5::text[], $6::text[], $7::int8[],
            $8::timestamptz[], $9::text[], $10::uuid[], $11::uuid[], $12::text[], $13::text[],
            $14::text[])
        AS c(off, n, municipality, stream_id, first_version, recorded_at, actor, correlation_id,
            causation_id, idempotency_key, trace_context, events)
), idem AS (
    INSERT INTO idempotency (municipality, key, request_hash, stream_id, first_position,
        last_position, version, response, recorded_at)
    SELECT k.municipality, k.key, k.request_hash, k.stream_id, head.base + k.first,
        head.base + k.last, k.version, k.response::jsonb, $15
    FROM head, UNNEST($16::text[], $17::text[], $18::text[], $19::text[], $20::int8[],
            $21::int8[], $22::int8[], $23::text[])
        AS k(municipality, key, request_hash, stream_id, first, last, version, response)
)
SELECT base FROM head
"#;

/// Per-commit columns of a group (one commit per accepted append with events), as arrays for
/// `UNNEST`.
#[derive(Default)]
struct CommitColumns<'a> {
    offsets: Vec<i64>,
    counts: Vec<i64>,
    municipalities: Vec<&'a str>,
    streams: Vec<&'a str>,
    first_versions: Vec<i64>,
    recorded: Vec<chrono::DateTime<chrono::Utc>>,
    actors: Vec<&'a str>,
    correlations: Vec<uuid::Uuid>,
    causations: Vec<Option<uuid::Uuid>>,
    keys: Vec<Option<&'a str>>,
    traces: Vec<Option<&'a str>>,
    events: Vec<String>,
}

impl<'a> CommitColumns<'a> {
    fn push(
        &mut self,
        request: &'a AppendRequest,
        (stream_id, events, version, offset): (&'a str, &'a [NewEvent], u64, u64),
    ) {
        let meta = &request.meta;
        self.offsets.push(offset as i64);
        self.counts.push(events.len() as i64);
        self.municipalities.push(request.municipality.as_str());
        self.streams.push(stream_id);
        self.first_versions.push(version as i64 + 1);
        self.recorded.push(meta.recorded_at);
        self.actors.push(&meta.actor);
        self.correlations.push(meta.correlation_id);
        self.causations.push(meta.causation_id);
        self.keys
            .push(meta.idempotency.as_ref().map(|i| i.key.as_str()));
        self.traces.push(meta.trace_context.as_deref());
        self.events.push(encode_events(events));
    }
}

/// Per-key columns of a group: the result each keyed append records.
#[derive(Default)]
struct KeyColumns<'a> {
    municipalities: Vec<&'a str>,
    keys: Vec<&'a str>,
    hashes: Vec<&'a str>,
    streams: Vec<&'a str>,
    firsts: Vec<Option<i64>>,
    lasts: Vec<Option<i64>>,
    versions: Vec<i64>,
    responses: Vec<Option<String>>,
}

async fn write_postgres(
    conn: &mut PgConnection,
    context: &str,
    group: &[&AppendRequest],
    decisions: &[Decision],
) -> Result<u64, sqlx::Error> {
    let mut cc = CommitColumns::default();
    let mut kc = KeyColumns::default();
    let mut total = 0i64;
    for a in accepted(group, decisions) {
        let (request, version, offset) = (a.request, a.version, a.offset);
        let n = request.event_count() as i64;
        total += n;
        for commit in a.commits() {
            cc.push(request, commit);
        }
        if let Some(idem) = &request.meta.idempotency {
            let offset = offset as i64;
            kc.municipalities.push(request.municipality.as_str());
            kc.keys.push(&idem.key);
            kc.hashes.push(&idem.request_hash);
            kc.streams.push(&request.stream_id);
            kc.firsts.push((n > 0).then_some(offset + 1));
            kc.lasts.push((n > 0).then_some(offset + n));
            kc.versions
                .push((version + request.events.len() as u64) as i64);
            kc.responses
                .push(request.response.as_ref().map(|r| r.to_string()));
        }
    }
    let base: i64 = sqlx::query_scalar(PG_APPEND_GROUP)
        .bind(total)
        .bind(context)
        .bind(cc.offsets)
        .bind(cc.counts)
        .bind(cc.municipalities)
        .bind(cc.streams)
        .bind(cc.first_versions)
        .bind(cc.recorded)
        .bind(cc.actors)
        .bind(cc.correlations)
        .bind(cc.causations)
        .bind(cc.keys)
        .bind(cc.traces)
        .bind(cc.events)
        .bind(now_utc())
        .bind(kc.municipalities)
        .bind(kc.keys)
        .bind(kc.hashes)
        .bind(kc.streams)
        .bind(kc.firsts)
        .bind(kc.lasts)
        .bind(kc.versions)
        .bind(kc.responses)
        .fetch_one(&mut *conn)
        .await?;
    Ok(base as u64)
}

async fn write_sqlite(
    conn: &mut SqliteConnection,
    context: &str,
    group: &[&AppendRequest],
    decisions: &[Decision],
) -> Result<u64, sqlx::Error> {
    // BEGIN IMMEDIATE already serialises writers, so reading the head here is safe.
    let base: i64 = sqlx::query_scalar("SELECT position FROM log_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let accepted = accepted(group, decisions);
    let with_events: Vec<_> = accepted
        .iter()
        .flat_map(|a| a.commits().map(move |c| (a.request, c)))
        .collect();
    // Multi-row statements: each statement is a hand-off to the connection's thread.
    for chunk in with_events.chunks(SQLITE_ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO commits (last_position, first_position, municipality, context, \
             stream_id, first_version, last_version, recorded_at, actor, correlation_id, \
             causation_id, idempotency_key, trace_context, events) ",
        );
        insert.push_values(
            chunk,
            |mut row, (request, (stream_id, events, version, offset))| {
                let meta = &request.meta;
                let n = events.len() as i64;
                let first = base + *offset as i64 + 1;
                row.push_bind(first + n - 1)
                    .push_bind(first)
                    .push_bind(request.municipality.as_str())
                    .push_bind(context)
                    .push_bind(*stream_id)
                    .push_bind(*version as i64 + 1)
                    .push_bind(*version as i64 + n)
                    .push_bind(meta.recorded_at)
                    .push_bind(meta.actor.as_str())
                    .push_bind(meta.correlation_id)
                    .push_bind(meta.causation_id)
                    .push_bind(meta.idempotency.as_ref().map(|i| i.key.as_str()))
                    .push_bind(meta.trace_context.as_deref())
                    .push_bind(encode_events(events));
            },
        );
        insert.build().execute(&mut *conn).await?;
    }
    let total: i64 = accepted
        .iter()
        .map(|a| a.request.event_count() as i64)
        .sum();
    let keyed: Vec<_> = accepted
        .iter()
        .filter(|a| a.request.meta.idempotency.is_some())
        .collect();
    let recorded_at = now_utc();
    for chunk in keyed.chunks(SQLITE_ROWS_PER_INSERT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO idempotency (municipality, key, request_hash, stream_id, \
             first_position, last_position, version, response, recorded_at) ",
        );
        insert.push_values(chunk, |mut row, a| {
            let c = committed(a.request, a.version, a.offset, base as u64);
            let idem = a.request.meta.idempotency.as_ref();
            row.push_bind(a.request.municipality.as_str())
                .push_bind(idem.map(|i| i.key.as_str()))
                .push_bind(idem.map(|i| i.request_hash.as_str()))
                .push_bind(a.request.stream_id.as_str())
                .push_bind(c.positions.map(|p| p.0 as i64))
                .push_bind(c.positions.map(|p| p.1 as i64))
                .push_bind(c.version as i64)
                .push_bind(a.request.response.as_ref().map(Json))
                .push_bind(recorded_at);
        });
        insert.build().execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE log_head SET position = $1 WHERE id = 1")
        .bind(base + total)
        .execute(&mut *conn)
        .await?;
    Ok(base as u64)
}
