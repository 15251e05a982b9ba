#![allow(dead_code, missing_docs)]

use mosaic_db::connect;
use mosaic_eventstore::{
    AppendRequest, CommandMeta, ExpectedVersion, Idempotency, NewEvent, SqlEventStore,
};
use mosaic_types::{EventId, MunicipalityCode};

/// A store on a fresh database of one backend, with what keeps that database alive.
pub struct Fixture {
    pub store: SqlEventStore,
    pub backend: &'static str,
    _pg: Option<mosaic_testkit::TestDatabase>,
    _sqlite: Option<mosaic_testkit::TestSqlite>,
}

pub async fn postgres() -> anyhow::Result<Fixture> {
    let pg = mosaic_testkit::TestDatabase::new()?;
    let db = connect(pg.url(), 40).await?;
    mosaic_eventstore::migrate(&db).await?;
    Ok(Fixture {
        store: SqlEventStore::open(db, "registry").await?,
        backend: "postgres",
        _pg: Some(pg),
        _sqlite: None,
    })
}

pub async fn sqlite() -> anyhow::Result<Fixture> {
    let dir = mosaic_testkit::TestSqlite::new()?;
    let db = connect(&dir.url("registry"), 8).await?;
    mosaic_eventstore::migrate(&db).await?;
    Ok(Fixture {
        store: SqlEventStore::open(db, "registry").await?,
        backend: "sqlite",
        _pg: None,
        _sqlite: Some(dir),
    })
}

pub async fn both() -> anyhow::Result<Vec<Fixture>> {
    Ok(vec![postgres().await?, sqlite().await?])
}

pub fn kashiwa() -> MunicipalityCode {
    MunicipalityCode::parse("122173").expect("valid code")
}

pub fn chigasaki() -> MunicipalityCode {
    MunicipalityCode::parse("142077").expect("valid code")
}

pub fn event(event_type: &str, n: u64) -> NewEvent {
    NewEvent {
        event_id: EventId::new(),
        event_type: event_type.into(),
        schema_version: 1,
        occurred_at: mosaic_types::now_utc(),
        payload: serde_json::json!({ "n": n }).into(),
    }
}

pub fn meta(key: Option<&str>) -> CommandMeta {
    CommandMeta {
        actor: "coordinator-1".into(),
        recorded_at: mosaic_types::now_utc(),
        correlation_id: uuid::Uuid::now_v7(),
        causation_id: None,
        idempotency: key.map(|k| Idempotency {
            key: k.into(),
            request_hash: format!("hash-of-{k}"),
        }),
        trace_context: None,
    }
}

pub fn request(
    municipality: MunicipalityCode,
    stream: &str,
    expected: ExpectedVersion,
    events: Vec<NewEvent>,
) -> AppendRequest {
    AppendRequest {
        municipality,
        stream_id: stream.into(),
        expected,
        events,
        meta: meta(None),
        response: None,
        also: Vec::new(),
    }
}
