//! Rebuilds asked for from outside the service (`mosaic projections rebuild`), through the
//! projection's own database, so that one command serves the embedded platform and the
//! distributed services alike: it records a request, the runner that leads the projection takes
//! it between batches, and both sides follow its progress in `projection_rebuilds`.

use chrono::{DateTime, Utc};
use mosaic_db::{Db, on_db};
use mosaic_types::MunicipalityCode;

/// How a requested rebuild is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildProgress {
    /// Taken by a runner.
    pub started: bool,
    /// The source position it replays up to (once started).
    pub up_to: Option<u64>,
    /// The last source position replayed so far.
    pub reached: Option<u64>,
    /// Events applied again so far.
    pub replayed: u64,
    /// Done (successfully unless `error`).
    pub finished: bool,
    /// Why it failed.
    pub error: Option<String>,
}

/// Asks the runner of `projection` to rebuild it for `municipality` (or all); the request's id.
pub async fn request_rebuild(
    db: &Db,
    projection: &str,
    municipality: Option<MunicipalityCode>,
) -> Result<i64, sqlx::Error> {
    let municipality = municipality.map(|m| m.to_string());
    Ok(on_db!(db, pool => {
        sqlx::query_scalar(
            "INSERT INTO projection_rebuilds (projection, municipality, requested_at) \
             VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(projection)
        .bind(&municipality)
        .bind(Utc::now())
        .fetch_one(pool)
        .await?
    }))
}

type ProgressRow = (
    Option<DateTime<Utc>>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<DateTime<Utc>>,
    Option<String>,
);

/// The progress of request `id`; `None` if there is no such request.
pub async fn rebuild_progress(db: &Db, id: i64) -> Result<Option<RebuildProgress>, sqlx::Error> {
    let row: Option<ProgressRow> = on_db!(db, pool => {
        sqlx::query_as(
            "SELECT started_at, up_to, reached, replayed, finished_at, error \
             FROM projection_rebuilds WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(
        |(started, up_to, reached, replayed, finished, error)| RebuildProgress {
            started: started.is_some(),
            up_to: up_to.map(|p| p as u64),
            reached: reached.map(|p| p as u64),
            replayed: replayed as u64,
            finished: finished.is_some(),
            error,
        },
    ))
}

/// Takes the oldest open request for `projection`: its id and municipality (`None`: all).
pub(crate) async fn claim(
    db: &Db,
    projection: &str,
) -> Result<Option<(i64, Option<MunicipalityCode>)>, sqlx::Error> {
    let row: Option<(i64, Option<String>)> = on_db!(db, pool => {
        sqlx::query_as(
            "UPDATE projection_rebuilds SET started_at = $2 WHERE id = (SELECT id FROM \
             projection_rebuilds WHERE projection = $1 AND started_at IS NULL ORDER BY id LIMIT 1) \
             AND started_at IS NULL RETURNING id, municipality",
        )
        .bind(projection)
        .bind(Utc::now())
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(|(id, m)| (id, m.and_then(|m| MunicipalityCode::parse(&m).ok()))))
}

/// Records how far request `id` has come.
pub(crate) async fn report(
    db: &Db,
    id: i64,
    up_to: u64,
    reached: u64,
    replayed: u64,
) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query("UPDATE projection_rebuilds SET up_to = $2, reached = $3, replayed = $4 WHERE id = $1")
            .bind(id)
            .bind(up_to as i64)
            .bind(reached as i64)
            .bind(replayed as i64)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Ends the requests for `projection` that a runner took but never finished (its process died):
/// the new leader has just finished the rebuild that was under way, or there was none left to
/// do, so whoever waits on them is told they are done.
pub(crate) async fn finish_interrupted(db: &Db, projection: &str) -> Result<u64, sqlx::Error> {
    Ok(on_db!(db, pool => {
        sqlx::query(
            "UPDATE projection_rebuilds SET finished_at = $2 \
             WHERE projection = $1 AND started_at IS NOT NULL AND finished_at IS NULL",
        )
        .bind(projection)
        .bind(Utc::now())
        .execute(pool)
        .await?
        .rows_affected()
    }))
}

/// Records the end of request `id`.
pub(crate) async fn finish(db: &Db, id: i64, error: Option<String>) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        sqlx::query("UPDATE projection_rebuilds SET finished_at = $2, error = $3 WHERE id = $1")
            .bind(id)
            .bind(Utc::now())
            .bind(error)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Withdraws request `id` if no runner has taken it yet; whether it was withdrawn.
pub async fn withdraw_rebuild(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let now = Utc::now();
    let done = on_db!(db, pool => {
        sqlx::query(
            "UPDATE projection_rebuilds SET started_at = $2, finished_at = $2, \
             error = 'withdrawn: no running service took it' WHERE id = $1 AND started_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(done == 1)
}
