use async_trait::async_trait;
use mosaic_db::DbTx;
use mosaic_eventstore::StoredEvent;
use mosaic_types::MunicipalityCode;

/// Events of one context a projection reacts to.
#[derive(Debug, Clone, Copy)]
pub struct Interest {
    /// The producing context, e.g. `registry`.
    pub context: &'static str,
    /// Stored type names; empty means every type of the context.
    pub event_types: &'static [&'static str],
}

impl Interest {
    /// Whether an event falls under this interest.
    pub fn matches(&self, event: &StoredEvent) -> bool {
        event.context == self.context
            && (self.event_types.is_empty()
                || self.event_types.contains(&event.event_type.as_str()))
    }

    /// NATS subject filters for this interest, optionally for one municipality.
    pub fn subjects(&self, municipality: Option<MunicipalityCode>) -> Vec<String> {
        let m = municipality
            .map(|m| m.to_string())
            .unwrap_or_else(|| "*".into());
        if self.event_types.is_empty() {
            vec![format!("mosaic.{m}.{}.>", self.context)]
        } else {
            self.event_types
                .iter()
                .map(|t| format!("mosaic.{m}.{}.{t}", self.context))
                .collect()
        }
    }
}

/// Why a projection could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The read model's database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The event's payload is not what this projection understands.
    #[error("event {event_type} at {position}: {reason}")]
    Event {
        /// Stored type name.
        event_type: String,
        /// Position or stream sequence.
        position: u64,
        /// What was wrong.
        reason: String,
    },
}

/// A read model or reaction built from events.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Stable name: the checkpoint key and the durable consumer's name. Never rename.
    fn name(&self) -> &'static str;

    /// The events it reacts to.
    fn interests(&self) -> Vec<Interest>;

    /// Applies one event through the runner's transaction.
    async fn apply(&self, tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError>;

    /// Deletes what the projection built for one municipality (or all), before a rebuild.
    async fn reset(
        &self,
        tx: &mut DbTx,
        municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError>;

    /// Whether this projection wants an event.
    fn wants(&self, event: &StoredEvent) -> bool {
        self.interests().iter().any(|i| i.matches(event))
    }
}
