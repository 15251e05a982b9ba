//! The activity context's read models: the host organisations it learns from the registry, and
//! the search tables built from its own events. Each is its own projection because each follows
//! one context's log (their positions are not comparable).

pub(crate) mod hosts;
mod search;

pub use hosts::Hosts;
pub use search::Search;

use mosaic_eventstore::StoredEvent;
use mosaic_projection::ProjectionError;

fn bad(event: &StoredEvent, reason: impl std::fmt::Display) -> ProjectionError {
    ProjectionError::Event {
        event_type: event.event_type.clone(),
        position: event.position,
        reason: reason.to_string(),
    }
}

/// Deletes a table's rows of one municipality, or all.
async fn reset_tables(
    tx: &mut mosaic_db::DbTx,
    tables: &[&str],
    municipality: Option<mosaic_types::MunicipalityCode>,
) -> Result<(), ProjectionError> {
    for table in tables {
        mosaic_db::on_tx!(&mut *tx, t => {
            match municipality {
                Some(m) => sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE municipality = $1")))
                    .bind(m.as_str().to_owned())
                    .execute(&mut **t)
                    .await?,
                None => sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                    .execute(&mut **t)
                    .await?,
            };
        });
    }
    Ok(())
}
