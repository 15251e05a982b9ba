//! Projections written against a context's typed events (`mosaic-events`), not against stored
//! names and JSON: [`EventProjection`] and its adapter [`Typed`], plus what every read model
//! shares — [`decode`] (a payload it cannot read stops the projection, naming the event) and
//! [`reset_tables`] (a rebuild empties its tables).

use async_trait::async_trait;
use mosaic_db::DbTx;
use mosaic_domain::DomainEvent;
use mosaic_eventstore::StoredEvent;
use mosaic_types::MunicipalityCode;

use crate::{Interest, Projection, ProjectionError};

/// A read model of one context's events, received typed.
#[async_trait]
pub trait EventProjection: Send + Sync + 'static {
    /// The producing context's events.
    type Event: DomainEvent + Send + Sync + 'static;

    /// The producing context (`registry`, `activity`).
    const CONTEXT: &'static str;

    /// Stable name: the checkpoint key. Never rename.
    fn name(&self) -> &'static str;

    /// The stored names of the events it reacts to; empty for every event of the context.
    fn wants(&self) -> &'static [&'static str];

    /// The stored names of the events it needs decoded; the others arrive without their typed
    /// form (a projection that counts every event reads few of them). Defaults to every wanted
    /// event.
    fn decodes(&self) -> &'static [&'static str] {
        self.wants()
    }

    /// The tables it writes, each with a `municipality` column: a rebuild empties them.
    fn tables(&self) -> &'static [&'static str];

    /// Applies one event through the runner's transaction; `typed` is the decoded event when its
    /// type is one the projection [`EventProjection::decodes`].
    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<Self::Event>,
    ) -> Result<(), ProjectionError>;
}

/// Runs an [`EventProjection`] as a [`Projection`].
pub struct Typed<P>(pub P);

#[async_trait]
impl<P: EventProjection> Projection for Typed<P> {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn interests(&self) -> Vec<Interest> {
        vec![Interest {
            context: P::CONTEXT,
            event_types: self.0.wants(),
        }]
    }

    async fn apply(&self, tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError> {
        let decodes = self.0.decodes();
        let typed = if decodes.is_empty() || decodes.contains(&event.event_type.as_str()) {
            Some(decode::<P::Event>(event)?)
        } else {
            None
        };
        self.0.apply(tx, event, typed).await
    }

    async fn reset(
        &self,
        tx: &mut DbTx,
        municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError> {
        reset_tables(tx, self.0.tables(), municipality).await
    }
}

/// The typed event of a stored one; a payload its type cannot read is an error naming the
/// event (the runner stops there rather than skip it).
pub fn decode<E: DomainEvent>(event: &StoredEvent) -> Result<E, ProjectionError> {
    E::from_stored(
        &event.event_type,
        event.schema_version,
        event.payload.json(),
    )
    .map_err(|e| unreadable(event, e))
}

/// The error for an event a projection cannot read, with what was wrong (an error, or a text).
pub fn unreadable(
    event: &StoredEvent,
    reason: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> ProjectionError {
    ProjectionError::Event {
        event_type: event.event_type.clone(),
        position: event.position,
        reason: reason.into(),
    }
}

/// Deletes the rows of `tables` for one municipality, or all of them.
pub async fn reset_tables(
    tx: &mut DbTx,
    tables: &[&str],
    municipality: Option<MunicipalityCode>,
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
