use jsonwebtoken::{Algorithm, Validation};

use crate::{AuthError, Caller, Claims, KeySet};

/// Allowed clock skew between the token issuer and this service.
const LEEWAY_SECONDS: u64 = 30;

/// Checks bearer tokens against a [`KeySet`], one issuer and one audience.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    keys: KeySet,
    validation: Validation,
}

impl TokenVerifier {
    /// A verifier trusting tokens signed by `keys` for `issuer` and `audience`.
    pub fn new(keys: KeySet, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        // jsonwebtoken only checks `iss` and `aud` when they are present unless told they are
        // required; a token that leaves them out must not slip through.
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer.into()]);
        validation.set_audience(&[audience.into()]);
        Self { keys, validation }
    }

    /// The keys this verifier trusts.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Verifies `token` and returns the caller it names, scoped to its home municipality.
    /// Apply [`Caller::resolve_scope`] to honour a municipality named by the request.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        // The header is read before the signature is checked, but only to pick a key; an
        // `alg` other than EdDSA (including `none` and HMAC) is refused before any key is used.
        let header = jsonwebtoken::decode_header(token)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::InvalidToken {
                reason: format!(
                    "algorithm {:?} is not accepted; tokens must be EdDSA",
                    header.alg
                ),
            });
        }
        let key = self.keys.select(header.kid.as_deref())?;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation)?.claims;
        if claims.sub.is_empty() {
            return Err(AuthError::InvalidToken {
                reason: "empty `sub` claim".to_owned(),
            });
        }
        let home = claims.home_municipality()?;
        Ok(Caller {
            subject: claims.sub,
            role: claims.role,
            home,
            municipality: home,
        })
    }
}
