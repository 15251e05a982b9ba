//! One way to serve gRPC: bind, TLS, the token layer, request spans, health, reflection, clean
//! shutdown. Every service binary and the all-in-one `mosaic up` go through [`serve`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use mosaic_auth::{AuthLayer, TokenVerifier};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

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
    /// The certificate or key cannot be read.
    #[error("TLS: {0}")]
    Tls(String),
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

/// Serves `routes` (plus health and reflection, which need no token) on `listener` until
/// `shutdown` completes; in-flight calls finish first.
pub async fn serve<H>(
    listener: TcpListener,
    routes: Routes,
    health: tonic_health::pb::health_server::HealthServer<H>,
    verifier: Arc<TokenVerifier>,
    tls: Option<TlsFiles>,
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

    let mut builder = Server::builder();
    if let Some(files) = tls {
        let cert = std::fs::read(&files.cert)
            .map_err(|e| ServeError::Tls(format!("{}: {e}", files.cert.display())))?;
        let key = std::fs::read(&files.key)
            .map_err(|e| ServeError::Tls(format!("{}: {e}", files.key.display())))?;
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
            .map_err(|e| ServeError::Tls(e.to_string()))?;
    }
    builder
        .trace_fn(|request| {
            let span = tracing::info_span!("grpc.request", rpc = %request.uri().path());
            mosaic_telemetry::continue_trace_from_http(&span, request.headers());
            span
        })
        .layer(AuthLayer::from_shared(verifier))
        .layer(crate::decode_errors::layer())
        .add_routes(routes)
        .serve_with_incoming_shutdown(without_delay(listener), shutdown)
        .await
        .map_err(|e| ServeError::Transport(e.to_string()))
}

/// Accepted connections with Nagle's algorithm off. Sockets accepted from our own listener do not
/// get the builder's TCP options, and with Nagle on, an answer of a few packets waits for the
/// client's delayed acknowledgement (about 40 ms on Linux) before its last packet leaves.
fn without_delay(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    TcpListenerStream::new(listener).map(|accepted| {
        accepted.inspect(|stream| {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::warn!(error = %e, "cannot turn off Nagle's algorithm on a connection");
            }
        })
    })
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
