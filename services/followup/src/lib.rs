//! The followup context. Follow-up RPCs arrive with their own work (see DESIGN.md); today the service
//! is deployed, answers health checks, and is listed by reflection, so integrators and operators
//! can wire it up already.

use mosaic_proto::v1::follow_up_service_server::{FollowUpService, FollowUpServiceServer};

/// The context name: events, subjects and the embedded database file carry it.
pub const CONTEXT: &str = "followup";

/// The gRPC API of the followup context.
pub struct Api;

impl FollowUpService for Api {}

/// The followup context as a deployable unit.
pub struct Module;

#[async_trait::async_trait]
impl mosaic_runtime::Module for Module {
    fn context(&self) -> &'static str {
        CONTEXT
    }
    fn grpc_name(&self) -> &'static str {
        "mosaic.v1.FollowUpService"
    }
    fn add_routes(
        &self,
        routes: &mut tonic::service::RoutesBuilder,
        _env: &mosaic_runtime::ModuleEnv,
    ) {
        routes.add_service(FollowUpServiceServer::new(Api));
    }
}
