//! Certificates: what a completed engagement proves, signed so that another system can verify
//! it offline with the platform's public key set. The claims name the resident by id only.

use chrono::NaiveDate;
use mosaic_types::{ActivityId, OrganisationId, ResidentId};
use serde::{Deserialize, Serialize};

/// The `typ` header of a signed certificate.
pub const CERTIFICATE_TYPE: &str = "mosaic-certificate+jwt";

/// What a certificate says: the claims of its signed document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Certificate {
    /// The certificate: the id of the engagement it certifies (one certificate per engagement).
    pub certificate_id: String,
    /// The municipality (six-digit code) whose platform issued it.
    pub municipality: String,
    /// The resident, by id.
    pub resident_id: ResidentId,
    /// The activity.
    pub activity_id: ActivityId,
    /// The activity's title when the certificate was issued.
    pub activity_title: String,
    /// How the resident took part (e.g. `internship`, `volunteer`).
    pub engagement_form: String,
    /// The host organisation.
    pub host_organisation_id: OrganisationId,
    /// The first day of the engagement (JST).
    pub first_day: NaiveDate,
    /// Its last day (JST).
    pub last_day: NaiveDate,
    /// Minutes attended, as the host or staff recorded them.
    pub verified_minutes: u64,
    /// Sessions attended.
    pub sessions_attended: u32,
    /// The day it was issued (JST).
    pub issued_on: NaiveDate,
}

/// Payload of `CertificateIssued`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CertificateIssued {
    /// The engagement.
    pub engagement_id: String,
    /// What it says.
    pub certificate: Certificate,
    /// The signed document: a compact JWS (EdDSA, `typ` `mosaic-certificate+jwt`) of the claims.
    pub document: String,
}
