#![allow(missing_docs, clippy::unwrap_used)]

//! A retried `request_id` answers only the caller that made the request. Every mutating RPC of
//! the activity service is made once by a coordinator, then sent again — same `request_id`, same
//! body — by every other caller. None of them receives the first answer: each is refused by the
//! access check, or its request is a request of its own (it records its own idempotency key).

mod common;

use common::*;

use mosaic_auth::{MUNICIPALITY_HEADER, Role};
use mosaic_proto::v1 as pb;
use mosaic_testkit::replay::{Caller as Who, Stored};
use mosaic_types::MunicipalityCode;

fn callers(p: &Platform) -> Vec<Who> {
    let mint = |label, subject: &str, role, organisation| Who {
        label,
        token: p
            .signer
            .mint_scoped(
                subject,
                role,
                (role != Role::Analyst && role != Role::Operator)
                    .then(|| MunicipalityCode::parse(KASHIWA).unwrap()),
                organisation,
                chrono::Duration::minutes(30),
            )
            .unwrap(),
        header: matches!(role, Role::Analyst | Role::Operator)
            .then(|| (MUNICIPALITY_HEADER, KASHIWA.to_owned())),
    };
    vec![
        mint("coordinator", "tester", Role::Coordinator, None),
        mint(
            "another coordinator",
            "coordinator-b",
            Role::Coordinator,
            None,
        ),
        mint("resident", "resident-r", Role::Resident, None),
        mint(
            "host",
            "host-1",
            Role::HostOrganisation,
            Some(mosaic_types::OrganisationId::new()),
        ),
        mint("officer", "officer-1", Role::MunicipalityOfficer, None),
        mint("analyst", "analyst-1", Role::Analyst, None),
        mint("operator", "operator-1", Role::Operator, None),
    ]
}

/// The activity service's count of idempotency keys and its log head.
async fn stored(p: &Platform) -> Stored {
    let db = mosaic_db::connect(&p.activity_database_url(), 1)
        .await
        .unwrap();
    let keys: i64 = mosaic_db::on_db!(&db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM idempotency").fetch_one(pool).await.unwrap()
    });
    let head: i64 = mosaic_db::on_db!(&db, pool => {
        sqlx::query_scalar("SELECT position FROM log_head WHERE id = 1").fetch_one(pool).await.unwrap()
    });
    db.close().await;
    Stored {
        keys: keys as u64,
        head: head as u64,
    }
}

/// [`mosaic_testkit::replay::replayed_by_everyone_else`] with the coordinator first.
async fn replayed_by_everyone_else<R, F, Fut>(p: &Platform, rpc: &str, everyone: &[Who], call: F)
where
    R: std::fmt::Debug,
    F: Fn(Who) -> Fut,
    Fut: std::future::Future<Output = Result<R, tonic::Status>>,
{
    mosaic_testkit::replay::replayed_by_everyone_else(
        rpc,
        "coordinator",
        everyone,
        "",
        || stored(p),
        call,
    )
    .await;
}

per_backend!(Platform, async fn no_caller_receives_another_callers_answer_to_the_same_request_id(p) {
    let (mut registry, mut client) = (p.registry().await?, p.activities().await?);
    municipalities(&p, &mut registry).await?;
    let host = host(&p, &mut registry, KASHIWA, &[]).await?;
    let everyone = callers(&p);
    let addr = p.activity_addr;
    let connect = move || async move {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        pb::activity_service_client::ActivityServiceClient::new(channel)
    };
    let create = pb::CreateActivityRequest {
        request_id: "same-create".into(),
        details: Some(details(&host, pb::EngagementForm::Volunteer)),
        pieces: vec![weekly_piece("収穫", pb::Weekday::Tuesday, 540, 720)],
        occurred_at: None,
    };
    // The hosts projection learns the host a moment after the registry.
    let activity = common::create(&mut client, &everyone[0].token, create.clone()).await??;
    let id = activity.activity_id.clone();
    let piece = activity.pieces[0].piece_id.clone();
    replayed_by_everyone_else(&p, "CreateActivity", &everyone, |w| {
        let body = create.clone();
        async move { connect().await.create_activity(w.request(body)).await }
    })
    .await;
    replayed_by_everyone_else(&p, "UpdateActivity", &everyone, |w| {
        let body = pb::UpdateActivityRequest {
            request_id: "same-update".into(),
            activity_id: id.clone(),
            expected_version: 0,
            details: Some(details(&host, pb::EngagementForm::Volunteer)),
            occurred_at: None,
        };
        async move { connect().await.update_activity(w.request(body)).await }
    })
    .await;
    replayed_by_everyone_else(&p, "AddPiece", &everyone, |w| {
        let body = pb::AddPieceRequest {
            request_id: "same-add".into(),
            activity_id: id.clone(),
            expected_version: 0,
            piece: Some(weekly_piece(
                "収穫（木曜）",
                pb::Weekday::Thursday,
                780,
                960,
            )),
            occurred_at: None,
        };
        async move { connect().await.add_piece(w.request(body)).await }
    })
    .await;
    replayed_by_everyone_else(&p, "RevisePiece", &everyone, |w| {
        let body = pb::RevisePieceRequest {
            request_id: "same-revise".into(),
            activity_id: id.clone(),
            expected_version: 0,
            piece_id: piece.clone(),
            piece: Some(weekly_piece("収穫（火曜）", pb::Weekday::Tuesday, 540, 690)),
            occurred_at: None,
        };
        async move { connect().await.revise_piece(w.request(body)).await }
    })
    .await;
    replayed_by_everyone_else(&p, "PublishActivity", &everyone, |w| {
        let body = pb::PublishActivityRequest {
            request_id: "same-publish".into(),
            activity_id: id.clone(),
            expected_version: 0,
            occurred_at: None,
        };
        async move { connect().await.publish_activity(w.request(body)).await }
    })
    .await;
    replayed_by_everyone_else(&p, "PauseActivity", &everyone, |w| {
        let body = pb::PauseActivityRequest {
            request_id: "same-pause".into(),
            activity_id: id.clone(),
            expected_version: 0,
            occurred_at: None,
        };
        async move { connect().await.pause_activity(w.request(body)).await }
    })
    .await;
    replayed_by_everyone_else(&p, "ResumeActivity", &everyone, |w| {
        let body = pb::ResumeActivityRequest {
            request_id: "same-resume".into(),
            activity_id: id.clone(),
            expected_version: 0,
            occurred_at: None,
        };
        async move { connect().await.resume_activity(w.request(body)).await }
    })
    .await;
    replayed_by_everyone_else(&p, "CloseActivity", &everyone, |w| {
        let body = pb::CloseActivityRequest {
            request_id: "same-close".into(),
            activity_id: id.clone(),
            expected_version: 0,
            reason: pb::CloseReason::Filled as i32,
            occurred_at: None,
        };
        async move { connect().await.close_activity(w.request(body)).await }
    })
    .await;
    // A second draft: pieces cut by a decomposition, one removed, then cancelled.
    let second = common::create(
        &mut client,
        &everyone[0].token,
        pb::CreateActivityRequest {
            request_id: "second".into(),
            ..create.clone()
        },
    )
    .await??
    .activity_id;
    replayed_by_everyone_else(&p, "DecomposeJob", &everyone, |w| {
        let body = pb::DecomposeJobRequest {
            request_id: "same-decompose".into(),
            blocks: vec![pb::CoverageBlock {
                window: Some(pb::WeeklyWindow {
                    weekday: pb::Weekday::Monday as i32,
                    start_minute: 540,
                    end_minute: 780,
                }),
                tasks: vec![pb::TaskNeed {
                    name: "受付".into(),
                    headcount: 1,
                    skills: vec![],
                }],
            }],
            granularity: Some(pb::Granularity {
                min_minutes: 120,
                max_minutes: 240,
                step_minutes: 60,
                split_by_task: false,
            }),
            define: true,
            activity_id: second.clone(),
            first_day: date(2026, 4, 6),
            last_day: date(2026, 9, 28),
            ..Default::default()
        };
        async move { connect().await.decompose_job(w.request(body)).await }
    })
    .await;
    let second_piece = client
        .get_activity(everyone[0].request(pb::GetActivityRequest {
            activity_id: second.clone(),
        }))
        .await?
        .into_inner()
        .activity
        .unwrap()
        .pieces[0]
        .piece_id
        .clone();
    replayed_by_everyone_else(&p, "RemovePiece", &everyone, |w| {
        let body = pb::RemovePieceRequest {
            request_id: "same-remove".into(),
            activity_id: second.clone(),
            expected_version: 0,
            piece_id: second_piece.clone(),
            occurred_at: None,
        };
        async move { connect().await.remove_piece(w.request(body)).await }
    })
    .await;
    replayed_by_everyone_else(&p, "CancelActivity", &everyone, |w| {
        let body = pb::CancelActivityRequest {
            request_id: "same-cancel".into(),
            activity_id: second.clone(),
            expected_version: 0,
            reason: "中止".into(),
            occurred_at: None,
        };
        async move { connect().await.cancel_activity(w.request(body)).await }
    })
    .await;

    // An internship project.
    let internship = common::create(
        &mut client,
        &everyone[0].token,
        pb::CreateActivityRequest {
            request_id: "internship".into(),
            details: Some(pb::ActivityDetails {
                origin: pb::ActivityOrigin::InternshipProject as i32,
                ..details(&host, pb::EngagementForm::Internship)
            }),
            ..create.clone()
        },
    )
    .await??
    .activity_id;
    replayed_by_everyone_else(&p, "DefineInternship", &everyone, |w| {
        let body = pb::DefineInternshipRequest {
            request_id: "same-internship".into(),
            activity_id: internship.clone(),
            expected_version: 0,
            internship: Some(pb::Internship {
                goal: "地域農業のデジタル化".into(),
                start: date(2026, 6, 1),
                end: date(2026, 9, 30),
                weekly_hours: 12,
                mentor_name: "田中 一郎".into(),
                milestones: Some(pb::Milestones {
                    orientation: date(2026, 6, 1),
                    mid_term_review: date(2026, 6, 15),
                    final_reflection: date(2026, 6, 20),
                }),
            }),
            occurred_at: None,
        };
        async move { connect().await.define_internship(w.request(body)).await }
    })
    .await;
    p.stop().await;
    Ok(())
});
