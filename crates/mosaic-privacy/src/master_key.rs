use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::sealed::NONCE_LEN;
use crate::{PrivacyError, aad};

/// Length of a master key and of a person key.
pub(crate) const KEY_LEN: usize = 32;

/// The key that wraps every person key of a service and from which blind-index keys are derived.
/// It lives outside the database (a file in the embedded data dir, or a secret given to the
/// service), so a copy of the database alone decrypts nothing. Zeroized on drop; `Debug` shows
/// only its id.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    id: String,
}

impl MasterKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(&mut *bytes);
        Self::from_bytes(bytes)
    }

    /// Reads a key written by [`MasterKey::to_base64`]: standard base64 of 32 bytes (surrounding
    /// whitespace ignored).
    pub fn from_base64(encoded: &str) -> Result<Self, PrivacyError> {
        let decoded = Zeroizing::new(STANDARD.decode(encoded.trim()).map_err(|_| {
            PrivacyError::BadMasterKey(
                "not standard base64; expected the base64 of 32 random bytes".into(),
            )
        })?);
        let bytes: [u8; KEY_LEN] = decoded.as_slice().try_into().map_err(|_| {
            PrivacyError::BadMasterKey(format!(
                "decodes to {} bytes; a master key is {KEY_LEN} bytes",
                decoded.len()
            ))
        })?;
        Ok(Self::from_bytes(Zeroizing::new(bytes)))
    }

    /// The key as standard base64, the form [`MasterKey::from_base64`] reads.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(*self.bytes)
    }

    /// The key in the file at `path`; never creates one.
    pub fn load(path: &Path) -> Result<Self, PrivacyError> {
        read_key_file(path).map_err(|e| in_file(path, e))?
    }

    /// The key in the file at `path`, or a new key written there (mode 0600, parent directories
    /// created) when the file does not exist. Two processes starting at once end up with the same
    /// key: the new file appears complete or not at all.
    pub fn load_or_generate(path: &Path) -> Result<Self, PrivacyError> {
        match read_key_file(path) {
            Ok(key) => return key,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(in_file(path, e).into()),
        }
        let key = Self::generate();
        if write_new_key_file(path, &key).map_err(|e| in_file(path, e))? {
            Ok(key)
        } else {
            // Another process created the file first: use its key.
            read_key_file(path).map_err(|e| in_file(path, e))?
        }
    }

    /// A short, stable id of the key (the first 8 hex digits of its SHA-256), stored next to each
    /// wrapped person key so a service started with the wrong master key says so.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A 32-byte secret for `purpose`, derived with HKDF-SHA256 under its own salt, so it is
    /// unrelated to the blind-index keys and the wrapping of person keys.
    pub fn derive(&self, purpose: &str) -> Zeroizing<[u8; KEY_LEN]> {
        let hkdf = Hkdf::<Sha256>::new(Some(b"mosaic-privacy/v1/derived-secret"), &*self.bytes);
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        hkdf.expand(purpose.as_bytes(), &mut *out)
            .expect("32 bytes is within HKDF-SHA256's output limit");
        out
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    fn from_bytes(bytes: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let digest = Sha256::digest(*bytes);
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Self { bytes, id }
    }

    /// Wraps a person key: nonce || AEAD(person key), bound to the municipality and subject, so a
    /// wrapped key copied onto another person's row does not open.
    pub(crate) fn wrap_key(
        &self,
        municipality: &str,
        subject: &str,
        key: &[u8; KEY_LEN],
    ) -> Vec<u8> {
        let cipher = XChaCha20Poly1305::new(self.bytes.as_ref().into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ad = wrap_ad(municipality, subject);
        let ciphertext = cipher
            .encrypt(&nonce, Payload { msg: key, aad: &ad })
            // XChaCha20-Poly1305 refuses only messages over 256 GiB; a key is 32 bytes.
            .expect("a 32-byte key is within the AEAD's message limit");
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&ciphertext);
        wrapped
    }

    /// The person key inside `wrapped`; `Undecryptable` if it was wrapped for someone else or
    /// under another key.
    pub(crate) fn unwrap_key(
        &self,
        municipality: &str,
        subject: &str,
        wrapped: &[u8],
    ) -> Result<Zeroizing<[u8; KEY_LEN]>, PrivacyError> {
        if wrapped.len() <= NONCE_LEN {
            return Err(PrivacyError::Undecryptable);
        }
        let (nonce, ciphertext) = wrapped.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| PrivacyError::Undecryptable)?;
        let cipher = XChaCha20Poly1305::new(self.bytes.as_ref().into());
        let ad = wrap_ad(municipality, subject);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: &ad,
                    },
                )
                .map_err(|_| PrivacyError::Undecryptable)?,
        );
        let key: [u8; KEY_LEN] = plain
            .as_slice()
            .try_into()
            .map_err(|_| PrivacyError::Undecryptable)?;
        Ok(Zeroizing::new(key))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn wrap_ad(municipality: &str, subject: &str) -> Vec<u8> {
    aad::encode("mosaic-privacy/v1/person-key", &[municipality, subject])
}

/// The key in an existing file; the outer error is the file's, the inner one the content's.
fn read_key_file(path: &Path) -> io::Result<Result<MasterKey, PrivacyError>> {
    let text = Zeroizing::new(std::fs::read_to_string(path)?);
    warn_if_readable_by_others(path);
    Ok(MasterKey::from_base64(&text).map_err(|e| match e {
        PrivacyError::BadMasterKey(why) => {
            PrivacyError::BadMasterKey(format!("{}: {why}", path.display()))
        }
        other => other,
    }))
}

/// Writes the key to a private temporary file and links it into place, so readers never see a
/// half-written key. False when `path` appeared meanwhile (another process won).
fn write_new_key_file(path: &Path, key: &MasterKey) -> io::Result<bool> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "master.key".into());
    // Unique per process and call, so concurrent starters never share a temporary file.
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = private_create_new(&tmp)?;
        let text = Zeroizing::new(format!("{}\n", key.to_base64()));
        file.write_all(text.as_bytes())?;
        file.sync_all()
    })();
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    });
    // The temporary name goes in every case; a failure to remove it is not worth failing start-up.
    let _ = std::fs::remove_file(&tmp);
    let linked = linked?;
    if linked {
        // Make the new directory entry itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(linked)
}

#[cfg(unix)]
fn private_create_new(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_create_new(path: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "master key file is accessible to other users; restrict it with chmod 600"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

fn in_file(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_keeps_the_key_and_its_id() -> Result<(), PrivacyError> {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(&key.to_base64())?;
        assert_eq!(again.bytes(), key.bytes());
        assert_eq!(again.id(), key.id());
        assert_eq!(key.id().len(), 8);
        Ok(())
    }

    #[test]
    fn a_derived_secret_is_the_same_for_the_same_key_and_purpose_only() -> Result<(), PrivacyError>
    {
        let key = MasterKey::generate();
        let again = MasterKey::from_base64(&key.to_base64())?;
        assert_eq!(*key.derive("a"), *again.derive("a"));
        assert_ne!(*key.derive("a"), *key.derive("b"));
        assert_ne!(*key.derive("a"), *MasterKey::generate().derive("a"));
        assert_ne!(&*key.derive("a"), key.bytes());
        Ok(())
    }

    #[test]
    fn debug_shows_the_id_and_not_the_key() {
        let key = MasterKey::generate();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.id()));
        assert!(!shown.contains(&key.to_base64()));
    }

    #[test]
    fn a_wrapped_key_opens_only_for_its_own_person() -> Result<(), PrivacyError> {
        let master = MasterKey::generate();
        let key = [7u8; KEY_LEN];
        let wrapped = master.wrap_key("122173", "p-1", &key);
        assert_eq!(*master.unwrap_key("122173", "p-1", &wrapped)?, key);
        assert!(matches!(
            master.unwrap_key("122173", "p-2", &wrapped),
            Err(PrivacyError::Undecryptable)
        ));
        assert!(matches!(
            master.unwrap_key("142077", "p-1", &wrapped),
            Err(PrivacyError::Undecryptable)
        ));
        assert!(matches!(
            MasterKey::generate().unwrap_key("122173", "p-1", &wrapped),
            Err(PrivacyError::Undecryptable)
        ));
        Ok(())
    }
}
