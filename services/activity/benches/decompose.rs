//! Timing of the mosaic decomposition on realistic jobs.
//!
//! A job that recurs for a year is still decomposed once: decomposition works only on the weekly
//! pattern, and the activity service attaches the date range of the recurrence to the pieces
//! afterwards. So "a one-year weekly job" costs the same as one week of it, and these jobs are
//! the weekly patterns of such jobs:
//!
//! - office: Monday–Friday 09:00–17:00, reception ×2 and cleaning ×1, pieces of 2–4 hours in
//!   half-hour steps, split by task;
//! - long days: the same tasks Monday–Sunday 06:00–22:00.
//!
//! Each call is timed on its own; several batches show how stable the figures are on a shared
//! machine. The aim is well under 5 ms per call. Run with
//! `cargo bench -p mosaic-activity --bench decompose`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mosaic_activity::domain::decompose::{
    CoverageBlock, Granularity, JobRequirement, TaskNeed, decompose,
};
use mosaic_types::{Skill, SkillLevel, SkillTag, Weekday, WeeklyWindow};

const BATCHES: usize = 5;
const CALLS_PER_BATCH: usize = 10_000;
const WARM_UP_CALLS: usize = 1_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let weekdays = &Weekday::ALL[..5];
    let office = job(weekdays, 9 * 60, 17 * 60)?;
    let long_days = job(Weekday::ALL, 6 * 60, 22 * 60)?;
    for (name, job) in [
        ("office Mon–Fri 09:00–17:00", &office),
        ("long days Mon–Sun 06:00–22:00", &long_days),
    ] {
        let pieces = decompose(job)?.pieces.len();
        println!("{name}: {pieces} pieces, {BATCHES} batches of {CALLS_PER_BATCH} calls");
        for _ in 0..WARM_UP_CALLS {
            black_box(decompose(black_box(job))?);
        }
        let mut all = Vec::with_capacity(BATCHES * CALLS_PER_BATCH);
        for batch in 1..=BATCHES {
            let mut times = time_calls(job)?;
            let (median, p99) = median_and_p99(&mut times);
            println!("  batch {batch}: median {median:>8.2} µs   p99 {p99:>8.2} µs");
            all.extend(times);
        }
        let (median, p99) = median_and_p99(&mut all);
        println!("  all:     median {median:>8.2} µs   p99 {p99:>8.2} µs");
    }
    Ok(())
}

/// Reception ×2 (pc_basics ≥ 2) and cleaning ×1 on each day, 2–4 h pieces on half hours.
fn job(
    days: &[Weekday],
    start: u32,
    end: u32,
) -> Result<JobRequirement, Box<dyn std::error::Error>> {
    let pc_basics = Skill {
        tag: SkillTag::parse("pc_basics")?,
        level: SkillLevel::new(2)?,
    };
    let tasks = vec![
        TaskNeed {
            name: "reception".to_owned(),
            headcount: 2,
            skills: vec![pc_basics],
        },
        TaskNeed {
            name: "cleaning".to_owned(),
            headcount: 1,
            skills: vec![],
        },
    ];
    let blocks = days
        .iter()
        .map(|day| {
            Ok(CoverageBlock {
                window: WeeklyWindow::new(*day, start, end)?,
                tasks: tasks.clone(),
            })
        })
        .collect::<Result<_, mosaic_types::WindowError>>()?;
    Ok(JobRequirement {
        blocks,
        granularity: Granularity {
            min_minutes: 120,
            max_minutes: 240,
            step_minutes: 30,
            split_by_task: true,
        },
    })
}

fn time_calls(job: &JobRequirement) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let mut times = Vec::with_capacity(CALLS_PER_BATCH);
    for _ in 0..CALLS_PER_BATCH {
        let started = Instant::now();
        let result = decompose(black_box(job));
        times.push(started.elapsed());
        black_box(result?);
    }
    Ok(times)
}

/// Median and 99th percentile in microseconds.
fn median_and_p99(times: &mut [Duration]) -> (f64, f64) {
    times.sort_unstable();
    let at = |q: f64| {
        let i = ((times.len() as f64 - 1.0) * q).round() as usize;
        times.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    (at(0.5), at(0.99))
}
