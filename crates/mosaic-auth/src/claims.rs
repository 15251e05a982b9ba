use mosaic_types::{MunicipalityCode, OrganisationId};
use serde::{Deserialize, Serialize};

use crate::{AuthError, Role};

/// The payload of a Mosaic token.
///
/// `municipality` and `org` are kept as strings here so a token with a malformed value still
/// parses and is rejected with a precise reason rather than a generic JSON error.
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
    /// The organisation (registry id) a `host_organisation` token is bound to; required for
    /// that role and refused for every other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
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

    /// Applies the role/organisation rule and returns the organisation the token is bound to:
    /// a host organisation's token names exactly one, every other role's names none (an `org`
    /// on another role would suggest a restriction nothing enforces).
    pub fn organisation(&self) -> Result<Option<OrganisationId>, AuthError> {
        match (&self.org, self.role.is_bound_to_organisation()) {
            (Some(id), true) => {
                OrganisationId::parse(id)
                    .map(Some)
                    .map_err(|err| AuthError::InvalidToken {
                        reason: format!("org claim: {err}"),
                    })
            }
            (None, true) => Err(AuthError::RoleNeedsOrganisation { role: self.role }),
            (Some(_), false) => Err(AuthError::OrganisationNotForRole { role: self.role }),
            (None, false) => Ok(None),
        }
    }
}
