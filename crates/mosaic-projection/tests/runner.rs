//! The runner against real stores and a real nats-server.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mosaic_bus::relay::{Relay, RelayConfig};
use mosaic_bus::stream::{StreamSettings, connect, ensure_stream, jetstream};
use mosaic_db::{Db, DbTx, on_db, on_tx};
use mosaic_eventstore::{
    AppendRequest, CommandMeta, EventStore, ExpectedVersion, NewEvent, SqlEventStore, StoredEvent,
};
use mosaic_projection::{
    Interest, Projection, ProjectionError, Runner, RunnerConfig, RunnerStatus, Source, checkpoint,
};
use mosaic_types::{EventId, MunicipalityCode};
use tokio::sync::watch;

/// Counts how often each event was applied: any value but 1 is a bug.
struct Tally {
    fail_on: Option<&'static str>,
}

#[async_trait]
impl Projection for Tally {
    fn name(&self) -> &'static str {
        "tally"
    }
    fn interests(&self) -> Vec<Interest> {
        vec![Interest {
            context: "registry",
            event_types: &["Counted", "Poison"],
        }]
    }
    async fn apply(&self, tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError> {
        if Some(event.event_type.as_str()) == self.fail_on {
            return Err(ProjectionError::Event {
                event_type: event.event_type.clone(),
                position: event.position,
                reason: "cannot be applied".into(),
            });
        }
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO tally (event_id, municipality, applied) VALUES ($1, $2, 1) \
                 ON CONFLICT (event_id) DO UPDATE SET applied = tally.applied + 1",
            )
            .bind(event.event_id.to_string())
            .bind(event.municipality.as_str())
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }
    async fn reset(
        &self,
        tx: &mut DbTx,
        municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError> {
        on_tx!(tx, t => {
            match municipality {
                Some(m) => sqlx::query("DELETE FROM tally WHERE municipality = $1").bind(m.as_str().to_owned()).execute(&mut **t).await?,
                None => sqlx::query("DELETE FROM tally").execute(&mut **t).await?,
            };
        });
        Ok(())
    }
}

/// [`Tally`] writing a whole run at once, as bulk projections do: a failure can only name the
/// run's first event.
struct BulkTally(Tally);

#[async_trait]
impl Projection for BulkTally {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn interests(&self) -> Vec<Interest> {
        self.0.interests()
    }
    async fn apply(&self, tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError> {
        self.0.apply(tx, event).await
    }
    async fn apply_all(
        &self,
        tx: &mut DbTx,
        events: &[&StoredEvent],
    ) -> Result<(), (u64, ProjectionError)> {
        let first = events.first().map_or(0, |e| e.position);
        for event in events {
            self.0.apply(tx, event).await.map_err(|e| (first, e))?;
        }
        Ok(())
    }
    async fn reset(
        &self,
        tx: &mut DbTx,
        municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError> {
        self.0.reset(tx, municipality).await
    }
}

async fn prepare(db: &Db) -> anyhow::Result<()> {
    mosaic_eventstore::migrate(db).await?;
    mosaic_projection::migrate(db).await?;
    on_db!(db, pool => {
        sqlx::query("CREATE TABLE tally (event_id TEXT PRIMARY KEY, municipality TEXT NOT NULL, applied BIGINT NOT NULL)")
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// (applied exactly once, applied more than once, total rows)
async fn tallies(db: &Db) -> anyhow::Result<(i64, i64, i64)> {
    let row: (i64, i64, i64) = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN applied = 1 THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN applied > 1 THEN 1 ELSE 0 END), 0), COUNT(*) FROM tally",
        )
        .fetch_one(pool)
        .await?
    });
    Ok(row)
}

fn kashiwa() -> MunicipalityCode {
    MunicipalityCode::parse("122173").unwrap()
}
fn chigasaki() -> MunicipalityCode {
    MunicipalityCode::parse("142077").unwrap()
}

async fn append(
    store: &SqlEventStore,
    municipality: MunicipalityCode,
    tag: &str,
    n: u64,
    event_type: &str,
) -> anyhow::Result<()> {
    for i in 0..n {
        store
            .append(AppendRequest {
                municipality,
                stream_id: format!("{tag}-{i}"),
                expected: ExpectedVersion::NoStream,
                events: vec![NewEvent {
                    event_id: EventId::new(),
                    event_type: event_type.into(),
                    schema_version: 1,
                    occurred_at: mosaic_types::now_utc(),
                    payload: serde_json::json!({ "i": i }).into(),
                }],
                meta: CommandMeta {
                    actor: "test".into(),
                    recorded_at: mosaic_types::now_utc(),
                    correlation_id: uuid::Uuid::now_v7(),
                    causation_id: None,
                    idempotency: None,
                    trace_context: None,
                },
                response: None,
                also: Vec::new(),
            })
            .await?;
    }
    Ok(())
}

/// A relay publishing `store` into the stream, polling often; stop it with the sender.
fn relay(
    store: &Arc<SqlEventStore>,
    js: &async_nats::jetstream::Context,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = watch::channel(false);
    let relay = Relay::new(
        store.clone(),
        js.clone(),
        RelayConfig {
            poll: Duration::from_millis(10),
            ..Default::default()
        },
    );
    (stop, tokio::spawn(relay.run(stopped)))
}

fn config(holder: &str) -> RunnerConfig {
    RunnerConfig {
        batch: 32,
        idle_wait: Duration::from_millis(50),
        lease_ttl: Duration::from_millis(400),
        max_attempts: 3,
        holder: holder.into(),
    }
}

#[tokio::test]
async fn a_consumer_killed_between_effect_and_ack_does_not_double_apply() -> anyhow::Result<()> {
    let pg = mosaic_testkit::TestDatabase::new()?;
    let nats = mosaic_testkit::NatsServer::start()?;
    let db = mosaic_db::connect(pg.url(), 10).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    let js = jetstream(connect(&nats.url(), "test").await?);
    // A short de-duplication window, so re-published copies below reach the stream.
    let settings = StreamSettings {
        duplicate_window: Duration::from_millis(500),
        ..Default::default()
    };
    ensure_stream(&js, &settings).await?;
    let (stop_relay, relay) = relay(&store, &js);

    append(&store, kashiwa(), "k", 600, "Counted").await?;
    // Kill the runner at many different moments while it works through the stream.
    for round in 0..8u64 {
        let (_stop, stopped) = watch::channel(false);
        let runner = Runner::new(
            Arc::new(Tally { fail_on: None }),
            db.clone(),
            Source::JetStream(Box::new(js.clone())),
            config(&format!("r{round}")),
        );
        let (_handle, task) = runner.spawn(stopped);
        tokio::time::sleep(Duration::from_millis(60 + round * 37)).await;
        task.abort();
        let _ = task.await;
        tokio::time::sleep(Duration::from_millis(450)).await; // the dead runner's lease lapses
    }
    // Copies of every event, re-published after the de-duplication window, reach the stream
    // with new sequences; the per-context positions committed with the effect turn them away.
    tokio::time::sleep(Duration::from_millis(600)).await;
    mosaic_bus::republish_range(store.as_ref(), &js, 1, 600).await?;
    assert_eq!(
        js.get_stream("MOSAIC").await?.info().await?.state.messages,
        1200
    );
    let redelivered = Runner::new(
        Arc::new(Tally { fail_on: None }),
        db.clone(),
        Source::JetStream(Box::new(js.clone())),
        config("again"),
    );
    let (_stop_again, stopped_again) = watch::channel(false);
    let (again, again_task) = redelivered.spawn(stopped_again);
    tokio::time::timeout(Duration::from_secs(60), again.caught_up_to(1200)).await??;
    again_task.abort();
    let _ = again_task.await;
    tokio::time::sleep(Duration::from_millis(450)).await;
    let (stop, stopped) = watch::channel(false);
    let runner = Runner::new(
        Arc::new(Tally { fail_on: None }),
        db.clone(),
        Source::JetStream(Box::new(js.clone())),
        config("final"),
    );
    let (handle, task) = runner.spawn(stopped);
    tokio::time::timeout(Duration::from_secs(60), handle.caught_up_to(1200)).await??;
    assert_eq!(tallies(&db).await?, (600, 0, 600));
    assert_eq!(checkpoint(&db, "tally", "nats:MOSAIC").await?, 1200);
    assert_eq!(checkpoint(&db, "tally", "context:registry").await?, 600);
    stop.send(true)?;
    task.await??;
    stop_relay.send(true)?;
    relay.await?;
    Ok(())
}

#[tokio::test]
async fn the_embedded_runner_tails_the_store_and_survives_a_kill() -> anyhow::Result<()> {
    let lite = mosaic_testkit::TestSqlite::new()?;
    let db = mosaic_db::connect(&lite.url("registry"), 4).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    append(&store, kashiwa(), "a", 100, "Counted").await?;
    append(&store, kashiwa(), "ignored", 20, "NotOfInterest").await?;

    let (_stop, stopped) = watch::channel(false);
    let (_, task) = Runner::new(
        Arc::new(Tally { fail_on: None }),
        db.clone(),
        Source::Store(store.clone()),
        config("one"),
    )
    .spawn(stopped);
    tokio::time::sleep(Duration::from_millis(100)).await;
    task.abort();
    let _ = task.await;
    tokio::time::sleep(Duration::from_millis(450)).await;

    let (stop, stopped) = watch::channel(false);
    let (handle, task) = Runner::new(
        Arc::new(Tally { fail_on: None }),
        db.clone(),
        Source::Store(store.clone()),
        config("two"),
    )
    .spawn(stopped);
    append(&store, kashiwa(), "b", 50, "Counted").await?; // live, woken by the append
    tokio::time::timeout(Duration::from_secs(30), handle.caught_up_to(170)).await??;
    assert_eq!(tallies(&db).await?, (150, 0, 150));
    stop.send(true)?;
    task.await??;
    Ok(())
}

async fn rebuild_touches_only_the_named_municipality(
    db: &Db,
    source: Source,
    store: &SqlEventStore,
) -> anyhow::Result<()> {
    append(store, kashiwa(), "k", 40, "Counted").await?;
    append(store, chigasaki(), "c", 30, "Counted").await?;
    let (stop, stopped) = watch::channel(false);
    let (handle, task) = Runner::new(
        Arc::new(Tally { fail_on: None }),
        db.clone(),
        source,
        config("rb"),
    )
    .spawn(stopped);
    let head = store.head().await?;
    let expected_checkpoint = head;
    tokio::time::timeout(
        Duration::from_secs(30),
        handle.caught_up_to(expected_checkpoint),
    )
    .await??;

    // Damage both municipalities' rows, then rebuild only Kashiwa.
    on_db!(db, pool => { sqlx::query("UPDATE tally SET applied = 99").execute(pool).await?; });
    let report = handle.rebuild(Some(kashiwa())).await?;
    assert_eq!(report.replayed, 40);
    let per: Vec<(String, i64)> = on_db!(db, pool => {
        sqlx::query_as("SELECT municipality, MAX(applied) FROM tally GROUP BY municipality ORDER BY municipality")
            .fetch_all(pool).await?
    });
    assert_eq!(
        per,
        vec![("122173".to_string(), 1), ("142077".to_string(), 99)]
    );

    let report = handle.rebuild(None).await?;
    assert_eq!(report.replayed, 70);
    assert_eq!(tallies(db).await?, (70, 0, 70));
    // Live reading resumes after a rebuild.
    append(store, kashiwa(), "after", 5, "Counted").await?;
    tokio::time::timeout(
        Duration::from_secs(30),
        handle.caught_up_to(expected_checkpoint + 5),
    )
    .await??;
    assert_eq!(tallies(db).await?, (75, 0, 75));
    stop.send(true)?;
    task.await??;
    Ok(())
}

#[tokio::test]
async fn rebuilding_one_municipality_leaves_the_others_untouched_embedded() -> anyhow::Result<()> {
    let lite = mosaic_testkit::TestSqlite::new()?;
    let db = mosaic_db::connect(&lite.url("registry"), 4).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    rebuild_touches_only_the_named_municipality(&db, Source::Store(store.clone()), &store).await
}

#[tokio::test]
async fn rebuilding_one_municipality_leaves_the_others_untouched_over_nats() -> anyhow::Result<()> {
    let pg = mosaic_testkit::TestDatabase::new()?;
    let nats = mosaic_testkit::NatsServer::start()?;
    let db = mosaic_db::connect(pg.url(), 10).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    let js = jetstream(connect(&nats.url(), "test").await?);
    ensure_stream(&js, &Default::default()).await?;
    let (stop_relay, relay) = relay(&store, &js);
    // With one store publishing into a fresh stream, stream sequences equal store positions.
    rebuild_touches_only_the_named_municipality(
        &db,
        Source::JetStream(Box::new(js.clone())),
        &store,
    )
    .await?;
    stop_relay.send(true)?;
    relay.await?;
    Ok(())
}

/// An embedded store holding three good events, a poison one (position 4) and three more; and
/// the runner of `projection` on it, stopped by the poison: its status and its error.
async fn run_into_poison(
    projection: Arc<dyn Projection>,
    batch: usize,
) -> anyhow::Result<(Db, RunnerStatus, String, mosaic_testkit::TestSqlite)> {
    let lite = mosaic_testkit::TestSqlite::new()?;
    let db = mosaic_db::connect(&lite.url("registry"), 4).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    append(&store, kashiwa(), "ok", 3, "Counted").await?;
    append(&store, kashiwa(), "bad", 1, "Poison").await?;
    append(&store, kashiwa(), "later", 3, "Counted").await?;
    let (_stop, stopped) = watch::channel(false);
    let mut cfg = config("p");
    cfg.batch = batch;
    let (handle, task) =
        Runner::new(projection, db.clone(), Source::Store(store), cfg).spawn(stopped);
    let err = tokio::time::timeout(Duration::from_secs(30), task)
        .await??
        .unwrap_err();
    Ok((db, handle.status(), err.to_string(), lite))
}

const POISON: Tally = Tally {
    fail_on: Some("Poison"),
};

#[tokio::test]
async fn an_event_that_cannot_be_applied_stops_the_runner_visibly() -> anyhow::Result<()> {
    let (db, status, err, _lite) = run_into_poison(Arc::new(POISON), 1).await?;
    assert!(err.contains("position 4"), "{err}");
    assert!(matches!(status, RunnerStatus::Failed(_)));
    // Nothing after the poison event was applied, and the checkpoint did not pass it.
    assert_eq!(tallies(&db).await?, (3, 0, 3));
    assert_eq!(checkpoint(&db, "tally", "store:registry").await?, 3);
    Ok(())
}

#[tokio::test]
async fn a_failure_in_a_bulk_write_is_pinned_to_its_event() -> anyhow::Result<()> {
    let (db, _, err, _lite) = run_into_poison(Arc::new(BulkTally(POISON)), 32).await?;
    // The batch of seven failed as a whole at position 1; the retries, one event at a time,
    // name the poison event.
    assert!(err.contains("position 4"), "{err}");
    assert_eq!(tallies(&db).await?, (0, 0, 0));
    assert_eq!(checkpoint(&db, "tally", "store:registry").await?, 0);
    Ok(())
}

/// Counts events applied and notes how many had been when the runner first said it caught up.
struct Upkept {
    applied: std::sync::atomic::AtomicU64,
    first_caught_up: std::sync::OnceLock<u64>,
}

#[async_trait]
impl Projection for Upkept {
    fn name(&self) -> &'static str {
        "upkept"
    }
    fn interests(&self) -> Vec<Interest> {
        Tally { fail_on: None }.interests()
    }
    async fn apply(&self, _tx: &mut DbTx, _event: &StoredEvent) -> Result<(), ProjectionError> {
        self.applied
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    async fn reset(
        &self,
        _tx: &mut DbTx,
        _municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError> {
        Ok(())
    }
    fn caught_up(&self) {
        let applied = self.applied.load(std::sync::atomic::Ordering::SeqCst);
        let _ = self.first_caught_up.set(applied);
    }
}

#[tokio::test]
async fn a_projection_hears_it_caught_up_only_after_the_backlog() -> anyhow::Result<()> {
    let lite = mosaic_testkit::TestSqlite::new()?;
    let db = mosaic_db::connect(&lite.url("registry"), 4).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    append(&store, kashiwa(), "a", 100, "Counted").await?;

    let projection = Arc::new(Upkept {
        applied: Default::default(),
        first_caught_up: Default::default(),
    });
    let (stop, stopped) = watch::channel(false);
    let (handle, task) = Runner::new(
        projection.clone(),
        db.clone(),
        Source::Store(store.clone()),
        config("one"),
    )
    .spawn(stopped);
    tokio::time::timeout(Duration::from_secs(30), handle.caught_up_to(100)).await??;
    // Batches of 32: three full ones, then a short one that reaches the head.
    tokio::time::timeout(Duration::from_secs(5), async {
        while projection.first_caught_up.get().is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await?;
    assert_eq!(projection.first_caught_up.get(), Some(&100));
    stop.send(true)?;
    task.await??;
    Ok(())
}

/// [`Tally`] whose first batch commits (its effect and checkpoints, through a connection of its
/// own) and is then reported failed, as when the connection is lost on COMMIT.
struct CommittedButFailed {
    bulk: BulkTally,
    db: Db,
    checkpoint_key: String,
    tripped: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Projection for CommittedButFailed {
    fn name(&self) -> &'static str {
        self.bulk.name()
    }
    fn interests(&self) -> Vec<Interest> {
        self.bulk.interests()
    }
    async fn apply(&self, tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError> {
        self.bulk.apply(tx, event).await
    }
    async fn apply_all(
        &self,
        tx: &mut DbTx,
        events: &[&StoredEvent],
    ) -> Result<(), (u64, ProjectionError)> {
        let first = events.first().map_or(0, |e| e.position);
        if self.tripped.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return self.bulk.apply_all(tx, events).await;
        }
        let failed = |e: sqlx::Error| (first, ProjectionError::Database(e));
        let last = events.last().map_or(0, |e| e.position) as i64;
        let mut side = self.db.begin().await.map_err(failed)?;
        self.bulk.apply_all(&mut side, events).await?;
        for source in [self.checkpoint_key.as_str(), "context:registry"] {
            on_tx!(&mut side, t => {
                sqlx::query(
                    "INSERT INTO projection_checkpoints (projection, source, position, updated_at) \
                     VALUES ('tally', $1, $2, now()) ON CONFLICT (projection, source) \
                     DO UPDATE SET position = excluded.position",
                )
                .bind(source)
                .bind(last)
                .execute(&mut **t)
                .await
                .map_err(failed)?;
            });
        }
        side.commit().await.map_err(failed)?;
        Err((
            first,
            ProjectionError::Database(sqlx::Error::Protocol("connection lost on COMMIT".into())),
        ))
    }
    async fn reset(
        &self,
        tx: &mut DbTx,
        municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError> {
        self.bulk.reset(tx, municipality).await
    }
}

#[tokio::test]
async fn a_batch_that_committed_but_was_reported_failed_is_not_applied_again() -> anyhow::Result<()>
{
    let pg = mosaic_testkit::TestDatabase::new()?;
    let db = mosaic_db::connect(pg.url(), 4).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    append(&store, kashiwa(), "a", 20, "Counted").await?;

    let source = Source::Store(store.clone());
    let projection = Arc::new(CommittedButFailed {
        bulk: BulkTally(Tally { fail_on: None }),
        db: db.clone(),
        checkpoint_key: source.key(),
        tripped: Default::default(),
    });
    let (stop, stopped) = watch::channel(false);
    let (handle, task) =
        Runner::new(projection.clone(), db.clone(), source, config("one")).spawn(stopped);
    tokio::time::timeout(Duration::from_secs(30), handle.caught_up_to(20)).await??;
    assert!(projection.tripped.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(tallies(&db).await?, (20, 0, 20), "every event applied once");
    // And the runner goes on with the next events.
    append(&store, kashiwa(), "b", 5, "Counted").await?;
    tokio::time::timeout(Duration::from_secs(30), handle.caught_up_to(25)).await??;
    assert_eq!(tallies(&db).await?, (25, 0, 25));
    stop.send(true)?;
    task.await??;
    Ok(())
}

/// Undoes the runner's last commits as a PostgreSQL crash undoes asynchronous commits: the
/// effects and the checkpoints go back together to what they were at `position`.
async fn lose_commits_after(db: &Db, position: u64) -> anyhow::Result<()> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "DELETE FROM tally WHERE event_id IN \
             (SELECT e.event_id::text FROM events e WHERE e.position > $1)",
        )
        .bind(position as i64)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE projection_checkpoints SET position = $1 \
             WHERE projection = 'tally' AND source IN ('store:registry', 'context:registry')",
        )
        .bind(position as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok(())
}

#[tokio::test]
async fn a_batch_the_database_lost_is_applied_again_without_a_restart() -> anyhow::Result<()> {
    let pg = mosaic_testkit::TestDatabase::new()?;
    let db = mosaic_db::connect(pg.url(), 10).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    append(&store, kashiwa(), "a", 50, "Counted").await?;
    let (stop, stopped) = watch::channel(false);
    let (handle, task) = Runner::new(
        Arc::new(Tally { fail_on: None }),
        db.clone(),
        Source::Store(store.clone()),
        config("live"),
    )
    .spawn(stopped);
    tokio::time::timeout(Duration::from_secs(30), handle.caught_up_to(50)).await??;
    assert_eq!(tallies(&db).await?, (50, 0, 50));

    // The database comes back without the commits after position 18; the runner, still running,
    // applied them and knows nothing of it.
    lose_commits_after(&db, 18).await?;
    append(&store, kashiwa(), "b", 10, "Counted").await?;
    let head = store.head().await?;
    let complete = async {
        loop {
            if tallies(&db).await? == (60, 0, 60)
                && checkpoint(&db, "tally", "store:registry").await? == head
            {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), complete)
        .await
        .map_err(|_| anyhow::anyhow!("the read model never recovered the lost batch"))??;
    assert!(matches!(handle.status(), RunnerStatus::Live { .. }));
    stop.send(true)?;
    task.await??;
    Ok(())
}

#[tokio::test]
async fn a_database_outage_is_waited_out_and_the_runner_goes_on_by_itself() -> anyhow::Result<()> {
    // A cluster of its own, to crash.
    let cluster = mosaic_testkit::PgCluster::start()?;
    let url = format!("{}/postgres", cluster.admin_url());
    let db = mosaic_db::connect(&url, 4).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    append(&store, kashiwa(), "a", 20, "Counted").await?;
    let (stop, stopped) = watch::channel(false);
    let (handle, task) = Runner::new(
        Arc::new(Tally { fail_on: None }),
        db.clone(),
        Source::Store(store.clone()),
        config("outage"),
    )
    .spawn(stopped);
    tokio::time::timeout(Duration::from_secs(30), handle.caught_up_to(20)).await??;

    // Longer than the runner's attempts at one batch and than a pool's wait for a connection.
    cluster.crash()?;
    let mut status = handle.watch();
    tokio::time::timeout(Duration::from_secs(30), async {
        while !matches!(*status.borrow(), RunnerStatus::Unavailable(_)) {
            status.changed().await?;
        }
        anyhow::Ok(())
    })
    .await??;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        matches!(handle.status(), RunnerStatus::Unavailable(_)),
        "{:?}",
        handle.status()
    );
    cluster.restart()?;

    // Back by itself: new events are applied, none twice.
    let answering = async {
        loop {
            let up = on_db!(&db, pool => { sqlx::query("SELECT 1").execute(pool).await.is_ok() });
            if up {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), answering).await?;
    append(&store, kashiwa(), "b", 10, "Counted").await?;
    let head = store.head().await?;
    tokio::time::timeout(Duration::from_secs(30), handle.caught_up_to(head)).await??;
    assert_eq!(tallies(&db).await?, (30, 0, 30));
    stop.send(true)?;
    task.await??;
    Ok(())
}

#[tokio::test]
async fn a_standby_takes_over_as_soon_as_the_leader_dies_not_when_its_lease_would_lapse()
-> anyhow::Result<()> {
    let pg = mosaic_testkit::TestDatabase::new()?;
    let db = mosaic_db::connect(pg.url(), 10).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    append(&store, kashiwa(), "a", 10, "Counted").await?;
    // A lease time far longer than the test may wait.
    let long = |holder: &str| RunnerConfig {
        lease_ttl: Duration::from_secs(120),
        ..config(holder)
    };
    let (_stop_a, stopped_a) = watch::channel(false);
    let (leader, leader_task) = Runner::new(
        Arc::new(Tally { fail_on: None }),
        db.clone(),
        Source::Store(store.clone()),
        long("leader"),
    )
    .spawn(stopped_a);
    tokio::time::timeout(Duration::from_secs(30), leader.caught_up_to(10)).await??;
    let (stop_b, stopped_b) = watch::channel(false);
    let (standby, standby_task) = Runner::new(
        Arc::new(Tally { fail_on: None }),
        db.clone(),
        Source::Store(store.clone()),
        long("standby"),
    )
    .spawn(stopped_b);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(standby.status(), RunnerStatus::Standby);

    // The leader dies (its task and connection are gone): the standby leads long before the
    // two-minute lease would have lapsed, and goes on from the leader's checkpoint.
    leader_task.abort();
    let _ = leader_task.await;
    append(&store, kashiwa(), "b", 5, "Counted").await?;
    tokio::time::timeout(Duration::from_secs(20), standby.caught_up_to(15)).await??;
    assert_eq!(tallies(&db).await?, (15, 0, 15));
    stop_b.send(true)?;
    standby_task.await??;
    Ok(())
}

#[tokio::test]
async fn a_read_model_that_missed_events_is_found_out_and_rebuilt() -> anyhow::Result<()> {
    for backend in ["postgres", "sqlite"] {
        let pg;
        let lite;
        let db = if backend == "postgres" {
            pg = mosaic_testkit::TestDatabase::new()?;
            mosaic_db::connect(pg.url(), 10).await?
        } else {
            lite = mosaic_testkit::TestSqlite::new()?;
            mosaic_db::connect(&lite.url("registry"), 4).await?
        };
        prepare(&db).await?;
        let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
        append(&store, kashiwa(), "a", 20, "Counted").await?;
        let run = |holder: &'static str| {
            let (stop, stopped) = watch::channel(false);
            let (handle, task) = Runner::new(
                Arc::new(Tally { fail_on: None }),
                db.clone(),
                Source::Store(store.clone()),
                config(holder),
            )
            .spawn(stopped);
            (stop, handle, task)
        };
        let (stop, handle, task) = run("first");
        tokio::time::timeout(Duration::from_secs(30), handle.caught_up_to(20)).await??;
        stop.send(true)?;
        task.await??;

        // Five more events, and checkpoints moved past them without applying them: what a
        // runner that skipped events would leave behind.
        append(&store, kashiwa(), "b", 5, "Counted").await?;
        let head = store.head().await?;
        on_db!(&db, pool => {
            sqlx::query(
                "UPDATE projection_checkpoints SET position = $1 \
                 WHERE projection = 'tally' AND source IN ('store:registry', 'context:registry')",
            )
            .bind(head as i64)
            .execute(pool)
            .await?;
        });
        assert_eq!(tallies(&db).await?, (20, 0, 20));

        // The next runner checks the read model against the log before going live, and rebuilds.
        let (stop, handle, task) = run("second");
        tokio::time::timeout(Duration::from_secs(30), handle.caught_up_to(head)).await??;
        assert_eq!(tallies(&db).await?, (25, 0, 25), "{backend}");
        stop.send(true)?;
        task.await??;
    }
    Ok(())
}

#[tokio::test]
async fn a_jetstream_reader_resumes_soon_after_nats_restarts() -> anyhow::Result<()> {
    let pg = mosaic_testkit::TestDatabase::new()?;
    let mut nats = mosaic_testkit::NatsServer::start()?;
    let db = mosaic_db::connect(pg.url(), 10).await?;
    prepare(&db).await?;
    let store = Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
    let js = jetstream(connect(&nats.url(), "test").await?);
    ensure_stream(&js, &StreamSettings::default()).await?;
    let (stop_relay, relay) = relay(&store, &js);
    append(&store, kashiwa(), "a", 10, "Counted").await?;
    let (stop, stopped) = watch::channel(false);
    let (handle, task) = Runner::new(
        Arc::new(Tally { fail_on: None }),
        db.clone(),
        Source::JetStream(Box::new(js.clone())),
        config("js"),
    )
    .spawn(stopped);
    tokio::time::timeout(Duration::from_secs(30), handle.caught_up_to(10)).await??;

    // The server restarts and loses the reader's ordered consumer (it lives in memory). The
    // reader makes it again as soon as the client reconnects, not after missed heartbeats
    // (about half a minute).
    nats.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    nats.resume()?;
    append(&store, kashiwa(), "b", 10, "Counted").await?;
    tokio::time::timeout(Duration::from_secs(10), handle.caught_up_to(20))
        .await
        .map_err(|_| anyhow::anyhow!("the reader did not resume within 10 s of the restart"))??;
    assert_eq!(tallies(&db).await?, (20, 0, 20));
    stop.send(true)?;
    task.await??;
    stop_relay.send(true)?;
    relay.await?;
    Ok(())
}
