//! `matching.recent`: what each resident has done in matching lately, for the candidate index —
//! the commitments they hold (overlaps and caps), the periods of their confirmed engagements and
//! how often recorded recommendations put them forward, per day (fairness). Learned from this
//! context's own events; one JSON document per resident, stamped with the next change number
//! like `matching.residents`. Engagements and offers older than the longest fairness window are
//! dropped as new ones arrive.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{Days, NaiveDate};
use mosaic_db::{DbTx, on_tx};
use mosaic_events::matching::{self, Commitment, MatchingEvent, RecommendationKind};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};
use serde::{Deserialize, Serialize};

/// The recent-activity projection.
pub struct Recent;

/// One resident's recent activity, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecentActivity {
    /// Commitments held, by match.
    #[serde(default)]
    pub commitments: BTreeMap<String, Commitment>,
    /// Confirmed engagements: first and last day.
    #[serde(default)]
    pub engagements: Vec<(NaiveDate, NaiveDate)>,
    /// Times put forward by a recorded recommendation, by JST day.
    #[serde(default)]
    pub offers: BTreeMap<NaiveDate, u32>,
}

/// How far back engagements and offers are kept: the longest fairness window and a day.
const KEPT_DAYS: u64 = 366;

impl RecentActivity {
    /// Drops what no fairness window can reach any more, as of `day`.
    fn trim(&mut self, day: NaiveDate) {
        let since = day
            .checked_sub_days(Days::new(KEPT_DAYS))
            .unwrap_or(NaiveDate::MIN);
        self.engagements.retain(|(_, last)| *last >= since);
        self.offers.retain(|d, _| *d >= since);
    }
}

#[async_trait]
impl EventProjection for Recent {
    type Event = MatchingEvent;
    const CONTEXT: &'static str = matching::CONTEXT;

    fn name(&self) -> &'static str {
        "matching.recent"
    }

    fn wants(&self) -> &'static [&'static str] {
        &[
            "CommitmentTaken",
            "CommitmentFreed",
            "MatchConfirmed",
            "RecommendationsRecorded",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["matching_recent"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<MatchingEvent>,
    ) -> Result<(), ProjectionError> {
        let day = mosaic_types::jst_date(event.occurred_at);
        use MatchingEvent as E;
        match typed {
            Some(E::CommitmentTaken(c)) => {
                change(tx, event, c.resident_id.as_str(), |r| {
                    r.commitments
                        .insert(c.match_id.to_string(), c.commitment.clone());
                })
                .await?;
            }
            Some(E::CommitmentFreed(c)) => {
                change(tx, event, c.resident_id.as_str(), |r| {
                    r.commitments.remove(c.match_id.as_str());
                })
                .await?;
            }
            Some(E::MatchConfirmed(c)) => {
                let period = (c.commitment.first_day, c.commitment.last_day);
                change(tx, event, c.resident_id.as_str(), |r| {
                    r.engagements.push(period);
                    r.trim(day);
                })
                .await?;
            }
            Some(E::RecommendationsRecorded(batch)) => {
                let mut shown: BTreeMap<&str, Vec<NaiveDate>> = BTreeMap::new();
                for rec in &batch.recommendations {
                    if rec.kind == RecommendationKind::ResidentsForPiece {
                        for s in &rec.shown {
                            shown.entry(s.id.as_str()).or_default().push(rec.day);
                        }
                    }
                }
                for (resident, days) in shown {
                    change(tx, event, resident, |r| {
                        for d in &days {
                            *r.offers.entry(*d).or_default() += 1;
                        }
                        r.trim(days.iter().copied().max().unwrap_or(day));
                    })
                    .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Reads a resident's document, changes it and writes it back with the next change number.
async fn change(
    tx: &mut DbTx,
    event: &StoredEvent,
    resident: &str,
    edit: impl FnOnce(&mut RecentActivity),
) -> Result<(), ProjectionError> {
    let municipality = event.municipality.as_str();
    let invalid = |e: serde_json::Error| mosaic_projection::unreadable(event, e);
    let stored: Option<String> = on_tx!(tx, t => {
        sqlx::query_scalar(
            "SELECT recent FROM matching_recent WHERE municipality = $1 AND resident_id = $2",
        )
        .bind(municipality)
        .bind(resident)
        .fetch_optional(&mut **t)
        .await?
    });
    let mut recent: RecentActivity = match stored {
        Some(json) => serde_json::from_str(&json).map_err(invalid)?,
        None => RecentActivity::default(),
    };
    edit(&mut recent);
    let json = serde_json::to_string(&recent).map_err(invalid)?;
    let changed = super::next_change(tx).await?;
    on_tx!(tx, t => {
        sqlx::query(
            "INSERT INTO matching_recent (municipality, resident_id, recent, changed) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (municipality, resident_id) \
             DO UPDATE SET recent = excluded.recent, changed = excluded.changed",
        )
        .bind(municipality)
        .bind(resident)
        .bind(json)
        .bind(changed)
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}
