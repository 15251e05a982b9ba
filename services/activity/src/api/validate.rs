//! Proto → validated domain values. Every violation names its path in the request
//! (`details.incentives.honorarium_yen`, `pieces[2].schedule.weekly.end_minute`…), so one answer
//! lists every bad field.

use chrono::{DateTime, Months, NaiveDate, Utc};
use mosaic_api::{FieldErrors, wire};
use mosaic_proto::v1 as pb;
use mosaic_types::{EngagementForm, Field, PhysicalLoad};

use crate::domain::decompose::{
    CoverageBlock, Granularity, JobRequirement, MAX_PIECES, MAX_TASK_NAME_CHARS, TaskNeed,
};
use crate::domain::{
    ActivityDetails, ApplicationMode, Incentives, MAX_HONORARIUM_YEN, MAX_LOCAL_POINTS,
    MAX_TRANSPORT_FEE_YEN, Origin, PieceDetails, Place, Schedule,
};

/// Title of an activity or piece, most characters.
pub const TITLE_MAX: usize = 200;
/// Description, most characters.
pub const DESCRIPTION_MAX: usize = 4_000;
/// District, most characters.
pub const DISTRICT_MAX: usize = 50;
/// Regional goal label, most characters.
pub const GOAL_LABEL_MAX: usize = 100;
/// Reasons, most characters.
pub const REASON_MAX: usize = 500;
/// Internship goal, most characters.
pub const INTERNSHIP_GOAL_MAX: usize = 1_000;
/// Mentor name, most characters.
pub const MENTOR_MAX: usize = 100;
/// Skills per piece.
pub const SKILLS_MAX: usize = 20;
/// Seats per piece.
pub const HEADCOUNT_MAX: u32 = 100;
/// Pieces in one request.
pub const PIECES_PER_REQUEST_MAX: usize = 200;
/// Tasks of one coverage block in a job decomposition.
pub const TASKS_PER_BLOCK_MAX: usize = 20;
/// Exception dates of a recurrence.
pub const EXCEPTIONS_MAX: usize = 366;
/// Weekly hours of an internship.
pub const WEEKLY_HOURS_MAX: u32 = 40;
/// Longest activity period, days (five years).
const PERIOD_DAYS_MAX: i64 = 5 * 366;
/// Longest weekly recurrence, days (two years).
const RECURRENCE_DAYS_MAX: i64 = 2 * 366;

pub use mosaic_api::wire::date;

/// An optional date filter (absent or all zero means none).
pub fn optional_date(
    errors: &mut FieldErrors,
    field: &str,
    d: Option<&pb::Date>,
) -> Option<NaiveDate> {
    match d {
        Some(x) if *x != pb::Date::default() => date(errors, field, Some(x)),
        _ => None,
    }
}

fn instant(
    errors: &mut FieldErrors,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    let Some(ts) = ts else {
        errors.add(field, "is required");
        return None;
    };
    let at = match mosaic_api::occurred_at::instant(ts) {
        Ok(at) => at,
        Err((part, why)) => {
            errors.add(format!("{field}.{part}"), why);
            return None;
        }
    };
    if !(946_684_800..=4_102_444_800).contains(&at.timestamp()) {
        errors.add(field, "must be an instant between 2000 and 2100");
        return None;
    }
    Some(at)
}

fn schedule(errors: &mut FieldErrors, field: &str, s: Option<&pb::Schedule>) -> Option<Schedule> {
    use pb::schedule::Kind;
    let Some(kind) = s.and_then(|s| s.kind.as_ref()) else {
        errors.add(field, "is required: one_off or weekly");
        return None;
    };
    match kind {
        Kind::OneOff(w) => {
            let f = format!("{field}.one_off");
            let start = instant(errors, &format!("{f}.start"), w.start.as_ref());
            let end = instant(errors, &format!("{f}.end"), w.end.as_ref());
            let (start, end) = (start?, end?);
            if end <= start {
                errors.add(format!("{f}.end"), "must end after it starts");
                return None;
            }
            if end - start > chrono::Duration::hours(24) {
                errors.add(
                    format!("{f}.end"),
                    "a one-off window lasts at most 24 hours",
                );
                return None;
            }
            Some(Schedule::OneOff { start, end })
        }
        Kind::Weekly(w) => {
            let f = format!("{field}.weekly");
            let window = wire::window(errors, &f, w.weekday, w.start_minute, w.end_minute);
            let from = date(errors, &format!("{f}.first_day"), w.first_day.as_ref());
            let to = date(errors, &format!("{f}.last_day"), w.last_day.as_ref());
            let (from, to) = (from?, to?);
            if to < from {
                errors.add(format!("{f}.last_day"), "must be on or after first_day");
                return None;
            }
            if (to - from).num_days() > RECURRENCE_DAYS_MAX {
                errors.add(
                    format!("{f}.last_day"),
                    "a recurrence lasts at most two years",
                );
                return None;
            }
            if !errors.at_most(
                &format!("{f}.exceptions"),
                &w.exceptions,
                EXCEPTIONS_MAX,
                "dates",
            ) {
                return None;
            }
            let mut exceptions: Vec<NaiveDate> = Vec::new();
            for (i, d) in w.exceptions.iter().enumerate() {
                let ef = format!("{f}.exceptions[{i}]");
                if let Some(d) = date(errors, &ef, Some(d)) {
                    if d < from || d > to {
                        errors.add(ef, "must fall within from–to");
                    } else if exceptions.contains(&d) {
                        errors.add(ef, "is listed twice");
                    } else {
                        exceptions.push(d);
                    }
                }
            }
            exceptions.sort();
            Some(Schedule::Weekly {
                window: window?,
                from,
                to,
                exceptions,
                skip_national_holidays: w.skip_national_holidays,
            })
        }
    }
}

/// A piece's details.
pub fn piece(
    errors: &mut FieldErrors,
    field: &str,
    p: Option<&pb::PieceDetails>,
) -> Option<PieceDetails> {
    let Some(p) = p else {
        errors.add(field, "is required");
        return None;
    };
    let before = errors.violations().len();
    errors.text(&format!("{field}.title"), &p.title, TITLE_MAX);
    let skills = wire::skills(
        errors,
        &format!("{field}.required_skills"),
        &p.required_skills,
        SKILLS_MAX,
    );
    let schedule = schedule(errors, &format!("{field}.schedule"), p.schedule.as_ref());
    if p.headcount == 0 || p.headcount > HEADCOUNT_MAX {
        errors.add(
            format!("{field}.headcount"),
            format!("must be 1 to {HEADCOUNT_MAX} seats"),
        );
    }
    if p.expected_minutes > 1440 {
        errors.add(
            format!("{field}.expected_minutes"),
            "must be at most 1440 minutes",
        );
    }
    if errors.violations().len() > before {
        return None;
    }
    Some(PieceDetails {
        title: p.title.trim().to_owned(),
        skills,
        schedule: schedule?,
        headcount: p.headcount,
        expected_minutes: p.expected_minutes,
    })
}

/// A list of pieces, `pieces[i]`.
pub fn pieces(errors: &mut FieldErrors, field: &str, ps: &[pb::PieceDetails]) -> Vec<PieceDetails> {
    if !errors.at_most(field, ps, PIECES_PER_REQUEST_MAX, "pieces") {
        return Vec::new();
    }
    ps.iter()
        .enumerate()
        .filter_map(|(i, p)| piece(errors, &format!("{field}[{i}]"), Some(p)))
        .collect()
}

fn cap(errors: &mut FieldErrors, field: &str, value: u32, max: u32, unit: &str) {
    if value > max {
        errors.add(field, format!("must be at most {max} {unit} per session"));
    }
}

/// An activity's details. `host` is whether `host_organisation_id` is read (on creation).
pub fn details(
    errors: &mut FieldErrors,
    field: &str,
    d: Option<&pb::ActivityDetails>,
    host: bool,
) -> Option<ActivityDetails> {
    let Some(d) = d else {
        errors.add(field, "is required");
        return None;
    };
    let before = errors.violations().len();
    let host_id = if host {
        wire::id(
            errors,
            &format!("{field}.host_organisation_id"),
            &d.host_organisation_id,
        )
    } else {
        Some(String::new())
    };
    errors.text(&format!("{field}.title"), &d.title, TITLE_MAX);
    errors.prose(
        &format!("{field}.description"),
        &d.description,
        DESCRIPTION_MAX,
    );
    let activity_field = errors.required(&format!("{field}.field"), d.field, Field::from_wire);
    let origin = errors.required(&format!("{field}.origin"), d.origin, Origin::from_wire);
    let form = errors.required(
        &format!("{field}.engagement_form"),
        d.engagement_form,
        EngagementForm::from_wire,
    );
    let load = errors.optional(
        &format!("{field}.physical_load"),
        d.physical_load,
        PhysicalLoad::from_wire,
    );
    let mode = errors.required(
        &format!("{field}.application_mode"),
        d.application_mode,
        ApplicationMode::from_wire,
    );
    let place = place(errors, &format!("{field}.place"), d.place.as_ref());
    let incentives = d.incentives.unwrap_or_default();
    let inc = format!("{field}.incentives");
    cap(
        errors,
        &format!("{inc}.transport_fee_yen"),
        incentives.transport_fee_yen,
        MAX_TRANSPORT_FEE_YEN,
        "yen",
    );
    cap(
        errors,
        &format!("{inc}.honorarium_yen"),
        incentives.honorarium_yen,
        MAX_HONORARIUM_YEN,
        "yen",
    );
    cap(
        errors,
        &format!("{inc}.local_points"),
        incentives.local_points,
        MAX_LOCAL_POINTS,
        "points",
    );
    let start = date(
        errors,
        &format!("{field}.period_start"),
        d.period_start.as_ref(),
    );
    let end = date(
        errors,
        &format!("{field}.period_end"),
        d.period_end.as_ref(),
    );
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            errors.add(
                format!("{field}.period_end"),
                "must be on or after period_start",
            );
        } else if (e - s).num_days() > PERIOD_DAYS_MAX {
            errors.add(
                format!("{field}.period_end"),
                "a period lasts at most five years",
            );
        }
    }
    let coordinator = if d.coordinator_id.is_empty() {
        None
    } else {
        wire::id(
            errors,
            &format!("{field}.coordinator_id"),
            &d.coordinator_id,
        )
    };
    errors.max_len(
        &format!("{field}.regional_goal"),
        &d.regional_goal,
        GOAL_LABEL_MAX,
    );
    if errors.violations().len() > before {
        return None;
    }
    Some(ActivityDetails {
        host_organisation_id: host_id?.into(),
        title: d.title.trim().to_owned(),
        description: d.description.trim().to_owned(),
        field: activity_field?,
        origin: origin?,
        engagement_form: form?,
        place: place?,
        physical_load: load,
        application_mode: mode?,
        incentives: Incentives {
            transport_fee_yen: incentives.transport_fee_yen,
            honorarium_yen: incentives.honorarium_yen,
            local_points: incentives.local_points,
            certificate: incentives.certificate,
            meal: incentives.meal,
        },
        period_start: start?,
        period_end: end?,
        coordinator_id: coordinator.map(Into::into),
        regional_goal: Some(d.regional_goal.trim().to_owned()).filter(|g| !g.is_empty()),
    })
}

fn place(errors: &mut FieldErrors, field: &str, p: Option<&pb::Place>) -> Option<Place> {
    let p = p.cloned().unwrap_or_default();
    let district = p.district.trim().to_owned();
    errors.max_len(&format!("{field}.district"), &district, DISTRICT_MAX);
    let location = match &p.location {
        Some(l) => {
            let ok =
                (-90.0..=90.0).contains(&l.latitude) && (-180.0..=180.0).contains(&l.longitude);
            if !ok {
                errors.add(
                    format!("{field}.location"),
                    "latitude -90 to 90, longitude -180 to 180",
                );
                return None;
            }
            Some((
                (l.latitude * 100.0).round() / 100.0,
                (l.longitude * 100.0).round() / 100.0,
            ))
        }
        None => None,
    };
    if district.is_empty() && location.is_none() && !p.online {
        errors.add(
            field,
            "is required: a district, a coarse location or online",
        );
        return None;
    }
    Some(Place {
        district: Some(district).filter(|d| !d.is_empty()),
        location,
        online: p.online,
    })
}

/// An internship project's parts, the mentor's name still in clear (the caller seals it).
pub struct InternshipParts {
    /// The goal.
    pub goal: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Weekly hours.
    pub weekly_hours: u32,
    /// Mentor's name, in clear.
    pub mentor_name: String,
    /// Milestones.
    pub milestones: crate::domain::Milestones,
}

/// An internship project: 1 month to 1 year, milestones in order within it.
pub fn internship(
    errors: &mut FieldErrors,
    field: &str,
    i: Option<&pb::Internship>,
) -> Option<InternshipParts> {
    let Some(i) = i else {
        errors.add(field, "is required");
        return None;
    };
    let before = errors.violations().len();
    if i.goal.trim().is_empty() {
        errors.add(format!("{field}.goal"), "must not be empty");
    } else {
        errors.prose(&format!("{field}.goal"), &i.goal, INTERNSHIP_GOAL_MAX);
    }
    errors.text(&format!("{field}.mentor_name"), &i.mentor_name, MENTOR_MAX);
    if i.weekly_hours == 0 || i.weekly_hours > WEEKLY_HOURS_MAX {
        errors.add(
            format!("{field}.weekly_hours"),
            format!("must be 1 to {WEEKLY_HOURS_MAX} hours"),
        );
    }
    let start = date(errors, &format!("{field}.start"), i.start.as_ref());
    let end = date(errors, &format!("{field}.end"), i.end.as_ref());
    if let (Some(s), Some(e)) = (start, end) {
        let month = s.checked_add_months(Months::new(1));
        let year = s.checked_add_months(Months::new(12));
        if month.is_none_or(|m| e < m) || year.is_none_or(|y| e > y) {
            errors.add(
                format!("{field}.end"),
                "an internship lasts 1 month to 1 year",
            );
        }
    }
    let ms = i.milestones.unwrap_or_default();
    let mf = format!("{field}.milestones");
    let o = date(
        errors,
        &format!("{mf}.orientation"),
        ms.orientation.as_ref(),
    );
    let m = date(
        errors,
        &format!("{mf}.mid_term_review"),
        ms.mid_term_review.as_ref(),
    );
    let f = date(
        errors,
        &format!("{mf}.final_reflection"),
        ms.final_reflection.as_ref(),
    );
    if let (Some(s), Some(e)) = (start, end) {
        for (name, d) in [
            ("orientation", o),
            ("mid_term_review", m),
            ("final_reflection", f),
        ] {
            if d.is_some_and(|d| d < s || d > e) {
                errors.add(format!("{mf}.{name}"), "must fall within the internship");
            }
        }
    }
    if let (Some(o), Some(m)) = (o, m)
        && m <= o
    {
        errors.add(
            format!("{mf}.mid_term_review"),
            "must come after the orientation",
        );
    }
    if let (Some(m), Some(f)) = (m, f)
        && f <= m
    {
        errors.add(
            format!("{mf}.final_reflection"),
            "must come after the mid-term review",
        );
    }
    if errors.violations().len() > before {
        return None;
    }
    Some(InternshipParts {
        goal: i.goal.trim().to_owned(),
        start: start?,
        end: end?,
        weekly_hours: i.weekly_hours,
        mentor_name: i.mentor_name.trim().to_owned(),
        milestones: crate::domain::Milestones {
            orientation: o?,
            mid_term_review: m?,
            final_reflection: f?,
        },
    })
}

/// A job requirement for [`crate::domain::decompose::decompose`]; its own checks name the deeper
/// fields.
pub fn job(errors: &mut FieldErrors, body: &pb::DecomposeJobRequest) -> Option<JobRequirement> {
    let before = errors.violations().len();
    // Every block gives at least one piece, so more blocks than a job's pieces are refused
    // before any is read.
    if !errors.at_most("blocks", &body.blocks, MAX_PIECES, "blocks") {
        return None;
    }
    let mut blocks = Vec::new();
    for (i, b) in body.blocks.iter().enumerate() {
        let f = format!("blocks[{i}]");
        if !errors.at_most(
            &format!("{f}.tasks"),
            &b.tasks,
            TASKS_PER_BLOCK_MAX,
            "tasks",
        ) {
            continue;
        }
        let w = b.window.unwrap_or_default();
        let window = wire::window(
            errors,
            &format!("{f}.window"),
            w.weekday,
            w.start_minute,
            w.end_minute,
        );
        let tasks: Vec<TaskNeed> = b
            .tasks
            .iter()
            .enumerate()
            .map(|(j, t)| TaskNeed {
                name: {
                    errors.text(
                        &format!("{f}.tasks[{j}].name"),
                        &t.name,
                        MAX_TASK_NAME_CHARS,
                    );
                    t.name.clone()
                },
                headcount: t.headcount,
                skills: wire::skills(
                    errors,
                    &format!("{f}.tasks[{j}].skills"),
                    &t.skills,
                    SKILLS_MAX,
                ),
            })
            .collect();
        if let Some(window) = window {
            blocks.push(CoverageBlock { window, tasks });
        }
    }
    let Some(g) = body.granularity.as_ref() else {
        errors.add("granularity", "is required");
        return None;
    };
    if errors.violations().len() > before {
        return None;
    }
    Some(JobRequirement {
        blocks,
        granularity: Granularity {
            min_minutes: g.min_minutes,
            max_minutes: g.max_minutes,
            step_minutes: g.step_minutes,
            split_by_task: g.split_by_task,
        },
    })
}
