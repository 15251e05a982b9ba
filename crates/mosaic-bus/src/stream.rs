//! The `MOSAIC` stream and the connection to NATS.

use std::time::Duration;

use async_nats::jetstream::{self, stream};

/// The stream every context publishes to.
pub const STREAM_NAME: &str = "MOSAIC";

/// A NATS failure, in one line for logs and startup errors.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The NATS URL is malformed.
    #[error("NATS URL is not usable: {0}")]
    BadUrl(String),
    /// JetStream refused or timed out a request.
    #[error("JetStream: {0}")]
    JetStream(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The event store (the outbox or the log) failed.
    #[error("event store, {doing}: {source}")]
    Store {
        /// What the relay was doing.
        doing: &'static str,
        /// The store's error.
        #[source]
        source: mosaic_eventstore::StoreError,
    },
    /// The message on the stream is not an event.
    #[error("message is not a Mosaic event: {0}")]
    Decode(#[source] serde_json::Error),
}

/// How the `MOSAIC` stream is kept.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// Copies kept in a NATS cluster (1 for a single server).
    pub replicas: usize,
    /// How long JetStream remembers message ids to drop re-published copies.
    pub duplicate_window: Duration,
    /// Oldest event kept; zero keeps everything (the default: the stream is the shared log).
    pub max_age: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            max_age: Duration::ZERO,
        }
    }
}

/// Connects to NATS. It does not wait for the server: when NATS is down the client keeps
/// reconnecting in the background, and commands still succeed because events wait in the outbox.
pub async fn connect(url: &str, name: &str) -> Result<async_nats::Client, BusError> {
    if !(url.starts_with("nats://") || url.starts_with("tls://")) {
        return Err(BusError::BadUrl(format!(
            "{url:?} (expected nats://host:port)"
        )));
    }
    async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(3))
        .connect(url)
        .await
        .map_err(|e| BusError::BadUrl(e.to_string()))
}

/// A JetStream context with a bounded request timeout.
pub fn jetstream(client: async_nats::Client) -> jetstream::Context {
    let mut js = jetstream::new(client);
    js.set_timeout(Duration::from_secs(5));
    js
}

/// Creates the `MOSAIC` stream if it does not exist yet.
pub async fn ensure_stream(
    js: &jetstream::Context,
    settings: &StreamSettings,
) -> Result<stream::Stream, BusError> {
    js.get_or_create_stream(stream::Config {
        name: STREAM_NAME.into(),
        subjects: vec!["mosaic.>".into()],
        storage: stream::StorageType::File,
        retention: stream::RetentionPolicy::Limits,
        num_replicas: settings.replicas,
        duplicate_window: settings.duplicate_window,
        max_age: settings.max_age,
        ..Default::default()
    })
    .await
    .map_err(|e| BusError::JetStream(Box::new(e)))
}
