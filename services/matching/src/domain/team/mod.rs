//! Mosaic team assembly: choosing residents for every open seat of a set of pieces at once, so
//! that people whose partial availability covers part of a job together cover all of it.
//!
//! An [`Instance`] holds the pieces, the residents who pass every hard filter for at least one
//! of them, and each such pair's score (the recommendations' score under the municipality's
//! policy). A [`Team`] puts people on seats. A team is valid when each seat holds one person who
//! fits the piece, nobody holds two pieces whose windows clash, and nobody goes over their caps
//! (their own and the municipality's), counting their confirmed commitments and every other
//! piece of the team ([`Instance::can_take`]).
//!
//! Teams compare by [`Quality`]: the most seats filled, then the highest total score, then the
//! fewest hand-overs; [`Instance::better`] breaks what remains by the people on each seat, so
//! every method answers the same team for the same instance. Three methods solve it:
//! [`greedy`] (the baseline: pieces in order, each seat to the best free candidate), [`search`]
//! (a construction and a local search that start from the baseline and only ever improve on it)
//! and [`exact`] (a mixed-integer programme). [`bound`] gives what no team can beat.

pub mod bound;
pub mod exact;
pub mod greedy;
pub mod search;

use std::cmp::{Ordering, Reverse};
use std::collections::HashMap;

use chrono::NaiveDate;
use mosaic_events::matching::Commitment;
use mosaic_types::{PieceId, ResidentId};

use super::booking::within_caps_of;
use super::facts::Policy;
use super::index::CandidateIndex;
use super::recommend::Target;

/// A piece to staff.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// The piece.
    pub id: PieceId,
    /// Seats open (headcount less those confirmed).
    pub seats: u32,
    /// What it asks of whoever takes it.
    pub commitment: Commitment,
}

/// A resident who fits at least one piece.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    /// The resident.
    pub id: ResidentId,
    /// Their own caps: hours a week, days a month.
    pub caps: (Option<u16>, Option<u16>),
    /// Their confirmed commitments that have not ended.
    pub held: Vec<Commitment>,
}

/// One resident who passed every hard filter for a piece, and their score for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    /// Index into [`Instance::people`].
    pub person: usize,
    /// The recommendations' score.
    pub score: i64,
}

/// Why a team cannot take one more person on a piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// Every seat is taken.
    Full,
    /// They are on it already.
    OnIt,
    /// They did not pass the hard filters for it.
    NoFit,
    /// It clashes with another piece they hold in the team.
    Clash,
    /// It would take them, or a piece they hold, over their caps.
    Caps,
}

/// A problem of team assembly.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The pieces, in the order the baseline fills them.
    pub pieces: Vec<Piece>,
    /// The residents who fit at least one piece.
    pub people: Vec<Person>,
    /// Per piece, who fits it: best score first, then by resident id.
    pub fits: Vec<Vec<Fit>>,
    /// The municipality's caps (the rest of the policy is already in the scores).
    pub policy: Policy,
    /// `clash[p][q]`: pieces `p` and `q` can ask for the same minute.
    clash: Vec<Vec<bool>>,
    /// Pieces `(p, q)` where `q` begins on the weekday and at the minute `p` ends, in periods
    /// that overlap: whoever is on `q` but not on `p` is a hand-over.
    adjacent: Vec<(usize, usize)>,
    /// Per person, the pieces they fit and their score, in piece order.
    by_person: Vec<Vec<(usize, i64)>>,
}

impl Instance {
    /// An instance of pieces, people and fits (sorted here: best first, then by resident id).
    pub fn new(
        pieces: Vec<Piece>,
        people: Vec<Person>,
        mut fits: Vec<Vec<Fit>>,
        policy: Policy,
    ) -> Self {
        fits.resize(pieces.len(), Vec::new());
        for f in &mut fits {
            f.sort_by(|a, b| {
                b.score
                    .cmp(&a.score)
                    .then_with(|| people[a.person].id.cmp(&people[b.person].id))
            });
            f.dedup_by_key(|f| f.person);
        }
        let clash = pieces
            .iter()
            .map(|p| {
                pieces
                    .iter()
                    .map(|q| p.commitment.clashes_with(&q.commitment))
                    .collect()
            })
            .collect();
        let mut adjacent = Vec::new();
        for (i, p) in pieces.iter().enumerate() {
            for (j, q) in pieces.iter().enumerate() {
                let meets = p.commitment.slots.iter().any(|a| {
                    q.commitment
                        .slots
                        .iter()
                        .any(|b| a.weekday() == b.weekday() && a.end() == b.start())
                });
                if i != j && meets && p.commitment.overlaps_period(&q.commitment) {
                    adjacent.push((i, j));
                }
            }
        }
        let mut by_person = vec![Vec::new(); people.len()];
        for (p, list) in fits.iter().enumerate() {
            for f in list {
                by_person[f.person].push((p, f.score));
            }
        }
        Self {
            pieces,
            people,
            fits,
            policy,
            clash,
            adjacent,
            by_person,
        }
    }

    /// Seats open over all pieces.
    pub fn open_seats(&self) -> u32 {
        self.pieces.iter().map(|p| p.seats).sum()
    }

    /// Pairs of a piece and a resident who fits it.
    pub fn pairs(&self) -> usize {
        self.fits.iter().map(Vec::len).sum()
    }

    /// Whether pieces `p` and `q` can ask for the same minute.
    pub fn clashes(&self, p: usize, q: usize) -> bool {
        self.clash[p][q]
    }

    /// Adjacent pieces: `(earlier, later)`.
    pub fn adjacent(&self) -> &[(usize, usize)] {
        &self.adjacent
    }

    /// The pieces a person fits, with their score.
    pub fn fits_of(&self, person: usize) -> &[(usize, i64)] {
        &self.by_person[person]
    }

    /// A person's score on a piece, if they fit it.
    pub fn score(&self, piece: usize, person: usize) -> Option<i64> {
        let mine = &self.by_person[person];
        mine.binary_search_by_key(&piece, |(p, _)| *p)
            .ok()
            .map(|i| mine[i].1)
    }

    /// Whether `team` can take `person` on `piece` as it stands.
    pub fn can_take(&self, team: &Team, person: usize, piece: usize) -> Result<(), Block> {
        if team.on[piece].len() >= self.pieces[piece].seats as usize {
            return Err(Block::Full);
        }
        if team.on[piece].contains(&person) {
            return Err(Block::OnIt);
        }
        if self.score(piece, person).is_none() {
            return Err(Block::NoFit);
        }
        self.could_hold(team, person, piece)
    }

    /// Whether `person` could hold `piece` besides what they hold in `team` (seats aside): no
    /// clash, and within their caps for the new piece and for each piece they hold.
    pub fn could_hold(&self, team: &Team, person: usize, piece: usize) -> Result<(), Block> {
        let mine = &team.of[person];
        if mine.iter().any(|&q| q != piece && self.clash[piece][q]) {
            return Err(Block::Clash);
        }
        let who = &self.people[person];
        let all: Vec<usize> = mine
            .iter()
            .copied()
            .filter(|&q| q != piece)
            .chain([piece])
            .collect();
        for &p in &all {
            let others = who.held.iter().chain(
                all.iter()
                    .filter(|&&q| q != p)
                    .map(|&q| &self.pieces[q].commitment),
            );
            within_caps_of(who.caps, &self.policy, others, &self.pieces[p].commitment)
                .map_err(|_| Block::Caps)?;
        }
        Ok(())
    }

    /// A team's quality.
    pub fn quality(&self, team: &Team) -> Quality {
        let filled = team.on.iter().map(|on| on.len() as u32).sum();
        let score = team
            .on
            .iter()
            .enumerate()
            .flat_map(|(p, on)| on.iter().map(move |&r| (p, r)))
            .map(|(p, r)| self.score(p, r).unwrap_or(0))
            .sum();
        Quality {
            filled,
            open: self.open_seats(),
            score,
            handovers: self.handovers(team),
        }
    }

    /// The hand-overs of a team: per adjacent pair of pieces, those on the later who were not
    /// on the earlier.
    pub fn handovers(&self, team: &Team) -> u32 {
        self.adjacent
            .iter()
            .map(|&(p, q)| {
                team.on[q]
                    .iter()
                    .filter(|r| !team.on[p].contains(r))
                    .count() as u32
            })
            .sum()
    }

    /// Whether `a` is a better team than `b`: by quality, then (all else equal) by the people on
    /// each seat, the smaller resident ids first, so every method settles ties alike.
    pub fn better(&self, a: &Team, b: &Team) -> bool {
        match self.quality(a).cmp_key().cmp(&self.quality(b).cmp_key()) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => self.seating(a) < self.seating(b),
        }
    }

    fn seating<'a>(&'a self, team: &Team) -> Vec<Vec<&'a ResidentId>> {
        team.on
            .iter()
            .map(|on| {
                let mut ids: Vec<&ResidentId> = on.iter().map(|&r| &self.people[r].id).collect();
                ids.sort();
                ids
            })
            .collect()
    }

    /// Every rule a team breaks, for tests and checks: an empty list is a valid team.
    pub fn violations(&self, team: &Team) -> Vec<String> {
        let mut found = Vec::new();
        for (p, on) in team.on.iter().enumerate() {
            if on.len() > self.pieces[p].seats as usize {
                found.push(format!(
                    "piece {p}: {} people on {} seats",
                    on.len(),
                    self.pieces[p].seats
                ));
            }
            for (i, &r) in on.iter().enumerate() {
                if on[..i].contains(&r) {
                    found.push(format!("piece {p}: person {r} on two seats"));
                }
                if self.score(p, r).is_none() {
                    found.push(format!("piece {p}: person {r} does not fit"));
                }
                if !team.of[r].contains(&p) {
                    found.push(format!("piece {p}: person {r} not listed as holding it"));
                }
            }
        }
        for (r, mine) in team.of.iter().enumerate() {
            for &p in mine {
                if !team.on[p].contains(&r) {
                    found.push(format!("person {r}: holds piece {p} without a seat"));
                }
                if let Err(why) = self.could_hold(team, r, p) {
                    found.push(format!("person {r} on piece {p}: {why:?}"));
                }
            }
        }
        found
    }

    /// Up to `n` people who could step in on `piece` with the rest of the team in place: not
    /// on it, fitting it, and able to hold it besides what they hold in the team; best first.
    pub fn backups(&self, team: &Team, piece: usize, n: usize) -> Vec<Fit> {
        self.fits[piece]
            .iter()
            .filter(|f| !team.on[piece].contains(&f.person))
            .filter(|f| self.could_hold(team, f.person, piece).is_ok())
            .take(n)
            .copied()
            .collect()
    }
}

/// People on seats: per piece who is on it, and per person what they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Per piece, the people on its seats.
    pub on: Vec<Vec<usize>>,
    /// Per person, the pieces they hold.
    pub of: Vec<Vec<usize>>,
}

impl Team {
    /// Nobody on any seat.
    pub fn empty(instance: &Instance) -> Self {
        Self {
            on: vec![Vec::new(); instance.pieces.len()],
            of: vec![Vec::new(); instance.people.len()],
        }
    }

    /// Puts `person` on `piece` (the caller has checked they may).
    pub fn add(&mut self, person: usize, piece: usize) {
        self.on[piece].push(person);
        self.of[person].push(piece);
    }

    /// Takes `person` off `piece`.
    pub fn remove(&mut self, person: usize, piece: usize) {
        self.on[piece].retain(|&r| r != person);
        self.of[person].retain(|&p| p != piece);
    }

    /// Seats filled.
    pub fn filled(&self) -> u32 {
        self.on.iter().map(|on| on.len() as u32).sum()
    }
}

/// How good a team is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quality {
    /// Seats filled.
    pub filled: u32,
    /// Seats open in all.
    pub open: u32,
    /// The sum of the scores of the people on the seats.
    pub score: i64,
    /// Hand-overs (see [`Instance::handovers`]).
    pub handovers: u32,
}

impl Quality {
    /// The order teams are compared in: seats, then score, then fewer hand-overs.
    pub fn cmp_key(&self) -> (u32, i64, Reverse<u32>) {
        (self.filled, self.score, Reverse(self.handovers))
    }
}

/// Which method produced a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Proven optimal in seats and score: by the mixed-integer programme, or because the team
    /// meets the relaxation's bound.
    Exact,
    /// Construction and local search (improved by the programme where it found better before
    /// the deadline).
    Search,
    /// The baseline alone, as asked.
    Greedy,
}

/// What no team can beat: no team fills more than `seats` seats, and the best team scores no
/// more than `score`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// The most seats any team fills.
    pub seats: u32,
    /// The highest score any team reaches.
    pub score: i64,
}

/// Why seats of a piece stayed empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    /// Nobody passes every hard filter for it.
    NoneFit,
    /// Those who fit it hold clashing pieces of the team, would go over their caps with it, or
    /// are on it already.
    Team,
}

/// A solved instance.
#[derive(Debug, Clone)]
pub struct Solved {
    /// The team.
    pub team: Team,
    /// Its quality.
    pub quality: Quality,
    /// The baseline's quality on the same instance.
    pub baseline: Quality,
    /// What no team can beat.
    pub bound: Bound,
    /// The method.
    pub method: Method,
}

impl Solved {
    /// Why seats of `piece` stayed empty, if any did.
    pub fn empty(&self, instance: &Instance, piece: usize) -> Option<Empty> {
        if self.team.on[piece].len() >= instance.pieces[piece].seats as usize {
            None
        } else if instance.fits[piece].is_empty() {
            Some(Empty::NoneFit)
        } else {
            Some(Empty::Team)
        }
    }
}

/// The instance of `targets` (in the order the baseline fills them) over the residents of
/// `index`: each piece's open seats and commitment, everyone who passes every hard filter for
/// it with their score, and their caps and live commitments.
pub fn from_index(
    index: &CandidateIndex,
    targets: &[Target],
    policy: &Policy,
    today: NaiveDate,
) -> Instance {
    let mut people: Vec<Person> = Vec::new();
    let mut known: HashMap<&str, usize> = HashMap::new();
    let mut fits: Vec<Vec<Fit>> = Vec::with_capacity(targets.len());
    for t in targets {
        let list = index
            .fits(t, policy, today)
            .into_iter()
            .map(|(c, score)| {
                let person = *known
                    .entry(c.facts.resident_id.as_str())
                    .or_insert_with(|| {
                        people.push(Person {
                            id: c.facts.resident_id.clone(),
                            caps: (c.facts.max_hours_per_week, c.facts.max_days_per_month),
                            held: c
                                .commitments
                                .iter()
                                .filter(|h| h.last_day >= today)
                                .cloned()
                                .collect(),
                        });
                        people.len() - 1
                    });
                Fit { person, score }
            })
            .collect();
        fits.push(list);
    }
    let pieces = targets
        .iter()
        .map(|t| Piece {
            id: t.piece.piece_id.clone(),
            seats: t.open_seats,
            commitment: t.commitment.clone(),
        })
        .collect();
    Instance::new(pieces, people, fits, policy.clone())
}

/// How to solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// The best the deadline allows: exact where the instance is small enough, search
    /// otherwise.
    Best,
    /// The baseline alone.
    Greedy,
}

/// Solves an instance by `deadline`.
pub fn solve(instance: &Instance, ask: Ask, deadline: std::time::Instant) -> Solved {
    let baseline = greedy::fill(instance);
    let baseline_quality = instance.quality(&baseline);
    let relaxed = bound::relaxation(instance);
    if ask == Ask::Greedy {
        return Solved {
            quality: baseline_quality,
            team: baseline,
            baseline: baseline_quality,
            bound: relaxed,
            method: Method::Greedy,
        };
    }
    let searched = search::improve(instance, baseline, deadline);
    let (team, bound, proven) = match exact::solve_by(instance, &searched, deadline) {
        Some(found) => {
            let team = if instance.better(&found.team, &searched) {
                found.team
            } else {
                searched
            };
            let bound = Bound {
                seats: relaxed.seats.min(found.bound.seats),
                score: relaxed.score.min(found.bound.score),
            };
            (team, bound, found.proven)
        }
        None => (searched, relaxed, false),
    };
    // Whatever stopped at the deadline, no seat stays empty that someone could still take.
    let mut team = team;
    search::fill(instance, &mut team);
    let quality = instance.quality(&team);
    let proven = proven || (quality.filled, quality.score) == (bound.seats, bound.score);
    Solved {
        team,
        quality,
        baseline: baseline_quality,
        bound: if proven {
            Bound {
                seats: quality.filled,
                score: quality.score,
            }
        } else {
            bound
        },
        method: if proven {
            Method::Exact
        } else {
            Method::Search
        },
    }
}
