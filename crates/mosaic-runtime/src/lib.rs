//! Starting Mosaic services.
//!
//! Each context crate exposes a [`Module`]: its migrations, its gRPC service and its
//! projections. This crate runs modules two ways, with the same domain and API code:
//! - [`distributed::run`]: one module per process, PostgreSQL and NATS JetStream, configured by
//!   environment variables ([`config::ServiceConfig`]);
//! - [`embedded::run`]: every module in one process on one port, one SQLite file per context in a
//!   data directory, consumers tailing the stores directly (no servers to install).

pub mod background;
pub mod config;
pub mod distributed;
pub mod embedded;
mod module;
mod progress;
mod supervise;

pub use module::{Module, ModuleEnv, StoreMap, Worker};

/// The allocator every Mosaic binary installs (`#[global_allocator]`): decoding events and
/// requests allocates many small strings and maps, which it serves markedly faster than the
/// system allocator (a log read went from about 200,000 to 330,000 events/s).
pub use mimalloc::MiMalloc as Allocator;
pub use supervise::StartError;
