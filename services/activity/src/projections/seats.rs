//! `activity.seats`: the seats matching has confirmed on each piece, learned from matching's
//! events (never from its tables). A piece with confirmed seats keeps what its matches rely on
//! (see `domain::activity`), and lists show the open seats.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_events::matching::{self, MatchingEvent};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};

/// The seats projection.
pub struct Seats;

#[async_trait]
impl EventProjection for Seats {
    type Event = MatchingEvent;
    const CONTEXT: &'static str = matching::CONTEXT;

    fn name(&self) -> &'static str {
        "activity.seats"
    }

    fn wants(&self) -> &'static [&'static str] {
        &["SeatTaken", "SeatFreed"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["activity_piece_seats"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<MatchingEvent>,
    ) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str();
        let (sql, piece, seat) = match &typed {
            Some(MatchingEvent::SeatTaken(s)) => (
                "INSERT INTO activity_piece_seats (municipality, piece_id, match_id) \
                 VALUES ($1, $2, $3) ON CONFLICT (municipality, piece_id, match_id) DO NOTHING",
                &s.piece_id,
                &s.match_id,
            ),
            Some(MatchingEvent::SeatFreed(s)) => (
                "DELETE FROM activity_piece_seats \
                 WHERE municipality = $1 AND piece_id = $2 AND match_id = $3",
                &s.piece_id,
                &s.match_id,
            ),
            _ => return Ok(()),
        };
        on_tx!(tx, t => {
            sqlx::query(sql)
                .bind(m)
                .bind(piece.as_str())
                .bind(seat.as_str())
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }
}
