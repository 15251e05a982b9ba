//! The follow-up service the benches run: embedded (SQLite, with matching beside it) or on
//! PostgreSQL with nats-server, and its store and database for setting up data directly.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use mosaic_auth::TokenSigner;
use mosaic_eventstore::{EventStore, SqlEventStore};
use mosaic_runtime::background::Background;

static MATCHING: mosaic_matching::Module = mosaic_matching::Module;
static FOLLOWUP: mosaic_followup::Module = mosaic_followup::Module;

/// A running follow-up service and what keeps it alive (each bench uses part of it).
#[allow(dead_code)]
pub struct Service {
    pub store: Arc<dyn EventStore>,
    pub db: mosaic_db::Db,
    pub addr: SocketAddr,
    pub signer: TokenSigner,
    _running: Background,
    _pg: Option<mosaic_testkit::TestDatabase>,
    _nats: Option<mosaic_testkit::NatsServer>,
    _dir: tempfile::TempDir,
}

impl Service {
    /// Starts the service on `backend` (`sqlite` or `postgres`).
    pub async fn start(backend: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        if backend == "sqlite" {
            let running = Background::embedded(&[&MATCHING, &FOLLOWUP], dir.path()).await?;
            let store = running.stores.get("followup").context("store")?.clone();
            let url = format!("sqlite://{}", dir.path().join("followup.db").display());
            return Ok(Self {
                store,
                db: mosaic_db::connect(&url, 1).await?,
                addr: running.addr,
                signer: running.signer.clone(),
                _running: running,
                _pg: None,
                _nats: None,
                _dir: dir,
            });
        }
        let nats = mosaic_testkit::NatsServer::start()?;
        let db = mosaic_testkit::TestDatabase::new()?;
        let running = Background::distributed(
            &FOLLOWUP,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            db.url(),
            &nats.url(),
            dir.path(),
            Some(mosaic_privacy::MasterKey::generate().to_base64()),
        )
        .await?;
        let pool = mosaic_db::connect(db.url(), 4).await?;
        let store: Arc<dyn EventStore> =
            Arc::new(SqlEventStore::open(pool.clone(), "followup").await?);
        Ok(Self {
            store,
            db: pool,
            addr: running.addr,
            signer: running.signer.clone(),
            _running: running,
            _pg: Some(db),
            _nats: Some(nats),
            _dir: dir,
        })
    }
}
