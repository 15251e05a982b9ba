#![allow(missing_docs, clippy::unwrap_used)]

//! A retried `request_id` answers only the caller that made the request. Every mutating RPC of
//! the registry is made once, then sent again — same `request_id`, same body — by every other
//! caller: residents, coordinators, host organisations, officers, analysts and operators. None of
//! them receives the first answer: each is refused by the access check, or its request is a
//! request of its own (it records its own idempotency key).

mod common;

use common::*;

use mosaic_auth::{MUNICIPALITY_HEADER, Role};
use mosaic_proto::v1 as pb;
use mosaic_testkit::replay::{Caller as Who, Stored};

fn callers(registry: &Registry) -> Vec<Who> {
    let bound = |label, subject: &str, role| Who {
        label,
        token: registry.token_for(subject, role, Some(KASHIWA)),
        header: None,
    };
    let across = |label, subject: &str, role| Who {
        label,
        token: registry.token_for(subject, role, None),
        header: Some((MUNICIPALITY_HEADER, KASHIWA.to_owned())),
    };
    vec![
        bound("coordinator", "coordinator-a", Role::Coordinator),
        bound("another coordinator", "coordinator-b", Role::Coordinator),
        bound("resident", "resident-r@example.jp", Role::Resident),
        bound("another resident", "resident-s@example.jp", Role::Resident),
        Who {
            label: "host",
            token: registry.host_token(KASHIWA, &uuid::Uuid::now_v7().to_string()),
            header: None,
        },
        bound("officer", "officer-1", Role::MunicipalityOfficer),
        across("analyst", "analyst-1", Role::Analyst),
        across("operator", "operator-1", Role::Operator),
    ]
}

/// What the personal data of the test's resident contains; no refusal may carry it.
const NAME: &str = "山田 太郎";

/// [`mosaic_testkit::replay::replayed_by_everyone_else`] against this registry.
async fn replayed_by_everyone_else<R, F, Fut>(
    registry: &Registry,
    rpc: &str,
    first: &str,
    everyone: &[Who],
    call: F,
) where
    R: std::fmt::Debug,
    F: Fn(Who) -> Fut,
    Fut: std::future::Future<Output = Result<R, tonic::Status>>,
{
    let stored = || async {
        Stored {
            keys: registry.idempotency_keys().await,
            head: registry.log_head().await,
        }
    };
    mosaic_testkit::replay::replayed_by_everyone_else(rpc, first, everyone, NAME, stored, call)
        .await;
}

per_backend!(Registry, async fn no_caller_receives_another_callers_answer_to_the_same_request_id(registry) {
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let everyone = callers(&registry);
    let addr = registry.addr;
    let connect = move || async move {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        pb::registry_service_client::RegistryServiceClient::new(channel)
    };
    let r = &registry;

    // Municipalities and organisations.
    // Kashiwa was registered by `kashiwa()`, as the operator "tester".
    let mut with_registrar = everyone.clone();
    with_registrar.push(Who {
        label: "registering operator",
        token: registry.token(Role::Operator, None),
        header: Some((MUNICIPALITY_HEADER, KASHIWA.to_owned())),
    });
    replayed_by_everyone_else(
        r,
        "RegisterMunicipality",
        "registering operator",
        &with_registrar,
        |w| async move {
            let body = pb::RegisterMunicipalityRequest {
                request_id: format!("m-{KASHIWA}"),
                code: KASHIWA.into(),
                name: "市".into(),
                prefecture: "県".into(),
                occurred_at: None,
                profile: None,
            };
            connect().await.register_municipality(w.request(body)).await
        },
    )
    .await;
    replayed_by_everyone_else(
        r,
        "UpdateMunicipalityProfile",
        "officer",
        &everyone,
        |w| async move {
            let body = pb::UpdateMunicipalityProfileRequest {
                request_id: "same-1".into(),
                expected_version: 0,
                profile: Some(pb::MunicipalityProfile {
                    certified_operator: "柏市生涯現役促進協議会".into(),
                    population: vec![],
                    silver_center_model: pb::SilverCenterModel::Linked as i32,
                    population_as_of: String::new(),
                }),
                occurred_at: None,
            };
            connect()
                .await
                .update_municipality_profile(w.request(body))
                .await
        },
    )
    .await;
    let organisation = pb::OrganisationDetails {
        kind: pb::OrganisationKind::SilverCenter as i32,
        name: "柏市シルバー人材センター".into(),
        fields: vec![pb::Field::Agriculture as i32],
        district: "柏".into(),
        contact: Some(pb::ContactPerson {
            name: NAME.into(),
            phone: "04-7100-0000".into(),
            email: "sato@example.jp".into(),
        }),
        licences: vec![],
    };
    let org_body = pb::RegisterOrganisationRequest {
        request_id: "org".into(),
        details: Some(organisation.clone()),
        occurred_at: None,
    };
    replayed_by_everyone_else(r, "RegisterOrganisation", "coordinator", &everyone, |w| {
        let body = org_body.clone();
        async move { connect().await.register_organisation(w.request(body)).await }
    })
    .await;
    let org = client
        .register_organisation(everyone[0].request(org_body.clone()))
        .await?
        .into_inner()
        .organisation
        .unwrap()
        .organisation_id;
    replayed_by_everyone_else(r, "UpdateOrganisation", "coordinator", &everyone, |w| {
        let body = pb::UpdateOrganisationRequest {
            request_id: "same-2".into(),
            organisation_id: org.clone(),
            expected_version: 0,
            details: Some(organisation.clone()),
            occurred_at: None,
        };
        async move { connect().await.update_organisation(w.request(body)).await }
    })
    .await;
    replayed_by_everyone_else(r, "SuspendOrganisation", "coordinator", &everyone, |w| {
        let body = pb::SuspendOrganisationRequest {
            request_id: "same-suspend".into(),
            organisation_id: org.clone(),
            reason: "調査中".into(),
            expected_version: 0,
            occurred_at: None,
        };
        async move { connect().await.suspend_organisation(w.request(body)).await }
    })
    .await;
    replayed_by_everyone_else(r, "ReinstateOrganisation", "coordinator", &everyone, |w| {
        let body = pb::ReinstateOrganisationRequest {
            request_id: "same-reinstate".into(),
            organisation_id: org.clone(),
            expected_version: 0,
            occurred_at: None,
        };
        async move {
            connect()
                .await
                .reinstate_organisation(w.request(body))
                .await
        }
    })
    .await;
    replayed_by_everyone_else(r, "RegisterCoordinator", "officer", &everyone, |w| {
        let body = pb::RegisterCoordinatorRequest {
            request_id: "same-coordinator".into(),
            organisation_id: org.clone(),
            display_name: NAME.into(),
            account_subject: String::new(),
            roles: vec![pb::CoordinatorRole::Matching as i32],
            occurred_at: None,
        };
        async move { connect().await.register_coordinator(w.request(body)).await }
    })
    .await;

    // Residents, registered by a coordinator with the resident's agreement.
    let registration = full_registration("same-resident", NAME);
    replayed_by_everyone_else(r, "RegisterResident", "coordinator", &everyone, |w| {
        let body = registration.clone();
        async move { connect().await.register_resident(w.request(body)).await }
    })
    .await;
    let resident = client
        .register_resident(everyone[0].request(registration.clone()))
        .await?
        .into_inner()
        .resident
        .unwrap()
        .resident_id;
    // The coordinator recorded the agreement at registration; an officer confirms it.
    replayed_by_everyone_else(r, "ConfirmProxyAgreement", "officer", &everyone, |w| {
        let body = pb::ConfirmProxyAgreementRequest {
            request_id: "same-confirm".into(),
            resident_id: resident.clone(),
            occurred_at: None,
        };
        async move {
            connect()
                .await
                .confirm_proxy_agreement(w.request(body))
                .await
        }
    })
    .await;
    macro_rules! on_resident {
        ($rpc:literal, $method:ident, $body:expr) => {
            on_resident!($rpc, "coordinator", $method, $body)
        };
        ($rpc:literal, $first:literal, $method:ident, $body:expr) => {
            replayed_by_everyone_else(r, $rpc, $first, &everyone, |w| {
                let body = $body;
                async move { connect().await.$method(w.request(body)).await }
            })
            .await;
        };
    }
    on_resident!(
        "SetConsent",
        set_consent,
        pb::SetConsentRequest {
            request_id: "same-3".into(),
            resident_id: resident.clone(),
            purpose: pb::ConsentPurpose::ContactByHosts as i32,
            granted: true,
            occurred_at: None,
        }
    );
    on_resident!(
        "UpdateResidentProfile",
        update_resident_profile,
        pb::UpdateResidentProfileRequest {
            request_id: "same-4".into(),
            resident_id: resident.clone(),
            expected_version: 0,
            personal: Some(personal(NAME)),
            profile: Some(senior_profile()),
            occurred_at: None,
        }
    );
    let guest = client
        .register_resident(everyone[0].request(pb::RegisterResidentRequest {
            mode: pb::RegistrationMode::Guest as i32,
            profile: Some(pb::ResidentProfile {
                channel: pb::RegistrationChannel::Web as i32,
                ..Default::default()
            }),
            consents: vec![],
            ..full_registration("guest", NAME)
        }))
        .await?
        .into_inner()
        .resident
        .unwrap()
        .resident_id;
    on_resident!(
        "UpgradeResident",
        upgrade_resident,
        pb::UpgradeResidentRequest {
            request_id: "same-5".into(),
            resident_id: guest.clone(),
            expected_version: 0,
            profile: Some(senior_profile()),
            occurred_at: None,
        }
    );
    on_resident!(
        "RecordGuardianConsent",
        record_guardian_consent,
        pb::RecordGuardianConsentRequest {
            request_id: "same-6".into(),
            resident_id: resident.clone(),
            method: pb::AgreementMethod::Paper as i32,
            occurred_at: None,
        }
    );
    on_resident!(
        "SetProxyAgreement",
        set_proxy_agreement,
        pb::SetProxyAgreementRequest {
            request_id: "same-7".into(),
            resident_id: resident.clone(),
            agreement: Some(pb::ProxyAgreement {
                method: pb::AgreementMethod::InPerson as i32,
            }),
            occurred_at: None,
        }
    );
    // Staff recorded the agreement again above: it is confirmed again before a withdrawal.
    confirm_proxy(r, &mut client, &resident).await?;
    on_resident!(
        "WithdrawResident",
        withdraw_resident,
        pb::WithdrawResidentRequest {
            request_id: "same-withdraw".into(),
            resident_id: resident.clone(),
            reason: pb::WithdrawalReason::Moved as i32,
            occurred_at: None,
        }
    );
    on_resident!(
        "RejoinResident",
        rejoin_resident,
        pb::RejoinResidentRequest {
            request_id: "same-rejoin".into(),
            resident_id: resident.clone(),
            occurred_at: None,
        }
    );
    on_resident!(
        "ErasePersonalData",
        "officer",
        erase_personal_data,
        pb::ErasePersonalDataRequest {
            request_id: "same-erase".into(),
            subject_id: resident.clone(),
            occurred_at: None,
        }
    );
    registry.stop().await;
    Ok(())
});

#[tokio::test]
async fn a_request_id_shaped_like_an_import_row_key_does_not_block_the_row() -> anyhow::Result<()> {
    let registry = Registry::sqlite().await?;
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    let first = client
        .register_resident(authed(
            full_registration("import:roster-43", "佐藤 一郎"),
            &coordinator,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap();
    let row = pb::ImportResidentsRequest {
        row_key: "roster-43".into(),
        resident: Some(imported(full_registration("", "鈴木 花子"))),
    };
    let mut answers = client
        .import_residents(authed(tokio_stream::iter(vec![row]), &coordinator))
        .await?
        .into_inner();
    let answer = answers.message().await?.unwrap();
    assert!(answer.accepted, "{answer:?}");
    assert!(!answer.duplicate, "{answer:?}");
    assert_ne!(answer.resident_id, first.resident_id);
    registry.stop().await;
    Ok(())
}

#[tokio::test]
async fn an_import_row_is_one_per_municipality_and_answers_other_staff_with_its_id_only()
-> anyhow::Result<()> {
    use futures::StreamExt;
    let registry = Registry::sqlite().await?;
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let everyone = callers(&registry);
    let row = || pb::ImportResidentsRequest {
        row_key: "roster-7".into(),
        resident: Some(imported(full_registration("", NAME))),
    };
    let import = |who: Who| {
        let mut client = client.clone();
        async move {
            client
                .import_residents(who.request(tokio_stream::iter(vec![row()])))
                .await
                .map(|r| r.into_inner())
        }
    };
    let first = import(everyone[0].clone()).await?.next().await.unwrap()?;
    assert!(first.accepted && !first.duplicate, "{first:?}");
    for other in &everyone[1..] {
        match import(other.clone()).await {
            // Staff importing the same roster row: the same resident, named by id only.
            Ok(mut answers) => {
                let again = answers.next().await.unwrap()?;
                assert!(again.duplicate, "{}: {again:?}", other.label);
                assert_eq!(again.resident_id, first.resident_id);
                assert!(!format!("{again:?}").contains(NAME));
            }
            Err(status) => assert_eq!(
                status.code(),
                tonic::Code::PermissionDenied,
                "{}: {status:?}",
                other.label
            ),
        }
    }
    registry.stop().await;
    Ok(())
}
