//! Connections under the cap: a slot per open connection, given up by a silent one when a
//! newcomer needs it; the handshake and idle timeouts; the accept loop.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tonic::transport::server::Connected;

use super::ServeLimits;

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

    pub(super) fn begin(self: &Arc<Self>) -> CallInFlight {
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
    pub(super) peer: Option<SocketAddr>,
    pub(super) activity: Arc<Activity>,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

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
}
