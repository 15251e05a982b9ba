//! The event store's guarantees, on PostgreSQL and SQLite alike.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use mosaic_eventstore::{
    AppendOutcome, EventStore, ExpectedVersion, LogQuery, LogReader, StoreError,
};

#[tokio::test]
async fn appending_at_a_stale_version_is_a_conflict_and_writes_nothing() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        s.append(request(
            kashiwa(),
            "resident-1",
            ExpectedVersion::NoStream,
            vec![event("A", 1)],
        ))
        .await?;
        let err = s
            .append(request(
                kashiwa(),
                "resident-1",
                ExpectedVersion::NoStream,
                vec![event("B", 2)],
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { actual: 1, .. }),
            "{}: {err:?}",
            f.backend
        );
        let err = s
            .append(request(
                kashiwa(),
                "resident-1",
                ExpectedVersion::Exact(3),
                vec![event("B", 2)],
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { actual: 1, .. }),
            "{}",
            f.backend
        );
        assert_eq!(s.head().await?, 1, "{}", f.backend);
        assert_eq!(s.read_stream(kashiwa(), "resident-1").await?.len(), 1);
    }
    Ok(())
}

#[tokio::test]
async fn a_retried_command_returns_the_first_result_and_writes_nothing() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        let mut first = request(
            kashiwa(),
            "resident-2",
            ExpectedVersion::NoStream,
            vec![event("A", 1), event("B", 2)],
        );
        first.meta = meta(Some("req-1"));
        first.response = Some(serde_json::json!({ "resident_id": "r-2" }));
        let a = s.append(first.clone()).await?;
        assert!(matches!(a, AppendOutcome::Appended(_)), "{}", f.backend);

        // The retry decides new events with new ids, as a real handler would.
        let mut retry = first.clone();
        retry.events = vec![event("A", 1), event("B", 2)];
        let b = s.append(retry).await?;
        assert!(matches!(b, AppendOutcome::Duplicate(_)), "{}", f.backend);
        assert_eq!(a.committed(), b.committed(), "{}", f.backend);
        assert_eq!(
            b.committed().response,
            Some(serde_json::json!({ "resident_id": "r-2" }))
        );
        assert_eq!(s.head().await?, 2, "{}", f.backend);
        assert_eq!(
            s.idempotent_result(kashiwa(), first.meta.idempotency.as_ref().unwrap())
                .await?,
            Some(a.committed().clone())
        );

        let mut other = first.clone();
        other.meta.idempotency.as_mut().unwrap().request_hash = "something else".into();
        let err = s.append(other).await.unwrap_err();
        assert!(
            matches!(err, StoreError::IdempotencyMismatch { .. }),
            "{}: {err:?}",
            f.backend
        );
        assert_eq!(s.head().await?, 2, "{}", f.backend);
    }
    Ok(())
}

#[tokio::test]
async fn parallel_writers_of_one_version_commit_exactly_once() -> anyhow::Result<()> {
    for f in both().await? {
        let store = Arc::new(f.store.clone());
        store
            .append(request(
                kashiwa(),
                "piece-1",
                ExpectedVersion::NoStream,
                vec![event("Created", 0)],
            ))
            .await?;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .append(request(
                            kashiwa(),
                            "piece-1",
                            ExpectedVersion::Exact(1),
                            vec![event("SeatTaken", i)],
                        ))
                        .await
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            match t.await? {
                Ok(_) => won += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => panic!("{}: unexpected {e:?}", f.backend),
            }
        }
        assert_eq!(won, 1, "{}", f.backend);
        assert_eq!(
            store.read_stream(kashiwa(), "piece-1").await?.len(),
            2,
            "{}",
            f.backend
        );
        assert_eq!(store.head().await?, 2, "{}", f.backend);
    }
    Ok(())
}

#[tokio::test]
async fn parallel_retries_of_one_request_write_once() -> anyhow::Result<()> {
    for f in both().await? {
        let store = Arc::new(f.store.clone());
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut r = request(
                        kashiwa(),
                        "resident-9",
                        ExpectedVersion::NoStream,
                        vec![event("Registered", 1)],
                    );
                    r.meta = meta(Some("same-request"));
                    store.append(r).await
                })
            })
            .collect();
        let mut appended = 0;
        for t in tasks {
            match t.await? {
                Ok(AppendOutcome::Appended(_)) => appended += 1,
                Ok(AppendOutcome::Duplicate(_)) => {}
                // A retry that raced the first attempt's still-open claim may see a conflict; it
                // never writes.
                Err(StoreError::Conflict { .. }) => {}
                Err(e) => panic!("{}: unexpected {e:?}", f.backend),
            }
        }
        assert_eq!(appended, 1, "{}", f.backend);
        assert_eq!(store.head().await?, 1, "{}", f.backend);
    }
    Ok(())
}

/// Many writers commit while a reader tails the log: every batch the reader sees continues
/// exactly where the previous one ended, so no position is ever skipped, and each event is seen
/// once.
#[tokio::test]
async fn no_reader_skips_a_position_under_concurrent_appends() -> anyhow::Result<()> {
    for f in both().await? {
        let store = Arc::new(f.store.clone());
        let writers = 16u64;
        let per_writer = 40u64;
        let batch_size = |i: u64| 1 + (i % 3);
        let total = writers * (0..per_writer).map(batch_size).sum::<u64>();
        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut after = 0;
                while (seen.len() as u64) < total {
                    let batch = store
                        .read_log(&LogQuery {
                            after,
                            limit: 50,
                            ..Default::default()
                        })
                        .await?;
                    for e in &batch {
                        anyhow::ensure!(
                            e.position == after + 1,
                            "read {} after {after}",
                            e.position
                        );
                        after = e.position;
                        seen.push(e.event_id);
                    }
                    if batch.is_empty() {
                        tokio::task::yield_now().await;
                    }
                }
                Ok::<_, anyhow::Error>(seen)
            })
        };
        let tasks: Vec<_> = (0..writers)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..per_writer {
                        // Mixed batch sizes make commits of different lengths interleave.
                        let events = (0..batch_size(i)).map(|k| event("Tick", k)).collect();
                        store
                            .append(request(
                                kashiwa(),
                                &format!("w{w}-{i}"),
                                ExpectedVersion::NoStream,
                                events,
                            ))
                            .await?;
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .collect();
        for t in tasks {
            t.await??;
        }
        let seen = tokio::time::timeout(Duration::from_secs(60), reader).await???;
        let unique: BTreeSet<_> = seen.iter().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{}: an event was read twice",
            f.backend
        );
        let all = store
            .read_log(&LogQuery {
                after: 0,
                limit: 100_000,
                ..Default::default()
            })
            .await?;
        let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
        assert_eq!(
            positions,
            (1..=all.len() as u64).collect::<Vec<_>>(),
            "{}: gap in the log",
            f.backend
        );
    }
    Ok(())
}

#[tokio::test]
async fn another_municipality_sees_neither_the_stream_nor_its_events() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        s.append(request(
            kashiwa(),
            "resident-k",
            ExpectedVersion::NoStream,
            vec![event("A", 1)],
        ))
        .await?;
        s.append(request(
            chigasaki(),
            "resident-c",
            ExpectedVersion::NoStream,
            vec![event("A", 2)],
        ))
        .await?;
        assert!(
            s.read_stream(chigasaki(), "resident-k").await?.is_empty(),
            "{}",
            f.backend
        );
        // Nor can it append into the other tenant's stream.
        let err = s
            .append(request(
                chigasaki(),
                "resident-k",
                ExpectedVersion::Any,
                vec![event("B", 3)],
            ))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{}", f.backend);
        let only = s
            .read_log(&LogQuery {
                after: 0,
                limit: 10,
                municipality: Some(chigasaki()),
                ..Default::default()
            })
            .await?;
        assert_eq!(only.len(), 1, "{}", f.backend);
        assert_eq!(only[0].stream_id, "resident-c");
    }
    Ok(())
}

#[tokio::test]
async fn the_log_reads_as_of_an_instant_and_up_to_a_position() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        let day = |d: u32| {
            chrono::NaiveDate::from_ymd_opt(2025, 4, d)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap()
                .and_utc()
        };
        for d in [1, 2, 3] {
            let mut e = event("Entered", d as u64);
            e.occurred_at = day(d);
            s.append(request(
                kashiwa(),
                &format!("s{d}"),
                ExpectedVersion::NoStream,
                vec![e],
            ))
            .await?;
        }
        let as_of = s
            .read_log(&LogQuery {
                after: 0,
                limit: 10,
                as_of: Some(day(2)),
                ..Default::default()
            })
            .await?;
        assert_eq!(as_of.len(), 2, "{}", f.backend);
        let upto = s
            .read_log(&LogQuery {
                after: 0,
                limit: 10,
                up_to: Some(1),
                ..Default::default()
            })
            .await?;
        assert_eq!(upto.len(), 1, "{}", f.backend);
        assert_eq!(
            upto[0].occurred_at,
            day(1),
            "{}: instants round-trip",
            f.backend
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_outbox_holds_every_event_until_published() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        s.append(request(
            kashiwa(),
            "a",
            ExpectedVersion::NoStream,
            vec![event("A", 1), event("B", 2)],
        ))
        .await?;
        s.append(request(
            kashiwa(),
            "b",
            ExpectedVersion::NoStream,
            vec![event("C", 3)],
        ))
        .await?;
        let pending = s.outbox_pending(10).await?;
        assert_eq!(
            pending.iter().map(|e| e.position).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        s.mark_published(&[1, 2]).await?;
        assert_eq!(s.outbox_pending(10).await?.len(), 1, "{}", f.backend);
        // What is published is a prefix: a range past the first pending append marks nothing,
        // and one before it changes nothing.
        s.mark_published(&[4, 4]).await?;
        s.mark_published(&[1, 1]).await?;
        assert_eq!(
            s.outbox_pending(10)
                .await?
                .iter()
                .map(|e| e.position)
                .collect::<Vec<_>>(),
            vec![3],
            "{}",
            f.backend
        );
        s.mark_published(&[3]).await?;
        assert!(s.outbox_pending(10).await?.is_empty(), "{}", f.backend);
    }
    Ok(())
}

#[tokio::test]
async fn a_lead_has_one_holder_until_it_is_given_up_or_lapses() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        let ttl = Duration::from_millis(300);
        let mut a = s.leader("relay", "a", ttl);
        let mut b = s.leader("relay", "b", ttl);
        assert!(a.hold().await?);
        assert!(!b.hold().await?, "{}", f.backend);
        assert!(a.hold().await?, "{}: the holder keeps it", f.backend);
        assert_eq!(b.holder().await?.map(|h| h.holder).as_deref(), Some("a"));
        if f.backend == "sqlite" {
            // A lease that is not renewed lapses.
            tokio::time::sleep(Duration::from_millis(400)).await;
            assert!(b.hold().await?, "sqlite: a lapsed lease is taken over");
            b.release().await;
        } else {
            // A lock is held as long as its holder's session, however long that is.
            tokio::time::sleep(Duration::from_millis(400)).await;
            assert!(!b.hold().await?, "postgres: the lock does not lapse");
            a.release().await;
            let mut taken = false;
            for _ in 0..50 {
                if b.hold().await? {
                    taken = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(taken, "postgres: a released lock is taken over");
            b.release().await;
        }
        let mut again = s.leader("relay", "a", ttl);
        assert!(again.hold().await?, "{}", f.backend);
        again.release().await;
    }
    Ok(())
}

/// Appends queued together are committed as one group; each is still decided on its own, in
/// queue order, as if they ran one after another.
#[tokio::test]
async fn appends_queued_together_behave_as_if_sequential() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        s.append(request(
            kashiwa(),
            "piece-7",
            ExpectedVersion::NoStream,
            vec![event("Created", 0)],
        ))
        .await?;
        // Polled in order by one task, so they reach the writer's queue in this order.
        let answers = futures::future::join_all([
            s.append(request(
                kashiwa(),
                "piece-7",
                ExpectedVersion::Exact(1),
                vec![event("SeatTaken", 1), event("SeatTaken", 2)],
            )),
            s.append(request(
                kashiwa(),
                "piece-7",
                ExpectedVersion::Any,
                vec![event("SeatTaken", 3)],
            )),
            s.append(request(
                kashiwa(),
                "piece-7",
                ExpectedVersion::Exact(3),
                vec![event("SeatTaken", 4)],
            )),
            s.append(request(
                kashiwa(),
                "piece-8",
                ExpectedVersion::NoStream,
                vec![event("Created", 5)],
            )),
            s.append(request(
                kashiwa(),
                "piece-7",
                ExpectedVersion::Exact(4),
                vec![event("SeatTaken", 6)],
            )),
        ])
        .await;
        let b = f.backend;
        let committed = |i: usize| match &answers[i] {
            Ok(AppendOutcome::Appended(c)) => (c.version, c.positions),
            other => panic!("{b}: append {i}: {other:?}"),
        };
        assert_eq!(committed(0), (3, Some((2, 3))), "{b}");
        assert_eq!(committed(1), (4, Some((4, 4))), "{b}");
        assert!(
            matches!(&answers[2], Err(StoreError::Conflict { actual: 4, .. })),
            "{b}: {:?}",
            answers[2]
        );
        assert_eq!(committed(3), (1, Some((5, 5))), "{b}");
        assert_eq!(committed(4), (5, Some((6, 6))), "{b}");
        let versions: Vec<u64> = s
            .read_stream(kashiwa(), "piece-7")
            .await?
            .iter()
            .map(|e| e.version)
            .collect();
        assert_eq!(versions, vec![1, 2, 3, 4, 5], "{b}");
        assert_eq!(s.head().await?, 6, "{b}");
    }
    Ok(())
}

/// Appends at a stale version fail alone, whether the writer's read or the database refuses
/// them (an append that creates a stream is written without a read; the unique stream version
/// refuses the group, which is then decided again after a read): the appends queued with them
/// commit, and the log stays gapless.
#[tokio::test]
async fn a_failing_append_fails_alone_and_the_others_commit() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        s.append(request(
            kashiwa(),
            "a",
            ExpectedVersion::NoStream,
            vec![event("Created", 0)],
        ))
        .await?;
        s.append(request(
            kashiwa(),
            "c",
            ExpectedVersion::NoStream,
            vec![event("Created", 0)],
        ))
        .await?;
        let answers = futures::future::join_all([
            s.append(request(
                kashiwa(),
                "b",
                ExpectedVersion::NoStream,
                vec![event("Created", 1)],
            )),
            s.append(request(
                kashiwa(),
                "a",
                ExpectedVersion::NoStream,
                vec![event("Created", 2)],
            )),
            s.append(request(
                kashiwa(),
                "c",
                ExpectedVersion::Exact(3),
                vec![event("Noted", 5)],
            )),
            s.append(request(
                kashiwa(),
                "d",
                ExpectedVersion::NoStream,
                vec![event("Created", 3), event("Noted", 4)],
            )),
        ])
        .await;
        let b = f.backend;
        assert!(matches!(answers[0], Ok(AppendOutcome::Appended(_))), "{b}");
        assert!(
            matches!(&answers[1], Err(StoreError::Conflict { actual: 1, .. })),
            "{b}: {:?}",
            answers[1]
        );
        assert!(
            matches!(&answers[2], Err(StoreError::Conflict { actual: 1, .. })),
            "{b}: {:?}",
            answers[2]
        );
        assert!(matches!(answers[3], Ok(AppendOutcome::Appended(_))), "{b}");
        assert_eq!(s.read_stream(kashiwa(), "c").await?.len(), 1, "{b}");
        let positions: Vec<u64> = s
            .read_log(&LogQuery {
                after: 0,
                limit: 100,
                ..Default::default()
            })
            .await?
            .iter()
            .map(|e| e.position)
            .collect();
        assert_eq!(positions, vec![1, 2, 3, 4, 5], "{b}");
        assert_eq!(
            s.outbox_pending(100).await?.len(),
            5,
            "{b}: every accepted event is pending publication"
        );
    }
    Ok(())
}

/// 32 writers, through two stores on one database (as two processes would be), each append one
/// event to the same stream at the version they last read, retrying on conflict: every version is
/// won exactly once and no write is lost.
#[tokio::test]
async fn thirty_two_writers_of_one_stream_win_each_version_once() -> anyhow::Result<()> {
    for f in both().await? {
        let stores = [
            Arc::new(f.store.clone()),
            Arc::new(
                mosaic_eventstore::SqlEventStore::open(f.store.db().clone(), "registry").await?,
            ),
        ];
        let tasks: Vec<_> = (0..32u64)
            .map(|w| {
                let store = stores[w as usize % 2].clone();
                tokio::spawn(async move {
                    let mut conflicts = 0u64;
                    loop {
                        let version = store
                            .read_stream(kashiwa(), "piece-32")
                            .await?
                            .last()
                            .map_or(0, |e| e.version);
                        match store
                            .append(request(
                                kashiwa(),
                                "piece-32",
                                ExpectedVersion::Exact(version),
                                vec![event("SeatTaken", w)],
                            ))
                            .await
                        {
                            Ok(AppendOutcome::Appended(c)) => {
                                anyhow::ensure!(c.version == version + 1, "won {c:?} at {version}");
                                return Ok(conflicts);
                            }
                            Err(StoreError::Conflict { actual, .. }) => {
                                anyhow::ensure!(
                                    actual > version,
                                    "conflict at {actual} ≤ {version}"
                                );
                                conflicts += 1;
                            }
                            other => anyhow::bail!("unexpected {other:?}"),
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await??;
        }
        let b = f.backend;
        let stream = f.store.read_stream(kashiwa(), "piece-32").await?;
        assert_eq!(
            stream.iter().map(|e| e.version).collect::<Vec<_>>(),
            (1..=32).collect::<Vec<_>>(),
            "{b}"
        );
        let writers: BTreeSet<_> = stream
            .iter()
            .map(|e| e.payload.to_value().unwrap()["n"].as_u64())
            .collect();
        assert_eq!(writers.len(), 32, "{b}: every writer's event once");
        assert_eq!(f.store.head().await?, 32, "{b}");
    }
    Ok(())
}

/// Retries of one request race each other, through two stores on one database: one writes, every
/// other gets the first result as a duplicate, and the same key with another request is refused.
#[tokio::test]
async fn racing_retries_get_the_first_result() -> anyhow::Result<()> {
    for f in both().await? {
        let stores = [
            Arc::new(f.store.clone()),
            Arc::new(
                mosaic_eventstore::SqlEventStore::open(f.store.db().clone(), "registry").await?,
            ),
        ];
        let tasks: Vec<_> = (0..24usize)
            .map(|i| {
                let store = stores[i % 2].clone();
                tokio::spawn(async move {
                    let mut r = request(
                        kashiwa(),
                        "resident-race",
                        ExpectedVersion::NoStream,
                        vec![event("Registered", 1)],
                    );
                    r.meta = meta(Some("race-request"));
                    if i == 23 {
                        r.meta.idempotency.as_mut().unwrap().request_hash = "another".into();
                    }
                    r.response = Some(serde_json::json!({ "resident_id": "r-race" }));
                    store.append(r).await
                })
            })
            .collect();
        let b = f.backend;
        let (mut appended, mut duplicates, mut mismatches) = (Vec::new(), Vec::new(), 0);
        for t in tasks {
            match t.await? {
                Ok(AppendOutcome::Appended(c)) => appended.push(c),
                Ok(AppendOutcome::Duplicate(c)) => duplicates.push(c),
                Err(StoreError::IdempotencyMismatch { .. }) => mismatches += 1,
                Err(e) => panic!("{b}: unexpected {e:?}"),
            }
        }
        assert_eq!(appended.len(), 1, "{b}");
        assert_eq!(mismatches, 1, "{b}");
        assert_eq!(duplicates.len(), 22, "{b}");
        assert!(duplicates.iter().all(|d| *d == appended[0]), "{b}");
        assert_eq!(f.store.head().await?, 1, "{b}");
    }
    Ok(())
}

/// Long pages are read in two halves at once; together they are the same contiguous page.
#[tokio::test]
async fn a_long_page_of_the_log_is_contiguous() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        for i in 0..12 {
            let events = (0..100).map(|k| event("Tick", i * 100 + k)).collect();
            s.append(request(
                kashiwa(),
                &format!("long-{i}"),
                ExpectedVersion::NoStream,
                events,
            ))
            .await?;
        }
        let b = f.backend;
        let page = |after, limit, up_to| LogQuery {
            after,
            limit,
            up_to,
            ..Default::default()
        };
        let first = s.read_log(&page(0, 1000, None)).await?;
        assert_eq!(
            first.iter().map(|e| e.position).collect::<Vec<_>>(),
            (1..=1000).collect::<Vec<_>>(),
            "{b}"
        );
        assert_eq!(first[999].payload.to_value().unwrap()["n"], 999, "{b}");
        let rest = s.read_log(&page(1000, 1000, None)).await?;
        assert_eq!(rest.len(), 200, "{b}");
        assert_eq!(rest[0].position, 1001, "{b}");
        let bounded = s.read_log(&page(100, 1000, Some(1050))).await?;
        assert_eq!(
            bounded.iter().map(|e| e.position).collect::<Vec<_>>(),
            (101..=1050).collect::<Vec<_>>(),
            "{b}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_read_ahead_reader_hands_out_the_log_in_order_and_follows_it() -> anyhow::Result<()> {
    for f in both().await? {
        let b = f.backend;
        let store: Arc<dyn EventStore> = Arc::new(f.store.clone());
        let append = |stream: String, n: u64| {
            let store = store.clone();
            async move {
                let events = (0..n).map(|k| event("Tick", k)).collect();
                store
                    .append(request(
                        kashiwa(),
                        &stream,
                        ExpectedVersion::NoStream,
                        events,
                    ))
                    .await
            }
        };
        for i in 0..9 {
            append(format!("ahead-{i}"), 10).await?;
        }
        // Pages of 7 cut through appends of 10; every full page starts the next fetch.
        let mut reader = LogReader::new(
            store.clone(),
            LogQuery {
                after: 3,
                limit: 7,
                ..Default::default()
            },
        );
        let mut seen = Vec::new();
        loop {
            let page = reader.next_page().await?;
            assert!(page.len() <= 7, "{b}");
            if page.is_empty() {
                break;
            }
            seen.extend(page.iter().map(|e| e.position));
        }
        assert_eq!(seen, (4..=90).collect::<Vec<_>>(), "{b}");
        assert_eq!(reader.position(), 90, "{b}");
        // At the end it reads nothing until the log grows, then goes on from where it was.
        assert!(reader.next_page().await?.is_empty(), "{b}");
        append("ahead-late".into(), 3).await?;
        let late: Vec<_> = reader
            .next_page()
            .await?
            .iter()
            .map(|e| e.position)
            .collect();
        assert_eq!(late, vec![91, 92, 93], "{b}");

        // A bounded reader stops at its bound even when its last page is full.
        let mut bounded = LogReader::new(
            store.clone(),
            LogQuery {
                after: 0,
                limit: 5,
                up_to: Some(20),
                ..Default::default()
            },
        );
        let mut count = 0;
        loop {
            let page = bounded.next_page().await?;
            if page.is_empty() {
                break;
            }
            assert!(page.iter().all(|e| e.position <= 20), "{b}");
            count += page.len();
        }
        assert_eq!(count, 20, "{b}");
    }
    Ok(())
}
