//! What a decision needs besides the match's own streams, read from this context's read models
//! (learned from the registry's and activity's events) and the policy stream, and placed in the
//! decision as facts. A resident or piece registered a moment ago may not be known yet: the
//! consistency token of the command that made it waits for it.

use mosaic_api::RequestContext;
use mosaic_api::command::load;
use mosaic_api::status::from_db;
use mosaic_auth::Role;
use mosaic_db::on_db;
use mosaic_events::activity::{ApplicationMode, Schedule, Status as Lifecycle};
use mosaic_types::{EngagementForm, ResidentId};
use serde::de::DeserializeOwned;
use tonic::Status;

use super::MatchingApi;
use crate::domain::facts::policy_stream;
use crate::domain::{HostFacts, PieceFacts, Policy, ResidentFacts};

/// The purpose of the registry's keyed hash of a login subject (the same key and purpose, so
/// the same hash).
const LOGIN_INDEX: &str = "login";

type ResidentRow = (bool, bool, bool, bool, Option<i32>, Option<i32>);
type PieceRow = (String, String, String, bool, i32, String, String, String);
/// The columns of [`MatchingApi::facts`]: each part all `NULL` when its row is missing.
#[derive(sqlx::FromRow)]
struct FactsRow {
    active: Option<bool>,
    guest: Option<bool>,
    matching_consent: Option<bool>,
    proxy_agreement: Option<bool>,
    max_hours_per_week: Option<i32>,
    max_days_per_month: Option<i32>,
    activity_id: Option<String>,
    host_organisation_id: Option<String>,
    status: Option<String>,
    removed: Option<bool>,
    headcount: Option<i32>,
    engagement_form: Option<String>,
    application_mode: Option<String>,
    schedule: Option<String>,
    suspended: Option<bool>,
    licences: Option<String>,
}

pub(super) fn resident_facts(id: &str, row: ResidentRow) -> ResidentFacts {
    let (active, guest, matching_consent, proxy_agreement, hours, days) = row;
    ResidentFacts {
        resident_id: ResidentId::from(id),
        active,
        guest,
        matching_consent,
        proxy_agreement,
        max_hours_per_week: hours.and_then(|h| u16::try_from(h).ok()),
        max_days_per_month: days.and_then(|d| u16::try_from(d).ok()),
    }
}

pub(super) fn piece_facts(id: &str, row: PieceRow) -> Result<PieceFacts, Status> {
    let (activity, host, status, removed, headcount, form, mode, schedule) = row;
    let unreadable = || Status::internal(format!("piece {id} is unreadable in the read model"));
    Ok(PieceFacts {
        piece_id: id.into(),
        activity_id: activity.into(),
        host_organisation_id: host.into(),
        activity_status: stored::<Lifecycle>(&status).ok_or_else(unreadable)?,
        removed,
        headcount: u32::try_from(headcount).unwrap_or(0),
        engagement_form: stored::<EngagementForm>(&form).ok_or_else(unreadable)?,
        application_mode: stored::<ApplicationMode>(&mode).ok_or_else(unreadable)?,
        schedule: serde_json::from_str::<Schedule>(&schedule).map_err(|_| unreadable())?,
    })
}

pub(super) fn host_facts(suspended: bool, licences: &str) -> HostFacts {
    HostFacts {
        suspended,
        licences: mosaic_known::licences_of(licences),
    }
}

/// A vocabulary value from its stored name.
pub(super) fn stored<T: DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

impl MatchingApi {
    /// The caller's own resident record, for a resident token whose login the registry linked
    /// to one; `None` for other roles.
    pub(super) async fn me(&self, ctx: &RequestContext) -> Result<Option<ResidentId>, Status> {
        if ctx.caller.role != Role::Resident {
            return Ok(None);
        }
        let index = self
            .vault
            .exact_index(ctx.municipality, LOGIN_INDEX, &ctx.caller.subject);
        let id: Option<String> = on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT resident_id FROM matching_residents WHERE municipality = $1 AND login_index = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(index)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        Ok(id.map(ResidentId::from))
    }

    /// The resident, the piece and the piece's host as matching knows them, in one read.
    pub(super) async fn facts(
        &self,
        ctx: &RequestContext,
        resident: &str,
        piece: &str,
    ) -> Result<(Option<ResidentFacts>, Option<PieceFacts>, Option<HostFacts>), Status> {
        let row: FactsRow = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT r.active, r.guest, r.matching_consent, r.proxy_agreement, \
                 r.max_hours_per_week, r.max_days_per_month, p.activity_id, \
                 a.host_organisation_id, a.status, p.removed, p.headcount, a.engagement_form, \
                 a.application_mode, p.schedule, h.suspended, h.licences FROM (SELECT 1) one \
                 LEFT JOIN matching_residents r ON r.municipality = $1 AND r.resident_id = $2 \
                 LEFT JOIN matching_pieces p ON p.municipality = $1 AND p.piece_id = $3 \
                 LEFT JOIN matching_activities a ON a.municipality = $1 \
                     AND a.activity_id = p.activity_id \
                 LEFT JOIN matching_hosts h ON h.municipality = $1 \
                     AND h.organisation_id = a.host_organisation_id",
            )
            .bind(ctx.municipality.as_str())
            .bind(resident)
            .bind(piece)
            .fetch_one(pool)
            .await
            .map_err(from_db)?
        });
        let FactsRow {
            active,
            guest,
            matching_consent,
            proxy_agreement,
            max_hours_per_week: hours,
            max_days_per_month: days,
            activity_id,
            host_organisation_id,
            status,
            removed,
            headcount,
            engagement_form,
            application_mode,
            schedule,
            suspended,
            licences,
        } = row;
        let resident = match (active, guest, matching_consent, proxy_agreement) {
            (Some(active), Some(guest), Some(consent), Some(proxy)) => Some(resident_facts(
                resident,
                (active, guest, consent, proxy, hours, days),
            )),
            _ => None,
        };
        let piece_facts = match (
            activity_id,
            host_organisation_id,
            status,
            removed,
            headcount,
            engagement_form,
            application_mode,
            schedule,
        ) {
            (Some(a), Some(h), Some(s), Some(r), Some(n), Some(f), Some(m), Some(sc)) => {
                Some(piece_facts(piece, (a, h, s, r, n, f, m, sc))?)
            }
            _ => None,
        };
        let host = match (suspended, licences) {
            (Some(suspended), Some(licences)) => Some(host_facts(suspended, &licences)),
            _ => None,
        };
        Ok((resident, piece_facts, host))
    }

    /// A piece and its activity as matching knows them; `None` if it does not.
    pub(super) async fn piece(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Option<PieceFacts>, Status> {
        // The facts' one query, with no resident to find.
        Ok(self.facts(ctx, "", id).await?.1)
    }

    /// The municipality's matching policy, always current.
    pub(super) async fn policy(&self, ctx: &RequestContext) -> Result<(Policy, u64), Status> {
        load::<Policy>(
            self.store.as_ref(),
            ctx.municipality,
            &policy_stream(ctx.municipality.as_str()),
        )
        .await
    }
}
