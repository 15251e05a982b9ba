use mosaic_types::MunicipalityCode;
use serde::{Deserialize, Serialize};

use crate::{AuthError, Role};

/// The payload of a Mosaic token.
///
/// `municipality` is kept as a string here so a token with a malformed code still parses and is
/// rejected with a precise reason rather than a generic JSON error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who issued the token.
    pub iss: String,
    /// Who the token is meant for.
    pub aud: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// The caller's stable identifier.
    pub sub: String,
    /// The caller's role.
    pub role: Role,
    /// The six-digit municipality code the token is bound to; absent only for roles that may
    /// span municipalities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
    /// Token identifier, for audit trails and revocation lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

impl Claims {
    /// Applies the role/municipality rule and returns the municipality the token is bound to
    /// (`None` for a cross-municipality analyst or operator token).
    pub fn home_municipality(&self) -> Result<Option<MunicipalityCode>, AuthError> {
        match &self.municipality {
            Some(code) => {
                MunicipalityCode::parse(code)
                    .map(Some)
                    .map_err(|err| AuthError::InvalidToken {
                        reason: format!("municipality claim: {err}"),
                    })
            }
            None if self.role.may_span_municipalities() => Ok(None),
            None => Err(AuthError::RoleNeedsMunicipality { role: self.role }),
        }
    }
}
