use tonic::Status;

/// Why the registry refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The municipality is registered already.
    #[error("municipality {0} is already registered")]
    MunicipalityExists(String),
}

impl From<RegistryError> for Status {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::MunicipalityExists(_) => Status::already_exists(e.to_string()),
        }
    }
}
