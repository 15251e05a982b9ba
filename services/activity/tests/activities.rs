//! Activity design through the gRPC API, on both backends, with the registry served alongside
//! (hosts are learned from its events).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use common::*;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use tonic::Code;

fn create_request(
    request_id: &str,
    host: &str,
    form: pb::EngagementForm,
) -> pb::CreateActivityRequest {
    pb::CreateActivityRequest {
        request_id: request_id.into(),
        details: Some(details(host, form)),
        pieces: vec![weekly_piece(
            "収穫（火曜午前）",
            pb::Weekday::Tuesday,
            540,
            720,
        )],
        occurred_at: None,
    }
}

macro_rules! lifecycle {
    ($client:expr, $method:ident, $req:ident, $id:expr, $rid:expr, $token:expr) => {
        $client
            .$method(authed(
                pb::$req {
                    request_id: $rid.into(),
                    activity_id: $id.clone(),
                    expected_version: 0,
                    occurred_at: None,
                },
                $token,
            ))
            .await
    };
}

#[tokio::test]
async fn an_activity_goes_through_its_whole_lifecycle_and_retries_answer_the_first_result()
-> anyhow::Result<()> {
    for p in Platform::both().await? {
        let (mut registry, mut client) = (p.registry().await?, p.activities().await?);
        municipalities(&p, &mut registry).await?;
        let host = host(&p, &mut registry, KASHIWA, &[]).await?;
        let staff = p.token(Role::Coordinator, Some(KASHIWA));
        let other = p.token(Role::Coordinator, Some(CHIGASAKI));

        let request = create_request("c-1", &host, pb::EngagementForm::Volunteer);
        let a = create(&mut client, &staff, request.clone()).await??;
        assert_eq!(a.status, pb::ActivityStatus::Draft as i32, "{}", p.backend);
        assert_eq!(a.version, 2);
        assert_eq!(a.pieces.len(), 1);
        let again = create(&mut client, &staff, request).await??;
        assert_eq!(again, a, "a retry answers the first result");
        let id = a.activity_id.clone();

        let add = pb::AddPieceRequest {
            request_id: "add-1".into(),
            activity_id: id.clone(),
            expected_version: 2,
            piece: Some(weekly_piece(
                "収穫（木曜午後）",
                pb::Weekday::Thursday,
                780,
                960,
            )),
            occurred_at: None,
        };
        let added = client
            .add_piece(authed(add.clone(), &staff))
            .await?
            .into_inner();
        let retried = client.add_piece(authed(add, &staff)).await?.into_inner();
        assert_eq!(added.piece_id, retried.piece_id);
        assert_eq!(added.activity.as_ref().unwrap().version, 3);

        let mut revised = weekly_piece("収穫（木曜午後）", pb::Weekday::Thursday, 780, 960);
        revised.headcount = 4;
        let after = client
            .revise_piece(authed(
                pb::RevisePieceRequest {
                    request_id: "rev-1".into(),
                    activity_id: id.clone(),
                    expected_version: 0,
                    piece_id: added.piece_id.clone(),
                    piece: Some(revised),
                    occurred_at: None,
                },
                &staff,
            ))
            .await?
            .into_inner()
            .activity
            .unwrap();
        assert_eq!(after.pieces[1].details.as_ref().unwrap().headcount, 4);
        let after = client
            .remove_piece(authed(
                pb::RemovePieceRequest {
                    request_id: "rm-1".into(),
                    activity_id: id.clone(),
                    expected_version: 0,
                    piece_id: added.piece_id.clone(),
                    occurred_at: None,
                },
                &staff,
            ))
            .await?
            .into_inner()
            .activity
            .unwrap();
        assert_eq!(after.pieces.len(), 1);
        let gone = client
            .remove_piece(authed(
                pb::RemovePieceRequest {
                    request_id: "rm-2".into(),
                    activity_id: id.clone(),
                    expected_version: 0,
                    piece_id: added.piece_id.clone(),
                    occurred_at: None,
                },
                &staff,
            ))
            .await
            .unwrap_err();
        assert_eq!(gone.code(), Code::NotFound);

        let mut new_details = details(&host, pb::EngagementForm::JobBora);
        new_details.title = "農園の収穫と出荷".into();
        let update = |rid: &str, expected_version: u64| pb::UpdateActivityRequest {
            request_id: rid.into(),
            activity_id: id.clone(),
            expected_version,
            details: Some(new_details.clone()),
            occurred_at: None,
        };
        let stale = client
            .update_activity(authed(update("u-1", 2), &staff))
            .await
            .unwrap_err();
        assert_eq!(stale.code(), Code::Aborted);
        let updated = client
            .update_activity(authed(update("u-2", after.version), &staff))
            .await?
            .into_inner()
            .activity
            .unwrap();
        assert_eq!(updated.details.as_ref().unwrap().title, "農園の収穫と出荷");

        // Another municipality's activity does not exist for the caller.
        let hidden = client
            .get_activity(authed(
                pb::GetActivityRequest {
                    activity_id: id.clone(),
                },
                &other,
            ))
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound);
        let hidden = lifecycle!(
            client,
            publish_activity,
            PublishActivityRequest,
            id,
            "x-1",
            &other
        )
        .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound);

        lifecycle!(
            client,
            publish_activity,
            PublishActivityRequest,
            id,
            "pub-1",
            &staff
        )?;
        let twice = lifecycle!(
            client,
            publish_activity,
            PublishActivityRequest,
            id,
            "pub-2",
            &staff
        )
        .unwrap_err();
        assert_eq!(twice.code(), Code::FailedPrecondition);
        let not_paused = lifecycle!(
            client,
            resume_activity,
            ResumeActivityRequest,
            id,
            "res-0",
            &staff
        )
        .unwrap_err();
        assert_eq!(not_paused.code(), Code::FailedPrecondition);
        lifecycle!(
            client,
            pause_activity,
            PauseActivityRequest,
            id,
            "pause-1",
            &staff
        )?;
        let twice = lifecycle!(
            client,
            pause_activity,
            PauseActivityRequest,
            id,
            "pause-2",
            &staff
        )
        .unwrap_err();
        assert_eq!(twice.code(), Code::FailedPrecondition);
        lifecycle!(
            client,
            resume_activity,
            ResumeActivityRequest,
            id,
            "res-1",
            &staff
        )?;
        // A retry of an earlier request answers its first result, whatever happened since.
        let first = lifecycle!(
            client,
            pause_activity,
            PauseActivityRequest,
            id,
            "pause-1",
            &staff
        )?
        .into_inner();
        assert_eq!(
            first.activity.unwrap().status,
            pb::ActivityStatus::Paused as i32
        );

        let close = |rid: &str, reason: pb::CloseReason| pb::CloseActivityRequest {
            request_id: rid.into(),
            activity_id: id.clone(),
            expected_version: 0,
            reason: reason as i32,
            occurred_at: None,
        };
        let closed = client
            .close_activity(authed(close("close-1", pb::CloseReason::Filled), &staff))
            .await?
            .into_inner()
            .activity
            .unwrap();
        assert_eq!(closed.status, pb::ActivityStatus::Closed as i32);
        assert_eq!(closed.close_reason, pb::CloseReason::Filled as i32);
        let again = client
            .close_activity(authed(close("close-2", pb::CloseReason::Ended), &staff))
            .await
            .unwrap_err();
        assert_eq!(again.code(), Code::FailedPrecondition);
        let reopen = lifecycle!(
            client,
            resume_activity,
            ResumeActivityRequest,
            id,
            "res-2",
            &staff
        )
        .unwrap_err();
        assert_eq!(reopen.code(), Code::FailedPrecondition);
        let no_update = client
            .update_activity(authed(update("u-3", 0), &staff))
            .await
            .unwrap_err();
        assert_eq!(no_update.code(), Code::FailedPrecondition);

        // A draft is cancelled with a reason, once.
        let draft = create(
            &mut client,
            &staff,
            create_request("c-2", &host, pb::EngagementForm::Volunteer),
        )
        .await??;
        let cancel = |rid: &str| pb::CancelActivityRequest {
            request_id: rid.into(),
            activity_id: draft.activity_id.clone(),
            expected_version: 0,
            reason: "担い手が見つかった".into(),
            occurred_at: None,
        };
        let cancelled = client
            .cancel_activity(authed(cancel("cancel-1"), &staff))
            .await?
            .into_inner()
            .activity
            .unwrap();
        assert_eq!(cancelled.status, pb::ActivityStatus::Cancelled as i32);
        assert_eq!(cancelled.cancel_reason, "担い手が見つかった");
        let twice = client
            .cancel_activity(authed(cancel("cancel-2"), &staff))
            .await
            .unwrap_err();
        assert_eq!(twice.code(), Code::FailedPrecondition);

        // A draft without pieces cannot be published.
        let mut empty = create_request("c-3", &host, pb::EngagementForm::Volunteer);
        empty.pieces.clear();
        let empty = create(&mut client, &staff, empty).await??;
        let refused = lifecycle!(
            client,
            publish_activity,
            PublishActivityRequest,
            empty.activity_id,
            "pub-3",
            &staff
        )
        .unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition);

        // The host's own list shows every state.
        let listed = eventually(|| {
            let mut client = client.clone();
            let (host, staff) = (host.clone(), staff.clone());
            async move {
                let list = client
                    .list_host_activities(authed(
                        pb::ListHostActivitiesRequest {
                            page_size: 0,
                            page_token: String::new(),
                            host_organisation_id: host,
                            status: 0,
                        },
                        &staff,
                    ))
                    .await?
                    .into_inner();
                let done = list.activities.len() == 3
                    && list
                        .activities
                        .iter()
                        .any(|a| a.status == pb::ActivityStatus::Closed as i32)
                    && list
                        .activities
                        .iter()
                        .any(|a| a.status == pb::ActivityStatus::Cancelled as i32);
                Ok(done.then_some(list))
            }
        })
        .await?;
        assert_eq!(listed.activities[0].activity_id, id);
        let cancelled_only = client
            .list_host_activities(authed(
                pb::ListHostActivitiesRequest {
                    page_size: 0,
                    page_token: String::new(),
                    host_organisation_id: host.clone(),
                    status: pb::ActivityStatus::Cancelled as i32,
                },
                &staff,
            ))
            .await?
            .into_inner();
        assert_eq!(cancelled_only.activities.len(), 1);
        assert_eq!(cancelled_only.activities[0].activity_id, draft.activity_id);
        assert_eq!(listed.activities[0].title, "農園の収穫と出荷");
        p.stop().await;
    }
    Ok(())
}

per_backend!(Platform, async fn bad_input_names_every_field_and_writes_nothing(p) {
    let (mut registry, mut client) = (p.registry().await?, p.activities().await?);
    municipalities(&p, &mut registry).await?;
    let host = host(&p, &mut registry, KASHIWA, &[]).await?;
    let staff = p.token(Role::Coordinator, Some(KASHIWA));

    let mut d = details(&host, pb::EngagementForm::Volunteer);
    d.field = 99;
    d.title = String::new();
    d.incentives = Some(pb::Incentives {
        transport_fee_yen: 20_000,
        honorarium_yen: 1_000_000,
        local_points: 0,
        certificate: false,
        meal: false,
    });
    d.period_end = date(2025, 1, 1);
    d.place = Some(pb::Place::default());
    let mut zero = weekly_piece("a", pb::Weekday::Monday, 540, 600);
    zero.headcount = 0;
    let backwards = weekly_piece("b", pb::Weekday::Monday, 600, 540);
    let mut long = weekly_piece("c", pb::Weekday::Monday, 540, 600);
    long.schedule = Some(pb::Schedule {
        kind: Some(pb::schedule::Kind::OneOff(pb::OneOffWindow {
            start: Some(prost_types::Timestamp {
                seconds: 1_780_000_000,
                nanos: 0,
            }),
            end: Some(prost_types::Timestamp {
                seconds: 1_780_000_000 + 25 * 3600,
                nanos: 0,
            }),
        })),
    });
    let mut inverted = long.clone();
    inverted.schedule = Some(pb::Schedule {
        kind: Some(pb::schedule::Kind::OneOff(pb::OneOffWindow {
            start: Some(prost_types::Timestamp {
                seconds: 1_780_000_000,
                nanos: 0,
            }),
            end: Some(prost_types::Timestamp {
                seconds: 1_779_000_000,
                nanos: 0,
            }),
        })),
    });
    let bad = client
        .create_activity(authed(
            pb::CreateActivityRequest {
                request_id: String::new(),
                details: Some(d),
                pieces: vec![zero, backwards, long, inverted],
                occurred_at: None,
            },
            &staff,
        ))
        .await
        .unwrap_err();
    for field in [
        "request_id",
        "details.field",
        "details.title",
        "details.incentives.transport_fee_yen",
        "details.incentives.honorarium_yen",
        "details.period_end",
        "details.place",
        "pieces[0].headcount",
        "pieces[1].schedule.weekly.end_minute",
        "pieces[2].schedule.one_off.end",
        "pieces[3].schedule.one_off.end",
    ] {
        assert_bad(&bad, field);
    }

    // An internship outside one month to one year is refused, naming the end.
    let mut form = create_request("c-i", &host, pb::EngagementForm::Internship);
    form.details.as_mut().unwrap().origin = pb::ActivityOrigin::InternshipProject as i32;
    let a = create(&mut client, &staff, form).await??;
    for end in [date(2026, 6, 20), date(2027, 7, 1)] {
        let bad = client
            .define_internship(authed(
                pb::DefineInternshipRequest {
                    request_id: "i-bad".into(),
                    activity_id: a.activity_id.clone(),
                    expected_version: 0,
                    internship: Some(internship(end)),
                    occurred_at: None,
                },
                &staff,
            ))
            .await
            .unwrap_err();
        assert_bad(&bad, "internship.end");
    }
    let bad = client
        .close_activity(authed(
            pb::CloseActivityRequest {
                request_id: "cl".into(),
                activity_id: "not-an-id".into(),
                expected_version: 0,
                reason: 0,
                occurred_at: None,
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_bad(&bad, "activity_id");
    assert_bad(&bad, "reason");

    // Only staff design activities; nothing happens in the future.
    let resident = p.token(Role::Resident, Some(KASHIWA));
    let denied = client
        .create_activity(authed(
            create_request("c-r", &host, pb::EngagementForm::Volunteer),
            &resident,
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let mut future = create_request("c-f", &host, pb::EngagementForm::Volunteer);
    future.occurred_at = Some(prost_types::Timestamp {
        seconds: 4_000_000_000,
        nanos: 0,
    });
    let bad = client
        .create_activity(authed(future, &staff))
        .await
        .unwrap_err();
    assert_bad(&bad, "occurred_at");

    // Nothing was written by the refusals: the activity is still at its first version.
    let got = client
        .get_activity(authed(
            pb::GetActivityRequest {
                activity_id: a.activity_id.clone(),
            },
            &staff,
        ))
        .await?
        .into_inner()
        .activity
        .unwrap();
    assert_eq!(got.version, a.version, "{}", p.backend);
    assert!(got.internship.is_none());
    p.stop().await;
    Ok(())
});

fn internship(end: Option<pb::Date>) -> pb::Internship {
    pb::Internship {
        goal: "地域農業のデジタル化".into(),
        start: date(2026, 6, 1),
        end,
        weekly_hours: 12,
        mentor_name: "田中 一郎".into(),
        milestones: Some(pb::Milestones {
            orientation: date(2026, 6, 1),
            mid_term_review: date(2026, 6, 15),
            final_reflection: date(2026, 6, 20),
        }),
    }
}

per_backend!(Platform, async fn hosts_are_learned_from_registry_events(p) {
    let (mut registry, mut client) = (p.registry().await?, p.activities().await?);
    municipalities(&p, &mut registry).await?;
    let staff = p.token(Role::Coordinator, Some(KASHIWA));
    let chigasaki_staff = p.token(Role::Coordinator, Some(CHIGASAKI));

    // Unknown to the registry.
    let unknown = client
        .create_activity(authed(
            create_request(
                "c-u",
                &uuid::Uuid::now_v7().to_string(),
                pb::EngagementForm::Volunteer,
            ),
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");

    // Known in Chigasaki, so unknown in Kashiwa (the same answer).
    let theirs = host(&p, &mut registry, CHIGASAKI, &[]).await?;
    create(
        &mut client,
        &chigasaki_staff,
        create_request("c-c", &theirs, pb::EngagementForm::Volunteer),
    )
    .await??;
    let foreign = client
        .create_activity(authed(
            create_request("c-f", &theirs, pb::EngagementForm::Volunteer),
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound, "{foreign:?}");

    // Dispatch and placement need the licence.
    let plain = host(&p, &mut registry, KASHIWA, &[]).await?;
    let refused = create(
        &mut client,
        &staff,
        create_request("c-d1", &plain, pb::EngagementForm::Dispatch),
    )
    .await?
    .unwrap_err();
    assert_bad(&refused, "details.engagement_form");
    let dispatcher = host(&p, &mut registry, KASHIWA, &[pb::Licence::WorkerDispatch]).await?;
    create(
        &mut client,
        &staff,
        create_request("c-d2", &dispatcher, pb::EngagementForm::Dispatch),
    )
    .await??;
    let refused = create(
        &mut client,
        &staff,
        create_request("c-d3", &dispatcher, pb::EngagementForm::Placement),
    )
    .await?
    .unwrap_err();
    assert_bad(&refused, "details.engagement_form");

    // A suspended host offers nothing new, as soon as the suspension is learned: waited for
    // with its consistency token.
    let suspension = registry
        .suspend_organisation(authed(
            pb::SuspendOrganisationRequest {
                request_id: "s-1".into(),
                organisation_id: plain.clone(),
                reason: "監査".into(),
                expected_version: 0,
                occurred_at: None,
            },
            &staff,
        ))
        .await?;
    let token = suspension
        .metadata()
        .get(mosaic_api::consistency::HEADER)
        .unwrap()
        .to_str()?
        .to_owned();
    learned(&p, KASHIWA, &token).await?;
    let suspended = create(
        &mut client,
        &staff,
        create_request("c-s", &plain, pb::EngagementForm::Volunteer),
    )
    .await?
    .unwrap_err();
    assert_eq!(suspended.code(), Code::FailedPrecondition, "{}", p.backend);
    p.stop().await;
    Ok(())
});

per_backend!(Platform, async fn internships_and_decomposed_jobs_are_defined_through_the_api(p) {
    let (mut registry, mut client) = (p.registry().await?, p.activities().await?);
    municipalities(&p, &mut registry).await?;
    let host = host(&p, &mut registry, KASHIWA, &[]).await?;
    let staff = p.token(Role::Coordinator, Some(KASHIWA));
    let resident = p.token(Role::Resident, Some(KASHIWA));

    let mut request = create_request("c-i", &host, pb::EngagementForm::Internship);
    request.details.as_mut().unwrap().origin = pb::ActivityOrigin::InternshipProject as i32;
    let a = create(&mut client, &staff, request).await??;
    let id = a.activity_id.clone();
    let early = lifecycle!(
        client,
        publish_activity,
        PublishActivityRequest,
        id,
        "p-0",
        &staff
    )
    .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    let defined = client
        .define_internship(authed(
            pb::DefineInternshipRequest {
                request_id: "i-1".into(),
                activity_id: id.clone(),
                expected_version: 0,
                internship: Some(internship(date(2026, 11, 30))),
                occurred_at: None,
            },
            &staff,
        ))
        .await?
        .into_inner()
        .activity
        .unwrap();
    let i = defined.internship.unwrap();
    assert_eq!(i.mentor_name, "田中 一郎");
    assert_eq!(i.weekly_hours, 12);
    lifecycle!(
        client,
        publish_activity,
        PublishActivityRequest,
        id,
        "p-1",
        &staff
    )?;
    let seen = client
        .get_activity(authed(
            pb::GetActivityRequest {
                activity_id: id.clone(),
            },
            &resident,
        ))
        .await?
        .into_inner()
        .activity
        .unwrap();
    assert_eq!(
        seen.internship.unwrap().mentor_name,
        "",
        "residents do not see the mentor"
    );

    // A volunteer activity has no internship project.
    let v = create(
        &mut client,
        &staff,
        create_request("c-v", &host, pb::EngagementForm::Volunteer),
    )
    .await??;
    let not = client
        .define_internship(authed(
            pb::DefineInternshipRequest {
                request_id: "i-2".into(),
                activity_id: v.activity_id.clone(),
                expected_version: 0,
                internship: Some(internship(date(2026, 11, 30))),
                occurred_at: None,
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(not.code(), Code::FailedPrecondition);

    // Mon–Fri 9:00–17:00, two people, cut into 2–4 hour blocks on the hour.
    let job = |define: bool, rid: &str| pb::DecomposeJobRequest {
        request_id: rid.into(),
        blocks: (1..=5)
            .map(|day| pb::CoverageBlock {
                window: Some(pb::WeeklyWindow {
                    weekday: day,
                    start_minute: 540,
                    end_minute: 1020,
                }),
                tasks: vec![pb::TaskNeed {
                    name: "受付".into(),
                    headcount: 2,
                    skills: vec![pb::Skill {
                        tag: "reception".into(),
                        level: 1,
                    }],
                }],
            })
            .collect(),
        granularity: Some(pb::Granularity {
            min_minutes: 120,
            max_minutes: 240,
            step_minutes: 60,
            split_by_task: false,
        }),
        define,
        activity_id: if define {
            v.activity_id.clone()
        } else {
            String::new()
        },
        expected_version: 0,
        first_day: date(2026, 4, 6),
        last_day: date(2027, 3, 29),
        occurred_at: None,
        skip_national_holidays: true,
    };
    let proposed = client
        .decompose_job(authed(job(false, ""), &staff))
        .await?
        .into_inner();
    let again = client
        .decompose_job(authed(job(false, ""), &staff))
        .await?
        .into_inner();
    assert_eq!(proposed, again, "deterministic");
    assert!(proposed.activity.is_none());
    assert!(!proposed.explanation.is_empty());
    let person_minutes: u32 = proposed.pieces.iter().map(|p| p.seats * p.minutes).sum();
    assert_eq!(person_minutes, 5 * 480 * 2, "every person-minute once");
    assert!(
        proposed
            .pieces
            .iter()
            .all(|p| (120..=240).contains(&p.minutes))
    );

    let mut impossible = job(false, "");
    impossible.granularity.as_mut().unwrap().min_minutes = 500;
    impossible.granularity.as_mut().unwrap().max_minutes = 600;
    let bad = client
        .decompose_job(authed(impossible, &staff))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(!bad_fields(&bad).is_empty());

    let defined = client
        .decompose_job(authed(job(true, "d-1"), &staff))
        .await?
        .into_inner();
    let activity = defined.activity.unwrap();
    assert_eq!(activity.pieces.len(), 1 + proposed.pieces.len());
    let retried = client
        .decompose_job(authed(job(true, "d-1"), &staff))
        .await?
        .into_inner();
    assert_eq!(
        retried.activity.unwrap().version,
        activity.version,
        "a retry adds nothing"
    );
    let no_id = client
        .decompose_job(authed(job(true, ""), &staff))
        .await
        .unwrap_err();
    assert_bad(&no_id, "request_id");
    p.stop().await;
    Ok(())
});

per_backend!(Platform, async fn published_activities_and_open_pieces_are_searched_by_every_filter(p) {
    let (mut registry, mut client) = (p.registry().await?, p.activities().await?);
    municipalities(&p, &mut registry).await?;
    let host = host(&p, &mut registry, KASHIWA, &[]).await?;
    let staff = p.token(Role::Coordinator, Some(KASHIWA));
    let resident = p.token(Role::Resident, Some(KASHIWA));
    let other = p.token(Role::Resident, Some(CHIGASAKI));

    // Farming on Tuesdays in 柏 (published), a welfare job-bora on Thursdays in 沼南
    // (published), and a draft that must never be listed.
    let farm = create(
        &mut client,
        &staff,
        create_request("s-1", &host, pb::EngagementForm::Volunteer),
    )
    .await??;
    let mut welfare = create_request("s-2", &host, pb::EngagementForm::JobBora);
    {
        let d = welfare.details.as_mut().unwrap();
        d.field = pb::Field::Welfare as i32;
        d.place.as_mut().unwrap().district = "沼南".into();
        d.period_start = date(2026, 10, 1);
    }
    let mut care = weekly_piece("見守り", pb::Weekday::Thursday, 600, 720);
    care.required_skills = vec![pb::Skill {
        tag: "care".into(),
        level: 3,
    }];
    if let Some(pb::schedule::Kind::Weekly(w)) =
        care.schedule.as_mut().and_then(|s| s.kind.as_mut())
    {
        w.first_day = date(2026, 10, 1);
        w.last_day = date(2027, 3, 25);
    }
    welfare.pieces = vec![care];
    let welfare = create(&mut client, &staff, welfare).await??;
    create(
        &mut client,
        &staff,
        create_request("s-3", &host, pb::EngagementForm::Volunteer),
    )
    .await??;
    for (i, a) in [&farm, &welfare].into_iter().enumerate() {
        lifecycle!(
            client,
            publish_activity,
            PublishActivityRequest,
            a.activity_id,
            format!("sp-{i}"),
            &staff
        )?;
    }

    let lister = client.clone();
    let list =
        move |filter: pb::ActivityFilter, page_size: i32, page_token: String, token: String| {
            let mut client = lister.clone();
            async move {
                let acts = client
                    .list_activities(authed(
                        pb::ListActivitiesRequest {
                            page_size,
                            page_token,
                            filter: Some(filter.clone()),
                        },
                        &token,
                    ))
                    .await?
                    .into_inner();
                let pieces = client
                    .list_pieces_open(authed(
                        pb::ListPiecesOpenRequest {
                            page_size,
                            page_token: String::new(),
                            filter: Some(filter),
                        },
                        &token,
                    ))
                    .await?
                    .into_inner();
                anyhow::Ok((acts, pieces))
            }
        };
    let ids = |r: &pb::ListActivitiesResponse| {
        r.activities
            .iter()
            .map(|a| a.activity_id.clone())
            .collect::<Vec<_>>()
    };
    eventually(|| {
        let list = list(
            pb::ActivityFilter::default(),
            0,
            String::new(),
            resident.clone(),
        );
        async move { Ok((list.await?.0.activities.len() == 2).then_some(())) }
    })
    .await?;

    let (all, pieces) = list(
        pb::ActivityFilter::default(),
        0,
        String::new(),
        resident.clone(),
    )
    .await?;
    assert_eq!(
        ids(&all),
        vec![farm.activity_id.clone(), welfare.activity_id.clone()],
        "{}",
        p.backend
    );
    assert_eq!(pieces.pieces.len(), 2);
    assert_eq!(pieces.pieces[0].open_seats, 2);

    let cases: Vec<(pb::ActivityFilter, &str)> = vec![
        (
            pb::ActivityFilter {
                field: pb::Field::Welfare as i32,
                ..Default::default()
            },
            &welfare.activity_id,
        ),
        (
            pb::ActivityFilter {
                engagement_form: pb::EngagementForm::Volunteer as i32,
                ..Default::default()
            },
            &farm.activity_id,
        ),
        (
            pb::ActivityFilter {
                district: "沼南".into(),
                ..Default::default()
            },
            &welfare.activity_id,
        ),
        (
            pb::ActivityFilter {
                last_day: date(2026, 5, 1),
                ..Default::default()
            },
            &farm.activity_id,
        ),
        (
            pb::ActivityFilter {
                skill: "care".into(),
                skill_level: 4,
                ..Default::default()
            },
            &welfare.activity_id,
        ),
        (
            pb::ActivityFilter {
                skill: "farming".into(),
                ..Default::default()
            },
            &farm.activity_id,
        ),
        (
            pb::ActivityFilter {
                free: Some(pb::WeeklyWindow {
                    weekday: pb::Weekday::Tuesday as i32,
                    start_minute: 480,
                    end_minute: 780,
                }),
                ..Default::default()
            },
            &farm.activity_id,
        ),
    ];
    for (filter, expected) in cases {
        let (acts, pieces) = list(filter.clone(), 0, String::new(), resident.clone()).await?;
        assert_eq!(ids(&acts), vec![expected.to_string()], "{filter:?}");
        assert_eq!(pieces.pieces.len(), 1, "{filter:?}");
        assert_eq!(pieces.pieces[0].activity_id, *expected);
    }
    // A person of level 2 does not qualify for a piece asking level 3.
    let (acts, pieces) = list(
        pb::ActivityFilter {
            skill: "care".into(),
            skill_level: 2,
            ..Default::default()
        },
        0,
        String::new(),
        resident.clone(),
    )
    .await?;
    assert!(acts.activities.is_empty() && pieces.pieces.is_empty());

    // Paging visits each activity once.
    let (first, _) = list(
        pb::ActivityFilter::default(),
        1,
        String::new(),
        resident.clone(),
    )
    .await?;
    assert_eq!(first.activities.len(), 1);
    assert!(!first.next_page_token.is_empty());
    let (second, _) = list(
        pb::ActivityFilter::default(),
        1,
        first.next_page_token.clone(),
        resident.clone(),
    )
    .await?;
    assert_eq!(ids(&second), vec![welfare.activity_id.clone()]);
    assert!(second.next_page_token.is_empty());

    // Another municipality sees none of it; bad filters name the field.
    let (theirs, their_pieces) =
        list(pb::ActivityFilter::default(), 0, String::new(), other).await?;
    assert!(theirs.activities.is_empty() && their_pieces.pieces.is_empty());
    let bad = client
        .list_activities(authed(
            pb::ListActivitiesRequest {
                page_size: 0,
                page_token: String::new(),
                filter: Some(pb::ActivityFilter {
                    field: 99,
                    ..Default::default()
                }),
            },
            &resident,
        ))
        .await
        .unwrap_err();
    assert_bad(&bad, "filter.field");

    // Paused activities leave the lists.
    lifecycle!(
        client,
        pause_activity,
        PauseActivityRequest,
        farm.activity_id,
        "pz",
        &staff
    )?;
    eventually(|| {
        let list = list(
            pb::ActivityFilter::default(),
            0,
            String::new(),
            resident.clone(),
        );
        async move { Ok((list.await?.1.pieces.len() == 1).then_some(())) }
    })
    .await?;
    p.stop().await;
    Ok(())
});

per_backend!(Platform, async fn a_host_sees_its_own_drafts_and_mentors_and_not_another_hosts(p) {
    let (mut registry, mut client) = (p.registry().await?, p.activities().await?);
    municipalities(&p, &mut registry).await?;
    let a = host(&p, &mut registry, KASHIWA, &[]).await?;
    let b = host(&p, &mut registry, KASHIWA, &[]).await?;
    let staff = p.token(Role::Coordinator, Some(KASHIWA));
    let (host_a, host_b) = (p.host_token(KASHIWA, &a), p.host_token(KASHIWA, &b));

    // Each host has an internship still in draft, its mentor named.
    let mut drafts = Vec::new();
    for (rid, host) in [("c-a", &a), ("c-b", &b)] {
        let mut request = create_request(rid, host, pb::EngagementForm::Internship);
        request.details.as_mut().unwrap().origin = pb::ActivityOrigin::InternshipProject as i32;
        let draft = create(&mut client, &staff, request).await??;
        client
            .define_internship(authed(
                pb::DefineInternshipRequest {
                    request_id: format!("i-{rid}"),
                    activity_id: draft.activity_id.clone(),
                    expected_version: 0,
                    internship: Some(internship(date(2026, 11, 30))),
                    occurred_at: None,
                },
                &staff,
            ))
            .await?;
        drafts.push(draft.activity_id);
    }
    let (draft_a, draft_b) = (drafts[0].clone(), drafts[1].clone());
    let get = |id: &str, token: &str| {
        let mut client = client.clone();
        let request = authed(
            pb::GetActivityRequest {
                activity_id: id.to_owned(),
            },
            token,
        );
        async move {
            client
                .get_activity(request)
                .await
                .map(|r| r.into_inner().activity.unwrap())
        }
    };
    let mentor = |a: &pb::Activity| a.internship.as_ref().unwrap().mentor_name.clone();

    // Its own draft, with the mentor's name.
    let own = get(&draft_a, &host_a).await?;
    assert_eq!(mentor(&own), "田中 一郎", "{}", p.backend);
    // Another host's draft does not exist for it.
    let hidden = get(&draft_b, &host_a).await.unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound, "{}", p.backend);
    assert_eq!(mentor(&get(&draft_b, &host_b).await?), "田中 一郎");

    // Nor is it listed, whatever status is asked for.
    let list = |host: &str, status: pb::ActivityStatus, token: &str| {
        let mut client = client.clone();
        let request = authed(
            pb::ListHostActivitiesRequest {
                page_size: 0,
                page_token: String::new(),
                host_organisation_id: host.to_owned(),
                status: status as i32,
            },
            token,
        );
        async move {
            anyhow::Ok(
                client
                    .list_host_activities(request)
                    .await?
                    .into_inner()
                    .activities,
            )
        }
    };
    let listed = eventually(|| {
        let list = list(&b, pb::ActivityStatus::Unspecified, &host_b);
        async move { Ok(Some(list.await?).filter(|l| l.len() == 1)) }
    })
    .await?;
    assert_eq!(listed[0].activity_id, draft_b);
    for status in [pb::ActivityStatus::Unspecified, pb::ActivityStatus::Draft] {
        assert!(list(&b, status, &host_a).await?.is_empty(), "{}", p.backend);
    }

    // Published, another host's activity is seen, its mentor is not.
    lifecycle!(
        client.clone(),
        publish_activity,
        PublishActivityRequest,
        draft_b,
        "pub-b",
        &staff
    )?;
    let published = get(&draft_b, &host_a).await?;
    assert_eq!(published.status, pb::ActivityStatus::Published as i32);
    assert_eq!(mentor(&published), "", "{}", p.backend);
    assert_eq!(mentor(&get(&draft_b, &host_b).await?), "田中 一郎");
    assert_eq!(mentor(&get(&draft_b, &staff).await?), "田中 一郎");
    let listed = eventually(|| {
        let list = list(&b, pb::ActivityStatus::Unspecified, &host_a);
        async move { Ok(Some(list.await?).filter(|l| l.len() == 1)) }
    })
    .await?;
    assert_eq!(listed[0].activity_id, draft_b);

    // Hosts do not design activities, another host's or their own.
    for host in [&a, &b] {
        let refused = client
            .clone()
            .create_activity(authed(
                create_request(&format!("h-{host}"), host, pb::EngagementForm::Volunteer),
                &host_a,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
    for id in [&draft_a, &draft_b] {
        let refused = client
            .clone()
            .update_activity(authed(
                pb::UpdateActivityRequest {
                    request_id: format!("u-{id}"),
                    activity_id: id.clone(),
                    expected_version: 0,
                    details: Some(details(&a, pb::EngagementForm::Volunteer)),
                    occurred_at: None,
                },
                &host_a,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
    p.stop().await;
    Ok(())
});

#[tokio::test]
async fn an_activity_for_a_host_registered_a_moment_ago_is_created_at_once_with_its_token()
-> anyhow::Result<()> {
    for p in Platform::both().await? {
        let (mut registry, mut client) = (p.registry().await?, p.activities().await?);
        municipalities(&p, &mut registry).await?;
        let staff = p.token(Role::Coordinator, Some(KASHIWA));
        for n in 0..5 {
            let (host, token) = host_with_token(&p, &mut registry, KASHIWA, &[]).await?;
            let mut request = authed(
                create_request(&format!("c-now-{n}"), &host, pb::EngagementForm::Volunteer),
                &staff,
            );
            request
                .metadata_mut()
                .insert(mosaic_api::consistency::HEADER, token.parse()?);
            let created = client.create_activity(request).await?;
            // Its own answer carries activity's token in turn.
            let own = created
                .metadata()
                .get(mosaic_api::consistency::HEADER)
                .unwrap()
                .to_str()?;
            assert!(own.starts_with("activity:"), "{own} ({})", p.backend);
            let own_token = own.to_owned();
            // Activities carry audit stamps like every entity: made and last changed now.
            let activity = created.into_inner().activity.unwrap();
            let stamp = activity.created.clone().unwrap();
            assert!(!stamp.actor.is_empty() && stamp.recorded_at.is_some());
            assert_eq!(activity.updated, activity.created);
            // A read of the activity by id carries the same token.
            let read = client
                .get_activity(authed(
                    pb::GetActivityRequest {
                        activity_id: activity.activity_id.clone(),
                    },
                    &staff,
                ))
                .await?;
            assert_eq!(
                read.metadata()
                    .get(mosaic_api::consistency::HEADER)
                    .unwrap()
                    .to_str()?,
                own_token
            );
        }
        // A host of another municipality, waited for with its token: definitely not found.
        let (theirs, token) = host_with_token(&p, &mut registry, CHIGASAKI, &[]).await?;
        let mut request = authed(
            create_request("c-foreign", &theirs, pb::EngagementForm::Volunteer),
            &staff,
        );
        request
            .metadata_mut()
            .insert(mosaic_api::consistency::HEADER, token.parse()?);
        let foreign = client.create_activity(request).await.unwrap_err();
        assert_eq!(
            foreign.code(),
            Code::NotFound,
            "{foreign:?} ({})",
            p.backend
        );

        // A token further than the log goes: UNAVAILABLE by the deadline, naming the read model.
        let mut request = authed(
            create_request("c-later", &theirs, pb::EngagementForm::Volunteer),
            &staff,
        );
        request
            .metadata_mut()
            .insert(mosaic_api::consistency::HEADER, "registry:999999".parse()?);
        request.set_timeout(Duration::from_millis(300));
        let later = client.create_activity(request).await.unwrap_err();
        assert_eq!(later.code(), Code::Unavailable, "{later:?}");
        assert!(later.message().contains("activity.hosts"), "{later:?}");
        // A malformed token is bad input, named.
        let mut request = authed(
            create_request("c-bad", &theirs, pb::EngagementForm::Volunteer),
            &staff,
        );
        request
            .metadata_mut()
            .insert(mosaic_api::consistency::HEADER, "registry".parse()?);
        let bad = client.create_activity(request).await.unwrap_err();
        assert_bad(&bad, mosaic_api::consistency::HEADER);
    }
    Ok(())
}
