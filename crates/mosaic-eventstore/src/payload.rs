//! An event's body as read: the JSON text exactly as stored, checked but not decoded.
//!
//! Most readers only pass a payload on (the relay, exports) or decode it once into their own
//! event type; building a `serde_json::Value` tree first cost more than the rest of a log read.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A stored event's payload: valid JSON text, kept as text until a reader decodes it.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(Box<RawValue>);

impl Payload {
    /// The payload of a JSON value.
    pub fn from_value(value: &serde_json::Value) -> Self {
        // Serialising a `serde_json::Value` cannot fail.
        Self(serde_json::value::to_raw_value(value).unwrap_or_else(|_| null()))
    }

    /// The payload of JSON text, checked to be one valid JSON value.
    pub fn from_json(json: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(json).map(Self)
    }

    /// The JSON text as stored.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The payload as a JSON value (for readers that inspect it loosely). Fails only for text
    /// that is JSON but out of `serde_json`'s range, such as the number `1e400`.
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        self.decode()
    }

    /// The payload decoded into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.json())
    }
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".into()).unwrap_or_else(|_| unreachable!("null is JSON"))
}

impl Default for Payload {
    fn default() -> Self {
        Self(null())
    }
}

impl From<Box<RawValue>> for Payload {
    fn from(raw: Box<RawValue>) -> Self {
        Self(raw)
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        Self::from_value(&value)
    }
}

/// Equal when the texts are, or when both parse to equal JSON values, whatever their spacing or
/// key order.
impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
            || matches!((self.to_value(), other.to_value()), (Ok(a), Ok(b)) if a == b)
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_text_and_decodes_on_demand() {
        let payload = Payload::from_json(r#"{"b": 1, "a": [true]}"#.into()).unwrap();
        assert_eq!(payload.json(), r#"{"b": 1, "a": [true]}"#);
        assert_eq!(payload.to_value().unwrap(), json!({"a": [true], "b": 1}));
        assert_eq!(payload, Payload::from_value(&json!({"a": [true], "b": 1})));
        #[derive(Deserialize)]
        struct B {
            b: u8,
        }
        assert_eq!(payload.decode::<B>().unwrap().b, 1);
    }

    #[test]
    fn refuses_text_that_is_not_json() {
        assert!(Payload::from_json("{".into()).is_err());
        assert!(Payload::from_json("1 2".into()).is_err());
    }

    #[test]
    fn round_trips_inside_an_envelope() {
        #[derive(Serialize, Deserialize)]
        struct Envelope {
            payload: Payload,
        }
        let text = serde_json::to_string(&Envelope {
            payload: json!({"n": 1}).into(),
        })
        .unwrap();
        assert_eq!(text, r#"{"payload":{"n":1}}"#);
        let back: Envelope = serde_json::from_slice(text.as_bytes()).unwrap();
        assert_eq!(back.payload.json(), r#"{"n":1}"#);
        assert_eq!(
            Payload::default().to_value().unwrap(),
            serde_json::Value::Null
        );
        // JSON that no value holds is kept as text, never turned into something else.
        let huge = Payload::from_json("[1e400]".into()).unwrap();
        assert!(huge.to_value().is_err());
        assert_ne!(huge, Payload::from_json("[1e401]".into()).unwrap());
        assert_eq!(huge, huge.clone());
    }
}
