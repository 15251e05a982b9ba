//! `DecomposeJob`: propose the pieces of a job (pure, deterministic), and with `define` add them
//! to an activity in one command, so a coordinator confirms exactly what was proposed.

use mosaic_api::fields::invalid;
use mosaic_api::pipeline::Preamble;
use mosaic_api::wire;
use mosaic_api::{FieldErrors, RequestContext};
use mosaic_auth::Caller;
use mosaic_proto::v1 as pb;
use tonic::{Request, Status};

use super::commands::new_ids;
use super::{ActivityApi, DESIGNERS, validate, view};
use crate::domain::activity::ActivityCommand;
use crate::domain::decompose::{ProposedPiece, decompose};
use crate::domain::{PieceDetails, Schedule};

fn hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// A proposed piece as a weekly piece from `from` to `to`, titled by its tasks and time.
fn piece(
    p: &ProposedPiece,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    skip: bool,
) -> PieceDetails {
    let title = format!(
        "{} {} {}–{}",
        p.tasks.join("・"),
        p.window.weekday().as_str(),
        hhmm(p.window.start()),
        hhmm(p.window.end())
    );
    PieceDetails {
        title: title.chars().take(validate::TITLE_MAX).collect(),
        skills: p.skills.clone(),
        schedule: Schedule::Weekly {
            window: p.window,
            from,
            to,
            exceptions: Vec::new(),
            skip_national_holidays: skip,
        },
        headcount: p.seats,
        expected_minutes: p.minutes,
    }
}

impl ActivityApi {
    pub(super) async fn decompose_job_impl(
        &self,
        request: Request<pb::DecomposeJobRequest>,
    ) -> Result<pb::DecomposeJobResponse, Status> {
        let b = request.get_ref();
        if !b.define {
            Caller::from_request(&request)?.require_role(DESIGNERS)?;
            let _ctx = RequestContext::query(&request)?;
            let mut errors = FieldErrors::new();
            let job = validate::job(&mut errors, b);
            errors.finish()?;
            let Some(job) = job else {
                return Err(Status::invalid_argument("granularity is required"));
            };
            let d = decompose(&job).map_err(|e| invalid(&e.field, e.reason))?;
            return Ok(pb::DecomposeJobResponse {
                pieces: d.pieces.iter().map(view::proposed).collect(),
                explanation: d.explanation,
                activity: None,
            });
        }
        let mut m = Preamble::begin(&request, DESIGNERS)?;
        let job = validate::job(&mut m.errors, b);
        let from = validate::date(&mut m.errors, "first_day", b.first_day.as_ref());
        let to = validate::date(&mut m.errors, "last_day", b.last_day.as_ref());
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            m.errors.add("last_day", "must be on or after first_day");
        }
        let (ctx, at, id) = m.finish()?;
        let (Some(job), Some(from), Some(to)) = (job, from, to) else {
            return Err(Status::invalid_argument(
                "granularity, from and to are required",
            ));
        };
        let d = decompose(&job).map_err(|e| invalid(&e.field, e.reason))?;
        let pieces: Vec<PieceDetails> = d
            .pieces
            .iter()
            .map(|p| piece(p, from, to, b.skip_national_holidays))
            .collect();
        let command = ActivityCommand::AddPieces {
            pieces: new_ids(pieces),
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
        Ok(pb::DecomposeJobResponse {
            pieces: d.pieces.iter().map(view::proposed).collect(),
            explanation: d.explanation,
            activity: Some(activity),
        })
    }
}
