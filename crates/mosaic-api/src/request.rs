//! The context of one request: who calls, for which municipality, with which idempotency key.

use chrono::{DateTime, Utc};
use mosaic_auth::Caller;
use mosaic_eventstore::{CommandMeta, Idempotency};
use mosaic_types::MunicipalityCode;
use sha2::{Digest, Sha256};
use tonic::{Request, Status};
use uuid::Uuid;

use crate::FieldErrors;

/// Metadata header a client may set to correlate its own logs with ours (a UUID).
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// Longest accepted `request_id`.
pub const MAX_REQUEST_ID: usize = 128;

/// Everything a handler needs to know about a request besides its body.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The verified caller.
    pub caller: Caller,
    /// The municipality the request is scoped to.
    pub municipality: MunicipalityCode,
    /// The idempotency key and request fingerprint (commands only).
    pub idempotency: Option<Idempotency>,
    /// Ties together everything this request causes.
    pub correlation_id: Uuid,
    /// W3C `traceparent` of the request span.
    pub trace_context: Option<String>,
    /// When the server received the request.
    pub received_at: DateTime<Utc>,
}

impl RequestContext {
    /// The context of a query: caller and municipality.
    pub fn query<T>(request: &Request<T>) -> Result<Self, Status> {
        let caller = Caller::from_request(request)?.clone();
        let municipality = caller.require_municipality()?;
        let correlation_id = request
            .metadata()
            .get(CORRELATION_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::try_parse(v).ok())
            .unwrap_or_else(Uuid::now_v7);
        Ok(Self {
            caller,
            municipality,
            idempotency: None,
            correlation_id,
            trace_context: mosaic_telemetry::traceparent(),
            received_at: mosaic_types::now_utc(),
        })
    }

    /// The context of a command: also checks `request_id` (recording a violation in `errors`)
    /// and fingerprints the request body, so a reused key with another body is caught.
    pub fn command<T: prost::Message>(
        request: &Request<T>,
        request_id: &str,
        errors: &mut FieldErrors,
    ) -> Result<Self, Status> {
        let mut ctx = Self::query(request)?;
        if request_id.is_empty() {
            errors.add(
                "request_id",
                "is required: a retry with the same value returns the first answer",
            );
        } else if request_id.len() > MAX_REQUEST_ID
            || !request_id.bytes().all(|b| b.is_ascii_graphic())
        {
            errors.add(
                "request_id",
                format!("must be 1 to {MAX_REQUEST_ID} visible ASCII characters"),
            );
        } else {
            ctx = ctx.with_idempotency(request_id, request.get_ref());
        }
        Ok(ctx)
    }

    /// This context for one item of a streamed request: its own idempotency key (already
    /// checked by the caller) and the fingerprint of the item.
    pub fn with_idempotency<T: prost::Message>(mut self, key: &str, body: &T) -> Self {
        let hash = Sha256::digest(body.encode_to_vec());
        self.idempotency = Some(Idempotency {
            key: key.to_owned(),
            request_hash: hash.iter().map(|b| format!("{b:02x}")).collect(),
        });
        self
    }

    /// The metadata stored with every event this request writes.
    pub fn meta(&self) -> CommandMeta {
        CommandMeta {
            actor: self.caller.subject.clone(),
            recorded_at: self.received_at,
            correlation_id: self.correlation_id,
            causation_id: None,
            idempotency: self.idempotency.clone(),
            trace_context: self.trace_context.clone(),
        }
    }
}
