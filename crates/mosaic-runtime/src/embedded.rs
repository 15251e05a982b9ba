//! Every module in one process: one port, one SQLite file per context in a data directory,
//! consumers tailing the stores directly. What a newcomer runs first.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mosaic_api::consistency::{ConsistencyLayer, Progress};
use mosaic_api::limits::ServeLimits;
use mosaic_api::server::{TlsFiles, Transport, bind, health, serve};
use mosaic_auth::{SigningKeys, TokenVerifier};
use mosaic_db::Db;
use mosaic_eventstore::{EventStore, SqlEventStore};
use mosaic_privacy::{MasterKey, Vault};
use mosaic_projection::Source;
use tokio::net::TcpListener;
use tonic::service::RoutesBuilder;

use crate::progress::ReadModels;
use crate::supervise::{Tasks, migrate};
use crate::{Module, ModuleEnv, StartError, StoreMap};

/// The file under the keys folder holding the master key of personal data. Whoever holds it (and
/// the databases) can read personal data that was not erased: back it up apart from the data.
pub const MASTER_KEY_FILE: &str = "master.key";

/// Where the embedded platform listens and keeps its data.
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// gRPC address.
    pub listen: SocketAddr,
    /// Directory of the SQLite files and the token keys (created if missing).
    pub data_dir: PathBuf,
    /// Serve TLS with these files.
    pub tls: Option<TlsFiles>,
    /// The master key file of personal data (created if missing). `None` keeps it in the data
    /// directory's keys folder, which suits a laptop; on a server give a path outside the data
    /// directory, so a copy of the data is no copy of the key.
    pub master_key: Option<PathBuf>,
    /// Serve plaintext on an address beyond loopback (a proxy in front terminates TLS).
    pub insecure_plaintext: bool,
    /// Connection, stream, time and rate limits.
    pub limits: ServeLimits,
}

impl EmbeddedOptions {
    /// Plaintext on `listen` (loopback, unless a proxy terminates TLS), data and keys in
    /// `data_dir`, the default limits.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            data_dir,
            tls: None,
            master_key: None,
            insecure_plaintext: false,
            limits: ServeLimits::default(),
        }
    }
}

/// The folder under the data directory holding the token signing key and its JWKS.
pub fn keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

/// Where the master key of personal data is kept for these options.
pub fn master_key_path(options: &EmbeddedOptions) -> PathBuf {
    options
        .master_key
        .clone()
        .unwrap_or_else(|| keys_dir(&options.data_dir).join(MASTER_KEY_FILE))
}

/// Creates a directory (and its parents) readable by this user only; an existing one is left as
/// it is.
fn private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Creates an empty database file readable by this user only, unless it exists. SQLite gives its
/// write-ahead log and shared-memory files the mode of the database file.
fn private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// An embedded platform that is bound and ready to serve.
pub struct Embedded {
    listener: TcpListener,
    addr: SocketAddr,
    consistency: ConsistencyLayer,
    routes: RoutesBuilder,
    health: tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>,
    verifier: Arc<TokenVerifier>,
    transport: Transport,
    tasks: Tasks,
    dbs: Vec<Db>,
    /// The token keys of this data directory (to mint local tokens).
    pub keys: SigningKeys,
    /// Every context's event store.
    pub stores: StoreMap,
}

impl Embedded {
    /// Opens (or creates) the data directory, migrates every context's database, binds the
    /// port and starts the consumers.
    pub async fn start(
        modules: &[&dyn Module],
        options: EmbeddedOptions,
    ) -> Result<Self, StartError> {
        let dir = &options.data_dir;
        let data_dir_error = |e: std::io::Error| StartError::DataDir {
            path: dir.display().to_string(),
            reason: e.to_string(),
        };
        // Plaintext, TLS files and limits are checked first, then the port is bound: either
        // mistake is reported before anything is written.
        let transport = Transport::prepare(
            options.listen,
            options.tls.as_ref(),
            options.insecure_plaintext,
            options.limits.clone(),
        )?;
        let listener = bind(options.listen).await?;
        let addr = listener.local_addr().map_err(data_dir_error)?;
        private_dir(dir).map_err(data_dir_error)?;
        private_dir(&keys_dir(dir)).map_err(data_dir_error)?;
        let keys = SigningKeys::load_or_generate(keys_dir(dir))?;
        let master = MasterKey::load_or_generate(&master_key_path(&options))?;
        let verifier = Arc::new(TokenVerifier::new(
            keys.key_set(),
            mosaic_auth::DEFAULT_ISSUER,
            mosaic_auth::DEFAULT_AUDIENCE,
        ));

        let mut dbs = Vec::new();
        let mut stores = StoreMap::new();
        for module in modules {
            let file = dir.join(format!("{}.db", module.context()));
            private_file(&file).map_err(data_dir_error)?;
            let url = format!("sqlite://{}", file.display());
            let db = mosaic_db::connect(&url, 8).await?;
            migrate(*module, &db).await?;
            if module.writes_events() {
                let store: Arc<dyn EventStore> =
                    Arc::new(SqlEventStore::open(db.clone(), module.context()).await?);
                stores.insert(module.context(), store);
            }
            dbs.push(db);
        }

        let names: Vec<&str> = modules.iter().map(|m| m.grpc_name()).collect();
        let (reporter, health) = health(&names).await;
        let mut routes = RoutesBuilder::default();
        let mut tasks = Tasks::new();
        let mut read_models: HashMap<String, Arc<dyn Progress>> = HashMap::new();
        for (module, db) in modules.iter().zip(&dbs) {
            let env = ModuleEnv {
                db: db.clone(),
                store: stores.get(module.context()).cloned(),
                vault: Vault::new(db.clone(), master.clone()),
            };
            if let Some(store) = &env.store {
                tasks.watch_writer(store, reporter.clone(), module.grpc_name());
            }
            module.add_routes(&mut routes, &env);
            tasks.spawn_workers(module.workers(&env));
            let projections = module.projections(&env);
            read_models.insert(
                module.grpc_name().to_owned(),
                Arc::new(ReadModels::new(db.clone(), &projections)),
            );
            for projection in projections {
                let mut contexts: Vec<&str> =
                    projection.interests().iter().map(|i| i.context).collect();
                contexts.dedup();
                for context in contexts {
                    if let Some(store) = stores.get(context) {
                        tasks.spawn_runner(
                            projection.clone(),
                            db.clone(),
                            Source::Store(store.clone()),
                            reporter.clone(),
                            module.grpc_name(),
                        );
                    }
                }
            }
        }
        Ok(Self {
            listener,
            addr,
            routes,
            consistency: ConsistencyLayer::new(read_models),
            health,
            verifier,
            transport,
            tasks,
            dbs,
            keys,
            stores,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then stops the consumers and closes the databases.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), StartError> {
        let served = serve(
            self.listener,
            self.routes.routes(),
            self.health,
            self.verifier,
            self.transport,
            self.consistency,
            shutdown,
        )
        .await;
        self.tasks.stop().await;
        for db in &self.dbs {
            db.close().await;
        }
        served.map_err(Into::into)
    }
}
