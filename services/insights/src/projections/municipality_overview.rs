//! `insights_municipality_overview`: one row per municipality from registry events. Counting is
//! commutative and registration only sets columns, so the row is the same whichever order
//! events of different contexts arrive in.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_events::registry::{self, RegistryEvent};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};

/// The overview projection.
pub struct MunicipalityOverview;

#[async_trait]
impl EventProjection for MunicipalityOverview {
    type Event = RegistryEvent;
    const CONTEXT: &'static str = registry::CONTEXT;

    fn name(&self) -> &'static str {
        "insights.municipality_overview"
    }

    /// Every registry event counts.
    fn wants(&self) -> &'static [&'static str] {
        &[]
    }

    fn decodes(&self) -> &'static [&'static str] {
        &["MunicipalityRegistered"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["insights_municipality_overview"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<RegistryEvent>,
    ) -> Result<(), ProjectionError> {
        let municipality = event.municipality.as_str();
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO insights_municipality_overview (municipality, events_applied) VALUES ($1, 1) \
                 ON CONFLICT (municipality) DO UPDATE SET events_applied = insights_municipality_overview.events_applied + 1",
            )
            .bind(municipality)
            .execute(&mut **t)
            .await?;
        });
        if let Some(RegistryEvent::MunicipalityRegistered(m)) = typed {
            on_tx!(tx, t => {
                sqlx::query(
                    "UPDATE insights_municipality_overview SET name = $1, prefecture = $2, registered_at = $3 \
                     WHERE municipality = $4",
                )
                .bind(&m.name)
                .bind(&m.prefecture)
                .bind(event.occurred_at)
                .bind(municipality)
                .execute(&mut **t)
                .await?;
            });
        }
        Ok(())
    }
}
