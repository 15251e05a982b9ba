use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use chrono::{DateTime, Utc};
use mosaic_db::{Db, DbTx, PG_NO_FLUSH_WAIT, on_db, on_tx};
use mosaic_types::MunicipalityCode;
use zeroize::Zeroizing;

use crate::key_queue::{self, NewKeyQueue};
use crate::master_key::KEY_LEN;
use crate::{MasterKey, PersonKey, PrivacyError, blind_index};

/// `master_key_id, wrapped_key, erased_at` of one person's row.
type KeyRow = (String, Option<Vec<u8>>, Option<DateTime<Utc>>);
/// `subject` followed by a [`KeyRow`].
type SubjectKeyRow = (String, String, Option<Vec<u8>>, Option<DateTime<Utc>>);

const SELECT_ONE: &str = "SELECT master_key_id, wrapped_key, erased_at FROM person_keys \
                          WHERE municipality = $1 AND subject = $2";
// One index lookup per subject (a lateral lookup, kept from being flattened into a join by its
// `LIMIT`): `subject = ANY($2)` let a generic plan made while the table was small visit every
// key of the municipality.
const SELECT_MANY_PG: &str = "SELECT k.subject, k.master_key_id, k.wrapped_key, k.erased_at \
                              FROM UNNEST($2::text[]) AS s(subject) CROSS JOIN LATERAL \
                              (SELECT * FROM person_keys WHERE municipality = $1 \
                              AND subject = s.subject LIMIT 1) k";
// SQLite has no array parameters; the subjects travel as one JSON array instead of one
// placeholder each, so a long list never meets SQLite's limit on bound parameters.
const SELECT_MANY_SQLITE: &str = "SELECT subject, master_key_id, wrapped_key, erased_at \
                                  FROM person_keys WHERE municipality = $1 \
                                  AND subject IN (SELECT value FROM json_each($2))";
// The loser of a race to create the first key writes nothing and reads the winner's key back.
const INSERT_KEY: &str = "INSERT INTO person_keys \
                          (municipality, subject, master_key_id, wrapped_key, created_at) \
                          VALUES ($1, $2, $3, $4, $5) \
                          ON CONFLICT (municipality, subject) DO NOTHING";
// New keys in one statement, run after `PG_NO_FLUSH_WAIT` (see `Vault::new_key`). It answers the
// subjects it inserted: the others had a row already.
const PG_INSERT_FRESH_KEYS: &str = "INSERT INTO person_keys \
    (municipality, subject, master_key_id, wrapped_key, created_at) \
    SELECT $1, k.subject, $3, k.wrapped, $5 \
    FROM no_wait, UNNEST($2::text[], $4::bytea[]) AS k(subject, wrapped) \
    ON CONFLICT (municipality, subject) DO NOTHING RETURNING subject";
/// How often [`Vault::scrub`] tries to truncate SQLite's log while readers hold it.
const SCRUB_ATTEMPTS: u32 = 10;
const DESTROY_KEY: &str = "UPDATE person_keys SET wrapped_key = NULL, erased_at = $3 \
                           WHERE municipality = $1 AND subject = $2 AND erased_at IS NULL";
// A person erased before their first key was made still gets a tombstone, so no key is ever
// created for them afterwards.
const INSERT_TOMBSTONE: &str = "INSERT INTO person_keys \
                                (municipality, subject, master_key_id, wrapped_key, created_at, erased_at) \
                                VALUES ($1, $2, $3, NULL, $4, $4) \
                                ON CONFLICT (municipality, subject) DO NOTHING";
// A key that sealed nothing that was kept (`Vault::forget_unused`).
const DELETE_UNUSED_KEY: &str = "DELETE FROM person_keys \
    WHERE municipality = $1 AND subject = $2 AND erased_at IS NULL";
const SELECT_ERASED: &str = "SELECT erased_at FROM person_keys \
                             WHERE municipality = $1 AND subject = $2";

/// A service's store of per-person keys in its own database (table `person_keys`), each key
/// wrapped under the [`MasterKey`]. Cheap to clone.
///
/// On SQLite a write transaction holds the database's write lock: inside a caller's transaction
/// use the `_in` methods ([`Vault::key_in`], [`Vault::keys_in`], [`Vault::erase_in`]), since the
/// pool-based ones would wait for that very lock.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    db: Db,
    master: MasterKey,
    /// Started on the first [`Vault::new_key`], on the runtime of that call.
    key_queue: OnceLock<NewKeyQueue>,
}

impl Vault {
    /// A vault over `db` (migrated with [`crate::migrate`]) that wraps keys under `master`.
    pub fn new(db: Db, master: MasterKey) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                master,
                key_queue: OnceLock::new(),
            }),
        }
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// The database the keys live in.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The master key's id, e.g. for a start-up log line.
    pub fn master_key_id(&self) -> &str {
        self.inner.master.id()
    }

    /// A secret for `purpose` other than personal data (e.g. signing page tokens), derived from
    /// the master key with HKDF-SHA256: every replica started with the same master key derives
    /// the same secret, and one purpose's secret says nothing about another's or the master key.
    pub fn derived_secret(&self, purpose: &str) -> Zeroizing<[u8; 32]> {
        self.inner.master.derive(purpose)
    }

    /// The person's key, created on first use. `Err(PrivacyError::Erased)` if the person was
    /// erased: their key is never created again.
    pub async fn key(
        &self,
        municipality: MunicipalityCode,
        subject: &str,
    ) -> Result<PersonKey, PrivacyError> {
        let row: Option<KeyRow> = on_db!(&self.inner.db, pool => {
            sqlx::query_as(SELECT_ONE)
                .bind(municipality.as_str())
                .bind(subject)
                .fetch_optional(pool)
                .await?
        });
        if let Some(row) = row {
            return self.person_key(municipality, subject, row);
        }
        // First use: only now take a write transaction, so reading existing keys never waits for
        // SQLite's write lock.
        let mut tx = self.inner.db.begin().await?;
        let key = self.key_in(&mut tx, municipality, subject).await?;
        tx.commit().await?;
        Ok(key)
    }

    /// The key of a subject the caller has just made up (a fresh id), created at once.
    ///
    /// On PostgreSQL this commit does not wait for its own WAL flush. That is safe: the key only
    /// matters to data sealed under it, and that data reaches the database in a later durable
    /// commit (an event append) of the same database, whose flush covers this earlier record. If
    /// no such commit follows, a lost key protects nothing.
    ///
    /// Keys asked for at the same moment by concurrent callers are made with one insert
    /// (`key_queue.rs`).
    pub async fn new_key(
        &self,
        municipality: MunicipalityCode,
        subject: &str,
    ) -> Result<PersonKey, PrivacyError> {
        let queue = self
            .inner
            .key_queue
            .get_or_init(|| key_queue::start(Arc::downgrade(&self.inner)));
        match queue.ask((municipality, subject.to_owned())).await {
            Some(Some(answer)) => return answer,
            // The group's insert failed: this caller's own insert gives its own answer.
            Some(None) => {}
            None => tracing::debug!("the key queue is gone (its runtime shut down)"),
        }
        let keys = self.new_keys(municipality, &[subject.to_owned()]).await?;
        key_queue::found(&keys, subject)
    }

    /// Keys for many subjects the caller has just made up (fresh ids), created together with one
    /// insert (a roster import makes thousands): on PostgreSQL one statement, so one round trip.
    /// Durability as for [`Vault::new_key`]. Subjects that had a key or were erased keep what
    /// they had (an erased one is absent from the map).
    pub async fn new_keys(
        &self,
        municipality: MunicipalityCode,
        subjects: &[String],
    ) -> Result<HashMap<String, PersonKey>, PrivacyError> {
        if subjects.is_empty() {
            return Ok(HashMap::new());
        }
        let now = Utc::now();
        let fresh: Vec<(Zeroizing<[u8; KEY_LEN]>, Vec<u8>)> = subjects
            .iter()
            .map(|subject| {
                let mut key = Zeroizing::new([0u8; KEY_LEN]);
                OsRng.fill_bytes(&mut *key);
                let wrapped = self
                    .inner
                    .master
                    .wrap_key(municipality.as_str(), subject, &key);
                (key, wrapped)
            })
            .collect();
        let inserted: Vec<String> = match &self.inner.db {
            Db::Postgres(pool) => {
                let wrapped: Vec<&[u8]> = fresh.iter().map(|(_, w)| w.as_slice()).collect();
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "{PG_NO_FLUSH_WAIT} {PG_INSERT_FRESH_KEYS}"
                )))
                .bind(municipality.as_str())
                .bind(subjects)
                .bind(self.inner.master.id())
                .bind(wrapped)
                .bind(now)
                .fetch_all(pool)
                .await?
            }
            Db::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("PRAGMA secure_delete = ON")
                    .execute(&mut *tx)
                    .await?;
                let mut inserted = Vec::with_capacity(subjects.len());
                // SQLite allows at most 32,766 bound values; five per row stays well below it.
                for chunk in subjects
                    .iter()
                    .zip(&fresh)
                    .collect::<Vec<_>>()
                    .chunks(1_000)
                {
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO person_keys (municipality, subject, master_key_id, \
                         wrapped_key, created_at) ",
                    );
                    q.push_values(chunk, |mut row, (subject, (_, wrapped))| {
                        row.push_bind(municipality.as_str())
                            .push_bind(subject.as_str())
                            .push_bind(self.inner.master.id())
                            .push_bind(wrapped.as_slice())
                            .push_bind(now);
                    });
                    q.push(" ON CONFLICT (municipality, subject) DO NOTHING RETURNING subject");
                    let rows: Vec<String> = q.build_query_scalar().fetch_all(&mut *tx).await?;
                    inserted.extend(rows);
                }
                tx.commit().await?;
                inserted
            }
        };
        let mut keys = HashMap::with_capacity(subjects.len());
        let mut inserted: std::collections::HashSet<String> = inserted.into_iter().collect();
        let mut existing = Vec::new();
        for (subject, (key, _)) in subjects.iter().zip(fresh) {
            if inserted.remove(subject) {
                keys.insert(subject.clone(), PersonKey::new(municipality, subject, key));
            } else {
                existing.push(subject.clone());
            }
        }
        if !existing.is_empty() {
            // Not new after all: whatever they have (or their erasure) stands.
            let mut tx = self.inner.db.begin().await?;
            keys.extend(self.keys_in(&mut tx, municipality, &existing).await?);
            tx.commit().await?;
        }
        Ok(keys)
    }

    /// Like [`Vault::key`], inside the caller's transaction: a key created here exists only if
    /// that transaction commits.
    pub async fn key_in(
        &self,
        tx: &mut DbTx,
        municipality: MunicipalityCode,
        subject: &str,
    ) -> Result<PersonKey, PrivacyError> {
        if let Some(row) = select_one_in(tx, municipality, subject).await? {
            return self.person_key(municipality, subject, row);
        }
        sqlite_secure_delete(tx).await?;
        let mut fresh = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(&mut *fresh);
        let wrapped = self
            .inner
            .master
            .wrap_key(municipality.as_str(), subject, &fresh);
        let now = Utc::now();
        on_tx!(tx, t => {
            sqlx::query(INSERT_KEY)
                .bind(municipality.as_str())
                .bind(subject)
                .bind(self.inner.master.id())
                .bind(&wrapped)
                .bind(now)
                .execute(&mut **t)
                .await?;
        });
        // Whoever won the race, the row now holds the one key everyone uses.
        let row = select_one_in(tx, municipality, subject)
            .await?
            .ok_or_else(|| {
                PrivacyError::Database(sqlx::Error::Protocol(
                    "person key row missing right after it was inserted".into(),
                ))
            })?;
        self.person_key(municipality, subject, row)
    }

    /// Keys of many persons in one query; erased or unknown subjects are absent from the map
    /// (nothing is created).
    pub async fn keys(
        &self,
        municipality: MunicipalityCode,
        subjects: &[String],
    ) -> Result<HashMap<String, PersonKey>, PrivacyError> {
        if subjects.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<SubjectKeyRow> = match &self.inner.db {
            Db::Postgres(pool) => {
                sqlx::query_as(SELECT_MANY_PG)
                    .bind(municipality.as_str())
                    .bind(subjects)
                    .fetch_all(pool)
                    .await?
            }
            Db::Sqlite(pool) => {
                sqlx::query_as(SELECT_MANY_SQLITE)
                    .bind(municipality.as_str())
                    .bind(subjects_json(subjects))
                    .fetch_all(pool)
                    .await?
            }
        };
        self.person_keys(municipality, rows)
    }

    /// Same as [`Vault::keys`] but inside a caller's transaction (projections apply events in a
    /// runner transaction).
    pub async fn keys_in(
        &self,
        tx: &mut DbTx,
        municipality: MunicipalityCode,
        subjects: &[String],
    ) -> Result<HashMap<String, PersonKey>, PrivacyError> {
        if subjects.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<SubjectKeyRow> = match tx {
            DbTx::Postgres(t) => {
                sqlx::query_as(SELECT_MANY_PG)
                    .bind(municipality.as_str())
                    .bind(subjects)
                    .fetch_all(&mut **t)
                    .await?
            }
            DbTx::Sqlite(t) => {
                sqlx::query_as(SELECT_MANY_SQLITE)
                    .bind(municipality.as_str())
                    .bind(subjects_json(subjects))
                    .fetch_all(&mut **t)
                    .await?
            }
        };
        self.person_keys(municipality, rows)
    }

    /// Destroys the person's key (crypto-shredding): the wrapped key bytes are deleted and a
    /// tombstone row remains, so the key is never created again and everything sealed under it
    /// stays unreadable, including in the immutable event log. Idempotent; true when a key was
    /// destroyed by this call.
    ///
    /// On SQLite the freed bytes are overwritten (`secure_delete`). The wrapped bytes may still
    /// survive where this call cannot reach: database backups, PostgreSQL's WAL and free space in
    /// its pages (vacuum frees dead tuples but does not wipe them), SQLite's WAL until a
    /// checkpoint. Each needs the master key as well to be of use; keep backups of the two apart.
    ///
    /// The copies the engine itself keeps are removed right after the commit ([`Vault::scrub`]);
    /// should that fail, it is logged and they go at the engine's next checkpoint or vacuum.
    pub async fn erase(
        &self,
        municipality: MunicipalityCode,
        subject: &str,
    ) -> Result<bool, PrivacyError> {
        let mut tx = self.inner.db.begin().await?;
        let destroyed = self.erase_in(&mut tx, municipality, subject).await?;
        tx.commit().await?;
        // The key is gone; a copy the engine still keeps goes at its next checkpoint or vacuum.
        if let Err(e) = self.scrub().await {
            tracing::warn!(error = %e, "cannot scrub the person keys after an erasure");
        }
        Ok(destroyed)
    }

    /// Removes the copies of destroyed keys that the database engine keeps after their deletion
    /// committed. Call it after a transaction that erased keys has committed.
    ///
    /// - SQLite: the write-ahead log still holds the pages as they were before the deletion, until
    ///   a checkpoint. This checkpoints the log into the database file (whose freed bytes
    ///   `secure_delete` has overwritten) and truncates it to nothing, waiting briefly for
    ///   readers that still use an older snapshot.
    /// - PostgreSQL: the row version that held the key stays in its page as a dead tuple until
    ///   vacuumed. This vacuums `person_keys` at once, so its space is pruned and reused rather
    ///   than left until autovacuum. What PostgreSQL wrote to its WAL, and what backups hold,
    ///   stays there until they are recycled or expire (`deploy/README.md`).
    pub async fn scrub(&self) -> Result<(), PrivacyError> {
        match &self.inner.db {
            Db::Sqlite(pool) => {
                let mut backoff = mosaic_types::Backoff::new(
                    std::time::Duration::from_millis(20),
                    std::time::Duration::from_millis(320),
                );
                for _ in 0..SCRUB_ATTEMPTS {
                    let (busy, _, _): (i64, i64, i64) =
                        sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                            .fetch_one(pool)
                            .await?;
                    if busy == 0 {
                        return Ok(());
                    }
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                tracing::warn!(
                    "the SQLite write-ahead log could not be truncated after an erasure: readers \
                     held it; the next checkpoint removes the destroyed key's old pages"
                );
                Ok(())
            }
            Db::Postgres(pool) => {
                sqlx::query("VACUUM person_keys").execute(pool).await?;
                Ok(())
            }
        }
    }

    /// Like [`Vault::erase`], inside the caller's transaction (e.g. the consumer of
    /// `PersonalDataErased` with its checkpoint).
    pub async fn erase_in(
        &self,
        tx: &mut DbTx,
        municipality: MunicipalityCode,
        subject: &str,
    ) -> Result<bool, PrivacyError> {
        sqlite_secure_delete(tx).await?;
        let now = Utc::now();
        if destroy_in(tx, municipality, subject, now).await? {
            tracing::info!(%municipality, subject, "person key destroyed");
            return Ok(true);
        }
        let tombstoned = on_tx!(&mut *tx, t => {
            sqlx::query(INSERT_TOMBSTONE)
                .bind(municipality.as_str())
                .bind(subject)
                .bind(self.inner.master.id())
                .bind(now)
                .execute(&mut **t)
                .await?
                .rows_affected()
        });
        if tombstoned == 1 {
            return Ok(false);
        }
        // A concurrent first use committed a key between the two statements: destroy it too.
        let destroyed = destroy_in(tx, municipality, subject, now).await?;
        if destroyed {
            tracing::info!(%municipality, subject, "person key destroyed");
        }
        Ok(destroyed)
    }

    /// Deletes the key of a subject the caller made up for a command that then wrote nothing
    /// under it: the command was answered with an earlier request's result, or refused before
    /// its commit. Call it only when that is certain (not after a commit whose outcome is
    /// unknown): data sealed under a key that is gone cannot be opened again. Unlike
    /// [`Vault::erase`] it leaves no tombstone, as the subject never existed; an erased subject
    /// is left as it is. True when a key was deleted.
    pub async fn forget_unused(
        &self,
        municipality: MunicipalityCode,
        subject: &str,
    ) -> Result<bool, PrivacyError> {
        let deleted = on_db!(&self.inner.db, pool => {
            sqlx::query(DELETE_UNUSED_KEY)
                .bind(municipality.as_str())
                .bind(subject)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(deleted == 1)
    }

    /// Whether the person's data was erased (their key destroyed).
    pub async fn is_erased(
        &self,
        municipality: MunicipalityCode,
        subject: &str,
    ) -> Result<bool, PrivacyError> {
        let row: Option<(Option<DateTime<Utc>>,)> = on_db!(&self.inner.db, pool => {
            sqlx::query_as(SELECT_ERASED)
                .bind(municipality.as_str())
                .bind(subject)
                .fetch_optional(pool)
                .await?
        });
        Ok(matches!(row, Some((Some(_),))))
    }

    /// Keyed hash of the normalised value (see [`crate::normalize_name`]) under a key derived
    /// from the master key for (municipality, purpose) with HKDF-SHA256, as 64 lowercase hex
    /// digits. Equal names give equal indexes within a municipality and purpose, which is what
    /// makes them searchable and also all they reveal; nothing is stored by this call.
    pub fn blind_index(
        &self,
        municipality: MunicipalityCode,
        purpose: &str,
        value: &str,
    ) -> String {
        blind_index::blind_index(&self.inner.master, municipality, purpose, value)
    }

    /// Like [`Vault::blind_index`], of the value exactly as given: for identifiers (a login
    /// subject) that are looked up but never shown, where two spellings are two values.
    pub fn exact_index(
        &self,
        municipality: MunicipalityCode,
        purpose: &str,
        value: &str,
    ) -> String {
        blind_index::exact_index(&self.inner.master, municipality, purpose, value)
    }

    fn person_key(
        &self,
        municipality: MunicipalityCode,
        subject: &str,
        (master_key_id, wrapped, erased_at): KeyRow,
    ) -> Result<PersonKey, PrivacyError> {
        let wrapped = match (wrapped, erased_at) {
            (Some(wrapped), None) => wrapped,
            _ => return Err(PrivacyError::Erased),
        };
        let master = &self.inner.master;
        if master_key_id != master.id() {
            return Err(PrivacyError::MasterKeyMismatch {
                stored: master_key_id,
                current: master.id().to_owned(),
            });
        }
        let key = master.unwrap_key(municipality.as_str(), subject, &wrapped)?;
        Ok(PersonKey::new(municipality, subject, key))
    }

    fn person_keys(
        &self,
        municipality: MunicipalityCode,
        rows: Vec<SubjectKeyRow>,
    ) -> Result<HashMap<String, PersonKey>, PrivacyError> {
        let mut keys = HashMap::with_capacity(rows.len());
        for (subject, master_key_id, wrapped, erased_at) in rows {
            match self.person_key(municipality, &subject, (master_key_id, wrapped, erased_at)) {
                Ok(key) => {
                    keys.insert(subject, key);
                }
                Err(PrivacyError::Erased) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(keys)
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("backend", &self.inner.db.backend())
            .field("master_key_id", &self.inner.master.id())
            .finish()
    }
}

async fn select_one_in(
    tx: &mut DbTx,
    municipality: MunicipalityCode,
    subject: &str,
) -> Result<Option<KeyRow>, sqlx::Error> {
    on_tx!(tx, t => {
        sqlx::query_as(SELECT_ONE)
            .bind(municipality.as_str())
            .bind(subject)
            .fetch_optional(&mut **t)
            .await
    })
}

/// On SQLite, makes this connection overwrite freed space with zeros before it writes to
/// `person_keys`. Without it, stale copies of wrapped keys stay in the file's free space: the old
/// cell after an erasure, and the cells a page split moved away when keys were created. Per
/// connection and cheap, so it is set before every write rather than trusted to the pool's setup.
async fn sqlite_secure_delete(tx: &mut DbTx) -> Result<(), sqlx::Error> {
    if let DbTx::Sqlite(t) = tx {
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// Deletes the wrapped key of a live row; true when there was one.
async fn destroy_in(
    tx: &mut DbTx,
    municipality: MunicipalityCode,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = on_tx!(tx, t => {
        sqlx::query(DESTROY_KEY)
            .bind(municipality.as_str())
            .bind(subject)
            .bind(now)
            .execute(&mut **t)
            .await?
            .rows_affected()
    });
    Ok(n == 1)
}

fn subjects_json(subjects: &[String]) -> String {
    // Serialising a list of strings cannot fail.
    serde_json::to_string(subjects).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn kashiwa() -> MunicipalityCode {
        MunicipalityCode::parse("122173").unwrap()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// Every byte of the database directory: the main file, its WAL and shared memory.
    fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        all
    }

    #[tokio::test]
    async fn the_sqlite_files_hold_neither_the_plaintext_nor_the_raw_person_key() {
        let dir = mosaic_testkit::TestSqlite::new().unwrap();
        let db = mosaic_db::connect(&dir.url("registry"), 4).await.unwrap();
        crate::migrate(&db).await.unwrap();
        let vault = Vault::new(db.clone(), MasterKey::generate());
        on_db!(&db, pool => {
            sqlx::query("CREATE TABLE residents (id TEXT, name TEXT, name_index TEXT)")
                .execute(pool)
                .await
                .unwrap();
        });
        let plaintext = "山田太郎 yamada.taro@example.jp";
        let key = vault.key(kashiwa(), "p-1").await.unwrap();
        let sealed = key.seal("name", plaintext);
        let index = vault.blind_index(kashiwa(), "name", plaintext);
        on_db!(&db, pool => {
            sqlx::query("INSERT INTO residents VALUES ($1, $2, $3)")
                .bind("p-1")
                .bind(sealed.as_str())
                .bind(&index)
                .execute(pool)
                .await
                .unwrap();
        });
        // Read the files as they are, both before and after the WAL is folded into the database.
        for checkpoint in [false, true] {
            if checkpoint {
                on_db!(&db, pool => {
                    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await.unwrap();
                });
            }
            let bytes = database_bytes(dir.path());
            // The scan does see what was written...
            assert!(
                contains(&bytes, sealed.as_str().as_bytes()),
                "checkpoint {checkpoint}"
            );
            assert!(contains(&bytes, index.as_bytes()));
            // ...and never the name, the address or the key.
            assert!(!contains(&bytes, "山田太郎".as_bytes()));
            assert!(!contains(&bytes, b"yamada.taro"));
            assert!(!contains(&bytes, key.raw()));
        }
        db.close().await;
    }

    #[tokio::test]
    async fn after_erasure_and_a_checkpoint_the_wrapped_key_is_gone_from_the_sqlite_files() {
        let dir = mosaic_testkit::TestSqlite::new().unwrap();
        let db = mosaic_db::connect(&dir.url("registry"), 4).await.unwrap();
        crate::migrate(&db).await.unwrap();
        let vault = Vault::new(db.clone(), MasterKey::generate());
        // Neighbours on the same page, so the page is not simply rewritten whole.
        for n in 0..40 {
            vault.key(kashiwa(), &format!("p-{n}")).await.unwrap();
        }
        let wrapped: Vec<u8> = on_db!(&db, pool => {
            sqlx::query_scalar("SELECT wrapped_key FROM person_keys WHERE subject = 'p-1'")
                .fetch_one(pool)
                .await
                .unwrap()
        });
        assert!(vault.erase(kashiwa(), "p-1").await.unwrap());
        on_db!(&db, pool => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await.unwrap();
        });
        assert!(!contains(&database_bytes(dir.path()), &wrapped));
        db.close().await;
    }
}
