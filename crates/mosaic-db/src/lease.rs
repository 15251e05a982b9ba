//! Named leases with an expiry: the leader election of relays and projection runners. A holder
//! renews well inside the lease time; a crashed holder's lease lapses and a standby takes over.

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
