#![allow(clippy::unwrap_used, missing_docs)]

//! An operator rebuilds one read model from the log (`mosaic projections rebuild`): the running
//! service takes the request, the read model comes back whole, embedded and distributed; a name
//! nobody runs is refused, a request no service takes is withdrawn, and one whose runner died is
//! ended by the next leader.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use mosaic::rebuild::{RebuildArgs, rebuild};
use mosaic_auth::Role;
use mosaic_runtime::background::Background;
use tonic::transport::Channel;

type Registry = mosaic_proto::v1::registry_service_client::RegistryServiceClient<Channel>;

static REGISTRY: mosaic_registry::Module = mosaic_registry::Module;

/// A municipality with `n` guests; their ids, once the directory lists them all.
async fn populate(
    platform: &Background,
    n: usize,
) -> anyhow::Result<(Registry, String, Vec<String>)> {
    let mut registry = Registry::new(
        Channel::from_shared(format!("http://{}", platform.addr))?
            .connect()
            .await?,
    );
    let operator = platform.signer.mint(
        "operator-1",
        Role::Operator,
        None,
        chrono::Duration::hours(1),
    )?;
    let coordinator = platform.signer.mint(
        "coordinator-1",
        Role::Coordinator,
        Some(code(KASHIWA)),
        chrono::Duration::hours(1),
    )?;
    registry
        .register_municipality(authed(register("m", KASHIWA), &operator, Some(KASHIWA)))
        .await?;
    let mut ids = Vec::new();
    for i in 0..n {
        let answer = registry
            .register_resident(authed(guest(&format!("g-{i}")), &coordinator, None))
            .await?;
        ids.push(answer.into_inner().resident.unwrap().resident_id);
    }
    ids.sort();
    until(
        "the directory listing everyone",
        Duration::from_secs(30),
        async || {
            listed_residents(&mut registry, &coordinator)
                .await
                .unwrap_or_default()
                == ids
        },
    )
    .await;
    Ok((registry, coordinator, ids))
}

/// Loses the directory's rows of Kashiwa behind the service's back.
async fn lose_rows(database_url: &str) -> anyhow::Result<()> {
    let db = mosaic_db::connect(database_url, 1).await?;
    mosaic_db::on_db!(&db, pool => {
        sqlx::query("DELETE FROM registry_residents WHERE municipality = '122173'")
            .execute(pool)
            .await?;
    });
    db.close().await;
    Ok(())
}

fn args(data_dir: &std::path::Path, database_url: Option<String>) -> RebuildArgs {
    RebuildArgs {
        name: "registry.directory".into(),
        municipality: Some(code(KASHIWA)),
        data_dir: data_dir.to_owned(),
        database_url,
        wait: Duration::from_secs(30),
    }
}

#[tokio::test]
async fn an_operator_rebuilds_the_embedded_directory_of_one_municipality() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let platform = Background::embedded(&[&REGISTRY], dir.path()).await?;
    let (mut registry, coordinator, ids) = populate(&platform, 40).await?;
    let file = format!("sqlite://{}", dir.path().join("registry.db").display());
    lose_rows(&file).await?;
    assert!(
        listed_residents(&mut registry, &coordinator)
            .await?
            .is_empty()
    );

    let done = rebuild(args(dir.path(), None))
        .await
        .map_err(anyhow::Error::msg)?;
    assert!(
        done.contains("rebuilt registry.directory for municipality 122173"),
        "{done}"
    );
    assert!(
        done.contains("40 events replayed") || done.contains("events replayed"),
        "{done}"
    );
    assert_eq!(listed_residents(&mut registry, &coordinator).await?, ids);

    // A name no context runs is refused, naming the ones that exist.
    let mut unknown = args(dir.path(), None);
    unknown.name = "registry.nothing".into();
    let refused = rebuild(unknown).await.unwrap_err();
    assert!(refused.contains("registry.directory"), "{refused}");
    Ok(())
}

#[tokio::test]
async fn an_operator_rebuilds_a_distributed_services_directory() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let nats = mosaic_testkit::NatsServer::start()?;
    let db = mosaic_testkit::TestDatabase::new()?;
    let platform = Background::distributed(
        &REGISTRY,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        db.url(),
        &nats.url(),
        dir.path(),
        Some(mosaic_privacy::MasterKey::generate().to_base64()),
    )
    .await?;
    let (mut registry, coordinator, ids) = populate(&platform, 40).await?;
    lose_rows(db.url()).await?;
    let done = rebuild(args(dir.path(), Some(db.url().to_owned())))
        .await
        .map_err(anyhow::Error::msg)?;
    assert!(done.contains("rebuilt registry.directory"), "{done}");
    assert_eq!(listed_residents(&mut registry, &coordinator).await?, ids);
    Ok(())
}

#[tokio::test]
async fn a_request_no_running_service_takes_is_withdrawn() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut platform = Background::embedded(&[&REGISTRY], dir.path()).await?;
    platform.stop().await?;
    let mut waiting = args(dir.path(), None);
    waiting.wait = Duration::from_millis(500);
    let refused = rebuild(waiting).await.unwrap_err();
    assert!(
        refused.contains("no running service took the request"),
        "{refused}"
    );
    // Withdrawn: a service started later does not rebuild on its own.
    let file = format!("sqlite://{}", dir.path().join("registry.db").display());
    let db = mosaic_db::connect(&file, 1).await?;
    let open: i64 = mosaic_db::on_db!(&db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM projection_rebuilds WHERE started_at IS NULL")
            .fetch_one(pool)
            .await?
    });
    assert_eq!(open, 0);
    db.close().await;
    Ok(())
}

#[tokio::test]
async fn a_request_whose_runner_died_is_ended_by_the_next_leader() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let file = format!("sqlite://{}", dir.path().join("registry.db").display());
    let mut platform = Background::embedded(&[&REGISTRY], dir.path()).await?;
    platform.stop().await?;
    // A request a runner took, and whose process then died before it said how it ended.
    let db = mosaic_db::connect(&file, 1).await?;
    let id =
        mosaic_projection::request_rebuild(&db, "registry.directory", Some(code(KASHIWA))).await?;
    mosaic_db::on_db!(&db, pool => {
        sqlx::query("UPDATE projection_rebuilds SET started_at = '2026-12-05T00:00:00Z' WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
    });
    let _platform = Background::embedded(&[&REGISTRY], dir.path()).await?;
    until("the request ended", Duration::from_secs(10), async || {
        mosaic_projection::rebuild_progress(&db, id)
            .await
            .ok()
            .flatten()
            .is_some_and(|p| p.finished && p.error.is_none())
    })
    .await;
    db.close().await;
    Ok(())
}
