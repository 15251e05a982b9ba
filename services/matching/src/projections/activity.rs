//! `matching.activity`: the activities and pieces people are matched to, learned from activity's
//! events: each activity's host, lifecycle state, form of engagement, application mode, field
//! and place, and each piece's headcount, schedule and required skills. A removed piece, a cancelled activity and a revised piece
//! also leave a seat review owed (`matching_reviews`), which the service's review
//! worker carries out.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_events::activity::{self, ActivityEvent, PieceAdded, Status};
use mosaic_events::matching::ReviewReason;
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};

/// The activity projection.
pub struct Activities;

#[async_trait]
impl EventProjection for Activities {
    type Event = ActivityEvent;
    const CONTEXT: &'static str = activity::CONTEXT;

    fn name(&self) -> &'static str {
        "matching.activity"
    }

    fn wants(&self) -> &'static [&'static str] {
        &[
            "ActivityCreated",
            "ActivityUpdated",
            "PieceAdded",
            "PieceRevised",
            "PieceRemoved",
            "ActivityPublished",
            "ActivityPaused",
            "ActivityResumed",
            "ActivityClosed",
            "ActivityCancelled",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["matching_activities", "matching_pieces"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<ActivityEvent>,
    ) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str();
        use ActivityEvent as E;
        match typed {
            Some(E::ActivityCreated(a) | E::ActivityUpdated(a)) => {
                let d = &a.details;
                let place = serde_json::to_string(&d.place)
                    .map_err(|e| mosaic_projection::unreadable(event, e))?;
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO matching_activities (municipality, activity_id, \
                         host_organisation_id, status, engagement_form, application_mode, field, \
                         place) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (municipality, activity_id) \
                         DO UPDATE SET engagement_form = excluded.engagement_form, \
                         application_mode = excluded.application_mode, field = excluded.field, \
                         place = excluded.place",
                    )
                    .bind(m)
                    .bind(a.activity_id.as_str())
                    .bind(d.host_organisation_id.as_str())
                    .bind(Status::Draft.as_str())
                    .bind(d.engagement_form.as_str())
                    .bind(d.application_mode.as_str())
                    .bind(d.field.as_str())
                    .bind(place)
                    .execute(&mut **t)
                    .await?;
                });
            }
            Some(E::PieceRevised(p)) => {
                upsert_piece(tx, event, m, &p).await?;
                owe_review(
                    tx,
                    event,
                    m,
                    p.piece_id.as_str(),
                    ReviewReason::PieceRevised,
                )
                .await?;
            }
            Some(E::PieceAdded(p)) => {
                upsert_piece(tx, event, m, &p).await?;
            }
            Some(E::PieceRemoved(p)) => {
                on_tx!(tx, t => {
                    sqlx::query(
                        "UPDATE matching_pieces SET removed = TRUE WHERE municipality = $1 AND piece_id = $2",
                    )
                    .bind(m)
                    .bind(p.piece_id.as_str())
                    .execute(&mut **t)
                    .await?;
                });
                owe_review(
                    tx,
                    event,
                    m,
                    p.piece_id.as_str(),
                    ReviewReason::PieceRemoved,
                )
                .await?;
            }
            Some(E::ActivityPublished(a) | E::ActivityResumed(a)) => {
                set_status(tx, m, &a.activity_id, Status::Published).await?;
            }
            Some(E::ActivityPaused(a)) => {
                set_status(tx, m, &a.activity_id, Status::Paused).await?;
            }
            Some(E::ActivityClosed(a)) => {
                set_status(tx, m, &a.activity_id, Status::Closed).await?;
            }
            Some(E::ActivityCancelled(a)) => {
                set_status(tx, m, &a.activity_id, Status::Cancelled).await?;
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO matching_reviews (municipality, position, piece_id, cause) \
                         SELECT municipality, $3, piece_id, $4 FROM matching_pieces \
                         WHERE municipality = $1 AND activity_id = $2 \
                         ON CONFLICT (municipality, position, piece_id) DO NOTHING",
                    )
                    .bind(m)
                    .bind(a.activity_id.as_str())
                    .bind(event.position as i64)
                    .bind(ReviewReason::ActivityCancelled.as_str())
                    .execute(&mut **t)
                    .await?;
                });
            }
            _ => {}
        }
        Ok(())
    }
}

async fn upsert_piece(
    tx: &mut DbTx,
    event: &StoredEvent,
    m: &str,
    p: &PieceAdded,
) -> Result<(), ProjectionError> {
    let schedule = serde_json::to_string(&p.piece.schedule)
        .map_err(|e| mosaic_projection::unreadable(event, e))?;
    let skills = serde_json::to_string(&p.piece.skills)
        .map_err(|e| mosaic_projection::unreadable(event, e))?;
    on_tx!(tx, t => {
        sqlx::query(
            "INSERT INTO matching_pieces (municipality, piece_id, activity_id, removed, \
             headcount, schedule, skills) VALUES ($1, $2, $3, FALSE, $4, $5, $6) \
             ON CONFLICT (municipality, piece_id) DO UPDATE SET \
             headcount = excluded.headcount, schedule = excluded.schedule, \
             skills = excluded.skills",
        )
        .bind(m)
        .bind(p.piece_id.as_str())
        .bind(p.activity_id.as_str())
        .bind(i32::try_from(p.piece.headcount).unwrap_or(i32::MAX))
        .bind(schedule)
        .bind(skills)
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

/// Records that the piece's seats must be reviewed for `reason`, once per activity event.
async fn owe_review(
    tx: &mut DbTx,
    event: &StoredEvent,
    m: &str,
    piece: &str,
    reason: ReviewReason,
) -> Result<(), ProjectionError> {
    on_tx!(tx, t => {
        sqlx::query(
            "INSERT INTO matching_reviews (municipality, position, piece_id, cause) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (municipality, position, piece_id) DO NOTHING",
        )
        .bind(m)
        .bind(event.position as i64)
        .bind(piece)
        .bind(reason.as_str())
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

async fn set_status(
    tx: &mut DbTx,
    municipality: &str,
    activity: &str,
    status: Status,
) -> Result<(), ProjectionError> {
    on_tx!(tx, t => {
        sqlx::query(
            "UPDATE matching_activities SET status = $1 WHERE municipality = $2 AND activity_id = $3",
        )
        .bind(status.as_str())
        .bind(municipality)
        .bind(activity)
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}
