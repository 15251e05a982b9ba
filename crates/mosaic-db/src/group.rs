//! Requests that arrive at the same moment, answered together: one task takes every request
//! waiting and serves them with one database call. Concurrent commands each make a few small
//! lookups and inserts of their own (a key, an idempotency check); grouped, the database runs one
//! statement for many of them instead of one each, and nobody waits on purpose: a request that
//! finds the task idle is served at once.
//!
//! A group's call that fails should not be retried by the task request by request: when the
//! database is down that would hold every later request behind a long series of timeouts. Users
//! answer each request of a failed group "do it yourself" (an `R` of `None`), and each caller
//! then makes its own call, concurrently, and gets its own error.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use tokio::sync::{mpsc, oneshot};

type Waiting<A, R> = (A, oneshot::Sender<R>);

/// A queue of requests `A` answered with `R`, served in groups by one task.
pub struct Grouped<A, R> {
    queue: mpsc::UnboundedSender<Waiting<A, R>>,
}

impl<A, R> std::fmt::Debug for Grouped<A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grouped").finish_non_exhaustive()
    }
}

impl<A: Send + 'static, R: Send + 'static> Grouped<A, R> {
    /// Starts the serving task on the current runtime. It takes up to `max` waiting requests at a
    /// time and calls `serve` with them, which answers each in order (as many answers as
    /// requests). `serve` answers `None` when what it serves is gone; the task then ends, and so
    /// does it when the `Grouped` is dropped.
    pub fn start<F, Fut>(max: usize, mut serve: F) -> Self
    where
        F: FnMut(Vec<A>) -> Fut + Send + 'static,
        Fut: Future<Output = Option<Vec<R>>> + Send,
    {
        Self::start_by_part(max, |_: &A| (), move |(), asks| serve(asks))
    }

    /// [`Grouped::start`] for requests that can only be served together when they belong to
    /// the same part (`part` of each request, e.g. its municipality): `serve` is called once per
    /// part of a group, with that part's requests.
    pub fn start_by_part<K, P, F, Fut>(max: usize, part: P, mut serve: F) -> Self
    where
        K: Eq + Hash + Send,
        P: Fn(&A) -> K + Send + 'static,
        F: FnMut(K, Vec<A>) -> Fut + Send + 'static,
        Fut: Future<Output = Option<Vec<R>>> + Send,
    {
        let (queue, mut waiting) = mpsc::unbounded_channel::<Waiting<A, R>>();
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut group = vec![first];
                while group.len() < max.max(1)
                    && let Ok(next) = waiting.try_recv()
                {
                    group.push(next);
                }
                // A caller that stopped waiting (its request was cancelled) is not served.
                group.retain(|(_, reply)| !reply.is_closed());
                let mut parts: HashMap<K, Vec<Waiting<A, R>>> = HashMap::new();
                for waiting in group {
                    parts.entry(part(&waiting.0)).or_default().push(waiting);
                }
                for (key, group) in parts {
                    let (asks, replies): (Vec<A>, Vec<_>) = group.into_iter().unzip();
                    let Some(answers) = serve(key, asks).await else {
                        return;
                    };
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        let _ = reply.send(answer);
                    }
                }
            }
        });
        Self { queue }
    }

    /// The answer to `ask`, served with whatever else is waiting. `None` when the task is gone
    /// (its runtime shut down, or what it served was dropped): the caller then does the work
    /// itself.
    pub async fn ask(&self, ask: A) -> Option<R> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((ask, reply)).ok()?;
        answer.await.ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Asks `0..n` from `n` tasks at once; each request with its answer.
    async fn ask_at_once<R: Send + 'static>(
        grouped: Arc<Grouped<u32, R>>,
        n: u32,
    ) -> Vec<(u32, Option<R>)> {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let grouped = grouped.clone();
                tokio::spawn(async move { (i, grouped.ask(i).await) })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_are_answered_in_groups_each_with_its_own_answer() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let grouped = Arc::new(Grouped::start(16, move |asks: Vec<u32>| {
            counted.fetch_add(1, Ordering::Relaxed);
            async move {
                // Slow enough that the others queue up behind the first group.
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                Some(asks.into_iter().map(|a| a * 10).collect())
            }
        }));
        for (i, answer) in ask_at_once(grouped, 64).await {
            assert_eq!(answer, Some(i * 10));
        }
        let calls = calls.load(Ordering::Relaxed);
        assert!(
            (4..64).contains(&calls),
            "64 requests took {calls} calls: groups of at most 16, fewer calls than requests"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_call_serves_one_part() {
        let grouped = Arc::new(Grouped::start_by_part(
            64,
            |a: &u32| a % 3,
            |part, asks: Vec<u32>| async move {
                assert!(
                    asks.iter().all(|a| a % 3 == part),
                    "{asks:?} in part {part}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                Some(asks.into_iter().map(|a| (part, a)).collect())
            },
        ));
        for (i, answer) in ask_at_once(grouped, 60).await {
            assert_eq!(answer, Some((i % 3, i)));
        }
    }

    #[tokio::test]
    async fn a_gone_server_answers_none() {
        let grouped: Grouped<u32, u32> = Grouped::start(8, |_| async { None });
        assert_eq!(grouped.ask(1).await, None);
        assert_eq!(grouped.ask(2).await, None);
    }
}
