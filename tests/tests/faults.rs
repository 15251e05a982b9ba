#![allow(clippy::unwrap_used, missing_docs)]

//! Faults under load: the registry served on its own PostgreSQL cluster while clients register
//! residents, and the cluster crashed (`pg_ctl stop -m immediate`) again and again. Nothing
//! acknowledged is lost or stored twice, and the read models (the registry's directory, and
//! insights fed over NATS, its database crashing too) end equal to the log with no restart of any
//! service; while the database is away the service says NOT_SERVING, and SERVING again by itself
//! once it is back.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use mosaic_auth::{Role, SigningKeys};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const CLIENTS: usize = 4;
const CRASHES: usize = 8;
const SERVICE: &str = "mosaic.v1.RegistryService";

/// Registers residents until told to stop; a refused attempt is retried with the same
/// `request_id` until it is answered, so each request ends acknowledged exactly once.
async fn load(
    channel: Channel,
    token: String,
    client: usize,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<String>>>,
) {
    let mut registry = Registry::new(channel);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let request_id = format!("load-{client}-{n}");
        loop {
            match registry
                .register_resident(authed(guest(&request_id), &token, None))
                .await
            {
                Ok(answer) => {
                    let id = answer.into_inner().resident.unwrap().resident_id;
                    acknowledged.lock().unwrap().push(id);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        n += 1;
    }
}

async fn health(client: &mut HealthClient<Channel>) -> Option<i32> {
    client
        .check(HealthCheckRequest {
            service: SERVICE.into(),
        })
        .await
        .ok()
        .map(|r| r.into_inner().status)
}

#[tokio::test]
async fn immediate_postgres_crashes_under_load_leave_every_read_model_equal_to_the_log()
-> anyhow::Result<()> {
    telemetry();
    let cluster = mosaic_testkit::PgCluster::start()?;
    let database_url = cluster.database("registry")?;
    let insights_url = cluster.database("insights")?;
    let nats = mosaic_testkit::NatsServer::start()?;
    let keys_dir = tempfile::tempdir()?;
    let keys = SigningKeys::generate();
    keys.write_to_dir(keys_dir.path())?;
    let signer = keys.signer(mosaic_auth::DEFAULT_ISSUER, mosaic_auth::DEFAULT_AUDIENCE)?;
    let operator = signer.mint(
        "operator-1",
        Role::Operator,
        None,
        chrono::Duration::hours(1),
    )?;
    let coordinator = signer.mint(
        "coordinator-1",
        Role::Coordinator,
        Some(code(KASHIWA)),
        chrono::Duration::hours(1),
    )?;

    let listen = SocketAddr::from(([127, 0, 0, 1], mosaic_testkit::free_port()?));
    let config = service_config(
        listen,
        &database_url,
        &nats.url(),
        &keys_dir.path().join("jwks.json"),
    );
    let (stop_service, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(async move {
        mosaic_runtime::distributed::run_with(&mosaic_registry::Module, config, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    // Insights on a database of the same cluster, reading the registry's events from NATS.
    let insights_listen = SocketAddr::from(([127, 0, 0, 1], mosaic_testkit::free_port()?));
    let insights_config = service_config(
        insights_listen,
        &insights_url,
        &nats.url(),
        &keys_dir.path().join("jwks.json"),
    );
    let (stop_insights, insights_stopped) = tokio::sync::oneshot::channel::<()>();
    let insights_service = tokio::spawn(async move {
        mosaic_runtime::distributed::run_with(&mosaic_insights::Module, insights_config, async {
            let _ = insights_stopped.await;
        })
        .await
        .unwrap();
    });
    let channel = loop {
        if let Ok(channel) = Channel::from_shared(format!("http://{listen}"))?
            .connect()
            .await
        {
            break channel;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let mut registry = Registry::new(channel.clone());
    let mut health_client = HealthClient::new(channel.clone());
    registry
        .register_municipality(authed(register("m", KASHIWA), &operator, Some(KASHIWA)))
        .await?;

    // Load from several clients while the database crashes again and again.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            tokio::spawn(load(
                channel.clone(),
                coordinator.clone(),
                client,
                stop.clone(),
                acknowledged.clone(),
            ))
        })
        .collect();
    for _ in 0..CRASHES {
        tokio::time::sleep(Duration::from_millis(400)).await;
        cluster.crash()?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        cluster.restart()?;
    }
    // A longer outage: the service says it cannot serve, and serves again by itself.
    cluster.crash()?;
    until(
        "NOT_SERVING while the database is away",
        Duration::from_secs(60),
        async || health(&mut health_client).await == Some(ServingStatus::NotServing as i32),
    )
    .await;
    cluster.restart()?;
    until(
        "SERVING once the database is back",
        Duration::from_secs(60),
        async || health(&mut health_client).await == Some(ServingStatus::Serving as i32),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await?;
    }

    // Acknowledged = stored, none twice; the directory, never restarted, lists exactly them.
    let mut acknowledged = acknowledged.lock().unwrap().clone();
    acknowledged.sort();
    let acked = acknowledged.len();
    acknowledged.dedup();
    assert_eq!(
        acknowledged.len(),
        acked,
        "a resident was acknowledged twice"
    );
    assert!(acked > 0);
    let db = mosaic_db::connect(&database_url, 2).await?;
    let store = mosaic_eventstore::SqlEventStore::open(db.clone(), "registry").await?;
    let mut stored = Vec::new();
    let mut kashiwa_events = 0u64;
    let mut after = 0;
    loop {
        let page = mosaic_eventstore::EventStore::read_log(
            &store,
            &mosaic_eventstore::LogQuery {
                after,
                limit: 1_000,
                ..Default::default()
            },
        )
        .await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        kashiwa_events += page
            .iter()
            .filter(|e| e.municipality.as_str() == KASHIWA)
            .count() as u64;
        stored.extend(
            page.iter()
                .filter(|e| e.event_type == "ResidentRegistered")
                .map(|e| e.stream_id.trim_start_matches("resident-").to_owned()),
        );
    }
    db.close().await;
    stored.sort();
    assert_eq!(
        stored, acknowledged,
        "the log holds exactly what was acknowledged"
    );
    let converged = Instant::now();
    until(
        "the directory equal to the log",
        Duration::from_secs(60),
        async || {
            listed_residents(&mut registry, &coordinator)
                .await
                .unwrap_or_default()
                == acknowledged
        },
    )
    .await;
    // Insights, fed through NATS with its own database crashing too, counts every event once.
    let mut insights = loop {
        if let Ok(channel) = Channel::from_shared(format!("http://{insights_listen}"))?
            .connect()
            .await
        {
            break Insights::new(channel);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let mut applied = 0;
    until(
        "insights equal to the log",
        Duration::from_secs(60),
        async || {
            applied = overview_eventually(&mut insights, &operator, KASHIWA)
                .await
                .map(|o| o.events_applied)
                .unwrap_or_default();
            applied == kashiwa_events
        },
    )
    .await;
    eprintln!(
        "{CRASHES} crashes under load: {acked} registrations acknowledged and stored, 0 lost, \
         0 duplicated, directory equal to the log and insights counting {applied} of {kashiwa_events} \
         events {:?} after the load stopped",
        converged.elapsed()
    );

    let _ = stop_service.send(());
    service.await?;
    let _ = stop_insights.send(());
    insights_service.await?;
    Ok(())
}
