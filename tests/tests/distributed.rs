//! Registry and insights as separate services, each on its own PostgreSQL database, joined only
//! by NATS JetStream.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use mosaic_auth::{Role, SigningKeys};
use mosaic_runtime::Module;
use tonic::transport::Channel;

struct Service {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _db: mosaic_testkit::TestDatabase,
}

async fn start(
    module: &'static dyn Module,
    nats: &str,
    jwks: &std::path::Path,
) -> anyhow::Result<Service> {
    let db = mosaic_testkit::TestDatabase::new()?;
    let port = mosaic_testkit::free_port()?;
    let config = service_config(
        SocketAddr::from(([127, 0, 0, 1], port)),
        db.url(),
        nats,
        jwks,
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        mosaic_runtime::distributed::run_with(module, config, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(Service {
        addr,
        stop,
        task,
        _db: db,
    })
}

async fn channel(service: &Service) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(format!("http://{}", service.addr))?
        .connect()
        .await?)
}

#[tokio::test]
async fn a_registration_reaches_insights_over_nats_with_its_trace_even_across_an_outage()
-> anyhow::Result<()> {
    telemetry();
    let mut nats = mosaic_testkit::NatsServer::start()?;
    let keys_dir = tempfile::tempdir()?;
    let keys = SigningKeys::generate();
    keys.write_to_dir(keys_dir.path())?;
    let jwks = keys_dir.path().join("jwks.json");
    let signer = keys.signer(mosaic_auth::DEFAULT_ISSUER, mosaic_auth::DEFAULT_AUDIENCE)?;
    let operator = signer.mint(
        "operator-1",
        Role::Operator,
        None,
        chrono::Duration::minutes(10),
    )?;

    let registry = start(&mosaic_registry::Module, &nats.url(), &jwks).await?;
    let insights = start(&mosaic_insights::Module, &nats.url(), &jwks).await?;
    let mut registry_client = Registry::new(channel(&registry).await?);
    let mut insights_client = Insights::new(channel(&insights).await?);

    // One trace: the caller's traceparent → the stored event → the NATS message.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = authed(register("trace-1", KASHIWA), &operator, None);
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01").parse()?,
    );
    registry_client.register_municipality(request).await?;
    let overview = overview_eventually(&mut insights_client, &operator, KASHIWA).await?;
    assert_eq!(overview.name, "柏市");

    let js = mosaic_bus::stream::jetstream(mosaic_bus::connect(&nats.url(), "test").await?);
    let message = js.get_stream("MOSAIC").await?.get_raw_message(1).await?;
    assert_eq!(
        message.subject.as_str(),
        "mosaic.122173.registry.MunicipalityRegistered"
    );
    let traceparent = message
        .headers
        .get("traceparent")
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default();
    assert_eq!(mosaic_telemetry::trace_id_of(&traceparent), Some(trace_id));
    let event = mosaic_bus::decode_event(&message.payload)?;
    assert_eq!(
        message
            .headers
            .get("Nats-Msg-Id")
            .map(|v| v.as_str().to_owned()),
        Some(event.event_id.to_string())
    );

    // NATS stops: commands still succeed; once it is back, the event arrives.
    nats.stop();
    let mut chigasaki = register("outage-1", CHIGASAKI);
    chigasaki.name = "茅ヶ崎市".into();
    chigasaki.prefecture = "神奈川県".into();
    registry_client
        .register_municipality(authed(chigasaki, &operator, None))
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    nats.resume()?;
    let overview = overview_eventually(&mut insights_client, &operator, CHIGASAKI).await?;
    assert_eq!(overview.name, "茅ヶ崎市");

    for service in [registry, insights] {
        let _ = service.stop.send(());
        service.task.await?;
    }
    Ok(())
}
