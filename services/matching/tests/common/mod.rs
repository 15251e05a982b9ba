#![allow(dead_code, unused_imports, missing_docs, clippy::unwrap_used)]

//! The registry, activity and matching served together for tests, on either backend: embedded
//! (one process, one port, SQLite; matching tails the other stores) or distributed (each its own
//! PostgreSQL database, one nats-server, the same token keys and master key). A [`World`] holds
//! a municipality with a host organisation, published pieces and residents, and every request to
//! matching carries the consistency tokens of what was registered, so matching knows it.

use std::net::SocketAddr;

use mosaic_auth::{Role, TokenSigner};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::activity_service_client::ActivityServiceClient;
use mosaic_proto::v1::matching_service_client::MatchingServiceClient;
use mosaic_proto::v1::registry_service_client::RegistryServiceClient;
use mosaic_runtime::background::Background;
use mosaic_types::MunicipalityCode;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

pub use mosaic_testkit::grpc::{as_operator, assert_bad, authed, bad_fields};
pub use mosaic_testkit::logs::contains;
pub use mosaic_testkit::per_backend;

pub const KASHIWA: &str = "122173";
pub const CHIGASAKI: &str = "142077";

pub type Matching = MatchingServiceClient<Channel>;

static REGISTRY: mosaic_registry::Module = mosaic_registry::Module;
static ACTIVITY: mosaic_activity::Module = mosaic_activity::Module;
static MATCHING: mosaic_matching::Module = mosaic_matching::Module;
static FOLLOWUP: mosaic_followup::Module = mosaic_followup::Module;

/// The modules a platform runs: follow-up only for follow-up's own tests (this module is shared
/// with them), so matching's tests start no more than they use.
fn modules() -> Vec<&'static dyn mosaic_runtime::Module> {
    let mut modules: Vec<&'static dyn mosaic_runtime::Module> =
        vec![&REGISTRY, &ACTIVITY, &MATCHING];
    if env!("CARGO_PKG_NAME") == "mosaic-followup" {
        modules.push(&FOLLOWUP);
    }
    modules
}

/// A running platform and what keeps it alive.
pub struct Platform {
    pub backend: &'static str,
    /// Registry, activity, matching, follow-up (matching's again where follow-up does not run).
    pub addrs: [SocketAddr; 4],
    pub signer: TokenSigner,
    running: Vec<Background>,
    _pg: Vec<mosaic_testkit::TestDatabase>,
    _nats: Option<mosaic_testkit::NatsServer>,
    _dir: tempfile::TempDir,
}

impl Platform {
    pub async fn sqlite() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let running = Background::embedded(&modules(), dir.path()).await?;
        Ok(Self {
            backend: "sqlite",
            addrs: [running.addr; 4],
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
        let master = mosaic_privacy::MasterKey::generate().to_base64();
        let mut running = Vec::new();
        let mut dbs = Vec::new();
        for module in modules() {
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
        Ok(Self {
            backend: "postgres",
            addrs: [
                running[0].addr,
                running[1].addr,
                running[2].addr,
                running.get(3).unwrap_or(&running[2]).addr,
            ],
            signer: running[0].signer.clone(),
            running,
            _pg: dbs,
            _nats: Some(nats),
            _dir: dir,
        })
    }

    /// Stops the embedded platform, runs `meanwhile` on its matching database, and starts it
    /// again on the same data (a new port: make new clients).
    pub async fn restart_embedded(&mut self, meanwhile: &[&str]) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.backend == "sqlite",
            "only the embedded platform restarts here"
        );
        for running in &mut self.running {
            running.stop().await?;
        }
        self.running.clear();
        let db = mosaic_db::connect(&self.matching_database_url(), 1).await?;
        for sql in meanwhile {
            mosaic_db::on_db!(&db, pool => {
                sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(pool).await?;
            });
        }
        db.close().await;
        let running = Background::embedded(&modules(), self._dir.path()).await?;
        self.addrs = [running.addr; 4];
        self.signer = running.signer.clone();
        self.running.push(running);
        Ok(())
    }

    pub async fn channel(&self, i: usize) -> anyhow::Result<Channel> {
        Ok(Channel::from_shared(format!("http://{}", self.addrs[i]))?
            .connect()
            .await?)
    }

    /// Every byte the platform stored: the embedded platform's files, or every row of every
    /// table of each service's database and the nats-server's files.
    pub async fn stored_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        if self._pg.is_empty() {
            every_file(self._dir.path(), &mut bytes)?;
            return Ok(bytes);
        }
        for db in &self._pg {
            let db = mosaic_db::connect(db.url(), 1).await?;
            let tables: Vec<String> = mosaic_db::on_db!(&db, pool => {
                sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
                )
                .fetch_all(pool)
                .await?
            });
            for table in tables {
                let rows: Vec<String> = mosaic_db::on_db!(&db, pool => {
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT t::text FROM {table} t")))
                        .fetch_all(pool)
                        .await?
                });
                for row in rows {
                    bytes.extend(row.into_bytes());
                }
            }
            db.close().await;
        }
        if let Some(nats) = &self._nats {
            every_file(&nats.store_dir(), &mut bytes)?;
        }
        Ok(bytes)
    }

    /// The matching service's database URL.
    pub fn matching_database_url(&self) -> String {
        self.database_url("matching")
    }

    /// A context's database URL (`registry`, `activity`, `matching` or `followup`).
    pub fn database_url(&self, context: &str) -> String {
        let i = ["registry", "activity", "matching", "followup"]
            .iter()
            .position(|c| *c == context)
            .unwrap_or(2);
        match self._pg.get(i) {
            Some(db) => db.url().to_owned(),
            None => format!(
                "sqlite://{}",
                self._dir.path().join(format!("{context}.db")).display()
            ),
        }
    }

    /// The payloads of the matching store's events of one type in a municipality, in order.
    pub async fn matching_events(
        &self,
        municipality: &str,
        event_type: &str,
    ) -> anyhow::Result<Vec<serde_json::Value>> {
        self.events("matching", municipality, event_type).await
    }

    /// The payloads of a context's events of one type in a municipality, in order.
    pub async fn events(
        &self,
        context: &str,
        municipality: &str,
        event_type: &str,
    ) -> anyhow::Result<Vec<serde_json::Value>> {
        let db = mosaic_db::connect(&self.database_url(context), 1).await?;
        let store = mosaic_eventstore::SqlEventStore::open(db.clone(), context).await?;
        let m = MunicipalityCode::parse(municipality)?;
        let mut found = Vec::new();
        let mut after = 0;
        loop {
            let page = mosaic_eventstore::EventStore::read_log(
                &store,
                &mosaic_eventstore::LogQuery {
                    after,
                    limit: 1000,
                    municipality: Some(m),
                    ..Default::default()
                },
            )
            .await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            for e in page.iter().filter(|e| e.event_type == event_type) {
                found.push(e.payload.to_value()?);
            }
        }
        db.close().await;
        Ok(found)
    }

    pub async fn matching(&self) -> anyhow::Result<Matching> {
        Ok(MatchingServiceClient::new(self.channel(2).await?))
    }

    pub fn token(&self, role: Role, municipality: &str) -> String {
        self.signer
            .mint(
                "tester",
                role,
                Some(MunicipalityCode::parse(municipality).unwrap()),
                chrono::Duration::minutes(30),
            )
            .unwrap()
    }

    /// The token of a resident whose login subject is `login`.
    pub fn resident_token(&self, login: &str, municipality: &str) -> String {
        self.signer
            .mint(
                login,
                Role::Resident,
                Some(MunicipalityCode::parse(municipality).unwrap()),
                chrono::Duration::minutes(30),
            )
            .unwrap()
    }

    /// A host organisation's token, bound to `organisation`.
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
}

/// Every byte of every file under `dir`, subfolders included.
pub fn every_file(dir: &std::path::Path, into: &mut Vec<u8>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            every_file(&path, into)?;
        } else if path.is_file() {
            into.extend(std::fs::read(path)?);
        }
    }
    Ok(())
}

/// The consistency token of an answer.
pub fn token_of<T>(answer: &tonic::Response<T>) -> String {
    answer
        .metadata()
        .get(mosaic_api::consistency::HEADER)
        .expect("a command's answer carries its consistency token")
        .to_str()
        .unwrap()
        .to_owned()
}

/// What a resident states, for [`World::resident`].
#[derive(Clone)]
pub struct Person {
    pub guest: bool,
    pub consent: bool,
    pub max_hours_per_week: u32,
    pub max_days_per_month: u32,
    /// Skills: tag and level.
    pub skills: Vec<(&'static str, u32)>,
    /// Weekly availability: weekday, start and end minute.
    pub availability: Vec<(pb::Weekday, u32, u32)>,
    /// Fields of interest.
    pub interests: Vec<pb::Field>,
}

impl Default for Person {
    fn default() -> Self {
        Self {
            guest: false,
            consent: true,
            max_hours_per_week: 0,
            max_days_per_month: 0,
            skills: Vec::new(),
            availability: Vec::new(),
            interests: Vec::new(),
        }
    }
}

/// A resident of a [`World`]: their id and their own token.
#[derive(Clone)]
pub struct Resident {
    pub id: String,
    pub token: String,
}

/// A municipality with a host organisation, its pieces and residents; and the tokens matching
/// must have read up to.
pub struct World {
    pub municipality: &'static str,
    pub registry: RegistryServiceClient<Channel>,
    pub activity: ActivityServiceClient<Channel>,
    pub matching: Matching,
    pub coordinator: String,
    pub officer: String,
    pub host: String,
    pub host_token: String,
    seen: Vec<String>,
    next: u32,
}

impl World {
    /// Kashiwa and Chigasaki registered, and in `municipality` a host organisation holding both
    /// licences.
    pub async fn new(p: &Platform, municipality: &'static str) -> anyhow::Result<Self> {
        let mut registry = RegistryServiceClient::new(p.channel(0).await?);
        let operator = p
            .signer
            .mint("op", Role::Operator, None, chrono::Duration::minutes(30))?;
        for code in [KASHIWA, CHIGASAKI] {
            let r = registry
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
                .await;
            if let Err(e) = r {
                anyhow::ensure!(e.code() == Code::AlreadyExists, "{e:?}");
            }
        }
        let coordinator = p.token(Role::Coordinator, municipality);
        let org = registry
            .register_organisation(authed(
                pb::RegisterOrganisationRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    details: Some(pb::OrganisationDetails {
                        kind: pb::OrganisationKind::SilverCenter as i32,
                        name: "シルバー人材センター".into(),
                        fields: vec![pb::Field::Agriculture as i32],
                        district: "柏".into(),
                        contact: Some(pb::ContactPerson {
                            name: "佐藤 花子".into(),
                            phone: String::new(),
                            email: String::new(),
                        }),
                        licences: vec![
                            pb::Licence::WorkerDispatch as i32,
                            pb::Licence::PaidPlacement as i32,
                        ],
                    }),
                    occurred_at: None,
                },
                &coordinator,
            ))
            .await?;
        let seen = vec![token_of(&org)];
        let host = org.into_inner().organisation.unwrap().organisation_id;
        Ok(Self {
            municipality,
            host_token: p.host_token(municipality, &host),
            host,
            registry,
            activity: ActivityServiceClient::new(p.channel(1).await?),
            matching: p.matching().await?,
            officer: p.token(Role::MunicipalityOfficer, municipality),
            coordinator,
            seen,
            next: 0,
        })
    }

    /// A request to matching by `token`, carrying the consistency tokens of everything this
    /// world registered.
    pub fn req<T>(&self, body: T, token: &str) -> Request<T> {
        let mut r = authed(body, token);
        r.metadata_mut().insert(
            mosaic_api::consistency::HEADER,
            self.seen.join(",").parse().unwrap(),
        );
        r
    }

    /// Notes an answer's consistency token: later requests wait for it.
    pub fn saw<T>(&mut self, answer: &tonic::Response<T>) {
        self.saw_token(token_of(answer));
    }

    /// Notes a consistency token (`context:position`), keeping the furthest of each context.
    pub fn saw_token(&mut self, token: String) {
        let position = |t: &str| t.rsplit(':').next().and_then(|p| p.parse::<u64>().ok());
        let context = token.split(':').next().unwrap_or_default().to_owned();
        let prefix = format!("{context}:");
        if let Some(known) = self.seen.iter().find(|t| t.starts_with(&prefix))
            && position(known) >= position(&token)
        {
            return;
        }
        self.seen.retain(|t| !t.starts_with(&prefix));
        self.seen.push(token);
    }

    /// Registers a resident who signs in themself (their own token).
    pub async fn resident(&mut self, p: &Platform, person: Person) -> anyhow::Result<Resident> {
        self.next += 1;
        let login = format!("resident-{}-{}@example.jp", self.next, uuid::Uuid::now_v7());
        let token = p.resident_token(&login, self.municipality);
        let answer = self
            .registry
            .register_resident(authed(
                pb::RegisterResidentRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    mode: if person.guest {
                        pb::RegistrationMode::Guest
                    } else {
                        pb::RegistrationMode::Full
                    } as i32,
                    personal: Some(pb::PersonalDetails {
                        display_name: "山田 太郎".into(),
                        ..Default::default()
                    }),
                    profile: Some(pb::ResidentProfile {
                        channel: pb::RegistrationChannel::Web as i32,
                        birth_year: 1955,
                        life_stage: pb::LifeStage::Senior as i32,
                        district: "柏".into(),
                        max_hours_per_week: person.max_hours_per_week,
                        max_days_per_month: person.max_days_per_month,
                        skills: person
                            .skills
                            .iter()
                            .map(|(tag, level)| pb::Skill {
                                tag: (*tag).into(),
                                level: *level,
                            })
                            .collect(),
                        availability: person
                            .availability
                            .iter()
                            .map(|(weekday, start, end)| pb::WeeklyWindow {
                                weekday: *weekday as i32,
                                start_minute: *start,
                                end_minute: *end,
                            })
                            .collect(),
                        interests: person.interests.iter().map(|f| *f as i32).collect(),
                        ..Default::default()
                    }),
                    consents: if person.consent {
                        vec![pb::ConsentPurpose::Matching as i32]
                    } else {
                        vec![]
                    },
                    ..Default::default()
                },
                &token,
            ))
            .await?;
        self.saw(&answer);
        let id = answer.into_inner().resident.unwrap().resident_id;
        Ok(Resident { id, token })
    }

    /// A published activity of this world's host with one piece per window (weekday, start,
    /// end minute), each taking `headcount`; returns the piece ids.
    pub async fn pieces(
        &mut self,
        form: pb::EngagementForm,
        mode: pb::ApplicationMode,
        headcount: u32,
        windows: &[(pb::Weekday, u32, u32)],
    ) -> anyhow::Result<(String, Vec<String>)> {
        self.pieces_needing(form, mode, headcount, windows, &[])
            .await
    }

    /// [`World::pieces`] whose pieces need `skills` (tag, level).
    pub async fn pieces_needing(
        &mut self,
        form: pb::EngagementForm,
        mode: pb::ApplicationMode,
        headcount: u32,
        windows: &[(pb::Weekday, u32, u32)],
        skills: &[(&str, u32)],
    ) -> anyhow::Result<(String, Vec<String>)> {
        let pieces = windows
            .iter()
            .map(|(weekday, start, end)| pb::PieceDetails {
                required_skills: skills
                    .iter()
                    .map(|(tag, level)| pb::Skill {
                        tag: (*tag).into(),
                        level: *level,
                    })
                    .collect(),
                ..weekly_piece(*weekday, *start, *end, headcount)
            })
            .collect();
        let created = self
            .activity
            .create_activity(self.req(
                pb::CreateActivityRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    details: Some(details(&self.host, form, mode)),
                    pieces,
                    occurred_at: None,
                },
                &self.coordinator,
            ))
            .await?
            .into_inner()
            .activity
            .unwrap();
        let id = created.activity_id.clone();
        if form == pb::EngagementForm::Internship {
            anyhow::bail!("internships need their project defined first");
        }
        self.publish(&id).await?;
        Ok((id, created.pieces.into_iter().map(|p| p.piece_id).collect()))
    }

    /// A coordinator publishes an activity; later requests wait for matching to learn it.
    pub async fn publish(&mut self, activity: &str) -> anyhow::Result<()> {
        let published = self
            .activity
            .publish_activity(authed(
                pb::PublishActivityRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    activity_id: activity.into(),
                    ..Default::default()
                },
                &self.coordinator,
            ))
            .await?;
        self.saw(&published);
        Ok(())
    }

    /// A published volunteer activity open to guests, with one Monday-morning piece.
    pub async fn piece(&mut self, headcount: u32) -> anyhow::Result<String> {
        let (_, pieces) = self
            .pieces(
                pb::EngagementForm::Volunteer,
                pb::ApplicationMode::Open,
                headcount,
                &[(pb::Weekday::Monday, 540, 720)],
            )
            .await?;
        Ok(pieces[0].clone())
    }

    /// A resident applies for a piece with their own token; the match.
    pub async fn apply(&mut self, resident: &Resident, piece: &str) -> Result<pb::Match, Status> {
        let request = self.req(
            pb::ApplyRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                piece_id: piece.into(),
                ..Default::default()
            },
            &resident.token,
        );
        let answer = self.matching.apply(request).await?;
        self.saw(&answer);
        Ok(answer.into_inner().r#match.unwrap())
    }

    /// The host accepts a match with its own token.
    pub async fn host_accepts(&mut self, match_id: &str) -> Result<pb::Match, Status> {
        let request = self.req(
            pb::AcceptMatchRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                match_id: match_id.into(),
                side: pb::MatchSide::Host as i32,
                ..Default::default()
            },
            &self.host_token,
        );
        let answer = self.matching.accept_match(request).await?;
        self.saw(&answer);
        Ok(answer.into_inner().r#match.unwrap())
    }

    /// A coordinator confirms a match.
    pub async fn confirm(&mut self, match_id: &str) -> Result<pb::Match, Status> {
        let request = self.req(
            pb::ConfirmMatchRequest {
                request_id: uuid::Uuid::now_v7().to_string(),
                match_id: match_id.into(),
                ..Default::default()
            },
            &self.coordinator,
        );
        let answer = self.matching.confirm_match(request).await?;
        self.saw(&answer);
        Ok(answer.into_inner().r#match.unwrap())
    }

    /// The host schedules the match's interview and records it passed.
    pub async fn interviewed(&mut self, match_id: &str) -> anyhow::Result<()> {
        let at = mosaic_api::occurred_at::timestamp(mosaic_types::now_utc());
        let scheduled = pb::ScheduleInterviewRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            match_id: match_id.into(),
            at: Some(at),
            ..Default::default()
        };
        self.matching
            .schedule_interview(self.req(scheduled, &self.host_token))
            .await?;
        let passed = pb::RecordInterviewRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            match_id: match_id.into(),
            outcome: pb::InterviewOutcome::Passed as i32,
            ..Default::default()
        };
        let answer = self
            .matching
            .record_interview(self.req(passed, &self.host_token))
            .await?;
        self.saw(&answer);
        Ok(())
    }

    /// A match applied for and accepted by the host, ready to confirm.
    pub async fn accepted(&mut self, resident: &Resident, piece: &str) -> anyhow::Result<String> {
        let m = self.apply(resident, piece).await?;
        self.host_accepts(&m.match_id).await?;
        Ok(m.match_id)
    }

    /// Every match of a list, a page of one at a time; the ids.
    pub async fn list(
        &mut self,
        scope: pb::list_matches_request::Scope,
        token: &str,
        stage: pb::MatchStage,
    ) -> anyhow::Result<Vec<String>> {
        let mut request = pb::ListMatchesRequest {
            page_size: 1,
            scope: Some(scope),
            stage: stage as i32,
            ..Default::default()
        };
        let mut ids = Vec::new();
        loop {
            let page = self
                .matching
                .list_matches(self.req(request.clone(), token))
                .await?
                .into_inner();
            ids.extend(page.matches.into_iter().map(|m| m.match_id));
            if page.next_page_token.is_empty() {
                return Ok(ids);
            }
            request.page_token = page.next_page_token;
        }
    }

    /// The piece's seats as matching sees them: (headcount, confirmed, open).
    pub async fn seats(&mut self, piece: &str) -> anyhow::Result<(u32, u32, u32)> {
        let s = self
            .matching
            .get_open_seats(self.req(
                pb::GetOpenSeatsRequest {
                    piece_id: piece.into(),
                },
                &self.coordinator,
            ))
            .await?
            .into_inner();
        Ok((s.headcount, s.confirmed, s.open))
    }
}

pub fn date(year: i32, month: i32, day: i32) -> Option<pb::Date> {
    Some(pb::Date { year, month, day })
}

pub fn weekly_piece(
    weekday: pb::Weekday,
    start: u32,
    end: u32,
    headcount: u32,
) -> pb::PieceDetails {
    pb::PieceDetails {
        title: "収穫".into(),
        required_skills: vec![],
        schedule: Some(pb::Schedule {
            kind: Some(pb::schedule::Kind::Weekly(pb::WeeklyRecurrence {
                weekday: weekday as i32,
                start_minute: start,
                end_minute: end,
                first_day: date(2027, 4, 5),
                last_day: date(2027, 9, 27),
                exceptions: vec![],
                skip_national_holidays: false,
            })),
        }),
        headcount,
        expected_minutes: end.saturating_sub(start),
    }
}

pub fn details(
    host: &str,
    form: pb::EngagementForm,
    mode: pb::ApplicationMode,
) -> pb::ActivityDetails {
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
        application_mode: mode as i32,
        incentives: Some(pb::Incentives::default()),
        period_start: date(2027, 4, 1),
        period_end: date(2028, 3, 31),
        coordinator_id: String::new(),
        regional_goal: String::new(),
    }
}

/// The message of a refusal with `code`.
pub fn refused<T: std::fmt::Debug>(r: Result<T, Status>, code: Code) -> String {
    match r {
        Err(e) if e.code() == code => e.message().to_owned(),
        other => panic!("expected {code:?}, got {other:?}"),
    }
}
