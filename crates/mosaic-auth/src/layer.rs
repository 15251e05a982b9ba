use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderMap;
use mosaic_types::MunicipalityCodeError;
use tower::util::Either;
use tower::util::future::EitherResponseFuture;
use tower::{Layer, Service};

use crate::{AuthError, Caller, MUNICIPALITY_HEADER, TokenVerifier};

/// Paths served without a token: load balancers and `grpcurl` must reach health and
/// reflection before anyone has credentials.
const PUBLIC_PATH_PREFIXES: [&str; 2] = ["/grpc.health.v1.Health/", "/grpc.reflection."];

/// Authenticates every gRPC request: `tonic::transport::Server::builder().layer(AuthLayer::new(verifier))`.
///
/// Requests with a valid bearer token reach the service with a [`Caller`] in their extensions;
/// all others are answered with a gRPC error status without reaching it.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: Arc<TokenVerifier>,
}

impl AuthLayer {
    /// A layer checking tokens with `verifier`.
    pub fn new(verifier: TokenVerifier) -> Self {
        Self::from_shared(Arc::new(verifier))
    }

    /// A layer sharing a verifier that is also used elsewhere.
    pub fn from_shared(verifier: Arc<TokenVerifier>) -> Self {
        Self { verifier }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            verifier: Arc::clone(&self.verifier),
        }
    }
}

/// The service [`AuthLayer`] wraps around an inner service.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: Arc<TokenVerifier>,
}

impl<S> AuthService<S> {
    /// Wraps `inner` directly, without going through the layer.
    pub fn new(inner: S, verifier: Arc<TokenVerifier>) -> Self {
        Self { inner, verifier }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for AuthService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    // A rejection is a headers-only gRPC response (status in the headers, empty body), so the
    // inner body type only needs an empty value; `tonic::body::Body` and `()` both have one.
    ResBody: Default,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = EitherResponseFuture<S::Future, Ready<Result<http::Response<ResBody>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is the inner service's; a rejected request leaves the reserved slot unused,
        // which tonic's always-ready router does not mind.
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqBody>) -> Self::Future {
        // `Either` over `&mut S` and a one-shot rejecter gives a nameable future for both
        // outcomes without boxing the inner one.
        let mut route: Either<&mut S, Reject<ResBody, S::Error>> = if is_public(req.uri().path()) {
            Either::Left(&mut self.inner)
        } else {
            match authenticate(&self.verifier, req.headers()) {
                Ok(caller) => {
                    record(&caller);
                    req.extensions_mut().insert(caller);
                    Either::Left(&mut self.inner)
                }
                Err(err) => {
                    tracing::info!(path = req.uri().path(), error = %err, "request rejected");
                    Either::Right(Reject::new(err.into()))
                }
            }
        };
        route.call(req)
    }
}

// Lets the wrapped service be passed to `Server::add_service` directly.
impl<S: tonic::server::NamedService> tonic::server::NamedService for AuthService<S> {
    const NAME: &'static str = S::NAME;
}

fn is_public(path: &str) -> bool {
    PUBLIC_PATH_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

fn authenticate(verifier: &TokenVerifier, headers: &HeaderMap) -> Result<Caller, AuthError> {
    let token = bearer_token(headers)?;
    let requested = match headers.get(MUNICIPALITY_HEADER) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| AuthError::BadMunicipalityHeader(MunicipalityCodeError::Format))?,
        ),
    };
    verifier.verify(token)?.resolve_scope(requested)
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(AuthError::MissingToken)?
        .to_str()
        .map_err(|_| AuthError::MalformedAuthorization)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MalformedAuthorization)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::MalformedAuthorization);
    }
    Ok(token)
}

fn record(caller: &Caller) {
    let municipality = caller
        .municipality
        .as_ref()
        .map(|m| m.as_str())
        .unwrap_or("");
    // Fields declared by an enclosing request span (e.g. the telemetry crate's) get filled in;
    // for any other span these calls are no-ops.
    let span = tracing::Span::current();
    span.record("caller.role", caller.role.as_str());
    span.record("caller.municipality", municipality);
    tracing::debug!(
        caller.role = caller.role.as_str(),
        caller.municipality = municipality,
        "request authenticated"
    );
}

/// Answers one request with a prepared gRPC error status.
struct Reject<ResBody, E> {
    status: Option<tonic::Status>,
    _types: PhantomData<fn() -> (ResBody, E)>,
}

impl<ResBody, E> Reject<ResBody, E> {
    fn new(status: tonic::Status) -> Self {
        Self {
            status: Some(status),
            _types: PhantomData,
        }
    }
}

impl<Req, ResBody: Default, E> Service<Req> for Reject<ResBody, E> {
    type Response = http::Response<ResBody>;
    type Error = E;
    type Future = Ready<Result<http::Response<ResBody>, E>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), E>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Req) -> Self::Future {
        let status = self
            .status
            .take()
            .unwrap_or_else(|| tonic::Status::internal("authentication rejection reused"));
        ready(Ok(status.into_http()))
    }
}
