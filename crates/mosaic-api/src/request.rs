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

/// Where the idempotency keys of requests begin: `r:` and the caller's scope.
const REQUEST_KEY_SPACE: &str = "r:";
/// Where the idempotency keys of import rows begin (the prefix import rows have always had).
const ROW_KEY_SPACE: &str = "import:";
/// Where the idempotency keys of the steps of a larger command begin.
const STEP_KEY_SPACE: &str = "step:";

/// The idempotency key of a request: its `request_id` in its caller's own key space, so another
/// caller's same `request_id` is a request of its own and never receives this caller's answer.
fn request_key(caller: &Caller, request_id: &str) -> String {
    format!("{REQUEST_KEY_SPACE}{}:{request_id}", caller_scope(caller))
}

/// Who the caller is, for idempotency: a digest of the token's subject, role, home
/// municipality and organisation. The subject (often an e-mail address) is stored only as part
/// of this digest.
pub fn caller_scope(caller: &Caller) -> String {
    let mut h = Sha256::new();
    let organisation = caller
        .organisation
        .as_ref()
        .map(|o| o.to_string())
        .unwrap_or_default();
    for part in [
        caller.subject.as_str(),
        caller.role.as_str(),
        caller.home.as_ref().map(|m| m.as_str()).unwrap_or(""),
        organisation.as_str(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex(&h.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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
    /// A context acting on its own account (`actor`, e.g. `matching`) in `municipality`: what
    /// its events record as their actor.
    pub fn system(actor: &str, municipality: MunicipalityCode) -> Self {
        Self {
            caller: Caller {
                subject: actor.into(),
                role: mosaic_auth::Role::Operator,
                home: Some(municipality),
                municipality: Some(municipality),
                organisation: None,
            },
            municipality,
            idempotency: None,
            correlation_id: Uuid::now_v7(),
            trace_context: None,
            received_at: mosaic_types::now_utc(),
        }
    }

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
            let key = request_key(&ctx.caller, request_id);
            ctx = ctx.with_key(key, request.get_ref());
        }
        Ok(ctx)
    }

    /// This context for one row of an import: the row's key (already checked by the caller) in
    /// the municipality's key space of import rows, so the same roster imported twice, by
    /// whichever staff member, registers each row once; and the fingerprint of the row. No
    /// `request_id` can name an import row's key.
    pub fn with_row_key<T: prost::Message>(self, row_key: &str, body: &T) -> Self {
        self.with_key(format!("{ROW_KEY_SPACE}{row_key}"), body)
    }

    /// This context for one step a command takes on behalf of a larger one (one seat of a
    /// team's proposals): the step's key in the municipality's key space of such steps, so the
    /// step is taken once whoever repeats the larger command, and the fingerprint of the step.
    /// No `request_id` can name a step's key.
    pub fn with_step_key<T: prost::Message>(self, step_key: &str, body: &T) -> Self {
        self.with_key(format!("{STEP_KEY_SPACE}{step_key}"), body)
    }

    fn with_key<T: prost::Message>(mut self, key: String, body: &T) -> Self {
        // The request's message type is part of the fingerprint: two requests of different RPCs
        // whose bodies happen to encode alike are two requests, and a `request_id` reused for
        // another RPC is refused rather than answered with the other RPC's answer.
        let message = std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or_default();
        let hash = Sha256::new()
            .chain_update((message.len() as u64).to_be_bytes())
            .chain_update(message)
            .chain_update(body.encode_to_vec())
            .finalize();
        self.idempotency = Some(Idempotency {
            key,
            request_hash: hex(&hash),
        });
        self
    }

    /// Who acted, as events record it: the token's subject for staff, analysts and operators;
    /// for a resident, whose login subject is personal data (often an e-mail address),
    /// `resident:` and the digest of [`caller_scope`] instead.
    pub fn actor(&self) -> String {
        if self.caller.role == mosaic_auth::Role::Resident {
            format!("resident:{}", caller_scope(&self.caller))
        } else {
            self.caller.subject.clone()
        }
    }

    /// The metadata stored with every event this request writes.
    pub fn meta(&self) -> CommandMeta {
        CommandMeta {
            actor: self.actor(),
            recorded_at: self.received_at,
            correlation_id: self.correlation_id,
            causation_id: None,
            idempotency: self.idempotency.clone(),
            trace_context: self.trace_context.clone(),
        }
    }
}
