//! Recommendations as pure functions: the hard filters a resident must pass for a piece and the
//! score of one who passes — each factor's points, which sum to the score. The candidate index
//! ([`super::index`]), which also keeps the order (score, then id), and `RecommendPieces` both
//! rank with these, so a list and an `explain` can never disagree.

use chrono::{Days, NaiveDate};
use mosaic_events::activity::{ApplicationMode, Place, Status};
use mosaic_events::matching::Commitment;
use mosaic_events::registry::CoarseLocation;
use mosaic_types::{EngagementForm, Field, PieceId, ResidentId, Skill, WeeklyWindow};
use serde::{Deserialize, Serialize};

use super::booking::within_caps_of;
use super::commitment::of_schedule;
use super::facts::{HostFacts, PieceFacts, Policy, ResidentFacts};

/// What a resident states that recommendations weigh: the matchable part of their registry
/// profile, as matching keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Skills with levels.
    pub skills: Vec<Skill>,
    /// Fields of interest.
    pub interests: Vec<Field>,
    /// Weekly availability (JST).
    pub availability: Vec<WeeklyWindow>,
    /// Preferred engagement forms (none stated: no preference).
    pub preferred_forms: Vec<EngagementForm>,
    /// Coarse location.
    pub location: Option<CoarseLocation>,
    /// How far they will travel, km (none stated: no limit).
    pub travel_radius_km: Option<u16>,
}

/// A resident as recommendations see them: facts, profile and recent activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Flags and caps, as bookings see them.
    pub facts: ResidentFacts,
    /// What they state.
    pub profile: Profile,
    /// Confirmed commitments held.
    pub commitments: Vec<Commitment>,
    /// The periods of their confirmed engagements (first and last day).
    pub engagements: Vec<(NaiveDate, NaiveDate)>,
    /// Recorded recommendations that put them forward: per JST day, how often.
    pub offers: Vec<(NaiveDate, u32)>,
    /// Pieces they have an open or confirmed match on (filled in when ranking pieces for them).
    pub matched: Vec<PieceId>,
}

impl Candidate {
    /// Whether the index should hold them at all: active and consenting to matching.
    pub fn matchable(&self) -> bool {
        self.facts.active && self.facts.matching_consent
    }
}

/// What the hard filters and the score read of a resident, however it is held: a [`Candidate`]
/// as it is, or the candidate index's compact record of one (which reads the candidate itself
/// only for what it does not hold).
pub trait View {
    /// The resident's id.
    fn id(&self) -> &ResidentId;
    /// Active (not withdrawn or erased) and consenting to matching.
    fn active_and_consenting(&self) -> (bool, bool);
    /// A guest.
    fn guest(&self) -> bool;
    /// Their own caps: hours a week, days a month.
    fn caps(&self) -> (Option<u16>, Option<u16>);
    /// Where they live, and how far they travel.
    fn home(&self) -> (Option<CoarseLocation>, Option<u16>);
    /// The highest level held in `need`'s tag (0: none); `i` is `need`'s place among the piece's
    /// required skills.
    fn level(&self, i: usize, need: &Skill) -> u8;
    /// Whether the availability covers `slot`.
    fn covers(&self, slot: &WeeklyWindow) -> bool;
    /// Whether `field` is among the interests.
    fn interested_in(&self, field: Field) -> bool;
    /// Whether `form` is among the preferred forms; `None` when none is stated.
    fn prefers(&self, form: EngagementForm) -> Option<bool>;
    /// Commitments held.
    fn commitments(&self) -> &[Commitment];
    /// Confirmed engagements' periods.
    fn engagements(&self) -> &[(NaiveDate, NaiveDate)];
    /// Offers by day.
    fn offers(&self) -> &[(NaiveDate, u32)];
    /// Pieces with an open or confirmed match.
    fn matched(&self) -> &[PieceId];
}

impl View for Candidate {
    fn id(&self) -> &ResidentId {
        &self.facts.resident_id
    }
    fn active_and_consenting(&self) -> (bool, bool) {
        (self.facts.active, self.facts.matching_consent)
    }
    fn guest(&self) -> bool {
        self.facts.guest
    }
    fn caps(&self) -> (Option<u16>, Option<u16>) {
        (self.facts.max_hours_per_week, self.facts.max_days_per_month)
    }
    fn home(&self) -> (Option<CoarseLocation>, Option<u16>) {
        (self.profile.location, self.profile.travel_radius_km)
    }
    fn level(&self, _: usize, need: &Skill) -> u8 {
        self.profile
            .skills
            .iter()
            .filter(|s| s.tag == need.tag)
            .map(|s| s.level.get())
            .max()
            .unwrap_or(0)
    }
    fn covers(&self, slot: &WeeklyWindow) -> bool {
        covered(&self.profile.availability, slot)
    }
    fn interested_in(&self, field: Field) -> bool {
        self.profile.interests.contains(&field)
    }
    fn prefers(&self, form: EngagementForm) -> Option<bool> {
        let forms = &self.profile.preferred_forms;
        (!forms.is_empty()).then(|| forms.contains(&form))
    }
    fn commitments(&self) -> &[Commitment] {
        &self.commitments
    }
    fn engagements(&self) -> &[(NaiveDate, NaiveDate)] {
        &self.engagements
    }
    fn offers(&self) -> &[(NaiveDate, u32)] {
        &self.offers
    }
    fn matched(&self) -> &[PieceId] {
        &self.matched
    }
}

/// A piece as recommendations see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The piece's facts, as bookings see them.
    pub piece: PieceFacts,
    /// Its host.
    pub host: HostFacts,
    /// Skills every person on it needs.
    pub skills: Vec<Skill>,
    /// The activity's field.
    pub field: Field,
    /// Where it happens.
    pub place: Place,
    /// Seats not yet confirmed.
    pub open_seats: u32,
    /// What it asks of whoever takes it.
    pub commitment: Commitment,
    /// Residents with an open or confirmed match on it, sorted (filled in when ranking residents
    /// for it).
    pub matched: Vec<ResidentId>,
}

impl Target {
    /// A target of a piece's facts and what recommendations add to them.
    pub fn new(
        piece: PieceFacts,
        host: HostFacts,
        skills: Vec<Skill>,
        field: Field,
        place: Place,
        open_seats: u32,
    ) -> Self {
        let commitment = of_schedule(&piece.schedule);
        Self {
            piece,
            host,
            skills,
            field,
            place,
            open_seats,
            commitment,
            matched: Vec::new(),
        }
    }

    /// Whether the piece takes people now: published, not removed, not over, a seat open, and a
    /// host that may offer its form of engagement.
    pub fn open(&self, today: NaiveDate) -> Result<(), Filter> {
        let p = &self.piece;
        if p.activity_status != Status::Published
            || p.removed
            || self.open_seats == 0
            || self.commitment.last_day < today
        {
            return Err(Filter::PieceNotOpen);
        }
        let licensed = p
            .licence_needed()
            .is_none_or(|l| self.host.licences.contains(&l));
        if self.host.suspended || !licensed {
            return Err(Filter::HostNotAllowed);
        }
        Ok(())
    }
}

/// A hard filter: what excludes a candidate, in the order they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Withdrawn or erased.
    Inactive,
    /// No consent to matching.
    NoConsent,
    /// A guest, and the activity takes no per-application guests.
    Guest,
    /// An open or confirmed match on the piece already.
    AlreadyMatched,
    /// A required skill missing or below its level.
    Skills,
    /// Availability does not cover the piece's windows.
    Availability,
    /// Beyond the resident's travel radius.
    Distance,
    /// Overlaps a confirmed commitment.
    Overlap,
    /// The resident's or the municipality's caps would be exceeded.
    Caps,
    /// The piece takes nobody now (not published, removed, over or full).
    PieceNotOpen,
    /// The host is suspended or lacks the licence the form needs.
    HostNotAllowed,
}

impl Filter {
    /// The filter as events record it.
    pub fn code(self) -> mosaic_events::matching::FilterCode {
        use mosaic_events::matching::FilterCode as C;
        match self {
            Filter::Inactive => C::Inactive,
            Filter::NoConsent => C::NoConsent,
            Filter::Guest => C::Guest,
            Filter::AlreadyMatched => C::AlreadyMatched,
            Filter::Skills => C::Skills,
            Filter::Availability => C::Availability,
            Filter::Distance => C::Distance,
            Filter::Overlap => C::Overlap,
            Filter::Caps => C::Caps,
            Filter::PieceNotOpen => C::PieceNotOpen,
            Filter::HostNotAllowed => C::HostNotAllowed,
        }
    }
}

/// One factor of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Factor {
    /// Skill fit.
    Skill,
    /// Interest (field) fit.
    Interest,
    /// Engagement-form preference.
    Form,
    /// Nearness.
    Distance,
    /// Few or no engagements in the fairness window.
    FairnessBoost,
    /// Offered much in the fairness window (subtracts).
    OfferDampener,
}

/// What a factor's value is out of.
pub const FULL: u32 = 1000;
/// Offers in the window at which the dampener reaches half its value.
const OFFERS_AT_HALF: u32 = 5;
/// The scale of nearness for a resident who states no travel radius, km.
const NEARNESS_SCALE_KM: f64 = 10.0;

/// One factor's part of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// The factor.
    pub factor: Factor,
    /// Its weight in the policy.
    pub weight: u16,
    /// Its value, 0 to [`FULL`].
    pub value: u32,
    /// `weight × value`, negative for the dampener.
    pub points: i64,
}

/// A score: the sum of its parts' points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    /// The sum.
    pub total: i64,
    /// Each factor's part, in [`Factor`] order.
    pub parts: [Part; 6],
}

impl Score {
    fn of(parts: [Part; 6]) -> Self {
        Self {
            total: parts.iter().map(|p| p.points).sum(),
            parts,
        }
    }
}

/// Whether a resident may be recommended for `target` today, or the first filter that excludes
/// them.
pub fn check(
    v: &impl View,
    target: &Target,
    policy: &Policy,
    today: NaiveDate,
) -> Result<(), Filter> {
    let (active, consenting) = v.active_and_consenting();
    if !active {
        return Err(Filter::Inactive);
    }
    if !consenting {
        return Err(Filter::NoConsent);
    }
    if v.guest() && target.piece.application_mode != ApplicationMode::Open {
        return Err(Filter::Guest);
    }
    if v.matched().contains(&target.piece.piece_id)
        || (!target.matched.is_empty() && target.matched.binary_search(v.id()).is_ok())
    {
        return Err(Filter::AlreadyMatched);
    }
    if !target
        .skills
        .iter()
        .enumerate()
        .all(|(i, need)| v.level(i, need) >= need.level.get())
    {
        return Err(Filter::Skills);
    }
    if !target.commitment.slots.iter().all(|slot| v.covers(slot)) {
        return Err(Filter::Availability);
    }
    let (home, radius) = v.home();
    if let (Some(d), Some(radius)) = (home.and_then(|h| distance_from(h, &target.place)), radius)
        && d > f64::from(radius)
    {
        return Err(Filter::Distance);
    }
    let live = || v.commitments().iter().filter(|h| h.last_day >= today);
    if live().any(|h| h.clashes_with(&target.commitment)) {
        return Err(Filter::Overlap);
    }
    within_caps_of(v.caps(), policy, live(), &target.commitment).map_err(|_| Filter::Caps)?;
    Ok(())
}

/// The score of a candidate for a target (meaningful for one that passed [`check`]).
pub fn score(v: &impl View, target: &Target, policy: &Policy, today: NaiveDate) -> Score {
    let w = &policy.weights;
    let skill = if target.skills.is_empty() {
        FULL
    } else {
        // How far the resident's level reaches in each required skill, out of the top level.
        let sum: u32 = target
            .skills
            .iter()
            .enumerate()
            .map(|(i, need)| u32::from(v.level(i, need)) * FULL / 5)
            .sum();
        sum / target.skills.len() as u32
    };
    let interest = if v.interested_in(target.field) {
        FULL
    } else {
        0
    };
    let form = match v.prefers(target.piece.engagement_form) {
        None => FULL / 2,
        Some(true) => FULL,
        Some(false) => 0,
    };
    let nearness = if target.place.online {
        FULL
    } else {
        let (home, radius) = v.home();
        match home.and_then(|h| distance_from(h, &target.place)) {
            None => FULL / 2,
            Some(d) => {
                let scale = radius.map_or(NEARNESS_SCALE_KM, |r| f64::from(r.max(1)));
                (f64::from(FULL) * (1.0 - d / scale)).round().max(0.0) as u32
            }
        }
    };
    let since = today
        .checked_sub_days(Days::new(u64::from(policy.fairness_window_days)))
        .unwrap_or(NaiveDate::MIN);
    let engaged = v
        .engagements()
        .iter()
        .filter(|(_, last)| *last >= since)
        .count() as u32;
    let offered: u32 = v
        .offers()
        .iter()
        .filter(|(day, _)| *day >= since && *day <= today)
        .map(|(_, n)| n)
        .sum();
    let boost = FULL / (1 + engaged);
    let dampener = FULL * offered / (offered + OFFERS_AT_HALF);
    let part = |factor, weight: u16, value: u32, sign: i64| Part {
        factor,
        weight,
        value,
        points: sign * i64::from(weight) * i64::from(value),
    };
    Score::of([
        part(Factor::Skill, w.skill, skill, 1),
        part(Factor::Interest, w.interest, interest, 1),
        part(Factor::Form, w.form, form, 1),
        part(Factor::Distance, w.distance, nearness, 1),
        part(Factor::FairnessBoost, w.fairness_boost, boost, 1),
        part(Factor::OfferDampener, w.offer_dampener, dampener, -1),
    ])
}

/// Whether the windows together cover all of `slot` (two windows that meet cover across the
/// minute they meet). Without allocating: a resident states a handful of windows.
pub fn covered(windows: &[WeeklyWindow], slot: &WeeklyWindow) -> bool {
    let mut reached = slot.start();
    loop {
        let further = windows
            .iter()
            .filter(|w| w.weekday() == slot.weekday() && w.start() <= reached)
            .map(|w| w.end())
            .max()
            .filter(|end| *end > reached);
        match further {
            Some(end) if end >= slot.end() => return true,
            Some(end) => reached = end,
            None => return false,
        }
    }
}

/// The distance between where a resident lives and where an in-person piece happens, km, when
/// both are known.
pub fn distance_km(p: &Profile, place: &Place) -> Option<f64> {
    distance_from(p.location?, place)
}

/// The distance from a home to where an in-person piece happens, km, when the piece has a place
/// (an equirectangular approximation: exact enough within a municipality).
pub fn distance_from(home: CoarseLocation, place: &Place) -> Option<f64> {
    if place.online {
        return None;
    }
    let (lat, lon) = place.location?;
    let (hlat, hlon) = (
        f64::from(home.lat_centi) / 100.0,
        f64::from(home.lon_centi) / 100.0,
    );
    let mean_lat = ((lat + hlat) / 2.0).to_radians();
    let dx = (lon - hlon) * 111.32 * mean_lat.cos();
    let dy = (lat - hlat) * 110.57;
    Some((dx * dx + dy * dy).sqrt())
}
