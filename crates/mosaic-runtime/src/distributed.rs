//! One module per process: PostgreSQL for its store and read models, NATS JetStream between
//! services.

use std::sync::Arc;

use mosaic_api::server::{Transport, bind, health, serve, shutdown_signal};
use mosaic_auth::{KeySet, TokenVerifier};
use mosaic_bus::relay::{Relay, RelayConfig};
use mosaic_bus::stream::{StreamSettings, connect, jetstream};
use mosaic_eventstore::{EventStore, SqlEventStore};
use mosaic_privacy::{MasterKey, Vault};
use mosaic_projection::Source;
use tonic::service::RoutesBuilder;
use tracing::{info, warn};

use crate::config::ServiceConfig;
use crate::supervise::{Tasks, migrate};
use crate::{Module, ModuleEnv, StartError};

/// Runs `module` as its own service, configured from the environment, until SIGTERM or Ctrl-C.
pub async fn run(module: &dyn Module) -> Result<(), StartError> {
    let config = ServiceConfig::from_env()?;
    let _telemetry = mosaic_telemetry::init(&format!("mosaic-{}", module.context()))?;
    run_with(module, config, shutdown_signal()).await
}

/// Runs `module` with an explicit configuration until `shutdown` completes.
pub async fn run_with(
    module: &dyn Module,
    config: ServiceConfig,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), StartError> {
    run_on(module, config, None, None, shutdown).await
}

/// [`run_with`] on a listener bound beforehand (`config.listen` is then only logged), telling
/// `serving` the address once it serves. A caller that binds first never loses its port to
/// another process while the service connects to its database.
pub(crate) async fn run_on(
    module: &dyn Module,
    config: ServiceConfig,
    listener: Option<tokio::net::TcpListener>,
    serving: Option<tokio::sync::oneshot::Sender<std::net::SocketAddr>>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let transport = Transport::prepare(
        config.listen,
        config.tls.as_ref(),
        config.insecure_plaintext,
        config.limits.clone(),
    )?;
    let verifier = Arc::new(TokenVerifier::new(
        KeySet::from_jwks_file(&config.jwks)?,
        config.issuer.clone(),
        config.audience.clone(),
    ));
    let master = match &config.master_key {
        Some(encoded) => MasterKey::from_base64(encoded).map_err(|e| StartError::Config {
            variable: "MOSAIC_MASTER_KEY",
            reason: e.to_string(),
        })?,
        None if module.keeps_personal_data() => {
            return Err(StartError::Config {
                variable: "MOSAIC_MASTER_KEY",
                reason: format!(
                    "is not set: the {} service keeps personal data encrypted under it",
                    module.context()
                ),
            });
        }
        // A context without personal data never uses its vault.
        None => MasterKey::generate(),
    };
    let db = mosaic_db::connect(&config.database_url, config.db_max_connections).await?;
    migrate(module, &db).await?;
    let listener = match listener {
        Some(bound) => bound,
        None => bind(config.listen).await?,
    };

    let js = jetstream(connect(&config.nats_url, &format!("mosaic-{}", module.context())).await?);
    let settings = StreamSettings {
        replicas: config.stream_replicas,
        ..Default::default()
    };
    if let Err(e) = mosaic_bus::ensure_stream(&js, &settings).await {
        // Not fatal: commands still succeed, the relay and consumers retry until NATS answers.
        warn!(error = %e, "NATS is not reachable yet");
    }

    let mut tasks = Tasks::new();
    let store: Option<Arc<dyn EventStore>> = if module.writes_events() {
        let store: Arc<dyn EventStore> =
            Arc::new(SqlEventStore::open(db.clone(), module.context()).await?);
        let relay = Relay::new(store.clone(), js.clone(), RelayConfig::default());
        tasks.push(tokio::spawn(relay.run(tasks.stopping())));
        Some(store)
    } else {
        None
    };

    let (reporter, health_service) = health(&[module.grpc_name()]).await;
    if let Some(store) = &store {
        tasks.watch_writer(store, reporter.clone(), module.grpc_name());
    }
    let env = ModuleEnv {
        db: db.clone(),
        store: store.clone(),
        vault: Vault::new(db.clone(), master),
    };
    let mut routes = RoutesBuilder::default();
    module.add_routes(&mut routes, &env);
    let projections = module.projections(&env);
    tasks.spawn_workers(module.workers(&env));
    let consistency = mosaic_api::consistency::ConsistencyLayer::new(
        [(
            module.grpc_name().to_owned(),
            Arc::new(crate::progress::ReadModels::new(db.clone(), &projections))
                as Arc<dyn mosaic_api::consistency::Progress>,
        )]
        .into(),
    );
    for projection in projections {
        // A projection of the module's own events tails its own store: no round trip through NATS,
        // and its read model keeps up even while NATS is away.
        let own = projection
            .interests()
            .iter()
            .all(|i| i.context == module.context());
        let source = match (&store, own) {
            (Some(store), true) => Source::Store(store.clone()),
            _ => Source::JetStream(Box::new(js.clone())),
        };
        tasks.spawn_runner(
            projection,
            db.clone(),
            source,
            reporter.clone(),
            module.grpc_name(),
        );
    }

    let addr = listener.local_addr().unwrap_or(config.listen);
    info!(service = module.grpc_name(), listen = %addr, tls = config.tls.is_some(), "serving");
    if let Some(serving) = serving {
        let _ = serving.send(addr);
    }
    let served = serve(
        listener,
        routes.routes(),
        health_service,
        verifier,
        transport,
        consistency,
        shutdown,
    )
    .await;
    tasks.stop().await;
    db.close().await;
    served.map_err(Into::into)
}

/// The whole `main` of a service binary: run, and on failure print one line and exit 1.
pub fn main(module: &dyn Module) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mosaic-{}: cannot start the runtime: {e}", module.context());
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(module)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mosaic-{}: {e}", module.context());
            std::process::ExitCode::FAILURE
        }
    }
}
