//! The review worker: carries out the seat reviews that `matching.activity` records when activity
//! removes a piece, cancels an activity or revises a piece.
//!
//! A review appends `SeatsReviewed` to the piece's seats stream at the version it read, then ends
//! the confirmed matches the piece can no longer hold (and, for a removed piece or a cancelled
//! activity, its open ones) with `MatchEnded`, freeing each resident's commitment. A confirmation
//! reads the piece's facts after its seats, so either it read the facts activity's change left
//! (and decides on them), or it read the seats before the review's marker (and its append,
//! expecting the older version, is decided again), or it committed before the review read the
//! seats (and the review ends it if it no longer fits). Every step can be repeated: a match ended
//! already is left alone, so two replicas, or a restart half-way, end each match once.

use std::time::Duration;

use mosaic_api::RequestContext;
use mosaic_api::command::new_event;
use mosaic_api::status::{from_db, from_store};
use mosaic_db::on_db;
use mosaic_eventstore::{AppendRequest, StoreError};
use mosaic_proto::v1 as pb;
use mosaic_types::{MatchId, MunicipalityCode, PieceId};
use tokio::sync::watch;
use tonic::Status;

use super::booking::{Step, expect, fold};
use super::{MatchingApi, seats_stream};
use crate::domain::{Command, EndCause, ReviewReason, Seats, review};
use crate::projections::matches::OPEN;

/// Reviews taken per round.
const BATCH: i64 = 50;
/// How long the worker rests when nothing is owed.
const IDLE: Duration = Duration::from_millis(200);
/// How often a review is tried again after its seats moved under it.
const ATTEMPTS: usize = 16;

type Owed = (String, i64, String, String);

/// The matching context acting on its own account: recorded as `matching` in the events.
pub(super) fn system(municipality: MunicipalityCode) -> RequestContext {
    RequestContext::system(crate::CONTEXT, municipality)
}

impl MatchingApi {
    /// Carries out owed reviews and releases until `stopping` turns true.
    pub async fn review_loop(self, stopping: watch::Receiver<bool>) {
        mosaic_api::rounds::rounds(stopping, IDLE, "seat reviews", || async {
            Ok(self.review_owed().await? + self.release_owed().await?)
        })
        .await;
    }

    /// One round of owed releases, oldest first: each confirmed match whose engagement
    /// follow-up ended is ended, freeing its seat; how many were carried out.
    async fn release_owed(&self) -> Result<usize, Status> {
        let owed: Vec<(String, i64, String, i64)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT municipality, position, match_id, match_version FROM matching_releases \
                 WHERE done = FALSE ORDER BY municipality, position LIMIT $1",
            )
            .bind(BATCH)
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        for (municipality, position, match_id, version) in &owed {
            if let Ok(m) = MunicipalityCode::parse(municipality) {
                let done = match self.release(&system(m), match_id, *version as u64).await {
                    // An unreadable stream would fail every round: given up, logged.
                    Err(e) if e.code() == tonic::Code::Internal => {
                        tracing::error!(match_id, error = %e.message(), "a release is given up");
                        true
                    }
                    other => other?,
                };
                if !done {
                    continue;
                }
            }
            on_db!(&self.db, pool => {
                sqlx::query(
                    "UPDATE matching_releases SET done = TRUE \
                     WHERE municipality = $1 AND position = $2",
                )
                .bind(municipality)
                .bind(position)
                .execute(pool)
                .await
                .map_err(from_db)?;
            });
        }
        Ok(owed.len())
    }

    /// Ends a match whose engagement ended, if the confirmation it followed (the one written at
    /// `version` of the match's stream) still holds; false if the match moved while it was
    /// decided (the release is owed still, and checked again next round).
    async fn release(&self, ctx: &RequestContext, id: &str, version: u64) -> Result<bool, Status> {
        let (state, read, history) = self.read_match(ctx, id).await?;
        let confirmed_at = history
            .iter()
            .rev()
            .find(|e| e.event_type == "MatchConfirmed")
            .map(|e| e.version);
        if state.stage != crate::domain::Stage::Confirmed || confirmed_at != Some(version) {
            return Ok(true);
        }
        let step = Step {
            match_id: MatchId::from(id),
            pair: None,
            // Only the match as checked: a round opened since is not this release's to end.
            expected: Some(read),
            at: mosaic_types::now_utc(),
            command: Command::End {
                cause: EndCause::EngagementEnded,
            },
            allow: &|_, _, _| Ok(()),
        };
        match self.book(ctx, step).await {
            Ok(_) => Ok(true),
            // The match moved meanwhile: check again next round.
            Err(e) if e.code() == tonic::Code::Aborted => Ok(false),
            // Nothing left to release (it ended otherwise).
            Err(e) if e.code() == tonic::Code::FailedPrecondition => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// One round of owed reviews, oldest first; how many were carried out.
    async fn review_owed(&self) -> Result<usize, Status> {
        let owed: Vec<Owed> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT municipality, position, piece_id, cause FROM matching_reviews \
                 WHERE done = FALSE ORDER BY municipality, position LIMIT $1",
            )
            .bind(BATCH)
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        for (municipality, position, piece, cause) in &owed {
            let (Ok(m), Some(reason)) = (
                MunicipalityCode::parse(municipality),
                ReviewReason::ALL
                    .iter()
                    .copied()
                    .find(|r| r.as_str() == cause),
            ) else {
                tracing::error!(
                    municipality,
                    position,
                    piece,
                    "an unreadable seat review is skipped"
                );
                continue;
            };
            self.review_piece(&system(m), &PieceId::from(piece.as_str()), reason)
                .await?;
            on_db!(&self.db, pool => {
                sqlx::query(
                    "UPDATE matching_reviews SET done = TRUE \
                     WHERE municipality = $1 AND position = $2 AND piece_id = $3",
                )
                .bind(municipality)
                .bind(position)
                .bind(piece)
                .execute(pool)
                .await
                .map_err(from_db)?;
            });
        }
        Ok(owed.len())
    }

    /// Reviews one piece's seats for `reason`.
    async fn review_piece(
        &self,
        ctx: &RequestContext,
        piece: &PieceId,
        reason: ReviewReason,
    ) -> Result<(), Status> {
        let stream = seats_stream(piece);
        for _ in 0..ATTEMPTS {
            let history = self
                .store
                .read_stream(ctx.municipality, &stream)
                .await
                .map_err(from_store)?;
            let (seats, version) = fold(&history, Seats::evolve)?;
            let facts = self.piece(ctx, piece).await?;
            let r = review(facts.as_ref(), &seats, piece, reason);
            let marker = AppendRequest {
                municipality: ctx.municipality,
                stream_id: stream.clone(),
                expected: expect(version),
                events: vec![new_event(&r.marker, ctx.received_at)?],
                meta: ctx.meta(),
                response: None,
                also: Vec::new(),
            };
            match self.store.append(marker).await {
                Ok(_) => {}
                // A confirmation got in since the seats were read: review what it wrote.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(from_store(e)),
            }
            let mut end = r.end;
            let closing = match reason {
                ReviewReason::PieceRemoved => Some(EndCause::PieceRemoved),
                ReviewReason::ActivityCancelled => Some(EndCause::ActivityCancelled),
                ReviewReason::PieceRevised => None,
            };
            if let Some(cause) = closing {
                let open = self.open_matches(ctx, piece).await?;
                end.extend(open.into_iter().map(|id| (id, cause)));
            }
            for (id, cause) in end {
                self.end_match(ctx, id, cause).await?;
            }
            return Ok(());
        }
        Err(Status::aborted(format!(
            "piece {piece}: its seats kept moving during {ATTEMPTS} reviews"
        )))
    }

    /// The piece's open matches, as the list read model has them.
    async fn open_matches(
        &self,
        ctx: &RequestContext,
        piece: &PieceId,
    ) -> Result<Vec<MatchId>, Status> {
        let ids: Vec<String> = on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT match_id FROM matching_matches WHERE municipality = $1 AND piece_id = $2 \
                 AND stage = $3 ORDER BY seq",
            )
            .bind(ctx.municipality.as_str())
            .bind(piece.as_str())
            .bind(OPEN)
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        Ok(ids.into_iter().map(MatchId::from).collect())
    }

    /// Ends one match for `cause`, freeing its seat and commitment if it held them.
    async fn end_match(
        &self,
        ctx: &RequestContext,
        id: MatchId,
        cause: EndCause,
    ) -> Result<pb::Match, Status> {
        let step = Step {
            match_id: id,
            pair: None,
            expected: None,
            at: ctx.received_at,
            command: Command::End { cause },
            allow: &|_, _, _| Ok(()),
        };
        self.book(ctx, step).await
    }
}
