//! The NATS JetStream backbone of the distributed deployment.
//!
//! - [`stream`]: the `MOSAIC` stream (subjects `mosaic.<municipality>.<context>.<EventType>`,
//!   file storage, every event kept) and how to connect to it.
//! - [`relay`]: publishes a store's outbox in position order with `Nats-Msg-Id` = event id, one
//!   active relay per store (a leader, `EventStore::leader`), marks rows published, and re-publishes any range on demand.
//! - [`message`]: the wire form of an event (the stored envelope as JSON) and its headers,
//!   including the W3C `traceparent`.
//!
//! Consumers live in `mosaic-projection`; the embedded deployment tails the stores directly and
//! does not need this crate at run time.

pub mod message;
pub mod relay;
pub mod stream;

pub use message::{decode_event, subject_for};
pub use relay::{Relay, RelayConfig, republish_range};
pub use stream::{BusError, StreamSettings, connect, ensure_stream};
