//! What the tests of follow-up share: dates reckoned from today, a published piece on Mondays,
//! rosters, and residents confirmed on a piece with their engagements.

use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_client::FollowUpServiceClient;
use tonic::transport::Channel;

use crate::common::*;

/// The coordinator every activity of these tests names.
pub const COORDINATOR: &str = "0190c7a1-0000-7000-8000-0000000000c0";

/// Today in Japan: every date of these tests is reckoned from it, so they hold on any day.
pub fn today() -> NaiveDate {
    mosaic_types::jst_date(chrono::Utc::now())
}

/// `d` moved by `n` days.
pub fn days(d: NaiveDate, n: i64) -> NaiveDate {
    d + chrono::Duration::days(n)
}

/// `d` moved by `n` weeks.
pub fn weeks(d: NaiveDate, n: i64) -> NaiveDate {
    days(d, 7 * n)
}

/// The latest Monday before today: a session that has happened.
pub fn last_monday() -> NaiveDate {
    let yesterday = days(today(), -1);
    days(
        yesterday,
        -i64::from(yesterday.weekday().num_days_from_monday()),
    )
}

/// The first Monday after today: a session that has not happened yet.
pub fn next_monday() -> NaiveDate {
    days(
        today(),
        7 - i64::from(today().weekday().num_days_from_monday()),
    )
}

/// The piece's first session, four weeks before the last Monday.
pub fn first_monday() -> NaiveDate {
    weeks(last_monday(), -4)
}

/// A date on the wire.
pub fn on(d: NaiveDate) -> Option<pb::Date> {
    date(d.year(), d.month() as i32, d.day() as i32)
}

/// A published volunteer activity with one piece on Mondays (see [`monday_activity`]); its
/// piece id.
pub async fn monday_piece(w: &mut World) -> anyhow::Result<String> {
    let (activity, piece) = monday_activity(w, pb::EngagementForm::Volunteer).await?;
    w.publish(&activity).await?;
    Ok(piece)
}

/// A draft activity of `form` with one piece on Mondays (see [`weekly_activity`]).
pub async fn monday_activity(
    w: &mut World,
    form: pb::EngagementForm,
) -> anyhow::Result<(String, String)> {
    weekly_activity(w, form, chrono::Weekday::Mon).await
}

/// A draft activity of `form` with one piece on `weekday` 09:00–12:00, from the week four weeks
/// before the last Monday to seventeen weeks after it, for three people, offering a transport
/// fee of 500 yen and 10 points a session; its id and its piece's.
pub async fn weekly_activity(
    w: &mut World,
    form: pb::EngagementForm,
    weekday: chrono::Weekday,
) -> anyhow::Result<(String, String)> {
    let offset = i64::from(weekday.num_days_from_monday());
    let schedule = pb::Schedule {
        kind: Some(pb::schedule::Kind::Weekly(pb::WeeklyRecurrence {
            weekday: weekday.number_from_monday() as i32,
            start_minute: 540,
            end_minute: 720,
            first_day: on(days(first_monday(), offset)),
            last_day: on(days(weeks(last_monday(), 17), offset)),
            exceptions: vec![],
            skip_national_holidays: false,
        })),
    };
    let created = w
        .activity
        .create_activity(w.req(
            pb::CreateActivityRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                details: Some(pb::ActivityDetails {
                    period_start: on(days(first_monday(), -30)),
                    period_end: on(days(weeks(last_monday(), 17), 8)),
                    incentives: Some(pb::Incentives {
                        transport_fee_yen: 500,
                        local_points: 10,
                        ..Default::default()
                    }),
                    coordinator_id: COORDINATOR.into(),
                    ..details(&w.host, form, pb::ApplicationMode::Open)
                }),
                pieces: vec![pb::PieceDetails {
                    schedule: Some(schedule),
                    ..weekly_piece(pb::Weekday::Monday, 540, 720, 3)
                }],
                occurred_at: None,
            },
            &w.coordinator,
        ))
        .await?
        .into_inner()
        .activity
        .unwrap();
    Ok((created.activity_id, created.pieces[0].piece_id.clone()))
}

pub fn roster(
    id: &str,
    piece: &str,
    day: NaiveDate,
    entries: &[(&str, pb::AttendanceStatus, u32)],
) -> pb::RecordAttendanceRequest {
    pb::RecordAttendanceRequest {
        request_id: id.into(),
        piece_id: piece.into(),
        session: on(day),
        entries: entries
            .iter()
            .map(|(e, status, minutes)| pb::AttendanceEntry {
                engagement_id: (*e).into(),
                status: *status as i32,
                minutes: *minutes,
            })
            .collect(),
    }
}

/// The engagements of a piece as its host lists them, once there are `n`.
pub async fn engagements(
    f: &mut FollowUpServiceClient<Channel>,
    w: &World,
    piece: &str,
    n: usize,
) -> anyhow::Result<Vec<pb::Engagement>> {
    let scope = pb::list_engagements_request::Scope::PieceId(piece.into());
    for _ in 0..200 {
        let listed = f
            .list_engagements(w.req(
                pb::ListEngagementsRequest {
                    scope: Some(scope.clone()),
                    ..Default::default()
                },
                &w.host_token,
            ))
            .await?
            .into_inner()
            .engagements;
        if listed.len() >= n {
            return Ok(listed);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{n} engagements never appeared")
}

/// `n` residents confirmed on `piece`, and their engagements once they are open.
pub async fn engaged(
    p: &Platform,
    w: &mut World,
    f: &mut FollowUpServiceClient<Channel>,
    piece: &str,
    n: usize,
) -> anyhow::Result<(Vec<Resident>, Vec<pb::Engagement>)> {
    let mut residents = Vec::new();
    for _ in 0..n {
        let r = w.resident(p, Person::default()).await?;
        let id = w.accepted(&r, piece).await?;
        w.confirm(&id).await?;
        residents.push(r);
    }
    let listed = engagements(f, w, piece, n).await?;
    Ok((residents, listed))
}
