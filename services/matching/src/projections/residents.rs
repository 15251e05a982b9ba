//! `matching.residents`: what matching needs of residents, learned from the registry's events. No
//! personal data: a resident's login appears only as the registry's keyed hash, which lets a
//! resident's own token find their record.

use async_trait::async_trait;
use mosaic_db::{DbTx, on_tx};
use mosaic_events::registry::{
    self, ConsentPurpose, RegistrationMode, RegistryEvent, ResidentProfile, SubjectKind,
};
use mosaic_eventstore::StoredEvent;
use mosaic_projection::{EventProjection, ProjectionError};

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
        match typed {
            Some(E::ResidentRegistered(r)) => {
                // A proxy agreement that staff recorded counts once confirmed.
                let proxy = r.proxy.is_some() && r.proxy_recorded_by_staff.is_none();
                let login = r.login.as_ref().map(|l| l.index.as_str());
                let consent = r.consents.contains(&ConsentPurpose::Matching);
                let (hours, days) = caps(&r.profile);
                on_tx!(tx, t => {
                    sqlx::query(
                        "INSERT INTO matching_residents (municipality, resident_id, login_index, \
                         active, guest, matching_consent, proxy_agreement, max_hours_per_week, \
                         max_days_per_month) VALUES ($1, $2, $3, TRUE, $4, $5, $6, $7, $8) \
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
                    .execute(&mut **t)
                    .await?;
                });
            }
            Some(E::ResidentUpgraded(r)) => {
                let (hours, days) = caps(&r.profile);
                on_tx!(tx, t => {
                    sqlx::query(
                        "UPDATE matching_residents SET guest = FALSE, max_hours_per_week = $3, \
                         max_days_per_month = $4 WHERE municipality = $1 AND resident_id = $2",
                    )
                    .bind(m)
                    .bind(r.resident_id.as_str())
                    .bind(hours)
                    .bind(days)
                    .execute(&mut **t)
                    .await?;
                });
            }
            Some(E::ResidentProfileUpdated(r)) => {
                let (hours, days) = caps(&r.profile);
                on_tx!(tx, t => {
                    sqlx::query(
                        "UPDATE matching_residents SET max_hours_per_week = $3, \
                         max_days_per_month = $4 WHERE municipality = $1 AND resident_id = $2",
                    )
                    .bind(m)
                    .bind(r.resident_id.as_str())
                    .bind(hours)
                    .bind(days)
                    .execute(&mut **t)
                    .await?;
                });
            }
            Some(E::ConsentGranted(c)) if c.purpose == ConsentPurpose::Matching => {
                set_flag(tx, m, &c.resident_id, Flag::Consent, true).await?;
            }
            Some(E::ConsentRevoked(c)) if c.purpose == ConsentPurpose::Matching => {
                set_flag(tx, m, &c.resident_id, Flag::Consent, false).await?;
            }
            Some(E::ProxyAgreementRecorded(p)) => {
                let effective = p.recorded_by_staff.is_none();
                set_flag(tx, m, &p.resident_id, Flag::Proxy, effective).await?;
            }
            Some(E::ProxyAgreementConfirmed(p)) => {
                set_flag(tx, m, &p.resident_id, Flag::Proxy, true).await?;
            }
            Some(E::ProxyAgreementEnded(p)) => {
                set_flag(tx, m, &p.resident_id, Flag::Proxy, false).await?;
            }
            Some(E::ResidentWithdrew(r)) => {
                set_flag(tx, m, &r.resident_id, Flag::Active, false).await?;
            }
            Some(E::ResidentRejoined(r)) => {
                set_flag(tx, m, &r.resident_id, Flag::Active, true).await?;
            }
            Some(E::PersonalDataErased(e)) if e.subject_kind == SubjectKind::Resident => {
                // Erased for good: no longer matchable, and no login leads to the record.
                on_tx!(tx, t => {
                    sqlx::query(
                        "UPDATE matching_residents SET active = FALSE, erased = TRUE, login_index = NULL \
                         WHERE municipality = $1 AND resident_id = $2",
                    )
                    .bind(m)
                    .bind(e.subject_id.as_str())
                    .execute(&mut **t)
                    .await?;
                });
            }
            _ => {}
        }
        Ok(())
    }
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
) -> Result<(), ProjectionError> {
    let sql = match flag {
        // An erased resident stays inactive whatever a late event says (erasure is for good).
        Flag::Active => {
            "UPDATE matching_residents SET active = $1 WHERE municipality = $2 AND resident_id = $3 \
             AND NOT erased"
        }
        Flag::Consent => {
            "UPDATE matching_residents SET matching_consent = $1 WHERE municipality = $2 AND resident_id = $3"
        }
        Flag::Proxy => {
            "UPDATE matching_residents SET proxy_agreement = $1 WHERE municipality = $2 AND resident_id = $3"
        }
    };
    on_tx!(tx, t => {
        sqlx::query(sql)
            .bind(value)
            .bind(municipality)
            .bind(resident)
            .execute(&mut **t)
            .await?;
    });
    Ok(())
}
