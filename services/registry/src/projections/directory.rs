//! `registry.directory`: residents and organisations as lists and searches need them.
//!
//! Names are kept sealed; the blind indexes that find a resident by name are computed here from
//! the opened name, so they exist only while the person's key does: an erased person is never
//! indexed again, not even by a rebuild. Erasure also destroys the person's key in this
//! context's vault (the API does it at once; doing it here too covers a crash in between).

use async_trait::async_trait;
use mosaic_db::{DbTx, on_db, on_tx};
use mosaic_eventstore::StoredEvent;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use mosaic_privacy::{PersonKey, Vault};
use mosaic_projection::{
    Interest, Projection, ProjectionError, apply_many_span, apply_span, decode, reset_tables,
    unreadable,
};
use mosaic_types::{Field, MunicipalityCode, Weekday};
use tracing::Instrument;

use crate::domain::{
    OrganisationRegistered, RegistryEvent, ResidentProfile, ResidentRegistered, SealedPersonal,
    SubjectKind,
};

/// The blind-index purpose of residents' names and readings.
pub const NAME_PURPOSE: &str = "resident_name";

/// Status numbers as on the wire.
const ACTIVE: i32 = 1;
const WITHDRAWN: i32 = 2;
const ERASED: i32 = 3;

/// The directory projection.
pub struct Directory {
    vault: Vault,
    upkeep: Arc<Upkeep>,
    /// A key was erased by an applied batch: the engine's copies are scrubbed once caught up
    /// (the erasure's own request scrubs too; this covers an erasure it did not finish).
    erased: Arc<AtomicBool>,
}

/// When the directory's tables last had their statistics and visibility refreshed here.
#[derive(Default)]
struct Upkeep {
    /// Registrations applied since…
    since: AtomicU64,
    /// …and before the last refresh.
    before: AtomicU64,
    /// Whether a refresh is running.
    running: AtomicBool,
    /// When registrations were last written.
    last_growth: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Directory {
    /// A projection that opens names with `vault`.
    pub fn new(vault: Vault) -> Self {
        Self {
            vault,
            upkeep: Arc::default(),
            erased: Arc::default(),
        }
    }

    /// Counts registrations written, for [`Directory::upkeep_if_grown`].
    fn grew(&self, registered: usize) {
        self.upkeep
            .since
            .fetch_add(registered as u64, Ordering::Relaxed);
        if let Ok(mut last) = self.upkeep.last_growth.lock() {
            *last = Some(std::time::Instant::now());
        }
    }

    /// Refreshes the directory's tables in the background when [`upkeep_due`] says so.
    fn upkeep_if_grown(&self) {
        let upkeep = &self.upkeep;
        let since = upkeep.since.load(Ordering::Relaxed);
        let before = upkeep.before.load(Ordering::Relaxed);
        let paused = upkeep
            .last_growth
            .lock()
            .map(|last| last.map_or(Duration::ZERO, |at| at.elapsed()))
            .unwrap_or_default();
        if !upkeep_due(since, before, paused) || upkeep.running.swap(true, Ordering::AcqRel) {
            return;
        }
        upkeep.since.fetch_sub(since, Ordering::Relaxed);
        upkeep.before.fetch_add(since, Ordering::Relaxed);
        let (db, upkeep) = (self.vault.db().clone(), self.upkeep.clone());
        tokio::spawn(async move {
            // VACUUM also marks pages all-visible; on SQLite it would rewrite the whole file, and
            // its planner needs only the statistics, table by table (each holds the write lock
            // only while it reads that table).
            let statements = match db {
                mosaic_db::Db::Postgres(_) => {
                    vec![format!("VACUUM (ANALYZE) {}", PROFILE_TABLES.join(", "))]
                }
                mosaic_db::Db::Sqlite(_) => PROFILE_TABLES
                    .iter()
                    .map(|t| format!("ANALYZE {t}"))
                    .collect(),
            };
            let started = std::time::Instant::now();
            let mut done = Ok(());
            for sql in statements {
                done = on_db!(&db, pool => {
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await.map(|_| ())
                });
                if done.is_err() {
                    break;
                }
            }
            match done {
                Ok(_) => tracing::info!(took = ?started.elapsed(), "directory tables refreshed"),
                Err(e) => tracing::warn!(error = %e, "cannot refresh the directory tables"),
            }
            // The next refresh is measured against the directory's real size: a process starts
            // counting from zero, and a large directory should not be refreshed every thousand
            // registrations until this process has seen it grow that large.
            let residents: Result<i64, sqlx::Error> = on_db!(&db, pool => {
                sqlx::query_scalar("SELECT COUNT(*) FROM registry_residents")
                    .fetch_one(pool)
                    .await
            });
            if let Ok(residents) = residents {
                upkeep.before.store(residents as u64, Ordering::Relaxed);
            }
            upkeep.running.store(false, Ordering::Release);
        });
    }
}

/// Whether the directory's tables are due a refresh (statistics and visibility, as autovacuum
/// would give them a minute later), `since` registrations after the last one, which came after
/// `before`, with registrations paused for `paused` and the directory caught up with the log.
///
/// Right after a roster import the planner's statistics describe a fraction of the rows and no
/// page is marked all-visible, so lists that combine filters visit every candidate's row instead
/// of reading the indexes only (on a 100,000-resident municipality, 45 ms instead of about 10).
/// After growth by a fifth (at least [`UPKEEP_AFTER`]) a pause of [`BUSY_PAUSE`] is enough; an
/// import's batches keep the directory caught up between them, so waiting for the pause refreshes
/// once after the import rather than again and again while it runs, each time over more rows.
/// After a smaller growth (a fiftieth, at least [`SETTLE_AFTER`]) a pause of [`SETTLE_QUIET`]
/// refreshes the rest, so the lists after an import read what it wrote through the indexes
/// alone. Under a steady stream of registrations autovacuum keeps the statistics.
fn upkeep_due(since: u64, before: u64, paused: Duration) -> bool {
    (paused >= BUSY_PAUSE && since >= UPKEEP_AFTER.max(before / 5))
        || (paused >= SETTLE_QUIET && since >= SETTLE_AFTER.max(before / 50))
}

/// Deletes a resident's rows of the profile's own tables (all but the residents'). Skills are
/// free tags, found through the skills' index by resident; fields and weekdays are closed
/// vocabularies, so a resident's interests and windows are found through the primary keys, one
/// probe per value, and those tables need no index by resident (registry migration 6).
fn profile_deletes() -> [String; 3] {
    let every = |wires: &mut dyn Iterator<Item = i32>| {
        let wires: Vec<String> = wires.map(|w| w.to_string()).collect();
        format!("({})", wires.join(", "))
    };
    [
        "DELETE FROM registry_resident_skills WHERE municipality = $1 AND resident_id = $2".into(),
        format!(
            "DELETE FROM registry_resident_interests WHERE municipality = $1 AND field IN {} \
             AND resident_id = $2",
            every(&mut Field::ALL.iter().map(|f| f.wire()))
        ),
        format!(
            "DELETE FROM registry_resident_windows WHERE municipality = $1 AND weekday IN {} \
             AND resident_id = $2",
            every(&mut Weekday::ALL.iter().map(|d| d.wire()))
        ),
    ]
}

fn list(values: impl Iterator<Item = i32>) -> String {
    let mut s = String::from(",");
    for v in values {
        s.push_str(&v.to_string());
        s.push(',');
    }
    s
}

/// A vault failure while applying the event at `position`: its database failing is the
/// database's (waited out when it passes); anything else (a wrong master key, a damaged key) is
/// the event's, named by its position.
fn vault_failed(position: u64, e: mosaic_privacy::PrivacyError) -> ProjectionError {
    match e {
        mosaic_privacy::PrivacyError::Database(e) => ProjectionError::Database(e),
        other => ProjectionError::Event {
            event_type: "person key".into(),
            position,
            reason: Box::new(other),
        },
    }
}

/// The stored type of a registration (`RegistryEvent::ResidentRegistered`), whose runs are
/// written together.
const REGISTERED: &str = "ResidentRegistered";

/// The directory's tables of residents.
pub const PROFILE_TABLES: [&str; 4] = [
    "registry_residents",
    "registry_resident_skills",
    "registry_resident_interests",
    "registry_resident_windows",
];

/// Registrations between two refreshes of the directory's tables, at least.
const UPKEEP_AFTER: u64 = 10_000;

/// How long registrations must have paused before a refresh after large growth: a bulk load in
/// progress keeps the directory caught up with the log between its batches, and refreshing
/// tables that are still growing fast competes with the load for no lasting gain.
const BUSY_PAUSE: Duration = Duration::from_millis(500);

/// Registrations after which a pause in them refreshes the tables, at least…
const SETTLE_AFTER: u64 = 1_000;
/// …and how long that pause is.
const SETTLE_QUIET: Duration = Duration::from_secs(2);

/// Rows per multi-row insert: within both backends' limits on bound values (13 per resident).
const ROWS_PER_INSERT: usize = 500;

/// The blind indexes of a name and of its reading.
type NameIndexes = (Option<String>, Option<String>);

/// Residents as registered (with their municipality and name indexes) into the directory's four
/// tables.
async fn insert_registrations(
    tx: &mut DbTx,
    rows: &[(&str, &ResidentRegistered, NameIndexes)],
) -> Result<(), sqlx::Error> {
    on_tx!(tx, t => {
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO registry_residents (municipality, resident_id, mode, status, \
                 life_stage, district, birth_year, consent_matching, guardian_consent, \
                 display_name, account_subject, name_index, kana_index) ",
            );
            q.push_values(chunk, |mut row, (m, r, (name_index, kana_index))| {
                let p = &r.profile;
                row.push_bind(*m)
                    .push_bind(r.resident_id.as_str())
                    .push_bind(r.mode.wire())
                    .push_bind(ACTIVE)
                    .push_bind(p.life_stage.map(|l| l.wire()))
                    .push_bind(p.district.as_deref())
                    .push_bind(p.birth_year.map(i32::from))
                    .push_bind(r.consents.contains(&crate::domain::ConsentPurpose::Matching))
                    .push_bind(r.guardian_consent)
                    .push_bind(r.personal.display_name.as_str())
                    // The keyed hash of the login (schema 2), or the subject (schema 1).
                    .push_bind(
                        r.login
                            .as_ref()
                            .map(|l| l.index.as_str())
                            .or(r.account_subject.as_deref()),
                    )
                    .push_bind(name_index.as_deref())
                    .push_bind(kana_index.as_deref());
            });
            q.build().execute(&mut **t).await?;
        }
    });
    let profiles: Vec<_> = rows
        .iter()
        .map(|(m, r, _)| (*m, r.resident_id.as_str(), &r.profile))
        .collect();
    insert_profiles(tx, &profiles).await
}

/// Residents' skills, interests and weekly windows (by municipality and id), one multi-row insert
/// per table and chunk.
async fn insert_profiles(
    tx: &mut DbTx,
    profiles: &[(&str, &str, &ResidentProfile)],
) -> Result<(), sqlx::Error> {
    let skills: Vec<_> = profiles
        .iter()
        .flat_map(|(m, id, p)| {
            let district = p.district.as_deref();
            p.skills.iter().map(move |s| (*m, *id, s, district))
        })
        .collect();
    let interests: Vec<_> = profiles
        .iter()
        .flat_map(|(m, id, p)| p.interests.iter().map(move |f| (*m, *id, f)))
        .collect();
    let windows: Vec<_> = profiles
        .iter()
        .flat_map(|(m, id, p)| {
            let district = p.district.as_deref();
            p.availability.iter().map(move |w| (*m, *id, w, district))
        })
        .collect();
    on_tx!(tx, t => {
        for chunk in skills.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO registry_resident_skills (municipality, skill, resident_id, level, \
                 district) ",
            );
            q.push_values(chunk, |mut row, (m, id, s, district)| {
                row.push_bind(*m)
                    .push_bind(s.tag.as_str())
                    .push_bind(*id)
                    .push_bind(i32::from(s.level.get()))
                    .push_bind(*district);
            });
            q.build().execute(&mut **t).await?;
        }
        for chunk in interests.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO registry_resident_interests (municipality, field, resident_id) ",
            );
            q.push_values(chunk, |mut row, (m, id, f)| {
                row.push_bind(*m).push_bind(f.wire()).push_bind(*id);
            });
            q.build().execute(&mut **t).await?;
        }
        for chunk in windows.chunks(ROWS_PER_INSERT) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO registry_resident_windows (municipality, resident_id, weekday, \
                 start_minute, end_minute, district) ",
            );
            q.push_values(chunk, |mut row, (m, id, w, district)| {
                row.push_bind(*m)
                    .push_bind(*id)
                    .push_bind(w.weekday().wire())
                    .push_bind(i32::from(w.start()))
                    .push_bind(i32::from(w.end()))
                    .push_bind(*district);
            });
            q.build().execute(&mut **t).await?;
        }
    });
    Ok(())
}

impl Directory {
    /// The blind indexes of a resident's name and reading, if their key still exists.
    async fn name_indexes(
        &self,
        tx: &mut DbTx,
        m: MunicipalityCode,
        id: &str,
        personal: &SealedPersonal,
        position: u64,
    ) -> Result<NameIndexes, ProjectionError> {
        let keys = self
            .vault
            .keys_in(tx, m, &[id.to_owned()])
            .await
            .map_err(|e| vault_failed(position, e))?;
        Ok(self.indexes_with(keys.get(id), m, personal))
    }

    /// The blind indexes of a name and reading opened with `key` (none without a key).
    fn indexes_with(
        &self,
        key: Option<&PersonKey>,
        m: MunicipalityCode,
        personal: &SealedPersonal,
    ) -> NameIndexes {
        let Some(key) = key else {
            return (None, None);
        };
        let index = |field: &str, sealed: &mosaic_privacy::Sealed| {
            key.open(field, sealed)
                .ok()
                .map(|name| self.vault.blind_index(m, NAME_PURPOSE, &name))
        };
        (
            index("display_name", &personal.display_name),
            personal
                .name_kana
                .as_ref()
                .and_then(|k| index("name_kana", k)),
        )
    }

    /// Registrations, many at once: one key lookup per municipality and one multi-row insert per
    /// table (a roster import registers thousands a second).
    async fn register_many(
        &self,
        tx: &mut DbTx,
        events: &[&StoredEvent],
    ) -> Result<(), (u64, ProjectionError)> {
        let Some(first) = events.first().map(|e| e.position) else {
            return Ok(());
        };
        let mut registered = Vec::with_capacity(events.len());
        for event in events {
            match decode::<RegistryEvent>(event) {
                Ok(RegistryEvent::ResidentRegistered(r)) => {
                    registered.push((event.municipality, r))
                }
                Ok(_) => {
                    return Err((event.position, unreadable(event, "not a registration")));
                }
                Err(e) => return Err((event.position, e)),
            }
        }
        let mut subjects: HashMap<MunicipalityCode, Vec<String>> = HashMap::new();
        for (m, r) in &registered {
            subjects
                .entry(*m)
                .or_default()
                .push(r.resident_id.to_string());
        }
        let mut keys = HashMap::new();
        for (m, ids) in subjects {
            let found = self
                .vault
                .keys_in(tx, m, &ids)
                .await
                .map_err(|e| (first, vault_failed(first, e)))?;
            keys.extend(found.into_iter().map(|(id, key)| ((m, id), key)));
        }
        let rows: Vec<_> = registered
            .iter()
            .map(|(m, r)| {
                let key = keys.get(&(*m, r.resident_id.to_string()));
                (m.as_str(), r, self.indexes_with(key, *m, &r.personal))
            })
            .collect();
        insert_registrations(tx, &rows)
            .await
            .map_err(|e| (first, e.into()))
    }

    /// Replaces a resident's matching profile.
    async fn write_profile(
        tx: &mut DbTx,
        m: &str,
        id: &str,
        profile: &ResidentProfile,
    ) -> Result<(), sqlx::Error> {
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE registry_residents SET life_stage = $1, district = $2, birth_year = $3 \
                 WHERE municipality = $4 AND resident_id = $5",
            )
            .bind(profile.life_stage.map(|l| l.wire()))
            .bind(profile.district.as_deref())
            .bind(profile.birth_year.map(i32::from))
            .bind(m)
            .bind(id)
            .execute(&mut **t)
            .await?;
            for sql in profile_deletes() {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(m)
                    .bind(id)
                    .execute(&mut **t)
                    .await?;
            }
        });
        insert_profiles(tx, &[(m, id, profile)]).await
    }

    async fn write_personal(
        &self,
        tx: &mut DbTx,
        m: MunicipalityCode,
        id: &str,
        personal: &SealedPersonal,
        position: u64,
    ) -> Result<(), ProjectionError> {
        let (name_index, kana_index) = self.name_indexes(tx, m, id, personal, position).await?;
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE registry_residents SET display_name = $1, name_index = $2, kana_index = $3 \
                 WHERE municipality = $4 AND resident_id = $5",
            )
            .bind(personal.display_name.as_str())
            .bind(name_index)
            .bind(kana_index)
            .bind(m.as_str())
            .bind(id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    async fn set(
        tx: &mut DbTx,
        m: &str,
        id: &str,
        column: &str,
        value: i32,
    ) -> Result<(), sqlx::Error> {
        on_tx!(tx, t => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE registry_residents SET {column} = $1 WHERE municipality = $2 AND resident_id = $3"
            )))
            .bind(value)
            .bind(m)
            .bind(id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    async fn set_flag(
        tx: &mut DbTx,
        m: &str,
        id: &str,
        column: &str,
        value: bool,
    ) -> Result<(), sqlx::Error> {
        on_tx!(tx, t => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE registry_residents SET {column} = $1 WHERE municipality = $2 AND resident_id = $3"
            )))
            .bind(value)
            .bind(m)
            .bind(id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    async fn write_organisation(
        tx: &mut DbTx,
        m: &str,
        o: &OrganisationRegistered,
    ) -> Result<(), sqlx::Error> {
        let d = &o.details;
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO registry_organisations (municipality, organisation_id, kind, name, district, suspended, fields, licences) \
                 VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7) \
                 ON CONFLICT (municipality, organisation_id) DO UPDATE SET kind = excluded.kind, name = excluded.name, \
                 district = excluded.district, fields = excluded.fields, licences = excluded.licences",
            )
            .bind(m)
            .bind(o.organisation_id.as_str())
            .bind(d.kind.wire())
            .bind(&d.name)
            .bind(&d.district)
            .bind(list(d.fields.iter().map(|f| f.wire())))
            .bind(list(d.licences.iter().map(|l| l.wire())))
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    async fn suspend(tx: &mut DbTx, m: &str, id: &str, suspended: bool) -> Result<(), sqlx::Error> {
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE registry_organisations SET suspended = $1 WHERE municipality = $2 AND organisation_id = $3",
            )
            .bind(suspended)
            .bind(m)
            .bind(id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }
}

#[async_trait]
impl Projection for Directory {
    fn name(&self) -> &'static str {
        "registry.directory"
    }

    fn interests(&self) -> Vec<Interest> {
        vec![Interest {
            context: crate::CONTEXT,
            event_types: &[],
        }]
    }

    async fn apply(&self, tx: &mut DbTx, event: &StoredEvent) -> Result<(), ProjectionError> {
        use RegistryEvent as E;
        let decoded = decode::<RegistryEvent>(event)?;
        let code = event.municipality;
        let m = code.as_str();
        match decoded {
            E::ResidentRegistered(_) => {
                return self.register_many(tx, &[event]).await.map_err(|(_, e)| e);
            }
            E::ResidentUpgraded(r) => {
                Self::set(
                    tx,
                    m,
                    &r.resident_id,
                    "mode",
                    crate::domain::RegistrationMode::Full.wire(),
                )
                .await?;
                Self::write_profile(tx, m, &r.resident_id, &r.profile).await?;
            }
            E::ResidentProfileUpdated(r) => {
                Self::write_profile(tx, m, &r.resident_id, &r.profile).await?;
                self.write_personal(tx, code, &r.resident_id, &r.personal, event.position)
                    .await?;
            }
            E::ConsentGranted(c) | E::ConsentRevoked(c)
                if c.purpose == crate::domain::ConsentPurpose::Matching =>
            {
                let granted = event.event_type == "ConsentGranted";
                Self::set_flag(tx, m, &c.resident_id, "consent_matching", granted).await?;
            }
            E::GuardianConsentRecorded(g) => {
                Self::set_flag(tx, m, &g.resident_id, "guardian_consent", true).await?;
            }
            E::ResidentWithdrew(w) => Self::set(tx, m, &w.resident_id, "status", WITHDRAWN).await?,
            E::ResidentRejoined(r) => Self::set(tx, m, &r.resident_id, "status", ACTIVE).await?,
            E::PersonalDataErased(e) => {
                self.vault
                    .erase_in(tx, code, &e.subject_id)
                    .await
                    .map_err(|err| unreadable(event, err))?;
                self.erased.store(true, Ordering::Release);
                if e.subject_kind == SubjectKind::Resident {
                    on_tx!(&mut *tx, t => {
                        sqlx::query(
                            "UPDATE registry_residents SET status = $1, display_name = NULL, name_index = NULL, \
                             kana_index = NULL, account_subject = NULL WHERE municipality = $2 AND resident_id = $3",
                        )
                        .bind(ERASED)
                        .bind(m)
                        .bind(&e.subject_id)
                        .execute(&mut **t)
                        .await?;
                    });
                }
            }
            E::OrganisationRegistered(o) | E::OrganisationUpdated(o) => {
                Self::write_organisation(tx, m, &o).await?;
            }
            E::OrganisationSuspended(o) => Self::suspend(tx, m, &o.organisation_id, true).await?,
            E::OrganisationReinstated(o) => Self::suspend(tx, m, &o.organisation_id, false).await?,
            _ => {}
        }
        Ok(())
    }

    fn caught_up(&self) {
        self.upkeep_if_grown();
        if self.erased.swap(false, Ordering::AcqRel) {
            let vault = self.vault.clone();
            tokio::spawn(async move {
                if let Err(e) = vault.scrub().await {
                    tracing::warn!(error = %e, "cannot scrub the person keys after an erasure");
                }
            });
        }
    }

    async fn apply_all(
        &self,
        tx: &mut DbTx,
        events: &[&StoredEvent],
    ) -> Result<(), (u64, ProjectionError)> {
        // Runs of registrations are written together; everything else one event at a time.
        let mut rest = events;
        while !rest.is_empty() {
            let run = rest
                .iter()
                .take_while(|e| e.event_type == REGISTERED)
                .count();
            if run > 0 {
                let (registrations, after) = rest.split_at(run);
                self.register_many(tx, registrations)
                    .instrument(apply_many_span(self.name(), registrations))
                    .await?;
                self.grew(run);
                rest = after;
            } else {
                let event = rest[0];
                self.apply(tx, event)
                    .instrument(apply_span(self.name(), event))
                    .await
                    .map_err(|e| (event.position, e))?;
                rest = &rest[1..];
            }
        }
        Ok(())
    }

    async fn reset(
        &self,
        tx: &mut DbTx,
        municipality: Option<MunicipalityCode>,
    ) -> Result<(), ProjectionError> {
        reset_tables(
            tx,
            &[
                "registry_residents",
                "registry_resident_skills",
                "registry_resident_interests",
                "registry_resident_windows",
                "registry_organisations",
            ],
            municipality,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSY: Duration = Duration::from_millis(10);

    #[test]
    fn an_import_in_progress_is_not_interrupted_by_a_refresh() {
        // Given 50,000 rows imported onto 8,000 and the directory caught up between batches.
        assert!(!upkeep_due(50_000, 8_000, BUSY));
    }

    #[test]
    fn a_large_growth_is_refreshed_once_the_load_pauses() {
        assert!(upkeep_due(50_000, 8_000, BUSY_PAUSE));
        // A fifth of what the directory held, at least UPKEEP_AFTER.
        assert!(!upkeep_due(UPKEEP_AFTER - 1, 0, BUSY_PAUSE));
        assert!(!upkeep_due(19_999, 100_000, BUSY_PAUSE));
        assert!(upkeep_due(20_000, 100_000, BUSY_PAUSE));
    }

    #[test]
    fn a_smaller_growth_is_refreshed_after_a_quiet_spell() {
        assert!(!upkeep_due(3_000, 100_000, BUSY_PAUSE));
        assert!(upkeep_due(3_000, 100_000, SETTLE_QUIET));
        // A fiftieth, at least SETTLE_AFTER.
        assert!(!upkeep_due(1_999, 100_000, SETTLE_QUIET));
        assert!(!upkeep_due(SETTLE_AFTER - 1, 0, SETTLE_QUIET));
        assert!(upkeep_due(SETTLE_AFTER, 0, SETTLE_QUIET));
    }

    #[test]
    fn nothing_new_is_never_due() {
        assert!(!upkeep_due(0, 0, Duration::from_secs(3_600)));
    }
}
