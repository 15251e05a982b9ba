//! The registry context: municipalities, host organisations, coordinators and residents.
//!
//! `domain/` holds the aggregates as pure `decide`/`evolve` functions; `api/` turns gRPC requests
//! into validated commands and answers. Other services learn about the registry only from its
//! events (subjects `mosaic.<municipality>.registry.<EventType>`).

pub mod api;
pub mod domain;

use std::sync::Arc;

use mosaic_eventstore::EventStore;
use mosaic_proto::v1::registry_service_server::RegistryServiceServer;

/// The context name: events, subjects and the embedded database file carry it.
pub const CONTEXT: &str = "registry";

/// The gRPC service, backed by the registry's event store.
pub fn service(store: Arc<dyn EventStore>) -> RegistryServiceServer<api::RegistryApi> {
    RegistryServiceServer::new(api::RegistryApi::new(store))
}

/// The registry as a deployable unit.
pub struct Module;

#[async_trait::async_trait]
impl mosaic_runtime::Module for Module {
    fn context(&self) -> &'static str {
        CONTEXT
    }
    fn grpc_name(&self) -> &'static str {
        "mosaic.v1.RegistryService"
    }
    fn add_routes(
        &self,
        routes: &mut tonic::service::RoutesBuilder,
        _db: &mosaic_db::Db,
        store: Option<Arc<dyn EventStore>>,
    ) {
        if let Some(store) = store {
            routes.add_service(service(store));
        }
    }
}
