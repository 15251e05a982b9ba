//! When activity takes away what a match rests on, matching ends the match and frees the seat and
//! the resident's commitment by itself, on both backends.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use mosaic_proto::v1 as pb;

async fn stage_of(w: &mut World, id: &str) -> anyhow::Result<pb::Match> {
    Ok(w.matching
        .get_match(w.req(
            pb::GetMatchRequest {
                match_id: id.into(),
            },
            &w.coordinator,
        ))
        .await?
        .into_inner()
        .r#match
        .unwrap())
}

/// The match once it has ended (the review runs in the background, after matching has read
/// what activity did), for at most ten seconds.
async fn ended(w: &mut World, id: &str) -> anyhow::Result<pb::Match> {
    for _ in 0..400 {
        let m = stage_of(w, id).await?;
        if m.stage == pb::MatchStage::Ended as i32 {
            return Ok(m);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    anyhow::bail!("match {id} was never ended")
}

per_backend!(Platform, async fn a_cancelled_activity_ends_its_matches_and_frees_the_people(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let (activity, pieces) = w
        .pieces(
            pb::EngagementForm::Volunteer,
            pb::ApplicationMode::Open,
            2,
            &[(pb::Weekday::Monday, 540, 720)],
        )
        .await?;
    let nao = w.resident(&p, Person::default()).await?;
    let omi = w.resident(&p, Person::default()).await?;
    let confirmed = w.accepted(&nao, &pieces[0]).await?;
    w.confirm(&confirmed).await?;
    let open = w.apply(&omi, &pieces[0]).await?.match_id;
    let cancel = w
        .activity
        .cancel_activity(authed(
            pb::CancelActivityRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                activity_id: activity,
                reason: "雨天のため中止".into(),
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await?;
    w.saw(&cancel);
    for id in [&confirmed, &open] {
        let ended = ended(&mut w, id).await?;
        assert_eq!(ended.ended_by, "MatchEnded", "{}", p.backend);
    }
    assert_eq!(w.seats(&pieces[0]).await?.1, 0, "the seat is free");
    // Nao's Monday mornings are free again: another Monday piece confirms.
    let other = w.piece(1).await?;
    let again = w.accepted(&nao, &other).await?;
    w.confirm(&again).await?;
    // And the cancelled piece takes no more confirmations.
    let message = refused(w.apply(&omi, &pieces[0]).await, tonic::Code::FailedPrecondition);
    assert!(message.contains("cancelled"), "{message}");
    Ok(())
});

per_backend!(Platform, async fn activity_keeps_what_confirmed_seats_rely_on(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let (activity, pieces) = w
        .pieces(
            pb::EngagementForm::Volunteer,
            pb::ApplicationMode::Open,
            2,
            &[(pb::Weekday::Monday, 540, 720)],
        )
        .await?;
    let rio = w.resident(&p, Person::default()).await?;
    let m = w.accepted(&rio, &pieces[0]).await?;
    w.confirm(&m).await?;
    // Activity answers once it has read matching's confirmation (the confirmation's token).
    let remove = w
        .activity
        .remove_piece(w.req(
            pb::RemovePieceRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                activity_id: activity.clone(),
                piece_id: pieces[0].clone(),
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await;
    let message = refused(remove, tonic::Code::FailedPrecondition);
    assert!(message.contains("1 confirmed seat(s): it cannot be removed"), "{message}");
    let got = w
        .activity
        .get_activity(w.req(pb::GetActivityRequest { activity_id: activity.clone() }, &w.coordinator))
        .await?
        .into_inner()
        .activity
        .unwrap();
    assert_eq!(got.pieces[0].confirmed_seats, 1);
    let open = w
        .activity
        .list_pieces_open(w.req(pb::ListPiecesOpenRequest::default(), &w.coordinator))
        .await?
        .into_inner()
        .pieces;
    let listed = open.iter().find(|p| p.piece_id == pieces[0]).unwrap();
    assert_eq!((listed.headcount, listed.open_seats), (2, 1));
    Ok(())
});
