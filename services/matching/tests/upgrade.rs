//! Upgrading to the candidate index: read-model rows written before migration 3 lack the
//! profile, field, place and skills it added, and the migration marks `matching.residents` and
//! `matching.activity` for a rebuild from the log. A platform started on such a database rebuilds
//! them, and then recommends as if the rows had always been complete.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::*;
use mosaic_proto::v1 as pb;

/// What migration 3 runs on a database that has rows (its last statement).
fn marked_for_rebuild() -> String {
    let migration = include_str!("../migrations/sqlite/3_candidate_index.sql");
    let at = migration.find("UPDATE projection_checkpoints").unwrap();
    migration[at..].to_owned()
}

#[tokio::test]
async fn rows_of_the_previous_version_are_rebuilt_from_the_log_at_start() -> anyhow::Result<()> {
    let mut p = Platform::sqlite().await?;
    let mut w = World::new(&p, KASHIWA).await?;
    let (_, pieces) = w
        .pieces_needing(
            pb::EngagementForm::Volunteer,
            pb::ApplicationMode::Open,
            2,
            &[(pb::Weekday::Monday, 540, 720)],
            &[("cooking", 2)],
        )
        .await?;
    let cook = w
        .resident(
            &p,
            Person {
                skills: vec![("cooking", 4)],
                availability: vec![(pb::Weekday::Monday, 540, 720)],
                ..Person::default()
            },
        )
        .await?;
    let ask = pb::RecommendResidentsRequest {
        piece_id: pieces[0].clone(),
        k: 5,
        explain_resident_id: String::new(),
        record: Some(false),
    };
    let before = w
        .matching
        .recommend_residents(w.req(ask.clone(), &w.coordinator))
        .await?
        .into_inner();
    assert_eq!(before.residents.len(), 1);

    // The rows as the previous version left them, and the migration's mark.
    let mark = marked_for_rebuild();
    p.restart_embedded(&[
        "UPDATE matching_residents SET profile = NULL",
        "UPDATE matching_activities SET field = NULL, place = NULL",
        "UPDATE matching_pieces SET skills = NULL",
        &mark,
    ])
    .await?;
    w.matching = p.matching().await?;
    // Like any read model while it rebuilds, these are incomplete until the rebuild ends.
    let db = mosaic_db::connect(&p.matching_database_url(), 1).await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let rebuilding: i64 = mosaic_db::on_db!(&db, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM projection_checkpoints WHERE rebuilding IS NOT NULL",
            )
            .fetch_one(pool)
            .await?
        });
        if rebuilding == 0 {
            break;
        }
        if std::time::Instant::now() > deadline {
            let rows: Vec<(String, String, i64, Option<String>)> = mosaic_db::on_db!(&db, pool => {
                sqlx::query_as("SELECT projection, source, position, rebuilding FROM projection_checkpoints")
                    .fetch_all(pool)
                    .await?
            });
            panic!("not rebuilt within 10 s: {rows:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    db.close().await;

    let after = w
        .matching
        .recommend_residents(w.req(ask, &w.coordinator))
        .await?
        .into_inner();
    assert_eq!(after.residents.len(), 1);
    assert_eq!(after.residents[0].resident_id, cook.id);
    assert_eq!(after.residents[0].score, before.residents[0].score);
    Ok(())
}
