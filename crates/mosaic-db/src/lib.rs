//! One database handle over the two backends Mosaic runs on: PostgreSQL when distributed, SQLite
//! when embedded.
//!
//! Stores and projections write their SQL once: a [`Db`] or [`DbTx`] is matched with
//! [`on_db!`] / [`on_tx!`], which expand the same block for each backend, so a query is type-checked
//! against both. SQL that must differ (bulk inserts, locking) branches on [`Backend`] explicitly.
//! Parameters are written `$1, $2…`: PostgreSQL's syntax, which sqlx also binds on SQLite.

mod connect;
pub mod group;
pub mod lease;
mod migrate;
mod transient;

pub use connect::{DbConfigError, connect};
pub use migrate::{Migrations, run_migrations};
pub use transient::transient;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// Which database engine a handle talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL: the distributed deployment.
    Postgres,
    /// SQLite: the embedded, one-process deployment.
    Sqlite,
}

/// A connection pool to one service's database.
#[derive(Debug, Clone)]
pub enum Db {
    /// A PostgreSQL pool.
    Postgres(PgPool),
    /// A SQLite pool (WAL mode, foreign keys on, busy timeout set).
    Sqlite(SqlitePool),
}

/// A transaction on either backend. SQLite write transactions start with `BEGIN IMMEDIATE`, so a
/// writer takes the write lock up front instead of failing on a lock upgrade half-way.
#[derive(Debug)]
pub enum DbTx {
    /// A PostgreSQL transaction.
    Postgres(Transaction<'static, Postgres>),
    /// A SQLite transaction.
    Sqlite(Transaction<'static, Sqlite>),
}

impl Db {
    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Postgres(_) => Backend::Postgres,
            Db::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<DbTx, sqlx::Error> {
        Ok(match self {
            Db::Postgres(pool) => DbTx::Postgres(pool.begin().await?),
            Db::Sqlite(pool) => DbTx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    /// Closes every connection of the pool.
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

impl DbTx {
    /// The engine behind this transaction.
    pub fn backend(&self) -> Backend {
        match self {
            DbTx::Postgres(_) => Backend::Postgres,
            DbTx::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            DbTx::Postgres(tx) => tx.commit().await,
            DbTx::Sqlite(tx) => tx.commit().await,
        }
    }

    /// Rolls the transaction back.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            DbTx::Postgres(tx) => tx.rollback().await,
            DbTx::Sqlite(tx) => tx.rollback().await,
        }
    }
}

/// Runs the same block against whichever pool a [`Db`] holds: `on_db!(db, pool => query.fetch_all(pool).await)`.
#[macro_export]
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Postgres($pool) => $body,
            $crate::Db::Sqlite($pool) => $body,
        }
    };
}

/// Runs the same block against whichever transaction a [`DbTx`] holds; the binding is a
/// `&mut Transaction`, so use `&mut **tx` as the executor.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match $tx {
            $crate::DbTx::Postgres($t) => $body,
            $crate::DbTx::Sqlite($t) => $body,
        }
    };
}

/// Prefix of a PostgreSQL statement that commits on its own (outside an explicit transaction)
/// without waiting for its WAL flush; reference `no_wait` in its `FROM` so the CTE runs.
/// `set_config(…, true)` holds for the statement's own transaction only. For writes whose loss in
/// a crash costs nothing, because a later durable commit covers them or they are redone anyway.
pub const PG_NO_FLUSH_WAIT: &str =
    "WITH no_wait AS (SELECT set_config('synchronous_commit', 'off', true))";

/// Whether a database error is a unique-constraint violation: the SQLSTATE / SQLite extended
/// code read from the driver's error code (never from the message text).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation),
        _ => false,
    }
}
