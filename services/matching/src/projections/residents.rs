//! `matching.residents`: what matching needs of residents, learned from the registry's events:
//! the flags and caps bookings check, and the matchable part of the profile that recommendations
//! weigh (skills, interests, availability, preferred forms, coarse location, travel radius). No
//! name or contact: a resident's login appears only as the registry's keyed hash, which lets a
//! resident's own token find their record; erasure wipes the profile. Every write stamps the row
//! with the next change number ([`super::next_change`]), so the candidate index can follow it.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_events::registry::{
    self, ConsentPurpose, RegistrationMode, RegistryEvent, ResidentProfile, SubjectKind,
};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};

use crate::domain::recommend::Profile;

/// The residents projection.
pub struct Residents;

#[async_trait]
impl EventProjection for Residents {
    type Event = RegistryEvent;
    const CONTEXT: &'static str = registry::CONTEXT;

    fn name(&self) -> &'static str {
        "matching.residents"
    }

    fn wants(&self) -> &'static [&'static str] {
        &[
            "ResidentRegistered",
            "ResidentUpgraded",
            "ResidentProfileUpdated",
            "ConsentGranted",
            "ConsentRevoked",
            "ProxyAgreementRecorded",
            "ProxyAgreementConfirmed",
            "ProxyAgreementEnded",
            "ResidentWithdrew",
            "ResidentRejoined",
            "PersonalDataErased",
        ]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["matching_residents"]
    }

    async fn apply(
        &self,
        tx: &mut DbTx,
        event: &StoredEvent,
        typed: Option<RegistryEvent>,
    ) -> Result<(), ProjectionError> {
        let m = event.municipality.as_str();
        use RegistryEvent as E;
        let Some(typed) = typed else {
            return Ok(());
        };
        let changed = super::next_change(tx).await?;
        match typed {
            E::ResidentRegistered(r) => {
                // A proxy agreement that staff recorded counts once confirmed.
                let proxy = r.proxy.is_some() && r.proxy_recorded_by_staff.is_none();
                let login = r.login.as_ref().map(|l| l.index.as_str());
                let consent = r.consents.contains(&ConsentPurpose::Matching);
                let (hours, days) = caps(&r.profile);
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO matching_residents (municipality, resident_id, login_index, \
                         active, guest, matching_consent, proxy_agreement, max_hours_per_week, \
                         max_days_per_month, profile, changed) \
                         VALUES ($1, $2, $3, TRUE, $4, $5, $6, $7, $8, $9, $10) \
                         ON CONFLICT (municipality, resident_id) DO NOTHING",
                    )
                    .bind(m)
                    .bind(r.resident_id.as_str())
                    .bind(login)
                    .bind(r.mode == RegistrationMode::Guest)
                    .bind(consent)
                    .bind(proxy)
                    .bind(hours)
                    .bind(days)
                    .bind(profile(&r.profile))
                    .bind(changed)
                    .execute(&mut **t)
                    .await?;
                });
            }
            E::ResidentUpgraded(r) => {
                let (hours, days) = caps(&r.profile);
                on_tx!(tx, t => {
                    sqlx::query(
                        "UPDATE matching_residents SET guest = FALSE, max_hours_per_week = $3, \
                         max_days_per_month = $4, profile = $5, changed = $6 \
                         WHERE municipality = $1 AND resident_id = $2 AND NOT erased",
                    )
                    .bind(m)
                    .bind(r.resident_id.as_str())
                    .bind(hours)
                    .bind(days)
                    .bind(profile(&r.profile))
                    .bind(changed)
                    .execute(&mut **t)
                    .await?;
                });
            }
            E::ResidentProfileUpdated(r) => {
                let (hours, days) = caps(&r.profile);
                on_tx!(tx, t => {
                    sqlx::query(
                        "UPDATE matching_residents SET max_hours_per_week = $3, \
                         max_days_per_month = $4, profile = $5, changed = $6 \
                         WHERE municipality = $1 AND resident_id = $2 AND NOT erased",
                    )
                    .bind(m)
                    .bind(r.resident_id.as_str())
                    .bind(hours)
                    .bind(days)
                    .bind(profile(&r.profile))
                    .bind(changed)
                    .execute(&mut **t)
                    .await?;
                });
            }
            E::ConsentGranted(c) if c.purpose == ConsentPurpose::Matching => {
                set_flag(tx, m, &c.resident_id, Flag::Consent, true, changed).await?;
            }
            E::ConsentRevoked(c) if c.purpose == ConsentPurpose::Matching => {
                set_flag(tx, m, &c.resident_id, Flag::Consent, false, changed).await?;
            }
            E::ProxyAgreementRecorded(p) => {
                let effective = p.recorded_by_staff.is_none();
                set_flag(tx, m, &p.resident_id, Flag::Proxy, effective, changed).await?;
            }
            E::ProxyAgreementConfirmed(p) => {
                set_flag(tx, m, &p.resident_id, Flag::Proxy, true, changed).await?;
            }
            E::ProxyAgreementEnded(p) => {
                set_flag(tx, m, &p.resident_id, Flag::Proxy, false, changed).await?;
            }
            E::ResidentWithdrew(r) => {
                set_flag(tx, m, &r.resident_id, Flag::Active, false, changed).await?;
            }
            E::ResidentRejoined(r) => {
                set_flag(tx, m, &r.resident_id, Flag::Active, true, changed).await?;
            }
            E::PersonalDataErased(e) if e.subject_kind == SubjectKind::Resident => {
                // Erased for good: no longer matchable, no login leads to the record, and the
                // profile is gone.
                on_tx!(tx, t => {
                    sqlx::query(
                        "UPDATE matching_residents SET active = FALSE, erased = TRUE, \
                         login_index = NULL, profile = NULL, changed = $3 \
                         WHERE municipality = $1 AND resident_id = $2",
                    )
                    .bind(m)
                    .bind(e.subject_id.as_str())
                    .bind(changed)
                    .execute(&mut **t)
                    .await?;
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// The matchable part of a profile, as stored.
fn profile(p: &ResidentProfile) -> String {
    let kept = Profile {
        skills: p.skills.clone(),
        interests: p.interests.clone(),
        availability: p.availability.clone(),
        preferred_forms: p.preferred_forms.clone(),
        location: p.location,
        travel_radius_km: p.travel_radius_km,
    };
    serde_json::to_string(&kept).unwrap_or_default()
}

fn caps(profile: &ResidentProfile) -> (Option<i32>, Option<i32>) {
    (
        profile.max_hours_per_week.map(i32::from),
        profile.max_days_per_month.map(i32::from),
    )
}

/// A yes/no fact about a resident.
enum Flag {
    Active,
    Consent,
    Proxy,
}

async fn set_flag(
    tx: &mut DbTx,
    municipality: &str,
    resident: &str,
    flag: Flag,
    value: bool,
    changed: i64,
) -> Result<(), ProjectionError> {
    let sql = match flag {
        // An erased resident stays inactive whatever a late event says (erasure is for good).
        Flag::Active => {
            "UPDATE matching_residents SET active = $1, changed = $4 WHERE municipality = $2 \
             AND resident_id = $3 AND NOT erased"
        }
        Flag::Consent => {
            "UPDATE matching_residents SET matching_consent = $1, changed = $4 \
             WHERE municipality = $2 AND resident_id = $3"
        }
        Flag::Proxy => {
            "UPDATE matching_residents SET proxy_agreement = $1, changed = $4 \
             WHERE municipality = $2 AND resident_id = $3"
        }
    };
    on_tx!(tx, t => {
        sqlx::query(sql)
            .bind(value)
            .bind(municipality)
            .bind(resident)
            .bind(changed)
            .execute(&mut **t)
            .await?;
    });
    Ok(())
}
