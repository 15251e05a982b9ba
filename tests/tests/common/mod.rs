#![allow(dead_code, unused_imports, missing_docs, clippy::unwrap_used)]

use std::net::SocketAddr;

use mosaic_auth::{Role, TokenSigner};
use mosaic_proto::v1::insights_service_client::InsightsServiceClient;
use mosaic_proto::v1::registry_service_client::RegistryServiceClient;
use mosaic_proto::v1::{GetMunicipalityOverviewRequest, RegisterMunicipalityRequest};
use mosaic_runtime::embedded::{Embedded, EmbeddedOptions};
use mosaic_types::MunicipalityCode;
use tonic::transport::Channel;

pub use mosaic_testkit::grpc::{bad_fields, scoped as authed, until};

pub const KASHIWA: &str = "122173";
pub const CHIGASAKI: &str = "142077";

pub fn code(s: &str) -> MunicipalityCode {
    MunicipalityCode::parse(s).unwrap()
}

/// The embedded platform on a free port, served in the background.
pub struct Platform {
    pub addr: SocketAddr,
    pub signer: TokenSigner,
    pub stores: mosaic_runtime::StoreMap,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Platform {
    pub async fn start() -> anyhow::Result<Self> {
        telemetry();
        let dir = tempfile::tempdir()?;
        let options = EmbeddedOptions::new("127.0.0.1:0".parse()?, dir.path().to_owned());
        let embedded = Embedded::start(&mosaic::modules(), options).await?;
        let addr = embedded.local_addr();
        let signer = embedded
            .keys
            .signer(mosaic_auth::DEFAULT_ISSUER, mosaic_auth::DEFAULT_AUDIENCE)?;
        let stores = embedded.stores.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            embedded
                .serve(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Ok(Self {
            addr,
            signer,
            stores,
            dir,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub async fn channel(&self) -> anyhow::Result<Channel> {
        Ok(Channel::from_shared(format!("http://{}", self.addr))?
            .connect()
            .await?)
    }

    pub fn token(&self, role: Role, municipality: Option<&str>) -> String {
        self.signer
            .mint(
                "tester",
                role,
                municipality.map(code),
                chrono::Duration::minutes(10),
            )
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

pub fn register(request_id: &str, code: &str) -> RegisterMunicipalityRequest {
    RegisterMunicipalityRequest {
        request_id: request_id.into(),
        code: code.into(),
        name: "柏市".into(),
        prefecture: "千葉県".into(),
        occurred_at: None,
        profile: None,
    }
}

pub async fn overview_eventually(
    client: &mut InsightsServiceClient<Channel>,
    token: &str,
    municipality: &str,
) -> anyhow::Result<mosaic_proto::v1::GetMunicipalityOverviewResponse> {
    for _ in 0..300 {
        match client
            .get_municipality_overview(authed(
                GetMunicipalityOverviewRequest {},
                token,
                Some(municipality),
            ))
            .await
        {
            Ok(r) => return Ok(r.into_inner()),
            Err(s) if s.code() == tonic::Code::NotFound => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Err(s) => return Err(s.into()),
        }
    }
    anyhow::bail!("the overview never appeared")
}

/// A distributed service's configuration in tests: plaintext on loopback, the default limits,
/// a master key of its own.
pub fn service_config(
    listen: SocketAddr,
    database_url: &str,
    nats_url: &str,
    jwks: &std::path::Path,
) -> mosaic_runtime::config::ServiceConfig {
    mosaic_runtime::config::ServiceConfig {
        listen,
        database_url: database_url.to_owned(),
        nats_url: nats_url.to_owned(),
        jwks: jwks.to_owned(),
        issuer: mosaic_auth::DEFAULT_ISSUER.into(),
        audience: mosaic_auth::DEFAULT_AUDIENCE.into(),
        tls: None,
        insecure_plaintext: false,
        limits: Default::default(),
        db_max_connections: 10,
        stream_replicas: 1,
        master_key: Some(mosaic_privacy::MasterKey::generate().to_base64()),
    }
}

pub type Registry = RegistryServiceClient<Channel>;
pub type Insights = InsightsServiceClient<Channel>;

static TELEMETRY: std::sync::OnceLock<Option<mosaic_telemetry::TelemetryGuard>> =
    std::sync::OnceLock::new();

/// Installs tracing once per test process, as the binaries do at start.
pub fn telemetry() {
    TELEMETRY.get_or_init(|| mosaic_telemetry::init("mosaic-test").ok());
}

/// A guest registration a coordinator makes with the resident's agreement: the fault tests' load.
pub fn guest(request_id: &str) -> mosaic_proto::v1::RegisterResidentRequest {
    use mosaic_proto::v1 as pb;
    pb::RegisterResidentRequest {
        request_id: request_id.into(),
        mode: pb::RegistrationMode::Guest as i32,
        personal: Some(pb::PersonalDetails {
            display_name: "負荷 太郎".into(),
            ..Default::default()
        }),
        profile: Some(pb::ResidentProfile {
            channel: pb::RegistrationChannel::Web as i32,
            ..Default::default()
        }),
        proxy: Some(pb::ProxyAgreement {
            method: pb::AgreementMethod::InPerson as i32,
        }),
        ..Default::default()
    }
}

/// Every resident the registry's directory lists, by id, sorted.
pub async fn listed_residents(registry: &mut Registry, token: &str) -> anyhow::Result<Vec<String>> {
    use mosaic_proto::v1 as pb;
    let mut ids = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = registry
            .list_residents(authed(
                pb::ListResidentsRequest {
                    page_size: 500,
                    page_token: page_token.clone(),
                    ..Default::default()
                },
                token,
                None,
            ))
            .await?
            .into_inner();
        ids.extend(page.residents.into_iter().map(|r| r.resident_id));
        if page.next_page_token.is_empty() {
            ids.sort();
            return Ok(ids);
        }
        page_token = page.next_page_token;
    }
}
