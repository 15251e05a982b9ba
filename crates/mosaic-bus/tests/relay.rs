//! The relay against a real nats-server and real stores.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use mosaic_bus::decode_event;
use mosaic_bus::relay::{Relay, RelayConfig, republish_range};
use mosaic_bus::stream::{StreamSettings, connect, ensure_stream, jetstream};
use mosaic_eventstore::{
    AppendRequest, CommandMeta, EventStore, ExpectedVersion, NewEvent, SqlEventStore,
};
use mosaic_types::{EventId, MunicipalityCode};
use tokio::sync::watch;

struct Setup {
    store: Arc<SqlEventStore>,
    _pg: Option<mosaic_testkit::TestDatabase>,
    _lite: Option<mosaic_testkit::TestSqlite>,
}

async fn postgres_store() -> anyhow::Result<Setup> {
    let pg = mosaic_testkit::TestDatabase::new()?;
    let db = mosaic_db::connect(pg.url(), 20).await?;
    mosaic_eventstore::migrate(&db).await?;
    Ok(Setup {
        store: Arc::new(SqlEventStore::open(db, "registry").await?),
        _pg: Some(pg),
        _lite: None,
    })
}

async fn sqlite_store() -> anyhow::Result<Setup> {
    let lite = mosaic_testkit::TestSqlite::new()?;
    let db = mosaic_db::connect(&lite.url("registry"), 4).await?;
    mosaic_eventstore::migrate(&db).await?;
    Ok(Setup {
        store: Arc::new(SqlEventStore::open(db, "registry").await?),
        _pg: None,
        _lite: Some(lite),
    })
}

async fn append_many(store: &SqlEventStore, batch: &str, n: u64) -> anyhow::Result<()> {
    let municipality = MunicipalityCode::parse("122173")?;
    for chunk in 0..n / 10 {
        let events = (0..10)
            .map(|i| NewEvent {
                event_id: EventId::new(),
                event_type: "ResidentRegistered".into(),
                schema_version: 1,
                occurred_at: mosaic_types::now_utc(),
                payload: serde_json::json!({ "n": chunk * 10 + i }).into(),
            })
            .collect();
        store
            .append(AppendRequest {
                municipality,
                stream_id: format!("resident-{batch}-{chunk}"),
                expected: ExpectedVersion::NoStream,
                events,
                meta: CommandMeta {
                    actor: "test".into(),
                    recorded_at: mosaic_types::now_utc(),
                    correlation_id: uuid::Uuid::now_v7(),
                    causation_id: None,
                    idempotency: None,
                    trace_context: Some(
                        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
                    ),
                },
                response: None,
                also: Vec::new(),
            })
            .await?;
    }
    Ok(())
}

fn config(holder: &str) -> RelayConfig {
    RelayConfig {
        batch: 64,
        lease_ttl: Duration::from_millis(600),
        poll: Duration::from_millis(20),
        holder: holder.into(),
    }
}

fn spawn_relay(
    store: &Arc<SqlEventStore>,
    js: &jetstream::Context,
    holder: &str,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = watch::channel(false);
    let relay = Relay::new(store.clone(), js.clone(), config(holder));
    (stop, tokio::spawn(relay.run(stopped)))
}

async fn wait_until_outbox_empty(store: &SqlEventStore) -> anyhow::Result<()> {
    tokio::time::timeout(Duration::from_secs(60), async {
        while !store.outbox_pending(1).await?.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok::<_, anyhow::Error>(())
    })
    .await?
}

/// Every event exactly once, in position order.
async fn assert_stream_holds_log_once(
    js: &jetstream::Context,
    store: &SqlEventStore,
    n: u64,
) -> anyhow::Result<()> {
    let mut stream = js.get_stream("MOSAIC").await?;
    let info = stream.info().await?.clone();
    assert_eq!(
        info.state.messages, n,
        "the stream holds each event exactly once"
    );
    let mut seen = HashSet::new();
    let mut last_position = 0;
    for seq in info.state.first_sequence..=info.state.last_sequence {
        let msg = stream.get_raw_message(seq).await?;
        let event = decode_event(&msg.payload)?;
        assert!(seen.insert(event.event_id), "duplicate {}", event.event_id);
        assert!(
            event.position > last_position,
            "out of order at {}",
            event.position
        );
        last_position = event.position;
        assert_eq!(
            msg.subject.as_str(),
            "mosaic.122173.registry.ResidentRegistered"
        );
        assert!(msg.headers.get("traceparent").is_some());
    }
    assert_eq!(last_position, store.head().await?);
    Ok(())
}

#[tokio::test]
async fn a_relay_killed_mid_batch_and_restarted_loses_and_duplicates_nothing() -> anyhow::Result<()>
{
    let nats = mosaic_testkit::NatsServer::start()?;
    let js = jetstream(connect(&nats.url(), "test").await?);
    ensure_stream(&js, &StreamSettings::default()).await?;
    for setup in [postgres_store().await?, sqlite_store().await?] {
        js.get_stream("MOSAIC").await?.purge().await?;
        let store = setup.store.clone();
        append_many(&store, "a", 1000).await?;

        // A relay that died after publishing but before marking: its messages are in the stream
        // and its rows are still pending.
        republish_range(store.as_ref(), &js, 1, 130).await?;

        // A relay killed while a batch is in flight.
        let (_stop, task) = spawn_relay(&store, &js, "first");
        let mut stream = js.get_stream("MOSAIC").await?;
        while stream.info().await?.state.messages <= 130 {
            tokio::task::yield_now().await;
        }
        task.abort();
        let _ = task.await;

        // A standby takes over once the lease lapses.
        let (stop, task) = spawn_relay(&store, &js, "second");
        wait_until_outbox_empty(&store).await?;
        stop.send(true)?;
        task.await?;
        assert_stream_holds_log_once(&js, &store, 1000).await?;
    }
    Ok(())
}

#[tokio::test]
async fn commands_succeed_while_nats_is_down_and_arrive_after_it_returns() -> anyhow::Result<()> {
    let mut nats = mosaic_testkit::NatsServer::start()?;
    let js = jetstream(connect(&nats.url(), "test").await?);
    ensure_stream(&js, &StreamSettings::default()).await?;
    let setup = postgres_store().await?;
    let store = setup.store.clone();
    let (stop, task) = spawn_relay(&store, &js, "only");

    append_many(&store, "before", 100).await?;
    wait_until_outbox_empty(&store).await?;

    nats.stop();
    append_many(&store, "during", 200).await?; // appends do not depend on NATS
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !store.outbox_pending(1).await?.is_empty(),
        "nothing can be published while NATS is down"
    );

    nats.resume()?;
    wait_until_outbox_empty(&store).await?;
    stop.send(true)?;
    task.await?;
    assert_stream_holds_log_once(&js, &store, 300).await?;
    Ok(())
}

#[tokio::test]
async fn only_one_of_two_relays_publishes() -> anyhow::Result<()> {
    let nats = mosaic_testkit::NatsServer::start()?;
    let js = jetstream(connect(&nats.url(), "test").await?);
    ensure_stream(&js, &StreamSettings::default()).await?;
    let setup = postgres_store().await?;
    let store = setup.store.clone();
    let (stop_a, a) = spawn_relay(&store, &js, "a");
    let (stop_b, b) = spawn_relay(&store, &js, "b");
    append_many(&store, "a", 300).await?;
    wait_until_outbox_empty(&store).await?;
    let mut third = store.leader("relay:registry", "c", Duration::from_secs(1));
    assert!(!third.hold().await?, "one of the two relays leads");
    third.release().await;
    stop_a.send(true)?;
    stop_b.send(true)?;
    a.await?;
    b.await?;
    assert_stream_holds_log_once(&js, &store, 300).await?;
    Ok(())
}

#[tokio::test]
async fn an_outbox_failure_is_reported_as_the_event_stores_not_jetstreams() -> anyhow::Result<()> {
    let nats = mosaic_testkit::NatsServer::start()?;
    let js = jetstream(connect(&nats.url(), "test").await?);
    ensure_stream(&js, &StreamSettings::default()).await?;
    let setup = sqlite_store().await?;
    let store = setup.store.clone();
    append_many(&store, "a", 10).await?;
    // The store's database goes away under the relay.
    store.db().close().await;
    let relay = Relay::new(store.clone(), js.clone(), config("closed"));
    let error = relay.publish_pending().await.unwrap_err().to_string();
    assert!(
        error.starts_with("event store, reading the outbox"),
        "{error}"
    );
    Ok(())
}
