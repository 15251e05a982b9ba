#![allow(dead_code, unused_imports, missing_docs, clippy::unwrap_used)]

//! The registry and the activity service served together for tests, on either backend: embedded
//! (one process, one port, SQLite; activity tails the registry's store) or distributed (each its
//! own PostgreSQL database, one nats-server, the same token keys).

use std::net::SocketAddr;
use std::time::Duration;

use mosaic_auth::{Role, TokenSigner};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::activity_service_client::ActivityServiceClient;
use mosaic_proto::v1::registry_service_client::RegistryServiceClient;
use mosaic_runtime::background::Background;
use mosaic_types::MunicipalityCode;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

pub use mosaic_testkit::grpc::{as_operator, assert_bad, authed, bad_fields, eventually};

pub use mosaic_testkit::per_backend;

pub const KASHIWA: &str = "122173";
pub const CHIGASAKI: &str = "142077";

pub type Activities = ActivityServiceClient<Channel>;
pub type Registry = RegistryServiceClient<Channel>;

static REGISTRY: mosaic_registry::Module = mosaic_registry::Module;
static ACTIVITY: mosaic_activity::Module = mosaic_activity::Module;

/// A running platform (registry + activity) and what keeps it alive.
pub struct Platform {
    pub backend: &'static str,
    pub registry_addr: SocketAddr,
    pub activity_addr: SocketAddr,
    pub signer: TokenSigner,
    running: Vec<Background>,
    _pg: Vec<mosaic_testkit::TestDatabase>,
    _nats: Option<mosaic_testkit::NatsServer>,
    _dir: tempfile::TempDir,
}

impl Platform {
    pub async fn sqlite() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let running = Background::embedded(&[&REGISTRY, &ACTIVITY], dir.path()).await?;
        Ok(Self {
            backend: "sqlite",
            registry_addr: running.addr,
            activity_addr: running.addr,
            signer: running.signer.clone(),
            running: vec![running],
            _pg: vec![],
            _nats: None,
            _dir: dir,
        })
    }

    pub async fn postgres() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let nats = mosaic_testkit::NatsServer::start()?;
        let registry_db = mosaic_testkit::TestDatabase::new()?;
        let activity_db = mosaic_testkit::TestDatabase::new()?;
        let master = mosaic_privacy::MasterKey::generate().to_base64();
        let mut running = Vec::new();
        for (module, db) in [
            (
                &REGISTRY as &'static dyn mosaic_runtime::Module,
                &registry_db,
            ),
            (
                &ACTIVITY as &'static dyn mosaic_runtime::Module,
                &activity_db,
            ),
        ] {
            let listen = SocketAddr::from(([127, 0, 0, 1], 0));
            running.push(
                Background::distributed(
                    module,
                    listen,
                    db.url(),
                    &nats.url(),
                    dir.path(),
                    Some(master.clone()),
                )
                .await?,
            );
        }
        Ok(Self {
            backend: "postgres",
            registry_addr: running[0].addr,
            activity_addr: running[1].addr,
            signer: running[0].signer.clone(),
            running,
            _pg: vec![registry_db, activity_db],
            _nats: Some(nats),
            _dir: dir,
        })
    }

    /// The activity service's database URL.
    pub fn activity_database_url(&self) -> String {
        match self._pg.get(1) {
            Some(db) => db.url().to_owned(),
            None => format!(
                "sqlite://{}",
                self._dir.path().join("activity.db").display()
            ),
        }
    }

    /// One platform per backend.
    pub async fn both() -> anyhow::Result<Vec<Self>> {
        Ok(vec![Self::sqlite().await?, Self::postgres().await?])
    }

    pub async fn activities(&self) -> anyhow::Result<Activities> {
        let channel = Channel::from_shared(format!("http://{}", self.activity_addr))?
            .connect()
            .await?;
        Ok(ActivityServiceClient::new(channel))
    }

    pub async fn registry(&self) -> anyhow::Result<Registry> {
        let channel = Channel::from_shared(format!("http://{}", self.registry_addr))?
            .connect()
            .await?;
        Ok(RegistryServiceClient::new(channel))
    }

    pub fn token(&self, role: Role, municipality: Option<&str>) -> String {
        self.signer
            .mint(
                "tester",
                role,
                municipality.map(|m| MunicipalityCode::parse(m).unwrap()),
                chrono::Duration::minutes(30),
            )
            .unwrap()
    }

    /// A host organisation's token, bound to `organisation` in `municipality`.
    pub fn host_token(&self, municipality: &str, organisation: &str) -> String {
        self.signer
            .mint_scoped(
                "host-staff",
                Role::HostOrganisation,
                Some(MunicipalityCode::parse(municipality).unwrap()),
                Some(mosaic_types::OrganisationId::parse(organisation).unwrap()),
                chrono::Duration::minutes(30),
            )
            .unwrap()
    }

    pub async fn stop(mut self) {
        for mut r in self.running.drain(..) {
            r.stop().await.unwrap();
        }
    }
}

pub fn date(year: i32, month: i32, day: i32) -> Option<pb::Date> {
    Some(pb::Date { year, month, day })
}

/// Registers Kashiwa and Chigasaki in the registry.
pub async fn municipalities(p: &Platform, registry: &mut Registry) -> anyhow::Result<()> {
    let operator = p.token(Role::Operator, None);
    for code in [KASHIWA, CHIGASAKI] {
        registry
            .register_municipality(as_operator(
                pb::RegisterMunicipalityRequest {
                    request_id: format!("m-{code}"),
                    code: code.into(),
                    name: "市".into(),
                    prefecture: "県".into(),
                    occurred_at: None,
                    profile: None,
                },
                &operator,
                code,
            ))
            .await?;
    }
    Ok(())
}

/// Registers a host organisation with `licences` in `municipality`; returns its id.
/// Registers a host organisation and returns its id once activity knows it: it waits with the
/// registration's consistency token, never by polling.
pub async fn host(
    p: &Platform,
    registry: &mut Registry,
    municipality: &str,
    licences: &[pb::Licence],
) -> anyhow::Result<String> {
    let (id, token) = host_with_token(p, registry, municipality, licences).await?;
    learned(p, municipality, &token).await?;
    Ok(id)
}

/// Waits until activity has read the registry's log as far as `token` (a `mosaic-consistency`
/// token from a registry answer).
pub async fn learned(p: &Platform, municipality: &str, token: &str) -> anyhow::Result<()> {
    let mut request = authed(
        pb::ListActivitiesRequest::default(),
        &p.token(Role::Coordinator, Some(municipality)),
    );
    request
        .metadata_mut()
        .insert(mosaic_api::consistency::HEADER, token.parse()?);
    p.activities().await?.list_activities(request).await?;
    Ok(())
}

/// Registers a host organisation; its id and the answer's consistency token.
pub async fn host_with_token(
    p: &Platform,
    registry: &mut Registry,
    municipality: &str,
    licences: &[pb::Licence],
) -> anyhow::Result<(String, String)> {
    let coordinator = p.token(Role::Coordinator, Some(municipality));
    let org = registry
        .register_organisation(authed(
            pb::RegisterOrganisationRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                details: Some(pb::OrganisationDetails {
                    kind: pb::OrganisationKind::SilverCenter as i32,
                    name: "柏市シルバー人材センター".into(),
                    fields: vec![pb::Field::Agriculture as i32],
                    district: "柏".into(),
                    contact: Some(pb::ContactPerson {
                        name: "佐藤 花子".into(),
                        phone: String::new(),
                        email: String::new(),
                    }),
                    licences: licences.iter().map(|l| *l as i32).collect(),
                }),
                occurred_at: None,
            },
            &coordinator,
        ))
        .await?;
    let token = org
        .metadata()
        .get(mosaic_api::consistency::HEADER)
        .expect("a command's answer carries its consistency token")
        .to_str()?
        .to_owned();
    Ok((
        org.into_inner().organisation.unwrap().organisation_id,
        token,
    ))
}

pub fn weekly_piece(title: &str, weekday: pb::Weekday, start: u32, end: u32) -> pb::PieceDetails {
    pb::PieceDetails {
        title: title.into(),
        required_skills: vec![pb::Skill {
            tag: "farming".into(),
            level: 2,
        }],
        schedule: Some(pb::Schedule {
            kind: Some(pb::schedule::Kind::Weekly(pb::WeeklyRecurrence {
                weekday: weekday as i32,
                start_minute: start,
                end_minute: end,
                first_day: date(2026, 4, 7),
                last_day: date(2026, 9, 29),
                exceptions: vec![],
                skip_national_holidays: true,
            })),
        }),
        headcount: 2,
        expected_minutes: end.saturating_sub(start),
    }
}

pub fn details(host: &str, form: pb::EngagementForm) -> pb::ActivityDetails {
    pb::ActivityDetails {
        host_organisation_id: host.into(),
        title: "農園の収穫".into(),
        description: "週一回の収穫作業です。".into(),
        field: pb::Field::Agriculture as i32,
        origin: pb::ActivityOrigin::ExistingActivity as i32,
        engagement_form: form as i32,
        place: Some(pb::Place {
            district: "柏".into(),
            location: None,
            online: false,
        }),
        physical_load: pb::PhysicalLoad::Moderate as i32,
        application_mode: pb::ApplicationMode::Open as i32,
        incentives: Some(pb::Incentives {
            transport_fee_yen: 500,
            honorarium_yen: 1_000,
            local_points: 10,
            certificate: false,
            meal: true,
        }),
        period_start: date(2026, 4, 1),
        period_end: date(2027, 3, 31),
        coordinator_id: String::new(),
        regional_goal: "農業の担い手確保".into(),
    }
}

/// Creates an activity (for a host [`host`] registered, which activity knows already); a refusal
/// is returned.
pub async fn create(
    client: &mut Activities,
    token: &str,
    request: pb::CreateActivityRequest,
) -> anyhow::Result<Result<pb::Activity, Status>> {
    Ok(client
        .create_activity(authed(request, token))
        .await
        .map(|r| r.into_inner().activity.unwrap()))
}
