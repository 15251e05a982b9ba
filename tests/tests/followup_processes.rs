#![allow(clippy::unwrap_used, missing_docs)]

//! Every confirmation opens one engagement however the follow-up service dies: matching and
//! follow-up as processes of their own on one PostgreSQL cluster and one nats-server. Confirmed
//! matches are appended to matching's store in waves (its process relays them over NATS, as it
//! relays its own), and follow-up is killed with `kill -9` right after each wave — while it
//! opens engagements and before it has acknowledged what it read — and started again. In the end
//! follow-up's log holds exactly one `EngagementOpened` per confirmation.

mod common;
mod processes;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use mosaic_api::command::new_event;
use mosaic_auth::SigningKeys;
use mosaic_events::matching::{Commitment, MatchConfirmed, MatchingEvent};
use mosaic_eventstore::{AppendRequest, EventStore, ExpectedVersion, LogQuery, SqlEventStore};
use mosaic_types::{MatchId, OrganisationId, Weekday, WeeklyWindow};
use processes::Service;

/// Confirmations per wave, and waves.
const WAVE: usize = 60;
const WAVES: usize = 4;

/// `EngagementOpened` per match id in follow-up's log.
async fn opened(store: &SqlEventStore) -> anyhow::Result<BTreeMap<String, usize>> {
    let mut per_match = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = store
            .read_log(&LogQuery {
                after,
                limit: 1_000,
                ..Default::default()
            })
            .await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for e in page.iter().filter(|e| e.event_type == "EngagementOpened") {
            let id = e.payload.to_value()?["match_id"]
                .as_str()
                .unwrap()
                .to_owned();
            *per_match.entry(id).or_insert(0) += 1;
        }
    }
    Ok(per_match)
}

#[tokio::test]
async fn killing_follow_up_while_it_opens_engagements_opens_each_once() -> anyhow::Result<()> {
    let cluster = mosaic_testkit::PgCluster::start()?;
    let nats = mosaic_testkit::NatsServer::start()?;
    let keys_dir = tempfile::tempdir()?;
    SigningKeys::generate().write_to_dir(keys_dir.path())?;
    let master = mosaic_privacy::MasterKey::generate().to_base64();
    let env = |database: String| {
        vec![
            ("DATABASE_URL", database),
            ("NATS_URL", nats.url()),
            (
                "MOSAIC_JWKS",
                keys_dir.path().join("jwks.json").display().to_string(),
            ),
            ("MOSAIC_MASTER_KEY", master.clone()),
            ("MOSAIC_DB_MAX_CONNECTIONS", "8".to_owned()),
        ]
    };
    let (matching_url, followup_url) =
        (cluster.database("matching")?, cluster.database("followup")?);
    let mut matching = Service::start("matching", env(matching_url.clone()))?;
    let mut followup = Service::start("followup", env(followup_url.clone()))?;
    matching.ready().await?;
    followup.ready().await?;

    let m = code(KASHIWA);
    let matching_store =
        SqlEventStore::open(mosaic_db::connect(&matching_url, 2).await?, "matching").await?;
    let window = WeeklyWindow::new(Weekday::Monday, 540, 720)?;
    let host = OrganisationId::parse("0190c7a1-0000-7000-8000-000000000001")?;
    let mut matches = Vec::new();
    for wave in 0..WAVES {
        for _ in 0..WAVE {
            let id = uuid::Uuid::now_v7().to_string();
            let confirmed = MatchingEvent::MatchConfirmed(MatchConfirmed {
                match_id: MatchId::from(id.clone()),
                resident_id: uuid::Uuid::now_v7().to_string().into(),
                piece_id: uuid::Uuid::now_v7().to_string().into(),
                activity_id: uuid::Uuid::now_v7().to_string().into(),
                host_organisation_id: host.clone(),
                commitment: Commitment {
                    slots: vec![window],
                    first_day: "2027-04-05".parse()?,
                    last_day: "2027-06-28".parse()?,
                    minutes_per_week: 180,
                    days_per_month: 4,
                },
            });
            matching_store
                .append(AppendRequest {
                    municipality: m,
                    stream_id: format!("match-{id}"),
                    expected: ExpectedVersion::NoStream,
                    events: vec![
                        new_event(&confirmed, chrono::Utc::now())
                            .map_err(|e| anyhow::anyhow!("{e}"))?,
                    ],
                    meta: mosaic_api::RequestContext::system("confirmations", m).meta(),
                    response: None,
                    also: Vec::new(),
                })
                .await?;
            matches.push(id);
        }
        // Killed while the wave arrives and is opened, then started again.
        tokio::time::sleep(Duration::from_millis(30 * wave as u64)).await;
        followup.kill9();
        followup.spawn()?;
        followup.ready().await?;
    }

    let followup_store =
        SqlEventStore::open(mosaic_db::connect(&followup_url, 2).await?, "followup").await?;
    let mut per_match = BTreeMap::new();
    for _ in 0..600 {
        per_match = opened(&followup_store).await?;
        if per_match.len() == matches.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        per_match.len(),
        matches.len(),
        "every confirmation opened an engagement"
    );
    let twice: Vec<_> = per_match.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "engagements opened more than once: {twice:?}"
    );
    // And nothing more arrives after a while.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        opened(&followup_store).await?.values().sum::<usize>(),
        matches.len()
    );
    matching.kill9();
    followup.kill9();
    Ok(())
}
