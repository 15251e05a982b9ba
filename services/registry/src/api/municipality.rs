use mosaic_api::command::replay;
use mosaic_api::occurred_at::{occurred_at, timestamp};
use mosaic_api::{Execute, FieldErrors, RequestContext, execute};
use mosaic_auth::{Caller, Role};
use mosaic_eventstore::StoredEvent;
use mosaic_proto::v1::registry_service_server::RegistryService;
use mosaic_proto::v1::{
    AuditStamp, GetMunicipalityRequest, GetMunicipalityResponse, Municipality as MunicipalityProto,
    RegisterMunicipalityRequest, RegisterMunicipalityResponse,
};
use mosaic_types::MunicipalityCode;
use tonic::{Request, Response, Status};

use super::RegistryApi;
use crate::domain::municipality::{Municipality, MunicipalityCommand, stream_id};

fn to_proto(
    state: &Municipality,
    version: u64,
    registered: AuditStamp,
) -> Option<MunicipalityProto> {
    let m = state.registered.as_ref()?;
    Some(MunicipalityProto {
        code: m.code.clone(),
        name: m.name.clone(),
        prefecture: m.prefecture.clone(),
        version,
        registered: Some(registered),
    })
}

fn stamp(event: &StoredEvent) -> AuditStamp {
    AuditStamp {
        occurred_at: Some(timestamp(event.occurred_at)),
        recorded_at: Some(timestamp(event.recorded_at)),
        actor: event.actor.clone(),
    }
}

#[tonic::async_trait]
impl RegistryService for RegistryApi {
    async fn register_municipality(
        &self,
        mut request: Request<RegisterMunicipalityRequest>,
    ) -> Result<Response<RegisterMunicipalityResponse>, Status> {
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
        };
        let stamp = AuditStamp {
            occurred_at: Some(timestamp(at)),
            recorded_at: Some(timestamp(ctx.received_at)),
            actor: ctx.caller.subject.clone(),
        };
        let exec = Execute::<Municipality> {
            stream_id: stream_id(ctx.municipality),
            expected_version: None,
            command,
            occurred_at: at,
        };
        let answer = execute(self.store.as_ref(), &ctx, exec, |state, version| {
            RegisterMunicipalityResponse {
                municipality: to_proto(state, version, stamp),
            }
        })
        .await?;
        Ok(Response::new(answer))
    }

    async fn get_municipality(
        &self,
        request: Request<GetMunicipalityRequest>,
    ) -> Result<Response<GetMunicipalityResponse>, Status> {
        let ctx = RequestContext::query(&request)?;
        let stream = stream_id(ctx.municipality);
        let events = self
            .store
            .read_stream(ctx.municipality, &stream)
            .await
            .map_err(mosaic_api::status::from_store)?;
        let (state, version) = replay::<Municipality>(&events)?;
        let registered = events.first().map(stamp).unwrap_or_default();
        let municipality = to_proto(&state, version, registered).ok_or_else(|| {
            Status::not_found(format!(
                "municipality {} is not registered",
                ctx.municipality
            ))
        })?;
        Ok(Response::new(GetMunicipalityResponse {
            municipality: Some(municipality),
        }))
    }
}
