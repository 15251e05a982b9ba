//! Configuration from environment variables, parsed once at start. A bad value stops the
//! process with one line naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;

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
