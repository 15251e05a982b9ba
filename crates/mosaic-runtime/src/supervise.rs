//! What every way of running shares: startup errors, migrations, and the background tasks
//! (relays, projection runners) that stop with the server.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_projection::{Projection, Runner, RunnerConfig, RunnerStatus, Source};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::{error, info, warn};

use crate::Module;

/// Why a process could not start. Printed as one line; the process exits non-zero.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// An environment variable or flag is missing or malformed.
    #[error("{variable} {reason}")]
    Config {
        /// The variable or flag.
        variable: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The database URL is bad or the database unreachable.
    #[error(transparent)]
    Database(#[from] mosaic_db::DbConfigError),
    /// The schema could not be brought up to date.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The event store could not be opened.
    #[error("event store: {0}")]
    Store(#[from] mosaic_eventstore::StoreError),
    /// NATS is misconfigured.
    #[error(transparent)]
    Bus(#[from] mosaic_bus::BusError),
    /// Keys or tokens could not be loaded.
    #[error("token keys: {0}")]
    Keys(#[from] mosaic_auth::AuthError),
    /// The server could not listen or failed.
    #[error(transparent)]
    Serve(#[from] mosaic_api::server::ServeError),
    /// The data directory cannot be used.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The master key of personal data cannot be used.
    #[error("master key: {0}")]
    MasterKey(#[from] mosaic_privacy::PrivacyError),
    /// Telemetry could not start.
    #[error(transparent)]
    Telemetry(#[from] mosaic_telemetry::TelemetryError),
}

/// Brings a module's database up to date: event store (if it writes events), checkpoints and
/// leases, then the module's own tables.
pub(crate) async fn migrate(module: &dyn Module, db: &Db) -> Result<(), StartError> {
    if module.writes_events() {
        mosaic_eventstore::migrate(db).await?;
    }
    mosaic_projection::migrate(db).await?;
    mosaic_privacy::migrate(db).await?;
    module.migrate(db).await?;
    Ok(())
}

/// Background tasks that stop together.
pub(crate) struct Tasks {
    shutdown: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
    /// Per service: the runners that are down (failed for good, or waiting for their database).
    down: HashMap<&'static str, Arc<Mutex<Down>>>,
    runners: usize,
}

/// The runners of one service that are down, and the health last reported for it.
#[derive(Default)]
struct Down {
    runners: HashSet<usize>,
    reported_serving: bool,
}

impl Tasks {
    pub(crate) fn new() -> Self {
        let (shutdown, _) = watch::channel(false);
        Self {
            shutdown,
            handles: Vec::new(),
            down: HashMap::new(),
            runners: 0,
        }
    }

    pub(crate) fn stopping(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn push(&mut self, handle: JoinHandle<()>) {
        self.handles.push(handle);
    }

    /// Starts a module's background work.
    pub(crate) fn spawn_workers(&mut self, workers: Vec<crate::module::Worker>) {
        for worker in workers {
            let handle = tokio::spawn(worker(self.stopping()));
            self.push(handle);
        }
    }

    /// Starts a projection runner. The module's health is NOT_SERVING while one of its runners
    /// waits for its database, SERVING again once every one is back, and NOT_SERVING for good
    /// when one stops on an event it cannot apply, so an orchestrator or operator sees it.
    pub(crate) fn spawn_runner(
        &mut self,
        projection: Arc<dyn Projection>,
        db: Db,
        source: Source,
        health: HealthReporter,
        grpc_name: &'static str,
    ) {
        let name = projection.name();
        let (handle, task) =
            Runner::new(projection, db, source, RunnerConfig::default()).spawn(self.stopping());
        let mut status = handle.watch();
        let (id, down) = self.down_slot(grpc_name);
        let stopping = self.stopping();
        self.push(tokio::spawn(async move {
            loop {
                // A runner whose status channel closed without saying it stopped has died
                // (a panic outside an event's application): a failure like any other.
                let current = match status.changed().await {
                    Ok(()) => status.borrow().clone(),
                    Err(_) if *stopping.borrow() => break,
                    Err(_) => match status.borrow().clone() {
                        RunnerStatus::Stopped | RunnerStatus::Failed(_) => break,
                        _ => {
                            RunnerStatus::Failed(format!("the runner of {name} ended unexpectedly"))
                        }
                    },
                };
                let failed = matches!(current, RunnerStatus::Failed(_));
                let serving = {
                    let Ok(mut down) = down.lock() else { break };
                    match &current {
                        RunnerStatus::Failed(reason) => {
                            error!(
                                service = grpc_name,
                                projection = name,
                                reason,
                                "a projection stopped; service marked not serving"
                            );
                            down.runners.insert(id);
                        }
                        RunnerStatus::Unavailable(_) => {
                            down.runners.insert(id);
                        }
                        RunnerStatus::Live { .. } | RunnerStatus::Rebuilding(_) => {
                            down.runners.remove(&id);
                        }
                        _ => {}
                    }
                    let serving = down.runners.is_empty();
                    let changed = serving != down.reported_serving;
                    down.reported_serving = serving;
                    changed.then_some(serving)
                };
                if let Some(serving) = serving {
                    if serving {
                        info!(service = grpc_name, "every projection is live; serving");
                    } else if !failed {
                        warn!(
                            service = grpc_name,
                            "a projection waits for its database; service marked not serving"
                        );
                    }
                    let status = if serving {
                        ServingStatus::Serving
                    } else {
                        ServingStatus::NotServing
                    };
                    health.set_service_status(grpc_name, status).await;
                }
                if failed {
                    break;
                }
            }
            let _ = task.await;
        }));
    }

    /// A new id among the parts of `grpc_name` that can be down, and the service's record of them.
    fn down_slot(&mut self, grpc_name: &'static str) -> (usize, Arc<Mutex<Down>>) {
        let id = self.runners;
        self.runners += 1;
        let down = self
            .down
            .entry(grpc_name)
            .or_insert_with(|| {
                Arc::new(Mutex::new(Down {
                    reported_serving: true,
                    ..Down::default()
                }))
            })
            .clone();
        (id, down)
    }

    /// Watches a store's writer: if it stops while the service runs (a panic, an abort), the
    /// service is NOT_SERVING for good and one error says so — appends cannot commit any more.
    pub(crate) fn watch_writer(
        &mut self,
        store: &Arc<dyn EventStore>,
        health: HealthReporter,
        grpc_name: &'static str,
    ) {
        let Some(mut alive) = store.writer_alive() else {
            return;
        };
        let (id, down) = self.down_slot(grpc_name);
        let mut stopping = self.stopping();
        let context = store.context().to_owned();
        self.push(tokio::spawn(async move {
            let stopped = async {
                while *alive.borrow_and_update() {
                    if alive.changed().await.is_err() {
                        break;
                    }
                }
            };
            tokio::select! {
                _ = stopped => {}
                // Shutting down: the writer ends with its store, as it should.
                _ = stopping.changed() => return,
            }
            error!(
                service = grpc_name,
                context, "the event store's writer stopped; service marked not serving"
            );
            if let Ok(mut down) = down.lock() {
                down.runners.insert(id);
                down.reported_serving = false;
            }
            health
                .set_service_status(grpc_name, ServingStatus::NotServing)
                .await;
        }));
    }

    /// Signals every task to stop and waits for them.
    pub(crate) async fn stop(self) {
        let _ = self.shutdown.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}
