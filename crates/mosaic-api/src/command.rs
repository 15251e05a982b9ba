//! The command pipeline shared by every service:
//! load the stream → check who may act → first answer of a retried request → `decide` → append
//! → answer. Idempotency keys are scoped by caller ([`RequestContext`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use mosaic_domain::{Aggregate, DomainEvent};
use mosaic_eventstore::{
    AppendOutcome, AppendRequest, Committed, EventStore, ExpectedVersion, Idempotency, NewEvent,
    StoreError, StoredEvent,
};
use mosaic_types::{EventId, MunicipalityCode};
use tonic::Status;

use crate::RequestContext;
use crate::status::from_store;

/// One command against one stream.
#[derive(Debug)]
pub struct Execute<A: Aggregate> {
    /// The aggregate's stream.
    pub stream_id: String,
    /// The version the client last read, if it sent one (`ABORTED` if the stream moved on).
    pub expected_version: Option<u64>,
    /// What to decide.
    pub command: A::Command,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The stream was just named by the server (a new id) after the handler looked for a first
    /// answer itself: it cannot exist yet, so it is neither read nor checked again. The append
    /// still expects no stream, so a mistake is a conflict, never an overwrite.
    pub fresh: bool,
}

/// Runs a command and answers it. A retry with the same `request_id` gets the first answer
/// without deciding again; a refused command writes nothing.
pub async fn execute<A, R>(
    store: &dyn EventStore,
    ctx: &RequestContext,
    exec: Execute<A>,
    respond: impl FnOnce(&A, u64) -> R,
) -> Result<R, Status>
where
    A: Aggregate,
    A::Error: Into<Status>,
    R: prost::Message + Default,
{
    let answer = execute_with(
        store,
        ctx,
        exec,
        |_| Ok(()),
        |done| Ok(respond(done.state, done.version)),
    )
    .await?;
    Ok(answer.into_answer())
}

/// What a command did, for building its answer.
pub struct Done<'a, A: Aggregate> {
    /// The state after the command.
    pub state: &'a A,
    /// The stream's version after the command.
    pub version: u64,
    /// The stream's events before the command.
    pub history: &'a [StoredEvent],
    /// The events the command caused (not yet stored).
    pub new_events: &'a [A::Event],
}

/// The answer of a command: fresh (decided now, with the state after it) or the first answer of
/// a retried `request_id`.
pub enum Answer<R, A> {
    /// Decided now.
    Fresh(R, A),
    /// A retry: the answer saved by the first attempt.
    Replayed(R),
}

impl<R, A> Answer<R, A> {
    /// The answer, however it came.
    pub fn into_answer(self) -> R {
        match self {
            Answer::Fresh(r, _) | Answer::Replayed(r) => r,
        }
    }
}

/// [`execute`] with a guard on the loaded state (e.g. who may act on it; refusals write
/// nothing) and an answer built from what the command did. The guard runs before a retry's
/// saved answer is returned. The answer is saved with the idempotency key, so it must hold no
/// personal data in clear.
pub async fn execute_with<A, R>(
    store: &dyn EventStore,
    ctx: &RequestContext,
    exec: Execute<A>,
    guard: impl FnOnce(&A) -> Result<(), Status>,
    respond: impl FnOnce(Done<'_, A>) -> Result<R, Status>,
) -> Result<Answer<R, A>, Status>
where
    A: Aggregate,
    A::Error: Into<Status>,
    R: prost::Message + Default,
{
    let history = if exec.fresh {
        Vec::new()
    } else {
        store
            .read_stream(ctx.municipality, &exec.stream_id)
            .await
            .map_err(from_store)?
    };
    let (state, version) = replay::<A>(&history)?;
    // The answer rests on the stream as read, at least.
    if let Some(last) = history.last() {
        crate::consistency::record(store.context(), last.position);
    }
    // Who may act is checked before a saved answer is returned: a caller that may not act on
    // the stream now learns nothing from an earlier answer.
    guard(&state)?;
    if !exec.fresh
        && let Some(first) = first_answer(store, ctx).await?
    {
        return Ok(Answer::Replayed(first));
    }
    if let Some(expected) = exec.expected_version
        && expected != version
    {
        return Err(Status::aborted(format!(
            "{} is at version {version}, not {expected}; read it again and retry",
            exec.stream_id
        )));
    }
    let events = state.decide(&exec.command).map_err(Into::into)?;
    let after = events.iter().fold(state, |s, e| s.evolve(e));
    let answer = respond(Done {
        state: &after,
        version: version + events.len() as u64,
        history: &history,
        new_events: &events,
    })?;
    let request = AppendRequest {
        municipality: ctx.municipality,
        stream_id: exec.stream_id,
        expected: if version == 0 {
            ExpectedVersion::NoStream
        } else {
            ExpectedVersion::Exact(version)
        },
        events: events
            .iter()
            .map(|e| new_event(e, exec.occurred_at))
            .collect::<Result<_, _>>()?,
        meta: ctx.meta(),
        response: Some(saved_answer(&answer)),
        also: Vec::new(),
    };
    match store.append(request).await.map_err(from_store)? {
        AppendOutcome::Appended(done) => {
            record_written(store, &done);
            Ok(Answer::Fresh(answer, after))
        }
        AppendOutcome::Duplicate(first) => {
            record_written(store, &first);
            decode_answer(&first).map(Answer::Replayed)
        }
    }
}

/// Appends a command's events with its answer: the answer to give (this one, or the first answer
/// when the request was made before), or `None` when another write to one of the streams came
/// first (the caller decides again on what it wrote).
pub async fn commit<R: prost::Message + Default>(
    store: &dyn EventStore,
    request: AppendRequest,
    answer: R,
) -> Result<Option<R>, Status> {
    match store.append(request).await {
        Ok(AppendOutcome::Appended(done)) => {
            record_written(store, &done);
            Ok(Some(answer))
        }
        Ok(AppendOutcome::Duplicate(first)) => {
            record_written(store, &first);
            decode_answer(&first).map(Some)
        }
        Err(StoreError::Conflict { .. }) => Ok(None),
        Err(e) => Err(from_store(e)),
    }
}

/// The first answer to this request's `request_id`, if this caller made the request before.
/// Handlers that generate ids call it before generating one, so a retry answers with the first
/// id; they check the caller's access first.
pub async fn first_answer<R: prost::Message + Default>(
    store: &dyn EventStore,
    ctx: &RequestContext,
) -> Result<Option<R>, Status> {
    let Some(idem) = &ctx.idempotency else {
        return Ok(None);
    };
    match store
        .idempotent_result(ctx.municipality, idem)
        .await
        .map_err(from_store)?
    {
        Some(first) => {
            record_written(store, &first);
            decode_answer(&first).map(Some)
        }
        None => Ok(None),
    }
}

/// The answer rests on what `committed` wrote (see [`crate::consistency`]).
pub fn record_written(store: &dyn EventStore, committed: &Committed) {
    if let Some((_, last)) = committed.positions {
        crate::consistency::record(store.context(), last);
    }
}

/// [`first_answer`] for many commands of one municipality (an import's rows) in one lookup, in
/// their order.
pub async fn first_answers<R: prost::Message + Default>(
    store: &dyn EventStore,
    municipality: MunicipalityCode,
    ctxs: &[&RequestContext],
) -> Result<Vec<Result<Option<R>, Status>>, Status> {
    let keyed: Vec<(usize, Idempotency)> = ctxs
        .iter()
        .enumerate()
        .filter_map(|(i, ctx)| Some((i, ctx.idempotency.clone()?)))
        .collect();
    let keys: Vec<Idempotency> = keyed.iter().map(|(_, k)| k.clone()).collect();
    let found = store
        .idempotent_results(municipality, &keys)
        .await
        .map_err(from_store)?;
    let mut answers: Vec<Result<Option<R>, Status>> = ctxs.iter().map(|_| Ok(None)).collect();
    for ((i, _), result) in keyed.into_iter().zip(found) {
        answers[i] = match result {
            Ok(Some(first)) => decode_answer(&first).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(from_store(e)),
        };
    }
    Ok(answers)
}

/// An answer as it is saved with the idempotency key.
pub fn saved_answer<R: prost::Message>(answer: &R) -> serde_json::Value {
    serde_json::json!({ "proto": STANDARD.encode(answer.encode_to_vec()) })
}

/// The answer saved with an idempotency key, as its message.
pub fn decode_answer<R: prost::Message + Default>(first: &Committed) -> Result<R, Status> {
    let bytes = first
        .response
        .as_ref()
        .and_then(|r| r.get("proto"))
        .and_then(|p| p.as_str())
        .and_then(|p| STANDARD.decode(p).ok())
        .ok_or_else(|| Status::internal("the first answer to this request_id was not kept"))?;
    R::decode(bytes.as_slice())
        .map_err(|_| Status::internal("the first answer to this request_id is unreadable"))
}

/// A domain event as the store appends it, with a new id.
pub fn new_event<E: DomainEvent>(
    event: &E,
    occurred_at: DateTime<Utc>,
) -> Result<NewEvent, Status> {
    let (event_type, payload) = event
        .to_stored()
        .map_err(|e| Status::internal(format!("cannot encode event: {e}")))?;
    Ok(NewEvent {
        event_id: EventId::new(),
        schema_version: E::schema_version(&event_type),
        event_type,
        occurred_at,
        payload: payload.into(),
    })
}

/// The state and version of a stream in one municipality; version 0 means no such stream.
pub async fn load<A: Aggregate>(
    store: &dyn EventStore,
    municipality: MunicipalityCode,
    stream_id: &str,
) -> Result<(A, u64), Status> {
    let stored = store
        .read_stream(municipality, stream_id)
        .await
        .map_err(from_store)?;
    replay(&stored)
}

/// The state and version after stored events of one stream.
pub fn replay<A: Aggregate>(stored: &[StoredEvent]) -> Result<(A, u64), Status> {
    let version = stored.last().map(|e| e.version).unwrap_or(0);
    let state = stored.iter().try_fold(A::default(), |state, e| {
        decode::<A::Event>(e).map(|ev| state.evolve(&ev))
    })?;
    Ok((state, version))
}

/// The domain event of a stored event.
pub fn decode<E: DomainEvent>(stored: &StoredEvent) -> Result<E, Status> {
    E::from_stored(
        &stored.event_type,
        stored.schema_version,
        stored.payload.json(),
    )
    .map_err(|e| {
        tracing::error!(error = %e, position = stored.position, "unreadable stored event");
        Status::internal("a stored event is unreadable")
    })
}
