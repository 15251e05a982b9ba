use crate::domain::Status as Lifecycle;

/// Why the activity context refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivityError {
    /// No such activity in this municipality.
    #[error("activity {0} does not exist in this municipality")]
    NotFound(String),
    /// The activity exists already (an id reused).
    #[error("activity {0} exists already")]
    Exists(String),
    /// The command does not apply in the activity's current state.
    #[error("activity {id} is {status}: cannot {action}")]
    WrongState {
        /// The activity.
        id: String,
        /// What was asked.
        action: &'static str,
        /// Its state.
        status: &'static str,
    },
    /// The host organisation is suspended: it can offer no new activities.
    #[error("organisation {0} is suspended: it can offer no new activities")]
    HostSuspended(String),
    /// The host lacks the licence the form of engagement needs.
    #[error("the host does not hold the {0} licence this form needs")]
    LicenceMissing(&'static str),
    /// No such piece in the activity.
    #[error("piece {0} does not exist in this activity")]
    PieceNotFound(String),
    /// The change would break matches already confirmed.
    #[error("piece {piece} has {confirmed} confirmed seat(s): {rule}")]
    PieceHasConfirmations {
        /// The piece.
        piece: String,
        /// Seats confirmed.
        confirmed: u32,
        /// What the change may not do.
        rule: &'static str,
    },
    /// An activity must have pieces to be published.
    #[error("activity {0} has no pieces: add at least one before publishing")]
    NoPieces(String),
    /// An internship activity is published with its project only.
    #[error("activity {0} is an internship: define the project before publishing")]
    InternshipMissing(String),
    /// Only internship activities have internship projects.
    #[error("activity {0} is not an internship: its engagement form must be internship")]
    NotAnInternship(String),
    /// Too many pieces for one activity.
    #[error("activity {id} would have more than {max} pieces")]
    TooManyPieces {
        /// The activity.
        id: String,
        /// The cap.
        max: usize,
    },
}

impl ActivityError {
    /// A refusal because of the activity's lifecycle state.
    pub fn wrong_state(id: &str, action: &'static str, status: Lifecycle) -> Self {
        Self::WrongState {
            id: id.to_owned(),
            action,
            status: status.as_str(),
        }
    }
}
