//! Read your own writes across services: consistency tokens.
//!
//! Every unary command that succeeds answers with the response header [`HEADER`]: the writing
//! context and the log position its answer rests on (`registry:42`), also when the answer is
//! the first answer of a retried `request_id`. A request may send the tokens it depends on in
//! the same header (several separated by commas, or the header repeated). Before the handler
//! runs, the service waits until each of its read models that consumes a named context has
//! read that context's log up to the position — at most until shortly before the call's
//! deadline (`grpc-timeout`, else [`DEFAULT_WAIT`]) — and otherwise answers `UNAVAILABLE`
//! naming the read model and how far it has read. A service with no read model of a named
//! context has nothing to wait for. So an answer given after the wait, `NOT_FOUND` included,
//! reflects every write the tokens name.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use http::HeaderValue;
use tonic::Status;
use tonic::body::Body;

use crate::FieldErrors;

/// The request and response header that carries consistency tokens.
pub const HEADER: &str = "mosaic-consistency";

/// How long a request without a deadline waits for the read models its tokens name.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// How often the read models' progress is read while a request waits.
const POLL: Duration = Duration::from_millis(10);

/// Most tokens one request may name.
const MAX_TOKENS: usize = 16;

/// A write a request depends on: a context's log up to a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The writing context, e.g. `registry`.
    pub context: String,
    /// The position in that context's log.
    pub position: u64,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.context, self.position)
    }
}

impl Token {
    /// `context:position`, the context in lower-case ASCII letters.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (context, position) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not context:position"))?;
        if context.is_empty()
            || context.len() > 32
            || !context.bytes().all(|b| b.is_ascii_lowercase())
        {
            return Err(format!("{context:?} is not a context name"));
        }
        let position = position
            .parse()
            .map_err(|_| format!("{position:?} is not a log position"))?;
        Ok(Self {
            context: context.to_owned(),
            position,
        })
    }
}

/// The tokens a request names in its [`HEADER`] headers.
pub fn requested(headers: &http::HeaderMap) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    for value in headers.get_all(HEADER) {
        let text = value
            .to_str()
            .map_err(|_| "is not visible ASCII".to_owned())?;
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            tokens.push(Token::parse(part)?);
        }
    }
    if tokens.len() > MAX_TOKENS {
        return Err(format!("names more than {MAX_TOKENS} tokens"));
    }
    Ok(tokens)
}

tokio::task_local! {
    /// The write the current request's answer rests on, recorded by the command pipeline.
    static WRITTEN: RefCell<Option<Token>>;
}

/// Records that the answer being built rests on `context`'s log up to `position` (the latest
/// recorded position of a context wins). Outside a request served through [`ConsistencyLayer`]
/// it does nothing.
pub fn record(context: &str, position: u64) {
    let _ = WRITTEN.try_with(|written| {
        let mut written = written.borrow_mut();
        if written
            .as_ref()
            .is_none_or(|t| t.context != context || t.position < position)
        {
            *written = Some(Token {
                context: context.to_owned(),
                position,
            });
        }
    });
}

/// How far a service's read models have read the contexts they consume.
#[async_trait]
pub trait Progress: Send + Sync {
    /// Each read model of this service that consumes `context`, with the position of that
    /// context's log it has read up to; empty when none consumes it.
    async fn read_up_to(&self, context: &str) -> Result<Vec<(String, u64)>, String>;
}

/// The layer that makes requests wait for the writes they name, and stamps each command's
/// answer with its token. Keyed by gRPC service name (`mosaic.v1.ActivityService`).
#[derive(Clone, Default)]
pub struct ConsistencyLayer {
    services: Arc<HashMap<String, Arc<dyn Progress>>>,
}

impl ConsistencyLayer {
    /// A layer for the services named in `services`, with their read models' progress.
    pub fn new(services: HashMap<String, Arc<dyn Progress>>) -> Self {
        Self {
            services: Arc::new(services),
        }
    }
}

impl<S> tower::Layer<S> for ConsistencyLayer {
    type Service = Consistency<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Consistency {
            inner,
            services: self.services.clone(),
        }
    }
}

/// See [`ConsistencyLayer`].
#[derive(Clone)]
pub struct Consistency<S> {
    inner: S,
    services: Arc<HashMap<String, Arc<dyn Progress>>>,
}

impl<S> tower::Service<http::Request<Body>> for Consistency<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone that was polled ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let progress = service_name(request.uri().path())
            .and_then(|name| self.services.get(name))
            .cloned();
        Box::pin(async move {
            let tokens = match requested(request.headers()) {
                Ok(tokens) => tokens,
                Err(why) => {
                    let mut errors = FieldErrors::new();
                    errors.add(HEADER, why);
                    let status = errors.finish().err().unwrap_or_else(|| {
                        Status::invalid_argument(format!("the {HEADER} header is malformed"))
                    });
                    return Ok(status.into_http());
                }
            };
            if let (Some(progress), false) = (progress, tokens.is_empty()) {
                let within = wait_budget(request.headers());
                if let Err(status) = wait_for(progress.as_ref(), &tokens, within).await {
                    return Ok(status.into_http());
                }
            }
            WRITTEN
                .scope(RefCell::new(None), async move {
                    let mut response = inner.call(request).await?;
                    let written = WRITTEN.with(|w| w.borrow().clone());
                    if let Some(token) = written
                        && let Ok(value) = HeaderValue::from_str(&token.to_string())
                    {
                        response.headers_mut().insert(HEADER, value);
                    }
                    Ok(response)
                })
                .await
        })
    }
}

/// `mosaic.v1.ActivityService` of `/mosaic.v1.ActivityService/CreateActivity`.
fn service_name(path: &str) -> Option<&str> {
    path.strip_prefix('/')?.split('/').next()
}

/// How long a request may wait: nine tenths of its deadline, so that the answer still reaches
/// the caller in time; [`DEFAULT_WAIT`] without one.
fn wait_budget(headers: &http::HeaderMap) -> Duration {
    headers
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(grpc_timeout)
        .map_or(DEFAULT_WAIT, |d| d.mul_f64(0.9))
}

/// A `grpc-timeout` value: up to eight digits and a unit.
fn grpc_timeout(text: &str) -> Option<Duration> {
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Waits until every read model that consumes a token's context has read up to it.
async fn wait_for(
    progress: &dyn Progress,
    tokens: &[Token],
    within: Duration,
) -> Result<(), Status> {
    let until = tokio::time::Instant::now() + within;
    loop {
        let mut behind = None;
        for token in tokens {
            let models = progress.read_up_to(&token.context).await.map_err(|e| {
                Status::unavailable(format!("cannot read the read models' progress: {e}"))
            })?;
            if let Some((name, at)) = models.into_iter().find(|(_, at)| *at < token.position) {
                behind = Some((name, at, token));
                break;
            }
        }
        let Some((name, at, token)) = behind else {
            return Ok(());
        };
        if tokio::time::Instant::now() + POLL > until {
            return Err(Status::unavailable(format!(
                "the read model {name} has read the {} log up to position {at}, not yet {}: \
                 retry shortly with the same {HEADER} header",
                token.context, token.position
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_read_as_written_and_bad_ones_are_named() {
        let mut headers = http::HeaderMap::new();
        headers.append(HEADER, HeaderValue::from_static("registry:42, activity:7"));
        headers.append(HEADER, HeaderValue::from_static("registry:50"));
        let tokens = requested(&headers).unwrap();
        assert_eq!(
            tokens.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["registry:42", "activity:7", "registry:50"]
        );
        for bad in ["registry", "Registry:1", "registry:-1", ":1", "registry:x"] {
            let mut headers = http::HeaderMap::new();
            headers.insert(HEADER, HeaderValue::from_str(bad).unwrap());
            assert!(requested(&headers).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_deadline_bounds_the_wait() {
        assert_eq!(grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(grpc_timeout("S"), None);
        assert_eq!(grpc_timeout(""), None);
        let mut headers = http::HeaderMap::new();
        assert_eq!(wait_budget(&headers), DEFAULT_WAIT);
        headers.insert("grpc-timeout", HeaderValue::from_static("1S"));
        assert_eq!(wait_budget(&headers), Duration::from_millis(900));
    }
}
