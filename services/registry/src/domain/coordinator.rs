//! The coordinator aggregate: one stream per coordinator, `coordinator-<id>`.

use mosaic_domain::Aggregate;

use crate::domain::{
    CoordinatorEvent, CoordinatorRegistered, PersonalDataErased, RegistryError, SubjectKind,
};

/// The stream of a coordinator.
pub fn stream_id(id: &str) -> String {
    format!("coordinator-{id}")
}

/// What the registry knows of a coordinator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coordinator {
    /// Set once registered.
    pub registered: Option<CoordinatorRegistered>,
    /// Whether their personal data was erased.
    pub erased: bool,
}

/// Commands on a coordinator.
#[derive(Debug, Clone)]
pub enum CoordinatorCommand {
    /// Register a coordinator (the organisation was checked by the caller).
    Register(CoordinatorRegistered),
    /// Destroy their personal data.
    Erase,
}

impl Aggregate for Coordinator {
    type Command = CoordinatorCommand;
    type Event = CoordinatorEvent;
    type Error = RegistryError;

    fn decide(&self, command: &CoordinatorCommand) -> Result<Vec<CoordinatorEvent>, RegistryError> {
        match (command, &self.registered) {
            (CoordinatorCommand::Register(r), None) => {
                Ok(vec![CoordinatorEvent::CoordinatorRegistered(r.clone())])
            }
            (CoordinatorCommand::Register(r), Some(_)) => Err(RegistryError::Exists {
                kind: "coordinator",
                id: r.coordinator_id.to_string(),
            }),
            (CoordinatorCommand::Erase, None) => Err(RegistryError::NotFound {
                kind: "coordinator",
                id: String::new(),
            }),
            // Erasing twice changes nothing.
            (CoordinatorCommand::Erase, Some(_)) if self.erased => Ok(vec![]),
            (CoordinatorCommand::Erase, Some(r)) => Ok(vec![CoordinatorEvent::PersonalDataErased(
                PersonalDataErased {
                    subject_id: r.coordinator_id.to_string(),
                    subject_kind: SubjectKind::Coordinator,
                },
            )]),
        }
    }

    fn evolve(mut self, event: &CoordinatorEvent) -> Self {
        match event {
            CoordinatorEvent::CoordinatorRegistered(e) => self.registered = Some(e.clone()),
            CoordinatorEvent::PersonalDataErased(_) => self.erased = true,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CoordinatorRole;
    use mosaic_domain::given;

    fn registered() -> CoordinatorRegistered {
        CoordinatorRegistered {
            coordinator_id: "c1".into(),
            organisation_id: "o1".into(),
            display_name: "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                .parse()
                .expect("sealed form"),
            account_subject: None,
            roles: vec![CoordinatorRole::Matching],
        }
    }

    #[test]
    fn a_coordinator_is_registered_once_and_erased_once() {
        given::<Coordinator>([])
            .when(CoordinatorCommand::Register(registered()))
            .then([CoordinatorEvent::CoordinatorRegistered(registered())]);
        let erased = CoordinatorEvent::PersonalDataErased(PersonalDataErased {
            subject_id: "c1".into(),
            subject_kind: SubjectKind::Coordinator,
        });
        given::<Coordinator>([CoordinatorEvent::CoordinatorRegistered(registered())])
            .when(CoordinatorCommand::Erase)
            .then([erased.clone()]);
        given::<Coordinator>([
            CoordinatorEvent::CoordinatorRegistered(registered()),
            erased,
        ])
        .when(CoordinatorCommand::Erase)
        .then([]);
    }
}
