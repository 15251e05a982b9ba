//! Limits that keep one client from locking everyone else out of a server (issue 13): a cap on
//! connections that silent sockets cannot exhaust, handshake and idle timeouts, HTTP/2 stream and
//! keep-alive settings, a deadline on answers, per-caller request rates and a bound on the streams
//! that need no token (health `Watch`, reflection).
//!
//! [`ServeLimits`] holds the numbers; [`crate::server::serve`] applies them through
//! - `connections`: accepted sockets, each holding a slot of the connection cap while it lives,
//!   closed when silent or idle too long;
//! - `calls`: the per-request part, a layer placed after the token layer so it knows the caller.

mod calls;
mod connections;

pub(crate) use calls::LimitLayer;
pub(crate) use connections::{Gate, incoming};

use std::num::NonZeroU32;
use std::time::Duration;

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
}
