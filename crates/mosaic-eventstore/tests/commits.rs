//! Appends are stored one row per append (a commit); readers still see one event per position.
//! These tests cut pages inside appends, filter them, compare with the `events` view, and carry a
//! log written by the earlier one-row-per-event schema over.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use mosaic_db::{Db, connect, on_db};
use mosaic_eventstore::{EventStore, ExpectedVersion, LogQuery, StoredEvent};
use sqlx::AssertSqlSafe;

fn day(d: i64) -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(2025, 4, 1)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc()
        + Duration::days(d)
}

/// Twelve appends of 1 to 4 events, alternating municipality, with occurred_at going back and
/// forth; returns every event as written, in position order.
async fn write_mixed_log(store: &impl EventStore) -> anyhow::Result<Vec<StoredEvent>> {
    for i in 0..12u64 {
        let municipality = if i % 3 == 0 { chigasaki() } else { kashiwa() };
        let events = (0..1 + i % 4)
            .map(|k| {
                let mut e = event(if k == 0 { "Opened" } else { "Noted" }, i * 10 + k);
                e.occurred_at = day(((i * 7 + k * 5) % 11) as i64);
                e
            })
            .collect();
        store
            .append(request(
                municipality,
                &format!("s-{i}"),
                ExpectedVersion::NoStream,
                events,
            ))
            .await?;
    }
    let all = store
        .read_log(&LogQuery {
            after: 0,
            limit: 1_000,
            ..Default::default()
        })
        .await?;
    Ok(all)
}

/// Which events of the whole log a query should return.
type Wanted = Box<dyn Fn(&StoredEvent) -> bool>;

/// Reads the whole log in pages of `page`, following the last position of each page.
async fn read_paged(
    store: &impl EventStore,
    page: u32,
    query: LogQuery,
) -> anyhow::Result<Vec<StoredEvent>> {
    let mut out: Vec<StoredEvent> = Vec::new();
    let mut after = query.after;
    loop {
        let got = store
            .read_log(&LogQuery {
                after,
                limit: page,
                ..query.clone()
            })
            .await?;
        assert!(got.len() <= page as usize, "a page holds at most its limit");
        let Some(last) = got.last() else { break };
        after = last.position;
        out.extend(got);
    }
    Ok(out)
}

#[tokio::test]
async fn pages_cut_appends_anywhere_and_filters_hold() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        let b = f.backend;
        let all = write_mixed_log(s).await?;
        assert_eq!(all.len(), 30, "{b}");
        let positions: Vec<u64> = all.iter().map(|e| e.position).collect();
        assert_eq!(positions, (1..=30).collect::<Vec<_>>(), "{b}: gapless");
        for stream in ["s-0", "s-3", "s-11"] {
            let versions: Vec<u64> = s
                .read_stream(all[0].municipality, stream)
                .await?
                .iter()
                .map(|e| e.version)
                .collect::<Vec<_>>();
            let expected: Vec<u64> = all
                .iter()
                .filter(|e| e.stream_id == stream && e.municipality == all[0].municipality)
                .map(|e| e.version)
                .collect();
            assert_eq!(versions, expected, "{b}: {stream}");
        }

        let cases: Vec<(&str, LogQuery, Wanted)> = vec![
            ("whole log", LogQuery::default(), Box::new(|_| true)),
            (
                "from inside an append",
                LogQuery {
                    after: 4,
                    ..Default::default()
                },
                Box::new(|e| e.position > 4),
            ),
            (
                "one municipality",
                LogQuery {
                    municipality: Some(kashiwa()),
                    ..Default::default()
                },
                Box::new(|e| e.municipality == kashiwa()),
            ),
            (
                "as of an instant",
                LogQuery {
                    as_of: Some(day(3)),
                    ..Default::default()
                },
                Box::new(|e| e.occurred_at <= day(3)),
            ),
            (
                "up to a position inside an append",
                LogQuery {
                    up_to: Some(17),
                    ..Default::default()
                },
                Box::new(|e| e.position <= 17),
            ),
            (
                "everything at once",
                LogQuery {
                    after: 2,
                    municipality: Some(chigasaki()),
                    as_of: Some(day(6)),
                    up_to: Some(28),
                    ..Default::default()
                },
                Box::new(|e| {
                    e.position > 2
                        && e.municipality == chigasaki()
                        && e.occurred_at <= day(6)
                        && e.position <= 28
                }),
            ),
        ];
        for (name, query, wanted) in &cases {
            let expected: Vec<StoredEvent> = all.iter().filter(|e| wanted(e)).cloned().collect();
            assert!(!expected.is_empty(), "{b}: {name} selects something");
            for page in [1, 2, 3, 7, 1_000] {
                let got = read_paged(s, page, query.clone()).await?;
                assert_eq!(got, expected, "{b}: {name}, pages of {page}");
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_events_view_shows_the_log_one_event_per_row() -> anyhow::Result<()> {
    for f in both().await? {
        let all = write_mixed_log(&f.store).await?;
        let sql = "SELECT position, event_id, stream_id, version, event_type, payload \
                   FROM events ORDER BY position";
        let rows: Vec<(i64, String, String, i64, String, String)> = match f.store.db() {
            Db::Postgres(pool) => {
                sqlx::query_as(AssertSqlSafe(sql.replace(
                    "event_id, stream_id, version, event_type, payload",
                    "event_id::text, stream_id, version, event_type, payload::text",
                )))
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await?,
        };
        let from_view: Vec<_> = rows
            .into_iter()
            .map(|(p, id, stream, v, t, payload)| {
                let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
                (p as u64, id, stream, v as u64, t, payload)
            })
            .collect();
        let from_store: Vec<_> = all
            .iter()
            .map(|e| {
                (
                    e.position,
                    e.event_id.0.to_string(),
                    e.stream_id.clone(),
                    e.version,
                    e.event_type.clone(),
                    e.payload.to_value().unwrap(),
                )
            })
            .collect();
        assert_eq!(from_view, from_store, "{}", f.backend);
    }
    Ok(())
}

#[tokio::test]
async fn the_outbox_hands_out_whole_appends() -> anyhow::Result<()> {
    for f in both().await? {
        let s = &f.store;
        let b = f.backend;
        write_mixed_log(s).await?;
        // Appends of 1, 2, 3, 4, 1, … events: a limit of 2 takes the first append (1 event) and
        // the second (2 events), which crosses the limit but is not cut.
        let first = s.outbox_pending(2).await?;
        assert_eq!(
            first.iter().map(|e| e.position).collect::<Vec<_>>(),
            vec![1, 2, 3],
            "{b}"
        );
        let positions: Vec<u64> = first.iter().map(|e| e.position).collect();
        s.mark_published(&positions).await?;
        let next = s.outbox_pending(1).await?;
        assert_eq!(
            next.iter().map(|e| e.position).collect::<Vec<_>>(),
            vec![4, 5, 6],
            "{b}: at least one whole append"
        );
        // A range that covers only part of an append leaves it pending.
        s.mark_published(&[4, 5]).await?;
        assert_eq!(s.outbox_pending(1).await?[0].position, 4, "{b}");
    }
    Ok(())
}

/// A log written under the one-row-per-event schema (migrations 1 and 2) reads the same after
/// the migration to commits: ids, instants, payloads, versions and publication state.
#[tokio::test]
async fn a_log_written_one_row_per_event_is_carried_over() -> anyhow::Result<()> {
    let pg = mosaic_testkit::TestDatabase::new()?;
    let sqlite = mosaic_testkit::TestSqlite::new()?;
    for url in [pg.url().to_owned(), sqlite.url("registry")] {
        let db = connect(&url, 4).await?;
        mosaic_db::run_migrations(&db, mosaic_db::lease::migrations()).await?;
        let mut old = mosaic_eventstore::migrations();
        for m in [&mut old.postgres, &mut old.sqlite] {
            m.migrations = std::borrow::Cow::Owned(m.migrations[..2].to_vec());
        }
        mosaic_db::run_migrations(&db, old).await?;
        let written = write_old_rows(&db).await?;

        mosaic_eventstore::migrate(&db).await?;
        let store = mosaic_eventstore::SqlEventStore::open(db.clone(), "registry").await?;
        let b = if matches!(db, Db::Postgres(_)) {
            "postgres"
        } else {
            "sqlite"
        };
        let log = store
            .read_log(&LogQuery {
                after: 0,
                limit: 100,
                ..Default::default()
            })
            .await?;
        assert_eq!(log, written, "{b}");
        assert_eq!(
            store.read_stream(kashiwa(), "resident-1").await?,
            written[..2].to_vec(),
            "{b}"
        );
        let pending: Vec<u64> = store
            .outbox_pending(100)
            .await?
            .iter()
            .map(|e| e.position)
            .collect();
        assert_eq!(pending, vec![3], "{b}: the published stay published");
        // The next append continues the log and the stream.
        let next = store
            .append(request(
                kashiwa(),
                "resident-1",
                ExpectedVersion::Exact(2),
                vec![event("Moved", 9)],
            ))
            .await?;
        assert_eq!(next.committed().positions, Some((4, 4)), "{b}");
        assert_eq!(next.committed().version, 3, "{b}");
    }
    Ok(())
}

/// Three events as the old schema stored them (positions 1 and 2 published, 3 pending).
async fn write_old_rows(db: &Db) -> anyhow::Result<Vec<StoredEvent>> {
    let at = |s: i64| day(0) + Duration::microseconds(123_456) + Duration::seconds(s);
    let events: Vec<StoredEvent> = [
        (kashiwa(), "resident-1", 1, "ResidentRegistered"),
        (kashiwa(), "resident-1", 2, "ConsentGranted"),
        (chigasaki(), "resident-2", 1, "ResidentRegistered"),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (municipality, stream, version, event_type))| {
        let e = event(event_type, i as u64);
        StoredEvent {
            position: i as u64 + 1,
            event_id: e.event_id,
            municipality,
            context: "registry".into(),
            stream_id: stream.into(),
            version,
            event_type: event_type.into(),
            schema_version: 1,
            occurred_at: at(i as i64),
            recorded_at: at(100 + i as i64),
            actor: "coordinator-1".into(),
            correlation_id: uuid::Uuid::now_v7(),
            causation_id: (i == 1).then(uuid::Uuid::now_v7),
            idempotency_key: (i == 0).then(|| "req-1".to_owned()),
            trace_context: Some(format!("00-{:032x}-{:016x}-01", i + 1, i + 1)),
            payload: serde_json::json!({ "n": i, "name": "v1.sealed", "list": [1, 2] }).into(),
        }
    })
    .collect();
    for e in &events {
        let published = (e.position <= 2).then(|| at(200));
        on_db!(db, pool => {
            sqlx::query(
                "INSERT INTO events (position, event_id, municipality, context, stream_id, \
                 version, event_type, schema_version, occurred_at, recorded_at, actor, \
                 correlation_id, causation_id, idempotency_key, trace_context, payload) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(e.position as i64)
            .bind(e.event_id.0)
            .bind(e.municipality.as_str())
            .bind(&e.context)
            .bind(&e.stream_id)
            .bind(e.version as i64)
            .bind(&e.event_type)
            .bind(e.schema_version as i32)
            .bind(e.occurred_at)
            .bind(e.recorded_at)
            .bind(&e.actor)
            .bind(e.correlation_id)
            .bind(e.causation_id)
            .bind(e.idempotency_key.as_deref())
            .bind(e.trace_context.as_deref())
            .bind(sqlx::types::Json(&e.payload))
            .execute(pool)
            .await?;
            sqlx::query("INSERT INTO outbox (position, published_at) VALUES ($1, $2)")
                .bind(e.position as i64)
                .bind(published)
                .execute(pool)
                .await?;
        });
    }
    on_db!(db, pool => {
        sqlx::query("UPDATE log_head SET position = 3").execute(pool).await?;
    });
    Ok(events)
}
