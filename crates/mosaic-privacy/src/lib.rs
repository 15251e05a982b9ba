//! Personal data at rest: per-person data keys (envelope encryption), their destruction when a
//! person is erased (crypto-shredding), and blind indexes to find people by name without storing
//! the name.
//!
//! Each context that stores personal data (names, contact details, addresses, free text about a
//! person) keeps its own [`Vault`] in its own database. A value is sealed with the person's
//! [`PersonKey`] before it goes into an event, a table or a message, and only the [`Sealed`] text is
//! stored. When the context consumes `PersonalDataErased` it calls [`Vault::erase`]: the person's
//! key is destroyed, so every ciphertext of theirs, including those in the immutable event log
//! and in replays, can never be opened again, and readers show "erased" instead.
//!
//! Keys are wrapped under a [`MasterKey`] kept outside the database (a file in the embedded data
//! dir, or a secret in the distributed deployment). Boundaries:
//! - this crate encrypts and hashes; deciding which fields are personal, and logging none of them,
//!   stays with each context;
//! - one master key per database: a key wrapped under another master key is reported by id
//!   ([`PrivacyError::MasterKeyMismatch`]); rotating master keys (re-wrapping rows) is future work;
//! - a blind index reveals which persons share a normalised name within one municipality and
//!   purpose, nothing more; it is not erased with the key, so a context drops its index rows when
//!   it erases the person.

mod aad;
mod blind_index;
mod erasure;
mod error;
mod key_queue;
mod master_key;
mod normalize;
mod person_key;
mod sealed;
mod vault;

pub use erasure::Erasure;
pub use error::PrivacyError;
pub use master_key::MasterKey;
pub use normalize::normalize_name;
pub use person_key::PersonKey;
pub use sealed::Sealed;
pub use vault::Vault;

/// Name of this crate's migrations table, apart from the owner's own.
pub const MIGRATIONS_TABLE: &str = "_mosaic_privacy_migrations";

/// The `person_keys` table for both backends.
pub fn migrations() -> mosaic_db::Migrations {
    mosaic_db::Migrations {
        table: MIGRATIONS_TABLE,
        postgres: sqlx::migrate!("migrations/postgres"),
        sqlite: sqlx::migrate!("migrations/sqlite"),
    }
}

/// Creates or updates the `person_keys` table.
pub async fn migrate(db: &mosaic_db::Db) -> Result<(), sqlx::migrate::MigrateError> {
    mosaic_db::run_migrations(db, migrations()).await
}
