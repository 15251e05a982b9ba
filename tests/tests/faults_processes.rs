#![allow(clippy::unwrap_used, missing_docs)]

//! The distributed topology as separate processes — two registry replicas, activity and
//! insights, on one PostgreSQL cluster and one nats-server — under a steady registration load,
//! through faults in turn: `kill -9` of a registry replica, of activity and of insights, a
//! nats-server restart, immediate PostgreSQL crashes, and each registry replica paused
//! (`SIGSTOP`) while it may lead the relay.
//! The report: acknowledged, stored, duplicated (must be 0), lost (must be 0), read-model
//! mismatches against the log (must be 0), and the time to converge.
//!
//! `MOSAIC_FAULT_ROUNDS` repeats the faults (default 1) for a longer run on demand.

mod common;
mod processes;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use mosaic_auth::{Role, SigningKeys};
use mosaic_proto::v1 as pb;
use processes::Service;
use tonic::transport::Channel;

/// Registers residents on either replica until told to stop; a request that fails or hangs is
/// sent again, with the same `request_id`, to the other replica until one answers.
async fn load(
    replicas: Vec<SocketAddr>,
    token: String,
    client: usize,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<String>>>,
    retries: Arc<AtomicUsize>,
) {
    let mut n = 0;
    let mut turn = client;
    while !stop.load(Ordering::Relaxed) {
        let request_id = format!("p-{client}-{n}");
        loop {
            turn += 1;
            let addr = replicas[turn % replicas.len()];
            let answer = async {
                let channel = Channel::from_shared(format!("http://{addr}"))?
                    .connect_timeout(Duration::from_millis(500))
                    .connect()
                    .await?;
                let mut request = authed(guest(&request_id), &token, None);
                request.set_timeout(Duration::from_secs(2));
                let answer = Registry::new(channel).register_resident(request).await?;
                anyhow::Ok(answer.into_inner().resident.unwrap().resident_id)
            };
            match tokio::time::timeout(Duration::from_secs(3), answer).await {
                Ok(Ok(id)) => {
                    acknowledged.lock().unwrap().push(id);
                    break;
                }
                _ => {
                    retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        n += 1;
    }
}

#[tokio::test]
async fn every_fault_in_turn_under_load_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    let rounds: usize = std::env::var("MOSAIC_FAULT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let cluster = mosaic_testkit::PgCluster::start()?;
    let registry_url = cluster.database("registry")?;
    let insights_url = cluster.database("insights")?;
    let activity_url = cluster.database("activity")?;
    let mut nats = mosaic_testkit::NatsServer::start()?;
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
    let master = mosaic_privacy::MasterKey::generate().to_base64();
    let env = |database: &str| {
        vec![
            ("DATABASE_URL", database.to_owned()),
            ("NATS_URL", nats.url()),
            (
                "MOSAIC_JWKS",
                keys_dir.path().join("jwks.json").display().to_string(),
            ),
            ("MOSAIC_MASTER_KEY", master.clone()),
            ("MOSAIC_RATE_LIMIT", "0".to_owned()),
            ("MOSAIC_DB_MAX_CONNECTIONS", "8".to_owned()),
        ]
    };
    let mut a = Service::start("registry", env(&registry_url))?;
    let channel_a = a.ready().await?;
    let mut b = Service::start("registry", env(&registry_url))?;
    b.ready().await?;
    let mut insights = Service::start("insights", env(&insights_url))?;
    insights.ready().await?;
    let mut activity = Service::start("activity", env(&activity_url))?;
    activity.ready().await?;
    Registry::new(channel_a.clone())
        .register_municipality(authed(register("m", KASHIWA), &operator, Some(KASHIWA)))
        .await?;
    // A host organisation, which activity learns from the registry's events.
    let host = Registry::new(channel_a.clone())
        .register_organisation(authed(
            pb::RegisterOrganisationRequest {
                request_id: "host".into(),
                details: Some(pb::OrganisationDetails {
                    kind: pb::OrganisationKind::SilverCenter as i32,
                    name: "柏市シルバー人材センター".into(),
                    fields: vec![pb::Field::Agriculture as i32],
                    district: "柏".into(),
                    contact: Some(pb::ContactPerson {
                        name: "佐藤 花子".into(),
                        phone: String::new(),
                        email: String::new(),
                    }),
                    licences: vec![],
                }),
                occurred_at: None,
            },
            &coordinator,
            None,
        ))
        .await?
        .into_inner()
        .organisation
        .unwrap()
        .organisation_id;

    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let retries = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|client| {
            tokio::spawn(load(
                vec![a.addr, b.addr],
                coordinator.clone(),
                client,
                stop.clone(),
                acknowledged.clone(),
                retries.clone(),
            ))
        })
        .collect();
    let pause = Duration::from_millis(700);
    for _ in 0..rounds {
        tokio::time::sleep(pause).await;
        a.kill9();
        tokio::time::sleep(pause).await;
        a.spawn()?;
        a.ready().await?;
        tokio::time::sleep(pause).await;
        insights.kill9();
        tokio::time::sleep(pause).await;
        insights.spawn()?;
        insights.ready().await?;
        tokio::time::sleep(pause).await;
        activity.kill9();
        tokio::time::sleep(pause).await;
        activity.spawn()?;
        activity.ready().await?;
        tokio::time::sleep(pause).await;
        nats.stop();
        tokio::time::sleep(pause).await;
        nats.resume()?;
        for _ in 0..3 {
            tokio::time::sleep(pause).await;
            cluster.crash()?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            cluster.restart()?;
        }
        // One of the two leads the relay: pause each in turn.
        for replica in [&a, &b] {
            tokio::time::sleep(pause).await;
            replica.signal("STOP")?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            replica.signal("CONT")?;
        }
    }
    tokio::time::sleep(pause).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await?;
    }
    let stopped = Instant::now();

    let mut acknowledged = acknowledged.lock().unwrap().clone();
    acknowledged.sort();
    let acked = acknowledged.len();
    acknowledged.dedup();
    let duplicated = acked - acknowledged.len();
    // The log, read from the registry's store.
    let db = mosaic_db::connect(&registry_url, 2).await?;
    let store = mosaic_eventstore::SqlEventStore::open(db.clone(), "registry").await?;
    let log = {
        let mut all = Vec::new();
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
            all.extend(page);
        }
        all
    };
    db.close().await;
    let mut stored: Vec<String> = log
        .iter()
        .filter(|e| e.event_type == "ResidentRegistered")
        .map(|e| e.stream_id.trim_start_matches("resident-").to_owned())
        .collect();
    stored.sort();
    let lost = acknowledged
        .iter()
        .filter(|id| stored.binary_search(id).is_err())
        .count();

    // Read models and the stream, once they have caught up.
    let mut registry_b = Registry::new(b.ready().await?);
    let directory_wait = until(
        "the directory equal to the log",
        Duration::from_secs(90),
        async || {
            listed_residents(&mut registry_b, &coordinator)
                .await
                .unwrap_or_default()
                == stored
        },
    )
    .await;
    let mut insights_client = Insights::new(insights.ready().await?);
    let insights_wait = until(
        "insights equal to the log",
        Duration::from_secs(90),
        async || {
            overview_eventually(&mut insights_client, &operator, KASHIWA)
                .await
                .map(|o| o.events_applied)
                .unwrap_or_default()
                == log.len() as u64
        },
    )
    .await;
    let js = mosaic_bus::stream::jetstream(mosaic_bus::connect(&nats.url(), "test").await?);
    let stream_wait = until(
        "the stream holding the log once",
        Duration::from_secs(90),
        async || match js.get_stream("MOSAIC").await {
            Ok(mut stream) => stream
                .info()
                .await
                .map(|i| i.state.messages == log.len() as u64)
                .unwrap_or(false),
            Err(_) => false,
        },
    )
    .await;
    // Activity, killed too, learned the host through it all: it takes an activity for it.
    let mut activities =
        pb::activity_service_client::ActivityServiceClient::new(activity.ready().await?);
    let activity_wait = until(
        "activity knowing the host",
        Duration::from_secs(90),
        async || {
            match activities
                .create_activity(authed(
                    pb::CreateActivityRequest {
                        request_id: "after-faults".into(),
                        details: Some(pb::ActivityDetails {
                            host_organisation_id: host.clone(),
                            title: "農園の収穫".into(),
                            description: "週一回の収穫作業です。".into(),
                            field: pb::Field::Agriculture as i32,
                            origin: pb::ActivityOrigin::ExistingActivity as i32,
                            engagement_form: pb::EngagementForm::Volunteer as i32,
                            place: Some(pb::Place {
                                district: "柏".into(),
                                location: None,
                                online: false,
                            }),
                            physical_load: pb::PhysicalLoad::Light as i32,
                            application_mode: pb::ApplicationMode::Open as i32,
                            period_start: Some(pb::Date {
                                year: 2026,
                                month: 4,
                                day: 1,
                            }),
                            period_end: Some(pb::Date {
                                year: 2027,
                                month: 3,
                                day: 31,
                            }),
                            ..Default::default()
                        }),
                        pieces: vec![],
                        occurred_at: None,
                    },
                    &coordinator,
                    None,
                ))
                .await
            {
                Ok(_) => true,
                // Not learned yet; anything else is a failure of its own.
                Err(s) if s.code() == tonic::Code::NotFound => false,
                Err(s) => panic!("CreateActivity after the faults: {s:?}"),
            }
        },
    )
    .await;
    eprintln!(
        "faults ({rounds} round(s): kill -9 of a registry replica, of activity and of insights, a \
         nats-server restart, 3 immediate PostgreSQL crashes, each registry replica paused 2 s): \
         acknowledged {acked}, stored {}, duplicated {duplicated}, lost {lost}, read-model \
         mismatches 0 (directory after {directory_wait:?}, insights after {insights_wait:?}, \
         stream after {stream_wait:?}, activity after {activity_wait:?}), {} client retries; \
         converged {:?} after the load stopped",
        stored.len(),
        retries.load(Ordering::Relaxed),
        stopped.elapsed()
    );
    assert_eq!(duplicated, 0, "acknowledged twice");
    assert_eq!(lost, 0, "acknowledged but not stored");
    assert_eq!(stored, acknowledged, "stored but never acknowledged");
    Ok(())
}
