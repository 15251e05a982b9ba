/// Why the matching context refuses a command. Every refusal names the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// No such match, resident or piece in this municipality.
    #[error("{kind} {id} does not exist in this municipality")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The resident has an open or confirmed match for this piece already.
    #[error("match {0} for this resident and piece is open already")]
    Exists(String),
    /// The step does not apply in the match's current stage.
    #[error("match {id} is {stage}: cannot {action}")]
    Step {
        /// The match.
        id: String,
        /// What was asked.
        action: &'static str,
        /// Where the match stands.
        stage: &'static str,
    },
    /// A rule about the resident, the activity or the host refuses it.
    #[error("{0}")]
    Rule(String),
    /// The piece has no free seat.
    #[error("piece {piece} is full: {taken} of {headcount} seat(s) confirmed")]
    Full {
        /// The piece.
        piece: String,
        /// Its headcount.
        headcount: u32,
        /// Seats confirmed.
        taken: u32,
    },
    /// The resident holds a confirmed piece at the same time.
    #[error("the resident is confirmed for piece {other} at an overlapping time")]
    DoubleBooked {
        /// The other piece.
        other: String,
    },
    /// A cap would be exceeded.
    #[error(
        "{cap} ({whose}) is {}; confirmed {} plus this piece's {} would be {}",
        unit.show(*limit), unit.show(*held), unit.show(*asked), unit.show(held + asked)
    )]
    Cap {
        /// Which cap, e.g. `max_hours_per_week`.
        cap: &'static str,
        /// Whose rule: `the resident's` or `the municipality's`.
        whose: &'static str,
        /// What the figures count.
        unit: CapUnit,
        /// The cap.
        limit: u32,
        /// Already confirmed in overlapping periods.
        held: u32,
        /// What this piece asks.
        asked: u32,
    },
}

/// What a cap's figures count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapUnit {
    /// Minutes, shown as hours.
    Minutes,
    /// Days.
    Days,
}

impl CapUnit {
    fn show(self, v: u32) -> String {
        match self {
            CapUnit::Minutes => format!("{} h", f64::from(v) / 60.0),
            CapUnit::Days => format!("{v} day(s)"),
        }
    }
}

impl MatchError {
    /// A refusal because of the match's stage.
    pub fn step(id: &str, action: &'static str, stage: super::Stage) -> Self {
        Self::Step {
            id: id.to_owned(),
            action,
            stage: stage.as_str(),
        }
    }
}
