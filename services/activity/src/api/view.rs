//! Domain → proto. Answers are built without the mentor's name (they are saved with the
//! idempotency key); the handler opens it afterwards for callers allowed to see it.

use mosaic_api::occurred_at::timestamp;
use mosaic_api::pipeline::Lifetime;
use mosaic_proto::v1 as pb;

use crate::domain::activity::Activity;
use crate::domain::decompose::ProposedPiece;
use crate::domain::{ActivityDetails, PieceDetails, Schedule};

pub use mosaic_api::wire::to_date as date;

fn skill(s: &mosaic_types::Skill) -> pb::Skill {
    pb::Skill {
        tag: s.tag.as_str().to_owned(),
        level: u32::from(s.level.get()),
    }
}

/// A schedule on the wire.
pub fn schedule(s: &Schedule) -> pb::Schedule {
    use pb::schedule::Kind;
    let kind = match s {
        Schedule::OneOff { start, end } => Kind::OneOff(pb::OneOffWindow {
            start: Some(timestamp(*start)),
            end: Some(timestamp(*end)),
        }),
        Schedule::Weekly {
            window,
            from,
            to,
            exceptions,
            skip_national_holidays,
        } => Kind::Weekly(pb::WeeklyRecurrence {
            weekday: window.weekday().wire(),
            start_minute: u32::from(window.start()),
            end_minute: u32::from(window.end()),
            first_day: Some(date(*from)),
            last_day: Some(date(*to)),
            exceptions: exceptions.iter().map(|d| date(*d)).collect(),
            skip_national_holidays: *skip_national_holidays,
        }),
    };
    pb::Schedule { kind: Some(kind) }
}

fn piece_details(p: &PieceDetails) -> pb::PieceDetails {
    pb::PieceDetails {
        title: p.title.clone(),
        required_skills: p.skills.iter().map(skill).collect(),
        schedule: Some(schedule(&p.schedule)),
        headcount: p.headcount,
        expected_minutes: p.expected_minutes,
    }
}

fn details(d: &ActivityDetails) -> pb::ActivityDetails {
    pb::ActivityDetails {
        host_organisation_id: d.host_organisation_id.to_string(),
        title: d.title.clone(),
        description: d.description.clone(),
        field: d.field.wire(),
        origin: d.origin.wire(),
        engagement_form: d.engagement_form.wire(),
        place: Some(pb::Place {
            district: d.place.district.clone().unwrap_or_default(),
            location: d
                .place
                .location
                .map(|(latitude, longitude)| pb::CoarseLocation {
                    latitude,
                    longitude,
                }),
            online: d.place.online,
        }),
        physical_load: d.physical_load.map(|l| l.wire()).unwrap_or(0),
        application_mode: d.application_mode.wire(),
        incentives: Some(pb::Incentives {
            transport_fee_yen: d.incentives.transport_fee_yen,
            honorarium_yen: d.incentives.honorarium_yen,
            local_points: d.incentives.local_points,
            certificate: d.incentives.certificate,
            meal: d.incentives.meal,
        }),
        period_start: Some(date(d.period_start)),
        period_end: Some(date(d.period_end)),
        coordinator_id: d
            .coordinator_id
            .clone()
            .map(String::from)
            .unwrap_or_default(),
        regional_goal: d.regional_goal.clone().unwrap_or_default(),
    }
}

/// An activity on the wire (mentor's name left empty), `None` if it does not exist.
pub fn activity(a: &Activity, version: u64, life: &Lifetime) -> Option<pb::Activity> {
    let (id, d, status) = (a.activity_id.as_ref()?, a.details.as_ref()?, a.status?);
    Some(pb::Activity {
        activity_id: id.to_string(),
        details: Some(details(d)),
        status: status.wire(),
        close_reason: a.close_reason.map(|r| r.wire()).unwrap_or(0),
        cancel_reason: a.cancel_reason.clone().unwrap_or_default(),
        pieces: a
            .pieces
            .iter()
            .map(|p| pb::Piece {
                piece_id: p.piece_id.to_string(),
                details: Some(piece_details(&p.details)),
                // Learned from matching, not from this stream: the handler fills it in.
                confirmed_seats: 0,
            })
            .collect(),
        internship: a.internship.as_ref().map(|i| pb::Internship {
            goal: i.goal.clone(),
            start: Some(date(i.start)),
            end: Some(date(i.end)),
            weekly_hours: i.weekly_hours,
            mentor_name: String::new(),
            milestones: Some(pb::Milestones {
                orientation: Some(date(i.milestones.orientation)),
                mid_term_review: Some(date(i.milestones.mid_term_review)),
                final_reflection: Some(date(i.milestones.final_reflection)),
            }),
        }),
        version,
        created: life.created.clone(),
        updated: life.updated.clone(),
    })
}

/// A proposed piece on the wire.
pub fn proposed(p: &ProposedPiece) -> pb::ProposedPiece {
    pb::ProposedPiece {
        window: Some(mosaic_api::wire::to_window(&p.window)),
        seats: p.seats,
        tasks: p.tasks.clone(),
        skills: p.skills.iter().map(skill).collect(),
        minutes: p.minutes,
    }
}
