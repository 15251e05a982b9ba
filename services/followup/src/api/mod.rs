//! gRPC handlers of `FollowUpService`: validate → read the engagements → decide → append →
//! answer; and the opener that turns owed confirmations into engagements.

mod commands;
mod opener;
mod queries;

use std::sync::Arc;

use mosaic_api::command::decode;
use mosaic_api::paging::PageTokens;
use mosaic_api::wire::{to_date, to_window};
use mosaic_api::{RequestContext, status::from_store};
use mosaic_auth::{Caller, Role};
use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_privacy::Vault;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_server::FollowUpService;
use tonic::Status;

use crate::domain::{AttendanceStatus, Engagement, EngagementEndReason, FollowUpEvent};

/// Staff.
const STAFF: &[Role] = &[Role::Coordinator, Role::MunicipalityOfficer, Role::Operator];
/// Staff and host organisations; which host may act is decided on the engagement.
const STAFF_AND_HOSTS: &[Role] = &[
    Role::Coordinator,
    Role::MunicipalityOfficer,
    Role::Operator,
    Role::HostOrganisation,
];

/// The follow-up API.
#[derive(Clone)]
pub struct FollowUpApi {
    store: Arc<dyn EventStore>,
    db: Db,
    pages: PageTokens,
}

impl FollowUpApi {
    /// The API over the follow-up store and read models; page tokens are signed with a key
    /// derived from the vault's master key.
    pub fn new(store: Arc<dyn EventStore>, vault: &Vault, db: Db) -> Self {
        Self {
            store,
            db,
            pages: PageTokens::from_vault(vault),
        }
    }

    /// An engagement as its stream holds it: the state and version (an empty state for none).
    async fn read(&self, ctx: &RequestContext, id: &str) -> Result<(Engagement, u64), Status> {
        let history = self
            .store
            .read_stream(ctx.municipality, &engagement_stream(id))
            .await
            .map_err(from_store)?;
        let version = history.last().map_or(0, |e| e.version);
        let state = history.iter().try_fold(Engagement::default(), |s, e| {
            decode::<FollowUpEvent>(e).map(|ev| mosaic_domain::Aggregate::evolve(s, &ev))
        })?;
        Ok((state, version))
    }

    /// An engagement the caller may see: staff any, a host its own activities'. NOT_FOUND
    /// otherwise, as for one that does not exist.
    async fn visible(
        &self,
        ctx: &RequestContext,
        field: &str,
        id: &str,
    ) -> Result<(Engagement, u64), Status> {
        let (state, version) = self.read(ctx, id).await?;
        match &state.opened {
            Some(o) if may_see(&ctx.caller, o.host_organisation_id.as_str()) => {
                Ok((state, version))
            }
            _ => Err(not_found(field, id)),
        }
    }
}

/// Whether the caller may see an engagement of `host`'s activity.
fn may_see(caller: &Caller, host: &str) -> bool {
    STAFF.contains(&caller.role)
        || (caller.role == Role::HostOrganisation && caller.acts_for_organisation(host))
}

/// The stream of an engagement.
pub fn engagement_stream(id: &str) -> String {
    format!("engagement-{id}")
}

fn not_found(field: &str, id: &str) -> Status {
    Status::not_found(format!(
        "{field}: engagement {id} does not exist in this municipality"
    ))
}

/// An engagement on the wire.
fn view(id: &str, e: &Engagement, version: u64) -> Option<pb::Engagement> {
    let o = e.opened.as_ref()?;
    let c = &o.commitment;
    Some(pb::Engagement {
        engagement_id: id.to_owned(),
        match_id: o.match_id.to_string(),
        resident_id: o.resident_id.to_string(),
        piece_id: o.piece_id.to_string(),
        activity_id: o.activity_id.to_string(),
        host_organisation_id: o.host_organisation_id.to_string(),
        commitment: Some(pb::Commitment {
            windows: c.slots.iter().map(to_window).collect(),
            first_day: Some(to_date(c.first_day)),
            last_day: Some(to_date(c.last_day)),
            minutes_per_week: c.minutes_per_week,
            days_per_month: c.days_per_month,
        }),
        sessions: e
            .sessions
            .iter()
            .map(|(day, (status, minutes))| pb::Session {
                date: Some(to_date(*day)),
                status: status_wire(*status),
                minutes: *minutes,
            })
            .collect(),
        minutes_attended: e.minutes(),
        ended: e.ended.as_ref().map_or(0, |x| end_wire(x.reason)),
        last_day: e.ended.as_ref().map(|x| to_date(x.last_day)),
        version,
    })
}

fn status_wire(s: AttendanceStatus) -> i32 {
    s.wire()
}

fn end_wire(r: EngagementEndReason) -> i32 {
    r.wire()
}

mosaic_api::rpcs! {
    impl FollowUpService for FollowUpApi {
        record_attendance => record_attendance_impl(RecordAttendanceRequest) -> RecordAttendanceResponse;
        end_engagement => end_engagement_impl(EndEngagementRequest) -> EndEngagementResponse;
        get_engagement => get_engagement_impl(GetEngagementRequest) -> GetEngagementResponse;
        list_engagements => list_engagements_impl(ListEngagementsRequest) -> ListEngagementsResponse;
    }
}
