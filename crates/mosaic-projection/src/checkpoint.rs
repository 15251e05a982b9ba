use mosaic_db::{Db, DbTx, Migrations, on_db, on_tx};

/// The checkpoint table's schema.
pub fn migrations() -> Migrations {
    Migrations {
        table: "_mosaic_projection_migrations",
        postgres: sqlx::migrate!("migrations/postgres"),
        sqlite: sqlx::migrate!("migrations/sqlite"),
    }
}

/// Creates or updates the checkpoint and lease tables.
pub async fn migrate(db: &Db) -> Result<(), sqlx::migrate::MigrateError> {
    mosaic_db::run_migrations(db, mosaic_db::lease::migrations()).await?;
    mosaic_db::run_migrations(db, migrations()).await
}

pub(crate) struct Checkpoint {
    pub position: u64,
    pub rebuilding: Option<String>,
}

/// How far a projection has applied a source (0 if it never ran).
pub async fn checkpoint(db: &Db, projection: &str, source: &str) -> Result<u64, sqlx::Error> {
    Ok(load(db, projection, source).await?.position)
}

pub(crate) async fn load(
    db: &Db,
    projection: &str,
    source: &str,
) -> Result<Checkpoint, sqlx::Error> {
    let row: Option<(i64, Option<String>)> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT position, rebuilding FROM projection_checkpoints WHERE projection = $1 AND source = $2",
        )
        .bind(projection)
        .bind(source)
        .fetch_optional(pool)
        .await?
    });
    Ok(row
        .map(|(p, r)| Checkpoint {
            position: p as u64,
            rebuilding: r,
        })
        .unwrap_or(Checkpoint {
            position: 0,
            rebuilding: None,
        }))
}

pub(crate) async fn save(
    tx: &mut DbTx,
    projection: &str,
    source: &str,
    position: u64,
    rebuilding: Option<&str>,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, t => {
        sqlx::query(
            "INSERT INTO projection_checkpoints (projection, source, position, rebuilding, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (projection, source) DO UPDATE \
             SET position = excluded.position, rebuilding = excluded.rebuilding, updated_at = excluded.updated_at",
        )
        .bind(projection)
        .bind(source)
        .bind(position as i64)
        .bind(rebuilding)
        .bind(chrono::Utc::now())
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

/// Within the transaction of a live batch: moves a source's checkpoint from `from` to `to`,
/// only if the database still holds `from` (or has no row yet, for `from` = 0). False when it
/// holds something else: a batch this runner saw commit was lost (a database crash undid an
/// asynchronous commit), or another runner moved the checkpoint. The caller then rolls back and
/// continues from the checkpoint the database holds.
pub(crate) async fn advance(
    tx: &mut DbTx,
    projection: &str,
    source: &str,
    from: u64,
    to: u64,
) -> Result<bool, sqlx::Error> {
    // From 0 the row may not exist yet; from anywhere else it must, holding `from`.
    let sql = if from == 0 {
        "INSERT INTO projection_checkpoints (projection, source, position, rebuilding, updated_at) \
         VALUES ($1, $2, $4, NULL, $5) ON CONFLICT (projection, source) DO UPDATE \
         SET position = excluded.position, rebuilding = NULL, updated_at = excluded.updated_at \
         WHERE projection_checkpoints.position = $3"
    } else {
        "UPDATE projection_checkpoints SET position = $4, rebuilding = NULL, updated_at = $5 \
         WHERE projection = $1 AND source = $2 AND position = $3"
    };
    let moved = on_tx!(tx, t => {
        sqlx::query(sql)
            .bind(projection)
            .bind(source)
            .bind(from as i64)
            .bind(to as i64)
            .bind(chrono::Utc::now())
            .execute(&mut **t)
            .await?
            .rows_affected()
    });
    Ok(moved == 1)
}

/// Within a live batch's transaction: moves a context row to `position` and adds `applied`
/// events to its count (a count not known yet stays unknown).
pub(crate) async fn save_context(
    tx: &mut DbTx,
    projection: &str,
    context: &str,
    position: u64,
    applied: u64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, t => {
        sqlx::query(
            "INSERT INTO projection_checkpoints (projection, source, position, applied, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (projection, source) DO UPDATE \
             SET position = excluded.position, \
                 applied = projection_checkpoints.applied + excluded.applied, \
                 updated_at = excluded.updated_at",
        )
        .bind(projection)
        .bind(format!("context:{context}"))
        .bind(position as i64)
        .bind(applied as i64)
        .bind(chrono::Utc::now())
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

/// How many events of each producing context a projection has applied (`None`: not counted).
pub(crate) async fn applied_counts(
    db: &Db,
    projection: &str,
) -> Result<std::collections::HashMap<String, Option<u64>>, sqlx::Error> {
    let rows: Vec<(String, Option<i64>)> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT source, applied FROM projection_checkpoints \
             WHERE projection = $1 AND source LIKE 'context:%'",
        )
        .bind(projection)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|(s, n)| {
            s.strip_prefix("context:")
                .map(|c| (c.to_owned(), n.map(|n| n as u64)))
        })
        .collect())
}

/// Sets the counts of a projection's contexts (after an audit found them unknown, or after a
/// rebuild made the read model whole).
pub(crate) async fn set_applied_counts(
    db: &Db,
    projection: &str,
    counts: &std::collections::HashMap<String, u64>,
) -> Result<(), sqlx::Error> {
    for (context, n) in counts {
        on_db!(db, pool => {
            sqlx::query(
                "UPDATE projection_checkpoints SET applied = $3 WHERE projection = $1 AND source = $2",
            )
            .bind(projection)
            .bind(format!("context:{context}"))
            .bind(*n as i64)
            .execute(pool)
            .await?;
        });
    }
    Ok(())
}

/// The per-context rows of a projection.
const CONTEXT_ROWS: &str = "SELECT source, position FROM projection_checkpoints \
                            WHERE projection = $1 AND source LIKE 'context:%'";

/// Within a transaction: the position of one source, its row locked until the transaction ends
/// (waiting for a transaction still committing it), and the last applied store position per
/// producing context. What a retry reads to learn whether the attempt it retries committed.
pub(crate) async fn lock_and_load(
    tx: &mut DbTx,
    projection: &str,
    source: &str,
) -> Result<(u64, std::collections::HashMap<String, u64>), sqlx::Error> {
    // A projection's first batch has no row yet: inserting one waits for a transaction still
    // inserting it, as the lock below waits for one still updating it.
    on_tx!(tx, t => {
        sqlx::query(
            "INSERT INTO projection_checkpoints (projection, source, position, updated_at) \
             VALUES ($1, $2, 0, $3) ON CONFLICT (projection, source) DO NOTHING",
        )
        .bind(projection)
        .bind(source)
        .bind(chrono::Utc::now())
        .execute(&mut **t)
        .await?;
    });
    // SQLite has one writer at a time: a transaction that writes holds the database already.
    let lock = match tx {
        DbTx::Postgres(_) => " FOR UPDATE",
        DbTx::Sqlite(_) => "",
    };
    let sql = format!(
        "SELECT position FROM projection_checkpoints WHERE projection = $1 AND source = $2{lock}"
    );
    let position: Option<i64> = on_tx!(tx, t => {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(projection)
            .bind(source)
            .fetch_optional(&mut **t)
            .await?
    });
    let rows: Vec<(String, i64)> = on_tx!(tx, t => {
        sqlx::query_as(CONTEXT_ROWS).bind(projection).fetch_all(&mut **t).await?
    });
    Ok((position.unwrap_or(0) as u64, contexts(rows)))
}

fn contexts(rows: Vec<(String, i64)>) -> std::collections::HashMap<String, u64> {
    rows.into_iter()
        .filter_map(|(s, p)| s.strip_prefix("context:").map(|c| (c.to_owned(), p as u64)))
        .collect()
}

/// How far a projection has read each producing context's log (`context:<name>` rows): the
/// store position of the last event it read there, wanted or not. Each store's events reach the
/// stream in position order, so a copy re-published after JetStream's de-duplication window
/// (with a new stream sequence) is recognised by its store position; and a request that waits
/// for a write (`mosaic-consistency`) compares its position with this.
pub async fn load_contexts(
    db: &Db,
    projection: &str,
) -> Result<std::collections::HashMap<String, u64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = on_db!(db, pool => {
        sqlx::query_as(CONTEXT_ROWS)
        .bind(projection)
        .fetch_all(pool)
        .await?
    });
    Ok(contexts(rows))
}
