//! Engagements through gRPC, on both backends (cross-service over NATS on PostgreSQL): opened
//! from matching's confirmations, once however often a confirmation is delivered or an opening
//! repeated; a session's roster recorded by the host, corrected, and refused whole for one bad
//! entry, writing nothing; an engagement ended; who may see what.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../matching/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_client::FollowUpServiceClient;
use tonic::Code;
use tonic::transport::Channel;

/// A published activity with one piece, Mondays 09:00–12:00 from 2 November 2026 to 29 March
/// 2027, for three people; its piece id.
async fn monday_piece(w: &mut World) -> anyhow::Result<String> {
    let schedule = pb::Schedule {
        kind: Some(pb::schedule::Kind::Weekly(pb::WeeklyRecurrence {
            weekday: pb::Weekday::Monday as i32,
            start_minute: 540,
            end_minute: 720,
            first_day: date(2026, 11, 2),
            last_day: date(2027, 3, 29),
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
                    period_start: date(2026, 10, 1),
                    period_end: date(2027, 3, 31),
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
    day: (i32, i32, i32),
    entries: &[(&str, pb::AttendanceStatus, u32)],
) -> pb::RecordAttendanceRequest {
    pb::RecordAttendanceRequest {
        request_id: id.into(),
        piece_id: piece.into(),
        session: date(day.0, day.1, day.2),
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

per_backend!(Platform, async fn confirmations_open_engagements_once_and_rosters_record_sessions(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let mut f = FollowUpServiceClient::new(p.channel(3).await?);
    let piece = monday_piece(&mut w).await?;
    let mut residents = Vec::new();
    for _ in 0..3 {
        let r = w.resident(&p, Person::default()).await?;
        let id = w.accepted(&r, &piece).await?;
        w.confirm(&id).await?;
        residents.push(r);
    }
    let listed = engagements(&mut f, &w, &piece, 3).await?;
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
    let day = (2026, 11, 30);
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
        (vec![(ids[1].as_str(), Attended, 180), (ids[2].as_str(), Attended, 0)], (2026, 11, 23), "entries[1].minutes"),
        (vec![(ids[1].as_str(), Attended, 1441)], (2026, 11, 23), "entries[0].minutes"),
        (vec![(ids[1].as_str(), NoShow, 30)], (2026, 11, 23), "entries[0].minutes"),
        (vec![(ids[1].as_str(), Attended, 60)], (2026, 12, 7), "session"),
        (vec![(ids[1].as_str(), Attended, 60), (ids[1].as_str(), Attended, 60)], (2026, 11, 23), "entries[1].engagement_id"),
        (vec![], (2026, 11, 23), "entries"),
    ] {
        let r = f.record_attendance(w.req(roster("bad", &piece, day, &entries), &w.host_token)).await;
        let status = r.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(status.message().contains(field), "{field}: {}", status.message());
    }
    let tuesday = f
        .record_attendance(w.req(roster("t", &piece, (2026, 11, 24), &[(ids[0].as_str(), Attended, 60)]), &w.host_token))
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
        .record_spontaneous_engagement(w.req(observe(&ids[0], pb::SpontaneousPattern::CommunityFormed, date(2026, 12, 1)), &w.coordinator))
        .await?
        .into_inner()
        .engagement
        .unwrap();
    assert_eq!(noted.observed.len(), 1);
    f.record_spontaneous_engagement(w.req(observe(&ids[0], pb::SpontaneousPattern::CommunityFormed, date(2026, 12, 1)), &w.coordinator))
        .await?;
    assert_eq!(p.events("followup", KASHIWA, "SpontaneousEngagementObserved").await?.len(), 1);
    for (request, field) in [
        (observe(&ids[0], pb::SpontaneousPattern::HubRole, date(2026, 12, 8)), "observed_on"),
        (observe(&ids[0], pb::SpontaneousPattern::Unspecified, date(2026, 12, 1)), "pattern"),
    ] {
        let r = f.record_spontaneous_engagement(w.req(request, &w.coordinator)).await;
        assert!(refused(r, Code::InvalidArgument).contains(field), "{field}");
    }
    let r = f
        .record_spontaneous_engagement(w.req(observe(&ids[0], pb::SpontaneousPattern::HubRole, date(2026, 12, 1)), &w.host_token))
        .await;
    refused(r, Code::PermissionDenied);

    // An end is a day the engagement ran: not after today.
    let future = pb::EndEngagementRequest {
        request_id: "end-0".into(),
        engagement_id: ids[1].clone(),
        reason: pb::EngagementEndReason::Completed as i32,
        last_day: date(2027, 3, 29),
    };
    assert!(refused(f.end_engagement(w.req(future, &w.coordinator)).await, Code::InvalidArgument).contains("last_day"));

    // Ended: dropped out after the 30th; later sessions are refused.
    let end = pb::EndEngagementRequest {
        request_id: "end-1".into(),
        engagement_id: ids[1].clone(),
        reason: pb::EngagementEndReason::DroppedOut as i32,
        last_day: date(2026, 12, 1),
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
        .record_attendance(w.req(roster("late", &piece, (2026, 12, 7), &[(ids[1].as_str(), NoShow, 0)]), &w.host_token))
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
                last_day: date(2026, 12, 1),
            },
            &w.coordinator,
        ))
        .await;
    assert!(refused(r, Code::InvalidArgument).contains("reason"));
    assert_eq!(p.events("followup", KASHIWA, "EngagementEnded").await?.len(), 2);
    Ok(())
});
