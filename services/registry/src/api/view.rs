//! Domain state → proto answers. Answers built here are saved with idempotency keys, so they
//! carry no personal data; handlers add it afterwards for callers allowed to see it.

use std::collections::BTreeMap;

use mosaic_api::Done;
use mosaic_api::pipeline::Lifetime;
use mosaic_eventstore::StoredEvent;
use mosaic_proto::v1 as pb;
use tonic::Status;

use crate::domain::coordinator::Coordinator;
use crate::domain::organisation::Organisation;
use crate::domain::resident::Resident;
use crate::domain::{ConsentPurpose, RegistryEvent, ResidentProfile};

pub use mosaic_api::pipeline::{request_stamp, stamp};

/// When an entity was registered and last changed, and when each consent last changed.
#[derive(Debug, Default, Clone)]
pub struct Stamps {
    /// The first and last events' stamps.
    pub life: Lifetime,
    /// The last change of each consent purpose.
    pub consents: BTreeMap<ConsentPurpose, prost_types::Timestamp>,
}

impl Stamps {
    /// Notes one event.
    pub fn note(&mut self, event: &RegistryEvent, stamp: pb::AuditStamp) {
        let at = stamp.occurred_at;
        match event {
            RegistryEvent::ResidentRegistered(e) => {
                for p in &e.consents {
                    self.consents.insert(*p, at.unwrap_or_default());
                }
            }
            RegistryEvent::ConsentGranted(e) | RegistryEvent::ConsentRevoked(e) => {
                self.consents.insert(e.purpose, at.unwrap_or_default());
            }
            _ => {}
        }
        self.life.note(stamp);
    }

    /// The stamps of stored events.
    pub fn of_history(history: &[StoredEvent]) -> Result<Self, Status> {
        let mut stamps = Self::default();
        for stored in history {
            let event = mosaic_api::command::decode::<RegistryEvent>(stored)?;
            stamps.note(&event, stamp(stored));
        }
        Ok(stamps)
    }

    /// The stamps after a command: its history, then its new events stamped by the request.
    pub fn of_done<A>(done: &Done<'_, A>, now: pb::AuditStamp) -> Result<Self, Status>
    where
        A: mosaic_domain::Aggregate,
        A::Event: Into<RegistryEvent>,
    {
        let mut stamps = Self::of_history(done.history)?;
        for e in done.new_events {
            stamps.note(&e.clone().into(), now.clone());
        }
        Ok(stamps)
    }
}

/// A resident's profile on the wire.
pub fn profile(p: &ResidentProfile) -> pb::ResidentProfile {
    pb::ResidentProfile {
        birth_year: p.birth_year.map(u32::from).unwrap_or(0),
        gender: p.gender.map(|g| g.wire()).unwrap_or(0),
        life_stage: p.life_stage.map(|l| l.wire()).unwrap_or(0),
        district: p.district.clone().unwrap_or_default(),
        location: p.location.map(|l| pb::CoarseLocation {
            latitude: f64::from(l.lat_centi) / 100.0,
            longitude: f64::from(l.lon_centi) / 100.0,
        }),
        travel_radius_km: p.travel_radius_km.map(u32::from).unwrap_or(0),
        no_car: p.no_car,
        skills: p
            .skills
            .iter()
            .map(|s| pb::Skill {
                tag: s.tag.to_string(),
                level: u32::from(s.level.get()),
            })
            .collect(),
        free_tags: p.free_tags.clone(),
        interests: p.interests.iter().map(|f| f.wire()).collect(),
        availability: p
            .availability
            .iter()
            .map(mosaic_api::wire::to_window)
            .collect(),
        max_hours_per_week: p.max_hours_per_week.map(u32::from).unwrap_or(0),
        max_days_per_month: p.max_days_per_month.map(u32::from).unwrap_or(0),
        preferred_forms: p.preferred_forms.iter().map(|f| f.wire()).collect(),
        physical_load: p.physical_load.map(|l| l.wire()).unwrap_or(0),
        channel: p.channel.map(|c| c.wire()).unwrap_or(0),
    }
}

/// A resident without personal data.
pub fn resident(state: &Resident, version: u64, stamps: &Stamps, this_year: i32) -> pb::Resident {
    let status = if state.erased {
        pb::ResidentStatus::Erased
    } else if state.withdrawn.is_some() {
        pb::ResidentStatus::Withdrawn
    } else {
        pb::ResidentStatus::Active
    };
    pb::Resident {
        resident_id: state
            .resident_id
            .clone()
            .map(String::from)
            .unwrap_or_default(),
        mode: state.mode.map(|m| m.wire()).unwrap_or(0),
        status: status as i32,
        personal: None,
        profile: Some(profile(&state.profile)),
        consents: state
            .consents
            .iter()
            .map(|(purpose, granted)| pb::Consent {
                purpose: purpose.wire(),
                granted: *granted,
                changed_at: stamps.consents.get(purpose).copied(),
            })
            .collect(),
        guardian_consent: state.guardian_consent,
        may_be_minor: state.profile.may_be_minor(this_year),
        proxy_agreed: state.proxy.is_some(),
        proxy_awaiting_confirmation: state.proxy_awaiting_confirmation.is_some(),
        // A sealed login is opened for the caller afterwards, like the personal data.
        account_subject: match &state.login {
            Some(crate::domain::resident::LoginRef::Clear(subject)) => subject.clone(),
            _ => String::new(),
        },
        matchable: state.matchable(this_year),
        version,
        registered: stamps.life.created.clone(),
        updated: stamps.life.updated.clone(),
    }
}

/// An organisation without its contact person.
pub fn organisation(
    state: &Organisation,
    version: u64,
    stamps: &Stamps,
) -> Option<pb::Organisation> {
    let r = state.registered.as_ref()?;
    let d = &r.details;
    Some(pb::Organisation {
        organisation_id: r.organisation_id.to_string(),
        details: Some(pb::OrganisationDetails {
            kind: d.kind.wire(),
            name: d.name.clone(),
            fields: d.fields.iter().map(|f| f.wire()).collect(),
            district: d.district.clone(),
            contact: None,
            licences: d.licences.iter().map(|l| l.wire()).collect(),
        }),
        status: if state.suspended.is_some() {
            pb::OrganisationStatus::Suspended as i32
        } else {
            pb::OrganisationStatus::Active as i32
        },
        suspension_reason: state.suspended.clone().unwrap_or_default(),
        version,
        registered: stamps.life.created.clone(),
    })
}

/// A coordinator without their name.
pub fn coordinator(state: &Coordinator, version: u64, stamps: &Stamps) -> Option<pb::Coordinator> {
    let r = state.registered.as_ref()?;
    Some(pb::Coordinator {
        coordinator_id: r.coordinator_id.to_string(),
        organisation_id: r.organisation_id.to_string(),
        display_name: String::new(),
        account_subject: r.account_subject.clone().unwrap_or_default(),
        roles: r.roles.iter().map(|x| x.wire()).collect(),
        erased: state.erased,
        version,
        registered: stamps.life.created.clone(),
    })
}
