//! One engagement: opened from a confirmed match, then the attendance of its sessions and
//! spontaneous engagement observed, then its end. A session is a date on which the commitment's weekly windows fall, within its period and
//! not after today; recording it again with other figures corrects it, with the same figures
//! changes nothing.

use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;

use mosaic_events::followup::{
    AttendanceRecorded, AttendanceStatus, Author, Certificate, CertificateIssued, CheckInRecorded,
    EngagementEndReason, EngagementEnded, EngagementOpened, FeedbackDirection, FeedbackGiven,
    FollowUpEvent, Milestone, ReflectionRecorded, Reporter, RiskFlag,
    SpontaneousEngagementObserved, SpontaneousPattern,
};
use mosaic_types::{DAY_MINUTES, Weekday};

use super::journal::{self, Entry};

/// Why a command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowUpError {
    /// No such engagement.
    #[error("engagement {0} does not exist in this municipality")]
    NotFound(String),
    /// A rule of the engagement refuses it (FAILED_PRECONDITION).
    #[error("{0}")]
    Rule(String),
    /// The caller may not do this (PERMISSION_DENIED).
    #[error("{0}")]
    Forbidden(String),
    /// A value out of its range (INVALID_ARGUMENT), naming the field.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
}

/// What can be asked of an engagement.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open it from a confirmation (the consumer of `MatchConfirmed` asks; once only).
    Open(EngagementOpened),
    /// Record one session's attendance.
    Record {
        /// The session's date.
        session: NaiveDate,
        /// What became of it.
        status: AttendanceStatus,
        /// Minutes taken part.
        minutes: u32,
        /// Who records it.
        by: Reporter,
        /// Today (JST): no session is recorded before it happens.
        today: NaiveDate,
        /// The field the entry came in, for refusals (`entries[3]`; empty: the request's own).
        field: String,
    },
    /// Note spontaneous engagement that grew out of it.
    Observe {
        /// Which kind.
        pattern: SpontaneousPattern,
        /// When it was observed.
        on: NaiveDate,
        /// Today (JST): nothing is observed before it happens.
        today: NaiveDate,
    },
    /// Write an entry of its journal: a check-in, a reflection or feedback.
    Journal {
        /// The entry, its text sealed.
        entry: Entry,
        /// When it took place.
        on: NaiveDate,
        /// Who writes it.
        author: Author,
        /// Today (JST): nothing is written before it happens.
        today: NaiveDate,
    },
    /// Record its certificate, signed at the edge from the engagement as it stands.
    Certify {
        /// What it says.
        certificate: Certificate,
        /// The signed document.
        document: String,
        /// Whether the activity offers certificates (or is an internship).
        offered: bool,
    },
    /// End it.
    End {
        /// Why.
        reason: EngagementEndReason,
        /// The last day it counted.
        last_day: NaiveDate,
        /// Today (JST): an end asked for is not after it.
        today: NaiveDate,
    },
}

/// One engagement, folded from its stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Engagement {
    /// How it was opened.
    pub opened: Option<EngagementOpened>,
    /// The latest record of each session, by date: status, minutes, and who recorded it.
    pub sessions: std::collections::BTreeMap<NaiveDate, (AttendanceStatus, u32, Reporter)>,
    /// How it ended, if it did.
    pub ended: Option<EngagementEnded>,
    /// Spontaneous engagement observed, by kind and day.
    pub observed: std::collections::BTreeSet<(NaiveDate, SpontaneousPattern)>,
    /// Check-ins, in the order written.
    pub check_ins: Vec<CheckInRecorded>,
    /// The latest reflection at each milestone.
    pub reflections: BTreeMap<Milestone, ReflectionRecorded>,
    /// The latest feedback in each direction.
    pub feedback: BTreeMap<FeedbackDirection, FeedbackGiven>,
    /// Its certificate, once issued.
    pub certificate: Option<CertificateIssued>,
}

impl Engagement {
    /// Minutes attended over all sessions, as the host or staff recorded them (verified).
    pub fn minutes(&self) -> u64 {
        self.sessions
            .values()
            .filter(|(s, _, by)| *s == AttendanceStatus::Attended && *by != Reporter::Resident)
            .map(|(_, m, _)| u64::from(*m))
            .sum()
    }

    /// Minutes the resident reported attending that the host or staff have not recorded yet.
    pub fn minutes_unconfirmed(&self) -> u64 {
        self.sessions
            .values()
            .filter(|(s, _, by)| *s == AttendanceStatus::Attended && *by == Reporter::Resident)
            .map(|(_, m, _)| u64::from(*m))
            .sum()
    }

    /// What the latest check-in fears — the one of the latest day, of those the last written —
    /// nothing before the first.
    pub fn risks(&self) -> &[RiskFlag] {
        // `max_by_key` keeps the last of equal keys: the last written of the latest day.
        self.check_ins
            .iter()
            .max_by_key(|c| c.on)
            .map_or(&[], |c| c.risks.as_slice())
    }

    /// The day of the latest check-in.
    pub fn last_check_in(&self) -> Option<NaiveDate> {
        self.check_ins.iter().map(|c| c.on).max()
    }

    /// Sessions with a given status, as the host or staff recorded them.
    pub fn count(&self, status: AttendanceStatus) -> usize {
        self.sessions
            .values()
            .filter(|(s, _, by)| *s == status && *by != Reporter::Resident)
            .count()
    }
}

impl mosaic_domain::Aggregate for Engagement {
    type Command = Command;
    type Event = FollowUpEvent;
    type Error = FollowUpError;

    fn decide(&self, command: &Command) -> Result<Vec<FollowUpEvent>, FollowUpError> {
        match command {
            // Opening twice is the same confirmation delivered again: nothing more to do.
            Command::Open(o) => Ok(if self.opened.is_some() {
                vec![]
            } else {
                vec![FollowUpEvent::EngagementOpened(o.clone())]
            }),
            Command::Record {
                session,
                status,
                minutes,
                by,
                today,
                field,
            } => {
                let opened = self
                    .opened
                    .as_ref()
                    .ok_or_else(|| FollowUpError::NotFound(String::new()))?;
                let invalid = |part: &str, reason: String| FollowUpError::Invalid {
                    field: if field.is_empty() {
                        part.to_owned()
                    } else {
                        format!("{field}.{part}")
                    },
                    reason,
                };
                match status {
                    AttendanceStatus::Attended
                        if *minutes == 0 || *minutes > DAY_MINUTES.into() =>
                    {
                        return Err(invalid(
                            "minutes",
                            format!("an attended session lasts 1 to {DAY_MINUTES} minutes"),
                        ));
                    }
                    AttendanceStatus::NoShow | AttendanceStatus::Cancelled if *minutes != 0 => {
                        return Err(invalid(
                            "minutes",
                            "must be 0 unless the session was attended".into(),
                        ));
                    }
                    _ => {}
                }
                if session > today {
                    // The roster's date, not the entry's.
                    return Err(FollowUpError::Invalid {
                        field: "session".into(),
                        reason: format!("{session} has not happened yet (today is {today})"),
                    });
                }
                let c = &opened.commitment;
                if *session < c.first_day || *session > c.last_day {
                    return Err(FollowUpError::Rule(format!(
                        "{session} is outside the engagement's period {} to {}",
                        c.first_day, c.last_day
                    )));
                }
                let weekday = Weekday::of(*session);
                if !c.slots.iter().any(|w| w.weekday() == weekday) {
                    return Err(FollowUpError::Rule(format!(
                        "{session} is a {:?}: the engagement has no session that weekday",
                        session.weekday()
                    )));
                }
                if let Some(ended) = &self.ended
                    && *session > ended.last_day
                {
                    return Err(FollowUpError::Rule(format!(
                        "the engagement ended on {}",
                        ended.last_day
                    )));
                }
                match self.sessions.get(session) {
                    // The same figures again change nothing — except the host or staff
                    // recording what the resident reported, which confirms it.
                    Some((s, m, recorded_by))
                        if (*s, *m) == (*status, *minutes)
                            && !(*recorded_by == Reporter::Resident
                                && *by != Reporter::Resident) =>
                    {
                        return Ok(vec![]);
                    }
                    // A resident's report never replaces what the host or staff recorded.
                    Some((.., recorded_by))
                        if *by == Reporter::Resident && *recorded_by != Reporter::Resident =>
                    {
                        return Err(FollowUpError::Rule(format!(
                            "the {} recorded the session of {session} already",
                            recorded_by.as_str()
                        )));
                    }
                    _ => {}
                }
                Ok(vec![FollowUpEvent::AttendanceRecorded(
                    AttendanceRecorded {
                        engagement_id: opened.engagement_id.clone(),
                        session: *session,
                        status: *status,
                        minutes: *minutes,
                        recorded_by: *by,
                    },
                )])
            }
            Command::Observe { pattern, on, today } => {
                let opened = self
                    .opened
                    .as_ref()
                    .ok_or_else(|| FollowUpError::NotFound(String::new()))?;
                let invalid = |reason: String| FollowUpError::Invalid {
                    field: "observed_on".into(),
                    reason,
                };
                if on > today {
                    return Err(invalid(format!("{on} is after today ({today})")));
                }
                if *on < opened.commitment.first_day {
                    return Err(invalid(format!(
                        "is before the engagement began ({})",
                        opened.commitment.first_day
                    )));
                }
                if self.observed.contains(&(*on, *pattern)) {
                    return Ok(vec![]);
                }
                Ok(vec![FollowUpEvent::SpontaneousEngagementObserved(
                    SpontaneousEngagementObserved {
                        engagement_id: opened.engagement_id.clone(),
                        pattern: *pattern,
                        observed_on: *on,
                    },
                )])
            }
            Command::Journal {
                entry,
                on,
                author,
                today,
            } => {
                let opened = self
                    .opened
                    .as_ref()
                    .ok_or_else(|| FollowUpError::NotFound(String::new()))?;
                journal::write(opened, entry, *on, *author, *today)
            }
            Command::Certify {
                certificate,
                document,
                offered,
            } => {
                let opened = self
                    .opened
                    .as_ref()
                    .ok_or_else(|| FollowUpError::NotFound(String::new()))?;
                if self.certificate.is_some() {
                    return Ok(vec![]);
                }
                if !offered {
                    return Err(FollowUpError::Rule(
                        "the activity offers no certificate".into(),
                    ));
                }
                if self.ended.as_ref().map(|e| e.reason) != Some(EngagementEndReason::Completed) {
                    return Err(FollowUpError::Rule(
                        "a certificate is issued once the engagement is completed".into(),
                    ));
                }
                Ok(vec![FollowUpEvent::CertificateIssued(CertificateIssued {
                    engagement_id: opened.engagement_id.clone(),
                    certificate: certificate.clone(),
                    document: document.clone(),
                })])
            }
            Command::End {
                reason,
                last_day,
                today,
            } => {
                let opened = self
                    .opened
                    .as_ref()
                    .ok_or_else(|| FollowUpError::NotFound(String::new()))?;
                if let Some(ended) = &self.ended {
                    return if ended.reason == *reason && ended.last_day == *last_day {
                        Ok(vec![])
                    } else {
                        Err(FollowUpError::Rule(format!(
                            "the engagement ended already ({}, {})",
                            ended.reason.as_str(),
                            ended.last_day
                        )))
                    };
                }
                // An end matching decided upstream is taken as it comes; one asked for is a day
                // the engagement ran, today or earlier.
                if *reason != EngagementEndReason::UpstreamCancelled {
                    if *last_day < opened.commitment.first_day {
                        return Err(FollowUpError::Invalid {
                            field: "last_day".into(),
                            reason: format!(
                                "is before the engagement began ({})",
                                opened.commitment.first_day
                            ),
                        });
                    }
                    if last_day > today {
                        return Err(FollowUpError::Invalid {
                            field: "last_day".into(),
                            reason: format!("{last_day} is after today ({today})"),
                        });
                    }
                }
                use std::ops::Bound::{Excluded, Unbounded};
                if let Some((after, _)) =
                    self.sessions.range((Excluded(*last_day), Unbounded)).next()
                {
                    return Err(FollowUpError::Rule(format!(
                        "a session on {after} is recorded after that day"
                    )));
                }
                Ok(vec![FollowUpEvent::EngagementEnded(EngagementEnded {
                    engagement_id: opened.engagement_id.clone(),
                    match_id: opened.match_id.clone(),
                    match_version: opened.match_version,
                    reason: *reason,
                    last_day: *last_day,
                })])
            }
        }
    }

    fn evolve(mut self, event: &FollowUpEvent) -> Self {
        match event {
            FollowUpEvent::EngagementOpened(o) => self.opened = Some(o.clone()),
            FollowUpEvent::AttendanceRecorded(a) => {
                self.sessions
                    .insert(a.session, (a.status, a.minutes, a.recorded_by));
            }
            FollowUpEvent::EngagementEnded(e) => self.ended = Some(e.clone()),
            FollowUpEvent::SpontaneousEngagementObserved(o) => {
                self.observed.insert((o.observed_on, o.pattern));
            }
            FollowUpEvent::CheckInRecorded(c) => self.check_ins.push(c.clone()),
            FollowUpEvent::ReflectionRecorded(r) => {
                self.reflections.insert(r.milestone, r.clone());
            }
            FollowUpEvent::FeedbackGiven(f) => {
                self.feedback.insert(f.direction, f.clone());
            }
            FollowUpEvent::CertificateIssued(c) => self.certificate = Some(c.clone()),
            // Incentives are recorded on accounts and the policy, not on engagements.
            _ => {}
        }
        self
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mosaic_domain::{Aggregate, given};
    use mosaic_events::matching::Commitment;
    use mosaic_types::{MatchId, WeeklyWindow};

    pub(crate) fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    pub(crate) fn opened() -> EngagementOpened {
        EngagementOpened {
            engagement_id: "e-1".into(),
            match_id: MatchId::from("m-1"),
            match_version: 4,
            resident_id: "r-1".into(),
            piece_id: "p-1".into(),
            activity_id: "a-1".into(),
            host_organisation_id: "h-1".into(),
            commitment: Commitment {
                // Mondays 09:00–12:00, April to June 2027.
                slots: vec![
                    WeeklyWindow::new(Weekday::Monday, 540, 720).unwrap_or_else(|_| panic!()),
                ],
                first_day: day("2027-04-05"),
                last_day: day("2027-06-28"),
                minutes_per_week: 180,
                days_per_month: 4,
            },
        }
    }

    fn record(session: &str, status: AttendanceStatus, minutes: u32) -> Command {
        Command::Record {
            session: day(session),
            status,
            minutes,
            by: Reporter::Host,
            today: day("2027-05-01"),
            field: "entries[0]".into(),
        }
    }

    fn recorded(session: &str, status: AttendanceStatus, minutes: u32) -> FollowUpEvent {
        FollowUpEvent::AttendanceRecorded(AttendanceRecorded {
            engagement_id: "e-1".into(),
            session: day(session),
            status,
            minutes,
            recorded_by: Reporter::Host,
        })
    }

    #[test]
    fn a_confirmation_delivered_twice_opens_one_engagement() {
        given::<Engagement>([])
            .when(Command::Open(opened()))
            .then([FollowUpEvent::EngagementOpened(opened())]);
        given::<Engagement>([FollowUpEvent::EngagementOpened(opened())])
            .when(Command::Open(opened()))
            .then([]);
    }

    #[test]
    fn a_session_is_recorded_once_and_corrected_by_other_figures() {
        let open = FollowUpEvent::EngagementOpened(opened());
        given::<Engagement>([open.clone()])
            .when(record("2027-04-12", AttendanceStatus::Attended, 180))
            .then([recorded("2027-04-12", AttendanceStatus::Attended, 180)]);
        given::<Engagement>([
            open.clone(),
            recorded("2027-04-12", AttendanceStatus::Attended, 180),
        ])
        .when(record("2027-04-12", AttendanceStatus::Attended, 180))
        .then([]);
        given::<Engagement>([
            open,
            recorded("2027-04-12", AttendanceStatus::Attended, 180),
        ])
        .when(record("2027-04-12", AttendanceStatus::Attended, 150))
        .then([recorded("2027-04-12", AttendanceStatus::Attended, 150)]);
    }

    #[test]
    fn hours_days_and_the_future_are_checked() {
        let open = || Engagement::default().evolve(&FollowUpEvent::EngagementOpened(opened()));
        let invalid = |part: &str| FollowUpError::Invalid {
            field: format!("entries[0].{part}"),
            reason: String::new(),
        };
        let field_of = |e: FollowUpError| match e {
            FollowUpError::Invalid { field, .. } => {
                invalid(field.trim_start_matches("entries[0]."))
            }
            other => other,
        };
        for (command, expected) in [
            (
                record("2027-04-12", AttendanceStatus::Attended, 0),
                invalid("minutes"),
            ),
            (
                record("2027-04-12", AttendanceStatus::Attended, 1441),
                invalid("minutes"),
            ),
            (
                record("2027-04-12", AttendanceStatus::NoShow, 60),
                invalid("minutes"),
            ),
            (
                record("2027-05-03", AttendanceStatus::Attended, 180),
                invalid("session"),
            ),
        ] {
            let refused = open().decide(&command).map_err(field_of);
            assert_eq!(refused, Err(expected), "{command:?}");
        }
        // A Tuesday, and a Monday before the period: rules of the engagement.
        for session in ["2027-04-13", "2027-03-29"] {
            assert!(matches!(
                open().decide(&record(session, AttendanceStatus::Attended, 60)),
                Err(FollowUpError::Rule(_))
            ));
        }
    }

    #[test]
    fn an_engagement_ends_once_and_not_before_its_recorded_sessions() {
        let open = FollowUpEvent::EngagementOpened(opened());
        let end = |d: &str| Command::End {
            reason: EngagementEndReason::DroppedOut,
            last_day: day(d),
            today: day("2027-05-01"),
        };
        let ended = FollowUpEvent::EngagementEnded(EngagementEnded {
            engagement_id: "e-1".into(),
            match_id: MatchId::from("m-1"),
            match_version: 4,
            reason: EngagementEndReason::DroppedOut,
            last_day: day("2027-04-20"),
        });
        given::<Engagement>([open.clone()])
            .when(end("2027-04-20"))
            .then([ended.clone()]);
        given::<Engagement>([open.clone(), ended.clone()])
            .when(end("2027-04-20"))
            .then([]);
        assert!(matches!(
            Engagement::default()
                .evolve(&open)
                .evolve(&ended)
                .decide(&end("2027-04-27")),
            Err(FollowUpError::Rule(_))
        ));
        // A session recorded after the last day refuses that end; after the end, so does a session.
        let late = recorded("2027-04-26", AttendanceStatus::Attended, 180);
        let s = Engagement::default().evolve(&open).evolve(&late);
        assert!(matches!(
            s.decide(&end("2027-04-20")),
            Err(FollowUpError::Rule(_))
        ));
        let s = Engagement::default().evolve(&open).evolve(&ended);
        assert!(matches!(
            s.decide(&record("2027-04-26", AttendanceStatus::Attended, 180)),
            Err(FollowUpError::Rule(_))
        ));
    }

    #[test]
    fn a_certificate_is_issued_once_for_a_completed_engagement_of_an_activity_that_offers_one() {
        let open = FollowUpEvent::EngagementOpened(opened());
        let certificate = Certificate {
            certificate_id: "e-1".into(),
            municipality: "122173".into(),
            resident_id: "r-1".into(),
            activity_id: "a-1".into(),
            activity_title: "t".into(),
            engagement_form: "internship".into(),
            host_organisation_id: "h-1".into(),
            first_day: day("2027-04-05"),
            last_day: day("2027-04-26"),
            verified_minutes: 540,
            sessions_attended: 3,
            issued_on: day("2027-05-01"),
        };
        let certify = |offered| Command::Certify {
            certificate: certificate.clone(),
            document: "signed".into(),
            offered,
        };
        let ended = |reason| {
            FollowUpEvent::EngagementEnded(EngagementEnded {
                engagement_id: "e-1".into(),
                match_id: MatchId::from("m-1"),
                match_version: 4,
                reason,
                last_day: day("2027-04-26"),
            })
        };
        let running = Engagement::default().evolve(&open);
        assert!(matches!(
            running.decide(&certify(true)),
            Err(FollowUpError::Rule(_))
        ));
        let dropped = running
            .clone()
            .evolve(&ended(EngagementEndReason::DroppedOut));
        assert!(matches!(
            dropped.decide(&certify(true)),
            Err(FollowUpError::Rule(_))
        ));
        let completed = running.evolve(&ended(EngagementEndReason::Completed));
        assert!(matches!(
            completed.decide(&certify(false)),
            Err(FollowUpError::Rule(_))
        ));
        let issued = FollowUpEvent::CertificateIssued(CertificateIssued {
            engagement_id: "e-1".into(),
            certificate: certificate.clone(),
            document: "signed".into(),
        });
        assert_eq!(completed.decide(&certify(true)), Ok(vec![issued.clone()]));
        assert_eq!(completed.evolve(&issued).decide(&certify(true)), Ok(vec![]));
    }

    #[test]
    fn spontaneous_engagement_is_noted_once_per_kind_and_day_and_not_in_the_future() {
        let open = FollowUpEvent::EngagementOpened(opened());
        let observe = |d: &str| Command::Observe {
            pattern: SpontaneousPattern::HubRole,
            on: day(d),
            today: day("2027-05-01"),
        };
        let observed =
            FollowUpEvent::SpontaneousEngagementObserved(SpontaneousEngagementObserved {
                engagement_id: "e-1".into(),
                pattern: SpontaneousPattern::HubRole,
                observed_on: day("2027-04-20"),
            });
        given::<Engagement>([open.clone()])
            .when(observe("2027-04-20"))
            .then([observed.clone()]);
        given::<Engagement>([open.clone(), observed])
            .when(observe("2027-04-20"))
            .then([]);
        for d in ["2027-05-02", "2027-04-01"] {
            assert!(matches!(
                Engagement::default().evolve(&open).decide(&observe(d)),
                Err(FollowUpError::Invalid { .. })
            ));
        }
    }
}
