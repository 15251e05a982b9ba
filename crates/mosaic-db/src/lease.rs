//! The leader election of relays and projection runners ([`Leader`]): on PostgreSQL a session
//! advisory lock, released with a dead holder's connection; on SQLite (one process) named leases
//! with an expiry, which a holder renews well inside the lease time and which lapse when it stops.

use crate::{Db, Migrations, on_db};

/// The lease table's schema.
pub fn migrations() -> Migrations {
    Migrations {
        table: "_mosaic_lease_migrations",
        postgres: sqlx::migrate!("migrations/postgres"),
        sqlite: sqlx::migrate!("migrations/sqlite"),
    }
}

/// Takes or renews the lease `name` for `holder` until now + `ttl`; false when another holder
/// has it and it has not lapsed.
pub async fn try_lease(
    db: &Db,
    name: &str,
    holder: &str,
    ttl: std::time::Duration,
) -> Result<bool, sqlx::Error> {
    let now = chrono::Utc::now();
    let until = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(15));
    let taken = on_db!(db, pool => {
        sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(taken == 1)
}

/// Who holds the lease `name`, and until when (it may have lapsed already); `None` if nobody
/// took it.
pub async fn lease_holder(
    db: &Db,
    name: &str,
) -> Result<Option<(String, chrono::DateTime<chrono::Utc>)>, sqlx::Error> {
    Ok(on_db!(db, pool => {
        sqlx::query_as("SELECT holder, expires_at FROM leases WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?
    }))
}

/// Gives a lease up so a standby can take over at once.
pub async fn release_lease(db: &Db, name: &str, holder: &str) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// The lead of a named job (a projection runner) among the replicas that share a database.
///
/// On PostgreSQL it is a session-level advisory lock held on a connection of the leader's own:
/// when the leader's process dies, its connection closes and the server releases the lock at
/// once, so a standby takes over on its next attempt instead of waiting for a lease to lapse.
/// The connection also names the holder (`application_name`), which standbys report. On SQLite
/// (one process) it is the lease row of [`try_lease`], with its expiry.
pub struct Leader {
    db: Db,
    name: String,
    holder: String,
    ttl: std::time::Duration,
    /// PostgreSQL: the connection that holds (or tries for) the lock, and whether it holds it.
    session: Option<sqlx::PgConnection>,
    leading: bool,
}

/// Who leads a job now, as a standby sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The holder's name.
    pub holder: String,
    /// When its lease lapses unless renewed; `None` for a lock held as long as its session.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

impl Leader {
    /// A contender for the lead of `name`, as `holder`; `ttl` is the lease time on SQLite.
    pub fn new(db: &Db, name: &str, holder: &str, ttl: std::time::Duration) -> Self {
        Self {
            db: db.clone(),
            name: name.to_owned(),
            holder: holder.to_owned(),
            ttl,
            session: None,
            leading: false,
        }
    }

    /// Takes the lead if nobody holds it, or confirms this contender still does; false while
    /// another holder has it. An error means the database is unreachable: the lead is then lost
    /// (its session is gone with the connection).
    pub async fn hold(&mut self) -> Result<bool, sqlx::Error> {
        use sqlx::Connection;
        let pool = match &self.db {
            Db::Sqlite(_) => return try_lease(&self.db, &self.name, &self.holder, self.ttl).await,
            Db::Postgres(pool) => pool,
        };
        let session = match &mut self.session {
            Some(session) => session,
            None => {
                let mut session = pool.acquire().await?.detach();
                sqlx::query("SELECT set_config('application_name', $1, false)")
                    .bind(&self.holder)
                    .execute(&mut session)
                    .await?;
                self.leading = false;
                self.session.insert(session)
            }
        };
        let checked = if self.leading {
            // Still our session, so still our lock.
            session.ping().await.map(|()| true)
        } else {
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(lock_key(&self.name))
                .fetch_one(&mut *session)
                .await
        };
        match checked {
            Ok(leading) => {
                self.leading = leading;
                Ok(leading)
            }
            Err(e) => {
                self.session = None;
                self.leading = false;
                Err(e)
            }
        }
    }

    /// Who holds the lead now, if anyone.
    pub async fn holder(&self) -> Result<Option<Holder>, sqlx::Error> {
        match &self.db {
            Db::Sqlite(_) => {
                Ok(lease_holder(&self.db, &self.name)
                    .await?
                    .map(|(holder, until)| Holder {
                        holder,
                        until: Some(until),
                    }))
            }
            Db::Postgres(pool) => {
                // A bigint advisory key shows in pg_locks as its high and low 32 bits.
                let key = lock_key(&self.name) as u64;
                let holder: Option<String> = sqlx::query_scalar(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                     AND l.classid::bigint = $1 AND l.objid::bigint = $2 LIMIT 1",
                )
                .bind((key >> 32) as i64)
                .bind((key & 0xffff_ffff) as i64)
                .fetch_optional(pool)
                .await?;
                Ok(holder.map(|holder| Holder {
                    holder,
                    until: None,
                }))
            }
        }
    }

    /// Gives the lead up at once. On PostgreSQL the lock is released before the session closes:
    /// the server frees a closed session's locks only once its backend has exited, a moment
    /// later, and a standby trying in between would find the lead still taken.
    pub async fn release(&mut self) {
        use sqlx::Connection;
        if let Some(mut session) = self.session.take() {
            if self.leading {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(lock_key(&self.name))
                    .execute(&mut session)
                    .await;
            }
            let _ = session.close().await;
        }
        if matches!(self.db, Db::Sqlite(_)) {
            let _ = release_lease(&self.db, &self.name, &self.holder).await;
        }
        self.leading = false;
    }
}

/// The advisory lock key of a job: FNV-1a of its name, the same in every process and version.
fn lock_key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in b"mosaic-lead:".iter().chain(name.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_apart() {
        assert_eq!(lock_key("projection:a:b"), lock_key("projection:a:b"));
        assert_ne!(lock_key("projection:a:b"), lock_key("projection:a:c"));
        // Pinned: a key that changed between versions would let two leaders run at once.
        assert_eq!(lock_key(""), 3_086_198_028_047_257_040);
    }
}
