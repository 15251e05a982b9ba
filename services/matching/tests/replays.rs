//! A retried `request_id` answers only the caller that made the request. Every mutating RPC of
//! the matching service is made once by the caller whose step it is, then sent again — same
//! `request_id`, same body — by every other caller. None of them receives the first answer: each
//! is refused by the access check or by the match's state (writing nothing), or its request is a
//! request of its own (it records its own idempotency key).
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use common::*;
use mosaic_auth::{MUNICIPALITY_HEADER, Role};
use mosaic_proto::v1 as pb;
use mosaic_testkit::replay::{Caller as Who, Stored};
use mosaic_types::MunicipalityCode;

/// The matching service's count of idempotency keys and its log head.
async fn stored(p: &Platform) -> Stored {
    let db = mosaic_db::connect(&p.matching_database_url(), 1)
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

/// [`mosaic_testkit::replay::replayed_by_everyone_else`] against the matching service's store.
async fn replayed<R, F, Fut>(p: &Platform, rpc: &str, first: &str, everyone: &[Who], call: F)
where
    R: std::fmt::Debug,
    F: Fn(Who) -> Fut,
    Fut: std::future::Future<Output = Result<R, tonic::Status>>,
{
    mosaic_testkit::replay::replayed_by_everyone_else(rpc, first, everyone, "", || stored(p), call)
        .await;
}

per_backend!(Platform, async fn no_caller_receives_another_callers_answer_to_the_same_request_id(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let (_, pieces) = w
        .pieces(
            pb::EngagementForm::Placement,
            pb::ApplicationMode::Open,
            3,
            &[(pb::Weekday::Monday, 540, 720), (pb::Weekday::Tuesday, 540, 720)],
        )
        .await?;
    let resident = w.resident(&p, Person::default()).await?;
    let neighbour = w.resident(&p, Person::default()).await?;
    // Matching has read everything registered above before the callers, who send no tokens.
    w.seats(&pieces[0]).await?;
    let cross = |label, subject: &str, role| Who {
        label,
        token: p
            .signer
            .mint(subject, role, None, chrono::Duration::minutes(30))
            .unwrap(),
        header: Some((MUNICIPALITY_HEADER, KASHIWA.to_owned())),
    };
    let other_host = p.host_token(KASHIWA, &mosaic_types::OrganisationId::new());
    let everyone = vec![
        Who { label: "resident", token: resident.token.clone(), header: None },
        Who { label: "another resident", token: neighbour.token.clone(), header: None },
        Who { label: "host", token: w.host_token.clone(), header: None },
        Who { label: "another host", token: other_host, header: None },
        Who { label: "coordinator", token: w.coordinator.clone(), header: None },
        Who {
            label: "another coordinator",
            token: p
                .signer
                .mint(
                    "coordinator-b",
                    Role::Coordinator,
                    Some(MunicipalityCode::parse(KASHIWA).unwrap()),
                    chrono::Duration::minutes(30),
                )
                .unwrap(),
            header: None,
        },
        Who { label: "officer", token: w.officer.clone(), header: None },
        cross("analyst", "analyst-1", Role::Analyst),
        cross("operator", "operator-1", Role::Operator),
    ];
    let addr = p.addrs[2];
    let connect = move || async move {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        pb::matching_service_client::MatchingServiceClient::new(channel)
    };
    let apply = pb::ApplyRequest {
        request_id: "same-apply".into(),
        piece_id: pieces[0].clone(),
        ..Default::default()
    };
    replayed(&p, "Apply", "resident", &everyone, |who: Who| {
        let body = apply.clone();
        async move { connect().await.apply(who.request(body)).await }
    })
    .await;
    let id = w.apply(&resident, &pieces[0]).await.unwrap_err();
    assert_eq!(id.code(), tonic::Code::AlreadyExists);
    let id = id.message().split(' ').nth(1).unwrap().to_owned();
    let on = |n: &str| format!("same-{n}");
    replayed(&p, "Propose", "coordinator", &everyone, |who: Who| {
        let body = pb::ProposeRequest {
            request_id: on("propose"),
            piece_id: pieces[1].clone(),
            resident_id: neighbour.id.clone(),
            occurred_at: None,
        };
        async move { connect().await.propose(who.request(body)).await }
    })
    .await;
    replayed(&p, "AcceptMatch", "host", &everyone, |who: Who| {
        let body = pb::AcceptMatchRequest {
            request_id: on("accept"),
            match_id: id.clone(),
            side: pb::MatchSide::Host as i32,
            ..Default::default()
        };
        async move { connect().await.accept_match(who.request(body)).await }
    })
    .await;
    let at = mosaic_api::occurred_at::timestamp(chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap());
    replayed(&p, "ScheduleInterview", "host", &everyone, |who: Who| {
        let body = pb::ScheduleInterviewRequest {
            request_id: on("schedule"),
            match_id: id.clone(),
            at: Some(at),
            ..Default::default()
        };
        async move { connect().await.schedule_interview(who.request(body)).await }
    })
    .await;
    replayed(&p, "RecordInterview", "host", &everyone, |who: Who| {
        let body = pb::RecordInterviewRequest {
            request_id: on("record"),
            match_id: id.clone(),
            outcome: pb::InterviewOutcome::Passed as i32,
            ..Default::default()
        };
        async move { connect().await.record_interview(who.request(body)).await }
    })
    .await;
    replayed(&p, "ConfirmMatch", "coordinator", &everyone, |who: Who| {
        let body = pb::ConfirmMatchRequest {
            request_id: on("confirm"),
            match_id: id.clone(),
            ..Default::default()
        };
        async move { connect().await.confirm_match(who.request(body)).await }
    })
    .await;
    replayed(&p, "WithdrawMatch", "resident", &everyone, |who: Who| {
        let body = pb::WithdrawMatchRequest {
            request_id: on("withdraw"),
            match_id: id.clone(),
            reason: pb::MatchReason::Health as i32,
            ..Default::default()
        };
        async move { connect().await.withdraw_match(who.request(body)).await }
    })
    .await;
    // The proposal of the neighbour: declined by the host, then cancelled by staff once opened
    // again.
    let proposed = pb::ProposeRequest {
        request_id: "again".into(),
        piece_id: pieces[1].clone(),
        resident_id: neighbour.id.clone(),
        occurred_at: None,
    };
    let other = w
        .matching
        .propose(w.req(proposed.clone(), &w.coordinator))
        .await
        .unwrap_err();
    let other = other.message().split(' ').nth(1).unwrap().to_owned();
    replayed(&p, "DeclineMatch", "host", &everyone, |who: Who| {
        let body = pb::DeclineMatchRequest {
            request_id: on("decline"),
            match_id: other.clone(),
            side: pb::MatchSide::Host as i32,
            reason: pb::MatchReason::NotAFit as i32,
            ..Default::default()
        };
        async move { connect().await.decline_match(who.request(body)).await }
    })
    .await;
    let mut reopened = proposed;
    reopened.request_id = "reopen".into();
    w.matching.propose(w.req(reopened, &w.coordinator)).await?;
    replayed(&p, "CancelMatch", "coordinator", &everyone, |who: Who| {
        let body = pb::CancelMatchRequest {
            request_id: on("cancel"),
            match_id: other.clone(),
            reason: pb::MatchReason::Other as i32,
            ..Default::default()
        };
        async move { connect().await.cancel_match(who.request(body)).await }
    })
    .await;
    replayed(&p, "SetMatchingPolicy", "officer", &everyone, |who: Who| {
        let body = pb::SetMatchingPolicyRequest {
            request_id: on("policy"),
            policy: Some(pb::MatchingPolicy {
                max_hours_per_week: Some(30),
                max_days_per_month: None,
                ..Default::default()
            }),
            ..Default::default()
        };
        async move { connect().await.set_matching_policy(who.request(body)).await }
    })
    .await;
    Ok(())
});
