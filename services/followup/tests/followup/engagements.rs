//! Engagements: opened from matching's confirmations, once however often a confirmation is
//! delivered or an opening repeated; a session's roster recorded by the host, corrected, and
//! refused whole for one bad entry, writing nothing; spontaneous engagement; an engagement ended
//! and its seat freed; who may see what.

use std::time::Duration;

use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_client::FollowUpServiceClient;
use tonic::Code;

use crate::common::*;
use crate::support::*;

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

    // The activity's roster of that day: the three engagements and what was recorded; none on
    // a Tuesday; another host's activity is not found.
    let activity = listed[0].activity_id.clone();
    let roster_of = |token: &str, d: chrono::NaiveDate| {
        w.req(pb::GetSessionRosterRequest { activity_id: activity.clone(), session: on(d) }, token)
    };
    let mut lines = Vec::new();
    for _ in 0..200 {
        lines = f.get_session_roster(roster_of(&w.host_token, day)).await?.into_inner().lines;
        if lines.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lines.len(), 3);
    let first = lines.iter().find(|l| l.engagement_id == ids[0]).unwrap();
    assert_eq!(first.session.as_ref().map(|s| s.minutes), Some(150));
    assert!(f.get_session_roster(roster_of(&w.coordinator, days(day, -6))).await?.into_inner().lines.is_empty());
    let elsewhere = p.host_token(KASHIWA, &uuid::Uuid::now_v7().to_string());
    refused(f.get_session_roster(roster_of(&elsewhere, day)).await, Code::NotFound);

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

per_backend!(Platform, async fn a_residents_own_report_earns_nothing_until_the_host_confirms_it(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let mut f = FollowUpServiceClient::new(p.channel(3).await?);
    let piece = monday_piece(&mut w).await?;
    let (residents, listed) = engaged(&p, &mut w, &mut f, &piece, 2).await?;
    let owner = residents.iter().find(|r| r.id == listed[0].resident_id).unwrap();
    let other = residents.iter().find(|r| r.id != listed[0].resident_id).unwrap();
    let id = listed[0].engagement_id.clone();
    let policy = pb::IncentivePolicy { points_per_hour: 60, ..Default::default() };
    f.set_incentive_policy(w.req(
        pb::SetIncentivePolicyRequest { request_id: "p".into(), policy: Some(policy), expected_version: 0 },
        &w.officer,
    ))
    .await?;
    let day = last_monday();
    let report = |status: pb::AttendanceStatus, minutes: u32, session: chrono::NaiveDate| pb::ReportAttendanceRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        engagement_id: id.clone(),
        session: on(session),
        status: status as i32,
        minutes,
    };
    use pb::AttendanceStatus::{Attended, NoShow};

    // The resident reports the session, then corrects it: self-reported, unverified.
    f.report_attendance(w.req(report(Attended, 150, day), &owner.token)).await?;
    let reported = f
        .report_attendance(w.req(report(Attended, 120, day), &owner.token))
        .await?
        .into_inner()
        .engagement
        .unwrap();
    assert!(reported.sessions[0].self_reported);
    assert_eq!((reported.minutes_attended, reported.minutes_unconfirmed), (0, 120));
    assert!(p.events("followup", KASHIWA, "AwardGranted").await?.is_empty());

    // Bad reports write nothing.
    let before = p.events("followup", KASHIWA, "AttendanceRecorded").await?.len();
    for (request, field) in [
        (report(NoShow, 0, day), "status"),
        (report(Attended, 0, day), "minutes"),
        (report(Attended, 60, next_monday()), "session"),
    ] {
        let r = f.report_attendance(w.req(request, &owner.token)).await;
        assert!(refused(r, Code::InvalidArgument).contains(field), "{field}");
    }
    refused(f.report_attendance(w.req(report(Attended, 60, day), &other.token)).await, Code::NotFound);
    refused(f.report_attendance(w.req(report(Attended, 60, day), &w.host_token)).await, Code::PermissionDenied);
    assert_eq!(p.events("followup", KASHIWA, "AttendanceRecorded").await?.len(), before);

    // The host records the same figures: confirmed, verified, and awarded once.
    let confirmed = f
        .record_attendance(w.req(roster("c-1", &piece, day, &[(id.as_str(), Attended, 120)]), &w.host_token))
        .await?
        .into_inner();
    let e = &confirmed.engagements[0];
    assert!(!e.sessions[0].self_reported);
    assert_eq!((e.minutes_attended, e.minutes_unconfirmed), (120, 0));
    assert_eq!(confirmed.awards.len(), 1);
    // Two hours at 60 points, and the activity's 10 points a session.
    assert_eq!(confirmed.awards[0].points, 130);
    // The resident cannot report over it.
    let r = f.report_attendance(w.req(report(Attended, 180, day), &owner.token)).await;
    assert!(refused(r, Code::FailedPrecondition).contains("host"));
    Ok(())
});
