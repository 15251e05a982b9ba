//! Bad input to the activity service through the gRPC API: free text with invisible or control
//! characters, impossible instants, oversized lists, and page tokens used outside their query.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use tonic::Code;

fn request(request_id: &str, host: &str) -> pb::CreateActivityRequest {
    pb::CreateActivityRequest {
        request_id: request_id.into(),
        details: Some(details(host, pb::EngagementForm::Volunteer)),
        pieces: vec![weekly_piece("収穫", pb::Weekday::Tuesday, 540, 720)],
        occurred_at: None,
    }
}

#[tokio::test]
async fn titles_and_descriptions_refuse_invisible_and_control_characters() -> anyhow::Result<()> {
    let p = Platform::sqlite().await?;
    let mut registry = p.registry().await?;
    municipalities(&p, &mut registry).await?;
    let host = host(&p, &mut registry, KASHIWA, &[]).await?;
    let staff = p.token(Role::Coordinator, Some(KASHIWA));
    let mut client = p.activities().await?;

    let mut bad = request("bad", &host);
    let d = bad.details.as_mut().unwrap();
    d.title = "収穫\u{202E}".into();
    d.description = "説明\0".into();
    d.regional_goal = "\u{200B}".into();
    bad.pieces[0].title = "\u{3164}".into();
    let status = create(&mut client, &staff, bad).await?.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    for field in [
        "details.title",
        "details.description",
        "details.regional_goal",
        "pieces[0].title",
    ] {
        assert_bad(&status, field);
    }

    // A description spans lines; a title of half-width kana with an ideographic space passes.
    let mut good = request("good", &host);
    let d = good.details.as_mut().unwrap();
    d.title = "ｼｭｳｶｸ\u{3000}作業".into();
    d.description = "一行目\n二行目\r\n\t三行目".into();
    create(&mut client, &staff, good).await?.unwrap();
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn instants_with_nanos_outside_a_second_are_refused() -> anyhow::Result<()> {
    let p = Platform::sqlite().await?;
    let mut registry = p.registry().await?;
    municipalities(&p, &mut registry).await?;
    let host = host(&p, &mut registry, KASHIWA, &[]).await?;
    let staff = p.token(Role::Coordinator, Some(KASHIWA));
    let mut client = p.activities().await?;

    let mut bad = request("nanos", &host);
    bad.occurred_at = Some(prost_types::Timestamp {
        seconds: 1_700_000_000,
        nanos: -1,
    });
    bad.pieces[0].schedule = Some(pb::Schedule {
        kind: Some(pb::schedule::Kind::OneOff(pb::OneOffWindow {
            start: Some(prost_types::Timestamp {
                seconds: 1_780_000_000,
                nanos: 1_500_000_000,
            }),
            end: Some(prost_types::Timestamp {
                seconds: 1_780_003_600,
                nanos: 0,
            }),
        })),
    });
    let status = create(&mut client, &staff, bad).await?.unwrap_err();
    assert_eq!(
        bad_fields(&status),
        vec![
            "occurred_at.nanos",
            "pieces[0].schedule.one_off.start.nanos"
        ]
    );
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn oversized_lists_are_refused_whole_naming_the_maximum() -> anyhow::Result<()> {
    let p = Platform::sqlite().await?;
    let mut registry = p.registry().await?;
    municipalities(&p, &mut registry).await?;
    let host = host(&p, &mut registry, KASHIWA, &[]).await?;
    let staff = p.token(Role::Coordinator, Some(KASHIWA));
    let mut client = p.activities().await?;

    let mut many = request("many", &host);
    many.pieces = vec![many.pieces[0].clone(); 201];
    let status = create(&mut client, &staff, many).await?.unwrap_err();
    assert_eq!(bad_fields(&status), vec!["pieces"]);
    assert!(status.message().contains("at most 200"), "{status:?}");

    let block = |tasks: usize| pb::CoverageBlock {
        window: Some(pb::WeeklyWindow {
            weekday: 1,
            start_minute: 540,
            end_minute: 600,
        }),
        tasks: (0..tasks)
            .map(|i| pb::TaskNeed {
                name: format!("作業{i}"),
                headcount: 1,
                skills: vec![],
            })
            .collect(),
    };
    let granularity = Some(pb::Granularity {
        min_minutes: 30,
        max_minutes: 60,
        step_minutes: 30,
        split_by_task: false,
    });
    let status = client
        .decompose_job(authed(
            pb::DecomposeJobRequest {
                blocks: vec![block(1); 10_000],
                granularity,
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), vec!["blocks"]);
    assert!(status.message().len() < 200, "{status:?}");
    let status = client
        .decompose_job(authed(
            pb::DecomposeJobRequest {
                blocks: vec![block(21)],
                granularity,
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), vec!["blocks[0].tasks"]);
    let mut named = block(2);
    named.tasks[1].name = "受付\u{2067}".into();
    let status = client
        .decompose_job(authed(
            pb::DecomposeJobRequest {
                blocks: vec![named],
                granularity,
                ..Default::default()
            },
            &staff,
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), vec!["blocks[0].tasks[1].name"]);
    p.stop().await;
    Ok(())
}

#[tokio::test]
async fn page_tokens_are_bound_to_their_list_and_filters() -> anyhow::Result<()> {
    let p = Platform::sqlite().await?;
    let mut registry = p.registry().await?;
    municipalities(&p, &mut registry).await?;
    let host = host(&p, &mut registry, KASHIWA, &[]).await?;
    let other_host = host_of(&p, &mut registry).await?;
    let staff = p.token(Role::Coordinator, Some(KASHIWA));
    let mut client = p.activities().await?;
    for i in 0..3 {
        create(&mut client, &staff, request(&format!("a-{i}"), &host))
            .await?
            .unwrap();
    }
    let hosted =
        |page_token: &str, host: &str, status: pb::ActivityStatus| pb::ListHostActivitiesRequest {
            page_size: 1,
            page_token: page_token.into(),
            host_organisation_id: host.into(),
            status: status as i32,
        };
    let lister = client.clone();
    let token = eventually(|| {
        let mut lister = lister.clone();
        let staff = staff.clone();
        let host = host.clone();
        async move {
            let page = lister
                .list_host_activities(authed(hosted("", &host, pb::ActivityStatus::Draft), &staff))
                .await?
                .into_inner();
            Ok((!page.next_page_token.is_empty()).then_some(page.next_page_token))
        }
    })
    .await?;
    let next = client
        .list_host_activities(authed(
            hosted(&token, &host, pb::ActivityStatus::Draft),
            &staff,
        ))
        .await?
        .into_inner();
    assert_eq!(next.activities.len(), 1);

    let mut edited = URL_SAFE_NO_PAD.decode(&token)?;
    edited[1] ^= 0x80;
    let edited = URL_SAFE_NO_PAD.encode(edited);
    for request in [
        hosted(&token, &host, pb::ActivityStatus::Published),
        hosted(&token, &other_host, pb::ActivityStatus::Draft),
        hosted(&edited, &host, pb::ActivityStatus::Draft),
    ] {
        let status = client
            .list_host_activities(authed(request, &staff))
            .await
            .unwrap_err();
        assert_eq!(bad_fields(&status), vec!["page_token"]);
    }
    for status in [
        client
            .list_activities(authed(
                pb::ListActivitiesRequest {
                    page_size: 1,
                    page_token: token.clone(),
                    filter: None,
                },
                &staff,
            ))
            .await
            .unwrap_err(),
        client
            .list_pieces_open(authed(
                pb::ListPiecesOpenRequest {
                    page_size: 1,
                    page_token: token.clone(),
                    filter: None,
                },
                &staff,
            ))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(bad_fields(&status), vec!["page_token"]);
    }
    p.stop().await;
    Ok(())
}

/// A second host organisation in Kashiwa.
async fn host_of(p: &Platform, registry: &mut Registry) -> anyhow::Result<String> {
    host(p, registry, KASHIWA, &[pb::Licence::WorkerDispatch]).await
}
