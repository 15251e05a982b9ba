//! Running one step of a match: read the match, the facts and (for a confirmation or a release)
//! the piece's seats and the resident's commitments; check who may act; decide; append to every
//! stream decided on at once, each expected at the version read. A version conflict means
//! another booking wrote one of the streams since they were read: the step is read and decided
//! again, so the answer reflects what that booking did (a full piece is FAILED_PRECONDITION,
//! never a silent overbooking).

use chrono::{DateTime, Utc};
use mosaic_api::RequestContext;
use mosaic_api::command::{commit, decode, first_answer, new_event, replay, saved_answer};
use mosaic_api::pipeline::{Lifetime, request_stamp};
use mosaic_api::status::from_store;
use mosaic_eventstore::{AppendRequest, ExpectedVersion, StoredEvent, StreamEvents};
use mosaic_proto::v1 as pb;
use mosaic_types::{MatchId, PieceId, ResidentId, jst_date};
use tonic::Status;

use super::{MatchingApi, Party, commitments_stream, match_stream, not_found, seats_stream, view};
use crate::domain::facts::policy_stream;
use crate::domain::{
    Booking, Command, Commitments, Match, MatchError, MatchingEvent, Policy, ResidentFacts, Seats,
    Stage, decide,
};

/// How often a step is decided again after another booking wrote one of its streams. Each
/// conflict means another booking committed, so a step that keeps losing is on a piece or a
/// person many others are booking at once.
const ATTEMPTS: usize = 32;

/// Who may take a step, given the caller's relation to the match, the match and the resident.
pub(super) type Allow<'a> =
    &'a (dyn Fn(Party, &Match, Option<&ResidentFacts>) -> Result<(), Status> + Send + Sync);

/// One step of a match.
pub(super) struct Step<'a> {
    /// The match.
    pub match_id: MatchId,
    /// The pair, when the step opens the match (it may not exist yet).
    pub pair: Option<(ResidentId, PieceId)>,
    /// The version the client read, if it sent one.
    pub expected: Option<u64>,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What to decide.
    pub command: Command,
    /// Who may take it.
    pub allow: Allow<'a>,
}

/// A refusal as `party` may read it: the resident's other commitments and caps are the
/// resident's and staff's business, so the activity's host learns only which rule refused.
fn redact(e: MatchError, party: Party) -> MatchError {
    match (&e, party) {
        (MatchError::DoubleBooked { .. } | MatchError::Cap { .. }, Party::Host) => {
            MatchError::Rule(
                "the resident's other confirmed commitments or caps do not allow this piece".into(),
            )
        }
        _ => e,
    }
}

/// A stream folded: its state, version and history.
pub(super) fn fold<S: Default>(
    history: &[StoredEvent],
    evolve: impl Fn(S, &MatchingEvent) -> S,
) -> Result<(S, u64), Status> {
    let version = history.last().map(|e| e.version).unwrap_or(0);
    let state = history.iter().try_fold(S::default(), |s, e| {
        decode::<MatchingEvent>(e).map(|ev| evolve(s, &ev))
    })?;
    Ok((state, version))
}

/// The expected version of a stream read at `version` (0: no stream yet).
pub(super) fn expect(version: u64) -> ExpectedVersion {
    if version == 0 {
        ExpectedVersion::NoStream
    } else {
        ExpectedVersion::Exact(version)
    }
}

impl MatchingApi {
    /// Reads one stream of this municipality.
    async fn read(&self, ctx: &RequestContext, stream: &str) -> Result<Vec<StoredEvent>, Status> {
        let history = self
            .store
            .read_stream(ctx.municipality, stream)
            .await
            .map_err(from_store)?;
        if let Some(last) = history.last() {
            mosaic_api::consistency::record(self.store.context(), last.position);
        }
        Ok(history)
    }

    /// A match as its stream holds it: state, version, history.
    pub(super) async fn read_match(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<(Match, u64, Vec<StoredEvent>), Status> {
        let history = self.read(ctx, &match_stream(id)).await?;
        let (state, version) = fold(&history, Match::evolve)?;
        Ok((state, version, history))
    }

    /// Runs one step of a match and answers with the match after it.
    pub(super) async fn book(
        &self,
        ctx: &RequestContext,
        step: Step<'_>,
    ) -> Result<pb::Match, Status> {
        let me = self.me(ctx).await?;
        let id = step.match_id.as_str();
        let mut held = None;
        for attempt in 0..ATTEMPTS {
            let (state, version, history) = self.read_match(ctx, id).await?;
            let (resident_id, piece_id) = match (&state.opened, &step.pair) {
                (Some(o), _) => (o.resident_id.clone(), o.piece_id.clone()),
                (None, Some(pair)) => pair.clone(),
                (None, None) => return Err(not_found(id)),
            };
            // A confirmation, and the release of a confirmed match, decide on the seats and the
            // commitments too; every step reads the policy. One read for all three.
            let spans = step.command == Command::Confirm || state.stage == Stage::Confirmed;
            // An opened match names its host; only an opening needs the facts to know who may act.
            let early = if state.opened.is_none() {
                Some(self.facts(ctx, &resident_id, &piece_id).await?)
            } else {
                None
            };
            let host_id = state
                .opened
                .as_ref()
                .map(|o| o.host_organisation_id.to_string())
                .or(early
                    .as_ref()
                    .and_then(|(_, p, _)| p.as_ref())
                    .map(|p| p.host_organisation_id.to_string()))
                .unwrap_or_default();
            let party = Party::of(&ctx.caller, me.as_ref(), &resident_id, &host_id);
            if party == Party::Stranger {
                return Err(not_found(id));
            }
            if spans && held.is_none() {
                held = Some(self.piece_lock(&piece_id).lock().await);
            }
            let policy_stream = policy_stream(ctx.municipality.as_str());
            let (seats_id, commitments_id) =
                (seats_stream(&piece_id), commitments_stream(&resident_id));
            let ids: Vec<&str> = if spans {
                vec![&policy_stream, &seats_id, &commitments_id]
            } else {
                vec![&policy_stream]
            };
            let mut read = self
                .store
                .read_streams(ctx.municipality, &ids)
                .await
                .map_err(from_store)?
                .into_iter();
            let (policy, policy_version) = replay::<Policy>(&read.next().unwrap_or_default())?;
            let (seats, seats_version) = fold(&read.next().unwrap_or_default(), Seats::evolve)?;
            let (commitments, commitments_version) =
                fold(&read.next().unwrap_or_default(), Commitments::evolve)?;
            // The facts after the seats: activity's change to a piece reaches the facts before
            // matching reviews the piece's seats, so a decision either sees the change, or read
            // seats that the review's marker moves on (its append is then decided again), or
            // committed before the review reads them (and the review ends it if it no longer
            // fits). See `reviews`.
            let (resident, piece, host) = match early {
                Some(facts) => facts,
                None => self.facts(ctx, &resident_id, &piece_id).await?,
            };
            // Who may act is checked before a saved answer is returned.
            (step.allow)(party, &state, resident.as_ref())?;
            if attempt == 0
                && let Some(first) = first_answer::<pb::Match>(self.store.as_ref(), ctx).await?
            {
                return Ok(first);
            }
            if let Some(expected) = step.expected
                && expected != version
            {
                return Err(Status::aborted(format!(
                    "match {id} is at version {version}, not {expected}; read it again and retry"
                )));
            }
            let booking = Booking {
                match_id: &step.match_id,
                resident_id: &resident_id,
                piece_id: &piece_id,
                the_match: &state,
                seats: &seats,
                commitments: &commitments,
                resident: resident.as_ref(),
                piece: piece.as_ref(),
                host: host.as_ref(),
                policy: &policy,
                today: jst_date(ctx.received_at),
            };
            let writes = decide(&booking, &step.command).map_err(|e| redact(e, party))?;
            let mut life = Lifetime::of_history(&history);
            if writes.is_empty() {
                return view::the_match(id, &state, version, &life).ok_or_else(|| not_found(id));
            }
            let after = writes.on_match.iter().fold(state, |s, e| s.evolve(e));
            life.note(request_stamp(ctx, step.at));
            let answer = view::the_match(id, &after, version + writes.on_match.len() as u64, &life)
                .ok_or_else(|| Status::internal("match missing after its step"))?;
            let events = |es: &[MatchingEvent]| -> Result<Vec<_>, Status> {
                es.iter().map(|e| new_event(e, step.at)).collect()
            };
            let mut also = Vec::new();
            if !writes.on_seats.is_empty() {
                also.push(StreamEvents {
                    stream_id: seats_stream(&piece_id),
                    expected: expect(seats_version),
                    events: events(&writes.on_seats)?,
                });
            }
            if !writes.on_commitments.is_empty() {
                also.push(StreamEvents {
                    stream_id: commitments_stream(&resident_id),
                    expected: expect(commitments_version),
                    events: events(&writes.on_commitments)?,
                });
            }
            // The policy the decision read must still hold when it commits: checked, not
            // written.
            also.push(StreamEvents {
                stream_id: policy_stream.clone(),
                expected: expect(policy_version),
                events: Vec::new(),
            });
            let request = AppendRequest {
                municipality: ctx.municipality,
                stream_id: match_stream(id),
                expected: expect(version),
                events: events(&writes.on_match)?,
                meta: ctx.meta(),
                response: Some(saved_answer(&answer)),
                also,
            };
            // `None`: another booking wrote the match, the seats or the commitments since they
            // were read: decide again on what it wrote.
            if let Some(answer) = commit(self.store.as_ref(), request, answer).await? {
                return Ok(answer);
            }
        }
        Err(Status::aborted(format!(
            "match {id}: {ATTEMPTS} other bookings of the same piece or person came first; retry"
        )))
    }
}
