//! One way to handle a request in every service, around [`crate::command`]:
//!
//! - [`rpcs!`](crate::rpcs): the generated service trait wired to the handlers, one line per RPC;
//! - [`CommandRequest`] and [`Preamble`]: what every command starts with — the caller's role,
//!   `request_id`, `occurred_at`, the id of the entity it acts on — read once, every violation
//!   collected before anything is answered;
//! - [`get`]: an entity read by id, `NOT_FOUND` (worded by [`not_found`]) when it does not exist
//!   in the caller's municipality;
//! - [`Lifetime`]: the audit stamps of an entity (first and last event).

use chrono::{DateTime, Utc};
use mosaic_auth::{Caller, Role};
use mosaic_domain::Aggregate;
use mosaic_eventstore::{EventStore, StoredEvent};
use mosaic_proto::v1 as pb;
use tonic::{Request, Status};

use crate::command::replay;
use crate::occurred_at::{occurred_at, timestamp};
use crate::status::from_store;
use crate::{Done, FieldErrors, RequestContext, wire};

/// Implements a generated gRPC service trait by handing each unary RPC to the API's handler of
/// the same request (`name => handler(Request) -> Response;`); anything after the list (a
/// streaming RPC and its stream type) goes into the impl as written.
#[macro_export]
macro_rules! rpcs {
    (impl $service:ident for $api:ty {
        $($name:ident => $handler:ident($req:ident) -> $resp:ident;)+
    } $($rest:tt)*) => {
        #[tonic::async_trait]
        impl $service for $api {
            $(
                async fn $name(
                    &self,
                    request: tonic::Request<mosaic_proto::v1::$req>,
                ) -> Result<tonic::Response<mosaic_proto::v1::$resp>, tonic::Status> {
                    self.$handler(request).await.map(tonic::Response::new)
                }
            )+
            $($rest)*
        }
    };
}

/// What every command request carries.
pub trait CommandRequest: prost::Message {
    /// The name of the field that holds the id of the entity it acts on; `None` for a command
    /// that creates one (the server names it).
    const ENTITY_FIELD: Option<&'static str>;
    /// The retry key.
    fn request_id(&self) -> &str;
    /// The id of the entity it acts on (empty when [`CommandRequest::ENTITY_FIELD`] is `None`).
    fn entity_id(&self) -> &str;
    /// When it happened, if the caller says.
    fn occurred_at(&self) -> Option<&prost_types::Timestamp>;
}

/// Implements [`CommandRequest`]: `command_request!(field => Types…)` for commands on the entity
/// whose id is `field`, `command_request!(Types…)` for commands that create one.
#[macro_export]
macro_rules! command_request {
    ($id:ident => $($t:ty),+ $(,)?) => {$(
        impl $crate::pipeline::CommandRequest for $t {
            const ENTITY_FIELD: Option<&'static str> = Some(stringify!($id));
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
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::pipeline::CommandRequest for $t {
            const ENTITY_FIELD: Option<&'static str> = None;
            fn request_id(&self) -> &str {
                &self.request_id
            }
            fn entity_id(&self) -> &str {
                ""
            }
            fn occurred_at(&self) -> Option<&prost_types::Timestamp> {
                self.occurred_at.as_ref()
            }
        }
    )+};
}

/// The start of every command: the caller may send it, and its `request_id`, `occurred_at` and
/// entity id are read. Handlers add their own violations to `errors`, then [`Preamble::finish`]
/// answers all of them at once, or hands over what was read.
pub struct Preamble {
    /// Who asks, for which municipality, under which idempotency key.
    pub ctx: RequestContext,
    /// Violations found so far.
    pub errors: FieldErrors,
    /// When it happened.
    pub at: DateTime<Utc>,
    id: Option<String>,
}

impl Preamble {
    /// Checks that the caller's role is one of `roles` (`&Role::ALL` when access is decided on
    /// the entity itself), then reads the request's common fields.
    pub fn begin<T: CommandRequest>(request: &Request<T>, roles: &[Role]) -> Result<Self, Status> {
        Caller::from_request(request)?.require_role(roles)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(request, body.request_id(), &mut errors)?;
        let id = T::ENTITY_FIELD.and_then(|field| wire::id(&mut errors, field, body.entity_id()));
        let at = occurred_at(
            &mut errors,
            "occurred_at",
            body.occurred_at(),
            ctx.received_at,
        );
        Ok(Self {
            ctx,
            errors,
            at,
            id,
        })
    }

    /// The entity's id, if the request names a valid one.
    pub fn entity(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// Every violation found, or the context, the time and the entity's id (empty for a
    /// command that creates one).
    pub fn finish(self) -> Result<(RequestContext, DateTime<Utc>, String), Status> {
        self.errors.finish()?;
        Ok((self.ctx, self.at, self.id.unwrap_or_default()))
    }
}

/// `NOT_FOUND` for an entity id, whether it does not exist or belongs to another municipality:
/// the answer is the same, so an id says nothing about other municipalities.
pub fn not_found(kind: &str, id: &str) -> Status {
    Status::not_found(format!("{kind} {id} does not exist in this municipality"))
}

/// An entity as its stream holds it in the caller's municipality: its state, version and
/// history; [`not_found`] when the stream is empty.
pub async fn get<A: Aggregate>(
    store: &dyn EventStore,
    ctx: &RequestContext,
    kind: &str,
    id: &str,
    stream_id: &str,
) -> Result<(A, u64, Vec<StoredEvent>), Status> {
    let history = store
        .read_stream(ctx.municipality, stream_id)
        .await
        .map_err(from_store)?;
    if history.is_empty() {
        return Err(not_found(kind, id));
    }
    if let Some(last) = history.last() {
        crate::consistency::record(store.context(), last.position);
    }
    let (state, version) = replay::<A>(&history)?;
    Ok((state, version, history))
}

/// The audit stamp of a stored event.
pub fn stamp(stored: &StoredEvent) -> pb::AuditStamp {
    pb::AuditStamp {
        occurred_at: Some(timestamp(stored.occurred_at)),
        recorded_at: Some(timestamp(stored.recorded_at)),
        actor: stored.actor.clone(),
    }
}

/// The audit stamp of the events a request is writing now.
pub fn request_stamp(ctx: &RequestContext, at: DateTime<Utc>) -> pb::AuditStamp {
    pb::AuditStamp {
        occurred_at: Some(timestamp(at)),
        recorded_at: Some(timestamp(ctx.received_at)),
        actor: ctx.actor(),
    }
}

/// Who made an entity and when, and who changed it last and when: the stamps of its first and
/// last events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lifetime {
    /// The first event's stamp.
    pub created: Option<pb::AuditStamp>,
    /// The last event's stamp.
    pub updated: Option<pb::AuditStamp>,
}

impl Lifetime {
    /// Notes one more event.
    pub fn note(&mut self, stamp: pb::AuditStamp) {
        if self.created.is_none() {
            self.created = Some(stamp.clone());
        }
        self.updated = Some(stamp);
    }

    /// The stamps of stored events.
    pub fn of_history(history: &[StoredEvent]) -> Self {
        let mut lifetime = Self::default();
        for stored in history {
            lifetime.note(stamp(stored));
        }
        lifetime
    }

    /// The stamps after a command: its history, then its new events, stamped `now`.
    pub fn after<A: Aggregate>(done: &Done<'_, A>, now: &pb::AuditStamp) -> Self {
        let mut lifetime = Self::of_history(done.history);
        if !done.new_events.is_empty() {
            lifetime.note(now.clone());
        }
        lifetime
    }
}

// Every command of the platform, with the field naming the entity it acts on. (The trait and the
// messages live in other crates, so the implementations live here, in one list.)
command_request!(resident_id =>
    pb::UpgradeResidentRequest,
    pb::UpdateResidentProfileRequest,
    pb::SetConsentRequest,
    pb::RecordGuardianConsentRequest,
    pb::SetProxyAgreementRequest,
    pb::ConfirmProxyAgreementRequest,
    pb::WithdrawResidentRequest,
    pb::RejoinResidentRequest,
);
command_request!(subject_id => pb::ErasePersonalDataRequest);
command_request!(organisation_id =>
    pb::UpdateOrganisationRequest,
    pb::SuspendOrganisationRequest,
    pb::ReinstateOrganisationRequest,
);
command_request!(activity_id =>
    pb::UpdateActivityRequest,
    pb::AddPieceRequest,
    pb::RevisePieceRequest,
    pb::RemovePieceRequest,
    pb::PublishActivityRequest,
    pb::PauseActivityRequest,
    pb::ResumeActivityRequest,
    pb::CloseActivityRequest,
    pb::CancelActivityRequest,
    pb::DefineInternshipRequest,
    pb::DecomposeJobRequest,
);
command_request!(match_id =>
    pb::ScheduleInterviewRequest,
    pb::RecordInterviewRequest,
    pb::AcceptMatchRequest,
    pb::DeclineMatchRequest,
    pb::WithdrawMatchRequest,
    pb::CancelMatchRequest,
    pb::ConfirmMatchRequest,
);
command_request!(piece_id => pb::ApplyRequest, pb::ProposeRequest);
command_request!(
    pb::SetMatchingPolicyRequest,
    pb::RegisterMunicipalityRequest,
    pb::UpdateMunicipalityProfileRequest,
    pb::RegisterOrganisationRequest,
    pb::RegisterCoordinatorRequest,
    pb::RegisterResidentRequest,
    pb::CreateActivityRequest,
);
