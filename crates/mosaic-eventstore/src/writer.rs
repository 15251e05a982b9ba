//! The store's single writer: a task that takes the appends queued by concurrent callers, in
//! arrival order, and commits them in groups ([`crate::append`]).
//!
//! Every append must take the log head, so appends commit one after another whatever happens;
//! committing them a group at a time pays for one head update, one round trip and one durable
//! flush per group instead of per append. Callers are served first come, first served: none races
//! for the head row lock or sleeps in SQLite's busy handler.

use mosaic_db::Db;
use tokio::sync::{mpsc, oneshot, watch};

use crate::append::{self, Answer, Read, WriterConn};
use crate::{AppendRequest, StoreError};

/// How long the writer keeps its connection once the queue is empty.
const LINGER: std::time::Duration = std::time::Duration::from_millis(20);
/// Appends waiting beyond this make callers wait to queue (back-pressure).
const QUEUE: usize = 4_096;
/// A group stops growing at this many appends…
const MAX_GROUP_APPENDS: usize = 512;
/// …or this many events, which bounds one statement's size.
const MAX_GROUP_EVENTS: usize = 10_000;

/// One queued append and where its answer goes.
pub(crate) struct Job {
    request: AppendRequest,
    reply: oneshot::Sender<Answer>,
}

/// The handle callers queue appends through; the task ends when every handle is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
    /// False once the task has ended: no append can commit any more.
    alive: watch::Receiver<bool>,
    task: tokio::task::AbortHandle,
}

impl Writer {
    /// Starts the writer of `context`'s store on the current runtime.
    pub(crate) fn spawn(db: Db, context: String) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let (alive_tx, alive) = watch::channel(true);
        let handle = tokio::spawn(run(db, context.clone(), rx));
        let task = handle.abort_handle();
        tokio::spawn(async move {
            if let Err(e) = handle.await {
                tracing::error!(
                    context,
                    error = %e,
                    "the event store's writer stopped: no append commits until the service restarts"
                );
            }
            alive_tx.send_replace(false);
        });
        Self { queue, alive, task }
    }

    /// Queues an append and waits for its answer.
    pub(crate) async fn append(&self, request: AppendRequest) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { request, reply })
            .await
            .map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }

    /// Turns false when the writer task ends.
    pub(crate) fn alive(&self) -> watch::Receiver<bool> {
        self.alive.clone()
    }

    /// Ends the writer task as a crash would.
    pub(crate) fn abort(&self) {
        self.task.abort();
    }
}

async fn run(db: Db, context: String, mut queue: mpsc::Receiver<Job>) {
    let mut group = Vec::new();
    while let Some(first) = queue.recv().await {
        group.push(first);
        // The connection is held while appends keep arriving and given back when they stop (the
        // pool checks a connection on every acquire, a round trip on PostgreSQL).
        let mut conn = match acquire(&db).await {
            Ok(conn) => conn,
            Err(e) => {
                for job in group.drain(..) {
                    let _ = job.reply.send(Err(StoreError::Database(copy_of(&e))));
                }
                continue;
            }
        };
        loop {
            fill(&mut group, &mut queue);
            if group.is_empty() {
                // Keep the connection a moment: a caller appending in a loop is back within it,
                // and taking the connection from the pool again would cost that check.
                match tokio::time::timeout(LINGER, queue.recv()).await {
                    Ok(Some(job)) => group.push(job),
                    Ok(None) | Err(_) => break,
                }
            }
            let healthy = commit(&mut conn, &context, std::mem::take(&mut group)).await;
            if !healthy {
                // Give back a connection that failed outside SQL; the pool checks it before reuse.
                break;
            }
        }
    }
}

/// Adds queued appends to the group up to its limits, without waiting.
fn fill(group: &mut Vec<Job>, queue: &mut mpsc::Receiver<Job>) {
    let mut events: usize = group.iter().map(|j| j.request.event_count()).sum();
    while group.len() < MAX_GROUP_APPENDS && events < MAX_GROUP_EVENTS {
        let Ok(job) = queue.try_recv() else { break };
        events += job.request.event_count();
        group.push(job);
    }
}

/// The pool's error for every caller of a group (`sqlx::Error` is not `Clone`).
fn copy_of(e: &sqlx::Error) -> sqlx::Error {
    match e {
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        other => sqlx::Error::Io(std::io::Error::other(other.to_string())),
    }
}

async fn acquire(db: &Db) -> Result<WriterConn, sqlx::Error> {
    Ok(match db {
        Db::Postgres(pool) => WriterConn::Postgres(pool.acquire().await?),
        Db::Sqlite(pool) => WriterConn::Sqlite(pool.acquire().await?),
    })
}

/// Commits a group and answers every caller; false when the connection failed outside SQL.
async fn commit(conn: &mut WriterConn, context: &str, jobs: Vec<Job>) -> bool {
    let requests: Vec<&AppendRequest> = jobs.iter().map(|j| &j.request).collect();
    let mut answers = append::append_group(conn, context, &requests, Read::WhenNeeded).await;
    if answers.is_err() && requests.len() > 1 {
        answers = append::append_group(conn, context, &requests, Read::Always).await;
    }
    let answers = match answers {
        Ok(answers) => answers,
        // The database refused the group as a whole: each append alone, so that only the one at
        // fault fails.
        Err(_) => {
            let mut answers = Vec::with_capacity(requests.len());
            for request in &requests {
                answers.push(append::append_alone(conn, context, request).await);
            }
            answers
        }
    };
    let healthy = answers.iter().all(
        |a| !matches!(a, Err(StoreError::Database(e)) if !matches!(e, sqlx::Error::Database(_))),
    );
    for (job, answer) in jobs.into_iter().zip(answers) {
        // A caller that stopped waiting still had its append committed, as a crash after the
        // commit would have; a retry with its key gets this result.
        let _ = job.reply.send(answer);
    }
    healthy
}
