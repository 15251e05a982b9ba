//! The opener: each confirmation owed (`followup_openings`, written by
//! `followup.confirmations`) becomes an engagement. The engagement's stream must not exist yet,
//! so an opening repeated — after a crash between the append and the mark, or a confirmation
//! delivered again — finds it there and appends nothing: one engagement per confirmation.
//!
//! Then each end of a match owed (`followup_closings`) ends the engagement of the match's
//! confirmation before it (`upstream_cancelled`), once that engagement is open; an engagement
//! that ended already is left as it is.

use std::time::Duration;

use mosaic_api::RequestContext;
use mosaic_api::command::new_event;
use mosaic_api::status::{from_db, from_store};
use mosaic_db::on_db;
use mosaic_events::followup::{EngagementOpened, FollowUpEvent};
use mosaic_eventstore::{AppendRequest, ExpectedVersion, StoreError};
use mosaic_types::MunicipalityCode;
use tokio::sync::watch;
use tonic::Status;

use mosaic_domain::Aggregate;

use super::{FollowUpApi, engagement_stream};
use crate::domain::{Command, EngagementEndReason};

/// Openings per round.
const BATCH: i64 = 200;
/// How often a closing is decided again after the engagement changed under it.
const ATTEMPTS: usize = 8;
/// How long an idle opener waits before looking again.
const IDLE: Duration = Duration::from_millis(100);

type Owed = (String, String, String);

impl FollowUpApi {
    /// Opens and closes owed engagements until `stopping` turns true.
    pub async fn opening_loop(self, stopping: watch::Receiver<bool>) {
        mosaic_api::rounds::rounds(stopping, IDLE, "engagements", || async {
            Ok(self.open_owed().await? + self.close_owed().await?)
        })
        .await;
    }

    /// One round of owed openings, oldest first; how many were carried out.
    pub async fn open_owed(&self) -> Result<usize, Status> {
        let owed: Vec<Owed> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT municipality, engagement_id, opened FROM followup_openings \
                 WHERE done = FALSE ORDER BY municipality, position LIMIT $1",
            )
            .bind(BATCH)
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        for (municipality, id, opened) in &owed {
            match (
                MunicipalityCode::parse(municipality),
                serde_json::from_str::<EngagementOpened>(opened),
            ) {
                (Ok(m), Ok(opened)) => given_up(self.open(m, opened).await, id)?,
                _ => tracing::error!(
                    municipality,
                    engagement = id,
                    "an unreadable opening is skipped"
                ),
            }
            on_db!(&self.db, pool => {
                sqlx::query(
                    "UPDATE followup_openings SET done = TRUE \
                     WHERE municipality = $1 AND engagement_id = $2",
                )
                .bind(municipality)
                .bind(id)
                .execute(pool)
                .await
                .map_err(from_db)?;
            });
        }
        Ok(owed.len())
    }

    /// Appends one engagement's opening, unless its stream exists already.
    async fn open(&self, m: MunicipalityCode, opened: EngagementOpened) -> Result<(), Status> {
        let stream = engagement_stream(&opened.engagement_id);
        let event = new_event(&FollowUpEvent::EngagementOpened(opened), chrono::Utc::now())?;
        let request = AppendRequest {
            municipality: m,
            stream_id: stream,
            expected: ExpectedVersion::NoStream,
            events: vec![event],
            meta: RequestContext::system(crate::CONTEXT, m).meta(),
            response: None,
            also: Vec::new(),
        };
        match self.store.append(request).await {
            Ok(_) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(from_store(e)),
        }
    }

    /// One round of owed closings, oldest first; how many were carried out (a closing whose
    /// engagement is not open yet waits for the next round).
    pub async fn close_owed(&self) -> Result<usize, Status> {
        let owed: Vec<(String, String, i64, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT municipality, match_id, position, day FROM followup_closings \
                 WHERE done = FALSE ORDER BY municipality, position LIMIT $1",
            )
            .bind(BATCH)
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        let mut carried = 0;
        for (municipality, match_id, position, day) in &owed {
            // The engagement of the match's latest confirmation before its end.
            let opening: Option<(String, bool)> = on_db!(&self.db, pool => {
                sqlx::query_as(
                    "SELECT engagement_id, done FROM followup_openings WHERE municipality = $1 \
                     AND match_id = $2 AND position < $3 ORDER BY position DESC LIMIT 1",
                )
                .bind(municipality)
                .bind(match_id)
                .bind(position)
                .fetch_optional(pool)
                .await
                .map_err(from_db)?
            });
            match (opening, MunicipalityCode::parse(municipality), day.parse()) {
                (Some((_, false)), _, _) => continue,
                (Some((id, true)), Ok(m), Ok(day)) => given_up(self.close(m, &id, day).await, &id)?,
                // Never confirmed: no engagement to close.
                _ => {}
            }
            on_db!(&self.db, pool => {
                sqlx::query(
                    "UPDATE followup_closings SET done = TRUE WHERE municipality = $1 \
                     AND match_id = $2 AND position = $3",
                )
                .bind(municipality)
                .bind(match_id)
                .bind(position)
                .execute(pool)
                .await
                .map_err(from_db)?;
            });
            carried += 1;
        }
        Ok(carried)
    }

    /// Ends an engagement because its match ended on `day`, unless it ended already: on that
    /// day, or on its last recorded session if later.
    async fn close(
        &self,
        m: MunicipalityCode,
        id: &str,
        day: chrono::NaiveDate,
    ) -> Result<(), Status> {
        let ctx = RequestContext::system(crate::CONTEXT, m);
        for _ in 0..ATTEMPTS {
            let (state, version) = self.read(&ctx, id).await?;
            if state.opened.is_none() || state.ended.is_some() {
                return Ok(());
            }
            let last_day = state
                .sessions
                .keys()
                .next_back()
                .map_or(day, |last| day.max(*last));
            let command = Command::End {
                reason: EngagementEndReason::UpstreamCancelled,
                last_day,
                today: day,
            };
            let events = match state.decide(&command) {
                Ok(events) => events,
                Err(e) => {
                    tracing::error!(engagement = id, error = %e, "an engagement could not be closed");
                    return Ok(());
                }
            };
            let request = AppendRequest {
                municipality: m,
                stream_id: engagement_stream(id),
                expected: ExpectedVersion::Exact(version),
                events: events
                    .iter()
                    .map(|e| new_event(e, chrono::Utc::now()))
                    .collect::<Result<_, _>>()?,
                meta: ctx.meta(),
                response: None,
                also: Vec::new(),
            };
            match self.store.append(request).await {
                Ok(_) => return Ok(()),
                // Recorded meanwhile (a session, or its end): decide again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(from_store(e)),
            }
        }
        Err(Status::aborted(format!(
            "engagement {id}: other changes kept coming first while closing it"
        )))
    }
}

/// A step's outcome for its owed row: done, or an error that a later round may not meet again
/// (the database). An error that would recur every time (an unreadable stream: INTERNAL) is
/// logged and the row given up, so it cannot hold back the rows after it.
pub(super) fn given_up(outcome: Result<(), Status>, what: &str) -> Result<(), Status> {
    match outcome {
        Err(e) if e.code() == tonic::Code::Internal => {
            tracing::error!(row = what, error = %e.message(), "owed work given up");
            Ok(())
        }
        other => other,
    }
}
