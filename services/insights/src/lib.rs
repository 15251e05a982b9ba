//! The insights context: per-municipality read models rebuilt from the event log, and the
//! queries over them. It owns no facts: every row can be dropped and rebuilt from events, for
//! one municipality or all.

pub mod projections;
pub mod queries;

use std::sync::Arc;

use mosaic_db::Db;
use mosaic_proto::v1::insights_service_server::InsightsServiceServer;
use mosaic_runtime::ModuleEnv;

/// The context name.
pub const CONTEXT: &str = "insights";

/// The insights read models' schema.
pub fn migrations() -> mosaic_db::Migrations {
    mosaic_db::Migrations {
        table: "_mosaic_insights_migrations",
        postgres: sqlx::migrate!("migrations/postgres"),
        sqlite: sqlx::migrate!("migrations/sqlite"),
    }
}

/// Insights as a deployable unit.
pub struct Module;

#[async_trait::async_trait]
impl mosaic_runtime::Module for Module {
    fn context(&self) -> &'static str {
        CONTEXT
    }
    fn grpc_name(&self) -> &'static str {
        "mosaic.v1.InsightsService"
    }
    fn writes_events(&self) -> bool {
        false
    }
    async fn migrate(&self, db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
        mosaic_db::run_migrations(db, migrations()).await
    }
    fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder, env: &ModuleEnv) {
        routes.add_service(InsightsServiceServer::new(queries::InsightsApi::new(
            env.db.clone(),
        )));
    }
    fn projections(&self, _env: &ModuleEnv) -> Vec<Arc<dyn mosaic_projection::Projection>> {
        vec![Arc::new(mosaic_projection::Typed(
            projections::MunicipalityOverview,
        ))]
    }
}
