use serde::{Deserialize, Serialize};

/// Every fact the registry records. Stored names are the `rename`s: never change them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum RegistryEvent {
    /// A municipality started running the platform.
    #[serde(rename = "MunicipalityRegistered")]
    MunicipalityRegistered(MunicipalityRegistered),
}

impl mosaic_domain::DomainEvent for RegistryEvent {}

/// Payload of `MunicipalityRegistered` (schema version 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MunicipalityRegistered {
    /// Six-digit local government code.
    pub code: String,
    /// The municipality's name.
    pub name: String,
    /// The prefecture's name.
    pub prefecture: String,
}
