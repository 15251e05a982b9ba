use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, EncodePrivateKey, KeypairBytes, spki::der::pem::LineEnding,
};
use rand::RngCore;

use crate::{AuthError, KeySet, TokenSigner};

/// File name of the PKCS#8 PEM private key inside a key directory.
pub const SIGNING_KEY_FILE: &str = "signing-key.pem";
/// File name of the public JWKS inside a key directory.
pub const JWKS_FILE: &str = "jwks.json";

/// How many public-key bytes go into a key id: 12 bytes encode to 16 base64url characters,
/// short enough to read in a log and unique enough for a handful of rotated keys.
const KID_BYTES: usize = 12;

/// The Ed25519 key pair a local deployment signs its own tokens with.
///
/// On disk it is a directory holding [`SIGNING_KEY_FILE`] (private, mode 0600) and
/// [`JWKS_FILE`] (public); verifiers only ever need the latter.
#[derive(Clone)]
pub struct SigningKeys {
    key: SigningKey,
    kid: String,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// A fresh key pair from the operating system's randomness.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Self::from_signing_key(SigningKey::from_bytes(&seed))
    }

    pub(crate) fn from_signing_key(key: SigningKey) -> Self {
        let public = key.verifying_key().to_bytes();
        let kid = URL_SAFE_NO_PAD.encode(&public[..KID_BYTES]);
        Self { key, kid }
    }

    /// Parses a PKCS#8 PEM Ed25519 private key, either version: v1 (RFC 5208, as written by
    /// [`SigningKeys::to_pem`] and by OpenSSL) or v2 (RFC 5958, with the public key attached).
    pub fn from_pem(pem: &str) -> Result<Self, AuthError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(Self::from_signing_key)
            .map_err(|err| {
                AuthError::invalid_keys(format!("not a PKCS#8 Ed25519 private key: {err}"))
            })
    }

    /// Reads a PKCS#8 PEM Ed25519 private key file, as written by [`SigningKeys::write_to_dir`].
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        let path = path.as_ref();
        let pem = fs::read_to_string(path).map_err(|err| AuthError::key_file(path, err))?;
        Self::from_pem(&pem).map_err(|err| AuthError::key_file(path, err))
    }

    /// The key id tokens carry in their `kid` header: base64url of the first 12 bytes of the
    /// public key, so it can be recomputed from the JWKS alone.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The private key as PKCS#8 v1 PEM (RFC 5208 `PrivateKeyInfo`, no public key attached):
    /// the form OpenSSL 3.0 and Python's `cryptography` load, which refuse the v2 form
    /// (`OneAsymmetricKey` with the public key) that `ed25519-dalek` writes by default.
    pub fn to_pem(&self) -> Result<String, AuthError> {
        self.v1()
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.as_str().to_owned())
            .map_err(|err| AuthError::invalid_keys(format!("cannot encode private key: {err}")))
    }

    /// The private key as PKCS#8 v1 DER, the form `jsonwebtoken` signs with.
    pub(crate) fn to_pkcs8_der(&self) -> Result<Vec<u8>, AuthError> {
        self.v1()
            .to_pkcs8_der()
            .map(|doc| doc.as_bytes().to_vec())
            .map_err(|err| AuthError::invalid_keys(format!("cannot encode private key: {err}")))
    }

    /// The key without its public half, which is what makes the encoding PKCS#8 v1.
    fn v1(&self) -> KeypairBytes {
        KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        }
    }

    /// The public key as a JWKS document with a single OKP/Ed25519 key.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(self.public_key()),
                "kid": self.kid,
                "alg": "EdDSA",
                "use": "sig",
            }]
        })
    }

    /// The key set that verifies tokens signed with this key pair.
    pub fn key_set(&self) -> KeySet {
        KeySet::from_ed25519_public_key(Some(self.kid.clone()), &self.public_key())
    }

    /// A signer minting tokens for `issuer` and `audience` with this key pair.
    pub fn signer(
        &self,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<TokenSigner, AuthError> {
        TokenSigner::new(self, issuer, audience)
    }

    /// Writes [`SIGNING_KEY_FILE`] and [`JWKS_FILE`] into `dir`, creating it if needed and
    /// replacing existing files.
    pub fn write_to_dir(&self, dir: impl AsRef<Path>) -> Result<(), AuthError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(|err| AuthError::key_file(dir, err))?;
        // The public half goes first: a present private key is what marks the directory as
        // complete, so a crash in between leaves nothing that looks finished.
        self.write_jwks(dir)?;
        let pem = self.to_pem()?;
        write_atomically(&dir.join(SIGNING_KEY_FILE), pem.as_bytes(), true)
    }

    fn write_jwks(&self, dir: &Path) -> Result<(), AuthError> {
        let mut jwks = serde_json::to_string_pretty(&self.jwks())
            .map_err(|err| AuthError::invalid_keys(format!("cannot encode JWKS: {err}")))?;
        jwks.push('\n');
        write_atomically(&dir.join(JWKS_FILE), jwks.as_bytes(), false)
    }

    /// Reads the key pair from `dir`/[`SIGNING_KEY_FILE`].
    pub fn load_from_dir(dir: impl AsRef<Path>) -> Result<Self, AuthError> {
        Self::from_pem_file(dir.as_ref().join(SIGNING_KEY_FILE))
    }

    /// Loads the key pair from `dir`, or on first start generates one and writes both files.
    ///
    /// A missing [`JWKS_FILE`] next to an existing private key is rewritten, since it is fully
    /// derived from the key. Two processes starting at once on an empty directory may each
    /// generate a key; the embedded server is the only writer, so that is not guarded against.
    pub fn load_or_generate(dir: impl AsRef<Path>) -> Result<Self, AuthError> {
        let dir = dir.as_ref();
        if dir.join(SIGNING_KEY_FILE).exists() {
            let keys = Self::load_from_dir(dir)?;
            if !dir.join(JWKS_FILE).exists() {
                keys.write_jwks(dir)?;
            }
            return Ok(keys);
        }
        let keys = Self::generate();
        keys.write_to_dir(dir)?;
        tracing::info!(kid = %keys.kid, dir = %dir.display(), "generated a new token signing key");
        Ok(keys)
    }
}

/// Writes through a temporary file and a rename so readers never see half a key, and so the
/// private key never exists on disk with wider permissions than 0600.
fn write_atomically(path: &Path, contents: &[u8], private: bool) -> Result<(), AuthError> {
    let tmp = temporary_path(path);
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        if private {
            // `mode` only applies when the file is created; a leftover temporary file keeps
            // whatever it had.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        #[cfg(not(unix))]
        let _ = private;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|err| {
        let _ = fs::remove_file(&tmp);
        AuthError::key_file(path, err)
    })
}

fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn kid_is_sixteen_base64url_characters_of_the_public_key() {
        let keys = SigningKeys::generate();
        assert_eq!(keys.kid().len(), 16);
        assert!(
            keys.kid()
                .starts_with(&URL_SAFE_NO_PAD.encode(keys.public_key())[..16])
        );
    }

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let keys = SigningKeys::generate();
        let again = SigningKeys::from_pem(&keys.to_pem().unwrap()).unwrap();
        assert_eq!(again.public_key(), keys.public_key());
        assert_eq!(again.kid(), keys.kid());
    }

    #[test]
    fn written_key_is_pkcs8_v1_and_openssl_loads_it() {
        use ed25519_dalek::pkcs8::{PrivateKeyInfo, SecretDocument};
        let dir = tempfile::tempdir().unwrap();
        let keys = SigningKeys::generate();
        keys.write_to_dir(dir.path()).unwrap();
        let path = dir.path().join(SIGNING_KEY_FILE);
        let pem = fs::read_to_string(&path).unwrap();
        let (label, der) = SecretDocument::from_pem(&pem).unwrap();
        assert_eq!(label, "PRIVATE KEY");
        // RFC 8410's v1 form: SEQUENCE { INTEGER 0, { id-Ed25519 }, OCTET STRING { 32 bytes } }.
        let prefix = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        assert_eq!(der.as_bytes().len(), 48);
        assert_eq!(der.as_bytes()[..16], prefix);
        let info: PrivateKeyInfo<'_> = der.decode_msg().unwrap();
        assert!(info.public_key.is_none(), "v1 carries no public key");
        assert_eq!(SigningKeys::from_pem(&pem).unwrap().kid(), keys.kid());

        match std::process::Command::new("openssl")
            .args(["pkey", "-noout", "-in"])
            .arg(&path)
            .output()
        {
            Ok(out) => assert!(
                out.status.success(),
                "openssl pkey refused the key: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            // Only a machine without openssl skips this part.
            Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}"),
        }
    }

    #[test]
    fn a_pkcs8_v2_key_still_loads() {
        let keys = SigningKeys::generate();
        // ed25519-dalek's own encoding attaches the public key: PKCS#8 v2 (RFC 5958).
        let v2 = keys.key.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert_ne!(v2.as_str(), keys.to_pem().unwrap());
        let again = SigningKeys::from_pem(&v2).unwrap();
        assert_eq!(again.public_key(), keys.public_key());
        assert_eq!(again.kid(), keys.kid());
    }

    #[test]
    fn debug_output_leaves_the_private_key_out() {
        let keys = SigningKeys::generate();
        let debug = format!("{keys:?}");
        assert!(debug.contains(keys.kid()));
        assert!(!debug.contains("SigningKey {"));
    }

    #[test]
    fn load_or_generate_is_stable_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let keys_dir = dir.path().join("keys");
        let first = SigningKeys::load_or_generate(&keys_dir).unwrap();
        let second = SigningKeys::load_or_generate(&keys_dir).unwrap();
        assert_eq!(first.public_key(), second.public_key());
        assert_eq!(first.kid(), second.kid());
        assert!(keys_dir.join(SIGNING_KEY_FILE).is_file());
        assert!(keys_dir.join(JWKS_FILE).is_file());
        assert!(!keys_dir.join("signing-key.pem.tmp").exists());
    }

    #[test]
    fn load_or_generate_restores_a_missing_jwks() {
        let dir = tempfile::tempdir().unwrap();
        let keys = SigningKeys::load_or_generate(dir.path()).unwrap();
        fs::remove_file(dir.path().join(JWKS_FILE)).unwrap();
        SigningKeys::load_or_generate(dir.path()).unwrap();
        let set = KeySet::from_jwks_file(dir.path().join(JWKS_FILE)).unwrap();
        assert_eq!(set.kids().collect::<Vec<_>>(), [Some(keys.kid())]);
    }

    #[test]
    fn written_jwks_has_the_documented_shape() {
        let dir = tempfile::tempdir().unwrap();
        let keys = SigningKeys::generate();
        keys.write_to_dir(dir.path()).unwrap();
        let jwks: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.path().join(JWKS_FILE)).unwrap()).unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], keys.kid());
        assert_eq!(key["x"], URL_SAFE_NO_PAD.encode(keys.public_key()));
        assert!(key.get("d").is_none());
    }

    #[cfg(unix)]
    #[test]
    fn private_key_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        SigningKeys::generate().write_to_dir(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(SIGNING_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_missing_key_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = SigningKeys::load_from_dir(dir.path()).unwrap_err();
        assert!(
            matches!(&err, AuthError::KeyFile { path, .. } if path.ends_with(SIGNING_KEY_FILE))
        );
    }
}
