/// Why the registry refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The municipality is registered already.
    #[error("municipality {0} is already registered")]
    MunicipalityExists(String),
    /// The municipality is not registered.
    #[error("municipality {0} is not registered")]
    MunicipalityNotFound(String),
    /// No such entity in this municipality.
    #[error("{kind} {id} does not exist in this municipality")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The entity exists already (an id reused).
    #[error("{kind} {id} exists already")]
    Exists {
        /// What.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The organisation is suspended.
    #[error("organisation {0} is suspended")]
    OrganisationSuspended(String),
    /// The organisation is not suspended.
    #[error("organisation {0} is not suspended")]
    OrganisationNotSuspended(String),
    /// The resident has withdrawn.
    #[error("resident {0} has withdrawn; re-join first")]
    ResidentWithdrawn(String),
    /// The resident is not withdrawn.
    #[error("resident {0} has not withdrawn")]
    ResidentNotWithdrawn(String),
    /// The resident's personal data was erased.
    #[error("{0}'s personal data was erased; the record is anonymous for ever")]
    Erased(String),
    /// The resident is fully registered already.
    #[error("resident {0} is fully registered already")]
    AlreadyFull(String),
    /// A possible minor needs a guardian's consent first.
    #[error(
        "resident {0} may be under 18: record a guardian's consent before granting matching consent"
    )]
    GuardianConsentMissing(String),
    /// There is no proxy agreement to confirm.
    #[error("resident {0} has no proxy agreement to confirm")]
    NoProxyAgreement(String),
    /// The staff member who recorded a proxy agreement tried to confirm it.
    #[error(
        "resident {0}'s proxy agreement must be confirmed by the resident or by a municipality \
         officer other than the one who recorded it"
    )]
    OwnConfirmation(String),
}
