use std::collections::HashMap;
use std::sync::Arc;

use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_privacy::Vault;
use mosaic_projection::Projection;
use tonic::service::RoutesBuilder;

/// The event stores of a process by context name (all of them in the embedded mode, the
/// module's own when distributed).
pub type StoreMap = HashMap<&'static str, Arc<dyn EventStore>>;

/// What a module is given to build its service and projections: its own database, its own event
/// store (if it writes events) and its own personal-data vault (per-person keys in its database).
#[derive(Clone)]
pub struct ModuleEnv {
    /// The context's database.
    pub db: Db,
    /// The context's event store, if it writes events.
    pub store: Option<Arc<dyn EventStore>>,
    /// The context's per-person keys.
    pub vault: Vault,
}

/// Work a context does in the background while it serves: given a receiver that turns true when
/// the process stops, a future that runs until then.
pub type Worker = Box<
    dyn FnOnce(
            tokio::sync::watch::Receiver<bool>,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
        + Send,
>;

/// One context as a deployable unit.
#[async_trait::async_trait]
pub trait Module: Send + Sync {
    /// The context name, e.g. `registry`: events, subjects and the embedded file carry it.
    fn context(&self) -> &'static str;

    /// The gRPC service's full name, e.g. `mosaic.v1.RegistryService` (for health checks).
    fn grpc_name(&self) -> &'static str;

    /// Whether the context writes events (and so has an event store and a relay).
    fn writes_events(&self) -> bool {
        true
    }

    /// Whether the context keeps personal data, and so needs the master key in the distributed
    /// deployment (`MOSAIC_MASTER_KEY`).
    fn keeps_personal_data(&self) -> bool {
        false
    }

    /// Creates or updates the context's own tables (the event store's and the vault's are
    /// handled for it).
    async fn migrate(&self, db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
        let _ = db;
        Ok(())
    }

    /// Adds the gRPC service to `routes`.
    fn add_routes(&self, routes: &mut RoutesBuilder, env: &ModuleEnv);

    /// The catalogue of the events the context writes, for the published event catalogue
    /// (`mosaic catalogue`).
    fn catalogue(&self) -> Option<mosaic_domain::Catalogue> {
        None
    }

    /// The projections and reactions this context runs on its own database.
    fn projections(&self, env: &ModuleEnv) -> Vec<Arc<dyn Projection>> {
        let _ = env;
        Vec::new()
    }

    /// The context's background work (e.g. commands it issues in reaction to what its read
    /// models learned), started with its service and stopped with it.
    fn workers(&self, env: &ModuleEnv) -> Vec<Worker> {
        let _ = env;
        Vec::new()
    }
}
