//! The activity context. Activity design RPCs arrive with their own work (see DESIGN.md); today the service
//! is deployed, answers health checks, and is listed by reflection, so integrators and operators
//! can wire it up already.

use mosaic_proto::v1::activity_service_server::{ActivityService, ActivityServiceServer};

/// The context name: events, subjects and the embedded database file carry it.
pub const CONTEXT: &str = "activity";

/// The gRPC API of the activity context.
pub struct Api;

impl ActivityService for Api {}

/// The activity context as a deployable unit.
pub struct Module;

#[async_trait::async_trait]
impl mosaic_runtime::Module for Module {
    fn context(&self) -> &'static str {
        CONTEXT
    }
    fn grpc_name(&self) -> &'static str {
        "mosaic.v1.ActivityService"
    }
    fn add_routes(
        &self,
        routes: &mut tonic::service::RoutesBuilder,
        _env: &mosaic_runtime::ModuleEnv,
    ) {
        routes.add_service(ActivityServiceServer::new(Api));
    }
}
