//! The per-request limits: rates per caller, the bound on streams without a token, the answer
//! deadline, and the count of calls in flight per connection.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use mosaic_auth::Caller;
use tonic::transport::server::TlsConnectInfo;

use super::ServeLimits;
use super::connections::{CallInFlight, ConnInfo};

/// Streaming calls that need no token: each holds a slot of [`ServeLimits::max_public_streams`].
fn is_public_stream(path: &str) -> bool {
    path == "/grpc.health.v1.Health/Watch" || path.starts_with("/grpc.reflection.")
}

/// The per-request limits: rates per caller, the bound on streams without a token, the answer
/// deadline, and the count of calls in flight per connection (for the idle timeout).
#[derive(Clone)]
pub(crate) struct LimitLayer {
    shared: Arc<Shared>,
}

struct Shared {
    per_subject: Option<(NonZeroU32, DefaultKeyedRateLimiter<String>)>,
    per_peer: Option<(NonZeroU32, DefaultKeyedRateLimiter<IpAddr>)>,
    public_streams: Mutex<PublicStreams>,
    max_public_streams: usize,
    max_public_streams_per_peer: usize,
    request_timeout: Duration,
    /// Paths whose requests stream (imports): their answer comes after the last request, so the
    /// answer deadline does not apply.
    client_streaming: HashSet<String>,
}

#[derive(Default)]
struct PublicStreams {
    total: usize,
    per_peer: HashMap<Option<IpAddr>, usize>,
}

/// A slot of the streams without a token, freed when the stream ends.
struct PublicStreamSlot {
    shared: Arc<Shared>,
    peer: Option<IpAddr>,
}

impl Drop for PublicStreamSlot {
    fn drop(&mut self) {
        let mut streams = self.shared.lock_public();
        streams.total = streams.total.saturating_sub(1);
        if let Some(n) = streams.per_peer.get_mut(&self.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                streams.per_peer.remove(&self.peer);
            }
        }
    }
}

impl Shared {
    fn lock_public(&self) -> MutexGuard<'_, PublicStreams> {
        self.public_streams
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn take_public_stream(shared: &Arc<Shared>, peer: Option<IpAddr>) -> Option<PublicStreamSlot> {
    let mut streams = shared.lock_public();
    let mine = streams.per_peer.get(&peer).copied().unwrap_or(0);
    if streams.total >= shared.max_public_streams || mine >= shared.max_public_streams_per_peer {
        return None;
    }
    streams.total += 1;
    *streams.per_peer.entry(peer).or_default() += 1;
    Some(PublicStreamSlot {
        shared: shared.clone(),
        peer,
    })
}

impl LimitLayer {
    pub(crate) fn new(limits: &ServeLimits) -> Self {
        Self {
            shared: Arc::new(Shared {
                per_subject: limits
                    .calls_per_subject
                    .map(|n| (n, RateLimiter::keyed(Quota::per_second(n)))),
                per_peer: limits
                    .public_calls_per_peer
                    .map(|n| (n, RateLimiter::keyed(Quota::per_second(n)))),
                public_streams: Mutex::default(),
                max_public_streams: limits.max_public_streams,
                max_public_streams_per_peer: limits.max_public_streams_per_peer,
                request_timeout: limits.request_timeout,
                client_streaming: client_streaming_paths(),
            }),
        }
    }

    /// Forgets callers that have been quiet long enough to be back at a full burst, so the rate
    /// tables do not grow with every caller ever seen. Run now and then.
    pub(crate) fn forget_quiet_callers(&self) {
        if let Some((_, limiter)) = &self.shared.per_subject {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some((_, limiter)) = &self.shared.per_peer {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Every `/package.Service/Method` of the public API whose requests stream.
fn client_streaming_paths() -> HashSet<String> {
    use prost::Message;
    let Ok(set) = prost_types::FileDescriptorSet::decode(mosaic_proto::FILE_DESCRIPTOR_SET) else {
        return HashSet::new();
    };
    let mut paths = HashSet::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                if method.client_streaming() {
                    paths.insert(format!(
                        "/{}.{}/{}",
                        file.package(),
                        service.name(),
                        method.name()
                    ));
                }
            }
        }
    }
    paths
}

impl<S> tower::Layer<S> for LimitLayer {
    type Service = LimitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LimitService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`LimitLayer`] wraps around the routes.
#[derive(Clone)]
pub(crate) struct LimitService<S> {
    inner: S,
    shared: Arc<Shared>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn conn_info(extensions: &http::Extensions) -> Option<&ConnInfo> {
    extensions.get::<ConnInfo>().or_else(|| {
        extensions
            .get::<TlsConnectInfo<ConnInfo>>()
            .map(TlsConnectInfo::get_ref)
    })
}

fn refuse<E: Send + 'static>(
    status: tonic::Status,
) -> BoxFuture<Result<http::Response<tonic::body::Body>, E>> {
    Box::pin(std::future::ready(Ok(status.into_http())))
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for LimitService<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    ResBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        let conn = conn_info(req.extensions()).cloned();
        let peer = conn.as_ref().and_then(|c| c.peer).map(|a| a.ip());
        let path = req.uri().path();

        match req.extensions().get::<Caller>() {
            Some(caller) => {
                if let Some((rate, limiter)) = &shared.per_subject
                    && limiter.check_key(&caller.subject).is_err()
                {
                    return refuse(tonic::Status::resource_exhausted(format!(
                        "too many calls from this caller: at most {rate} per second"
                    )));
                }
            }
            None => {
                if let (Some((rate, limiter)), Some(ip)) = (&shared.per_peer, peer)
                    && limiter.check_key(&ip).is_err()
                {
                    return refuse(tonic::Status::resource_exhausted(format!(
                        "too many calls without a token from this address: at most {rate} per second"
                    )));
                }
            }
        }
        let public_stream = if is_public_stream(path) {
            match take_public_stream(shared, peer) {
                Some(slot) => Some(slot),
                None => {
                    return refuse(tonic::Status::resource_exhausted(
                        "too many open streams without a token (health Watch, reflection)",
                    ));
                }
            }
        } else {
            None
        };
        let deadline = (!shared.client_streaming.contains(path)).then_some(shared.request_timeout);
        let in_flight = conn.map(|c| c.activity.begin());

        // The clone that was made ready is the one called; a fresh clone stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let answer = inner.call(req);
        Box::pin(async move {
            let response = match deadline {
                Some(limit) => match tokio::time::timeout(limit, answer).await {
                    Ok(response) => response?,
                    Err(_) => {
                        return Ok(tonic::Status::deadline_exceeded(format!(
                            "no answer within the server's request timeout ({} s)",
                            limit.as_secs_f64()
                        ))
                        .into_http());
                    }
                },
                None => answer.await?,
            };
            Ok(response.map(|body| {
                tonic::body::Body::new(Guarded {
                    body,
                    _in_flight: in_flight,
                    _public_stream: public_stream,
                })
            }))
        })
    }
}

/// An answer's body that keeps the call counted (and its stream slot taken) until it is sent in
/// full or dropped.
struct Guarded<B> {
    body: B,
    _in_flight: Option<CallInFlight>,
    _public_stream: Option<PublicStreamSlot>,
}

impl<B> http_body::Body for Guarded<B>
where
    B: http_body::Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Answers after `delay`, as a handler that takes its time.
    fn slow(
        delay: Duration,
    ) -> impl tower::Service<
        http::Request<()>,
        Response = http::Response<tonic::body::Body>,
        Error = std::convert::Infallible,
        Future = impl Future + Send,
    > + Clone
    + Send
    + 'static {
        tower::service_fn(move |_req: http::Request<()>| async move {
            tokio::time::sleep(delay).await;
            Ok(http::Response::new(tonic::body::Body::empty()))
        })
    }

    fn grpc_status(response: &http::Response<tonic::body::Body>) -> Option<&str> {
        response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn a_call_without_an_answer_by_the_request_timeout_ends_with_deadline_exceeded() {
        use tower::{Layer, ServiceExt};
        let layer = LimitLayer::new(&ServeLimits {
            request_timeout: Duration::from_millis(50),
            ..ServeLimits::default()
        });
        let call = |path: &str| http::Request::builder().uri(path).body(()).unwrap();

        let cut = layer
            .layer(slow(Duration::from_secs(60)))
            .oneshot(call("/mosaic.v1.RegistryService/GetMunicipality"))
            .await
            .unwrap();
        assert_eq!(
            grpc_status(&cut),
            Some(format!("{}", tonic::Code::DeadlineExceeded as i32).as_str())
        );

        // An import answers after its last request, however long the client streams.
        let import = layer
            .layer(slow(Duration::from_millis(200)))
            .oneshot(call("/mosaic.v1.RegistryService/ImportResidents"))
            .await
            .unwrap();
        assert_eq!(grpc_status(&import), None);
    }

    #[test]
    fn imports_are_known_as_client_streaming() {
        let paths = client_streaming_paths();
        assert!(
            paths.contains("/mosaic.v1.RegistryService/ImportResidents"),
            "{paths:?}"
        );
        assert!(!paths.contains("/mosaic.v1.RegistryService/RegisterResident"));
    }
}
