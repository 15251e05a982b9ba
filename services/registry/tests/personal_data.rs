//! Personal data never appears in clear where it is stored or sent, and erasure destroys it for
//! good while records, counts and rebuilds keep working. Also the roster import.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures::StreamExt;
use mosaic_auth::Role;
use mosaic_db::on_db;
use mosaic_eventstore::{EventStore, SqlEventStore};
use mosaic_projection::{Runner, RunnerConfig, RunnerStatus, Source};
use mosaic_proto::v1 as pb;
use tonic::Code;

const NAME: &str = "渡辺 秘子";
const PHONE: &str = "090-8765-4321";
const EMAIL: &str = "hiko.watanabe@example.jp";
const ADDRESS: &str = "千葉県柏市豊四季台一丁目";

fn secrets() -> [&'static str; 4] {
    [NAME, PHONE, EMAIL, ADDRESS]
}

use mosaic_testkit::logs::{capture as capture_logs, contains};

/// Every byte the registry stored: the SQLite files, or every row of every table.
async fn stored_bytes(registry: &Registry) -> anyhow::Result<Vec<u8>> {
    if let Some(dir) = &registry.data_dir {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_file() {
                bytes.extend(std::fs::read(path)?);
            }
        }
        return Ok(bytes);
    }
    let db = mosaic_db::connect(&registry.database_url(), 2).await?;
    let tables: Vec<String> = on_db!(&db, pool => {
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(pool)
            .await?
    });
    let mut bytes = Vec::new();
    for table in tables {
        let rows: Vec<String> = on_db!(&db, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT t::text FROM {table} t")))
                .fetch_all(pool)
                .await?
        });
        for row in rows {
            bytes.extend(row.into_bytes());
        }
    }
    db.close().await;
    Ok(bytes)
}

/// Every message payload and header in the MOSAIC stream.
async fn stream_bytes(registry: &Registry, at_least: usize) -> anyhow::Result<Vec<u8>> {
    let Some(nats) = &registry.nats else {
        return Ok(Vec::new());
    };
    let client = async_nats::connect(nats.url()).await?;
    let js = async_nats::jetstream::new(client);
    let mut bytes = Vec::new();
    let mut count = 0;
    for _ in 0..200 {
        let stream = js.get_stream("MOSAIC").await;
        if let Ok(mut stream) = stream
            && stream.info().await?.state.messages as usize >= at_least
        {
            let consumer = stream
                .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
                .await?;
            let mut messages = consumer.messages().await?;
            while count < at_least {
                let message = tokio::time::timeout(Duration::from_secs(5), messages.next())
                    .await?
                    .unwrap()?;
                bytes.extend_from_slice(&message.payload);
                if let Some(h) = &message.headers {
                    bytes.extend(format!("{h:?}").into_bytes());
                }
                count += 1;
            }
            return Ok(bytes);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the stream never held {at_least} messages")
}

#[tokio::test]
async fn personal_data_is_never_stored_published_or_logged_in_clear_and_erasure_is_final()
-> anyhow::Result<()> {
    let logs = capture_logs();
    for mut registry in Registry::both().await? {
        let mut client = registry.client().await?;
        kashiwa(&registry, &mut client).await?;
        let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
        let mut request = full_registration("pd-1", NAME);
        let personal = request.personal.as_mut().unwrap();
        personal.phone = PHONE.into();
        personal.email = EMAIL.into();
        personal.address = ADDRESS.into();
        personal.name_kana = "わたなべ ひこ".into();
        let resident = client
            .register_resident(authed(request, &coordinator))
            .await?
            .into_inner()
            .resident
            .unwrap();
        let id = resident.resident_id.clone();
        assert_eq!(resident.personal.unwrap().phone, PHONE);
        // Found by name once the directory has it.
        eventually(|| {
            let mut client = client.clone();
            let coordinator = coordinator.clone();
            async move {
                let r = client
                    .find_residents_by_name(authed(
                        pb::FindResidentsByNameRequest { name: NAME.into() },
                        &coordinator,
                    ))
                    .await?
                    .into_inner();
                Ok((r.residents.len() == 1).then_some(()))
            }
        })
        .await?;

        // Stored and published only sealed.
        let stored = stored_bytes(&registry).await?;
        let published = stream_bytes(&registry, 3).await?;
        for secret in secrets() {
            assert!(
                !contains(&stored, secret),
                "{secret} stored in clear on {}",
                registry.backend
            );
            assert!(!contains(&published, secret), "{secret} published in clear");
        }

        // Erase: the answer, then the resident reads as erased and cannot be found.
        let erase = pb::ErasePersonalDataRequest {
            request_id: "pd-erase".into(),
            subject_id: id.clone(),
            occurred_at: None,
        };
        // An irreversible act: a coordinator's proxy agreement is not enough, an officer erases.
        let refused = client
            .erase_personal_data(authed(erase.clone(), &coordinator))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        let officer = registry.token(Role::MunicipalityOfficer, Some(KASHIWA));
        let erased = client
            .erase_personal_data(authed(erase.clone(), &officer))
            .await?
            .into_inner();
        assert_eq!(erased.subject_id, id);
        client.erase_personal_data(authed(erase, &officer)).await?;
        let read = client
            .get_resident(authed(
                pb::GetResidentRequest {
                    resident_id: id.clone(),
                },
                &coordinator,
            ))
            .await?
            .into_inner()
            .resident
            .unwrap();
        assert_eq!(read.status, pb::ResidentStatus::Erased as i32);
        assert!(read.personal.is_none());
        assert!(!read.matchable);
        let update = client
            .update_resident_profile(authed(
                pb::UpdateResidentProfileRequest {
                    request_id: "pd-2".into(),
                    resident_id: id.clone(),
                    expected_version: 0,
                    personal: Some(common::personal("戻す")),
                    profile: Some(senior_profile()),
                    occurred_at: None,
                },
                &coordinator,
            ))
            .await
            .unwrap_err();
        assert_eq!(update.code(), Code::FailedPrecondition);
        eventually(|| {
            let mut client = client.clone();
            let coordinator = coordinator.clone();
            async move {
                let r = client
                    .find_residents_by_name(authed(
                        pb::FindResidentsByNameRequest { name: NAME.into() },
                        &coordinator,
                    ))
                    .await?
                    .into_inner();
                Ok(r.residents.is_empty().then_some(()))
            }
        })
        .await?;
        // Still counted, anonymously.
        let listed = client
            .list_residents(authed(pb::ListResidentsRequest::default(), &coordinator))
            .await?
            .into_inner();
        assert_eq!(listed.residents.len(), 1);
        assert_eq!(listed.residents[0].display_name, "");
        assert_eq!(
            listed.residents[0].status,
            pb::ResidentStatus::Erased as i32
        );

        // A full rebuild afterwards succeeds and cannot bring the name back.
        registry.halt().await;
        let db = mosaic_db::connect(&registry.database_url(), 4).await?;
        let vault = mosaic_privacy::Vault::new(db.clone(), registry.master());
        assert!(vault.is_erased(code(KASHIWA), &id).await?);
        assert!(
            vault
                .keys(code(KASHIWA), std::slice::from_ref(&id))
                .await?
                .is_empty()
        );
        let store: Arc<dyn EventStore> =
            Arc::new(SqlEventStore::open(db.clone(), "registry").await?);
        let head = store.head().await?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let (handle, task) = Runner::new(
            Arc::new(mosaic_registry::projections::Directory::new(vault.clone())),
            db.clone(),
            Source::Store(store),
            RunnerConfig::default(),
        )
        .spawn(stopping);
        handle.caught_up_to(head).await?;
        let report = handle.rebuild(None).await?;
        assert!(report.replayed >= 3, "{report:?}");
        assert!(matches!(handle.status(), RunnerStatus::Live { .. }));
        let row: (i32, Option<String>, Option<String>) = on_db!(&db, pool => {
            sqlx::query_as("SELECT status, display_name, name_index FROM registry_residents WHERE resident_id = $1")
                .bind(&id)
                .fetch_one(pool)
                .await?
        });
        assert_eq!(row, (pb::ResidentStatus::Erased as i32, None, None));
        let _ = stop.send(true);
        let _ = task.await;
        db.close().await;
        let stored = stored_bytes(&registry).await?;
        for secret in secrets() {
            assert!(
                !contains(&stored, secret),
                "{secret} in clear after erasure"
            );
        }
        registry.stop().await;
    }
    let logged = logs.bytes();
    assert!(!logged.is_empty(), "the logs were captured");
    for secret in secrets() {
        assert!(!contains(&logged, secret), "{secret} logged in clear");
    }
    Ok(())
}

fn row(key: &str, name: &str) -> pb::ImportResidentsRequest {
    let mut resident = full_registration("", name);
    resident.proxy = None;
    resident.occurred_at = Some(prost_types::Timestamp {
        seconds: 1_430_000_000,
        nanos: 0,
    });
    pb::ImportResidentsRequest {
        row_key: key.into(),
        resident: Some(imported(resident)),
    }
}

async fn import(
    client: &mut Client,
    token: &str,
    rows: Vec<pb::ImportResidentsRequest>,
) -> anyhow::Result<Vec<pb::ImportResidentsResponse>> {
    let answers = client
        .import_residents(authed(tokio_stream::iter(rows), token))
        .await?
        .into_inner();
    Ok(answers
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?)
}

#[tokio::test]
async fn a_roster_imports_with_per_row_results_and_imports_again_without_duplicates()
-> anyhow::Result<()> {
    for registry in Registry::both().await? {
        let mut client = registry.client().await?;
        kashiwa(&registry, &mut client).await?;
        let officer = registry.token(Role::MunicipalityOfficer, Some(KASHIWA));
        let mut rows: Vec<_> = (0..200)
            .map(|i| row(&format!("M{i:05}"), &format!("会員{i}")))
            .collect();
        rows[3]
            .resident
            .as_mut()
            .unwrap()
            .profile
            .as_mut()
            .unwrap()
            .birth_year = 2200;
        rows[7]
            .resident
            .as_mut()
            .unwrap()
            .personal
            .as_mut()
            .unwrap()
            .display_name = String::new();
        rows[9].row_key = String::new();
        rows[11].resident.as_mut().unwrap().occurred_at = Some(prost_types::Timestamp {
            seconds: chrono::Utc::now().timestamp() + 3_600,
            nanos: 0,
        });
        let answers = import(&mut client, &officer, rows.clone()).await?;
        assert_eq!(answers.len(), 200, "{}", registry.backend);
        let keys: Vec<_> = answers.iter().map(|a| a.row_key.clone()).collect();
        assert_eq!(
            keys,
            rows.iter().map(|r| r.row_key.clone()).collect::<Vec<_>>(),
            "in order"
        );
        let rejected: Vec<_> = answers
            .iter()
            .enumerate()
            .filter(|(_, a)| !a.accepted)
            .map(|(i, a)| (i, a.violations[0].field.clone()))
            .collect();
        assert_eq!(
            rejected,
            vec![
                (3, "resident.profile.birth_year".to_owned()),
                (7, "resident.personal.display_name".to_owned()),
                (9, "row_key".to_owned()),
                (11, "resident.occurred_at".to_owned()),
            ]
        );
        assert!(answers.iter().all(|a| !a.duplicate));

        // Sent again (an interrupted import resumed): the same residents, nothing new.
        let again = import(&mut client, &officer, rows.clone()).await?;
        for (first, second) in answers.iter().zip(&again) {
            assert_eq!(first.resident_id, second.resident_id);
            assert_eq!(second.duplicate, first.accepted);
        }
        let imported = client
            .get_resident(authed(
                pb::GetResidentRequest {
                    resident_id: answers[0].resident_id.clone(),
                },
                &officer,
            ))
            .await?
            .into_inner()
            .resident
            .unwrap();
        let registered = imported.registered.unwrap();
        assert_eq!(
            registered.occurred_at.unwrap().seconds,
            1_430_000_000,
            "the original date is kept"
        );
        assert_ne!(registered.recorded_at.unwrap().seconds, 1_430_000_000);
        let total = eventually(|| {
            let mut client = client.clone();
            let officer = officer.clone();
            async move {
                let r = client
                    .list_residents(authed(
                        pb::ListResidentsRequest {
                            page_size: 500,
                            ..Default::default()
                        },
                        &officer,
                    ))
                    .await?
                    .into_inner();
                Ok((r.residents.len() == 196).then_some(r.residents.len()))
            }
        })
        .await?;
        assert_eq!(total, 196);
        let resident = registry.token(Role::Resident, Some(KASHIWA));
        let denied = client
            .import_residents(authed(tokio_stream::iter(vec![row("x", "y")]), &resident))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        registry.stop().await;
    }
    Ok(())
}

fn code(s: &str) -> mosaic_types::MunicipalityCode {
    mosaic_types::MunicipalityCode::parse(s).unwrap()
}

/// Every byte of every file under `dir`, subfolders included.
fn every_file(dir: &std::path::Path, into: &mut Vec<u8>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            every_file(&path, into)?;
        } else if path.is_file() {
            into.extend(std::fs::read(path)?);
        }
    }
    Ok(())
}

#[tokio::test]
async fn erasure_holds_in_the_files_of_a_running_server_and_the_files_are_private()
-> anyhow::Result<()> {
    let registry = Registry::sqlite().await?;
    let dir = registry.data_dir.clone().unwrap();
    let mut client = registry.client().await?;
    kashiwa(&registry, &mut client).await?;
    let coordinator = registry.token(Role::Coordinator, Some(KASHIWA));
    // Neighbours, so the erased key's page is not simply rewritten whole.
    for n in 0..30 {
        client
            .register_resident(authed(
                full_registration(&format!("n-{n}"), "隣人"),
                &coordinator,
            ))
            .await?;
    }
    let login = "watanabe.login@example.jp";
    let id = client
        .register_resident(authed(
            pb::RegisterResidentRequest {
                account_subject: login.into(),
                ..full_registration("run-1", NAME)
            },
            &coordinator,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap()
        .resident_id;
    // The resident acts on their own record, so events record them as the actor too.
    let own = registry.token_for(login, Role::Resident, Some(KASHIWA));
    client
        .set_consent(authed(
            pb::SetConsentRequest {
                request_id: "run-consent".into(),
                resident_id: id.clone(),
                purpose: pb::ConsentPurpose::Research as i32,
                granted: true,
                occurred_at: None,
            },
            &own,
        ))
        .await?;
    let db = mosaic_db::connect(&registry.database_url(), 1).await?;
    let wrapped: Vec<u8> = on_db!(&db, pool => {
        sqlx::query_scalar("SELECT wrapped_key FROM person_keys WHERE subject = $1")
            .bind(&id)
            .fetch_one(pool)
            .await?
    });
    db.close().await;
    let mut before = Vec::new();
    every_file(&dir, &mut before)?;
    assert!(
        before.windows(wrapped.len()).any(|w| w == wrapped),
        "the scan sees the wrapped key before the erasure"
    );
    assert!(
        !contains(&before, login),
        "the login subject is stored in clear"
    );

    client
        .erase_personal_data(authed(
            pb::ErasePersonalDataRequest {
                request_id: "run-erase".into(),
                subject_id: id.clone(),
                occurred_at: None,
            },
            &own,
        ))
        .await?;
    // The server keeps running: its files, as they are now, hold neither.
    let mut after = Vec::new();
    every_file(&dir, &mut after)?;
    assert!(
        !after.windows(wrapped.len()).any(|w| w == wrapped),
        "the erased person's wrapped key is still in the data files"
    );
    assert!(!contains(&after, NAME));
    assert!(
        !contains(&after, login),
        "the login subject is stored in clear"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join("registry.db")), 0o600);
        assert_eq!(mode(&dir.join("registry.db-wal")), 0o600);
        assert_eq!(mode(&dir.join("keys")), 0o700);
    }
    registry.stop().await;
    Ok(())
}
