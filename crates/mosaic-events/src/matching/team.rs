//! The payloads of mosaic team assembly: a team as assembled (stream `team-<team id>`) and the
//! seats of it later proposed. Residents appear by id, reasons as codes.

use chrono::NaiveDate;
use mosaic_types::{ActivityId, MatchId, PieceId, ResidentId};
use serde::{Deserialize, Serialize};

mosaic_types::vocabulary!(
    /// How a team was assembled.
    TeamMethod {
        /// Proven optimal in seats filled and score (by a mixed-integer programme, or because the
        /// team meets the bound).
        Exact = 1 => "exact",
        /// Construction and local search from the baseline, not proven optimal.
        Search = 2 => "search",
        /// The baseline alone: pieces in order, each seat to the best candidate still free.
        Greedy = 3 => "greedy",
    }
);

mosaic_types::vocabulary!(
    /// Why seats of a piece stayed empty.
    EmptySeats {
        /// Nobody passes every hard filter for the piece.
        NoOneFits = 1 => "no_one_fits",
        /// Those who fit it hold clashing pieces of the team, would go over their caps with it,
        /// or are on it already.
        Team = 2 => "team",
    }
);

mosaic_types::vocabulary!(
    /// A hard filter of recommendations, as a code (the numbers of `HardFilter` in the API).
    FilterCode {
        /// Withdrawn or erased.
        Inactive = 1 => "inactive",
        /// No consent to matching.
        NoConsent = 2 => "no_matching_consent",
        /// A guest where the activity takes no per-application guests.
        Guest = 3 => "guest",
        /// An open or confirmed match on the piece already.
        AlreadyMatched = 4 => "already_matched",
        /// A required skill missing or below its level.
        Skills = 5 => "skills",
        /// Availability does not cover the piece's windows.
        Availability = 6 => "availability",
        /// Beyond the travel radius.
        Distance = 7 => "distance",
        /// Overlaps a confirmed commitment.
        Overlap = 8 => "overlap",
        /// Caps would be exceeded.
        Caps = 9 => "caps",
        /// The piece takes nobody now.
        PieceNotOpen = 10 => "piece_not_open",
        /// The host may not offer the piece.
        HostNotAllowed = 11 => "host_not_allowed",
    }
);

/// A resident on a seat, or a backup, with their score for the piece.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TeamMember {
    /// The resident.
    pub resident_id: ResidentId,
    /// Their recommendation score for the piece.
    pub score: i64,
}

/// How many residents a hard filter excluded from a piece.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Excluded {
    /// The filter (the first that excluded each).
    pub filter: FilterCode,
    /// How many.
    pub residents: u32,
}

/// One piece of an assembled team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TeamPiece {
    /// The piece.
    pub piece_id: PieceId,
    /// Its activity.
    pub activity_id: ActivityId,
    /// Seats open when the team was assembled.
    pub open_seats: u32,
    /// On its seats, best score first.
    pub members: Vec<TeamMember>,
    /// Who could step in, best first.
    pub backups: Vec<TeamMember>,
    /// Why seats stayed empty, if any did.
    pub empty: Option<EmptySeats>,
    /// With `no_one_fits`: residents excluded per filter, most first.
    pub excluded: Vec<Excluded>,
}

/// Seats, score and hand-overs of a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TeamQuality {
    /// Seats filled.
    pub seats_filled: u32,
    /// Seats open in all.
    pub seats_open: u32,
    /// The sum of the scores on the seats.
    pub score: i64,
    /// Per adjacent pair of pieces, those on the later who were not on the earlier.
    pub handovers: u32,
}

/// Payload of `TeamAssembled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TeamAssembled {
    /// The team.
    pub team_id: String,
    /// The activity staffed; `None` when pieces were named.
    pub activity_id: Option<ActivityId>,
    /// Who asked, as events record an actor.
    pub asked_by: String,
    /// The JST date it was assembled on.
    pub day: NaiveDate,
    /// The matching policy version that scored it.
    pub policy_version: u64,
    /// How it was assembled.
    pub method: TeamMethod,
    /// Its quality.
    pub quality: TeamQuality,
    /// The baseline's quality on the same instance.
    pub baseline: TeamQuality,
    /// A bound on seats: no team fills more (the answer's seats when proven optimal).
    pub bound_seats: u32,
    /// A bound on score: the best team scores no more (the answer's score when proven optimal).
    pub bound_score: i64,
    /// Residents who fit at least one piece.
    pub considered: u32,
    /// The pieces, by weekday, start and id.
    pub pieces: Vec<TeamPiece>,
}

/// One seat of a team that was proposed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProposedSeat {
    /// The piece.
    pub piece_id: PieceId,
    /// The resident.
    pub resident_id: ResidentId,
    /// The match the proposal opened.
    pub match_id: MatchId,
}

/// Payload of `TeamProposed`: seats of a team proposed (each as a `MatchOpened` of origin
/// proposal on its match's stream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TeamProposed {
    /// The team.
    pub team_id: String,
    /// The seats proposed by this call.
    pub seats: Vec<ProposedSeat>,
}
