//! Throughput and latency of the event store on PostgreSQL and SQLite.
//!
//! For each backend, each measurement on a fresh database:
//! 1. **batched appends**: `--events` events in appends of 100 events, one new stream per
//!    append, from 1 writer and from 4 concurrent writers (events/s);
//! 2. **single-event appends from 32 concurrent writers**, each append one event to its own new
//!    stream with `ExpectedVersion::NoStream` (appends/s; latency p50/p95/p99/max);
//! 3. **single-event appends from 1 writer** (appends/s; latency p50/p99);
//! 4. **sequential log read** of the log written by (1) as the platform's catch-up readers read
//!    it: a `LogReader` in pages of `READ_AHEAD_PAGE` events, fetching the next page while the
//!    current one is counted; and, for comparison, `read_log` pages of 1,000 events one after
//!    another. Every event's envelope is decoded; payloads stay JSON text, as readers receive
//!    them (events/s), `--read-passes` times per run.
//!
//! Payloads are ~300 bytes of JSON with Japanese text. Writes are durable: PostgreSQL runs with
//! `fsync=on` and `synchronous_commit=on`, SQLite in WAL mode with `synchronous=FULL` (the
//! settings in force are printed above the table). Every measurement is repeated `--runs` times;
//! the markdown table on stdout gives the median, the spread (min–max) and the targets of the
//! performance issue. Progress goes to stderr.
//!
//! ```text
//! cargo bench -p mosaic-eventstore --bench eventstore -- --runs 3
//! cargo bench -p mosaic-eventstore --bench eventstore -- --backend postgres \
//!     --pg-url postgres://postgres@127.0.0.1:5432
//! ```
//!
//! Without `--pg-url` a throwaway PostgreSQL cluster is started (`mosaic-testkit`). With it, the
//! URL names a server and a role that may `CREATE DATABASE` (no database in the URL): each
//! measurement creates its own database there and drops it afterwards.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use mosaic_db::Db;
use mosaic_eventstore::{
    AppendRequest, CommandMeta, EventStore, ExpectedVersion, Idempotency, LogQuery, LogReader,
    NewEvent, READ_AHEAD_PAGE, SqlEventStore,
};
use mosaic_testkit::{PgCluster, TestSqlite};
use mosaic_types::{EventId, MunicipalityCode, now_utc};
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use uuid::Uuid;

/// The allocator of the deployed binaries.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Events per batched append (one transaction).
const BATCH: u64 = 100;
/// Concurrent writers of the concurrent batched measurement.
const BATCH_WRITERS: usize = 4;
/// Concurrent writers of the concurrent single-event measurement.
const SINGLE_WRITERS: usize = 32;
/// Events per `read_log` page of the page-by-page read.
const PAGE: u32 = 1_000;
/// Pool sizes: room for every writer on PostgreSQL; the embedded deployment's size on SQLite.
const PG_POOL: u32 = 40;
const SQLITE_POOL: u32 = 8;

/// The rows of the table, in order, with the targets of the performance issue.
const BATCHED_1: Row = row(
    "Batched append, 1 writer",
    Unit::EventsPerSec,
    at_least(50_000.0),
);
const READ: Row = row(
    "Sequential log read",
    Unit::EventsPerSec,
    at_least(500_000.0),
);
const READ_PAGED: Row = row(
    "Log read, pages of 1,000 one by one",
    Unit::EventsPerSec,
    None,
);
const BATCHED_4: Row = row(
    "Batched append, 4 writers",
    Unit::EventsPerSec,
    at_least(50_000.0),
);
const SINGLE_32: Row = row(
    "Single appends, 32 writers",
    Unit::AppendsPerSec,
    at_least(3_000.0),
);
const SINGLE_32_P50: Row = row("32 writers: p50 latency", Unit::Millis, None);
const SINGLE_32_P95: Row = row("32 writers: p95 latency", Unit::Millis, None);
const SINGLE_32_P99: Row = row(
    "32 writers: p99 latency",
    Unit::Millis,
    Some(Target::AtMost(10.0)),
);
const SINGLE_32_MAX: Row = row("32 writers: max latency", Unit::Millis, None);
const SINGLE_1: Row = row("Single appends, 1 writer", Unit::AppendsPerSec, None);
const SINGLE_1_P50: Row = row("1 writer: p50 latency", Unit::Millis, None);
const SINGLE_1_P99: Row = row("1 writer: p99 latency", Unit::Millis, None);

#[derive(Debug, Parser)]
#[command(about = "Event store throughput and latency on PostgreSQL and SQLite")]
struct Args {
    /// Events per batched-append measurement (also the size of the log read back).
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Appends per single-event measurement with 32 writers.
    #[arg(long, default_value_t = 10_000)]
    single_events: u64,
    /// Appends per single-event measurement with 1 writer.
    #[arg(long, default_value_t = 5_000)]
    serial_events: u64,
    /// Reads of the batched log per run (each recorded; reading is quick, so more passes give a
    /// steadier median).
    #[arg(long, default_value_t = 3)]
    read_passes: usize,
    /// Repetitions of every measurement; the table reports their median and spread.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Which backend(s) to measure.
    #[arg(long, value_enum, default_value_t = BackendArg::Both)]
    backend: BackendArg,
    /// A PostgreSQL server to measure instead of a throwaway cluster (no database in the URL).
    #[arg(long)]
    pg_url: Option<String>,
    /// Give every append an idempotency key, as commands from the API do.
    #[arg(long)]
    idempotency_keys: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    Postgres,
    Sqlite,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

impl BackendArg {
    fn backends(self) -> Vec<Backend> {
        match self {
            BackendArg::Postgres => vec![Backend::Postgres],
            BackendArg::Sqlite => vec![Backend::Sqlite],
            BackendArg::Both => vec![Backend::Postgres, Backend::Sqlite],
        }
    }
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.runs > 0, "--runs must be at least 1");
    let workload = Workload::new(args.idempotency_keys)?;
    let mut databases = Databases::new(args.pg_url.clone(), args.backend.backends())?;
    let mut tables = Vec::new();
    for backend in args.backend.backends() {
        tables.push((
            backend,
            databases.describe(backend).await?,
            Metrics::default(),
        ));
    }
    for run in 1..=args.runs {
        for (backend, _, metrics) in &mut tables {
            eprintln!("run {run}/{}: {}", args.runs, backend.name());
            measure_backend(&mut databases, *backend, &args, &workload, metrics).await?;
        }
    }
    print_report(&args, &workload, &tables);
    Ok(())
}

/// Every measurement of one backend, once.
async fn measure_backend(
    databases: &mut Databases,
    backend: Backend,
    args: &Args,
    workload: &Workload,
    metrics: &mut Metrics,
) -> Result<()> {
    let fixture = databases.fresh(backend).await?;
    let rate = batched_appends(&fixture.store, workload, args.events, 1).await?;
    metrics.record(BATCHED_1, rate);
    for _ in 0..args.read_passes {
        metrics.record(READ, read_ahead(&fixture.store, args.events).await?);
        metrics.record(
            READ_PAGED,
            read_page_by_page(&fixture.store, args.events).await?,
        );
    }
    fixture.close().await?;

    let fixture = databases.fresh(backend).await?;
    let rate = batched_appends(&fixture.store, workload, args.events, BATCH_WRITERS).await?;
    metrics.record(BATCHED_4, rate);
    fixture.close().await?;

    let fixture = databases.fresh(backend).await?;
    let r = single_appends(&fixture.store, workload, args.single_events, SINGLE_WRITERS).await?;
    metrics.record(SINGLE_32, r.rate);
    metrics.record(SINGLE_32_P50, r.percentile_ms(50.0));
    metrics.record(SINGLE_32_P95, r.percentile_ms(95.0));
    metrics.record(SINGLE_32_P99, r.percentile_ms(99.0));
    metrics.record(SINGLE_32_MAX, r.max_ms());
    fixture.close().await?;

    let fixture = databases.fresh(backend).await?;
    let r = single_appends(&fixture.store, workload, args.serial_events, 1).await?;
    metrics.record(SINGLE_1, r.rate);
    metrics.record(SINGLE_1_P50, r.percentile_ms(50.0));
    metrics.record(SINGLE_1_P99, r.percentile_ms(99.0));
    fixture.close().await
}

// ---------------------------------------------------------------------------------------------
// Measurements

/// Appends `events` events in appends of [`BATCH`] from `writers` concurrent writers; events/s.
async fn batched_appends(
    store: &SqlEventStore,
    workload: &Workload,
    events: u64,
    writers: usize,
) -> Result<f64> {
    let appends = events.div_ceil(BATCH);
    let started = Instant::now();
    run_writers(writers, |writer| {
        let (store, workload) = (store.clone(), workload.clone());
        let count = share(appends, writers, writer);
        async move {
            for i in 0..count {
                store.append(workload.batch(writer, i)).await?;
            }
            Ok(())
        }
    })
    .await?;
    let elapsed = started.elapsed();
    let written = store.head().await?;
    ensure!(
        written == appends * BATCH,
        "wrote {written} events, expected {}",
        appends * BATCH
    );
    Ok(per_second(written, elapsed))
}

/// Throughput and latency of single-event appends.
struct SingleAppends {
    rate: f64,
    latency_us: Histogram<u64>,
}

impl SingleAppends {
    fn percentile_ms(&self, percentile: f64) -> f64 {
        self.latency_us.value_at_percentile(percentile) as f64 / 1_000.0
    }

    fn max_ms(&self) -> f64 {
        self.latency_us.max() as f64 / 1_000.0
    }
}

/// `appends` single-event appends, each to a new stream, from `writers` concurrent writers.
async fn single_appends(
    store: &SqlEventStore,
    workload: &Workload,
    appends: u64,
    writers: usize,
) -> Result<SingleAppends> {
    let started = Instant::now();
    let histograms = run_writers(writers, |writer| {
        let (store, workload) = (store.clone(), workload.clone());
        let count = share(appends, writers, writer);
        async move { timed_single_appends(&store, &workload, writer, count).await }
    })
    .await?;
    let elapsed = started.elapsed();
    let mut latency_us = new_histogram()?;
    for h in &histograms {
        latency_us.add(h)?;
    }
    ensure!(
        latency_us.len() == appends,
        "timed {} appends, expected {appends}",
        latency_us.len()
    );
    Ok(SingleAppends {
        rate: per_second(appends, elapsed),
        latency_us,
    })
}

/// One writer's single-event appends, each timed into a microsecond histogram.
async fn timed_single_appends(
    store: &SqlEventStore,
    workload: &Workload,
    writer: usize,
    count: u64,
) -> Result<Histogram<u64>> {
    let mut latency_us = new_histogram()?;
    for i in 0..count {
        let request = workload.single(writer, i);
        let started = Instant::now();
        store.append(request).await?;
        latency_us.saturating_record(started.elapsed().as_micros().try_into().unwrap_or(u64::MAX));
    }
    Ok(latency_us)
}

/// Reads the whole log with a [`LogReader`] in pages of [`READ_AHEAD_PAGE`]; events/s.
async fn read_ahead(store: &SqlEventStore, expected: u64) -> Result<f64> {
    let mut reader = LogReader::new(
        Arc::new(store.clone()),
        LogQuery {
            limit: READ_AHEAD_PAGE,
            ..LogQuery::default()
        },
    );
    read_rate(expected, async {
        let mut read = 0;
        loop {
            let page = reader.next_page().await?;
            if page.is_empty() {
                return Ok(read);
            }
            read += page.len() as u64;
        }
    })
    .await
}

/// Reads the whole log in pages of [`PAGE`], one after another; events/s.
async fn read_page_by_page(store: &SqlEventStore, expected: u64) -> Result<f64> {
    read_rate(expected, async {
        let (mut after, mut read) = (0, 0);
        loop {
            let page = store
                .read_log(&LogQuery {
                    after,
                    limit: PAGE,
                    ..LogQuery::default()
                })
                .await?;
            let Some(last) = page.last() else {
                return Ok(read);
            };
            after = last.position;
            read += page.len() as u64;
        }
    })
    .await
}

/// Events/s of a read that counts the events it read, checked to be at least `expected`.
async fn read_rate(expected: u64, read: impl Future<Output = Result<u64>>) -> Result<f64> {
    let started = Instant::now();
    let read = read.await?;
    let elapsed = started.elapsed();
    ensure!(
        read >= expected,
        "read {read} events, expected at least {expected}"
    );
    Ok(per_second(read, elapsed))
}

/// Runs `writers` tasks concurrently and collects their results.
async fn run_writers<F, Fut, T>(writers: usize, writer: F) -> Result<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..writers).map(|w| tokio::spawn(writer(w))).collect();
    let mut results = Vec::with_capacity(writers);
    for task in tasks {
        results.push(task.await.context("writer task panicked")??);
    }
    Ok(results)
}

/// Writer `writer`'s part of `total` items split over `writers`.
fn share(total: u64, writers: usize, writer: usize) -> u64 {
    let (writers, writer) = (writers as u64, writer as u64);
    total / writers + u64::from(writer < total % writers)
}

fn per_second(count: u64, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// Microseconds from 1 µs to 10 minutes, 3 significant digits.
fn new_histogram() -> Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 600_000_000, 3)?)
}

// ---------------------------------------------------------------------------------------------
// Workload

/// Builds the appends: realistic envelopes and payloads, every append to a new stream.
#[derive(Clone)]
struct Workload {
    municipalities: Vec<MunicipalityCode>,
    idempotency_keys: bool,
}

impl Workload {
    fn new(idempotency_keys: bool) -> Result<Self> {
        // Kashiwa, Chigasaki, Sapporo.
        let municipalities = ["122173", "142077", "011002"]
            .into_iter()
            .map(MunicipalityCode::parse)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            municipalities,
            idempotency_keys,
        })
    }

    /// The `i`-th batched append of a writer: [`BATCH`] events to a new household stream.
    fn batch(&self, writer: usize, i: u64) -> AppendRequest {
        let events = (0..BATCH).map(|k| visit_recorded(i * BATCH + k)).collect();
        self.request(format!("household-{writer}-{i}"), i, events)
    }

    /// The `i`-th single-event append of a writer: one event to a new resident stream.
    fn single(&self, writer: usize, i: u64) -> AppendRequest {
        self.request(
            format!("resident-{writer}-{i}"),
            i,
            vec![resident_registered(i)],
        )
    }

    fn request(&self, stream_id: String, i: u64, events: Vec<NewEvent>) -> AppendRequest {
        let municipality = self.municipalities[i as usize % self.municipalities.len()];
        let correlation_id = Uuid::now_v7();
        let idempotency = self.idempotency_keys.then(|| Idempotency {
            key: correlation_id.to_string(),
            request_hash: format!("{:x}", correlation_id.as_u128().rotate_left(17)),
        });
        AppendRequest {
            municipality,
            stream_id,
            expected: ExpectedVersion::NoStream,
            events,
            meta: CommandMeta {
                actor: "staff:kashiwa-coordinator-07".into(),
                recorded_at: now_utc(),
                correlation_id,
                causation_id: None,
                idempotency,
                trace_context: Some(format!(
                    "00-{}-{:016x}-01",
                    correlation_id.simple(),
                    correlation_id.as_u64_pair().1
                )),
            },
            response: None,
            also: Vec::new(),
        }
    }
}

/// A registration with name, reading, birth date and address: ~300 bytes of JSON.
fn resident_registered(n: u64) -> NewEvent {
    new_event(
        "ResidentRegistered",
        json!({
            "resident_id": Uuid::now_v7(),
            "name": "山田 花子",
            "name_kana": "ヤマダ ハナコ",
            "birth_date": "1948-04-12",
            "address": "千葉県柏市柏五丁目10番1号 柏ハイツ203号",
            "postal_code": "277-0005",
            "household_size": 1 + n % 4,
            "registered_by": "staff:kashiwa-coordinator-07",
        }),
    )
}

/// A home visit with a free-text note: ~300 bytes of JSON.
fn visit_recorded(n: u64) -> NewEvent {
    new_event(
        "VisitRecorded",
        json!({
            "visit_id": Uuid::now_v7(),
            "resident_id": Uuid::now_v7(),
            "visited_on": "2025-06-03",
            "duration_minutes": 20 + n % 40,
            "kind": "home_visit",
            "note": "玄関先で体調を確認。食欲あり、室内の段差に注意が必要。次回は来月上旬に訪問予定。",
        }),
    )
}

fn new_event(event_type: &str, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        event_id: EventId::new(),
        event_type: event_type.into(),
        schema_version: 1,
        occurred_at: now_utc(),
        payload: payload.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Databases

/// Where fresh databases come from: a PostgreSQL server (started here or given) and temporary
/// SQLite directories.
struct Databases {
    pg_server: Option<String>,
    _cluster: Option<PgCluster>,
    created: u32,
}

/// A store on a fresh database, with what keeps that database alive.
struct Fixture {
    store: SqlEventStore,
    owner: Owner,
}

enum Owner {
    Postgres { server: String, database: String },
    Sqlite(TestSqlite),
}

impl Databases {
    fn new(pg_url: Option<String>, backends: Vec<Backend>) -> Result<Self> {
        let (pg_server, cluster) = match pg_url {
            Some(url) => (Some(url.trim_end_matches('/').to_owned()), None),
            None if backends.contains(&Backend::Postgres) => {
                let cluster = PgCluster::start()?;
                (Some(cluster.admin_url()), Some(cluster))
            }
            None => (None, None),
        };
        Ok(Self {
            pg_server,
            _cluster: cluster,
            created: 0,
        })
    }

    /// A migrated, empty store on a new database.
    async fn fresh(&mut self, backend: Backend) -> Result<Fixture> {
        self.created += 1;
        let (url, pool, owner) = match backend {
            Backend::Postgres => {
                let server = self.pg_server.clone().context("no PostgreSQL server")?;
                let database = format!("mosaic_bench_{}_{}", std::process::id(), self.created);
                admin(&server, &format!("CREATE DATABASE {database}")).await?;
                (
                    format!("{server}/{database}"),
                    PG_POOL,
                    Owner::Postgres { server, database },
                )
            }
            Backend::Sqlite => {
                let dir = TestSqlite::new()?;
                (dir.url("registry"), SQLITE_POOL, Owner::Sqlite(dir))
            }
        };
        let db = mosaic_db::connect(&url, pool).await?;
        mosaic_eventstore::migrate(&db).await?;
        Ok(Fixture {
            store: SqlEventStore::open(db, "registry").await?,
            owner,
        })
    }

    /// The engine version and durability settings a fresh database of `backend` runs with.
    async fn describe(&mut self, backend: Backend) -> Result<String> {
        let fixture = self.fresh(backend).await?;
        let settings = durability_settings(fixture.store.db()).await?;
        fixture.close().await?;
        Ok(settings)
    }
}

impl Fixture {
    /// Closes the pool and drops the database.
    async fn close(self) -> Result<()> {
        self.store.db().close().await;
        match self.owner {
            Owner::Postgres { server, database } => {
                admin(&server, &format!("DROP DATABASE {database} WITH (FORCE)")).await
            }
            Owner::Sqlite(_dir) => Ok(()),
        }
    }
}

/// Runs one statement on the server's `postgres` database (`CREATE`/`DROP DATABASE`).
async fn admin(server: &str, statement: &str) -> Result<()> {
    let mut conn = PgConnection::connect(&format!("{server}/postgres")).await?;
    sqlx::query(AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

async fn durability_settings(db: &Db) -> Result<String> {
    Ok(match db {
        Db::Postgres(pool) => {
            let show = |name: &'static str| {
                sqlx::query_scalar::<_, String>(AssertSqlSafe(format!("SHOW {name}")))
                    .fetch_one(pool)
            };
            format!(
                "PostgreSQL {}, fsync={}, synchronous_commit={}, wal_sync_method={}",
                show("server_version").await?,
                show("fsync").await?,
                show("synchronous_commit").await?,
                show("wal_sync_method").await?,
            )
        }
        Db::Sqlite(pool) => {
            let version: String = sqlx::query_scalar("SELECT sqlite_version()")
                .fetch_one(pool)
                .await?;
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(pool)
                .await?;
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(pool)
                .await?;
            let synchronous = ["OFF", "NORMAL", "FULL", "EXTRA"]
                .get(synchronous as usize)
                .copied()
                .unwrap_or("?");
            format!("SQLite {version}, journal_mode={journal}, synchronous={synchronous}")
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Report

#[derive(Debug, Clone, Copy)]
enum Unit {
    EventsPerSec,
    AppendsPerSec,
    Millis,
}

#[derive(Debug, Clone, Copy)]
enum Target {
    AtLeast(f64),
    AtMost(f64),
}

/// What one row of the table measures.
#[derive(Debug, Clone, Copy)]
struct Row {
    name: &'static str,
    unit: Unit,
    target: Option<Target>,
}

const fn row(name: &'static str, unit: Unit, target: Option<Target>) -> Row {
    Row { name, unit, target }
}

const fn at_least(value: f64) -> Option<Target> {
    Some(Target::AtLeast(value))
}

/// One row of the table and its value in every run.
struct Metric {
    row: Row,
    values: Vec<f64>,
}

#[derive(Default)]
struct Metrics(Vec<Metric>);

impl Metrics {
    fn record(&mut self, row: Row, value: f64) {
        match self.0.iter_mut().find(|m| m.row.name == row.name) {
            Some(metric) => metric.values.push(value),
            None => self.0.push(Metric {
                row,
                values: vec![value],
            }),
        }
    }
}

impl Metric {
    fn median(&self) -> f64 {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        if v.len().is_multiple_of(2) {
            (v[mid - 1] + v[mid]) / 2.0
        } else {
            v[mid]
        }
    }

    fn spread(&self) -> String {
        let min = self.values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self
            .values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        format!(
            "{} – {}",
            self.row.unit.number(min),
            self.row.unit.number(max)
        )
    }

    fn verdict(&self) -> String {
        let median = self.median();
        match self.row.target {
            None => String::new(),
            Some(Target::AtLeast(t)) if median >= t => "met".into(),
            Some(Target::AtMost(t)) if median <= t => "met".into(),
            Some(Target::AtLeast(t)) => format!("missed ({:.0} % of target)", 100.0 * median / t),
            Some(Target::AtMost(t)) => format!("missed ({:.1}× the limit)", median / t),
        }
    }
}

impl Unit {
    fn number(self, value: f64) -> String {
        match self {
            Unit::EventsPerSec | Unit::AppendsPerSec => thousands(value.round() as u64),
            Unit::Millis => format!("{value:.2}"),
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Unit::EventsPerSec => "events/s",
            Unit::AppendsPerSec => "appends/s",
            Unit::Millis => "ms",
        }
    }
}

impl Target {
    fn describe(self, unit: Unit) -> String {
        match self {
            Target::AtLeast(t) => format!("≥ {} {}", unit.number(t), unit.symbol()),
            Target::AtMost(t) => format!("≤ {} {}", unit.number(t), unit.symbol()),
        }
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_report(args: &Args, workload: &Workload, tables: &[(Backend, String, Metrics)]) {
    let sample = workload.single(0, 0);
    let payload = sample
        .events
        .first()
        .map_or(0, |e| e.payload.to_string().len());
    println!(
        "Batched: {} events in appends of {BATCH}; single: {} appends (32 writers), {} (1 writer); \
         payload ~{payload} bytes; idempotency keys: {}; median of {} runs.\n",
        args.events,
        args.single_events,
        args.serial_events,
        if args.idempotency_keys { "yes" } else { "no" },
        args.runs,
    );
    for (_, settings, _) in tables {
        println!("- {settings}");
    }
    println!();
    println!("| Backend | Measurement | Median | Spread (min – max) | Target | |");
    println!("|---|---|---:|---:|---|---|");
    for (backend, _, metrics) in tables {
        for m in &metrics.0 {
            let Row { name, unit, target } = m.row;
            println!(
                "| {} | {name} | {} {} | {} | {} | {} |",
                backend.name(),
                unit.number(m.median()),
                unit.symbol(),
                m.spread(),
                target.map(|t| t.describe(unit)).unwrap_or_default(),
                m.verdict(),
            );
        }
    }
}
