//! Recommendations through gRPC, on both backends: people for a piece and pieces for a person,
//! with their scores' parts; `explain`; the policy's weights and version; recording, which
//! counts as an offer; who may ask; and residents who leave the candidate index.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use tonic::Code;

const MONDAY_MORNING: (pb::Weekday, u32, u32) = (pb::Weekday::Monday, 540, 720);

/// A resident free on Monday mornings with `skills`.
fn person(skills: &[(&'static str, u32)]) -> Person {
    Person {
        skills: skills.to_vec(),
        availability: vec![MONDAY_MORNING],
        ..Person::default()
    }
}

/// A published volunteer piece on Monday mornings needing cooking at level 2.
async fn cooking_piece(w: &mut World) -> anyhow::Result<String> {
    let (_, pieces) = w
        .pieces_needing(
            pb::EngagementForm::Volunteer,
            pb::ApplicationMode::Open,
            2,
            &[MONDAY_MORNING],
            &[("cooking", 2)],
        )
        .await?;
    Ok(pieces[0].clone())
}

fn ask(piece: &str, k: u32, explain: &str, record: Option<bool>) -> pb::RecommendResidentsRequest {
    pb::RecommendResidentsRequest {
        piece_id: piece.into(),
        k,
        explain_resident_id: explain.into(),
        record,
    }
}

fn part(score: &pb::Score, factor: pb::ScoreFactor) -> pb::ScorePart {
    score
        .parts
        .iter()
        .find(|p| p.factor == factor as i32)
        .cloned()
        .unwrap()
}

per_backend!(Platform, async fn residents_for_a_piece_are_filtered_scored_explained_and_recorded(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let piece = cooking_piece(&mut w).await?;
    let expert = w.resident(&p, person(&[("cooking", 5)])).await?;
    let novice = w
        .resident(&p, Person { interests: vec![pb::Field::Agriculture], ..person(&[("cooking", 2)]) })
        .await?;
    let unskilled = w.resident(&p, person(&[("cooking", 1), ("care", 5)])).await?;
    let tuesdays = w
        .resident(&p, Person { availability: vec![(pb::Weekday::Tuesday, 540, 720)], ..person(&[("cooking", 5)]) })
        .await?;
    let unwilling = w.resident(&p, Person { consent: false, ..person(&[("cooking", 5)]) }).await?;

    let answer = w
        .matching
        .recommend_residents(w.req(ask(&piece, 10, "", Some(false)), &w.coordinator))
        .await?
        .into_inner();
    let ids: Vec<&str> = answer.residents.iter().map(|r| r.resident_id.as_str()).collect();
    assert_eq!(ids, [expert.id.as_str(), novice.id.as_str()], "only those who pass every filter");
    assert_eq!(answer.considered, 2);
    assert_eq!(answer.policy_version, 0, "no policy set: the defaults");
    assert!(answer.recommendation_id.is_empty(), "not recorded when asked not to");
    for (r, rank) in answer.residents.iter().zip(1..) {
        let s = r.score.clone().unwrap();
        assert_eq!(r.rank, rank);
        assert_eq!(s.parts.len(), 6);
        assert_eq!(s.total, s.parts.iter().map(|p| p.points).sum::<i64>(), "parts sum to the score");
    }
    let first = answer.residents[0].score.clone().unwrap();
    let second = answer.residents[1].score.clone().unwrap();
    assert_eq!(part(&first, pb::ScoreFactor::Skill).value, 1000, "level 5 of 5");
    assert_eq!(part(&second, pb::ScoreFactor::Skill).value, 400, "level 2 of 5");
    assert_eq!(part(&second, pb::ScoreFactor::Interest).value, 1000, "agriculture is their interest");
    assert_eq!(part(&first, pb::ScoreFactor::FairnessBoost).value, 1000, "no engagement yet");

    // Explain: the filter that excluded, or the score and rank.
    for (who, filter) in [
        (&unskilled, pb::HardFilter::Skills),
        (&tuesdays, pb::HardFilter::Availability),
        (&unwilling, pb::HardFilter::NoMatchingConsent),
    ] {
        let e = w
            .matching
            .recommend_residents(w.req(ask(&piece, 1, &who.id, Some(false)), &w.coordinator))
            .await?
            .into_inner()
            .explanation
            .unwrap();
        assert_eq!(e.excluded_by, filter as i32, "{filter:?}");
        assert_eq!((e.rank, e.score), (0, None));
    }
    let e = w
        .matching
        .recommend_residents(w.req(ask(&piece, 1, &novice.id, Some(false)), &w.coordinator))
        .await?
        .into_inner();
    assert_eq!(e.residents.len(), 1);
    let e = e.explanation.unwrap();
    assert_eq!((e.excluded_by, e.rank), (0, 2), "ranked second, beyond k = 1");
    assert_eq!(e.score.unwrap(), second);

    // A coordinator's answer is recorded by default; being shown counts as an offer.
    let recorded = w
        .matching
        .recommend_residents(w.req(ask(&piece, 10, "", None), &w.coordinator))
        .await?;
    w.saw(&recorded);
    let recorded = recorded.into_inner();
    assert!(!recorded.recommendation_id.is_empty());
    let after = w
        .matching
        .recommend_residents(w.req(ask(&piece, 10, "", Some(false)), &w.coordinator))
        .await?
        .into_inner();
    let dampener = part(after.residents[0].score.as_ref().unwrap(), pb::ScoreFactor::OfferDampener);
    assert_eq!((dampener.value, dampener.points), (166, -1660), "1 offer of 1 + 5, weight 10");
    let events = p.matching_events(KASHIWA, "RecommendationsRecorded").await?;
    assert_eq!(events.len(), 1);
    let rec = &events[0]["recommendations"][0];
    assert_eq!(rec["recommendation_id"], recorded.recommendation_id.as_str());
    assert_eq!(rec["kind"], "residents_for_piece");
    assert_eq!(rec["subject_id"], piece.as_str());
    assert_eq!(rec["policy_version"], 0);
    assert_eq!(rec["shown"][0]["id"], expert.id.as_str());
    assert_eq!(rec["shown"][0]["score"], recorded.residents[0].score.as_ref().unwrap().total);

    // An open match takes the resident out of the piece's list.
    w.apply(&expert, &piece).await?;
    let e = w
        .matching
        .recommend_residents(w.req(ask(&piece, 10, &expert.id, Some(false)), &w.coordinator))
        .await?
        .into_inner();
    assert_eq!(e.residents.len(), 1);
    assert_eq!(e.explanation.unwrap().excluded_by, pb::HardFilter::AlreadyMatched as i32);
    Ok(())
});

per_backend!(Platform, async fn who_may_ask_and_what_a_stranger_sees(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let piece = cooking_piece(&mut w).await?;
    let cook = w.resident(&p, person(&[("cooking", 3)])).await?;
    let other = w.resident(&p, person(&[("cooking", 3)])).await?;
    let mut matsue = World::new(&p, CHIGASAKI).await?;
    let foreign_piece = cooking_piece(&mut matsue).await?;
    let foreign_resident = matsue.resident(&p, person(&[("cooking", 3)])).await?;

    // Another municipality's piece or resident does not exist here.
    let r = w.matching.recommend_residents(w.req(ask(&foreign_piece, 5, "", None), &w.coordinator)).await;
    refused(r, Code::NotFound);
    let r = w.matching.recommend_residents(w.req(ask(&piece, 5, &foreign_resident.id, None), &w.coordinator)).await;
    assert!(refused(r, Code::NotFound).contains("explain_resident_id"));
    let pieces_of = |resident: &str, explain: &str| pb::RecommendPiecesRequest {
        resident_id: resident.into(),
        k: 5,
        explain_piece_id: explain.into(),
        record: None,
    };
    let r = w.matching.recommend_pieces(w.req(pieces_of(&foreign_resident.id, ""), &w.coordinator)).await;
    refused(r, Code::NotFound);
    let r = w.matching.recommend_pieces(w.req(pieces_of(&cook.id, &foreign_piece), &w.coordinator)).await;
    assert!(refused(r, Code::NotFound).contains("explain_piece_id"));

    // A resident asks for their own pieces only.
    let mine = w.matching.recommend_pieces(w.req(pieces_of("", &piece), &cook.token)).await?.into_inner();
    assert_eq!(mine.resident_id, cook.id);
    assert_eq!(mine.pieces.iter().map(|p| p.piece_id.as_str()).collect::<Vec<_>>(), [piece.as_str()]);
    assert_eq!(mine.explanation.unwrap().rank, 1);
    assert!(mine.recommendation_id.is_empty(), "a resident's answer is not recorded by default");
    let r = w.matching.recommend_pieces(w.req(pieces_of(&other.id, ""), &cook.token)).await;
    refused(r, Code::NotFound);
    let r = w.matching.recommend_residents(w.req(ask(&piece, 5, "", None), &cook.token)).await;
    refused(r, Code::PermissionDenied);
    let analyst = p.token(Role::Analyst, KASHIWA);
    let r = w.matching.recommend_residents(w.req(ask(&piece, 5, "", None), &analyst)).await;
    refused(r, Code::PermissionDenied);
    let r = w.matching.recommend_pieces(w.req(pieces_of(&cook.id, ""), &w.host_token)).await;
    refused(r, Code::PermissionDenied);

    // Bad input names its field and records nothing.
    let r = w.matching.recommend_residents(w.req(ask(&piece, 101, "", None), &w.coordinator)).await;
    assert!(refused(r, Code::InvalidArgument).contains("k"));
    let r = w.matching.recommend_residents(w.req(ask("not-an-id", 5, "", None), &w.coordinator)).await;
    assert!(refused(r, Code::InvalidArgument).contains("piece_id"));
    assert!(p.matching_events(KASHIWA, "RecommendationsRecorded").await?.is_empty());

    // Staff ask for any resident's pieces; a recorded answer names the resident.
    let theirs = w
        .matching
        .recommend_pieces(w.req(pb::RecommendPiecesRequest { record: Some(true), ..pieces_of(&other.id, "") }, &w.coordinator))
        .await?
        .into_inner();
    assert_eq!(theirs.pieces.len(), 1);
    assert!(!theirs.recommendation_id.is_empty());
    // A resident may ask for theirs to be recorded; the record names them by a digest, not
    // their login.
    let own = w
        .matching
        .recommend_pieces(w.req(pb::RecommendPiecesRequest { record: Some(true), ..pieces_of("", "") }, &cook.token))
        .await?
        .into_inner();
    let events = p.matching_events(KASHIWA, "RecommendationsRecorded").await?;
    let recorded: Vec<&serde_json::Value> = events.iter().flat_map(|e| e["recommendations"].as_array().unwrap()).collect();
    let mine = recorded.iter().find(|r| r["recommendation_id"] == own.recommendation_id.as_str()).unwrap();
    assert_eq!(mine["kind"], "pieces_for_resident");
    assert_eq!(mine["subject_id"], cook.id.as_str());
    let asked_by = mine["asked_by"].as_str().unwrap();
    assert!(asked_by.starts_with("resident:") && !asked_by.contains('@'), "{asked_by}");
    Ok(())
});

per_backend!(Platform, async fn the_policy_weighs_the_factors_and_every_answer_names_its_version(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let piece = cooking_piece(&mut w).await?;
    let expert = w.resident(&p, person(&[("cooking", 5)])).await?;
    let keen = w
        .resident(&p, Person { interests: vec![pb::Field::Agriculture], ..person(&[("cooking", 2)]) })
        .await?;
    let order = |a: &pb::RecommendResidentsResponse| {
        a.residents.iter().map(|r| r.resident_id.clone()).collect::<Vec<_>>()
    };
    let before = w.matching.recommend_residents(w.req(ask(&piece, 5, "", Some(false)), &w.coordinator)).await?.into_inner();
    assert_eq!(order(&before), [expert.id.clone(), keen.id.clone()]);

    // A coordinator tunes the weights (interest over skill); the caps stay the officers'.
    let interest_first = pb::MatchingWeights { skill: 10, interest: 100, ..Default::default() };
    let set = |weights: Option<pb::MatchingWeights>, hours: Option<u32>, window: u32| pb::SetMatchingPolicyRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        policy: Some(pb::MatchingPolicy {
            max_hours_per_week: hours,
            weights,
            fairness_window_days: window,
            ..Default::default()
        }),
        expected_version: 0,
        occurred_at: None,
    };
    let r = w.matching.set_matching_policy(w.req(set(Some(interest_first), Some(20), 30), &w.coordinator)).await;
    assert!(refused(r, Code::PermissionDenied).contains("max_hours_per_week"));
    let bad = pb::MatchingWeights { skill: 101, ..Default::default() };
    let r = w.matching.set_matching_policy(w.req(set(Some(bad), None, 30), &w.coordinator)).await;
    assert!(refused(r, Code::InvalidArgument).contains("policy.weights.skill"));
    let r = w.matching.set_matching_policy(w.req(set(Some(interest_first), None, 400), &w.coordinator)).await;
    assert!(refused(r, Code::InvalidArgument).contains("policy.fairness_window_days"));
    let r = w.matching.set_matching_policy(w.req(set(Some(pb::MatchingWeights::default()), None, 30), &w.coordinator)).await;
    assert!(refused(r, Code::InvalidArgument).contains("policy.weights"));
    let set_now = w.matching.set_matching_policy(w.req(set(Some(interest_first), None, 30), &w.coordinator)).await?.into_inner();
    let policy = set_now.policy.unwrap();
    assert_eq!((policy.version, policy.fairness_window_days), (1, 30));
    assert_eq!(policy.weights, Some(interest_first));

    let after = w.matching.recommend_residents(w.req(ask(&piece, 5, "", Some(false)), &w.coordinator)).await?.into_inner();
    assert_eq!(after.policy_version, 1);
    assert_eq!(order(&after), [keen.id.clone(), expert.id.clone()], "interest now outweighs skill");
    let s = after.residents[0].score.clone().unwrap();
    assert_eq!(part(&s, pb::ScoreFactor::Interest).points, 100_000);
    assert_eq!(part(&s, pb::ScoreFactor::FairnessBoost).weight, 0);

    // An officer sets the caps; omitted weights are the defaults again.
    let officer = w.matching.set_matching_policy(w.req(set(None, Some(20), 0), &w.officer)).await?.into_inner();
    let policy = officer.policy.unwrap();
    assert_eq!((policy.version, policy.max_hours_per_week, policy.fairness_window_days), (2, Some(20), 90));
    assert_eq!(policy.weights.unwrap().skill, 40);
    let got = w.matching.get_matching_policy(w.req(pb::GetMatchingPolicyRequest {}, &w.coordinator)).await?.into_inner();
    assert_eq!(got.policy.unwrap().version, 2);
    Ok(())
});

per_backend!(Platform, async fn a_resident_who_withdraws_or_revokes_consent_leaves_the_candidates(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let piece = cooking_piece(&mut w).await?;
    let leaving = w.resident(&p, person(&[("cooking", 4)])).await?;
    let revoking = w.resident(&p, person(&[("cooking", 4)])).await?;
    let staying = w.resident(&p, person(&[("cooking", 2)])).await?;
    let withdrew = w
        .registry
        .withdraw_resident(w.req(
            pb::WithdrawResidentRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                resident_id: leaving.id.clone(),
                reason: pb::WithdrawalReason::Moved as i32,
                occurred_at: None,
            },
            &leaving.token,
        ))
        .await?;
    w.saw(&withdrew);
    let revoked = w
        .registry
        .set_consent(w.req(
            pb::SetConsentRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                resident_id: revoking.id.clone(),
                purpose: pb::ConsentPurpose::Matching as i32,
                granted: false,
                ..Default::default()
            },
            &revoking.token,
        ))
        .await?;
    w.saw(&revoked);
    let answer = w
        .matching
        .recommend_residents(w.req(ask(&piece, 10, &leaving.id, Some(false)), &w.coordinator))
        .await?
        .into_inner();
    let ids: Vec<&str> = answer.residents.iter().map(|r| r.resident_id.as_str()).collect();
    assert_eq!(ids, [staying.id.as_str()]);
    assert_eq!(answer.explanation.unwrap().excluded_by, pb::HardFilter::Inactive as i32);
    let r = w
        .matching
        .recommend_pieces(w.req(
            pb::RecommendPiecesRequest { resident_id: revoking.id.clone(), k: 5, ..Default::default() },
            &w.coordinator,
        ))
        .await;
    assert!(refused(r, Code::FailedPrecondition).contains("consented"));
    Ok(())
});

per_backend!(Platform, async fn the_candidates_follow_a_rebuild_of_their_read_models(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let piece = cooking_piece(&mut w).await?;
    let first = w.resident(&p, person(&[("cooking", 3)])).await?;
    let listed = |a: &pb::RecommendResidentsResponse| {
        let mut ids: Vec<String> = a.residents.iter().map(|r| r.resident_id.clone()).collect();
        ids.sort();
        ids
    };
    let before = w.matching.recommend_residents(w.req(ask(&piece, 10, "", Some(false)), &w.coordinator)).await?.into_inner();
    assert_eq!(listed(&before), std::slice::from_ref(&first.id));
    // An operator rebuilds both sources of the index from the log while the service runs.
    let db = mosaic_db::connect(&p.matching_database_url(), 1).await?;
    for projection in ["matching.residents", "matching.recent"] {
        let id = mosaic_projection::request_rebuild(&db, projection, None).await?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let progress = mosaic_projection::rebuild_progress(&db, id).await?.unwrap();
            if progress.finished {
                assert_eq!(progress.error, None);
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{projection} rebuilt within a minute");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    db.close().await;
    // The index holds what the rebuilt rows say, and follows what comes after.
    let second = w.resident(&p, person(&[("cooking", 4)])).await?;
    let after = w.matching.recommend_residents(w.req(ask(&piece, 10, "", Some(false)), &w.coordinator)).await?.into_inner();
    let mut both = vec![first.id.clone(), second.id.clone()];
    both.sort();
    assert_eq!(listed(&after), both);
    assert_eq!(after.residents[0].resident_id, second.id, "level 4 before level 3");
    Ok(())
});
