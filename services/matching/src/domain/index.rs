//! The candidate index: the residents of one municipality who can be matched (active, consenting
//! to matching), held in memory, ruling most of them out before the exact filters run, in two
//! passes over compact columns. First one 8-byte word per resident: the quarter-days their
//! availability touches and a 36-bit signature of their skills' tags. Then, for those left, a
//! record of at most 64 bytes: the hours of the week they touch (168 bits), a 32-bit signature of
//! their tags at each level, whether they are a guest, and their home and travel radius. A piece
//! on Tuesdays 10:00–12:00 needing `care` at level 3, 5 km away, skips everyone whose
//! availability leaves one of those hours untouched, who holds no skill at level 3 or above whose
//! tag shares `care`'s bit, or who travels less far. What passes is checked and scored exactly
//! ([`super::recommend`]), reading a compact copy of their skills, windows, interests and forms
//! before the candidate itself; [`CandidateIndex::scan`] checks and scores every candidate as it
//! is, the plain full scan the index is measured against. The order (score, then id) is kept by
//! its ranker.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use chrono::NaiveDate;
use mosaic_events::matching::Commitment;
use mosaic_events::registry::CoarseLocation;
use mosaic_types::{EngagementForm, Field, ResidentId, Skill, WeeklyWindow};

use super::facts::Policy;
use super::recommend::{Candidate, Filter, Score, Target, View, check, covered, score};

/// The residents of one municipality that recommendations rank.
#[derive(Debug, Default)]
pub struct CandidateIndex {
    slots: Vec<Candidate>,
    /// One word per resident that rules most out at a glance ([`quick`]): the quarter-days
    /// their availability touches and a signature of their skills' tags. The only thing a
    /// ranking reads of most residents, 8 MB for a million, so the first pass stays in the CPU's
    /// cache.
    quick: Vec<u64>,
    /// What rules out most of the rest, one small record each, side by side.
    sieves: Vec<Sieve>,
    /// What ranking reads of those who pass the sieve, before (or instead of) the candidate.
    held: Vec<Held>,
    by_id: HashMap<String, usize>,
    /// Every skill tag held, numbered.
    tags: HashMap<String, u32>,
}

/// How one named candidate fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Explained {
    /// A hard filter excluded it.
    Excluded(Filter),
    /// It passed: its score and its rank among all that passed (from 1).
    Ranked {
        /// Its rank.
        rank: u32,
        /// Its score.
        score: Score,
    },
}

/// A ranking: the best `k`, how many passed, and the named candidate's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked<I> {
    /// The best, in order.
    pub top: Vec<(I, Score)>,
    /// How many passed every hard filter.
    pub considered: u32,
    /// The named candidate, if one was named and known.
    pub explained: Option<Explained>,
}

impl CandidateIndex {
    /// Adds or replaces a resident; one who can no longer be matched leaves the index.
    pub fn upsert(&mut self, c: Candidate) {
        if !c.matchable() {
            self.remove(c.facts.resident_id.as_str());
            return;
        }
        let quick = quick(&c.profile.availability, &c.profile.skills);
        let (sieve, held) = records(&c, &mut self.tags);
        match self.by_id.get(c.facts.resident_id.as_str()) {
            Some(&i) => {
                self.slots[i] = c;
                self.quick[i] = quick;
                self.sieves[i] = sieve;
                self.held[i] = held;
            }
            None => {
                self.by_id
                    .insert(c.facts.resident_id.to_string(), self.slots.len());
                self.slots.push(c);
                self.quick.push(quick);
                self.sieves.push(sieve);
                self.held.push(held);
            }
        }
    }

    /// Removes a resident, if held.
    pub fn remove(&mut self, id: &str) {
        let Some(i) = self.by_id.remove(id) else {
            return;
        };
        self.slots.swap_remove(i);
        self.quick.swap_remove(i);
        self.sieves.swap_remove(i);
        self.held.swap_remove(i);
        if let Some(moved) = self.slots.get(i) {
            self.by_id.insert(moved.facts.resident_id.to_string(), i);
        }
    }

    /// A resident held.
    pub fn get(&self, id: &str) -> Option<&Candidate> {
        self.by_id.get(id).map(|&i| &self.slots[i])
    }

    /// How many residents are held.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The best `k` residents for `target`, ruling most out by the columns first; `explain`
    /// names a resident to explain (unknown to the index: no explanation).
    pub fn recommend(
        &self,
        target: &Target,
        policy: &Policy,
        today: NaiveDate,
        k: usize,
        explain: Option<&str>,
    ) -> Ranked<ResidentId> {
        self.rank(target, policy, today, k, explain, true)
    }

    /// The same ranking by checking and scoring every resident held.
    pub fn scan(
        &self,
        target: &Target,
        policy: &Policy,
        today: NaiveDate,
        k: usize,
        explain: Option<&str>,
    ) -> Ranked<ResidentId> {
        self.rank(target, policy, today, k, explain, false)
    }

    fn rank(
        &self,
        target: &Target,
        policy: &Policy,
        today: NaiveDate,
        k: usize,
        explain: Option<&str>,
        columns: bool,
    ) -> Ranked<ResidentId> {
        let named = explain.and_then(|id| self.get(id));
        let explained = named.map(|c| match check(c, target, policy, today) {
            Err(f) => Err(f),
            Ok(()) => Ok(score(c, target, policy, today)),
        });
        let key = match (&explained, named) {
            (Some(Ok(s)), Some(c)) => Some((s.total, c.facts.resident_id.as_str())),
            _ => None,
        };
        let mut ranker = Ranker::new(k, key);
        if columns {
            let probe = self.probe(target);
            for slot in self.sifted(&probe) {
                if check(&slot, target, policy, today).is_ok() {
                    // Whoever cannot enter the best by their score is never asked their id.
                    ranker.offer(score(&slot, target, policy, today), || {
                        slot.c.facts.resident_id.as_str()
                    });
                }
            }
        } else {
            for c in &self.slots {
                if check(c, target, policy, today).is_ok() {
                    ranker.offer(score(c, target, policy, today), || {
                        c.facts.resident_id.as_str()
                    });
                }
            }
        }
        ranker.finish(explained, |id: &str| ResidentId::from(id))
    }
}

impl CandidateIndex {
    /// Everyone who passes every hard filter for `target`, with their score's total (in no
    /// particular order): the candidates of team assembly.
    pub fn fits(
        &self,
        target: &Target,
        policy: &Policy,
        today: NaiveDate,
    ) -> Vec<(&Candidate, i64)> {
        let probe = self.probe(target);
        self.sifted(&probe)
            .filter(|slot| check(slot, target, policy, today).is_ok())
            .map(|slot| (slot.c, score(&slot, target, policy, today).total))
            .collect()
    }

    /// What `target` asks, in the columns' terms.
    fn probe<'t>(&self, target: &'t Target) -> Probe<'t> {
        Probe {
            need: Need::of(target),
            ids: target
                .skills
                .iter()
                .map(|s| self.tags.get(s.tag.as_str()).copied())
                .collect(),
            quick: quick(&target.commitment.slots, &target.skills),
        }
    }

    /// The residents the columns do not rule out for `probe`, for the exact check.
    fn sifted<'a, 'p>(&'a self, probe: &'p Probe<'_>) -> impl Iterator<Item = Slot<'a, 'p>> {
        self.quick
            .iter()
            .enumerate()
            .filter(move |&(i, q)| {
                q & probe.quick == probe.quick && self.sieves[i].may_pass(&probe.need)
            })
            .map(move |(i, _)| Slot {
                c: &self.slots[i],
                held: &self.held[i],
                ids: &probe.ids,
            })
    }

    /// How many residents each hard filter excludes from `target` (the first that excludes
    /// each), most first.
    pub fn exclusions(
        &self,
        target: &Target,
        policy: &Policy,
        today: NaiveDate,
    ) -> Vec<(Filter, u32)> {
        let mut counts: HashMap<Filter, u32> = HashMap::new();
        for c in &self.slots {
            if let Err(f) = check(c, target, policy, today) {
                *counts.entry(f).or_default() += 1;
            }
        }
        let mut counts: Vec<(Filter, u32)> = counts.into_iter().collect();
        counts.sort_by_key(|&(f, n)| (std::cmp::Reverse(n), f as u8));
        counts
    }
}

/// The best `k` pieces for one resident among `targets`; `explain` names a piece to explain
/// (not among the targets: no explanation).
pub fn recommend_pieces(
    c: &Candidate,
    targets: &[Target],
    policy: &Policy,
    today: NaiveDate,
    k: usize,
    explain: Option<&str>,
) -> Ranked<mosaic_types::PieceId> {
    let judge = |t: &Target| {
        t.open(today)
            .and_then(|()| check(c, t, policy, today))
            .map(|()| score(c, t, policy, today))
    };
    let named = explain.and_then(|id| targets.iter().find(|t| t.piece.piece_id.as_str() == id));
    let explained = named.map(judge);
    let key = match (&explained, named) {
        (Some(Ok(s)), Some(t)) => Some((s.total, t.piece.piece_id.as_str())),
        _ => None,
    };
    let mut ranker = Ranker::new(k, key);
    for t in targets {
        if let Ok(s) = judge(t) {
            ranker.offer(s, || t.piece.piece_id.as_str());
        }
    }
    ranker.finish(explained, |id: &str| mosaic_types::PieceId::from(id))
}

/// One entry of the best so far; the heap's greatest is the worst kept.
struct Entry<'a> {
    total: i64,
    id: &'a str,
    score: Score,
}

impl Ord for Entry<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .total
            .cmp(&self.total)
            .then_with(|| self.id.cmp(other.id))
    }
}
impl PartialOrd for Entry<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Entry<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry<'_> {}

/// A value computed at its first use.
enum Lazy<'a, F> {
    New(Option<F>),
    Done(&'a str),
}

impl<'a, F: FnOnce() -> &'a str> Lazy<'a, F> {
    fn get(&mut self) -> &'a str {
        match self {
            Lazy::Done(v) => v,
            Lazy::New(f) => {
                let v = f.take().map_or("", |f| f());
                *self = Lazy::Done(v);
                v
            }
        }
    }
}

/// Keeps the best `k` offered, counts all offered, and how many rank before a named key.
struct Ranker<'a> {
    k: usize,
    best: BinaryHeap<Entry<'a>>,
    considered: u32,
    key: Option<(i64, &'a str)>,
    ahead: u32,
}

impl<'a> Ranker<'a> {
    fn new(k: usize, key: Option<(i64, &'a str)>) -> Self {
        Self {
            k,
            best: BinaryHeap::with_capacity(k + 1),
            considered: 0,
            key,
            ahead: 0,
        }
    }

    /// Offers a score; `id` is read only when the score alone cannot place it.
    fn offer(&mut self, score: Score, id: impl FnOnce() -> &'a str) {
        self.considered += 1;
        let total = score.total;
        let mut id = Lazy::New(Some(id));
        if let Some(key) = self.key
            && (total > key.0 || (total == key.0 && id.get() < key.1))
        {
            self.ahead += 1;
        }
        if self.k == 0 {
            return;
        }
        if self.best.len() == self.k {
            let Some(worst) = self.best.peek() else {
                return;
            };
            if total < worst.total || (total == worst.total && id.get() >= worst.id) {
                return;
            }
            self.best.pop();
        }
        let id = id.get();
        self.best.push(Entry { total, id, score });
    }

    fn finish<I>(
        self,
        explained: Option<Result<Score, Filter>>,
        id: impl for<'s> Fn(&'s str) -> I,
    ) -> Ranked<I> {
        let ahead = self.ahead;
        Ranked {
            // Ascending by `Entry`'s order is best first.
            top: self
                .best
                .into_sorted_vec()
                .into_iter()
                .map(|e| (id(e.id), e.score))
                .collect(),
            considered: self.considered,
            explained: explained.map(|e| match e {
                Err(f) => Explained::Excluded(f),
                Ok(score) => Explained::Ranked {
                    rank: ahead + 1,
                    score,
                },
            }),
        }
    }
}

/// The quarter-days (six hours from midnight) `windows` touch (bits 0–27, Monday first) and the
/// 36-bit signature of `skills`' tags (bits 28–63): whoever covers a piece's windows and holds
/// its skills holds the piece's bits.
fn quick(windows: &[WeeklyWindow], skills: &[Skill]) -> u64 {
    let quarters = windows.iter().fold(0u64, |m, w| {
        let day = (w.weekday().wire() - 1) as u64 * 4;
        let (first, last) = (u64::from(w.start() / 360), u64::from((w.end() - 1) / 360));
        (first..=last).fold(m, |m, q| m | 1 << (day + q))
    });
    skills
        .iter()
        .fold(quarters, |m, s| m | 1 << (28 + tag_hash(s) % 36))
}

/// The hours of a week (Monday 00:00 first) that a set of windows touches, one bit each. A
/// resident whose windows cover a piece's windows touches every hour they touch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Hours([u64; 3]);

impl Hours {
    fn touched(windows: &[mosaic_types::WeeklyWindow]) -> Self {
        let mut bits = [0u64; 3];
        for w in windows {
            let day = (w.weekday().wire() - 1) as usize * 24;
            let (first, last) = (w.start() / 60, (w.end() - 1) / 60);
            for hour in first..=last {
                let at = day + usize::from(hour);
                bits[at / 64] |= 1 << (at % 64);
            }
        }
        Self(bits)
    }

    fn contains(&self, other: &Hours) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & b == *b)
    }
}

/// The sieve of one resident: the hours their availability touches, their skills' tags at each
/// level, whether they are a guest, and where they live and how far they travel. Each is a
/// necessary condition of a hard filter, so what it rules out the exact check would too.
#[derive(Debug, Clone, Copy)]
struct Sieve {
    hours: Hours,
    /// `levels[l]`: the signature of the tags held at level `l + 1` or above.
    levels: [u32; 5],
    guest: bool,
    home: Option<(CoarseLocation, u16)>,
}

/// What ranking reads of a resident who passed the sieve, without the candidate's lists: their
/// skills (numbered tags), windows, interests and preferred forms, when few enough to hold here.
#[derive(Debug, Clone, Copy)]
struct Held {
    /// Tag number and level; `None` when they hold more than fit.
    skills: Option<([(u32, u8); SKILLS_HELD], u8)>,
    /// Windows; `None` when they state none or more than fit.
    windows: Option<([WeeklyWindow; WINDOWS_HELD], u8)>,
    /// Bit `n - 1`: the field of wire number `n` is an interest.
    interests: u32,
    /// Bit `n - 1`: the form of wire number `n` is preferred; 0: no preference stated.
    forms: u32,
    active: bool,
    consenting: bool,
    guest: bool,
    caps: (Option<u16>, Option<u16>),
    location: Option<CoarseLocation>,
    radius: Option<u16>,
    /// Which of the candidate's lists hold anything: commitments, engagements, offers, matched.
    lists: [bool; 4],
}

/// Skills and windows a record holds itself.
const SKILLS_HELD: usize = 4;
const WINDOWS_HELD: usize = 6;

/// A resident as ranking reads them: what is held first, the candidate for the rest.
struct Slot<'a, 'p> {
    c: &'a Candidate,
    held: &'a Held,
    /// The numbers of the piece's required tags (`None`: nobody holds it).
    ids: &'p [Option<u32>],
}

impl View for Slot<'_, '_> {
    fn id(&self) -> &ResidentId {
        &self.c.facts.resident_id
    }
    fn active_and_consenting(&self) -> (bool, bool) {
        (self.held.active, self.held.consenting)
    }
    fn guest(&self) -> bool {
        self.held.guest
    }
    fn caps(&self) -> (Option<u16>, Option<u16>) {
        self.held.caps
    }
    fn home(&self) -> (Option<CoarseLocation>, Option<u16>) {
        (self.held.location, self.held.radius)
    }
    fn commitments(&self) -> &[Commitment] {
        if self.held.lists[0] {
            &self.c.commitments
        } else {
            &[]
        }
    }
    fn engagements(&self) -> &[(NaiveDate, NaiveDate)] {
        if self.held.lists[1] {
            &self.c.engagements
        } else {
            &[]
        }
    }
    fn offers(&self) -> &[(NaiveDate, u32)] {
        if self.held.lists[2] {
            &self.c.offers
        } else {
            &[]
        }
    }
    fn matched(&self) -> &[mosaic_types::PieceId] {
        if self.held.lists[3] {
            &self.c.matched
        } else {
            &[]
        }
    }
    fn level(&self, i: usize, need: &Skill) -> u8 {
        match (&self.held.skills, self.ids.get(i)) {
            (Some((held, n)), Some(id)) => held[..usize::from(*n)]
                .iter()
                .filter(|(tag, _)| Some(*tag) == *id)
                .map(|(_, level)| *level)
                .max()
                .unwrap_or(0),
            _ => self.c.level(i, need),
        }
    }
    fn covers(&self, slot: &WeeklyWindow) -> bool {
        match &self.held.windows {
            Some((held, n)) => covered(&held[..usize::from(*n)], slot),
            None => self.c.covers(slot),
        }
    }
    fn interested_in(&self, field: Field) -> bool {
        self.held.interests & bit(field.wire()) != 0
    }
    fn prefers(&self, form: EngagementForm) -> Option<bool> {
        (self.held.forms != 0).then(|| self.held.forms & bit(form.wire()) != 0)
    }
}

fn bit(wire: i32) -> u32 {
    1 << (wire - 1)
}

/// What a piece asks, in the columns' terms: its quick word, its sieve, and the numbers of its
/// required tags.
struct Probe<'t> {
    need: Need<'t>,
    ids: Vec<Option<u32>>,
    quick: u64,
}

/// What a piece asks, in the sieve's terms.
struct Need<'a> {
    hours: Hours,
    levels: [u32; 5],
    guests_ok: bool,
    place: &'a mosaic_events::activity::Place,
}

/// A resident's sieve and what is held of them; new skill tags are numbered in `tags`.
fn records(c: &Candidate, tags: &mut HashMap<String, u32>) -> (Sieve, Held) {
    let p = &c.profile;
    let mut levels = [0u32; 5];
    for s in &p.skills {
        for l in levels.iter_mut().take(usize::from(s.level.get())) {
            *l |= tag_bit(s);
        }
    }
    let skills = (p.skills.len() <= SKILLS_HELD).then(|| {
        let mut held = [(0, 0); SKILLS_HELD];
        for (h, s) in held.iter_mut().zip(&p.skills) {
            let next = tags.len() as u32;
            let id = *tags.entry(s.tag.as_str().to_owned()).or_insert(next);
            *h = (id, s.level.get());
        }
        (held, p.skills.len() as u8)
    });
    // (No windows at all: the candidate's empty list answers as fast.)
    let windows = p
        .availability
        .first()
        .filter(|_| p.availability.len() <= WINDOWS_HELD)
        .map(|first| {
            let mut held = [*first; WINDOWS_HELD];
            held[..p.availability.len()].copy_from_slice(&p.availability);
            (held, p.availability.len() as u8)
        });
    if skills.is_none() {
        // Tags of a resident whose skills do not fit are numbered too: a piece's tag that
        // has no number is held by nobody.
        for s in &p.skills {
            let next = tags.len() as u32;
            tags.entry(s.tag.as_str().to_owned()).or_insert(next);
        }
    }
    let sieve = Sieve {
        hours: Hours::touched(&p.availability),
        levels,
        guest: c.facts.guest,
        home: p.location.zip(p.travel_radius_km),
    };
    let held = Held {
        skills,
        windows,
        interests: p.interests.iter().fold(0, |m, f| m | bit(f.wire())),
        forms: p.preferred_forms.iter().fold(0, |m, f| m | bit(f.wire())),
        active: c.facts.active,
        consenting: c.facts.matching_consent,
        guest: c.facts.guest,
        caps: (c.facts.max_hours_per_week, c.facts.max_days_per_month),
        location: p.location,
        radius: p.travel_radius_km,
        lists: [
            !c.commitments.is_empty(),
            !c.engagements.is_empty(),
            !c.offers.is_empty(),
            !c.matched.is_empty(),
        ],
    };
    (sieve, held)
}

impl Sieve {
    fn may_pass(&self, need: &Need<'_>) -> bool {
        self.hours.contains(&need.hours)
            && self
                .levels
                .iter()
                .zip(&need.levels)
                .all(|(held, needed)| held & needed == *needed)
            && (need.guests_ok || !self.guest)
            && self
                .home
                .is_none_or(|(home, radius)| within(home, radius, need.place))
    }
}

impl<'a> Need<'a> {
    fn of(target: &'a Target) -> Self {
        let mut levels = [0u32; 5];
        for s in &target.skills {
            levels[usize::from(s.level.get()) - 1] |= tag_bit(s);
        }
        Self {
            hours: Hours::touched(&target.commitment.slots),
            levels,
            guests_ok: target.piece.application_mode
                == mosaic_events::activity::ApplicationMode::Open,
            place: &target.place,
        }
    }
}

/// Whether a piece at `place` is within `radius` km of `home` (or has no distance to judge).
fn within(home: CoarseLocation, radius: u16, place: &mosaic_events::activity::Place) -> bool {
    super::recommend::distance_from(home, place).is_none_or(|d| d <= f64::from(radius))
}

/// A skill tag's bit in a 32-bit signature (FNV-1a of the tag): a resident holding a piece's
/// tags holds at least the piece's bits.
fn tag_bit(s: &Skill) -> u32 {
    1 << (tag_hash(s) % 32)
}

/// FNV-1a of a skill's tag.
fn tag_hash(s: &Skill) -> u64 {
    s.tag
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_pass_reads_a_word_and_the_second_a_cache_line_per_resident() {
        assert_eq!(std::mem::size_of::<u64>(), 8);
        assert!(
            std::mem::size_of::<Sieve>() <= 64,
            "{}",
            std::mem::size_of::<Sieve>()
        );
    }

    #[test]
    fn quarter_days_and_hours_touched_are_those_of_every_minute_of_a_window() {
        let w = |d, s, e| WeeklyWindow::new(d, s, e).unwrap_or_else(|_| panic!("window"));
        // Tuesday 05:30–06:30 touches Tuesday's first two quarters and hours 5 and 6.
        let q = quick(&[w(mosaic_types::Weekday::Tuesday, 330, 390)], &[]);
        assert_eq!(q, 0b11 << 4);
        let h = Hours::touched(&[w(mosaic_types::Weekday::Tuesday, 330, 390)]);
        assert_eq!(h.0[0], 0b11 << (24 + 5));
        // A window ending on the hour does not touch the next.
        let h = Hours::touched(&[w(mosaic_types::Weekday::Monday, 540, 600)]);
        assert_eq!(h.0[0], 1 << 9);
    }
}
