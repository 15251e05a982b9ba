#![allow(clippy::unwrap_used, missing_docs)]

//! Erasure reaches every context: when the registry erases a person, a context that sealed data
//! under that person's id (here activity) destroys its own key for them, embedded and over NATS.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use mosaic_auth::Role;
use mosaic_privacy::{MasterKey, PrivacyError, Vault};
use mosaic_proto::v1 as pb;
use mosaic_runtime::background::Background;
use tonic::transport::Channel;

static REGISTRY: mosaic_registry::Module = mosaic_registry::Module;
static ACTIVITY: mosaic_activity::Module = mosaic_activity::Module;

/// Registers a resident at `registry`, seals something under their id in activity's vault,
/// erases them, and waits for activity's key to be gone.
async fn erased_everywhere(
    registry: SocketAddr,
    signer: &mosaic_auth::TokenSigner,
    activity_vault: Vault,
) -> anyhow::Result<()> {
    let mut client = pb::registry_service_client::RegistryServiceClient::new(
        Channel::from_shared(format!("http://{registry}"))?
            .connect()
            .await?,
    );
    let token = |subject: &str, role| {
        signer
            .mint(
                subject,
                role,
                Some(code(KASHIWA)),
                chrono::Duration::hours(1),
            )
            .unwrap()
    };
    let operator = signer.mint(
        "operator-1",
        Role::Operator,
        None,
        chrono::Duration::hours(1),
    )?;
    client
        .register_municipality(authed(register("m", KASHIWA), &operator, Some(KASHIWA)))
        .await?;
    let resident = client
        .register_resident(authed(
            guest("r"),
            &token("coordinator-1", Role::Coordinator),
            None,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap()
        .resident_id;
    let key = activity_vault.key(code(KASHIWA), &resident).await?;
    let sealed = key.seal("note", "面談の記録");
    assert_eq!(key.open("note", &sealed)?, "面談の記録");

    client
        .erase_personal_data(authed(
            pb::ErasePersonalDataRequest {
                request_id: "erase".into(),
                subject_id: resident.clone(),
                occurred_at: None,
            },
            &token("officer-1", Role::MunicipalityOfficer),
            None,
        ))
        .await?;
    until(
        "activity's key destroyed",
        Duration::from_secs(30),
        async || {
            matches!(
                activity_vault.key(code(KASHIWA), &resident).await,
                Err(PrivacyError::Erased)
            )
        },
    )
    .await;
    Ok(())
}

#[tokio::test]
async fn an_erasure_destroys_the_persons_keys_in_every_embedded_context() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let platform = Background::embedded(&[&REGISTRY, &ACTIVITY], dir.path()).await?;
    let master = MasterKey::load_or_generate(
        &dir.path()
            .join("keys")
            .join(mosaic_runtime::embedded::MASTER_KEY_FILE),
    )?;
    let db = mosaic_db::connect(
        &format!("sqlite://{}", dir.path().join("activity.db").display()),
        2,
    )
    .await?;
    erased_everywhere(platform.addr, &platform.signer, Vault::new(db, master)).await
}

#[tokio::test]
async fn an_erasure_destroys_the_persons_keys_in_another_service_over_nats() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let nats = mosaic_testkit::NatsServer::start()?;
    let (registry_db, activity_db) = (
        mosaic_testkit::TestDatabase::new()?,
        mosaic_testkit::TestDatabase::new()?,
    );
    let master = MasterKey::generate().to_base64();
    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let registry = Background::distributed(
        &REGISTRY,
        any_port,
        registry_db.url(),
        &nats.url(),
        dir.path(),
        Some(master.clone()),
    )
    .await?;
    let _activity = Background::distributed(
        &ACTIVITY,
        any_port,
        activity_db.url(),
        &nats.url(),
        dir.path(),
        Some(master.clone()),
    )
    .await?;
    let db = mosaic_db::connect(activity_db.url(), 2).await?;
    erased_everywhere(
        registry.addr,
        &registry.signer,
        Vault::new(db, MasterKey::from_base64(&master)?),
    )
    .await
}
