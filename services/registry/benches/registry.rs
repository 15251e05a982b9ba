//! The registry's throughput and query latency through its gRPC API, on PostgreSQL (the
//! distributed service with its own database and NATS) or SQLite (embedded).
//!
//! For each run, on a fresh database:
//! 1. **single registrations**: `--clients` concurrent gRPC clients each register residents one
//!    `RegisterResident` call at a time (`--registrations` in all); registrations/s and latency;
//! 2. **bulk import**: `--population` residents streamed through `ImportResidents` on one
//!    stream (rows/s, until the last row is answered);
//! 3. **list and search** on that municipality once the directory has every resident (and, on
//!    PostgreSQL, planner statistics that cover them): `--queries` calls of each query shape (by district, skill, field, free time window, life
//!    stage, a combination, and find-by-name), one client after another; p50/p99 latency.
//!
//! ```text
//! cargo bench -p mosaic-registry --bench registry -- --runs 3
//! cargo bench -p mosaic-registry --bench registry -- --backend sqlite --population 20000
//! ```
//!
//! Residents are generated deterministically: 20 districts, 30 skill tags (1–3 each), 12 fields,
//! weekly windows on 1–3 days, five life stages. Writes are durable (fsync on).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use clap::{Parser, ValueEnum};
use futures::StreamExt;
use hdrhistogram::Histogram;
use mosaic_auth::Role;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::registry_service_client::RegistryServiceClient;
use mosaic_runtime::background::Background;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::Request;
use tonic::transport::Channel;

/// The allocator of the deployed binaries.
#[global_allocator]
static ALLOCATOR: mosaic_runtime::Allocator = mosaic_runtime::Allocator;

use mosaic_testkit::sample::{DISTRICTS, KASHIWA, SKILLS};

static MODULE: mosaic_registry::Module = mosaic_registry::Module;

#[derive(Debug, Parser)]
#[command(about = "Registry throughput and list/search latency through the gRPC API")]
struct Args {
    /// Residents registered one RPC at a time.
    #[arg(long, default_value_t = 8_000)]
    registrations: usize,
    /// Concurrent clients for single registrations.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Residents imported in bulk: the municipality that lists and searches run on.
    #[arg(long, default_value_t = 100_000)]
    population: usize,
    /// Calls of each query shape.
    #[arg(long, default_value_t = 1_000)]
    queries: usize,
    /// Repetitions; the report gives the median and the range.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Which backend.
    #[arg(long, value_enum, default_value_t = Backend::Postgres)]
    backend: Backend,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Postgres,
    Sqlite,
}

/// The registry under measurement and what keeps it alive.
struct Served {
    running: Background,
    _dir: tempfile::TempDir,
    _pg: Option<mosaic_testkit::TestDatabase>,
    _nats: Option<mosaic_testkit::NatsServer>,
}

async fn serve(backend: Backend) -> Result<Served> {
    let dir = tempfile::tempdir()?;
    Ok(match backend {
        Backend::Sqlite => Served {
            running: Background::embedded(&[&MODULE], dir.path()).await?,
            _dir: dir,
            _pg: None,
            _nats: None,
        },
        Backend::Postgres => {
            let nats = mosaic_testkit::NatsServer::start()?;
            let pg = mosaic_testkit::TestDatabase::new()?;
            let listen = SocketAddr::from(([127, 0, 0, 1], 0));
            let master = mosaic_privacy::MasterKey::generate().to_base64();
            let running = Background::distributed(
                &MODULE,
                listen,
                pg.url(),
                &nats.url(),
                dir.path(),
                Some(master),
            )
            .await?;
            Served {
                running,
                _dir: dir,
                _pg: Some(pg),
                _nats: Some(nats),
            }
        }
    })
}

/// Waits until the planner's statistics of the directory's tables cover their rows: lists are
/// timed on a directory in its steady state. Its own upkeep refreshes them once it has caught up
/// and registrations have paused after an import (autovacuum would within a minute).
///
/// The planner's row count of each table (`reltuples`, set by ANALYZE) is compared with the rows
/// the table holds. `n_mod_since_analyze` would not do: a backend reports its inserts to the
/// statistics system up to a second late, so an ANALYZE that has seen every row can still leave
/// that counter showing the last batches as unanalysed.
async fn statistics_fresh(url: &str) -> Result<()> {
    let pool = sqlx::PgPool::connect(url).await?;
    let started = Instant::now();
    loop {
        let mut stale = 0;
        for table in mosaic_registry::projections::PROFILE_TABLES {
            let (estimated, rows): (f32, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT (SELECT reltuples FROM pg_class WHERE relname = '{table}'), \
                        (SELECT count(*) FROM {table})"
            )))
            .fetch_one(&pool)
            .await?;
            // -1 until the table is first analysed.
            if estimated < 0.0 || (rows as f64 - f64::from(estimated)).abs() > rows as f64 / 50.0 {
                stale += 1;
            }
        }
        if stale == 0 {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the directory's statistics were never refreshed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "directory statistics fresh after {:.1}s more",
        started.elapsed().as_secs_f64()
    );
    pool.close().await;
    Ok(())
}

fn authed<T>(body: T, token: &str) -> Request<T> {
    let mut request = Request::new(body);
    if let Ok(v) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", v);
    }
    request
}

/// A deterministic resident.
fn resident(rng: &mut StdRng, i: usize) -> pb::RegisterResidentRequest {
    let skills = (0..rng.random_range(1..=3))
        .map(|k| pb::Skill {
            tag: SKILLS[(i * 7 + k * 11) % SKILLS.len()].into(),
            level: rng.random_range(1..=5),
        })
        .collect();
    let mut days: Vec<i32> = (1..=7).collect();
    let windows = (0..rng.random_range(1..=3))
        .map(|_| {
            let day = days.remove(rng.random_range(0..days.len()));
            let start = rng.random_range(8..=14) * 60;
            pb::WeeklyWindow {
                weekday: day,
                start_minute: start,
                end_minute: start + rng.random_range(2..=5) * 60,
            }
        })
        .collect();
    let field = rng.random_range(1..=12);
    pb::RegisterResidentRequest {
        request_id: format!("bench-{i}"),
        mode: pb::RegistrationMode::Full as i32,
        personal: Some(pb::PersonalDetails {
            display_name: format!("会員 {i}"),
            name_kana: format!("かいいん {i}"),
            phone: format!("04-7100-{:04}", i % 10_000),
            email: format!("member{i}@example.jp"),
            address: format!("千葉県柏市{}{}番", DISTRICTS[i % 20], i % 100),
            ..Default::default()
        }),
        profile: Some(pb::ResidentProfile {
            birth_year: rng.random_range(1940..=2000),
            life_stage: rng.random_range(1..=4),
            district: DISTRICTS[i % DISTRICTS.len()].into(),
            skills,
            interests: vec![field, (field % 12) + 1],
            availability: windows,
            max_hours_per_week: 20,
            preferred_forms: vec![pb::EngagementForm::Volunteer as i32],
            physical_load: pb::PhysicalLoad::Moderate as i32,
            channel: pb::RegistrationChannel::CityHallWindow as i32,
            ..Default::default()
        }),
        consents: vec![pb::ConsentPurpose::Matching as i32],
        proxy: Some(pb::ProxyAgreement {
            method: pb::AgreementMethod::Paper as i32,
        }),
        ..Default::default()
    }
}

#[derive(Default)]
struct Results {
    rows: Vec<(String, Vec<f64>)>,
}

impl Results {
    fn record(&mut self, name: &str, value: f64) {
        match self.rows.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(value),
            None => self.rows.push((name.to_owned(), vec![value])),
        }
    }

    fn print(&self, args: &Args) {
        println!(
            "\n| {:?}, {} registrations by {} clients, {} imported, {} queries per shape | median | range |",
            args.backend, args.registrations, args.clients, args.population, args.queries
        );
        println!("|---|---:|---:|");
        for (name, values) in &self.rows {
            let mut v = values.clone();
            v.sort_by(|a, b| a.total_cmp(b));
            let median = v[v.len() / 2];
            println!(
                "| {name} | {median:.2} | {:.2} – {:.2} |",
                v[0],
                v[v.len() - 1]
            );
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(
        args.runs > 0 && args.clients > 0,
        "--runs and --clients must be positive"
    );
    let mut results = Results::default();
    for run in 1..=args.runs {
        eprintln!("run {run}/{}", args.runs);
        measure(&args, &mut results).await?;
    }
    results.print(&args);
    Ok(())
}

async fn measure(args: &Args, results: &mut Results) -> Result<()> {
    let mut served = serve(args.backend).await?;
    let addr = served.running.addr;
    let channel = Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let client = RegistryServiceClient::new(channel);
    let signer = served.running.signer.clone();
    let mint = |role, m: Option<&str>| {
        signer.mint(
            "bench",
            role,
            m.map(|c| mosaic_types::MunicipalityCode::parse(c).expect("valid code")),
            chrono::Duration::hours(2),
        )
    };
    let operator = mint(Role::Operator, None)?;
    let coordinator = mint(Role::Coordinator, Some(KASHIWA))?;
    let mut register = authed(
        pb::RegisterMunicipalityRequest {
            request_id: "bench".into(),
            code: KASHIWA.into(),
            name: "柏市".into(),
            prefecture: "千葉県".into(),
            ..Default::default()
        },
        &operator,
    );
    register
        .metadata_mut()
        .insert(mosaic_auth::MUNICIPALITY_HEADER, KASHIWA.parse()?);
    client.clone().register_municipality(register).await?;

    // 1. Single registrations from concurrent clients (each on its own connection).
    let per_client = args.registrations.div_ceil(args.clients);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let channel = Channel::from_shared(format!("http://{addr}"))?
            .connect()
            .await?;
        let mut client = RegistryServiceClient::new(channel);
        let token = coordinator.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(c as u64);
            let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            for i in 0..per_client {
                let request = resident(&mut rng, 1_000_000 + c * per_client + i);
                let t = Instant::now();
                client.register_resident(authed(request, &token)).await?;
                latencies.record(t.elapsed().as_micros() as u64)?;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        latencies.add(t.await??)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    results.record(
        "Single registrations/s",
        (per_client * args.clients) as f64 / elapsed,
    );
    results.record(
        "… latency p50 (ms)",
        latencies.value_at_quantile(0.5) as f64 / 1000.0,
    );
    results.record(
        "… latency p99 (ms)",
        latencies.value_at_quantile(0.99) as f64 / 1000.0,
    );

    // 2. Bulk import of the population on one stream.
    let mut rng = StdRng::seed_from_u64(42);
    let rows: Vec<pb::ImportResidentsRequest> = (0..args.population)
        .map(|i| pb::ImportResidentsRequest {
            row_key: format!("M{i:07}"),
            resident: Some(resident(&mut rng, i).into()),
        })
        .collect();
    let started = Instant::now();
    let mut answers = client
        .clone()
        .import_residents(authed(tokio_stream::iter(rows), &coordinator))
        .await?
        .into_inner();
    let mut accepted = 0usize;
    while let Some(answer) = answers.next().await {
        if answer?.accepted {
            accepted += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    ensure!(accepted == args.population, "only {accepted} rows accepted");
    results.record("Bulk import rows/s", args.population as f64 / elapsed);

    // The directory catches up before queries are timed.
    let total = args.population + per_client * args.clients;
    let started = Instant::now();
    let mut c = client.clone();
    loop {
        let listed = c
            .list_residents(authed(
                pb::ListResidentsRequest {
                    page_size: 1,
                    district: DISTRICTS[0].into(),
                    ..Default::default()
                },
                &coordinator,
            ))
            .await?
            .into_inner();
        let probe = c
            .find_residents_by_name(authed(
                pb::FindResidentsByNameRequest {
                    name: format!("会員 {}", args.population - 1),
                },
                &coordinator,
            ))
            .await?
            .into_inner();
        if !listed.residents.is_empty() && !probe.residents.is_empty() {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(1_800),
            "the directory never caught up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "directory holds {total} residents after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if let Some(pg) = &served._pg {
        statistics_fresh(pg.url()).await?;
    }

    // 3. List and search latency, one call at a time.
    type Shape = (&'static str, fn(usize) -> pb::ListResidentsRequest);
    let shapes: [Shape; 6] = [
        ("List by district", |i| pb::ListResidentsRequest {
            district: DISTRICTS[i % 20].into(),
            ..Default::default()
        }),
        ("List by skill ≥ 3", |i| pb::ListResidentsRequest {
            skill: SKILLS[i % 30].into(),
            min_skill_level: 3,
            ..Default::default()
        }),
        ("List by field", |i| pb::ListResidentsRequest {
            field: (i % 12) as i32 + 1,
            ..Default::default()
        }),
        ("List by free window", |i| pb::ListResidentsRequest {
            available: Some(pb::WeeklyWindow {
                weekday: (i % 7) as i32 + 1,
                start_minute: 600,
                end_minute: 660,
            }),
            ..Default::default()
        }),
        ("List by life stage", |i| pb::ListResidentsRequest {
            life_stage: (i % 4) as i32 + 1,
            ..Default::default()
        }),
        ("List by district + skill + window", |i| {
            pb::ListResidentsRequest {
                district: DISTRICTS[i % 20].into(),
                skill: SKILLS[(i * 7) % 30].into(),
                available: Some(pb::WeeklyWindow {
                    weekday: (i % 7) as i32 + 1,
                    start_minute: 540,
                    end_minute: 600,
                }),
                ..Default::default()
            }
        }),
    ];
    for (name, shape) in shapes {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        for i in 0..args.queries {
            let t = Instant::now();
            c.list_residents(authed(shape(i), &coordinator))
                .await
                .with_context(|| name.to_owned())?;
            h.record(t.elapsed().as_micros() as u64)?;
        }
        results.record(
            &format!("{name}: p50 (ms)"),
            h.value_at_quantile(0.5) as f64 / 1000.0,
        );
        results.record(
            &format!("{name}: p99 (ms)"),
            h.value_at_quantile(0.99) as f64 / 1000.0,
        );
    }
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for i in 0..args.queries {
        let t = Instant::now();
        c.find_residents_by_name(authed(
            pb::FindResidentsByNameRequest {
                name: format!("かいいん {}", (i * 97) % args.population),
            },
            &coordinator,
        ))
        .await?;
        h.record(t.elapsed().as_micros() as u64)?;
    }
    results.record(
        "Find by name: p50 (ms)",
        h.value_at_quantile(0.5) as f64 / 1000.0,
    );
    results.record(
        "Find by name: p99 (ms)",
        h.value_at_quantile(0.99) as f64 / 1000.0,
    );
    served.running.stop().await?;
    Ok(())
}
