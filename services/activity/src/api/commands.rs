//! The RPCs that design an activity: create, update, pieces, lifecycle, internship.

use mosaic_api::RequestContext;
use mosaic_api::command::{first_answer, load};
use mosaic_api::pipeline::{CommandRequest, Preamble};
use mosaic_api::wire;
use mosaic_proto::v1 as pb;
use mosaic_types::{ActivityId, PieceId};
use tonic::{Request, Status};

use super::{ActivityApi, DESIGNERS, MENTOR_FIELD, not_found, validate, vault_error};
use crate::domain::activity::{Activity, ActivityCommand, stream_id};
use crate::domain::{CloseReason, Internship};

/// New piece ids (UUIDv7, so they sort in the order they were made).
pub(super) fn new_ids<T>(items: Vec<T>) -> Vec<(PieceId, T)> {
    items.into_iter().map(|p| (PieceId::new(), p)).collect()
}

impl ActivityApi {
    /// The current state of an activity, NOT_FOUND if it does not exist here.
    pub(super) async fn require_activity(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<Activity, Status> {
        let (state, _) =
            load::<Activity>(self.store.as_ref(), ctx.municipality, &stream_id(id)).await?;
        if state.activity_id.is_none() {
            return Err(not_found(id));
        }
        Ok(state)
    }

    pub(super) async fn create_activity_impl(
        &self,
        request: Request<pb::CreateActivityRequest>,
    ) -> Result<pb::CreateActivityResponse, Status> {
        let body = request.get_ref();
        let mut m = Preamble::begin(&request, DESIGNERS)?;
        if let Some(first) = first_answer::<pb::Activity>(self.store.as_ref(), &m.ctx).await? {
            let state = self.require_activity(&m.ctx, &first.activity_id).await?;
            let mut first = first;
            self.fill_mentor(&m.ctx, &mut first, &state).await?;
            return Ok(pb::CreateActivityResponse {
                activity: Some(first),
            });
        }
        let details = validate::details(&mut m.errors, "details", body.details.as_ref(), true);
        let pieces = validate::pieces(&mut m.errors, "pieces", &body.pieces);
        let (ctx, at, _) = m.finish()?;
        let Some(details) = details else {
            return Err(Status::invalid_argument("details are required"));
        };
        let host = self.host_facts(&ctx, &details.host_organisation_id).await?;
        let id = ActivityId::new();
        let command = ActivityCommand::Create {
            activity_id: id.clone(),
            details,
            pieces: new_ids(pieces),
            host,
        };
        let activity = self.run(&ctx, &id, None, at, command).await?;
        Ok(pb::CreateActivityResponse {
            activity: Some(activity),
        })
    }

    pub(super) async fn update_activity_impl(
        &self,
        request: Request<pb::UpdateActivityRequest>,
    ) -> Result<pb::UpdateActivityResponse, Status> {
        let body = request.get_ref();
        let mut m = Preamble::begin(&request, DESIGNERS)?;
        let details = validate::details(&mut m.errors, "details", body.details.as_ref(), false);
        let (ctx, at, id) = m.finish()?;
        let Some(mut details) = details else {
            return Err(Status::invalid_argument("details are required"));
        };
        // Checked on a retry too, before its first answer is returned.
        let state = self.require_activity(&ctx, &id).await?;
        let host = state
            .details
            .as_ref()
            .map(|d| d.host_organisation_id.clone())
            .unwrap_or_default();
        let facts = self.host_facts(&ctx, &host).await?;
        details.host_organisation_id = host;
        let activity = self
            .run(
                &ctx,
                &id,
                wire::expected_version(body.expected_version),
                at,
                ActivityCommand::Update {
                    details,
                    host: facts,
                },
            )
            .await?;
        Ok(pb::UpdateActivityResponse {
            activity: Some(activity),
        })
    }

    pub(super) async fn add_piece_impl(
        &self,
        request: Request<pb::AddPieceRequest>,
    ) -> Result<pb::AddPieceResponse, Status> {
        let body = request.get_ref();
        let mut m = Preamble::begin(&request, DESIGNERS)?;
        let piece = validate::piece(&mut m.errors, "piece", body.piece.as_ref());
        let (ctx, at, id) = m.finish()?;
        let Some(piece) = piece else {
            return Err(Status::invalid_argument("piece is required"));
        };
        let command = ActivityCommand::AddPieces {
            pieces: new_ids(vec![piece]),
        };
        let activity = self
            .run(
                &ctx,
                &id,
                wire::expected_version(body.expected_version),
                at,
                command,
            )
            .await?;
        // The answer is the activity right after the addition, also on a retry: its last piece
        // is the one added.
        let piece_id = activity
            .pieces
            .last()
            .map(|p| p.piece_id.clone())
            .unwrap_or_default();
        Ok(pb::AddPieceResponse {
            activity: Some(activity),
            piece_id,
        })
    }

    pub(super) async fn revise_piece_impl(
        &self,
        request: Request<pb::RevisePieceRequest>,
    ) -> Result<pb::RevisePieceResponse, Status> {
        let body = request.get_ref();
        let mut m = Preamble::begin(&request, DESIGNERS)?;
        let piece_id = wire::id(&mut m.errors, "piece_id", &body.piece_id);
        let piece = validate::piece(&mut m.errors, "piece", body.piece.as_ref());
        let (ctx, at, id) = m.finish()?;
        let (Some(piece_id), Some(piece)) = (piece_id, piece) else {
            return Err(Status::invalid_argument("piece is required"));
        };
        let confirmed = self.confirmed_seats(&ctx, &piece_id).await?;
        let activity = self
            .run(
                &ctx,
                &id,
                wire::expected_version(body.expected_version),
                at,
                ActivityCommand::RevisePiece {
                    piece_id: piece_id.into(),
                    piece,
                    confirmed,
                },
            )
            .await?;
        Ok(pb::RevisePieceResponse {
            activity: Some(activity),
        })
    }

    pub(super) async fn remove_piece_impl(
        &self,
        request: Request<pb::RemovePieceRequest>,
    ) -> Result<pb::RemovePieceResponse, Status> {
        let body = request.get_ref();
        let mut m = Preamble::begin(&request, DESIGNERS)?;
        let piece_id = wire::id(&mut m.errors, "piece_id", &body.piece_id);
        let (ctx, at, id) = m.finish()?;
        let piece_id = piece_id.unwrap_or_default();
        let confirmed = self.confirmed_seats(&ctx, &piece_id).await?;
        let command = ActivityCommand::RemovePiece {
            piece_id: piece_id.into(),
            confirmed,
        };
        let activity = self
            .run(
                &ctx,
                &id,
                wire::expected_version(body.expected_version),
                at,
                command,
            )
            .await?;
        Ok(pb::RemovePieceResponse {
            activity: Some(activity),
        })
    }

    /// A lifecycle command that carries nothing but the activity.
    async fn lifecycle<T: CommandRequest>(
        &self,
        request: &Request<T>,
        expected: u64,
        command: ActivityCommand,
    ) -> Result<pb::Activity, Status> {
        let m = Preamble::begin(request, DESIGNERS)?;
        let (ctx, at, id) = m.finish()?;
        self.run(&ctx, &id, wire::expected_version(expected), at, command)
            .await
    }

    pub(super) async fn publish_activity_impl(
        &self,
        request: Request<pb::PublishActivityRequest>,
    ) -> Result<pb::PublishActivityResponse, Status> {
        let b = request.get_ref();
        let activity = self
            .lifecycle(&request, b.expected_version, ActivityCommand::Publish)
            .await?;
        Ok(pb::PublishActivityResponse {
            activity: Some(activity),
        })
    }

    pub(super) async fn pause_activity_impl(
        &self,
        request: Request<pb::PauseActivityRequest>,
    ) -> Result<pb::PauseActivityResponse, Status> {
        let b = request.get_ref();
        let activity = self
            .lifecycle(&request, b.expected_version, ActivityCommand::Pause)
            .await?;
        Ok(pb::PauseActivityResponse {
            activity: Some(activity),
        })
    }

    pub(super) async fn resume_activity_impl(
        &self,
        request: Request<pb::ResumeActivityRequest>,
    ) -> Result<pb::ResumeActivityResponse, Status> {
        let b = request.get_ref();
        let activity = self
            .lifecycle(&request, b.expected_version, ActivityCommand::Resume)
            .await?;
        Ok(pb::ResumeActivityResponse {
            activity: Some(activity),
        })
    }

    pub(super) async fn close_activity_impl(
        &self,
        request: Request<pb::CloseActivityRequest>,
    ) -> Result<pb::CloseActivityResponse, Status> {
        let b = request.get_ref();
        let mut m = Preamble::begin(&request, DESIGNERS)?;
        let reason = m
            .errors
            .required("reason", b.reason, CloseReason::from_wire);
        let (ctx, at, id) = m.finish()?;
        let command = ActivityCommand::Close {
            reason: reason.unwrap_or(CloseReason::Ended),
        };
        let activity = self
            .run(
                &ctx,
                &id,
                wire::expected_version(b.expected_version),
                at,
                command,
            )
            .await?;
        Ok(pb::CloseActivityResponse {
            activity: Some(activity),
        })
    }

    pub(super) async fn cancel_activity_impl(
        &self,
        request: Request<pb::CancelActivityRequest>,
    ) -> Result<pb::CancelActivityResponse, Status> {
        let b = request.get_ref();
        let mut m = Preamble::begin(&request, DESIGNERS)?;
        m.errors.text("reason", &b.reason, validate::REASON_MAX);
        let (ctx, at, id) = m.finish()?;
        let command = ActivityCommand::Cancel {
            reason: b.reason.clone(),
        };
        let activity = self
            .run(
                &ctx,
                &id,
                wire::expected_version(b.expected_version),
                at,
                command,
            )
            .await?;
        Ok(pb::CancelActivityResponse {
            activity: Some(activity),
        })
    }

    pub(super) async fn define_internship_impl(
        &self,
        request: Request<pb::DefineInternshipRequest>,
    ) -> Result<pb::DefineInternshipResponse, Status> {
        let b = request.get_ref();
        let mut m = Preamble::begin(&request, DESIGNERS)?;
        let parts = validate::internship(&mut m.errors, "internship", b.internship.as_ref());
        let (ctx, at, id) = m.finish()?;
        let Some(parts) = parts else {
            return Err(Status::invalid_argument("internship is required"));
        };
        // No key is made for an activity that does not exist here.
        self.require_activity(&ctx, &id).await?;
        // The mentor's name is personal data: sealed under the activity's own key, so erasing
        // that key erases it everywhere it was copied.
        let key = self
            .vault
            .key(ctx.municipality, &id)
            .await
            .map_err(vault_error)?;
        let internship = Internship {
            goal: parts.goal,
            start: parts.start,
            end: parts.end,
            weekly_hours: parts.weekly_hours,
            mentor_name: key.seal(MENTOR_FIELD, &parts.mentor_name),
            milestones: parts.milestones,
        };
        let activity = self
            .run(
                &ctx,
                &id,
                wire::expected_version(b.expected_version),
                at,
                ActivityCommand::DefineInternship { internship },
            )
            .await?;
        Ok(pb::DefineInternshipResponse {
            activity: Some(activity),
        })
    }
}
