//! How store failures become gRPC statuses: a database that is away is `UNAVAILABLE` (retry
//! helps); stored data that cannot be read is `DATA_LOSS` and a read model or store that answers
//! something impossible is `INTERNAL` (retrying cannot help; details only in logs).

use mosaic_eventstore::StoreError;
use tonic::Status;

use crate::fields::invalid;

/// Maps a store error: a concurrency conflict is `ABORTED` (re-read and decide again), a reused
/// `request_id` is `INVALID_ARGUMENT`, an unreadable stored event `DATA_LOSS`, a database that is
/// away `UNAVAILABLE`, any other database failure `INTERNAL`.
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
        StoreError::Corrupt(reason) => {
            tracing::error!(reason, "a stored event is unreadable");
            Status::data_loss("a stored event of this request is unreadable; operators are alerted")
        }
        StoreError::WriterStopped => {
            tracing::error!("an append found the event store's writer stopped");
            Status::internal(
                "the event store cannot append until the service restarts; operators are alerted",
            )
        }
        StoreError::Database(e) if mosaic_db::transient(&e) => {
            tracing::warn!(error = %e, "event store unavailable");
            Status::unavailable("the event store is unavailable; retry with the same request_id")
        }
        StoreError::Database(e) => {
            tracing::error!(error = %e, "event store failure");
            Status::internal("the event store failed; operators are alerted")
        }
    }
}

/// Maps a read-model database error: `UNAVAILABLE` while the database is away, else `INTERNAL`
/// (details only in logs).
pub fn from_db(error: sqlx::Error) -> Status {
    if mosaic_db::transient(&error) {
        tracing::warn!(error = %error, "read model unavailable");
        return Status::unavailable("the read model is unavailable; retry later");
    }
    tracing::error!(error = %error, "read model failure");
    Status::internal("the read model failed; operators are alerted")
}

/// Maps a personal-data vault error: erased data is `FAILED_PRECONDITION`; a database that is
/// away `UNAVAILABLE`; keys or sealed values that do not open `DATA_LOSS`; anything else
/// `INTERNAL` (details only in logs).
pub fn from_vault(error: mosaic_privacy::PrivacyError) -> Status {
    match error {
        mosaic_privacy::PrivacyError::Erased => {
            Status::failed_precondition("this person's personal data was erased")
        }
        mosaic_privacy::PrivacyError::Database(e) if mosaic_db::transient(&e) => {
            tracing::warn!(error = %e, "personal-data vault unavailable");
            Status::unavailable(
                "the personal-data vault is unavailable; retry with the same request_id",
            )
        }
        e @ (mosaic_privacy::PrivacyError::Undecryptable
        | mosaic_privacy::PrivacyError::Malformed(_)) => {
            tracing::error!(error = %e, "sealed personal data does not open");
            Status::data_loss("sealed personal data does not open; operators are alerted")
        }
        other => {
            tracing::error!(error = %other, "personal-data vault failure");
            Status::internal("the personal-data vault failed; operators are alerted")
        }
    }
}
