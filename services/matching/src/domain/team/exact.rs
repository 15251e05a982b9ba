//! The exact method: a mixed-integer programme solved by `microlp`, a solver written in Rust, so
//! the service builds anywhere `cargo` does (no C or C++ tool chain, unlike HiGHS or CBC). It
//! takes a time limit and a starting solution, and a stage it stops early still answers its best
//! team and the bound it proved.
//!
//! One binary `x[p, r]` per piece and person who fits it; at most `seats` on each piece; at
//! most one of two clashing pieces per person; per person and piece `p` they hold, their
//! confirmed hours and days overlapping `p`'s period plus those of every piece of theirs
//! overlapping it within their caps (written with a big M that frees the row when they do not
//! hold `p`); and `y[a, r] ≤ x` for a person on both pieces of an adjacent pair `a`. The order of
//! [`super::Quality`] is kept by solving three times: the most seats; then the highest score
//! with at least that many seats; then the fewest hand-overs with at least that score, for about
//! as long as the first two took (at least 20 ms). Each stage starts from the best team known.

use std::time::Instant;

use microlp::{
    ComparisonOp, OptimizationDirection, Problem, SolutionStatus, SolveOptions, Variable,
};

use super::{Bound, Instance, Team};

/// The most pairs the programme is tried on: beyond, it rarely finishes within a deadline of a
/// second or two on two cores (building the programme alone takes a good part of it), and the
/// search serves.
pub const EXACT_PAIRS: usize = 5_000;

/// The least time the hand-overs' stage is given.
const MIN_TIE_BREAK: std::time::Duration = std::time::Duration::from_millis(20);

/// What the programme found by the deadline.
#[derive(Debug, Clone)]
pub struct Found {
    /// The best team it knows (at least as good as the one it started from).
    pub team: Team,
    /// What it proved no team beats (`u32::MAX` seats, `i64::MAX` score: nothing proved yet).
    pub bound: Bound,
    /// Whether the team is proven the most seats and, among those, the highest score.
    pub proven: bool,
}

/// What to maximise in a stage, and what the earlier stages fixed.
#[derive(Clone, Copy)]
enum Stage {
    Seats,
    Score { seats: u32 },
    Handovers { seats: u32, score: i64 },
}

/// Solves `instance` exactly, starting from `start`, and answers what it has by `deadline`;
/// `None` if it is too large, no time is left or it found nothing by then.
///
/// It runs on a thread of its own that reports each stage as it ends, with a time limit a tenth
/// of the time left before the deadline, so a stage that stops at its limit still reports in
/// time. The solver checks its limit only between steps of its search, and a large relaxation
/// can overrun it: then the answer is whatever was reported by the deadline, and the late stage
/// is dropped when it ends.
pub fn solve_by(instance: &Instance, start: &Team, deadline: Instant) -> Option<Found> {
    let now = Instant::now();
    if instance.pairs() > EXACT_PAIRS || instance.pairs() == 0 || now >= deadline {
        return None;
    }
    let stop = deadline - (deadline - now) / 10;
    let (tx, rx) = std::sync::mpsc::channel();
    let (instance, start) = (instance.clone(), start.clone());
    std::thread::Builder::new()
        .name("team-exact".into())
        .spawn(move || {
            solve(&instance, &start, stop, &mut |found| {
                // The receiver may have stopped waiting: nothing to do then.
                let _ = tx.send(found);
            })
        })
        .ok()?;
    let mut last = None;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(found) => last = Some(found),
            Err(_) => break,
        }
    }
    last
}

/// Solves `instance` exactly from `start` by `deadline`, reporting what it knows after each
/// stage (the last report is its answer).
pub fn solve(instance: &Instance, start: &Team, deadline: Instant, report: &mut dyn FnMut(Found)) {
    let began = Instant::now();
    let mut best = start.clone();
    let mut bound = Bound {
        seats: u32::MAX,
        score: i64::MAX,
    };
    // Stage 1: seats.
    let Some((team, proven, at_most)) = stage(instance, Stage::Seats, &best, deadline) else {
        return;
    };
    if instance.better(&team, &best) {
        best = team;
    }
    bound.seats = at_most.floor() as u32;
    if !proven {
        report(Found {
            team: best,
            bound,
            proven: false,
        });
        return;
    }
    let seats = best.filled();
    bound.seats = seats;
    report(Found {
        team: best.clone(),
        bound,
        proven: false,
    });
    // Stage 2: score.
    let Some((team, proven, at_most)) = stage(instance, Stage::Score { seats }, &best, deadline)
    else {
        report(Found {
            team: best,
            bound,
            proven: false,
        });
        return;
    };
    if instance.better(&team, &best) {
        best = team;
    }
    if !proven {
        bound.score = at_most.floor() as i64;
        report(Found {
            team: best,
            bound,
            proven: false,
        });
        return;
    }
    let score = instance.quality(&best).score;
    bound.score = score;
    report(Found {
        team: best.clone(),
        bound,
        proven: true,
    });
    // Stage 3: hand-overs, a tie-break (seats and score are settled): no longer than the first
    // two stages took, so a proven answer is not held back for it.
    let tie_break = (Instant::now() + began.elapsed().max(MIN_TIE_BREAK)).min(deadline);
    if let Some((team, _, _)) = stage(
        instance,
        Stage::Handovers { seats, score },
        &best,
        tie_break,
    ) && instance.better(&team, &best)
    {
        best = team;
    }
    report(Found {
        team: best,
        bound,
        proven: true,
    });
}

/// One stage: the team found, whether it is proven optimal, and the best bound proven.
fn stage(
    instance: &Instance,
    stage: Stage,
    start: &Team,
    deadline: Instant,
) -> Option<(Team, bool, f64)> {
    let left = deadline.checked_duration_since(Instant::now())?;
    let model = Model::build(instance, stage);
    let hint: Vec<(Variable, f64)> = model.hint(start);
    let mut options = SolveOptions::default();
    options.time_limit = Some(left);
    options.warm_start = Some(hint);
    let outcome = model.problem.solve_with(options).ok()?;
    let solution = outcome.into_solution().ok()?;
    let mut team = Team::empty(instance);
    for (&(p, r), &x) in model.pairs.iter().zip(&model.x) {
        if solution.var_value(x) > 0.5 {
            team.add(r, p);
        }
    }
    if !instance.violations(&team).is_empty() {
        return None;
    }
    let proven = solution.status() == SolutionStatus::Optimal;
    let at_most = solution
        .stats()
        .best_bound
        .unwrap_or(f64::INFINITY)
        .max(solution.objective());
    // Round-off: a bound a hair below an integer is that integer.
    Some((team, proven, at_most + 1e-6))
}

/// The programme of one stage.
struct Model {
    problem: Problem,
    /// Every pair `(piece, person)` that fits, and its variable.
    pairs: Vec<(usize, usize)>,
    x: Vec<Variable>,
    /// Per adjacent pair and person on both: `(earlier, later, person)` and its variable.
    links: Vec<((usize, usize, usize), Variable)>,
}

impl Model {
    fn build(instance: &Instance, stage: Stage) -> Self {
        let mut problem = Problem::new(OptimizationDirection::Maximize);
        // Sorted, so a pair's variable is found by binary search.
        let mut pairs: Vec<(usize, usize)> = instance
            .fits
            .iter()
            .enumerate()
            .flat_map(|(p, fits)| fits.iter().map(move |f| (p, f.person)))
            .collect();
        pairs.sort_unstable();
        // How often each piece is the later of an adjacent pair: each person on it is then a
        // hand-over unless they were on the earlier one too.
        let mut later = vec![0usize; instance.pieces.len()];
        for &(_, q) in instance.adjacent() {
            later[q] += 1;
        }
        let x: Vec<Variable> = pairs
            .iter()
            .map(|&(p, r)| {
                let score = instance.score(p, r).unwrap_or(0) as f64;
                let objective = match stage {
                    Stage::Seats => 1.0,
                    Stage::Score { .. } => score,
                    Stage::Handovers { .. } => -(later[p] as f64),
                };
                problem.add_binary_var(objective)
            })
            .collect();
        let var = |p: usize, r: usize| -> Option<Variable> {
            pairs.binary_search(&(p, r)).ok().map(|i| x[i])
        };
        // Seats.
        for (p, piece) in instance.pieces.iter().enumerate() {
            let row: Vec<(Variable, f64)> = instance.fits[p]
                .iter()
                .filter_map(|f| var(p, f.person).map(|v| (v, 1.0)))
                .collect();
            if !row.is_empty() {
                problem.add_constraint(row.as_slice(), ComparisonOp::Le, f64::from(piece.seats));
            }
        }
        // Per person: clashes and caps.
        for r in 0..instance.people.len() {
            let mine: Vec<usize> = instance.fits_of(r).iter().map(|(p, _)| *p).collect();
            for (i, &p) in mine.iter().enumerate() {
                for &q in &mine[i + 1..] {
                    if instance.clashes(p, q)
                        && let (Some(a), Some(b)) = (var(p, r), var(q, r))
                    {
                        problem.add_constraint([(a, 1.0), (b, 1.0)], ComparisonOp::Le, 1.0);
                    }
                }
                caps_rows(instance, &mut problem, r, p, &mine, &var);
            }
        }
        // Hand-overs.
        let mut links = Vec::new();
        for &(p, q) in instance.adjacent() {
            for f in &instance.fits[p] {
                if let (Some(a), Some(b)) = (var(p, f.person), var(q, f.person)) {
                    let objective = if matches!(stage, Stage::Handovers { .. }) {
                        1.0
                    } else {
                        0.0
                    };
                    let y = problem.add_var(objective, (0.0, 1.0));
                    problem.add_constraint([(y, 1.0), (a, -1.0)], ComparisonOp::Le, 0.0);
                    problem.add_constraint([(y, 1.0), (b, -1.0)], ComparisonOp::Le, 0.0);
                    links.push(((p, q, f.person), y));
                }
            }
        }
        // What earlier stages settled.
        let all_seats: Vec<(Variable, f64)> = x.iter().map(|&v| (v, 1.0)).collect();
        let all_scores: Vec<(Variable, f64)> = pairs
            .iter()
            .zip(&x)
            .map(|(&(p, r), &v)| (v, instance.score(p, r).unwrap_or(0) as f64))
            .collect();
        match stage {
            Stage::Seats => {}
            Stage::Score { seats } => {
                problem.add_constraint(all_seats.as_slice(), ComparisonOp::Ge, f64::from(seats));
            }
            Stage::Handovers { seats, score } => {
                problem.add_constraint(all_seats.as_slice(), ComparisonOp::Ge, f64::from(seats));
                // Scores are whole numbers: half a point below is the same score.
                problem.add_constraint(all_scores.as_slice(), ComparisonOp::Ge, score as f64 - 0.5);
            }
        }
        Self {
            problem,
            pairs,
            x,
            links,
        }
    }

    /// `team` as a starting solution.
    fn hint(&self, team: &Team) -> Vec<(Variable, f64)> {
        let on = |p: usize, r: usize| team.on[p].contains(&r);
        self.pairs
            .iter()
            .zip(&self.x)
            .map(|(&(p, r), &v)| (v, if on(p, r) { 1.0 } else { 0.0 }))
            .chain(
                self.links
                    .iter()
                    .map(|&((p, q, r), y)| (y, if on(p, r) && on(q, r) { 1.0 } else { 0.0 })),
            )
            .collect()
    }
}

/// The rows that keep person `r` within their caps when they hold piece `p`: what they hold
/// overlapping `p`'s period, and every piece of theirs overlapping it, within the tighter of
/// their own and the municipality's cap. A big M frees the row when they do not hold `p`.
fn caps_rows(
    instance: &Instance,
    problem: &mut Problem,
    r: usize,
    p: usize,
    mine: &[usize],
    var: &dyn Fn(usize, usize) -> Option<Variable>,
) {
    let who = &instance.people[r];
    let piece = &instance.pieces[p].commitment;
    let tighter = |own: Option<u16>, municipal: Option<u16>| match (own, municipal) {
        (Some(a), Some(b)) => Some(f64::from(a.min(b))),
        (a, b) => a.or(b).map(f64::from),
    };
    let limits = [
        (
            tighter(who.caps.0, instance.policy.max_hours_per_week).map(|h| h * 60.0),
            (|c: &mosaic_events::matching::Commitment| f64::from(c.minutes_per_week))
                as fn(&mosaic_events::matching::Commitment) -> f64,
        ),
        (
            tighter(who.caps.1, instance.policy.max_days_per_month),
            |c: &mosaic_events::matching::Commitment| f64::from(c.days_per_month),
        ),
    ];
    let Some(own) = var(p, r) else {
        return;
    };
    for (limit, of) in limits {
        let Some(limit) = limit else {
            continue;
        };
        let held: f64 = who
            .held
            .iter()
            .filter(|c| c.overlaps_period(piece))
            .map(of)
            .sum();
        let others: Vec<(Variable, f64)> = mine
            .iter()
            .filter(|&&q| q != p && instance.pieces[q].commitment.overlaps_period(piece))
            .filter_map(|&q| var(q, r).map(|v| (v, of(&instance.pieces[q].commitment))))
            .collect();
        let room = limit - held - of(piece);
        let most: f64 = others.iter().map(|(_, c)| c).sum();
        if most <= room {
            continue;
        }
        // others + (of(p) + M)·x_p ≤ limit − held + M, M = the most the others can add.
        let mut row = others;
        row.push((own, of(piece) + most));
        problem.add_constraint(row.as_slice(), ComparisonOp::Le, limit - held + most);
    }
}
