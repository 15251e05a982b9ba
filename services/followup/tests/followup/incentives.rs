//! Incentives: the policy, awards made with the attendance that earns them within the caps,
//! grants, and redemptions that never overdraw however many run at once.

use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_client::FollowUpServiceClient;
use tonic::Code;

use crate::common::*;
use crate::support::*;

per_backend!(Platform, async fn attendance_earns_within_the_caps_once_and_redemptions_never_overdraw(p) {
    let mut w = World::new(&p, KASHIWA).await?;
    let mut f = FollowUpServiceClient::new(p.channel(3).await?);
    let piece = monday_piece(&mut w).await?;
    let (residents, listed) = engaged(&p, &mut w, &mut f, &piece, 3).await?;
    let of = |r: &Resident| listed.iter().find(|e| e.resident_id == r.id).unwrap().engagement_id.clone();
    let ids: Vec<String> = residents.iter().map(of).collect();

    // The officer's policy: 60 points an hour, at most 150 a day. Coordinators may not set it;
    // a figure over its limit is refused naming it.
    let policy = |p: pb::IncentivePolicy, id: &str| pb::SetIncentivePolicyRequest {
        request_id: id.into(),
        policy: Some(p),
        expected_version: 0,
    };
    let good = pb::IncentivePolicy { points_per_hour: 60, max_points_per_day: 150, ..Default::default() };
    refused(f.set_incentive_policy(w.req(policy(good, "p-0"), &w.coordinator)).await, Code::PermissionDenied);
    let bad = pb::IncentivePolicy { max_hours_per_week: 169, ..good };
    let r = f.set_incentive_policy(w.req(policy(bad, "p-1"), &w.officer)).await;
    assert!(refused(r, Code::InvalidArgument).contains("policy.max_hours_per_week"));
    let set = f.set_incentive_policy(w.req(policy(good, "p-2"), &w.officer)).await?.into_inner();
    assert_eq!((set.policy, set.version), (Some(good), 1));

    // Monday 30 November: 3 hours (190 points, cut to 150 by the day's cap), 1 hour (70), a
    // no-show (nothing). Fees follow the sessions that earn.
    use pb::AttendanceStatus::{Attended, NoShow};
    let day = last_monday();
    let entries = [(ids[0].as_str(), Attended, 180), (ids[1].as_str(), Attended, 60), (ids[2].as_str(), NoShow, 0)];
    let recorded = f.record_attendance(w.req(roster("a-1", &piece, day, &entries), &w.host_token)).await?.into_inner();
    let mut awards: Vec<(String, u32, u32, Vec<i32>)> = recorded
        .awards
        .iter()
        .map(|a| (a.engagement_id.clone(), a.points, a.transport_fee_yen, a.capped.clone()))
        .collect();
    awards.sort();
    let mut expected = vec![
        (ids[0].clone(), 150, 500, vec![pb::Cap::PointsPerDay as i32]),
        (ids[1].clone(), 70, 500, vec![]),
    ];
    expected.sort();
    assert_eq!(awards, expected);
    // A retry answers the same; a correction of the session awards nothing more.
    let again = f.record_attendance(w.req(roster("a-1", &piece, day, &entries), &w.host_token)).await?.into_inner();
    assert_eq!(again, recorded);
    let corrected = f
        .record_attendance(w.req(roster("a-2", &piece, day, &[(ids[0].as_str(), Attended, 240)]), &w.host_token))
        .await?
        .into_inner();
    assert!(corrected.awards.is_empty());
    assert_eq!(p.events("followup", KASHIWA, "AwardGranted").await?.len(), 2);

    // The account: the resident reads their own; staff any with an engagement; nobody else.
    let account = |r: &Resident, token: &str| w.req(pb::GetAccountRequest { resident_id: r.id.clone() }, token);
    let own = f.get_account(account(&residents[0], &residents[0].token)).await?.into_inner().account.unwrap();
    assert_eq!((own.balance, own.transport_fee_yen, own.entries.len()), (150, 500, 1));
    assert_eq!(own.entries[0].award.as_ref().unwrap().capped, [pb::Cap::PointsPerDay as i32]);
    refused(f.get_account(account(&residents[0], &residents[1].token)).await, Code::NotFound);
    refused(f.get_account(account(&residents[0], &w.host_token)).await, Code::PermissionDenied);
    let stranger = Resident { id: uuid::Uuid::now_v7().to_string(), token: String::new() };
    refused(f.get_account(account(&stranger, &w.coordinator)).await, Code::NotFound);

    // A grant past the day's cap is refused and writes nothing; within it, it counts.
    let grant = |r: &Resident, points, id: &str| pb::GrantPointsRequest {
        request_id: id.into(),
        resident_id: r.id.clone(),
        points,
        reason: pb::GrantReason::Event as i32,
        on: on(last_monday()),
    };
    let r = f.grant_points(w.req(grant(&residents[1], 81, "g-1"), &w.coordinator)).await;
    assert!(refused(r, Code::FailedPrecondition).contains("points_per_day"));
    assert!(refused(f.grant_points(w.req(grant(&residents[1], 0, "g-2"), &w.coordinator)).await, Code::InvalidArgument).contains("points"));
    refused(f.grant_points(w.req(grant(&stranger, 10, "g-3"), &w.coordinator)).await, Code::NotFound);
    refused(f.grant_points(w.req(grant(&residents[1], 10, "g-4"), &residents[1].token)).await, Code::PermissionDenied);
    assert!(p.events("followup", KASHIWA, "PointsGranted").await?.is_empty());
    let granted = f.grant_points(w.req(grant(&residents[1], 80, "g-5"), &w.coordinator)).await?.into_inner();
    assert_eq!(granted.account.unwrap().balance, 150);

    // Redemptions: more than the balance is refused; 32 at once never overdraw it.
    let redeem = |r: &Resident, points, id: String| pb::RedeemPointsRequest {
        request_id: id,
        resident_id: r.id.clone(),
        points,
        purpose: pb::RedemptionPurpose::LocalShop as i32,
    };
    let r = f.redeem_points(w.req(redeem(&residents[0], 151, "x-1".into()), &residents[0].token)).await;
    assert!(refused(r, Code::FailedPrecondition).contains("balance"));
    let mut running = tokio::task::JoinSet::new();
    for i in 0..32 {
        let mut client = f.clone();
        let request = w.req(redeem(&residents[0], 10, format!("x-{i}-{}", uuid::Uuid::now_v7())), &residents[0].token);
        running.spawn(async move { client.redeem_points(request).await });
    }
    let (mut done, mut refusals) = (0, 0);
    while let Some(answer) = running.join_next().await {
        match answer? {
            Ok(_) => done += 1,
            Err(s) if s.code() == Code::FailedPrecondition => refusals += 1,
            Err(s) => panic!("{s:?}"),
        }
    }
    assert_eq!((done, refusals), (15, 17));
    let after = f.get_account(account(&residents[0], &w.coordinator)).await?.into_inner().account.unwrap();
    assert_eq!(after.balance, 0);
    assert_eq!(p.events("followup", KASHIWA, "PointsRedeemed").await?.len(), 15);
    Ok(())
});
