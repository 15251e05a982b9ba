use async_trait::async_trait;
use mosaic_db::DbTx;
use mosaic_eventstore::StoredEvent;
use mosaic_types::MunicipalityCode;
use tracing::Instrument;

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

    /// NATS subject filters for this interest, optionally for one municipality: every event of
    /// the context, so that the projection knows how far it has read the context's log even
    /// where it wants few of its types (the types are filtered by [`Interest::matches`]).
    pub fn subjects(&self, municipality: Option<MunicipalityCode>) -> Vec<String> {
        let m = municipality
            .map(|m| m.to_string())
            .unwrap_or_else(|| "*".into());
        vec![format!("mosaic.{m}.{}.>", self.context)]
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
        #[source]
        reason: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The projection's code panicked while applying an event: a bug, never retried.
    #[error("panicked: {0}")]
    Panicked(String),
}

impl ProjectionError {
    /// Whether trying the same event again may succeed: only a database failure may pass.
    /// An event the projection does not understand, or code that panics on it, fails the same
    /// way every time.
    pub fn retryable(&self) -> bool {
        matches!(self, ProjectionError::Database(_))
    }
}

/// The span of applying one event: a child of the trace that wrote it.
pub fn apply_span(projection: &'static str, event: &StoredEvent) -> tracing::Span {
    let span = tracing::info_span!(
        "projection.apply",
        projection,
        event_type = %event.event_type,
        position = event.position,
        municipality = %event.municipality,
    );
    mosaic_telemetry::continue_trace(&span, event.trace_context.as_deref());
    span
}

/// The span of applying many events with one statement: linked to the trace of each.
pub fn apply_many_span(projection: &'static str, events: &[&StoredEvent]) -> tracing::Span {
    let span = tracing::info_span!(
        "projection.apply_many",
        projection,
        events = events.len(),
        first = events.first().map(|e| e.position),
        last = events.last().map(|e| e.position),
    );
    for event in events {
        mosaic_telemetry::link_trace(&span, event.trace_context.as_deref());
    }
    span
}

/// Applies events one [`Projection::apply`] at a time, each in a span that continues its trace;
/// `Err` names the position of the event at fault. The runner falls back to it when a batch
/// written many at a time fails, so that a failure is pinned to its event.
pub async fn apply_each<P: Projection + ?Sized>(
    projection: &P,
    tx: &mut DbTx,
    events: &[&StoredEvent],
) -> Result<(), (u64, ProjectionError)> {
    for event in events {
        projection
            .apply(tx, event)
            .instrument(apply_span(projection.name(), event))
            .await
            .map_err(|e| (event.position, e))?;
    }
    Ok(())
}

/// A read model or reaction built from events.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Stable name: the checkpoint key (and the name operators rebuild it by). Never rename.
    fn name(&self) -> &'static str;

    /// The events it reacts to.
    fn interests(&self) -> Vec<Interest>;

    /// Applies one event through the runner's transaction.
    async fn apply(&self, tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError>;

    /// Applies a run of events, in order, through the runner's transaction; `Err` names the
    /// position of the event at fault. By default one [`Projection::apply`] at a time, each in a
    /// span that continues the event's trace; a projection that can write many events with one
    /// statement overrides it.
    async fn apply_all(
        &self,
        tx: &mut DbTx,
        events: &[&StoredEvent],
    ) -> Result<(), (u64, ProjectionError)> {
        apply_each(self, tx, events).await
    }

    /// Deletes what the projection built for one municipality (or all), before a rebuild.
    async fn reset(
        &self,
        tx: &mut DbTx,
        municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError>;

    /// Called by the live runner whenever its last fetch came back short of a full batch: as a
    /// rule it has then applied everything the log held (on a JetStream source a fetch can also
    /// come back short while a backlog is still arriving). The moment for upkeep that should not
    /// compete with a backlog, such as refreshing table statistics after a bulk load. It must
    /// return at once (spawn any work).
    fn caught_up(&self) {}

    /// Whether this projection wants an event.
    fn wants(&self, event: &StoredEvent) -> bool {
        self.interests().iter().any(|i| i.matches(event))
    }
}
