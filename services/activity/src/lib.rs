//! The activity context: activities, the pieces people are matched to, the mosaic decomposition of
//! jobs into pieces (モザイク化), internship projects and incentives.
//!
//! `domain/` holds the activity aggregate as pure `decide`/`evolve` functions and the
//! decomposition; `api/` turns gRPC requests into validated commands and answers; `projections/`
//! keeps the host organisations learned from the registry's events (`activity.hosts`), the seats
//! matching confirmed (`activity.seats`) and the search tables built from this context's own
//! events (`activity.search`). This context reads no
//! other context's tables. The mentor's name of an internship is personal data, sealed under the
//! activity's own key.

pub mod api;
pub mod domain;
pub mod projections;

use std::sync::Arc;

use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_privacy::Vault;
use mosaic_proto::v1::activity_service_server::ActivityServiceServer;
use mosaic_runtime::ModuleEnv;

/// The context name: events, subjects and the embedded database file carry it.
pub const CONTEXT: &str = "activity";

/// The activity context's read models' schema.
pub fn migrations() -> mosaic_db::Migrations {
    mosaic_db::Migrations {
        table: "_mosaic_activity_migrations",
        postgres: sqlx::migrate!("migrations/postgres"),
        sqlite: sqlx::migrate!("migrations/sqlite"),
    }
}

/// The gRPC service, backed by the activity store, vault and read models.
pub fn service(
    store: Arc<dyn EventStore>,
    vault: Vault,
    db: Db,
) -> ActivityServiceServer<api::ActivityApi> {
    ActivityServiceServer::new(api::ActivityApi::new(store, vault, db))
}

/// The activity context as a deployable unit.
pub struct Module;

#[async_trait::async_trait]
impl mosaic_runtime::Module for Module {
    fn context(&self) -> &'static str {
        CONTEXT
    }

    fn catalogue(&self) -> Option<mosaic_domain::Catalogue> {
        Some(mosaic_domain::Catalogue::of::<domain::ActivityEvent>(
            CONTEXT,
        ))
    }

    fn grpc_name(&self) -> &'static str {
        "mosaic.v1.ActivityService"
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
        vec![
            Arc::new(mosaic_projection::Typed(mosaic_known::Hosts::new(
                "activity.hosts",
                &["activity_hosts"],
            ))),
            Arc::new(mosaic_projection::Typed(projections::Search)),
            Arc::new(mosaic_projection::Typed(projections::Seats)),
            // Whatever this context seals under a person's id goes when the registry erases them.
            Arc::new(mosaic_known::erasure("activity.erasure", env.vault.clone())),
        ]
    }
}
