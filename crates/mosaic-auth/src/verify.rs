use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, Validation};
use sha2::{Digest, Sha256};

use crate::{AuthError, Caller, Claims, KeySet};

/// Allowed clock skew between the token issuer and this service.
const LEEWAY_SECONDS: u64 = 30;

/// At most this many verified tokens are remembered; past it the memory starts afresh.
const MAX_REMEMBERED: usize = 10_000;

/// Checks bearer tokens against a [`KeySet`], one issuer and one audience.
///
/// A client sends the same token with every call, and checking its signature (Ed25519) is most of
/// the cost of authenticating a call, so a verified token is remembered with the caller it names
/// until it expires. Only a token that passed every check is remembered, under the SHA-256 of its
/// exact text (so no token is kept or printed); the keys of a verifier never change (a new key set
/// is a new verifier).
#[derive(Clone)]
pub struct TokenVerifier {
    keys: KeySet,
    validation: Validation,
    verified: Arc<Mutex<HashMap<[u8; 32], Remembered>>>,
    clock: Clock,
}

/// The time as seconds since the epoch; the system clock unless a test sets another.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("keys", &self.keys)
            .field("validation", &self.validation)
            .finish_non_exhaustive()
    }
}

fn fingerprint(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A verified token's caller and its expiry (`exp`, seconds since the epoch).
#[derive(Debug)]
struct Remembered {
    caller: Caller,
    exp: i64,
}

impl TokenVerifier {
    /// A verifier trusting tokens signed by `keys` for `issuer` and `audience`.
    pub fn new(keys: KeySet, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECONDS;
        // `exp` is required (below) and checked against this verifier's clock in `check`.
        validation.validate_exp = false;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        // jsonwebtoken only checks `iss` and `aud` when they are present unless told they are
        // required; a token that leaves them out must not slip through.
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer.into()]);
        validation.set_audience(&[audience.into()]);
        Self {
            keys,
            validation,
            verified: Arc::default(),
            clock: Arc::new(|| chrono::Utc::now().timestamp()),
        }
    }

    /// This verifier with another clock, for tests that move time instead of waiting.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The keys this verifier trusts.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Verifies `token` and returns the caller it names, scoped to its home municipality.
    /// Apply [`Caller::resolve_scope`] to honour a municipality named by the request.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let now = (self.clock)();
        // Valid as long as a fresh check would accept it: until `exp` plus the leeway.
        let still_valid = |r: &Remembered| now <= r.exp.saturating_add(LEEWAY_SECONDS as i64);
        let print = fingerprint(token);
        if let Ok(verified) = self.verified.lock()
            && let Some(r) = verified.get(&print).filter(|r| still_valid(r))
        {
            return Ok(r.caller.clone());
        }
        let (caller, exp) = self.check(token)?;
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= MAX_REMEMBERED {
                verified.clear();
            }
            verified.insert(
                print,
                Remembered {
                    caller: caller.clone(),
                    exp,
                },
            );
        }
        Ok(caller)
    }

    /// Every check of a token, and the caller it names with its expiry.
    fn check(&self, token: &str) -> Result<(Caller, i64), AuthError> {
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
        let now = (self.clock)();
        if claims.exp.saturating_add(LEEWAY_SECONDS as i64) < now {
            return Err(AuthError::Expired);
        }
        // jsonwebtoken does not look at `iat`. A token issued in the future comes from an issuer
        // whose clock is wrong, or was made to outlive its stated lifetime: refused.
        if claims.iat > now + LEEWAY_SECONDS as i64 {
            return Err(AuthError::InvalidToken {
                reason: "`iat` is in the future (beyond the allowed clock skew)".to_owned(),
            });
        }
        if claims.sub.is_empty() {
            return Err(AuthError::InvalidToken {
                reason: "empty `sub` claim".to_owned(),
            });
        }
        let home = claims.home_municipality()?;
        let organisation = claims.organisation()?;
        let caller = Caller {
            subject: claims.sub,
            role: claims.role,
            home,
            municipality: home,
            organisation,
        };
        Ok((caller, claims.exp))
    }
}
