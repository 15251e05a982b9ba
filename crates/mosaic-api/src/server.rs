//! One way to serve gRPC: bind, TLS, the token layer, request spans, health, reflection, the
//! limits of [`crate::limits`], clean shutdown. Every service binary and the all-in-one
//! `mosaic up` go through [`Transport::prepare`] at start and [`serve`] afterwards.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mosaic_auth::{AuthLayer, TokenVerifier};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::limits::{self, Gate, LimitError, LimitLayer, ServeLimits};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        reason: String,
    },
    /// Plaintext on an address other machines can reach, without saying so.
    #[error(
        "refusing to serve plaintext on {addr}, which other machines can reach: serve TLS \
         (--tls-cert/--tls-key, MOSAIC_TLS_CERT/MOSAIC_TLS_KEY), listen on a loopback address, \
         or pass --insecure-plaintext (MOSAIC_INSECURE_PLAINTEXT=true) when a proxy in front \
         terminates TLS"
    )]
    Plaintext {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The certificate or key cannot be read, or do not belong together.
    #[error("TLS: {0}")]
    Tls(String),
    /// A limit cannot be applied.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The transport failed while serving.
    #[error("gRPC server: {0}")]
    Transport(String),
}

/// A certificate chain and private key in PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

impl TlsFiles {
    /// Reads both files and checks that the key belongs to the first certificate of the chain,
    /// so a mismatch is one clear line at start rather than failed handshakes later.
    pub fn load(&self) -> Result<Identity, ServeError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};

        let cert_pem = std::fs::read(&self.cert)
            .map_err(|e| ServeError::Tls(format!("{}: {e}", self.cert.display())))?;
        let key_pem = std::fs::read(&self.key)
            .map_err(|e| ServeError::Tls(format!("{}: {e}", self.key.display())))?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ServeError::Tls(format!("{}: {e}", self.cert.display())))?;
        if chain.is_empty() {
            return Err(ServeError::Tls(format!(
                "{} holds no PEM certificate",
                self.cert.display()
            )));
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            ServeError::Tls(format!(
                "{} holds no PEM private key: {e}",
                self.key.display()
            ))
        })?;
        let signing_key = rustls::crypto::ring::default_provider()
            .key_provider
            .load_private_key(key)
            .map_err(|e| ServeError::Tls(format!("{}: {e}", self.key.display())))?;
        let certified = rustls::sign::CertifiedKey::new(chain, signing_key);
        if let Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) =
            certified.keys_match()
        {
            return Err(ServeError::Tls(format!(
                "the private key {} does not belong to the certificate {}",
                self.key.display(),
                self.cert.display()
            )));
        }
        if let Some(warning) = key_file_exposure(&self.key) {
            tracing::warn!("{warning}");
        }
        Ok(Identity::from_pem(cert_pem, key_pem))
    }
}

/// A warning when a private key file can be read by its group or by everyone.
pub fn key_file_exposure(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        let who = match (mode & 0o040 != 0, mode & 0o004 != 0) {
            (_, true) => "everyone",
            (true, false) => "its group",
            (false, false) => return None,
        };
        Some(format!(
            "the TLS private key {} can be read by {who} (mode {:o}): chmod 600 it",
            path.display(),
            mode & 0o777
        ))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Refuses plaintext on an address beyond loopback unless `insecure_plaintext` says so (a proxy
/// in front terminates TLS); then it warns.
pub fn check_plaintext(
    listen: SocketAddr,
    tls: bool,
    insecure_plaintext: bool,
) -> Result<(), ServeError> {
    if tls || listen.ip().is_loopback() {
        return Ok(());
    }
    if !insecure_plaintext {
        return Err(ServeError::Plaintext { addr: listen });
    }
    tracing::warn!(
        listen = %listen,
        "serving plaintext beyond this machine (--insecure-plaintext): tokens and personal data \
         cross the network unencrypted unless a proxy in front terminates TLS"
    );
    Ok(())
}

/// How a server is reached, checked at start: plaintext refused beyond loopback unless asked
/// for, the TLS files read and matched, the connection cap fitted to the open-file limit.
#[derive(Debug)]
pub struct Transport {
    tls: Option<Identity>,
    limits: ServeLimits,
    max_connections: usize,
}

impl Transport {
    /// Checks everything that can be checked before the first connection.
    pub fn prepare(
        listen: SocketAddr,
        tls: Option<&TlsFiles>,
        insecure_plaintext: bool,
        limits: ServeLimits,
    ) -> Result<Self, ServeError> {
        check_plaintext(listen, tls.is_some(), insecure_plaintext)?;
        let tls = tls.map(TlsFiles::load).transpose()?;
        let max_connections = limits::fit_connection_cap(limits.max_connections)?;
        Ok(Self {
            tls,
            limits,
            max_connections,
        })
    }

    /// The connection cap in force.
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }
}

/// Binds the listening socket first, so "port in use" is a clear startup error.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|e| ServeError::Bind {
        addr,
        reason: e.to_string(),
    })
}

/// A health service with every named service marked serving; the reporter lets the process
/// mark one not serving (e.g. when a projection stops).
pub async fn health(
    services: &[&str],
) -> (
    HealthReporter,
    tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>,
) {
    let reporter = HealthReporter::new();
    let service = tonic_health::pb::health_server::HealthServer::new(
        tonic_health::server::HealthService::from_health_reporter(reporter.clone()),
    );
    for name in services {
        reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    (reporter, service)
}

/// How often the rate tables forget callers that have been quiet.
const FORGET_QUIET_CALLERS: Duration = Duration::from_secs(60);

/// Serves `routes` (plus health and reflection, which need no token) on `listener` until
/// `shutdown` completes; in-flight calls finish first.
pub async fn serve<H>(
    listener: TcpListener,
    routes: Routes,
    health: tonic_health::pb::health_server::HealthServer<H>,
    verifier: Arc<TokenVerifier>,
    transport: Transport,
    consistency: crate::consistency::ConsistencyLayer,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError>
where
    H: tonic_health::pb::health_server::Health,
{
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(mosaic_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Transport(e.to_string()))?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(mosaic_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| ServeError::Transport(e.to_string()))?;
    let routes = routes
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    let Transport {
        tls,
        limits,
        max_connections,
    } = transport;
    let mut builder = Server::builder()
        .max_concurrent_streams(limits.max_concurrent_streams)
        .concurrency_limit_per_connection(limits.max_calls_per_connection)
        .http2_keepalive_interval(Some(limits.keepalive_interval))
        .http2_keepalive_timeout(Some(limits.keepalive_timeout));
    if let Some(identity) = tls {
        builder = builder
            .tls_config(
                ServerTlsConfig::new()
                    .identity(identity)
                    .timeout(limits.handshake_timeout),
            )
            .map_err(|e| ServeError::Tls(e.to_string()))?;
    }
    let limit_layer = LimitLayer::new(&limits);
    let forgetting = tokio::spawn({
        let layer = limit_layer.clone();
        async move {
            let mut every = tokio::time::interval(FORGET_QUIET_CALLERS);
            loop {
                every.tick().await;
                layer.forget_quiet_callers();
            }
        }
    });
    let gate = Gate::new(max_connections);
    let incoming = limits::incoming(listener, gate.clone(), limits);
    // Shutdown waits for open connections; those that never spoke have nothing to finish.
    let shutdown = async move {
        shutdown.await;
        gate.close_silent();
    };
    let served = builder
        .trace_fn(|request| {
            let span = tracing::info_span!("grpc.request", rpc = %request.uri().path());
            mosaic_telemetry::continue_trace_from_http(&span, request.headers());
            span
        })
        .layer(AuthLayer::from_shared(verifier))
        // After the token layer: rates are counted per token subject once it is known.
        .layer(limit_layer)
        .layer(crate::decode_errors::layer())
        // After the token and rate layers: only a caller who may call waits for read models.
        .layer(consistency)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| ServeError::Transport(e.to_string()));
    forgetting.abort();
    served
}

/// Resolves when the process gets Ctrl-C or SIGTERM (how containers are stopped). The handlers
/// are installed when this is called, not when the future is first polled, so a signal that
/// arrives while the server is still starting is not lost: call it before announcing readiness.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => {}
                _ = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
