//! The organisation aggregate: one stream per host organisation, `organisation-<id>`.

use mosaic_domain::Aggregate;
use mosaic_types::OrganisationId;

use crate::domain::{
    OrganisationDetails, OrganisationEvent, OrganisationRef, OrganisationRegistered,
    OrganisationSuspended, RegistryError,
};

/// The stream of an organisation.
pub fn stream_id(id: &str) -> String {
    format!("organisation-{id}")
}

/// What the registry knows of an organisation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Organisation {
    /// Its id and details, once registered.
    pub registered: Option<OrganisationRegistered>,
    /// The reason of the current suspension, while suspended.
    pub suspended: Option<String>,
}

/// Commands on an organisation.
#[derive(Debug, Clone)]
pub enum OrganisationCommand {
    /// Register a host organisation.
    Register {
        /// New id.
        organisation_id: OrganisationId,
        /// Validated details, contact sealed.
        details: OrganisationDetails,
    },
    /// Replace the details.
    Update {
        /// Validated details, contact sealed.
        details: OrganisationDetails,
    },
    /// Suspend: no new activities.
    Suspend {
        /// Why.
        reason: String,
    },
    /// End a suspension.
    Reinstate,
}

impl Organisation {
    fn id(&self) -> Result<&str, RegistryError> {
        self.registered
            .as_ref()
            .map(|r| r.organisation_id.as_str())
            .ok_or(RegistryError::NotFound {
                kind: "organisation",
                id: String::new(),
            })
    }
}

impl Aggregate for Organisation {
    type Command = OrganisationCommand;
    type Event = OrganisationEvent;
    type Error = RegistryError;

    fn decide(
        &self,
        command: &OrganisationCommand,
    ) -> Result<Vec<OrganisationEvent>, RegistryError> {
        use OrganisationCommand::*;
        if let Register {
            organisation_id,
            details,
        } = command
        {
            if self.registered.is_some() {
                return Err(RegistryError::Exists {
                    kind: "organisation",
                    id: organisation_id.to_string(),
                });
            }
            return Ok(vec![OrganisationEvent::OrganisationRegistered(
                OrganisationRegistered {
                    organisation_id: organisation_id.clone(),
                    details: details.clone(),
                },
            )]);
        }
        let id = self.id()?.to_owned();
        match command {
            Register { .. } => Ok(vec![]),
            Update { details } => {
                if self.suspended.is_some() {
                    return Err(RegistryError::OrganisationSuspended(id));
                }
                Ok(vec![OrganisationEvent::OrganisationUpdated(
                    OrganisationRegistered {
                        organisation_id: id.into(),
                        details: details.clone(),
                    },
                )])
            }
            Suspend { reason } => {
                if self.suspended.is_some() {
                    return Err(RegistryError::OrganisationSuspended(id));
                }
                Ok(vec![OrganisationEvent::OrganisationSuspended(
                    OrganisationSuspended {
                        organisation_id: id.into(),
                        reason: reason.trim().to_owned(),
                    },
                )])
            }
            Reinstate => {
                if self.suspended.is_none() {
                    return Err(RegistryError::OrganisationNotSuspended(id));
                }
                Ok(vec![OrganisationEvent::OrganisationReinstated(
                    OrganisationRef {
                        organisation_id: id.into(),
                    },
                )])
            }
        }
    }

    fn evolve(mut self, event: &OrganisationEvent) -> Self {
        match event {
            OrganisationEvent::OrganisationRegistered(e)
            | OrganisationEvent::OrganisationUpdated(e) => {
                self.registered = Some(e.clone());
            }
            OrganisationEvent::OrganisationSuspended(e) => self.suspended = Some(e.reason.clone()),
            OrganisationEvent::OrganisationReinstated(_) => self.suspended = None,
        }
        self
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{Licence, OrganisationKind, SealedContact};
    use mosaic_domain::given;
    use mosaic_types::Field;

    pub(crate) fn details() -> OrganisationDetails {
        OrganisationDetails {
            kind: OrganisationKind::SilverCenter,
            name: "柏市シルバー人材センター".into(),
            fields: vec![Field::Agriculture, Field::DailyLifeSupport],
            district: "柏".into(),
            contact: SealedContact {
                name: "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                    .parse()
                    .expect("sealed form"),
                phone: None,
                email: None,
            },
            licences: vec![Licence::WorkerDispatch],
        }
    }

    fn registered() -> OrganisationEvent {
        OrganisationEvent::OrganisationRegistered(OrganisationRegistered {
            organisation_id: "o1".into(),
            details: details(),
        })
    }

    fn suspended() -> OrganisationEvent {
        OrganisationEvent::OrganisationSuspended(OrganisationSuspended {
            organisation_id: "o1".into(),
            reason: "audit".into(),
        })
    }

    #[test]
    fn registering_records_the_details() {
        given::<Organisation>([])
            .when(OrganisationCommand::Register {
                organisation_id: "o1".into(),
                details: details(),
            })
            .then([registered()]);
    }

    #[test]
    fn an_unknown_organisation_cannot_be_suspended() {
        given::<Organisation>([])
            .when(OrganisationCommand::Suspend { reason: "x".into() })
            .then_error(RegistryError::NotFound {
                kind: "organisation",
                id: String::new(),
            });
    }

    #[test]
    fn suspend_then_reinstate_and_not_twice() {
        given::<Organisation>([registered()])
            .when(OrganisationCommand::Suspend {
                reason: " audit ".into(),
            })
            .then([suspended()]);
        given::<Organisation>([registered(), suspended()])
            .when(OrganisationCommand::Suspend {
                reason: "again".into(),
            })
            .then_error(RegistryError::OrganisationSuspended("o1".into()));
        given::<Organisation>([registered(), suspended()])
            .when(OrganisationCommand::Reinstate)
            .then([OrganisationEvent::OrganisationReinstated(OrganisationRef {
                organisation_id: "o1".into(),
            })]);
        given::<Organisation>([registered()])
            .when(OrganisationCommand::Reinstate)
            .then_error(RegistryError::OrganisationNotSuspended("o1".into()));
    }

    #[test]
    fn a_suspended_organisation_cannot_be_updated() {
        given::<Organisation>([registered(), suspended()])
            .when(OrganisationCommand::Update { details: details() })
            .then_error(RegistryError::OrganisationSuspended("o1".into()));
    }
}
