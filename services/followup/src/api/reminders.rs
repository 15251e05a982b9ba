//! The reminder scheduler and its delivery. Each scan reads the open engagements (projection
//! `followup.reminders`), decides what is due today (`domain::reminders`), and appends to the
//! day's stream (`reminders-<day>`) only the reminders it does not hold yet, at the version it
//! read: a scan repeated, after a restart or on another replica, records nothing twice.
//! `FollowReminders` delivers them in log order from any position.

use std::collections::HashSet;
use std::pin::Pin;
use std::time::Duration;

use chrono::{Days, NaiveDate};
use mosaic_api::command::decode;
use mosaic_api::status::{from_db, from_store};
use mosaic_api::{RequestContext, wire};
use mosaic_auth::Caller;
use mosaic_events::activity::Milestones;
use mosaic_proto::v1 as pb;
use mosaic_types::{MunicipalityCode, jst_date};
use tokio::sync::watch;
use tonic::{Request, Status};

use super::{FollowUpApi, STAFF};
use crate::domain::reminders::{CHECK_IN_EVERY_DAYS, Scheduled, due, weekday_bit};
use crate::domain::{FollowUpEvent, Milestone, ReminderDue, ReminderKind};

/// How often the scheduler scans by itself.
const EVERY: Duration = Duration::from_secs(300);
/// Reminders per read of the delivery.
const PAGE: i64 = 500;
/// How long a caught-up delivery waits before looking again.
const WAIT: Duration = Duration::from_millis(200);
/// The `reflected` bits of every milestone (orientation, mid-term, final).
const ALL_REFLECTED: i32 = 0b1110;
/// How often a scan appends again after another scan of the day came first.
const ATTEMPTS: usize = 4;

/// The delivery's stream of reminders.
pub type ReminderStream =
    Pin<Box<dyn futures::Stream<Item = Result<pb::FollowRemindersResponse, Status>> + Send>>;

/// The stream of a day's reminders.
fn day_stream(day: NaiveDate) -> String {
    format!("reminders-{day}")
}

/// What makes a reminder of a day the same as another: kind, engagement, milestone. The day it
/// concerns is left out: a check-in entered late, or a milestone moved, changes it without
/// making the reminder another.
type Key = (ReminderKind, String, Option<Milestone>);

fn key(r: &ReminderDue) -> Key {
    (r.kind, r.engagement_id.clone(), r.milestone)
}

/// A scan's outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Open engagements read.
    pub engagements: usize,
    /// Reminders due.
    pub due: usize,
    /// Recorded by this scan.
    pub recorded: usize,
}

type Row = (
    String,
    String,
    String,
    i32,
    String,
    String,
    Option<String>,
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn date(s: &str) -> Option<NaiveDate> {
    s.parse().ok()
}

impl FollowUpApi {
    /// The open engagements of a municipality that may have a reminder due on `day`, as the
    /// scheduler reads them. The query keeps only those one of the rules could apply to (a
    /// session tomorrow, no check-in for four weeks, an internship not fully reflected on);
    /// `domain::reminders::due` decides.
    pub async fn scheduled(
        &self,
        m: MunicipalityCode,
        day: NaiveDate,
    ) -> Result<Vec<Scheduled>, Status> {
        let tomorrow = day.checked_add_days(Days::new(1)).unwrap_or(day);
        let overdue_since = day
            .checked_sub_days(Days::new(CHECK_IN_EVERY_DAYS))
            .unwrap_or(day);
        let rows: Vec<Row> = mosaic_db::on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT s.engagement_id, s.resident_id, s.host_organisation_id, s.weekdays, \
                 s.first_day, s.last_day, s.last_check_in, s.reflected, a.orientation, \
                 a.mid_term_review, a.final_reflection FROM followup_schedule s \
                 LEFT JOIN followup_activities a ON a.municipality = s.municipality \
                 AND a.activity_id = s.activity_id \
                 WHERE s.municipality = $1 AND s.ended = FALSE AND s.last_day >= $2 AND ( \
                 ((s.weekdays & $3) <> 0 AND s.first_day <= $4) \
                 OR (s.first_day <= $5 AND (s.last_check_in IS NULL OR s.last_check_in <= $5)) \
                 OR (a.orientation IS NOT NULL AND s.reflected <> $6))",
            )
            .bind(m.as_str())
            .bind(day.to_string())
            .bind(i32::from(weekday_bit(tomorrow)))
            .bind(tomorrow.to_string())
            .bind(overdue_since.to_string())
            .bind(ALL_REFLECTED)
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let milestones = match (&r.8, &r.9, &r.10) {
                    (Some(o), Some(mid), Some(f)) => Some(Milestones {
                        orientation: date(o)?,
                        mid_term_review: date(mid)?,
                        final_reflection: date(f)?,
                    }),
                    _ => None,
                };
                Some(Scheduled {
                    engagement_id: r.0,
                    resident_id: r.1.into(),
                    host_organisation_id: r.2.parse().ok()?,
                    weekdays: u8::try_from(r.3).unwrap_or(0),
                    first_day: date(&r.4)?,
                    last_day: date(&r.5)?,
                    last_check_in: r.6.as_deref().and_then(date),
                    reflected: u8::try_from(r.7).unwrap_or(0),
                    milestones,
                })
            })
            .collect())
    }

    /// Scans a municipality for the reminders due on `day` and records the new ones.
    pub async fn scan(&self, m: MunicipalityCode, day: NaiveDate) -> Result<Scan, Status> {
        let scheduled = self.scheduled(m, day).await?;
        let found: Vec<ReminderDue> = scheduled.iter().flat_map(|e| due(day, e)).collect();
        let ctx = RequestContext::system("reminders", m);
        for _ in 0..ATTEMPTS {
            let history = self
                .store
                .read_stream(m, &day_stream(day))
                .await
                .map_err(from_store)?;
            let mut held: HashSet<Key> = HashSet::with_capacity(history.len());
            for e in &history {
                if let FollowUpEvent::ReminderDue(r) = decode::<FollowUpEvent>(e)? {
                    held.insert(key(&r));
                }
            }
            let new: Vec<FollowUpEvent> = found
                .iter()
                .filter(|r| !held.contains(&key(r)))
                .cloned()
                .map(FollowUpEvent::ReminderDue)
                .collect();
            let outcome = Scan {
                engagements: scheduled.len(),
                due: found.len(),
                recorded: new.len(),
            };
            if new.is_empty() {
                return Ok(outcome);
            }
            let version = history.last().map_or(0, |e| e.version);
            if self
                .append(
                    &ctx,
                    day_stream(day),
                    version,
                    &new,
                    pb::ScanRemindersResponse::default(),
                )
                .await?
                .is_some()
            {
                return Ok(outcome);
            }
        }
        Err(Status::aborted("other scans of the day kept coming first"))
    }

    /// One round of the scheduler: today's scan of every municipality with open engagements;
    /// how many reminders it recorded.
    async fn scan_all(&self) -> Result<usize, Status> {
        let today = jst_date(mosaic_types::now_utc());
        let municipalities: Vec<String> = mosaic_db::on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT DISTINCT municipality FROM followup_schedule WHERE ended = FALSE",
            )
            .fetch_all(pool)
            .await
            .map_err(from_db)?
        });
        let mut recorded = 0;
        for m in municipalities {
            let Ok(code) = MunicipalityCode::parse(&m) else {
                continue;
            };
            recorded += self.scan(code, today).await?.recorded;
        }
        Ok(recorded)
    }

    /// Scans every five minutes until `stopping` turns true.
    pub async fn reminder_loop(self, stopping: watch::Receiver<bool>) {
        mosaic_api::rounds::rounds(stopping, EVERY, "reminders", || self.scan_all()).await;
    }

    pub(super) async fn scan_reminders_impl(
        &self,
        request: Request<pb::ScanRemindersRequest>,
    ) -> Result<pb::ScanRemindersResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let ctx = RequestContext::query(&request)?;
        let day = jst_date(ctx.received_at);
        let scan = self.scan(ctx.municipality, day).await?;
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Ok(pb::ScanRemindersResponse {
            day: Some(wire::to_date(day)),
            engagements: n(scan.engagements),
            due: n(scan.due),
            recorded: n(scan.recorded),
        })
    }

    pub(super) async fn follow_reminders_impl(
        &self,
        request: Request<pb::FollowRemindersRequest>,
    ) -> Result<ReminderStream, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let ctx = RequestContext::query(&request)?;
        let after = i64::try_from(request.get_ref().after).unwrap_or(i64::MAX);
        let (tx, rx) = tokio::sync::mpsc::channel(PAGE as usize);
        let db = self.db.clone();
        let m = ctx.municipality;
        tokio::spawn(async move {
            let mut after = after;
            loop {
                let page = reminders_after(&db, m, after).await;
                let rows = match page {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let full = rows.len() as i64 == PAGE;
                for r in rows {
                    after = i64::try_from(r.position).unwrap_or(after);
                    let next = pb::FollowRemindersResponse { reminder: Some(r) };
                    if tx.send(Ok(next)).await.is_err() {
                        return;
                    }
                }
                if !full {
                    tokio::select! {
                        _ = tokio::time::sleep(WAIT) => {}
                        _ = tx.closed() => return,
                    }
                }
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }
}

/// A page of a municipality's reminders after `after`, in log order.
async fn reminders_after(
    db: &mosaic_db::Db,
    m: MunicipalityCode,
    after: i64,
) -> Result<Vec<pb::Reminder>, Status> {
    type R = (
        i64,
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
    );
    let rows: Vec<R> = mosaic_db::on_db!(db, pool => {
        sqlx::query_as(
            "SELECT position, kind, engagement_id, resident_id, host_organisation_id, due_on, \
             milestone, day FROM followup_reminders WHERE municipality = $1 AND position > $2 \
             ORDER BY position LIMIT $3",
        )
        .bind(m.as_str())
        .bind(after)
        .bind(PAGE)
        .fetch_all(pool)
        .await
        .map_err(from_db)?
    });
    let on = |s: &str| date(s).map(wire::to_date);
    Ok(rows
        .into_iter()
        .map(|r| pb::Reminder {
            position: u64::try_from(r.0).unwrap_or(0),
            kind: ReminderKind::ALL
                .iter()
                .find(|k| k.as_str() == r.1)
                .map_or(0, |k| k.wire()),
            engagement_id: r.2,
            resident_id: r.3,
            host_organisation_id: r.4,
            due_on: on(&r.5),
            milestone: r
                .6
                .as_deref()
                .and_then(|x| Milestone::ALL.iter().find(|k| k.as_str() == x))
                .map_or(0, |k| k.wire()),
            day: on(&r.7),
        })
        .collect())
}
