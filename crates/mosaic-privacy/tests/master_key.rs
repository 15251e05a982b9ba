//! The master key: its text form and its file in the embedded data dir.
#![allow(clippy::unwrap_used, missing_docs)]

use mosaic_privacy::{MasterKey, PrivacyError};

#[test]
fn a_missing_master_key_file_is_created_private_and_reloads_as_the_same_key() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("data").join("master.key");
    let created = MasterKey::load_or_generate(&path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "mode {mode:o}");
    }
    let reloaded = MasterKey::load_or_generate(&path)?;
    assert_eq!(reloaded.id(), created.id());
    assert_eq!(reloaded.to_base64(), created.to_base64());
    assert_eq!(std::fs::read_to_string(&path)?.trim(), created.to_base64());
    // Only the key file is left behind, no temporary file.
    assert_eq!(std::fs::read_dir(path.parent().unwrap())?.count(), 1);
    Ok(())
}

#[test]
fn processes_starting_at_once_agree_on_one_master_key() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("master.key");
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || MasterKey::load_or_generate(&path).map(|k| k.to_base64()))
        })
        .collect();
    let keys: Vec<String> = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect::<Result<_, _>>()?;
    assert!(keys.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(MasterKey::load_or_generate(&path)?.to_base64(), keys[0]);
    Ok(())
}

#[test]
fn a_master_key_that_is_not_base64_is_refused_with_a_clear_message() {
    let err = MasterKey::from_base64("not base64 at all!").unwrap_err();
    assert!(matches!(err, PrivacyError::BadMasterKey(_)), "{err:?}");
    assert!(err.to_string().contains("base64"), "{err}");
}

#[test]
fn a_master_key_of_the_wrong_length_is_refused_naming_the_length() {
    let err = MasterKey::from_base64("c2hvcnQ=").unwrap_err();
    assert!(matches!(err, PrivacyError::BadMasterKey(_)), "{err:?}");
    assert!(err.to_string().contains("5 bytes"), "{err}");
    assert!(err.to_string().contains("32 bytes"), "{err}");
}

#[test]
fn a_master_key_file_with_garbage_is_refused_naming_the_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("master.key");
    std::fs::write(&path, "garbage\n")?;
    let err = MasterKey::load_or_generate(&path).unwrap_err();
    assert!(matches!(err, PrivacyError::BadMasterKey(_)), "{err:?}");
    assert!(err.to_string().contains("master.key"), "{err}");
    // The bad file is left alone, never replaced by a new key.
    assert_eq!(std::fs::read_to_string(&path)?, "garbage\n");
    Ok(())
}

#[test]
fn a_master_key_id_is_short_stable_and_differs_between_keys() -> anyhow::Result<()> {
    let a = MasterKey::generate();
    assert_eq!(a.id().len(), 8);
    assert!(a.id().chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(MasterKey::from_base64(&a.to_base64())?.id(), a.id());
    assert_ne!(MasterKey::generate().id(), a.id());
    assert!(!format!("{a:?}").contains(&a.to_base64()));
    Ok(())
}
