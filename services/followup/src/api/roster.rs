//! An activity's roster for one session day: who is expected, and what was recorded.

use mosaic_api::status::{from_db, from_store};
use mosaic_api::{FieldErrors, RequestContext, wire};
use mosaic_auth::Caller;
use mosaic_proto::v1 as pb;
use tonic::{Request, Status};

use super::{FollowUpApi, STAFF_AND_HOSTS, engagement_stream, may_see};
use crate::domain::reminders::weekday_bit;
use crate::domain::{Engagement, Reporter};

/// The most lines of a roster (every piece of the activity, one session day).
const MOST_LINES: i64 = 2_000;

impl FollowUpApi {
    pub(super) async fn get_session_roster_impl(
        &self,
        request: Request<pb::GetSessionRosterRequest>,
    ) -> Result<pb::GetSessionRosterResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF_AND_HOSTS)?;
        let ctx = RequestContext::query(&request)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let activity = wire::id(&mut errors, "activity_id", &body.activity_id).unwrap_or_default();
        let day = wire::date(&mut errors, "session", body.session.as_ref());
        errors.finish()?;
        let day = day.unwrap_or_default();
        // An unknown activity, or another host's, is not found.
        let host: Option<String> = mosaic_db::on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT host_organisation_id FROM followup_activities WHERE municipality = $1 \
                 AND activity_id = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(&activity)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        if !host.is_some_and(|h| may_see(&ctx.caller, &h)) {
            return Err(Status::not_found(format!(
                "activity_id: activity {activity} does not exist in this municipality"
            )));
        }
        // The engagements whose weekly windows fall on the day, within their period.
        let ids: Vec<(String, String)> = mosaic_db::on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT engagement_id, host_organisation_id FROM followup_schedule \
                 WHERE municipality = $1 AND activity_id = $2 AND (weekdays & $3) <> 0 \
                 AND first_day <= $4 AND last_day >= $4 ORDER BY engagement_id LIMIT $5",
            )
            .bind(ctx.municipality.as_str())
            .bind(&activity)
            .bind(i32::from(weekday_bit(day)))
            .bind(day.to_string())
            .bind(MOST_LINES)
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        let names: Vec<String> = ids.iter().map(|(id, _)| engagement_stream(id)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let histories = self
            .store
            .read_streams(ctx.municipality, &names)
            .await
            .map_err(from_store)?;
        let mut lines = Vec::with_capacity(ids.len());
        for ((id, _), history) in ids.iter().zip(&histories) {
            let (e, _) = mosaic_api::command::replay::<Engagement>(history)?;
            let Some(o) = &e.opened else { continue };
            // One that ended before the day has no session on it.
            if e.ended.as_ref().is_some_and(|x| x.last_day < day) {
                continue;
            }
            lines.push(pb::RosterLine {
                engagement_id: id.clone(),
                resident_id: o.resident_id.to_string(),
                piece_id: o.piece_id.to_string(),
                session: e
                    .sessions
                    .get(&day)
                    .map(|(status, minutes, by)| pb::Session {
                        date: Some(wire::to_date(day)),
                        status: status.wire(),
                        minutes: *minutes,
                        self_reported: *by == Reporter::Resident,
                    }),
            });
        }
        lines.sort_by(|a, b| (&a.piece_id, &a.engagement_id).cmp(&(&b.piece_id, &b.engagement_id)));
        Ok(pb::GetSessionRosterResponse { lines })
    }
}
