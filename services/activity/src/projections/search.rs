//! `activity.search`: activities and their pieces shaped for lists and searches, from this
//! context's own events. Every row is keyed by municipality. A piece row copies its activity's
//! status and filter columns (updated with the activity), so open-piece searches read one table.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError, unreadable};
use mosaic_types::jst_date;

use crate::domain::{ActivityDetails, ActivityEvent, PieceDetails, Schedule, Status};

/// The search projection.
pub struct Search;

/// A piece's searchable columns.
pub(crate) struct PieceColumns {
    pub starts_on: String,
    pub ends_on: String,
    pub weekday: Option<i32>,
    pub start_minute: Option<i32>,
    pub end_minute: Option<i32>,
    pub schedule: String,
}

impl PieceColumns {
    pub(crate) fn of(piece: &PieceDetails) -> Result<Self, serde_json::Error> {
        let schedule = serde_json::to_string(&piece.schedule)?;
        Ok(match &piece.schedule {
            Schedule::OneOff { start, end } => Self {
                starts_on: jst_date(*start).to_string(),
                ends_on: jst_date(*end).to_string(),
                weekday: None,
                start_minute: None,
                end_minute: None,
                schedule,
            },
            Schedule::Weekly {
                window, from, to, ..
            } => Self {
                starts_on: from.to_string(),
                ends_on: to.to_string(),
                weekday: Some(window.weekday().wire()),
                start_minute: Some(i32::from(window.start())),
                end_minute: Some(i32::from(window.end())),
                schedule,
            },
        })
    }
}

async fn write_activity(
    tx: &mut DbTx,
    m: &str,
    id: &str,
    d: &ActivityDetails,
    fresh: bool,
) -> Result<(), sqlx::Error> {
    let district = d.place.district.clone().unwrap_or_default();
    on_tx!(tx, t => {
        if fresh {
            sqlx::query(
                "INSERT INTO activity_activities (municipality, activity_id, host_organisation_id, status, title, \
                 field, engagement_form, district, online, application_mode, period_start, period_end) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(m)
            .bind(id)
            .bind(d.host_organisation_id.as_str())
            .bind(Status::Draft.wire())
            .bind(&d.title)
            .bind(d.field.wire())
            .bind(d.engagement_form.wire())
            .bind(&district)
            .bind(d.place.online)
            .bind(d.application_mode.wire())
            .bind(d.period_start.to_string())
            .bind(d.period_end.to_string())
            .execute(&mut **t)
            .await?;
        } else {
            sqlx::query(
                "UPDATE activity_activities SET title = $1, field = $2, engagement_form = $3, district = $4, \
                 online = $5, application_mode = $6, period_start = $7, period_end = $8 \
                 WHERE municipality = $9 AND activity_id = $10",
            )
            .bind(&d.title)
            .bind(d.field.wire())
            .bind(d.engagement_form.wire())
            .bind(&district)
            .bind(d.place.online)
            .bind(d.application_mode.wire())
            .bind(d.period_start.to_string())
            .bind(d.period_end.to_string())
            .bind(m)
            .bind(id)
            .execute(&mut **t)
            .await?;
            sqlx::query(
                "UPDATE activity_pieces SET activity_title = $1, field = $2, engagement_form = $3, district = $4 \
                 WHERE municipality = $5 AND activity_id = $6",
            )
            .bind(&d.title)
            .bind(d.field.wire())
            .bind(d.engagement_form.wire())
            .bind(&district)
            .bind(m)
            .bind(id)
            .execute(&mut **t)
            .await?;
        }
    });
    Ok(())
}

async fn set_status(tx: &mut DbTx, m: &str, id: &str, status: Status) -> Result<(), sqlx::Error> {
    on_tx!(tx, t => {
        for table in ["activity_activities", "activity_pieces"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET status = $1 WHERE municipality = $2 AND activity_id = $3"
            )))
            .bind(status.wire())
            .bind(m)
            .bind(id)
            .execute(&mut **t)
            .await?;
        }
    });
    Ok(())
}

async fn delete_piece(tx: &mut DbTx, m: &str, piece_id: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, t => {
        for table in ["activity_pieces", "activity_piece_skills"] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE municipality = $1 AND piece_id = $2"
            )))
            .bind(m)
            .bind(piece_id)
            .execute(&mut **t)
            .await?;
        }
    });
    Ok(())
}

/// Inserts a piece, copying its activity's columns.
async fn insert_piece(
    tx: &mut DbTx,
    m: &str,
    activity_id: &str,
    piece_id: &str,
    piece: &PieceDetails,
    cols: PieceColumns,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, t => {
        sqlx::query(
            "INSERT INTO activity_pieces (municipality, piece_id, activity_id, status, field, engagement_form, \
             district, activity_title, title, headcount, starts_on, ends_on, weekday, start_minute, \
             end_minute, schedule) \
             SELECT a.municipality, $1, a.activity_id, a.status, a.field, a.engagement_form, a.district, a.title, \
             $2, $3, $4, $5, $6, $7, $8, $9 FROM activity_activities a \
             WHERE a.municipality = $10 AND a.activity_id = $11",
        )
        .bind(piece_id)
        .bind(&piece.title)
        .bind(i32::try_from(piece.headcount).unwrap_or(i32::MAX))
        .bind(cols.starts_on)
        .bind(cols.ends_on)
        .bind(cols.weekday)
        .bind(cols.start_minute)
        .bind(cols.end_minute)
        .bind(cols.schedule)
        .bind(m)
        .bind(activity_id)
        .execute(&mut **t)
        .await?;
        if !piece.skills.is_empty() {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO activity_piece_skills (municipality, skill, piece_id, activity_id, level) ",
            );
            q.push_values(&piece.skills, |mut row, s| {
                row.push_bind(m)
                    .push_bind(s.tag.as_str())
                    .push_bind(piece_id)
                    .push_bind(activity_id)
                    .push_bind(i32::from(s.level.get()));
            });
            q.build().execute(&mut **t).await?;
        }
    });
    Ok(())
}

#[async_trait]
impl EventProjection for Search {
    type Event = ActivityEvent;
    const CONTEXT: &'static str = mosaic_events::activity::CONTEXT;

    fn name(&self) -> &'static str {
        "activity.search"
    }

    fn wants(&self) -> &'static [&'static str] {
        &[]
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "activity_activities",
            "activity_pieces",
            "activity_piece_skills",
        ]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<ActivityEvent>,
    ) -> Result<(), ProjectionError> {
        use ActivityEvent as E;
        let Some(decoded) = typed else {
            return Ok(());
        };
        let m = event.municipality.as_str();
        match decoded {
            E::ActivityCreated(a) => {
                write_activity(tx, m, &a.activity_id, &a.details, true).await?
            }
            E::ActivityUpdated(a) => {
                write_activity(tx, m, &a.activity_id, &a.details, false).await?
            }
            E::PieceAdded(p) | E::PieceRevised(p) => {
                let cols = PieceColumns::of(&p.piece).map_err(|e| unreadable(event, e))?;
                if event.event_type == "PieceRevised" {
                    delete_piece(tx, m, &p.piece_id).await?;
                }
                insert_piece(tx, m, &p.activity_id, &p.piece_id, &p.piece, cols).await?;
            }
            E::PieceRemoved(p) => delete_piece(tx, m, &p.piece_id).await?,
            E::ActivityPublished(a) | E::ActivityResumed(a) => {
                set_status(tx, m, &a.activity_id, Status::Published).await?
            }
            E::ActivityPaused(a) => set_status(tx, m, &a.activity_id, Status::Paused).await?,
            E::ActivityClosed(a) => set_status(tx, m, &a.activity_id, Status::Closed).await?,
            E::ActivityCancelled(a) => set_status(tx, m, &a.activity_id, Status::Cancelled).await?,
            E::InternshipDefined(_) => {}
        }
        Ok(())
    }
}
