use crate::{Payload, StoredEvent};

/// Brings a stored payload of an old schema version up to the current one. History is never
/// rewritten: old versions stay in the log and are upcast each time they are read.
pub trait Upcaster: Send + Sync {
    /// The stored type name this upcaster handles.
    fn event_type(&self) -> &str;
    /// The schema version it reads; it produces `reads_version + 1`.
    fn reads_version(&self) -> u32;
    /// Transforms the payload one version up.
    fn upcast(&self, payload: serde_json::Value) -> serde_json::Value;
}

/// A chain of upcasters applied until no more apply.
#[derive(Default)]
pub struct Upcasters(Vec<Box<dyn Upcaster>>);

impl Upcasters {
    /// An empty chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one step.
    pub fn with(mut self, step: impl Upcaster + 'static) -> Self {
        self.0.push(Box::new(step));
        self
    }

    /// Upcasts an event to the newest schema version known.
    pub fn apply(&self, mut event: StoredEvent) -> StoredEvent {
        while let Some(step) = self.0.iter().find(|s| {
            s.event_type() == event.event_type && s.reads_version() == event.schema_version
        }) {
            // A payload no JSON value holds is left as stored; decoding it reports the fault.
            let Ok(value) = event.payload.to_value() else {
                break;
            };
            event.payload = Payload::from_value(&step.upcast(value));
            event.schema_version += 1;
        }
        event
    }
}
