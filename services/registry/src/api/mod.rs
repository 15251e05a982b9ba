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

mosaic_api::rpcs! {
    impl RegistryService for RegistryApi {
        register_municipality => register_municipality_impl(RegisterMunicipalityRequest) -> RegisterMunicipalityResponse;
        get_municipality => get_municipality_impl(GetMunicipalityRequest) -> GetMunicipalityResponse;
        update_municipality_profile => update_municipality_profile_impl(UpdateMunicipalityProfileRequest) -> UpdateMunicipalityProfileResponse;
        register_organisation => register_organisation_impl(RegisterOrganisationRequest) -> RegisterOrganisationResponse;
        update_organisation => update_organisation_impl(UpdateOrganisationRequest) -> UpdateOrganisationResponse;
        suspend_organisation => suspend_organisation_impl(SuspendOrganisationRequest) -> SuspendOrganisationResponse;
        reinstate_organisation => reinstate_organisation_impl(ReinstateOrganisationRequest) -> ReinstateOrganisationResponse;
        get_organisation => get_organisation_impl(GetOrganisationRequest) -> GetOrganisationResponse;
        list_organisations => list_organisations_impl(ListOrganisationsRequest) -> ListOrganisationsResponse;
        register_coordinator => register_coordinator_impl(RegisterCoordinatorRequest) -> RegisterCoordinatorResponse;
        get_coordinator => get_coordinator_impl(GetCoordinatorRequest) -> GetCoordinatorResponse;
        register_resident => register_resident_impl(RegisterResidentRequest) -> RegisterResidentResponse;
        upgrade_resident => upgrade_resident_impl(UpgradeResidentRequest) -> UpgradeResidentResponse;
        update_resident_profile => update_resident_profile_impl(UpdateResidentProfileRequest) -> UpdateResidentProfileResponse;
        set_consent => set_consent_impl(SetConsentRequest) -> SetConsentResponse;
        record_guardian_consent => record_guardian_consent_impl(RecordGuardianConsentRequest) -> RecordGuardianConsentResponse;
        set_proxy_agreement => set_proxy_agreement_impl(SetProxyAgreementRequest) -> SetProxyAgreementResponse;
        confirm_proxy_agreement => confirm_proxy_agreement_impl(ConfirmProxyAgreementRequest) -> ConfirmProxyAgreementResponse;
        withdraw_resident => withdraw_resident_impl(WithdrawResidentRequest) -> WithdrawResidentResponse;
        rejoin_resident => rejoin_resident_impl(RejoinResidentRequest) -> RejoinResidentResponse;
        erase_personal_data => erase_personal_data_impl(ErasePersonalDataRequest) -> ErasePersonalDataResponse;
        get_resident => get_resident_impl(GetResidentRequest) -> GetResidentResponse;
        get_my_record => get_my_record_impl(GetMyRecordRequest) -> GetMyRecordResponse;
        list_residents => list_residents_impl(ListResidentsRequest) -> ListResidentsResponse;
        find_residents_by_name => find_residents_by_name_impl(FindResidentsByNameRequest) -> FindResidentsByNameResponse;
    }

    type ImportResidentsStream = ImportStream;

    async fn import_residents(
        &self,
        request: Request<Streaming<pb::ImportResidentsRequest>>,
    ) -> Result<Response<ImportStream>, Status> {
        self.import_residents_impl(request).await.map(Response::new)
    }
}

/// How a domain refusal is answered on the wire (the domain knows nothing of gRPC).
impl From<crate::domain::RegistryError> for Status {
    fn from(e: crate::domain::RegistryError) -> Self {
        use crate::domain::RegistryError::*;
        match e {
            MunicipalityExists(_) | Exists { .. } => Status::already_exists(e.to_string()),
            MunicipalityNotFound(_) | NotFound { .. } => Status::not_found(e.to_string()),
            OrganisationSuspended(_)
            | OrganisationNotSuspended(_)
            | ResidentWithdrawn(_)
            | ResidentNotWithdrawn(_)
            | Erased(_)
            | AlreadyFull(_)
            | GuardianConsentMissing(_)
            | NoProxyAgreement(_)
            | OwnConfirmation(_) => Status::failed_precondition(e.to_string()),
        }
    }
}
