#![allow(missing_docs, clippy::unwrap_used)]

//! Bad input through the gRPC API answers INVALID_ARGUMENT, briefly, and writes nothing: bodies
//! that do not decode, names with invisible or control characters, impossible timestamps,
//! oversized lists, and page tokens that were edited, forged or issued for another query.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::{Buf, BufMut};
use common::*;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Sends and receives message bodies as raw bytes, so a test can send what no client would.
#[derive(Debug, Clone, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Self::Encoder {
        Raw
    }

    fn decoder(&mut self) -> Self::Decoder {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

async fn raw(registry: &Registry) -> tonic::client::Grpc<Channel> {
    let channel = Channel::from_shared(format!("http://{}", registry.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    tonic::client::Grpc::new(channel)
}

fn path(rpc: &str) -> PathAndQuery {
    PathAndQuery::try_from(format!("/mosaic.v1.RegistryService/{rpc}")).unwrap()
}

/// A unary call with `body` as the request's bytes.
async fn unary_bytes(registry: &Registry, rpc: &str, body: Vec<u8>, token: &str) -> Status {
    let mut grpc = raw(registry).await;
    grpc.ready().await.unwrap();
    grpc.unary(authed(body, token), path(rpc), Raw)
        .await
        .unwrap_err()
}

/// A length-delimited protobuf field.
fn field(number: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![(number << 3) | 2, bytes.len() as u8];
    out.extend_from_slice(bytes);
    out
}

#[track_caller]
fn assert_invalid(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields = bad_fields(status);
    assert_eq!(fields, vec![field.to_owned()], "{status:?}");
}

#[tokio::test]
async fn bodies_that_do_not_decode_answer_invalid_argument_and_write_nothing() -> anyhow::Result<()>
{
    let registry = Registry::sqlite().await?;
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    let head = registry.log_head().await;

    // Not a protobuf message at all: a truncated field (in `request_id`), an invalid wire type,
    // a varint that never ends (in `mode`).
    for (garbage, field) in [
        (vec![0x0a, 0x05, b'a'], "request_id"),
        (vec![0x0f, 0x01], ""),
        (
            vec![
                0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
            "mode",
        ),
    ] {
        let status = unary_bytes(&registry, "RegisterResident", garbage, &coordinator).await;
        assert_invalid(&status, field);
    }
    // A string that is not UTF-8: `request_id`, and `profile.district` one message down.
    let status = unary_bytes(
        &registry,
        "RegisterResident",
        field(1, &[0xff, 0xfe]),
        &coordinator,
    )
    .await;
    assert_invalid(&status, "request_id");
    assert!(status.message().contains("UTF-8"), "{status:?}");
    let status = unary_bytes(
        &registry,
        "RegisterResident",
        field(4, &field(4, &[b'a', 0xc3])),
        &coordinator,
    )
    .await;
    assert_invalid(&status, "profile.district");
    let status = unary_bytes(&registry, "ListResidents", field(3, &[0xff]), &coordinator).await;
    assert_invalid(&status, "district");

    // A unary call without any message.
    let mut grpc = raw(&registry).await;
    grpc.ready().await?;
    let status = grpc
        .client_streaming::<_, Vec<u8>, Vec<u8>, _>(
            authed(tokio_stream::empty::<Vec<u8>>(), &coordinator),
            path("RegisterResident"),
            Raw,
        )
        .await
        .unwrap_err();
    assert_invalid(&status, "");

    // A streamed import whose row does not decode ends with INVALID_ARGUMENT in the trailers.
    let mut grpc = raw(&registry).await;
    grpc.ready().await?;
    let rows = tokio_stream::iter(vec![field(2, &field(3, &field(1, &[0xff])))]);
    let mut answers = grpc
        .streaming(authed(rows, &coordinator), path("ImportResidents"), Raw)
        .await?
        .into_inner();
    let status = loop {
        match answers.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the import ended without an error"),
            Err(status) => break status,
        }
    };
    assert_invalid(&status, "resident.personal.display_name");

    // Without a token the caller learns nothing about the body.
    let status = unary_bytes(&registry, "RegisterResident", vec![0x0f], "not-a-token").await;
    assert_eq!(status.code(), Code::Unauthenticated);

    assert_eq!(registry.log_head().await, head);
    registry.stop().await;
    Ok(())
}

#[tokio::test]
async fn names_with_controls_bidi_overrides_or_nothing_visible_are_refused() -> anyhow::Result<()> {
    let registry = Registry::sqlite().await?;
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    let head = registry.log_head().await;

    for bad in [
        "山田\0太郎",
        "山田\u{7}太郎",
        "山田\n太郎",
        "\u{202E}郎太田山",
        "山田\u{2066}太郎\u{2069}",
        "\u{200B}",
        "\u{200B}\u{200C}\u{200D}\u{FEFF}",
        "\u{3164}\u{3164}",
        "\u{3000}\u{3000}",
        "山田\u{E000}",
    ] {
        let status = client
            .register_resident(authed(
                full_registration(&format!("bad-{}", bad.len()), bad),
                &coordinator,
            ))
            .await
            .unwrap_err();
        assert_bad(&status, "personal.display_name");
    }
    let status = client
        .register_resident(authed(
            pb::RegisterResidentRequest {
                personal: Some(pb::PersonalDetails {
                    phone: "04-7167-1111 内線".into(),
                    email: "yamada.taro".into(),
                    note: "メモ\u{202E}".into(),
                    address: "柏市\t柏".into(),
                    ..personal("山田 太郎")
                }),
                ..full_registration("bad-contact", "山田 太郎")
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    for field in [
        "personal.phone",
        "personal.email",
        "personal.note",
        "personal.address",
    ] {
        assert_bad(&status, field);
    }
    let status = client
        .register_organisation(authed(
            pb::RegisterOrganisationRequest {
                request_id: "o-bad".into(),
                details: Some(pb::OrganisationDetails {
                    kind: pb::OrganisationKind::Npo as i32,
                    name: "NPO\u{202D}法人".into(),
                    fields: vec![pb::Field::Welfare as i32],
                    district: "柏\u{0}".into(),
                    contact: Some(pb::ContactPerson {
                        name: "\u{2800}".into(),
                        phone: "+81 4 (7167) 1111".into(),
                        email: "a@b@example.jp".into(),
                    }),
                    licences: vec![],
                }),
                occurred_at: None,
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        vec![
            "details.name",
            "details.district",
            "details.contact.name",
            "details.contact.email"
        ]
    );
    assert_eq!(registry.log_head().await, head);

    // Japanese names pass: an ideographic space, half-width kana; a note spans lines.
    for (i, name) in ["山田\u{3000}太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", "髙橋 𠮷子"]
        .iter()
        .enumerate()
    {
        client
            .register_resident(authed(
                pb::RegisterResidentRequest {
                    personal: Some(pb::PersonalDetails {
                        note: "一行目\n二行目".into(),
                        phone: "０４－７１６７－１１１１".into(),
                        ..personal(name)
                    }),
                    ..full_registration(&format!("ok-{i}"), name)
                },
                &coordinator,
            ))
            .await?;
    }
    registry.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_occurred_at_with_nanos_outside_a_second_is_refused() -> anyhow::Result<()> {
    let registry = Registry::sqlite().await?;
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    let head = registry.log_head().await;
    for (seconds, nanos, field) in [
        (1_700_000_000, -1, "occurred_at.nanos"),
        (1_700_000_000, 1_000_000_000, "occurred_at.nanos"),
        (1_700_000_000, 1_999_999_999, "occurred_at.nanos"),
        (i64::MAX, 0, "occurred_at.seconds"),
    ] {
        let status = client
            .register_resident(authed(
                pb::RegisterResidentRequest {
                    occurred_at: Some(prost_types::Timestamp { seconds, nanos }),
                    ..full_registration(&format!("t-{nanos}-{seconds}"), "山田 太郎")
                },
                &coordinator,
            ))
            .await
            .unwrap_err();
        assert_bad(&status, field);
    }
    assert_eq!(registry.log_head().await, head);
    registry.stop().await;
    Ok(())
}

#[tokio::test]
async fn ten_thousand_bad_items_answer_a_short_status() -> anyhow::Result<()> {
    let registry = Registry::sqlite().await?;
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    let head = registry.log_head().await;

    let register = |profile: pb::ResidentProfile, consents: Vec<i32>| {
        let mut client = client.clone();
        let coordinator = coordinator.clone();
        async move {
            client
                .register_resident(authed(
                    pb::RegisterResidentRequest {
                        profile: Some(profile),
                        consents,
                        ..full_registration("many", "山田 太郎")
                    },
                    &coordinator,
                ))
                .await
                .unwrap_err()
        }
    };
    let small = |status: &Status| {
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().len() < 4_096, "{}", status.message().len());
        assert!(status.details().len() < 4_096, "{}", status.details().len());
    };

    // 10,000 copies of one enum value: the list is refused whole, once.
    let status = register(
        pb::ResidentProfile {
            interests: vec![pb::Field::Agriculture as i32; 10_000],
            free_tags: vec![String::new(); 10_000],
            availability: vec![pb::WeeklyWindow::default(); 10_000],
            ..senior_profile()
        },
        vec![pb::ConsentPurpose::Matching as i32; 10_000],
    )
    .await;
    small(&status);
    let violations: Vec<(String, String)> = status
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect();
    let expected = [
        ("profile.free_tags", "at most 30 tags, not 10000"),
        (
            "profile.interests",
            "at most 32 values, each once, not 10000",
        ),
        ("profile.availability", "at most 28 windows, not 10000"),
        ("consents", "at most 32 values, each once, not 10000"),
    ];
    assert_eq!(
        violations,
        expected
            .iter()
            .map(|(f, d)| (f.to_string(), d.to_string()))
            .collect::<Vec<_>>()
    );

    // A value listed many times within the maximum is reported once, at its first repeat.
    let status = register(
        pb::ResidentProfile {
            interests: vec![1, 1, 1, 1, 2, 2, 2],
            ..senior_profile()
        },
        vec![],
    )
    .await;
    assert_eq!(
        bad_fields(&status),
        vec!["profile.interests[1]", "profile.interests[5]"]
    );

    // More bad fields than an answer lists: the first 20, then how many more.
    let status = register(
        pb::ResidentProfile {
            skills: (0..50)
                .map(|i| pb::Skill {
                    tag: format!("Bad Tag {i}"),
                    level: 3,
                })
                .collect(),
            ..senior_profile()
        },
        vec![],
    )
    .await;
    small(&status);
    let violations = status.get_details_bad_request().unwrap().field_violations;
    assert_eq!(violations.len(), 21);
    assert_eq!(violations[19].field, "profile.skills[19].tag");
    assert_eq!(violations[20].field, "");
    assert_eq!(
        violations[20].description,
        "and 30 more violations not listed"
    );
    assert_eq!(registry.log_head().await, head);
    registry.stop().await;
    Ok(())
}

/// Three residents in Kashiwa (two in 柏) and two organisations; the coordinator's token.
async fn directory(registry: &Registry, client: &mut Client) -> anyhow::Result<String> {
    kashiwa(registry, client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    for i in 0..3 {
        let mut request = full_registration(&format!("p-{i}"), &format!("住民{i}"));
        if i == 2 {
            request.profile.as_mut().unwrap().district = "沼南".into();
        }
        client
            .register_resident(authed(request, &coordinator))
            .await?;
    }
    for i in 0..2 {
        client
            .register_organisation(authed(
                pb::RegisterOrganisationRequest {
                    request_id: format!("po-{i}"),
                    details: Some(pb::OrganisationDetails {
                        kind: pb::OrganisationKind::Npo as i32,
                        name: format!("団体{i}"),
                        fields: vec![pb::Field::Welfare as i32],
                        district: "柏".into(),
                        contact: Some(pb::ContactPerson {
                            name: "佐藤 花子".into(),
                            phone: String::new(),
                            email: String::new(),
                        }),
                        licences: vec![],
                    }),
                    occurred_at: None,
                },
                &coordinator,
            ))
            .await?;
    }
    let mut lister = client.clone();
    let token = coordinator.clone();
    eventually(move || {
        let mut lister = lister.clone();
        let token = token.clone();
        async move {
            let n = lister
                .list_residents(authed(pb::ListResidentsRequest::default(), &token))
                .await?
                .into_inner()
                .residents
                .len();
            Ok((n == 3).then_some(()))
        }
    })
    .await?;
    lister = client.clone();
    eventually(move || {
        let mut lister = lister.clone();
        let token = coordinator.clone();
        async move {
            let n = lister
                .list_organisations(authed(pb::ListOrganisationsRequest::default(), &token))
                .await?
                .into_inner()
                .organisations
                .len();
            Ok((n == 2).then_some(()))
        }
    })
    .await?;
    Ok(registry.token(Role::Coordinator, Some(KASHIWA)))
}

fn residents(page_token: &str, district: &str) -> pb::ListResidentsRequest {
    pb::ListResidentsRequest {
        page_size: 1,
        page_token: page_token.into(),
        district: district.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn page_tokens_that_were_edited_forged_or_issued_for_another_query_are_refused()
-> anyhow::Result<()> {
    let registry = Registry::sqlite().await?;
    let mut client = registry.client().await?;
    let coordinator = directory(&registry, &mut client).await?;

    let first = client
        .list_residents(authed(residents("", "柏"), &coordinator))
        .await?
        .into_inner();
    assert_eq!(first.residents.len(), 1);
    let token = first.next_page_token;
    let second = client
        .list_residents(authed(residents(&token, "柏"), &coordinator))
        .await?
        .into_inner();
    assert_eq!(second.residents.len(), 1);
    assert_ne!(
        second.residents[0].resident_id,
        first.residents[0].resident_id
    );

    // The token served by the old scheme (base64 of "v1:" and a key) for any key.
    let forged = URL_SAFE_NO_PAD.encode(format!("v1:{}", first.residents[0].resident_id));
    let mut edited = URL_SAFE_NO_PAD.decode(&token)?;
    let last = edited.len() - 1;
    edited[last] ^= 0x01;
    let edited = URL_SAFE_NO_PAD.encode(edited);
    let organisations = client
        .list_organisations(authed(
            pb::ListOrganisationsRequest {
                page_size: 1,
                district: "柏".into(),
                ..Default::default()
            },
            &coordinator,
        ))
        .await?
        .into_inner()
        .next_page_token;
    assert!(!organisations.is_empty());
    for (request, what) in [
        (residents(&forged, "柏"), "forged"),
        (residents(&edited, "柏"), "edited"),
        (residents(&token, "沼南"), "other filters"),
        (residents(&token, ""), "no filters"),
        (residents(&organisations, "柏"), "another list"),
    ] {
        let status = client
            .list_residents(authed(request, &coordinator))
            .await
            .unwrap_err();
        assert_eq!(
            bad_fields(&status),
            vec!["page_token".to_owned()],
            "{what}: {status:?}"
        );
    }
    let status = client
        .list_organisations(authed(
            pb::ListOrganisationsRequest {
                page_size: 1,
                page_token: token.clone(),
                district: "柏".into(),
                ..Default::default()
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_invalid(&status, "page_token");
    // Another municipality's staff cannot use it either.
    let chigasaki = registry.token(Role::Coordinator, Some(CHIGASAKI));
    let status = client
        .list_residents(authed(residents(&token, "柏"), &chigasaki))
        .await
        .unwrap_err();
    assert_invalid(&status, "page_token");
    registry.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_page_token_from_one_replica_is_accepted_by_another() -> anyhow::Result<()> {
    let registry = Registry::postgres().await?;
    let mut client = registry.client().await?;
    let coordinator = directory(&registry, &mut client).await?;
    let first = client
        .list_residents(authed(residents("", ""), &coordinator))
        .await?
        .into_inner();
    let replica = registry.replica().await?;
    let mut other = Client::new(
        Channel::from_shared(format!("http://{}", replica.addr))?
            .connect()
            .await?,
    );
    let second = other
        .list_residents(authed(residents(&first.next_page_token, ""), &coordinator))
        .await?
        .into_inner();
    assert_eq!(second.residents.len(), 1);
    assert!(second.residents[0].resident_id > first.residents[0].resident_id);
    drop(replica);
    registry.stop().await;
    Ok(())
}
