//! Real servers for tests: a throwaway PostgreSQL cluster and nats-server with JetStream, on
//! loopback and free ports, removed when the last handle drops.
//!
//! Binaries are found on the machine (`pg_config --bindir` or `/usr/lib/postgresql/*/bin`;
//! `nats-server` on `PATH`), or named by `MOSAIC_PG_BIN` and `MOSAIC_NATS_SERVER`. When the test
//! script already runs a cluster it exports `MOSAIC_TEST_PG` (a superuser URL without database),
//! and each [`TestDatabase`] is then a fresh database in that cluster instead of a new cluster.
//!
//! [`grpc`] holds what every service's tests do with gRPC (authenticated requests, field
//! violations, waiting for read models); [`replay`] checks that a request replayed by other
//! callers never answers them.

pub mod grpc;
mod nats;
mod net;
mod postgres;
pub mod replay;
pub mod sample;

pub use nats::NatsServer;
pub use net::free_port;
pub use postgres::{PgCluster, TestDatabase};

/// A SQLite database file in its own temporary directory, removed on drop.
pub struct TestSqlite {
    dir: tempfile::TempDir,
}

impl TestSqlite {
    /// A new, empty location.
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            dir: tempfile::tempdir()?,
        })
    }

    /// The `sqlite://` URL of a database file in the directory.
    pub fn url(&self, name: &str) -> String {
        format!(
            "sqlite://{}",
            self.dir.path().join(format!("{name}.db")).display()
        )
    }

    /// The directory, e.g. to scan the database files' bytes.
    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}
