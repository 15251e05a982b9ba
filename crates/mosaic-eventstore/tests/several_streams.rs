//! Appends that write several streams at once (`AppendRequest::also`): all or none, on
//! PostgreSQL and SQLite alike.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::Arc;

use common::*;
use mosaic_eventstore::{
    AppendRequest, EventStore, ExpectedVersion, Idempotency, StoreError, StreamEvents,
};

fn also(stream: &str, expected: ExpectedVersion, n: u64) -> StreamEvents {
    StreamEvents {
        stream_id: stream.into(),
        expected,
        events: vec![event("Taken", n)],
    }
}

/// A booking: the match, the piece's seats and the person's commitments, each at a version.
fn booking(person: &str, seats: ExpectedVersion, commitments: ExpectedVersion) -> AppendRequest {
    let mut r = request(
        kashiwa(),
        &format!("match-{person}"),
        ExpectedVersion::Any,
        vec![event("Confirmed", 0)],
    );
    r.also = vec![
        also("seats-1", seats, 1),
        also(&format!("commitments-{person}"), commitments, 2),
    ];
    r
}

#[tokio::test]
async fn every_stream_is_written_together_in_order() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        let done = s
            .append(booking(
                "a",
                ExpectedVersion::NoStream,
                ExpectedVersion::NoStream,
            ))
            .await?;
        let c = done.committed();
        assert_eq!(c.positions, Some((1, 3)), "{}", f.backend);
        assert_eq!(c.version, 1, "{}", f.backend);
        assert_eq!(s.head().await?, 3, "{}", f.backend);
        let seats = s.read_stream(kashiwa(), "seats-1").await?;
        assert_eq!(
            (seats.len(), seats[0].position, seats[0].version),
            (1, 2, 1)
        );
        let mine = s.read_stream(kashiwa(), "commitments-a").await?;
        assert_eq!((mine[0].position, &*mine[0].event_type), (3, "Taken"));
        assert_eq!(mine[0].correlation_id, seats[0].correlation_id);
    }
    Ok(())
}

#[tokio::test]
async fn a_stale_further_stream_refuses_the_whole_append() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        s.append(booking(
            "a",
            ExpectedVersion::NoStream,
            ExpectedVersion::NoStream,
        ))
        .await?;
        // The seats moved to version 1; a booking decided against version 0 writes nothing.
        let err = s
            .append(booking(
                "b",
                ExpectedVersion::NoStream,
                ExpectedVersion::NoStream,
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { stream_id, actual: 1, .. } if stream_id == "seats-1"),
            "{}: {err:?}",
            f.backend
        );
        assert_eq!(s.head().await?, 3, "{}", f.backend);
        assert!(s.read_stream(kashiwa(), "match-b").await?.is_empty());
        assert!(s.read_stream(kashiwa(), "commitments-b").await?.is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn a_retry_of_a_booking_gets_its_first_result() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        let mut r = booking("a", ExpectedVersion::NoStream, ExpectedVersion::NoStream);
        r.meta.idempotency = Some(Idempotency {
            key: "k".into(),
            request_hash: "h".into(),
        });
        let first = s.append(r.clone()).await?;
        let again = s.append(r).await?;
        assert_eq!(again.committed(), first.committed(), "{}", f.backend);
        assert_eq!(s.head().await?, 3, "{}", f.backend);
    }
    Ok(())
}

/// Thirty parallel bookings of one seat stream, each decided against its version 0 and each
/// for another person: exactly one commits, whether they are grouped or not.
#[tokio::test]
async fn parallel_bookings_of_one_seat_commit_once() -> anyhow::Result<()> {
    for f in both().await? {
        let store = Arc::new(f.store.clone());
        let tasks: Vec<_> = (0..30)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .append(booking(
                            &i.to_string(),
                            ExpectedVersion::NoStream,
                            ExpectedVersion::NoStream,
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
        assert_eq!(store.head().await?, 3, "{}", f.backend);
        assert_eq!(store.read_stream(kashiwa(), "seats-1").await?.len(), 1);
    }
    Ok(())
}

#[tokio::test]
async fn a_further_stream_of_another_municipality_is_refused() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        s.append(request(
            chigasaki(),
            "seats-1",
            ExpectedVersion::NoStream,
            vec![event("Taken", 0)],
        ))
        .await?;
        let err = s
            .append(booking(
                "a",
                ExpectedVersion::Any,
                ExpectedVersion::NoStream,
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { stream_id, .. } if stream_id == "seats-1"),
            "{}: {err:?}",
            f.backend
        );
        assert_eq!(s.head().await?, 1, "{}", f.backend);
    }
    Ok(())
}

/// A further stream without events is only checked: the append stands on it without moving it.
#[tokio::test]
async fn a_further_stream_without_events_is_checked_not_written() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        let checked = |expected| {
            let mut r = request(
                kashiwa(),
                "match-a",
                ExpectedVersion::Any,
                vec![event("Confirmed", 0)],
            );
            r.also = vec![StreamEvents {
                stream_id: "policy".into(),
                expected,
                events: vec![],
            }];
            r
        };
        s.append(checked(ExpectedVersion::NoStream)).await?;
        assert!(
            s.read_stream(kashiwa(), "policy").await?.is_empty(),
            "{}",
            f.backend
        );
        s.append(request(
            kashiwa(),
            "policy",
            ExpectedVersion::NoStream,
            vec![event("Set", 1)],
        ))
        .await?;
        let err = s
            .append(checked(ExpectedVersion::NoStream))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Conflict { stream_id, actual: 1, .. } if stream_id == "policy"),
            "{}: {err:?}",
            f.backend
        );
        s.append(checked(ExpectedVersion::Exact(1))).await?;
        assert_eq!(s.head().await?, 3, "{}", f.backend);
    }
    Ok(())
}
