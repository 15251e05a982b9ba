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
mod supervise;

pub use module::{Module, ModuleEnv, StoreMap};
pub use supervise::StartError;
