//! Mosaic team assembly over a synthetic municipality (`support/synthetic.rs`): a job cut into
//! 2-hour pieces Monday to Friday, staffed from its residents, in two parts.
//!
//! - **solver**: `AssembleTeam`'s solver on a candidate index in this process.
//! - **service**: `AssembleTeam` through gRPC (40 pieces, 5,000 residents, a 150 ms deadline) on
//!   the embedded deployment (SQLite) and on PostgreSQL (`--backends`; the services of
//!   `support/platform.rs`), one call after another (`--calls` per run), each recording its team.
//!   The residents are registered with the same profiles as in the solver part, but without
//!   the solver part's confirmed commitments and offers (registration carries none).
//!
//! For each case (pieces × residents under a deadline; "scarce": pieces need a rarer level of
//! skill, for more people, so not every seat can be filled) it measures, over `--runs` runs: the
//! latency of reading the instance from the index and solving it, and the CPU time it took;
//! and it reports the team's seats filled and score next to the baseline's (greedy) and the
//! bound's, with the gap, the method and the hand-overs.
//!
//! ```text
//! cargo bench -p mosaic-matching --bench assemble
//! cargo bench -p mosaic-matching --bench assemble -- --runs 9 --backends sqlite
//! ```

#[path = "support/host.rs"]
mod host;
#[path = "support/platform.rs"]
mod platform;
#[path = "support/synthetic.rs"]
mod synthetic;

use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use host::authed;
use mosaic_matching::domain::Policy;
use mosaic_matching::domain::index::CandidateIndex;
use mosaic_matching::domain::team::{self, Ask, Method, greedy, search};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::matching_service_client::MatchingServiceClient;
use mosaic_testkit::cpu::CpuTime;
use platform::{Service, count, municipality, register};

/// The allocator of the deployed binaries.
#[global_allocator]
static ALLOCATOR: mosaic_runtime::Allocator = mosaic_runtime::Allocator;

/// A case: pieces, residents, deadline (ms), and whether people are scarce (pieces need a
/// skill at level 4 or 5, for 3 to 6 people; otherwise level 1 or 2, for 1 to 3).
const CASES: &[(usize, usize, u64, bool)] = &[
    (40, 5_000, 150, false),
    (40, 5_000, 150, true),
    (200, 20_000, 2_000, false),
    (200, 20_000, 2_000, true),
];

/// The service part's case: pieces, residents, deadline (ms).
const SERVICE_CASE: (usize, usize, u32) = (40, 5_000, 150);

fn main() -> Result<()> {
    let mut runs = 5usize;
    let mut calls = 20usize;
    let mut backends = "sqlite,postgres".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            "--calls" => calls = args.next().and_then(|n| n.parse().ok()).unwrap_or(calls),
            "--backends" => backends = args.next().unwrap_or_default(),
            _ => {}
        }
    }
    solver_part(runs);
    let runtime = tokio::runtime::Runtime::new()?;
    for backend in backends.split(',').filter(|b| !b.is_empty()) {
        runtime.block_on(service_part(backend, runs, calls))?;
    }
    Ok(())
}

/// The solver alone, on an index in this process.
fn solver_part(runs: usize) {
    println!(
        "| pieces × residents | deadline | latency p50 (min–max) | CPU p50 | method | seats filled / open (greedy, bound) | score (greedy, bound) | score gap | hand-overs (greedy) | search alone: p50, seats, score |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &(pieces, residents, deadline_ms, scarce) in CASES {
        let mut index = CandidateIndex::default();
        for c in synthetic::residents(residents, 7) {
            index.upsert(c);
        }
        let targets = if scarce {
            synthetic::job(pieces, 11, 4..=5, 3..=6)
        } else {
            synthetic::job(pieces, 11, 1..=2, 1..=3)
        };
        let policy = Policy::default();
        let today = synthetic::today();
        let mut latencies = Vec::new();
        let mut cpus = Vec::new();
        let mut last = None;
        for _ in 0..runs {
            let cpu = CpuTime::now();
            let began = Instant::now();
            let instance = team::from_index(&index, &targets, &policy, today);
            let solved = team::solve(
                &instance,
                Ask::Best,
                began + Duration::from_millis(deadline_ms),
            );
            latencies.push(began.elapsed());
            cpus.push(CpuTime::now().since(&cpu).own);
            last = Some((instance, solved));
        }
        latencies.sort();
        cpus.sort();
        let Some((instance, s)) = last else {
            continue;
        };
        // The construction and local search alone, from the baseline, for comparison.
        let mut alone = Vec::new();
        let mut searched = None;
        for _ in 0..runs {
            let began = Instant::now();
            let team = search::improve(
                &instance,
                greedy::fill(&instance),
                began + Duration::from_millis(deadline_ms),
            );
            alone.push(began.elapsed());
            searched = Some(instance.quality(&team));
        }
        alone.sort();
        let searched = searched.unwrap_or_default();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let gap = if s.quality.filled == s.bound.seats && s.bound.score > 0 {
            format!(
                "{:.2} %",
                100.0 * (s.bound.score - s.quality.score) as f64 / s.bound.score as f64
            )
        } else {
            format!("seats gap {}", s.bound.seats - s.quality.filled)
        };
        println!(
            "| {pieces} × {residents}{} ({} pairs, {} fit) | {deadline_ms} ms | {:.1} ms ({:.1}–{:.1}) | {:.1} ms | {} | {} / {} ({}, {}) | {} ({}, {}) | {gap} | {} ({}) | {:.1} ms, {}, {} |",
            if scarce { ", scarce" } else { "" },
            instance.pairs(),
            instance.people.len(),
            ms(latencies[runs / 2]),
            ms(latencies[0]),
            ms(latencies[runs - 1]),
            ms(cpus[runs / 2]),
            match s.method {
                Method::Exact => "exact",
                Method::Search => "search",
                Method::Greedy => "greedy",
            },
            s.quality.filled,
            s.quality.open,
            s.baseline.filled,
            s.bound.seats,
            s.quality.score,
            s.baseline.score,
            s.bound.score,
            s.quality.handovers,
            s.baseline.handovers,
            ms(alone[runs / 2]),
            searched.filled,
            searched.score,
        );
    }
}

/// `AssembleTeam` through gRPC on `backend`: a 40-piece job over 5,000 residents, one call after
/// another, each recording its team.
async fn service_part(backend: &str, runs: usize, calls: usize) -> Result<()> {
    let (pieces, residents, deadline_ms) = SERVICE_CASE;
    let s = Service::start(backend).await?;
    let job = synthetic::job(pieces, 11, 1..=2, 1..=3);
    let (coordinator, activity, _, activity_token) = municipality(&s, &job, 0).await?;
    let last = register(&s, &synthetic::residents(residents, 7)).await?;
    while count(&s.matching_db, "SELECT COUNT(*) FROM matching_residents").await? < residents as i64
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = format!("{activity_token},registry:{last}");
    let mut client = MatchingServiceClient::new(s.matching.clone());
    let ask = |id: String| pb::AssembleTeamRequest {
        request_id: id,
        activity_id: activity.clone(),
        deadline_ms,
        ..Default::default()
    };
    // Every read model has learned the residents before timing.
    client
        .assemble_team(authed(ask("warm".into()), &coordinator, &seen))
        .await?;
    let mut latency = Vec::new();
    let mut cpu_own = Vec::new();
    let mut cpu_pg = Vec::new();
    let mut team = None;
    for run in 0..runs {
        let mut h = Histogram::<u64>::new(3)?;
        let cpu = CpuTime::now();
        for call in 0..calls {
            let began = Instant::now();
            let answer = client
                .assemble_team(authed(ask(format!("{run}-{call}")), &coordinator, ""))
                .await?
                .into_inner();
            h.record(began.elapsed().as_micros() as u64)?;
            team = answer.team;
        }
        let cpu = CpuTime::now().since(&cpu);
        latency.push((h.value_at_quantile(0.5), h.value_at_quantile(0.99)));
        cpu_own.push(cpu.own.as_micros() / calls as u128);
        cpu_pg.push(cpu.postgres.as_micros() / calls as u128);
    }
    latency.sort();
    cpu_own.sort();
    cpu_pg.sort();
    let team = team.unwrap_or_default();
    let (q, b, bound) = (
        team.quality.unwrap_or_default(),
        team.baseline.unwrap_or_default(),
        team.bound.unwrap_or_default(),
    );
    println!(
        "service {backend}: AssembleTeam {pieces} pieces × {residents} residents ({} fit), deadline {deadline_ms} ms: \
         p50 {:.1} ms, p99 {:.1} ms (median of {runs} runs of {calls} calls); CPU {:.1} ms own + {:.1} ms postgres per call; \
         method {}, seats {} / {} (greedy {}, bound {}), score {} (greedy {}, bound {})",
        team.considered,
        latency[runs / 2].0 as f64 / 1e3,
        latency[runs / 2].1 as f64 / 1e3,
        cpu_own[runs / 2] as f64 / 1e3,
        cpu_pg[runs / 2] as f64 / 1e3,
        pb::TeamMethod::try_from(team.method).map_or("?", |m| m.as_str_name()),
        q.seats_filled,
        q.seats_open,
        b.seats_filled,
        bound.seats,
        q.score,
        b.score,
        bound.score,
    );
    Ok(())
}
