//! Configuration from environment variables, parsed once at start. A bad value stops the
//! process with one line naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use mosaic_api::limits::{ServeLimits, parse_duration, parse_rate};
use mosaic_api::server::TlsFiles;

use crate::StartError;

/// What a service process needs to know in the distributed deployment.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// `MOSAIC_LISTEN`: gRPC address (default `127.0.0.1:50051`; containers use `0.0.0.0:50051`).
    pub listen: SocketAddr,
    /// `DATABASE_URL`: the service's own PostgreSQL database (required).
    pub database_url: String,
    /// `NATS_URL`: the NATS server or cluster (required).
    pub nats_url: String,
    /// `MOSAIC_JWKS`: the JSON Web Key Set that verifies callers' tokens (required).
    pub jwks: PathBuf,
    /// `MOSAIC_TOKEN_ISSUER` (default `mosaic-local`).
    pub issuer: String,
    /// `MOSAIC_TOKEN_AUDIENCE` (default `mosaic`).
    pub audience: String,
    /// `MOSAIC_TLS_CERT` and `MOSAIC_TLS_KEY`: serve TLS when both are set.
    pub tls: Option<TlsFiles>,
    /// `MOSAIC_INSECURE_PLAINTEXT` (default false): serve plaintext on an address beyond
    /// loopback, for a proxy in front that terminates TLS.
    pub insecure_plaintext: bool,
    /// The `MOSAIC_MAX_*`, `*_TIMEOUT`, `MOSAIC_KEEPALIVE_*` and `*_RATE_LIMIT` variables
    /// (defaults: [`ServeLimits::default`]).
    pub limits: ServeLimits,
    /// `MOSAIC_DB_MAX_CONNECTIONS` (default 20).
    pub db_max_connections: u32,
    /// `MOSAIC_STREAM_REPLICAS`: copies of the MOSAIC stream in a NATS cluster (default 1).
    pub stream_replicas: usize,
    /// `MOSAIC_MASTER_KEY` (base64 of the 32-byte master key that wraps per-person keys), or the
    /// content of the file named by `MOSAIC_MASTER_KEY_FILE`. Required by services that keep
    /// personal data; `mosaic keys` writes one.
    pub master_key: Option<String>,
}

fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &'static str) -> Result<String, StartError> {
    var(name).ok_or(StartError::Config {
        variable: name,
        reason: "is not set".into(),
    })
}

fn parsed<T: std::str::FromStr>(name: &'static str, default: T) -> Result<T, StartError>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|e: T::Err| StartError::Config {
            variable: name,
            reason: format!("{v:?}: {e}"),
        }),
    }
}

fn with<T>(
    name: &'static str,
    parse: impl Fn(&str) -> Result<T, String>,
    default: T,
) -> Result<T, StartError> {
    match var(name) {
        None => Ok(default),
        Some(v) => parse(&v).map_err(|reason| StartError::Config {
            variable: name,
            reason: format!("{v:?}: {reason}"),
        }),
    }
}

/// `true`, `1`, `yes`, `on` or their opposites, as the `mosaic` command line reads them too.
pub fn parse_switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// The served limits from the environment, each variable falling back to its default.
pub fn limits_from_env() -> Result<ServeLimits, StartError> {
    let d = ServeLimits::default();
    let count = |text: &str| -> Result<usize, String> {
        match text.trim().parse::<usize>() {
            Ok(0) | Err(_) => Err("expected a whole number of at least 1".into()),
            Ok(n) => Ok(n),
        }
    };
    Ok(ServeLimits {
        max_connections: with("MOSAIC_MAX_CONNECTIONS", |t| count(t).map(Some), None)?,
        max_concurrent_streams: with(
            "MOSAIC_MAX_CONCURRENT_STREAMS",
            |t| count(t).and_then(|n| u32::try_from(n).map_err(|e| e.to_string())),
            d.max_concurrent_streams,
        )?,
        max_calls_per_connection: with(
            "MOSAIC_MAX_CALLS_PER_CONNECTION",
            count,
            d.max_calls_per_connection,
        )?,
        handshake_timeout: with(
            "MOSAIC_HANDSHAKE_TIMEOUT",
            parse_duration,
            d.handshake_timeout,
        )?,
        idle_timeout: with("MOSAIC_IDLE_TIMEOUT", parse_duration, d.idle_timeout)?,
        keepalive_interval: with(
            "MOSAIC_KEEPALIVE_INTERVAL",
            parse_duration,
            d.keepalive_interval,
        )?,
        keepalive_timeout: with(
            "MOSAIC_KEEPALIVE_TIMEOUT",
            parse_duration,
            d.keepalive_timeout,
        )?,
        request_timeout: with("MOSAIC_REQUEST_TIMEOUT", parse_duration, d.request_timeout)?,
        calls_per_subject: with("MOSAIC_RATE_LIMIT", parse_rate, d.calls_per_subject)?,
        public_calls_per_peer: with(
            "MOSAIC_PUBLIC_RATE_LIMIT",
            parse_rate,
            d.public_calls_per_peer,
        )?,
        max_public_streams: with("MOSAIC_MAX_PUBLIC_STREAMS", count, d.max_public_streams)?,
        max_public_streams_per_peer: with(
            "MOSAIC_MAX_PUBLIC_STREAMS_PER_PEER",
            count,
            d.max_public_streams_per_peer,
        )?,
    })
}

impl ServiceConfig {
    /// Reads the environment.
    pub fn from_env() -> Result<Self, StartError> {
        let tls = match (var("MOSAIC_TLS_CERT"), var("MOSAIC_TLS_KEY")) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.into(),
                key: key.into(),
            }),
            (None, None) => None,
            _ => {
                return Err(StartError::Config {
                    variable: "MOSAIC_TLS_CERT",
                    reason: "MOSAIC_TLS_CERT and MOSAIC_TLS_KEY must be set together".into(),
                });
            }
        };
        Ok(Self {
            listen: parsed("MOSAIC_LISTEN", SocketAddr::from(([127, 0, 0, 1], 50051)))?,
            database_url: required("DATABASE_URL")?,
            nats_url: required("NATS_URL")?,
            jwks: required("MOSAIC_JWKS")?.into(),
            issuer: var("MOSAIC_TOKEN_ISSUER")
                .unwrap_or_else(|| mosaic_auth::DEFAULT_ISSUER.into()),
            audience: var("MOSAIC_TOKEN_AUDIENCE")
                .unwrap_or_else(|| mosaic_auth::DEFAULT_AUDIENCE.into()),
            tls,
            insecure_plaintext: with("MOSAIC_INSECURE_PLAINTEXT", parse_switch, false)?,
            limits: limits_from_env()?,
            db_max_connections: parsed("MOSAIC_DB_MAX_CONNECTIONS", 20)?,
            stream_replicas: parsed("MOSAIC_STREAM_REPLICAS", 1)?,
            master_key: match (var("MOSAIC_MASTER_KEY"), var("MOSAIC_MASTER_KEY_FILE")) {
                (Some(key), None) => Some(key),
                (None, Some(path)) => Some(
                    std::fs::read_to_string(&path)
                        .map(|k| k.trim().to_owned())
                        .map_err(|e| StartError::Config {
                            variable: "MOSAIC_MASTER_KEY_FILE",
                            reason: format!("{path}: {e}"),
                        })?,
                ),
                (None, None) => None,
                (Some(_), Some(_)) => {
                    return Err(StartError::Config {
                        variable: "MOSAIC_MASTER_KEY",
                        reason: "and MOSAIC_MASTER_KEY_FILE are both set; set one".into(),
                    });
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_switch;

    #[test]
    fn switches_read_as_the_command_line_reads_them() {
        for yes in ["true", "1", "yes", "on", "TRUE"] {
            assert_eq!(parse_switch(yes), Ok(true), "{yes}");
        }
        for no in ["false", "0", "no", "off"] {
            assert_eq!(parse_switch(no), Ok(false), "{no}");
        }
        assert!(parse_switch("maybe").is_err());
    }
}
