//! Records recommendations in batches: answers that ask to be recorded queue here, and one task
//! appends whatever queued while its last append was under way as one `RecommendationsRecorded`
//! event per municipality (group commit). An answer returns only once its recording is stored,
//! so a recorded answer is never lost; under load, hundreds share one append.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use mosaic_api::command::new_event;
use mosaic_api::status::from_store;
use mosaic_eventstore::{AppendRequest, EventStore, ExpectedVersion};
use mosaic_types::MunicipalityCode;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use super::reviews::system;
use crate::domain::{MatchingEvent, RecommendationsRecorded, RecordedRecommendation};

/// The most recordings one event carries.
const BATCH: usize = 500;
/// Recordings that may wait at once; a caller beyond waits for room.
const QUEUE: usize = 4 * BATCH;

/// The log position of the stored recording, or why it was not stored.
type Reply = oneshot::Sender<Result<u64, Status>>;
type Queued = (MunicipalityCode, RecordedRecommendation, Reply);

/// The recorder of one process, started at its first recording.
#[derive(Clone)]
pub struct Recorder {
    store: Arc<dyn EventStore>,
    queue: Arc<OnceLock<mpsc::Sender<Queued>>>,
}

impl Recorder {
    /// A recorder appending to `store`.
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self {
            store,
            queue: Arc::new(OnceLock::new()),
        }
    }

    /// Records one recommendation; returns once it is stored, and the request's answer carries
    /// the write's consistency token.
    pub async fn record(
        &self,
        municipality: MunicipalityCode,
        recommendation: RecordedRecommendation,
    ) -> Result<(), Status> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(self.store.clone(), rx));
            tx
        });
        let (reply, stored) = oneshot::channel();
        queue
            .send((municipality, recommendation, reply))
            .await
            .map_err(|_| Status::unavailable("the recorder stopped"))?;
        let position = stored
            .await
            .map_err(|_| Status::unavailable("the recorder stopped"))??;
        mosaic_api::consistency::record(self.store.context(), position);
        Ok(())
    }
}

/// Appends batches until every sender is gone.
async fn run(store: Arc<dyn EventStore>, mut rx: mpsc::Receiver<Queued>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let mut by_municipality: BTreeMap<MunicipalityCode, Vec<(RecordedRecommendation, Reply)>> =
            BTreeMap::new();
        for (m, rec, reply) in batch {
            by_municipality.entry(m).or_default().push((rec, reply));
        }
        for (m, recordings) in by_municipality {
            let (recommendations, replies): (Vec<_>, Vec<_>) = recordings.into_iter().unzip();
            let outcome = append(store.as_ref(), m, recommendations).await;
            for reply in replies {
                // A caller that went away needs no answer.
                let _ = reply.send(outcome.clone());
            }
        }
    }
}

/// One event of recordings in a stream of its own.
async fn append(
    store: &dyn EventStore,
    municipality: MunicipalityCode,
    recommendations: Vec<RecordedRecommendation>,
) -> Result<u64, Status> {
    let ctx = system(municipality);
    let event = MatchingEvent::RecommendationsRecorded(RecommendationsRecorded { recommendations });
    let outcome = store
        .append(AppendRequest {
            municipality,
            stream_id: format!("recommendations-{}", uuid::Uuid::now_v7()),
            expected: ExpectedVersion::NoStream,
            events: vec![new_event(&event, ctx.received_at)?],
            meta: ctx.meta(),
            response: None,
            also: Vec::new(),
        })
        .await
        .map_err(from_store)?;
    let (_, last) = outcome.committed().positions.unwrap_or_default();
    Ok(last)
}
