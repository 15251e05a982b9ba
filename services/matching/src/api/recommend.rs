//! `RecommendResidents` and `RecommendPieces`: validate → the piece (or pieces) and the policy →
//! refresh the candidate index → rank → record, if asked → answer.

use mosaic_api::status::from_db;
use mosaic_api::{FieldErrors, RequestContext, wire};
use mosaic_auth::{Caller, Role};
use mosaic_db::on_db;
use mosaic_events::activity::Place;
use mosaic_proto::v1 as pb;
use mosaic_types::{Field, PieceId, Skill, jst_date};
use tonic::{Request, Status};

use super::facts::{host_facts, piece_facts, stored};
use super::{MatchingApi, STAFF, view};
use crate::domain::index::{Explained, Ranked, recommend_pieces};
use crate::domain::recommend::{Filter, Target};
use crate::domain::{RecommendationKind, RecordedRecommendation, Shown};
use crate::projections::matches::{CONFIRMED, OPEN};

/// Answers when a request names no `k`.
const DEFAULT_K: u32 = 10;
/// The most a request may ask for.
const MAX_K: u32 = 100;

/// Who may ask for pieces: staff, and residents for themselves.
const PIECE_ASKERS: &[Role] = &[
    Role::Resident,
    Role::Coordinator,
    Role::MunicipalityOfficer,
    Role::Operator,
];

/// A piece as the read models hold it, with what recommendations add.
#[derive(sqlx::FromRow)]
struct TargetRow {
    piece_id: String,
    activity_id: String,
    host_organisation_id: String,
    status: String,
    removed: bool,
    headcount: i32,
    engagement_form: String,
    application_mode: String,
    schedule: String,
    suspended: Option<bool>,
    licences: Option<String>,
    field: Option<String>,
    place: Option<String>,
    skills: Option<String>,
    confirmed: i64,
}

impl TargetRow {
    fn target(self) -> Result<Target, Status> {
        let unreadable = || {
            Status::internal(format!(
                "piece {} is unreadable in the read model",
                self.piece_id
            ))
        };
        let field = self
            .field
            .as_deref()
            .and_then(stored::<Field>)
            .ok_or_else(unreadable)?;
        let place: Place = self
            .place
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .ok_or_else(unreadable)?;
        let skills: Vec<Skill> = self
            .skills
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or_else(unreadable)?;
        let open_seats = u32::try_from(i64::from(self.headcount) - self.confirmed).unwrap_or(0);
        let host = host_facts(
            self.suspended.unwrap_or(false),
            self.licences.as_deref().unwrap_or(""),
        );
        let piece = piece_facts(
            &self.piece_id,
            (
                self.activity_id,
                self.host_organisation_id,
                self.status,
                self.removed,
                self.headcount,
                self.engagement_form,
                self.application_mode,
                self.schedule,
            ),
        )?;
        Ok(Target::new(piece, host, skills, field, place, open_seats))
    }
}

const TARGETS: &str = "SELECT p.piece_id, p.activity_id, a.host_organisation_id, a.status, \
     p.removed, p.headcount, a.engagement_form, a.application_mode, p.schedule, h.suspended, \
     h.licences, a.field, a.place, p.skills, (SELECT COUNT(*) FROM matching_matches mm \
     WHERE mm.municipality = p.municipality AND mm.piece_id = p.piece_id AND mm.stage = 2) \
     AS confirmed FROM matching_pieces p JOIN matching_activities a \
     ON a.municipality = p.municipality AND a.activity_id = p.activity_id \
     LEFT JOIN matching_hosts h ON h.municipality = p.municipality \
     AND h.organisation_id = a.host_organisation_id WHERE p.municipality = $1";

/// `k` of a request: 0 is the default.
fn k_of(errors: &mut FieldErrors, k: u32) -> usize {
    errors.check(
        k <= MAX_K,
        "k",
        &format!("must be 1 to {MAX_K} (0: {DEFAULT_K})"),
    );
    (if k == 0 { DEFAULT_K } else { k.min(MAX_K) }) as usize
}

/// An optional id to explain.
fn explain_of(errors: &mut FieldErrors, field: &str, id: &str) -> Option<String> {
    if id.is_empty() {
        None
    } else {
        wire::id(errors, field, id)
    }
}

impl MatchingApi {
    /// One piece as a target; `None` if matching knows no such piece.
    pub(super) async fn target(
        &self,
        ctx: &RequestContext,
        piece: &str,
    ) -> Result<Option<Target>, Status> {
        let row: Option<TargetRow> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{TARGETS} AND p.piece_id = $2")))
                .bind(ctx.municipality.as_str())
                .bind(piece)
                .fetch_optional(pool)
                .await
                .map_err(from_db)?
        });
        row.map(TargetRow::target).transpose()
    }

    /// Every piece of an activity that was not removed.
    pub(super) async fn pieces_of(
        &self,
        ctx: &RequestContext,
        activity: &str,
    ) -> Result<Vec<Target>, Status> {
        let rows: Vec<TargetRow> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{TARGETS} AND p.activity_id = $2 AND NOT p.removed ORDER BY p.piece_id"
            )))
            .bind(ctx.municipality.as_str())
            .bind(activity)
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        rows.into_iter().map(TargetRow::target).collect()
    }

    /// Every piece of a published activity that was not removed.
    async fn open_targets(&self, ctx: &RequestContext) -> Result<Vec<Target>, Status> {
        let rows: Vec<TargetRow> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{TARGETS} AND a.status = 'published' AND NOT p.removed ORDER BY p.piece_id"
            )))
            .bind(ctx.municipality.as_str())
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        rows.into_iter().map(TargetRow::target).collect()
    }

    /// The ids on the other side of the open and confirmed matches of a piece or a resident.
    pub(super) async fn matched<T: From<String> + Ord>(
        &self,
        ctx: &RequestContext,
        of: Of<'_>,
    ) -> Result<Vec<T>, Status> {
        let (column, other, id) = match of {
            Of::Piece(id) => ("piece_id", "resident_id", id),
            Of::Resident(id) => ("resident_id", "piece_id", id),
        };
        let ids: Vec<String> = on_db!(&self.db, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT {other} FROM matching_matches WHERE municipality = $1 AND {column} = $2 \
                 AND stage IN ($3, $4)"
            )))
            .bind(ctx.municipality.as_str())
            .bind(id)
            .bind(OPEN)
            .bind(CONFIRMED)
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        let mut ids: Vec<T> = ids.into_iter().map(T::from).collect();
        ids.sort();
        Ok(ids)
    }

    /// Why a resident the index does not hold cannot be recommended; NOT_FOUND if matching
    /// knows no such resident.
    async fn not_held(
        &self,
        ctx: &RequestContext,
        field: &str,
        id: &str,
    ) -> Result<Filter, Status> {
        match self.facts(ctx, id, "").await?.0 {
            None => Err(Status::not_found(format!(
                "{field}: resident {id} does not exist in this municipality"
            ))),
            Some(r) if !r.active => Ok(Filter::Inactive),
            Some(r) if !r.matching_consent => Ok(Filter::NoConsent),
            // Active and consenting, yet not held: the index has not read them yet.
            Some(_) => Err(Status::unavailable(format!(
                "{field}: resident {id} is not in the candidate index yet; retry in a moment"
            ))),
        }
    }

    /// Records an answer if the request asks to (by default, when a coordinator asks); its id,
    /// empty when not recorded.
    async fn record_if_asked<I: ToString>(
        &self,
        ctx: &RequestContext,
        asked: Asked<'_>,
        ranked: &Ranked<I>,
    ) -> Result<String, Status> {
        if !asked.record.unwrap_or(ctx.caller.role == Role::Coordinator) {
            return Ok(String::new());
        }
        let id = uuid::Uuid::now_v7().to_string();
        let recorded = RecordedRecommendation {
            recommendation_id: id.clone(),
            kind: asked.kind,
            subject_id: asked.subject_id.to_owned(),
            asked_by: ctx.actor(),
            policy_version: asked.policy.version,
            day: jst_date(ctx.received_at),
            k: asked.k as u32,
            considered: ranked.considered,
            shown: ranked
                .top
                .iter()
                .map(|(id, score)| Shown {
                    id: id.to_string(),
                    score: score.total,
                })
                .collect(),
        };
        self.recorder.record(ctx.municipality, recorded).await?;
        Ok(id)
    }

    pub(super) async fn recommend_residents_impl(
        &self,
        request: Request<pb::RecommendResidentsRequest>,
    ) -> Result<pb::RecommendResidentsResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let ctx = RequestContext::query(&request)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let piece = wire::id(&mut errors, "piece_id", &body.piece_id);
        let k = k_of(&mut errors, body.k);
        let explain = explain_of(
            &mut errors,
            "explain_resident_id",
            &body.explain_resident_id,
        );
        errors.finish()?;
        let piece = piece.unwrap_or_default();
        let today = jst_date(ctx.received_at);
        let Some(mut target) = self.target(&ctx, &piece).await? else {
            return Err(mosaic_api::pipeline::not_found("piece", &piece));
        };
        if let Err(why) = target.open(today) {
            return Err(Status::failed_precondition(format!(
                "piece {piece} takes nobody now: {}",
                view::filter_text(why)
            )));
        }
        target.matched = self.matched(&ctx, Of::Piece(&piece)).await?;
        let (policy, _) = self.policy(&ctx).await?;
        self.candidates.refresh(&self.db).await?;
        let mut ranked = {
            let shards = self.candidates.read();
            match shards.get(ctx.municipality.as_str()) {
                Some(index) => index.recommend(&target, &policy, today, k, explain.as_deref()),
                None => Ranked {
                    top: Vec::new(),
                    considered: 0,
                    explained: None,
                },
            }
        };
        if let (Some(id), None) = (&explain, &ranked.explained) {
            let why = self.not_held(&ctx, "explain_resident_id", id).await?;
            ranked.explained = Some(Explained::Excluded(why));
        }
        let asked = Asked {
            kind: RecommendationKind::ResidentsForPiece,
            subject_id: &piece,
            policy: &policy,
            k,
            record: body.record,
        };
        let recommendation_id = self.record_if_asked(&ctx, asked, &ranked).await?;
        Ok(pb::RecommendResidentsResponse {
            piece_id: piece,
            policy_version: policy.version,
            residents: ranked
                .top
                .iter()
                .zip(1..)
                .map(|((id, score), rank)| pb::RecommendedResident {
                    resident_id: id.to_string(),
                    rank,
                    score: Some(view::score(score)),
                })
                .collect(),
            considered: ranked.considered,
            explanation: explain.map(|id| view::explanation(id, ranked.explained.as_ref())),
            recommendation_id,
        })
    }

    pub(super) async fn recommend_pieces_impl(
        &self,
        request: Request<pb::RecommendPiecesRequest>,
    ) -> Result<pb::RecommendPiecesResponse, Status> {
        Caller::from_request(&request)?.require_role(PIECE_ASKERS)?;
        let ctx = RequestContext::query(&request)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let named = if body.resident_id.is_empty() && ctx.caller.role == Role::Resident {
            None
        } else {
            wire::id(&mut errors, "resident_id", &body.resident_id)
        };
        let k = k_of(&mut errors, body.k);
        let explain = explain_of(&mut errors, "explain_piece_id", &body.explain_piece_id);
        errors.finish()?;
        let resident = if ctx.caller.role == Role::Resident {
            // A resident asks for themself only; another resident does not exist for them.
            let Some(me) = self.me(&ctx).await? else {
                return Err(Status::permission_denied(
                    "this token is not linked to a resident record of this municipality",
                ));
            };
            match named {
                Some(id) if id != me.as_str() => {
                    return Err(mosaic_api::pipeline::not_found("resident", &id));
                }
                _ => me.to_string(),
            }
        } else {
            named.unwrap_or_default()
        };
        let today = jst_date(ctx.received_at);
        self.candidates.refresh(&self.db).await?;
        let held = self
            .candidates
            .read()
            .get(ctx.municipality.as_str())
            .and_then(|index| index.get(&resident).cloned());
        let Some(mut candidate) = held else {
            let why = self.not_held(&ctx, "resident_id", &resident).await?;
            return Err(Status::failed_precondition(format!(
                "resident {resident} cannot be recommended pieces: {}",
                view::filter_text(why)
            )));
        };
        candidate.matched = self.matched(&ctx, Of::Resident(&resident)).await?;
        let (policy, _) = self.policy(&ctx).await?;
        let targets = self.open_targets(&ctx).await?;
        let mut ranked =
            recommend_pieces(&candidate, &targets, &policy, today, k, explain.as_deref());
        if let (Some(id), None) = (&explain, &ranked.explained) {
            // Not among the open pieces: say why, from the piece itself.
            let Some(target) = self.target(&ctx, id).await? else {
                return Err(Status::not_found(format!(
                    "explain_piece_id: piece {id} does not exist in this municipality"
                )));
            };
            ranked.explained =
                recommend_pieces(&candidate, &[target], &policy, today, 0, Some(id)).explained;
        }
        let asked = Asked {
            kind: RecommendationKind::PiecesForResident,
            subject_id: &resident,
            policy: &policy,
            k,
            record: body.record,
        };
        let recommendation_id = self.record_if_asked(&ctx, asked, &ranked).await?;
        let activity_of = |piece: &PieceId| {
            targets
                .iter()
                .find(|t| &t.piece.piece_id == piece)
                .map(|t| t.piece.activity_id.to_string())
                .unwrap_or_default()
        };
        Ok(pb::RecommendPiecesResponse {
            resident_id: resident,
            policy_version: policy.version,
            pieces: ranked
                .top
                .iter()
                .zip(1..)
                .map(|((id, score), rank)| pb::RecommendedPiece {
                    piece_id: id.to_string(),
                    activity_id: activity_of(id),
                    rank,
                    score: Some(view::score(score)),
                })
                .collect(),
            considered: ranked.considered,
            explanation: explain.map(|id| view::explanation(id, ranked.explained.as_ref())),
            recommendation_id,
        })
    }
}

/// Whose matches to look up.
pub(super) enum Of<'a> {
    Piece(&'a str),
    Resident(&'a str),
}

/// What was asked, for its recording.
struct Asked<'a> {
    kind: RecommendationKind,
    subject_id: &'a str,
    policy: &'a crate::domain::Policy,
    k: usize,
    record: Option<bool>,
}
