use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A stored event could not be read or written as a domain event.
#[derive(Debug, thiserror::Error)]
pub enum EventCodecError {
    /// The enum did not serialise to `{"type": ..., "data": ...}`.
    #[error("event enums must be serialised adjacently tagged as {{\"type\", \"data\"}}")]
    Shape,
    /// The payload does not match the stored type.
    #[error("event {event_type} v{schema_version}: {reason}")]
    Payload {
        /// Stored type name.
        event_type: String,
        /// Stored schema version.
        schema_version: u32,
        /// What serde said.
        reason: String,
    },
}

/// An event enum of one context, stored as `(event_type, schema_version, payload)`.
///
/// Implementors are enums with `#[serde(tag = "type", content = "data")]` and an explicit
/// `#[serde(rename = "StoredName")]` on every variant.
pub trait DomainEvent: Serialize + DeserializeOwned + Clone + Debug + PartialEq {
    /// The schema version written for new events of a stored type (bump it with an upcaster).
    fn schema_version(_event_type: &str) -> u32 {
        1
    }

    /// The stored type name and payload of this event.
    fn to_stored(&self) -> Result<(String, serde_json::Value), EventCodecError> {
        let value = serde_json::to_value(self).map_err(|_| EventCodecError::Shape)?;
        let serde_json::Value::Object(mut map) = value else {
            return Err(EventCodecError::Shape);
        };
        let Some(serde_json::Value::String(event_type)) = map.remove("type") else {
            return Err(EventCodecError::Shape);
        };
        let data = map.remove("data").unwrap_or(serde_json::Value::Null);
        Ok((event_type, data))
    }

    /// The domain event of a stored type name and (already upcast) payload, given as JSON text.
    fn from_stored(
        event_type: &str,
        schema_version: u32,
        payload_json: &str,
    ) -> Result<Self, EventCodecError> {
        let reason = |e: serde_json::Error| EventCodecError::Payload {
            event_type: event_type.to_owned(),
            schema_version,
            reason: e.to_string(),
        };
        // Wrap the stored text in the enum's tag without parsing it twice.
        let type_json = serde_json::to_string(event_type).map_err(reason)?;
        let mut tagged = String::with_capacity(payload_json.len() + type_json.len() + 20);
        tagged.push_str("{\"type\":");
        tagged.push_str(&type_json);
        tagged.push_str(",\"data\":");
        tagged.push_str(payload_json);
        tagged.push('}');
        serde_json::from_str(&tagged).map_err(reason)
    }
}
