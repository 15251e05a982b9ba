//! Residents through the gRPC API, on both backends: registration and its validation, guests
//! and upgrades, consent, proxies, the resident's own view and correction, withdrawal, lists,
//! finding by name, and tenancy.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use tonic::Code;

fn future() -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + 86_400,
        nanos: 0,
    }
}

per_backend!(Registry, async fn bad_registrations_name_every_field_and_write_nothing(registry) {
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    let head = registry.log_head().await;
    let mut profile = senior_profile();
    profile.birth_year = 2100;
    profile.skills.push(pb::Skill {
        tag: "driving".into(),
        level: 6,
    });
    profile.skills.push(pb::Skill {
        tag: "Bad Tag".into(),
        level: 3,
    });
    profile.availability.push(pb::WeeklyWindow {
        weekday: pb::Weekday::Tuesday as i32,
        start_minute: 11 * 60,
        end_minute: 13 * 60,
    });
    profile.availability.push(pb::WeeklyWindow {
        weekday: pb::Weekday::Friday as i32,
        start_minute: 15 * 60,
        end_minute: 14 * 60,
    });
    profile.life_stage = 42;
    profile.interests.push(pb::Field::Agriculture as i32);
    let mut personal = personal("");
    personal.note = "あ".repeat(2_001);
    let request = pb::RegisterResidentRequest {
        personal: Some(personal),
        profile: Some(profile),
        occurred_at: Some(future()),
        ..full_registration("bad-1", "")
    };
    let status = client
        .register_resident(authed(request, &coordinator))
        .await
        .unwrap_err();
    for field in [
        "personal.display_name",
        "personal.note",
        "profile.birth_year",
        "profile.skills[2].level",
        "profile.skills[3].tag",
        "profile.availability[2]",
        "profile.availability[3].end_minute",
        "profile.life_stage",
        "profile.interests[2]",
        "occurred_at",
    ] {
        assert_bad(&status, field);
    }
    let no_proxy = client
        .register_resident(authed(
            pb::RegisterResidentRequest {
                proxy: None,
                ..full_registration("bad-2", "山田 太郎")
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_bad(&no_proxy, "proxy");
    let no_mode = client
        .register_resident(authed(
            pb::RegisterResidentRequest {
                mode: 0,
                ..full_registration("bad-3", "山田 太郎")
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_bad(&no_mode, "mode");
    // Nothing was written: the log did not move and the list stays empty.
    assert_eq!(registry.log_head().await, head, "{}", registry.backend);
    let list = client
        .list_residents(authed(pb::ListResidentsRequest::default(), &coordinator))
        .await?
        .into_inner();
    assert!(list.residents.is_empty(), "{}", registry.backend);
    registry.stop().await;
    Ok(())
});

#[tokio::test]
async fn a_registration_retried_answers_the_first_resident_and_another_municipality_sees_nothing()
-> anyhow::Result<()> {
    for registry in Registry::both().await? {
        let mut client = registry.client().await?;
        kashiwa(&registry, &mut client).await?;
        let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
        let request = full_registration("r-1", "山田 太郎");
        let first = client
            .register_resident(authed(request.clone(), &coordinator))
            .await?
            .into_inner()
            .resident
            .unwrap();
        assert_eq!(first.personal.as_ref().unwrap().display_name, "山田 太郎");
        assert!(first.matchable);
        assert!(first.proxy_agreed);
        assert_eq!(first.version, 1);
        let head = registry.log_head().await;
        let keys = registry.person_keys().await;
        let second = client
            .register_resident(authed(request.clone(), &coordinator))
            .await?
            .into_inner()
            .resident
            .unwrap();
        assert_eq!(
            second.resident_id, first.resident_id,
            "{}",
            registry.backend
        );
        assert_eq!(second.personal.unwrap().display_name, "山田 太郎");
        assert_eq!(registry.log_head().await, head, "a retry writes nothing");
        // The same request_id with another body is refused.
        let reused = client
            .register_resident(authed(full_registration("r-1", "別人"), &coordinator))
            .await
            .unwrap_err();
        assert_bad(&reused, "request_id");
        assert_eq!(registry.log_head().await, head, "a refusal writes nothing");
        assert_eq!(
            registry.person_keys().await,
            keys,
            "neither leaves a key behind ({})",
            registry.backend
        );

        let chigasaki = registry.token(Role::Coordinator, Some(CHIGASAKI));
        let hidden = client
            .get_resident(authed(
                pb::GetResidentRequest {
                    resident_id: first.resident_id.clone(),
                },
                &chigasaki,
            ))
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound);
        let hidden = client
            .withdraw_resident(authed(
                pb::WithdrawResidentRequest {
                    request_id: "w-x".into(),
                    resident_id: first.resident_id.clone(),
                    reason: pb::WithdrawalReason::Moved as i32,
                    occurred_at: None,
                },
                &chigasaki,
            ))
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound);
        let list = client
            .list_residents(authed(pb::ListResidentsRequest::default(), &chigasaki))
            .await?
            .into_inner();
        assert!(list.residents.is_empty());
        let found = client
            .find_residents_by_name(authed(
                pb::FindResidentsByNameRequest {
                    name: "山田 太郎".into(),
                },
                &chigasaki,
            ))
            .await?
            .into_inner();
        assert!(found.residents.is_empty());
        registry.stop().await;
    }
    Ok(())
}

per_backend!(Registry, async fn a_guest_upgrades_and_a_withdrawn_resident_rejoins(registry) {
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    let guest = client
        .register_resident(authed(
            pb::RegisterResidentRequest {
                mode: pb::RegistrationMode::Guest as i32,
                profile: Some(pb::ResidentProfile {
                    channel: pb::RegistrationChannel::Web as i32,
                    ..Default::default()
                }),
                consents: vec![],
                ..full_registration("g-1", "高橋 次郎")
            },
            &coordinator,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert_eq!(guest.mode, pb::RegistrationMode::Guest as i32);
    assert!(!guest.matchable);
    let id = guest.resident_id.clone();

    let incomplete = client
        .upgrade_resident(authed(
            pb::UpgradeResidentRequest {
                request_id: "u-0".into(),
                resident_id: id.clone(),
                expected_version: 0,
                profile: Some(pb::ResidentProfile {
                    channel: pb::RegistrationChannel::Web as i32,
                    ..Default::default()
                }),
                occurred_at: None,
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_bad(&incomplete, "profile.birth_year");
    assert_bad(&incomplete, "profile.district");
    let upgrade = pb::UpgradeResidentRequest {
        request_id: "u-1".into(),
        resident_id: id.clone(),
        expected_version: 1,
        profile: Some(senior_profile()),
        occurred_at: None,
    };
    let full = client
        .upgrade_resident(authed(upgrade.clone(), &coordinator))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert_eq!(full.mode, pb::RegistrationMode::Full as i32);
    assert_eq!(full.version, 2);
    let again = client
        .upgrade_resident(authed(
            pb::UpgradeResidentRequest {
                request_id: "u-2".into(),
                expected_version: 0,
                ..upgrade
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);

    // The coordinator recorded the proxy agreement: it changes consents only once an
    // officer (or the resident) confirms it.
    let unconfirmed = client
        .set_consent(authed(
            pb::SetConsentRequest {
                request_id: "c-0".into(),
                resident_id: id.clone(),
                purpose: pb::ConsentPurpose::Matching as i32,
                granted: true,
                occurred_at: None,
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_eq!(unconfirmed.code(), Code::FailedPrecondition);
    assert!(unconfirmed.message().contains("ConfirmProxyAgreement"));
    assert!(
        confirm_proxy(&registry, &mut client, &id)
            .await?
            .proxy_agreed
    );

    // Consent makes a full registrant matchable.
    let consent = client
        .set_consent(authed(
            pb::SetConsentRequest {
                request_id: "c-1".into(),
                resident_id: id.clone(),
                purpose: pb::ConsentPurpose::Matching as i32,
                granted: true,
                occurred_at: None,
            },
            &coordinator,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert!(consent.matchable);
    assert!(consent.consents[0].changed_at.is_some());

    let withdraw = |rid: &str| pb::WithdrawResidentRequest {
        request_id: rid.into(),
        resident_id: id.clone(),
        reason: pb::WithdrawalReason::Health as i32,
        occurred_at: None,
    };
    let withdrawn = client
        .withdraw_resident(authed(withdraw("w-1"), &coordinator))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert_eq!(withdrawn.status, pb::ResidentStatus::Withdrawn as i32);
    assert!(!withdrawn.matchable);
    let update = client
        .update_resident_profile(authed(
            pb::UpdateResidentProfileRequest {
                request_id: "up-1".into(),
                resident_id: id.clone(),
                expected_version: 0,
                personal: Some(personal("高橋 次郎")),
                profile: Some(senior_profile()),
                occurred_at: None,
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        update.code(),
        Code::FailedPrecondition,
        "{}",
        registry.backend
    );
    let twice = client
        .withdraw_resident(authed(withdraw("w-2"), &coordinator))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let rejoin = |rid: &str| pb::RejoinResidentRequest {
        request_id: rid.into(),
        resident_id: id.clone(),
        occurred_at: None,
    };
    let back = client
        .rejoin_resident(authed(rejoin("j-1"), &coordinator))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert_eq!(back.status, pb::ResidentStatus::Active as i32);
    assert!(back.matchable);
    let not_withdrawn = client
        .rejoin_resident(authed(rejoin("j-2"), &coordinator))
        .await
        .unwrap_err();
    assert_eq!(not_withdrawn.code(), Code::FailedPrecondition);
    registry.stop().await;
    Ok(())
});

per_backend!(Registry, async fn consent_revocation_minors_and_proxies_are_enforced(registry) {
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));

    // A student who may be under 18 needs a guardian before matching consent.
    let mut student = senior_profile();
    student.birth_year = 2011;
    student.life_stage = pb::LifeStage::Student as i32;
    let refused = client
        .register_resident(authed(
            pb::RegisterResidentRequest {
                profile: Some(student.clone()),
                ..full_registration("s-1", "中村 さくら")
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let minor = client
        .register_resident(authed(
            pb::RegisterResidentRequest {
                profile: Some(student),
                consents: vec![],
                ..full_registration("s-2", "中村 さくら")
            },
            &coordinator,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert!(minor.may_be_minor);
    assert!(minor.proxy_awaiting_confirmation);
    confirm_proxy(&registry, &mut client, &minor.resident_id).await?;
    let grant = |rid: &str, granted: bool| pb::SetConsentRequest {
        request_id: rid.into(),
        resident_id: minor.resident_id.clone(),
        purpose: pb::ConsentPurpose::Matching as i32,
        granted,
        occurred_at: None,
    };
    let no_guardian = client
        .set_consent(authed(grant("s-3", true), &coordinator))
        .await
        .unwrap_err();
    assert_eq!(no_guardian.code(), Code::FailedPrecondition);
    client
        .record_guardian_consent(authed(
            pb::RecordGuardianConsentRequest {
                request_id: "s-4".into(),
                resident_id: minor.resident_id.clone(),
                method: pb::AgreementMethod::Paper as i32,
                occurred_at: None,
            },
            &coordinator,
        ))
        .await?;
    let granted = client
        .set_consent(authed(grant("s-5", true), &coordinator))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert!(granted.matchable && granted.guardian_consent);
    let revoked = client
        .set_consent(authed(grant("s-6", false), &coordinator))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert!(!revoked.matchable);
    assert!(
        !revoked
            .consents
            .iter()
            .find(|c| c.purpose == pb::ConsentPurpose::Matching as i32)
            .unwrap()
            .granted
    );
    // Revoking again changes nothing (same version).
    let again = client
        .set_consent(authed(grant("s-7", false), &coordinator))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert_eq!(again.version, revoked.version);

    // A resident who registered themself has not agreed to a proxy: staff may read but not act.
    let resident_token = registry.token_for("citizen-42", Role::Resident, Some(KASHIWA));
    let own = client
        .register_resident(authed(
            pb::RegisterResidentRequest {
                proxy: None,
                ..full_registration("self-1", "小林 三郎")
            },
            &resident_token,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert_eq!(own.account_subject, "citizen-42");
    assert!(!own.proxy_agreed);
    let acting = client
        .withdraw_resident(authed(
            pb::WithdrawResidentRequest {
                request_id: "p-1".into(),
                resident_id: own.resident_id.clone(),
                reason: pb::WithdrawalReason::Other as i32,
                occurred_at: None,
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_eq!(acting.code(), Code::FailedPrecondition);
    // The resident agrees; then the coordinator may act, and the event records who acted.
    client
        .set_proxy_agreement(authed(
            pb::SetProxyAgreementRequest {
                request_id: "p-2".into(),
                resident_id: own.resident_id.clone(),
                agreement: Some(pb::ProxyAgreement {
                    method: pb::AgreementMethod::Online as i32,
                }),
                occurred_at: None,
            },
            &resident_token,
        ))
        .await?;
    let coordinator_sub = registry.token_for("coordinator-7", Role::Coordinator, Some(KASHIWA));
    let consented = client
        .set_consent(authed(
            pb::SetConsentRequest {
                request_id: "p-3".into(),
                resident_id: own.resident_id.clone(),
                purpose: pb::ConsentPurpose::Research as i32,
                granted: true,
                occurred_at: None,
            },
            &coordinator_sub,
        ))
        .await?;
    // The record is found through the directory, which waits for the writes it must show.
    let mut mine = authed(
        pb::GetMyRecordRequest {
            resident_id: String::new(),
        },
        &resident_token,
    );
    mine.metadata_mut().insert(
        mosaic_api::consistency::HEADER,
        consented.metadata().get(mosaic_api::consistency::HEADER).unwrap().clone(),
    );
    let record = client.get_my_record(mine).await?.into_inner();
    let actors: Vec<_> = record
        .history
        .iter()
        .map(|h| (h.event_type.clone(), h.stamp.clone().unwrap().actor))
        .collect();
    // The resident acting themself is recorded by a digest of their login, not the login.
    let me = actors[0].1.clone();
    assert!(
        me.starts_with("resident:") && !me.contains("citizen-42"),
        "{me}"
    );
    assert_eq!(
        actors,
        vec![
            ("ResidentRegistered".to_owned(), me.clone()),
            ("ProxyAgreementRecorded".to_owned(), me),
            ("ConsentGranted".to_owned(), "coordinator-7".to_owned()),
        ],
        "{}",
        registry.backend
    );
    // Another resident cannot read this record.
    let stranger = registry.token_for("citizen-43", Role::Resident, Some(KASHIWA));
    let hidden = client
        .get_resident(authed(
            pb::GetResidentRequest {
                resident_id: own.resident_id.clone(),
            },
            &stranger,
        ))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    registry.stop().await;
    Ok(())
});

per_backend!(Registry, async fn a_resident_reads_everything_held_and_corrects_it(registry) {
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let me = registry.token_for("citizen-1", Role::Resident, Some(KASHIWA));
    let registered = client
        .register_resident(authed(
            pb::RegisterResidentRequest {
                proxy: None,
                ..full_registration("me-1", "伊藤 恵")
            },
            &me,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap();
    // The read model links the token to the record.
    let record = eventually(|| {
        let mut client = client.clone();
        let me = me.clone();
        async move {
            match client
                .get_my_record(authed(pb::GetMyRecordRequest::default(), &me))
                .await
            {
                Ok(r) => Ok(Some(r.into_inner())),
                Err(s) if s.code() == Code::NotFound => Ok(None),
                Err(s) => Err(s.into()),
            }
        }
    })
    .await?;
    let resident = record.resident.unwrap();
    assert_eq!(resident.resident_id, registered.resident_id);
    let personal = resident.personal.unwrap();
    assert_eq!(personal.display_name, "伊藤 恵");
    assert_eq!(personal.address, "千葉県柏市柏五丁目10番1号");
    assert_eq!(resident.profile.unwrap().skills.len(), 2);
    assert_eq!(record.history.len(), 1);

    let mut corrected = personal_details("伊藤 めぐみ");
    corrected.phone = "080-0000-0000".into();
    let mut profile = senior_profile();
    profile.skills.push(pb::Skill {
        tag: "pc_basics".into(),
        level: 3,
    });
    let after = client
        .update_resident_profile(authed(
            pb::UpdateResidentProfileRequest {
                request_id: "me-2".into(),
                resident_id: registered.resident_id.clone(),
                expected_version: 1,
                personal: Some(corrected),
                profile: Some(profile),
                occurred_at: None,
            },
            &me,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert_eq!(after.personal.as_ref().unwrap().display_name, "伊藤 めぐみ");
    assert_eq!(after.profile.as_ref().unwrap().skills.len(), 3);
    assert_eq!(after.version, 2);
    let actor = after.updated.unwrap().actor;
    assert!(
        actor.starts_with("resident:") && !actor.contains("citizen-1"),
        "{actor}"
    );
    let stale = client
        .update_resident_profile(authed(
            pb::UpdateResidentProfileRequest {
                request_id: "me-3".into(),
                resident_id: registered.resident_id.clone(),
                expected_version: 1,
                personal: Some(personal_details("x")),
                profile: Some(senior_profile()),
                occurred_at: None,
            },
            &me,
        ))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    registry.stop().await;
    Ok(())
});

fn personal_details(name: &str) -> pb::PersonalDetails {
    personal(name)
}

#[tokio::test]
async fn lists_filter_by_district_skill_field_availability_stage_status_and_page()
-> anyhow::Result<()> {
    for registry in Registry::both().await? {
        let mut client = registry.client().await?;
        kashiwa(&registry, &mut client).await?;
        let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
        let mut ids = Vec::new();
        for i in 0..6 {
            let mut profile = senior_profile();
            if i % 2 == 1 {
                profile.district = "沼南".into();
                profile.skills = vec![pb::Skill {
                    tag: "driving".into(),
                    level: 5,
                }];
                profile.interests = vec![pb::Field::Welfare as i32];
                profile.availability = vec![pb::WeeklyWindow {
                    weekday: pb::Weekday::Monday as i32,
                    start_minute: 8 * 60,
                    end_minute: 18 * 60,
                }];
                profile.life_stage = pb::LifeStage::MidCareer as i32;
                profile.birth_year = 1975;
            }
            let r = client
                .register_resident(authed(
                    pb::RegisterResidentRequest {
                        profile: Some(profile),
                        ..full_registration(&format!("l-{i}"), &format!("住民{i}"))
                    },
                    &coordinator,
                ))
                .await?;
            ids.push(r.into_inner().resident.unwrap().resident_id);
        }
        let lister = client.clone();
        let list = |f: pb::ListResidentsRequest| {
            let mut client = lister.clone();
            let coordinator = coordinator.clone();
            async move {
                anyhow::Ok(
                    client
                        .list_residents(authed(f, &coordinator))
                        .await?
                        .into_inner(),
                )
            }
        };
        eventually(|| async {
            let all = list(pb::ListResidentsRequest::default()).await?;
            Ok((all.residents.len() == 6).then_some(()))
        })
        .await?;
        let by_district = list(pb::ListResidentsRequest {
            district: "沼南".into(),
            ..Default::default()
        })
        .await?;
        assert_eq!(by_district.residents.len(), 3, "{}", registry.backend);
        let by_skill = list(pb::ListResidentsRequest {
            skill: "accounting".into(),
            min_skill_level: 4,
            ..Default::default()
        })
        .await?;
        assert_eq!(by_skill.residents.len(), 3);
        let too_high = list(pb::ListResidentsRequest {
            skill: "accounting".into(),
            min_skill_level: 5,
            ..Default::default()
        })
        .await?;
        assert!(too_high.residents.is_empty());
        let by_field = list(pb::ListResidentsRequest {
            field: pb::Field::Welfare as i32,
            ..Default::default()
        })
        .await?;
        assert_eq!(by_field.residents.len(), 3);
        let available = list(pb::ListResidentsRequest {
            available: Some(pb::WeeklyWindow {
                weekday: pb::Weekday::Tuesday as i32,
                start_minute: 600,
                end_minute: 660,
            }),
            ..Default::default()
        })
        .await?;
        assert_eq!(available.residents.len(), 3);
        let not_covered = list(pb::ListResidentsRequest {
            available: Some(pb::WeeklyWindow {
                weekday: pb::Weekday::Tuesday as i32,
                start_minute: 600,
                end_minute: 780,
            }),
            ..Default::default()
        })
        .await?;
        assert!(not_covered.residents.is_empty());
        let by_stage = list(pb::ListResidentsRequest {
            life_stage: pb::LifeStage::MidCareer as i32,
            ..Default::default()
        })
        .await?;
        assert_eq!(by_stage.residents.len(), 3);
        assert!(
            by_stage
                .residents
                .iter()
                .all(|r| r.display_name.starts_with("住民"))
        );
        // A district with a skill and a free window: the holders there, and they follow a move.
        let combined = |district: &str, weekday: pb::Weekday| pb::ListResidentsRequest {
            district: district.into(),
            skill: "driving".into(),
            available: Some(pb::WeeklyWindow {
                weekday: weekday as i32,
                start_minute: 9 * 60,
                end_minute: 10 * 60,
            }),
            ..Default::default()
        };
        let count =
            |r: pb::ListResidentsRequest| async move { anyhow::Ok(list(r).await?.residents.len()) };
        assert_eq!(count(combined("沼南", pb::Weekday::Monday)).await?, 3);
        assert_eq!(count(combined("沼南", pb::Weekday::Tuesday)).await?, 0);
        assert_eq!(count(combined("柏", pb::Weekday::Monday)).await?, 0);
        let tuesday_in = |district: &str| pb::ListResidentsRequest {
            district: district.into(),
            available: Some(pb::WeeklyWindow {
                weekday: pb::Weekday::Tuesday as i32,
                start_minute: 600,
                end_minute: 660,
            }),
            ..Default::default()
        };
        assert_eq!(count(tuesday_in("柏")).await?, 3);
        assert_eq!(count(tuesday_in("沼南")).await?, 0);
        let mut moved = senior_profile();
        moved.skills = vec![pb::Skill {
            tag: "driving".into(),
            level: 3,
        }];
        moved.availability = vec![pb::WeeklyWindow {
            weekday: pb::Weekday::Monday as i32,
            start_minute: 9 * 60,
            end_minute: 12 * 60,
        }];
        client
            .update_resident_profile(authed(
                pb::UpdateResidentProfileRequest {
                    request_id: "l-move".into(),
                    resident_id: ids[1].clone(),
                    expected_version: 0,
                    personal: Some(personal("住民1")),
                    profile: Some(moved),
                    occurred_at: None,
                },
                &coordinator,
            ))
            .await?;
        eventually(|| async {
            let here = count(combined("柏", pb::Weekday::Monday)).await?;
            let there = count(combined("沼南", pb::Weekday::Monday)).await?;
            Ok((here == 1 && there == 2).then_some(()))
        })
        .await?;
        assert_eq!(count(tuesday_in("柏")).await?, 3);

        // Paging: 6 residents in pages of 4, in registration order.
        let first = list(pb::ListResidentsRequest {
            page_size: 4,
            ..Default::default()
        })
        .await?;
        assert_eq!(first.residents.len(), 4);
        let second = list(pb::ListResidentsRequest {
            page_size: 4,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await?;
        assert_eq!(second.residents.len(), 2);
        assert!(second.next_page_token.is_empty());
        let listed: Vec<_> = first
            .residents
            .iter()
            .chain(&second.residents)
            .map(|r| r.resident_id.clone())
            .collect();
        assert_eq!(listed, ids);
        // Status filter after a withdrawal.
        confirm_proxy(&registry, &mut client, &ids[0]).await?;
        client
            .withdraw_resident(authed(
                pb::WithdrawResidentRequest {
                    request_id: "lw".into(),
                    resident_id: ids[0].clone(),
                    reason: pb::WithdrawalReason::Moved as i32,
                    occurred_at: None,
                },
                &coordinator,
            ))
            .await?;
        let withdrawn = eventually(|| async {
            let r = list(pb::ListResidentsRequest {
                status: pb::ResidentStatus::Withdrawn as i32,
                ..Default::default()
            })
            .await?;
            Ok((r.residents.len() == 1).then_some(r))
        })
        .await?;
        assert_eq!(withdrawn.residents[0].resident_id, ids[0]);
        let bad = client
            .list_residents(authed(
                pb::ListResidentsRequest {
                    skill: "Not A Tag".into(),
                    field: 77,
                    available: Some(pb::WeeklyWindow {
                        weekday: 1,
                        start_minute: 700,
                        end_minute: 600,
                    }),
                    page_token: "forged".into(),
                    ..Default::default()
                },
                &coordinator,
            ))
            .await
            .unwrap_err();
        for field in ["skill", "field", "available.end_minute", "page_token"] {
            assert_bad(&bad, field);
        }
        let resident = registry.token_for("x", Role::Resident, Some(KASHIWA));
        let denied = client
            .list_residents(authed(pb::ListResidentsRequest::default(), &resident))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        registry.stop().await;
    }
    Ok(())
}

per_backend!(Registry, async fn a_name_is_found_however_it_is_written(registry) {
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    let mut request = full_registration("n-1", "山田　太郎");
    request.personal.as_mut().unwrap().name_kana = "ヤマダ タロウ".into();
    let yamada = client
        .register_resident(authed(request, &coordinator))
        .await?
        .into_inner()
        .resident
        .unwrap();
    let mut hanako = full_registration("n-2", "山田 花子");
    hanako.personal.as_mut().unwrap().name_kana = "やまだ はなこ".into();
    client
        .register_resident(authed(hanako, &coordinator))
        .await?;
    for written in [
        "山田 太郎",
        "山田太郎",
        "山田　太郎",
        "やまだたろう",
        "ﾔﾏﾀﾞ ﾀﾛｳ",
    ] {
        let found = eventually(|| {
            let mut client = client.clone();
            let coordinator = coordinator.clone();
            async move {
                let r = client
                    .find_residents_by_name(authed(
                        pb::FindResidentsByNameRequest {
                            name: written.into(),
                        },
                        &coordinator,
                    ))
                    .await?
                    .into_inner();
                Ok((!r.residents.is_empty()).then_some(r))
            }
        })
        .await?;
        assert_eq!(
            found.residents.len(),
            1,
            "{written} on {}",
            registry.backend
        );
        assert_eq!(found.residents[0].resident_id, yamada.resident_id);
        assert_eq!(found.residents[0].display_name, "山田　太郎");
    }
    let empty = client
        .find_residents_by_name(authed(
            pb::FindResidentsByNameRequest { name: " ".into() },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_bad(&empty, "name");
    registry.stop().await;
    Ok(())
});

#[tokio::test]
async fn parallel_clients_get_one_winner_per_version_and_one_resident_per_request_id()
-> anyhow::Result<()> {
    for registry in Registry::both().await? {
        let mut client = registry.client().await?;
        kashiwa(&registry, &mut client).await?;
        let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));

        // 16 clients send the same registration at once: one resident, one answer, one key.
        let keys = registry.person_keys().await;
        let request = full_registration("same-1", "並列 太郎");
        let answers = futures::future::join_all((0..16).map(|_| {
            let mut client = client.clone();
            let request = authed(request.clone(), &coordinator);
            async move { client.register_resident(request).await }
        }))
        .await;
        let ids: std::collections::BTreeSet<_> = answers
            .into_iter()
            .map(|a| a.unwrap().into_inner().resident.unwrap().resident_id)
            .collect();
        assert_eq!(ids.len(), 1, "{}", registry.backend);
        let id = ids.into_iter().next().unwrap();
        assert_eq!(
            registry.person_keys().await,
            keys + 1,
            "{}",
            registry.backend
        );

        // 16 clients update from the same version at once: exactly one wins, the rest are ABORTED.
        let answers = futures::future::join_all((0..16).map(|i| {
            let mut client = client.clone();
            let mut profile = senior_profile();
            profile.max_hours_per_week = 1 + i;
            let request = authed(
                pb::UpdateResidentProfileRequest {
                    request_id: format!("race-{i}"),
                    resident_id: id.clone(),
                    expected_version: 1,
                    personal: Some(personal("並列 太郎")),
                    profile: Some(profile),
                    occurred_at: None,
                },
                &coordinator,
            );
            async move { client.update_resident_profile(request).await }
        }))
        .await;
        let won = answers.iter().filter(|a| a.is_ok()).count();
        let aborted = answers
            .iter()
            .filter(|a| matches!(a, Err(s) if s.code() == Code::Aborted))
            .count();
        assert_eq!((won, aborted), (1, 15), "{}", registry.backend);
        let read = client
            .get_resident(authed(
                pb::GetResidentRequest { resident_id: id },
                &coordinator,
            ))
            .await?
            .into_inner()
            .resident
            .unwrap();
        assert_eq!(read.version, 2);
        registry.stop().await;
    }
    Ok(())
}

#[tokio::test]
async fn a_login_has_one_live_record_however_many_registrations_race() -> anyhow::Result<()> {
    use tonic_types::StatusExt;
    for registry in Registry::both().await? {
        let mut client = registry.client().await?;
        kashiwa(&registry, &mut client).await?;
        let login = "hanako@example.jp";
        let resident = registry.token_for(login, Role::Resident, Some(KASHIWA));
        let own = |rid: &str| pb::RegisterResidentRequest {
            proxy: None,
            ..full_registration(rid, "山本 花子")
        };
        // Eight registrations of one login at once, each with its own request_id.
        let answers = futures::future::join_all((0..8).map(|n| {
            let mut client = client.clone();
            let request = authed(own(&format!("self-{n}")), &resident);
            async move { client.register_resident(request).await }
        }))
        .await;
        let ids: Vec<String> = answers
            .iter()
            .filter_map(|a| a.as_ref().ok())
            .map(|r| r.get_ref().resident.as_ref().unwrap().resident_id.clone())
            .collect();
        assert_eq!(ids.len(), 1, "{}: {answers:?}", registry.backend);
        for refused in answers.iter().filter_map(|a| a.as_ref().err()) {
            assert_eq!(refused.code(), Code::AlreadyExists, "{refused:?}");
            let info = refused.get_details_resource_info().unwrap();
            assert_eq!(info.resource_name, ids[0]);
        }
        // A retry of the winner still answers it; staff linking the same login are refused.
        let winner = answers.iter().position(|a| a.is_ok()).unwrap();
        let retried = client
            .register_resident(authed(own(&format!("self-{winner}")), &resident))
            .await?
            .into_inner()
            .resident
            .unwrap();
        assert_eq!(retried.resident_id, ids[0]);
        let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
        let linked = client
            .register_resident(authed(
                pb::RegisterResidentRequest {
                    account_subject: login.into(),
                    ..full_registration("staff-link", "山本 花子")
                },
                &coordinator,
            ))
            .await
            .unwrap_err();
        assert_eq!(linked.code(), Code::AlreadyExists);
        // Once that record is erased, the login may register again, once.
        client
            .erase_personal_data(authed(
                pb::ErasePersonalDataRequest {
                    request_id: "erase-self".into(),
                    subject_id: ids[0].clone(),
                    occurred_at: None,
                },
                &resident,
            ))
            .await?;
        let again = client
            .register_resident(authed(own("self-again"), &resident))
            .await?
            .into_inner()
            .resident
            .unwrap();
        assert_ne!(again.resident_id, ids[0]);
        let twice = client
            .register_resident(authed(own("self-again-2"), &resident))
            .await
            .unwrap_err();
        assert_eq!(twice.code(), Code::AlreadyExists);
        registry.stop().await;
    }
    Ok(())
}

per_backend!(Registry, async fn staff_cannot_certify_their_own_proxy_agreement(registry) {
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let me = registry.token_for("citizen-77", Role::Resident, Some(KASHIWA));
    let id = client
        .register_resident(authed(
            pb::RegisterResidentRequest {
                proxy: None,
                ..full_registration("own", "加藤 四郎")
            },
            &me,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap()
        .resident_id;
    let officer_a = registry.token_for("officer-a", Role::MunicipalityOfficer, Some(KASHIWA));
    let coordinator = registry.token_for("coordinator-a", Role::Coordinator, Some(KASHIWA));
    let recorded = client
        .set_proxy_agreement(authed(
            pb::SetProxyAgreementRequest {
                request_id: "rec".into(),
                resident_id: id.clone(),
                agreement: Some(pb::ProxyAgreement {
                    method: pb::AgreementMethod::Phone as i32,
                }),
                occurred_at: None,
            },
            &officer_a,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert!(recorded.proxy_agreed && recorded.proxy_awaiting_confirmation);
    let confirm = |rid: &str| pb::ConfirmProxyAgreementRequest {
        request_id: rid.into(),
        resident_id: id.clone(),
        occurred_at: None,
    };
    let withdraw = pb::WithdrawResidentRequest {
        request_id: "w".into(),
        resident_id: id.clone(),
        reason: pb::WithdrawalReason::Moved as i32,
        occurred_at: None,
    };
    let head = registry.log_head().await;
    // Not acted on yet, not confirmed by the one who recorded it, nor by a coordinator.
    let early = client
        .withdraw_resident(authed(withdraw.clone(), &coordinator))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    let own = client
        .confirm_proxy_agreement(authed(confirm("c-1"), &officer_a))
        .await
        .unwrap_err();
    assert_eq!(own.code(), Code::FailedPrecondition, "{own:?}");
    let by_coordinator = client
        .confirm_proxy_agreement(authed(confirm("c-2"), &coordinator))
        .await
        .unwrap_err();
    assert_eq!(by_coordinator.code(), Code::PermissionDenied);
    assert_eq!(registry.log_head().await, head, "refusals write nothing");
    // The resident confirms; the event says who.
    let confirmed = client
        .confirm_proxy_agreement(authed(confirm("c-3"), &me))
        .await?
        .into_inner()
        .resident
        .unwrap();
    assert!(confirmed.proxy_agreed && !confirmed.proxy_awaiting_confirmation);
    let record = client
        .get_my_record(authed(
            pb::GetMyRecordRequest {
                resident_id: String::new(),
            },
            &me,
        ))
        .await?
        .into_inner();
    let last = record.history.last().unwrap();
    assert_eq!(last.event_type, "ProxyAgreementConfirmed");
    assert!(last.stamp.as_ref().unwrap().actor.starts_with("resident:"));
    client
        .withdraw_resident(authed(withdraw, &coordinator))
        .await?;
    // Erasure on the resident's behalf stays an officer's act.
    let erase = client
        .erase_personal_data(authed(
            pb::ErasePersonalDataRequest {
                request_id: "e".into(),
                subject_id: id.clone(),
                occurred_at: None,
            },
            &coordinator,
        ))
        .await
        .unwrap_err();
    assert_eq!(erase.code(), Code::PermissionDenied);
    registry.stop().await;
    Ok(())
});
