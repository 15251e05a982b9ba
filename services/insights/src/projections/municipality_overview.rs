//! `insights_municipality_overview`: one row per municipality from registry events. Counting is
//! commutative and registration only sets columns, so the row is the same whichever order
//! events of different contexts arrive in.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{Interest, Projection, ProjectionError};
use mosaic_types::MunicipalityCode;
use serde::Deserialize;

/// The fields of `MunicipalityRegistered` the overview shows.
#[derive(Deserialize)]
struct Named {
    name: String,
    prefecture: String,
}

/// The overview projection.
pub struct MunicipalityOverview;

#[async_trait]
impl Projection for MunicipalityOverview {
    fn name(&self) -> &'static str {
        "insights.municipality_overview"
    }

    fn interests(&self) -> Vec<Interest> {
        vec![Interest {
            context: "registry",
            event_types: &[],
        }]
    }

    async fn apply(&self, tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError> {
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
        if event.event_type == "MunicipalityRegistered" {
            let Named { name, prefecture } =
                event.payload.decode().map_err(|e| ProjectionError::Event {
                    event_type: event.event_type.clone(),
                    position: event.position,
                    reason: e.to_string(),
                })?;
            on_tx!(tx, t => {
                sqlx::query(
                    "UPDATE insights_municipality_overview SET name = $1, prefecture = $2, registered_at = $3 \
                     WHERE municipality = $4",
                )
                .bind(&name)
                .bind(&prefecture)
                .bind(event.occurred_at)
                .bind(municipality)
                .execute(&mut **t)
                .await?;
            });
        }
        Ok(())
    }

    async fn reset(
        &self,
        tx: &mut DbTx,
        municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError> {
        on_tx!(tx, t => {
            match municipality {
                Some(m) => sqlx::query("DELETE FROM insights_municipality_overview WHERE municipality = $1")
                    .bind(m.as_str().to_owned())
                    .execute(&mut **t)
                    .await?,
                None => sqlx::query("DELETE FROM insights_municipality_overview").execute(&mut **t).await?,
            };
        });
        Ok(())
    }
}
