//! What no team can beat, without solving: a relaxation that keeps each piece's seats and each
//! person's reach but drops how a person's pieces interact.
//!
//! - **Seats**: the maximum flow from pieces (each up to its seats) through the pairs that fit
//!   to people (each up to the pieces they fit; when those pieces' periods all share a day, also
//!   up to as many as their caps allow of the shortest, less the least of their confirmed
//!   commitments any of them would count, and, when each is one weekly window, up to the most
//!   that do not clash) — every valid team is such a flow.
//!   Beyond [`FLOW_PAIRS`] pairs the flow is left out and the bound is the smaller of the two
//!   sums, by piece and by person.
//! - **Score**: per piece, the best scores of as many people as it has seats (only those above
//!   zero): no team does better on any piece.

use mosaic_events::matching::Commitment;
use pathfinding::directed::edmonds_karp::{SparseCapacity, edmonds_karp};

use super::{Bound, Instance};

/// The most pairs the seats' bound takes a maximum flow over (Edmonds–Karp: a breadth-first
/// search over every pair per seat filled).
const FLOW_PAIRS: usize = 20_000;

/// The relaxation's bound.
pub fn relaxation(instance: &Instance) -> Bound {
    let per_piece: Vec<u32> = instance
        .pieces
        .iter()
        .zip(&instance.fits)
        .map(|(p, fits)| p.seats.min(fits.len() as u32))
        .collect();
    let score = instance
        .fits
        .iter()
        .zip(&per_piece)
        .map(|(fits, &k)| {
            fits.iter()
                .take(k as usize)
                .map(|f| f.score.max(0))
                .sum::<i64>()
        })
        .sum();
    let reach: Vec<u32> = (0..instance.people.len())
        .map(|r| reach(instance, r))
        .collect();
    let by_piece: u32 = per_piece.iter().sum();
    let by_person: u32 = reach.iter().sum();
    let seats = if instance.pairs() <= FLOW_PAIRS {
        flow(instance, &reach)
    } else {
        by_piece.min(by_person)
    };
    Bound { seats, score }
}

/// The most pieces a person could hold: those they fit; when their periods all share a day, no
/// more than do not clash, nor than their caps allow of the shortest of them (a piece's minutes
/// a week and days a month) beside what they hold.
fn reach(instance: &Instance, person: usize) -> u32 {
    let fits = instance.fits_of(person);
    let who = &instance.people[person];
    let policy = &instance.policy;
    let tighter = |own: Option<u16>, municipal: Option<u16>| match (own, municipal) {
        (Some(a), Some(b)) => Some(u32::from(a.min(b))),
        (a, b) => a.or(b).map(u32::from),
    };
    let least = |of: fn(&Commitment) -> u32| {
        fits.iter()
            .map(|(p, _)| of(&instance.pieces[*p].commitment))
            .min()
            .unwrap_or(0)
    };
    // What they hold already counts against their caps: at least the least of it that any
    // piece they fit would count.
    let held = |of: fn(&Commitment) -> u32| {
        fits.iter()
            .map(|(p, _)| {
                let piece = &instance.pieces[*p].commitment;
                who.held
                    .iter()
                    .filter(|h| h.overlaps_period(piece))
                    .map(of)
                    .sum::<u32>()
            })
            .min()
            .unwrap_or(0)
    };
    let mut most = fits.len() as u32;
    // When every piece they fit is one weekly window and their periods all share a day, two
    // clash exactly when their windows overlap: at most as many as the most windows that do not.
    let commitments: Vec<&Commitment> = fits
        .iter()
        .map(|(p, _)| &instance.pieces[*p].commitment)
        .collect();
    let one_window = commitments.iter().all(|c| c.slots.len() == 1);
    let shared = commitments.iter().map(|c| c.first_day).max()
        <= commitments.iter().map(|c| c.last_day).min();
    if one_window && shared {
        let mut windows: Vec<_> = commitments.iter().map(|c| c.slots[0]).collect();
        windows.sort_by_key(|w| (w.weekday().wire(), w.end()));
        let mut apart: Vec<mosaic_types::WeeklyWindow> = Vec::new();
        for w in windows {
            if apart.last().is_none_or(|last| !last.overlaps(&w)) {
                apart.push(w);
            }
        }
        most = most.min(apart.len() as u32);
    }
    // Caps count only what overlaps a piece's period: they bound how many pieces a person holds
    // only when all their pieces' periods share a day.
    if !shared {
        return most;
    }
    if let Some(hours) = tighter(who.caps.0, policy.max_hours_per_week) {
        let shortest = least(|c| c.minutes_per_week);
        let room = (hours * 60).saturating_sub(held(|c| c.minutes_per_week));
        if let Some(n) = room.checked_div(shortest) {
            most = most.min(n);
        }
    }
    if let Some(days) = tighter(who.caps.1, policy.max_days_per_month) {
        let fewest = least(|c| c.days_per_month);
        let room = days.saturating_sub(held(|c| c.days_per_month));
        if let Some(n) = room.checked_div(fewest) {
            most = most.min(n);
        }
    }
    most
}

/// The maximum flow from the pieces' seats to the people's reach.
fn flow(instance: &Instance, reach: &[u32]) -> u32 {
    // Nodes: 0 the source, 1 the sink, then pieces, then people.
    let pieces = instance.pieces.len();
    let nodes: Vec<usize> = (0..2 + pieces + instance.people.len()).collect();
    let mut caps: Vec<((usize, usize), i64)> = Vec::new();
    for (p, piece) in instance.pieces.iter().enumerate() {
        if piece.seats > 0 {
            caps.push(((0, 2 + p), i64::from(piece.seats)));
        }
        for f in &instance.fits[p] {
            caps.push(((2 + p, 2 + pieces + f.person), 1));
        }
    }
    for (r, &most) in reach.iter().enumerate() {
        if most > 0 {
            caps.push(((2 + pieces + r, 1), i64::from(most)));
        }
    }
    let (_, max, _) = edmonds_karp::<_, _, _, SparseCapacity<_>>(&nodes, &0, &1, caps);
    max as u32
}
