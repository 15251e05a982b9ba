//! The reminder scan: `FollowUpApi::scan` over `--engagements` open engagements of one
//! municipality, on the embedded deployment (SQLite) and on PostgreSQL (`--backends`).
//!
//! Setup, not timed: the engagements written straight into the scheduler's read model
//! (`followup_schedule`), as projection `followup.reminders` keeps it — one weekday each, spread
//! over the week; first days over the last 120 days; a check-in within the last 35 days for nine in
//! ten; one in ten an internship whose milestones fall around today, some reflected on.
//! Timed, each `--runs` times: the scan proper (read the open engagements, decide what is due
//! today), without recording; then the first scan of the day, recording what is due in the day's
//! stream; then a scan repeated (it finds everything recorded and records nothing). CPU time is
//! the bench process's and every `postgres` process's over the scans proper.
//!
//! ```text
//! cargo bench -p mosaic-followup --bench reminders
//! cargo bench -p mosaic-followup --bench reminders -- --backends postgres --runs 5
//! ```

use std::time::Instant;

use anyhow::Result;
use chrono::{Days, NaiveDate};
use mosaic_followup::api::FollowUpApi;
use mosaic_followup::domain::reminders::due;
use mosaic_testkit::cpu::CpuTime;
use mosaic_testkit::sample::KASHIWA;
use mosaic_testkit::stats::median;
use mosaic_types::MunicipalityCode;

/// The allocator of the deployed binaries.
#[global_allocator]
static ALLOCATOR: mosaic_runtime::Allocator = mosaic_runtime::Allocator;

#[path = "support/service.rs"]
mod service;

use service::Service;

/// The host organisation of every engagement.
const HOST: &str = "0190c7a1-0000-7000-8000-000000000001";
/// Engagements per insert.
const CHUNK: usize = 1_000;

struct Args {
    backends: Vec<String>,
    engagements: usize,
    runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        backends: vec!["sqlite".into(), "postgres".into()],
        engagements: 100_000,
        runs: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--backends" => a.backends = value.split(',').map(str::to_owned).collect(),
            "--engagements" => a.engagements = value.parse().unwrap_or(a.engagements),
            "--runs" => a.runs = value.parse().unwrap_or(a.runs),
            _ => {}
        }
    }
    a
}

fn shift(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64)).unwrap_or(d)
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs())).unwrap_or(d)
    }
}

/// Writes `n` open engagements (and an internship activity) into the read model.
async fn fill(s: &Service, n: usize, today: NaiveDate) -> Result<()> {
    let d = |k: i64| shift(today, k).to_string();
    mosaic_db::on_db!(&s.db, pool => {
        sqlx::query(
            "INSERT INTO followup_activities (municipality, activity_id, host_organisation_id, \
             title, engagement_form, transport_fee_yen, honorarium_yen, local_points, certificate, \
             internship_start, internship_end, orientation, mid_term_review, final_reflection) \
             VALUES ($1, 'internship', $2, 'インターン', 'internship', 0, 0, 0, TRUE, $3, $4, $3, \
             $5, $4)",
        )
        .bind(KASHIWA)
        .bind(HOST)
        .bind(d(-60))
        .bind(d(30))
        .bind(d(3))
        .execute(pool)
        .await?;
    });
    for start in (0..n).step_by(CHUNK) {
        let mut sql = String::from(
            "INSERT INTO followup_schedule (municipality, engagement_id, resident_id, \
             host_organisation_id, activity_id, weekdays, first_day, last_day, last_check_in, \
             reflected) VALUES ",
        );
        let rows: Vec<String> = (start..(start + CHUNK).min(n))
            .map(|i| {
                let activity = if i % 10 == 0 { "internship" } else { "volunteer" };
                let check_in = if i % 10 == 0 {
                    "NULL".to_owned()
                } else {
                    format!("'{}'", d(-((i % 35) as i64)))
                };
                format!(
                    "('{KASHIWA}', 'e-{i}', 'r-{i}', '{HOST}', '{activity}', {}, '{}', '{}', {}, {})",
                    1 << (i % 7),
                    d(-((i % 120) as i64)),
                    d(180),
                    check_in,
                    if i % 20 == 0 { 2 } else { 0 },
                )
            })
            .collect();
        sql.push_str(&rows.join(", "));
        mosaic_db::on_db!(&s.db, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
        });
    }
    Ok(())
}

async fn backend(name: &str, a: &Args) -> Result<()> {
    let s = Service::start(name).await?;
    let m = MunicipalityCode::parse(KASHIWA)?;
    let today = mosaic_types::jst_date(mosaic_types::now_utc());
    fill(&s, a.engagements, today).await?;
    let vault = mosaic_privacy::Vault::new(s.db.clone(), mosaic_privacy::MasterKey::generate());
    let api = FollowUpApi::new(s.store.clone(), &vault, s.db.clone());
    let (mut scans, mut cpu_own, mut cpu_pg) = (Vec::new(), Vec::new(), Vec::new());
    let (mut found, mut candidates) = (0, 0);
    for _ in 0..a.runs {
        let cpu = CpuTime::now();
        let began = Instant::now();
        let open = api.scheduled(m, today).await?;
        found = open.iter().map(|e| due(today, e).len()).sum::<usize>();
        candidates = open.len();
        scans.push(began.elapsed().as_secs_f64() * 1e3);
        let cpu = CpuTime::now().since(&cpu);
        cpu_own.push(cpu.own.as_secs_f64() * 1e3);
        cpu_pg.push(cpu.postgres.as_secs_f64() * 1e3);
    }
    let began = Instant::now();
    let first = api
        .scan(m, today)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let recording = began.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(
        first.recorded == found,
        "{} recorded of {found}",
        first.recorded
    );
    let began = Instant::now();
    let again = api
        .scan(m, today)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let repeated = began.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(
        again.recorded == 0,
        "a repeated scan recorded {}",
        again.recorded
    );
    println!(
        "{name:>8}: scan of {} engagements {:>6.0} ms (median of {}: {:?}), CPU {:.0} ms own + {:.0} ms postgres; {candidates} read, {found} due; first scan recording them {recording:.0} ms; repeated scan {repeated:.0} ms",
        a.engagements,
        median(scans.clone()),
        scans.len(),
        scans.iter().map(|x| x.round()).collect::<Vec<_>>(),
        median(cpu_own),
        median(cpu_pg),
    );
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
