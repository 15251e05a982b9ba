//! `AssembleTeam`, `ProposeTeam` and `GetTeam`: mosaic team assembly from the candidate index,
//! recorded on the team's stream (`team-<id>`), and turned into part of the booking workflow
//! one proposal per seat.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mosaic_api::command::{commit, decode, first_answer, new_event, saved_answer};
use mosaic_api::status::from_db;
use mosaic_api::{FieldErrors, RequestContext, wire};
use mosaic_auth::Caller;
use mosaic_db::on_db;
use mosaic_events::matching::{
    EmptySeats, Excluded, ProposedSeat, TeamAssembled, TeamMember, TeamMethod, TeamPiece,
    TeamProposed, TeamQuality,
};
use mosaic_eventstore::{AppendRequest, ExpectedVersion};
use mosaic_proto::v1 as pb;
use mosaic_types::{ActivityId, PieceId, ResidentId, jst_date};
use tonic::{Request, Status};

use super::{MatchingApi, STAFF, match_id, view};
use crate::domain::index::CandidateIndex;
use crate::domain::recommend::Target;
use crate::domain::team::{self, Ask, Empty, Method, Quality};
use crate::domain::{MatchingEvent, Origin};

/// The solver's time when a request names none, and the most it may name.
const DEFAULT_DEADLINE_MS: u32 = 1_000;
const MAX_DEADLINE_MS: u32 = 30_000;
/// Backups per piece when a request names none, and the most it may name.
const DEFAULT_BACKUPS: u32 = 3;
const MAX_BACKUPS: u32 = 10;
/// The most pieces a request may name.
const MAX_PIECES: usize = 500;
/// What a seat's proposal may answer that is a refusal of that seat (a rule, the match or the
/// piece as it stands), not a failure of the call.
const REFUSALS: &[tonic::Code] = &[
    tonic::Code::FailedPrecondition,
    tonic::Code::AlreadyExists,
    tonic::Code::NotFound,
    tonic::Code::PermissionDenied,
];
/// How often a `TeamProposed` append is tried again after another proposal of the same team.
const ATTEMPTS: usize = 8;

/// The stream of an assembled team.
pub fn team_stream(id: &str) -> String {
    format!("team-{id}")
}

/// A team as its stream holds it: as assembled, the matches of the seats proposed, when it was
/// assembled, and the stream's version.
struct Recorded {
    assembled: TeamAssembled,
    proposed: HashMap<(String, String), String>,
    at: DateTime<Utc>,
    version: u64,
}

impl MatchingApi {
    pub(super) async fn assemble_team_impl(
        &self,
        request: Request<pb::AssembleTeamRequest>,
    ) -> Result<pb::AssembleTeamResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        let activity = (!body.activity_id.is_empty())
            .then(|| wire::id(&mut errors, "activity_id", &body.activity_id))
            .flatten();
        let mut pieces: Vec<String> = Vec::new();
        for (i, id) in body.piece_ids.iter().enumerate() {
            let field = format!("piece_ids[{i}]");
            if let Some(id) = wire::id(&mut errors, &field, id) {
                errors.check(!pieces.contains(&id), &field, "names a piece twice");
                pieces.push(id);
            }
        }
        match (body.activity_id.is_empty(), body.piece_ids.is_empty()) {
            (true, true) => errors.add("activity_id", "is required: give activity_id or piece_ids"),
            (false, false) => errors.add("piece_ids", "give activity_id or piece_ids, not both"),
            _ => {}
        }
        errors.check(
            body.piece_ids.len() <= MAX_PIECES,
            "piece_ids",
            &format!("at most {MAX_PIECES} pieces"),
        );
        errors.check(
            body.deadline_ms <= MAX_DEADLINE_MS,
            "deadline_ms",
            &format!("must be 1 to {MAX_DEADLINE_MS} (0: {DEFAULT_DEADLINE_MS})"),
        );
        errors.check(
            body.backups <= MAX_BACKUPS,
            "backups",
            &format!("must be 1 to {MAX_BACKUPS} (0: {DEFAULT_BACKUPS})"),
        );
        let ask = match pb::TeamMethod::try_from(body.method) {
            Ok(pb::TeamMethod::Unspecified) => Ask::Best,
            Ok(pb::TeamMethod::Greedy) => Ask::Greedy,
            _ => {
                errors.add(
                    "method",
                    "only TEAM_METHOD_GREEDY may be asked for (unset: the best the deadline allows)",
                );
                Ask::Best
            }
        };
        errors.finish()?;
        if let Some(first) = first_answer(self.store.as_ref(), &ctx).await? {
            return Ok(first);
        }
        let today = jst_date(ctx.received_at);
        let mut targets = match &activity {
            Some(a) => self.activity_targets(&ctx, a, today).await?,
            None => self.named_targets(&ctx, &pieces, today).await?,
        };
        targets.sort_by_key(order_key);
        for t in &mut targets {
            let id = t.piece.piece_id.to_string();
            t.matched = self.matched(&ctx, super::recommend::Of::Piece(&id)).await?;
        }
        let (policy, _) = self.policy(&ctx).await?;
        self.candidates.refresh(&self.db).await?;
        let (instance, excluded) = {
            let shards = self.candidates.read();
            let empty = CandidateIndex::default();
            let index = shards.get(ctx.municipality.as_str()).unwrap_or(&empty);
            let instance = team::from_index(index, &targets, &policy, today);
            // Why nobody fits, where nobody does: every resident held, checked.
            let excluded: Vec<Vec<Excluded>> = targets
                .iter()
                .zip(&instance.fits)
                .map(|(t, fits)| {
                    if !fits.is_empty() {
                        return Vec::new();
                    }
                    index
                        .exclusions(t, &policy, today)
                        .into_iter()
                        .map(|(f, n)| Excluded {
                            filter: f.code(),
                            residents: n,
                        })
                        .collect()
                })
                .collect();
            (instance, excluded)
        };
        let deadline_ms = if body.deadline_ms == 0 {
            DEFAULT_DEADLINE_MS
        } else {
            body.deadline_ms
        };
        let backups = if body.backups == 0 {
            DEFAULT_BACKUPS
        } else {
            body.backups
        } as usize;
        // The solver computes for up to the deadline: off the request threads, one per core at a
        // time (the deadline counts from its turn).
        let _turn = self
            .solvers
            .acquire()
            .await
            .map_err(|_| Status::unavailable("the service is shutting down"))?;
        let (instance, solved) = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + Duration::from_millis(u64::from(deadline_ms));
            let solved = team::solve(&instance, ask, deadline);
            (instance, solved)
        })
        .await
        .map_err(|e| Status::internal(format!("team assembly failed: {e}")))?;
        let member = |person: usize, score: i64| TeamMember {
            resident_id: instance.people[person].id.clone(),
            score,
        };
        let assembled = TeamAssembled {
            team_id: uuid::Uuid::now_v7().to_string(),
            activity_id: activity.map(ActivityId::from),
            asked_by: ctx.actor(),
            day: today,
            policy_version: policy.version,
            method: match solved.method {
                Method::Exact => TeamMethod::Exact,
                Method::Search => TeamMethod::Search,
                Method::Greedy => TeamMethod::Greedy,
            },
            quality: quality(solved.quality),
            baseline: quality(solved.baseline),
            bound_seats: solved.bound.seats,
            bound_score: solved.bound.score,
            considered: instance.people.len() as u32,
            pieces: targets
                .iter()
                .zip(excluded)
                .enumerate()
                .map(|(p, (t, excluded))| {
                    let mut members: Vec<TeamMember> = solved.team.on[p]
                        .iter()
                        .map(|&r| member(r, instance.score(p, r).unwrap_or(0)))
                        .collect();
                    members.sort_by(|a, b| {
                        b.score
                            .cmp(&a.score)
                            .then_with(|| a.resident_id.cmp(&b.resident_id))
                    });
                    let empty = solved.empty(&instance, p).map(|e| match e {
                        Empty::NoneFit => EmptySeats::NoOneFits,
                        Empty::Team => EmptySeats::Team,
                    });
                    TeamPiece {
                        piece_id: t.piece.piece_id.clone(),
                        activity_id: t.piece.activity_id.clone(),
                        open_seats: t.open_seats,
                        members,
                        backups: instance
                            .backups(&solved.team, p, backups)
                            .into_iter()
                            .map(|f| member(f.person, f.score))
                            .collect(),
                        excluded: if empty == Some(EmptySeats::NoOneFits) {
                            excluded
                        } else {
                            Vec::new()
                        },
                        empty,
                    }
                })
                .collect(),
        };
        let answer = pb::AssembleTeamResponse {
            team: Some(team_view(&assembled, &HashMap::new(), ctx.received_at)),
        };
        let request = AppendRequest {
            municipality: ctx.municipality,
            stream_id: team_stream(&assembled.team_id),
            expected: ExpectedVersion::NoStream,
            events: vec![new_event(
                &MatchingEvent::TeamAssembled(assembled),
                ctx.received_at,
            )?],
            meta: ctx.meta(),
            response: Some(saved_answer(&answer)),
            also: Vec::new(),
        };
        // A new team's stream is new: nothing else writes it.
        commit(self.store.as_ref(), request, answer)
            .await?
            .ok_or_else(|| Status::aborted("the team's stream was written meanwhile; retry"))
    }

    pub(super) async fn propose_team_impl(
        &self,
        request: Request<pb::ProposeTeamRequest>,
    ) -> Result<pb::ProposeTeamResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        let team_id = wire::id(&mut errors, "team_id", &body.team_id).unwrap_or_default();
        let ids = |errors: &mut FieldErrors, field: &str, ids: &[String]| -> Vec<String> {
            ids.iter()
                .enumerate()
                .filter_map(|(i, id)| wire::id(errors, &format!("{field}[{i}]"), id))
                .collect()
        };
        let only_pieces = ids(&mut errors, "piece_ids", &body.piece_ids);
        let only_residents = ids(&mut errors, "resident_ids", &body.resident_ids);
        errors.finish()?;
        let recorded = self.read_team(&ctx, &team_id).await?;
        let pieces = &recorded.assembled.pieces;
        let mut errors = FieldErrors::new();
        for (i, id) in only_pieces.iter().enumerate() {
            errors.check(
                pieces.iter().any(|p| p.piece_id.as_str() == id),
                &format!("piece_ids[{i}]"),
                &format!("piece {id} is not a piece of team {team_id}"),
            );
        }
        for (i, id) in only_residents.iter().enumerate() {
            errors.check(
                pieces
                    .iter()
                    .any(|p| p.members.iter().any(|m| m.resident_id.as_str() == id)),
                &format!("resident_ids[{i}]"),
                &format!("resident {id} holds no seat of team {team_id}"),
            );
        }
        errors.finish()?;
        if let Some(first) = first_answer(self.store.as_ref(), &ctx).await? {
            return Ok(first);
        }
        let wanted = |piece: &PieceId, resident: &ResidentId| {
            (only_pieces.is_empty() || only_pieces.iter().any(|p| p == piece.as_str()))
                && (only_residents.is_empty()
                    || only_residents.iter().any(|r| r == resident.as_str()))
        };
        let mut seats = Vec::new();
        let mut opened = Vec::new();
        for piece in &recorded.assembled.pieces {
            for m in &piece.members {
                if !wanted(&piece.piece_id, &m.resident_id) {
                    continue;
                }
                let key = (piece.piece_id.to_string(), m.resident_id.to_string());
                let mut seat = pb::SeatProposal {
                    piece_id: key.0.clone(),
                    resident_id: key.1.clone(),
                    ..Default::default()
                };
                if let Some(id) = recorded.proposed.get(&key) {
                    let (state, version, history) = self.read_match(&ctx, id).await?;
                    let life = mosaic_api::pipeline::Lifetime::of_history(&history);
                    seat.r#match = view::the_match(id, &state, version, &life);
                    seat.already_proposed = true;
                    seats.push(seat);
                    continue;
                }
                // One key per seat of the team: the seat is proposed once, whoever repeats it.
                let step = pb::ProposeRequest {
                    piece_id: key.0.clone(),
                    resident_id: key.1.clone(),
                    ..Default::default()
                };
                let seat_ctx = ctx
                    .clone()
                    .with_step_key(&format!("team:{team_id}:{}:{}", key.0, key.1), &step);
                match self
                    .open(
                        &seat_ctx,
                        ctx.received_at,
                        piece.piece_id.clone(),
                        m.resident_id.clone(),
                        Origin::Proposal,
                    )
                    .await
                {
                    Ok(the_match) => {
                        seat.r#match = the_match;
                        opened.push(ProposedSeat {
                            piece_id: piece.piece_id.clone(),
                            resident_id: m.resident_id.clone(),
                            match_id: match_id(&piece.piece_id, &m.resident_id),
                        });
                    }
                    // A rule refused the seat: say so, and go on with the others.
                    Err(refused) if REFUSALS.contains(&refused.code()) => {
                        seat.refused = refused.message().to_owned();
                    }
                    // Anything else (a store unavailable, a conflict lost too often) fails the
                    // call without saving an answer: a retry proposes the seats not yet proposed
                    // and finds the others by their step keys.
                    Err(e) => return Err(e),
                }
                seats.push(seat);
            }
        }
        let answer = pb::ProposeTeamResponse {
            team_id: team_id.clone(),
            seats,
        };
        let mut version = recorded.version;
        for _ in 0..ATTEMPTS {
            let event = MatchingEvent::TeamProposed(TeamProposed {
                team_id: team_id.clone(),
                seats: opened.clone(),
            });
            let request = AppendRequest {
                municipality: ctx.municipality,
                stream_id: team_stream(&team_id),
                expected: ExpectedVersion::Exact(version),
                events: if opened.is_empty() {
                    Vec::new()
                } else {
                    vec![new_event(&event, ctx.received_at)?]
                },
                meta: ctx.meta(),
                response: Some(saved_answer(&answer)),
                also: Vec::new(),
            };
            if let Some(answer) = commit(self.store.as_ref(), request, answer.clone()).await? {
                return Ok(answer);
            }
            // Another proposal of the team was recorded meanwhile: record after it what it did
            // not record (a seat both proposed was proposed once, by its step key).
            let now = self.read_team(&ctx, &team_id).await?;
            opened.retain(|s| {
                !now.proposed
                    .contains_key(&(s.piece_id.to_string(), s.resident_id.to_string()))
            });
            version = now.version;
        }
        Err(Status::aborted(format!(
            "team {team_id}: other proposals of it kept coming first; retry"
        )))
    }

    pub(super) async fn get_team_impl(
        &self,
        request: Request<pb::GetTeamRequest>,
    ) -> Result<pb::GetTeamResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let ctx = RequestContext::query(&request)?;
        let mut errors = FieldErrors::new();
        let id = wire::id(&mut errors, "team_id", &request.get_ref().team_id);
        errors.finish()?;
        let recorded = self.read_team(&ctx, &id.unwrap_or_default()).await?;
        Ok(pb::GetTeamResponse {
            team: Some(team_view(
                &recorded.assembled,
                &recorded.proposed,
                recorded.at,
            )),
        })
    }

    /// A team's stream, folded; NOT_FOUND if there is none in the caller's municipality.
    async fn read_team(&self, ctx: &RequestContext, id: &str) -> Result<Recorded, Status> {
        let history = self
            .store
            .read_stream(ctx.municipality, &team_stream(id))
            .await
            .map_err(mosaic_api::status::from_store)?;
        let mut recorded: Option<Recorded> = None;
        for stored in &history {
            match (decode::<MatchingEvent>(stored)?, &mut recorded) {
                (MatchingEvent::TeamAssembled(assembled), None) => {
                    recorded = Some(Recorded {
                        assembled,
                        proposed: HashMap::new(),
                        at: stored.occurred_at,
                        version: stored.version,
                    });
                }
                (MatchingEvent::TeamProposed(p), Some(r)) => {
                    for s in p.seats {
                        r.proposed.insert(
                            (s.piece_id.to_string(), s.resident_id.to_string()),
                            s.match_id.to_string(),
                        );
                    }
                    r.version = stored.version;
                }
                _ => {}
            }
        }
        recorded.ok_or_else(|| mosaic_api::pipeline::not_found("team", id))
    }

    /// The open pieces of an activity; NOT_FOUND if matching knows no such activity,
    /// FAILED_PRECONDITION if it is not published or none of its pieces has an open seat.
    async fn activity_targets(
        &self,
        ctx: &RequestContext,
        activity: &str,
        today: chrono::NaiveDate,
    ) -> Result<Vec<Target>, Status> {
        let status: Option<String> = on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT status FROM matching_activities WHERE municipality = $1 \
                 AND activity_id = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(activity)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        match status.as_deref() {
            None => return Err(mosaic_api::pipeline::not_found("activity", activity)),
            Some("published") => {}
            Some(other) => {
                return Err(Status::failed_precondition(format!(
                    "activity {activity} is {other}: only a published activity's pieces take people"
                )));
            }
        }
        let targets: Vec<Target> = self
            .pieces_of(ctx, activity)
            .await?
            .into_iter()
            .filter(|t| t.open(today).is_ok())
            .collect();
        if targets.is_empty() {
            return Err(Status::failed_precondition(format!(
                "no piece of activity {activity} has an open seat"
            )));
        }
        Ok(targets)
    }

    /// Named pieces, each of which must take people now.
    async fn named_targets(
        &self,
        ctx: &RequestContext,
        pieces: &[String],
        today: chrono::NaiveDate,
    ) -> Result<Vec<Target>, Status> {
        let mut targets = Vec::with_capacity(pieces.len());
        for (i, id) in pieces.iter().enumerate() {
            let Some(target) = self.target(ctx, id).await? else {
                return Err(Status::not_found(format!(
                    "piece_ids[{i}]: piece {id} does not exist in this municipality"
                )));
            };
            if let Err(why) = target.open(today) {
                return Err(Status::failed_precondition(format!(
                    "piece_ids[{i}]: piece {id} takes nobody now: {}",
                    view::filter_text(why)
                )));
            }
            targets.push(target);
        }
        Ok(targets)
    }
}

/// The order pieces are listed and the baseline fills them in: weekday, start, id.
fn order_key(t: &Target) -> (i32, u16, PieceId) {
    let first = t.commitment.slots.first();
    (
        first.map_or(0, |w| w.weekday().wire()),
        first.map_or(0, |w| w.start()),
        t.piece.piece_id.clone(),
    )
}

fn quality(q: Quality) -> TeamQuality {
    TeamQuality {
        seats_filled: q.filled,
        seats_open: q.open,
        score: q.score,
        handovers: q.handovers,
    }
}

fn quality_view(q: &TeamQuality) -> pb::TeamQuality {
    pb::TeamQuality {
        seats_filled: q.seats_filled,
        seats_open: q.seats_open,
        score: q.score,
        handovers: q.handovers,
    }
}

/// A recorded team as answers show it; `proposed` gives the match of each seat proposed.
fn team_view(
    a: &TeamAssembled,
    proposed: &HashMap<(String, String), String>,
    at: DateTime<Utc>,
) -> pb::Team {
    let q = &a.quality;
    let seats_gap = if a.bound_seats == 0 {
        0.0
    } else {
        f64::from(a.bound_seats - q.seats_filled.min(a.bound_seats)) / f64::from(a.bound_seats)
    };
    let score_gap = if q.seats_filled == a.bound_seats && a.bound_score > 0 {
        (a.bound_score - q.score).max(0) as f64 / a.bound_score as f64
    } else {
        0.0
    };
    let member = |piece: &PieceId, m: &TeamMember, seat: bool| pb::TeamMember {
        resident_id: m.resident_id.to_string(),
        score: m.score,
        match_id: if seat {
            proposed
                .get(&(piece.to_string(), m.resident_id.to_string()))
                .cloned()
                .unwrap_or_default()
        } else {
            String::new()
        },
    };
    pb::Team {
        team_id: a.team_id.clone(),
        activity_id: a
            .activity_id
            .as_ref()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        policy_version: a.policy_version,
        method: a.method.wire(),
        quality: Some(quality_view(&a.quality)),
        baseline: Some(quality_view(&a.baseline)),
        bound: Some(pb::TeamBound {
            seats: a.bound_seats,
            score: a.bound_score,
            seats_gap,
            score_gap,
        }),
        pieces: a
            .pieces
            .iter()
            .map(|p| pb::TeamPiece {
                piece_id: p.piece_id.to_string(),
                activity_id: p.activity_id.to_string(),
                open_seats: p.open_seats,
                members: p
                    .members
                    .iter()
                    .map(|m| member(&p.piece_id, m, true))
                    .collect(),
                backups: p
                    .backups
                    .iter()
                    .map(|m| member(&p.piece_id, m, false))
                    .collect(),
                empty: p.empty.map_or(0, |e| e.wire()),
                excluded: p
                    .excluded
                    .iter()
                    .map(|e| pb::FilterCount {
                        filter: e.filter.wire(),
                        residents: e.residents,
                    })
                    .collect(),
            })
            .collect(),
        considered: a.considered,
        assembled_at: Some(mosaic_api::occurred_at::timestamp(at)),
    }
}
