//! Domain → proto.

use mosaic_api::occurred_at::timestamp;
use mosaic_api::pipeline::Lifetime;
use mosaic_api::wire::{to_date, to_window};
use mosaic_proto::v1 as pb;

use crate::domain::booking::Interview;
use crate::domain::{Commitment, Match, Policy, Stage};

/// A commitment on the wire.
pub fn commitment(c: &Commitment) -> pb::Commitment {
    pb::Commitment {
        windows: c.slots.iter().map(to_window).collect(),
        first_day: Some(to_date(c.first_day)),
        last_day: Some(to_date(c.last_day)),
        minutes_per_week: c.minutes_per_week,
        days_per_month: c.days_per_month,
    }
}

/// A match on the wire; `None` for a match never opened.
pub fn the_match(id: &str, m: &Match, version: u64, life: &Lifetime) -> Option<pb::Match> {
    let o = m.opened.as_ref()?;
    let stage = match m.stage {
        Stage::None => pb::MatchStage::Unspecified,
        Stage::Open => pb::MatchStage::Open,
        Stage::Confirmed => pb::MatchStage::Confirmed,
        Stage::Ended => pb::MatchStage::Ended,
    };
    Some(pb::Match {
        match_id: id.to_owned(),
        resident_id: o.resident_id.to_string(),
        piece_id: o.piece_id.to_string(),
        activity_id: o.activity_id.to_string(),
        host_organisation_id: o.host_organisation_id.to_string(),
        origin: o.origin.wire(),
        stage: stage as i32,
        awaiting: m.awaiting().to_owned(),
        resident_accepted: m.resident_accepted,
        host_accepted: m.host_accepted,
        interview_required: o.interview_required,
        interview_at: match m.interview {
            Interview::Scheduled(at) => Some(timestamp(at)),
            _ => None,
        },
        interview_passed: m.interview == Interview::Passed,
        guest: o.guest,
        coordinator: o.coordinator.clone().unwrap_or_default(),
        commitment: m.commitment.as_ref().map(commitment),
        ended_by: m.ended_by.unwrap_or_default().to_owned(),
        version,
        created: life.created.clone(),
        updated: life.updated.clone(),
    })
}

/// A policy on the wire.
pub fn policy(p: &Policy) -> pb::MatchingPolicy {
    pb::MatchingPolicy {
        max_hours_per_week: p.max_hours_per_week.map(u32::from),
        max_days_per_month: p.max_days_per_month.map(u32::from),
        version: p.version,
    }
}
