//! The journal: check-ins, reflections and feedback, sealed under the resident's key, read by
//! whom they concern, and unreadable — in every table, file, stream message and log line —
//! after the resident's erasure.

use std::time::Duration;

use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_client::FollowUpServiceClient;
use tonic::Code;

use crate::common::*;
use crate::support::*;

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
