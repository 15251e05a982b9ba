//! The outbox relay: one active per store, publishing the log in position order. The store's
//! outbox is the log itself past the position published so far.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use futures::future::try_join_all;
use mosaic_eventstore::{EventStore, LogQuery, StoredEvent};
use mosaic_types::Backoff;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::BusError;
use crate::message::{encode_event, subject_for};

/// How a relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Events published per round trip (whole appends, at least one).
    pub batch: u32,
    /// Lease time where the lead is a lease (SQLite): a standby takes over this long after the
    /// active relay stops renewing. On PostgreSQL the lead passes as soon as the leader's
    /// connection closes.
    pub lease_ttl: Duration,
    /// How often to look for new events when no append in this process signalled one.
    pub poll: Duration,
    /// This relay's name as a leader (unique per process).
    pub holder: String,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch: 500,
            lease_ttl: Duration::from_secs(15),
            poll: Duration::from_millis(200),
            holder: format!("relay-{}", uuid::Uuid::now_v7()),
        }
    }
}

/// Publishes one store's outbox to JetStream.
pub struct Relay {
    store: Arc<dyn EventStore>,
    js: jetstream::Context,
    config: RelayConfig,
}

impl Relay {
    /// A relay for `store` publishing through `js`.
    pub fn new(store: Arc<dyn EventStore>, js: jetstream::Context, config: RelayConfig) -> Self {
        Self { store, js, config }
    }

    fn lease_name(&self) -> String {
        format!("relay:{}", self.store.context())
    }

    /// Runs until `shutdown` turns true. Only the leader publishes; the others wait.
    /// Publishing errors (NATS down) are retried with backoff: the outbox keeps every event.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let lease = self.lease_name();
        let mut lead = self
            .store
            .leader(&lease, &self.config.holder, self.config.lease_ttl);
        let mut head = self.store.watch_head();
        let mut leader = false;
        let mut renewed = tokio::time::Instant::now();
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        while !*shutdown.borrow() {
            if !leader || renewed.elapsed() > self.config.lease_ttl / 3 {
                match lead.hold().await {
                    Ok(now_leader) => {
                        if now_leader && !leader {
                            info!(lease, holder = self.config.holder, "relay is active");
                        }
                        leader = now_leader;
                        renewed = tokio::time::Instant::now();
                    }
                    Err(e) => {
                        warn!(error = %e, "relay cannot reach its store");
                        leader = false;
                    }
                }
            }
            let published = if leader {
                self.publish_pending().await
            } else {
                Ok(0)
            };
            let wait = match published {
                Ok(n) if n >= self.config.batch as usize => {
                    backoff.reset();
                    continue;
                }
                Ok(_) => {
                    backoff.reset();
                    if leader {
                        self.config.poll
                    } else {
                        // A leader whose process died gives the lead up at once (PostgreSQL).
                        (self.config.lease_ttl / 3).min(Duration::from_secs(1))
                    }
                }
                Err(e) => {
                    let retry_in = backoff.next_delay();
                    warn!(error = %e, ?retry_in, "relay could not publish; events stay in the outbox");
                    retry_in
                }
            };
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = head.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        lead.release().await;
    }

    /// Publishes one batch of the outbox; returns how many events it published.
    pub async fn publish_pending(&self) -> Result<usize, BusError> {
        let batch = self
            .store
            .outbox_pending(self.config.batch)
            .await
            .map_err(|source| BusError::Store {
                doing: "reading the outbox",
                source,
            })?;
        if batch.is_empty() {
            return Ok(0);
        }
        publish_all(&self.js, &batch).await?;
        let positions: Vec<u64> = batch.iter().map(|e| e.position).collect();
        self.store
            .mark_published(&positions)
            .await
            .map_err(|source| BusError::Store {
                doing: "marking the outbox",
                source,
            })?;
        Ok(batch.len())
    }
}

/// Publishes events in order and waits for every JetStream acknowledgement. Sends are pipelined
/// on one connection, so the stream receives them in the order given.
async fn publish_all(js: &jetstream::Context, events: &[StoredEvent]) -> Result<(), BusError> {
    let mut acks = Vec::with_capacity(events.len());
    for event in events {
        let (headers, body) = encode_event(event)?;
        let ack = js
            .publish_with_headers(subject_for(event), headers, body)
            .await
            .map_err(|e| BusError::JetStream(Box::new(e)))?;
        acks.push(ack.into_future());
    }
    try_join_all(acks)
        .await
        .map_err(|e| BusError::JetStream(Box::new(e)))?;
    Ok(())
}

/// Re-publishes positions `from..=to` of a store's log (e.g. after the stream lost messages).
/// Copies inside the stream's duplicate window are dropped by JetStream; consumers' checkpoints
/// drop the rest.
pub async fn republish_range(
    store: &dyn EventStore,
    js: &jetstream::Context,
    from: u64,
    to: u64,
) -> Result<u64, BusError> {
    let mut after = from.saturating_sub(1);
    let mut sent = 0;
    while after < to {
        let batch = store
            .read_log(&LogQuery {
                after,
                limit: 500,
                up_to: Some(to),
                ..Default::default()
            })
            .await
            .map_err(|source| BusError::Store {
                doing: "reading the log",
                source,
            })?;
        let Some(last) = batch.last() else { break };
        after = last.position;
        publish_all(js, &batch).await?;
        sent += batch.len() as u64;
    }
    Ok(sent)
}
