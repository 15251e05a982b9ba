//! The API conventions every service follows, in one place (DESIGN.md §4), so no service
//! re-invents them:
//!
//! - [`fields`]: bad input becomes `INVALID_ARGUMENT` with one `google.rpc.BadRequest` field
//!   violation per bad field (at most twenty listed); [`text`]: what free text may contain;
//! - [`request`]: the request context — caller, municipality, `request_id` (the idempotency key,
//!   scoped by caller),
//!   a fingerprint of the request, correlation and trace ids;
//! - [`pipeline`]: one way to wire RPCs, read a command's common fields, get an entity by id
//!   and stamp it;
//! - [`command`]: the command pipeline — load the stream, check who may act, replay the first
//!   answer of the same caller's retried request, `decide`, append with the expected version,
//!   answer;
//! - [`filter`]: optional list filters as SQL with numbered parameters, on either backend;
//! - [`wire`]: shared wire values (skills, weekly windows, ids, expected versions) validated;
//! - [`occurred_at`], [`paging`]: `occurred_at` in the past only; `page_size` / `page_token`;
//! - [`status`]: how store errors become gRPC statuses;
//! - [`consistency`]: read your own writes across services — each command's answer carries the
//!   log position it rests on, and a request that names positions waits for the read models;
//! - [`decode_errors`]: a request body that does not decode answers `INVALID_ARGUMENT`;
//! - [`server`]: one way to serve — health, reflection (v1 and v1alpha), the token layer, TLS,
//!   request spans, clean shutdown;
//! - [`limits`]: what keeps one client from locking the others out — connection cap, timeouts,
//!   HTTP/2 settings, per-caller rates, bounded streams without a token.

pub mod command;
pub mod consistency;
pub mod decode_errors;
pub mod fields;
pub mod filter;
pub mod limits;
pub mod occurred_at;
pub mod paging;
pub mod pipeline;
pub mod request;
pub mod rounds;
pub mod server;
pub mod status;
pub mod text;
pub mod wire;

pub use command::{Answer, Done, Execute, execute, execute_with};
pub use fields::FieldErrors;
pub use request::RequestContext;
