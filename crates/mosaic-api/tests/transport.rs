//! The transport checks made at start (plaintext beyond loopback, TLS files) and the limits that
//! `serve` enforces on connections and on calls without a token.
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use mosaic_api::limits::ServeLimits;
use mosaic_api::server::{
    ServeError, TlsFiles, Transport, bind, check_plaintext, health, key_file_exposure, serve,
};
use mosaic_auth::{SigningKeys, TokenVerifier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// A server of health and reflection only, on a free loopback port, with `limits`.
struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Server {
    async fn start(limits: ServeLimits) -> anyhow::Result<Self> {
        Self::start_with(limits, None).await
    }

    async fn start_with(limits: ServeLimits, tls: Option<TlsFiles>) -> anyhow::Result<Self> {
        let addr: SocketAddr = "127.0.0.1:0".parse()?;
        let transport = Transport::prepare(addr, tls.as_ref(), false, limits)?;
        let listener = bind(addr).await?;
        let addr = listener.local_addr()?;
        let (_, health) = health(&["mosaic.v1.RegistryService"]).await;
        let verifier = Arc::new(TokenVerifier::new(
            SigningKeys::generate().key_set(),
            mosaic_auth::DEFAULT_ISSUER,
            mosaic_auth::DEFAULT_AUDIENCE,
        ));
        let routes = tonic::service::RoutesBuilder::default().routes();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            routes,
            health,
            verifier,
            transport,
            Default::default(),
            async {
                let _ = stopped.await;
            },
        ));
        Ok(Self {
            addr,
            stop: Some(stop),
            task,
        })
    }

    async fn client(&self) -> anyhow::Result<HealthClient<Channel>> {
        let channel = Channel::from_shared(format!("http://{}", self.addr))?
            .connect()
            .await?;
        Ok(HealthClient::new(channel))
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await??;
        Ok(())
    }
}

fn check() -> HealthCheckRequest {
    HealthCheckRequest {
        service: String::new(),
    }
}

/// Reads until the server closes the connection; a guard of a minute keeps a regression from
/// hanging the suite.
async fn closed_by_server(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    let read_to_end = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read_to_end)
        .await
        .is_ok()
}

#[test]
fn plaintext_beyond_loopback_is_refused_unless_asked_for() {
    let any: SocketAddr = "0.0.0.0:50051".parse().unwrap();
    let err = check_plaintext(any, false, false).unwrap_err();
    assert!(err.to_string().contains("--insecure-plaintext"), "{err}");
    assert!(check_plaintext(any, false, true).is_ok());
    assert!(check_plaintext(any, true, false).is_ok());
    assert!(check_plaintext("127.0.0.1:50051".parse().unwrap(), false, false).is_ok());
    assert!(check_plaintext("[::1]:50051".parse().unwrap(), false, false).is_ok());
}

#[test]
fn a_key_that_does_not_belong_to_its_certificate_is_refused_in_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let ours = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let theirs = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ours.cert.pem()).unwrap();
    std::fs::write(&key, theirs.signing_key.serialize_pem()).unwrap();
    let files = TlsFiles {
        cert: cert.clone(),
        key: key.clone(),
    };
    let message = files.load().unwrap_err().to_string();
    assert!(
        message.contains("does not belong to the certificate"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");

    std::fs::write(&key, ours.signing_key.serialize_pem()).unwrap();
    assert!(files.load().is_ok());
}

#[test]
fn a_file_without_a_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let ours = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, ours.cert.pem()).unwrap();
    let files = TlsFiles {
        cert: cert.clone(),
        key: cert.clone(),
    };
    let message = files.load().unwrap_err().to_string();
    assert!(message.contains("holds no PEM private key"), "{message}");
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    std::fs::write(&key, "key").unwrap();
    let chmod = |mode| std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode));

    chmod(0o600).unwrap();
    assert_eq!(key_file_exposure(&key), None);
    chmod(0o640).unwrap();
    assert!(key_file_exposure(&key).unwrap().contains("its group"));
    chmod(0o644).unwrap();
    let warning = key_file_exposure(&key).unwrap();
    assert!(
        warning.contains("everyone") && warning.contains("644"),
        "{warning}"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_handshake_timeout()
-> anyhow::Result<()> {
    let server = Server::start(ServeLimits {
        handshake_timeout: Duration::from_millis(300),
        ..ServeLimits::default()
    })
    .await?;
    let mut silent = tokio::net::TcpStream::connect(server.addr).await?;
    assert!(closed_by_server(&mut silent).await);

    // One that sends a few bytes of the preface and stalls is closed as well.
    let mut stalling = tokio::net::TcpStream::connect(server.addr).await?;
    stalling.write_all(b"PRI * HTTP").await?;
    assert!(closed_by_server(&mut stalling).await);

    // A client that completes the handshake keeps its connection past the timeout.
    let mut client = server.client().await?;
    tokio::time::sleep(Duration::from_millis(600)).await;
    client.check(check()).await?;
    server.stop().await
}

#[tokio::test]
async fn a_tls_handshake_that_stalls_is_closed_after_the_handshake_timeout() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    let files = TlsFiles {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
    };
    std::fs::write(&files.cert, cert.cert.pem())?;
    std::fs::write(&files.key, cert.signing_key.serialize_pem())?;
    let server = Server::start_with(
        ServeLimits {
            handshake_timeout: Duration::from_millis(300),
            ..ServeLimits::default()
        },
        Some(files),
    )
    .await?;
    let mut stalling = tokio::net::TcpStream::connect(server.addr).await?;
    // The start of a handshake record announcing 512 bytes, of which only 32 follow.
    let mut start = vec![0x16, 0x03, 0x01, 0x02, 0x00];
    start.extend([0u8; 32]);
    stalling.write_all(&start).await?;
    assert!(closed_by_server(&mut stalling).await);
    server.stop().await
}

#[tokio::test]
async fn a_connection_without_calls_is_closed_after_the_idle_timeout() -> anyhow::Result<()> {
    let server = Server::start(ServeLimits {
        idle_timeout: Duration::from_millis(300),
        ..ServeLimits::default()
    })
    .await?;
    let mut raw = tokio::net::TcpStream::connect(server.addr).await?;
    // A complete HTTP/2 preface and an empty SETTINGS frame: the handshake is done, no call follows.
    raw.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await?;
    assert!(closed_by_server(&mut raw).await);
    server.stop().await
}

#[tokio::test]
async fn a_connection_with_an_open_stream_is_not_idle() -> anyhow::Result<()> {
    let server = Server::start(ServeLimits {
        idle_timeout: Duration::from_millis(300),
        ..ServeLimits::default()
    })
    .await?;
    let mut client = server.client().await?;
    let mut watch = client.watch(check()).await?.into_inner();
    assert!(watch.message().await?.is_some(), "the first status");
    tokio::time::sleep(Duration::from_millis(900)).await;
    // The same connection still answers, and the stream is still open.
    client.check(check()).await?;
    drop(watch);
    server.stop().await
}

#[tokio::test]
async fn at_the_connection_cap_silent_connections_make_room_and_talking_ones_keep_theirs()
-> anyhow::Result<()> {
    let server = Server::start(ServeLimits {
        max_connections: Some(4),
        ..ServeLimits::default()
    })
    .await?;
    let mut talking = server.client().await?;
    // Its first answer shows the server has heard it speak.
    talking.check(check()).await?;
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(tokio::net::TcpStream::connect(server.addr).await?);
    }
    // The first silent ones were closed to make room for the later ones.
    assert!(closed_by_server(&mut silent[0]).await);
    talking.check(check()).await?;
    // A newcomer still gets in: it takes the slot of a silent connection.
    server.client().await?.check(check()).await?;
    server.stop().await
}

#[tokio::test]
async fn streams_without_a_token_are_bounded_while_checks_keep_answering() -> anyhow::Result<()> {
    let server = Server::start(ServeLimits {
        max_public_streams: 4,
        max_public_streams_per_peer: 3,
        public_calls_per_peer: None,
        ..ServeLimits::default()
    })
    .await?;
    let mut client = server.client().await?;
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..10 {
        match client.watch(check()).await {
            Ok(stream) => held.push(stream),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                refused += 1;
            }
        }
    }
    assert_eq!((held.len(), refused), (3, 7), "three per peer");
    client.check(check()).await?;

    // A stream that ends gives its slot back.
    held.pop();
    let mut reopened = None;
    for _ in 0..100 {
        if let Ok(stream) = client.watch(check()).await {
            reopened = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(reopened.is_some());
    drop((held, reopened));
    server.stop().await
}

#[tokio::test]
async fn calls_without_a_token_beyond_the_rate_of_their_address_are_resource_exhausted()
-> anyhow::Result<()> {
    let server = Server::start(ServeLimits {
        public_calls_per_peer: NonZeroU32::new(5),
        ..ServeLimits::default()
    })
    .await?;
    let mut client = server.client().await?;
    let mut codes = Vec::new();
    for _ in 0..20 {
        codes.push(match client.check(check()).await {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        });
    }
    assert!(codes.contains(&Code::Ok));
    assert!(codes.contains(&Code::ResourceExhausted), "{codes:?}");
    server.stop().await
}
