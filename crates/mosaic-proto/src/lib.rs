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
