//! Random sequences of workflow commands over a small municipality: whatever is asked in
//! whatever order, no piece holds more confirmed people than its headcount, nobody holds two
//! confirmed pieces at overlapping times, everyone stays within the tighter of their caps and
//! the municipality's, and the seats, the commitments and the matches agree.

use std::collections::HashMap;

use chrono::NaiveDate;
use mosaic_events::activity::{ApplicationMode, Schedule, Status};
use mosaic_types::{EngagementForm, MatchId, PieceId, ResidentId, Weekday, WeeklyWindow};
use proptest::prelude::*;

use super::commitment::of_schedule;
use super::*;

const PIECES: usize = 3;
const RESIDENTS: usize = 3;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap_or_default()
}

/// A small world: pieces with random windows and headcounts, residents with random caps.
#[derive(Debug, Clone)]
struct World {
    pieces: Vec<PieceFacts>,
    residents: Vec<ResidentFacts>,
    policy: Policy,
}

fn world() -> impl Strategy<Value = World> {
    let piece = (
        0usize..3,
        0u32..4,
        1u32..4,
        1u32..3,
        any::<bool>(),
        any::<bool>(),
    );
    let resident = (
        proptest::option::of(2u16..10),
        proptest::option::of(4u16..16),
    );
    (
        proptest::collection::vec(piece, PIECES),
        proptest::collection::vec(resident, RESIDENTS),
        proptest::option::of(2u16..12),
    )
        .prop_map(|(pieces, residents, municipal_hours)| World {
            pieces: pieces
                .into_iter()
                .enumerate()
                .map(|(i, (weekday, start, hours, headcount, late, interview))| {
                    let start = 480 + start * 60;
                    let window =
                        WeeklyWindow::new(Weekday::ALL[weekday], start, start + hours * 60)
                            .unwrap_or_else(|_| unreachable!("within the day"));
                    let (from, to) = if late {
                        (day("2027-06-07"), day("2027-12-27"))
                    } else {
                        (day("2027-04-05"), day("2027-07-26"))
                    };
                    PieceFacts {
                        piece_id: PieceId::from(format!("piece-{i}")),
                        activity_id: "activity".into(),
                        host_organisation_id: "host".into(),
                        activity_status: Status::Published,
                        removed: false,
                        headcount,
                        engagement_form: if interview {
                            EngagementForm::Internship
                        } else {
                            EngagementForm::Volunteer
                        },
                        application_mode: ApplicationMode::Open,
                        schedule: Schedule::Weekly {
                            window,
                            from,
                            to,
                            exceptions: vec![],
                            skip_national_holidays: false,
                        },
                    }
                })
                .collect(),
            residents: residents
                .into_iter()
                .enumerate()
                .map(|(i, (hours, days))| ResidentFacts {
                    resident_id: ResidentId::from(format!("resident-{i}")),
                    active: true,
                    guest: false,
                    matching_consent: true,
                    proxy_agreement: true,
                    max_hours_per_week: hours,
                    max_days_per_month: days,
                })
                .collect(),
            policy: Policy {
                version: 1,
                max_hours_per_week: municipal_hours,
                max_days_per_month: None,
                ..Policy::default()
            },
        })
}

/// A command, weighted towards the steps that lead to confirmations, so that most sequences
/// confirm several matches and then keep ending and confirming them.
fn command() -> impl Strategy<Value = Command> {
    let side = || prop_oneof![Just(Side::Resident), Just(Side::Host)];
    let origin = prop_oneof![
        Just(Origin::Application),
        Just(Origin::ProxyApplication),
        Just(Origin::Proposal)
    ];
    prop_oneof![
        4 => origin.prop_map(|origin| Command::Open { origin, coordinator: None }),
        2 => Just(Command::ScheduleInterview { at: chrono::DateTime::UNIX_EPOCH }),
        2 => Just(Command::RecordInterview { outcome: InterviewOutcome::Passed }),
        1 => Just(Command::RecordInterview { outcome: InterviewOutcome::NotPassed }),
        6 => side().prop_map(|side| Command::Accept { side }),
        1 => side().prop_map(|side| Command::Decline { side, reason: Reason::Other }),
        1 => Just(Command::Withdraw { reason: Reason::Other }),
        1 => Just(Command::Cancel { reason: Reason::Other }),
        8 => Just(Command::Confirm),
        1 => Just(Command::End { cause: EndCause::PieceRemoved }),
    ]
}

/// The streams, as the store would hold them after each accepted decision.
#[derive(Default)]
struct Log {
    matches: HashMap<MatchId, Match>,
    seats: HashMap<PieceId, Seats>,
    commitments: HashMap<ResidentId, Commitments>,
}

impl Log {
    fn run(&mut self, w: &World, r: usize, p: usize, command: &Command) {
        let (resident, piece) = (&w.residents[r], &w.pieces[p]);
        let id = MatchId::from(format!("{r}-{p}"));
        let the_match = self.matches.get(&id).cloned().unwrap_or_default();
        let seats = self.seats.get(&piece.piece_id).cloned().unwrap_or_default();
        let commitments = self
            .commitments
            .get(&resident.resident_id)
            .cloned()
            .unwrap_or_default();
        let booking = Booking {
            match_id: &id,
            resident_id: &resident.resident_id,
            piece_id: &piece.piece_id,
            the_match: &the_match,
            seats: &seats,
            commitments: &commitments,
            resident: Some(resident),
            piece: Some(piece),
            host: None,
            policy: &w.policy,
            today: day("2027-01-01"),
        };
        let Ok(writes) = decide(&booking, command) else {
            return;
        };
        let fold_into =
            |events: &[MatchingEvent], seats: Seats| events.iter().fold(seats, |s, e| s.evolve(e));
        self.seats
            .insert(piece.piece_id.clone(), fold_into(&writes.on_seats, seats));
        self.commitments.insert(
            resident.resident_id.clone(),
            writes
                .on_commitments
                .iter()
                .fold(commitments, |c, e| c.evolve(e)),
        );
        self.matches.insert(
            id,
            writes.on_match.iter().fold(the_match, |m, e| m.evolve(e)),
        );
    }

    fn check(&self, w: &World) -> Result<(), TestCaseError> {
        for p in &w.pieces {
            let taken = self
                .seats
                .get(&p.piece_id)
                .map(|s| s.taken.len())
                .unwrap_or(0);
            prop_assert!(
                taken as u32 <= p.headcount,
                "piece {} overbooked",
                p.piece_id
            );
        }
        for r in &w.residents {
            let held: Vec<_> = self
                .commitments
                .get(&r.resident_id)
                .map(|c| c.held.values().map(|(_, c)| c.clone()).collect())
                .unwrap_or_default();
            for (i, a) in held.iter().enumerate() {
                for b in &held[i + 1..] {
                    prop_assert!(!a.clashes_with(b), "{} double-booked", r.resident_id);
                }
                // Within the caps, counting every commitment whose period overlaps this one.
                let minutes: u32 = held
                    .iter()
                    .filter(|b| a.overlaps_period(b))
                    .map(|b| b.minutes_per_week)
                    .sum();
                let caps = [r.max_hours_per_week, w.policy.max_hours_per_week];
                for cap in caps.into_iter().flatten() {
                    prop_assert!(
                        minutes <= u32::from(cap) * 60,
                        "{} over {cap} h",
                        r.resident_id
                    );
                }
                let days: u32 = held
                    .iter()
                    .filter(|b| a.overlaps_period(b))
                    .map(|b| b.days_per_month)
                    .sum();
                if let Some(cap) = r.max_days_per_month {
                    prop_assert!(days <= u32::from(cap), "{} over {cap} days", r.resident_id);
                }
            }
        }
        // The three kinds of stream agree: a match is confirmed exactly when it holds a seat of
        // its piece and a commitment of its resident, with the piece's commitment.
        for (id, m) in &self.matches {
            let Some(o) = &m.opened else { continue };
            let seat = self.seats.get(&o.piece_id).is_some_and(|s| {
                s.taken
                    .iter()
                    .any(|(m, r, _)| m == id && *r == o.resident_id)
            });
            let commitment = self
                .commitments
                .get(&o.resident_id)
                .and_then(|c| c.held.get(id).cloned());
            let confirmed = m.stage == Stage::Confirmed;
            prop_assert_eq!(seat, confirmed, "seat of {}", id);
            prop_assert_eq!(commitment.is_some(), confirmed, "commitment of {}", id);
            if let Some((piece, c)) = commitment {
                let facts = w.pieces.iter().find(|p| p.piece_id == piece);
                prop_assert_eq!(Some(c), facts.map(|p| of_schedule(&p.schedule)));
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_sequence_of_commands_breaks_the_booking_invariant(
        w in world(),
        steps in proptest::collection::vec((0..RESIDENTS, 0..PIECES, command()), 1..300),
    ) {
        let mut log = Log::default();
        for (r, p, command) in &steps {
            log.run(&w, *r, *p, command);
            log.check(&w)?;
        }
    }
}
