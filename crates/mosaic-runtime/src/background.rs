//! A platform served in the background of the current process: what tests, benchmarks and tools
//! start, the same way `mosaic up` and the service binaries do.

use std::net::SocketAddr;
use std::path::Path;

use mosaic_api::limits::ServeLimits;
use mosaic_auth::{SigningKeys, TokenSigner};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::ServiceConfig;
use crate::embedded::{Embedded, EmbeddedOptions};
use crate::{Module, StartError};

/// The served limits, without the per-caller rate: tests and benchmarks drive one token far
/// faster than a caller is allowed in service.
fn unthrottled() -> ServeLimits {
    ServeLimits {
        calls_per_subject: None,
        public_calls_per_peer: None,
        ..ServeLimits::default()
    }
}

/// A running platform and the means to stop it.
pub struct Background {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Signs tokens it accepts.
    pub signer: TokenSigner,
    /// The event stores it serves (embedded only; empty when distributed).
    pub stores: crate::StoreMap,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), StartError>>>,
}

impl Background {
    /// `modules` in one process on a free loopback port, with SQLite files in `data_dir`.
    pub async fn embedded(
        modules: &[&'static dyn Module],
        data_dir: &Path,
    ) -> Result<Self, StartError> {
        let options = EmbeddedOptions {
            limits: unthrottled(),
            ..EmbeddedOptions::new(SocketAddr::from(([127, 0, 0, 1], 0)), data_dir.to_owned())
        };
        let embedded = Embedded::start(modules, options).await?;
        let addr = embedded.local_addr();
        let signer = embedded
            .keys
            .signer(mosaic_auth::DEFAULT_ISSUER, mosaic_auth::DEFAULT_AUDIENCE)?;
        let stores = embedded.stores.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            embedded
                .serve(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Self {
            addr,
            signer,
            stores,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// One module as its own service on `listen` (port 0 picks a free one; [`Background::addr`]
    /// says which), with its PostgreSQL database and NATS. Token keys are those in `keys_dir`
    /// (created there if missing), so services started with the same folder accept the same
    /// tokens. Returns once it serves.
    pub async fn distributed(
        module: &'static dyn Module,
        listen: SocketAddr,
        database_url: &str,
        nats_url: &str,
        keys_dir: &Path,
        master_key: Option<String>,
    ) -> Result<Self, StartError> {
        let keys = SigningKeys::load_or_generate(keys_dir)?;
        let signer = keys.signer(mosaic_auth::DEFAULT_ISSUER, mosaic_auth::DEFAULT_AUDIENCE)?;
        // Bound here, before the service connects anywhere: the port is ours from now on.
        let listener = mosaic_api::server::bind(listen).await?;
        let config = ServiceConfig {
            listen,
            database_url: database_url.to_owned(),
            nats_url: nats_url.to_owned(),
            jwks: keys_dir.join("jwks.json"),
            issuer: mosaic_auth::DEFAULT_ISSUER.into(),
            audience: mosaic_auth::DEFAULT_AUDIENCE.into(),
            tls: None,
            insecure_plaintext: false,
            limits: unthrottled(),
            db_max_connections: 40,
            stream_replicas: 1,
            master_key,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let (serving, served) = oneshot::channel();
        let mut task = tokio::spawn(async move {
            crate::distributed::run_on(module, config, Some(listener), Some(serving), async {
                let _ = stopped.await;
            })
            .await
        });
        let addr = tokio::select! {
            addr = served => addr.ok(),
            ended = &mut task => return Err(match ended {
                Ok(Err(e)) => e,
                _ => StartError::Config {
                    variable: "listen",
                    reason: "the service stopped at start".into(),
                },
            }),
        };
        let Some(addr) = addr else {
            return Err(StartError::Config {
                variable: "listen",
                reason: "the service stopped at start".into(),
            });
        };
        Ok(Self {
            addr,
            signer,
            stores: crate::StoreMap::new(),
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Stops serving (in-flight calls finish) and waits; reports how serving ended.
    pub async fn stop(&mut self) -> Result<(), StartError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
