//! The opener: each confirmation owed (`followup_openings`, written by
//! `followup.confirmations`) becomes an engagement. The engagement's stream must not exist yet,
//! so an opening repeated — after a crash between the append and the mark, or a confirmation
//! delivered again — finds it there and appends nothing: one engagement per confirmation.

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

use super::{FollowUpApi, engagement_stream};

/// Openings per round.
const BATCH: i64 = 200;
/// How long an idle opener waits before looking again.
const IDLE: Duration = Duration::from_millis(100);

type Owed = (String, String, String);

impl FollowUpApi {
    /// Opens owed engagements until `stopping` turns true.
    pub async fn opening_loop(self, stopping: watch::Receiver<bool>) {
        mosaic_api::rounds::rounds(stopping, IDLE, "engagement openings", || self.open_owed())
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
                (Ok(m), Ok(opened)) => self.open(m, opened).await?,
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
}
