//! The activity aggregate: one stream per activity, `activity-<id>`, holding its pieces.
//!
//! Lifecycle: draft → published → paused ↔ published → closed (filled or ended); draft, published
//! and paused may be cancelled. Details, pieces and the internship project change while the
//! activity is open (draft, published or paused), never after it is closed or cancelled.
//!
//! Confirmed matches. The seats matching has confirmed on a piece are learned from matching's
//! events (`activity.seats`) and placed in the commands that revise or remove a piece as a fact:
//! a piece with confirmed seats cannot be removed, cannot change its schedule or required skills,
//! and cannot shrink below its confirmed seats (FAILED_PRECONDITION). This view lags matching: a
//! confirmation that races a removal (matching confirms a seat on a piece while this context
//! records `PieceRemoved`) is not prevented here. The matching context owns that race: when it
//! consumes `PieceRemoved` (or a cut headcount, or `ActivityCancelled`) it reviews the piece's
//! seats and ends the confirmations the piece can no longer hold, freeing each person's week, so
//! the log converges whichever event was recorded first.

use mosaic_domain::Aggregate;

use mosaic_events::registry::Licence;
use mosaic_types::{ActivityId, EngagementForm, PieceId};

use crate::domain::{
    ActivityCancelled, ActivityClosed, ActivityCreated, ActivityDetails, ActivityError,
    ActivityEvent, ActivityRef, CloseReason, Internship, InternshipDefined, PieceAdded,
    PieceDetails, PieceRef, Status,
};

/// Most pieces one activity may hold (a one-year decomposition fits well within it).
pub const MAX_PIECES: usize = 1_000;

/// The stream of an activity.
pub fn stream_id(id: &str) -> String {
    format!("activity-{id}")
}

/// A piece as the activity knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// Its id.
    pub piece_id: PieceId,
    /// Its details.
    pub details: PieceDetails,
}

/// What this context knows of an activity's host organisation when a command is decided (learned
/// from the registry's events, placed in the command by the handler).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    /// Suspended hosts offer no new activities.
    pub suspended: bool,
    /// The licences it holds.
    pub licences: Vec<Licence>,
}

impl HostFacts {
    /// A host in good standing with the given licences.
    pub fn licensed(licences: Vec<Licence>) -> Self {
        Self {
            suspended: false,
            licences,
        }
    }

    /// Refuses a form of engagement the host has no licence for: worker dispatch
    /// (労働者派遣事業) and paid placement (有料職業紹介事業) need theirs.
    fn allows(&self, form: EngagementForm) -> Result<(), ActivityError> {
        let needed = match form {
            EngagementForm::Dispatch => Licence::WorkerDispatch,
            EngagementForm::Placement => Licence::PaidPlacement,
            _ => return Ok(()),
        };
        if self.licences.contains(&needed) {
            Ok(())
        } else {
            Err(ActivityError::LicenceMissing(needed.as_str()))
        }
    }
}

/// What the activity context knows of an activity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// Its id, once created.
    pub activity_id: Option<ActivityId>,
    /// Its details, once created.
    pub details: Option<ActivityDetails>,
    /// Lifecycle state.
    pub status: Option<Status>,
    /// Why it was closed.
    pub close_reason: Option<CloseReason>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// Pieces in the order they were added.
    pub pieces: Vec<Piece>,
    /// The internship project, if defined.
    pub internship: Option<Internship>,
}

/// Commands on an activity.
#[derive(Debug, Clone)]
pub enum ActivityCommand {
    /// Create a draft with its first pieces.
    Create {
        /// New id.
        activity_id: ActivityId,
        /// Validated details.
        details: ActivityDetails,
        /// New piece ids and details.
        pieces: Vec<(PieceId, PieceDetails)>,
        /// The host as this context knows it.
        host: HostFacts,
    },
    /// Replace the details (the host stays).
    Update {
        /// Validated details.
        details: ActivityDetails,
        /// The host as this context knows it.
        host: HostFacts,
    },
    /// Add pieces (one, or those of a decomposition).
    AddPieces {
        /// New piece ids and details.
        pieces: Vec<(PieceId, PieceDetails)>,
    },
    /// Replace a piece.
    RevisePiece {
        /// The piece.
        piece_id: PieceId,
        /// Validated details.
        piece: PieceDetails,
        /// Seats matching has confirmed on it, as this context last learned.
        confirmed: u32,
    },
    /// Remove a piece.
    RemovePiece {
        /// The piece.
        piece_id: PieceId,
        /// Seats matching has confirmed on it, as this context last learned.
        confirmed: u32,
    },
    /// Publish a draft.
    Publish,
    /// Pause a published activity.
    Pause,
    /// Resume a paused activity.
    Resume,
    /// Close, filled or ended.
    Close {
        /// Why.
        reason: CloseReason,
    },
    /// Cancel.
    Cancel {
        /// Why.
        reason: String,
    },
    /// Define or replace the internship project.
    DefineInternship {
        /// Validated project, mentor sealed.
        internship: Internship,
    },
}

impl ActivityCommand {
    /// What the command does, in refusals.
    fn action(&self) -> &'static str {
        use ActivityCommand::*;
        match self {
            Create { .. } => "create",
            Update { .. } => "update",
            AddPieces { .. } => "add pieces",
            RevisePiece { .. } => "revise a piece",
            RemovePiece { .. } => "remove a piece",
            Publish => "publish",
            Pause => "pause",
            Resume => "resume",
            Close { .. } => "close",
            Cancel { .. } => "cancel",
            DefineInternship { .. } => "define an internship",
        }
    }
}

impl Activity {
    /// The piece with this id.
    pub fn piece(&self, id: &str) -> Option<&Piece> {
        self.pieces.iter().find(|p| p.piece_id == id)
    }

    fn pieces_added(id: &ActivityId, pieces: &[(PieceId, PieceDetails)]) -> Vec<ActivityEvent> {
        pieces
            .iter()
            .map(|(piece_id, piece)| {
                ActivityEvent::PieceAdded(PieceAdded {
                    activity_id: id.clone(),
                    piece_id: piece_id.clone(),
                    piece: piece.clone(),
                })
            })
            .collect()
    }

    fn check_room(&self, id: &str, more: usize) -> Result<(), ActivityError> {
        if self.pieces.len().saturating_add(more) > MAX_PIECES {
            return Err(ActivityError::TooManyPieces {
                id: id.to_owned(),
                max: MAX_PIECES,
            });
        }
        Ok(())
    }
}

impl Aggregate for Activity {
    type Command = ActivityCommand;
    type Event = ActivityEvent;
    type Error = ActivityError;

    fn decide(&self, command: &ActivityCommand) -> Result<Vec<ActivityEvent>, ActivityError> {
        use ActivityCommand::*;
        use ActivityEvent as E;
        if let Create {
            activity_id,
            details,
            pieces,
            host,
        } = command
        {
            if self.activity_id.is_some() {
                return Err(ActivityError::Exists(activity_id.to_string()));
            }
            if host.suspended {
                return Err(ActivityError::HostSuspended(
                    details.host_organisation_id.to_string(),
                ));
            }
            host.allows(details.engagement_form)?;
            self.check_room(activity_id, pieces.len())?;
            let mut events = vec![E::ActivityCreated(ActivityCreated {
                activity_id: activity_id.clone(),
                details: details.clone(),
            })];
            events.extend(Self::pieces_added(activity_id, pieces));
            return Ok(events);
        }
        let (Some(id), Some(status), Some(current)) =
            (&self.activity_id, self.status, &self.details)
        else {
            return Err(ActivityError::NotFound(String::new()));
        };
        let id = id.clone();
        let open = matches!(status, Status::Draft | Status::Published | Status::Paused);
        let refuse = || Err(ActivityError::wrong_state(&id, command.action(), status));
        let this = || ActivityRef {
            activity_id: id.clone(),
        };
        match command {
            Create { .. } => Ok(vec![]),
            Update { details, host } => {
                if !open {
                    return refuse();
                }
                // A host suspended since keeps its activities editable, within its licences.
                host.allows(details.engagement_form)?;
                let mut details = details.clone();
                details.host_organisation_id = current.host_organisation_id.clone();
                Ok(vec![E::ActivityUpdated(ActivityCreated {
                    activity_id: id.clone(),
                    details,
                })])
            }
            AddPieces { pieces } => {
                if !open {
                    return refuse();
                }
                self.check_room(&id, pieces.len())?;
                Ok(Self::pieces_added(&id, pieces))
            }
            RevisePiece {
                piece_id,
                piece,
                confirmed,
            } => {
                if !open {
                    return refuse();
                }
                let old = self
                    .piece(piece_id)
                    .ok_or_else(|| ActivityError::PieceNotFound(piece_id.to_string()))?;
                if *confirmed > 0 {
                    let rule = if old.details.schedule != piece.schedule {
                        Some("its schedule cannot change")
                    } else if old.details.skills != piece.skills {
                        Some("its required skills cannot change")
                    } else if piece.headcount < *confirmed {
                        Some("its headcount cannot drop below the confirmed seats")
                    } else {
                        None
                    };
                    if let Some(rule) = rule {
                        return Err(ActivityError::PieceHasConfirmations {
                            piece: piece_id.to_string(),
                            confirmed: *confirmed,
                            rule,
                        });
                    }
                }
                Ok(vec![E::PieceRevised(PieceAdded {
                    activity_id: id.clone(),
                    piece_id: piece_id.clone(),
                    piece: piece.clone(),
                })])
            }
            RemovePiece {
                piece_id,
                confirmed,
            } => {
                if !open {
                    return refuse();
                }
                self.piece(piece_id)
                    .ok_or_else(|| ActivityError::PieceNotFound(piece_id.to_string()))?;
                if *confirmed > 0 {
                    return Err(ActivityError::PieceHasConfirmations {
                        piece: piece_id.to_string(),
                        confirmed: *confirmed,
                        rule: "it cannot be removed",
                    });
                }
                Ok(vec![E::PieceRemoved(PieceRef {
                    activity_id: id.clone(),
                    piece_id: piece_id.clone(),
                })])
            }
            Publish => {
                if status != Status::Draft {
                    return refuse();
                }
                if self.pieces.is_empty() {
                    return Err(ActivityError::NoPieces(id.to_string()));
                }
                if current.engagement_form == mosaic_types::EngagementForm::Internship
                    && self.internship.is_none()
                {
                    return Err(ActivityError::InternshipMissing(id.to_string()));
                }
                Ok(vec![E::ActivityPublished(this())])
            }
            Pause => {
                if status != Status::Published {
                    return refuse();
                }
                Ok(vec![E::ActivityPaused(this())])
            }
            Resume => {
                if status != Status::Paused {
                    return refuse();
                }
                Ok(vec![E::ActivityResumed(this())])
            }
            Close { reason } => {
                if !matches!(status, Status::Published | Status::Paused) {
                    return refuse();
                }
                Ok(vec![E::ActivityClosed(ActivityClosed {
                    activity_id: id.clone(),
                    reason: *reason,
                })])
            }
            Cancel { reason } => {
                if !open {
                    return refuse();
                }
                Ok(vec![E::ActivityCancelled(ActivityCancelled {
                    activity_id: id.clone(),
                    reason: reason.trim().to_owned(),
                })])
            }
            DefineInternship { internship } => {
                if !open {
                    return refuse();
                }
                if current.engagement_form != mosaic_types::EngagementForm::Internship {
                    return Err(ActivityError::NotAnInternship(id.to_string()));
                }
                Ok(vec![E::InternshipDefined(InternshipDefined {
                    activity_id: id.clone(),
                    internship: internship.clone(),
                })])
            }
        }
    }

    fn evolve(mut self, event: &ActivityEvent) -> Self {
        use ActivityEvent as E;
        match event {
            E::ActivityCreated(e) => {
                self.activity_id = Some(e.activity_id.clone());
                self.details = Some(e.details.clone());
                self.status = Some(Status::Draft);
            }
            E::ActivityUpdated(e) => self.details = Some(e.details.clone()),
            E::PieceAdded(e) => self.pieces.push(Piece {
                piece_id: e.piece_id.clone(),
                details: e.piece.clone(),
            }),
            E::PieceRevised(e) => {
                if let Some(p) = self.pieces.iter_mut().find(|p| p.piece_id == e.piece_id) {
                    p.details = e.piece.clone();
                }
            }
            E::PieceRemoved(e) => self.pieces.retain(|p| p.piece_id != e.piece_id),
            E::ActivityPublished(_) | E::ActivityResumed(_) => {
                self.status = Some(Status::Published)
            }
            E::ActivityPaused(_) => self.status = Some(Status::Paused),
            E::ActivityClosed(e) => {
                self.status = Some(Status::Closed);
                self.close_reason = Some(e.reason);
            }
            E::ActivityCancelled(e) => {
                self.status = Some(Status::Cancelled);
                self.cancel_reason = Some(e.reason.clone());
            }
            E::InternshipDefined(e) => self.internship = Some(e.internship.clone()),
        }
        self
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{ApplicationMode, Incentives, Milestones, Origin, Place, Schedule};
    use chrono::NaiveDate;
    use mosaic_domain::given;
    use mosaic_types::{EngagementForm, Field, Weekday, WeeklyWindow};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    pub(crate) fn details(form: EngagementForm) -> ActivityDetails {
        ActivityDetails {
            host_organisation_id: "h1".into(),
            title: "農園の収穫".into(),
            description: "週一回の収穫作業".into(),
            field: Field::Agriculture,
            origin: Origin::ExistingActivity,
            engagement_form: form,
            place: Place {
                district: Some("柏".into()),
                location: None,
                online: false,
            },
            physical_load: None,
            application_mode: ApplicationMode::Open,
            incentives: Incentives::default(),
            period_start: day(2026, 4, 1),
            period_end: day(2027, 3, 31),
            coordinator_id: None,
            regional_goal: None,
        }
    }

    pub(crate) fn piece(headcount: u32) -> PieceDetails {
        PieceDetails {
            title: "収穫".into(),
            skills: vec![],
            schedule: Schedule::Weekly {
                window: WeeklyWindow::new(Weekday::Tuesday, 540, 720).expect("valid window"),
                from: day(2026, 4, 7),
                to: day(2026, 9, 29),
                exceptions: vec![],
                skip_national_holidays: true,
            },
            headcount,
            expected_minutes: 180,
        }
    }

    fn internship() -> Internship {
        Internship {
            goal: "地域の農業DX".into(),
            start: day(2026, 6, 1),
            end: day(2026, 11, 30),
            weekly_hours: 10,
            mentor_name: "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                .parse()
                .expect("sealed form"),
            milestones: Milestones {
                orientation: day(2026, 6, 1),
                mid_term_review: day(2026, 8, 31),
                final_reflection: day(2026, 11, 30),
            },
        }
    }

    /// The activity's id, as an id or as the text a refusal names.
    fn a<T: From<&'static str>>() -> T {
        "a1".into()
    }

    pub(crate) fn created(form: EngagementForm) -> ActivityEvent {
        ActivityEvent::ActivityCreated(ActivityCreated {
            activity_id: a(),
            details: details(form),
        })
    }

    pub(crate) fn added(piece_id: &str) -> ActivityEvent {
        ActivityEvent::PieceAdded(PieceAdded {
            activity_id: a(),
            piece_id: piece_id.into(),
            piece: piece(2),
        })
    }

    fn this() -> ActivityRef {
        ActivityRef { activity_id: a() }
    }

    fn published() -> ActivityEvent {
        ActivityEvent::ActivityPublished(this())
    }

    fn paused() -> ActivityEvent {
        ActivityEvent::ActivityPaused(this())
    }

    fn closed() -> ActivityEvent {
        ActivityEvent::ActivityClosed(ActivityClosed {
            activity_id: a(),
            reason: CloseReason::Filled,
        })
    }

    fn cancelled() -> ActivityEvent {
        ActivityEvent::ActivityCancelled(ActivityCancelled {
            activity_id: a(),
            reason: "雨天".into(),
        })
    }

    fn draft() -> Vec<ActivityEvent> {
        vec![created(EngagementForm::Volunteer), added("p1")]
    }

    fn live() -> Vec<ActivityEvent> {
        let mut e = draft();
        e.push(published());
        e
    }

    fn with(mut events: Vec<ActivityEvent>, more: ActivityEvent) -> Vec<ActivityEvent> {
        events.push(more);
        events
    }

    fn wrong(action: &'static str, status: Status) -> ActivityError {
        ActivityError::wrong_state("a1", action, status)
    }

    #[test]
    fn creating_records_the_details_then_the_first_pieces() {
        given::<Activity>([])
            .when(ActivityCommand::Create {
                activity_id: a(),
                details: details(EngagementForm::Volunteer),
                pieces: vec![("p1".into(), piece(2))],
                host: HostFacts::licensed(vec![]),
            })
            .then(draft());
        given::<Activity>(draft())
            .when(ActivityCommand::Create {
                activity_id: a(),
                details: details(EngagementForm::Volunteer),
                pieces: vec![],
                host: HostFacts::licensed(vec![]),
            })
            .then_error(ActivityError::Exists(a()));
    }

    #[test]
    fn a_suspended_host_offers_nothing_new_and_licensed_forms_need_their_licence() {
        let create = |form, host| ActivityCommand::Create {
            activity_id: a(),
            details: details(form),
            pieces: vec![],
            host,
        };
        given::<Activity>([])
            .when(create(
                EngagementForm::Volunteer,
                HostFacts {
                    suspended: true,
                    licences: vec![],
                },
            ))
            .then_error(ActivityError::HostSuspended("h1".into()));
        given::<Activity>([])
            .when(create(
                EngagementForm::Dispatch,
                HostFacts::licensed(vec![]),
            ))
            .then_error(ActivityError::LicenceMissing("worker_dispatch"));
        given::<Activity>([])
            .when(create(
                EngagementForm::Placement,
                HostFacts::licensed(vec![Licence::WorkerDispatch]),
            ))
            .then_error(ActivityError::LicenceMissing("paid_placement"));
        let mut created = details(EngagementForm::Dispatch);
        created.host_organisation_id = "h1".into();
        given::<Activity>([])
            .when(create(
                EngagementForm::Dispatch,
                HostFacts::licensed(vec![Licence::WorkerDispatch]),
            ))
            .then([ActivityEvent::ActivityCreated(ActivityCreated {
                activity_id: a(),
                details: created,
            })]);
        // Editing an existing activity of a host suspended since is allowed, within its licences.
        given::<Activity>(live())
            .when(ActivityCommand::Update {
                details: details(EngagementForm::Placement),
                host: HostFacts {
                    suspended: true,
                    licences: vec![],
                },
            })
            .then_error(ActivityError::LicenceMissing("paid_placement"));
    }

    #[test]
    fn an_unknown_activity_refuses_every_other_command() {
        given::<Activity>([])
            .when(ActivityCommand::Publish)
            .then_error(ActivityError::NotFound(String::new()));
    }

    #[test]
    fn updating_keeps_the_host() {
        let mut new = details(EngagementForm::JobBora);
        new.host_organisation_id = "someone-else".into();
        let mut expected = new.clone();
        expected.host_organisation_id = "h1".into();
        given::<Activity>(live())
            .when(ActivityCommand::Update {
                details: new,
                host: HostFacts::licensed(vec![]),
            })
            .then([ActivityEvent::ActivityUpdated(ActivityCreated {
                activity_id: a(),
                details: expected,
            })]);
        given::<Activity>(with(live(), closed()))
            .when(ActivityCommand::Update {
                details: details(EngagementForm::Volunteer),
                host: HostFacts::licensed(vec![]),
            })
            .then_error(wrong("update", Status::Closed));
    }

    #[test]
    fn pieces_are_added_revised_and_removed_while_open() {
        given::<Activity>(draft())
            .when(ActivityCommand::AddPieces {
                pieces: vec![("p2".into(), piece(2))],
            })
            .then([added("p2")]);
        given::<Activity>(live())
            .when(ActivityCommand::RevisePiece {
                piece_id: "p1".into(),
                piece: piece(5),
                confirmed: 0,
            })
            .then([ActivityEvent::PieceRevised(PieceAdded {
                activity_id: a(),
                piece_id: "p1".into(),
                piece: piece(5),
            })]);
        given::<Activity>(live())
            .when(ActivityCommand::RemovePiece {
                piece_id: "p1".into(),
                confirmed: 0,
            })
            .then([ActivityEvent::PieceRemoved(PieceRef {
                activity_id: a(),
                piece_id: "p1".into(),
            })]);
        given::<Activity>(live())
            .when(ActivityCommand::RemovePiece {
                piece_id: "p9".into(),
                confirmed: 0,
            })
            .then_error(ActivityError::PieceNotFound("p9".into()));
        given::<Activity>(with(live(), cancelled()))
            .when(ActivityCommand::AddPieces {
                pieces: vec![("p2".into(), piece(1))],
            })
            .then_error(wrong("add pieces", Status::Cancelled));
    }

    #[test]
    fn a_piece_with_confirmed_seats_keeps_what_the_matches_rely_on() {
        let state = mosaic_domain::fold::<Activity>(&live());
        let remove = state.decide(&ActivityCommand::RemovePiece {
            piece_id: "p1".into(),
            confirmed: 2,
        });
        assert!(matches!(
            remove,
            Err(ActivityError::PieceHasConfirmations { confirmed: 2, .. })
        ));
        let shrink = state.decide(&ActivityCommand::RevisePiece {
            piece_id: "p1".into(),
            piece: piece(1),
            confirmed: 2,
        });
        assert!(matches!(
            shrink,
            Err(ActivityError::PieceHasConfirmations { .. })
        ));
        let mut moved = piece(3);
        moved.schedule = piece(3).schedule;
        if let Schedule::Weekly { window, .. } = &mut moved.schedule {
            *window =
                WeeklyWindow::new(window.weekday(), 600, u32::from(window.end())).expect("valid");
        }
        assert!(
            state
                .decide(&ActivityCommand::RevisePiece {
                    piece_id: "p1".into(),
                    piece: moved,
                    confirmed: 2,
                })
                .is_err()
        );
        let grow = state.decide(&ActivityCommand::RevisePiece {
            piece_id: "p1".into(),
            piece: piece(4),
            confirmed: 2,
        });
        assert!(grow.is_ok());
    }

    #[test]
    fn publishing_needs_a_draft_with_pieces() {
        given::<Activity>(draft())
            .when(ActivityCommand::Publish)
            .then([published()]);
        given::<Activity>([created(EngagementForm::Volunteer)])
            .when(ActivityCommand::Publish)
            .then_error(ActivityError::NoPieces(a()));
        given::<Activity>(live())
            .when(ActivityCommand::Publish)
            .then_error(wrong("publish", Status::Published));
    }

    #[test]
    fn an_internship_is_published_with_its_project_only() {
        let events = vec![created(EngagementForm::Internship), added("p1")];
        given::<Activity>(events.clone())
            .when(ActivityCommand::Publish)
            .then_error(ActivityError::InternshipMissing(a()));
        let defined = ActivityEvent::InternshipDefined(InternshipDefined {
            activity_id: a(),
            internship: internship(),
        });
        given::<Activity>(events.clone())
            .when(ActivityCommand::DefineInternship {
                internship: internship(),
            })
            .then([defined.clone()]);
        given::<Activity>(with(events, defined))
            .when(ActivityCommand::Publish)
            .then([published()]);
        given::<Activity>(draft())
            .when(ActivityCommand::DefineInternship {
                internship: internship(),
            })
            .then_error(ActivityError::NotAnInternship(a()));
    }

    #[test]
    fn pause_and_resume_alternate() {
        given::<Activity>(live())
            .when(ActivityCommand::Pause)
            .then([paused()]);
        given::<Activity>(with(live(), paused()))
            .when(ActivityCommand::Pause)
            .then_error(wrong("pause", Status::Paused));
        given::<Activity>(with(live(), paused()))
            .when(ActivityCommand::Resume)
            .then([ActivityEvent::ActivityResumed(this())]);
        given::<Activity>(live())
            .when(ActivityCommand::Resume)
            .then_error(wrong("resume", Status::Published));
        given::<Activity>(draft())
            .when(ActivityCommand::Pause)
            .then_error(wrong("pause", Status::Draft));
    }

    #[test]
    fn closing_needs_a_published_or_paused_activity() {
        given::<Activity>(live())
            .when(ActivityCommand::Close {
                reason: CloseReason::Filled,
            })
            .then([closed()]);
        given::<Activity>(with(live(), paused()))
            .when(ActivityCommand::Close {
                reason: CloseReason::Filled,
            })
            .then([closed()]);
        given::<Activity>(draft())
            .when(ActivityCommand::Close {
                reason: CloseReason::Ended,
            })
            .then_error(wrong("close", Status::Draft));
        given::<Activity>(with(live(), closed()))
            .when(ActivityCommand::Close {
                reason: CloseReason::Ended,
            })
            .then_error(wrong("close", Status::Closed));
    }

    #[test]
    fn cancelling_ends_any_open_activity_for_good() {
        for events in [draft(), live(), with(live(), paused())] {
            given::<Activity>(events)
                .when(ActivityCommand::Cancel {
                    reason: " 雨天 ".into(),
                })
                .then([cancelled()]);
        }
        given::<Activity>(with(live(), cancelled()))
            .when(ActivityCommand::Cancel { reason: "x".into() })
            .then_error(wrong("cancel", Status::Cancelled));
        given::<Activity>(with(live(), closed()))
            .when(ActivityCommand::Resume)
            .then_error(wrong("resume", Status::Closed));
    }

    #[test]
    fn an_activity_holds_at_most_max_pieces() {
        let many: Vec<(PieceId, PieceDetails)> = (0..=MAX_PIECES)
            .map(|i| (format!("p{i}").into(), piece(1)))
            .collect();
        given::<Activity>(draft())
            .when(ActivityCommand::AddPieces { pieces: many })
            .then_error(ActivityError::TooManyPieces {
                id: a(),
                max: MAX_PIECES,
            });
    }

    #[test]
    fn events_round_trip_through_their_stored_form() {
        use mosaic_domain::DomainEvent;
        for e in with(with(live(), paused()), closed()) {
            let (name, payload) = e.to_stored().expect("encodes");
            let back = ActivityEvent::from_stored(&name, 1, payload.get()).expect("decodes");
            assert_eq!(back, e);
        }
    }
}
