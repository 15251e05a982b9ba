//! The registry context: municipalities, host organisations, coordinators and residents, with
//! consent and personal-data protection.
//!
//! `domain/` holds the aggregates as pure `decide`/`evolve` functions; `api/` turns gRPC requests
//! into validated commands and answers; `projections/` builds the lists and name search from the
//! registry's own events. Personal data is sealed under per-person keys (`mosaic-privacy`) before
//! it reaches an event, a table or a log. Other services learn about the registry only from its
//! events (subjects `mosaic.<municipality>.registry.<EventType>`).

pub mod api;
pub mod domain;
pub mod projections;

use std::sync::Arc;

use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_privacy::Vault;
use mosaic_proto::v1::registry_service_server::RegistryServiceServer;
use mosaic_runtime::ModuleEnv;

/// The context name: events, subjects and the embedded database file carry it.
pub const CONTEXT: &str = "registry";

/// The registry's read models' schema.
pub fn migrations() -> mosaic_db::Migrations {
    mosaic_db::Migrations {
        table: "_mosaic_registry_migrations",
        postgres: sqlx::migrate!("migrations/postgres"),
        sqlite: sqlx::migrate!("migrations/sqlite"),
    }
}

/// The gRPC service, backed by the registry's event store, vault and read models.
pub fn service(
    store: Arc<dyn EventStore>,
    vault: Vault,
    db: Db,
) -> RegistryServiceServer<api::RegistryApi> {
    RegistryServiceServer::new(api::RegistryApi::new(store, vault, db))
}

/// The registry as a deployable unit.
pub struct Module;

#[async_trait::async_trait]
impl mosaic_runtime::Module for Module {
    fn context(&self) -> &'static str {
        CONTEXT
    }

    fn catalogue(&self) -> Option<mosaic_domain::Catalogue> {
        Some(mosaic_domain::Catalogue::of::<domain::RegistryEvent>(
            CONTEXT,
        ))
    }

    fn grpc_name(&self) -> &'static str {
        "mosaic.v1.RegistryService"
    }
    fn keeps_personal_data(&self) -> bool {
        true
    }
    async fn migrate(&self, db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
        mosaic_db::run_migrations(db, migrations()).await
    }
    fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder, env: &ModuleEnv) {
        if let Some(store) = &env.store {
            routes.add_service(service(store.clone(), env.vault.clone(), env.db.clone()));
        }
    }
    fn projections(&self, env: &ModuleEnv) -> Vec<Arc<dyn mosaic_projection::Projection>> {
        vec![Arc::new(projections::Directory::new(env.vault.clone()))]
    }
}
