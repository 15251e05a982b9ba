use mosaic_types::{MunicipalityCode, OrganisationId};

use crate::{AuthError, MUNICIPALITY_HEADER, Role};

/// The authenticated caller of one request, placed in the request extensions by
/// [`AuthLayer`](crate::AuthLayer).
///
/// Services read the municipality from here, never from the header, because only this value
/// has been checked against what the token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub`.
    pub subject: String,
    /// The token's role.
    pub role: Role,
    /// The municipality the token is bound to; `None` for a cross-municipality analyst or
    /// operator token.
    pub home: Option<MunicipalityCode>,
    /// The municipality this request acts in: the home municipality for a bound token, the
    /// one named in the [`MUNICIPALITY_HEADER`] header for a cross-municipality token.
    pub municipality: Option<MunicipalityCode>,
    /// The organisation a host organisation's token is bound to (its `org` claim); `None` for
    /// every other role.
    pub organisation: Option<OrganisationId>,
}

impl Caller {
    /// Settles which municipality this request acts in, given the raw value of the
    /// [`MUNICIPALITY_HEADER`] header.
    ///
    /// A bound token may repeat its own municipality or leave the header out, but may not name
    /// another one. A cross-municipality token acts in whatever the header names, or in none.
    pub fn resolve_scope(mut self, requested: Option<&str>) -> Result<Caller, AuthError> {
        let requested = requested
            .map(MunicipalityCode::parse)
            .transpose()
            .map_err(AuthError::BadMunicipalityHeader)?;
        self.municipality = match (self.home, requested) {
            (Some(home), Some(requested)) if requested != home => {
                return Err(AuthError::OtherMunicipality { home, requested });
            }
            (Some(home), _) => Some(home),
            (None, requested) => requested,
        };
        Ok(self)
    }

    /// The municipality the request acts in, or `INVALID_ARGUMENT` for a cross-municipality
    /// caller that did not name one.
    pub fn require_municipality(&self) -> Result<MunicipalityCode, tonic::Status> {
        self.municipality.ok_or_else(|| {
            tonic::Status::invalid_argument(format!(
                "this request needs a municipality: name it in the {MUNICIPALITY_HEADER} header"
            ))
        })
    }

    /// The caller [`AuthLayer`](crate::AuthLayer) attached to `req`, or `UNAUTHENTICATED` if
    /// the service is running without the layer or on an unprotected path.
    pub fn from_request<T>(req: &tonic::Request<T>) -> Result<&Caller, tonic::Status> {
        req.extensions().get::<Caller>().ok_or_else(|| {
            tonic::Status::unauthenticated("this request carries no authenticated caller")
        })
    }

    /// Whether the caller is bound to the organisation `id` (a registry id in its wire form).
    /// Always false for a caller of a role that acts for no single organisation.
    pub fn acts_for_organisation(&self, id: &str) -> bool {
        self.organisation
            .as_ref()
            .is_some_and(|own| OrganisationId::parse(id).is_ok_and(|id| id == *own))
    }

    /// `PERMISSION_DENIED` unless the caller's role is one of `allowed`.
    pub fn require_role(&self, allowed: &[Role]) -> Result<(), tonic::Status> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(tonic::Status::permission_denied(format!(
                "the {} role may not make this request",
                self.role
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const KASHIWA: &str = "122173";
    const CHIYODA: &str = "131016";

    fn code(s: &str) -> MunicipalityCode {
        MunicipalityCode::parse(s).unwrap()
    }

    fn caller(role: Role, home: Option<&str>) -> Caller {
        let home = home.map(code);
        Caller {
            subject: "user-1".to_owned(),
            role,
            home,
            municipality: home,
            organisation: None,
        }
    }

    #[test]
    fn bound_token_acts_in_its_home() {
        let bound = caller(Role::Coordinator, Some(KASHIWA));
        assert_eq!(
            bound.clone().resolve_scope(None).unwrap().municipality,
            Some(code(KASHIWA))
        );
        assert_eq!(
            bound.resolve_scope(Some(KASHIWA)).unwrap().municipality,
            Some(code(KASHIWA))
        );
    }

    #[test]
    fn bound_token_cannot_name_another_municipality() {
        let err = caller(Role::Coordinator, Some(KASHIWA))
            .resolve_scope(Some(CHIYODA))
            .unwrap_err();
        assert_eq!(
            err,
            AuthError::OtherMunicipality {
                home: code(KASHIWA),
                requested: code(CHIYODA)
            }
        );
        assert_eq!(
            tonic::Status::from(err).code(),
            tonic::Code::PermissionDenied
        );
    }

    #[test]
    fn malformed_header_is_invalid_argument_for_everyone() {
        for c in [
            caller(Role::Resident, Some(KASHIWA)),
            caller(Role::Operator, None),
        ] {
            let err = c.resolve_scope(Some("122170")).unwrap_err();
            assert!(matches!(err, AuthError::BadMunicipalityHeader(_)));
            assert_eq!(
                tonic::Status::from(err).code(),
                tonic::Code::InvalidArgument
            );
        }
    }

    #[test]
    fn cross_municipality_token_acts_where_asked() {
        let operator = caller(Role::Operator, None);
        let scoped = operator.clone().resolve_scope(Some(CHIYODA)).unwrap();
        assert_eq!(scoped.municipality, Some(code(CHIYODA)));
        assert_eq!(scoped.home, None);
        let unscoped = operator.resolve_scope(None).unwrap();
        let status = unscoped.require_municipality().unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains(MUNICIPALITY_HEADER));
    }

    #[test]
    fn require_role_names_the_role() {
        let resident = caller(Role::Resident, Some(KASHIWA));
        assert!(
            resident
                .require_role(&[Role::Resident, Role::Coordinator])
                .is_ok()
        );
        let status = resident.require_role(&[Role::Operator]).unwrap_err();
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
        assert!(status.message().contains("resident"));
    }

    #[test]
    fn only_a_host_bound_to_the_organisation_acts_for_it() {
        let own = OrganisationId::new();
        let host = Caller {
            organisation: Some(own.clone()),
            ..caller(Role::HostOrganisation, Some(KASHIWA))
        };
        assert!(host.acts_for_organisation(own.as_str()));
        assert!(!host.acts_for_organisation(OrganisationId::new().as_str()));
        assert!(!host.acts_for_organisation("not-an-id"));
        let coordinator = caller(Role::Coordinator, Some(KASHIWA));
        assert!(!coordinator.acts_for_organisation(own.as_str()));
    }

    #[test]
    fn from_request_needs_the_layer() {
        let mut req = tonic::Request::new(());
        assert_eq!(
            Caller::from_request(&req).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        let c = caller(Role::Analyst, None);
        req.extensions_mut().insert(c.clone());
        assert_eq!(Caller::from_request(&req).unwrap(), &c);
    }
}
