//! The matching context's read models. Each is its own projection, and each follows one
//! context's log (their positions are not comparable): `matching.residents` and `matching.hosts`
//! (from the registry; the hosts one is `mosaic_known::Hosts`, as activity keeps it),
//! `matching.activity` (activities and pieces, from activity), `matching.matches` (this
//! context's matches, for lists), `matching.recent` (each resident's commitments, engagements
//! and offers, from this context) and `matching.releases` (engagements follow-up ended, whose
//! matches to end, from follow-up).
//!
//! `matching.residents` and `matching.recent` feed the candidate index: each row they write is
//! stamped with the next number of one counter (`matching_candidate_changes`), which is not
//! part of any projection, so a rebuild stamps every row afresh and the index, which reads the
//! rows stamped after the last it saw, takes them again.

mod activity;
pub(crate) mod matches;
pub(crate) mod recent;
mod releases;
mod residents;

pub use activity::Activities;
pub use matches::Matches;
pub use recent::Recent;
pub use releases::Releases;
pub use residents::Residents;

use mosaic_db::{DbTx, on_tx};
use mosaic_projection::ProjectionError;

/// The next change number. Taking it locks the counter's row until the transaction ends, so
/// numbers become visible in the order they were taken: a reader that has seen number `n` has
/// seen every row stamped before it.
pub(crate) async fn next_change(tx: &mut DbTx) -> Result<i64, ProjectionError> {
    let n: i64 = on_tx!(tx, t => {
        sqlx::query_scalar("UPDATE matching_candidate_changes SET n = n + 1 RETURNING n")
            .fetch_one(&mut **t)
            .await?
    });
    Ok(n)
}
