//! The journal of an engagement: check-ins, reflections at milestones and two-way feedback.
//! Their text arrives sealed (the API seals it under the resident's key before deciding), so
//! these rules see dates, codes and ratings only. Nothing is written down before it happened;
//! a reflection at a milestone, or feedback in a direction, given again replaces the earlier one.

use chrono::NaiveDate;
use mosaic_events::followup::{
    Author, CheckInChannel, CheckInRecorded, EngagementOpened, FeedbackDirection, FeedbackGiven,
    FollowUpEvent, Milestone, ReflectionRecorded, RiskFlag,
};
use mosaic_privacy::Sealed;

use super::engagement::FollowUpError;

/// The lowest and highest rating of feedback.
pub const RATINGS: std::ops::RangeInclusive<u8> = 1..=5;

/// A journal entry to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A coordinator's check-in.
    CheckIn {
        /// How.
        channel: CheckInChannel,
        /// The note, sealed.
        note: Sealed,
        /// What may go wrong (empty: nothing feared).
        risks: Vec<RiskFlag>,
    },
    /// A reflection dialogue.
    Reflection {
        /// At which milestone.
        milestone: Milestone,
        /// What went well, sealed.
        went_well: Sealed,
        /// What was learned, sealed.
        learned: Sealed,
        /// The next steps, sealed.
        next_steps: Sealed,
    },
    /// Feedback.
    Feedback {
        /// Who rates whom.
        direction: FeedbackDirection,
        /// 1 to 5.
        rating: u8,
        /// A comment, sealed.
        comment: Option<Sealed>,
    },
}

/// The events that write `entry`, dated `on`, by `author`, on the engagement `opened`.
pub fn write(
    opened: &EngagementOpened,
    entry: &Entry,
    on: NaiveDate,
    author: Author,
    today: NaiveDate,
) -> Result<Vec<FollowUpEvent>, FollowUpError> {
    let invalid = |field: &str, reason: String| FollowUpError::Invalid {
        field: field.into(),
        reason,
    };
    if on > today {
        return Err(invalid("on", format!("{on} is after today ({today})")));
    }
    let engagement_id = opened.engagement_id.clone();
    Ok(vec![match entry {
        Entry::CheckIn {
            channel,
            note,
            risks,
        } => {
            let mut risks = risks.clone();
            risks.sort();
            risks.dedup();
            FollowUpEvent::CheckInRecorded(CheckInRecorded {
                engagement_id,
                on,
                channel: *channel,
                note: note.clone(),
                risks,
            })
        }
        Entry::Reflection {
            milestone,
            went_well,
            learned,
            next_steps,
        } => {
            // An orientation may come before the first session; later milestones do not.
            if *milestone != Milestone::Orientation && on < opened.commitment.first_day {
                return Err(invalid(
                    "on",
                    format!(
                        "a {} reflection is held after the engagement began ({})",
                        milestone.as_str(),
                        opened.commitment.first_day
                    ),
                ));
            }
            FollowUpEvent::ReflectionRecorded(ReflectionRecorded {
                engagement_id,
                milestone: *milestone,
                on,
                went_well: went_well.clone(),
                learned: learned.clone(),
                next_steps: next_steps.clone(),
                author,
            })
        }
        Entry::Feedback {
            direction,
            rating,
            comment,
        } => {
            if !RATINGS.contains(rating) {
                return Err(invalid(
                    "rating",
                    format!(
                        "{rating} is outside {} to {}",
                        RATINGS.start(),
                        RATINGS.end()
                    ),
                ));
            }
            // Each side speaks for itself; staff may write either down.
            let speaks = match direction {
                FeedbackDirection::ResidentToHost => Author::Resident,
                FeedbackDirection::HostToResident => Author::Host,
            };
            if author != Author::Staff && author != speaks {
                return Err(FollowUpError::Forbidden(format!(
                    "direction: {} feedback is given by the {}",
                    direction.as_str(),
                    speaks.as_str()
                )));
            }
            FollowUpEvent::FeedbackGiven(FeedbackGiven {
                engagement_id,
                direction: *direction,
                rating: *rating,
                comment: comment.clone(),
                on,
                author,
            })
        }
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::engagement::tests::{day, opened};
    use crate::domain::{Command, Engagement};
    use mosaic_domain::Aggregate;

    fn sealed(s: &str) -> Sealed {
        serde_json::from_value(serde_json::json!(s)).unwrap_or_else(|_| panic!())
    }

    fn open() -> Engagement {
        Engagement::default().evolve(&FollowUpEvent::EngagementOpened(opened()))
    }

    fn journal(entry: Entry, on: &str, author: Author) -> Command {
        Command::Journal {
            entry,
            on: day(on),
            author,
            today: day("2027-05-01"),
        }
    }

    fn reflection(milestone: Milestone) -> Entry {
        Entry::Reflection {
            milestone,
            went_well: sealed("w"),
            learned: sealed("l"),
            next_steps: sealed("n"),
        }
    }

    fn feedback(direction: FeedbackDirection, rating: u8) -> Entry {
        Entry::Feedback {
            direction,
            rating,
            comment: None,
        }
    }

    #[test]
    fn a_check_in_keeps_its_flags_once_each_and_the_latest_flags_are_the_engagements() {
        let check_in = |risks: Vec<RiskFlag>| {
            journal(
                Entry::CheckIn {
                    channel: CheckInChannel::Phone,
                    note: sealed("n"),
                    risks,
                },
                "2027-04-20",
                Author::Staff,
            )
        };
        let events = open()
            .decide(&check_in(vec![
                RiskFlag::Overload,
                RiskFlag::MayDropOut,
                RiskFlag::Overload,
            ]))
            .unwrap_or_default();
        let s = events.iter().fold(open(), |s, e| s.evolve(e));
        assert_eq!(s.risks(), &[RiskFlag::MayDropOut, RiskFlag::Overload]);
        assert_eq!(s.last_check_in(), Some(day("2027-04-20")));
        // An older check-in entered late changes neither the flags nor the last day.
        let late = journal(
            Entry::CheckIn {
                channel: CheckInChannel::Message,
                note: sealed("n"),
                risks: vec![],
            },
            "2027-04-12",
            Author::Staff,
        );
        let events = s.decide(&late).unwrap_or_default();
        let s = events.iter().fold(s, |s, e| s.evolve(e));
        assert_eq!(s.risks(), &[RiskFlag::MayDropOut, RiskFlag::Overload]);
        assert_eq!(s.last_check_in(), Some(day("2027-04-20")));
        let events = s.decide(&check_in(vec![])).unwrap_or_default();
        let s = events.iter().fold(s, |s, e| s.evolve(e));
        assert!(s.risks().is_empty());
        assert_eq!(s.check_ins.len(), 3);
    }

    #[test]
    fn nothing_is_written_before_it_happened_and_later_milestones_follow_the_start() {
        for (command, field) in [
            (
                journal(reflection(Milestone::Final), "2027-05-02", Author::Staff),
                "on",
            ),
            // The engagement begins on 5 April 2027.
            (
                journal(reflection(Milestone::MidTerm), "2027-04-01", Author::Staff),
                "on",
            ),
            (
                journal(
                    feedback(FeedbackDirection::HostToResident, 0),
                    "2027-04-20",
                    Author::Host,
                ),
                "rating",
            ),
            (
                journal(
                    feedback(FeedbackDirection::HostToResident, 6),
                    "2027-04-20",
                    Author::Host,
                ),
                "rating",
            ),
        ] {
            match open().decide(&command) {
                Err(FollowUpError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{command:?}: {other:?}"),
            }
        }
        assert!(
            open()
                .decide(&journal(
                    reflection(Milestone::Orientation),
                    "2027-04-01",
                    Author::Host
                ))
                .is_ok()
        );
    }

    #[test]
    fn each_side_gives_its_own_feedback_and_a_second_replaces_the_first() {
        assert!(matches!(
            open().decide(&journal(
                feedback(FeedbackDirection::ResidentToHost, 4),
                "2027-04-20",
                Author::Host
            )),
            Err(FollowUpError::Forbidden(_))
        ));
        let mut s = open();
        for (rating, author) in [(2, Author::Resident), (5, Author::Staff)] {
            let events = s
                .decide(&journal(
                    feedback(FeedbackDirection::ResidentToHost, rating),
                    "2027-04-20",
                    author,
                ))
                .unwrap_or_default();
            s = events.iter().fold(s, |s, e| s.evolve(e));
        }
        assert_eq!(s.feedback.len(), 1);
        assert_eq!(s.feedback[&FeedbackDirection::ResidentToHost].rating, 5);
        let events = s
            .decide(&journal(
                reflection(Milestone::MidTerm),
                "2027-04-26",
                Author::Resident,
            ))
            .unwrap_or_default();
        let s = events.iter().fold(s, |s, e| s.evolve(e));
        assert_eq!(
            s.reflections.keys().copied().collect::<Vec<_>>(),
            [Milestone::MidTerm]
        );
    }
}
