/// Why an append or a read failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream is not at the version the command expected (another writer got there first).
    #[error("stream {stream_id} is at version {actual}, expected {expected}")]
    Conflict {
        /// The stream written to.
        stream_id: String,
        /// What the command expected, e.g. `3` or `no stream`.
        expected: String,
        /// The version found.
        actual: u64,
    },
    /// The idempotency key was used before for a different request.
    #[error("request_id {key:?} was already used for a different request")]
    IdempotencyMismatch {
        /// The reused key.
        key: String,
    },
    /// A stored row could not be turned back into an event.
    #[error("stored event is unreadable: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("event store database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The store's writer task has stopped (it panicked or was aborted): no append commits until
    /// the service restarts.
    #[error("the event store's writer has stopped")]
    WriterStopped,
}

impl From<tokio::task::JoinError> for StoreError {
    /// A read running on its own task failed to finish (it panicked or was cancelled).
    fn from(e: tokio::task::JoinError) -> Self {
        StoreError::Database(sqlx::Error::Io(std::io::Error::other(e)))
    }
}
