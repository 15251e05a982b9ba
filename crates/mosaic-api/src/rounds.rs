//! Background work done in rounds until the service stops: each round takes what is owed and
//! says how much it did. A worker that found nothing rests; one whose round failed (its
//! database, most often) waits a second and tries again.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tonic::Status;

/// Runs `round` until `stopping` turns true, resting `idle` after a round that did nothing;
/// `what` names the work in the log.
pub async fn rounds<F, Fut>(
    mut stopping: watch::Receiver<bool>,
    idle: Duration,
    what: &'static str,
    mut round: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, Status>>,
{
    loop {
        let rest = match round().await {
            Ok(0) => idle,
            Ok(_) => Duration::ZERO,
            Err(e) => {
                tracing::warn!(error = %e.message(), work = what, "background work waits for its database");
                Duration::from_secs(1)
            }
        };
        if *stopping.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(rest) => {}
            _ = stopping.changed() => return,
        }
    }
}
