//! Construction and local search, for instances too large to solve exactly by the deadline.
//!
//! The construction staffs the scarcest pieces first (fewest fitting people per seat), each
//! seat to the best person the team can still take, preferring at equal score someone on an
//! adjacent piece. The search starts from the better of that and the baseline and applies
//! three moves while any improves the team's [`super::Quality`] (never one that does not, so it
//! ends, and never below the baseline):
//! - **fill**: an empty seat to someone the team can take;
//! - **eject**: for an empty seat, move someone off a piece that blocks them (a clash or their
//!   caps) onto it, and refill the seat they left;
//! - **replace**: someone on a seat by someone scoring more there, or as much with fewer
//!   hand-overs;
//! - **chains**, once the three above find nothing: an empty seat filled by a chain of up to
//!   three such moves (someone moved onto it, their seat filled by someone moved off another
//!   piece, and so on), which always fills one more seat.

use std::time::Instant;

use super::{Block, Instance, Team};

/// The best team the search finds by `deadline`, starting from `baseline`.
pub fn improve(instance: &Instance, baseline: Team, deadline: Instant) -> Team {
    let built = construct(instance);
    let mut team = if instance.better(&built, &baseline) {
        built
    } else {
        baseline
    };
    let mut depth = 1;
    while Instant::now() < deadline {
        let mut improved = fill(instance, &mut team);
        improved |= eject(instance, &mut team, deadline);
        improved |= replace(instance, &mut team, deadline);
        if depth > 1 {
            improved |= chains(instance, &mut team, depth, deadline);
        }
        if !improved {
            // Stuck: look further along chains of moves, while time allows.
            if depth == MAX_CHAIN {
                break;
            }
            depth += 1;
        }
    }
    team
}

/// The longest chain of moves tried for an empty seat.
const MAX_CHAIN: usize = 3;
/// How many of a piece's best candidates a chain considers moving onto it.
const CHAIN_FITS: usize = 16;

/// For each empty seat, a chain of up to `depth` moves that fills it: someone blocked from it
/// by a piece they hold moves onto it, their seat is filled by someone free or, in turn, by
/// someone moved off another piece. Each chain fills one more seat.
fn chains(instance: &Instance, team: &mut Team, depth: usize, deadline: Instant) -> bool {
    let mut filled = false;
    for p in 0..instance.pieces.len() {
        while team.on[p].len() < instance.pieces[p].seats as usize
            && Instant::now() < deadline
            && augment(instance, team, p, depth, &mut Vec::new(), deadline)
        {
            filled = true;
        }
    }
    filled
}

/// Fills one seat of `piece` by a chain of at most `depth` moves, not moving anyone off a
/// piece in `through` (the chain so far); whether it did (otherwise the team is as it was).
fn augment(
    instance: &Instance,
    team: &mut Team,
    piece: usize,
    depth: usize,
    through: &mut Vec<usize>,
    deadline: Instant,
) -> bool {
    if let Some(person) = best_free(instance, team, piece, None) {
        team.add(person, piece);
        return true;
    }
    if depth == 0 || Instant::now() >= deadline {
        return false;
    }
    through.push(piece);
    for f in instance.fits[piece].iter().take(CHAIN_FITS) {
        if !matches!(
            instance.can_take(team, f.person, piece),
            Err(Block::Clash | Block::Caps)
        ) {
            continue;
        }
        for q in team.of[f.person].clone() {
            if through.contains(&q) {
                continue;
            }
            team.remove(f.person, q);
            if instance.can_take(team, f.person, piece).is_ok() {
                team.add(f.person, piece);
                if augment(instance, team, q, depth - 1, through, deadline) {
                    through.pop();
                    return true;
                }
                team.remove(f.person, piece);
            }
            team.add(f.person, q);
        }
    }
    through.pop();
    false
}

/// The scarcest pieces first, each seat to the best person the team can take.
pub fn construct(instance: &Instance) -> Team {
    let mut order: Vec<usize> = (0..instance.pieces.len())
        .filter(|&p| instance.pieces[p].seats > 0)
        .collect();
    // Fewest fitting people per seat first (in thousandths, to keep the order of integers).
    order.sort_by_key(|&p| {
        let seats = u64::from(instance.pieces[p].seats);
        (instance.fits[p].len() as u64 * 1_000 / seats, p)
    });
    let mut team = Team::empty(instance);
    for p in order {
        while team.on[p].len() < instance.pieces[p].seats as usize {
            let Some(person) = best_free(instance, &team, p, None) else {
                break;
            };
            team.add(person, p);
        }
    }
    team
}

/// The best person the team can take on `piece` (not `except`): the highest score, and at an
/// equal score whoever is on an adjacent piece already.
fn best_free(
    instance: &Instance,
    team: &Team,
    piece: usize,
    except: Option<usize>,
) -> Option<usize> {
    let mut chosen: Option<(i64, usize)> = None;
    for f in &instance.fits[piece] {
        if chosen.is_some_and(|(score, _)| f.score < score) {
            break;
        }
        if Some(f.person) == except || instance.can_take(team, f.person, piece).is_err() {
            continue;
        }
        let next_to = instance.adjacent().iter().any(|&(a, b)| {
            (a == piece && team.on[b].contains(&f.person))
                || (b == piece && team.on[a].contains(&f.person))
        });
        if next_to {
            return Some(f.person);
        }
        chosen.get_or_insert((f.score, f.person));
    }
    chosen.map(|(_, person)| person)
}

/// Fills what empty seats it can; whether it filled any.
pub fn fill(instance: &Instance, team: &mut Team) -> bool {
    let mut filled = false;
    for p in 0..instance.pieces.len() {
        while team.on[p].len() < instance.pieces[p].seats as usize {
            let Some(person) = best_free(instance, team, p, None) else {
                break;
            };
            team.add(person, p);
            filled = true;
        }
    }
    filled
}

/// The change a move made: seats, score, hand-overs around the pieces it touched.
fn gain(before: (u32, i64, u32), after: (u32, i64, u32)) -> bool {
    (after.0, after.1, std::cmp::Reverse(after.2))
        > (before.0, before.1, std::cmp::Reverse(before.2))
}

/// What a move is judged on: seats filled, score and hand-overs, of the team as a whole.
fn state(instance: &Instance, team: &Team) -> (u32, i64, u32) {
    let q = instance.quality(team);
    (q.filled, q.score, q.handovers)
}

/// For each empty seat, moves a blocked person onto it and refills what they left.
fn eject(instance: &Instance, team: &mut Team, deadline: Instant) -> bool {
    let mut improved = false;
    for p in 0..instance.pieces.len() {
        if Instant::now() >= deadline {
            break;
        }
        if team.on[p].len() >= instance.pieces[p].seats as usize {
            continue;
        }
        let before = state(instance, team);
        'people: for f in &instance.fits[p] {
            if !matches!(
                instance.can_take(team, f.person, p),
                Err(Block::Clash | Block::Caps)
            ) {
                continue;
            }
            for q in team.of[f.person].clone() {
                team.remove(f.person, q);
                if instance.can_take(team, f.person, p).is_err() {
                    team.add(f.person, q);
                    continue;
                }
                team.add(f.person, p);
                let refill = best_free(instance, team, q, Some(f.person));
                if let Some(other) = refill {
                    team.add(other, q);
                }
                if gain(before, state(instance, team)) {
                    improved = true;
                    break 'people;
                }
                if let Some(other) = refill {
                    team.remove(other, q);
                }
                team.remove(f.person, p);
                team.add(f.person, q);
            }
        }
    }
    improved
}

/// Replaces people on seats by people who score more there, or as much with fewer hand-overs.
fn replace(instance: &Instance, team: &mut Team, deadline: Instant) -> bool {
    let mut improved = false;
    for p in 0..instance.pieces.len() {
        if Instant::now() >= deadline {
            break;
        }
        for r in team.on[p].clone() {
            let mine = instance.score(p, r).unwrap_or(i64::MIN);
            let before = state(instance, team);
            for f in &instance.fits[p] {
                if f.score < mine {
                    break;
                }
                if f.person == r || team.on[p].contains(&f.person) {
                    continue;
                }
                team.remove(r, p);
                if instance.can_take(team, f.person, p).is_ok() {
                    team.add(f.person, p);
                    if gain(before, state(instance, team)) {
                        improved = true;
                        break;
                    }
                    team.remove(f.person, p);
                }
                team.add(r, p);
            }
        }
    }
    improved
}
