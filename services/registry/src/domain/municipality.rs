//! The municipality aggregate: one stream per municipality, `municipality-<code>`.

use mosaic_domain::Aggregate;
use mosaic_types::MunicipalityCode;

use crate::domain::{
    MunicipalityEvent, MunicipalityProfile, MunicipalityProfileUpdated, MunicipalityRegistered,
    RegistryError,
};

/// The stream of a municipality.
pub fn stream_id(code: MunicipalityCode) -> String {
    format!("municipality-{code}")
}

/// What the registry knows of a municipality.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Municipality {
    /// Set once registered (with the current profile).
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
        /// Its profile (validated).
        profile: MunicipalityProfile,
    },
    /// Replace the profile.
    UpdateProfile {
        /// The code.
        code: MunicipalityCode,
        /// The new profile (validated).
        profile: MunicipalityProfile,
    },
}

impl Aggregate for Municipality {
    type Command = MunicipalityCommand;
    type Event = MunicipalityEvent;
    type Error = RegistryError;

    fn decide(
        &self,
        command: &MunicipalityCommand,
    ) -> Result<Vec<MunicipalityEvent>, RegistryError> {
        match command {
            MunicipalityCommand::Register {
                code,
                name,
                prefecture,
                profile,
            } => {
                if self.registered.is_some() {
                    return Err(RegistryError::MunicipalityExists(code.to_string()));
                }
                Ok(vec![MunicipalityEvent::MunicipalityRegistered(
                    MunicipalityRegistered {
                        code: code.to_string(),
                        name: name.trim().to_owned(),
                        prefecture: prefecture.trim().to_owned(),
                        profile: profile.clone(),
                    },
                )])
            }
            MunicipalityCommand::UpdateProfile { code, profile } => {
                if self.registered.is_none() {
                    return Err(RegistryError::MunicipalityNotFound(code.to_string()));
                }
                Ok(vec![MunicipalityEvent::MunicipalityProfileUpdated(
                    MunicipalityProfileUpdated {
                        profile: profile.clone(),
                    },
                )])
            }
        }
    }

    fn evolve(mut self, event: &MunicipalityEvent) -> Self {
        match event {
            MunicipalityEvent::MunicipalityRegistered(e) => self.registered = Some(e.clone()),
            MunicipalityEvent::MunicipalityProfileUpdated(e) => {
                if let Some(m) = self.registered.as_mut() {
                    m.profile = e.profile.clone();
                }
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PopulationBand, SilverCenterModel};
    use mosaic_domain::given;

    fn kashiwa() -> MunicipalityCode {
        MunicipalityCode::parse("122173").expect("valid code")
    }

    fn register() -> MunicipalityCommand {
        MunicipalityCommand::Register {
            code: kashiwa(),
            name: " 柏市 ".into(),
            prefecture: "千葉県".into(),
            profile: MunicipalityProfile::default(),
        }
    }

    fn registered() -> MunicipalityEvent {
        MunicipalityEvent::MunicipalityRegistered(MunicipalityRegistered {
            code: "122173".into(),
            name: "柏市".into(),
            prefecture: "千葉県".into(),
            profile: MunicipalityProfile::default(),
        })
    }

    fn profile() -> MunicipalityProfile {
        MunicipalityProfile {
            certified_operator: "柏市生涯現役促進協議会".into(),
            population: vec![PopulationBand {
                from_age: 60,
                to_age: 64,
                population: 23_000,
            }],
            population_as_of: None,
            silver_center_model: Some(SilverCenterModel::Linked),
        }
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
    fn a_profile_is_replaced_only_once_registered() {
        let update = || MunicipalityCommand::UpdateProfile {
            code: kashiwa(),
            profile: profile(),
        };
        given::<Municipality>([])
            .when(update())
            .then_error(RegistryError::MunicipalityNotFound("122173".into()));
        given::<Municipality>([registered()]).when(update()).then([
            MunicipalityEvent::MunicipalityProfileUpdated(MunicipalityProfileUpdated {
                profile: profile(),
            }),
        ]);
    }

    #[test]
    fn an_early_event_without_a_profile_still_reads() {
        use mosaic_domain::DomainEvent;
        let payload = serde_json::json!({"code": "122173", "name": "柏市", "prefecture": "千葉県"});
        assert_eq!(
            MunicipalityEvent::from_stored("MunicipalityRegistered", 1, &payload.to_string())
                .expect("decodes"),
            registered()
        );
    }

    #[test]
    fn the_stored_name_is_explicit() {
        use mosaic_domain::DomainEvent;
        let (event_type, payload) = registered().to_stored().expect("encodes");
        assert_eq!(event_type, "MunicipalityRegistered");
        let fields: serde_json::Value = serde_json::from_str(payload.get()).expect("JSON");
        assert_eq!(fields["code"], "122173");
        assert_eq!(
            MunicipalityEvent::from_stored(&event_type, 1, payload.get()).expect("decodes"),
            registered()
        );
    }
}
