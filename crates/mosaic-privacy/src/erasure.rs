//! Erasure across contexts: when the registry erases a person, every context that sealed
//! personal data under that person's id destroys its own key for them too. One projection,
//! [`Erasure`], that any context registers on its own vault; the context says which event names
//! the person (the registry's `PersonalDataErased`).

use async_trait::async_trait;
use mosaic_db::DbTx;
use mosaic_domain::DomainEvent;
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{Interest, Projection, ProjectionError, decode};
use mosaic_types::MunicipalityCode;

use crate::Vault;

/// Destroys this context's key of every person an event of another context erases.
pub struct Erasure<E> {
    name: &'static str,
    vault: Vault,
    interest: Interest,
    subject: fn(&E) -> Option<&str>,
}

impl<E> Erasure<E> {
    /// A projection named `name` (e.g. `activity.erasure`) that, for each event of `context`
    /// of the types `event_types`, destroys in `vault` the key of the person `subject` names.
    pub fn new(
        name: &'static str,
        vault: Vault,
        context: &'static str,
        event_types: &'static [&'static str],
        subject: fn(&E) -> Option<&str>,
    ) -> Self {
        Self {
            name,
            vault,
            interest: Interest {
                context,
                event_types,
            },
            subject,
        }
    }
}

#[async_trait]
impl<E: DomainEvent + Send + Sync + 'static> Projection for Erasure<E> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn interests(&self) -> Vec<Interest> {
        vec![self.interest]
    }

    async fn apply(&self, tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError> {
        let typed = decode::<E>(event)?;
        if let Some(subject) = (self.subject)(&typed) {
            self.vault
                .erase_in(tx, event.municipality, subject)
                .await
                .map_err(|e| match e {
                    crate::PrivacyError::Database(e) => ProjectionError::Database(e),
                    other => mosaic_projection::unreadable(event, other),
                })?;
        }
        Ok(())
    }

    /// Nothing to rebuild: a destroyed key never comes back.
    async fn reset(
        &self,
        _tx: &mut DbTx,
        _municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError> {
        Ok(())
    }
}
