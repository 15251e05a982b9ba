use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::Db;

/// A database URL that cannot be used; the message names the problem in one line.
#[derive(Debug, thiserror::Error)]
pub enum DbConfigError {
    /// The URL is neither `postgres://…` nor `sqlite:…`, or does not parse.
    #[error(
        "database URL is not usable ({0}); expected postgres://user@host:port/db or sqlite://path/file.db"
    )]
    BadUrl(String),
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to the database: {0}")]
    Unreachable(String),
}

/// Connects a pool from a URL: `postgres://…` or `sqlite://path` (created if missing).
/// Fails fast (a few seconds) when the database is unreachable, so a misconfigured service exits
/// with one clear line instead of hanging.
pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbConfigError> {
    let acquire = Duration::from_secs(5);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options =
            PgConnectOptions::from_str(url).map_err(|e| DbConfigError::BadUrl(e.to_string()))?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire)
            // No ping on every acquire (a round trip each time, several per command): a connection
            // the server dropped fails its next statement, which the pool then discards, and
            // connections are renewed before a server or a proxy would drop them as idle.
            .test_before_acquire(false)
            .idle_timeout(Duration::from_secs(5 * 60))
            .max_lifetime(Duration::from_secs(30 * 60))
            .connect_with(options)
            .await
            .map_err(|e| DbConfigError::Unreachable(e.to_string()))?;
        Ok(Db::Postgres(pool))
    } else if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| DbConfigError::BadUrl(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL keeps a committed event durable across power loss, not only across crashes.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Deleted rows are overwritten, so an erased person's wrapped key does not linger in
            // the file's free pages.
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            // A local file: nothing to ping.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(15))
            .connect_with(options)
            .await
            .map_err(|e| DbConfigError::Unreachable(e.to_string()))?;
        Ok(Db::Sqlite(pool))
    } else {
        Err(DbConfigError::BadUrl(format!(
            "unknown scheme in {:?}",
            redact(url)
        )))
    }
}

/// Drops any password from a URL before it reaches a message.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}
