//! Limits that keep one client from locking everyone else out of a server (issue 13): a cap on
//! connections that silent sockets cannot exhaust, handshake and idle timeouts, HTTP/2 stream and
//! keep-alive settings, a deadline on answers, per-caller request rates and a bound on the streams
//! that need no token (health `Watch`, reflection).
//!
//! [`ServeLimits`] holds the numbers; [`crate::server::serve`] applies them through
//! - [`incoming`]: accepted sockets, each holding a slot of the connection cap while it lives;
//! - [`LimitLayer`]: the per-request part, placed after the token layer so it knows the caller.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::task::AtomicWaker;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use mosaic_auth::Caller;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TlsConnectInfo};

/// The limits a server enforces. [`Default`] gives the documented defaults (`deploy/README.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeLimits {
    /// Open connections at most. At the cap, a new connection takes the slot of the oldest one
    /// that has not sent its first bytes yet; when every open connection has, the new one is
    /// closed at once. `None`: [`DEFAULT_MAX_CONNECTIONS`], or fewer when the open-file limit
    /// cannot hold that many.
    pub max_connections: Option<usize>,
    /// HTTP/2 streams (calls) open at once on one connection.
    pub max_concurrent_streams: u32,
    /// Calls of one connection whose handlers run at once; more wait for a turn.
    pub max_calls_per_connection: usize,
    /// A connection that has not sent the HTTP/2 preface (or, with TLS, finished its handshake)
    /// by then is closed.
    pub handshake_timeout: Duration,
    /// A connection without a call in flight for this long is closed.
    pub idle_timeout: Duration,
    /// HTTP/2 PING after this long without frames, to find peers that vanished.
    pub keepalive_interval: Duration,
    /// A PING not acknowledged within this closes the connection.
    pub keepalive_timeout: Duration,
    /// A call (except those that stream their requests, such as imports) must produce its
    /// answer within this, or ends with `DEADLINE_EXCEEDED`.
    pub request_timeout: Duration,
    /// Calls per second per token subject (bursts of as many); `None`: unlimited.
    pub calls_per_subject: Option<NonZeroU32>,
    /// Calls without a token (health, reflection) per second per peer address; `None`: unlimited.
    pub public_calls_per_peer: Option<NonZeroU32>,
    /// Streams without a token (health `Watch`, reflection) open at once, in all.
    pub max_public_streams: usize,
    /// Streams without a token open at once from one peer address.
    pub max_public_streams_per_peer: usize,
}

/// The connection cap when none is configured and the open-file limit allows it.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1000;

/// Open files kept aside from the connection cap: database files and pools, the listener,
/// the runtime's own descriptors, logs, key files.
pub const RESERVED_FILES: u64 = 256;

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            max_connections: None,
            max_concurrent_streams: 128,
            max_calls_per_connection: 64,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            keepalive_interval: Duration::from_secs(60),
            keepalive_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            calls_per_subject: NonZeroU32::new(1000),
            public_calls_per_peer: NonZeroU32::new(50),
            max_public_streams: 256,
            max_public_streams_per_peer: 16,
        }
    }
}

/// Why the limits cannot be applied.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct LimitError {
    /// The flag and variable that set it.
    pub setting: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// The flag and variable of the connection cap, as named in errors.
const MAX_CONNECTIONS: &str = "--max-connections (MOSAIC_MAX_CONNECTIONS)";

/// The connection cap to enforce, fitted to the process's open-file limit: the soft limit is
/// raised towards the hard one as far as the cap needs. A cap that was asked for and does not fit
/// is an error; the default shrinks to fit, with a warning.
pub fn fit_connection_cap(asked: Option<usize>) -> Result<usize, LimitError> {
    let wanted = asked.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if wanted == 0 {
        return Err(LimitError {
            setting: MAX_CONNECTIONS,
            reason: "must be at least 1".into(),
        });
    }
    let needed = wanted as u64 + RESERVED_FILES;
    let available = open_file_limit(needed);
    if available >= needed {
        return Ok(wanted);
    }
    let fits = available.saturating_sub(RESERVED_FILES);
    match asked {
        Some(n) => Err(LimitError {
            setting: MAX_CONNECTIONS,
            reason: format!(
                "{n} connections need about {needed} open files but the limit is {available} \
                 (raise LimitNOFILE or ulimit -n, or lower the cap)"
            ),
        }),
        None if fits == 0 => Err(LimitError {
            setting: MAX_CONNECTIONS,
            reason: format!(
                "the open-file limit ({available}) leaves no room for connections \
                 (raise LimitNOFILE or ulimit -n)"
            ),
        }),
        None => {
            tracing::warn!(
                open_file_limit = available,
                max_connections = fits,
                "the open-file limit holds fewer than {wanted} connections; serving at most \
                 {fits} (raise LimitNOFILE or ulimit -n, or set {MAX_CONNECTIONS})"
            );
            Ok(fits as usize)
        }
    }
}

/// The soft open-file limit after raising it towards `needed` (never above the hard limit).
#[cfg(unix)]
fn open_file_limit(needed: u64) -> u64 {
    use rlimit::Resource;
    let Ok((soft, hard)) = Resource::NOFILE.get() else {
        return needed;
    };
    if soft >= needed {
        return soft;
    }
    let target = needed.min(hard);
    match Resource::NOFILE.set(target, hard) {
        Ok(()) => target,
        Err(_) => soft,
    }
}

#[cfg(not(unix))]
fn open_file_limit(needed: u64) -> u64 {
    needed
}

/// Parses a duration as written in flags and variables: a whole number with `ms`, `s`, `m` or
/// `h` (`500ms`, `10s`, `5m`); a bare number is seconds. Zero is refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 10s, 5m or 1h"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        other => return Err(format!("{other:?} is not a unit: use ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(duration)
}

/// Parses a rate in calls per second; `0` turns the limit off.
pub fn parse_rate(text: &str) -> Result<Option<NonZeroU32>, String> {
    let n: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of calls per second"))?;
    Ok(NonZeroU32::new(n))
}

// ---------------------------------------------------------------------------------------------
// Connections

/// The connection cap: how many slots are taken, and the connections that may still give theirs
/// up (those that have not sent their first bytes), oldest first.
pub(crate) struct Gate {
    cap: usize,
    state: Mutex<GateState>,
}

#[derive(Default)]
struct GateState {
    open: usize,
    next: u64,
    silent: BTreeMap<u64, Arc<Eviction>>,
}

/// Tells a silent connection that its slot went to a newer one.
#[derive(Default)]
struct Eviction {
    evicted: AtomicBool,
    waker: AtomicWaker,
}

/// One slot of the cap, freed when the connection's socket is dropped.
pub(crate) struct Slot {
    gate: Arc<Gate>,
    id: u64,
    eviction: Arc<Eviction>,
}

impl Gate {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap,
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, GateState> {
        // The state stays consistent even if a holder panicked: every change is one assignment.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for a new connection, or `None` when every slot is held by a connection that has
    /// spoken. At the cap, the oldest silent connection hands its slot over and is closed: silent
    /// sockets cannot keep newcomers out.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut state = self.lock();
        if state.open >= self.cap {
            let (_, oldest) = state.silent.pop_first()?;
            oldest.evicted.store(true, Ordering::Release);
            oldest.waker.wake();
        } else {
            state.open += 1;
        }
        let id = state.next;
        state.next += 1;
        let eviction = Arc::new(Eviction::default());
        state.silent.insert(id, eviction.clone());
        Some(Slot {
            gate: self.clone(),
            id,
            eviction,
        })
    }

    /// Closes every connection that has not spoken yet: on shutdown they have nothing to finish.
    pub(crate) fn close_silent(&self) {
        let mut state = self.lock();
        for (_, silent) in std::mem::take(&mut state.silent) {
            silent.evicted.store(true, Ordering::Release);
            silent.waker.wake();
            // Nobody takes over the slot of a connection closed for shutdown.
            state.open = state.open.saturating_sub(1);
        }
    }

    #[cfg(test)]
    fn open(&self) -> usize {
        self.lock().open
    }
}

impl Slot {
    /// The connection has spoken: its slot is its own until it closes.
    fn spoke(&self) {
        self.gate.lock().silent.remove(&self.id);
    }

    fn evicted(&self) -> bool {
        self.eviction.evicted.load(Ordering::Acquire)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // An evicted connection's slot already belongs to the connection that took it.
        if self.evicted() {
            return;
        }
        let mut state = self.gate.lock();
        state.silent.remove(&self.id);
        state.open = state.open.saturating_sub(1);
    }
}

/// Calls in flight on one connection, and since when it has had none.
pub(crate) struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds from `started` to the end of the last call.
    quiet_since: AtomicU64,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            quiet_since: AtomicU64::new(0),
        })
    }

    fn begin(self: &Arc<Self>) -> CallInFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        CallInFlight(self.clone())
    }

    /// When the connection becomes idle for `timeout`, if it has no call in flight now.
    fn idle_deadline(&self, timeout: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let quiet = Duration::from_millis(self.quiet_since.load(Ordering::Acquire));
        Some(self.started + quiet + timeout)
    }
}

/// Held by a call's answer until it is sent in full (or dropped).
pub(crate) struct CallInFlight(Arc<Activity>);

impl Drop for CallInFlight {
    fn drop(&mut self) {
        let now = self.0.started.elapsed().as_millis();
        self.0
            .quiet_since
            .store(u64::try_from(now).unwrap_or(u64::MAX), Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What every request of a connection learns about it (through the request extensions).
#[derive(Clone)]
pub(crate) struct ConnInfo {
    peer: Option<SocketAddr>,
    activity: Arc<Activity>,
}

/// The HTTP/2 client preface is 24 bytes; a TLS ClientHello is longer. Once this many bytes
/// arrived, the connection has spoken.
const FIRST_BYTES: usize = 24;

/// An accepted socket under the limits: it holds a slot of the cap, is closed when it stays silent
/// past the handshake timeout, when a newer connection takes its slot while it is silent, or when
/// it has had no call in flight for the idle timeout.
pub(crate) struct Conn {
    io: TcpStream,
    slot: Slot,
    info: ConnInfo,
    heard: usize,
    handshake: Option<Pin<Box<Sleep>>>,
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
}

impl Conn {
    fn new(io: TcpStream, slot: Slot, limits: &ServeLimits) -> Self {
        let peer = io.peer_addr().ok();
        Self {
            io,
            slot,
            info: ConnInfo {
                peer,
                activity: Activity::new(),
            },
            heard: 0,
            handshake: Some(Box::pin(tokio::time::sleep(limits.handshake_timeout))),
            idle: Box::pin(tokio::time::sleep(limits.idle_timeout)),
            idle_timeout: limits.idle_timeout,
        }
    }

    /// `Err` when the connection must close now; otherwise the timers are armed to wake `cx`.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if let Some(handshake) = &mut self.handshake {
            self.slot.eviction.waker.register(cx.waker());
            if self.slot.evicted() {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "silent connection closed: a newer connection took its slot",
                ));
            }
            if handshake.as_mut().poll(cx).is_ready() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection closed: no handshake within the handshake timeout",
                ));
            }
            return Ok(());
        }
        while self.idle.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            match self.info.activity.idle_deadline(self.idle_timeout) {
                Some(deadline) if deadline <= now => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection closed: idle for the idle timeout",
                    ));
                }
                Some(deadline) => self.idle.as_mut().reset(deadline.into()),
                None => self.idle.as_mut().reset((now + self.idle_timeout).into()),
            }
        }
        Ok(())
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Err(e) = this.check(cx) {
            return Poll::Ready(Err(e));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.io).poll_read(cx, buf);
        if this.handshake.is_some() && matches!(read, Poll::Ready(Ok(()))) {
            this.heard += buf.filled().len() - before;
            if this.heard >= FIRST_BYTES {
                this.handshake = None;
                this.slot.spoke();
            }
        }
        read
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl Connected for Conn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

/// How long to wait before accepting again when the process is out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepted connections under the cap, with Nagle's algorithm off. Sockets accepted from our own
/// listener do not get the builder's TCP options, and with Nagle on, an answer of a few packets
/// waits for the client's delayed acknowledgement (about 40 ms on Linux) before its last packet
/// leaves. Accept errors never reach the server: a connection reset before it was accepted is
/// skipped, and running out of file descriptors waits a moment instead of spinning.
pub(crate) fn incoming(
    listener: TcpListener,
    gate: Arc<Gate>,
    limits: ServeLimits,
) -> impl tokio_stream::Stream<Item = io::Result<Conn>> {
    let state = (listener, gate, limits, None::<Instant>);
    futures::stream::unfold(state, |(listener, gate, limits, mut warned)| async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let Some(slot) = gate.admit() else {
                        tracing::debug!("connection closed at once: every slot is in use");
                        continue;
                    };
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::warn!(error = %e, "cannot turn off Nagle's algorithm on a connection");
                    }
                    let conn = Conn::new(stream, slot, &limits);
                    return Some((Ok(conn), (listener, gate, limits, warned)));
                }
                Err(e) if is_per_connection(&e) => continue,
                Err(e) => {
                    if warned.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
                        tracing::warn!(error = %e, "cannot accept connections");
                        warned = Some(Instant::now());
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    })
}

/// Errors that concern one connection only, not the listener.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

// ---------------------------------------------------------------------------------------------
// Requests

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

    #[test]
    fn durations_take_a_unit_and_default_to_seconds() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("10 days").is_err());
    }

    #[test]
    fn a_rate_of_zero_is_no_limit() {
        assert_eq!(parse_rate("0"), Ok(None));
        assert_eq!(parse_rate("20"), Ok(NonZeroU32::new(20)));
        assert!(parse_rate("-1").is_err());
    }

    #[test]
    fn at_the_cap_a_newcomer_takes_the_slot_of_the_oldest_silent_connection() {
        let gate = Gate::new(2);
        let first = gate.admit().unwrap();
        let second = gate.admit().unwrap();
        second.spoke();
        let third = gate.admit().unwrap();
        assert!(
            first.evicted(),
            "the oldest silent connection gives up its slot"
        );
        assert!(!second.evicted());
        assert_eq!(gate.open(), 2);
        drop(first);
        assert_eq!(gate.open(), 2, "an evicted slot is already the newcomer's");
        third.spoke();
        assert!(
            gate.admit().is_none(),
            "connections that spoke are never pushed out"
        );
        drop(second);
        assert_eq!(gate.open(), 1);
        let fourth = gate.admit().unwrap();
        gate.close_silent();
        assert!(fourth.evicted() && !third.evicted());
        drop(fourth);
        assert_eq!(gate.open(), 1, "only the connection that spoke is left");
    }

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
