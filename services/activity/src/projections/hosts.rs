//! `activity.hosts`: the host organisations of each municipality, learned from the registry's
//! events (never from its tables). Only what activity design checks is kept: kind, suspension and
//! licences.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_events::registry::{self, RegistryEvent};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};

/// The hosts projection.
pub struct Hosts;

#[async_trait]
impl EventProjection for Hosts {
    type Event = RegistryEvent;
    const CONTEXT: &'static str = registry::CONTEXT;

    fn name(&self) -> &'static str {
        "activity.hosts"
    }

    fn wants(&self) -> &'static [&'static str] {
        &[
            "OrganisationRegistered",
            "OrganisationUpdated",
            "OrganisationSuspended",
            "OrganisationReinstated",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["activity_hosts"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<RegistryEvent>,
    ) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str().to_owned();
        match typed {
            Some(
                RegistryEvent::OrganisationRegistered(o) | RegistryEvent::OrganisationUpdated(o),
            ) => {
                let mut licences = String::from(",");
                for l in &o.details.licences {
                    licences.push_str(l.as_str());
                    licences.push(',');
                }
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO activity_hosts (municipality, organisation_id, kind, suspended, licences) \
                         VALUES ($1, $2, $3, FALSE, $4) ON CONFLICT (municipality, organisation_id) \
                         DO UPDATE SET kind = excluded.kind, licences = excluded.licences",
                    )
                    .bind(&m)
                    .bind(o.organisation_id.as_str())
                    .bind(o.details.kind.as_str())
                    .bind(licences)
                    .execute(&mut **t)
                    .await?;
                });
            }
            Some(RegistryEvent::OrganisationSuspended(o)) => {
                suspend(tx, &m, &o.organisation_id, true).await?;
            }
            Some(RegistryEvent::OrganisationReinstated(o)) => {
                suspend(tx, &m, &o.organisation_id, false).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

async fn suspend(
    tx: &mut DbTx,
    municipality: &str,
    organisation: &str,
    suspended: bool,
) -> Result<(), ProjectionError> {
    on_tx!(tx, t => {
        sqlx::query(
            "UPDATE activity_hosts SET suspended = $1 WHERE municipality = $2 AND organisation_id = $3",
        )
        .bind(suspended)
        .bind(municipality)
        .bind(organisation)
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}
