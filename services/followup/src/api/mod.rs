//! gRPC handlers of `FollowUpService`: validate → read → decide → append → answer, one module
//! per part of the service; the opener that turns owed confirmations into engagements; and the
//! reminder scheduler.

mod accounts;
mod caseload;
mod certificates;
mod commands;
mod journal;
mod opener;
mod queries;
mod reminders;
mod roster;
mod wellbeing;

pub use certificates::certificate_keys_of;

use std::sync::Arc;

use mosaic_api::RequestContext;
use mosaic_api::command::load;
use mosaic_api::paging::PageTokens;
use mosaic_api::wire::{to_date, to_window};
use mosaic_auth::{Caller, Role};
use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_privacy::Vault;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_server::FollowUpService;
use tonic::Status;

use crate::domain::{AttendanceStatus, Engagement, EngagementEndReason};

/// Staff.
const STAFF: &[Role] = &[Role::Coordinator, Role::MunicipalityOfficer, Role::Operator];
/// Staff and host organisations; which host may act is decided on the engagement.
const STAFF_AND_HOSTS: &[Role] = &[
    Role::Coordinator,
    Role::MunicipalityOfficer,
    Role::Operator,
    Role::HostOrganisation,
];
/// Who reads engagements: staff, hosts their own activities', residents their own.
const READERS: &[Role] = &[
    Role::Coordinator,
    Role::MunicipalityOfficer,
    Role::Operator,
    Role::HostOrganisation,
    Role::Resident,
];
/// The purpose of the registry's keyed hash of a login.
const LOGIN_INDEX: &str = "login";

/// The follow-up API.
#[derive(Clone)]
pub struct FollowUpApi {
    store: Arc<dyn EventStore>,
    db: Db,
    vault: Vault,
    pages: PageTokens,
    /// Signs certificates: derived from the master key, the same on every replica.
    certificates: mosaic_auth::SigningKeys,
}

impl FollowUpApi {
    /// The API over the follow-up store and read models; the vault's master key recognises
    /// residents' own tokens (the registry's keyed hash of a login) and signs page tokens.
    pub fn new(store: Arc<dyn EventStore>, vault: &Vault, db: Db) -> Self {
        Self {
            store,
            db,
            vault: vault.clone(),
            pages: PageTokens::from_vault(vault),
            certificates: certificates::certificate_keys(vault),
        }
    }

    /// The resident a resident's own token names, if the registry linked its login to one.
    async fn me(&self, ctx: &RequestContext) -> Result<Option<String>, Status> {
        if ctx.caller.role != Role::Resident {
            return Ok(None);
        }
        let index = self
            .vault
            .exact_index(ctx.municipality, LOGIN_INDEX, &ctx.caller.subject);
        Ok(mosaic_db::on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT resident_id FROM followup_residents WHERE municipality = $1 \
                 AND login_index = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(index)
            .fetch_optional(pool)
            .await
            .map_err(mosaic_api::status::from_db)?
        }))
    }

    /// An engagement as its stream holds it: the state and version (an empty state for none).
    async fn read(&self, ctx: &RequestContext, id: &str) -> Result<(Engagement, u64), Status> {
        load(
            self.store.as_ref(),
            ctx.municipality,
            &engagement_stream(id),
        )
        .await
    }

    /// Appends `events` to `stream` (read at `version`) with `answer` saved for a retry: the
    /// answer to give (this one, or the first of a retried request), or `None` when another
    /// change of the stream came first.
    async fn append<R: prost::Message + Default>(
        &self,
        ctx: &RequestContext,
        stream: String,
        version: u64,
        events: &[crate::domain::FollowUpEvent],
        answer: R,
    ) -> Result<Option<R>, Status> {
        let request = mosaic_eventstore::AppendRequest {
            municipality: ctx.municipality,
            stream_id: stream,
            expected: expect(version),
            events: events
                .iter()
                .map(|e| mosaic_api::command::new_event(e, ctx.received_at))
                .collect::<Result<_, _>>()?,
            meta: ctx.meta(),
            response: Some(mosaic_api::command::saved_answer(&answer)),
            also: Vec::new(),
        };
        mosaic_api::command::commit(self.store.as_ref(), request, answer).await
    }

    /// An engagement the caller may see: staff any, a host its own activities', a resident
    /// their own. NOT_FOUND otherwise, as for one that does not exist.
    async fn visible(
        &self,
        ctx: &RequestContext,
        field: &str,
        id: &str,
    ) -> Result<(Engagement, u64), Status> {
        let (state, version) = self.read(ctx, id).await?;
        let mine = match (&state.opened, ctx.caller.role) {
            (Some(o), Role::Resident) => {
                self.me(ctx).await?.as_deref() == Some(o.resident_id.as_str())
            }
            (Some(o), _) => may_see(&ctx.caller, o.host_organisation_id.as_str()),
            (None, _) => false,
        };
        if mine {
            Ok((state, version))
        } else {
            Err(not_found(field, id))
        }
    }
}

/// The context and the id in `field` of a read of one entity, by one of `roles`.
fn read_head<T>(
    request: &tonic::Request<T>,
    roles: &[Role],
    field: &str,
    id: &str,
) -> Result<(RequestContext, String), Status> {
    Caller::from_request(request)?.require_role(roles)?;
    let ctx = RequestContext::query(request)?;
    let mut errors = mosaic_api::FieldErrors::new();
    let id = mosaic_api::wire::id(&mut errors, field, id);
    errors.finish()?;
    Ok((ctx, id.unwrap_or_default()))
}

// The policy's refusals name their field; it is the only aggregate run through `execute`.
impl From<crate::domain::FollowUpError> for Status {
    fn from(e: crate::domain::FollowUpError) -> Self {
        refused(e, "policy", "")
    }
}

/// The expected version of a stream read at `version`.
fn expect(version: u64) -> mosaic_eventstore::ExpectedVersion {
    if version == 0 {
        mosaic_eventstore::ExpectedVersion::NoStream
    } else {
        mosaic_eventstore::ExpectedVersion::Exact(version)
    }
}

/// A refusal of the domain as a status, on the entity `id` named by `field`.
fn refused(e: crate::domain::FollowUpError, field: &str, id: &str) -> Status {
    use crate::domain::FollowUpError as E;
    match e {
        E::Invalid { field, reason } => {
            let mut errors = mosaic_api::FieldErrors::new();
            errors.add(field, reason);
            errors
                .finish()
                .err()
                .unwrap_or_else(|| Status::internal("a refusal without a reason"))
        }
        E::NotFound(_) => not_found(field, id),
        E::Rule(why) => Status::failed_precondition(format!("{field}: {why}")),
        E::Forbidden(why) => Status::permission_denied(why),
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

/// An engagement on the wire, as `caller` may see it (risk flags for staff only).
fn view(id: &str, e: &Engagement, version: u64, caller: &Caller) -> Option<pb::Engagement> {
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
            .map(|(day, (status, minutes, by))| pb::Session {
                date: Some(to_date(*day)),
                status: status_wire(*status),
                minutes: *minutes,
                self_reported: *by == crate::domain::Reporter::Resident,
            })
            .collect(),
        minutes_attended: e.minutes(),
        minutes_unconfirmed: e.minutes_unconfirmed(),
        ended: e.ended.as_ref().map_or(0, |x| end_wire(x.reason)),
        last_day: e.ended.as_ref().map(|x| to_date(x.last_day)),
        version,
        observed: e
            .observed
            .iter()
            .map(|(on, pattern)| pb::Observation {
                pattern: pattern.wire(),
                observed_on: Some(to_date(*on)),
            })
            .collect(),
        check_ins: u32::try_from(e.check_ins.len()).unwrap_or(u32::MAX),
        last_check_in: e.last_check_in().map(to_date),
        risks: if STAFF.contains(&caller.role) {
            e.risks().iter().map(|r| r.wire()).collect()
        } else {
            Vec::new()
        },
        reflections: e.reflections.keys().map(|m| m.wire()).collect(),
        ratings: e
            .feedback
            .values()
            .map(|f| pb::Rating {
                direction: f.direction.wire(),
                rating: u32::from(f.rating),
            })
            .collect(),
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
        report_attendance => report_attendance_impl(ReportAttendanceRequest) -> ReportAttendanceResponse;
        record_spontaneous_engagement => record_spontaneous_engagement_impl(RecordSpontaneousEngagementRequest) -> RecordSpontaneousEngagementResponse;
        record_check_in => record_check_in_impl(RecordCheckInRequest) -> RecordCheckInResponse;
        record_reflection => record_reflection_impl(RecordReflectionRequest) -> RecordReflectionResponse;
        give_feedback => give_feedback_impl(GiveFeedbackRequest) -> GiveFeedbackResponse;
        get_journal => get_journal_impl(GetJournalRequest) -> GetJournalResponse;
        set_incentive_policy => set_incentive_policy_impl(SetIncentivePolicyRequest) -> SetIncentivePolicyResponse;
        get_incentive_policy => get_incentive_policy_impl(GetIncentivePolicyRequest) -> GetIncentivePolicyResponse;
        grant_points => grant_points_impl(GrantPointsRequest) -> GrantPointsResponse;
        redeem_points => redeem_points_impl(RedeemPointsRequest) -> RedeemPointsResponse;
        get_account => get_account_impl(GetAccountRequest) -> GetAccountResponse;
        issue_certificate => issue_certificate_impl(IssueCertificateRequest) -> IssueCertificateResponse;
        get_certificate => get_certificate_impl(GetCertificateRequest) -> GetCertificateResponse;
        verify_certificate => verify_certificate_impl(VerifyCertificateRequest) -> VerifyCertificateResponse;
        get_certificate_keys => get_certificate_keys_impl(GetCertificateKeysRequest) -> GetCertificateKeysResponse;
        record_measure => record_measure_impl(RecordMeasureRequest) -> RecordMeasureResponse;
        get_measures => get_measures_impl(GetMeasuresRequest) -> GetMeasuresResponse;
        get_engagement => get_engagement_impl(GetEngagementRequest) -> GetEngagementResponse;
        list_engagements => list_engagements_impl(ListEngagementsRequest) -> ListEngagementsResponse;
        scan_reminders => scan_reminders_impl(ScanRemindersRequest) -> ScanRemindersResponse;
        get_caseload => get_caseload_impl(GetCaseloadRequest) -> GetCaseloadResponse;
        get_session_roster => get_session_roster_impl(GetSessionRosterRequest) -> GetSessionRosterResponse;
    }

    type FollowRemindersStream = reminders::ReminderStream;

    async fn follow_reminders(
        &self,
        request: tonic::Request<pb::FollowRemindersRequest>,
    ) -> Result<tonic::Response<reminders::ReminderStream>, Status> {
        self.follow_reminders_impl(request).await.map(tonic::Response::new)
    }
}
