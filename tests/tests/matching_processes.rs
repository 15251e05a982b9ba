#![allow(clippy::unwrap_used, missing_docs)]

//! Never overbook, never double-book, in the distributed topology: registry, activity and two
//! matching replicas as separate processes on one PostgreSQL cluster and one nats-server.
//! Fifty confirmations of a piece with three seats, and ten confirmations of one person's
//! overlapping pieces, sent at once to both replicas: exactly three and exactly one succeed,
//! every other answer names the rule, and the log agrees with the answers.

mod common;
mod processes;

use std::collections::BTreeSet;

use common::*;
use mosaic_auth::{Role, SigningKeys};
use mosaic_eventstore::EventStore;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::activity_service_client::ActivityServiceClient;
use mosaic_proto::v1::matching_service_client::MatchingServiceClient;
use processes::Service;
use tonic::transport::Channel;

type Matching = MatchingServiceClient<Channel>;

fn token_of<T>(answer: &tonic::Response<T>) -> String {
    answer
        .metadata()
        .get(mosaic_api::consistency::HEADER)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// `body` by `token`, waiting for the writes `seen` names.
fn req<T>(body: T, token: &str, seen: &[String]) -> tonic::Request<T> {
    let mut r = authed(body, token, None);
    r.metadata_mut().insert(
        mosaic_api::consistency::HEADER,
        seen.join(",").parse().unwrap(),
    );
    r
}

fn date(year: i32, month: i32, day: i32) -> Option<pb::Date> {
    Some(pb::Date { year, month, day })
}

fn piece(weekday: pb::Weekday, start: u32, headcount: u32) -> pb::PieceDetails {
    pb::PieceDetails {
        title: "受付".into(),
        required_skills: vec![],
        schedule: Some(pb::Schedule {
            kind: Some(pb::schedule::Kind::Weekly(pb::WeeklyRecurrence {
                weekday: weekday as i32,
                start_minute: start,
                end_minute: 720,
                first_day: date(2027, 4, 5 + (weekday as i32 - 1)),
                last_day: date(2027, 9, 27 + (weekday as i32 - 1)),
                exceptions: vec![],
                skip_national_holidays: false,
            })),
        }),
        headcount,
        expected_minutes: 720 - start,
    }
}

/// Confirms every match at once, alternating replicas; the ids confirmed and the refusals.
async fn confirm_all(
    replicas: &[Channel],
    token: &str,
    seen: &[String],
    matches: &[String],
) -> anyhow::Result<(BTreeSet<String>, Vec<String>)> {
    let tasks: Vec<_> = matches
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut client = Matching::new(replicas[i % replicas.len()].clone());
            let request = req(
                pb::ConfirmMatchRequest {
                    request_id: format!("confirm-{id}"),
                    match_id: id.clone(),
                    ..Default::default()
                },
                token,
                seen,
            );
            let id = id.clone();
            tokio::spawn(async move { (id, client.confirm_match(request).await) })
        })
        .collect();
    let (mut confirmed, mut refused) = (BTreeSet::new(), Vec::new());
    for t in tasks {
        match t.await? {
            (id, Ok(_)) => {
                confirmed.insert(id);
            }
            (_, Err(e))
                if matches!(
                    e.code(),
                    tonic::Code::FailedPrecondition | tonic::Code::Aborted
                ) =>
            {
                refused.push(e.message().to_owned())
            }
            (_, Err(e)) => anyhow::bail!("unexpected answer {e:?}"),
        }
    }
    Ok((confirmed, refused))
}

#[tokio::test]
async fn confirmations_sent_to_two_replicas_at_once_never_overbook_or_double_book()
-> anyhow::Result<()> {
    let cluster = mosaic_testkit::PgCluster::start()?;
    let matching_url = cluster.database("matching")?;
    let nats = mosaic_testkit::NatsServer::start()?;
    let keys_dir = tempfile::tempdir()?;
    let keys = SigningKeys::generate();
    keys.write_to_dir(keys_dir.path())?;
    let signer = keys.signer(mosaic_auth::DEFAULT_ISSUER, mosaic_auth::DEFAULT_AUDIENCE)?;
    let mint = |subject: &str, role| {
        signer
            .mint(
                subject,
                role,
                Some(code(KASHIWA)),
                chrono::Duration::hours(1),
            )
            .unwrap()
    };
    let operator = signer.mint(
        "operator-1",
        Role::Operator,
        None,
        chrono::Duration::hours(1),
    )?;
    let coordinator = mint("coordinator-1", Role::Coordinator);
    let master = mosaic_privacy::MasterKey::generate().to_base64();
    let env = |database: String| {
        vec![
            ("DATABASE_URL", database),
            ("NATS_URL", nats.url()),
            (
                "MOSAIC_JWKS",
                keys_dir.path().join("jwks.json").display().to_string(),
            ),
            ("MOSAIC_MASTER_KEY", master.clone()),
            ("MOSAIC_RATE_LIMIT", "0".to_owned()),
            ("MOSAIC_DB_MAX_CONNECTIONS", "8".to_owned()),
        ]
    };
    let mut registry = Service::start("registry", env(cluster.database("registry")?))?;
    let mut activity = Service::start("activity", env(cluster.database("activity")?))?;
    let mut one = Service::start("matching", env(matching_url.clone()))?;
    let mut two = Service::start("matching", env(matching_url.clone()))?;
    let mut registry = Registry::new(registry.ready().await?);
    let mut activity = ActivityServiceClient::new(activity.ready().await?);
    let replicas = [one.ready().await?, two.ready().await?];

    registry
        .register_municipality(authed(register("m", KASHIWA), &operator, Some(KASHIWA)))
        .await?;
    let org = registry
        .register_organisation(authed(
            pb::RegisterOrganisationRequest {
                request_id: "host".into(),
                details: Some(pb::OrganisationDetails {
                    kind: pb::OrganisationKind::Npo as i32,
                    name: "NPO 柏".into(),
                    fields: vec![pb::Field::Welfare as i32],
                    district: "柏".into(),
                    contact: Some(pb::ContactPerson {
                        name: "佐藤".into(),
                        ..Default::default()
                    }),
                    licences: vec![],
                }),
                occurred_at: None,
            },
            &coordinator,
            None,
        ))
        .await?;
    let host = org.get_ref().organisation.clone().unwrap().organisation_id;
    let host_token = signer.mint_scoped(
        "host-staff",
        Role::HostOrganisation,
        Some(code(KASHIWA)),
        Some(mosaic_types::OrganisationId::parse(&host)?),
        chrono::Duration::hours(1),
    )?;
    let mut residents = Vec::new();
    let mut registry_token = String::new();
    for i in 0..50 {
        let token = mint(&format!("resident-{i}@example.jp"), Role::Resident);
        let answer = registry
            .register_resident(authed(
                pb::RegisterResidentRequest {
                    request_id: format!("r-{i}"),
                    mode: pb::RegistrationMode::Full as i32,
                    personal: Some(pb::PersonalDetails {
                        display_name: "住民".into(),
                        ..Default::default()
                    }),
                    profile: Some(pb::ResidentProfile {
                        channel: pb::RegistrationChannel::Web as i32,
                        birth_year: 1956,
                        life_stage: pb::LifeStage::Senior as i32,
                        district: "柏".into(),
                        ..Default::default()
                    }),
                    consents: vec![pb::ConsentPurpose::Matching as i32],
                    ..Default::default()
                },
                &token,
                None,
            ))
            .await?;
        registry_token = token_of(&answer);
        residents.push(token);
    }
    // One Tuesday piece with three seats; ten overlapping Monday pieces.
    let mut pieces = vec![piece(pb::Weekday::Tuesday, 540, 3)];
    pieces.extend((0..10).map(|i| piece(pb::Weekday::Monday, 540 + i * 10, 5)));
    let created = activity
        .create_activity(req(
            pb::CreateActivityRequest {
                request_id: "activity".into(),
                details: Some(pb::ActivityDetails {
                    host_organisation_id: host.clone(),
                    title: "地域食堂".into(),
                    description: "受付と配膳".into(),
                    field: pb::Field::Welfare as i32,
                    origin: pb::ActivityOrigin::ExistingActivity as i32,
                    engagement_form: pb::EngagementForm::Volunteer as i32,
                    place: Some(pb::Place {
                        district: "柏".into(),
                        location: None,
                        online: false,
                    }),
                    physical_load: pb::PhysicalLoad::Light as i32,
                    application_mode: pb::ApplicationMode::Open as i32,
                    incentives: Some(pb::Incentives::default()),
                    period_start: date(2027, 4, 1),
                    period_end: date(2028, 3, 31),
                    coordinator_id: String::new(),
                    regional_goal: String::new(),
                }),
                pieces,
                occurred_at: None,
            },
            &coordinator,
            std::slice::from_ref(&token_of(&org)),
        ))
        .await?
        .into_inner()
        .activity
        .unwrap();
    let published = activity
        .publish_activity(authed(
            pb::PublishActivityRequest {
                request_id: "publish".into(),
                activity_id: created.activity_id.clone(),
                ..Default::default()
            },
            &coordinator,
            None,
        ))
        .await?;
    let seen = vec![registry_token, token_of(&published)];
    let piece_ids: Vec<String> = created.pieces.iter().map(|p| p.piece_id.clone()).collect();

    // Applications and the host's acceptances, spread over both replicas.
    let open = |i: usize, token: &str, piece: &str| {
        let mut client = Matching::new(replicas[i % 2].clone());
        let (request, accept_host) = (
            req(
                pb::ApplyRequest {
                    request_id: format!("apply-{i}-{piece}"),
                    piece_id: piece.into(),
                    ..Default::default()
                },
                token,
                &seen,
            ),
            host_token.clone(),
        );
        let seen = seen.clone();
        async move {
            let id = client
                .apply(request)
                .await?
                .into_inner()
                .r#match
                .unwrap()
                .match_id;
            client
                .accept_match(req(
                    pb::AcceptMatchRequest {
                        request_id: format!("accept-{id}"),
                        match_id: id.clone(),
                        side: pb::MatchSide::Host as i32,
                        ..Default::default()
                    },
                    &accept_host,
                    &seen,
                ))
                .await?;
            anyhow::Ok(id)
        }
    };
    let mut crowd = Vec::new();
    for (i, token) in residents.iter().enumerate() {
        crowd.push(open(i, token, &piece_ids[0]).await?);
    }
    let mut mine = Vec::new();
    for (i, piece) in piece_ids[1..].iter().enumerate() {
        mine.push(open(i, &residents[0], piece).await?);
    }

    let (confirmed, refused) = confirm_all(&replicas, &coordinator, &seen, &crowd).await?;
    assert_eq!(confirmed.len(), 3, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|m| m.contains("is full: 3 of 3 seat(s) confirmed")),
        "{refused:?}"
    );
    let (one_of_mine, refused_mine) = confirm_all(&replicas, &coordinator, &seen, &mine).await?;
    assert_eq!(one_of_mine.len(), 1, "{refused_mine:?}");
    assert!(
        refused_mine
            .iter()
            .all(|m| m.contains("at an overlapping time")),
        "{refused_mine:?}"
    );

    // The log agrees with the answers.
    let db = mosaic_db::connect(&matching_url, 2).await?;
    let store = mosaic_eventstore::SqlEventStore::open(db.clone(), "matching").await?;
    let seats = store
        .read_stream(code(KASHIWA), &format!("seats-{}", piece_ids[0]))
        .await?;
    let taken: BTreeSet<String> = seats
        .iter()
        .filter(|e| e.event_type == "SeatTaken")
        .map(|e| {
            e.payload.to_value().unwrap()["match_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(taken, confirmed);
    let me = store
        .read_stream(
            code(KASHIWA),
            &format!("commitments-{}", {
                let id = store
                    .read_stream(code(KASHIWA), &format!("match-{}", mine[0]))
                    .await?;
                id[0].payload.to_value().unwrap()["resident_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }),
        )
        .await?;
    let held: BTreeSet<String> = me
        .iter()
        .map(|e| {
            e.payload.to_value().unwrap()["match_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        held.is_superset(&one_of_mine) && held.len() <= 2,
        "{held:?}"
    );
    db.close().await;
    one.kill9();
    two.kill9();
    Ok(())
}
