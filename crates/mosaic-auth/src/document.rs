//! Signed documents: claims in a compact JWS (EdDSA) that anyone holding the public key set can
//! verify offline — certificates, for one. Unlike a token, a document does not expire and is
//! meant for no one audience; its `typ` header says what kind of document it is, so a token is
//! never taken for a document or one kind of document for another.

use jsonwebtoken::{Algorithm, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{AuthError, KeySet, SigningKeys};

impl SigningKeys {
    /// The key pair of a 32-byte secret: the same secret always gives the same pair, so every
    /// replica that derives the secret alike signs alike.
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        Self::from_signing_key(ed25519_dalek::SigningKey::from_bytes(secret))
    }

    /// `claims` signed as a compact JWS of kind `typ`, with this key pair's `kid`.
    pub fn sign_document<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid().to_owned());
        header.typ = Some(typ.to_owned());
        let key = EncodingKey::from_ed_der(&self.to_pkcs8_der()?);
        Ok(jsonwebtoken::encode(&header, claims, &key)?)
    }
}

impl KeySet {
    /// The claims of a document of kind `typ` signed by one of these keys. Refused: another
    /// algorithm than EdDSA, another kind, an unknown key, a bad signature, claims of another
    /// shape.
    pub fn verify_document<T: DeserializeOwned>(
        &self,
        typ: &str,
        document: &str,
    ) -> Result<T, AuthError> {
        let header = jsonwebtoken::decode_header(document)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::InvalidToken {
                reason: format!(
                    "algorithm {:?} is not accepted; documents are EdDSA",
                    header.alg
                ),
            });
        }
        if header.typ.as_deref() != Some(typ) {
            return Err(AuthError::InvalidToken {
                reason: format!("not a {typ} document"),
            });
        }
        let key = self.select(header.kid.as_deref())?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        Ok(jsonwebtoken::decode::<T>(document, key, &validation)?.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Paper {
        hours: u32,
    }

    #[test]
    fn a_document_verifies_with_the_key_set_of_its_secret_and_nothing_else() {
        let keys = SigningKeys::from_secret(&[7; 32]);
        assert_eq!(keys.kid(), SigningKeys::from_secret(&[7; 32]).kid());
        let signed = keys
            .sign_document("paper", &Paper { hours: 12 })
            .unwrap_or_default();
        let set =
            KeySet::from_jwks_json(&keys.jwks().to_string()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            set.verify_document::<Paper>("paper", &signed),
            Ok(Paper { hours: 12 })
        );
        assert!(set.verify_document::<Paper>("token", &signed).is_err());
        let other = SigningKeys::from_secret(&[8; 32]).key_set();
        assert!(other.verify_document::<Paper>("paper", &signed).is_err());
        // One claim changed: the signature no longer holds.
        let mut parts: Vec<String> = signed.split('.').map(str::to_owned).collect();
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            r#"{"hours":120}"#,
        );
        assert!(
            set.verify_document::<Paper>("paper", &parts.join("."))
                .is_err()
        );
    }
}
