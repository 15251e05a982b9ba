//! The public gRPC contract (`proto/mosaic/v1`), compiled to Rust: messages, clients and server
//! traits, and the encoded descriptor set that server reflection serves.
#![allow(missing_docs, clippy::all)]

/// Package `mosaic.v1`.
pub mod v1 {
    tonic::include_proto!("mosaic.v1");
}

/// The encoded `FileDescriptorSet` of every Mosaic proto file, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("mosaic_descriptor");

/// Fully qualified names of the five services, as health checks and reflection know them.
pub const SERVICE_NAMES: [&str; 5] = [
    "mosaic.v1.RegistryService",
    "mosaic.v1.ActivityService",
    "mosaic.v1.MatchingService",
    "mosaic.v1.FollowUpService",
    "mosaic.v1.InsightsService",
];

/// A roster row's resident is a registration without a retry key or proxy agreement.
impl From<v1::ImportedResident> for v1::RegisterResidentRequest {
    fn from(r: v1::ImportedResident) -> Self {
        Self {
            request_id: String::new(),
            mode: r.mode,
            personal: r.personal,
            profile: r.profile,
            consents: r.consents,
            proxy: None,
            account_subject: r.account_subject,
            guardian_consent: r.guardian_consent,
            occurred_at: r.occurred_at,
        }
    }
}

/// The roster row of a registration (its `request_id` and proxy agreement are left out).
impl From<v1::RegisterResidentRequest> for v1::ImportedResident {
    fn from(r: v1::RegisterResidentRequest) -> Self {
        Self {
            mode: r.mode,
            personal: r.personal,
            profile: r.profile,
            consents: r.consents,
            account_subject: r.account_subject,
            guardian_consent: r.guardian_consent,
            occurred_at: r.occurred_at,
        }
    }
}
