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
use mosaic_events::registry::Licence;
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

/// A vocabulary value from its stored name.
fn stored<T: DeserializeOwned>(name: &str) -> Option<T> {
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

    /// A resident as matching knows them; `None` if it does not.
    pub(super) async fn resident(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Option<ResidentFacts>, Status> {
        let row: Option<ResidentRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT active, guest, matching_consent, proxy_agreement, max_hours_per_week, \
                 max_days_per_month FROM matching_residents WHERE municipality = $1 AND resident_id = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        Ok(row.map(
            |(active, guest, matching_consent, proxy_agreement, hours, days)| ResidentFacts {
                resident_id: ResidentId::from(id),
                active,
                guest,
                matching_consent,
                proxy_agreement,
                max_hours_per_week: hours.and_then(|h| u16::try_from(h).ok()),
                max_days_per_month: days.and_then(|d| u16::try_from(d).ok()),
            },
        ))
    }

    /// A piece and its activity as matching knows them; `None` if it does not.
    pub(super) async fn piece(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Option<PieceFacts>, Status> {
        let row: Option<PieceRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT p.activity_id, a.host_organisation_id, a.status, p.removed, p.headcount, \
                 a.engagement_form, a.application_mode, p.schedule FROM matching_pieces p \
                 JOIN matching_activities a ON a.municipality = p.municipality \
                 AND a.activity_id = p.activity_id WHERE p.municipality = $1 AND p.piece_id = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        let Some((activity, host, status, removed, headcount, form, mode, schedule)) = row else {
            return Ok(None);
        };
        let unreadable = || Status::internal(format!("piece {id} is unreadable in the read model"));
        Ok(Some(PieceFacts {
            piece_id: id.into(),
            activity_id: activity.into(),
            host_organisation_id: host.into(),
            activity_status: stored::<Lifecycle>(&status).ok_or_else(unreadable)?,
            removed,
            headcount: u32::try_from(headcount).unwrap_or(0),
            engagement_form: stored::<EngagementForm>(&form).ok_or_else(unreadable)?,
            application_mode: stored::<ApplicationMode>(&mode).ok_or_else(unreadable)?,
            schedule: serde_json::from_str::<Schedule>(&schedule).map_err(|_| unreadable())?,
        }))
    }

    /// A host organisation as matching knows it (unknown reads as no licences, not suspended).
    pub(super) async fn host(&self, ctx: &RequestContext, id: &str) -> Result<HostFacts, Status> {
        let row: Option<(bool, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT suspended, licences FROM matching_hosts WHERE municipality = $1 AND organisation_id = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        Ok(row
            .map(|(suspended, licences)| HostFacts {
                suspended,
                licences: Licence::ALL
                    .iter()
                    .copied()
                    .filter(|l| licences.contains(&format!(",{},", l.as_str())))
                    .collect(),
            })
            .unwrap_or_default())
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
