//! Reminders: a scan finds a session tomorrow and a check-in overdue, records each once however
//! often it runs (and after a restart), and a client follows them as a stream, resuming from the
//! last position it saw; a coordinator's caseload shows what is overdue and flagged.

use std::time::Duration;

use chrono::Datelike;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_client::FollowUpServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::*;
use crate::support::*;

/// Reminders from `after` until `n` have come.
async fn follow(
    f: &mut FollowUpServiceClient<Channel>,
    w: &World,
    after: u64,
    n: usize,
) -> anyhow::Result<Vec<pb::Reminder>> {
    let mut stream = f
        .follow_reminders(w.req(pb::FollowRemindersRequest { after }, &w.coordinator))
        .await?
        .into_inner();
    let mut seen = Vec::new();
    while seen.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(30), stream.message()).await??;
        let next = next.ok_or_else(|| anyhow::anyhow!("the stream ended"))?;
        seen.push(next.reminder.unwrap());
    }
    Ok(seen)
}

/// Scans until the scan reads `n` open engagements (the schedule follows the log a moment
/// behind); its answer.
async fn scan(
    f: &mut FollowUpServiceClient<Channel>,
    w: &World,
    n: u32,
) -> anyhow::Result<pb::ScanRemindersResponse> {
    for _ in 0..300 {
        let scanned = f
            .scan_reminders(w.req(pb::ScanRemindersRequest {}, &w.coordinator))
            .await?
            .into_inner();
        if scanned.engagements >= n {
            return Ok(scanned);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the scan never read {n} engagements")
}

per_backend!(Platform, async fn reminders_are_found_once_and_followed_from_where_a_client_left_off(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let mut f = FollowUpServiceClient::new(p.channel(3).await?);
    // One engagement on Mondays, begun four weeks ago and more, never checked in with; one on
    // tomorrow's weekday.
    let monday = monday_piece(&mut w).await?;
    let tomorrow = days(today(), 1);
    let (activity, piece) = weekly_activity(&mut w, pb::EngagementForm::Volunteer, tomorrow.weekday()).await?;
    w.publish(&activity).await?;
    let (_, mut a) = engaged(&p, &mut w, &mut f, &monday, 1).await?;
    let (_, mut b) = engaged(&p, &mut w, &mut f, &piece, 1).await?;
    let (a, b) = (a.remove(0).engagement_id, b.remove(0).engagement_id);

    let first = scan(&mut f, &w, 2).await?;
    assert_eq!(first.day, on(today()));
    let expected = first.due as usize;
    let reminders = follow(&mut f, &w, 0, expected).await?;
    let has = |id: &str, kind: pb::ReminderKind, due: chrono::NaiveDate| {
        reminders.iter().any(|r| r.engagement_id == id && r.kind == kind as i32 && r.due_on == on(due))
    };
    assert!(has(&a, pb::ReminderKind::CheckInOverdue, days(first_monday(), 28)), "{reminders:?}");
    assert!(has(&b, pb::ReminderKind::SessionTomorrow, tomorrow), "{reminders:?}");
    assert!(reminders.iter().all(|r| r.day == on(today())));
    assert!(reminders.windows(2).all(|p| p[0].position < p[1].position));

    // Scanning again records nothing twice; a client resumes after the last position it saw.
    let again = f.scan_reminders(w.req(pb::ScanRemindersRequest {}, &w.coordinator)).await?.into_inner();
    assert_eq!((again.due, again.recorded), (first.due, 0));
    assert_eq!(p.events("followup", KASHIWA, "ReminderDue").await?.len(), expected);
    if expected > 1 {
        let resumed = follow(&mut f, &w, reminders[0].position, expected - 1).await?;
        assert_eq!(resumed, reminders[1..]);
    }

    // After a restart the scheduler and a scan still record nothing twice.
    if p.backend == "sqlite" {
        p.restart_embedded(&[]).await?;
        let mut f = FollowUpServiceClient::new(p.channel(3).await?);
        let after = scan(&mut f, &w, 2).await?;
        assert_eq!(after.recorded, 0);
        assert_eq!(p.events("followup", KASHIWA, "ReminderDue").await?.len(), expected);
    }

    let mut f = FollowUpServiceClient::new(p.channel(3).await?);
    // The coordinator's caseload: the Monday engagement is overdue; once checked in with a risk
    // flagged, it is not, and shows the flag.
    let caseload = |f: &mut FollowUpServiceClient<Channel>| {
        let request = w.req(pb::GetCaseloadRequest { coordinator_id: COORDINATOR.into() }, &w.coordinator);
        let mut f = f.clone();
        async move { anyhow::Ok(f.get_caseload(request).await?.into_inner()) }
    };
    let before = caseload(&mut f).await?;
    let entry = |c: &pb::GetCaseloadResponse, id: &str| c.entries.iter().find(|e| e.engagement_id == id).cloned();
    let a_before = entry(&before, &a).expect("the Monday engagement is in the caseload");
    assert!(a_before.overdue && a_before.last_check_in.is_none());
    assert!(entry(&before, &b).is_some());
    assert!(!before.truncated);
    f.record_check_in(w.req(
        pb::RecordCheckInRequest {
            request_id: "c-1".into(),
            engagement_id: a.clone(),
            on: None,
            channel: pb::CheckInChannel::InPerson as i32,
            note: "話を聞いた".into(),
            risks: vec![pb::RiskFlag::MayDropOut as i32],
        },
        &w.coordinator,
    ))
    .await?;
    let mut after = None;
    for _ in 0..200 {
        let c = caseload(&mut f).await?;
        if entry(&c, &a).is_some_and(|e| e.last_check_in.is_some()) {
            after = entry(&c, &a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let a_after = after.expect("the check-in reaches the caseload");
    assert_eq!((a_after.overdue, a_after.last_check_in, a_after.check_in_due), (false, on(today()), on(days(today(), 28))));
    assert_eq!(a_after.risks, [pb::RiskFlag::MayDropOut as i32]);

    // Staff only.
    refused(f.scan_reminders(w.req(pb::ScanRemindersRequest {}, &w.host_token)).await, Code::PermissionDenied);
    let request = w.req(pb::GetCaseloadRequest { coordinator_id: COORDINATOR.into() }, &w.host_token);
    refused(f.get_caseload(request).await, Code::PermissionDenied);
    let r = f.follow_reminders(w.req(pb::FollowRemindersRequest { after: 0 }, &w.host_token)).await;
    refused(r.map(|_| ()), Code::PermissionDenied);
    Ok(())
});
