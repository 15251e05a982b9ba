use mosaic_api::command::{first_answer, load};
use mosaic_api::pipeline::Preamble;
use mosaic_api::wire;
use mosaic_api::{Execute, FieldErrors, RequestContext, execute_with};
use mosaic_auth::Caller;
use mosaic_proto::v1 as pb;
use tonic::{Request, Status};

use super::view::{self, Stamps, request_stamp};
use super::{RegistryApi, access, validate};
use crate::domain::coordinator::{Coordinator, CoordinatorCommand, stream_id};
use crate::domain::{CoordinatorRegistered, CoordinatorRole};
use mosaic_api::status::from_vault as vault_error;

impl RegistryApi {
    /// Adds the coordinator's name, unless erased.
    async fn fill_coordinator_name(
        &self,
        ctx: &RequestContext,
        c: &mut pb::Coordinator,
        state: &Coordinator,
    ) -> Result<(), Status> {
        let Some(r) = state.registered.as_ref() else {
            return Ok(());
        };
        let id = r.coordinator_id.to_string();
        let keys = self
            .vault
            .keys(ctx.municipality, std::slice::from_ref(&id))
            .await
            .map_err(vault_error)?;
        if let Some(key) = keys.get(&id) {
            c.display_name = key
                .open("display_name", &r.display_name)
                .unwrap_or_default();
        }
        Ok(())
    }

    pub(super) async fn register_coordinator_impl(
        &self,
        request: Request<pb::RegisterCoordinatorRequest>,
    ) -> Result<pb::RegisterCoordinatorResponse, Status> {
        let mut p = Preamble::begin(&request, access::OFFICERS)?;
        let body = request.get_ref();
        let errors = &mut p.errors;
        let organisation = wire::id(errors, "organisation_id", &body.organisation_id);
        errors.text("display_name", &body.display_name, validate::NAME_MAX);
        errors.max_len(
            "account_subject",
            &body.account_subject,
            validate::SUBJECT_MAX,
        );
        let roles = errors.enum_list("roles", &body.roles, CoordinatorRole::from_wire);
        if body.roles.is_empty() {
            errors.add("roles", "name at least one role");
        }
        let (ctx, at, _) = p.finish()?;
        if let Some(mut first) =
            first_answer::<pb::RegisterCoordinatorResponse>(self.store.as_ref(), &ctx).await?
        {
            if let Some(c) = first.coordinator.as_mut() {
                let (state, _) = load::<Coordinator>(
                    self.store.as_ref(),
                    ctx.municipality,
                    &stream_id(&c.coordinator_id),
                )
                .await?;
                self.fill_coordinator_name(&ctx, c, &state).await?;
            }
            return Ok(first);
        }
        let organisation_id = organisation.unwrap_or_default();
        self.require_organisation(&ctx, &organisation_id).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let key = self
            .vault
            .new_key(ctx.municipality, &id)
            .await
            .map_err(vault_error)?;
        let subject = body.account_subject.trim();
        let registered = CoordinatorRegistered {
            coordinator_id: id.clone().into(),
            organisation_id: organisation_id.into(),
            display_name: key.seal("display_name", body.display_name.trim()),
            account_subject: (!subject.is_empty()).then(|| subject.to_owned()),
            roles,
        };
        let now = request_stamp(&ctx, at);
        let exec = Execute::<Coordinator> {
            stream_id: stream_id(&id),
            expected_version: None,
            command: CoordinatorCommand::Register(registered),
            occurred_at: at,
            fresh: true,
        };
        let answer = execute_with(
            self.store.as_ref(),
            &ctx,
            exec,
            |_| Ok(()),
            |done| {
                let stamps = Stamps::of_done(&done, now)?;
                Ok(pb::RegisterCoordinatorResponse {
                    coordinator: view::coordinator(done.state, done.version, &stamps),
                })
            },
        )
        .await?;
        let (mut answer, state) = match answer {
            mosaic_api::Answer::Fresh(a, s) => (a, s),
            mosaic_api::Answer::Replayed(a) => (a, Coordinator::default()),
        };
        if let Some(c) = answer.coordinator.as_mut() {
            self.fill_coordinator_name(&ctx, c, &state).await?;
        }
        Ok(answer)
    }

    pub(super) async fn get_coordinator_impl(
        &self,
        request: Request<pb::GetCoordinatorRequest>,
    ) -> Result<pb::GetCoordinatorResponse, Status> {
        Caller::from_request(&request)?.require_role(access::STAFF)?;
        let ctx = RequestContext::query(&request)?;
        let mut errors = FieldErrors::new();
        let id = wire::id(
            &mut errors,
            "coordinator_id",
            &request.get_ref().coordinator_id,
        );
        errors.finish()?;
        let id = id.unwrap_or_default();
        let (state, version, history) = mosaic_api::pipeline::get::<Coordinator>(
            self.store.as_ref(),
            &ctx,
            "coordinator",
            &id,
            &stream_id(&id),
        )
        .await?;
        let stamps = Stamps::of_history(&history)?;
        let mut c = view::coordinator(&state, version, &stamps)
            .ok_or_else(|| mosaic_api::pipeline::not_found("coordinator", &id))?;
        self.fill_coordinator_name(&ctx, &mut c, &state).await?;
        Ok(pb::GetCoordinatorResponse {
            coordinator: Some(c),
        })
    }
}
