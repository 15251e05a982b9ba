//! Municipalities, organisations and coordinators through the gRPC API, on both backends.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use tonic::Code;

fn organisation(name: &str) -> pb::OrganisationDetails {
    pb::OrganisationDetails {
        kind: pb::OrganisationKind::SilverCenter as i32,
        name: name.into(),
        fields: vec![pb::Field::Agriculture as i32, pb::Field::Welfare as i32],
        district: "柏".into(),
        contact: Some(pb::ContactPerson {
            name: "佐藤 花子".into(),
            phone: "04-7100-0000".into(),
            email: "sato@example.jp".into(),
        }),
        licences: vec![pb::Licence::WorkerDispatch as i32],
    }
}

per_backend!(Registry, async fn a_municipality_profile_is_validated_updated_and_versioned(registry) {
    let mut client = registry.client().await?;
    let operator = kashiwa(&registry, &mut client).await?;
    let officer = registry.token(Role::MunicipalityOfficer, Some(KASHIWA));

    let bad = client
        .update_municipality_profile(authed(
            pb::UpdateMunicipalityProfileRequest {
                request_id: "p1".into(),
                expected_version: 0,
                profile: Some(pb::MunicipalityProfile {
                    certified_operator: "柏市生涯現役促進協議会".into(),
                    population: vec![
                        pb::PopulationBand {
                            from_age: 60,
                            to_age: 64,
                            population: 10,
                        },
                        pb::PopulationBand {
                            from_age: 62,
                            to_age: 70,
                            population: 10,
                        },
                    ],
                    silver_center_model: 9,
                    population_as_of: String::new(),
                }),
                occurred_at: None,
            },
            &officer,
        ))
        .await
        .unwrap_err();
    assert_bad(&bad, "profile.population[1]");
    assert_bad(&bad, "profile.silver_center_model");
    assert_bad(&bad, "profile.population_as_of");

    let good = pb::UpdateMunicipalityProfileRequest {
        request_id: "p2".into(),
        expected_version: 1,
        profile: Some(pb::MunicipalityProfile {
            certified_operator: "柏市生涯現役促進協議会".into(),
            population: vec![pb::PopulationBand {
                from_age: 60,
                to_age: 64,
                population: 23_456,
            }],
            silver_center_model: pb::SilverCenterModel::Linked as i32,
            population_as_of: "2025-04-01".into(),
        }),
        occurred_at: None,
    };
    let updated = client
        .update_municipality_profile(authed(good.clone(), &officer))
        .await?
        .into_inner()
        .municipality
        .unwrap();
    assert_eq!(updated.version, 2, "{}", registry.backend);
    assert_eq!(
        updated.profile.as_ref().unwrap().population[0].population,
        23_456
    );
    // The same request again answers the same and writes nothing.
    let again = client
        .update_municipality_profile(authed(good.clone(), &officer))
        .await?
        .into_inner()
        .municipality
        .unwrap();
    assert_eq!(again.version, 2);
    // A stale expected version is ABORTED.
    let stale = client
        .update_municipality_profile(authed(
            pb::UpdateMunicipalityProfileRequest {
                request_id: "p3".into(),
                ..good
            },
            &officer,
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let read = client
        .get_municipality(authed(pb::GetMunicipalityRequest {}, &officer))
        .await?
        .into_inner()
        .municipality
        .unwrap();
    assert_eq!(read.version, 2);
    assert_eq!(
        read.profile.unwrap().silver_center_model,
        pb::SilverCenterModel::Linked as i32
    );

    // Registering again, or with a wrong check digit.
    let exists = client
        .register_municipality(as_operator(
            pb::RegisterMunicipalityRequest {
                request_id: "again".into(),
                code: KASHIWA.into(),
                name: "柏市".into(),
                prefecture: "千葉県".into(),
                occurred_at: None,
                profile: None,
            },
            &operator,
            KASHIWA,
        ))
        .await
        .unwrap_err();
    assert_eq!(exists.code(), Code::AlreadyExists);
    let check_digit = client
        .register_municipality(as_operator(
            pb::RegisterMunicipalityRequest {
                request_id: "bad".into(),
                code: "122174".into(),
                name: String::new(),
                prefecture: "千葉県".into(),
                occurred_at: None,
                profile: None,
            },
            &operator,
            "122173",
        ))
        .await
        .unwrap_err();
    assert_bad(&check_digit, "code");
    assert_bad(&check_digit, "name");
    registry.stop().await;
    Ok(())
});

per_backend!(Registry, async fn organisations_register_update_suspend_reinstate_and_list(registry) {
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    let chigasaki = registry.token(Role::Coordinator, Some(CHIGASAKI));

    let bad = client
        .register_organisation(authed(
            pb::RegisterOrganisationRequest {
                request_id: "o-bad".into(),
                details: Some(pb::OrganisationDetails {
                    kind: 0,
                    name: "x".repeat(201),
                    fields: vec![99],
                    district: String::new(),
                    contact: None,
                    licences: vec![],
                }),
                occurred_at: None,
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    for field in [
        "details.kind",
        "details.name",
        "details.fields[0]",
        "details.district",
        "details.contact.name",
    ] {
        assert_bad(&bad, field);
    }

    let request = pb::RegisterOrganisationRequest {
        request_id: "o-1".into(),
        details: Some(organisation("柏市シルバー人材センター")),
        occurred_at: None,
    };
    let org = client
        .register_organisation(authed(request.clone(), &coordinator))
        .await?
        .into_inner()
        .organisation
        .unwrap();
    assert_eq!(
        org.details.as_ref().unwrap().contact.as_ref().unwrap().name,
        "佐藤 花子"
    );
    let retry = client
        .register_organisation(authed(request, &coordinator))
        .await?
        .into_inner()
        .organisation
        .unwrap();
    assert_eq!(
        retry.organisation_id, org.organisation_id,
        "{}",
        registry.backend
    );
    assert_eq!(retry.details.unwrap().contact.unwrap().name, "佐藤 花子");

    let id = org.organisation_id.clone();
    // Another municipality cannot see it.
    let hidden = client
        .get_organisation(authed(
            pb::GetOrganisationRequest {
                organisation_id: id.clone(),
            },
            &chigasaki,
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);

    let mut details = organisation("柏市シルバー人材センター（本部）");
    details.licences.push(pb::Licence::PaidPlacement as i32);
    let updated = client
        .update_organisation(authed(
            pb::UpdateOrganisationRequest {
                request_id: "o-2".into(),
                organisation_id: id.clone(),
                expected_version: 1,
                details: Some(details),
                occurred_at: None,
            },
            &coordinator,
        ))
        .await?
        .into_inner()
        .organisation
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.details.unwrap().licences.len(), 2);

    let suspend = |rid: &str| pb::SuspendOrganisationRequest {
        request_id: rid.into(),
        organisation_id: id.clone(),
        reason: "監査中".into(),
        expected_version: 0,
        occurred_at: None,
    };
    let suspended = client
        .suspend_organisation(authed(suspend("o-3"), &coordinator))
        .await?
        .into_inner()
        .organisation
        .unwrap();
    assert_eq!(suspended.status, pb::OrganisationStatus::Suspended as i32);
    let twice = client
        .suspend_organisation(authed(suspend("o-4"), &coordinator))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let frozen = client
        .update_organisation(authed(
            pb::UpdateOrganisationRequest {
                request_id: "o-5".into(),
                organisation_id: id.clone(),
                expected_version: 0,
                details: Some(organisation("x")),
                occurred_at: None,
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_eq!(frozen.code(), Code::FailedPrecondition);
    let reinstate = |rid: &str| pb::ReinstateOrganisationRequest {
        request_id: rid.into(),
        organisation_id: id.clone(),
        expected_version: 0,
        occurred_at: None,
    };
    let back = client
        .reinstate_organisation(authed(reinstate("o-6"), &coordinator))
        .await?
        .into_inner()
        .organisation
        .unwrap();
    assert_eq!(back.status, pb::OrganisationStatus::Active as i32);
    let not_suspended = client
        .reinstate_organisation(authed(reinstate("o-7"), &coordinator))
        .await
        .unwrap_err();
    assert_eq!(not_suspended.code(), Code::FailedPrecondition);
    let unknown = client
        .suspend_organisation(authed(
            pb::SuspendOrganisationRequest {
                organisation_id: uuid::Uuid::now_v7().to_string(),
                ..suspend("o-8")
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // A second organisation of another kind, then lists by filter.
    let mut npo = organisation("NPO かしわ子育て");
    npo.kind = pb::OrganisationKind::Npo as i32;
    npo.fields = vec![pb::Field::Childcare as i32];
    npo.licences = vec![];
    client
        .register_organisation(authed(
            pb::RegisterOrganisationRequest {
                request_id: "o-9".into(),
                details: Some(npo),
                occurred_at: None,
            },
            &coordinator,
        ))
        .await?;
    let list = |kind: i32, field: i32, licence: i32| pb::ListOrganisationsRequest {
        page_size: 10,
        page_token: String::new(),
        kind,
        field,
        district: String::new(),
        status: 0,
        licence,
    };
    let all = eventually(|| {
        let mut client = client.clone();
        let coordinator = coordinator.clone();
        async move {
            let r = client
                .list_organisations(authed(list(0, 0, 0), &coordinator))
                .await?
                .into_inner();
            Ok((r.organisations.len() == 2).then_some(r))
        }
    })
    .await?;
    assert_eq!(all.organisations.len(), 2);
    let childcare = client
        .list_organisations(authed(
            list(0, pb::Field::Childcare as i32, 0),
            &coordinator,
        ))
        .await?
        .into_inner();
    assert_eq!(childcare.organisations.len(), 1);
    assert_eq!(
        childcare.organisations[0].details.as_ref().unwrap().name,
        "NPO かしわ子育て"
    );
    let placement = client
        .list_organisations(authed(
            list(0, 0, pb::Licence::PaidPlacement as i32),
            &coordinator,
        ))
        .await?
        .into_inner();
    assert_eq!(placement.organisations.len(), 1);
    assert_eq!(placement.organisations[0].organisation_id, id);
    let page = client
        .list_organisations(authed(
            pb::ListOrganisationsRequest {
                page_size: 1,
                ..list(0, 0, 0)
            },
            &coordinator,
        ))
        .await?
        .into_inner();
    assert_eq!(page.organisations.len(), 1);
    assert!(!page.next_page_token.is_empty());
    let rest = client
        .list_organisations(authed(
            pb::ListOrganisationsRequest {
                page_size: 1,
                page_token: page.next_page_token,
                ..list(0, 0, 0)
            },
            &coordinator,
        ))
        .await?
        .into_inner();
    assert_eq!(rest.organisations.len(), 1);
    assert_ne!(
        rest.organisations[0].organisation_id,
        page.organisations[0].organisation_id
    );
    let elsewhere = client
        .list_organisations(authed(list(0, 0, 0), &chigasaki))
        .await?
        .into_inner();
    assert!(elsewhere.organisations.is_empty());

    // Coordinators belong to a known organisation.
    let officer = registry.token(Role::MunicipalityOfficer, Some(KASHIWA));
    let coordinator_request = |org: &str| pb::RegisterCoordinatorRequest {
        request_id: format!("c-{org}"),
        organisation_id: org.into(),
        display_name: "鈴木 一郎".into(),
        account_subject: "suzuki".into(),
        roles: vec![
            pb::CoordinatorRole::Matching as i32,
            pb::CoordinatorRole::CaseFormation as i32,
        ],
        occurred_at: None,
    };
    let unknown_org = client
        .register_coordinator(authed(
            coordinator_request(&uuid::Uuid::now_v7().to_string()),
            &officer,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown_org.code(), Code::NotFound);
    let by_coordinator = client
        .register_coordinator(authed(coordinator_request(&id), &coordinator))
        .await
        .unwrap_err();
    assert_eq!(by_coordinator.code(), Code::PermissionDenied);
    let registered = client
        .register_coordinator(authed(coordinator_request(&id), &officer))
        .await?
        .into_inner()
        .coordinator
        .unwrap();
    assert_eq!(registered.display_name, "鈴木 一郎");
    let read = client
        .get_coordinator(authed(
            pb::GetCoordinatorRequest {
                coordinator_id: registered.coordinator_id.clone(),
            },
            &coordinator,
        ))
        .await?
        .into_inner()
        .coordinator
        .unwrap();
    assert_eq!(read.roles.len(), 2);
    assert_eq!(read.display_name, "鈴木 一郎");
    // Erasing a coordinator's personal data.
    client
        .erase_personal_data(authed(
            pb::ErasePersonalDataRequest {
                request_id: "e-c".into(),
                subject_id: registered.coordinator_id.clone(),
                occurred_at: None,
            },
            &officer,
        ))
        .await?;
    let erased = client
        .get_coordinator(authed(
            pb::GetCoordinatorRequest {
                coordinator_id: registered.coordinator_id,
            },
            &coordinator,
        ))
        .await?
        .into_inner()
        .coordinator
        .unwrap();
    assert!(erased.erased);
    assert_eq!(erased.display_name, "");
    registry.stop().await;
    Ok(())
});

per_backend!(Registry, async fn a_host_reads_the_contact_person_of_its_own_organisation_only(registry) {
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    let register = |rid: &'static str, details: pb::OrganisationDetails| {
        let mut client = client.clone();
        let coordinator = coordinator.clone();
        async move {
            let org = client
                .register_organisation(authed(
                    pb::RegisterOrganisationRequest {
                        request_id: rid.into(),
                        details: Some(details),
                        occurred_at: None,
                    },
                    &coordinator,
                ))
                .await?
                .into_inner()
                .organisation
                .unwrap();
            anyhow::Ok(org.organisation_id)
        }
    };
    let a = register("host-a", organisation("柏市シルバー人材センター")).await?;
    let mut b_details = organisation("NPO かしわ子育て");
    b_details.contact = Some(pb::ContactPerson {
        name: "鈴木 一郎".into(),
        phone: "04-7100-1111".into(),
        email: "suzuki@example.jp".into(),
    });
    let b = register("host-b", b_details).await?;
    let host_a = registry.host_token(KASHIWA, &a);
    let get = |id: &str, token: &str| {
        let mut client = client.clone();
        let request = authed(
            pb::GetOrganisationRequest {
                organisation_id: id.to_owned(),
            },
            token,
        );
        async move {
            anyhow::Ok(
                client
                    .get_organisation(request)
                    .await?
                    .into_inner()
                    .organisation
                    .unwrap(),
            )
        }
    };

    let own = get(&a, &host_a).await?;
    let contact = own.details.unwrap().contact.unwrap();
    assert_eq!(contact.name, "佐藤 花子", "{}", registry.backend);
    assert_eq!(contact.phone, "04-7100-0000");
    assert_eq!(contact.email, "sato@example.jp");

    // Another host's organisation is visible, its contact person is not.
    let other = get(&b, &host_a).await?.details.unwrap();
    assert_eq!(other.name, "NPO かしわ子育て");
    assert_eq!(other.contact, None, "{}", registry.backend);

    // The same holds in lists; staff still read every contact person.
    let list = pb::ListOrganisationsRequest {
        page_size: 10,
        page_token: String::new(),
        kind: 0,
        field: 0,
        district: String::new(),
        status: 0,
        licence: 0,
    };
    let listed = eventually(|| {
        let mut client = client.clone();
        let request = authed(list.clone(), &host_a);
        async move {
            let r = client.list_organisations(request).await?.into_inner();
            Ok((r.organisations.len() == 2).then_some(r))
        }
    })
    .await?;
    for org in &listed.organisations {
        let contact = org.details.as_ref().unwrap().contact.as_ref();
        if org.organisation_id == a {
            assert_eq!(contact.unwrap().name, "佐藤 花子");
        } else {
            assert_eq!(contact, None, "{}", registry.backend);
        }
    }
    let by_staff = client
        .clone()
        .list_organisations(authed(list.clone(), &coordinator))
        .await?
        .into_inner();
    let names: Vec<String> = by_staff
        .organisations
        .iter()
        .map(|o| {
            o.details
                .as_ref()
                .unwrap()
                .contact
                .as_ref()
                .unwrap()
                .name
                .clone()
        })
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"鈴木 一郎".to_owned()), "{names:?}");

    // Host B reads its own contact person, not A's.
    let host_b = registry.host_token(KASHIWA, &b);
    let own_b = get(&b, &host_b).await?.details.unwrap();
    assert_eq!(own_b.contact.unwrap().name, "鈴木 一郎");
    assert_eq!(get(&a, &host_b).await?.details.unwrap().contact, None);
    registry.stop().await;
    Ok(())
});
