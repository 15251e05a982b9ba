//! Mosaic team assembly through gRPC, on both backends: a nursery job no one can take whole,
//! decomposed into 3-hour pieces and staffed from 40 residents of mixed availability; the team
//! recorded, proposed seat by seat and confirmed through the booking workflow; and what a
//! request may not ask.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use tonic::Code;

const WEEKDAYS: [pb::Weekday; 5] = [
    pb::Weekday::Monday,
    pb::Weekday::Tuesday,
    pb::Weekday::Wednesday,
    pb::Weekday::Thursday,
    pb::Weekday::Friday,
];
/// 08:30–17:30 in three blocks of three hours.
const BLOCKS: [(u32, u32); 3] = [(510, 690), (690, 870), (870, 1050)];

/// A published nursery-assistant activity, Monday to Friday 08:30–17:30 for 2 people needing
/// childcare at level 2, cut by DecomposeJob into 3-hour pieces; its id and piece ids.
async fn nursery(w: &mut World) -> anyhow::Result<(String, Vec<String>)> {
    let created = w
        .activity
        .create_activity(w.req(
            pb::CreateActivityRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                details: Some(pb::ActivityDetails {
                    title: "保育補助".into(),
                    description: "保育園の保育補助（平日 8:30–17:30、2名体制）".into(),
                    field: pb::Field::Welfare as i32,
                    origin: pb::ActivityOrigin::MosaicDecomposition as i32,
                    ..details(
                        &w.host,
                        pb::EngagementForm::JobBora,
                        pb::ApplicationMode::Open,
                    )
                }),
                pieces: vec![],
                occurred_at: None,
            },
            &w.coordinator,
        ))
        .await?
        .into_inner()
        .activity
        .unwrap();
    let id = created.activity_id;
    let decomposed = w
        .activity
        .decompose_job(authed(
            pb::DecomposeJobRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                blocks: WEEKDAYS
                    .iter()
                    .map(|d| pb::CoverageBlock {
                        window: Some(pb::WeeklyWindow {
                            weekday: *d as i32,
                            start_minute: 510,
                            end_minute: 1050,
                        }),
                        tasks: vec![pb::TaskNeed {
                            name: "保育補助".into(),
                            headcount: 2,
                            skills: vec![pb::Skill {
                                tag: "childcare".into(),
                                level: 2,
                            }],
                        }],
                    })
                    .collect(),
                granularity: Some(pb::Granularity {
                    min_minutes: 180,
                    max_minutes: 180,
                    step_minutes: 30,
                    split_by_task: false,
                }),
                define: true,
                activity_id: id.clone(),
                first_day: date(2027, 4, 5),
                last_day: date(2027, 9, 24),
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await?
        .into_inner();
    let pieces: Vec<String> = decomposed
        .activity
        .unwrap()
        .pieces
        .into_iter()
        .map(|p| p.piece_id)
        .collect();
    w.publish(&id).await?;
    Ok((id, pieces))
}

/// Forty residents: thirty free in one block of the day on two or three weekdays (some capped
/// at 6 hours a week), eight free all day on two weekdays capped at 9 hours, and two who cannot
/// be matched (no childcare skill; no matching consent).
fn residents() -> Vec<Person> {
    let mut people = Vec::new();
    for i in 0..30usize {
        let (start, end) = BLOCKS[i % 3];
        let j = i / 3;
        let mut days = vec![j % 5, (j + 1) % 5];
        if j % 2 == 0 {
            days.push((j + 2) % 5);
        }
        people.push(Person {
            skills: vec![("childcare", 2 + (i % 4) as u32)],
            availability: days.iter().map(|&d| (WEEKDAYS[d], start, end)).collect(),
            interests: if i % 2 == 0 {
                vec![pb::Field::Welfare]
            } else {
                vec![]
            },
            max_hours_per_week: if i % 5 == 0 { 6 } else { 0 },
            ..Person::default()
        });
    }
    for i in 0..8usize {
        people.push(Person {
            skills: vec![("childcare", 3)],
            availability: [i % 5, (i + 2) % 5]
                .iter()
                .map(|&d| (WEEKDAYS[d], 510, 1050))
                .collect(),
            max_hours_per_week: 9,
            ..Person::default()
        });
    }
    let all_week: Vec<(pb::Weekday, u32, u32)> = WEEKDAYS.iter().map(|d| (*d, 510, 1050)).collect();
    people.push(Person {
        skills: vec![("cooking", 5)],
        availability: all_week.clone(),
        ..Person::default()
    });
    people.push(Person {
        skills: vec![("childcare", 5)],
        availability: all_week,
        consent: false,
        ..Person::default()
    });
    people
}

fn assemble(request_id: &str, activity: &str) -> pb::AssembleTeamRequest {
    pb::AssembleTeamRequest {
        request_id: request_id.into(),
        activity_id: activity.into(),
        deadline_ms: 10_000,
        backups: 2,
        ..Default::default()
    }
}

per_backend!(Platform, async fn a_nursery_job_is_staffed_by_a_mosaic_team_then_proposed_and_confirmed(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let (activity, pieces) = nursery(&mut w).await?;
    assert_eq!(pieces.len(), 15, "five days of three 3-hour pieces");
    let mut by_id = BTreeMap::new();
    for person in residents() {
        let r = w.resident(&p, person).await?;
        by_id.insert(r.id.clone(), r);
    }

    let team = w
        .matching
        .assemble_team(w.req(assemble("team-1", &activity), &w.coordinator))
        .await?
        .into_inner()
        .team
        .unwrap();
    let quality = team.quality.unwrap();
    assert_eq!((quality.seats_filled, quality.seats_open), (30, 30), "every seat covered");
    assert_eq!(team.method, pb::TeamMethod::Exact as i32, "small enough to prove optimal");
    let bound = team.bound.unwrap();
    assert_eq!((bound.seats, bound.score), (30, quality.score));
    assert_eq!((bound.seats_gap, bound.score_gap), (0.0, 0.0));
    let baseline = team.baseline.unwrap();
    assert!((quality.seats_filled, quality.score) >= (baseline.seats_filled, baseline.score));
    assert_eq!(team.considered, 38, "the unskilled and the unconsenting fit no piece");

    // Nobody is on two pieces at once, each seat holds one person, everyone on a seat is free
    // then, and every piece names backups who are not on it.
    let mut held: BTreeMap<String, BTreeSet<(i32, u32)>> = BTreeMap::new();
    for piece in &team.pieces {
        assert_eq!(piece.members.len(), 2, "{}", piece.piece_id);
        assert_eq!(piece.empty, 0);
        let on: BTreeSet<&str> = piece.members.iter().map(|m| m.resident_id.as_str()).collect();
        assert_eq!(on.len(), 2, "two different people");
        assert!(!piece.backups.is_empty(), "{} has backups", piece.piece_id);
        for b in &piece.backups {
            assert!(!on.contains(b.resident_id.as_str()));
        }
        assert!(piece.backups.windows(2).all(|b| b[0].score >= b[1].score), "best first");
        let index = pieces.iter().position(|id| id == &piece.piece_id).unwrap();
        for m in &piece.members {
            let slot = (index as i32 / 3, index as u32 % 3);
            assert!(held.entry(m.resident_id.clone()).or_default().insert(slot));
        }
    }
    assert!(held.len() >= 8, "a mosaic: many people share the job ({})", held.len());

    // Recorded: a retry answers the same team; GetTeam reads it back.
    let again = w
        .matching
        .assemble_team(w.req(assemble("team-1", &activity), &w.coordinator))
        .await?
        .into_inner()
        .team
        .unwrap();
    assert_eq!(again, team);
    let read = w
        .matching
        .get_team(w.req(pb::GetTeamRequest { team_id: team.team_id.clone() }, &w.officer))
        .await?
        .into_inner()
        .team
        .unwrap();
    assert_eq!(read, team);
    let recorded = p.matching_events(KASHIWA, "TeamAssembled").await?;
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["team_id"], team.team_id.as_str());
    assert_eq!(recorded[0]["method"], "exact");

    // Proposed: one proposal per seat, once.
    let proposed = w
        .matching
        .propose_team(w.req(
            pb::ProposeTeamRequest {
                request_id: "propose-1".into(),
                team_id: team.team_id.clone(),
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await?;
    w.saw(&proposed);
    let proposed = proposed.into_inner();
    assert_eq!(proposed.seats.len(), 30);
    for seat in &proposed.seats {
        assert_eq!(seat.refused, "", "{seat:?}");
        assert!(!seat.already_proposed);
        let m = seat.r#match.as_ref().unwrap();
        assert_eq!(m.origin, pb::MatchOrigin::Proposal as i32);
    }
    let twice = w
        .matching
        .propose_team(w.req(
            pb::ProposeTeamRequest {
                request_id: "propose-2".into(),
                team_id: team.team_id.clone(),
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await?
        .into_inner();
    assert!(twice.seats.iter().all(|s| s.already_proposed && s.refused.is_empty()));
    assert_eq!(p.matching_events(KASHIWA, "TeamProposed").await?.len(), 1);
    let opened = p.matching_events(KASHIWA, "MatchOpened").await?;
    assert_eq!(opened.len(), 30, "no seat proposed twice");

    // Confirmed through the booking workflow: each resident and the host accept, staff confirm.
    for seat in &proposed.seats {
        let id = seat.r#match.as_ref().unwrap().match_id.clone();
        let resident = &by_id[&seat.resident_id];
        let accepted = w
            .matching
            .accept_match(w.req(
                pb::AcceptMatchRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    match_id: id.clone(),
                    side: pb::MatchSide::Resident as i32,
                    ..Default::default()
                },
                &resident.token,
            ))
            .await?;
        w.saw(&accepted);
        w.host_accepts(&id).await?;
        let confirmed = w.confirm(&id).await?;
        assert_eq!(confirmed.stage, pb::MatchStage::Confirmed as i32);
    }
    for piece in &pieces {
        assert_eq!(w.seats(piece).await?, (2, 2, 0), "{piece} is fully staffed");
    }
    let read = w
        .matching
        .get_team(w.req(pb::GetTeamRequest { team_id: team.team_id.clone() }, &w.coordinator))
        .await?
        .into_inner()
        .team
        .unwrap();
    assert!(read.pieces.iter().all(|p| p.members.iter().all(|m| !m.match_id.is_empty())));

    // Now that the seats are confirmed, the activity has none open.
    let full = w
        .matching
        .assemble_team(w.req(assemble("team-2", &activity), &w.coordinator))
        .await;
    assert!(refused(full, Code::FailedPrecondition).contains("open seat"));
    Ok(())
});

per_backend!(Platform, async fn empty_seats_say_why_and_bad_requests_change_nothing(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let (_, pieces) = w
        .pieces_needing(
            pb::EngagementForm::Volunteer,
            pb::ApplicationMode::Open,
            2,
            &[(pb::Weekday::Monday, 540, 720), (pb::Weekday::Tuesday, 540, 720)],
            &[("cooking", 3)],
        )
        .await?;
    // One cook, free on Mondays only; a Tuesday person without the skill.
    let cook = w
        .resident(&p, Person {
            skills: vec![("cooking", 4)],
            availability: vec![(pb::Weekday::Monday, 540, 720)],
            ..Person::default()
        })
        .await?;
    w.resident(&p, Person {
        skills: vec![("care", 4)],
        availability: vec![(pb::Weekday::Tuesday, 540, 720)],
        ..Person::default()
    })
    .await?;
    let team = w
        .matching
        .assemble_team(w.req(
            pb::AssembleTeamRequest {
                request_id: "named".into(),
                piece_ids: pieces.clone(),
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await?
        .into_inner()
        .team
        .unwrap();
    let q = team.quality.unwrap();
    assert_eq!((q.seats_filled, q.seats_open), (1, 4));
    let monday = &team.pieces[0];
    assert_eq!(monday.members[0].resident_id, cook.id);
    assert_eq!(monday.empty, pb::EmptySeatReason::Team as i32, "the only cook is on it already");
    let tuesday = &team.pieces[1];
    assert_eq!(tuesday.empty, pb::EmptySeatReason::NoOneFits as i32);
    let excluded: Vec<(i32, u32)> = tuesday.excluded.iter().map(|e| (e.filter, e.residents)).collect();
    assert_eq!(
        excluded,
        [(pb::HardFilter::Skills as i32, 1), (pb::HardFilter::Availability as i32, 1)],
        "the cook is not free on Tuesdays; the other lacks the skill"
    );
    assert_eq!(team.bound.unwrap().seats, 1);

    // The baseline may be asked for.
    let greedy = w
        .matching
        .assemble_team(w.req(
            pb::AssembleTeamRequest {
                request_id: "greedy".into(),
                piece_ids: pieces.clone(),
                method: pb::TeamMethod::Greedy as i32,
                ..Default::default()
            },
            &w.coordinator,
        ))
        .await?
        .into_inner()
        .team
        .unwrap();
    assert_eq!(greedy.method, pb::TeamMethod::Greedy as i32);
    let before = p.matching_events(KASHIWA, "TeamAssembled").await?.len();
    assert_eq!(before, 2);

    // Bad input: the field named, nothing recorded.
    let bad = |body: pb::AssembleTeamRequest| body;
    for (body, field) in [
        (bad(pb::AssembleTeamRequest { request_id: "b1".into(), ..Default::default() }), "activity_id"),
        (
            bad(pb::AssembleTeamRequest {
                request_id: "b2".into(),
                activity_id: "a".into(),
                piece_ids: pieces.clone(),
                ..Default::default()
            }),
            "piece_ids",
        ),
        (
            bad(pb::AssembleTeamRequest {
                request_id: "b3".into(),
                piece_ids: vec![pieces[0].clone(), pieces[0].clone()],
                ..Default::default()
            }),
            "piece_ids[1]",
        ),
        (
            bad(pb::AssembleTeamRequest {
                request_id: "b4".into(),
                piece_ids: pieces.clone(),
                deadline_ms: 30_001,
                ..Default::default()
            }),
            "deadline_ms",
        ),
        (
            bad(pb::AssembleTeamRequest {
                request_id: "b5".into(),
                piece_ids: pieces.clone(),
                backups: 11,
                ..Default::default()
            }),
            "backups",
        ),
        (
            bad(pb::AssembleTeamRequest {
                request_id: "b6".into(),
                piece_ids: pieces.clone(),
                method: pb::TeamMethod::Exact as i32,
                ..Default::default()
            }),
            "method",
        ),
        (bad(pb::AssembleTeamRequest { piece_ids: pieces.clone(), ..Default::default() }), "request_id"),
    ] {
        let r = w.matching.assemble_team(w.req(body, &w.coordinator)).await;
        assert!(refused(r, Code::InvalidArgument).contains(field), "{field}");
    }
    let unknown = w
        .matching
        .assemble_team(w.req(assemble("b7", &uuid::Uuid::now_v7().to_string()), &w.coordinator))
        .await;
    refused(unknown, Code::NotFound);
    let host = w
        .matching
        .assemble_team(w.req(
            pb::AssembleTeamRequest { request_id: "b8".into(), piece_ids: pieces.clone(), ..Default::default() },
            &w.host_token,
        ))
        .await;
    refused(host, Code::PermissionDenied);
    assert_eq!(p.matching_events(KASHIWA, "TeamAssembled").await?.len(), before);

    // A team is its municipality's: another's staff, and hosts, do not reach it.
    let other = p.token(Role::Coordinator, CHIGASAKI);
    let r = w.matching.get_team(w.req(pb::GetTeamRequest { team_id: team.team_id.clone() }, &other)).await;
    refused(r, Code::NotFound);
    let r = w
        .matching
        .propose_team(w.req(
            pb::ProposeTeamRequest { request_id: "x".into(), team_id: team.team_id.clone(), ..Default::default() },
            &other,
        ))
        .await;
    refused(r, Code::NotFound);
    let r = w
        .matching
        .propose_team(w.req(
            pb::ProposeTeamRequest { request_id: "y".into(), team_id: team.team_id.clone(), ..Default::default() },
            &w.host_token,
        ))
        .await;
    refused(r, Code::PermissionDenied);
    assert!(p.matching_events(KASHIWA, "TeamProposed").await?.is_empty());
    assert!(p.matching_events(KASHIWA, "MatchOpened").await?.is_empty());

    // Only seats of the team may be named.
    let propose = |id: &str, pieces: Vec<String>, residents: Vec<String>| pb::ProposeTeamRequest {
        request_id: id.into(),
        team_id: team.team_id.clone(),
        piece_ids: pieces,
        resident_ids: residents,
    };
    let r = w
        .matching
        .propose_team(w.req(propose("p1", vec![uuid::Uuid::now_v7().to_string()], vec![]), &w.coordinator))
        .await;
    assert!(refused(r, Code::InvalidArgument).contains("piece_ids[0]"));
    let r = w
        .matching
        .propose_team(w.req(propose("p2", vec![], vec![uuid::Uuid::now_v7().to_string()]), &w.coordinator))
        .await;
    assert!(refused(r, Code::InvalidArgument).contains("resident_ids[0]"));

    // A seat a rule refuses is said so, and the others go on: the cook applied meanwhile.
    w.apply(&cook, &pieces[0]).await?;
    let answer = w
        .matching
        .propose_team(w.req(propose("p3", vec![pieces[0].clone()], vec![cook.id.clone()]), &w.coordinator))
        .await?
        .into_inner();
    assert_eq!(answer.seats.len(), 1);
    assert!(!answer.seats[0].refused.is_empty(), "{answer:?}");
    assert!(answer.seats[0].r#match.is_none());
    assert!(p.matching_events(KASHIWA, "TeamProposed").await?.is_empty(), "nothing proposed");
    Ok(())
});

per_backend!(Platform, async fn parallel_proposals_of_one_team_propose_each_seat_once(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let windows = [
        (pb::Weekday::Monday, 540, 720),
        (pb::Weekday::Monday, 720, 900),
        (pb::Weekday::Tuesday, 540, 720),
    ];
    let (activity, _) = w
        .pieces(pb::EngagementForm::Volunteer, pb::ApplicationMode::Open, 2, &windows)
        .await?;
    for _ in 0..6 {
        w.resident(&p, Person { availability: windows.to_vec(), max_hours_per_week: 6, ..Person::default() })
            .await?;
    }
    let team = w
        .matching
        .assemble_team(w.req(assemble("parallel", &activity), &w.coordinator))
        .await?
        .into_inner()
        .team
        .unwrap();
    assert_eq!(team.quality.unwrap().seats_filled, 6);

    // Four staff members propose the whole team at once, each with a request of their own.
    let calls = (0..4).map(|i| {
        let mut client = w.matching.clone();
        let token = if i % 2 == 0 { w.coordinator.clone() } else { w.officer.clone() };
        let request = w.req(
            pb::ProposeTeamRequest {
                request_id: format!("parallel-{i}"),
                team_id: team.team_id.clone(),
                ..Default::default()
            },
            &token,
        );
        tokio::spawn(async move { client.propose_team(request).await })
    });
    let tasks: Vec<_> = calls.collect();
    for task in tasks {
        let a = task.await??.into_inner();
        assert_eq!(a.seats.len(), 6);
        assert!(a.seats.iter().all(|s| s.refused.is_empty() && s.r#match.is_some()), "{a:?}");
    }
    assert_eq!(p.matching_events(KASHIWA, "MatchOpened").await?.len(), 6, "each seat once");
    let mut recorded = BTreeSet::new();
    for e in p.matching_events(KASHIWA, "TeamProposed").await? {
        for s in e["seats"].as_array().unwrap() {
            assert!(recorded.insert(s["match_id"].to_string()), "a seat recorded twice: {s}");
        }
    }
    assert_eq!(recorded.len(), 6);
    Ok(())
});
