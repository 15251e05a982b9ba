use std::fmt;
use std::fs;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};

use crate::AuthError;

/// The public keys tokens are verified against, loaded from a JWKS document.
///
/// Only Ed25519 (`kty: OKP`, `crv: Ed25519`) keys are kept; anything else in the document is
/// skipped, so the JWKS of an external OIDC provider that also publishes RSA keys still loads.
#[derive(Clone)]
pub struct KeySet {
    keys: Vec<(Option<String>, DecodingKey)>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.kids().collect::<Vec<_>>())
            .finish()
    }
}

/// The JWKS envelope with each key left unparsed, so one key `jsonwebtoken` cannot represent
/// does not make the whole document unreadable.
#[derive(serde::Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

impl KeySet {
    /// Reads a JWKS file.
    pub fn from_jwks_file(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        let path = path.as_ref();
        let json = fs::read_to_string(path).map_err(|err| AuthError::key_file(path, err))?;
        Self::from_jwks_json(&json).map_err(|err| AuthError::key_file(path, err))
    }

    /// Parses a JWKS document. Fails if it holds no usable Ed25519 key, since a verifier with
    /// an empty key set would reject every request.
    pub fn from_jwks_json(json: &str) -> Result<Self, AuthError> {
        let raw: RawJwkSet = serde_json::from_str(json)
            .map_err(|err| AuthError::invalid_keys(format!("not a JWKS document: {err}")))?;
        let mut set = KeySet { keys: Vec::new() };
        for value in raw.keys {
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                tracing::debug!("skipping a JWKS entry that is not a recognisable JWK");
                continue;
            };
            match ed25519_decoding_key(&jwk) {
                Ok(Some(key)) => set.keys.push((jwk.common.key_id.clone(), key)),
                Ok(None) => {
                    tracing::debug!(kid = ?jwk.common.key_id, "skipping a non-Ed25519 JWKS key");
                }
                Err(reason) => {
                    return Err(AuthError::invalid_keys(format!(
                        "Ed25519 key {:?}: {reason}",
                        jwk.common.key_id
                    )));
                }
            }
        }
        if set.keys.is_empty() {
            return Err(AuthError::invalid_keys(
                "the JWKS holds no Ed25519 signing key",
            ));
        }
        Ok(set)
    }

    pub(crate) fn from_ed25519_public_key(kid: Option<String>, public: &[u8; 32]) -> Self {
        // Despite its name, `from_ed_der` stores the bytes as given and the EdDSA verifier
        // reads them as the raw 32-byte public key, the same form a JWK `x` decodes to.
        let key = DecodingKey::from_ed_der(public);
        KeySet {
            keys: vec![(kid, key)],
        }
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set is empty; never true for a set built by this crate.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids in the set, `None` for keys published without one.
    pub fn kids(&self) -> impl Iterator<Item = Option<&str>> {
        self.keys.iter().map(|(kid, _)| kid.as_deref())
    }

    /// The key a token with header `kid` must verify against. A token without a `kid` is only
    /// accepted when there is no choice to make.
    pub(crate) fn select(&self, kid: Option<&str>) -> Result<&DecodingKey, AuthError> {
        match kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|(k, _)| k.as_deref() == Some(kid))
                .map(|(_, key)| key)
                .ok_or_else(|| AuthError::unknown_key(Some(kid))),
            None => match self.keys.as_slice() {
                [(_, key)] => Ok(key),
                _ => Err(AuthError::unknown_key(None)),
            },
        }
    }
}

/// `Ok(None)` for keys of another type; `Err` for an Ed25519 key that is broken, because that
/// is a mistake in the document rather than a key meant for someone else.
fn ed25519_decoding_key(jwk: &Jwk) -> Result<Option<DecodingKey>, String> {
    let AlgorithmParameters::OctetKeyPair(params) = &jwk.algorithm else {
        return Ok(None);
    };
    if params.curve != EllipticCurve::Ed25519 {
        return Ok(None);
    }
    if let Some(alg) = jwk.common.key_algorithm
        && alg != KeyAlgorithm::EdDSA
    {
        return Ok(None);
    }
    // jsonwebtoken's EdDSA verifier slices the first 32 bytes without a length check and
    // would panic on a short key, so the length and the point are checked here.
    let x = URL_SAFE_NO_PAD
        .decode(&params.x)
        .map_err(|err| format!("`x` is not base64url: {err}"))?;
    let x: [u8; 32] = x
        .try_into()
        .map_err(|x: Vec<u8>| format!("`x` is {} bytes, not 32", x.len()))?;
    ed25519_dalek::VerifyingKey::from_bytes(&x)
        .map_err(|_| "`x` is not a valid Ed25519 public key".to_owned())?;
    DecodingKey::from_jwk(jwk)
        .map(Some)
        .map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::SigningKeys;

    #[test]
    fn keeps_only_ed25519_keys_by_kid() {
        let a = SigningKeys::generate();
        let b = SigningKeys::generate();
        let mut keys = a.jwks()["keys"].as_array().unwrap().clone();
        keys.extend(b.jwks()["keys"].as_array().unwrap().iter().cloned());
        keys.push(serde_json::json!({
            "kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
            "e": "AQAB"
        }));
        keys.push(serde_json::json!({ "kty": "something-new", "kid": "future" }));
        let json = serde_json::json!({ "keys": keys }).to_string();

        let set = KeySet::from_jwks_json(&json).unwrap();
        assert_eq!(
            set.kids().collect::<Vec<_>>(),
            [Some(a.kid()), Some(b.kid())]
        );
        assert!(set.select(Some(a.kid())).is_ok());
        assert!(set.select(Some(b.kid())).is_ok());
        assert!(matches!(
            set.select(Some("rsa-1")),
            Err(AuthError::UnknownKeyId { .. })
        ));
        // Two keys: a token without a kid is ambiguous.
        assert!(matches!(
            set.select(None),
            Err(AuthError::UnknownKeyId { kid: None })
        ));
    }

    #[test]
    fn a_single_key_serves_tokens_without_kid() {
        let set = SigningKeys::generate().key_set();
        assert!(set.select(None).is_ok());
    }

    #[test]
    fn loads_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let keys = SigningKeys::generate();
        keys.write_to_dir(dir.path()).unwrap();
        let set = KeySet::from_jwks_file(dir.path().join(crate::JWKS_FILE)).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.kids().next(), Some(Some(keys.kid())));
    }

    #[test]
    fn rejects_documents_without_usable_keys() {
        assert!(KeySet::from_jwks_json(r#"{"keys":[]}"#).is_err());
        assert!(KeySet::from_jwks_json("not json").is_err());
        let short = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"short"}]}"#;
        let err = KeySet::from_jwks_json(short).unwrap_err();
        assert!(err.to_string().contains("not 32"), "{err}");
    }
}
