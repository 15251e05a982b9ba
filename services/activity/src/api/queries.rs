//! Reads: one activity from its log (always current), and lists and searches over the
//! `activity.search` read model (may lag a command by a moment). Every query is scoped to the
//! caller's municipality.

use chrono::NaiveDate;
use mosaic_api::filter::{Arg, Filter};
use mosaic_api::pipeline::{Lifetime, get};
use mosaic_api::wire;
use mosaic_api::{FieldErrors, RequestContext};
use mosaic_auth::{Caller, Role};
use mosaic_proto::v1 as pb;
use mosaic_types::{EngagementForm, Field, SkillLevel, SkillTag};
use sqlx::FromRow;
use tonic::{Request, Status};

use super::{ActivityApi, DESIGNERS, READERS, not_found, staff_or_own_host, validate, view};
use crate::domain::activity::{Activity, stream_id};
use crate::domain::{Schedule, Status as Lifecycle};

#[derive(FromRow)]
struct ActivityRow {
    activity_id: String,
    host_organisation_id: String,
    title: String,
    field: i32,
    engagement_form: i32,
    district: String,
    online: bool,
    status: i32,
    period_start: String,
    period_end: String,
    application_mode: i32,
}

const ACTIVITY_COLUMNS: &str = "a.activity_id, a.host_organisation_id, a.title, a.field, \
    a.engagement_form, a.district, a.online, a.status, a.period_start, a.period_end, a.application_mode";

#[derive(FromRow)]
struct PieceRow {
    piece_id: String,
    activity_id: String,
    title: String,
    activity_title: String,
    schedule: String,
    headcount: i32,
    confirmed: i64,
    field: i32,
    engagement_form: i32,
    district: String,
}

/// A piece's confirmed seats, learned from matching (`activity.seats`).
const CONFIRMED: &str = "(SELECT COUNT(*) FROM activity_piece_seats s \
    WHERE s.municipality = p.municipality AND s.piece_id = p.piece_id)";

/// The columns of a piece row.
fn piece_columns() -> String {
    format!(
        "p.piece_id, p.activity_id, p.title, p.activity_title, p.schedule, p.headcount, \
         {CONFIRMED} AS confirmed, p.field, p.engagement_form, p.district"
    )
}

fn wire_date(text: &str) -> Option<pb::Date> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(view::date)
}

fn summary(r: ActivityRow) -> pb::ActivitySummary {
    pb::ActivitySummary {
        period_start: wire_date(&r.period_start),
        period_end: wire_date(&r.period_end),
        activity_id: r.activity_id,
        host_organisation_id: r.host_organisation_id,
        title: r.title,
        field: r.field,
        engagement_form: r.engagement_form,
        district: r.district,
        online: r.online,
        status: r.status,
        application_mode: r.application_mode,
    }
}

fn piece_summary(r: PieceRow) -> pb::PieceSummary {
    let schedule = serde_json::from_str::<Schedule>(&r.schedule)
        .ok()
        .map(|s| view::schedule(&s));
    pb::PieceSummary {
        activity_id: r.activity_id,
        piece_id: r.piece_id,
        title: r.title,
        activity_title: r.activity_title,
        schedule,
        headcount: r.headcount.max(0) as u32,
        open_seats: (i64::from(r.headcount) - r.confirmed).max(0) as u32,
        field: r.field,
        engagement_form: r.engagement_form,
        district: r.district,
    }
}

/// Adds the shared filters; `a` is the alias of the table holding field, form and district, and
/// `pieces` says whether it is the pieces table (else the activities table).
fn shared_filters(
    errors: &mut FieldErrors,
    f: &mut Filter,
    filter: Option<&pb::ActivityFilter>,
    pieces: bool,
) {
    let Some(q) = filter else { return };
    let t = if pieces { "p" } else { "a" };
    if let Some(field) = errors.optional("filter.field", q.field, Field::from_wire) {
        f.int(&format!("{t}.field = ?"), i64::from(field.wire()));
    }
    if let Some(form) = errors.optional(
        "filter.engagement_form",
        q.engagement_form,
        EngagementForm::from_wire,
    ) {
        f.int(&format!("{t}.engagement_form = ?"), i64::from(form.wire()));
    }
    if !q.district.trim().is_empty() {
        f.text(&format!("{t}.district = ?"), q.district.trim());
    }
    let (start_col, end_col) = if pieces {
        ("p.starts_on", "p.ends_on")
    } else {
        ("a.period_start", "a.period_end")
    };
    if let Some(from) = validate::optional_date(errors, "filter.first_day", q.first_day.as_ref()) {
        f.text(&format!("{end_col} >= ?"), from.to_string());
    }
    if let Some(to) = validate::optional_date(errors, "filter.last_day", q.last_day.as_ref()) {
        f.text(&format!("{start_col} <= ?"), to.to_string());
    }
    if !q.skill.is_empty() {
        let tag = errors.take("filter.skill", SkillTag::parse(&q.skill));
        let level = match q.skill_level {
            0 => None,
            n => errors.take("filter.skill_level", SkillLevel::new(n)),
        };
        if let Some(tag) = tag {
            let link = if pieces {
                "s.piece_id = p.piece_id"
            } else {
                "s.activity_id = a.activity_id"
            };
            let base = format!(
                "EXISTS (SELECT 1 FROM activity_piece_skills s WHERE s.municipality = {t}.municipality \
                 AND {link} AND s.skill = ?"
            );
            match level {
                Some(l) => f.add(
                    &format!("{base} AND s.level <= ?)"),
                    vec![
                        Arg::Text(tag.as_str().to_owned()),
                        Arg::Int(i64::from(l.get())),
                    ],
                ),
                None => f.text(&format!("{base})"), tag.as_str()),
            }
        }
    }
    if let Some(w) = q.free.as_ref().and_then(|w| {
        wire::window(
            errors,
            "filter.free",
            w.weekday,
            w.start_minute,
            w.end_minute,
        )
    }) {
        let args = vec![
            Arg::Int(i64::from(w.weekday().wire())),
            Arg::Int(i64::from(w.start())),
            Arg::Int(i64::from(w.end())),
        ];
        if pieces {
            f.add(
                "p.weekday = ? AND p.start_minute >= ? AND p.end_minute <= ?",
                args,
            );
        } else {
            f.add(
                "EXISTS (SELECT 1 FROM activity_pieces p WHERE p.municipality = a.municipality \
                 AND p.activity_id = a.activity_id AND p.weekday = ? AND p.start_minute >= ? \
                 AND p.end_minute <= ?)",
                args,
            );
        }
    }
}

impl ActivityApi {
    pub(super) async fn get_activity_impl(
        &self,
        request: Request<pb::GetActivityRequest>,
    ) -> Result<pb::GetActivityResponse, Status> {
        let caller = Caller::from_request(&request)?.clone();
        caller.require_role(READERS)?;
        let ctx = RequestContext::query(&request)?;
        let mut errors = FieldErrors::new();
        let id = wire::id(&mut errors, "activity_id", &request.get_ref().activity_id);
        errors.finish()?;
        let id = id.unwrap_or_default();
        let (state, version, history) =
            get::<Activity>(self.store.as_ref(), &ctx, "activity", &id, &stream_id(&id)).await?;
        // A draft is seen by staff and its own host only; residents and other hosts see
        // activities once they are published.
        let host = state
            .details
            .as_ref()
            .map(|d| d.host_organisation_id.as_str());
        if state.status == Some(Lifecycle::Draft)
            && !staff_or_own_host(&caller, host.unwrap_or_default())
        {
            return Err(not_found(&id));
        }
        let life = Lifetime::of_history(&history);
        let mut activity = view::activity(&state, version, &life).ok_or_else(|| not_found(&id))?;
        self.fill_mentor(&ctx, &mut activity, &state).await?;
        self.fill_seats(&ctx, &mut activity).await?;
        Ok(pb::GetActivityResponse {
            activity: Some(activity),
        })
    }

    pub(super) async fn list_activities_impl(
        &self,
        request: Request<pb::ListActivitiesRequest>,
    ) -> Result<pb::ListActivitiesResponse, Status> {
        Caller::from_request(&request)?.require_role(READERS)?;
        let ctx = RequestContext::query(&request)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let page = self.pages.page(&mut errors, ctx.municipality, body);
        let mut f = Filter::default();
        f.text("a.municipality = ?", ctx.municipality.as_str());
        f.int("a.status = ?", i64::from(Lifecycle::Published.wire()));
        if let Some(after) = &page.after {
            f.text("a.activity_id > ?", after.clone());
        }
        shared_filters(&mut errors, &mut f, body.filter.as_ref(), false);
        errors.finish()?;
        let sql = format!(
            "SELECT {ACTIVITY_COLUMNS} FROM activity_activities a WHERE TRUE{} ORDER BY a.activity_id LIMIT {}",
            f.sql,
            page.fetch_limit()
        );
        let mut rows: Vec<ActivityRow> = f.fetch(&self.db, sql).await?;
        let next_page_token = page.finish(&mut rows, |r| r.activity_id.clone());
        Ok(pb::ListActivitiesResponse {
            activities: rows.into_iter().map(summary).collect(),
            next_page_token,
        })
    }

    pub(super) async fn list_pieces_open_impl(
        &self,
        request: Request<pb::ListPiecesOpenRequest>,
    ) -> Result<pb::ListPiecesOpenResponse, Status> {
        Caller::from_request(&request)?.require_role(READERS)?;
        let ctx = RequestContext::query(&request)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let page = self.pages.page(&mut errors, ctx.municipality, body);
        let mut f = Filter::default();
        f.text("p.municipality = ?", ctx.municipality.as_str());
        f.int("p.status = ?", i64::from(Lifecycle::Published.wire()));
        f.raw(&format!("{CONFIRMED} < p.headcount"));
        if let Some(after) = &page.after {
            f.text("p.piece_id > ?", after.clone());
        }
        shared_filters(&mut errors, &mut f, body.filter.as_ref(), true);
        errors.finish()?;
        let sql = format!(
            "SELECT {} FROM activity_pieces p WHERE TRUE{} ORDER BY p.piece_id LIMIT {}",
            piece_columns(),
            f.sql,
            page.fetch_limit()
        );
        let mut rows: Vec<PieceRow> = f.fetch(&self.db, sql).await?;
        let next_page_token = page.finish(&mut rows, |r| r.piece_id.clone());
        Ok(pb::ListPiecesOpenResponse {
            pieces: rows.into_iter().map(piece_summary).collect(),
            next_page_token,
        })
    }

    pub(super) async fn list_host_activities_impl(
        &self,
        request: Request<pb::ListHostActivitiesRequest>,
    ) -> Result<pb::ListHostActivitiesResponse, Status> {
        let mut roles = DESIGNERS.to_vec();
        roles.push(Role::HostOrganisation);
        let caller = Caller::from_request(&request)?.clone();
        caller.require_role(&roles)?;
        let ctx = RequestContext::query(&request)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let page = self.pages.page(&mut errors, ctx.municipality, body);
        let host = wire::id(
            &mut errors,
            "host_organisation_id",
            &body.host_organisation_id,
        );
        let status = errors.optional("status", body.status, Lifecycle::from_wire);
        errors.finish()?;
        let host = host.unwrap_or_default();
        let mut f = Filter::default();
        f.text("a.municipality = ?", ctx.municipality.as_str());
        if !staff_or_own_host(&caller, &host) {
            f.int("a.status <> ?", i64::from(Lifecycle::Draft.wire()));
        }
        f.text("a.host_organisation_id = ?", host);
        if let Some(s) = status {
            f.int("a.status = ?", i64::from(s.wire()));
        }
        if let Some(after) = &page.after {
            f.text("a.activity_id > ?", after.clone());
        }
        let sql = format!(
            "SELECT {ACTIVITY_COLUMNS} FROM activity_activities a WHERE TRUE{} ORDER BY a.activity_id LIMIT {}",
            f.sql,
            page.fetch_limit()
        );
        let mut rows: Vec<ActivityRow> = f.fetch(&self.db, sql).await?;
        let next_page_token = page.finish(&mut rows, |r| r.activity_id.clone());
        Ok(pb::ListHostActivitiesResponse {
            activities: rows.into_iter().map(summary).collect(),
            next_page_token,
        })
    }
}
