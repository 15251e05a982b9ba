use std::path::PathBuf;

use mosaic_types::{MunicipalityCode, MunicipalityCodeError};

use crate::{MUNICIPALITY_HEADER, Role};

/// Why a caller could not be authenticated or scoped, or why key material is unusable.
///
/// Messages name what is wrong with a token but never contain the token, so they are safe to
/// log and to return to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The request carries no `authorization` header.
    #[error("no credentials: send `authorization: Bearer <token>`")]
    MissingToken,
    /// The `authorization` header is present but is not `Bearer <token>`.
    #[error("the authorization header must be `Bearer <token>`")]
    MalformedAuthorization,
    /// The token is not a well-formed, correctly signed EdDSA JWT with the expected claims.
    #[error("invalid token: {reason}")]
    InvalidToken {
        /// What is wrong, e.g. `InvalidSignature`; never the token itself.
        reason: String,
    },
    /// The token's `exp` has passed (beyond the allowed clock skew).
    #[error("token has expired")]
    Expired,
    /// The token's `iss` is not the issuer this service trusts.
    #[error("token was issued by an issuer this service does not trust")]
    WrongIssuer,
    /// The token's `aud` is not this service.
    #[error("token is meant for a different audience")]
    WrongAudience,
    /// No key in the key set matches the token's `kid`.
    #[error("{}", unknown_key_message(.kid.as_deref()))]
    UnknownKeyId {
        /// The key id the token names, shortened to a loggable length.
        kid: Option<String>,
    },
    /// A role bound to one municipality came without a municipality.
    #[error("a {role} token must name its municipality")]
    RoleNeedsMunicipality {
        /// The role that needs a municipality.
        role: Role,
    },
    /// A host organisation's token came without the organisation it acts for.
    #[error("a {role} token must name its organisation in the `org` claim")]
    RoleNeedsOrganisation {
        /// The role that needs an organisation.
        role: Role,
    },
    /// A token of a role that acts for no single organisation named one.
    #[error("a {role} token cannot name an organisation: only host_organisation tokens do")]
    OrganisationNotForRole {
        /// The role that may not carry an organisation.
        role: Role,
    },
    /// A token was asked for with a lifetime outside what the signer issues.
    #[error(
        "a token lifetime must be within {max} hours either way; {hours} hours asked",
        max = crate::MAX_TOKEN_HOURS
    )]
    Lifetime {
        /// The lifetime asked for, in whole hours.
        hours: i64,
    },
    /// A municipality-bound caller asked to act in another municipality.
    #[error("this token is bound to municipality {home} and cannot act for {requested}")]
    OtherMunicipality {
        /// The municipality the token is bound to.
        home: MunicipalityCode,
        /// The municipality the request asked for.
        requested: MunicipalityCode,
    },
    /// The municipality header is not a valid municipality code.
    #[error("the {MUNICIPALITY_HEADER} header is not a municipality code: {0}")]
    BadMunicipalityHeader(MunicipalityCodeError),
    /// A key file could not be read, written or understood.
    #[error("key file {}: {reason}", .path.display())]
    KeyFile {
        /// The file concerned.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Key material (a JWKS document or PEM text) is unusable.
    #[error("invalid key material: {reason}")]
    InvalidKeys {
        /// What is wrong.
        reason: String,
    },
    /// Signing a token failed.
    #[error("could not sign token: {reason}")]
    Signing {
        /// What went wrong.
        reason: String,
    },
}

/// A `kid` comes straight from an unauthenticated header; cap it so a hostile value cannot
/// flood logs or the `grpc-message` trailer.
const MAX_KID_CHARS: usize = 64;

impl AuthError {
    pub(crate) fn unknown_key(kid: Option<&str>) -> Self {
        AuthError::UnknownKeyId {
            kid: kid.map(|k| k.chars().take(MAX_KID_CHARS).collect()),
        }
    }

    pub(crate) fn key_file(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        AuthError::KeyFile {
            path: path.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn invalid_keys(reason: impl ToString) -> Self {
        AuthError::InvalidKeys {
            reason: reason.to_string(),
        }
    }

    /// The gRPC status code this error maps to.
    pub fn code(&self) -> tonic::Code {
        match self {
            AuthError::MissingToken
            | AuthError::MalformedAuthorization
            | AuthError::InvalidToken { .. }
            | AuthError::Expired
            | AuthError::WrongIssuer
            | AuthError::WrongAudience
            | AuthError::UnknownKeyId { .. }
            | AuthError::RoleNeedsMunicipality { .. }
            | AuthError::RoleNeedsOrganisation { .. }
            | AuthError::OrganisationNotForRole { .. } => tonic::Code::Unauthenticated,
            AuthError::OtherMunicipality { .. } => tonic::Code::PermissionDenied,
            AuthError::BadMunicipalityHeader(_) | AuthError::Lifetime { .. } => {
                tonic::Code::InvalidArgument
            }
            AuthError::KeyFile { .. }
            | AuthError::InvalidKeys { .. }
            | AuthError::Signing { .. } => tonic::Code::Internal,
        }
    }
}

fn unknown_key_message(kid: Option<&str>) -> String {
    match kid {
        Some(kid) => {
            format!("token is signed with key {kid:?}, which is not in the trusted key set")
        }
        None => "token names no key id and the trusted key set has more than one key".to_owned(),
    }
}

impl From<AuthError> for tonic::Status {
    fn from(err: AuthError) -> Self {
        let code = err.code();
        let message = match code {
            // Key paths and library errors are for the server log, not for the caller.
            tonic::Code::Internal => "authentication keys are unavailable".to_owned(),
            _ => err.to_string(),
        };
        tonic::Status::new(code, message)
    }
}

/// Translates the verification failures callers can act on into their own variants and
/// everything else into a short reason.
impl From<jsonwebtoken::errors::Error> for AuthError {
    fn from(err: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        let reason = match err.kind() {
            ErrorKind::ExpiredSignature => return AuthError::Expired,
            ErrorKind::InvalidIssuer => return AuthError::WrongIssuer,
            ErrorKind::InvalidAudience => return AuthError::WrongAudience,
            ErrorKind::InvalidToken => "not a well-formed JWT".to_owned(),
            ErrorKind::InvalidSignature => {
                "signature does not verify (InvalidSignature)".to_owned()
            }
            ErrorKind::InvalidAlgorithm => {
                "only EdDSA tokens are accepted (InvalidAlgorithm)".to_owned()
            }
            ErrorKind::ImmatureSignature => "token is not valid yet (ImmatureSignature)".to_owned(),
            ErrorKind::MissingRequiredClaim(claim) => format!("missing claim `{claim}`"),
            ErrorKind::InvalidClaimFormat(claim) => format!("claim `{claim}` has the wrong format"),
            ErrorKind::Base64(_) => "a token segment is not base64url (Base64)".to_owned(),
            ErrorKind::Utf8(_) => "a token segment is not UTF-8 (Utf8)".to_owned(),
            // serde_json names the offending field or value, not the whole payload.
            ErrorKind::Json(json) => format!("header or claims do not parse: {json}"),
            other => format!("{other:?}"),
        };
        AuthError::InvalidToken { reason }
    }
}
