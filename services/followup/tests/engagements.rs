//! Engagements through gRPC, on both backends (cross-service over NATS on PostgreSQL): opened
//! from matching's confirmations, once however often a confirmation is delivered or an opening
//! repeated; a session's roster recorded by the host, corrected, and refused whole for one bad
//! entry, writing nothing; an engagement ended; who may see what.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../matching/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use chrono::{Datelike, NaiveDate};

use common::*;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_client::FollowUpServiceClient;
use tonic::Code;
use tonic::transport::Channel;

/// Today in Japan: every date of these tests is reckoned from it, so they hold on any day.
fn today() -> NaiveDate {
    mosaic_types::jst_date(chrono::Utc::now())
}

/// `d` moved by `n` days.
fn days(d: NaiveDate, n: i64) -> NaiveDate {
    d + chrono::Duration::days(n)
}

/// `d` moved by `n` weeks.
fn weeks(d: NaiveDate, n: i64) -> NaiveDate {
    days(d, 7 * n)
}

/// The latest Monday before today: a session that has happened.
fn last_monday() -> NaiveDate {
    let yesterday = days(today(), -1);
    days(
        yesterday,
        -i64::from(yesterday.weekday().num_days_from_monday()),
    )
}

/// The first Monday after today: a session that has not happened yet.
fn next_monday() -> NaiveDate {
    days(
        today(),
        7 - i64::from(today().weekday().num_days_from_monday()),
    )
}

/// The piece's first session, four weeks before the last Monday.
fn first_monday() -> NaiveDate {
    weeks(last_monday(), -4)
}

/// A date on the wire.
fn on(d: NaiveDate) -> Option<pb::Date> {
    date(d.year(), d.month() as i32, d.day() as i32)
}

/// A published activity with one piece, Mondays 09:00–12:00 from four weeks before the last
/// Monday to seventeen weeks after it, for three people, offering a transport fee of 500 yen and 10 points a session; its
/// piece id.
async fn monday_piece(w: &mut World) -> anyhow::Result<String> {
    let schedule = pb::Schedule {
        kind: Some(pb::schedule::Kind::Weekly(pb::WeeklyRecurrence {
            weekday: pb::Weekday::Monday as i32,
            start_minute: 540,
            end_minute: 720,
            first_day: on(first_monday()),
            last_day: on(weeks(last_monday(), 17)),
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
                    period_end: on(days(weeks(last_monday(), 17), 2)),
                    incentives: Some(pb::Incentives {
                        transport_fee_yen: 500,
                        local_points: 10,
                        ..Default::default()
                    }),
                    ..details(
                        &w.host,
                        pb::EngagementForm::Volunteer,
                        pb::ApplicationMode::Open,
                    )
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
    w.publish(&created.activity_id).await?;
    Ok(created.pieces[0].piece_id.clone())
}

fn roster(
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
async fn engagements(
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
async fn engaged(
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

per_backend!(Platform, async fn confirmations_open_engagements_once_and_rosters_record_sessions(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let mut f = FollowUpServiceClient::new(p.channel(3).await?);
    let piece = monday_piece(&mut w).await?;
    let (residents, listed) = engaged(&p, &mut w, &mut f, &piece, 3).await?;
    assert_eq!(listed.len(), 3);
    let ids: Vec<String> = listed.iter().map(|e| e.engagement_id.clone()).collect();
    for e in &listed {
        assert_eq!(e.piece_id, piece);
        assert!(residents.iter().any(|r| r.id == e.resident_id));
        assert_eq!(e.commitment.as_ref().unwrap().minutes_per_week, 180);
    }

    // The confirmations delivered again (a rebuild of the projection that reads them) and the
    // openings repeated (as after a crash between appending and marking one done): still one
    // engagement each.
    let db = mosaic_db::connect(&p.database_url("followup"), 1).await?;
    let rebuild = mosaic_projection::request_rebuild(&db, "followup.confirmations", None).await?;
    loop {
        let progress = mosaic_projection::rebuild_progress(&db, rebuild).await?.unwrap();
        if progress.finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    mosaic_db::on_db!(&db, pool => {
        sqlx::query("UPDATE followup_openings SET done = FALSE").execute(pool).await?;
    });
    for _ in 0..200 {
        let owed: i64 = mosaic_db::on_db!(&db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM followup_openings WHERE done = FALSE")
                .fetch_one(pool)
                .await?
        });
        if owed == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    db.close().await;
    assert_eq!(p.events("followup", KASHIWA, "EngagementOpened").await?.len(), 3);

    // The host records Monday 30 November's roster: attended, no-show, cancelled.
    use pb::AttendanceStatus::{Attended, Cancelled, NoShow};
    let day = last_monday();
    let entries = [(ids[0].as_str(), Attended, 180), (ids[1].as_str(), NoShow, 0), (ids[2].as_str(), Cancelled, 0)];
    let recorded = f
        .record_attendance(w.req(roster("r-1", &piece, day, &entries), &w.host_token))
        .await?
        .into_inner();
    assert_eq!(recorded.engagements.len(), 3);
    assert_eq!(recorded.engagements[0].minutes_attended, 180);
    assert_eq!(recorded.engagements[1].sessions[0].status, NoShow as i32);
    // A retry answers the same; the same figures again change nothing; others correct.
    let again = f
        .record_attendance(w.req(roster("r-1", &piece, day, &entries), &w.host_token))
        .await?
        .into_inner();
    assert_eq!(again, recorded);
    f.record_attendance(w.req(roster("r-2", &piece, day, &entries), &w.host_token)).await?;
    assert_eq!(p.events("followup", KASHIWA, "AttendanceRecorded").await?.len(), 3);
    let corrected = f
        .record_attendance(w.req(roster("r-3", &piece, day, &[(ids[0].as_str(), Attended, 150)]), &w.coordinator))
        .await?
        .into_inner();
    assert_eq!(corrected.engagements[0].minutes_attended, 150);
    assert_eq!(p.events("followup", KASHIWA, "AttendanceRecorded").await?.len(), 4);

    // One bad entry refuses the roster, naming it; nothing is written.
    let before = p.events("followup", KASHIWA, "AttendanceRecorded").await?.len();
    for (entries, day, field) in [
        (vec![(ids[1].as_str(), Attended, 180), (ids[2].as_str(), Attended, 0)], weeks(day, -1), "entries[1].minutes"),
        (vec![(ids[1].as_str(), Attended, 1441)], weeks(day, -1), "entries[0].minutes"),
        (vec![(ids[1].as_str(), NoShow, 30)], weeks(day, -1), "entries[0].minutes"),
        (vec![(ids[1].as_str(), Attended, 60)], next_monday(), "session"),
        (vec![(ids[1].as_str(), Attended, 60), (ids[1].as_str(), Attended, 60)], weeks(day, -1), "entries[1].engagement_id"),
        (vec![], weeks(day, -1), "entries"),
    ] {
        let r = f.record_attendance(w.req(roster("bad", &piece, day, &entries), &w.host_token)).await;
        let status = r.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(status.message().contains(field), "{field}: {}", status.message());
    }
    let tuesday = f
        .record_attendance(w.req(roster("t", &piece, days(day, -6), &[(ids[0].as_str(), Attended, 60)]), &w.host_token))
        .await;
    refused(tuesday, Code::FailedPrecondition);
    let unknown = uuid::Uuid::now_v7().to_string();
    let r = f
        .record_attendance(w.req(roster("u", &piece, day, &[(unknown.as_str(), Attended, 60)]), &w.host_token))
        .await;
    refused(r, Code::NotFound);
    assert_eq!(p.events("followup", KASHIWA, "AttendanceRecorded").await?.len(), before);

    // Who may see: another host and another municipality's staff do not find it; a resident
    // finds their own and no other; analysts are refused.
    let stranger = p.host_token(KASHIWA, &uuid::Uuid::now_v7().to_string());
    let get = |token: &str| w.req(pb::GetEngagementRequest { engagement_id: ids[0].clone() }, token);
    refused(f.get_engagement(get(&stranger)).await, Code::NotFound);
    refused(f.get_engagement(get(&p.token(Role::Coordinator, CHIGASAKI))).await, Code::NotFound);
    refused(f.get_engagement(get(&p.token(Role::Analyst, KASHIWA))).await, Code::PermissionDenied);
    let owner = residents.iter().find(|r| r.id == listed[0].resident_id).unwrap();
    let other = residents.iter().find(|r| r.id != listed[0].resident_id).unwrap();
    let own = f.get_engagement(get(&owner.token)).await?.into_inner().engagement.unwrap();
    assert_eq!(own.engagement_id, ids[0]);
    refused(f.get_engagement(get(&other.token)).await, Code::NotFound);
    let scope = pb::list_engagements_request::Scope::PieceId(piece.clone());
    let mine = f
        .list_engagements(w.req(
            pb::ListEngagementsRequest { scope: Some(scope), ..Default::default() },
            &owner.token,
        ))
        .await?
        .into_inner()
        .engagements;
    assert_eq!(mine.len(), 1, "a resident lists their own engagements only");
    assert_eq!(mine[0].resident_id, owner.id);
    let r = f
        .record_attendance(w.req(roster("s", &piece, day, &[(ids[0].as_str(), Attended, 60)]), &stranger))
        .await;
    refused(r, Code::NotFound);

    // Spontaneous engagement, noted by staff: once per kind and day, never in the future.
    let observe = |id: &str, pattern: pb::SpontaneousPattern, on| pb::RecordSpontaneousEngagementRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        engagement_id: id.into(),
        pattern: pattern as i32,
        observed_on: on,
    };
    let noted = f
        .record_spontaneous_engagement(w.req(observe(&ids[0], pb::SpontaneousPattern::CommunityFormed, on(days(day, 1))), &w.coordinator))
        .await?
        .into_inner()
        .engagement
        .unwrap();
    assert_eq!(noted.observed.len(), 1);
    f.record_spontaneous_engagement(w.req(observe(&ids[0], pb::SpontaneousPattern::CommunityFormed, on(days(day, 1))), &w.coordinator))
        .await?;
    assert_eq!(p.events("followup", KASHIWA, "SpontaneousEngagementObserved").await?.len(), 1);
    for (request, field) in [
        (observe(&ids[0], pb::SpontaneousPattern::HubRole, on(days(today(), 2))), "observed_on"),
        (observe(&ids[0], pb::SpontaneousPattern::Unspecified, on(days(day, 1))), "pattern"),
    ] {
        let r = f.record_spontaneous_engagement(w.req(request, &w.coordinator)).await;
        assert!(refused(r, Code::InvalidArgument).contains(field), "{field}");
    }
    let r = f
        .record_spontaneous_engagement(w.req(observe(&ids[0], pb::SpontaneousPattern::HubRole, on(days(day, 1))), &w.host_token))
        .await;
    refused(r, Code::PermissionDenied);

    // An end is a day the engagement ran: not after today.
    let future = pb::EndEngagementRequest {
        request_id: "end-0".into(),
        engagement_id: ids[1].clone(),
        reason: pb::EngagementEndReason::Completed as i32,
        last_day: on(weeks(last_monday(), 17)),
    };
    assert!(refused(f.end_engagement(w.req(future, &w.coordinator)).await, Code::InvalidArgument).contains("last_day"));

    // Ended: dropped out after the 30th; later sessions are refused.
    let end = pb::EndEngagementRequest {
        request_id: "end-1".into(),
        engagement_id: ids[1].clone(),
        reason: pb::EngagementEndReason::DroppedOut as i32,
        last_day: on(days(day, 1)),
    };
    let ended = f.end_engagement(w.req(end, &w.coordinator)).await?;
    w.saw(&ended);
    let ended = ended.into_inner().engagement.unwrap();
    assert_eq!(ended.ended, pb::EngagementEndReason::DroppedOut as i32);
    let got = f
        .get_engagement(w.req(pb::GetEngagementRequest { engagement_id: ids[0].clone() }, &w.host_token))
        .await?
        .into_inner()
        .engagement
        .unwrap();
    assert_eq!((got.minutes_attended, got.ended), (150, 0));
    let r = f
        .record_attendance(w.req(roster("late", &piece, next_monday(), &[(ids[1].as_str(), NoShow, 0)]), &w.host_token))
        .await;
    assert_eq!(r.unwrap_err().code(), Code::InvalidArgument, "a later session is in the future here");

    // Matching ends the dropped-out match and frees its seat.
    let mut freed = false;
    for _ in 0..200 {
        if w.seats(&piece).await? == (3, 2, 1) {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(freed, "the seat of the dropped-out engagement is freed");
    let ends = p.matching_events(KASHIWA, "MatchEnded").await?;
    assert_eq!(ends.len(), 1);
    assert_eq!(ends[0]["cause"], "engagement_ended");
    assert_eq!(ends[0]["match_id"], ended.match_id.as_str());

    // A match cancelled upstream closes its engagement by itself.
    let cancelled = w
        .matching
        .cancel_match(w.req(
            pb::CancelMatchRequest {
                request_id: "cancel-1".into(),
                match_id: listed[2].match_id.clone(),
                reason: pb::MatchReason::Schedule as i32,
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await?;
    w.saw(&cancelled);
    let third = listed[2].engagement_id.clone();
    let mut closed = None;
    for _ in 0..200 {
        let e = f
            .get_engagement(w.req(pb::GetEngagementRequest { engagement_id: third.clone() }, &w.coordinator))
            .await?
            .into_inner()
            .engagement
            .unwrap();
        if e.ended != 0 {
            closed = Some(e);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closed = closed.expect("the engagement is closed");
    assert_eq!(closed.ended, pb::EngagementEndReason::UpstreamCancelled as i32);
    // Ending it by hand as upstream is not for callers.
    let r = f
        .end_engagement(w.req(
            pb::EndEngagementRequest {
                request_id: "end-2".into(),
                engagement_id: ids[0].clone(),
                reason: pb::EngagementEndReason::UpstreamCancelled as i32,
                last_day: on(days(day, 1)),
            },
            &w.coordinator,
        ))
        .await;
    assert!(refused(r, Code::InvalidArgument).contains("reason"));
    assert_eq!(p.events("followup", KASHIWA, "EngagementEnded").await?.len(), 2);
    Ok(())
});

/// The free text of the journal in this test: none of it may be stored, published or logged in
/// clear.
const NOTE: &str = "腰痛が再発して通院を始めたとのこと";
const WENT_WELL: &str = "園児の名前を全員覚えられた";
const LEARNED: &str = "朝の受け入れで保護者と話す要領";
const NEXT_STEPS: &str = "午後の枠にも入ってみたい";
const COMMENT: &str = "担当の先生がとても丁寧に教えてくれた";

fn check_in(
    id: &str,
    request_id: &str,
    note: &str,
    on: Option<pb::Date>,
) -> pb::RecordCheckInRequest {
    pb::RecordCheckInRequest {
        request_id: request_id.into(),
        engagement_id: id.into(),
        on,
        channel: pb::CheckInChannel::Phone as i32,
        note: note.into(),
        risks: vec![pb::RiskFlag::Health as i32, pb::RiskFlag::MayDropOut as i32],
    }
}

fn reflection(
    id: &str,
    milestone: pb::Milestone,
    on: Option<pb::Date>,
    went_well: &str,
) -> pb::RecordReflectionRequest {
    pb::RecordReflectionRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        engagement_id: id.into(),
        milestone: milestone as i32,
        on,
        went_well: went_well.into(),
        learned: LEARNED.into(),
        next_steps: NEXT_STEPS.into(),
    }
}

fn feedback(
    id: &str,
    direction: pb::FeedbackDirection,
    rating: u32,
    comment: &str,
) -> pb::GiveFeedbackRequest {
    pb::GiveFeedbackRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        engagement_id: id.into(),
        direction: direction as i32,
        rating,
        comment: comment.into(),
    }
}

per_backend!(Platform, async fn the_journal_is_sealed_read_by_whom_it_concerns_and_unreadable_after_erasure(p) {
    let logs = mosaic_testkit::logs::capture();
    let mut w = World::new(&p, KASHIWA).await?;
    let mut f = FollowUpServiceClient::new(p.channel(3).await?);
    let piece = monday_piece(&mut w).await?;
    let (mut residents, mut listed) = engaged(&p, &mut w, &mut f, &piece, 1).await?;
    let (r, id) = (residents.remove(0), listed.remove(0).engagement_id);
    use pb::AttendanceStatus::Attended;
    f.record_attendance(w.req(roster("a-1", &piece, last_monday(), &[(id.as_str(), Attended, 120)]), &w.host_token))
        .await?;

    // A coordinator's check-in: its flags are the engagement's, shown to staff only.
    let checked = f
        .record_check_in(w.req(check_in(&id, "c-1", NOTE, None), &w.coordinator))
        .await?
        .into_inner()
        .engagement
        .unwrap();
    assert_eq!(checked.check_ins, 1);
    assert_eq!(checked.risks, [pb::RiskFlag::MayDropOut as i32, pb::RiskFlag::Health as i32]);
    let again = f.record_check_in(w.req(check_in(&id, "c-1", NOTE, None), &w.coordinator)).await?.into_inner();
    assert_eq!(again.engagement.unwrap(), checked, "a retry answers the first answer");
    let get = |token: &str| w.req(pb::GetEngagementRequest { engagement_id: id.clone() }, token);
    let seen_by_host = f.get_engagement(get(&w.host_token)).await?.into_inner().engagement.unwrap();
    assert!(seen_by_host.risks.is_empty(), "risk flags are for staff");
    assert_eq!(seen_by_host.check_ins, 1);

    // Reflections by the host (orientation) and the resident (mid-term); feedback both ways.
    f.record_reflection(w.req(reflection(&id, pb::Milestone::Orientation, on(first_monday()), WENT_WELL), &w.host_token))
        .await?;
    f.record_reflection(w.req(reflection(&id, pb::Milestone::MidTerm, None, WENT_WELL), &r.token)).await?;
    f.give_feedback(w.req(feedback(&id, pb::FeedbackDirection::ResidentToHost, 4, COMMENT), &r.token)).await?;
    let rated = f
        .give_feedback(w.req(feedback(&id, pb::FeedbackDirection::HostToResident, 5, ""), &w.host_token))
        .await?
        .into_inner()
        .engagement
        .unwrap();
    assert_eq!(rated.reflections, [pb::Milestone::Orientation as i32, pb::Milestone::MidTerm as i32]);
    assert_eq!(rated.ratings.len(), 2);

    // Refusals write nothing.
    let counts = || async {
        let mut n = 0;
        for t in ["CheckInRecorded", "ReflectionRecorded", "FeedbackGiven"] {
            n += p.events("followup", KASHIWA, t).await?.len();
        }
        anyhow::Ok(n)
    };
    let before = counts().await?;
    assert_eq!(before, 5);
    let long = "あ".repeat(4001);
    for (r, field) in [
        (f.record_check_in(w.req(check_in(&id, "c-2", " ", None), &w.coordinator)).await.map(|_| ()), "note"),
        (f.record_check_in(w.req(check_in(&id, "c-3", NOTE, on(days(today(), 25))), &w.coordinator)).await.map(|_| ()), "on"),
        (f.record_reflection(w.req(reflection(&id, pb::Milestone::Final, on(days(first_monday(), -3)), WENT_WELL), &w.coordinator)).await.map(|_| ()), "on"),
        (f.record_reflection(w.req(reflection(&id, pb::Milestone::Final, None, &long), &w.coordinator)).await.map(|_| ()), "went_well"),
        (f.record_reflection(w.req(reflection(&id, pb::Milestone::Unspecified, None, WENT_WELL), &w.coordinator)).await.map(|_| ()), "milestone"),
        (f.give_feedback(w.req(feedback(&id, pb::FeedbackDirection::HostToResident, 6, ""), &w.host_token)).await.map(|_| ()), "rating"),
        (f.give_feedback(w.req(feedback(&id, pb::FeedbackDirection::HostToResident, 0, ""), &w.host_token)).await.map(|_| ()), "rating"),
    ] {
        assert!(refused(r, Code::InvalidArgument).contains(field), "{field}");
    }
    refused(f.give_feedback(w.req(feedback(&id, pb::FeedbackDirection::ResidentToHost, 1, ""), &w.host_token)).await, Code::PermissionDenied);
    refused(f.record_check_in(w.req(check_in(&id, "c-4", NOTE, None), &w.host_token)).await, Code::PermissionDenied);
    let stranger = p.host_token(KASHIWA, &uuid::Uuid::now_v7().to_string());
    refused(f.give_feedback(w.req(feedback(&id, pb::FeedbackDirection::HostToResident, 3, ""), &stranger)).await, Code::NotFound);
    assert_eq!(counts().await?, before);

    // The journal opened: check-ins to staff; reflections and feedback to the host and the
    // resident as well; nobody else.
    let journal = |token: &str| w.req(pb::GetJournalRequest { engagement_id: id.clone() }, token);
    let staff = f.get_journal(journal(&w.coordinator)).await?.into_inner();
    assert_eq!(staff.check_ins[0].note, NOTE);
    assert_eq!(staff.reflections.len(), 2);
    assert_eq!(staff.reflections[1].went_well, WENT_WELL);
    assert_eq!(staff.reflections[1].author, pb::Author::Resident as i32);
    assert_eq!(staff.feedback[0].comment, COMMENT);
    assert!(!staff.erased);
    for token in [&w.host_token, &r.token] {
        let seen = f.get_journal(journal(token)).await?.into_inner();
        assert!(seen.check_ins.is_empty(), "check-ins are staff's");
        assert_eq!(seen.reflections[0].next_steps, NEXT_STEPS);
        assert_eq!(seen.feedback[0].comment, COMMENT);
    }
    refused(f.get_journal(journal(&stranger)).await, Code::NotFound);
    refused(f.get_journal(journal(&p.token(Role::Coordinator, CHIGASAKI))).await, Code::NotFound);

    // The registry erases the resident: the entries stay with no text, the hours stay, and
    // nothing more is written about them.
    let mut registry = w.registry.clone();
    let erased = registry
        .erase_personal_data(w.req(
            pb::ErasePersonalDataRequest {
                request_id: "erase-1".into(),
                subject_id: r.id.clone(),
                occurred_at: None,
            },
            &w.officer,
        ))
        .await?;
    drop(erased);
    let mut after = None;
    for _ in 0..300 {
        let j = f.get_journal(journal(&w.coordinator)).await?.into_inner();
        if j.erased {
            after = Some(j);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = after.expect("the journal reads as erased");
    assert_eq!((after.check_ins.len(), after.reflections.len(), after.feedback.len()), (1, 2, 2));
    assert!(after.check_ins[0].note.is_empty() && after.reflections[0].went_well.is_empty());
    assert!(after.feedback.iter().all(|f| f.comment.is_empty()));
    assert_eq!(after.feedback[0].rating, 4);
    let e = f.get_engagement(get(&w.coordinator)).await?.into_inner().engagement.unwrap();
    assert_eq!((e.minutes_attended, e.check_ins), (120, 1));
    refused(f.record_check_in(w.req(check_in(&id, "c-5", NOTE, None), &w.coordinator)).await, Code::FailedPrecondition);

    // Nothing of it in clear in any table, file, stream message or log line.
    let stored = p.stored_bytes().await?;
    let logged = logs.bytes();
    assert!(contains(&logged, "RecordCheckIn"), "the log capture sees the requests");
    for secret in [NOTE, WENT_WELL, LEARNED, NEXT_STEPS, COMMENT] {
        assert!(!contains(&stored, secret), "{secret} is stored in clear");
        assert!(!contains(&logged, secret), "{secret} is logged");
    }
    Ok(())
});

per_backend!(Platform, async fn attendance_earns_within_the_caps_once_and_redemptions_never_overdraw(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let mut f = FollowUpServiceClient::new(p.channel(3).await?);
    let piece = monday_piece(&mut w).await?;
    let (residents, listed) = engaged(&p, &mut w, &mut f, &piece, 3).await?;
    let of = |r: &Resident| listed.iter().find(|e| e.resident_id == r.id).unwrap().engagement_id.clone();
    let ids: Vec<String> = residents.iter().map(of).collect();

    // The officer's policy: 60 points an hour, at most 150 a day. Coordinators may not set it;
    // a figure over its limit is refused naming it.
    let policy = |p: pb::IncentivePolicy, id: &str| pb::SetIncentivePolicyRequest {
        request_id: id.into(),
        policy: Some(p),
        expected_version: 0,
    };
    let good = pb::IncentivePolicy { points_per_hour: 60, max_points_per_day: 150, ..Default::default() };
    refused(f.set_incentive_policy(w.req(policy(good, "p-0"), &w.coordinator)).await, Code::PermissionDenied);
    let bad = pb::IncentivePolicy { max_hours_per_week: 169, ..good };
    let r = f.set_incentive_policy(w.req(policy(bad, "p-1"), &w.officer)).await;
    assert!(refused(r, Code::InvalidArgument).contains("policy.max_hours_per_week"));
    let set = f.set_incentive_policy(w.req(policy(good, "p-2"), &w.officer)).await?.into_inner();
    assert_eq!((set.policy, set.version), (Some(good), 1));

    // Monday 30 November: 3 hours (190 points, cut to 150 by the day's cap), 1 hour (70), a
    // no-show (nothing). Fees follow the sessions that earn.
    use pb::AttendanceStatus::{Attended, NoShow};
    let day = last_monday();
    let entries = [(ids[0].as_str(), Attended, 180), (ids[1].as_str(), Attended, 60), (ids[2].as_str(), NoShow, 0)];
    let recorded = f.record_attendance(w.req(roster("a-1", &piece, day, &entries), &w.host_token)).await?.into_inner();
    let mut awards: Vec<(String, u32, u32, Vec<i32>)> = recorded
        .awards
        .iter()
        .map(|a| (a.engagement_id.clone(), a.points, a.transport_fee_yen, a.capped.clone()))
        .collect();
    awards.sort();
    let mut expected = vec![
        (ids[0].clone(), 150, 500, vec![pb::Cap::PointsPerDay as i32]),
        (ids[1].clone(), 70, 500, vec![]),
    ];
    expected.sort();
    assert_eq!(awards, expected);
    // A retry answers the same; a correction of the session awards nothing more.
    let again = f.record_attendance(w.req(roster("a-1", &piece, day, &entries), &w.host_token)).await?.into_inner();
    assert_eq!(again, recorded);
    let corrected = f
        .record_attendance(w.req(roster("a-2", &piece, day, &[(ids[0].as_str(), Attended, 240)]), &w.host_token))
        .await?
        .into_inner();
    assert!(corrected.awards.is_empty());
    assert_eq!(p.events("followup", KASHIWA, "AwardGranted").await?.len(), 2);

    // The account: the resident reads their own; staff any with an engagement; nobody else.
    let account = |r: &Resident, token: &str| w.req(pb::GetAccountRequest { resident_id: r.id.clone() }, token);
    let own = f.get_account(account(&residents[0], &residents[0].token)).await?.into_inner().account.unwrap();
    assert_eq!((own.balance, own.transport_fee_yen, own.entries.len()), (150, 500, 1));
    assert_eq!(own.entries[0].award.as_ref().unwrap().capped, [pb::Cap::PointsPerDay as i32]);
    refused(f.get_account(account(&residents[0], &residents[1].token)).await, Code::NotFound);
    refused(f.get_account(account(&residents[0], &w.host_token)).await, Code::PermissionDenied);
    let stranger = Resident { id: uuid::Uuid::now_v7().to_string(), token: String::new() };
    refused(f.get_account(account(&stranger, &w.coordinator)).await, Code::NotFound);

    // A grant past the day's cap is refused and writes nothing; within it, it counts.
    let grant = |r: &Resident, points, id: &str| pb::GrantPointsRequest {
        request_id: id.into(),
        resident_id: r.id.clone(),
        points,
        reason: pb::GrantReason::Event as i32,
        on: on(last_monday()),
    };
    let r = f.grant_points(w.req(grant(&residents[1], 81, "g-1"), &w.coordinator)).await;
    assert!(refused(r, Code::FailedPrecondition).contains("points_per_day"));
    assert!(refused(f.grant_points(w.req(grant(&residents[1], 0, "g-2"), &w.coordinator)).await, Code::InvalidArgument).contains("points"));
    refused(f.grant_points(w.req(grant(&stranger, 10, "g-3"), &w.coordinator)).await, Code::NotFound);
    refused(f.grant_points(w.req(grant(&residents[1], 10, "g-4"), &residents[1].token)).await, Code::PermissionDenied);
    assert!(p.events("followup", KASHIWA, "PointsGranted").await?.is_empty());
    let granted = f.grant_points(w.req(grant(&residents[1], 80, "g-5"), &w.coordinator)).await?.into_inner();
    assert_eq!(granted.account.unwrap().balance, 150);

    // Redemptions: more than the balance is refused; 32 at once never overdraw it.
    let redeem = |r: &Resident, points, id: String| pb::RedeemPointsRequest {
        request_id: id,
        resident_id: r.id.clone(),
        points,
        purpose: pb::RedemptionPurpose::LocalShop as i32,
    };
    let r = f.redeem_points(w.req(redeem(&residents[0], 151, "x-1".into()), &residents[0].token)).await;
    assert!(refused(r, Code::FailedPrecondition).contains("balance"));
    let mut running = tokio::task::JoinSet::new();
    for i in 0..32 {
        let mut client = f.clone();
        let request = w.req(redeem(&residents[0], 10, format!("x-{i}-{}", uuid::Uuid::now_v7())), &residents[0].token);
        running.spawn(async move { client.redeem_points(request).await });
    }
    let (mut done, mut refusals) = (0, 0);
    while let Some(answer) = running.join_next().await {
        match answer? {
            Ok(_) => done += 1,
            Err(s) if s.code() == Code::FailedPrecondition => refusals += 1,
            Err(s) => panic!("{s:?}"),
        }
    }
    assert_eq!((done, refusals), (15, 17));
    let after = f.get_account(account(&residents[0], &w.coordinator)).await?.into_inner().account.unwrap();
    assert_eq!(after.balance, 0);
    assert_eq!(p.events("followup", KASHIWA, "PointsRedeemed").await?.len(), 15);
    Ok(())
});
