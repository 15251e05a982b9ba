//! gRPC handlers of `ActivityService`: validate → command → decide → append → answer.
//! One file per group of RPCs; this one wires them to the generated trait and holds what they
//! share: running a command on an activity and opening the mentor's name for the answer.

mod commands;
mod decompose;
mod hosts;
mod queries;
mod validate;
mod view;

use std::sync::Arc;

use mosaic_api::command::load;
use mosaic_api::paging::PageTokens;
use mosaic_api::{Answer, Execute, RequestContext, execute_with};
use mosaic_auth::{Caller, Role};
use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_privacy::Vault;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::activity_service_server::ActivityService;
use tonic::Status;

use crate::domain::activity::{Activity, ActivityCommand, stream_id};

/// Who designs activities.
pub const DESIGNERS: &[Role] = &[Role::Coordinator, Role::MunicipalityOfficer, Role::Operator];
/// Who reads activities: every role of the municipality that takes part in them.
pub const READERS: &[Role] = &[
    Role::Resident,
    Role::Coordinator,
    Role::HostOrganisation,
    Role::MunicipalityOfficer,
    Role::Operator,
];

/// Whether `caller` sees all of an activity hosted by `host`, its draft state and its personal
/// data (the mentor's name): staff, and the host organisation whose activity it is. Residents
/// and other host organisations see published activities without personal data.
pub(crate) fn staff_or_own_host(caller: &Caller, host: &str) -> bool {
    match caller.role {
        Role::HostOrganisation => caller.acts_for_organisation(host),
        role => DESIGNERS.contains(&role),
    }
}

/// The vault field name the mentor's name is sealed under.
pub const MENTOR_FIELD: &str = "mentor_name";

/// The activity context's gRPC API.
#[derive(Clone)]
pub struct ActivityApi {
    store: Arc<dyn EventStore>,
    vault: Vault,
    db: Db,
    pages: PageTokens,
}

impl ActivityApi {
    /// An API writing to `store`, sealing mentors' names with `vault`, reading lists from `db`;
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

    /// Runs a command on an activity and answers with the activity after it. Commands other than
    /// creation answer NOT_FOUND for an activity that does not exist in the caller's municipality.
    async fn run(
        &self,
        ctx: &RequestContext,
        id: &str,
        expected: Option<u64>,
        at: chrono::DateTime<chrono::Utc>,
        command: ActivityCommand,
    ) -> Result<pb::Activity, Status> {
        let creating = matches!(command, ActivityCommand::Create { .. });
        let exec = Execute::<Activity> {
            stream_id: stream_id(id),
            expected_version: expected,
            command,
            occurred_at: at,
            fresh: creating,
        };
        let guard = |state: &Activity| {
            if !creating && state.activity_id.is_none() {
                return Err(not_found(id));
            }
            Ok(())
        };
        let now = mosaic_api::pipeline::request_stamp(ctx, at);
        let respond = |done: mosaic_api::Done<'_, Activity>| {
            let life = mosaic_api::pipeline::Lifetime::after(&done, &now);
            view::activity(done.state, done.version, &life)
                .ok_or_else(|| Status::internal("activity missing after its command"))
        };
        let answer = execute_with(self.store.as_ref(), ctx, exec, guard, respond).await?;
        let (mut activity, state) = match answer {
            Answer::Fresh(a, state) => (a, state),
            Answer::Replayed(a) => {
                let (state, _) = load::<Activity>(
                    self.store.as_ref(),
                    ctx.municipality,
                    &stream_id(&a.activity_id),
                )
                .await?;
                (a, state)
            }
        };
        self.fill_mentor(ctx, &mut activity, &state).await?;
        self.fill_seats(ctx, &mut activity).await?;
        Ok(activity)
    }

    /// Opens the mentor's name for callers allowed to read it; erased reads as empty.
    async fn fill_mentor(
        &self,
        ctx: &RequestContext,
        activity: &mut pb::Activity,
        state: &Activity,
    ) -> Result<(), Status> {
        let (Some(shown), Some(internship), Some(id), Some(details)) = (
            activity.internship.as_mut(),
            state.internship.as_ref(),
            state.activity_id.as_ref(),
            state.details.as_ref(),
        ) else {
            return Ok(());
        };
        if !staff_or_own_host(&ctx.caller, &details.host_organisation_id) {
            return Ok(());
        }
        let id = id.to_string();
        let keys = self
            .vault
            .keys(ctx.municipality, std::slice::from_ref(&id))
            .await
            .map_err(vault_error)?;
        if let Some(key) = keys.get(&id) {
            shown.mentor_name = key
                .open(MENTOR_FIELD, &internship.mentor_name)
                .unwrap_or_default();
        }
        Ok(())
    }
}

/// NOT_FOUND for an activity, whether it does not exist or belongs to another municipality.
pub(crate) fn not_found(id: &str) -> Status {
    mosaic_api::pipeline::not_found("activity", id)
}

pub(crate) use mosaic_api::status::from_vault as vault_error;

mosaic_api::rpcs! {
    impl ActivityService for ActivityApi {
        create_activity => create_activity_impl(CreateActivityRequest) -> CreateActivityResponse;
        update_activity => update_activity_impl(UpdateActivityRequest) -> UpdateActivityResponse;
        add_piece => add_piece_impl(AddPieceRequest) -> AddPieceResponse;
        revise_piece => revise_piece_impl(RevisePieceRequest) -> RevisePieceResponse;
        remove_piece => remove_piece_impl(RemovePieceRequest) -> RemovePieceResponse;
        publish_activity => publish_activity_impl(PublishActivityRequest) -> PublishActivityResponse;
        pause_activity => pause_activity_impl(PauseActivityRequest) -> PauseActivityResponse;
        resume_activity => resume_activity_impl(ResumeActivityRequest) -> ResumeActivityResponse;
        close_activity => close_activity_impl(CloseActivityRequest) -> CloseActivityResponse;
        cancel_activity => cancel_activity_impl(CancelActivityRequest) -> CancelActivityResponse;
        define_internship => define_internship_impl(DefineInternshipRequest) -> DefineInternshipResponse;
        decompose_job => decompose_job_impl(DecomposeJobRequest) -> DecomposeJobResponse;
        get_activity => get_activity_impl(GetActivityRequest) -> GetActivityResponse;
        list_activities => list_activities_impl(ListActivitiesRequest) -> ListActivitiesResponse;
        list_pieces_open => list_pieces_open_impl(ListPiecesOpenRequest) -> ListPiecesOpenResponse;
        list_host_activities => list_host_activities_impl(ListHostActivitiesRequest) -> ListHostActivitiesResponse;
    }
}

/// How a domain refusal is answered on the wire (the domain knows nothing of gRPC).
impl From<crate::domain::ActivityError> for Status {
    fn from(e: crate::domain::ActivityError) -> Self {
        use crate::domain::ActivityError::*;
        match e {
            NotFound(_) | PieceNotFound(_) => Status::not_found(e.to_string()),
            Exists(_) => Status::already_exists(e.to_string()),
            LicenceMissing(_) => {
                mosaic_api::fields::invalid("details.engagement_form", e.to_string())
            }
            HostSuspended(_)
            | WrongState { .. }
            | PieceHasConfirmations { .. }
            | NoPieces(_)
            | InternshipMissing(_)
            | NotAnInternship(_)
            | TooManyPieces { .. } => Status::failed_precondition(e.to_string()),
        }
    }
}
