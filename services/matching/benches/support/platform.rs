#![allow(dead_code)]

//! A platform for the service parts of the benchmarks: the registry, activity and matching in
//! this process on one backend; a municipality with a host and an activity made through the
//! APIs; and residents registered by appending their `ResidentRegistered` to the registry's log
//! directly, in appends of 1,000 streams (their personal data is a placeholder: matching never
//! reads it).

use std::net::SocketAddr;

use anyhow::{Context, Result};
use mosaic_api::command::new_event;
use mosaic_auth::TokenSigner;
use mosaic_db::on_db;
use mosaic_events::registry::{
    ConsentPurpose, RegistrationMode, RegistryEvent, ResidentProfile, ResidentRegistered,
};
use mosaic_eventstore::{
    AppendRequest, CommandMeta, EventStore, ExpectedVersion, SqlEventStore, StreamEvents,
};
use mosaic_matching::domain::recommend::{Candidate, Target};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::activity_service_client::ActivityServiceClient;
use mosaic_runtime::background::Background;
use mosaic_testkit::sample::KASHIWA;
use mosaic_types::{MunicipalityCode, ResidentId};
use tonic::transport::Channel;

use super::host::{self, authed};

static REGISTRY: mosaic_registry::Module = mosaic_registry::Module;
static ACTIVITY: mosaic_activity::Module = mosaic_activity::Module;
static MATCHING: mosaic_matching::Module = mosaic_matching::Module;

/// Streams per append when filling the registry's log.
const STREAMS_PER_APPEND: usize = 1_000;

pub fn date(year: i32, month: u32, day: u32) -> Option<pb::Date> {
    Some(pb::Date {
        year,
        month: month as i32,
        day: day as i32,
    })
}

/// A running platform of one backend, and its databases.
pub struct Service {
    pub registry_store: std::sync::Arc<dyn EventStore>,
    pub matching_db: mosaic_db::Db,
    pub matching: Channel,
    pub activity: Channel,
    pub registry: Channel,
    pub signer: TokenSigner,
    _running: Vec<Background>,
    _pg: Vec<mosaic_testkit::TestDatabase>,
    _nats: Option<mosaic_testkit::NatsServer>,
    _dir: tempfile::TempDir,
}

impl Service {
    /// Starts the registry, activity and matching on `backend` (`sqlite`: embedded; otherwise
    /// each on PostgreSQL of its own, with one nats-server).
    pub async fn start(backend: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let connect = |addr: SocketAddr| {
            Channel::from_shared(format!("http://{addr}")).map(|c| c.connect_lazy())
        };
        if backend == "sqlite" {
            let running =
                Background::embedded(&[&REGISTRY, &ACTIVITY, &MATCHING], dir.path()).await?;
            let registry_store = running
                .stores
                .get("registry")
                .context("registry store")?
                .clone();
            let url = format!("sqlite://{}", dir.path().join("matching.db").display());
            let matching_db = mosaic_db::connect(&url, 2).await?;
            let channel = connect(running.addr)?;
            return Ok(Self {
                registry_store,
                matching_db,
                matching: channel.clone(),
                activity: channel.clone(),
                registry: channel,
                signer: running.signer.clone(),
                _running: vec![running],
                _pg: Vec::new(),
                _nats: None,
                _dir: dir,
            });
        }
        let nats = mosaic_testkit::NatsServer::start()?;
        let master = mosaic_privacy::MasterKey::generate().to_base64();
        let (mut running, mut dbs) = (Vec::new(), Vec::new());
        for module in [
            &REGISTRY as &'static dyn mosaic_runtime::Module,
            &ACTIVITY,
            &MATCHING,
        ] {
            let db = mosaic_testkit::TestDatabase::new()?;
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
            dbs.push(db);
        }
        let registry_db = mosaic_db::connect(dbs[0].url(), 4).await?;
        let registry_store =
            std::sync::Arc::new(SqlEventStore::open(registry_db, "registry").await?);
        let matching_db = mosaic_db::connect(dbs[2].url(), 2).await?;
        Ok(Self {
            registry_store,
            matching_db,
            registry: connect(running[0].addr)?,
            activity: connect(running[1].addr)?,
            matching: connect(running[2].addr)?,
            signer: running[0].signer.clone(),
            _running: running,
            _pg: dbs,
            _nats: Some(nats),
            _dir: dir,
        })
    }
}

/// The municipality, a host and one published activity of `targets`' windows and skills, each
/// piece for `headcount` people (0: the target's own headcount), through the APIs; the
/// coordinator's token, the activity id, the piece ids and the activity's consistency token.
pub async fn municipality(
    s: &Service,
    targets: &[Target],
    headcount: u32,
) -> Result<(String, String, Vec<String>, String)> {
    let host::Host {
        coordinator,
        host,
        seen,
        ..
    } = host::register(s.registry.clone(), &s.signer).await?;
    let pieces = targets
        .iter()
        .map(|t| {
            let mosaic_events::activity::Schedule::Weekly { window, .. } = &t.piece.schedule else {
                unreachable!("synthetic pieces are weekly")
            };
            pb::PieceDetails {
                title: "枠".into(),
                required_skills: t
                    .skills
                    .iter()
                    .map(|s| pb::Skill {
                        tag: s.tag.as_str().into(),
                        level: s.level.get().into(),
                    })
                    .collect(),
                schedule: Some(pb::Schedule {
                    kind: Some(pb::schedule::Kind::Weekly(pb::WeeklyRecurrence {
                        weekday: window.weekday().wire(),
                        start_minute: window.start().into(),
                        end_minute: window.end().into(),
                        first_day: date(2027, 4, 15),
                        last_day: date(2027, 9, 28),
                        exceptions: vec![],
                        skip_national_holidays: false,
                    })),
                }),
                headcount: if headcount == 0 {
                    t.piece.headcount
                } else {
                    headcount
                },
                expected_minutes: window.minutes(),
            }
        })
        .collect();
    let mut activity = ActivityServiceClient::new(s.activity.clone());
    let created = activity
        .create_activity(authed(
            pb::CreateActivityRequest {
                request_id: "activity".into(),
                details: Some(pb::ActivityDetails {
                    host_organisation_id: host,
                    title: "地域の仕事".into(),
                    description: "地域の仕事です。".into(),
                    field: pb::Field::Welfare as i32,
                    origin: pb::ActivityOrigin::ExistingActivity as i32,
                    engagement_form: pb::EngagementForm::Volunteer as i32,
                    place: Some(pb::Place {
                        district: "柏".into(),
                        location: Some(pb::CoarseLocation {
                            latitude: 35.87,
                            longitude: 139.98,
                        }),
                        online: false,
                    }),
                    physical_load: pb::PhysicalLoad::Light as i32,
                    application_mode: pb::ApplicationMode::Open as i32,
                    incentives: Some(pb::Incentives::default()),
                    period_start: date(2027, 4, 1),
                    period_end: date(2028, 3, 31),
                    coordinator_id: String::new(),
                    regional_goal: String::new(),
                }),
                pieces,
                occurred_at: None,
            },
            &coordinator,
            &seen,
        ))
        .await?
        .into_inner()
        .activity
        .context("no activity")?;
    let published = activity
        .publish_activity(authed(
            pb::PublishActivityRequest {
                request_id: "publish".into(),
                activity_id: created.activity_id.clone(),
                ..Default::default()
            },
            &coordinator,
            "",
        ))
        .await?;
    let token = host::token_of(&published);
    Ok((
        coordinator,
        created.activity_id,
        created.pieces.into_iter().map(|p| p.piece_id).collect(),
        token,
    ))
}

/// Appends the residents' `ResidentRegistered` to the registry's log (new ids); the last
/// position.
pub async fn register(s: &Service, residents: &[Candidate]) -> Result<u64> {
    let m = MunicipalityCode::parse(KASHIWA)?;
    let personal: mosaic_events::registry::SealedPersonal =
        serde_json::from_value(serde_json::json!({ "display_name": "v1.placeholder" }))?;
    let mut last = 0;
    for chunk in residents.chunks(STREAMS_PER_APPEND) {
        let mut parts = Vec::with_capacity(chunk.len());
        for c in chunk {
            let id = ResidentId::new();
            let p = &c.profile;
            let event = RegistryEvent::ResidentRegistered(ResidentRegistered {
                resident_id: id.clone(),
                mode: if c.facts.guest {
                    RegistrationMode::Guest
                } else {
                    RegistrationMode::Full
                },
                personal: personal.clone(),
                profile: ResidentProfile {
                    location: p.location,
                    travel_radius_km: p.travel_radius_km,
                    skills: p.skills.clone(),
                    interests: p.interests.clone(),
                    availability: p.availability.clone(),
                    max_hours_per_week: c.facts.max_hours_per_week,
                    preferred_forms: p.preferred_forms.clone(),
                    ..ResidentProfile::default()
                },
                consents: vec![ConsentPurpose::Matching],
                account_subject: None,
                login: None,
                proxy: None,
                proxy_recorded_by_staff: None,
                guardian_consent: false,
                import_row: None,
            });
            parts.push(StreamEvents {
                stream_id: format!("resident-{id}"),
                expected: ExpectedVersion::NoStream,
                events: vec![
                    new_event(&event, chrono::Utc::now()).map_err(|e| anyhow::anyhow!("{e}"))?,
                ],
            });
        }
        let first = parts.remove(0);
        let outcome = s
            .registry_store
            .append(AppendRequest {
                municipality: m,
                stream_id: first.stream_id,
                expected: first.expected,
                events: first.events,
                meta: CommandMeta {
                    actor: "bench".into(),
                    recorded_at: chrono::Utc::now(),
                    correlation_id: uuid::Uuid::now_v7(),
                    causation_id: None,
                    idempotency: None,
                    trace_context: None,
                },
                response: None,
                also: parts,
            })
            .await?;
        last = outcome.committed().positions.map_or(last, |(_, l)| l);
    }
    Ok(last)
}

pub async fn count(db: &mosaic_db::Db, sql: &'static str) -> Result<i64> {
    Ok(on_db!(db, pool => { sqlx::query_scalar(sql).fetch_one(pool).await? }))
}
