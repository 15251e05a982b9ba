use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mosaic_types::MunicipalityCode;

use crate::{AuthError, Claims, Role, SigningKeys};

/// Mints EdDSA tokens for one issuer and audience.
///
/// Used by the embedded server and by `mosaic token`; an external OIDC provider replaces it
/// entirely, which is why verification never depends on it.
#[derive(Clone)]
pub struct TokenSigner {
    key: EncodingKey,
    kid: String,
    issuer: String,
    audience: String,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer using `keys`, stamping tokens with `issuer` and `audience`.
    pub fn new(
        keys: &SigningKeys,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, AuthError> {
        Ok(Self {
            key: EncodingKey::from_ed_der(&keys.to_pkcs8_der()?),
            kid: keys.kid().to_owned(),
            issuer: issuer.into(),
            audience: audience.into(),
        })
    }

    /// The key id written into every token's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The `iss` claim of minted tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `aud` claim of minted tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Mints a token for `subject` valid for `ttl` from now.
    ///
    /// A negative `ttl` yields an already expired token, which tests use; the role and
    /// municipality rule is enforced here as well so a bad token is never handed out.
    pub fn mint(
        &self,
        subject: &str,
        role: Role,
        municipality: Option<MunicipalityCode>,
        ttl: chrono::Duration,
    ) -> Result<String, AuthError> {
        let now = chrono::Utc::now();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: (now + ttl).timestamp(),
            iat: now.timestamp(),
            sub: subject.to_owned(),
            role,
            municipality: municipality.map(|code| code.as_str().to_owned()),
            jti: Some(uuid::Uuid::now_v7().to_string()),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims as they are, for tokens `mint` cannot express (other issuers,
    /// fixed timestamps). The role and municipality rule still applies.
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        claims.home_municipality()?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|err| AuthError::Signing {
            reason: err.to_string(),
        })
    }
}
