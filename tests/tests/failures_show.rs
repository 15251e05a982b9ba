#![allow(clippy::unwrap_used, missing_docs)]

//! A part that cannot go on says so: the service's health answers NOT_SERVING within a second,
//! and one error names what stopped — a projection whose code panicked on an event or that met a
//! message that can never be read (with the event's position), or an event store's writer.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use mosaic_auth::Role;
use mosaic_db::DbTx;
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{Interest, Projection, ProjectionError};
use mosaic_proto::v1 as pb;
use mosaic_runtime::background::Background;
use mosaic_runtime::{Module, ModuleEnv};
use mosaic_types::MunicipalityCode;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Every error the process logged, as text.
fn logged() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(Mutex::default)
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        logged().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_errors() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::ERROR)
        .with_ansi(false)
        .with_writer(|| Capture)
        .try_init();
}

fn log_text() -> String {
    String::from_utf8_lossy(&logged().lock().unwrap()).into_owned()
}

async fn status(health: &mut HealthClient<Channel>, service: &str) -> i32 {
    health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status)
        .unwrap_or_default()
}

/// Waits until `service` answers `wanted`; how long that took.
async fn until_status(
    health: &mut HealthClient<Channel>,
    service: &str,
    wanted: ServingStatus,
    within: Duration,
) -> Duration {
    let start = Instant::now();
    while status(health, service).await != wanted as i32 {
        assert!(
            start.elapsed() < within,
            "{service} was not {wanted:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

/// A projection whose code panics on the registration of a municipality.
struct Panics;

#[async_trait]
impl Projection for Panics {
    fn name(&self) -> &'static str {
        "probe.panics"
    }
    fn interests(&self) -> Vec<Interest> {
        vec![Interest {
            context: "registry",
            event_types: &["MunicipalityRegistered"],
        }]
    }
    async fn apply(&self, _tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError> {
        panic!("the probe cannot take {}", event.event_type);
    }
    async fn reset(
        &self,
        _tx: &mut DbTx,
        _municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError> {
        Ok(())
    }
}

/// A context that only runs [`Panics`].
struct Probe;

const PROBE: &str = "mosaic.v1.ProbeService";

#[async_trait]
impl Module for Probe {
    fn context(&self) -> &'static str {
        "probe"
    }
    fn grpc_name(&self) -> &'static str {
        PROBE
    }
    fn writes_events(&self) -> bool {
        false
    }
    fn add_routes(&self, _routes: &mut tonic::service::RoutesBuilder, _env: &ModuleEnv) {}
    fn projections(&self, _env: &ModuleEnv) -> Vec<Arc<dyn Projection>> {
        vec![Arc::new(Panics)]
    }
}

/// An operator's registration of Kashiwa.
fn register_kashiwa(
    operator: &str,
) -> anyhow::Result<tonic::Request<pb::RegisterMunicipalityRequest>> {
    let mut request = tonic::Request::new(pb::RegisterMunicipalityRequest {
        request_id: "m-1".into(),
        code: "122173".into(),
        name: "柏市".into(),
        prefecture: "千葉県".into(),
        occurred_at: None,
        profile: None,
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {operator}").parse()?);
    request
        .metadata_mut()
        .insert(mosaic_auth::MUNICIPALITY_HEADER, "122173".parse()?);
    Ok(request)
}

static REGISTRY: mosaic_registry::Module = mosaic_registry::Module;
static PROBE_MODULE: Probe = Probe;
static INSIGHTS: mosaic_insights::Module = mosaic_insights::Module;

#[tokio::test]
async fn a_projection_that_panics_turns_health_not_serving_within_a_second_and_names_the_event()
-> anyhow::Result<()> {
    capture_errors();
    let dir = tempfile::tempdir()?;
    let platform = Background::embedded(&[&REGISTRY, &PROBE_MODULE], dir.path()).await?;
    let channel = Channel::from_shared(format!("http://{}", platform.addr))?
        .connect()
        .await?;
    let mut health = HealthClient::new(channel.clone());
    until_status(
        &mut health,
        PROBE,
        ServingStatus::Serving,
        Duration::from_secs(10),
    )
    .await;

    let operator = platform.signer.mint(
        "operator-1",
        Role::Operator,
        None,
        chrono::Duration::hours(1),
    )?;
    let request = register_kashiwa(&operator)?;
    pb::registry_service_client::RegistryServiceClient::new(channel)
        .register_municipality(request)
        .await?;
    let took = until_status(
        &mut health,
        PROBE,
        ServingStatus::NotServing,
        Duration::from_secs(1),
    )
    .await;
    eprintln!("NOT_SERVING {took:?} after the event was written");
    // The registry itself is unaffected.
    assert_eq!(
        status(&mut health, "mosaic.v1.RegistryService").await,
        ServingStatus::Serving as i32
    );
    let log = log_text();
    let line = log
        .lines()
        .find(|l| l.contains("probe.panics") && l.contains("at position 1"))
        .unwrap_or_else(|| panic!("no error names the projection and the event:\n{log}"));
    assert!(line.contains("panicked"), "{line}");
    Ok(())
}

#[tokio::test]
async fn a_message_that_can_never_be_read_turns_health_not_serving_within_a_second_and_names_it()
-> anyhow::Result<()> {
    capture_errors();
    let dir = tempfile::tempdir()?;
    let nats = mosaic_testkit::NatsServer::start()?;
    let db = mosaic_testkit::TestDatabase::new()?;
    let insights = Background::distributed(
        &INSIGHTS,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        db.url(),
        &nats.url(),
        dir.path(),
        None,
    )
    .await?;
    let mut health = HealthClient::new(
        Channel::from_shared(format!("http://{}", insights.addr))?
            .connect()
            .await?,
    );
    let service = "mosaic.v1.InsightsService";
    until_status(
        &mut health,
        service,
        ServingStatus::Serving,
        Duration::from_secs(10),
    )
    .await;

    // A message on a subject insights reads, that is no event at all.
    let js = mosaic_bus::stream::jetstream(mosaic_bus::connect(&nats.url(), "test").await?);
    let ack = js
        .publish(
            "mosaic.122173.registry.MunicipalityRegistered",
            "not an event".into(),
        )
        .await?
        .await?;
    let took = until_status(
        &mut health,
        service,
        ServingStatus::NotServing,
        Duration::from_secs(1),
    )
    .await;
    eprintln!("NOT_SERVING {took:?} after the message was published");
    let log = log_text();
    let wanted = format!("at position {}", ack.sequence);
    let line = log
        .lines()
        .find(|l| l.contains("insights.municipality_overview") && l.contains(&wanted))
        .unwrap_or_else(|| panic!("no error names the projection and the message:\n{log}"));
    assert!(line.contains("unreadable event"), "{line}");
    Ok(())
}

#[tokio::test]
async fn a_store_writer_that_stops_turns_health_not_serving_and_appends_answer_internal()
-> anyhow::Result<()> {
    capture_errors();
    let dir = tempfile::tempdir()?;
    let platform = Background::embedded(&[&REGISTRY], dir.path()).await?;
    let channel = Channel::from_shared(format!("http://{}", platform.addr))?
        .connect()
        .await?;
    let mut health = HealthClient::new(channel.clone());
    let service = "mosaic.v1.RegistryService";
    until_status(
        &mut health,
        service,
        ServingStatus::Serving,
        Duration::from_secs(10),
    )
    .await;

    platform.stores.get("registry").unwrap().crash_writer();
    let took = until_status(
        &mut health,
        service,
        ServingStatus::NotServing,
        Duration::from_secs(1),
    )
    .await;
    eprintln!("NOT_SERVING {took:?} after the writer stopped");
    let log = log_text();
    assert!(
        log.lines()
            .any(|l| l.contains("writer stopped") && l.contains("registry")),
        "no error names the stopped writer:\n{log}"
    );
    // Retrying cannot help: the answer says so.
    let operator = platform.signer.mint(
        "operator-1",
        Role::Operator,
        None,
        chrono::Duration::hours(1),
    )?;
    let request = register_kashiwa(&operator)?;
    let refused = pb::registry_service_client::RegistryServiceClient::new(channel)
        .register_municipality(request)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Internal, "{refused:?}");
    Ok(())
}
