//! The followup context: what happens after a match. Engagements, opened from matching's
//! confirmations and closed when matching ends the match; the attendance of their sessions
//! (rosters by the host or staff, self-reports by the resident); spontaneous engagement; a
//! journal of check-ins, reflections and feedback; incentives (a policy, awards, grants,
//! redemptions); certificates; wellbeing measures; reminders; caseloads; and their end.
//!
//! `domain/` holds the decisions as pure functions (engagements, accounts and the policy,
//! the journal, wellbeing, which reminders are due); `api/` turns gRPC requests into them, opens
//! and closes engagements as owed and runs the reminder scheduler; `projections` keeps the
//! engagements to open and close (from matching's events), the lists, schedule and reminders
//! (from its own), residents' logins and research consents (from the registry's) and what it
//! needs of activities (from activity design's).
//! This context reads no other context's tables. People appear by id, reasons as codes; free
//! text about a person (check-in notes, reflections, feedback comments) and wellbeing readings
//! are sealed under the resident's key in this context's vault, which `followup.erasure` shreds
//! when the registry erases the resident.

pub mod api;
pub mod domain;
pub mod projections;

use std::sync::Arc;

use mosaic_db::Db;
use mosaic_proto::v1::follow_up_service_server::FollowUpServiceServer;
use mosaic_runtime::ModuleEnv;

/// The context name: events, subjects and the embedded database file carry it.
pub const CONTEXT: &str = "followup";

/// The followup context's read models' schema.
pub fn migrations() -> mosaic_db::Migrations {
    mosaic_db::Migrations {
        table: "_mosaic_followup_migrations",
        postgres: sqlx::migrate!("migrations/postgres"),
        sqlite: sqlx::migrate!("migrations/sqlite"),
    }
}

/// The followup context as a deployable unit.
pub struct Module;

#[async_trait::async_trait]
impl mosaic_runtime::Module for Module {
    fn context(&self) -> &'static str {
        CONTEXT
    }

    fn catalogue(&self) -> Option<mosaic_domain::Catalogue> {
        Some(mosaic_domain::Catalogue::of::<domain::FollowUpEvent>(
            CONTEXT,
        ))
    }

    fn grpc_name(&self) -> &'static str {
        "mosaic.v1.FollowUpService"
    }
    // The journal's text is sealed under per-person keys; a resident's token is recognised by the
    // registry's keyed hash of its subject, and page tokens are signed with a derived key.
    fn keeps_personal_data(&self) -> bool {
        true
    }
    async fn migrate(&self, db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
        mosaic_db::run_migrations(db, migrations()).await
    }
    fn add_routes(&self, routes: &mut tonic::service::RoutesBuilder, env: &ModuleEnv) {
        if let Some(store) = &env.store {
            routes.add_service(FollowUpServiceServer::new(api::FollowUpApi::new(
                store.clone(),
                &env.vault,
                env.db.clone(),
            )));
        }
    }
    fn workers(&self, env: &ModuleEnv) -> Vec<mosaic_runtime::Worker> {
        let Some(store) = env.store.clone() else {
            return Vec::new();
        };
        let api = api::FollowUpApi::new(store, &env.vault, env.db.clone());
        let scheduler = api.clone();
        vec![
            Box::new(move |stopping| Box::pin(api.opening_loop(stopping))),
            Box::new(move |stopping| Box::pin(scheduler.reminder_loop(stopping))),
        ]
    }
    fn projections(&self, env: &ModuleEnv) -> Vec<Arc<dyn mosaic_projection::Projection>> {
        vec![
            Arc::new(mosaic_projection::Typed(projections::Confirmations)),
            Arc::new(mosaic_projection::Typed(projections::Engagements)),
            Arc::new(mosaic_projection::Typed(projections::Residents)),
            Arc::new(mosaic_projection::Typed(projections::Activities)),
            Arc::new(mosaic_projection::Typed(projections::Reminders)),
            // The journal's text, sealed under a resident's id, goes when the registry erases them.
            Arc::new(mosaic_known::erasure("followup.erasure", env.vault.clone())),
        ]
    }
}
