use mosaic_api::command::{first_answer, load};
use mosaic_api::pipeline::{CommandRequest, Preamble, get, not_found};
use mosaic_api::wire;
use mosaic_api::{Done, Execute, FieldErrors, RequestContext, execute_with};
use mosaic_auth::{Caller, Role};
use mosaic_proto::v1 as pb;
use tonic::{Request, Status};

use super::personal::{open_contact, seal_contact};
use super::view::{self, Stamps, request_stamp};
use super::{RegistryApi, access, validate};
use crate::domain::OrganisationDetails;
use crate::domain::organisation::{Organisation, OrganisationCommand, stream_id};

/// Who reads organisations: staff and hosts.
const READERS: &[Role] = &[
    Role::Coordinator,
    Role::MunicipalityOfficer,
    Role::Operator,
    Role::HostOrganisation,
];

impl RegistryApi {
    /// Runs a command on an organisation and answers it with the contact person in clear.
    async fn organisation_command(
        &self,
        ctx: &RequestContext,
        id: String,
        expected: Option<u64>,
        at: chrono::DateTime<chrono::Utc>,
        command: OrganisationCommand,
    ) -> Result<pb::Organisation, Status> {
        let now = request_stamp(ctx, at);
        let exec = Execute::<Organisation> {
            stream_id: stream_id(&id),
            expected_version: expected,
            command,
            occurred_at: at,
            fresh: false,
        };
        let respond = |done: Done<'_, Organisation>| {
            let stamps = Stamps::of_done(&done, now)?;
            view::organisation(done.state, done.version, &stamps)
                .ok_or_else(|| Status::internal("organisation missing after its command"))
        };
        let answer = execute_with(self.store.as_ref(), ctx, exec, |_| Ok(()), respond).await?;
        let (mut org, state) = match answer {
            mosaic_api::Answer::Fresh(org, state) => (org, state),
            mosaic_api::Answer::Replayed(org) => {
                let (state, _) =
                    load::<Organisation>(self.store.as_ref(), ctx.municipality, &stream_id(&id))
                        .await?;
                (org, state)
            }
        };
        self.fill_contact(ctx, &mut org, &state).await?;
        Ok(org)
    }

    /// Opens the contact person for callers allowed to read it (see
    /// [`access::reads_organisation_contact`]); others get the organisation without it.
    async fn fill_contact(
        &self,
        ctx: &RequestContext,
        org: &mut pb::Organisation,
        state: &Organisation,
    ) -> Result<(), Status> {
        let (Some(details), Some(r)) = (org.details.as_mut(), state.registered.as_ref()) else {
            return Ok(());
        };
        if !access::reads_organisation_contact(&ctx.caller, &r.organisation_id) {
            return Ok(());
        }
        let id = r.organisation_id.to_string();
        let keys = self
            .vault
            .keys(ctx.municipality, std::slice::from_ref(&id))
            .await
            .map_err(mosaic_api::status::from_vault)?;
        if let Some(key) = keys.get(&id) {
            details.contact = Some(open_contact(key, &r.details.contact));
        }
        Ok(())
    }

    /// Validated details with the contact sealed under the organisation's key.
    async fn organisation_details(
        &self,
        ctx: &RequestContext,
        id: &str,
        errors: &mut FieldErrors,
        body: Option<&pb::OrganisationDetails>,
    ) -> Result<Option<OrganisationDetails>, Status> {
        let parts = validate::organisation(errors, body);
        if !errors.is_empty() {
            return Ok(None);
        }
        let key = self
            .vault
            .key(ctx.municipality, id)
            .await
            .map_err(mosaic_api::status::from_vault)?;
        let contact = body.and_then(|b| b.contact.clone()).unwrap_or_default();
        Ok(parts.kind.map(|kind| OrganisationDetails {
            kind,
            name: parts.name,
            fields: parts.fields,
            district: parts.district,
            contact: seal_contact(&key, &contact),
            licences: parts.licences,
        }))
    }

    pub(super) async fn register_organisation_impl(
        &self,
        request: Request<pb::RegisterOrganisationRequest>,
    ) -> Result<pb::RegisterOrganisationResponse, Status> {
        let mut p = Preamble::begin(&request, access::STAFF)?;
        let body = request.get_ref();
        if let Some(mut first) =
            first_answer::<pb::Organisation>(self.store.as_ref(), &p.ctx).await?
        {
            let state = self
                .require_organisation(&p.ctx, &first.organisation_id)
                .await?;
            self.fill_contact(&p.ctx, &mut first, &state).await?;
            return Ok(pb::RegisterOrganisationResponse {
                organisation: Some(first),
            });
        }
        let id = uuid::Uuid::now_v7().to_string();
        let details = self
            .organisation_details(&p.ctx, &id, &mut p.errors, body.details.as_ref())
            .await?;
        let (ctx, at, _) = p.finish()?;
        let Some(details) = details else {
            return Err(Status::invalid_argument("details are required"));
        };
        let command = OrganisationCommand::Register {
            organisation_id: id.clone().into(),
            details,
        };
        let org = self
            .organisation_command(&ctx, id, None, at, command)
            .await?;
        Ok(pb::RegisterOrganisationResponse {
            organisation: Some(org),
        })
    }

    pub(super) async fn update_organisation_impl(
        &self,
        request: Request<pb::UpdateOrganisationRequest>,
    ) -> Result<pb::UpdateOrganisationResponse, Status> {
        let mut p = Preamble::begin(&request, access::STAFF)?;
        let body = request.get_ref();
        let Some(id) = p.entity().map(str::to_owned) else {
            return Err(p
                .finish()
                .err()
                .unwrap_or_else(|| not_found("organisation", "")));
        };
        self.require_organisation(&p.ctx, &id).await?;
        let details = self
            .organisation_details(&p.ctx, &id, &mut p.errors, body.details.as_ref())
            .await?;
        let (ctx, at, _) = p.finish()?;
        let Some(details) = details else {
            return Err(Status::invalid_argument("details are required"));
        };
        let org = self
            .organisation_command(
                &ctx,
                id,
                wire::expected_version(body.expected_version),
                at,
                OrganisationCommand::Update { details },
            )
            .await?;
        Ok(pb::UpdateOrganisationResponse {
            organisation: Some(org),
        })
    }

    pub(super) async fn suspend_organisation_impl(
        &self,
        request: Request<pb::SuspendOrganisationRequest>,
    ) -> Result<pb::SuspendOrganisationResponse, Status> {
        let organisation = self
            .on_organisation(&request, |errors, body| {
                errors.text("reason", &body.reason, validate::REASON_MAX);
                let reason = body.reason.clone();
                (
                    OrganisationCommand::Suspend { reason },
                    body.expected_version,
                )
            })
            .await?;
        Ok(pb::SuspendOrganisationResponse {
            organisation: Some(organisation),
        })
    }

    pub(super) async fn reinstate_organisation_impl(
        &self,
        request: Request<pb::ReinstateOrganisationRequest>,
    ) -> Result<pb::ReinstateOrganisationResponse, Status> {
        let organisation = self
            .on_organisation(&request, |_, body| {
                (OrganisationCommand::Reinstate, body.expected_version)
            })
            .await?;
        Ok(pb::ReinstateOrganisationResponse {
            organisation: Some(organisation),
        })
    }

    /// The shape of a status change of one organisation: check the request's id,
    /// `organisation_id` and `occurred_at`, let `command` read the rest, then run it.
    async fn on_organisation<T: CommandRequest>(
        &self,
        request: &Request<T>,
        command: impl FnOnce(&mut FieldErrors, &T) -> (OrganisationCommand, u64),
    ) -> Result<pb::Organisation, Status> {
        let mut p = Preamble::begin(request, access::STAFF)?;
        let (command, expected) = command(&mut p.errors, request.get_ref());
        let (ctx, at, id) = p.finish()?;
        self.organisation_command(&ctx, id, wire::expected_version(expected), at, command)
            .await
    }

    /// NOT_FOUND unless the organisation exists in the caller's municipality.
    pub(super) async fn require_organisation(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Organisation, Status> {
        let (state, _) =
            load::<Organisation>(self.store.as_ref(), ctx.municipality, &stream_id(id)).await?;
        if state.registered.is_none() {
            return Err(not_found("organisation", id));
        }
        Ok(state)
    }

    pub(super) async fn get_organisation_impl(
        &self,
        request: Request<pb::GetOrganisationRequest>,
    ) -> Result<pb::GetOrganisationResponse, Status> {
        Caller::from_request(&request)?.require_role(READERS)?;
        let ctx = RequestContext::query(&request)?;
        let mut errors = FieldErrors::new();
        let id = wire::id(
            &mut errors,
            "organisation_id",
            &request.get_ref().organisation_id,
        );
        errors.finish()?;
        let id = id.unwrap_or_default();
        let (state, version, history) = get::<Organisation>(
            self.store.as_ref(),
            &ctx,
            "organisation",
            &id,
            &stream_id(&id),
        )
        .await?;
        let stamps = Stamps::of_history(&history)?;
        let mut org = view::organisation(&state, version, &stamps)
            .ok_or_else(|| not_found("organisation", &id))?;
        self.fill_contact(&ctx, &mut org, &state).await?;
        Ok(pb::GetOrganisationResponse {
            organisation: Some(org),
        })
    }
}
