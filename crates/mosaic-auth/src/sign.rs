use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mosaic_types::{MunicipalityCode, OrganisationId};

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

    /// Mints a token for `subject` valid for `ttl` from now, for a role that acts for no single
    /// organisation (a host organisation's token needs [`TokenSigner::mint_scoped`]).
    ///
    /// A negative `ttl` yields an already expired token, which tests use. A `ttl` beyond
    /// [`MAX_TOKEN_HOURS`](crate::MAX_TOKEN_HOURS) either way is refused
    /// ([`AuthError::Lifetime`]); the role and municipality rule is enforced here as well so a
    /// bad token is never handed out.
    pub fn mint(
        &self,
        subject: &str,
        role: Role,
        municipality: Option<MunicipalityCode>,
        ttl: chrono::Duration,
    ) -> Result<String, AuthError> {
        self.mint_scoped(subject, role, municipality, None, ttl)
    }

    /// [`TokenSigner::mint`] with the organisation a host organisation's token is bound to
    /// (its `org` claim): required for [`Role::HostOrganisation`], refused for every other role.
    pub fn mint_scoped(
        &self,
        subject: &str,
        role: Role,
        municipality: Option<MunicipalityCode>,
        organisation: Option<OrganisationId>,
        ttl: chrono::Duration,
    ) -> Result<String, AuthError> {
        let max = chrono::Duration::hours(crate::MAX_TOKEN_HOURS);
        let refused = || AuthError::Lifetime {
            hours: ttl.num_hours(),
        };
        if ttl > max || ttl < -max {
            return Err(refused());
        }
        let now = chrono::Utc::now();
        let exp = now.checked_add_signed(ttl).ok_or_else(refused)?;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: exp.timestamp(),
            iat: now.timestamp(),
            sub: subject.to_owned(),
            role,
            municipality: municipality.map(|code| code.as_str().to_owned()),
            org: organisation.map(|id| id.to_string()),
            jti: Some(uuid::Uuid::now_v7().to_string()),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims as they are, for tokens `mint` cannot express (other issuers,
    /// fixed timestamps). The role, municipality and organisation rules still apply.
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        claims.home_municipality()?;
        claims.organisation()?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|err| AuthError::Signing {
            reason: err.to_string(),
        })
    }
}
