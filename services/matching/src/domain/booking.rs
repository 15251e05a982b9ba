//! One match's workflow, and the decision that spans the three streams a booking touches.
//!
//! Why three streams and one append: a confirmation must hold over the piece's seats (never more
//! confirmed people than its headcount) *and* over the person's other commitments (no overlap,
//! caps), and two confirmations of different matches may race on either. Each decision reads
//! the match, the piece's seats (`seats-<piece>`) and the person's commitments
//! (`commitments-<resident>`) and writes to every stream it decided on in one append that
//! expects each at the version read (`AppendRequest::also`). Two confirmations that read the
//! same seats or the same commitments cannot both commit: the second is a version conflict,
//! decided again against what the first wrote. There is no step between a seat and a
//! commitment in which a crash or a race could leave either half alone.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use mosaic_events::activity::{ApplicationMode, Status};
use mosaic_events::matching::*;
use mosaic_types::{MatchId, PieceId, ResidentId};

use super::MatchError;
use super::commitment::of_schedule;
use super::error::CapUnit;
use super::facts::{HostFacts, PieceFacts, Policy, ResidentFacts};

/// Where a match stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Stage {
    /// Never opened.
    #[default]
    None,
    /// Applied or proposed; not yet confirmed.
    Open,
    /// Confirmed: the resident holds a seat.
    Confirmed,
    /// Declined, withdrawn, cancelled or ended; it may be opened again.
    Ended,
}

impl Stage {
    /// The name answers use.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "not opened",
            Stage::Open => "open",
            Stage::Confirmed => "confirmed",
            Stage::Ended => "ended",
        }
    }
}

/// Where a match's interview stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Interview {
    /// None scheduled.
    #[default]
    None,
    /// Scheduled for this instant.
    Scheduled(DateTime<Utc>),
    /// Held, and both sides want to go on.
    Passed,
}

/// One match, folded from its stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Match {
    /// How the current round began (the latest `MatchOpened`).
    pub opened: Option<MatchOpened>,
    /// Where it stands.
    pub stage: Stage,
    /// The resident accepted (an application counts as the resident's acceptance).
    pub resident_accepted: bool,
    /// The host accepted.
    pub host_accepted: bool,
    /// The interview.
    pub interview: Interview,
    /// What the resident committed to, once confirmed.
    pub commitment: Option<Commitment>,
    /// What ended it last: the event's stored name.
    pub ended_by: Option<&'static str>,
}

impl Match {
    /// The state after one event of its stream.
    pub fn evolve(mut self, event: &MatchingEvent) -> Self {
        match event {
            MatchingEvent::MatchOpened(o) => {
                self = Match {
                    resident_accepted: o.origin != Origin::Proposal,
                    opened: Some(o.clone()),
                    stage: Stage::Open,
                    ..Match::default()
                };
            }
            MatchingEvent::InterviewScheduled(i) => self.interview = Interview::Scheduled(i.at),
            MatchingEvent::InterviewRecorded(r) if r.outcome == InterviewOutcome::Passed => {
                self.interview = Interview::Passed;
            }
            MatchingEvent::MatchAccepted(a) => match a.side {
                Side::Resident => self.resident_accepted = true,
                Side::Host => self.host_accepted = true,
            },
            MatchingEvent::MatchConfirmed(c) => {
                self.stage = Stage::Confirmed;
                self.commitment = Some(c.commitment.clone());
            }
            MatchingEvent::MatchDeclined(_) => self.end("MatchDeclined"),
            MatchingEvent::MatchWithdrawn(_) => self.end("MatchWithdrawn"),
            MatchingEvent::MatchCancelled(_) => self.end("MatchCancelled"),
            MatchingEvent::MatchEnded(_) => self.end("MatchEnded"),
            _ => {}
        }
        self
    }

    fn end(&mut self, by: &'static str) {
        self.stage = Stage::Ended;
        self.ended_by = Some(by);
    }

    /// What the match is waiting for, for refusals and answers.
    pub fn awaiting(&self) -> &'static str {
        match self.stage {
            Stage::Open if !self.resident_accepted => "open, awaiting the resident's acceptance",
            Stage::Open if !self.host_accepted => "open, awaiting the host's acceptance",
            Stage::Open if self.needs_interview() => "open, awaiting a passed interview",
            Stage::Open => "open, accepted by both sides",
            other => other.as_str(),
        }
    }

    fn needs_interview(&self) -> bool {
        self.opened.as_ref().is_some_and(|o| o.interview_required)
            && self.interview != Interview::Passed
    }
}

/// A piece's confirmed seats, folded from `seats-<piece>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seats {
    /// Every seat held, in the order the seats were taken: the match, its resident and what
    /// the resident committed to.
    pub taken: Vec<(MatchId, ResidentId, Commitment)>,
    /// The piece was removed or its activity cancelled: it takes no more confirmations.
    pub closed: Option<ReviewReason>,
}

impl Seats {
    /// The state after one event of its stream.
    pub fn evolve(mut self, event: &MatchingEvent) -> Self {
        match event {
            MatchingEvent::SeatTaken(s) => {
                self.taken.retain(|(m, _, _)| *m != s.match_id);
                self.taken.push((
                    s.match_id.clone(),
                    s.resident_id.clone(),
                    s.commitment.clone(),
                ));
            }
            MatchingEvent::SeatFreed(s) => {
                self.taken.retain(|(m, _, _)| *m != s.match_id);
            }
            MatchingEvent::SeatsReviewed(r) if r.reason != ReviewReason::PieceRevised => {
                self.closed = Some(r.reason);
            }
            _ => {}
        }
        self
    }
}

/// What a review of a piece's seats writes and ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The marker to append to the seats stream (at the version read).
    pub marker: MatchingEvent,
    /// The confirmed matches to end, each with its cause.
    pub end: Vec<(MatchId, EndCause)>,
}

/// Reviews a piece's seats against what activity last said of it. Pure. A removed piece or a
/// cancelled activity ends every confirmed match on it. A revised piece ends the matches whose
/// commitment is no longer the piece's schedule, then, if more seats are held than its
/// headcount, the latest confirmations beyond it.
pub fn review(
    piece: Option<&PieceFacts>,
    seats: &Seats,
    piece_id: &PieceId,
    reason: ReviewReason,
) -> Review {
    let marker = MatchingEvent::SeatsReviewed(SeatsReviewed {
        piece_id: piece_id.clone(),
        reason,
    });
    let all = |cause| {
        seats
            .taken
            .iter()
            .map(|(m, _, _)| (m.clone(), cause))
            .collect()
    };
    let end = match (reason, piece) {
        (ReviewReason::PieceRemoved, _) => all(EndCause::PieceRemoved),
        (ReviewReason::ActivityCancelled, _) => all(EndCause::ActivityCancelled),
        (ReviewReason::PieceRevised, None) => Vec::new(),
        (ReviewReason::PieceRevised, Some(p)) => {
            let now = of_schedule(&p.schedule);
            let (kept, moved): (Vec<_>, Vec<_>) =
                seats.taken.iter().partition(|(_, _, c)| *c == now);
            let mut end: Vec<_> = moved
                .into_iter()
                .map(|(m, _, _)| (m.clone(), EndCause::ScheduleChanged))
                .collect();
            end.extend(
                kept.into_iter()
                    .skip(p.headcount as usize)
                    .rev()
                    .map(|(m, _, _)| (m.clone(), EndCause::HeadcountCut)),
            );
            end
        }
    };
    Review { marker, end }
}

/// A person's confirmed commitments, folded from `commitments-<resident>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Commitments {
    /// Match → (piece, commitment), for every commitment held.
    pub held: BTreeMap<MatchId, (PieceId, Commitment)>,
}

impl Commitments {
    /// The state after one event of its stream.
    pub fn evolve(mut self, event: &MatchingEvent) -> Self {
        match event {
            MatchingEvent::CommitmentTaken(c) => {
                self.held.insert(
                    c.match_id.clone(),
                    (c.piece_id.clone(), c.commitment.clone()),
                );
            }
            MatchingEvent::CommitmentFreed(c) => {
                self.held.remove(&c.match_id);
            }
            _ => {}
        }
        self
    }
}

/// Everything one decision reads.
#[derive(Debug, Clone)]
pub struct Booking<'a> {
    /// The match's id (derived from the piece and the resident).
    pub match_id: &'a MatchId,
    /// The match's resident.
    pub resident_id: &'a ResidentId,
    /// The match's piece.
    pub piece_id: &'a PieceId,
    /// The match.
    pub the_match: &'a Match,
    /// The piece's seats (read for confirmations and releases).
    pub seats: &'a Seats,
    /// The resident's commitments (read for confirmations and releases).
    pub commitments: &'a Commitments,
    /// The resident, if matching knows them.
    pub resident: Option<&'a ResidentFacts>,
    /// The piece, if matching knows it.
    pub piece: Option<&'a PieceFacts>,
    /// The piece's host, if matching knows it.
    pub host: Option<&'a HostFacts>,
    /// The municipality's policy.
    pub policy: &'a Policy,
    /// Today (JST).
    pub today: NaiveDate,
}

/// What can be asked of a match. Who may ask is the API's check; what the match allows is this.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Apply or propose.
    Open {
        /// How.
        origin: Origin,
        /// The coordinator who applied or proposed.
        coordinator: Option<String>,
    },
    /// Schedule the interview.
    ScheduleInterview {
        /// When.
        at: DateTime<Utc>,
    },
    /// Record how the interview went.
    RecordInterview {
        /// The outcome.
        outcome: InterviewOutcome,
    },
    /// One side accepts.
    Accept {
        /// Which.
        side: Side,
    },
    /// One side declines.
    Decline {
        /// Which.
        side: Side,
        /// Why.
        reason: Reason,
    },
    /// The resident withdraws before the start.
    Withdraw {
        /// Why.
        reason: Reason,
    },
    /// A coordinator cancels.
    Cancel {
        /// Why.
        reason: Reason,
    },
    /// Confirm: the resident takes a seat.
    Confirm,
    /// Matching ends the match for a reason of its own (compensation).
    End {
        /// Why.
        cause: EndCause,
    },
}

/// The events a decision writes, per stream; all are appended together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Writes {
    /// To `match-<id>`.
    pub on_match: Vec<MatchingEvent>,
    /// To `seats-<piece>`.
    pub on_seats: Vec<MatchingEvent>,
    /// To `commitments-<resident>`.
    pub on_commitments: Vec<MatchingEvent>,
}

impl Writes {
    fn on_match(event: MatchingEvent) -> Self {
        Self {
            on_match: vec![event],
            ..Self::default()
        }
    }

    /// Whether the decision writes nothing (a repeated compensation).
    pub fn is_empty(&self) -> bool {
        self.on_match.is_empty() && self.on_seats.is_empty() && self.on_commitments.is_empty()
    }
}

/// Decides a command against everything the booking reads. Pure.
pub fn decide(b: &Booking<'_>, command: &Command) -> Result<Writes, MatchError> {
    let m = b.the_match;
    let id = b.match_id.as_str();
    match command {
        Command::Open {
            origin,
            coordinator,
        } => open(b, *origin, coordinator.clone()),
        Command::End { cause } => match m.stage {
            Stage::Open | Stage::Confirmed => Ok(release(
                b,
                MatchingEvent::MatchEnded(MatchEnded {
                    match_id: b.match_id.clone(),
                    cause: *cause,
                }),
            )),
            // A compensation that finds the match ended already has nothing to do.
            Stage::None | Stage::Ended => Ok(Writes::default()),
        },
        Command::Cancel { reason } => match m.stage {
            Stage::Open | Stage::Confirmed => Ok(release(
                b,
                MatchingEvent::MatchCancelled(MatchCancelled {
                    match_id: b.match_id.clone(),
                    reason: *reason,
                }),
            )),
            stage => Err(MatchError::step(id, "cancel", stage)),
        },
        Command::Withdraw { reason } => {
            if !matches!(m.stage, Stage::Open | Stage::Confirmed) {
                return Err(MatchError::step(id, "withdraw", m.stage));
            }
            let first_day = m
                .commitment
                .as_ref()
                .map(|c| c.first_day)
                .or_else(|| b.piece.map(|p| of_schedule(&p.schedule).first_day));
            if let Some(first_day) = first_day
                && b.today >= first_day
            {
                return Err(MatchError::Rule(format!(
                    "the piece started on {first_day}: a resident withdraws before the start; \
                     a coordinator may cancel"
                )));
            }
            Ok(release(
                b,
                MatchingEvent::MatchWithdrawn(MatchWithdrawn {
                    match_id: b.match_id.clone(),
                    reason: *reason,
                }),
            ))
        }
        Command::Decline { side, reason } => {
            open_only(m, id, "decline")?;
            Ok(Writes::on_match(MatchingEvent::MatchDeclined(
                MatchDeclined {
                    match_id: b.match_id.clone(),
                    side: *side,
                    reason: *reason,
                },
            )))
        }
        Command::Accept { side } => {
            open_only(m, id, "accept")?;
            let already = match side {
                Side::Resident => m.resident_accepted,
                Side::Host => m.host_accepted,
            };
            if already {
                return Err(MatchError::Step {
                    id: id.to_owned(),
                    action: "accept again",
                    stage: m.awaiting(),
                });
            }
            Ok(Writes::on_match(MatchingEvent::MatchAccepted(
                MatchAccepted {
                    match_id: b.match_id.clone(),
                    side: *side,
                },
            )))
        }
        Command::ScheduleInterview { at } => {
            open_only(m, id, "schedule an interview")?;
            if m.interview == Interview::Passed {
                return Err(MatchError::Step {
                    id: id.to_owned(),
                    action: "schedule an interview",
                    stage: "open, with its interview passed",
                });
            }
            Ok(Writes::on_match(MatchingEvent::InterviewScheduled(
                InterviewScheduled {
                    match_id: b.match_id.clone(),
                    at: *at,
                },
            )))
        }
        Command::RecordInterview { outcome } => {
            open_only(m, id, "record an interview")?;
            if !matches!(m.interview, Interview::Scheduled(_)) {
                return Err(MatchError::Step {
                    id: id.to_owned(),
                    action: "record an interview",
                    stage: "open, with no interview scheduled",
                });
            }
            let mut writes =
                Writes::on_match(MatchingEvent::InterviewRecorded(InterviewRecorded {
                    match_id: b.match_id.clone(),
                    outcome: *outcome,
                }));
            if *outcome == InterviewOutcome::NotPassed {
                writes.on_match.push(MatchingEvent::MatchEnded(MatchEnded {
                    match_id: b.match_id.clone(),
                    cause: EndCause::InterviewNotPassed,
                }));
            }
            Ok(writes)
        }
        Command::Confirm => confirm(b),
    }
}

fn open_only(m: &Match, id: &str, action: &'static str) -> Result<(), MatchError> {
    if m.stage == Stage::Open {
        Ok(())
    } else {
        Err(MatchError::step(id, action, m.stage))
    }
}

/// The resident and piece facts, or `NOT_FOUND` for the one matching does not know.
fn parties<'a>(b: &Booking<'a>) -> Result<(&'a ResidentFacts, &'a PieceFacts), MatchError> {
    let resident = b.resident.ok_or_else(|| MatchError::NotFound {
        kind: "resident",
        id: b.resident_id.to_string(),
    })?;
    let piece = b.piece.ok_or_else(|| MatchError::NotFound {
        kind: "piece",
        id: b.piece_id.to_string(),
    })?;
    Ok((resident, piece))
}

/// Rules that hold for opening and for confirming: the resident can be matched, the piece is
/// still there, the host may offer its form of engagement.
fn matchable(b: &Booking<'_>, r: &ResidentFacts, p: &PieceFacts) -> Result<(), MatchError> {
    if !r.active {
        return Err(MatchError::Rule(format!(
            "resident {} has withdrawn or was erased: they cannot be newly matched",
            r.resident_id
        )));
    }
    if !r.matching_consent {
        return Err(MatchError::Rule(format!(
            "resident {} has not consented to matching",
            r.resident_id
        )));
    }
    if p.removed {
        return Err(MatchError::Rule(format!(
            "piece {} was removed from its activity",
            p.piece_id
        )));
    }
    let host = b.host.cloned().unwrap_or_default();
    if host.suspended {
        return Err(MatchError::Rule(format!(
            "host organisation {} is suspended",
            p.host_organisation_id
        )));
    }
    if let Some(licence) = p.licence_needed()
        && !host.licences.contains(&licence)
    {
        return Err(MatchError::Rule(format!(
            "host organisation {} does not hold the {} licence that {} needs",
            p.host_organisation_id,
            licence.as_str(),
            p.engagement_form.as_str()
        )));
    }
    Ok(())
}

fn open(
    b: &Booking<'_>,
    origin: Origin,
    coordinator: Option<String>,
) -> Result<Writes, MatchError> {
    let (r, p) = parties(b)?;
    if matches!(b.the_match.stage, Stage::Open | Stage::Confirmed) {
        return Err(MatchError::Exists(b.match_id.to_string()));
    }
    matchable(b, r, p)?;
    if p.activity_status != Status::Published {
        return Err(MatchError::Rule(format!(
            "activity {} is {}: it takes no new applications",
            p.activity_id,
            p.activity_status.as_str()
        )));
    }
    if r.guest && p.application_mode != ApplicationMode::Open {
        return Err(MatchError::Rule(format!(
            "resident {} is a guest, and activity {} does not take per-application guests",
            r.resident_id, p.activity_id
        )));
    }
    if origin == Origin::ProxyApplication && !r.proxy_agreement {
        return Err(MatchError::Rule(format!(
            "resident {} has no confirmed proxy agreement: a coordinator cannot apply for them",
            r.resident_id
        )));
    }
    Ok(Writes::on_match(MatchingEvent::MatchOpened(MatchOpened {
        match_id: b.match_id.clone(),
        resident_id: r.resident_id.clone(),
        piece_id: p.piece_id.clone(),
        activity_id: p.activity_id.clone(),
        host_organisation_id: p.host_organisation_id.clone(),
        origin,
        coordinator,
        interview_required: p.interview_required(),
        guest: r.guest,
    })))
}

fn confirm(b: &Booking<'_>) -> Result<Writes, MatchError> {
    let m = b.the_match;
    let id = b.match_id.as_str();
    open_only(m, id, "confirm")?;
    if !m.resident_accepted || !m.host_accepted || m.needs_interview() {
        return Err(MatchError::Step {
            id: id.to_owned(),
            action: "confirm",
            stage: m.awaiting(),
        });
    }
    let (r, p) = parties(b)?;
    matchable(b, r, p)?;
    if matches!(p.activity_status, Status::Closed | Status::Cancelled) {
        return Err(MatchError::Rule(format!(
            "activity {} is {}",
            p.activity_id,
            p.activity_status.as_str()
        )));
    }
    if let Some(reason) = b.seats.closed {
        return Err(MatchError::Rule(format!(
            "piece {} takes no more confirmations ({})",
            p.piece_id,
            reason.as_str()
        )));
    }
    let taken = b.seats.taken.len() as u32;
    if taken >= p.headcount {
        return Err(MatchError::Full {
            piece: p.piece_id.to_string(),
            headcount: p.headcount,
            taken,
        });
    }
    let commitment = of_schedule(&p.schedule);
    if let Some((piece, _)) = b
        .commitments
        .held
        .values()
        .find(|(_, held)| held.clashes_with(&commitment))
    {
        return Err(MatchError::DoubleBooked {
            other: piece.to_string(),
        });
    }
    within_caps(b, r, &commitment)?;
    let opened = m
        .opened
        .as_ref()
        .ok_or_else(|| MatchError::step(id, "confirm", m.stage))?;
    Ok(Writes {
        on_match: vec![MatchingEvent::MatchConfirmed(MatchConfirmed {
            match_id: b.match_id.clone(),
            resident_id: opened.resident_id.clone(),
            piece_id: opened.piece_id.clone(),
            activity_id: opened.activity_id.clone(),
            host_organisation_id: opened.host_organisation_id.clone(),
            commitment: commitment.clone(),
        })],
        on_seats: vec![MatchingEvent::SeatTaken(SeatTaken {
            piece_id: opened.piece_id.clone(),
            match_id: b.match_id.clone(),
            resident_id: opened.resident_id.clone(),
            commitment: commitment.clone(),
        })],
        on_commitments: vec![MatchingEvent::CommitmentTaken(CommitmentTaken {
            resident_id: opened.resident_id.clone(),
            match_id: b.match_id.clone(),
            piece_id: opened.piece_id.clone(),
            commitment,
        })],
    })
}

/// The caps, against the commitments the booking read.
fn within_caps(b: &Booking<'_>, r: &ResidentFacts, new: &Commitment) -> Result<(), MatchError> {
    let held = b.commitments.held.values().map(|(_, c)| c);
    within_caps_of(
        (r.max_hours_per_week, r.max_days_per_month),
        b.policy,
        held,
        new,
    )
}

/// The caps: the commitments held in periods that overlap the new one are counted as if they
/// all fell in the same week (hours) and the same month (days) — an upper bound, so a
/// confirmation never takes anyone over a cap. Recommendations filter by the same rule.
pub fn within_caps_of<'a>(
    (own_hours, own_days): (Option<u16>, Option<u16>),
    policy: &Policy,
    held: impl Iterator<Item = &'a Commitment>,
    new: &Commitment,
) -> Result<(), MatchError> {
    let (mut minutes, mut days) = (0u32, 0u32);
    for c in held.filter(|c| c.overlaps_period(new)) {
        minutes += c.minutes_per_week;
        days += c.days_per_month;
    }
    let caps = [
        (
            "max_hours_per_week",
            own_hours,
            policy.max_hours_per_week,
            CapUnit::Minutes,
            minutes,
            new.minutes_per_week,
        ),
        (
            "max_days_per_month",
            own_days,
            policy.max_days_per_month,
            CapUnit::Days,
            days,
            new.days_per_month,
        ),
    ];
    for (cap, own, municipal, unit, held, asked) in caps {
        // The tighter of the two rules applies; on a tie, the resident's own is named.
        let tightest = match (own, municipal) {
            (Some(o), Some(m)) if m < o => Some((m, "the municipality's")),
            (Some(o), _) => Some((o, "the resident's")),
            (None, Some(m)) => Some((m, "the municipality's")),
            (None, None) => None,
        };
        if let Some((limit, whose)) = tightest {
            let limit = u32::from(limit) * if unit == CapUnit::Minutes { 60 } else { 1 };
            if held + asked > limit {
                return Err(MatchError::Cap {
                    cap,
                    whose,
                    unit,
                    limit,
                    held,
                    asked,
                });
            }
        }
    }
    Ok(())
}

/// A match's end, freeing its seat and commitment if it was confirmed.
fn release(b: &Booking<'_>, end: MatchingEvent) -> Writes {
    let mut writes = Writes::on_match(end);
    if b.the_match.stage == Stage::Confirmed
        && let Some(opened) = &b.the_match.opened
    {
        writes.on_seats.push(MatchingEvent::SeatFreed(SeatChanged {
            piece_id: opened.piece_id.clone(),
            match_id: b.match_id.clone(),
            resident_id: opened.resident_id.clone(),
        }));
        writes
            .on_commitments
            .push(MatchingEvent::CommitmentFreed(CommitmentFreed {
                resident_id: opened.resident_id.clone(),
                match_id: b.match_id.clone(),
            }));
    }
    writes
}

#[cfg(test)]
mod tests {
    use mosaic_events::activity::Schedule;
    use mosaic_types::{EngagementForm, Weekday, WeeklyWindow};

    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    fn piece(headcount: u32, form: EngagementForm) -> PieceFacts {
        PieceFacts {
            piece_id: "p".into(),
            activity_id: "a".into(),
            host_organisation_id: "h".into(),
            activity_status: Status::Published,
            removed: false,
            headcount,
            engagement_form: form,
            application_mode: ApplicationMode::Open,
            schedule: Schedule::Weekly {
                window: WeeklyWindow::new(Weekday::Monday, 540, 720)
                    .unwrap_or_else(|_| unreachable!()),
                from: day("2027-04-05"),
                to: day("2027-09-27"),
                exceptions: vec![],
                skip_national_holidays: false,
            },
        }
    }

    fn resident() -> ResidentFacts {
        ResidentFacts {
            resident_id: "r".into(),
            active: true,
            guest: false,
            matching_consent: true,
            proxy_agreement: false,
            max_hours_per_week: None,
            max_days_per_month: None,
        }
    }

    /// Runs commands in order against one match, its piece's seats and its resident's
    /// commitments; the last command's result.
    struct Given {
        piece: PieceFacts,
        resident: ResidentFacts,
        the_match: Match,
        seats: Seats,
        commitments: Commitments,
        today: NaiveDate,
    }

    impl Given {
        fn new(piece: PieceFacts) -> Self {
            Self {
                piece,
                resident: resident(),
                the_match: Match::default(),
                seats: Seats::default(),
                commitments: Commitments::default(),
                today: day("2027-01-01"),
            }
        }

        fn when(&mut self, command: Command) -> Result<Writes, MatchError> {
            let (id, policy) = (MatchId::from("m"), Policy::default());
            let writes = decide(
                &Booking {
                    match_id: &id,
                    resident_id: &self.resident.resident_id,
                    piece_id: &self.piece.piece_id,
                    the_match: &self.the_match,
                    seats: &self.seats,
                    commitments: &self.commitments,
                    resident: Some(&self.resident),
                    piece: Some(&self.piece),
                    host: None,
                    policy: &policy,
                    today: self.today,
                },
                &command,
            )?;
            let m = std::mem::take(&mut self.the_match);
            self.the_match = writes.on_match.iter().fold(m, |m, e| m.evolve(e));
            let s = std::mem::take(&mut self.seats);
            self.seats = writes.on_seats.iter().fold(s, |s, e| s.evolve(e));
            let c = std::mem::take(&mut self.commitments);
            self.commitments = writes.on_commitments.iter().fold(c, |c, e| c.evolve(e));
            Ok(writes)
        }

        fn applied_and_accepted(mut self) -> Self {
            let open = Command::Open {
                origin: Origin::Application,
                coordinator: None,
            };
            assert!(self.when(open).is_ok());
            assert!(self.when(Command::Accept { side: Side::Host }).is_ok());
            self
        }
    }

    #[test]
    fn a_confirmation_takes_a_seat_and_a_commitment_in_one_decision() {
        let mut g = Given::new(piece(1, EngagementForm::Volunteer)).applied_and_accepted();
        let writes = g.when(Command::Confirm).unwrap_or_default();
        assert_eq!(writes.on_seats.len(), 1);
        assert_eq!(writes.on_commitments.len(), 1);
        assert_eq!(g.the_match.stage, Stage::Confirmed);
        assert_eq!(g.seats.taken.len(), 1);
    }

    #[test]
    fn a_full_piece_refuses_a_confirmation_and_names_the_seats() {
        let mut g = Given::new(piece(1, EngagementForm::Volunteer)).applied_and_accepted();
        let c = of_schedule(&g.piece.schedule);
        g.seats.taken.push(("other".into(), "someone".into(), c));
        let refused = g.when(Command::Confirm);
        assert_eq!(
            refused,
            Err(MatchError::Full {
                piece: "p".into(),
                headcount: 1,
                taken: 1
            })
        );
        assert_eq!(g.the_match.stage, Stage::Open);
    }

    #[test]
    fn an_internship_confirms_only_after_a_passed_interview_and_a_failed_one_ends_it() {
        let mut g = Given::new(piece(2, EngagementForm::Internship)).applied_and_accepted();
        assert!(matches!(
            g.when(Command::Confirm),
            Err(MatchError::Step { .. })
        ));
        let at = chrono::DateTime::UNIX_EPOCH;
        assert!(g.when(Command::ScheduleInterview { at }).is_ok());
        let outcome = InterviewOutcome::NotPassed;
        let writes = g
            .when(Command::RecordInterview { outcome })
            .unwrap_or_default();
        assert_eq!(writes.on_match.len(), 2, "recorded, and the match ended");
        assert_eq!(g.the_match.stage, Stage::Ended);
    }

    #[test]
    fn ending_a_confirmed_match_frees_its_seat_and_commitment() {
        let mut g = Given::new(piece(1, EngagementForm::Volunteer)).applied_and_accepted();
        assert!(g.when(Command::Confirm).is_ok());
        let reason = Reason::HostRequest;
        let writes = g.when(Command::Cancel { reason }).unwrap_or_default();
        assert_eq!((writes.on_seats.len(), writes.on_commitments.len()), (1, 1));
        assert!(g.seats.taken.is_empty() && g.commitments.held.is_empty());
        // A compensation that finds it ended writes nothing.
        let cause = EndCause::PieceRemoved;
        assert_eq!(g.when(Command::End { cause }), Ok(Writes::default()));
    }

    #[test]
    fn a_resident_withdraws_only_before_the_start() {
        let mut g = Given::new(piece(1, EngagementForm::Volunteer)).applied_and_accepted();
        assert!(g.when(Command::Confirm).is_ok());
        g.today = day("2027-04-05");
        let reason = Reason::Health;
        assert!(matches!(
            g.when(Command::Withdraw { reason }),
            Err(MatchError::Rule(_))
        ));
        g.today = day("2027-04-04");
        assert!(g.when(Command::Withdraw { reason }).is_ok());
    }

    #[test]
    fn staff_apply_for_a_resident_only_under_a_proxy_agreement() {
        let mut g = Given::new(piece(1, EngagementForm::Volunteer));
        let open = Command::Open {
            origin: Origin::ProxyApplication,
            coordinator: Some("c".into()),
        };
        assert!(matches!(g.when(open.clone()), Err(MatchError::Rule(_))));
        g.resident.proxy_agreement = true;
        assert!(g.when(open).is_ok());
        assert!(!g.the_match.host_accepted && g.the_match.resident_accepted);
    }

    #[test]
    fn dispatch_needs_the_hosts_licence() {
        let mut g = Given::new(piece(1, EngagementForm::Dispatch));
        let open = Command::Open {
            origin: Origin::Application,
            coordinator: None,
        };
        let refused = g.when(open);
        assert!(
            matches!(&refused, Err(MatchError::Rule(m)) if m.contains("worker_dispatch")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_review_ends_what_a_revised_piece_can_no_longer_hold() {
        let facts = piece(1, EngagementForm::Volunteer);
        let held = of_schedule(&facts.schedule);
        let mut seats = Seats::default();
        for m in ["first", "second", "third"] {
            seats = seats.evolve(&MatchingEvent::SeatTaken(SeatTaken {
                piece_id: "p".into(),
                match_id: m.into(),
                resident_id: "r".into(),
                commitment: held.clone(),
            }));
        }
        let revised = ReviewReason::PieceRevised;
        let r = review(Some(&facts), &seats, &"p".into(), revised);
        let cut = EndCause::HeadcountCut;
        assert_eq!(r.end, vec![("third".into(), cut), ("second".into(), cut)]);
        // Moved to Tuesdays: every commitment is another schedule's.
        let mut moved = facts.clone();
        if let Schedule::Weekly { window, .. } = &mut moved.schedule {
            *window =
                WeeklyWindow::new(Weekday::Tuesday, 540, 720).unwrap_or_else(|_| unreachable!());
        }
        let r = review(Some(&moved), &seats, &"p".into(), revised);
        assert!(r.end.iter().all(|(_, c)| *c == EndCause::ScheduleChanged));
        assert_eq!(r.end.len(), 3);
        let removed = ReviewReason::PieceRemoved;
        let r = review(Some(&facts), &seats, &"p".into(), removed);
        assert_eq!(r.end.len(), 3, "a removed piece keeps no one");
        // After the review's marker, the piece takes no more confirmations.
        let closed = seats.evolve(&r.marker);
        assert_eq!(closed.closed, Some(removed));
        let mut g = Given::new(facts).applied_and_accepted();
        g.seats = Seats {
            taken: vec![],
            closed: Some(removed),
        };
        let refused = g.when(Command::Confirm);
        assert!(matches!(&refused, Err(MatchError::Rule(m)) if m.contains("piece_removed")));
    }
}
