use std::collections::HashMap;
use std::sync::Arc;

use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_projection::Projection;
use tonic::service::RoutesBuilder;

/// The event stores of a process by context name (all of them in the embedded mode, the
/// module's own when distributed).
pub type StoreMap = HashMap<&'static str, Arc<dyn EventStore>>;

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

    /// Creates or updates the context's own tables (the event store's are handled for it).
    async fn migrate(&self, db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
        let _ = db;
        Ok(())
    }

    /// Adds the gRPC service to `routes`; `store` is the context's own store, if it writes events.
    fn add_routes(&self, routes: &mut RoutesBuilder, db: &Db, store: Option<Arc<dyn EventStore>>);

    /// The projections and reactions this context runs on its own database.
    fn projections(&self, db: &Db) -> Vec<Arc<dyn Projection>> {
        let _ = db;
        Vec::new()
    }
}
