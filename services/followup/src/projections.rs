//! The followup context's read models, each its own projection: `followup.confirmations`
//! (engagements owed, from matching's log), `followup.engagements` (the list of engagements,
//! from this context's own), `followup.residents` (which resident a resident's own token names
//! and who consented to research use, from the registry's), `followup.activities` (what
//! follow-up needs of each activity, from activity design's) and `followup.reminders` (the
//! schedule of open engagements and the reminders found, from this context's own). The erasure
//! projection `followup.erasure` is `mosaic_known::erasure`.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_events::activity::{self, ActivityEvent};
use mosaic_events::followup::{self, EngagementOpened, FollowUpEvent};
use mosaic_events::matching::{self, MatchingEvent};
use mosaic_events::registry::{self, ConsentPurpose, RegistryEvent, SubjectKind};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};
use sha2::{Digest, Sha256};

/// The id of the engagement a confirmation opens: derived from the match and the version of
/// its stream the confirmation was written at, so the same confirmation always names the same
/// engagement, and a match confirmed again (after it ended) opens a new one.
pub fn engagement_id(match_id: &str, version: u64) -> String {
    let digest = Sha256::new()
        .chain_update(match_id)
        .chain_update([0])
        .chain_update(version.to_be_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::new_v8(bytes).to_string()
}

/// `followup.confirmations`: each `MatchConfirmed` as an engagement owed, and each end of a
/// match (withdrawn, cancelled, ended by matching) as a closing owed.
pub struct Confirmations;

#[async_trait]
impl EventProjection for Confirmations {
    type Event = MatchingEvent;
    const CONTEXT: &'static str = matching::CONTEXT;

    fn name(&self) -> &'static str {
        "followup.confirmations"
    }

    fn wants(&self) -> &'static [&'static str] {
        &[
            "MatchConfirmed",
            "MatchWithdrawn",
            "MatchCancelled",
            "MatchEnded",
        ]
    }

    // The owed engagements outlive a rebuild (see the migration).
    fn tables(&self) -> &'static [&'static str] {
        &[]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<MatchingEvent>,
    ) -> Result<(), ProjectionError> {
        let ended = match typed {
            Some(MatchingEvent::MatchConfirmed(c)) => {
                return owe_opening(tx, event, c).await;
            }
            Some(MatchingEvent::MatchWithdrawn(w)) => w.match_id,
            Some(MatchingEvent::MatchCancelled(c)) => c.match_id,
            Some(MatchingEvent::MatchEnded(e)) => e.match_id,
            _ => return Ok(()),
        };
        let day = mosaic_types::jst_date(event.occurred_at);
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO followup_closings (municipality, match_id, position, day) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (municipality, match_id, position) DO NOTHING",
            )
            .bind(event.municipality.as_str())
            .bind(ended.as_str())
            .bind(event.position as i64)
            .bind(day.to_string())
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }
}

/// Notes the engagement a confirmation opens as owed.
async fn owe_opening(
    tx: &mut DbTx,
    event: &StoredEvent,
    c: mosaic_events::matching::MatchConfirmed,
) -> Result<(), ProjectionError> {
    let opened = EngagementOpened {
        engagement_id: engagement_id(c.match_id.as_str(), event.version),
        match_id: c.match_id,
        match_version: event.version,
        resident_id: c.resident_id,
        piece_id: c.piece_id,
        activity_id: c.activity_id,
        host_organisation_id: c.host_organisation_id,
        commitment: c.commitment,
    };
    let json = serde_json::to_string(&opened).map_err(|e| ProjectionError::Event {
        event_type: event.event_type.clone(),
        position: event.position,
        reason: Box::new(e),
    })?;
    on_tx!(tx, t => {
        sqlx::query(
            "INSERT INTO followup_openings (municipality, engagement_id, match_id, position, \
             opened) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (municipality, engagement_id) DO NOTHING",
        )
        .bind(event.municipality.as_str())
        .bind(&opened.engagement_id)
        .bind(opened.match_id.as_str())
        .bind(event.position as i64)
        .bind(json)
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

/// `followup.engagements`: one row per engagement, for lists.
pub struct Engagements;

#[async_trait]
impl EventProjection for Engagements {
    type Event = FollowUpEvent;
    const CONTEXT: &'static str = followup::CONTEXT;

    fn name(&self) -> &'static str {
        "followup.engagements"
    }

    fn wants(&self) -> &'static [&'static str] {
        &["EngagementOpened", "EngagementEnded"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["followup_engagements"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<FollowUpEvent>,
    ) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str();
        match typed {
            Some(FollowUpEvent::EngagementOpened(o)) => {
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO followup_engagements (municipality, engagement_id, seq, \
                         resident_id, piece_id, host_organisation_id) VALUES ($1, $2, $3, $4, \
                         $5, $6) ON CONFLICT (municipality, engagement_id) DO NOTHING",
                    )
                    .bind(m)
                    .bind(&o.engagement_id)
                    .bind(event.position as i64)
                    .bind(o.resident_id.as_str())
                    .bind(o.piece_id.as_str())
                    .bind(o.host_organisation_id.as_str())
                    .execute(&mut **t)
                    .await?;
                });
            }
            Some(FollowUpEvent::EngagementEnded(e)) => {
                on_tx!(tx, t => {
                    sqlx::query(
                        "UPDATE followup_engagements SET ended = $1 WHERE municipality = $2 \
                         AND engagement_id = $3",
                    )
                    .bind(e.reason.as_str())
                    .bind(m)
                    .bind(&e.engagement_id)
                    .execute(&mut **t)
                    .await?;
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// `followup.residents`: the registry's keyed hash of each resident's login, so a resident's own
/// token finds their record (no login itself, no other personal data), and whether each consented
/// to research use. An erased resident's rows go: no token leads to them any more.
pub struct Residents;

#[async_trait]
impl EventProjection for Residents {
    type Event = RegistryEvent;
    const CONTEXT: &'static str = registry::CONTEXT;

    fn name(&self) -> &'static str {
        "followup.residents"
    }

    fn wants(&self) -> &'static [&'static str] {
        &[
            "ResidentRegistered",
            "ConsentGranted",
            "ConsentRevoked",
            "PersonalDataErased",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["followup_residents", "followup_consents"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<RegistryEvent>,
    ) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str();
        match typed {
            Some(RegistryEvent::ResidentRegistered(r)) => {
                let research = r.consents.contains(&ConsentPurpose::Research);
                research_consent(tx, m, r.resident_id.as_str(), research).await?;
                let Some(login) = &r.login else {
                    return Ok(());
                };
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO followup_residents (municipality, resident_id, login_index) \
                         VALUES ($1, $2, $3) ON CONFLICT (municipality, resident_id) DO NOTHING",
                    )
                    .bind(m)
                    .bind(r.resident_id.as_str())
                    .bind(login.index.as_str())
                    .execute(&mut **t)
                    .await?;
                });
            }
            Some(RegistryEvent::ConsentGranted(c) | RegistryEvent::ConsentRevoked(c))
                if c.purpose == ConsentPurpose::Research =>
            {
                let granted = event.event_type == "ConsentGranted";
                research_consent(tx, m, c.resident_id.as_str(), granted).await?;
            }
            Some(RegistryEvent::PersonalDataErased(e))
                if e.subject_kind == SubjectKind::Resident =>
            {
                for table in ["followup_residents", "followup_consents"] {
                    on_tx!(tx, t => {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DELETE FROM {table} WHERE municipality = $1 AND resident_id = $2"
                        )))
                        .bind(m)
                        .bind(e.subject_id.as_str())
                        .execute(&mut **t)
                        .await?;
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// `followup.activities`: each activity's host, title, offer per session, coordinator and, for
/// an internship, its period and milestones.
pub struct Activities;

#[async_trait]
impl EventProjection for Activities {
    type Event = ActivityEvent;
    const CONTEXT: &'static str = activity::CONTEXT;

    fn name(&self) -> &'static str {
        "followup.activities"
    }

    fn wants(&self) -> &'static [&'static str] {
        &["ActivityCreated", "ActivityUpdated", "InternshipDefined"]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["followup_activities"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<ActivityEvent>,
    ) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str();
        match typed {
            Some(ActivityEvent::ActivityCreated(a) | ActivityEvent::ActivityUpdated(a)) => {
                let d = &a.details;
                let i = &d.incentives;
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO followup_activities (municipality, activity_id, \
                         host_organisation_id, title, engagement_form, transport_fee_yen, \
                         honorarium_yen, local_points, certificate, coordinator_id) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                         ON CONFLICT (municipality, activity_id) DO UPDATE SET \
                         host_organisation_id = excluded.host_organisation_id, \
                         title = excluded.title, engagement_form = excluded.engagement_form, \
                         transport_fee_yen = excluded.transport_fee_yen, \
                         honorarium_yen = excluded.honorarium_yen, \
                         local_points = excluded.local_points, \
                         certificate = excluded.certificate, \
                         coordinator_id = excluded.coordinator_id",
                    )
                    .bind(m)
                    .bind(a.activity_id.as_str())
                    .bind(d.host_organisation_id.as_str())
                    .bind(&d.title)
                    .bind(d.engagement_form.as_str())
                    .bind(i64::from(i.transport_fee_yen))
                    .bind(i64::from(i.honorarium_yen))
                    .bind(i64::from(i.local_points))
                    .bind(i.certificate)
                    .bind(d.coordinator_id.as_ref().map(|c| c.to_string()))
                    .execute(&mut **t)
                    .await?;
                });
            }
            Some(ActivityEvent::InternshipDefined(d)) => {
                let i = &d.internship;
                let ms = &i.milestones;
                on_tx!(tx, t => {
                    sqlx::query(
                        "UPDATE followup_activities SET internship_start = $1, \
                         internship_end = $2, orientation = $3, mid_term_review = $4, \
                         final_reflection = $5 WHERE municipality = $6 AND activity_id = $7",
                    )
                    .bind(i.start.to_string())
                    .bind(i.end.to_string())
                    .bind(ms.orientation.to_string())
                    .bind(ms.mid_term_review.to_string())
                    .bind(ms.final_reflection.to_string())
                    .bind(m)
                    .bind(d.activity_id.as_str())
                    .execute(&mut **t)
                    .await?;
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// Notes whether a resident consents to research use.
async fn research_consent(
    tx: &mut DbTx,
    municipality: &str,
    resident: &str,
    granted: bool,
) -> Result<(), ProjectionError> {
    on_tx!(tx, t => {
        sqlx::query(
            "INSERT INTO followup_consents (municipality, resident_id, research) \
             VALUES ($1, $2, $3) ON CONFLICT (municipality, resident_id) \
             DO UPDATE SET research = excluded.research",
        )
        .bind(municipality)
        .bind(resident)
        .bind(granted)
        .execute(&mut **t)
        .await?;
    });
    Ok(())
}

/// `followup.reminders`: each engagement as the reminder scheduler and coordinators' caseloads
/// read it, and each reminder found, by its log position.
pub struct Reminders;

#[async_trait]
impl EventProjection for Reminders {
    type Event = FollowUpEvent;
    const CONTEXT: &'static str = followup::CONTEXT;

    fn name(&self) -> &'static str {
        "followup.reminders"
    }

    fn wants(&self) -> &'static [&'static str] {
        &[
            "EngagementOpened",
            "EngagementEnded",
            "CheckInRecorded",
            "ReflectionRecorded",
            "ReminderDue",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["followup_schedule", "followup_reminders"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<FollowUpEvent>,
    ) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str();
        // One statement per event kind; every value bound.
        let (sql, binds): (&str, Vec<String>) = match typed {
            Some(FollowUpEvent::EngagementOpened(o)) => {
                let c = &o.commitment;
                let weekdays = c
                    .slots
                    .iter()
                    .fold(0u8, |bits, w| bits | (1u8 << (w.weekday().wire() - 1)));
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO followup_schedule (municipality, engagement_id, resident_id, \
                         host_organisation_id, activity_id, weekdays, first_day, last_day) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (municipality, engagement_id) DO NOTHING",
                    )
                    .bind(m)
                    .bind(&o.engagement_id)
                    .bind(o.resident_id.as_str())
                    .bind(o.host_organisation_id.as_str())
                    .bind(o.activity_id.as_str())
                    .bind(i32::from(weekdays))
                    .bind(c.first_day.to_string())
                    .bind(c.last_day.to_string())
                    .execute(&mut **t)
                    .await?;
                });
                return Ok(());
            }
            Some(FollowUpEvent::EngagementEnded(e)) => (
                "UPDATE followup_schedule SET ended = TRUE WHERE municipality = $1 \
                 AND engagement_id = $2",
                vec![e.engagement_id],
            ),
            Some(FollowUpEvent::CheckInRecorded(c)) => {
                // The check-in of the latest day (of those, the last written) carries the
                // engagement's flags; an older one entered late changes neither.
                let risks: Vec<&str> = c.risks.iter().map(|r| r.as_str()).collect();
                (
                    "UPDATE followup_schedule SET risks = CASE \
                     WHEN last_check_in IS NULL OR last_check_in <= $3 THEN $4 ELSE risks END, \
                     last_check_in = CASE WHEN last_check_in IS NULL OR last_check_in < $3 \
                     THEN $3 ELSE last_check_in END \
                     WHERE municipality = $1 AND engagement_id = $2",
                    vec![c.engagement_id, c.on.to_string(), risks.join(",")],
                )
            }
            Some(FollowUpEvent::ReflectionRecorded(r)) => (
                "UPDATE followup_schedule SET reflected = reflected | CAST($3 AS INTEGER) \
                 WHERE municipality = $1 AND engagement_id = $2",
                vec![r.engagement_id, (1i32 << r.milestone.wire()).to_string()],
            ),
            Some(FollowUpEvent::ReminderDue(r)) => {
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO followup_reminders (municipality, position, day, kind, \
                         engagement_id, resident_id, host_organisation_id, due_on, milestone) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (municipality, position) DO NOTHING",
                    )
                    .bind(m)
                    .bind(event.position as i64)
                    .bind(r.day.to_string())
                    .bind(r.kind.as_str())
                    .bind(&r.engagement_id)
                    .bind(r.resident_id.as_str())
                    .bind(r.host_organisation_id.as_str())
                    .bind(r.due_on.to_string())
                    .bind(r.milestone.map(|x| x.as_str()))
                    .execute(&mut **t)
                    .await?;
                });
                return Ok(());
            }
            _ => return Ok(()),
        };
        on_tx!(tx, t => {
            let mut q = sqlx::query(sql).bind(m);
            for b in &binds {
                q = q.bind(b);
            }
            q.execute(&mut **t).await?;
        });
        Ok(())
    }
}
