//! The embedded platform through its gRPC API: what a newcomer runs with `mosaic up`.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use mosaic_auth::Role;
use mosaic_eventstore::LogQuery;
use mosaic_proto::v1::GetMunicipalityRequest;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn all_five_services_answer_health_checks_without_a_token() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let mut health = HealthClient::new(platform.channel().await?);
    for service in mosaic_proto::SERVICE_NAMES {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await?
            .into_inner()
            .status;
        assert_eq!(status, 1, "{service} is serving");
    }
    platform.stop().await;
    Ok(())
}

#[tokio::test]
async fn callers_without_a_valid_token_or_scope_are_refused() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let mut registry = Registry::new(platform.channel().await?);

    let none = registry
        .get_municipality(GetMunicipalityRequest {})
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated);

    let expired = platform.signer.mint(
        "x",
        Role::Coordinator,
        Some(code(KASHIWA)),
        chrono::Duration::minutes(-5),
    )?;
    let err = registry
        .get_municipality(authed(GetMunicipalityRequest {}, &expired, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let foreign = mosaic_auth::SigningKeys::generate()
        .signer(mosaic_auth::DEFAULT_ISSUER, mosaic_auth::DEFAULT_AUDIENCE)?;
    let forged = foreign.mint("x", Role::Operator, None, chrono::Duration::minutes(5))?;
    let err = registry
        .register_municipality(authed(register("r", KASHIWA), &forged, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let kashiwa = platform.token(Role::Coordinator, Some(KASHIWA));
    let err = registry
        .get_municipality(authed(GetMunicipalityRequest {}, &kashiwa, Some(CHIGASAKI)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let err = registry
        .register_municipality(authed(register("r", KASHIWA), &kashiwa, None))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "only operators register municipalities"
    );
    platform.stop().await;
    Ok(())
}

#[tokio::test]
async fn registering_a_municipality_is_idempotent_validated_and_visible_only_in_scope()
-> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let mut registry = Registry::new(platform.channel().await?);
    let operator = platform.token(Role::Operator, None);
    let store = platform.stores["registry"].clone();

    // Bad input: every bad field named, nothing written.
    let mut bad = register("bad-1", "122174");
    bad.name = " ".into();
    let err = registry
        .register_municipality(authed(bad, &operator, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&err), vec!["code", "name"]);
    let mut future = register("bad-2", KASHIWA);
    future.occurred_at = Some(prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + 3600,
        nanos: 0,
    });
    let err = registry
        .register_municipality(authed(future, &operator, None))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["occurred_at"]);
    let err = registry
        .register_municipality(authed(register("", KASHIWA), &operator, None))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), vec!["request_id"]);
    assert_eq!(store.head().await?, 0, "refused commands write nothing");

    // A retry returns the first answer and writes nothing.
    let first = registry
        .register_municipality(authed(register("req-1", KASHIWA), &operator, None))
        .await?
        .into_inner();
    let again = registry
        .register_municipality(authed(register("req-1", KASHIWA), &operator, None))
        .await?
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(store.head().await?, 1);

    // The same request_id for another request, and a second registration, are refused.
    let mut other = register("req-1", KASHIWA);
    other.name = "柏".into();
    let err = registry
        .register_municipality(authed(other, &operator, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_fields(&err), vec!["request_id"]);
    let err = registry
        .register_municipality(authed(register("req-2", KASHIWA), &operator, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(store.head().await?, 1);

    // Read in scope; another municipality's caller sees nothing.
    let kashiwa = platform.token(Role::MunicipalityOfficer, Some(KASHIWA));
    let got = registry
        .get_municipality(authed(GetMunicipalityRequest {}, &kashiwa, None))
        .await?
        .into_inner();
    assert_eq!(got.municipality, first.municipality);
    let chigasaki = platform.token(Role::MunicipalityOfficer, Some(CHIGASAKI));
    let err = registry
        .get_municipality(authed(GetMunicipalityRequest {}, &chigasaki, None))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // The event carries the envelope of DESIGN.md.
    let log = store
        .read_log(&LogQuery {
            after: 0,
            limit: 10,
            ..Default::default()
        })
        .await?;
    assert_eq!(log[0].event_type, "MunicipalityRegistered");
    assert_eq!(log[0].actor, "tester");
    // The request_id, in the caller's own key space.
    let key = log[0].idempotency_key.as_deref().unwrap_or_default();
    assert!(key.starts_with("r:") && key.ends_with(":req-1"), "{key}");
    assert!(log[0].trace_context.is_some());
    platform.stop().await;
    Ok(())
}

#[tokio::test]
async fn parallel_clients_registering_one_municipality_create_it_once() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let operator = platform.token(Role::Operator, None);
    let channel = platform.channel().await?;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let mut registry = Registry::new(channel.clone());
            let operator = operator.clone();
            tokio::spawn(async move {
                registry
                    .register_municipality(authed(
                        register(&format!("parallel-{i}"), KASHIWA),
                        &operator,
                        None,
                    ))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await? {
            Ok(_) => created += 1,
            Err(s) => assert!(
                matches!(s.code(), Code::AlreadyExists | Code::Aborted),
                "{s:?}"
            ),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(platform.stores["registry"].head().await?, 1);
    platform.stop().await;
    Ok(())
}

#[tokio::test]
async fn insights_learns_of_a_registration_from_the_registry_log() -> anyhow::Result<()> {
    let platform = Platform::start().await?;
    let channel = platform.channel().await?;
    let operator = platform.token(Role::Operator, None);
    Registry::new(channel.clone())
        .register_municipality(authed(register("r", KASHIWA), &operator, None))
        .await?;
    let analyst = platform.token(Role::Analyst, None);
    let overview = overview_eventually(&mut Insights::new(channel), &analyst, KASHIWA).await?;
    assert_eq!(
        (
            overview.code.as_str(),
            overview.name.as_str(),
            overview.events_applied
        ),
        (KASHIWA, "柏市", 1)
    );
    platform.stop().await;
    Ok(())
}
