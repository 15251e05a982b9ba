//! The municipality aggregate: one stream per municipality, `municipality-<code>`.

use mosaic_domain::Aggregate;
use mosaic_types::MunicipalityCode;

use crate::domain::{MunicipalityRegistered, RegistryError, RegistryEvent};

/// The stream of a municipality.
pub fn stream_id(code: MunicipalityCode) -> String {
    format!("municipality-{code}")
}

/// What the registry knows of a municipality.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Municipality {
    /// Set once registered.
    pub registered: Option<MunicipalityRegistered>,
}

/// Commands on a municipality.
#[derive(Debug, Clone)]
pub enum MunicipalityCommand {
    /// Start running the platform in a municipality.
    Register {
        /// The code (validated).
        code: MunicipalityCode,
        /// Its name (validated non-empty).
        name: String,
        /// Its prefecture (validated non-empty).
        prefecture: String,
    },
}

impl Aggregate for Municipality {
    type Command = MunicipalityCommand;
    type Event = RegistryEvent;
    type Error = RegistryError;

    fn decide(&self, command: &MunicipalityCommand) -> Result<Vec<RegistryEvent>, RegistryError> {
        match command {
            MunicipalityCommand::Register {
                code,
                name,
                prefecture,
            } => {
                if self.registered.is_some() {
                    return Err(RegistryError::MunicipalityExists(code.to_string()));
                }
                Ok(vec![RegistryEvent::MunicipalityRegistered(
                    MunicipalityRegistered {
                        code: code.to_string(),
                        name: name.trim().to_owned(),
                        prefecture: prefecture.trim().to_owned(),
                    },
                )])
            }
        }
    }

    fn evolve(mut self, event: &RegistryEvent) -> Self {
        match event {
            RegistryEvent::MunicipalityRegistered(e) => self.registered = Some(e.clone()),
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosaic_domain::given;

    fn kashiwa() -> MunicipalityCode {
        MunicipalityCode::parse("122173").expect("valid code")
    }

    fn register() -> MunicipalityCommand {
        MunicipalityCommand::Register {
            code: kashiwa(),
            name: " 柏市 ".into(),
            prefecture: "千葉県".into(),
        }
    }

    fn registered() -> RegistryEvent {
        RegistryEvent::MunicipalityRegistered(MunicipalityRegistered {
            code: "122173".into(),
            name: "柏市".into(),
            prefecture: "千葉県".into(),
        })
    }

    #[test]
    fn registering_a_new_municipality_records_it_with_trimmed_names() {
        given::<Municipality>([])
            .when(register())
            .then([registered()]);
    }

    #[test]
    fn registering_twice_is_refused() {
        given::<Municipality>([registered()])
            .when(register())
            .then_error(RegistryError::MunicipalityExists("122173".into()));
    }

    #[test]
    fn the_stored_name_is_explicit() {
        use mosaic_domain::DomainEvent;
        let (event_type, payload) = registered().to_stored().expect("encodes");
        assert_eq!(event_type, "MunicipalityRegistered");
        assert_eq!(payload["code"], "122173");
        assert_eq!(
            RegistryEvent::from_stored(&event_type, 1, &payload).expect("decodes"),
            registered()
        );
    }
}
