use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use mosaic_db::Db;
use mosaic_db::lease::Leader;
use mosaic_eventstore::StoredEvent;
use mosaic_types::{Backoff, MunicipalityCode};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info, warn};

use crate::checkpoint::{self, save};
use crate::projection::apply_each;
use crate::requests;
use crate::source::{Delivery, Reader, Replay};
use crate::{Projection, ProjectionError, Source};

/// What a batch's transaction did.
enum Committed {
    /// Applied; the per-context positions after it.
    Applied(HashMap<String, u64>),
    /// Rolled back: the database's checkpoint is not the one this runner moved last.
    Diverged,
}

/// Why a batch's transaction did not commit.
struct Failed {
    /// The event at fault, or the batch's checkpoint when no event was.
    position: u64,
    error: ProjectionError,
    /// Whether applying the events failed (then nothing committed), rather than the statements
    /// around them.
    applying: bool,
}

impl Failed {
    /// The runner's final error for a failure that persisted.
    fn stuck(self, projection: &dyn Projection) -> RunnerError {
        RunnerError::Stuck {
            projection: projection.name().into(),
            position: self.position,
            cause: Arc::new(self.error),
        }
    }
}

/// How a runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Events per transaction.
    pub batch: usize,
    /// How long to wait for new events before looking again.
    pub idle_wait: Duration,
    /// Lease time where the lead is a lease (SQLite): a standby takes over this long after the
    /// active runner stops renewing. On PostgreSQL the lead passes as soon as the leader's
    /// connection closes; the leader checks its lock every third of this time.
    pub lease_ttl: Duration,
    /// Attempts at one batch before the runner stops and reports the failure.
    pub max_attempts: u32,
    /// This runner's name as a leader (unique per process).
    pub holder: String,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            batch: 256,
            idle_wait: Duration::from_millis(250),
            lease_ttl: Duration::from_secs(15),
            max_attempts: 5,
            holder: format!("runner-{}", process_and_instant()),
        }
    }
}

/// A lease holder name unique across processes: the process id and the start instant.
fn process_and_instant() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    )
}

/// What a runner is doing, for health checks and operators.
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerStatus {
    /// Not yet running.
    Starting,
    /// Another runner leads; this one waits.
    Standby,
    /// Applying events; `checkpoint` is the last applied position or stream sequence.
    Live {
        /// Last applied position.
        checkpoint: u64,
    },
    /// Rebuilding one municipality (or all, `None`).
    Rebuilding(Option<MunicipalityCode>),
    /// Its database is unreachable for now; the runner retries until it answers, then continues
    /// from the checkpoint the database holds.
    Unavailable(String),
    /// Stopped on an event it could not apply; needs an operator.
    Failed(String),
    /// Shut down.
    Stopped,
}

/// An error kept whole, with its sources, and shared: a runner's error is both reported in its
/// status and returned.
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// Why a runner stopped or a rebuild failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RunnerError {
    /// An event could not be read or applied: it is unreadable (a poison message), the
    /// projection does not understand it or panicked on it, or its database kept failing.
    #[error("projection {projection} stopped at position {position}: {cause}")]
    Stuck {
        /// The projection.
        projection: String,
        /// The first event it could not read or apply: its log position (store source) or its
        /// stream sequence (NATS source).
        position: u64,
        /// The last error.
        #[source]
        cause: Cause,
    },
    /// The source (store or NATS) failed.
    #[error("event source: {0}")]
    Source(#[source] Cause),
    /// The runner's database failed.
    #[error("database: {0}")]
    Database(#[source] Cause),
    /// The runner's database is unreachable for now (refused or lost connections, a pool timeout,
    /// a server shutting down): waited out, never a reason to stop.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// The runner is gone.
    #[error("the runner is not running")]
    Gone,
}

impl From<sqlx::Error> for RunnerError {
    fn from(e: sqlx::Error) -> Self {
        if mosaic_db::transient(&e) {
            RunnerError::Unavailable(Arc::new(e))
        } else {
            RunnerError::Database(Arc::new(e))
        }
    }
}

/// Events read at once when a runner checks its read model against its source.
const AUDIT_PAGE: usize = 5_000;

/// How often a standby runner tries for the lead, at most.
const STANDBY_POLL: Duration = Duration::from_secs(1);

/// How often a live runner looks for a rebuild an operator asked for.
const REQUEST_POLL: Duration = Duration::from_secs(1);

/// How often a requested rebuild records its progress.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// How long a runner waits before trying an unreachable database again.
const UNAVAILABLE_RETRY: Duration = Duration::from_secs(1);

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    /// Events applied again.
    pub replayed: u64,
    /// The checkpoint the rebuild replayed up to.
    pub up_to: u64,
}

enum Control {
    Rebuild(
        Option<MunicipalityCode>,
        oneshot::Sender<Result<RebuildReport, RunnerError>>,
    ),
}

/// Talks to a running [`Runner`].
#[derive(Clone)]
pub struct RunnerHandle {
    control: mpsc::Sender<Control>,
    status: watch::Receiver<RunnerStatus>,
}

impl RunnerHandle {
    /// The current status.
    pub fn status(&self) -> RunnerStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn watch(&self) -> watch::Receiver<RunnerStatus> {
        self.status.clone()
    }

    /// Resets the read model of one municipality (or all) and replays the log up to the current
    /// checkpoint; live reading resumes afterwards.
    pub async fn rebuild(
        &self,
        municipality: Option<MunicipalityCode>,
    ) -> Result<RebuildReport, RunnerError> {
        let (reply, answer) = oneshot::channel();
        self.control
            .send(Control::Rebuild(municipality, reply))
            .await
            .map_err(|_| RunnerError::Gone)?;
        answer.await.map_err(|_| RunnerError::Gone)?
    }

    /// Waits until the checkpoint reaches `position` (or the runner fails).
    pub async fn caught_up_to(&self, position: u64) -> Result<(), RunnerError> {
        let mut status = self.status.clone();
        loop {
            match &*status.borrow_and_update() {
                RunnerStatus::Live { checkpoint } if *checkpoint >= position => return Ok(()),
                RunnerStatus::Failed(reason) => {
                    return Err(RunnerError::Source(Arc::new(std::io::Error::other(
                        reason.clone(),
                    ))));
                }
                RunnerStatus::Stopped => return Err(RunnerError::Gone),
                _ => {}
            }
            status.changed().await.map_err(|_| RunnerError::Gone)?;
        }
    }
}

/// Applies a projection to a source until shut down.
pub struct Runner {
    projection: Arc<dyn Projection>,
    db: Db,
    source: Source,
    config: RunnerConfig,
}

struct Live {
    projection: Arc<dyn Projection>,
    db: Db,
    source: Source,
    config: RunnerConfig,
    key: String,
    status: watch::Sender<RunnerStatus>,
    cursor: u64,
    /// Last applied store position per producing context (see `checkpoint::load_contexts`).
    applied: HashMap<String, u64>,
    /// Only the leader among the replicas applies events.
    leader: Leader,
    /// Check the read model against its source before going live: at start, and after the
    /// database failed or lost a commit.
    audit_due: bool,
    /// When this runner last looked for an operator's rebuild request.
    requests_checked: tokio::time::Instant,
}

impl Runner {
    /// A runner applying `projection` (whose tables live in `db`) to `source`.
    pub fn new(
        projection: Arc<dyn Projection>,
        db: Db,
        source: Source,
        config: RunnerConfig,
    ) -> Self {
        Self {
            projection,
            db,
            source,
            config,
        }
    }

    /// Starts the runner; it stops when `shutdown` turns true or on an event it cannot apply.
    pub fn spawn(
        self,
        shutdown: watch::Receiver<bool>,
    ) -> (
        RunnerHandle,
        tokio::task::JoinHandle<Result<(), RunnerError>>,
    ) {
        let (control_tx, control_rx) = mpsc::channel(8);
        let (status_tx, status_rx) = watch::channel(RunnerStatus::Starting);
        let key = self.source.key();
        let leader = Leader::new(
            &self.db,
            &format!("projection:{}:{}", self.projection.name(), key),
            &self.config.holder,
            self.config.lease_ttl,
        );
        let live = Live {
            key,
            projection: self.projection,
            db: self.db,
            source: self.source,
            config: self.config,
            status: status_tx,
            cursor: 0,
            applied: HashMap::new(),
            leader,
            audit_due: true,
            requests_checked: tokio::time::Instant::now(),
        };
        let task = tokio::spawn(live.run(control_rx, shutdown));
        (
            RunnerHandle {
                control: control_tx,
                status: status_rx,
            },
            task,
        )
    }
}

impl Live {
    async fn run(
        mut self,
        mut control: mpsc::Receiver<Control>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), RunnerError> {
        let result = loop {
            match self.lead(&mut control, &mut shutdown).await {
                // The database is away: wait, then start again from the checkpoint it holds
                // (`lead` reloads it), so nothing a lost commit held is skipped.
                Err(RunnerError::Unavailable(reason)) => {
                    warn!(
                        projection = self.projection.name(),
                        source = self.key,
                        error = %reason,
                        "database unavailable; retrying, then continuing from its checkpoint"
                    );
                    self.status
                        .send_replace(RunnerStatus::Unavailable(reason.to_string()));
                    self.audit_due = true;
                    tokio::select! {
                        _ = shutdown.changed() => {}
                        _ = tokio::time::sleep(UNAVAILABLE_RETRY) => {}
                    }
                }
                other => break other,
            }
        };
        self.leader.release().await;
        match &result {
            Ok(()) => {
                self.status.send_replace(RunnerStatus::Stopped);
            }
            Err(e) => {
                error!(projection = self.projection.name(), error = %e, "projection stopped");
                self.status
                    .send_replace(RunnerStatus::Failed(e.to_string()));
            }
        }
        result
    }

    /// Waits for the lead, then reads until shut down; goes back to standby if the lead is lost.
    async fn lead(
        &mut self,
        control: &mut mpsc::Receiver<Control>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), RunnerError> {
        // A standby looks often: a leader whose process died gives the lead up at once (on
        // PostgreSQL), and the sooner a standby sees it, the shorter the pause.
        let poll = (self.config.lease_ttl / 3).min(STANDBY_POLL);
        'standby: loop {
            let mut waiting_for = None;
            loop {
                if *shutdown.borrow() {
                    return Ok(());
                }
                if self.leader.hold().await? {
                    break;
                }
                // Say whom this runner waits for, and until when, each time that changes.
                if let Some(holder) = self.leader.holder().await?
                    && waiting_for.as_ref() != Some(&holder)
                {
                    info!(
                        projection = self.projection.name(),
                        holder = holder.holder,
                        until = %holder.until.map_or("its process or connection ends".to_owned(), |t| t.to_string()),
                        "standing by: another runner leads this projection"
                    );
                    waiting_for = Some(holder);
                }
                self.status.send_replace(RunnerStatus::Standby);
                tokio::select! {
                    _ = shutdown.changed() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
            let stored = checkpoint::load(&self.db, self.projection.name(), &self.key).await?;
            self.cursor = stored.position;
            self.applied = checkpoint::load_contexts(&self.db, self.projection.name()).await?;
            let mut reader =
                match Reader::open(&self.source, self.projection.as_ref(), self.cursor).await {
                    Ok(reader) => reader,
                    Err(e) => {
                        self.wait_after_source_error(&e, shutdown).await;
                        continue 'standby;
                    }
                };
            if let Some(label) = stored.rebuilding {
                // A rebuild was cut short: finish it before anything else.
                let municipality = MunicipalityCode::parse(&label).ok();
                warn!(
                    projection = self.projection.name(),
                    rebuilding = label,
                    "resuming an interrupted rebuild"
                );
                self.rebuild(municipality).await?;
            }
            // Requests a runner that died had taken: done now (resumed above, or finished before
            // it died without saying so).
            let ended = requests::finish_interrupted(&self.db, self.projection.name()).await?;
            if ended > 0 {
                warn!(
                    projection = self.projection.name(),
                    requests = ended,
                    "ended rebuild requests that a runner took but did not finish"
                );
            }
            if self.audit_due {
                self.audit().await?;
                self.audit_due = false;
            }
            self.status.send_replace(RunnerStatus::Live {
                checkpoint: self.cursor,
            });
            info!(
                projection = self.projection.name(),
                source = self.key,
                checkpoint = self.cursor,
                "projection is live"
            );
            let mut renewed = tokio::time::Instant::now();
            loop {
                if *shutdown.borrow() {
                    return Ok(());
                }
                if renewed.elapsed() > self.config.lease_ttl / 3 {
                    if !self.leader.hold().await? {
                        warn!(
                            projection = self.projection.name(),
                            "lease lost; standing by"
                        );
                        continue 'standby;
                    }
                    renewed = tokio::time::Instant::now();
                }
                // Control messages are taken between batches, never by cancelling a fetch: a
                // fetched but unapplied JetStream message must not be dropped mid-way.
                while let Ok(Control::Rebuild(municipality, reply)) = control.try_recv() {
                    let _ = reply.send(self.rebuild(municipality).await);
                    self.status.send_replace(RunnerStatus::Live {
                        checkpoint: self.cursor,
                    });
                }
                self.take_request().await?;
                let batch = match reader
                    .next_batch(
                        self.projection.as_ref(),
                        self.cursor,
                        self.config.batch,
                        self.config.idle_wait,
                    )
                    .await
                {
                    Ok(batch) => batch,
                    // An event that can never be read: stop and say which.
                    Err(e @ RunnerError::Stuck { .. }) => return Err(e),
                    Err(e) => {
                        // The source is down (NATS restarting, store busy): reopen from the
                        // checkpoint once it answers again. Only an event that cannot be read or
                        // applied stops a runner.
                        self.wait_after_source_error(&e, shutdown).await;
                        continue 'standby;
                    }
                };
                let short = batch.len() < self.config.batch;
                if !batch.is_empty() {
                    if !self.apply_batch(batch).await? {
                        // What this runner applied before is not all in the database (a crash
                        // undid a commit) or another runner moved on: start again from what the
                        // database holds.
                        warn!(
                            projection = self.projection.name(),
                            source = self.key,
                            checkpoint = self.cursor,
                            "the database's checkpoint is not the one this runner wrote last; \
                             continuing from the database's"
                        );
                        self.audit_due = true;
                        continue 'standby;
                    }
                    self.status.send_replace(RunnerStatus::Live {
                        checkpoint: self.cursor,
                    });
                }
                if short {
                    self.projection.caught_up();
                }
            }
        }
    }

    async fn wait_after_source_error(
        &self,
        error: &RunnerError,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        warn!(projection = self.projection.name(), error = %error, "event source unavailable; retrying");
        tokio::select! {
            _ = shutdown.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }

    /// Applies a batch and moves the checkpoint in one transaction, retrying a bounded number of
    /// times. False when the database's checkpoint is not where this runner left it (nothing
    /// was applied): the caller continues from the database's.
    async fn apply_batch(&mut self, batch: Vec<Delivery>) -> Result<bool, RunnerError> {
        let last = batch.iter().map(|d| d.seq).max().unwrap_or(self.cursor);
        let mut read: HashMap<String, u64> = HashMap::new();
        for d in batch.iter().filter(|d| d.seq > self.cursor) {
            let at = read.entry(d.read.0.clone()).or_default();
            *at = (*at).max(d.read.1);
        }
        let fresh: Vec<&StoredEvent> = batch
            .iter()
            .filter(|d| d.seq > self.cursor)
            .filter_map(|d| d.event.as_ref())
            .collect();
        if last > self.cursor {
            let mut attempt = 0;
            let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(6));
            loop {
                attempt += 1;
                // Retries write one event at a time, so a failure that persists names its event,
                // and first check whether the attempt they retry committed after all.
                let retry = attempt > 1;
                match self.commit(&fresh, &read, last, None, retry, retry).await {
                    Ok(Committed::Applied(applied)) => {
                        self.applied = applied;
                        break;
                    }
                    Ok(Committed::Diverged) => return Ok(false),
                    // The database went away: not the batch's fault, and not counted against it.
                    Err(Failed {
                        error: ProjectionError::Database(e),
                        ..
                    }) if mosaic_db::transient(&e) => {
                        return Err(RunnerError::Unavailable(Arc::new(e)));
                    }
                    // A bug or an event the projection cannot read fails the same way again:
                    // stop at once, once the retry one event at a time has named the event.
                    Err(f)
                        if attempt >= self.config.max_attempts
                            || (retry && !f.error.retryable()) =>
                    {
                        return Err(f.stuck(self.projection.as_ref()));
                    }
                    Err(Failed {
                        position, error: e, ..
                    }) => {
                        warn!(projection = self.projection.name(), position, attempt, error = %e, "retrying");
                        if e.retryable() {
                            tokio::time::sleep(backoff.next_delay()).await;
                        }
                    }
                }
            }
            self.cursor = last;
        }
        Ok(true)
    }

    /// Applies events one at a time, so that an error or a panic names its event.
    async fn apply_one_by_one(
        &self,
        tx: &mut mosaic_db::DbTx,
        events: &[&StoredEvent],
    ) -> Result<(), (u64, ProjectionError)> {
        for event in events {
            AssertUnwindSafe(apply_each(self.projection.as_ref(), tx, &[event]))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err((event.position, panicked(panic))))?;
        }
        Ok(())
    }

    /// One transaction: apply every event not applied before, then write the checkpoints.
    /// Live reading (`rebuilding` = None) skips copies of events already applied; a rebuild
    /// applies everything it replays. `one_by_one` applies the events singly rather than through
    /// [`Projection::apply_all`]. `recheck` first reads the checkpoint, waiting for a commit still
    /// under way: an attempt whose commit was reported failed (a connection lost on COMMIT) may
    /// have committed, and applying its batch again would apply it twice. Returns the per-context
    /// positions after the commit.
    async fn commit(
        &self,
        events: &[&StoredEvent],
        read: &HashMap<String, u64>,
        checkpoint: u64,
        rebuilding: Option<&str>,
        one_by_one: bool,
        recheck: bool,
    ) -> Result<Committed, Failed> {
        let at = |e: sqlx::Error| Failed {
            position: checkpoint,
            error: e.into(),
            applying: false,
        };
        let mut applied = self.applied.clone();
        let mut tx = self.db.begin().await.map_err(at)?;
        // The effect and the checkpoint commit together, so a batch lost in a crash is lost
        // whole; the next batch finds the checkpoint it did not move (`advance`) and the runner
        // applies again from there. So there is no need to wait for the WAL flush.
        if let mosaic_db::DbTx::Postgres(t) = &mut tx {
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut **t)
                .await
                .map_err(at)?;
        }
        if recheck {
            let (done, contexts) =
                checkpoint::lock_and_load(&mut tx, self.projection.name(), &self.key)
                    .await
                    .map_err(at)?;
            if done >= checkpoint {
                warn!(
                    projection = self.projection.name(),
                    checkpoint, "the batch had committed; not applying it again"
                );
                return Ok(Committed::Applied(contexts));
            }
        }
        let mut todo = Vec::with_capacity(events.len());
        let mut counted: HashMap<&str, u64> = HashMap::new();
        for event in events {
            let seen = applied.get(&event.context).copied().unwrap_or(0);
            if rebuilding.is_none() && event.position <= seen {
                continue;
            }
            todo.push(*event);
            *counted.entry(event.context.as_str()).or_default() += 1;
            if event.position > seen {
                applied.insert(event.context.clone(), event.position);
            }
        }
        // Events the projection does not want were read too: its position in their contexts moves.
        for (context, position) in read {
            if applied.get(context).is_none_or(|at| at < position) {
                applied.insert(context.clone(), *position);
            }
        }
        let applying = if one_by_one {
            self.apply_one_by_one(&mut tx, &todo).await
        } else {
            let first = todo.first().map_or(checkpoint, |e| e.position);
            AssertUnwindSafe(self.projection.apply_all(&mut tx, &todo))
                .catch_unwind()
                .await
                .unwrap_or_else(|panic| Err((first, panicked(panic))))
        };
        applying.map_err(|(position, error)| Failed {
            position,
            error,
            applying: true,
        })?;
        if rebuilding.is_some() {
            save(
                &mut tx,
                self.projection.name(),
                &self.key,
                checkpoint,
                rebuilding,
            )
            .await
            .map_err(at)?;
        } else if !checkpoint::advance(
            &mut tx,
            self.projection.name(),
            &self.key,
            self.cursor,
            checkpoint,
        )
        .await
        .map_err(at)?
        {
            tx.rollback().await.map_err(at)?;
            return Ok(Committed::Diverged);
        }
        if rebuilding.is_none() {
            for (context, position) in &applied {
                if self.applied.get(context) != Some(position) {
                    checkpoint::save_context(
                        &mut tx,
                        self.projection.name(),
                        context,
                        *position,
                        counted.get(context.as_str()).copied().unwrap_or(0),
                    )
                    .await
                    .map_err(at)?;
                }
            }
        }
        tx.commit().await.map_err(at)?;
        Ok(Committed::Applied(applied))
    }

    /// Checks the read model against its source: for each producing context, every event the
    /// projection wants up to the position it applied must have been applied, once. The counts
    /// kept with the checkpoints are compared with a count over the source; counts not kept yet
    /// are filled in. A difference is logged and repaired by rebuilding the read model.
    async fn audit(&mut self) -> Result<(), RunnerError> {
        if self.cursor == 0 {
            return Ok(());
        }
        let kept = checkpoint::applied_counts(&self.db, self.projection.name()).await?;
        let mut expected: HashMap<String, u64> = HashMap::new();
        // A context's events come in position order; a re-published copy comes again later, at
        // a position already counted.
        let mut last: HashMap<String, u64> = HashMap::new();
        let mut replay =
            Replay::open(&self.source, self.projection.as_ref(), None, self.cursor).await?;
        while let Some(events) = replay.next(self.projection.as_ref(), AUDIT_PAGE).await? {
            for event in events {
                let up_to = self.applied.get(&event.context).copied().unwrap_or(0);
                let counted = last.entry(event.context.clone()).or_default();
                if event.position <= up_to && event.position > *counted {
                    *counted = event.position;
                    *expected.entry(event.context).or_default() += 1;
                }
            }
        }
        let mut diverged = Vec::new();
        let mut unknown = false;
        for context in expected.keys().chain(kept.keys()) {
            let want = expected.get(context).copied().unwrap_or(0);
            match kept.get(context) {
                Some(Some(have)) if *have == want => {}
                None if want == 0 => {}
                Some(None) => unknown = true,
                Some(Some(have)) => diverged.push(format!("{context}: {have} of {want}")),
                None => diverged.push(format!("{context}: 0 of {want}")),
            }
        }
        diverged.sort();
        diverged.dedup();
        if !diverged.is_empty() {
            error!(
                projection = self.projection.name(),
                source = self.key,
                applied_of_expected = diverged.join(", "),
                "the read model differs from its source; rebuilding it"
            );
            self.rebuild(None).await?;
        }
        if unknown || !diverged.is_empty() {
            checkpoint::set_applied_counts(&self.db, self.projection.name(), &expected).await?;
        }
        Ok(())
    }

    /// Resets and replays, marking the checkpoint row while under way.
    async fn rebuild(
        &mut self,
        municipality: Option<MunicipalityCode>,
    ) -> Result<RebuildReport, RunnerError> {
        self.rebuild_reporting(municipality, None).await
    }

    /// Takes an operator's rebuild request, if one waits (looked for at most every
    /// [`REQUEST_POLL`]), runs it and records how it ended.
    async fn take_request(&mut self) -> Result<(), RunnerError> {
        if self.requests_checked.elapsed() < REQUEST_POLL {
            return Ok(());
        }
        self.requests_checked = tokio::time::Instant::now();
        let Some((id, municipality)) = requests::claim(&self.db, self.projection.name()).await?
        else {
            return Ok(());
        };
        info!(
            projection = self.projection.name(),
            request = id,
            municipality = municipality.map(|m| m.to_string()),
            "rebuild requested by an operator"
        );
        let outcome = self.rebuild_reporting(municipality, Some(id)).await;
        requests::finish(
            &self.db,
            id,
            outcome.as_ref().err().map(ToString::to_string),
        )
        .await?;
        self.status.send_replace(RunnerStatus::Live {
            checkpoint: self.cursor,
        });
        outcome.map(|_| ())
    }

    /// A rebuild, recording its progress on request `request` when an operator asked for it.
    async fn rebuild_reporting(
        &mut self,
        municipality: Option<MunicipalityCode>,
        request: Option<i64>,
    ) -> Result<RebuildReport, RunnerError> {
        self.status
            .send_replace(RunnerStatus::Rebuilding(municipality));
        let label = municipality
            .map(|m| m.to_string())
            .unwrap_or_else(|| "*".into());
        let up_to = self.cursor;
        let mut tx = self.db.begin().await?;
        self.projection
            .reset(&mut tx, municipality)
            .await
            .map_err(|e| RunnerError::Database(Arc::new(e)))?;
        save(
            &mut tx,
            self.projection.name(),
            &self.key,
            up_to,
            Some(&label),
        )
        .await?;
        tx.commit().await?;

        let mut replay =
            Replay::open(&self.source, self.projection.as_ref(), municipality, up_to).await?;
        let mut replayed = 0;
        let mut reported = tokio::time::Instant::now();
        while let Some(events) = replay
            .next(self.projection.as_ref(), self.config.batch)
            .await?
        {
            let refs: Vec<&StoredEvent> = events.iter().collect();
            match self
                .commit(&refs, &HashMap::new(), up_to, Some(&label), false, false)
                .await
            {
                Ok(_) => {}
                // Applying failed and nothing committed: once more, one event at a time, so the
                // batch passes or the failure names its event. (A failure around the apply, such
                // as the commit itself, may have committed: replaying the batch could apply it
                // twice, so the rebuild stops there.)
                Err(f) if f.applying => {
                    warn!(projection = self.projection.name(), position = f.position, error = %f.error, "retrying the batch one event at a time");
                    self.commit(&refs, &HashMap::new(), up_to, Some(&label), true, false)
                        .await
                        .map_err(|f| f.stuck(self.projection.as_ref()))?;
                }
                Err(f) => return Err(f.stuck(self.projection.as_ref())),
            }
            replayed += events.len() as u64;
            if let Some(id) = request
                && reported.elapsed() >= REPORT_EVERY
            {
                requests::report(&self.db, id, up_to, replay.reached(), replayed).await?;
                reported = tokio::time::Instant::now();
            }
        }
        if let Some(id) = request {
            requests::report(&self.db, id, up_to, up_to, replayed).await?;
        }

        let mut tx = self.db.begin().await?;
        save(&mut tx, self.projection.name(), &self.key, up_to, None).await?;
        tx.commit().await?;
        info!(
            projection = self.projection.name(),
            rebuilt = label,
            replayed,
            up_to,
            "rebuild finished"
        );
        Ok(RebuildReport { replayed, up_to })
    }
}

/// The message of a caught panic.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> ProjectionError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    ProjectionError::Panicked(message)
}
