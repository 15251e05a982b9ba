#![allow(dead_code, unused_imports, missing_docs, clippy::unwrap_used)]

//! The registry served for tests, on either backend: embedded (SQLite, tailing its own store) or
//! distributed (its own PostgreSQL database and a real nats-server).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mosaic_auth::{Role, TokenSigner};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::registry_service_client::RegistryServiceClient;
use mosaic_runtime::background::Background;
use mosaic_types::MunicipalityCode;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

pub use mosaic_testkit::grpc::{as_operator, assert_bad, authed, bad_fields, eventually};

pub use mosaic_testkit::per_backend;

pub const KASHIWA: &str = "122173";
pub const CHIGASAKI: &str = "142077";

pub type Client = RegistryServiceClient<Channel>;

/// A running registry and what keeps it alive.
pub struct Registry {
    pub backend: &'static str,
    pub addr: SocketAddr,
    pub signer: TokenSigner,
    /// The service; declared before its database so it stops before the database is dropped.
    running: Background,
    /// Where the embedded data lives (SQLite files).
    pub data_dir: Option<PathBuf>,
    /// The distributed deployment's database and NATS.
    pub pg: Option<mosaic_testkit::TestDatabase>,
    pub nats: Option<mosaic_testkit::NatsServer>,
    /// The master key (base64) of the distributed deployment; the embedded one keeps its own
    /// under `keys/`.
    pub master_key: Option<String>,
    _dir: tempfile::TempDir,
}

static MODULE: mosaic_registry::Module = mosaic_registry::Module;

impl Registry {
    pub async fn sqlite() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let running = Background::embedded(&[&MODULE], dir.path()).await?;
        Ok(Self {
            backend: "sqlite",
            addr: running.addr,
            signer: running.signer.clone(),
            data_dir: Some(dir.path().to_owned()),
            pg: None,
            nats: None,
            master_key: None,
            running,
            _dir: dir,
        })
    }

    pub async fn postgres() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let nats = mosaic_testkit::NatsServer::start()?;
        let db = mosaic_testkit::TestDatabase::new()?;
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let master_key = mosaic_privacy::MasterKey::generate().to_base64();
        let running = Background::distributed(
            &MODULE,
            listen,
            db.url(),
            &nats.url(),
            dir.path(),
            Some(master_key.clone()),
        )
        .await?;
        Ok(Self {
            backend: "postgres",
            addr: running.addr,
            signer: running.signer.clone(),
            data_dir: None,
            pg: Some(db),
            nats: Some(nats),
            master_key: Some(master_key),
            running,
            _dir: dir,
        })
    }

    /// Another replica of this distributed registry: the same database, NATS, token keys and
    /// master key, its own port.
    pub async fn replica(&self) -> anyhow::Result<Background> {
        let (Some(pg), Some(nats)) = (&self.pg, &self.nats) else {
            anyhow::bail!("only a distributed registry has replicas");
        };
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(Background::distributed(
            &MODULE,
            listen,
            pg.url(),
            &nats.url(),
            self._dir.path(),
            self.master_key.clone(),
        )
        .await?)
    }

    /// One registry per backend.
    pub async fn both() -> anyhow::Result<Vec<Self>> {
        Ok(vec![Self::sqlite().await?, Self::postgres().await?])
    }

    pub async fn client(&self) -> anyhow::Result<Client> {
        let channel = Channel::from_shared(format!("http://{}", self.addr))?
            .connect()
            .await?;
        Ok(RegistryServiceClient::new(channel).max_decoding_message_size(64 << 20))
    }

    pub fn token(&self, role: Role, municipality: Option<&str>) -> String {
        self.token_for("tester", role, municipality)
    }

    pub fn token_for(&self, subject: &str, role: Role, municipality: Option<&str>) -> String {
        self.signer
            .mint(
                subject,
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

    /// The registry's database URL.
    pub fn database_url(&self) -> String {
        match (&self.pg, &self.data_dir) {
            (Some(pg), _) => pg.url().to_owned(),
            (None, Some(dir)) => format!("sqlite://{}", dir.join("registry.db").display()),
            (None, None) => unreachable!("a registry has a database"),
        }
    }

    /// The last position of the registry's event log: unchanged means nothing was written.
    pub async fn log_head(&self) -> u64 {
        self.scalar("SELECT position FROM log_head WHERE id = 1")
            .await
    }

    /// How many person keys the registry holds (tombstones of erased persons included):
    /// unchanged means no key was left behind.
    pub async fn person_keys(&self) -> u64 {
        self.scalar("SELECT COUNT(*) FROM person_keys").await
    }

    /// How many idempotency keys the registry has recorded: one more means a request of its own.
    pub async fn idempotency_keys(&self) -> u64 {
        self.scalar("SELECT COUNT(*) FROM idempotency").await
    }

    async fn scalar(&self, sql: &'static str) -> u64 {
        let db = mosaic_db::connect(&self.database_url(), 1).await.unwrap();
        let n: i64 = mosaic_db::on_db!(&db, pool => {
            sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
        });
        db.close().await;
        n as u64
    }

    /// The master key the registry seals personal data under.
    pub fn master(&self) -> mosaic_privacy::MasterKey {
        match (&self.master_key, &self.data_dir) {
            (Some(k), _) => mosaic_privacy::MasterKey::from_base64(k).unwrap(),
            (None, Some(dir)) => mosaic_privacy::MasterKey::load_or_generate(
                &dir.join("keys")
                    .join(mosaic_runtime::embedded::MASTER_KEY_FILE),
            )
            .unwrap(),
            (None, None) => unreachable!("a registry has a master key"),
        }
    }

    /// Stops serving (in-flight calls finish); the data stays for inspection.
    pub async fn halt(&mut self) {
        self.running.stop().await.unwrap();
    }

    pub async fn stop(mut self) {
        self.halt().await;
    }
}

/// A full profile of a senior in Kashiwa.
pub fn senior_profile() -> pb::ResidentProfile {
    pb::ResidentProfile {
        birth_year: 1956,
        gender: pb::Gender::Male as i32,
        life_stage: pb::LifeStage::Senior as i32,
        district: "柏".into(),
        location: Some(pb::CoarseLocation {
            latitude: 35.8676,
            longitude: 139.9758,
        }),
        travel_radius_km: 5,
        no_car: true,
        skills: vec![
            pb::Skill {
                tag: "accounting".into(),
                level: 4,
            },
            pb::Skill {
                tag: "farming".into(),
                level: 2,
            },
        ],
        free_tags: vec!["将棋".into()],
        interests: vec![pb::Field::Agriculture as i32, pb::Field::Education as i32],
        availability: vec![
            pb::WeeklyWindow {
                weekday: pb::Weekday::Tuesday as i32,
                start_minute: 9 * 60,
                end_minute: 12 * 60,
            },
            pb::WeeklyWindow {
                weekday: pb::Weekday::Thursday as i32,
                start_minute: 13 * 60,
                end_minute: 17 * 60,
            },
        ],
        max_hours_per_week: 12,
        max_days_per_month: 10,
        preferred_forms: vec![pb::EngagementForm::JobBora as i32],
        physical_load: pb::PhysicalLoad::Light as i32,
        channel: pb::RegistrationChannel::CityHallWindow as i32,
    }
}

pub fn personal(name: &str) -> pb::PersonalDetails {
    pb::PersonalDetails {
        display_name: name.into(),
        name_kana: "やまだ たろう".into(),
        phone: "04-7167-1111".into(),
        email: "yamada.taro@example.jp".into(),
        address: "千葉県柏市柏五丁目10番1号".into(),
        note: "元経理部長。週二回なら可能。".into(),
        gender_description: String::new(),
    }
}

/// A full registration by a coordinator who has the resident's agreement.
pub fn full_registration(request_id: &str, name: &str) -> pb::RegisterResidentRequest {
    pb::RegisterResidentRequest {
        request_id: request_id.into(),
        mode: pb::RegistrationMode::Full as i32,
        personal: Some(personal(name)),
        profile: Some(senior_profile()),
        consents: vec![pb::ConsentPurpose::Matching as i32],
        proxy: Some(pb::ProxyAgreement {
            method: pb::AgreementMethod::InPerson as i32,
        }),
        account_subject: String::new(),
        guardian_consent: false,
        occurred_at: None,
    }
}

/// A registration as a roster row carries it (no `request_id`, no proxy agreement).
pub fn imported(r: pb::RegisterResidentRequest) -> pb::ImportedResident {
    r.into()
}

/// Registers Kashiwa and returns an operator token.
pub async fn kashiwa(registry: &Registry, client: &mut Client) -> anyhow::Result<String> {
    let operator = registry.token(Role::Operator, None);
    for code in [KASHIWA, CHIGASAKI] {
        client
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
    Ok(operator)
}

/// Confirms, as a municipality officer of Kashiwa, a proxy agreement a coordinator recorded, so
/// staff may change the resident's consents and withdraw them.
pub async fn confirm_proxy(
    registry: &Registry,
    client: &mut Client,
    resident_id: &str,
) -> anyhow::Result<pb::Resident> {
    let officer = registry.token_for(
        "officer-confirming",
        Role::MunicipalityOfficer,
        Some(KASHIWA),
    );
    Ok(client
        .confirm_proxy_agreement(authed(
            pb::ConfirmProxyAgreementRequest {
                request_id: format!("confirm-{resident_id}"),
                resident_id: resident_id.into(),
                occurred_at: None,
            },
            &officer,
        ))
        .await?
        .into_inner()
        .resident
        .unwrap())
}
