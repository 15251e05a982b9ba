//! Domain → proto.

use mosaic_api::occurred_at::timestamp;
use mosaic_api::pipeline::Lifetime;
use mosaic_api::wire::{to_date, to_window};
use mosaic_proto::v1 as pb;

use crate::domain::booking::Interview;
use crate::domain::index::Explained;
use crate::domain::recommend::{Factor, Filter, Score};
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
        weights: Some(pb::MatchingWeights {
            skill: p.weights.skill.into(),
            interest: p.weights.interest.into(),
            form: p.weights.form.into(),
            distance: p.weights.distance.into(),
            fairness_boost: p.weights.fairness_boost.into(),
            offer_dampener: p.weights.offer_dampener.into(),
        }),
        fairness_window_days: p.fairness_window_days.into(),
    }
}

/// A score on the wire.
pub fn score(s: &Score) -> pb::Score {
    pb::Score {
        total: s.total,
        parts: s
            .parts
            .iter()
            .map(|p| pb::ScorePart {
                factor: factor(p.factor) as i32,
                weight: p.weight.into(),
                value: p.value,
                points: p.points,
            })
            .collect(),
    }
}

fn factor(f: Factor) -> pb::ScoreFactor {
    match f {
        Factor::Skill => pb::ScoreFactor::Skill,
        Factor::Interest => pb::ScoreFactor::Interest,
        Factor::Form => pb::ScoreFactor::Form,
        Factor::Distance => pb::ScoreFactor::Distance,
        Factor::FairnessBoost => pb::ScoreFactor::FairnessBoost,
        Factor::OfferDampener => pb::ScoreFactor::OfferDampener,
    }
}

fn hard_filter(f: Filter) -> pb::HardFilter {
    match f {
        Filter::Inactive => pb::HardFilter::Inactive,
        Filter::NoConsent => pb::HardFilter::NoMatchingConsent,
        Filter::Guest => pb::HardFilter::Guest,
        Filter::AlreadyMatched => pb::HardFilter::AlreadyMatched,
        Filter::Skills => pb::HardFilter::Skills,
        Filter::Availability => pb::HardFilter::Availability,
        Filter::Distance => pb::HardFilter::Distance,
        Filter::Overlap => pb::HardFilter::Overlap,
        Filter::Caps => pb::HardFilter::Caps,
        Filter::PieceNotOpen => pb::HardFilter::PieceNotOpen,
        Filter::HostNotAllowed => pb::HardFilter::HostNotAllowed,
    }
}

/// A hard filter in words, for refusals.
pub fn filter_text(f: Filter) -> &'static str {
    match f {
        Filter::Inactive => "the resident withdrew or was erased",
        Filter::NoConsent => "the resident has not consented to matching",
        Filter::Guest => "a guest, and the activity takes no per-application guests",
        Filter::AlreadyMatched => "an open or confirmed match exists already",
        Filter::Skills => "a required skill is missing or below its level",
        Filter::Availability => "availability does not cover the piece's windows",
        Filter::Distance => "beyond the resident's travel radius",
        Filter::Overlap => "overlaps a confirmed commitment",
        Filter::Caps => "the caps would be exceeded",
        Filter::PieceNotOpen => "not published, removed, over or full",
        Filter::HostNotAllowed => "its host is suspended or lacks the licence its form needs",
    }
}

/// The explanation of a named candidate.
pub fn explanation(id: String, explained: Option<&Explained>) -> pb::Explanation {
    match explained {
        Some(Explained::Excluded(f)) => pb::Explanation {
            id,
            excluded_by: hard_filter(*f) as i32,
            ..Default::default()
        },
        Some(Explained::Ranked { rank, score: s }) => pb::Explanation {
            id,
            rank: *rank,
            score: Some(score(s)),
            ..Default::default()
        },
        None => pb::Explanation {
            id,
            ..Default::default()
        },
    }
}
