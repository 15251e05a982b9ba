//! The wire form of an event on JetStream.

use async_nats::HeaderMap;
use mosaic_eventstore::StoredEvent;

use crate::BusError;

/// Header carrying the store position of the event (positions are per store).
pub const POSITION_HEADER: &str = "Mosaic-Position";

/// `mosaic.<municipality>.<context>.<EventType>`: consumers filter by municipality, context or
/// type with NATS wildcards.
pub fn subject_for(event: &StoredEvent) -> String {
    format!(
        "mosaic.{}.{}.{}",
        event.municipality, event.context, event.event_type
    )
}

/// The message body (the whole stored envelope, JSON) and headers of an event.
pub fn encode_event(event: &StoredEvent) -> Result<(HeaderMap, bytes::Bytes), BusError> {
    let body = serde_json::to_vec(event).map_err(BusError::Decode)?;
    let mut headers = HeaderMap::new();
    headers.insert(
        async_nats::header::NATS_MESSAGE_ID,
        event.event_id.to_string().as_str(),
    );
    headers.insert(POSITION_HEADER, event.position.to_string().as_str());
    if let Some(tp) = &event.trace_context {
        headers.insert("traceparent", tp.as_str());
    }
    Ok((headers, body.into()))
}

/// Reads an event back from a message body.
pub fn decode_event(payload: &[u8]) -> Result<StoredEvent, BusError> {
    serde_json::from_slice(payload).map_err(BusError::Decode)
}
