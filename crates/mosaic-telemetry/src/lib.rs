//! Logging and tracing for every Mosaic process.
//!
//! Logs go to stderr (`RUST_LOG` filters, `MOSAIC_LOG_FORMAT=json` for JSON lines). Spans always
//! carry OpenTelemetry trace ids, so one trace id ties a gRPC call to the events it wrote and to
//! the consumers that handled them; spans are exported over OTLP only when the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and nothing is sent or logged about export otherwise.
//!
//! Trace context crosses process boundaries as a W3C `traceparent`: in gRPC metadata, in the
//! stored event, and in NATS headers ([`traceparent`], [`continue_trace`]).

mod init;
mod propagate;

pub use init::{TelemetryError, TelemetryGuard, init};
pub use propagate::{
    continue_trace, continue_trace_from_http, link_trace, trace_id_of, traceparent,
};
