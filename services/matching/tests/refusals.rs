//! Every refusal through gRPC, on both backends: unknown and foreign ids, guests, consent, proxy
//! agreements, hosts acting for others, steps out of order, caps, bad input — each with the
//! right status naming the rule or field, and none writing anything.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use tonic::Code;

fn apply_for(piece: &str, resident: &str) -> pb::ApplyRequest {
    pb::ApplyRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        piece_id: piece.into(),
        resident_id: resident.into(),
        occurred_at: None,
    }
}

per_backend!(Platform, async fn unknown_and_foreign_ids_are_not_found(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let mut other = World::new(&p, CHIGASAKI).await?;
    let foreign_piece = other.piece(2).await?;
    let foreign_resident = other.resident(&p, Person::default()).await?;
    let foreign_match = other.apply(&foreign_resident, &foreign_piece).await?.match_id;
    let ivy = w.resident(&p, Person::default()).await?;
    let unknown = uuid::Uuid::now_v7().to_string();
    for piece in [&unknown, &foreign_piece] {
        let message = refused(w.apply(&ivy, piece).await, Code::NotFound);
        assert!(message.contains(&format!("piece {piece} does not exist")), "{message}");
    }
    // A coordinator proposing another municipality's resident.
    let piece = w.piece(2).await?;
    let proposal = pb::ProposeRequest {
        request_id: "p".into(),
        piece_id: piece.clone(),
        resident_id: foreign_resident.id.clone(),
        occurred_at: None,
    };
    refused(w.matching.propose(w.req(proposal, &w.coordinator)).await, Code::NotFound);
    // Another municipality's match, to every step and read.
    let get = pb::GetMatchRequest { match_id: foreign_match.clone() };
    refused(w.matching.get_match(w.req(get, &w.coordinator)).await, Code::NotFound);
    refused(w.host_accepts(&foreign_match).await, Code::NotFound);
    refused(w.confirm(&foreign_match).await, Code::NotFound);
    let seats = pb::GetOpenSeatsRequest { piece_id: foreign_piece.clone() };
    refused(w.matching.get_open_seats(w.req(seats, &w.coordinator)).await, Code::NotFound);
    // Nothing was written in Chigasaki by any of it.
    assert_eq!(other.seats(&foreign_piece).await?, (2, 0, 2));
    let listed = other
        .list(
            pb::list_matches_request::Scope::PieceId(foreign_piece.clone()),
            &other.coordinator.clone(),
            pb::MatchStage::Unspecified,
        )
        .await?;
    assert_eq!(listed, vec![foreign_match]);
    Ok(())
});

per_backend!(Platform, async fn who_may_be_matched_and_where(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let (_, coordinated) = w
        .pieces(
            pb::EngagementForm::Volunteer,
            pb::ApplicationMode::CoordinatedOnly,
            2,
            &[(pb::Weekday::Friday, 600, 660)],
        )
        .await?;
    let open_piece = w.piece(2).await?;
    let guest = w.resident(&p, Person { guest: true, ..Person::default() }).await?;
    let message = refused(w.apply(&guest, &coordinated[0]).await, Code::FailedPrecondition);
    assert!(message.contains("is a guest") && message.contains("per-application guests"), "{message}");
    let guest_match = w.apply(&guest, &open_piece).await?;
    assert!(guest_match.guest);
    let unwilling = w.resident(&p, Person { consent: false, ..Person::default() }).await?;
    let message = refused(w.apply(&unwilling, &open_piece).await, Code::FailedPrecondition);
    assert!(message.contains("has not consented to matching"), "{message}");
    // A coordinator may apply only for a resident with a confirmed proxy agreement.
    let jun = w.resident(&p, Person::default()).await?;
    let message = refused(
        w.matching.apply(w.req(apply_for(&open_piece, &jun.id), &w.coordinator)).await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("no confirmed proxy agreement"), "{message}");
    // A resident applies only for themself.
    let message = refused(
        w.matching.apply(w.req(apply_for(&open_piece, &guest.id), &jun.token)).await,
        Code::PermissionDenied,
    );
    assert!(message.contains("only for themself"), "{message}");
    // Analysts read insights, not matches.
    let analyst = p.token(Role::Analyst, KASHIWA);
    refused(w.matching.apply(w.req(apply_for(&open_piece, ""), &analyst)).await, Code::PermissionDenied);
    // An activity paused takes no new applications.
    let (activity, paused) = w
        .pieces(pb::EngagementForm::Volunteer, pb::ApplicationMode::Open, 1, &[(pb::Weekday::Sunday, 600, 660)])
        .await?;
    let pause = w
        .activity
        .pause_activity(authed(
            pb::PauseActivityRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                activity_id: activity,
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await?;
    w.saw(&pause);
    let message = refused(w.apply(&jun, &paused[0]).await, Code::FailedPrecondition);
    assert!(message.contains("is paused: it takes no new applications"), "{message}");
    // One match per resident and piece.
    let message = refused(w.apply(&guest, &open_piece).await, Code::AlreadyExists);
    assert!(message.contains(&guest_match.match_id), "{message}");
    Ok(())
});

per_backend!(Platform, async fn each_side_acts_only_for_itself(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let mut rival = World::new(&p, KASHIWA).await?;
    let piece = w.piece(2).await?;
    let kai = w.resident(&p, Person::default()).await?;
    let m = w.apply(&kai, &piece).await?;
    // Another host's token: the match does not exist for it.
    let accept = |side: pb::MatchSide| pb::AcceptMatchRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        match_id: m.match_id.clone(),
        side: side as i32,
        ..Default::default()
    };
    refused(
        w.matching.accept_match(w.req(accept(pb::MatchSide::Host), &rival.host_token)).await,
        Code::NotFound,
    );
    let _ = rival.piece(1).await?;
    // The resident cannot accept for the host.
    let message = refused(
        w.matching.accept_match(w.req(accept(pb::MatchSide::Host), &kai.token)).await,
        Code::PermissionDenied,
    );
    assert!(message.contains("activity's host organisation"), "{message}");
    // Staff record the resident's side only under a proxy agreement.
    let message = refused(
        w.matching.accept_match(w.req(accept(pb::MatchSide::Resident), &w.coordinator)).await,
        Code::FailedPrecondition,
    );
    assert!(message.contains("no confirmed proxy agreement"), "{message}");
    // Only staff cancel.
    let cancel = pb::CancelMatchRequest {
        request_id: "c".into(),
        match_id: m.match_id.clone(),
        reason: pb::MatchReason::Other as i32,
        ..Default::default()
    };
    refused(w.matching.cancel_match(w.req(cancel, &kai.token)).await, Code::PermissionDenied);
    let after = w
        .matching
        .get_match(w.req(pb::GetMatchRequest { match_id: m.match_id.clone() }, &w.coordinator))
        .await?
        .into_inner()
        .r#match
        .unwrap();
    assert_eq!(after.version, m.version, "no refusal wrote anything");
    Ok(())
});

per_backend!(Platform, async fn the_municipal_cap_is_named_with_its_figures(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    // A Silver Center's rule: at most four days a month, and a policy needs an officer.
    let policy = |days| pb::SetMatchingPolicyRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        policy: Some(pb::MatchingPolicy {
            max_hours_per_week: Some(20),
            max_days_per_month: Some(days),
            ..Default::default()
        }),
        ..Default::default()
    };
    refused(w.matching.set_matching_policy(w.req(policy(4), &w.coordinator)).await, Code::PermissionDenied);
    let set = w.matching.set_matching_policy(w.req(policy(4), &w.officer)).await?.into_inner();
    assert_eq!(set.policy.unwrap().version, 1);
    let bad = w.matching.set_matching_policy(w.req(policy(40), &w.officer)).await.unwrap_err();
    assert_bad(&bad, "policy.max_days_per_month");
    let got = w
        .matching
        .get_matching_policy(w.req(pb::GetMatchingPolicyRequest {}, &w.officer))
        .await?
        .into_inner()
        .policy
        .unwrap();
    assert_eq!((got.max_days_per_month, got.version), (Some(4), 1), "the refused one wrote nothing");
    let piece = w.piece(2).await?;
    let lea = w.resident(&p, Person { max_days_per_month: 10, ..Person::default() }).await?;
    let m = w.accepted(&lea, &piece).await?;
    let message = refused(w.confirm(&m).await, Code::FailedPrecondition);
    assert_eq!(
        message,
        "max_days_per_month (the municipality's) is 4 day(s); confirmed 0 day(s) plus this \
         piece's 5 day(s) would be 5 day(s)"
    );
    assert_eq!(w.seats(&piece).await?, (2, 0, 2));
    Ok(())
});

per_backend!(Platform, async fn bad_input_names_its_fields_and_writes_nothing(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let piece = w.piece(2).await?;
    let mo = w.resident(&p, Person::default()).await?;
    let m = w.apply(&mo, &piece).await?;
    let bad_apply = pb::ApplyRequest {
        request_id: String::new(),
        piece_id: "not an id".into(),
        resident_id: String::new(),
        occurred_at: Some(prost_types_timestamp(4_000_000_000)),
    };
    let e = w.matching.apply(w.req(bad_apply, &w.coordinator)).await.unwrap_err();
    for field in ["request_id", "piece_id", "occurred_at", "resident_id"] {
        assert_bad(&e, field);
    }
    let e = w
        .matching
        .decline_match(w.req(
            pb::DeclineMatchRequest {
                request_id: "d".into(),
                match_id: m.match_id.clone(),
                ..Default::default()
            },
            &mo.token,
        ))
        .await
        .unwrap_err();
    assert_bad(&e, "side");
    assert_bad(&e, "reason");
    let e = w
        .matching
        .schedule_interview(w.req(
            pb::ScheduleInterviewRequest {
                request_id: "s".into(),
                match_id: m.match_id.clone(),
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await
        .unwrap_err();
    assert_bad(&e, "at");
    let e = w
        .matching
        .list_matches(w.req(pb::ListMatchesRequest::default(), &w.coordinator))
        .await
        .unwrap_err();
    assert_bad(&e, "scope");
    // A stale expected_version is ABORTED.
    let stale = pb::ConfirmMatchRequest {
        request_id: "x".into(),
        match_id: m.match_id.clone(),
        expected_version: m.version + 5,
        occurred_at: None,
    };
    refused(w.matching.confirm_match(w.req(stale, &w.coordinator)).await, Code::Aborted);
    let after = w
        .matching
        .get_match(w.req(pb::GetMatchRequest { match_id: m.match_id.clone() }, &w.coordinator))
        .await?
        .into_inner()
        .r#match
        .unwrap();
    assert_eq!(after.version, m.version, "nothing was written");
    Ok(())
});

fn prost_types_timestamp(seconds: i64) -> prost_types::Timestamp {
    mosaic_api::occurred_at::timestamp(chrono::DateTime::from_timestamp(seconds, 0).unwrap())
}

per_backend!(Platform, async fn what_changes_in_the_registry_stops_new_matches(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let (_, placement) = w
        .pieces(
            pb::EngagementForm::Placement,
            pb::ApplicationMode::Open,
            2,
            &[(pb::Weekday::Wednesday, 600, 720)],
        )
        .await?;
    let volunteer = w.piece(2).await?;
    let sora = w.resident(&p, Person::default()).await?;
    let m = w.accepted(&sora, &placement[0]).await?;
    w.interviewed(&m).await?;
    // The host loses its placement licence between application and confirmation.
    let updated = w
        .registry
        .update_organisation(authed(
            pb::UpdateOrganisationRequest {
                request_id: "licence-gone".into(),
                organisation_id: w.host.clone(),
                details: Some(pb::OrganisationDetails {
                    kind: pb::OrganisationKind::SilverCenter as i32,
                    name: "シルバー人材センター".into(),
                    fields: vec![pb::Field::Agriculture as i32],
                    district: "柏".into(),
                    contact: Some(pb::ContactPerson {
                        name: "佐藤 花子".into(),
                        phone: String::new(),
                        email: String::new(),
                    }),
                    licences: vec![],
                }),
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await?;
    w.saw(&updated);
    let message = refused(w.confirm(&m).await, Code::FailedPrecondition);
    assert!(message.contains("does not hold the paid_placement licence"), "{message}");
    // The resident revokes matching consent: no new match.
    let revoked = w
        .registry
        .set_consent(authed(
            pb::SetConsentRequest {
                request_id: "no-more".into(),
                resident_id: sora.id.clone(),
                purpose: pb::ConsentPurpose::Matching as i32,
                granted: false,
                occurred_at: None,
            },
            &sora.token,
        ))
        .await?;
    w.saw(&revoked);
    let message = refused(w.apply(&sora, &volunteer).await, Code::FailedPrecondition);
    assert!(message.contains("has not consented to matching"), "{message}");
    // Another resident withdraws from the registry: no new match either.
    let taro = w.resident(&p, Person::default()).await?;
    let withdrew = w
        .registry
        .withdraw_resident(authed(
            pb::WithdrawResidentRequest {
                request_id: "bye".into(),
                resident_id: taro.id.clone(),
                reason: pb::WithdrawalReason::Moved as i32,
                occurred_at: None,
            },
            &taro.token,
        ))
        .await?;
    w.saw(&withdrew);
    let message = refused(w.apply(&taro, &volunteer).await, Code::FailedPrecondition);
    assert!(message.contains("has withdrawn or was erased"), "{message}");
    Ok(())
});

per_backend!(Platform, async fn a_host_learns_the_rule_not_the_residents_other_commitments(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let first = w.piece(2).await?;
    let second = w.piece(2).await?;
    let uta = w.resident(&p, Person::default()).await?;
    let held = w.accepted(&uta, &first).await?;
    w.confirm(&held).await?;
    let m = w.accepted(&uta, &second).await?;
    let confirm = |n: &str| pb::ConfirmMatchRequest {
        request_id: n.into(),
        match_id: m.clone(),
        ..Default::default()
    };
    let by_host = w.matching.confirm_match(w.req(confirm("h"), &w.host_token)).await;
    let message = refused(by_host, Code::FailedPrecondition);
    assert_eq!(
        message,
        "the resident's other confirmed commitments or caps do not allow this piece"
    );
    let by_staff = w.matching.confirm_match(w.req(confirm("c"), &w.coordinator)).await;
    let message = refused(by_staff, Code::FailedPrecondition);
    assert!(message.contains(&format!("confirmed for piece {first}")), "{message}");
    Ok(())
});
