#![allow(dead_code, missing_docs)]

use mosaic_db::{Db, connect};
use mosaic_privacy::{MasterKey, Vault};
use mosaic_types::MunicipalityCode;

/// A vault on a fresh, migrated database of one backend, with what keeps that database alive.
pub struct Fixture {
    pub vault: Vault,
    pub backend: &'static str,
    pub pg: Option<mosaic_testkit::TestDatabase>,
    pub sqlite: Option<mosaic_testkit::TestSqlite>,
}

impl Fixture {
    pub fn db(&self) -> &Db {
        self.vault.db()
    }
}

pub async fn postgres() -> anyhow::Result<Fixture> {
    let pg = mosaic_testkit::TestDatabase::new()?;
    let db = connect(pg.url(), 32).await?;
    mosaic_privacy::migrate(&db).await?;
    Ok(Fixture {
        vault: Vault::new(db, MasterKey::generate()),
        backend: "postgres",
        pg: Some(pg),
        sqlite: None,
    })
}

pub async fn sqlite() -> anyhow::Result<Fixture> {
    let dir = mosaic_testkit::TestSqlite::new()?;
    let db = connect(&dir.url("registry"), 8).await?;
    mosaic_privacy::migrate(&db).await?;
    Ok(Fixture {
        vault: Vault::new(db, MasterKey::generate()),
        backend: "sqlite",
        pg: None,
        sqlite: Some(dir),
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
