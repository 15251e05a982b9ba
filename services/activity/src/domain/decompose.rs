//! Mosaic decomposition (モザイク化): cutting a job that nobody can take whole into pieces that
//! several people share (work-sharing), by time and, if asked, by task.
//!
//! The input is the weekly pattern of a job: blocks of time on weekdays, each needing some people
//! for some tasks at every minute. The output is a set of weekly pieces whose seats cover every
//! required person-minute exactly once, each piece within the length bounds and aligned to the
//! step, with one plain line per cut saying why it was cut that way. Dates are not involved: the
//! service attaches the date range of the recurrence later.
//!
//! Everything here is pure and deterministic: the same request always gives the same pieces in
//! the same order, so a decomposition can be stored as an event and replayed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use mosaic_types::{DAY_MINUTES, Skill, SkillLevel, SkillTag, Weekday, WeeklyWindow};
use serde::{Deserialize, Serialize};

/// Most people one task may need at once: beyond this a request is a typing error, not a job.
pub const MAX_HEADCOUNT: u32 = 100;

/// Longest task name, in characters.
pub const MAX_TASK_NAME_CHARS: usize = 100;

/// Most pieces one decomposition may propose: more could not be staffed or reviewed by a
/// coordinator, and the cap bounds the work done for any request.
pub const MAX_PIECES: usize = 1_000;

/// What a job needs, week by week, and how finely it may be cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobRequirement {
    /// The recurring blocks of time the job covers; blocks on the same weekday must not overlap.
    pub blocks: Vec<CoverageBlock>,
    /// The bounds every piece must respect.
    pub granularity: Granularity,
}

/// One recurring block of time and the tasks done throughout it, e.g. Monday 09:00–17:00.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoverageBlock {
    /// When, `[start, end)` in minutes after midnight JST.
    pub window: WeeklyWindow,
    /// What is done during the whole window; at least one task, names unique within the block.
    pub tasks: Vec<TaskNeed>,
}

/// One task of a block: how many people do it at every minute of the block, with which skills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskNeed {
    /// The task's name, e.g. "reception"; 1 to 100 characters.
    pub name: String,
    /// People needed at once, 1 to [`MAX_HEADCOUNT`].
    pub headcount: u32,
    /// Skills every person on this task needs.
    pub skills: Vec<Skill>,
}

/// How finely a job may be cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Granularity {
    /// Shortest piece, in minutes.
    pub min_minutes: u32,
    /// Longest piece, in minutes, at most a day.
    pub max_minutes: u32,
    /// Pieces start and end on multiples of this many minutes after midnight.
    pub step_minutes: u32,
    /// `true`: each task gets its own pieces; `false`: the tasks of a block are offered together.
    pub split_by_task: bool,
}

/// The pieces a job is cut into, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Decomposition {
    /// The pieces, sorted by weekday, start, end and task names.
    pub pieces: Vec<ProposedPiece>,
    /// One line per block (per block and task when split by task) saying how and why it was cut.
    pub explanation: Vec<String>,
}

/// One weekly recurring piece of a job, offered to `seats` people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProposedPiece {
    /// When the piece recurs.
    pub window: WeeklyWindow,
    /// How many people take this piece.
    pub seats: u32,
    /// The tasks done in this piece, sorted by name.
    pub tasks: Vec<String>,
    /// The skills asked for, one per tag at the highest level any task asks, sorted by tag.
    pub skills: Vec<Skill>,
    /// Length of the piece in minutes.
    pub minutes: u32,
}

/// Why a job cannot be decomposed: `field` is the path of the offending part of the request
/// (e.g. `blocks[2].window`, `blocks[0].tasks[1].headcount`, `granularity.min_minutes`), so the
/// gRPC edge can answer INVALID_ARGUMENT naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct DecomposeError {
    /// Path into the request.
    pub field: String,
    /// What is wrong, in plain words.
    pub reason: String,
}

impl DecomposeError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Cuts a job into pieces: the fewest pieces per block within the bounds, as equal as the step
/// allows, covering every required person-minute exactly once.
pub fn decompose(job: &JobRequirement) -> Result<Decomposition, DecomposeError> {
    let bounds = validate_granularity(&job.granularity)?;
    validate_block_count(job)?;
    for (i, block) in job.blocks.iter().enumerate() {
        validate_block(i, block, &bounds)?;
    }
    validate_no_overlap(&job.blocks)?;
    let cuts = job
        .blocks
        .iter()
        .enumerate()
        .map(|(i, block)| cut_block(i, block, &bounds))
        .collect::<Result<Vec<_>, _>>()?;
    check_piece_count(&job.blocks, &cuts, job.granularity.split_by_task)?;
    let windows = job
        .blocks
        .iter()
        .zip(&cuts)
        .enumerate()
        .map(|(i, (block, cut))| piece_windows(i, &block.window, cut, &bounds))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(assemble(
        &job.blocks,
        &cuts,
        &windows,
        &bounds,
        job.granularity.split_by_task,
    ))
}

/// The granularity in step units: piece lengths `a..=b` units of `step` minutes.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    step: u32,
    min_units: u32,
    max_units: u32,
}

fn validate_granularity(g: &Granularity) -> Result<Bounds, DecomposeError> {
    let day = u32::from(DAY_MINUTES);
    if g.step_minutes == 0 {
        return Err(DecomposeError::new(
            "granularity.step_minutes",
            "the step must be at least 1 minute",
        ));
    }
    if g.step_minutes > g.min_minutes {
        return Err(DecomposeError::new(
            "granularity.min_minutes",
            format!(
                "the shortest piece ({} min) must be at least one step ({} min)",
                g.min_minutes, g.step_minutes
            ),
        ));
    }
    if g.min_minutes > g.max_minutes {
        return Err(DecomposeError::new(
            "granularity.max_minutes",
            format!(
                "the longest piece ({} min) must be at least the shortest ({} min)",
                g.max_minutes, g.min_minutes
            ),
        ));
    }
    if g.max_minutes > day {
        return Err(DecomposeError::new(
            "granularity.max_minutes",
            format!(
                "a piece is at most a day ({day} min), not {} min",
                g.max_minutes
            ),
        ));
    }
    // Pieces start and end on steps, so only whole steps between min and max are usable lengths.
    let min_units = g.min_minutes.div_ceil(g.step_minutes);
    let max_units = g.max_minutes / g.step_minutes;
    if min_units > max_units {
        return Err(DecomposeError::new(
            "granularity",
            format!(
                "no multiple of the {}-minute step lies between {} and {} minutes",
                g.step_minutes, g.min_minutes, g.max_minutes
            ),
        ));
    }
    Ok(Bounds {
        step: g.step_minutes,
        min_units,
        max_units,
    })
}

fn validate_block_count(job: &JobRequirement) -> Result<(), DecomposeError> {
    if job.blocks.is_empty() {
        return Err(DecomposeError::new(
            "blocks",
            "a job needs at least one block of time",
        ));
    }
    // Every block gives at least one piece, so too many blocks is too many pieces; refusing
    // early also bounds the overlap check below.
    if job.blocks.len() > MAX_PIECES {
        return Err(DecomposeError::new(
            "blocks",
            format!(
                "{} blocks would make more than {MAX_PIECES} pieces, the most one job may have",
                job.blocks.len()
            ),
        ));
    }
    Ok(())
}

fn validate_block(i: usize, block: &CoverageBlock, bounds: &Bounds) -> Result<(), DecomposeError> {
    validate_window(i, &block.window, bounds)?;
    validate_tasks(i, &block.tasks)
}

fn validate_window(i: usize, w: &WeeklyWindow, bounds: &Bounds) -> Result<(), DecomposeError> {
    for (name, t) in [("start", w.start()), ("end", w.end())] {
        if u32::from(t) % bounds.step != 0 {
            return Err(DecomposeError::new(
                format!("blocks[{i}].window.{name}"),
                format!(
                    "{} is not on a {}-minute step from midnight; pieces start and end on steps",
                    clock(t),
                    bounds.step
                ),
            ));
        }
    }
    Ok(())
}

fn validate_tasks(i: usize, tasks: &[TaskNeed]) -> Result<(), DecomposeError> {
    if tasks.is_empty() {
        return Err(DecomposeError::new(
            format!("blocks[{i}].tasks"),
            "a block needs at least one task",
        ));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (j, task) in tasks.iter().enumerate() {
        let at = |leaf: &str| format!("blocks[{i}].tasks[{j}].{leaf}");
        let chars = task.name.chars().count();
        if task.name.trim().is_empty() {
            return Err(DecomposeError::new(at("name"), "a task needs a name"));
        }
        if chars > MAX_TASK_NAME_CHARS {
            return Err(DecomposeError::new(
                at("name"),
                format!("a task name is at most {MAX_TASK_NAME_CHARS} characters, not {chars}"),
            ));
        }
        if let Some(first) = seen.insert(task.name.as_str(), j) {
            return Err(DecomposeError::new(
                at("name"),
                format!(
                    "\"{}\" is already the name of tasks[{first}] of this block",
                    task.name
                ),
            ));
        }
        if task.headcount == 0 || task.headcount > MAX_HEADCOUNT {
            return Err(DecomposeError::new(
                at("headcount"),
                format!(
                    "a task needs 1 to {MAX_HEADCOUNT} people at once, not {}",
                    task.headcount
                ),
            ));
        }
    }
    Ok(())
}

fn validate_no_overlap(blocks: &[CoverageBlock]) -> Result<(), DecomposeError> {
    // At most MAX_PIECES blocks reach this point, so the pairwise check stays small, and it
    // names the later block of the first overlapping pair in request order.
    for (i, later) in blocks.iter().enumerate() {
        if let Some(j) = blocks[..i]
            .iter()
            .position(|earlier| earlier.window.overlaps(&later.window))
        {
            return Err(DecomposeError::new(
                format!("blocks[{i}].window"),
                format!(
                    "{} overlaps blocks[{j}] ({}); blocks on the same day must not overlap",
                    describe(&later.window),
                    describe(&blocks[j].window)
                ),
            ));
        }
    }
    Ok(())
}

/// How one block's window is cut: `count` pieces, the first `longer` of them one step longer
/// than `base_units`.
#[derive(Debug, Clone, Copy)]
struct Cut {
    units: u32,
    count: u32,
    base_units: u32,
    longer: u32,
}

fn cut_block(i: usize, block: &CoverageBlock, bounds: &Bounds) -> Result<Cut, DecomposeError> {
    let minutes = u32::from(block.window.end()) - u32::from(block.window.start());
    cut_units(minutes / bounds.step, bounds).ok_or_else(|| {
        DecomposeError::new(
            format!("blocks[{i}].window"),
            infeasible_reason(minutes, bounds),
        )
    })
}

/// The fewest pieces no longer than the maximum; feasible iff that many pieces are each at
/// least the minimum. Fewer pieces means fewer hand-overs and fewer people to find, and with
/// the fewest pieces the equal split is the most even one possible.
fn cut_units(units: u32, bounds: &Bounds) -> Option<Cut> {
    if units == 0 || bounds.max_units == 0 {
        return None;
    }
    let count = units.div_ceil(bounds.max_units);
    if count.checked_mul(bounds.min_units)? > units {
        return None;
    }
    Some(Cut {
        units,
        count,
        base_units: units / count,
        longer: units % count,
    })
}

fn infeasible_reason(minutes: u32, bounds: &Bounds) -> String {
    let (lo, hi) = (
        bounds.min_units * bounds.step,
        bounds.max_units * bounds.step,
    );
    let head = format!("a {minutes}-minute window cannot be cut into pieces of {lo}–{hi} minutes");
    if minutes < lo {
        return format!("{head}: it is shorter than the shortest piece");
    }
    let count = minutes.div_ceil(hi);
    format!(
        "{head} on {}-minute steps: fewer than {count} pieces would be longer than {hi} minutes, \
         and {count} pieces need at least {} minutes",
        bounds.step,
        u64::from(count) * u64::from(lo)
    )
}

fn check_piece_count(
    blocks: &[CoverageBlock],
    cuts: &[Cut],
    split_by_task: bool,
) -> Result<(), DecomposeError> {
    // Counted before any piece is built, so an oversized request costs little to refuse.
    let total: u64 = blocks
        .iter()
        .zip(cuts)
        .map(|(block, cut)| {
            let offers = if split_by_task {
                block.tasks.len() as u64
            } else {
                1
            };
            u64::from(cut.count).saturating_mul(offers)
        })
        .fold(0u64, u64::saturating_add);
    if total > MAX_PIECES as u64 {
        return Err(DecomposeError::new(
            "blocks",
            format!(
                "the job would be cut into {total} pieces, more than the {MAX_PIECES} one job may \
                 have; allow longer pieces, offer tasks together or use fewer blocks"
            ),
        ));
    }
    Ok(())
}

/// One group of a block offered together: all its tasks, or one task when split by task.
struct Offer<'a> {
    tasks: Vec<&'a TaskNeed>,
}

impl Offer<'_> {
    fn seats(&self) -> u32 {
        // Headcounts are at most MAX_HEADCOUNT each and there are at most a handful of tasks
        // per piece in practice; saturation only guards against absurd inputs.
        self.tasks
            .iter()
            .fold(0u32, |sum, t| sum.saturating_add(t.headcount))
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tasks.iter().map(|t| t.name.clone()).collect();
        names.sort();
        names
    }

    /// The union of skills, one per tag at the highest level asked, sorted by tag.
    fn skills(&self) -> Vec<Skill> {
        let mut by_tag: BTreeMap<&SkillTag, SkillLevel> = BTreeMap::new();
        for skill in self.tasks.iter().flat_map(|t| &t.skills) {
            by_tag
                .entry(&skill.tag)
                .and_modify(|level| *level = (*level).max(skill.level))
                .or_insert(skill.level);
        }
        by_tag
            .into_iter()
            .map(|(tag, level)| Skill {
                tag: tag.clone(),
                level,
            })
            .collect()
    }

    fn summary(&self) -> String {
        let mut tasks = self.tasks.clone();
        tasks.sort_by(|a, b| a.name.cmp(&b.name));
        let parts: Vec<String> = tasks
            .iter()
            .map(|t| format!("{} ×{}", t.name, t.headcount))
            .collect();
        parts.join(" and ")
    }
}

fn offers(block: &CoverageBlock, split_by_task: bool) -> Vec<Offer<'_>> {
    let mut offers: Vec<Offer<'_>> = if split_by_task {
        block
            .tasks
            .iter()
            .map(|t| Offer { tasks: vec![t] })
            .collect()
    } else {
        vec![Offer {
            tasks: block.tasks.iter().collect(),
        }]
    };
    offers.sort_by_cached_key(Offer::names);
    offers
}

fn assemble(
    blocks: &[CoverageBlock],
    cuts: &[Cut],
    windows: &[Vec<WeeklyWindow>],
    bounds: &Bounds,
    split_by_task: bool,
) -> Decomposition {
    // Blocks are visited in time order so that the explanation reads like the week.
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by_key(|&i| blocks[i].window);
    let mut pieces = Vec::new();
    let mut explanation = Vec::new();
    for i in order {
        let (block, cut, windows) = (&blocks[i], &cuts[i], &windows[i]);
        for offer in offers(block, split_by_task) {
            explanation.push(explain(&block.window, cut, bounds, &offer, split_by_task));
            let (seats, tasks, skills) = (offer.seats(), offer.names(), offer.skills());
            pieces.extend(windows.iter().map(|w| ProposedPiece {
                window: *w,
                seats,
                tasks: tasks.clone(),
                skills: skills.clone(),
                minutes: u32::from(w.end() - w.start()),
            }));
        }
    }
    pieces.sort_by(|a, b| (a.window, &a.tasks).cmp(&(b.window, &b.tasks)));
    Decomposition {
        pieces,
        explanation,
    }
}

/// The windows of the pieces of block `i`, in time order, the longer ones first. Each lies
/// within the block's window (the pieces' lengths sum to at most its length) and is at least one
/// step long (a cut has no more pieces than steps); should that ever not hold, the block is
/// refused rather than cut wrong.
fn piece_windows(
    i: usize,
    window: &WeeklyWindow,
    cut: &Cut,
    bounds: &Bounds,
) -> Result<Vec<WeeklyWindow>, DecomposeError> {
    let mut start = u32::from(window.start());
    (0..cut.count)
        .map(|n| {
            let units = cut.base_units + u32::from(n < cut.longer);
            let end = start + units * bounds.step;
            let piece = WeeklyWindow::new(window.weekday(), start, end)
                .map_err(|e| DecomposeError::new(format!("blocks[{i}].window"), e.to_string()));
            start = end;
            piece
        })
        .collect()
}

fn explain(
    window: &WeeklyWindow,
    cut: &Cut,
    bounds: &Bounds,
    offer: &Offer<'_>,
    split_by_task: bool,
) -> String {
    let step = bounds.step;
    let total = cut.units * step;
    let max = bounds.max_units * step;
    let mut line = format!("{} ({total} min)", describe(window));
    if split_by_task {
        let _ = write!(line, ", {}", offer.summary());
    }
    let seats = offer.seats();
    let seat_words = if seats == 1 {
        "1 seat".to_owned()
    } else {
        format!("{seats} seats")
    };
    if cut.count == 1 {
        let _ = write!(
            line,
            " kept whole as 1 piece with {seat_words}: it already fits within {}–{max} min",
            bounds.min_units * step
        );
    } else if cut.longer == 0 {
        let _ = write!(
            line,
            " cut into {} pieces of {} min with {seat_words} each: the fewest pieces no longer \
             than {max} min",
            cut.count,
            cut.base_units * step
        );
    } else {
        let _ = write!(
            line,
            " cut into {} pieces ({} of {} min, then {} of {} min) with {seat_words} each: the \
             fewest pieces no longer than {max} min, as equal as {step}-min steps allow",
            cut.count,
            cut.longer,
            (cut.base_units + 1) * step,
            cut.count - cut.longer,
            cut.base_units * step
        );
    }
    if !split_by_task && offer.tasks.len() > 1 {
        let _ = write!(line, "; {} offered together", offer.summary());
    }
    line
}

fn describe(w: &WeeklyWindow) -> String {
    format!(
        "{} {}–{}",
        day_name(w.weekday()),
        clock(w.start()),
        clock(w.end())
    )
}

fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(tag: &str, level: u32) -> Skill {
        Skill {
            tag: SkillTag::parse(tag).expect("tag"),
            level: SkillLevel::new(level).expect("level"),
        }
    }

    fn task(name: &str, headcount: u32, skills: Vec<Skill>) -> TaskNeed {
        TaskNeed {
            name: name.to_owned(),
            headcount,
            skills,
        }
    }

    fn window(weekday: Weekday, start: u32, end: u32) -> WeeklyWindow {
        WeeklyWindow::new(weekday, start, end).expect("window")
    }

    fn block(weekday: Weekday, start: u32, end: u32, tasks: Vec<TaskNeed>) -> CoverageBlock {
        CoverageBlock {
            window: window(weekday, start, end),
            tasks,
        }
    }

    fn granularity(min: u32, max: u32, step: u32, split_by_task: bool) -> Granularity {
        Granularity {
            min_minutes: min,
            max_minutes: max,
            step_minutes: step,
            split_by_task,
        }
    }

    fn two_to_four_hours(split_by_task: bool) -> Granularity {
        granularity(120, 240, 30, split_by_task)
    }

    /// Reception ×1 with pc_basics ≥ 2, and cleaning ×1: the running example.
    fn office_tasks() -> Vec<TaskNeed> {
        vec![
            task("reception", 1, vec![skill("pc_basics", 2)]),
            task("cleaning", 1, vec![]),
        ]
    }

    fn refusal(job: &JobRequirement) -> DecomposeError {
        decompose(job).expect_err("refused")
    }

    const H: u32 = 60;

    #[test]
    fn a_weekday_job_of_eight_hours_for_two_people_becomes_two_half_day_pieces_with_two_seats() {
        // given Monday 09:00–17:00, reception ×1 and cleaning ×1, 2–4 h pieces on half hours
        let job = JobRequirement {
            blocks: vec![block(Weekday::Monday, 9 * H, 17 * H, office_tasks())],
            granularity: two_to_four_hours(false),
        };
        // when
        let d = decompose(&job).expect("decomposes");
        // then two half-day pieces, each for both tasks and two people
        let piece = |start, end| ProposedPiece {
            window: window(Weekday::Monday, start, end),
            seats: 2,
            tasks: vec!["cleaning".to_owned(), "reception".to_owned()],
            skills: vec![skill("pc_basics", 2)],
            minutes: 240,
        };
        assert_eq!(d.pieces, vec![piece(9 * H, 13 * H), piece(13 * H, 17 * H)]);
        assert_eq!(d.explanation.len(), 1);
        assert!(
            d.explanation[0].starts_with(
                "Monday 09:00–17:00 (480 min) cut into 2 pieces of 240 min with 2 seats each: \
                 the fewest pieces no longer than 240 min"
            ),
            "{}",
            d.explanation[0]
        );
        assert!(d.explanation[0].ends_with("cleaning ×1 and reception ×1 offered together"));
    }

    #[test]
    fn split_by_task_gives_each_task_its_own_pieces() {
        // given the same job, split by task, with two receptionists
        let mut tasks = office_tasks();
        tasks[0].headcount = 2;
        let job = JobRequirement {
            blocks: vec![block(Weekday::Monday, 9 * H, 17 * H, tasks)],
            granularity: two_to_four_hours(true),
        };
        // when
        let d = decompose(&job).expect("decomposes");
        // then each task has its own pieces with its own seats and skills, in time then task order
        let summary: Vec<(u16, u16, u32, Vec<String>, usize)> = d
            .pieces
            .iter()
            .map(|p| {
                (
                    p.window.start(),
                    p.window.end(),
                    p.seats,
                    p.tasks.clone(),
                    p.skills.len(),
                )
            })
            .collect();
        let t = |s: &str| vec![s.to_owned()];
        assert_eq!(
            summary,
            vec![
                (540, 780, 1, t("cleaning"), 0),
                (540, 780, 2, t("reception"), 1),
                (780, 1020, 1, t("cleaning"), 0),
                (780, 1020, 2, t("reception"), 1),
            ]
        );
        assert_eq!(
            d.explanation,
            vec![
                "Monday 09:00–17:00 (480 min), cleaning ×1 cut into 2 pieces of 240 min with 1 \
                 seat each: the fewest pieces no longer than 240 min"
                    .to_owned(),
                "Monday 09:00–17:00 (480 min), reception ×2 cut into 2 pieces of 240 min with 2 \
                 seats each: the fewest pieces no longer than 240 min"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn an_uneven_window_is_cut_as_equally_as_the_step_allows_longer_pieces_first() {
        // given 7.5 hours in half-hour steps with pieces of at most 4 hours
        let job = JobRequirement {
            blocks: vec![block(Weekday::Tuesday, 9 * H, 16 * H + 30, office_tasks())],
            granularity: two_to_four_hours(false),
        };
        // when
        let d = decompose(&job).expect("decomposes");
        // then 4 h then 3.5 h
        let windows: Vec<(u16, u16, u32)> = d
            .pieces
            .iter()
            .map(|p| (p.window.start(), p.window.end(), p.minutes))
            .collect();
        assert_eq!(windows, vec![(540, 780, 240), (780, 990, 210)]);
        assert!(
            d.explanation[0].contains("2 pieces (1 of 240 min, then 1 of 210 min)"),
            "{}",
            d.explanation[0]
        );
    }

    #[test]
    fn a_window_that_already_fits_is_kept_whole() {
        let job = JobRequirement {
            blocks: vec![block(Weekday::Saturday, 10 * H, 13 * H, office_tasks())],
            granularity: two_to_four_hours(false),
        };
        let d = decompose(&job).expect("decomposes");
        assert_eq!(d.pieces.len(), 1);
        assert_eq!(d.pieces[0].minutes, 180);
        assert!(d.explanation[0].contains("kept whole as 1 piece with 2 seats"));
    }

    #[test]
    fn a_skill_asked_twice_keeps_the_higher_level() {
        // given two tasks offered together that both ask for pc_basics, at levels 2 and 4
        let tasks = vec![
            task(
                "reception",
                1,
                vec![skill("pc_basics", 2), skill("keigo", 3)],
            ),
            task("data_entry", 1, vec![skill("pc_basics", 4)]),
        ];
        let job = JobRequirement {
            blocks: vec![block(Weekday::Monday, 9 * H, 12 * H, tasks)],
            granularity: two_to_four_hours(false),
        };
        // when
        let d = decompose(&job).expect("decomposes");
        // then one pc_basics at 4, sorted by tag
        assert_eq!(
            d.pieces[0].skills,
            vec![skill("keigo", 3), skill("pc_basics", 4)]
        );
    }

    #[test]
    fn pieces_and_explanations_follow_the_week_whatever_the_order_of_the_blocks() {
        let blocks = vec![
            block(Weekday::Friday, 9 * H, 12 * H, office_tasks()),
            block(Weekday::Monday, 13 * H, 16 * H, office_tasks()),
            block(Weekday::Monday, 9 * H, 12 * H, office_tasks()),
        ];
        let mut reversed = blocks.clone();
        reversed.reverse();
        let d = decompose(&JobRequirement {
            blocks,
            granularity: two_to_four_hours(true),
        })
        .expect("decomposes");
        let e = decompose(&JobRequirement {
            blocks: reversed,
            granularity: two_to_four_hours(true),
        })
        .expect("decomposes");
        assert_eq!(d, e);
        assert!(d.explanation[0].starts_with("Monday 09:00–12:00"));
        assert!(d.explanation[5].starts_with("Friday 09:00–12:00"));
    }

    #[test]
    fn a_window_that_cannot_be_cut_within_the_bounds_is_refused_saying_why() {
        // given a 150-minute window and pieces of 3–4 hours
        let job = JobRequirement {
            blocks: vec![
                block(Weekday::Monday, 9 * H, 13 * H, office_tasks()),
                block(Weekday::Monday, 14 * H, 16 * H + 30, office_tasks()),
            ],
            granularity: granularity(180, 240, 30, false),
        };
        // when
        let e = refusal(&job);
        // then the block is named and the reason says why
        assert_eq!(e.field, "blocks[1].window");
        assert!(
            e.reason
                .starts_with("a 150-minute window cannot be cut into pieces of 180–240 minutes"),
            "{}",
            e.reason
        );

        // given a 5-hour window: one piece is too long, two would be too short
        let job = JobRequirement {
            blocks: vec![block(Weekday::Monday, 9 * H, 14 * H, office_tasks())],
            granularity: granularity(180, 240, 30, false),
        };
        let e = refusal(&job);
        assert_eq!(e.field, "blocks[0].window");
        assert!(
            e.reason.contains("2 pieces need at least 360 minutes"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn overlapping_blocks_on_one_day_are_refused_naming_the_later_block() {
        // given Monday 09:00–12:00 and Monday 11:00–14:00, with Tuesday between them
        let job = JobRequirement {
            blocks: vec![
                block(Weekday::Monday, 9 * H, 12 * H, office_tasks()),
                block(Weekday::Tuesday, 9 * H, 12 * H, office_tasks()),
                block(Weekday::Monday, 11 * H, 14 * H, office_tasks()),
            ],
            granularity: two_to_four_hours(false),
        };
        // when
        let e = refusal(&job);
        // then
        assert_eq!(e.field, "blocks[2].window");
        assert!(
            e.reason.contains("blocks[0] (Monday 09:00–12:00)"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn blocks_that_only_touch_are_accepted() {
        let job = JobRequirement {
            blocks: vec![
                block(Weekday::Monday, 9 * H, 12 * H, office_tasks()),
                block(Weekday::Monday, 12 * H, 15 * H, office_tasks()),
            ],
            granularity: two_to_four_hours(false),
        };
        assert_eq!(decompose(&job).expect("decomposes").pieces.len(), 2);
    }

    #[test]
    fn misaligned_times_are_refused() {
        // given a start at 09:10 and an end at 17:45 with half-hour steps
        let at = |start, end| JobRequirement {
            blocks: vec![CoverageBlock {
                window: window(Weekday::Monday, start, end),
                tasks: office_tasks(),
            }],
            granularity: two_to_four_hours(false),
        };
        // then each is refused naming the time
        let e = refusal(&at(9 * H + 10, 13 * H));
        assert_eq!(e.field, "blocks[0].window.start");
        assert!(
            e.reason.contains("09:10 is not on a 30-minute step"),
            "{}",
            e.reason
        );
        let e = refusal(&at(9 * H, 17 * H + 45));
        assert_eq!(e.field, "blocks[0].window.end");
    }

    #[test]
    fn a_bad_granularity_is_refused_naming_the_bound() {
        let with = |g| JobRequirement {
            blocks: vec![block(Weekday::Monday, 9 * H, 17 * H, office_tasks())],
            granularity: g,
        };
        let field = |g| refusal(&with(g)).field;
        assert_eq!(
            field(granularity(120, 240, 0, false)),
            "granularity.step_minutes"
        );
        assert_eq!(
            field(granularity(20, 240, 30, false)),
            "granularity.min_minutes"
        );
        assert_eq!(
            field(granularity(240, 120, 30, false)),
            "granularity.max_minutes"
        );
        assert_eq!(
            field(granularity(120, 1500, 30, false)),
            "granularity.max_minutes"
        );
        // 90–110 minutes holds no whole hour
        let e = refusal(&with(granularity(90, 110, 60, false)));
        assert_eq!(e.field, "granularity");
        assert!(
            e.reason.contains("no multiple of the 60-minute step"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn bad_tasks_are_refused_naming_the_task() {
        let with = |tasks| JobRequirement {
            blocks: vec![
                block(Weekday::Monday, 9 * H, 12 * H, office_tasks()),
                block(Weekday::Tuesday, 9 * H, 12 * H, tasks),
            ],
            granularity: two_to_four_hours(false),
        };
        let field = |tasks| refusal(&with(tasks)).field;
        assert_eq!(field(vec![]), "blocks[1].tasks");
        assert_eq!(
            field(vec![task("a", 1, vec![]), task("b", 0, vec![])]),
            "blocks[1].tasks[1].headcount"
        );
        assert_eq!(
            field(vec![task("a", MAX_HEADCOUNT + 1, vec![])]),
            "blocks[1].tasks[0].headcount"
        );
        assert_eq!(field(vec![task(" ", 1, vec![])]), "blocks[1].tasks[0].name");
        assert_eq!(
            field(vec![task(&"長".repeat(101), 1, vec![])]),
            "blocks[1].tasks[0].name"
        );
        assert!(decompose(&with(vec![task(&"長".repeat(100), 1, vec![])])).is_ok());
        let e = refusal(&with(vec![
            task("a", 1, vec![]),
            task("b", 1, vec![]),
            task("a", 1, vec![]),
        ]));
        assert_eq!(e.field, "blocks[1].tasks[2].name");
        assert!(e.reason.contains("tasks[0]"), "{}", e.reason);
    }

    #[test]
    fn a_job_without_blocks_is_refused() {
        let job = JobRequirement {
            blocks: vec![],
            granularity: two_to_four_hours(false),
        };
        assert_eq!(refusal(&job).field, "blocks");
    }

    #[test]
    fn a_job_that_would_make_too_many_pieces_is_refused() {
        // given every minute of the week in pieces of at most 10 minutes: 1,008 pieces
        let blocks = Weekday::ALL
            .iter()
            .map(|d| block(*d, 0, 1440, vec![task("watch", 1, vec![])]))
            .collect();
        let job = JobRequirement {
            blocks,
            granularity: granularity(1, 10, 1, false),
        };
        // when
        let e = refusal(&job);
        // then
        assert_eq!(e.field, "blocks");
        assert!(e.reason.contains("1008 pieces"), "{}", e.reason);
    }

    #[test]
    fn a_request_and_its_decomposition_survive_json() {
        let job = JobRequirement {
            blocks: vec![block(Weekday::Monday, 9 * H, 17 * H, office_tasks())],
            granularity: two_to_four_hours(true),
        };
        let json = serde_json::to_string(&job).expect("encodes");
        let back: JobRequirement = serde_json::from_str(&json).expect("decodes");
        assert_eq!(back, job);
        let d = decompose(&job).expect("decomposes");
        let json = serde_json::to_string(&d).expect("encodes");
        assert_eq!(
            serde_json::from_str::<Decomposition>(&json).expect("decodes"),
            d
        );
    }

    /// Properties over random requests.
    mod properties {
        use super::*;
        use proptest::prelude::*;
        use proptest::sample::{select, subsequence};

        const TASK_NAMES: &[&str] = &["reception", "cleaning", "driving", "cooking"];
        const TAGS: &[&str] = &["pc_basics", "driving", "keigo"];
        const WEEK: usize = 7 * 1440;

        /// A modest default that CI can raise or lower with PROPTEST_CASES.
        fn config() -> ProptestConfig {
            let cases = std::env::var("PROPTEST_CASES")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(64);
            ProptestConfig::with_cases(cases)
        }

        fn a_granularity() -> impl Strategy<Value = Granularity> {
            (
                select(vec![1u32, 5, 10, 15, 20, 30, 45, 60, 90]),
                1u32..=8,
                0u32..=12,
                any::<bool>(),
            )
                .prop_flat_map(|(step, min_steps, spread, split)| {
                    let min = step * min_steps;
                    // min and max are not always whole steps, to exercise the rounding
                    (0..step, 0..=step * spread, Just((step, min, split)))
                })
                .prop_map(|(min_off, spread, (step, min, split))| {
                    let min = (min + min_off).max(step).min(1440);
                    Granularity {
                        min_minutes: min,
                        max_minutes: (min + spread).min(1440),
                        step_minutes: step,
                        split_by_task: split,
                    }
                })
        }

        fn some_tasks() -> impl Strategy<Value = Vec<TaskNeed>> {
            subsequence(TASK_NAMES, 1..=3)
                .prop_shuffle()
                .prop_flat_map(|names| {
                    let n = names.len();
                    (
                        Just(names),
                        prop::collection::vec(1u32..=4, n),
                        prop::collection::vec(
                            prop::collection::vec((select(TAGS), 1u32..=5), 0..=2),
                            n,
                        ),
                    )
                })
                .prop_map(|(names, heads, skills)| {
                    names
                        .into_iter()
                        .zip(heads)
                        .zip(skills)
                        .map(|((name, headcount), skills)| TaskNeed {
                            name: name.to_owned(),
                            headcount,
                            skills: skills.into_iter().map(|(t, l)| skill(t, l)).collect(),
                        })
                        .collect()
                })
        }

        /// Random non-overlapping, aligned windows: sorted cut points on each day, paired up.
        fn some_windows(step: u32) -> impl Strategy<Value = Vec<WeeklyWindow>> {
            let units = 1440 / step;
            prop::collection::vec(prop::collection::vec(0..=units, 0..=6), 7).prop_map(
                move |days| {
                    let mut windows = Vec::new();
                    for (day, mut points) in Weekday::ALL.iter().zip(days) {
                        points.sort_unstable();
                        points.dedup();
                        for pair in points.chunks_exact(2) {
                            windows.push(window(*day, pair[0] * step, pair[1] * step));
                        }
                    }
                    windows
                },
            )
        }

        /// Windows made of whole pieces of one random length within the bounds: always
        /// cuttable, so that most valid requests reach the coverage checks, with an occasional
        /// extra step that may make a window uncuttable.
        fn cuttable_windows(g: Granularity) -> impl Strategy<Value = Vec<WeeklyWindow>> {
            let step = g.step_minutes;
            let (a, b) = (g.min_minutes.div_ceil(step), (g.max_minutes / step).max(1));
            let day_units = 1440 / step;
            let a_block = (0u32..=6, 1u32..=3, a.min(b)..=b, prop::bool::weighted(0.1));
            prop::collection::vec(prop::collection::vec(a_block, 0..=3), 7).prop_map(move |days| {
                let mut windows = Vec::new();
                for (day, blocks) in Weekday::ALL.iter().zip(days) {
                    let mut at = 0;
                    for (gap, pieces, length, extra) in blocks {
                        let start = at + gap;
                        let end = start + pieces * length + u32::from(extra);
                        if end > day_units {
                            break;
                        }
                        windows.push(window(*day, start * step, end * step));
                        at = end;
                    }
                }
                windows
            })
        }

        fn a_valid_job() -> impl Strategy<Value = JobRequirement> {
            a_granularity()
                .prop_flat_map(|g| {
                    let windows = prop_oneof![
                        3 => cuttable_windows(g.clone()),
                        1 => some_windows(g.step_minutes),
                    ]
                    .prop_filter("at least one block", |w| !w.is_empty());
                    (Just(g), windows)
                })
                .prop_flat_map(|(g, windows)| {
                    let n = windows.len();
                    (
                        Just(g),
                        Just(windows),
                        prop::collection::vec(some_tasks(), n),
                    )
                })
                .prop_flat_map(|(granularity, windows, tasks)| {
                    let blocks: Vec<CoverageBlock> = windows
                        .into_iter()
                        .zip(tasks)
                        .map(|(window, tasks)| CoverageBlock { window, tasks })
                        .collect();
                    (Just(blocks).prop_shuffle(), Just(granularity))
                })
                .prop_map(|(blocks, granularity)| JobRequirement {
                    blocks,
                    granularity,
                })
        }

        /// Anything at all, mostly invalid (a window is valid by construction): decomposition
        /// must still answer, never panic.
        fn any_job() -> impl Strategy<Value = JobRequirement> {
            let a_task = (
                select(vec!["", " ", "a", "b", "a"]),
                0u32..=120,
                prop::collection::vec((select(TAGS), 1u32..=5), 0..=2),
            )
                .prop_map(|(name, headcount, skills)| TaskNeed {
                    name: name.to_owned(),
                    headcount,
                    skills: skills.into_iter().map(|(t, l)| skill(t, l)).collect(),
                });
            // times either anywhere or on half hours, so that some requests get past alignment
            let a_time = || prop_oneof![0u16..=1500, (0u16..=50).prop_map(|h| h * 30)];
            let a_block = (
                select(Weekday::ALL.to_vec()),
                a_time(),
                a_time(),
                prop::collection::vec(a_task, 0..=3),
            )
                .prop_filter_map(
                    "a window that ends after it starts",
                    |(weekday, start, end, tasks)| {
                        let window = WeeklyWindow::new(weekday, start.into(), end.into()).ok()?;
                        Some(CoverageBlock { window, tasks })
                    },
                );
            let raw_granularity = (0u32..=1500, 0u32..=1500, 0u32..=300, any::<bool>())
                .prop_map(|(min, max, step, split)| granularity(min, max, step, split));
            (
                prop::collection::vec(a_block, 0..=5),
                prop_oneof![a_granularity(), raw_granularity],
            )
                .prop_map(|(blocks, granularity)| JobRequirement {
                    blocks,
                    granularity,
                })
        }

        /// Whether `field` names a part of `job`.
        fn points_into(job: &JobRequirement, field: &str) -> bool {
            if matches!(
                field,
                "blocks"
                    | "granularity"
                    | "granularity.step_minutes"
                    | "granularity.min_minutes"
                    | "granularity.max_minutes"
            ) {
                return true;
            }
            let Some((i, rest)) = field
                .strip_prefix("blocks[")
                .and_then(|r| r.split_once(']'))
            else {
                return false;
            };
            let Some(block) = i.parse::<usize>().ok().and_then(|i| job.blocks.get(i)) else {
                return false;
            };
            if matches!(rest, ".window" | ".window.start" | ".window.end" | ".tasks") {
                return true;
            }
            let Some((j, leaf)) = rest.strip_prefix(".tasks[").and_then(|r| r.split_once(']'))
            else {
                return false;
            };
            j.parse::<usize>().is_ok_and(|j| j < block.tasks.len())
                && matches!(leaf, ".name" | ".headcount" | ".skills")
        }

        /// Who is needed, minute by minute over the week, for each task (or for each group of
        /// tasks offered together), next to who the pieces provide.
        type Ledger = BTreeMap<String, Vec<u32>>;

        fn add(ledger: &mut Ledger, key: String, w: &WeeklyWindow, people: u32) {
            let minutes = ledger.entry(key).or_insert_with(|| vec![0; WEEK]);
            let day = (w.weekday().wire() as usize - 1) * 1440;
            for m in usize::from(w.start())..usize::from(w.end()) {
                minutes[day + m] += people;
            }
        }

        fn required(job: &JobRequirement) -> Ledger {
            let mut ledger = Ledger::new();
            for b in &job.blocks {
                if job.granularity.split_by_task {
                    for t in &b.tasks {
                        add(&mut ledger, t.name.clone(), &b.window, t.headcount);
                    }
                } else {
                    let mut names: Vec<&str> = b.tasks.iter().map(|t| t.name.as_str()).collect();
                    names.sort_unstable();
                    let people = b.tasks.iter().map(|t| t.headcount).sum();
                    add(&mut ledger, names.join("+"), &b.window, people);
                }
            }
            ledger
        }

        fn provided(d: &Decomposition) -> Ledger {
            let mut ledger = Ledger::new();
            for p in &d.pieces {
                add(&mut ledger, p.tasks.join("+"), &p.window, p.seats);
            }
            ledger
        }

        fn assert_exact_and_in_bounds(
            job: &JobRequirement,
            d: &Decomposition,
        ) -> Result<(), TestCaseError> {
            let g = &job.granularity;
            for p in &d.pieces {
                prop_assert_eq!(p.minutes, p.window.minutes());
                prop_assert!(
                    g.min_minutes <= p.minutes && p.minutes <= g.max_minutes,
                    "{:?}",
                    p
                );
                prop_assert_eq!(u32::from(p.window.start()) % g.step_minutes, 0);
                prop_assert_eq!(u32::from(p.window.end()) % g.step_minutes, 0);
                if g.split_by_task {
                    prop_assert_eq!(p.tasks.len(), 1);
                }
            }
            prop_assert!(
                d.pieces
                    .windows(2)
                    .all(|w| (w[0].window, &w[0].tasks) <= (w[1].window, &w[1].tasks)),
                "pieces are sorted"
            );
            // every required person-minute is provided exactly once, per task or group
            prop_assert!(required(job) == provided(d), "coverage differs");
            let per_block = if g.split_by_task {
                job.blocks.iter().map(|b| b.tasks.len()).sum()
            } else {
                job.blocks.len()
            };
            prop_assert_eq!(d.explanation.len(), per_block);
            Ok(())
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn a_successful_decomposition_covers_every_person_minute_exactly_once(
                job in a_valid_job()
            ) {
                match decompose(&job) {
                    Ok(d) => {
                        assert_exact_and_in_bounds(&job, &d)?;
                        prop_assert_eq!(decompose(&job), Ok(d));
                    }
                    Err(e) => {
                        prop_assert!(points_into(&job, &e.field), "{}", e);
                        // a valid request fails only because of its size or a window's length
                        prop_assert!(
                            e.field == "blocks"
                                || e.field == "granularity"
                                || e.field.ends_with("].window"),
                            "{}", e
                        );
                    }
                }
            }

            #[test]
            fn any_request_is_answered_and_a_refusal_names_a_part_of_it(job in any_job()) {
                match decompose(&job) {
                    Ok(d) => assert_exact_and_in_bounds(&job, &d)?,
                    Err(e) => prop_assert!(points_into(&job, &e.field), "{}", e),
                }
            }

            #[test]
            fn a_single_block_is_cut_iff_the_fewest_pieces_are_long_enough(
                step in select(vec![1u32, 5, 10, 15, 30, 60]),
                min_steps in 1u32..=12,
                min_off in 0u32..60,
                spread in 0u32..=600,
                start_units in 0u32..=1439,
                length_units in 1u32..=1440,
            ) {
                let units_in_day = 1440 / step;
                let start = start_units % units_in_day;
                let units = 1 + (length_units - 1) % (units_in_day - start);
                let min = (step * min_steps + min_off % step).min(1440);
                let max = (min + spread).min(1440);
                let job = JobRequirement {
                    blocks: vec![block(
                        Weekday::Wednesday,
                        start * step,
                        (start + units) * step,
                        vec![task("reception", 1, vec![])],
                    )],
                    granularity: granularity(min, max, step, false),
                };
                let (a, b) = (min.div_ceil(step), max / step);
                let result = decompose(&job);
                if a > b {
                    prop_assert_eq!(result.map_err(|e| e.field), Err("granularity".to_owned()));
                } else {
                    let k = units.div_ceil(b);
                    let feasible = k * a <= units;
                    match result {
                        Ok(d) => {
                            prop_assert!(feasible);
                            prop_assert_eq!(d.pieces.len(), k as usize);
                            let lengths: Vec<u32> = d.pieces.iter().map(|p| p.minutes).collect();
                            let longest = lengths.iter().max().copied().unwrap_or(0);
                            let shortest = lengths.iter().min().copied().unwrap_or(0);
                            prop_assert!(longest - shortest <= step, "{:?}", lengths);
                        }
                        Err(e) if feasible => {
                            prop_assert!(k as usize > MAX_PIECES, "{}", e);
                            prop_assert_eq!(e.field, "blocks");
                        }
                        Err(e) => prop_assert_eq!(e.field, "blocks[0].window"),
                    }
                }
            }
        }
    }
}
