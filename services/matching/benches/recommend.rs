//! Recommendations: `RecommendResidents` top 20 over a synthetic municipality
//! (`support/synthetic.rs`), in two parts.
//!
//! - **index**: the candidate index in this process, at each of `--sizes` residents (default
//!   10,000, 100,000 and 1,000,000): latency of a ranking over 200 pieces, next to the plain
//!   full scan (every resident checked and scored, no columns), and the time to fill the index.
//! - **service**: the whole path through gRPC at each of `--service-sizes` residents (default
//!   10,000 and 100,000), on the embedded deployment (SQLite) and on PostgreSQL (the registry,
//!   activity and matching services each with its own database, one nats-server, all in this
//!   process). The residents' `ResidentRegistered` events are appended to the registry's store
//!   directly, in appends of 1,000 streams (their personal data is a placeholder: matching never
//!   reads it); activity's pieces are made through its API. Measured: how fast matching projects
//!   them from the log, a rebuild of `matching.residents` from the log (events per second), the
//!   candidate index loading its rows, and the latency and CPU time of `RecommendResidents`
//!   asked one after another (`record` off).
//!
//! Every figure is the median over `--runs` runs (default 3).
//!
//! ```text
//! cargo bench -p mosaic-matching --bench recommend
//! cargo bench -p mosaic-matching --bench recommend -- --sizes 100000 --service-sizes 100000 --backends sqlite
//! ```

#[path = "support/host.rs"]
mod host;
#[path = "support/platform.rs"]
mod platform;
#[path = "support/synthetic.rs"]
mod synthetic;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use host::authed;
use mosaic_matching::api::Candidates;
use mosaic_matching::domain::Policy;
use mosaic_matching::domain::index::CandidateIndex;
use mosaic_matching::domain::recommend::Target;
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::matching_service_client::MatchingServiceClient;
use mosaic_testkit::cpu::CpuTime;
use mosaic_testkit::stats::median;
use platform::{Service, count, municipality, register};

/// The allocator of the deployed binaries.
#[global_allocator]
static ALLOCATOR: mosaic_runtime::Allocator = mosaic_runtime::Allocator;

/// Answers per ranking.
const K: usize = 20;
/// Pieces ranked for, in the index part.
const PIECES: usize = 200;
/// Pieces of the service part.
const SERVICE_PIECES: usize = 20;

struct Args {
    sizes: Vec<usize>,
    service_sizes: Vec<usize>,
    backends: Vec<String>,
    queries: usize,
    runs: usize,
}

fn args() -> Result<Args> {
    let mut a = Args {
        sizes: vec![10_000, 100_000, 1_000_000],
        service_sizes: vec![10_000, 100_000],
        backends: vec!["sqlite".into(), "postgres".into()],
        queries: 1_000,
        runs: 3,
    };
    let argv: Vec<String> = std::env::args().collect();
    let list = |v: &str| -> Result<Vec<usize>> {
        v.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| Ok(s.parse()?))
            .collect()
    };
    let mut i = 1;
    while i < argv.len() {
        let value = || argv.get(i + 1).context("a value is missing");
        match argv[i].as_str() {
            "--sizes" => a.sizes = list(value()?)?,
            "--service-sizes" => a.service_sizes = list(value()?)?,
            "--backends" => a.backends = value()?.split(',').map(str::to_owned).collect(),
            "--queries" => a.queries = value()?.parse()?,
            "--runs" => a.runs = value()?.parse()?,
            // `cargo bench` passes `--bench`.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    Ok(a)
}

/// This process's resident memory, bytes (`/proc/self/statm`).
fn resident_memory() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

/// Median p50 and p99 (ms) over runs of `queries` timed calls of `rank`, and the median CPU
/// time per call (µs, this process and PostgreSQL).
struct Latency {
    p50: f64,
    p99: f64,
    cpu_own: f64,
    cpu_pg: f64,
}

fn index_part(n: usize, a: &Args) -> Result<()> {
    let pieces = synthetic::pieces(PIECES, 7);
    let before = resident_memory();
    let filled = Instant::now();
    let mut index = CandidateIndex::default();
    for c in synthetic::residents(n, 42) {
        index.upsert(c);
    }
    let fill = filled.elapsed();
    let bytes = resident_memory().saturating_sub(before) as f64 / n as f64;
    let policy = Policy::default();
    let today = synthetic::today();
    let run = |scan: bool, queries: usize| -> Result<(f64, f64, f64, f64)> {
        let mut h = Histogram::<u64>::new(3)?;
        let mut considered = 0u64;
        let cpu = CpuTime::now();
        for q in 0..queries {
            let t: &Target = &pieces[q % pieces.len()];
            let start = Instant::now();
            let ranked = if scan {
                index.scan(t, &policy, today, K, None)
            } else {
                index.recommend(t, &policy, today, K, None)
            };
            h.record(start.elapsed().as_micros() as u64)?;
            considered += u64::from(ranked.considered);
        }
        let cpu = CpuTime::now().since(&cpu).own.as_micros() as f64 / queries as f64;
        Ok((
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            cpu,
            considered as f64 / queries as f64,
        ))
    };
    let (mut ip50, mut ip99, mut icpu, mut sp50, mut sp99) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut passing = 0.0;
    for _ in 0..a.runs {
        let (p50, p99, cpu, c) = run(false, a.queries)?;
        ip50.push(p50);
        ip99.push(p99);
        icpu.push(cpu);
        passing = c;
        let (p50, p99, _, _) = run(true, PIECES.min(a.queries))?;
        sp50.push(p50);
        sp99.push(p99);
    }
    let (ip50, ip99, sp50, sp99) = (median(ip50), median(ip99), median(sp50), median(sp99));
    println!(
        "index   {n:>9} residents: p50 {ip50:>7.3} ms  p99 {ip99:>7.3} ms  CPU {:>7.0} µs/ranking  \
         | full scan p50 {sp50:>8.3} ms  p99 {sp99:>8.3} ms  | scan ÷ index (p50) {:>5.1}×  \
         | {passing:.0} pass the filters on average | filled in {:.2} s ({:.0} residents/s), \
         about {bytes:.0} bytes of memory per resident",
        median(icpu),
        sp50 / ip50.max(0.001),
        fill.as_secs_f64(),
        n as f64 / fill.as_secs_f64()
    );
    Ok(())
}

async fn service_part(backend: &str, n: usize, a: &Args) -> Result<()> {
    let s = Service::start(backend).await?;
    let (coordinator, _, pieces, activity_token) =
        municipality(&s, &synthetic::pieces(SERVICE_PIECES, 7), 5).await?;

    // Projection from the log, as it happens live.
    let started = Instant::now();
    let last = register(&s, &synthetic::residents(n, 42)).await?;
    let appended = started.elapsed();
    while count(&s.matching_db, "SELECT COUNT(*) FROM matching_residents").await? < n as i64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let projected = started.elapsed();

    // A rebuild from the log.
    let mut rebuilds = Vec::new();
    for _ in 0..a.runs {
        let id =
            mosaic_projection::request_rebuild(&s.matching_db, "matching.residents", None).await?;
        let began = Instant::now();
        let replayed = loop {
            let p = mosaic_projection::rebuild_progress(&s.matching_db, id)
                .await?
                .context("request")?;
            if p.finished {
                anyhow::ensure!(p.error.is_none(), "rebuild failed: {:?}", p.error);
                break p.replayed;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        rebuilds.push(replayed as f64 / began.elapsed().as_secs_f64());
    }

    // The index loading every row, as a fresh process does.
    let mut loads = Vec::new();
    for _ in 0..a.runs {
        let fresh = Candidates::default();
        let began = Instant::now();
        fresh
            .refresh(&s.matching_db)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        loads.push(n as f64 / began.elapsed().as_secs_f64());
    }

    // Latency of RecommendResidents, one call after another.
    let seen = format!("{activity_token},registry:{last}");
    let mut client = MatchingServiceClient::new(s.matching.clone());
    let ask = |piece: &str| pb::RecommendResidentsRequest {
        piece_id: piece.into(),
        k: K as u32,
        explain_resident_id: String::new(),
        record: Some(false),
    };
    // Every read model has learned the residents (the others read past them too) before timing.
    for piece in &pieces {
        loop {
            match client
                .recommend_residents(authed(ask(piece), &coordinator, &seen))
                .await
            {
                Ok(_) => break,
                Err(e) if e.code() == tonic::Code::Unavailable => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut runs: Vec<Latency> = Vec::new();
    let mut considered = 0u64;
    for _ in 0..a.runs {
        let mut h = Histogram::<u64>::new(3)?;
        let cpu = CpuTime::now();
        for q in 0..a.queries {
            let began = Instant::now();
            let answer = client
                .recommend_residents(authed(ask(&pieces[q % pieces.len()]), &coordinator, ""))
                .await?
                .into_inner();
            h.record(began.elapsed().as_micros() as u64)?;
            considered += u64::from(answer.considered);
        }
        let cpu = CpuTime::now().since(&cpu);
        runs.push(Latency {
            p50: ms(h.value_at_quantile(0.5)),
            p99: ms(h.value_at_quantile(0.99)),
            cpu_own: cpu.own.as_micros() as f64 / a.queries as f64,
            cpu_pg: cpu.postgres.as_micros() as f64 / a.queries as f64,
        });
    }
    let pick = |f: fn(&Latency) -> f64| median(runs.iter().map(f).collect());
    println!(
        "service {backend:>8} {n:>9} residents: RecommendResidents p50 {:>6.2} ms  p99 {:>6.2} ms  \
         CPU {:>5.0} µs own + {:>4.0} µs postgres per call ({:.0} pass the filters on average) \
         | appended {:.1} s, projected live {:.0} events/s | rebuild {:.0} events/s | index load {:.0} residents/s",
        pick(|l| l.p50),
        pick(|l| l.p99),
        pick(|l| l.cpu_own),
        pick(|l| l.cpu_pg),
        considered as f64 / (a.queries * a.runs) as f64,
        appended.as_secs_f64(),
        n as f64 / projected.as_secs_f64(),
        median(rebuilds),
        median(loads),
    );
    Ok(())
}

fn main() -> Result<()> {
    let a = args()?;
    println!(
        "{} cores; medians of {} runs; {} rankings per run, top {K}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        a.runs,
        a.queries
    );
    for &n in &a.sizes {
        index_part(n, &a)?;
    }
    let runtime = tokio::runtime::Runtime::new()?;
    for backend in &a.backends {
        for &n in &a.service_sizes {
            runtime.block_on(service_part(backend, n, &a))?;
        }
    }
    Ok(())
}
