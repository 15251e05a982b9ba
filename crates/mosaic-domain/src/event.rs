use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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
    /// The schema version written for new events of a stored type (bump it when a payload changes; the payload type keeps reading the older versions).
    fn schema_version(_event_type: &str) -> u32 {
        1
    }

    /// The stored type name and payload (JSON text) of this event.
    fn to_stored(&self) -> Result<(String, Box<RawValue>), EventCodecError> {
        /// The adjacently tagged form, with the payload left as text.
        #[derive(Deserialize)]
        struct Tagged<'a> {
            #[serde(rename = "type")]
            event_type: String,
            #[serde(borrow, default)]
            data: Option<&'a RawValue>,
        }
        // Written once as text and split, rather than built as a `Value` tree and written again.
        let text = serde_json::to_string(self).map_err(|_| EventCodecError::Shape)?;
        let tagged: Tagged<'_> = serde_json::from_str(&text).map_err(|_| EventCodecError::Shape)?;
        let data = match tagged.data {
            Some(data) => data.to_owned(),
            None => RawValue::from_string("null".into()).map_err(|_| EventCodecError::Shape)?,
        };
        Ok((tagged.event_type, data))
    }

    /// The domain event of a stored type name and payload, given as JSON text.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", content = "data")]
    enum Sample {
        #[serde(rename = "Named")]
        Named { name: String, n: u32 },
        #[serde(rename = "Bare")]
        Bare,
    }

    impl DomainEvent for Sample {}

    #[test]
    fn a_stored_payload_is_the_data_as_written_and_reads_back() {
        let named = Sample::Named {
            name: "柏 \"駅前\"".into(),
            n: 7,
        };
        let (event_type, payload) = named.to_stored().expect("encodes");
        assert_eq!(event_type, "Named");
        assert_eq!(payload.get(), r#"{"name":"柏 \"駅前\"","n":7}"#);
        assert_eq!(
            Sample::from_stored(&event_type, 1, payload.get()).expect("decodes"),
            named
        );
    }

    #[test]
    fn a_variant_without_data_stores_null() {
        let (event_type, payload) = Sample::Bare.to_stored().expect("encodes");
        assert_eq!((event_type.as_str(), payload.get()), ("Bare", "null"));
    }
}
