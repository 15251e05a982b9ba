//! gRPC handlers of `MatchingService`: validate → facts → decide → append → answer. One file per
//! group of RPCs; this one wires them to the generated trait and holds who may do what.

mod booking;
mod candidates;
mod commands;
mod facts;
mod queries;
mod recommend;
mod recorder;
mod reviews;
mod team;
mod view;

pub use candidates::Candidates;

use std::sync::Arc;

use mosaic_api::paging::PageTokens;
use mosaic_auth::{Caller, Role};
use mosaic_db::Db;
use mosaic_eventstore::EventStore;
use mosaic_privacy::Vault;
use mosaic_proto::v1::matching_service_server::MatchingService;
use mosaic_types::{MatchId, PieceId, ResidentId};
use sha2::{Digest, Sha256};
use tonic::Status;

use crate::domain::{MatchError, ResidentFacts, Side};

/// Staff: who proposes, cancels, and acts for residents with a proxy agreement.
pub const STAFF: &[Role] = &[Role::Coordinator, Role::MunicipalityOfficer, Role::Operator];
/// Who takes part in matching at all (analysts read insights, not matches).
pub const PARTIES: &[Role] = &[
    Role::Resident,
    Role::Coordinator,
    Role::HostOrganisation,
    Role::MunicipalityOfficer,
    Role::Operator,
];
/// Who sets the municipality's matching policy (coordinators its weights and fairness window
/// only).
pub const POLICY_SETTERS: &[Role] = &[Role::Coordinator, Role::MunicipalityOfficer, Role::Operator];

/// How many locks the pieces of one process share (see [`MatchingApi::piece_lock`]).
const PIECE_LOCKS: usize = 1024;

/// The matching context's gRPC API.
#[derive(Clone)]
pub struct MatchingApi {
    store: Arc<dyn EventStore>,
    vault: Vault,
    db: Db,
    pages: PageTokens,
    piece_locks: Arc<[tokio::sync::Mutex<()>]>,
    candidates: Candidates,
    recorder: recorder::Recorder,
    /// One team assembly solving per core at a time; more wait their turn.
    solvers: Arc<tokio::sync::Semaphore>,
}

impl MatchingApi {
    /// An API writing to `store`, reading what it knows of residents and pieces from `db`; a
    /// resident's token is recognised by the keyed hash of its subject (`vault`).
    pub fn new(store: Arc<dyn EventStore>, vault: Vault, db: Db) -> Self {
        let candidates = Candidates::warm(db.clone());
        Self::with_candidates(store, vault, db, candidates)
    }

    /// An API ranking from `candidates`, an index that other handles of this process share.
    pub fn with_candidates(
        store: Arc<dyn EventStore>,
        vault: Vault,
        db: Db,
        candidates: Candidates,
    ) -> Self {
        let pages = PageTokens::from_vault(&vault);
        Self {
            recorder: recorder::Recorder::new(store.clone()),
            candidates,
            store,
            vault,
            db,
            pages,
            solvers: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            )),
            piece_locks: (0..PIECE_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }

    /// The lock this process takes around a booking that writes a piece's seats. Correctness
    /// does not rest on it (the append's expected versions do, across replicas too); it keeps
    /// the bookings of one hot piece in one process from racing each other only to be decided
    /// again. Pieces share a fixed set of locks by the hash of their id.
    fn piece_lock(&self, piece: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(piece);
        &self.piece_locks[hash as usize % self.piece_locks.len()]
    }
}

/// The id of the match of a piece and a resident: one match per pair, so an application and a
/// proposal of the same pair meet in one stream, and the store refuses a second opening. The
/// first 128 bits of SHA-256 over both ids, as a UUID of version 8.
pub fn match_id(piece: &PieceId, resident: &ResidentId) -> MatchId {
    let digest = Sha256::new()
        .chain_update(piece.as_str())
        .chain_update([0])
        .chain_update(resident.as_str())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    MatchId::from(uuid::Uuid::new_v8(bytes).to_string())
}

/// The stream of a match.
pub fn match_stream(id: &str) -> String {
    format!("match-{id}")
}

/// The stream of a piece's seats.
pub fn seats_stream(piece: &str) -> String {
    format!("seats-{piece}")
}

/// The stream of a resident's commitments.
pub fn commitments_stream(resident: &str) -> String {
    format!("commitments-{resident}")
}

/// Who the caller is to one match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Party {
    /// Coordinator, officer or operator.
    Staff,
    /// The match's resident, by their own token.
    Resident,
    /// The match's activity's host, by its own token.
    Host,
    /// Anyone else: the match does not exist for them.
    Stranger,
}

impl Party {
    /// The caller's relation to a match of `resident` on an activity of `host`; `me` is the
    /// caller's own resident record, if the caller is a resident.
    pub(crate) fn of(caller: &Caller, me: Option<&ResidentId>, resident: &str, host: &str) -> Self {
        match caller.role {
            r if STAFF.contains(&r) => Party::Staff,
            Role::Resident if me.is_some_and(|me| me.as_str() == resident) => Party::Resident,
            Role::HostOrganisation if caller.acts_for_organisation(host) => Party::Host,
            _ => Party::Stranger,
        }
    }

    /// Whether this party may take `side`'s step: the side itself, or staff — for the resident
    /// only under a proxy agreement.
    pub(crate) fn may_act_for(
        self,
        side: Side,
        resident: Option<&ResidentFacts>,
    ) -> Result<(), Status> {
        match (self, side) {
            (Party::Resident, Side::Resident) | (Party::Host, Side::Host) => Ok(()),
            (Party::Staff, Side::Host) => Ok(()),
            (Party::Staff, Side::Resident) if resident.is_some_and(|r| r.proxy_agreement) => Ok(()),
            (Party::Staff, Side::Resident) => Err(Status::failed_precondition(
                "the resident has no confirmed proxy agreement: staff cannot take the resident's \
                 steps for them",
            )),
            _ => Err(Status::permission_denied(format!(
                "only the {} (or staff) may take this step",
                match side {
                    Side::Resident => "resident",
                    Side::Host => "activity's host organisation",
                }
            ))),
        }
    }
}

/// NOT_FOUND for a match.
pub(crate) fn not_found(id: &str) -> Status {
    mosaic_api::pipeline::not_found("match", id)
}

mosaic_api::rpcs! {
    impl MatchingService for MatchingApi {
        apply => apply_impl(ApplyRequest) -> ApplyResponse;
        propose => propose_impl(ProposeRequest) -> ProposeResponse;
        schedule_interview => schedule_interview_impl(ScheduleInterviewRequest) -> ScheduleInterviewResponse;
        record_interview => record_interview_impl(RecordInterviewRequest) -> RecordInterviewResponse;
        accept_match => accept_match_impl(AcceptMatchRequest) -> AcceptMatchResponse;
        decline_match => decline_match_impl(DeclineMatchRequest) -> DeclineMatchResponse;
        withdraw_match => withdraw_match_impl(WithdrawMatchRequest) -> WithdrawMatchResponse;
        cancel_match => cancel_match_impl(CancelMatchRequest) -> CancelMatchResponse;
        confirm_match => confirm_match_impl(ConfirmMatchRequest) -> ConfirmMatchResponse;
        set_matching_policy => set_matching_policy_impl(SetMatchingPolicyRequest) -> SetMatchingPolicyResponse;
        get_matching_policy => get_matching_policy_impl(GetMatchingPolicyRequest) -> GetMatchingPolicyResponse;
        get_match => get_match_impl(GetMatchRequest) -> GetMatchResponse;
        list_matches => list_matches_impl(ListMatchesRequest) -> ListMatchesResponse;
        get_open_seats => get_open_seats_impl(GetOpenSeatsRequest) -> GetOpenSeatsResponse;
        recommend_residents => recommend_residents_impl(RecommendResidentsRequest) -> RecommendResidentsResponse;
        recommend_pieces => recommend_pieces_impl(RecommendPiecesRequest) -> RecommendPiecesResponse;
        assemble_team => assemble_team_impl(AssembleTeamRequest) -> AssembleTeamResponse;
        propose_team => propose_team_impl(ProposeTeamRequest) -> ProposeTeamResponse;
        get_team => get_team_impl(GetTeamRequest) -> GetTeamResponse;
    }
}

/// How a domain refusal is answered on the wire (the domain knows nothing of gRPC).
impl From<MatchError> for Status {
    fn from(e: MatchError) -> Self {
        match e {
            MatchError::NotFound { .. } => Status::not_found(e.to_string()),
            MatchError::Exists(_) => Status::already_exists(e.to_string()),
            MatchError::Step { .. }
            | MatchError::Rule(_)
            | MatchError::Full { .. }
            | MatchError::DoubleBooked { .. }
            | MatchError::Cap { .. } => Status::failed_precondition(e.to_string()),
        }
    }
}
