//! Never overbook, never double-book, under parallel confirmations, on both backends: the
//! answers say which rule refused each, and the log agrees with the answers.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeSet;

use common::*;
use mosaic_proto::v1 as pb;
use pb::list_matches_request::Scope;
use tonic::Code;

/// Fires one confirmation per match at once, each on its own connection; the ids confirmed and
/// the messages of the refusals (FAILED_PRECONDITION or ABORTED, anything else fails the test).
async fn confirm_all(
    p: &Platform,
    w: &mut World,
    matches: &[String],
) -> anyhow::Result<(BTreeSet<String>, Vec<String>)> {
    let mut tasks = Vec::new();
    for id in matches {
        let mut client = p.matching().await?;
        let request = w.req(
            pb::ConfirmMatchRequest {
                request_id: format!("confirm-{id}"),
                match_id: id.clone(),
                ..Default::default()
            },
            &w.coordinator,
        );
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            (id, client.confirm_match(request).await)
        }));
    }
    let (mut confirmed, mut refused) = (BTreeSet::new(), Vec::new());
    for t in tasks {
        match t.await? {
            (id, Ok(answer)) => {
                w.saw(&answer);
                confirmed.insert(id);
            }
            (_, Err(e)) if matches!(e.code(), Code::FailedPrecondition | Code::Aborted) => {
                refused.push(e.message().to_owned());
            }
            (_, Err(e)) => anyhow::bail!("unexpected answer {e:?}"),
        }
    }
    Ok((confirmed, refused))
}

/// The matches the log holds confirmed in a scope, read back after every answer.
async fn confirmed_in(w: &mut World, scope: Scope) -> anyhow::Result<BTreeSet<String>> {
    let coordinator = w.coordinator.clone();
    Ok(w.list(scope, &coordinator, pb::MatchStage::Confirmed)
        .await?
        .into_iter()
        .collect())
}

per_backend!(Platform, async fn fifty_confirmations_of_a_piece_with_three_seats_confirm_three(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let piece = w.piece(3).await?;
    let mut matches = Vec::new();
    for _ in 0..50 {
        let r = w.resident(&p, Person::default()).await?;
        matches.push(w.accepted(&r, &piece).await?);
    }
    let (confirmed, refused) = confirm_all(&p, &mut w, &matches).await?;
    assert_eq!(confirmed.len(), 3, "{}: {refused:?}", p.backend);
    assert_eq!(refused.len(), 47);
    for message in &refused {
        assert!(message.contains("is full: 3 of 3 seat(s) confirmed"), "{message}");
    }
    // The log agrees: three seats taken, by exactly the matches that were answered confirmed.
    assert_eq!(w.seats(&piece).await?, (3, 3, 0));
    assert_eq!(confirmed_in(&mut w, Scope::PieceId(piece.clone())).await?, confirmed);
    Ok(())
});

per_backend!(Platform, async fn overlapping_pieces_confirm_once_for_one_person(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    // Ten pieces of one activity, all on Monday mornings, overlapping pairwise.
    let windows: Vec<_> = (0..10).map(|i| (pb::Weekday::Monday, 540 + i * 10, 720)).collect();
    let (activity, pieces) = w
        .pieces(pb::EngagementForm::Volunteer, pb::ApplicationMode::Open, 5, &windows)
        .await?;
    let grace = w.resident(&p, Person::default()).await?;
    let mut matches = Vec::new();
    for piece in &pieces {
        matches.push(w.accepted(&grace, piece).await?);
    }
    let (confirmed, refused) = confirm_all(&p, &mut w, &matches).await?;
    assert_eq!(confirmed.len(), 1, "{}: {refused:?}", p.backend);
    for message in &refused {
        assert!(message.contains("at an overlapping time"), "{message}");
    }
    assert_eq!(confirmed_in(&mut w, Scope::ActivityId(activity)).await?, confirmed);
    Ok(())
});

per_backend!(Platform, async fn parallel_confirmations_keep_a_person_within_their_caps(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    // Three-hour pieces on five different days; the resident takes at most 7 hours a week.
    let days = [
        pb::Weekday::Monday,
        pb::Weekday::Tuesday,
        pb::Weekday::Wednesday,
        pb::Weekday::Thursday,
        pb::Weekday::Friday,
    ];
    let windows: Vec<_> = days.iter().map(|d| (*d, 540, 720)).collect();
    let (activity, pieces) = w
        .pieces(pb::EngagementForm::Volunteer, pb::ApplicationMode::Open, 5, &windows)
        .await?;
    let henry = w
        .resident(&p, Person { max_hours_per_week: 7, ..Person::default() })
        .await?;
    let mut matches = Vec::new();
    for piece in &pieces {
        matches.push(w.accepted(&henry, piece).await?);
    }
    let (confirmed, refused) = confirm_all(&p, &mut w, &matches).await?;
    assert_eq!(confirmed.len(), 2, "{}: {refused:?}", p.backend);
    for message in &refused {
        assert_eq!(
            message,
            "max_hours_per_week (the resident's) is 7 h; confirmed 6 h plus this piece's 3 h would be 9 h"
        );
    }
    assert_eq!(confirmed_in(&mut w, Scope::ActivityId(activity)).await?, confirmed);
    Ok(())
});
