//! The candidate index of each municipality, kept in memory from the rows that
//! `matching.residents` and `matching.recent` write. Every row carries the change number of its
//! last write; a refresh reads the rows numbered after the last it saw, in order, so the index
//! follows the projections (and a rebuild of them, which numbers every row afresh). A request
//! refreshes before it ranks — after waiting for its consistency token, if it sent one — so it
//! sees every write the projections had committed when it arrived.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use mosaic_api::status::from_db;
use mosaic_db::{Db, on_db};
use tokio::sync::Mutex;
use tokio::time::Instant;
use tonic::Status;

use super::facts::resident_facts;
use crate::domain::index::CandidateIndex;
use crate::domain::recommend::{Candidate, Profile};
use crate::projections::recent::RecentActivity;

/// Rows read per query while refreshing.
const PAGE: i64 = 5_000;

/// The candidate indexes of every municipality this process serves.
#[derive(Clone, Default)]
pub struct Candidates {
    shards: Arc<RwLock<HashMap<String, CandidateIndex>>>,
    refresh: Arc<Mutex<Seen>>,
}

/// How far a refresh has read each table, and when the last one began.
#[derive(Default)]
struct Seen {
    residents: i64,
    recent: i64,
    began: Option<Instant>,
}

/// The two tables the index follows.
#[derive(Clone, Copy)]
enum Table {
    Residents,
    Recent,
}

/// A joined row: the resident's facts and profile, and their recent activity.
type Row = (
    String,
    String,
    bool,
    bool,
    bool,
    bool,
    Option<i32>,
    Option<i32>,
    Option<String>,
    i64,
    Option<String>,
    Option<i64>,
);

const SELECT: &str = "SELECT r.municipality, r.resident_id, r.active, r.guest, \
     r.matching_consent, r.proxy_agreement, r.max_hours_per_week, r.max_days_per_month, \
     r.profile, r.changed, a.recent, a.changed";

/// How often an idle index reads changes, so a request finds little left to read.
const WARM_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Candidates {
    /// An index that loads at once and then keeps reading changes in the background, for as
    /// long as anything holds it (outside a runtime: one that loads at its first request).
    pub fn warm(db: Db) -> Self {
        let candidates = Self::default();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let weak = (
                Arc::downgrade(&candidates.shards),
                Arc::downgrade(&candidates.refresh),
            );
            runtime.spawn(async move {
                loop {
                    let (Some(shards), Some(refresh)) = (weak.0.upgrade(), weak.1.upgrade()) else {
                        return;
                    };
                    let held = Candidates { shards, refresh };
                    if let Err(e) = held.refresh(&db).await {
                        tracing::warn!(error = %e, "the candidate index could not read changes");
                    }
                    drop(held);
                    tokio::time::sleep(WARM_EVERY).await;
                }
            });
        }
        candidates
    }

    /// Reads every change committed before this call (a refresh that began after it was made
    /// serves it too).
    pub async fn refresh(&self, db: &Db) -> Result<(), Status> {
        let asked = Instant::now();
        let mut seen = self.refresh.lock().await;
        if seen.began.is_some_and(|began| began >= asked) {
            return Ok(());
        }
        seen.began = Some(Instant::now());
        seen.residents = self.follow(db, Table::Residents, seen.residents).await?;
        seen.recent = self.follow(db, Table::Recent, seen.recent).await?;
        Ok(())
    }

    /// Applies a table's rows stamped after `after`, a page at a time; the last stamp read.
    async fn follow(&self, db: &Db, table: Table, mut after: i64) -> Result<i64, Status> {
        let sql = match table {
            Table::Residents => {
                "FROM matching_residents r LEFT JOIN matching_recent a \
                 ON a.municipality = r.municipality AND a.resident_id = r.resident_id \
                 WHERE r.changed > $1 ORDER BY r.changed LIMIT $2"
            }
            Table::Recent => {
                "FROM matching_recent a JOIN matching_residents r \
                 ON r.municipality = a.municipality AND r.resident_id = a.resident_id \
                 WHERE a.changed > $1 ORDER BY a.changed LIMIT $2"
            }
        };
        loop {
            let rows: Vec<Row> = on_db!(db, pool => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} {sql}")))
                    .bind(after)
                    .bind(PAGE)
                    .fetch_all(pool)
                    .await
                    .map_err(from_db)?
            });
            let stamp = |row: &Row| match table {
                Table::Residents => Some(row.9),
                Table::Recent => row.11,
            };
            if let Some(last) = rows.last().and_then(stamp) {
                after = last;
            }
            let more = rows.len() as i64 == PAGE;
            self.apply(rows);
            if !more {
                return Ok(after);
            }
        }
    }

    /// The indexes, for ranking.
    pub fn read(&self) -> RwLockReadGuard<'_, HashMap<String, CandidateIndex>> {
        self.shards
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn apply(&self, rows: Vec<Row>) {
        if rows.is_empty() {
            return;
        }
        let parsed: Vec<(String, String, Option<Candidate>)> =
            rows.into_iter().map(candidate).collect();
        let mut shards = self
            .shards
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (municipality, id, c) in parsed {
            let shard = shards.entry(municipality).or_default();
            match c {
                Some(c) => shard.upsert(c),
                None => shard.remove(&id),
            }
        }
    }
}

/// A row as a candidate; `None` for a resident the index must not hold (erased, no profile,
/// or a stored document that cannot be read, which is logged).
fn candidate(row: Row) -> (String, String, Option<Candidate>) {
    let (m, id, active, guest, consent, proxy, hours, days, profile, _, recent, _) = row;
    let profile = profile.and_then(|p| match serde_json::from_str::<Profile>(&p) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::error!(municipality = m, resident = id, error = %e, "unreadable profile");
            None
        }
    });
    let recent = match recent.map(|r| serde_json::from_str::<RecentActivity>(&r)) {
        None => Some(RecentActivity::default()),
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            tracing::error!(municipality = m, resident = id, error = %e, "unreadable activity");
            None
        }
    };
    let c = match (profile, recent) {
        (Some(profile), Some(recent)) => Some(Candidate {
            facts: resident_facts(&id, (active, guest, consent, proxy, hours, days)),
            profile,
            commitments: recent.commitments.into_values().collect(),
            engagements: recent.engagements,
            offers: recent.offers.into_iter().collect(),
            matched: Vec::new(),
        }),
        _ => None,
    };
    (m, id, c)
}
