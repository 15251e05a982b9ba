//! Host organisations, learned from the registry's events: kind, suspension and licences.

use async_trait::async_trait;
use mosaic_db::{Db, DbTx, on_db, on_tx};
use mosaic_events::registry::{self, Licence, RegistryEvent};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};
use mosaic_types::MunicipalityCode;
use sqlx::AssertSqlSafe;

/// The hosts projection of one context: its checkpoint name and its table, which has the
/// columns `municipality`, `organisation_id`, `kind`, `suspended` and `licences` (a
/// `,worker_dispatch,paid_placement,` style list of the registry's licence names).
pub struct Hosts {
    name: &'static str,
    table: &'static [&'static str; 1],
}

impl Hosts {
    /// A hosts projection named `name` (its checkpoint key: never rename) writing the table
    /// named in `table`.
    pub const fn new(name: &'static str, table: &'static [&'static str; 1]) -> Self {
        Self { name, table }
    }
}

/// A host organisation as a context checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Suspended by the municipality.
    pub suspended: bool,
    /// The licences it holds.
    pub licences: Vec<Licence>,
}

#[async_trait]
impl EventProjection for Hosts {
    type Event = RegistryEvent;
    const CONTEXT: &'static str = registry::CONTEXT;

    fn name(&self) -> &'static str {
        self.name
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
        self.table
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<RegistryEvent>,
    ) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str();
        let table = self.table[0];
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
                    sqlx::query(AssertSqlSafe(format!(
                        "INSERT INTO {table} (municipality, organisation_id, kind, suspended, licences) \
                         VALUES ($1, $2, $3, FALSE, $4) ON CONFLICT (municipality, organisation_id) \
                         DO UPDATE SET kind = excluded.kind, licences = excluded.licences"
                    )))
                    .bind(m)
                    .bind(o.organisation_id.as_str())
                    .bind(o.details.kind.as_str())
                    .bind(licences)
                    .execute(&mut **t)
                    .await?;
                });
            }
            Some(RegistryEvent::OrganisationSuspended(o)) => {
                suspend(tx, table, m, &o.organisation_id, true).await?;
            }
            Some(RegistryEvent::OrganisationReinstated(o)) => {
                suspend(tx, table, m, &o.organisation_id, false).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

async fn suspend(
    tx: &mut DbTx,
    table: &str,
    municipality: &str,
    organisation: &str,
    suspended: bool,
) -> Result<(), ProjectionError> {
    on_tx!(tx, t => {
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE {table} SET suspended = $1 WHERE municipality = $2 AND organisation_id = $3"
        )))
        .bind(suspended)
        .bind(municipality)
        .bind(organisation)
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

/// Reads one host from a hosts `table`; `None` when this context does not know it in
/// `municipality` (another municipality's, none, or registered after the last registry event
/// the context read).
pub async fn host(
    db: &Db,
    table: &str,
    municipality: MunicipalityCode,
    organisation: &str,
) -> Result<Option<Host>, sqlx::Error> {
    let sql = format!(
        "SELECT suspended, licences FROM {table} WHERE municipality = $1 AND organisation_id = $2"
    );
    let row: Option<(bool, String)> = on_db!(db, pool => {
        sqlx::query_as(AssertSqlSafe(sql))
            .bind(municipality.as_str())
            .bind(organisation)
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(|(suspended, licences)| Host {
        suspended,
        licences: licences_of(&licences),
    }))
}

/// The licences of a stored list.
pub fn licences_of(stored: &str) -> Vec<Licence> {
    Licence::ALL
        .iter()
        .copied()
        .filter(|l| stored.contains(&format!(",{},", l.as_str())))
        .collect()
}
