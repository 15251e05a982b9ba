//! The booking workflow through gRPC, on both backends: application and proposal to
//! confirmation, interviews where the form needs them, declines, withdrawals and cancellations
//! that free seats, and the lists.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use mosaic_proto::v1 as pb;
use tonic::Code;

per_backend!(Platform, async fn an_application_accepted_by_the_host_is_confirmed(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let piece = w.piece(2).await?;
    let alice = w.resident(&p, Person::default()).await?;
    let applied = w.apply(&alice, &piece).await?;
    assert_eq!(applied.stage, pb::MatchStage::Open as i32);
    assert_eq!(applied.origin, pb::MatchOrigin::Application as i32);
    assert!(applied.resident_accepted, "an application is the resident's acceptance");
    assert_eq!(applied.awaiting, "open, awaiting the host's acceptance");
    assert_eq!(applied.resident_id, alice.id);
    // Confirming before the host accepted is a step out of order, and writes nothing.
    let early = refused(w.confirm(&applied.match_id).await, Code::FailedPrecondition);
    assert!(early.contains("awaiting the host's acceptance"), "{early}");
    let accepted = w.host_accepts(&applied.match_id).await?;
    assert_eq!(accepted.version, applied.version + 1);
    let confirmed = w.confirm(&applied.match_id).await?;
    assert_eq!(confirmed.stage, pb::MatchStage::Confirmed as i32);
    let c = confirmed.commitment.clone().unwrap();
    assert_eq!((c.minutes_per_week, c.days_per_month), (180, 5), "May 2027 has five Mondays");
    assert_eq!(w.seats(&piece).await?, (2, 1, 1));
    // The resident reads their own match; the answer is current.
    let got = w
        .matching
        .get_match(w.req(pb::GetMatchRequest { match_id: applied.match_id.clone() }, &alice.token))
        .await?
        .into_inner()
        .r#match
        .unwrap();
    assert_eq!(got, confirmed);
    Ok(())
});

per_backend!(Platform, async fn a_proposal_needs_both_sides_and_the_interview_its_form_requires(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let (_, pieces) = w
        .pieces(
            pb::EngagementForm::Placement,
            pb::ApplicationMode::CoordinatedOnly,
            1,
            &[(pb::Weekday::Tuesday, 600, 900)],
        )
        .await?;
    let bob = w.resident(&p, Person::default()).await?;
    let proposed = w
        .matching
        .propose(w.req(
            pb::ProposeRequest {
                request_id: "propose-1".into(),
                piece_id: pieces[0].clone(),
                resident_id: bob.id.clone(),
                occurred_at: None,
            },
            &w.coordinator,
        ))
        .await?
        .into_inner()
        .r#match
        .unwrap();
    assert!(proposed.interview_required, "paid placement needs an interview");
    assert!(!proposed.resident_accepted && !proposed.host_accepted);
    assert_eq!(proposed.coordinator, "tester");
    let id = proposed.match_id.clone();
    // The resident accepts with their own token, the host with its own.
    let accept = |side: pb::MatchSide| pb::AcceptMatchRequest {
        request_id: format!("accept-{side:?}"),
        match_id: id.clone(),
        side: side as i32,
        ..Default::default()
    };
    w.matching.accept_match(w.req(accept(pb::MatchSide::Resident), &bob.token)).await?;
    // Accepting twice is a step out of order.
    let mut again = accept(pb::MatchSide::Resident);
    again.request_id = "accept-again".into();
    refused(w.matching.accept_match(w.req(again, &bob.token)).await, Code::FailedPrecondition);
    w.host_accepts(&id).await?;
    let no_interview = refused(w.confirm(&id).await, Code::FailedPrecondition);
    assert!(no_interview.contains("awaiting a passed interview"), "{no_interview}");
    // Recording an interview none scheduled is out of order too.
    let record = |n: &str| pb::RecordInterviewRequest {
        request_id: n.into(),
        match_id: id.clone(),
        outcome: pb::InterviewOutcome::Passed as i32,
        ..Default::default()
    };
    refused(
        w.matching.record_interview(w.req(record("r0"), &w.host_token)).await,
        Code::FailedPrecondition,
    );
    let at = mosaic_api::occurred_at::timestamp(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap());

    let scheduled = w
        .matching
        .schedule_interview(w.req(
            pb::ScheduleInterviewRequest {
                request_id: "s1".into(),
                match_id: id.clone(),
                at: Some(at),
                ..Default::default()
            },
            &w.host_token,
        ))
        .await?
        .into_inner()
        .r#match
        .unwrap();
    assert_eq!(scheduled.interview_at, Some(at));
    w.matching.record_interview(w.req(record("r1"), &w.coordinator)).await?;
    let confirmed = w.confirm(&id).await?;
    assert!(confirmed.interview_passed);
    assert_eq!(confirmed.stage, pb::MatchStage::Confirmed as i32);
    Ok(())
});

per_backend!(Platform, async fn ending_a_confirmed_match_frees_its_seat(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let piece = w.piece(1).await?;
    let carol = w.resident(&p, Person::default()).await?;
    let dave = w.resident(&p, Person::default()).await?;
    let c = w.accepted(&carol, &piece).await?;
    let d = w.accepted(&dave, &piece).await?;
    w.confirm(&c).await?;
    let full = refused(w.confirm(&d).await, Code::FailedPrecondition);
    assert!(full.contains("is full: 1 of 1 seat(s) confirmed"), "{full}");
    // Carol withdraws before the start: her seat goes to Dave.
    let withdrawn = w
        .matching
        .withdraw_match(w.req(
            pb::WithdrawMatchRequest {
                request_id: "w1".into(),
                match_id: c.clone(),
                reason: pb::MatchReason::Health as i32,
                ..Default::default()
            },
            &carol.token,
        ))
        .await?
        .into_inner()
        .r#match
        .unwrap();
    assert_eq!(withdrawn.stage, pb::MatchStage::Ended as i32);
    assert_eq!(withdrawn.ended_by, "MatchWithdrawn");
    assert_eq!(w.seats(&piece).await?, (1, 0, 1));
    w.confirm(&d).await?;
    // A coordinator cancels Dave's: the seat is free again; a withdrawn match may be opened
    // again and confirmed.
    w.matching
        .cancel_match(w.req(
            pb::CancelMatchRequest {
                request_id: "c1".into(),
                match_id: d.clone(),
                reason: pb::MatchReason::HostRequest as i32,
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await?;
    assert_eq!(w.seats(&piece).await?, (1, 0, 1));
    let reopened = w.apply(&carol, &piece).await?;
    assert_eq!(reopened.match_id, c, "one match per resident and piece");
    assert_eq!(reopened.stage, pb::MatchStage::Open as i32);
    w.host_accepts(&c).await?;
    w.confirm(&c).await?;
    assert_eq!(w.seats(&piece).await?, (1, 1, 0));
    Ok(())
});

per_backend!(Platform, async fn a_declined_match_ends_and_lists_show_each_party_its_own(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let piece = w.piece(3).await?;
    let erin = w.resident(&p, Person::default()).await?;
    let frank = w.resident(&p, Person::default()).await?;
    let e = w.apply(&erin, &piece).await?;
    let proposed = w
        .matching
        .propose(w.req(
            pb::ProposeRequest {
                request_id: "p-frank".into(),
                piece_id: piece.clone(),
                resident_id: frank.id.clone(),
                occurred_at: None,
            },
            &w.coordinator,
        ))
        .await?;
    let f = proposed.into_inner().r#match.unwrap();
    let declined = w
        .matching
        .decline_match(w.req(
            pb::DeclineMatchRequest {
                request_id: "d1".into(),
                match_id: f.match_id.clone(),
                side: pb::MatchSide::Resident as i32,
                reason: pb::MatchReason::Schedule as i32,
                ..Default::default()
            },
            &frank.token,
        ))
        .await?;
    w.saw(&declined);
    let declined = declined.into_inner().r#match.unwrap();
    assert_eq!(declined.ended_by, "MatchDeclined");
    // Lists may lag a command by a moment: they wait for the tokens of what they should show.
    use pb::list_matches_request::Scope;
    let any = pb::MatchStage::Unspecified;
    let (coordinator, host) = (w.coordinator.clone(), w.host_token.clone());
    let on_piece = || Scope::PieceId(piece.clone());
    let by_piece = w.list(on_piece(), &coordinator, any).await?;
    assert_eq!(by_piece, vec![e.match_id.clone(), f.match_id.clone()], "oldest first, paged");
    let open = w.list(on_piece(), &coordinator, pb::MatchStage::Open).await?;
    assert_eq!(open, vec![e.match_id.clone()]);
    let caseload = w.list(Scope::Coordinator("tester".into()), &coordinator, any).await?;
    assert_eq!(caseload, vec![f.match_id.clone()], "the coordinator proposed Frank's only");
    let erins = w.list(on_piece(), &erin.token, any).await?;
    assert_eq!(erins, vec![e.match_id.clone()], "a resident lists only their own");
    assert_eq!(w.list(on_piece(), &host, any).await?.len(), 2, "a host lists its own");
    assert_eq!(w.list(Scope::ResidentId(frank.id.clone()), &coordinator, any).await?, vec![f.match_id.clone()]);
    // Another resident's match does not exist for Erin.
    let hidden = w
        .matching
        .get_match(w.req(pb::GetMatchRequest { match_id: f.match_id.clone() }, &erin.token))
        .await;
    refused(hidden, Code::NotFound);
    Ok(())
});
