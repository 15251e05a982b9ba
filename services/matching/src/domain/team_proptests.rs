//! Properties of team assembly over random instances: no method's team breaks a rule; on
//! instances small enough to search exhaustively the answer equals the brute-force optimum in
//! seats and score; no answer is worse than the baseline (in seats, nor in score at equal
//! seats); the bound is never beaten; every backup could step in with the rest of the team in
//! place.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use mosaic_events::matching::Commitment;
use mosaic_types::{PieceId, ResidentId, Weekday, WeeklyWindow};
use proptest::prelude::*;

use super::facts::Policy;
use super::team::{Ask, Fit, Instance, Person, Piece, Team, bound, greedy, search, solve};

fn day(offset: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 4, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(offset)))
        .unwrap_or_default()
}

/// A weekly commitment on `weekday` from `start` for `len` minutes over a period.
fn commitment(weekday: usize, start: u32, len: u32, period: (u64, u64)) -> Commitment {
    let w = WeeklyWindow::new(Weekday::ALL[weekday], start, start + len)
        .unwrap_or_else(|_| panic!("window"));
    Commitment {
        slots: vec![w],
        first_day: day(period.0),
        last_day: day(period.1),
        minutes_per_week: len,
        days_per_month: 4,
    }
}

/// Pieces on two weekdays in 3-hour blocks from 08:30 (some longer, so they clash), over one of
/// three periods (two of which share no day).
fn pieces(most: usize) -> impl Strategy<Value = Vec<Piece>> {
    prop::collection::vec(
        (
            0..2usize,
            0..3u32,
            prop::bool::weighted(0.2),
            0..4u64,
            1..=2u32,
        ),
        1..=most,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (d, block, long, period, seats))| Piece {
                id: PieceId::from(format!("piece-{i:02}")),
                seats,
                commitment: commitment(
                    d,
                    510 + block * 180,
                    if long { 240 } else { 180 },
                    if period == 0 { (10, 40) } else { (0, 90) },
                ),
            })
            .collect()
    })
}

/// People with caps of a few pieces' hours, some holding a commitment already.
fn people(most: usize) -> impl Strategy<Value = Vec<Person>> {
    prop::collection::vec(
        (
            prop::option::weighted(0.5, 3..=12u16),
            prop::option::weighted(0.3, 4..=12u16),
            prop::bool::weighted(0.3),
        ),
        1..=most,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (hours, days, busy))| Person {
                id: ResidentId::from(format!("resident-{i:02}")),
                caps: (hours, days),
                held: if busy {
                    vec![commitment(0, 510, 180, (0, 30))]
                } else {
                    Vec::new()
                },
            })
            .collect()
    })
}

/// An instance: who fits which piece (about `density` of the pairs) with scores that often tie.
fn instance(
    most_pieces: usize,
    most_people: usize,
    density: f64,
) -> impl Strategy<Value = Instance> {
    (
        pieces(most_pieces),
        people(most_people),
        prop::option::weighted(0.3, 6..=15u16),
        any::<u64>(),
    )
        .prop_flat_map(move |(pieces, people, hours, _)| {
            let n = pieces.len() * people.len();
            (
                Just(pieces),
                Just(people),
                Just(hours),
                prop::collection::vec((prop::bool::weighted(density), -2..12i64), n),
            )
        })
        .prop_map(|(pieces, people, hours, pairs)| {
            let m = people.len();
            let fits = (0..pieces.len())
                .map(|p| {
                    (0..m)
                        .filter(|&r| pairs[p * m + r].0)
                        .map(|r| Fit {
                            person: r,
                            score: pairs[p * m + r].1 * 1_000,
                        })
                        .collect()
                })
                .collect();
            let policy = Policy {
                max_hours_per_week: hours,
                ..Policy::default()
            };
            Instance::new(pieces, people, fits, policy)
        })
}

/// Every valid team, searched exhaustively: the best (seats, score). A branch is left only when
/// even filling every seat left with the best scores could not beat the best found, so the
/// answer is the optimum, and a dense random instance cannot take minutes.
fn brute_force(instance: &Instance) -> (u32, i64) {
    // What the pieces from `p` on could still add at most: seats, and positive scores.
    let rest: Vec<(u32, i64)> = {
        let mut rest = vec![(0, 0); instance.pieces.len() + 1];
        for p in (0..instance.pieces.len()).rev() {
            let k = (instance.pieces[p].seats as usize).min(instance.fits[p].len());
            let score: i64 = instance.fits[p]
                .iter()
                .take(k)
                .map(|f| f.score.max(0))
                .sum();
            rest[p] = (rest[p + 1].0 + k as u32, rest[p + 1].1 + score);
        }
        rest
    };
    fn go(
        instance: &Instance,
        rest: &[(u32, i64)],
        team: &mut Team,
        p: usize,
        from: usize,
        best: &mut (u32, i64),
    ) {
        let q = instance.quality(team);
        if p == instance.pieces.len() {
            *best = (*best).max((q.filled, q.score));
            return;
        }
        // This piece may gain as many seats as it has left, from the fits not yet tried.
        let left = (instance.pieces[p].seats as usize).saturating_sub(team.on[p].len());
        let here: i64 = instance.fits[p][from.min(instance.fits[p].len())..]
            .iter()
            .take(left)
            .map(|f| f.score.max(0))
            .sum();
        let bound = (
            q.filled + left as u32 + rest[p + 1].0,
            q.score + here + rest[p + 1].1,
        );
        if bound <= *best && *best != (0, 0) {
            return;
        }
        // Leave the rest of this piece's seats empty…
        go(instance, rest, team, p + 1, 0, best);
        // …or put one more person on it (in fit order, so each set is tried once).
        for i in from..instance.fits[p].len() {
            let r = instance.fits[p][i].person;
            if instance.can_take(team, r, p).is_ok() {
                team.add(r, p);
                go(instance, rest, team, p, i + 1, best);
                team.remove(r, p);
            }
        }
    }
    let mut best = (0, 0);
    go(instance, &rest, &mut Team::empty(instance), 0, 0, &mut best);
    best
}

fn key(instance: &Instance, team: &Team) -> (u32, i64) {
    let q = instance.quality(team);
    (q.filled, q.score)
}

fn later(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn small_instances_are_solved_to_the_brute_force_optimum(instance in instance(8, 10, 0.35)) {
        let optimum = brute_force(&instance);
        let relaxed = bound::relaxation(&instance);
        prop_assert!(relaxed.seats >= optimum.0 && relaxed.score >= optimum.1, "{relaxed:?}");
        let solved = solve(&instance, Ask::Best, later(10_000));
        prop_assert_eq!(instance.violations(&solved.team), Vec::<String>::new());
        prop_assert_eq!(key(&instance, &solved.team), optimum);
        prop_assert!((solved.bound.seats, solved.bound.score) >= optimum);
        prop_assert!(solved.bound.seats >= optimum.0 && solved.bound.score >= optimum.1);
    }

    #[test]
    fn no_method_breaks_a_rule_or_falls_below_the_baseline(instance in instance(30, 40, 0.3)) {
        let baseline = greedy::fill(&instance);
        prop_assert_eq!(instance.violations(&baseline), Vec::<String>::new());
        let searched = search::improve(&instance, baseline.clone(), later(10_000));
        prop_assert_eq!(instance.violations(&searched), Vec::<String>::new());
        prop_assert!(key(&instance, &searched) >= key(&instance, &baseline));
        let solved = solve(&instance, Ask::Best, later(300));
        prop_assert_eq!(instance.violations(&solved.team), Vec::<String>::new());
        prop_assert!(key(&instance, &solved.team) >= key(&instance, &baseline));
        prop_assert!(solved.bound.seats >= solved.quality.filled);
        for p in 0..instance.pieces.len() {
            for backup in instance.backups(&solved.team, p, 3) {
                prop_assert!(!solved.team.on[p].contains(&backup.person));
                prop_assert!(instance.could_hold(&solved.team, backup.person, p).is_ok());
            }
        }
    }
}

#[test]
fn a_job_no_one_can_take_whole_is_shared_and_hand_overs_are_few() {
    // Given a morning and an afternoon piece of one Monday, each for one person, and two people
    // who fit both equally, and a third who fits only the afternoon, scoring less…
    let pieces = vec![
        Piece {
            id: PieceId::from("am"),
            seats: 1,
            commitment: commitment(0, 510, 180, (0, 60)),
        },
        Piece {
            id: PieceId::from("pm"),
            seats: 1,
            commitment: commitment(0, 690, 180, (0, 60)),
        },
    ];
    let people: Vec<Person> = ["a", "b", "c"]
        .iter()
        .map(|id| Person {
            id: ResidentId::from(*id),
            caps: (None, None),
            held: Vec::new(),
        })
        .collect();
    let fits = vec![
        vec![
            Fit {
                person: 1,
                score: 5,
            },
            Fit {
                person: 0,
                score: 5,
            },
        ],
        vec![
            Fit {
                person: 0,
                score: 5,
            },
            Fit {
                person: 1,
                score: 5,
            },
            Fit {
                person: 2,
                score: 4,
            },
        ],
    ];
    let instance = Instance::new(pieces, people, fits, Policy::default());
    // When it is solved, then both seats are filled at the best score by one person (no
    // hand-over), the smaller id settling the tie…
    let solved = solve(&instance, Ask::Best, later(5_000));
    assert_eq!((solved.quality.filled, solved.quality.score), (2, 10));
    assert_eq!(solved.quality.handovers, 0);
    assert_eq!(solved.team.on, vec![vec![0], vec![0]]);
    // … and `b` backs up both pieces, before `c`.
    let backups: Vec<usize> = instance
        .backups(&solved.team, 1, 3)
        .iter()
        .map(|f| f.person)
        .collect();
    assert_eq!(backups, vec![1, 2]);
}
