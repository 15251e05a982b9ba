//! How store failures become gRPC statuses.

use mosaic_eventstore::StoreError;
use tonic::Status;

use crate::fields::invalid;

/// Maps a store error: a concurrency conflict is `ABORTED` (re-read and decide again), a reused
/// `request_id` is `INVALID_ARGUMENT`, anything else is `UNAVAILABLE` with details only in logs.
pub fn from_store(error: StoreError) -> Status {
    match error {
        StoreError::Conflict {
            stream_id,
            expected,
            actual,
        } => Status::aborted(format!(
            "{stream_id} changed concurrently (expected version {expected}, found {actual}); read it again and retry"
        )),
        StoreError::IdempotencyMismatch { .. } => {
            invalid("request_id", "was already used for a different request")
        }
        other => {
            tracing::error!(error = %other, "event store failure");
            Status::unavailable("the event store is unavailable; retry with the same request_id")
        }
    }
}

/// Maps a read-model database error (details only in logs).
pub fn from_db(error: sqlx::Error) -> Status {
    tracing::error!(error = %error, "read model failure");
    Status::unavailable("the read model is unavailable; retry later")
}

/// Maps a personal-data vault error: erased data is `FAILED_PRECONDITION`; anything else is
/// `UNAVAILABLE` with details only in logs.
pub fn from_vault(error: mosaic_privacy::PrivacyError) -> Status {
    match error {
        mosaic_privacy::PrivacyError::Erased => {
            Status::failed_precondition("this person's personal data was erased")
        }
        other => {
            tracing::error!(error = %other, "personal-data vault failure");
            Status::unavailable(
                "the personal-data vault is unavailable; retry with the same request_id",
            )
        }
    }
}
