//! Confirmations through gRPC on PostgreSQL: the registry, activity and matching services each
//! with its own database, one nats-server, all in this process (as `Background::distributed`
//! runs them for tests).
//!
//! Each run registers fresh residents and pieces, opens and accepts their matches (setup, not
//! timed), then measures:
//!
//! - **distinct pieces**: `--clients` clients (default 32), each confirming its own matches one
//!   after another, every match on a piece of its own (each client's ten residents take one
//!   piece per weekly hour, so nobody's commitments clash): confirmations per second, latency
//!   percentiles, and CPU time per confirmation (this process, PostgreSQL, nats-server);
//! - **one hot piece**: the same clients confirming `--hot` matches (default 600) of one piece
//!   with `--seats` seats (default 100, the most a piece takes) at once: every answer must be right (exactly `--seats`
//!   confirmed, every other refused as full), and the throughput of answers.
//!
//! ```text
//! cargo bench -p mosaic-matching --bench confirm
//! cargo bench -p mosaic-matching --bench confirm -- --confirmations 8000 --clients 32 --runs 3
//! ```

#[path = "support/host.rs"]
mod host;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use host::token_of;
use mosaic_auth::{Role, TokenSigner};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::activity_service_client::ActivityServiceClient;
use mosaic_proto::v1::matching_service_client::MatchingServiceClient;
use mosaic_proto::v1::registry_service_client::RegistryServiceClient;
use mosaic_runtime::background::Background;
use mosaic_testkit::cpu::CpuTime;
use mosaic_testkit::sample::KASHIWA;
use mosaic_types::MunicipalityCode;
use tokio::task::JoinSet;
use tonic::Request;
use tonic::transport::Channel;

/// The allocator of the deployed binaries.
#[global_allocator]
static ALLOCATOR: mosaic_runtime::Allocator = mosaic_runtime::Allocator;

static REGISTRY: mosaic_registry::Module = mosaic_registry::Module;
static ACTIVITY: mosaic_activity::Module = mosaic_activity::Module;
static MATCHING: mosaic_matching::Module = mosaic_matching::Module;

/// Residents per client: each takes one piece per weekly hour slot.
const RESIDENTS_PER_CLIENT: usize = 10;
/// Weekly one-hour slots, 08:00–20:00 on seven days.
const SLOTS: usize = 7 * 12;
/// Pieces per activity created for the run.
const PIECES_PER_ACTIVITY: usize = 100;
/// Requests in flight while setting up.
const SETUP_CONCURRENCY: usize = 32;

struct Args {
    confirmations: usize,
    clients: usize,
    hot: usize,
    seats: u32,
    runs: usize,
}

fn args() -> Result<Args> {
    let mut a = Args {
        confirmations: 8_000,
        clients: 32,
        hot: 600,
        seats: 100,
        runs: 3,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let value = || argv.get(i + 1).context("a value is missing");
        match argv[i].as_str() {
            "--confirmations" => a.confirmations = value()?.parse()?,
            "--clients" => a.clients = value()?.parse()?,
            "--hot" => a.hot = value()?.parse()?,
            "--seats" => a.seats = value()?.parse()?,
            "--runs" => a.runs = value()?.parse()?,
            // `cargo bench` passes `--bench`.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    anyhow::ensure!(
        a.confirmations.div_ceil(a.clients) <= RESIDENTS_PER_CLIENT * SLOTS,
        "at most {} confirmations per client",
        RESIDENTS_PER_CLIENT * SLOTS
    );
    Ok(a)
}

/// The three services and what a run needs to call them.
struct Platform {
    registry: Channel,
    activity: Channel,
    matching: Channel,
    signer: TokenSigner,
    coordinator: String,
    host: String,
    host_token: String,
    /// Consistency tokens of the latest registry and activity writes.
    seen: Vec<String>,
}

fn authed<T>(body: T, token: &str, seen: &[String]) -> Request<T> {
    host::authed(body, token, &seen.join(","))
}

/// The position of a consistency token (`context:position`).
fn position(token: &str) -> u64 {
    token
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

fn date(year: i32, month: i32, day: i32) -> Option<pb::Date> {
    Some(pb::Date { year, month, day })
}

/// A weekly one-hour piece in `slot` (weekday and hour), April to September 2027.
fn piece(slot: usize, headcount: u32) -> pb::PieceDetails {
    let (weekday, hour) = (slot / 12, slot % 12);
    // 5 April 2027 is a Monday.
    let first = 5 + weekday as i32;
    let start = (8 + hour as u32) * 60;
    pb::PieceDetails {
        title: format!("枠{slot}"),
        required_skills: vec![],
        schedule: Some(pb::Schedule {
            kind: Some(pb::schedule::Kind::Weekly(pb::WeeklyRecurrence {
                weekday: weekday as i32 + 1,
                start_minute: start,
                end_minute: start + 60,
                first_day: date(2027, 4, first),
                last_day: date(2027, 9, 20 + weekday as i32),
                exceptions: vec![],
                skip_national_holidays: false,
            })),
        }),
        headcount,
        expected_minutes: 60,
    }
}

impl Platform {
    async fn start(
        dir: &std::path::Path,
        nats: &str,
        dbs: &[mosaic_testkit::TestDatabase],
    ) -> Result<(Self, Vec<Background>)> {
        let master = mosaic_privacy::MasterKey::generate().to_base64();
        let mut running = Vec::new();
        for (module, db) in [
            &REGISTRY as &'static dyn mosaic_runtime::Module,
            &ACTIVITY,
            &MATCHING,
        ]
        .into_iter()
        .zip(dbs)
        {
            let listen = SocketAddr::from(([127, 0, 0, 1], 0));
            running.push(
                Background::distributed(module, listen, db.url(), nats, dir, Some(master.clone()))
                    .await?,
            );
        }
        let channel = |i: usize| {
            Channel::from_shared(format!("http://{}", running[i].addr)).map(|c| c.connect_lazy())
        };
        let signer = running[0].signer.clone();
        let registry = channel(0)?;
        let h = host::register(registry.clone(), &signer).await?;
        let (coordinator, host, host_token, seen) =
            (h.coordinator, h.host, h.host_token, vec![h.seen]);
        Ok((
            Self {
                registry,
                activity: channel(1)?,
                matching: channel(2)?,
                signer,
                coordinator,
                host,
                host_token,
                seen,
            },
            running,
        ))
    }

    /// Registers `n` residents who sign in themselves; their ids and tokens.
    async fn residents(&mut self, run: usize, n: usize) -> Result<Vec<(String, String)>> {
        let m = MunicipalityCode::parse(KASHIWA)?;
        let mut tasks = JoinSet::new();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if tasks.len() >= SETUP_CONCURRENCY
                && let Some(done) = tasks.join_next().await
            {
                out.push(done??);
            }
            let token = self.signer.mint(
                &format!("r{run}-{i}@example.jp"),
                Role::Resident,
                Some(m),
                chrono::Duration::hours(4),
            )?;
            let mut client = RegistryServiceClient::new(self.registry.clone());
            tasks.spawn(async move {
                let answer = client
                    .register_resident(authed(
                        pb::RegisterResidentRequest {
                            request_id: "me".into(),
                            mode: pb::RegistrationMode::Full as i32,
                            personal: Some(pb::PersonalDetails {
                                display_name: "住民".into(),
                                ..Default::default()
                            }),
                            profile: Some(pb::ResidentProfile {
                                channel: pb::RegistrationChannel::Web as i32,
                                birth_year: 1955,
                                life_stage: pb::LifeStage::Senior as i32,
                                district: "柏".into(),
                                ..Default::default()
                            }),
                            consents: vec![pb::ConsentPurpose::Matching as i32],
                            ..Default::default()
                        },
                        &token,
                        &[],
                    ))
                    .await?;
                let written = token_of(&answer);
                let id = answer
                    .into_inner()
                    .resident
                    .context("no resident")?
                    .resident_id;
                anyhow::Ok((id, token, written))
            });
        }
        while let Some(done) = tasks.join_next().await {
            out.push(done??);
        }
        let latest = out
            .iter()
            .map(|(_, _, w)| w.clone())
            .max_by_key(|w| position(w));
        self.note(latest.unwrap_or_default());
        Ok(out.into_iter().map(|(id, token, _)| (id, token)).collect())
    }

    fn note(&mut self, token: String) {
        let context = token.split(':').next().unwrap_or_default().to_owned();
        self.seen.retain(|t| !t.starts_with(&format!("{context}:")));
        self.seen.push(token);
    }

    /// Publishes activities holding `pieces`; the piece ids in order.
    async fn pieces(&mut self, pieces: Vec<pb::PieceDetails>) -> Result<Vec<String>> {
        let mut client = ActivityServiceClient::new(self.activity.clone());
        let mut ids = Vec::with_capacity(pieces.len());
        for (n, chunk) in pieces.chunks(PIECES_PER_ACTIVITY).enumerate() {
            let created = client
                .create_activity(authed(
                    pb::CreateActivityRequest {
                        request_id: uuid::Uuid::now_v7().to_string(),
                        details: Some(pb::ActivityDetails {
                            host_organisation_id: self.host.clone(),
                            title: format!("地域食堂 {n}"),
                            description: "受付と配膳".into(),
                            field: pb::Field::Welfare as i32,
                            origin: pb::ActivityOrigin::ExistingActivity as i32,
                            engagement_form: pb::EngagementForm::Volunteer as i32,
                            place: Some(pb::Place {
                                district: "柏".into(),
                                location: None,
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
                        pieces: chunk.to_vec(),
                        occurred_at: None,
                    },
                    &self.coordinator,
                    &self.seen,
                ))
                .await?
                .into_inner()
                .activity
                .context("no activity")?;
            let published = client
                .publish_activity(authed(
                    pb::PublishActivityRequest {
                        request_id: uuid::Uuid::now_v7().to_string(),
                        activity_id: created.activity_id.clone(),
                        ..Default::default()
                    },
                    &self.coordinator,
                    &[],
                ))
                .await?;
            self.note(token_of(&published));
            ids.extend(created.pieces.into_iter().map(|p| p.piece_id));
        }
        Ok(ids)
    }

    /// Each (resident token, piece) applies and the host accepts; the match ids in order.
    async fn accepted(&mut self, pairs: Vec<(String, String)>) -> Result<Vec<String>> {
        let mut tasks = JoinSet::new();
        let mut written = Vec::new();
        let mut out = vec![String::new(); pairs.len()];
        for (i, (token, piece)) in pairs.into_iter().enumerate() {
            if tasks.len() >= SETUP_CONCURRENCY
                && let Some(done) = tasks.join_next().await
            {
                let (i, id, token) = done??;
                out[i] = id;
                written.push(token);
            }
            let mut client = MatchingServiceClient::new(self.matching.clone());
            let (seen, host_token) = (self.seen.clone(), self.host_token.clone());
            tasks.spawn(async move {
                let applied = client
                    .apply(authed(
                        pb::ApplyRequest {
                            request_id: format!("apply-{piece}"),
                            piece_id: piece,
                            ..Default::default()
                        },
                        &token,
                        &seen,
                    ))
                    .await?
                    .into_inner()
                    .r#match
                    .context("no match")?;
                let accepted = client
                    .accept_match(authed(
                        pb::AcceptMatchRequest {
                            request_id: format!("accept-{}", applied.match_id),
                            match_id: applied.match_id.clone(),
                            side: pb::MatchSide::Host as i32,
                            ..Default::default()
                        },
                        &host_token,
                        &[],
                    ))
                    .await?;
                anyhow::Ok((i, applied.match_id, token_of(&accepted)))
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (i, id, token) = done??;
            out[i] = id;
            written.push(token);
        }
        if let Some(last) = written.into_iter().max_by_key(|t| position(t)) {
            self.note(last);
        }
        Ok(out)
    }

    /// Waits until every service's read models have read everything the setup wrote, so the
    /// timed phases pay for their own work only.
    async fn settle(&self) -> Result<()> {
        fn wait<T>(body: T, p: &Platform) -> Request<T> {
            let mut r = authed(body, &p.coordinator, &p.seen);
            r.set_timeout(Duration::from_secs(600));
            r
        }
        MatchingServiceClient::new(self.matching.clone())
            .get_open_seats(wait(
                pb::GetOpenSeatsRequest {
                    piece_id: uuid::Uuid::now_v7().to_string(),
                },
                self,
            ))
            .await
            .map(|_| ())
            .or_else(|e| {
                if e.code() == tonic::Code::NotFound {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
        ActivityServiceClient::new(self.activity.clone())
            .list_activities(wait(pb::ListActivitiesRequest::default(), self))
            .await?;
        RegistryServiceClient::new(self.registry.clone())
            .list_organisations(wait(pb::ListOrganisationsRequest::default(), self))
            .await?;
        Ok(())
    }
}

/// What a timed phase did.
struct Phase {
    wall: Duration,
    latency: Histogram<u64>,
    confirmed: usize,
    full: usize,
    other: Vec<String>,
    cpu: CpuTime,
}

/// Each client confirms its matches one after another, all clients at once.
async fn confirm(p: &Platform, per_client: Vec<Vec<String>>) -> Result<Phase> {
    let coordinator = Arc::new(p.coordinator.clone());
    let cpu = CpuTime::now();
    let start = Instant::now();
    let mut tasks = JoinSet::new();
    for matches in per_client {
        let mut client = MatchingServiceClient::new(p.matching.clone());
        let coordinator = coordinator.clone();
        tasks.spawn(async move {
            let mut latency = Histogram::<u64>::new(3)?;
            let (mut confirmed, mut full, mut other) = (0, 0, Vec::new());
            for id in matches {
                let t = Instant::now();
                let answer = client
                    .confirm_match(authed(
                        pb::ConfirmMatchRequest {
                            request_id: format!("confirm-{id}"),
                            match_id: id,
                            ..Default::default()
                        },
                        &coordinator,
                        &[],
                    ))
                    .await;
                latency.record(t.elapsed().as_micros() as u64)?;
                match answer {
                    Ok(_) => confirmed += 1,
                    Err(e) if e.message().contains("is full") => full += 1,
                    Err(e) => other.push(format!("{:?}: {}", e.code(), e.message())),
                }
            }
            anyhow::Ok((latency, confirmed, full, other))
        });
    }
    let mut phase = Phase {
        wall: Duration::ZERO,
        latency: Histogram::new(3)?,
        confirmed: 0,
        full: 0,
        other: Vec::new(),
        cpu: CpuTime::default(),
    };
    while let Some(done) = tasks.join_next().await {
        let (latency, confirmed, full, other) = done??;
        phase.latency.add(latency)?;
        phase.confirmed += confirmed;
        phase.full += full;
        phase.other.extend(other);
    }
    phase.wall = start.elapsed();
    phase.cpu = CpuTime::now().since(&cpu);
    Ok(phase)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn per_op(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n.max(1) as f64
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let dir = tempfile::tempdir()?;
    let nats = mosaic_testkit::NatsServer::start()?;
    let dbs = [
        mosaic_testkit::TestDatabase::new()?,
        mosaic_testkit::TestDatabase::new()?,
        mosaic_testkit::TestDatabase::new()?,
    ];
    let (mut p, running) = Platform::start(dir.path(), &nats.url(), &dbs).await?;
    println!(
        "{} confirmations by {} clients on distinct pieces; {} on one piece of {} seats; {} runs",
        args.confirmations, args.clients, args.hot, args.seats, args.runs
    );
    println!(
        "| run | distinct: confirmations/s | p50 ms | p99 ms | CPU µs per confirmation (services + clients / PostgreSQL / nats-server) | hot piece: answers/s | confirmed / full | p99 ms |"
    );
    println!("|---|---:|---:|---:|---|---:|---|---:|");
    for run in 0..args.runs {
        // Setup: residents, pieces, and accepted matches (not timed).
        let per_client = args.confirmations.div_ceil(args.clients);
        let residents = p
            .residents(run, args.clients * RESIDENTS_PER_CLIENT + args.hot)
            .await?;
        let mut pieces = Vec::new();
        let mut pairs = Vec::new();
        for c in 0..args.clients {
            for k in 0..per_client {
                pieces.push(piece(k / RESIDENTS_PER_CLIENT, 1));
                let (_, token) = &residents[c * RESIDENTS_PER_CLIENT + k % RESIDENTS_PER_CLIENT];
                pairs.push(token.clone());
            }
        }
        pieces.push(piece(SLOTS - 1, args.seats));
        let ids = p.pieces(pieces).await?;
        let hot_piece = ids.last().cloned().context("no hot piece")?;
        let mut all: Vec<(String, String)> = pairs.into_iter().zip(ids).collect();
        all.extend(
            residents[args.clients * RESIDENTS_PER_CLIENT..]
                .iter()
                .map(|(_, token)| (token.clone(), hot_piece.clone())),
        );
        let matches = p.accepted(all).await?;
        p.settle().await?;
        let (distinct, hot) = matches.split_at(args.clients * per_client);
        let distinct: Vec<Vec<String>> = distinct.chunks(per_client).map(|c| c.to_vec()).collect();
        let hot: Vec<Vec<String>> = (0..args.clients)
            .map(|c| hot.iter().skip(c).step_by(args.clients).cloned().collect())
            .collect();

        let d = confirm(&p, distinct).await?;
        anyhow::ensure!(
            d.other.is_empty() && d.full == 0,
            "distinct pieces refused: {:?}",
            &d.other[..d.other.len().min(5)]
        );
        let h = confirm(&p, hot).await?;
        anyhow::ensure!(
            h.confirmed == args.seats as usize
                && h.full == args.hot - args.seats as usize
                && h.other.is_empty(),
            "hot piece: {} confirmed, {} full, {:?}",
            h.confirmed,
            h.full,
            &h.other[..h.other.len().min(5)]
        );
        let n = d.confirmed;
        println!(
            "| {} | {:.0} | {:.1} | {:.1} | {:.0} + {:.0} + {:.0} = {:.0} | {:.0} | {} / {} | {:.1} |",
            run + 1,
            n as f64 / d.wall.as_secs_f64(),
            ms(&d.latency, 0.5),
            ms(&d.latency, 0.99),
            per_op(d.cpu.own, n),
            per_op(d.cpu.postgres, n),
            per_op(d.cpu.nats, n),
            per_op(d.cpu.total(), n),
            args.hot as f64 / h.wall.as_secs_f64(),
            h.confirmed,
            h.full,
            ms(&h.latency, 0.99),
        );
    }
    for mut r in running {
        r.stop().await?;
    }
    Ok(())
}
