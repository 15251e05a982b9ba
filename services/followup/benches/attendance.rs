//! Attendance with awards: `RecordAttendance` through gRPC, as rosters of 20 (one session of a piece for
//! its 20 engagements) and as single entries, from `--clients` clients at once, on the
//! embedded deployment (SQLite) and on PostgreSQL with nats-server (`--backends`).
//!
//! Setup, not timed: `--pieces` pieces of 20 engagements each, their `EngagementOpened` appended
//! to the follow-up store directly (as its opener would; 1,000 streams per append), every piece
//! on Mondays 09:00–12:00 from 1 June 2026, so the 27 Mondays to 30 November 2026 are sessions
//! that have happened; an incentive policy (60 points an hour, every cap set and none reached)
//! and each activity's offer (a 500-yen transport fee and 10 points a session), so every
//! attended session is awarded on its resident's account in the same append. Timed: `--rosters` rosters, each a piece's session not recorded before
//! (every entry a new attendance: attended 180 minutes, or a no-show every tenth); then
//! `--singles` single-entry calls, each an attendance not recorded before. CPU time per
//! attendance is the bench process's (service and clients) and every `postgres` process's,
//! over the timed phase, divided by the attendances. Every figure is the median of `--runs`.
//!
//! ```text
//! cargo bench -p mosaic-followup --bench attendance
//! cargo bench -p mosaic-followup --bench attendance -- --backends postgres --runs 3
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{Days, NaiveDate};
use hdrhistogram::Histogram;
use mosaic_api::command::new_event;
use mosaic_auth::Role;
use mosaic_events::followup::{EngagementOpened, FollowUpEvent, IncentivePolicySet};
use mosaic_events::matching::Commitment;
use mosaic_eventstore::{AppendRequest, ExpectedVersion, StreamEvents};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::follow_up_service_client::FollowUpServiceClient;
use mosaic_testkit::cpu::CpuTime;
use mosaic_testkit::sample::KASHIWA;
use mosaic_testkit::stats::median;
use mosaic_types::{MatchId, MunicipalityCode, OrganisationId, Weekday, WeeklyWindow};
use tonic::transport::Channel;

/// The allocator of the deployed binaries.
#[global_allocator]
static ALLOCATOR: mosaic_runtime::Allocator = mosaic_runtime::Allocator;

#[path = "support/service.rs"]
mod service;

use service::Service;

/// Engagements per piece: a roster's entries.
const ROSTER: usize = 20;
/// The host organisation of every piece.
const HOST: &str = "0190c7a1-0000-7000-8000-000000000001";

struct Args {
    backends: Vec<String>,
    pieces: usize,
    rosters: usize,
    singles: usize,
    clients: usize,
    runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        backends: vec!["sqlite".into(), "postgres".into()],
        pieces: 200,
        rosters: 1_000,
        singles: 4_000,
        clients: 16,
        runs: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        let n = value.parse().unwrap_or(0);
        match flag.as_str() {
            "--backends" => a.backends = value.split(',').map(str::to_owned).collect(),
            "--pieces" => a.pieces = n,
            "--rosters" => a.rosters = n,
            "--singles" => a.singles = n,
            "--clients" => a.clients = n,
            "--runs" => a.runs = n,
            _ => {}
        }
    }
    a
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap_or_default()
}

/// The 27 Mondays from 1 June to 30 November 2026.
fn sessions() -> Vec<NaiveDate> {
    (0..27)
        .filter_map(|w| day("2026-06-01").checked_add_days(Days::new(7 * w)))
        .collect()
}

/// Opens `pieces` × 20 engagements; per piece, its id and its engagements' ids.
async fn open(s: &Service, pieces: usize) -> Result<Vec<(String, Vec<String>)>> {
    let m = MunicipalityCode::parse(KASHIWA)?;
    let window = WeeklyWindow::new(Weekday::Monday, 540, 720)?;
    let mut all = Vec::new();
    let mut parts = Vec::new();
    for p in 0..pieces {
        let piece = uuid::Uuid::now_v7().to_string();
        let mut ids = Vec::new();
        for _ in 0..ROSTER {
            let id = uuid::Uuid::now_v7().to_string();
            let opened = FollowUpEvent::EngagementOpened(EngagementOpened {
                engagement_id: id.clone(),
                match_id: MatchId::from(uuid::Uuid::now_v7().to_string()),
                match_version: 4,
                resident_id: uuid::Uuid::now_v7().to_string().into(),
                piece_id: piece.clone().into(),
                activity_id: format!("activity-{p}").into(),
                host_organisation_id: OrganisationId::parse(HOST)?,
                commitment: Commitment {
                    slots: vec![window],
                    first_day: day("2026-06-01"),
                    last_day: day("2027-03-29"),
                    minutes_per_week: 180,
                    days_per_month: 5,
                },
            });
            parts.push(StreamEvents {
                stream_id: format!("engagement-{id}"),
                expected: ExpectedVersion::NoStream,
                events: vec![
                    new_event(&opened, chrono::Utc::now()).map_err(|e| anyhow::anyhow!("{e}"))?,
                ],
            });
            ids.push(id);
        }
        all.push((piece, ids));
    }
    let policy = FollowUpEvent::IncentivePolicySet(IncentivePolicySet {
        points_per_hour: 60,
        max_points_per_day: 10_000,
        max_points_per_year: 1_000_000,
        max_hours_per_week: 40,
        max_days_per_month: 20,
    });
    parts.push(StreamEvents {
        stream_id: "incentive-policy".into(),
        expected: ExpectedVersion::NoStream,
        events: vec![new_event(&policy, chrono::Utc::now()).map_err(|e| anyhow::anyhow!("{e}"))?],
    });
    for p in 0..pieces {
        mosaic_db::on_db!(&s.db, pool => {
            sqlx::query(
                "INSERT INTO followup_activities (municipality, activity_id, \
                 host_organisation_id, title, engagement_form, transport_fee_yen, honorarium_yen, \
                 local_points, certificate) VALUES ($1, $2, $3, '農園の収穫', 'volunteer', 500, 0, \
                 10, FALSE)",
            )
            .bind(KASHIWA)
            .bind(format!("activity-{p}"))
            .bind(HOST)
            .execute(pool)
            .await?;
        });
    }
    for chunk in parts.chunks(1_000) {
        let mut chunk = chunk.to_vec();
        let first = chunk.remove(0);
        s.store
            .append(AppendRequest {
                municipality: m,
                stream_id: first.stream_id,
                expected: first.expected,
                events: first.events,
                meta: mosaic_api::RequestContext::system("bench", m).meta(),
                response: None,
                also: chunk,
            })
            .await?;
    }
    Ok(all)
}

fn date(d: NaiveDate) -> Option<pb::Date> {
    Some(mosaic_api::wire::to_date(d))
}

/// A roster of `entries` for one session of a piece.
fn roster(piece: &str, session: NaiveDate, entries: &[String]) -> pb::RecordAttendanceRequest {
    pb::RecordAttendanceRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        piece_id: piece.to_owned(),
        session: date(session),
        entries: entries
            .iter()
            .enumerate()
            .map(|(i, id)| pb::AttendanceEntry {
                engagement_id: id.clone(),
                status: if i % 10 == 9 {
                    pb::AttendanceStatus::NoShow
                } else {
                    pb::AttendanceStatus::Attended
                } as i32,
                minutes: if i % 10 == 9 { 0 } else { 180 },
            })
            .collect(),
    }
}

/// Sends `calls` from `clients` clients at once; attendances per second, p50 and p99 of a call,
/// and the CPU time per attendance (own, postgres).
async fn load(
    s: &Service,
    token: &str,
    clients: usize,
    calls: Vec<pb::RecordAttendanceRequest>,
) -> Result<(f64, f64, f64, f64, f64)> {
    let attendances: usize = calls.iter().map(|c| c.entries.len()).sum();
    let calls_attended = calls
        .iter()
        .flat_map(|c| &c.entries)
        .filter(|e| e.status == pb::AttendanceStatus::Attended as i32)
        .count();
    let channel = Channel::from_shared(format!("http://{}", s.addr))?
        .connect()
        .await?;
    let queue = Arc::new(std::sync::Mutex::new(calls));
    let cpu = CpuTime::now();
    let began = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (queue, token) = (queue.clone(), token.to_owned());
        let mut client = FollowUpServiceClient::new(channel.clone());
        tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new(3)?;
            let mut awards = 0;
            loop {
                let next = queue.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.pop();
                let Some(call) = next else { break };
                let at = Instant::now();
                awards += client
                    .record_attendance(mosaic_testkit::grpc::authed(call, &token))
                    .await?
                    .into_inner()
                    .awards
                    .len();
                h.record(at.elapsed().as_micros() as u64)?;
            }
            anyhow::Ok((h, awards))
        }));
    }
    let mut all = Histogram::<u64>::new(3)?;
    let mut awards = 0;
    for t in tasks {
        let (h, n) = t.await??;
        all.add(h)?;
        awards += n;
    }
    // Every attended session is awarded (nine in ten entries).
    anyhow::ensure!(
        awards == calls_attended,
        "{awards} awards for {calls_attended} attended sessions"
    );
    let elapsed = began.elapsed().as_secs_f64();
    let cpu = CpuTime::now().since(&cpu);
    let per = |d: Duration| d.as_micros() as f64 / attendances as f64;
    Ok((
        attendances as f64 / elapsed,
        all.value_at_quantile(0.5) as f64 / 1e3,
        all.value_at_quantile(0.99) as f64 / 1e3,
        per(cpu.own),
        per(cpu.postgres),
    ))
}

async fn backend(name: &str, a: &Args) -> Result<()> {
    let mut rosters = Vec::new();
    let mut singles = Vec::new();
    for _ in 0..a.runs {
        let s = Service::start(name).await?;
        let pieces = open(&s, a.pieces).await?;
        let token = s.signer.mint_scoped(
            "host-staff",
            Role::HostOrganisation,
            Some(MunicipalityCode::parse(KASHIWA)?),
            Some(OrganisationId::parse(HOST)?),
            chrono::Duration::minutes(30),
        )?;
        let days = sessions();
        // Rosters: piece by piece, session by session, each once. Singles: the sessions left.
        let mut slots = Vec::new();
        for d in &days {
            for (piece, ids) in &pieces {
                slots.push((piece.clone(), *d, ids.clone()));
            }
        }
        let calls: Vec<_> = slots
            .iter()
            .take(a.rosters)
            .map(|(p, d, ids)| roster(p, *d, ids))
            .collect();
        rosters.push(load(&s, &token, a.clients, calls).await?);
        let calls: Vec<_> = slots
            .iter()
            .skip(a.rosters)
            .flat_map(|(p, d, ids)| {
                ids.iter()
                    .map(move |id| roster(p, *d, std::slice::from_ref(id)))
            })
            .take(a.singles)
            .collect();
        singles.push(load(&s, &token, a.clients, calls).await?);
    }
    for (what, runs) in [("rosters of 20", rosters), ("single entries", singles)] {
        let pick = |f: fn(&(f64, f64, f64, f64, f64)) -> f64| median(runs.iter().map(f).collect());
        println!(
            "{name:>8} {what:>14}: {:>7.0} attendances/s  p50 {:>6.2} ms  p99 {:>6.2} ms per call  CPU {:>5.0} µs own + {:>4.0} µs postgres per attendance (median of {} runs: {:?})",
            pick(|r| r.0),
            pick(|r| r.1),
            pick(|r| r.2),
            pick(|r| r.3),
            pick(|r| r.4),
            runs.len(),
            runs.iter().map(|r| r.0.round()).collect::<Vec<_>>(),
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let a = args();
    let runtime = tokio::runtime::Runtime::new()?;
    for b in &a.backends {
        runtime.block_on(backend(b, &a))?;
    }
    Ok(())
}
