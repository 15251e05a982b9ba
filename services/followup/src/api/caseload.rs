//! A coordinator's caseload: the open engagements of the activities they coordinate, with what
//! needs their attention first (a check-in overdue, a risk flagged).

use chrono::{Days, NaiveDate};
use mosaic_api::status::from_db;
use mosaic_api::wire;
use mosaic_proto::v1 as pb;
use mosaic_types::jst_date;
use tonic::{Request, Status};

use super::{FollowUpApi, STAFF, read_head};
use crate::domain::RiskFlag;
use crate::domain::reminders::CHECK_IN_EVERY_DAYS;

/// The most entries of one answer.
const MOST: usize = 1_000;

impl FollowUpApi {
    pub(super) async fn get_caseload_impl(
        &self,
        request: Request<pb::GetCaseloadRequest>,
    ) -> Result<pb::GetCaseloadResponse, Status> {
        let (ctx, coordinator) = read_head(
            &request,
            STAFF,
            "coordinator_id",
            &request.get_ref().coordinator_id,
        )?;
        let today = jst_date(ctx.received_at);
        type Row = (String, String, String, String, Option<String>, String);
        let rows: Vec<Row> = mosaic_db::on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT s.engagement_id, s.resident_id, s.activity_id, s.first_day, \
                 s.last_check_in, s.risks FROM followup_schedule s JOIN followup_activities a \
                 ON a.municipality = s.municipality AND a.activity_id = s.activity_id \
                 WHERE s.municipality = $1 AND a.coordinator_id = $2 AND s.ended = FALSE \
                 AND s.last_day >= $3",
            )
            .bind(ctx.municipality.as_str())
            .bind(&coordinator)
            .bind(today.to_string())
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        let date = |s: &str| s.parse::<NaiveDate>().ok();
        let mut entries: Vec<(bool, bool, NaiveDate, pb::CaseloadEntry)> = rows
            .into_iter()
            .filter_map(
                |(engagement_id, resident_id, activity_id, first, last, risks)| {
                    let first = date(&first)?;
                    let last = last.as_deref().and_then(date);
                    let due = last
                        .map_or(first, |l| l.max(first))
                        .checked_add_days(Days::new(CHECK_IN_EVERY_DAYS))?;
                    let risks: Vec<i32> = risks
                        .split(',')
                        .filter_map(|r| RiskFlag::ALL.iter().find(|f| f.as_str() == r))
                        .map(|f| f.wire())
                        .collect();
                    let overdue = due <= today;
                    Some((
                        !overdue,
                        risks.is_empty(),
                        due,
                        pb::CaseloadEntry {
                            engagement_id,
                            resident_id,
                            activity_id,
                            last_check_in: last.map(wire::to_date),
                            check_in_due: Some(wire::to_date(due)),
                            overdue,
                            risks,
                        },
                    ))
                },
            )
            .collect();
        entries.sort_by(|a, b| {
            (a.0, a.1, a.2, &a.3.engagement_id).cmp(&(b.0, b.1, b.2, &b.3.engagement_id))
        });
        let truncated = entries.len() > MOST;
        entries.truncate(MOST);
        Ok(pb::GetCaseloadResponse {
            entries: entries.into_iter().map(|(.., e)| e).collect(),
            truncated,
        })
    }
}
