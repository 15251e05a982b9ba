//! Named leases with an expiry: the leader election of relays and projection runners. A holder
//! renews well inside the lease time; a crashed holder's lease lapses and a standby takes over.

use mosaic_db::{Db, on_db};

use crate::StoreError;

pub(crate) async fn try_lease(
    db: &Db,
    name: &str,
    holder: &str,
    ttl: std::time::Duration,
) -> Result<bool, StoreError> {
    let now = mosaic_types::now_utc();
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

pub(crate) async fn release_lease(db: &Db, name: &str, holder: &str) -> Result<(), StoreError> {
    on_db!(db, pool => {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await?;
    });
    Ok(())
}
