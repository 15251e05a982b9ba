//! `matching.matches`: one row per match, for lists by piece, activity, resident and
//! coordinator, with its stage. Answers read each listed match from its stream.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_events::matching::{self, MatchingEvent};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};

/// The stage numbers of the table (the wire numbers of `MatchStage`).
pub const OPEN: i32 = 1;
/// Confirmed.
pub const CONFIRMED: i32 = 2;
/// Ended.
pub const ENDED: i32 = 3;

/// The matches projection.
pub struct Matches;

#[async_trait]
impl EventProjection for Matches {
    type Event = MatchingEvent;
    const CONTEXT: &'static str = matching::CONTEXT;

    fn name(&self) -> &'static str {
        "matching.matches"
    }

    fn wants(&self) -> &'static [&'static str] {
        &[
            "MatchOpened",
            "MatchConfirmed",
            "MatchDeclined",
            "MatchWithdrawn",
            "MatchCancelled",
            "MatchEnded",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["matching_matches"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<MatchingEvent>,
    ) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str();
        use MatchingEvent as E;
        let (id, stage) = match typed {
            Some(E::MatchOpened(o)) => {
                // A match opened again keeps its place in lists.
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO matching_matches (municipality, match_id, seq, resident_id, \
                         piece_id, activity_id, host_organisation_id, coordinator, stage) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (municipality, match_id) DO UPDATE SET \
                         coordinator = excluded.coordinator, stage = excluded.stage",
                    )
                    .bind(m)
                    .bind(o.match_id.as_str())
                    .bind(event.position as i64)
                    .bind(o.resident_id.as_str())
                    .bind(o.piece_id.as_str())
                    .bind(o.activity_id.as_str())
                    .bind(o.host_organisation_id.as_str())
                    .bind(o.coordinator.as_deref())
                    .bind(OPEN)
                    .execute(&mut **t)
                    .await?;
                });
                return Ok(());
            }
            Some(E::MatchConfirmed(c)) => (c.match_id, CONFIRMED),
            Some(E::MatchDeclined(d)) => (d.match_id, ENDED),
            Some(E::MatchWithdrawn(w)) => (w.match_id, ENDED),
            Some(E::MatchCancelled(c)) => (c.match_id, ENDED),
            Some(E::MatchEnded(e)) => (e.match_id, ENDED),
            _ => return Ok(()),
        };
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE matching_matches SET stage = $1 WHERE municipality = $2 AND match_id = $3",
            )
            .bind(stage)
            .bind(m)
            .bind(id.as_str())
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }
}
