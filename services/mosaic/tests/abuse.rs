//! Issue 13: one client cannot lock everyone out of `mosaic up`.
//!
//! The server runs with the 1,024 open files that the documented systemd unit used to give it.
//! From its own loopback address (127.0.0.2), an abusive client holds 2,000 TCP connections that
//! never speak and tries to hold 10,000 health `Watch` streams over 8 connections, neither needing
//! a token. Meanwhile health `Check`s from 127.0.0.1 — on a connection made before the abuse and on
//! a new connection each, as an orchestrator's probe does — must each answer within 100 ms. All
//! traffic stays on loopback; the abuse is bounded in count and time and ends with the test.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::net::{TcpSocket, TcpStream};
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const SILENT_CONNECTIONS: usize = 2_000;
const STREAMS: usize = 10_000;
const STREAM_CONNECTIONS: usize = 8;
const CHECKS: usize = 20;
const BAR: Duration = Duration::from_millis(100);
/// How long each part of the abuse (connections, then streams) may take at most: what is not
/// done by then is given up, so the abuse stops by itself even against a server that hangs.
const PHASE_GUARD: Duration = Duration::from_secs(10);

/// The abusive client's own address on loopback, so per-address limits tell it from the probes.
const ABUSER: [u8; 4] = [127, 0, 0, 2];

struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// `mosaic up` on `port` with at most 1,024 open files (soft and hard), with default limits.
fn up(port: u16, data_dir: &std::path::Path) -> Up {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 1024 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_mosaic"))
        .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("serving"), "{first}");
    Up(child)
}

fn request() -> HealthCheckRequest {
    HealthCheckRequest {
        service: "mosaic.v1.RegistryService".into(),
    }
}

async fn abuser_socket(server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((ABUSER, 0)))?;
    socket.connect(server).await
}

/// An HTTP/2 channel from the abuser's address.
async fn abuser_channel(server: SocketAddr) -> anyhow::Result<Channel> {
    let connector = tower::service_fn(move |_| async move {
        abuser_socket(server)
            .await
            .map(hyper_util::rt::TokioIo::new)
    });
    Ok(Endpoint::from_shared(format!("http://{server}"))?
        .connect_with_connector(connector)
        .await?)
}

/// One health check, timed; one that fails or takes longer than a second counts as a second.
async fn timed_check(client: &mut HealthClient<Channel>) -> Duration {
    let start = Instant::now();
    match tokio::time::timeout(Duration::from_secs(1), client.check(request())).await {
        Ok(Ok(answer)) if answer.get_ref().status == 1 => start.elapsed(),
        _ => Duration::from_secs(1),
    }
}

/// A new connection and one check on it, timed together.
async fn timed_fresh_check(server: SocketAddr) -> Duration {
    let start = Instant::now();
    let attempt = async {
        let channel = Channel::from_shared(format!("http://{server}"))
            .ok()?
            .connect()
            .await
            .ok()?;
        let answer = HealthClient::new(channel).check(request()).await.ok()?;
        (answer.get_ref().status == 1).then_some(())
    };
    match tokio::time::timeout(Duration::from_secs(1), attempt).await {
        Ok(Some(())) => start.elapsed(),
        _ => Duration::from_secs(1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_answer_within_100_ms_while_one_client_holds_2000_silent_connections_and_10000_streams()
-> anyhow::Result<()> {
    // This process holds the abuser's sockets and the probes' connections.
    rlimit::increase_nofile_limit(8_192)?;
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    let _up = up(port, &dir.path().join("data"));

    // A well-behaved client, connected before the abuse starts.
    let mut existing = HealthClient::new(
        Channel::from_shared(format!("http://{server}"))?
            .connect()
            .await?,
    );
    assert_eq!(existing.check(request()).await?.get_ref().status, 1);

    // 2,000 connections that never send a byte.
    let abuse_started = Instant::now();
    let mut silent = Vec::with_capacity(SILENT_CONNECTIONS);
    let mut refused_connects = 0;
    let deadline = tokio::time::Instant::now() + PHASE_GUARD;
    for _ in 0..SILENT_CONNECTIONS {
        match tokio::time::timeout_at(deadline, abuser_socket(server)).await {
            Ok(Ok(stream)) => silent.push(stream),
            _ => refused_connects += 1,
        }
    }

    // 10,000 health Watch streams over 8 connections; the ones the server admits stay open.
    let deadline = tokio::time::Instant::now() + PHASE_GUARD;
    let mut stream_clients = Vec::new();
    for _ in 0..STREAM_CONNECTIONS {
        if let Ok(Ok(channel)) = tokio::time::timeout_at(deadline, abuser_channel(server)).await {
            stream_clients.push(HealthClient::new(channel));
        }
    }
    let mut held = Vec::new();
    let mut refused_streams = 0;
    if !stream_clients.is_empty() {
        let mut calls: FuturesUnordered<_> = (0..STREAMS)
            .map(|i| {
                let mut client = stream_clients[i % stream_clients.len()].clone();
                async move { tokio::time::timeout_at(deadline, client.watch(request())).await }
            })
            .collect();
        while let Some(outcome) = calls.next().await {
            match outcome {
                Ok(Ok(stream)) => held.push(stream),
                _ => refused_streams += 1,
            }
        }
    }

    let abuse_set_up = abuse_started.elapsed();

    // While all of that is held: checks on the old connection and on new ones, one at a time.
    let mut on_existing = Vec::new();
    let mut on_fresh = Vec::new();
    for _ in 0..CHECKS {
        on_existing.push(timed_check(&mut existing).await);
        on_fresh.push(timed_fresh_check(server).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    on_existing.sort();
    on_fresh.sort();
    eprintln!(
        "abuse held after {abuse_set_up:?}: {} silent connections ({refused_connects} not \
         connected), {} streams open ({refused_streams} refused); Check on the existing \
         connection: median {:?}, max {:?}; on a new connection each: median {:?}, max {:?}",
        silent.len(),
        held.len(),
        on_existing[CHECKS / 2],
        on_existing[CHECKS - 1],
        on_fresh[CHECKS / 2],
        on_fresh[CHECKS - 1],
    );
    assert!(
        on_existing[CHECKS - 1] < BAR,
        "a Check on the existing connection took {:?}",
        on_existing[CHECKS - 1]
    );
    assert!(
        on_fresh[CHECKS - 1] < BAR,
        "a Check on a new connection took {:?}",
        on_fresh[CHECKS - 1]
    );
    drop((held, stream_clients, silent));
    Ok(())
}
