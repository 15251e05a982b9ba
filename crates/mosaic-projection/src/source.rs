use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::AckPolicy, consumer::DeliverPolicy, consumer::pull};
use futures::{FutureExt, StreamExt};
use mosaic_bus::decode_event;
use mosaic_eventstore::{EventStore, LogQuery, LogReader, READ_AHEAD_PAGE, StoredEvent};
use mosaic_types::MunicipalityCode;
use tokio::sync::watch;

use crate::runner::RunnerError;
use crate::{Interest, Projection};

/// Where a runner reads events from.
#[derive(Clone)]
pub enum Source {
    /// Tail a store's own log (embedded: no NATS).
    Store(Arc<dyn EventStore>),
    /// The `MOSAIC` JetStream stream (distributed), read through an ordered consumer made
    /// from the checkpoint (see [`Reader::open`]).
    JetStream(Box<jetstream::Context>),
}

impl Source {
    /// The checkpoint key of this source: `store:<context>` or `nats:MOSAIC`.
    pub fn key(&self) -> String {
        match self {
            Source::Store(store) => format!("store:{}", store.context()),
            Source::JetStream(_) => format!("nats:{}", mosaic_bus::stream::STREAM_NAME),
        }
    }
}

/// One event as read: its position in the source, the context and log position it has (wanted
/// or not: how far the projection has read a context is what a waiting request asks), and, when
/// the projection wants it, the event.
pub(crate) struct Delivery {
    pub seq: u64,
    pub read: (String, u64),
    pub event: Option<StoredEvent>,
}

/// A store's log read ahead in large pages and handed out in the runner's batches.
pub(crate) struct Buffered {
    reader: LogReader,
    buffer: VecDeque<StoredEvent>,
}

impl Buffered {
    fn new(store: Arc<dyn EventStore>, query: LogQuery) -> Self {
        Self {
            reader: LogReader::new(
                store,
                LogQuery {
                    limit: READ_AHEAD_PAGE,
                    ..query
                },
            ),
            buffer: VecDeque::new(),
        }
    }

    /// The last position handed out: the next batch starts after it.
    fn position(&self) -> u64 {
        self.buffer
            .front()
            .map_or(self.reader.position(), |e| e.position - 1)
    }

    /// Up to `max` next events; empty at the end of what is committed. A stored event that
    /// cannot be read stops `projection` there.
    async fn take(
        &mut self,
        projection: &dyn Projection,
        max: usize,
    ) -> Result<Vec<StoredEvent>, RunnerError> {
        if self.buffer.is_empty() {
            let after = self.reader.position();
            self.buffer = match self.reader.next_page().await {
                Ok(page) => page.into(),
                Err(e @ mosaic_eventstore::StoreError::Corrupt(_)) => {
                    return Err(unreadable(projection, after + 1, e));
                }
                Err(e) => return Err(to_source_error(e)),
            };
        }
        let n = max.min(self.buffer.len());
        Ok(self.buffer.drain(..n).collect())
    }
}

pub(crate) enum Reader {
    Store {
        store: Arc<dyn EventStore>,
        log: Buffered,
        head: watch::Receiver<u64>,
    },
    JetStream {
        messages: Box<pull::Ordered>,
        /// The client's connection count, and its value when the consumer was made.
        stats: Arc<async_nats::Statistics>,
        connects: u64,
    },
}

fn subjects(interests: &[Interest], municipality: Option<MunicipalityCode>) -> Vec<String> {
    let mut subjects: Vec<String> = interests
        .iter()
        .flat_map(|i| i.subjects(municipality))
        .collect();
    subjects.sort();
    subjects.dedup();
    subjects
}

fn to_source_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> RunnerError {
    RunnerError::Source(Arc::from(e.into()))
}

/// Why an event can never be read, with what the decoder said.
#[derive(Debug, thiserror::Error)]
#[error("unreadable event: {0}")]
struct Unreadable(#[source] Box<dyn std::error::Error + Send + Sync>);

/// An event that can never be read (a poison message): reading it again fails the same way, so
/// the projection stops there and says where.
fn unreadable(
    projection: &dyn Projection,
    position: u64,
    e: impl std::error::Error + Send + Sync + 'static,
) -> RunnerError {
    RunnerError::Stuck {
        projection: projection.name().into(),
        position,
        cause: Arc::new(Unreadable(Box::new(e))),
    }
}

impl Reader {
    /// Opens the source just after `checkpoint`.
    ///
    /// On JetStream this is an ordered consumer starting at `checkpoint + 1`: the checkpoint,
    /// committed with the projection's effect, is the only durable position. Server-side
    /// acknowledgement state is not used, because after a crash JetStream redelivers a dead
    /// reader's in-flight messages only when their ack wait ends, after later messages have
    /// already been handed to the next reader, and a checkpoint would then skip them. An
    /// ordered consumer delivers in stream order without gaps and re-creates itself if it
    /// detects one.
    pub(crate) async fn open(
        source: &Source,
        projection: &dyn Projection,
        checkpoint: u64,
    ) -> Result<Self, RunnerError> {
        match source {
            Source::Store(store) => Ok(Reader::Store {
                store: store.clone(),
                log: Buffered::new(
                    store.clone(),
                    LogQuery {
                        after: checkpoint,
                        ..Default::default()
                    },
                ),
                head: store.watch_head(),
            }),
            Source::JetStream(js) => {
                let stream = mosaic_bus::ensure_stream(js, &Default::default())
                    .await
                    .map_err(to_source_error)?;
                let consumer = stream
                    .create_consumer(pull::OrderedConfig {
                        filter_subjects: subjects(&projection.interests(), None),
                        deliver_policy: DeliverPolicy::ByStartSequence {
                            start_sequence: checkpoint + 1,
                        },
                        ..Default::default()
                    })
                    .await
                    .map_err(to_source_error)?;
                let messages = consumer.messages().await.map_err(to_source_error)?;
                let stats = js.client().statistics();
                let connects = stats.connects.load(std::sync::atomic::Ordering::Relaxed);
                Ok(Reader::JetStream {
                    messages: Box::new(messages),
                    stats,
                    connects,
                })
            }
        }
    }

    /// The next events after `after`; waits up to `wait` when there are none.
    pub(crate) async fn next_batch(
        &mut self,
        projection: &dyn Projection,
        after: u64,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>, RunnerError> {
        match self {
            Reader::Store { store, log, head } => {
                // A runner that moved its checkpoint elsewhere (a rebuild) reads from there.
                if log.position() != after {
                    *log = Buffered::new(
                        store.clone(),
                        LogQuery {
                            after,
                            ..Default::default()
                        },
                    );
                }
                let events = log.take(projection, max).await?;
                if events.is_empty() {
                    // Woken by an append in this process, or by the poll for other writers.
                    let _ = tokio::time::timeout(wait, head.changed()).await;
                }
                Ok(events
                    .into_iter()
                    .map(|e| Delivery {
                        seq: e.position,
                        read: (e.context.clone(), e.position),
                        event: projection.wants(&e).then_some(e),
                    })
                    .collect())
            }
            Reader::JetStream {
                messages,
                stats,
                connects,
            } => {
                // A reconnect means the server may have restarted, and an ordered consumer lives
                // only in its memory: the library would notice the consumer missing only after
                // two idle heartbeats (about half a minute). Reopen from the checkpoint now.
                if stats.connects.load(std::sync::atomic::Ordering::Relaxed) != *connects {
                    return Err(RunnerError::Source(Arc::new(std::io::Error::other(
                        "the NATS connection was re-established: the consumer is made again \
                         from the checkpoint",
                    ))));
                }
                // `next()` is cancel-safe: a timeout loses no message.
                let mut out = Vec::new();
                let Ok(first) = tokio::time::timeout(wait, messages.next()).await else {
                    return Ok(out);
                };
                let mut next = first;
                while let Some(message) = next {
                    let message = message.map_err(to_source_error)?;
                    let seq = message.info().map_err(to_source_error)?.stream_sequence;
                    let event = decode_event(&message.payload)
                        .map_err(|e| unreadable(projection, seq, e))?;
                    if seq > after {
                        out.push(Delivery {
                            seq,
                            read: (event.context.clone(), event.position),
                            event: projection.wants(&event).then_some(event),
                        });
                    }
                    if out.len() >= max {
                        break;
                    }
                    next = match messages.next().now_or_never() {
                        Some(n) => n,
                        None => break,
                    };
                }
                Ok(out)
            }
        }
    }
}

/// Reads, in order, every wanted event of one municipality (or all) up to a checkpoint, for a
/// rebuild.
pub(crate) enum Replay {
    Store(Buffered),
    JetStream {
        consumer: Box<jetstream::consumer::Consumer<pull::Config>>,
        up_to: u64,
        done: bool,
        /// The stream sequence of the last message read.
        reached: u64,
    },
    Empty,
}

impl Replay {
    pub(crate) async fn open(
        source: &Source,
        projection: &dyn Projection,
        municipality: Option<MunicipalityCode>,
        up_to: u64,
    ) -> Result<Self, RunnerError> {
        if up_to == 0 {
            return Ok(Replay::Empty);
        }
        match source {
            Source::Store(store) => Ok(Replay::Store(Buffered::new(
                store.clone(),
                LogQuery {
                    municipality,
                    up_to: Some(up_to),
                    ..Default::default()
                },
            ))),
            Source::JetStream(js) => {
                let stream = js
                    .get_stream(mosaic_bus::stream::STREAM_NAME)
                    .await
                    .map_err(to_source_error)?;
                let consumer = stream
                    .create_consumer(pull::Config {
                        filter_subjects: subjects(&projection.interests(), municipality),
                        ack_policy: AckPolicy::None,
                        deliver_policy: DeliverPolicy::All,
                        inactive_threshold: Duration::from_secs(60),
                        ..Default::default()
                    })
                    .await
                    .map_err(to_source_error)?;
                Ok(Replay::JetStream {
                    consumer: Box::new(consumer),
                    up_to,
                    done: false,
                    reached: 0,
                })
            }
        }
    }

    /// The source position (store) or stream sequence (NATS) of the last event read, wanted or
    /// not: how far the replay has come towards its end.
    pub(crate) fn reached(&self) -> u64 {
        match self {
            Replay::Store(log) => log.position(),
            Replay::JetStream { reached, .. } => *reached,
            Replay::Empty => 0,
        }
    }

    /// The next batch of wanted events; `None` when the replay reached its end.
    pub(crate) async fn next(
        &mut self,
        projection: &dyn Projection,
        max: usize,
    ) -> Result<Option<Vec<StoredEvent>>, RunnerError> {
        match self {
            Replay::Empty => Ok(None),
            Replay::Store(log) => {
                let events = log.take(projection, max).await?;
                if events.is_empty() {
                    return Ok(None);
                }
                Ok(Some(
                    events.into_iter().filter(|e| projection.wants(e)).collect(),
                ))
            }
            Replay::JetStream {
                consumer,
                up_to,
                done,
                reached,
            } => {
                if *done {
                    return Ok(None);
                }
                let mut messages = consumer
                    .batch()
                    .max_messages(max)
                    .expires(Duration::from_millis(500))
                    .messages()
                    .await
                    .map_err(to_source_error)?;
                let mut events = Vec::new();
                let mut got = 0;
                while let Some(message) = messages.next().await {
                    let message = message.map_err(to_source_error)?;
                    got += 1;
                    let info = message.info().map_err(to_source_error)?;
                    if info.stream_sequence > *up_to {
                        *done = true;
                        break;
                    }
                    *reached = info.stream_sequence;
                    let event = decode_event(&message.payload)
                        .map_err(|e| unreadable(projection, info.stream_sequence, e))?;
                    if projection.wants(&event) {
                        events.push(event);
                    }
                    if info.stream_sequence == *up_to || info.pending == 0 {
                        *done = true;
                        break;
                    }
                }
                if got == 0 {
                    *done = true;
                }
                Ok(Some(events))
            }
        }
    }
}
