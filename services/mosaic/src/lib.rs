//! The all-in-one `mosaic` binary: every context in one process ([`modules`]), plus local
//! token and key tools. `main.rs` only parses the command line.

pub mod rebuild;

use mosaic_runtime::Module;

/// Every context of the platform, in the order they start.
pub fn modules() -> [&'static dyn Module; 5] {
    [
        &mosaic_registry::Module,
        &mosaic_activity::Module,
        &mosaic_matching::Module,
        &mosaic_followup::Module,
        &mosaic_insights::Module,
    ]
}

/// Where the event catalogue lives in the repository, relative to its root.
pub const CATALOGUE_DIR: &str = "docs/events";

/// The event catalogue's files, as (file name, content): a `README.md` describing every event
/// type of every context that writes events — with the read models of every context that read
/// it — and each context's JSON Schema.
pub async fn catalogue_files() -> anyhow::Result<Vec<(String, String)>> {
    let readers = readers().await?;
    let mut catalogues: Vec<_> = modules().iter().filter_map(|m| m.catalogue()).collect();
    for c in &mut catalogues {
        for (event_type, _) in &c.versions {
            let names = readers
                .iter()
                .filter(|(i, _)| {
                    i.context == c.context
                        && (i.event_types.is_empty()
                            || i.event_types.contains(&event_type.as_str()))
                })
                .map(|(_, name)| (*name).to_owned())
                .collect();
            c.consumers.insert(event_type.clone(), names);
        }
    }
    let mut readme = String::from(CATALOGUE_HEADER);
    let mut files = Vec::new();
    for c in &catalogues {
        readme.push('\n');
        readme.push_str(&c.markdown());
        files.push((format!("{}.schema.json", c.context), c.schema_json()));
    }
    files.insert(0, ("README.md".into(), readme.trim_end().to_owned() + "\n"));
    Ok(files)
}

/// The names of every projection of every context (`registry.directory`, ...).
pub async fn projection_names() -> anyhow::Result<Vec<&'static str>> {
    let mut names: Vec<&'static str> = readers().await?.into_iter().map(|(_, n)| n).collect();
    names.dedup();
    Ok(names)
}

/// Every projection of every context with what it reads: the projections as the modules build
/// them, over a throwaway in-memory database.
async fn readers() -> anyhow::Result<Vec<(mosaic_projection::Interest, &'static str)>> {
    let mut readers = Vec::new();
    for module in modules() {
        let db = mosaic_db::connect("sqlite::memory:", 1).await?;
        let env = mosaic_runtime::ModuleEnv {
            db: db.clone(),
            store: None,
            vault: mosaic_privacy::Vault::new(db.clone(), mosaic_privacy::MasterKey::generate()),
        };
        for projection in module.projections(&env) {
            for interest in projection.interests() {
                readers.push((interest, projection.name()));
            }
        }
        db.close().await;
    }
    Ok(readers)
}

const CATALOGUE_HEADER: &str = "\
# Event catalogue

Every event type the platform stores and publishes, with its schema version, its meaning and its
payload's fields. Generated from the Rust types by `mosaic catalogue --out docs/events`; a test
fails when it is out of date, so it always describes what the code writes.

Each event is stored and published with this envelope (JSON):

| Field | Meaning |
|---|---|
| `position` | Position in the producing context's log: gapless, from 1, in commit order. |
| `event_id` | Unique id (UUIDv7); on NATS also the `Nats-Msg-Id`. |
| `municipality` | The tenant: the six-digit local government code, e.g. `122173`. |
| `context` | The producing context, e.g. `registry`. |
| `stream_id` | The aggregate's stream, e.g. `resident-<id>`. |
| `version` | Version within the stream, from 1. |
| `event_type` | The stored type name: a heading below. |
| `schema_version` | The payload's schema version. Older versions stay in the log as written; the payload types read every version (what a later version added is optional in them). |
| `occurred_at` | When it happened (UTC; may be in the past for records entered late). |
| `recorded_at` | When the platform recorded it (UTC). |
| `actor` | Who acted: the token subject, and on whose behalf when a proxy acted. |
| `correlation_id`, `causation_id` | The request it belongs to, and what caused it. |
| `idempotency_key` | The `request_id` of the command that wrote it. |
| `payload` | The body described below for each type. |

The SQL view `events` of each store shows the same fields one event per row. On NATS the subject is
`mosaic.<municipality>.<context>.<event_type>`. Personal data (names, contact details, addresses,
free text about a person) appears only sealed under the person's key (type `Sealed`): it cannot be
read without the key and becomes unreadable for good when the person is erased.

Under each event, the read models and reactions of every context that read it are named by their
projection names (the names their checkpoints and `mosaic projections` use).

Each context's `<context>.schema.json` is a JSON Schema of its events in the tagged form
`{\"type\": event_type, \"data\": payload}`.
";
