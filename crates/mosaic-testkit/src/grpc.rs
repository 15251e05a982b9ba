//! What every service's tests do with gRPC: authenticated requests, the field violations of a
//! refusal, and waiting for a read model.

use std::time::{Duration, Instant};

use tonic::{Code, Request, Status};

/// `body` with the bearer token.
pub fn authed<T>(body: T, token: &str) -> Request<T> {
    scoped(body, token, None)
}

/// `body` with the bearer token and, for a token that spans municipalities, the one it is for.
pub fn scoped<T>(body: T, token: &str, municipality: Option<&str>) -> Request<T> {
    let mut request = Request::new(body);
    let bearer = format!("Bearer {token}");
    if let Ok(value) = bearer.parse() {
        request.metadata_mut().insert("authorization", value);
    }
    if let Some(value) = municipality.and_then(|m| m.parse().ok()) {
        request
            .metadata_mut()
            .insert("x-mosaic-municipality", value);
    }
    request
}

/// An operator's (or analyst's) request for `municipality`.
pub fn as_operator<T>(body: T, token: &str, municipality: &str) -> Request<T> {
    scoped(body, token, Some(municipality))
}

/// The field names of a refusal's `google.rpc.BadRequest` detail.
pub fn bad_fields(status: &Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Asserts an `INVALID_ARGUMENT` that names `field`.
#[track_caller]
pub fn assert_bad(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let fields = bad_fields(status);
    assert!(
        fields.iter().any(|f| f == field),
        "{field} not in {fields:?}"
    );
}

/// Polls `f` until it returns `Some` (for read models that follow commands by a moment), for at
/// most ten seconds.
pub async fn eventually<T, F, Fut>(mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    for _ in 0..400 {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("the read model never caught up")
}

/// Waits until `done`, failing the test after `within`; how long it took.
pub async fn until(what: &str, within: Duration, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done().await {
        assert!(
            start.elapsed() < within,
            "{what} did not happen within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    start.elapsed()
}
