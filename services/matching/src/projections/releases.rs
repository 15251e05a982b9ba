//! `matching.releases`: each engagement follow-up ended (completed or dropped out) as a release
//! owed; the review worker ends the match and frees its seat (`MatchingApi::release_owed`).
//! An engagement follow-up closed because matching ended the match owes nothing.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_events::followup::{self, EngagementEndReason, FollowUpEvent};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};

/// The releases projection.
pub struct Releases;

#[async_trait]
impl EventProjection for Releases {
    type Event = FollowUpEvent;
    const CONTEXT: &'static str = followup::CONTEXT;

    fn name(&self) -> &'static str {
        "matching.releases"
    }

    fn wants(&self) -> &'static [&'static str] {
        &["EngagementEnded"]
    }

    // The owed releases outlive a rebuild (see the migration).
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<FollowUpEvent>,
    ) -> Result<(), ProjectionError> {
        let Some(FollowUpEvent::EngagementEnded(e)) = typed else {
            return Ok(());
        };
        if e.reason == EngagementEndReason::UpstreamCancelled {
            return Ok(());
        }
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO matching_releases (municipality, position, match_id, match_version) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (municipality, position) DO NOTHING",
            )
            .bind(event.municipality.as_str())
            .bind(event.position as i64)
            .bind(e.match_id.as_str())
            .bind(e.match_version as i64)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }
}
