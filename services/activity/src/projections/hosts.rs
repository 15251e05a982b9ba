//! `activity.hosts`: the host organisations of each municipality, learned from the registry's
//! events (never from its tables). Only what activity design checks is kept: kind, suspension and
//! licences. The payloads are read by their stored field names, so this context does not depend on
//! the registry's code; unknown fields are ignored, as schema additions require.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{Interest, Projection, ProjectionError};
use mosaic_types::MunicipalityCode;
use serde::Deserialize;

use super::bad;

/// The registry's licence names, as stored in its events.
pub const DISPATCH_LICENCE: &str = "worker_dispatch";
/// The paid placement licence.
pub const PLACEMENT_LICENCE: &str = "paid_placement";

/// Payload of `OrganisationRegistered` / `OrganisationUpdated`, as far as read here.
#[derive(Deserialize)]
struct Registered {
    organisation_id: String,
    details: Details,
}

#[derive(Deserialize)]
struct Details {
    kind: String,
    #[serde(default)]
    licences: Vec<String>,
}

/// Payload of `OrganisationSuspended` / `OrganisationReinstated`, as far as read here.
#[derive(Deserialize)]
struct Ref {
    organisation_id: String,
}

/// The hosts projection.
pub struct Hosts;

fn decode<T: serde::de::DeserializeOwned>(event: &StoredEvent) -> Result<T, ProjectionError> {
    event.payload.decode().map_err(|e| bad(event, e))
}

#[async_trait]
impl Projection for Hosts {
    fn name(&self) -> &'static str {
        "activity.hosts"
    }

    fn interests(&self) -> Vec<Interest> {
        vec![Interest {
            context: "registry",
            event_types: &[
                "OrganisationRegistered",
                "OrganisationUpdated",
                "OrganisationSuspended",
                "OrganisationReinstated",
            ],
        }]
    }

    async fn apply(&self, tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str().to_owned();
        match event.event_type.as_str() {
            "OrganisationRegistered" | "OrganisationUpdated" => {
                let o: Registered = decode(event)?;
                let mut licences = String::from(",");
                for l in &o.details.licences {
                    licences.push_str(l);
                    licences.push(',');
                }
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO activity_hosts (municipality, organisation_id, kind, suspended, licences) \
                         VALUES ($1, $2, $3, FALSE, $4) ON CONFLICT (municipality, organisation_id) \
                         DO UPDATE SET kind = excluded.kind, licences = excluded.licences",
                    )
                    .bind(&m)
                    .bind(&o.organisation_id)
                    .bind(&o.details.kind)
                    .bind(licences)
                    .execute(&mut **t)
                    .await?;
                });
            }
            "OrganisationSuspended" | "OrganisationReinstated" => {
                let o: Ref = decode(event)?;
                let suspended = event.event_type == "OrganisationSuspended";
                on_tx!(tx, t => {
                    sqlx::query(
                        "UPDATE activity_hosts SET suspended = $1 WHERE municipality = $2 AND organisation_id = $3",
                    )
                    .bind(suspended)
                    .bind(&m)
                    .bind(&o.organisation_id)
                    .execute(&mut **t)
                    .await?;
                });
            }
            _ => {}
        }
        Ok(())
    }

    async fn reset(
        &self,
        tx: &mut DbTx,
        municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError> {
        super::reset_tables(tx, &["activity_hosts"], municipality).await
    }
}
