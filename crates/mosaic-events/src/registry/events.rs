//! Every fact the registry records. Stored names are the `rename`s and the payloads are what
//! analysts and other contexts read: never change either; a new version of a payload gets a new
//! schema version, and the payload type keeps reading the older ones.
//! Personal data appears only sealed ([`mosaic_privacy::Sealed`]).

use mosaic_privacy::Sealed;
use mosaic_types::{CoordinatorId, OrganisationId, ResidentId};
use serde::{Deserialize, Serialize};

use super::values::{
    AgreementMethod, ConsentPurpose, CoordinatorRole, MunicipalityProfile, OrganisationDetails,
    RegistrationMode, ResidentProfile, SealedPersonal, WithdrawalReason,
};

/// Every fact the registry records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", content = "data")]
pub enum RegistryEvent {
    /// A municipality started running the platform.
    #[serde(rename = "MunicipalityRegistered")]
    MunicipalityRegistered(MunicipalityRegistered),
    /// A municipality's profile was replaced.
    #[serde(rename = "MunicipalityProfileUpdated")]
    MunicipalityProfileUpdated(MunicipalityProfileUpdated),
    /// A host organisation was registered.
    #[serde(rename = "OrganisationRegistered")]
    OrganisationRegistered(OrganisationRegistered),
    /// An organisation's details were replaced.
    #[serde(rename = "OrganisationUpdated")]
    OrganisationUpdated(OrganisationRegistered),
    /// An organisation was suspended.
    #[serde(rename = "OrganisationSuspended")]
    OrganisationSuspended(OrganisationSuspended),
    /// A suspended organisation was reinstated.
    #[serde(rename = "OrganisationReinstated")]
    OrganisationReinstated(OrganisationRef),
    /// A coordinator was registered.
    #[serde(rename = "CoordinatorRegistered")]
    CoordinatorRegistered(CoordinatorRegistered),
    /// A resident registered, fully or as a guest.
    #[serde(rename = "ResidentRegistered")]
    ResidentRegistered(ResidentRegistered),
    /// A guest became a full registrant.
    #[serde(rename = "ResidentUpgraded")]
    ResidentUpgraded(ResidentUpgraded),
    /// A resident's personal data and profile were replaced.
    #[serde(rename = "ResidentProfileUpdated")]
    ResidentProfileUpdated(ResidentProfileUpdated),
    /// A resident granted consent for a purpose.
    #[serde(rename = "ConsentGranted")]
    ConsentGranted(ConsentChanged),
    /// A resident revoked consent for a purpose.
    #[serde(rename = "ConsentRevoked")]
    ConsentRevoked(ConsentChanged),
    /// A guardian consented for a resident under 18.
    #[serde(rename = "GuardianConsentRecorded")]
    GuardianConsentRecorded(AgreementRecorded),
    /// A resident agreed that coordinators may act for them.
    #[serde(rename = "ProxyAgreementRecorded")]
    ProxyAgreementRecorded(ProxyAgreementRecorded),
    /// The resident, or a municipality officer other than the one who recorded it, confirmed a
    /// proxy agreement that staff recorded.
    #[serde(rename = "ProxyAgreementConfirmed")]
    ProxyAgreementConfirmed(ProxyAgreementConfirmed),
    /// A resident ended their proxy agreement.
    #[serde(rename = "ProxyAgreementEnded")]
    ProxyAgreementEnded(ResidentRef),
    /// A resident withdrew from the platform.
    #[serde(rename = "ResidentWithdrew")]
    ResidentWithdrew(ResidentWithdrew),
    /// A withdrawn resident came back.
    #[serde(rename = "ResidentRejoined")]
    ResidentRejoined(ResidentRef),
    /// A person's personal data was destroyed (their key is gone). Every context that keeps
    /// personal data of this subject destroys its own key when it consumes this.
    #[serde(rename = "PersonalDataErased")]
    PersonalDataErased(PersonalDataErased),
}

/// One aggregate's own events: the same stored names and payloads as [`RegistryEvent`], so each
/// aggregate decides and evolves over exactly the events its stream can hold.
macro_rules! aggregate_events {
    ($(#[$meta:meta])* $name:ident { $($variant:ident($payload:ty)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", content = "data")]
        pub enum $name {
            $(
                #[doc = concat!("See [`RegistryEvent::", stringify!($variant), "`].")]
                $variant($payload),
            )+
        }

        impl mosaic_domain::DomainEvent for $name {
            fn schema_version(event_type: &str) -> u32 {
                <RegistryEvent as mosaic_domain::DomainEvent>::schema_version(event_type)
            }
        }

        impl From<$name> for RegistryEvent {
            fn from(event: $name) -> Self {
                match event {
                    $($name::$variant(payload) => RegistryEvent::$variant(payload),)+
                }
            }
        }
    };
}

aggregate_events!(
    /// The events of a municipality's stream.
    MunicipalityEvent {
        MunicipalityRegistered(MunicipalityRegistered),
        MunicipalityProfileUpdated(MunicipalityProfileUpdated),
    }
);

aggregate_events!(
    /// The events of a host organisation's stream.
    OrganisationEvent {
        OrganisationRegistered(OrganisationRegistered),
        OrganisationUpdated(OrganisationRegistered),
        OrganisationSuspended(OrganisationSuspended),
        OrganisationReinstated(OrganisationRef),
    }
);

aggregate_events!(
    /// The events of a coordinator's stream.
    CoordinatorEvent {
        CoordinatorRegistered(CoordinatorRegistered),
        PersonalDataErased(PersonalDataErased),
    }
);

aggregate_events!(
    /// The events of a resident's stream.
    ResidentEvent {
        ResidentRegistered(ResidentRegistered),
        ResidentUpgraded(ResidentUpgraded),
        ResidentProfileUpdated(ResidentProfileUpdated),
        ConsentGranted(ConsentChanged),
        ConsentRevoked(ConsentChanged),
        GuardianConsentRecorded(AgreementRecorded),
        ProxyAgreementRecorded(ProxyAgreementRecorded),
        ProxyAgreementConfirmed(ProxyAgreementConfirmed),
        ProxyAgreementEnded(ResidentRef),
        ResidentWithdrew(ResidentWithdrew),
        ResidentRejoined(ResidentRef),
        PersonalDataErased(PersonalDataErased),
    }
);

impl mosaic_domain::DomainEvent for RegistryEvent {
    fn schema_version(event_type: &str) -> u32 {
        match event_type {
            // 2: the login is sealed and indexed (`login`) instead of kept in clear, and a
            // proxy agreement says whether staff recorded it.
            "ResidentRegistered" => 2,
            // 2: says whether staff recorded it (`recorded_by_staff`).
            "ProxyAgreementRecorded" => 2,
            _ => 1,
        }
    }
}

/// A resident's login, as stored: the subject of the login token (often an e-mail address) is
/// personal data, so it is kept sealed under the resident's key (erased with it), with a keyed
/// hash to find the resident by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Login {
    /// HMAC-SHA256 of the subject under a key derived from the master key for the
    /// municipality (lowercase hex): equal for equal subjects, and nothing more.
    pub index: String,
    /// The subject, sealed under the resident's key.
    pub subject: Sealed,
}

/// Payload of `MunicipalityRegistered` (schema version 1; `profile` may be absent in early
/// events and then reads as empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MunicipalityRegistered {
    /// Six-digit local government code.
    pub code: String,
    /// The municipality's name.
    pub name: String,
    /// The prefecture's name.
    pub prefecture: String,
    /// Its profile.
    #[serde(default)]
    pub profile: MunicipalityProfile,
}

/// Payload of `MunicipalityProfileUpdated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MunicipalityProfileUpdated {
    /// The new profile.
    pub profile: MunicipalityProfile,
}

/// Payload of `OrganisationRegistered` and `OrganisationUpdated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrganisationRegistered {
    /// The organisation.
    pub organisation_id: OrganisationId,
    /// Its details (contact sealed).
    pub details: OrganisationDetails,
}

/// Payload of `OrganisationSuspended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrganisationSuspended {
    /// The organisation.
    pub organisation_id: OrganisationId,
    /// Why.
    pub reason: String,
}

/// An event about an organisation that carries nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrganisationRef {
    /// The organisation.
    pub organisation_id: OrganisationId,
}

/// Payload of `CoordinatorRegistered`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoordinatorRegistered {
    /// The coordinator.
    pub coordinator_id: CoordinatorId,
    /// The organisation they belong to.
    pub organisation_id: OrganisationId,
    /// Their name (sealed under the coordinator's key).
    pub display_name: Sealed,
    /// The subject of their login token.
    pub account_subject: Option<String>,
    /// What they do.
    pub roles: Vec<CoordinatorRole>,
}

/// Payload of `ResidentRegistered`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResidentRegistered {
    /// The resident.
    pub resident_id: ResidentId,
    /// Full or guest.
    pub mode: RegistrationMode,
    /// Personal data (sealed under the resident's key).
    pub personal: SealedPersonal,
    /// The matching profile.
    pub profile: ResidentProfile,
    /// Purposes consented to at registration.
    pub consents: Vec<ConsentPurpose>,
    /// Schema 1 only: the subject of the resident's login token, in clear. Schema 2 writes
    /// `login` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_subject: Option<String>,
    /// Schema 2: the resident's login, if any — found by its keyed hash, shown by opening it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<Login>,
    /// How the resident agreed to a coordinator registering them, if one did.
    pub proxy: Option<AgreementMethod>,
    /// Schema 2: staff recorded the proxy agreement — the digest of who did. It lets staff
    /// change consents or withdraw the resident only once confirmed
    /// (`ProxyAgreementConfirmed`). Absent: no agreement, or one that needs no confirmation
    /// (schema 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_recorded_by_staff: Option<String>,
    /// Whether a guardian's consent was recorded with the registration.
    pub guardian_consent: bool,
    /// The roster row this registration was imported from, if any.
    pub import_row: Option<String>,
}

/// Payload of `ResidentUpgraded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResidentUpgraded {
    /// The resident.
    pub resident_id: ResidentId,
    /// The full profile.
    pub profile: ResidentProfile,
}

/// Payload of `ResidentProfileUpdated`: the whole new state, so a consumer replaces what it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResidentProfileUpdated {
    /// The resident.
    pub resident_id: ResidentId,
    /// Personal data (sealed).
    pub personal: SealedPersonal,
    /// The matching profile.
    pub profile: ResidentProfile,
}

/// Payload of `ConsentGranted` and `ConsentRevoked`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConsentChanged {
    /// The resident.
    pub resident_id: ResidentId,
    /// The purpose.
    pub purpose: ConsentPurpose,
}

/// Payload of `ProxyAgreementRecorded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProxyAgreementRecorded {
    /// The resident.
    pub resident_id: ResidentId,
    /// How it was given.
    pub method: AgreementMethod,
    /// Staff recorded it — the digest of who did: it lets staff change consents or withdraw the
    /// resident only once the resident or another municipality officer confirms it
    /// (`ProxyAgreementConfirmed`). Absent: the resident recorded it themself, or the event
    /// predates confirmations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_by_staff: Option<String>,
}

/// Payload of `ProxyAgreementConfirmed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProxyAgreementConfirmed {
    /// The resident.
    pub resident_id: ResidentId,
    /// Who confirmed it (the envelope's actor says which person).
    pub confirmed_by: Confirmer,
}

/// Who may confirm a proxy agreement that staff recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confirmer {
    /// The resident themself.
    Resident,
    /// A municipality officer (or operator) other than the one who recorded it.
    Officer,
}

/// Payload of `GuardianConsentRecorded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgreementRecorded {
    /// The resident.
    pub resident_id: ResidentId,
    /// How it was given.
    pub method: AgreementMethod,
}

/// An event about a resident that carries nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResidentRef {
    /// The resident.
    pub resident_id: ResidentId,
}

/// Payload of `ResidentWithdrew`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResidentWithdrew {
    /// The resident.
    pub resident_id: ResidentId,
    /// Why.
    pub reason: WithdrawalReason,
}

/// Whose personal data was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A resident.
    Resident,
    /// A coordinator.
    Coordinator,
}

/// Payload of `PersonalDataErased`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PersonalDataErased {
    /// The resident or coordinator id: the subject of the destroyed keys in every context.
    pub subject_id: String,
    /// What the subject is.
    pub subject_kind: SubjectKind,
}
