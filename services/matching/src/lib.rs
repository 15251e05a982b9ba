//! The matching context: applications, proposals, interviews (面談), acceptance by both sides
//! and confirmation without overbooking or double-booking; explained recommendations of people
//! for a piece and pieces for a person.
//!
//! `domain/` holds the workflow, the booking decision, the hard filters and scores of
//! recommendations and the candidate index as pure functions; `api/` turns gRPC requests into
//! steps and answers, keeps each municipality's candidate index in memory and records
//! recommendations; `projections/` keeps what matching knows of residents and host
//! organisations (from the registry's events), of activities and pieces (from activity's), the
//! list of matches and each resident's recent activity (from its own). This context reads no other context's tables and
//! keeps no personal data: residents appear by id, reasons as codes.

pub mod api;
pub mod domain;
pub mod projections;

use std::sync::Arc;

use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_privacy::Vault;
use mosaic_proto::v1::matching_service_server::MatchingServiceServer;
use mosaic_runtime::ModuleEnv;

/// The context name: events, subjects and the embedded database file carry it.
pub const CONTEXT: &str = "matching";

/// The matching context's read models' schema.
pub fn migrations() -> mosaic_db::Migrations {
    mosaic_db::Migrations {
        table: "_mosaic_matching_migrations",
        postgres: sqlx::migrate!("migrations/postgres"),
        sqlite: sqlx::migrate!("migrations/sqlite"),
    }
}

/// The gRPC service, backed by the matching store and read models; the vault's master key
/// recognises residents' own tokens (the registry's keyed hash of a login) and signs page tokens.
pub fn service(
    store: Arc<dyn EventStore>,
    vault: Vault,
    db: Db,
) -> MatchingServiceServer<api::MatchingApi> {
    MatchingServiceServer::new(api::MatchingApi::new(store, vault, db))
}

/// The matching context as a deployable unit.
pub struct Module;

#[async_trait::async_trait]
impl mosaic_runtime::Module for Module {
    fn context(&self) -> &'static str {
        CONTEXT
    }

    fn catalogue(&self) -> Option<mosaic_domain::Catalogue> {
        Some(mosaic_domain::Catalogue::of::<domain::MatchingEvent>(
            CONTEXT,
        ))
    }

    fn grpc_name(&self) -> &'static str {
        "mosaic.v1.MatchingService"
    }
    // It keeps no personal data, but needs the master key: a resident's token is recognised by
    // the registry's keyed hash of its subject, and page tokens are signed with a derived key.
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
    fn workers(&self, env: &ModuleEnv) -> Vec<mosaic_runtime::Worker> {
        let Some(store) = env.store.clone() else {
            return Vec::new();
        };
        // Reviews rank nobody: an index of their own would stay empty.
        let api = api::MatchingApi::with_candidates(
            store,
            env.vault.clone(),
            env.db.clone(),
            api::Candidates::default(),
        );
        vec![Box::new(move |stopping| {
            Box::pin(api.review_loop(stopping))
        })]
    }
    fn projections(&self, _env: &ModuleEnv) -> Vec<Arc<dyn mosaic_projection::Projection>> {
        vec![
            Arc::new(mosaic_projection::Typed(projections::Residents)),
            Arc::new(mosaic_projection::Typed(mosaic_known::Hosts::new(
                "matching.hosts",
                &["matching_hosts"],
            ))),
            Arc::new(mosaic_projection::Typed(projections::Activities)),
            Arc::new(mosaic_projection::Typed(projections::Matches)),
            Arc::new(mosaic_projection::Typed(projections::Recent)),
            Arc::new(mosaic_projection::Typed(projections::Releases)),
        ]
    }
}
