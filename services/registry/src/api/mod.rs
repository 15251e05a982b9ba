//! gRPC handlers of `RegistryService`: validate → command → decide → append → answer.
//! One file per group of RPCs; this one wires them to the generated trait.

use std::pin::Pin;
use std::sync::Arc;

use mosaic_api::paging::PageTokens;
use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_privacy::Vault;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::registry_service_server::RegistryService;
use tonic::{Request, Response, Status, Streaming};

/// The registry's gRPC API.
#[derive(Clone)]
pub struct RegistryApi {
    store: Arc<dyn EventStore>,
    vault: Vault,
    db: Db,
    pages: PageTokens,
}

impl RegistryApi {
    /// An API writing to `store`, keeping per-person keys in `vault`, reading lists from `db`;
    /// page tokens are signed with a key derived from the vault's master key.
    pub fn new(store: Arc<dyn EventStore>, vault: Vault, db: Db) -> Self {
        let pages = PageTokens::from_vault(&vault);
        Self {
            store,
            vault,
            db,
            pages,
        }
    }
}

/// The current year in Japan (birth years and minors are judged by it).
pub(crate) fn this_year(ctx: &mosaic_api::RequestContext) -> i32 {
    use chrono::Datelike;
    mosaic_types::jst_date(ctx.received_at).year()
}

/// What every request of a command on one entity carries, so one helper per entity kind can
/// check it.
trait EntityRequest: prost::Message {
    fn request_id(&self) -> &str;
    fn entity_id(&self) -> &str;
    fn occurred_at(&self) -> Option<&prost_types::Timestamp>;
}

/// Implements [`EntityRequest`] for requests whose entity id is the field `$id`.
macro_rules! entity_request {
    ($id:ident => $($t:ty),+) => {$(
        impl super::EntityRequest for $t {
            fn request_id(&self) -> &str {
                &self.request_id
            }
            fn entity_id(&self) -> &str {
                &self.$id
            }
            fn occurred_at(&self) -> Option<&prost_types::Timestamp> {
                self.occurred_at.as_ref()
            }
        }
    )+};
}

mod access;
mod coordinator;
mod import;
mod municipality;
mod organisation;
mod personal;
mod queries;
mod resident;
mod validate;
mod view;

type ImportStream =
    Pin<Box<dyn futures::Stream<Item = Result<pb::ImportResidentsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    async fn register_municipality(
        &self,
        request: Request<pb::RegisterMunicipalityRequest>,
    ) -> Result<Response<pb::RegisterMunicipalityResponse>, Status> {
        self.register_municipality_impl(request)
            .await
            .map(Response::new)
    }
    async fn get_municipality(
        &self,
        request: Request<pb::GetMunicipalityRequest>,
    ) -> Result<Response<pb::GetMunicipalityResponse>, Status> {
        self.get_municipality_impl(request).await.map(Response::new)
    }
    async fn update_municipality_profile(
        &self,
        request: Request<pb::UpdateMunicipalityProfileRequest>,
    ) -> Result<Response<pb::UpdateMunicipalityProfileResponse>, Status> {
        self.update_municipality_profile_impl(request)
            .await
            .map(Response::new)
    }

    async fn register_organisation(
        &self,
        request: Request<pb::RegisterOrganisationRequest>,
    ) -> Result<Response<pb::RegisterOrganisationResponse>, Status> {
        self.register_organisation_impl(request)
            .await
            .map(Response::new)
    }
    async fn update_organisation(
        &self,
        request: Request<pb::UpdateOrganisationRequest>,
    ) -> Result<Response<pb::UpdateOrganisationResponse>, Status> {
        self.update_organisation_impl(request)
            .await
            .map(Response::new)
    }
    async fn suspend_organisation(
        &self,
        request: Request<pb::SuspendOrganisationRequest>,
    ) -> Result<Response<pb::SuspendOrganisationResponse>, Status> {
        self.suspend_organisation_impl(request)
            .await
            .map(Response::new)
    }
    async fn reinstate_organisation(
        &self,
        request: Request<pb::ReinstateOrganisationRequest>,
    ) -> Result<Response<pb::ReinstateOrganisationResponse>, Status> {
        self.reinstate_organisation_impl(request)
            .await
            .map(Response::new)
    }
    async fn get_organisation(
        &self,
        request: Request<pb::GetOrganisationRequest>,
    ) -> Result<Response<pb::GetOrganisationResponse>, Status> {
        self.get_organisation_impl(request).await.map(Response::new)
    }
    async fn list_organisations(
        &self,
        request: Request<pb::ListOrganisationsRequest>,
    ) -> Result<Response<pb::ListOrganisationsResponse>, Status> {
        self.list_organisations_impl(request)
            .await
            .map(Response::new)
    }

    async fn register_coordinator(
        &self,
        request: Request<pb::RegisterCoordinatorRequest>,
    ) -> Result<Response<pb::RegisterCoordinatorResponse>, Status> {
        self.register_coordinator_impl(request)
            .await
            .map(Response::new)
    }
    async fn get_coordinator(
        &self,
        request: Request<pb::GetCoordinatorRequest>,
    ) -> Result<Response<pb::GetCoordinatorResponse>, Status> {
        self.get_coordinator_impl(request).await.map(Response::new)
    }

    async fn register_resident(
        &self,
        request: Request<pb::RegisterResidentRequest>,
    ) -> Result<Response<pb::RegisterResidentResponse>, Status> {
        self.register_resident_impl(request)
            .await
            .map(Response::new)
    }
    async fn upgrade_resident(
        &self,
        request: Request<pb::UpgradeResidentRequest>,
    ) -> Result<Response<pb::UpgradeResidentResponse>, Status> {
        self.upgrade_resident_impl(request).await.map(Response::new)
    }
    async fn update_resident_profile(
        &self,
        request: Request<pb::UpdateResidentProfileRequest>,
    ) -> Result<Response<pb::UpdateResidentProfileResponse>, Status> {
        self.update_resident_profile_impl(request)
            .await
            .map(Response::new)
    }
    async fn set_consent(
        &self,
        request: Request<pb::SetConsentRequest>,
    ) -> Result<Response<pb::SetConsentResponse>, Status> {
        self.set_consent_impl(request).await.map(Response::new)
    }
    async fn record_guardian_consent(
        &self,
        request: Request<pb::RecordGuardianConsentRequest>,
    ) -> Result<Response<pb::RecordGuardianConsentResponse>, Status> {
        self.record_guardian_consent_impl(request)
            .await
            .map(Response::new)
    }
    async fn set_proxy_agreement(
        &self,
        request: Request<pb::SetProxyAgreementRequest>,
    ) -> Result<Response<pb::SetProxyAgreementResponse>, Status> {
        self.set_proxy_agreement_impl(request)
            .await
            .map(Response::new)
    }
    async fn confirm_proxy_agreement(
        &self,
        request: Request<pb::ConfirmProxyAgreementRequest>,
    ) -> Result<Response<pb::ConfirmProxyAgreementResponse>, Status> {
        self.confirm_proxy_agreement_impl(request)
            .await
            .map(Response::new)
    }
    async fn withdraw_resident(
        &self,
        request: Request<pb::WithdrawResidentRequest>,
    ) -> Result<Response<pb::WithdrawResidentResponse>, Status> {
        self.withdraw_resident_impl(request)
            .await
            .map(Response::new)
    }
    async fn rejoin_resident(
        &self,
        request: Request<pb::RejoinResidentRequest>,
    ) -> Result<Response<pb::RejoinResidentResponse>, Status> {
        self.rejoin_resident_impl(request).await.map(Response::new)
    }
    async fn erase_personal_data(
        &self,
        request: Request<pb::ErasePersonalDataRequest>,
    ) -> Result<Response<pb::ErasePersonalDataResponse>, Status> {
        self.erase_personal_data_impl(request)
            .await
            .map(Response::new)
    }
    async fn get_resident(
        &self,
        request: Request<pb::GetResidentRequest>,
    ) -> Result<Response<pb::GetResidentResponse>, Status> {
        self.get_resident_impl(request).await.map(Response::new)
    }
    async fn get_my_record(
        &self,
        request: Request<pb::GetMyRecordRequest>,
    ) -> Result<Response<pb::GetMyRecordResponse>, Status> {
        self.get_my_record_impl(request).await.map(Response::new)
    }
    async fn list_residents(
        &self,
        request: Request<pb::ListResidentsRequest>,
    ) -> Result<Response<pb::ListResidentsResponse>, Status> {
        self.list_residents_impl(request).await.map(Response::new)
    }
    async fn find_residents_by_name(
        &self,
        request: Request<pb::FindResidentsByNameRequest>,
    ) -> Result<Response<pb::FindResidentsByNameResponse>, Status> {
        self.find_residents_by_name_impl(request)
            .await
            .map(Response::new)
    }

    type ImportResidentsStream = ImportStream;

    async fn import_residents(
        &self,
        request: Request<Streaming<pb::ImportResidentsRequest>>,
    ) -> Result<Response<ImportStream>, Status> {
        self.import_residents_impl(request).await.map(Response::new)
    }
}
