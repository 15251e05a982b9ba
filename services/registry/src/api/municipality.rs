use mosaic_api::command::replay;
use mosaic_api::occurred_at::occurred_at;
use mosaic_api::pipeline::Preamble;
use mosaic_api::wire;
use mosaic_api::{Execute, FieldErrors, RequestContext, execute};
use mosaic_auth::{Caller, Role};
use mosaic_proto::v1 as pb;
use mosaic_types::MunicipalityCode;
use tonic::{Request, Status};

use super::view::{Stamps, request_stamp};
use super::{RegistryApi, access, validate};
use crate::domain::MunicipalityProfile;
use crate::domain::municipality::{Municipality, MunicipalityCommand, stream_id};

fn profile_view(p: &MunicipalityProfile) -> pb::MunicipalityProfile {
    pb::MunicipalityProfile {
        certified_operator: p.certified_operator.clone(),
        population: p
            .population
            .iter()
            .map(|b| pb::PopulationBand {
                from_age: u32::from(b.from_age),
                to_age: u32::from(b.to_age),
                population: b.population,
            })
            .collect(),
        silver_center_model: p.silver_center_model.map(|m| m.wire()).unwrap_or(0),
        population_as_of: p
            .population_as_of
            .map(|d| d.to_string())
            .unwrap_or_default(),
    }
}

fn to_proto(
    state: &Municipality,
    version: u64,
    registered: Option<pb::AuditStamp>,
) -> Option<pb::Municipality> {
    let m = state.registered.as_ref()?;
    Some(pb::Municipality {
        code: m.code.clone(),
        name: m.name.clone(),
        prefecture: m.prefecture.clone(),
        version,
        registered,
        profile: Some(profile_view(&m.profile)),
    })
}

impl RegistryApi {
    pub(super) async fn register_municipality_impl(
        &self,
        mut request: Request<pb::RegisterMunicipalityRequest>,
    ) -> Result<pb::RegisterMunicipalityResponse, Status> {
        Caller::from_request(&request)?.require_role(&[Role::Operator])?;
        let mut errors = FieldErrors::new();
        let body = request.get_ref();
        let code = errors.take("code", MunicipalityCode::parse(&body.code));
        errors.text("name", &body.name, 100);
        errors.text("prefecture", &body.prefecture, 20);
        // An operator token spans municipalities: the one being registered is the request's scope.
        let unscoped = Caller::from_request(&request)?.municipality.is_none();
        if unscoped {
            match (code, request.extensions_mut().get_mut::<Caller>()) {
                (Some(code), Some(caller)) => caller.municipality = Some(code),
                _ => {
                    return Err(errors
                        .finish()
                        .err()
                        .unwrap_or_else(|| Status::invalid_argument("code is required")));
                }
            }
        }
        let ctx = RequestContext::command(&request, &request.get_ref().request_id, &mut errors)?;
        let body = request.get_ref();
        if code.is_some_and(|c| c != ctx.municipality) {
            errors.add("code", "must be the municipality this request is scoped to");
        }
        let profile = validate::municipality_profile(&mut errors, "profile", body.profile.as_ref());
        let at = occurred_at(
            &mut errors,
            "occurred_at",
            body.occurred_at.as_ref(),
            ctx.received_at,
        );
        errors.finish()?;

        let command = MunicipalityCommand::Register {
            code: ctx.municipality,
            name: body.name.clone(),
            prefecture: body.prefecture.clone(),
            profile,
        };
        let stamp = request_stamp(&ctx, at);
        let exec = Execute::<Municipality> {
            stream_id: stream_id(ctx.municipality),
            expected_version: None,
            command,
            occurred_at: at,
            fresh: false,
        };
        execute(self.store.as_ref(), &ctx, exec, |state, version| {
            pb::RegisterMunicipalityResponse {
                municipality: to_proto(state, version, Some(stamp)),
            }
        })
        .await
    }

    pub(super) async fn update_municipality_profile_impl(
        &self,
        request: Request<pb::UpdateMunicipalityProfileRequest>,
    ) -> Result<pb::UpdateMunicipalityProfileResponse, Status> {
        let mut p = Preamble::begin(&request, access::OFFICERS)?;
        let body = request.get_ref();
        let profile =
            validate::municipality_profile(&mut p.errors, "profile", body.profile.as_ref());
        let (ctx, at, _) = p.finish()?;
        let exec = Execute::<Municipality> {
            stream_id: stream_id(ctx.municipality),
            expected_version: wire::expected_version(body.expected_version),
            command: MunicipalityCommand::UpdateProfile {
                code: ctx.municipality,
                profile,
            },
            occurred_at: at,
            fresh: false,
        };
        let now = request_stamp(&ctx, at);
        let answer = mosaic_api::execute_with(
            self.store.as_ref(),
            &ctx,
            exec,
            |_| Ok(()),
            |done| {
                let stamps = Stamps::of_done(&done, now)?;
                Ok(pb::UpdateMunicipalityProfileResponse {
                    municipality: to_proto(done.state, done.version, stamps.life.created),
                })
            },
        )
        .await?;
        Ok(answer.into_answer())
    }

    pub(super) async fn get_municipality_impl(
        &self,
        request: Request<pb::GetMunicipalityRequest>,
    ) -> Result<pb::GetMunicipalityResponse, Status> {
        let ctx = RequestContext::query(&request)?;
        let events = self
            .store
            .read_stream(ctx.municipality, &stream_id(ctx.municipality))
            .await
            .map_err(mosaic_api::status::from_store)?;
        let (state, version) = replay::<Municipality>(&events)?;
        let stamps = Stamps::of_history(&events)?;
        let municipality = to_proto(&state, version, stamps.life.created).ok_or_else(|| {
            Status::not_found(format!(
                "municipality {} is not registered",
                ctx.municipality
            ))
        })?;
        Ok(pb::GetMunicipalityResponse {
            municipality: Some(municipality),
        })
    }
}
