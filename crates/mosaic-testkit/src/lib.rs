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
//! callers never answers them. [`logs`] captures what a test process logs.

pub mod cpu;
pub mod grpc;
pub mod logs;
mod nats;
mod net;
mod postgres;
pub mod replay;
pub mod sample;
pub mod stats;

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

/// One test per backend — `name::sqlite` and `name::postgres` — so that a failure names the
/// behaviour and the backend, and the two run in parallel. `$served` is the test's server type,
/// with `sqlite()` and `postgres()` constructors; the body returns `anyhow::Result<()>`.
#[macro_export]
macro_rules! per_backend {
    ($served:ident, async fn $name:ident($p:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() -> anyhow::Result<()> {
                #[allow(unused_mut)]
                let mut $p = $served::sqlite().await?;
                $body
            }

            #[tokio::test]
            async fn postgres() -> anyhow::Result<()> {
                #[allow(unused_mut)]
                let mut $p = $served::postgres().await?;
                $body
            }
        }
    };
}
