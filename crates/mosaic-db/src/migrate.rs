use sqlx::migrate::{MigrateError, Migrator};

use crate::Db;

/// One owner's schema for both backends. Each owner (the event store, the projection runner, each
/// service) keeps its own migrations table, so several owners share one database without their
/// version numbers colliding.
pub struct Migrations {
    /// Name of this owner's migrations table, e.g. `_mosaic_eventstore_migrations`.
    pub table: &'static str,
    /// Migrations for PostgreSQL (`sqlx::migrate!("migrations/postgres")`).
    pub postgres: Migrator,
    /// Migrations for SQLite (`sqlx::migrate!("migrations/sqlite")`).
    pub sqlite: Migrator,
}

/// Applies an owner's pending migrations to the database.
pub async fn run_migrations(db: &Db, migrations: Migrations) -> Result<(), MigrateError> {
    let Migrations {
        table,
        mut postgres,
        mut sqlite,
    } = migrations;
    match db {
        Db::Postgres(pool) => {
            postgres.dangerous_set_table_name(table);
            postgres.set_ignore_missing(true);
            postgres.run(pool).await
        }
        Db::Sqlite(pool) => {
            sqlite.dangerous_set_table_name(table);
            sqlite.set_ignore_missing(true);
            sqlite.run(pool).await
        }
    }
}
