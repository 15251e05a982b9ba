//! The vault's guarantees, on PostgreSQL and SQLite alike.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use mosaic_privacy::{MasterKey, PrivacyError, Sealed, Vault};

#[tokio::test]
async fn a_sealed_value_opens_with_the_persons_key_fetched_again() -> anyhow::Result<()> {
    for f in both().await? {
        let sealed = f
            .vault
            .key(kashiwa(), "p-1")
            .await?
            .seal("name", "山田　太郎");
        let again = f.vault.key(kashiwa(), "p-1").await?;
        assert_eq!(again.open("name", &sealed)?, "山田　太郎", "{}", f.backend);
        let many = f.vault.keys(kashiwa(), &["p-1".into()]).await?;
        assert_eq!(
            many["p-1"].open("name", &sealed)?,
            "山田　太郎",
            "{}",
            f.backend
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_value_does_not_open_as_another_field_or_with_another_persons_key() -> anyhow::Result<()>
{
    for f in both().await? {
        let sealed = f
            .vault
            .key(kashiwa(), "p-1")
            .await?
            .seal("name", "山田太郎");
        let own = f.vault.key(kashiwa(), "p-1").await?;
        let other = f.vault.key(kashiwa(), "p-2").await?;
        let same_id_elsewhere = f.vault.key(chigasaki(), "p-1").await?;
        for (key, field) in [
            (&own, "address"),
            (&other, "name"),
            (&same_id_elsewhere, "name"),
        ] {
            assert!(
                matches!(key.open(field, &sealed), Err(PrivacyError::Undecryptable)),
                "{}: {key:?} {field}",
                f.backend
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn after_erasure_the_key_is_gone_for_good_and_old_ciphertexts_never_open()
-> anyhow::Result<()> {
    for f in both().await? {
        let v = &f.vault;
        let sealed = v.key(kashiwa(), "p-1").await?.seal("name", "山田太郎");
        v.key(kashiwa(), "p-2").await?;

        assert!(v.erase(kashiwa(), "p-1").await?, "{}", f.backend);
        assert!(v.is_erased(kashiwa(), "p-1").await?);
        assert!(!v.is_erased(kashiwa(), "p-2").await?);
        assert!(matches!(
            v.key(kashiwa(), "p-1").await,
            Err(PrivacyError::Erased)
        ));

        let subjects = vec!["p-1".to_owned(), "p-2".to_owned()];
        let keys = v.keys(kashiwa(), &subjects).await?;
        assert!(!keys.contains_key("p-1"), "{}", f.backend);
        assert!(keys.contains_key("p-2"));

        // No key the vault still gives out opens what was sealed for the erased person.
        let mut every_key: Vec<_> = keys.into_values().collect();
        every_key.push(v.key(chigasaki(), "p-1").await?);
        every_key.push(v.key(kashiwa(), "p-3").await?);
        for key in &every_key {
            assert!(key.open("name", &sealed).is_err(), "{}: {key:?}", f.backend);
        }

        // Erasing again changes nothing and is not an error.
        assert!(!v.erase(kashiwa(), "p-1").await?, "{}", f.backend);
        assert!(matches!(
            v.key(kashiwa(), "p-1").await,
            Err(PrivacyError::Erased)
        ));
    }
    Ok(())
}

#[tokio::test]
async fn erasing_a_person_without_a_key_stops_one_ever_being_created() -> anyhow::Result<()> {
    for f in both().await? {
        assert!(
            !f.vault.erase(kashiwa(), "never-seen").await?,
            "{}",
            f.backend
        );
        assert!(f.vault.is_erased(kashiwa(), "never-seen").await?);
        assert!(matches!(
            f.vault.key(kashiwa(), "never-seen").await,
            Err(PrivacyError::Erased)
        ));
        // Erasure is per municipality.
        assert!(!f.vault.is_erased(chigasaki(), "never-seen").await?);
        f.vault.key(chigasaki(), "never-seen").await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_first_uses_of_a_key_all_get_the_same_key() -> anyhow::Result<()> {
    for f in both().await? {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let vault = f.vault.clone();
                tokio::spawn(async move { vault.key(kashiwa(), "p-new").await })
            })
            .collect();
        let mut keys = Vec::new();
        for task in tasks {
            keys.push(task.await??);
        }
        let sealed = keys[0].seal("name", "佐藤花子");
        for key in &keys {
            assert_eq!(key.open("name", &sealed)?, "佐藤花子", "{}", f.backend);
        }
        let stored = f.vault.key(kashiwa(), "p-new").await?;
        assert_eq!(stored.open("name", &sealed)?, "佐藤花子", "{}", f.backend);
    }
    Ok(())
}

#[tokio::test]
async fn keys_returns_known_persons_and_leaves_out_unknown_ones_without_creating_them()
-> anyhow::Result<()> {
    for f in both().await? {
        let v = &f.vault;
        let a = v.key(kashiwa(), "p-a").await?.seal("name", "a");
        let b = v.key(kashiwa(), "p-b").await?.seal("name", "b");
        let subjects: Vec<String> = ["p-a", "p-b", "p-unknown", "p-a"]
            .into_iter()
            .map(String::from)
            .collect();
        let keys = v.keys(kashiwa(), &subjects).await?;
        assert_eq!(keys.len(), 2, "{}", f.backend);
        assert_eq!(keys["p-a"].open("name", &a)?, "a");
        assert_eq!(keys["p-b"].open("name", &b)?, "b");
        assert!(v.keys(chigasaki(), &subjects).await?.is_empty());
        assert!(v.keys(kashiwa(), &[]).await?.is_empty());

        let mut tx = f.db().begin().await?;
        let in_tx = v.keys_in(&mut tx, kashiwa(), &subjects).await?;
        tx.commit().await?;
        assert_eq!(in_tx.len(), 2, "{}", f.backend);
        assert_eq!(in_tx["p-b"].open("name", &b)?, "b");
        // Nothing was created for the unknown subject.
        assert!(v.keys(kashiwa(), &["p-unknown".into()]).await?.is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn a_key_created_in_a_rolled_back_transaction_is_not_kept() -> anyhow::Result<()> {
    for f in both().await? {
        let mut tx = f.db().begin().await?;
        let first = f.vault.key_in(&mut tx, kashiwa(), "p-1").await?;
        let sealed = first.seal("name", "山田太郎");
        tx.rollback().await?;
        let second = f.vault.key(kashiwa(), "p-1").await?;
        assert!(second.open("name", &sealed).is_err(), "{}", f.backend);
    }
    Ok(())
}

#[tokio::test]
async fn erasure_in_a_callers_transaction_happens_only_if_it_commits() -> anyhow::Result<()> {
    for f in both().await? {
        let sealed = f
            .vault
            .key(kashiwa(), "p-1")
            .await?
            .seal("name", "山田太郎");

        let mut tx = f.db().begin().await?;
        assert!(f.vault.erase_in(&mut tx, kashiwa(), "p-1").await?);
        tx.rollback().await?;
        let key = f.vault.key(kashiwa(), "p-1").await?;
        assert_eq!(key.open("name", &sealed)?, "山田太郎", "{}", f.backend);

        let mut tx = f.db().begin().await?;
        assert!(f.vault.erase_in(&mut tx, kashiwa(), "p-1").await?);
        assert!(
            f.vault
                .keys_in(&mut tx, kashiwa(), &["p-1".into()])
                .await?
                .is_empty()
        );
        tx.commit().await?;
        assert!(matches!(
            f.vault.key(kashiwa(), "p-1").await,
            Err(PrivacyError::Erased)
        ));
    }
    Ok(())
}

#[tokio::test]
async fn a_vault_with_another_master_key_refuses_and_names_both_key_ids() -> anyhow::Result<()> {
    for f in both().await? {
        f.vault.key(kashiwa(), "p-1").await?;
        let other = Vault::new(f.db().clone(), MasterKey::generate());
        let err = other.key(kashiwa(), "p-1").await.unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, PrivacyError::MasterKeyMismatch { .. }),
            "{}: {err:?}",
            f.backend
        );
        assert!(message.contains(f.vault.master_key_id()), "{message}");
        assert!(message.contains(other.master_key_id()), "{message}");
        assert!(other.keys(kashiwa(), &["p-1".into()]).await.is_err());
    }
    Ok(())
}

#[tokio::test]
async fn the_same_master_key_in_a_new_vault_opens_what_the_old_one_sealed() -> anyhow::Result<()> {
    for f in both().await? {
        let master = MasterKey::generate();
        let encoded = master.to_base64();
        let first = Vault::new(f.db().clone(), master);
        let sealed = first.key(kashiwa(), "p-1").await?.seal("name", "山田太郎");
        let index = first.blind_index(kashiwa(), "name", "山田太郎");

        let restarted = Vault::new(f.db().clone(), MasterKey::from_base64(&encoded)?);
        let key = restarted.key(kashiwa(), "p-1").await?;
        assert_eq!(key.open("name", &sealed)?, "山田太郎", "{}", f.backend);
        assert_eq!(
            restarted.blind_index(kashiwa(), "name", "山田　太郎"),
            index
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_sealed_value_survives_a_json_event_payload() -> anyhow::Result<()> {
    let f = sqlite().await?;
    let key = f.vault.key(kashiwa(), "p-1").await?;
    let payload = serde_json::json!({ "name": key.seal("name", "山田太郎") });
    let text = serde_json::to_string(&payload)?;
    assert!(!text.contains("山田"));
    let back: serde_json::Value = serde_json::from_str(&text)?;
    let sealed: Sealed = serde_json::from_value(back["name"].clone())?;
    assert_eq!(key.open("name", &sealed)?, "山田太郎");
    assert_eq!(format!("{sealed:?}"), "Sealed(..)");
    Ok(())
}

#[tokio::test]
async fn blind_indexes_match_for_equal_names_and_differ_across_municipalities_and_purposes()
-> anyhow::Result<()> {
    let f = sqlite().await?;
    let v = &f.vault;
    let name = v.blind_index(kashiwa(), "name", "山田　太郎");
    assert_eq!(name, v.blind_index(kashiwa(), "name", "山田 太郎"));
    assert_eq!(name, v.blind_index(kashiwa(), "name", "山田太郎"));
    let reading = v.blind_index(kashiwa(), "reading", "ﾔﾏﾀﾞ ﾀﾛｳ");
    assert_eq!(reading, v.blind_index(kashiwa(), "reading", "ヤマダタロウ"));
    assert_eq!(reading, v.blind_index(kashiwa(), "reading", "やまだたろう"));
    assert_ne!(name, v.blind_index(chigasaki(), "name", "山田太郎"));
    assert_ne!(name, v.blind_index(kashiwa(), "reading", "山田太郎"));
    assert_ne!(name, v.blind_index(kashiwa(), "name", "山田花子"));
    assert!(!name.contains("山田"));
    Ok(())
}

#[tokio::test]
async fn keys_made_for_new_subjects_are_the_keys_read_back_and_never_revive_an_erased_one()
-> anyhow::Result<()> {
    for f in both().await? {
        let one = f.vault.new_key(kashiwa(), "n-1").await?;
        let sealed = one.seal("name", "佐藤 一");
        let read = f.vault.key(kashiwa(), "n-1").await?;
        assert_eq!(read.open("name", &sealed)?, "佐藤 一", "{}", f.backend);
        // Asked again for the same subject, the existing key stands.
        let again = f.vault.new_key(kashiwa(), "n-1").await?;
        assert_eq!(again.open("name", &sealed)?, "佐藤 一");

        let subjects: Vec<String> = (0..300).map(|i| format!("m-{i}")).collect();
        let made = f.vault.new_keys(kashiwa(), &subjects).await?;
        assert_eq!(made.len(), 300, "{}", f.backend);
        let sealed = made["m-7"].seal("name", "七");
        let read = f.vault.keys(kashiwa(), &subjects).await?;
        assert_eq!(read["m-7"].open("name", &sealed)?, "七");

        f.vault.erase(kashiwa(), "n-1").await?;
        assert!(matches!(
            f.vault.new_key(kashiwa(), "n-1").await,
            Err(PrivacyError::Erased)
        ));
        f.vault.erase(kashiwa(), "m-7").await?;
        let remade = f
            .vault
            .new_keys(kashiwa(), &["m-7".into(), "m-8".into()])
            .await?;
        assert!(!remade.contains_key("m-7") && remade.contains_key("m-8"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_asked_for_at_once_are_made_together_each_its_own() -> anyhow::Result<()> {
    for f in both().await? {
        let b = f.backend;
        f.vault.erase(chigasaki(), "c-13").await?;
        // 64 callers at once, in two municipalities, one of them a subject erased before.
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let vault = f.vault.clone();
                let municipality = if i % 2 == 0 { kashiwa() } else { chigasaki() };
                tokio::spawn(async move {
                    let subject = format!("c-{i}");
                    let key = vault.new_key(municipality, &subject).await;
                    (municipality, subject, key)
                })
            })
            .collect();
        let mut sealed = Vec::new();
        for task in tasks {
            let (municipality, subject, key) = task.await?;
            if subject == "c-13" {
                assert!(matches!(key, Err(PrivacyError::Erased)), "{b}");
                continue;
            }
            let text = format!("{subject} の名前");
            sealed.push((municipality, subject, key?.seal("name", &text), text));
        }
        assert_eq!(sealed.len(), 63, "{b}");
        // Each key is the subject's own, as stored, and opens nothing of another's.
        for (municipality, subject, value, text) in &sealed {
            let stored = f.vault.key(*municipality, subject).await?;
            assert_eq!(stored.open("name", value)?, *text, "{b}");
        }
        let (m0, s0, _, _) = &sealed[0];
        let (_, _, other, _) = &sealed[2];
        let key0 = f.vault.key(*m0, s0).await?;
        assert!(key0.open("name", other).is_err(), "{b}");
    }
    Ok(())
}

#[tokio::test]
async fn an_unused_key_is_forgotten_without_a_trace_but_an_erasure_stands() -> anyhow::Result<()> {
    for f in both().await? {
        let made = f.vault.new_key(kashiwa(), "fresh-1").await?;
        assert!(f.vault.forget_unused(kashiwa(), "fresh-1").await?);
        assert!(
            f.vault
                .keys(kashiwa(), &["fresh-1".into()])
                .await?
                .is_empty(),
            "{}",
            f.backend
        );
        assert!(!f.vault.is_erased(kashiwa(), "fresh-1").await?);
        // The subject never existed: a key made for it later is a new one.
        let again = f.vault.key(kashiwa(), "fresh-1").await?;
        let sealed = made.seal("name", "山田太郎");
        assert!(matches!(
            again.open("name", &sealed),
            Err(PrivacyError::Undecryptable)
        ));

        f.vault.key(kashiwa(), "p-1").await?;
        f.vault.erase(kashiwa(), "p-1").await?;
        assert!(!f.vault.forget_unused(kashiwa(), "p-1").await?);
        assert!(f.vault.is_erased(kashiwa(), "p-1").await?, "{}", f.backend);
    }
    Ok(())
}
