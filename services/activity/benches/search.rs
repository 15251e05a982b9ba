//! Search latency over a large municipality: 50,000 published activities with 500,000 pieces in
//! one municipality, on PostgreSQL (the distributed service with its own database and NATS).
//!
//! Each activity is the events the API would write for it: `ActivityCreated`, ten `PieceAdded`,
//! `ActivityPublished`. By default they are applied by the `activity.search` projection's own
//! `apply` in transactions of 250 activities, straight into the service's database (the read model
//! is exactly what the projection builds; the projection runner, which commits its checkpoint
//! with every event, would take about 12 minutes for 600,000 events on two shared cores). With
//! `--via-store` they are appended to the event store instead (one append per activity) and the
//! running service's projection catches up, as in production. Once every piece is projected, each
//! query shape of `ListActivities` and `ListPiecesOpen` is called `--queries` times through gRPC,
//! one call after another, and p50/p99 latencies are printed.
//!
//! ```text
//! cargo bench -p mosaic-activity --bench search
//! cargo bench -p mosaic-activity --bench search -- --activities 5000 --queries 100
//! ```
//!
//! Activities are generated deterministically: 12 fields, 6 engagement forms, 20 districts,
//! periods within FY2026, pieces on a random weekday, 2–4 hours between 08:00 and 18:00, with 0–2
//! of 30 skill tags at levels 1–5.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use hdrhistogram::Histogram;
use mosaic_activity::domain::{
    ActivityCreated, ActivityDetails, ActivityEvent, ActivityRef, ApplicationMode, Incentives,
    Origin, PieceAdded, PieceDetails, Place, Schedule,
};
use mosaic_auth::Role;
use mosaic_domain::DomainEvent;
use mosaic_eventstore::{AppendRequest, CommandMeta, EventStore, ExpectedVersion, NewEvent};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::activity_service_client::ActivityServiceClient;
use mosaic_runtime::background::Background;
use mosaic_types::{
    EngagementForm, EventId, Field, MunicipalityCode, Skill, SkillLevel, SkillTag, Weekday,
    WeeklyWindow,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::Request;
use tonic::transport::Channel;

/// The allocator of the deployed binaries.
#[global_allocator]
static ALLOCATOR: mosaic_runtime::Allocator = mosaic_runtime::Allocator;

use mosaic_testkit::sample::{DISTRICTS, KASHIWA, SKILLS};
const FORMS: [EngagementForm; 6] = [
    EngagementForm::Volunteer,
    EngagementForm::JobBora,
    EngagementForm::Contract,
    EngagementForm::Consultation,
    EngagementForm::Learning,
    EngagementForm::Internship,
];
static MODULE: mosaic_activity::Module = mosaic_activity::Module;

struct Args {
    activities: usize,
    pieces_per_activity: usize,
    queries: usize,
    writers: usize,
    via_store: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        activities: 50_000,
        pieces_per_activity: 10,
        queries: 200,
        writers: 8,
        via_store: false,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let value = || -> Result<usize> {
            argv.get(i + 1)
                .context("missing value")?
                .parse()
                .context("not a number")
        };
        match argv[i].as_str() {
            "--activities" => a.activities = value()?,
            "--pieces" => a.pieces_per_activity = value()?,
            "--queries" => a.queries = value()?,
            "--writers" => a.writers = value()?,
            "--via-store" => {
                a.via_store = true;
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    Ok(a)
}

fn day(rng: &mut StdRng, from: NaiveDate, span: i64) -> NaiveDate {
    from + chrono::Duration::days(rng.random_range(0..span))
}

/// The events of one published activity with its pieces.
fn activity(rng: &mut StdRng, pieces: usize) -> Result<(String, Vec<ActivityEvent>)> {
    let id = uuid::Uuid::now_v7().to_string();
    let fy = NaiveDate::from_ymd_opt(2026, 4, 1).context("date")?;
    let start = day(rng, fy, 300);
    let end = start + chrono::Duration::days(rng.random_range(30..365));
    let details = ActivityDetails {
        host_organisation_id: mosaic_types::OrganisationId::new(),
        title: format!("活動 {id}"),
        description: String::new(),
        field: Field::ALL[rng.random_range(0..Field::ALL.len())],
        origin: Origin::ExistingActivity,
        engagement_form: FORMS[rng.random_range(0..FORMS.len())],
        place: Place {
            district: Some(DISTRICTS[rng.random_range(0..DISTRICTS.len())].into()),
            location: None,
            online: false,
        },
        physical_load: None,
        application_mode: ApplicationMode::Open,
        incentives: Incentives::default(),
        period_start: start,
        period_end: end,
        coordinator_id: None,
        regional_goal: None,
    };
    let mut events = vec![ActivityEvent::ActivityCreated(ActivityCreated {
        activity_id: id.clone().into(),
        details,
    })];
    for _ in 0..pieces {
        let begin = rng.random_range(8..=14u32) * 60;
        let length = rng.random_range(2..=4u32) * 60;
        let weekday = Weekday::ALL[rng.random_range(0..7)];
        let window = WeeklyWindow::new(weekday, begin, begin + length)?;
        let mut skills: Vec<Skill> = Vec::new();
        for _ in 0..rng.random_range(0..=2) {
            let tag = SkillTag::parse(SKILLS[rng.random_range(0..SKILLS.len())])?;
            if skills.iter().all(|s| s.tag != tag) {
                skills.push(Skill {
                    tag,
                    level: SkillLevel::new(rng.random_range(1..=5))?,
                });
            }
        }
        let from = day(rng, start, 30);
        events.push(ActivityEvent::PieceAdded(PieceAdded {
            activity_id: id.clone().into(),
            piece_id: mosaic_types::PieceId::new(),
            piece: PieceDetails {
                title: "作業".into(),
                skills,
                schedule: Schedule::Weekly {
                    window,
                    from,
                    to: from + chrono::Duration::days(rng.random_range(28..180)),
                    exceptions: Vec::new(),
                    skip_national_holidays: true,
                },
                headcount: rng.random_range(1..=4),
                expected_minutes: length,
            },
        }));
    }
    events.push(ActivityEvent::ActivityPublished(ActivityRef {
        activity_id: id.clone().into(),
    }));
    Ok((id, events))
}

async fn load(store: Arc<dyn EventStore>, args: &Args) -> Result<()> {
    let municipality = MunicipalityCode::parse(KASHIWA)?;
    let per_writer = args.activities.div_ceil(args.writers);
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..args.writers {
        let store = store.clone();
        let count = per_writer.min(args.activities.saturating_sub(w * per_writer));
        let pieces = args.pieces_per_activity;
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(w as u64);
            for _ in 0..count {
                let (id, events) = activity(&mut rng, pieces)?;
                let now = mosaic_types::now_utc();
                let events = events
                    .iter()
                    .map(|e| {
                        let (event_type, payload) = e.to_stored()?;
                        Ok(NewEvent {
                            event_id: EventId::new(),
                            schema_version: 1,
                            event_type,
                            occurred_at: now,
                            payload: payload.into(),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                store
                    .append(AppendRequest {
                        municipality,
                        stream_id: format!("activity-{id}"),
                        expected: ExpectedVersion::NoStream,
                        events,
                        meta: CommandMeta {
                            actor: "bench".into(),
                            recorded_at: now,
                            correlation_id: uuid::Uuid::now_v7(),
                            causation_id: None,
                            idempotency: None,
                            trace_context: None,
                        },
                        response: None,
                        also: Vec::new(),
                    })
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// Applies the events with the projection's own code, 250 activities per transaction.
async fn project(db: mosaic_db::Db, args: &Args) -> Result<()> {
    use mosaic_projection::Projection;
    let municipality = MunicipalityCode::parse(KASHIWA)?;
    let per_writer = args.activities.div_ceil(args.writers);
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..args.writers {
        let db = db.clone();
        let count = per_writer.min(args.activities.saturating_sub(w * per_writer));
        let pieces = args.pieces_per_activity;
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(w as u64);
            let projection = mosaic_projection::Typed(mosaic_activity::projections::Search);
            let mut done = 0;
            while done < count {
                let mut tx = db.begin().await?;
                for _ in 0..250.min(count - done) {
                    let (id, events) = activity(&mut rng, pieces)?;
                    let now = mosaic_types::now_utc();
                    for (v, e) in events.iter().enumerate() {
                        let (event_type, payload) = e.to_stored()?;
                        let stored = mosaic_eventstore::StoredEvent {
                            position: 0,
                            event_id: EventId::new(),
                            municipality,
                            context: "activity".into(),
                            stream_id: format!("activity-{id}"),
                            version: v as u64 + 1,
                            event_type,
                            schema_version: 1,
                            occurred_at: now,
                            recorded_at: now,
                            actor: "bench".into(),
                            correlation_id: uuid::Uuid::now_v7(),
                            causation_id: None,
                            idempotency_key: None,
                            trace_context: None,
                            payload: payload.into(),
                        };
                        projection.apply(&mut tx, &stored).await?;
                    }
                    done += 1;
                }
                tx.commit().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

fn authed<T>(body: T, token: &str) -> Result<Request<T>> {
    let mut request = Request::new(body);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    Ok(request)
}

fn shapes() -> Vec<(&'static str, pb::ActivityFilter)> {
    let tue_morning = pb::WeeklyWindow {
        weekday: pb::Weekday::Tuesday as i32,
        start_minute: 9 * 60,
        end_minute: 13 * 60,
    };
    vec![
        ("no filter", pb::ActivityFilter::default()),
        (
            "field",
            pb::ActivityFilter {
                field: pb::Field::Agriculture as i32,
                ..Default::default()
            },
        ),
        (
            "district",
            pb::ActivityFilter {
                district: "柏".into(),
                ..Default::default()
            },
        ),
        (
            "engagement form + district",
            pb::ActivityFilter {
                engagement_form: pb::EngagementForm::JobBora as i32,
                district: "増尾".into(),
                ..Default::default()
            },
        ),
        (
            "date range (one month)",
            pb::ActivityFilter {
                first_day: Some(pb::Date {
                    year: 2026,
                    month: 6,
                    day: 1,
                }),
                last_day: Some(pb::Date {
                    year: 2026,
                    month: 6,
                    day: 30,
                }),
                ..Default::default()
            },
        ),
        (
            "skill + level",
            pb::ActivityFilter {
                skill: "farming".into(),
                skill_level: 3,
                ..Default::default()
            },
        ),
        (
            "free window (Tue 9–13)",
            pb::ActivityFilter {
                free: Some(tue_morning),
                ..Default::default()
            },
        ),
        (
            "field + district + free window",
            pb::ActivityFilter {
                field: pb::Field::Welfare as i32,
                district: "柏".into(),
                free: Some(tue_morning),
                ..Default::default()
            },
        ),
    ]
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let dir = tempfile::tempdir()?;
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
    let db = mosaic_db::connect(pg.url(), 16).await?;
    let store: Arc<dyn EventStore> =
        Arc::new(mosaic_eventstore::SqlEventStore::open(db.clone(), "activity").await?);

    let total_pieces = (args.activities * args.pieces_per_activity) as i64;
    println!(
        "loading {} activities with {} pieces into one municipality ({} writers)",
        args.activities, total_pieces, args.writers
    );
    let started = Instant::now();
    if args.via_store {
        load(store, &args).await?;
    } else {
        project(db.clone(), &args).await?;
    }
    println!(
        "{} {} events in {:.1} s",
        if args.via_store {
            "appended"
        } else {
            "projected"
        },
        args.activities * (args.pieces_per_activity + 2),
        started.elapsed().as_secs_f64()
    );
    let mosaic_db::Db::Postgres(pool) = &db else {
        anyhow::bail!("the benchmark runs on PostgreSQL");
    };
    loop {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM activity_pieces WHERE status = 2")
            .fetch_one(pool)
            .await?;
        if n >= total_pieces {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "projection caught up {:.1} s after the first append",
        started.elapsed().as_secs_f64()
    );
    sqlx::query("ANALYZE").execute(pool).await?;

    let token = running.signer.mint(
        "bench",
        Role::Resident,
        Some(MunicipalityCode::parse(KASHIWA)?),
        chrono::Duration::hours(2),
    )?;
    let channel = Channel::from_shared(format!("http://{}", running.addr))?
        .connect()
        .await?;
    let mut client = ActivityServiceClient::new(channel);
    println!(
        "\n| query | ListActivities p50 / p99 (ms) | ListPiecesOpen p50 / p99 (ms) | rows (page of 50) |"
    );
    println!("| --- | --- | --- | --- |");
    for (name, filter) in shapes() {
        let mut acts = Histogram::<u64>::new(3)?;
        let mut pieces = Histogram::<u64>::new(3)?;
        let mut rows = (0, 0);
        for _ in 0..args.queries {
            let t = Instant::now();
            let r = client
                .list_activities(authed(
                    pb::ListActivitiesRequest {
                        page_size: 50,
                        page_token: String::new(),
                        filter: Some(filter.clone()),
                    },
                    &token,
                )?)
                .await?
                .into_inner();
            acts.record(t.elapsed().as_micros() as u64)?;
            let t = Instant::now();
            let p = client
                .list_pieces_open(authed(
                    pb::ListPiecesOpenRequest {
                        page_size: 50,
                        page_token: String::new(),
                        filter: Some(filter.clone()),
                    },
                    &token,
                )?)
                .await?
                .into_inner();
            pieces.record(t.elapsed().as_micros() as u64)?;
            rows = (r.activities.len(), p.pieces.len());
        }
        println!(
            "| {name} | {:.2} / {:.2} | {:.2} / {:.2} | {} / {} |",
            ms(&acts, 0.5),
            ms(&acts, 0.99),
            ms(&pieces, 0.5),
            ms(&pieces, 0.99),
            rows.0,
            rows.1
        );
    }
    drop(running);
    Ok(())
}
