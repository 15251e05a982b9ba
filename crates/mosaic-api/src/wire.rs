//! Wire values every service reads the same way: ids issued by the platform, expected versions,
//! skills and weekly windows. Each problem is recorded against its field path.

use mosaic_proto::v1 as pb;
use mosaic_types::{Skill, SkillLevel, SkillTag, Weekday, WeeklyWindow, first_overlap};

use crate::FieldErrors;

/// An id the platform issued (a UUID, canonical form), else a violation and `None`.
pub fn id(errors: &mut FieldErrors, field: &str, value: &str) -> Option<String> {
    match uuid::Uuid::try_parse(value) {
        Ok(u) => Some(u.to_string()),
        Err(_) => {
            errors.add(field, "must be an id the platform issued (a UUID)");
            None
        }
    }
}

/// `expected_version`: 0 means "do not check".
pub fn expected_version(v: u64) -> Option<u64> {
    (v > 0).then_some(v)
}

/// Most weekly windows in one list: four a day, every day.
pub const WINDOWS_MAX: usize = 28;

/// Skills with tags and levels, at most `max`, no tag twice.
pub fn skills(errors: &mut FieldErrors, field: &str, ss: &[pb::Skill], max: usize) -> Vec<Skill> {
    if !errors.at_most(field, ss, max, "skills") {
        return Vec::new();
    }
    let mut out: Vec<Skill> = Vec::new();
    for (i, s) in ss.iter().enumerate() {
        let tag = errors.take(&format!("{field}[{i}].tag"), SkillTag::parse(&s.tag));
        let level = errors.take(&format!("{field}[{i}].level"), SkillLevel::new(s.level));
        if let (Some(tag), Some(level)) = (tag, level) {
            if out.iter().any(|o| o.tag == tag) {
                errors.add(format!("{field}[{i}].tag"), "is listed twice");
            } else {
                out.push(Skill { tag, level });
            }
        }
    }
    out
}

/// A weekly window from its parts; a bad time names `start_minute` or `end_minute`.
pub fn window(
    errors: &mut FieldErrors,
    field: &str,
    weekday: i32,
    start: u32,
    end: u32,
) -> Option<WeeklyWindow> {
    let day = errors.required(&format!("{field}.weekday"), weekday, Weekday::from_wire);
    if start >= 1440 {
        errors.add(format!("{field}.start_minute"), "must be 0 to 1439");
        return None;
    }
    if end > 1440 {
        errors.add(format!("{field}.end_minute"), "must be at most 1440");
        return None;
    }
    if end <= start {
        errors.add(format!("{field}.end_minute"), "must end after it starts");
        return None;
    }
    WeeklyWindow::new(day?, start, end).ok()
}

/// A [`pb::WeeklyWindow`].
pub fn weekly_window(
    errors: &mut FieldErrors,
    field: &str,
    w: &pb::WeeklyWindow,
) -> Option<WeeklyWindow> {
    window(errors, field, w.weekday, w.start_minute, w.end_minute)
}

/// A list of at most [`WINDOWS_MAX`] weekly windows that must not overlap (the later of two is
/// named).
pub fn weekly_windows(
    errors: &mut FieldErrors,
    field: &str,
    ws: &[pb::WeeklyWindow],
) -> Vec<WeeklyWindow> {
    if !errors.at_most(field, ws, WINDOWS_MAX, "windows") {
        return Vec::new();
    }
    let (at, parsed): (Vec<usize>, Vec<WeeklyWindow>) = ws
        .iter()
        .enumerate()
        .filter_map(|(i, w)| weekly_window(errors, &format!("{field}[{i}]"), w).map(|w| (i, w)))
        .unzip();
    if let Some(i) = first_overlap(&parsed) {
        errors.add(
            format!("{field}[{}]", at[i]),
            "overlaps another window on the same day",
        );
    }
    parsed
}

/// A weekly window on the wire.
pub fn to_window(w: &WeeklyWindow) -> pb::WeeklyWindow {
    pb::WeeklyWindow {
        weekday: w.weekday().wire(),
        start_minute: u32::from(w.start()),
        end_minute: u32::from(w.end()),
    }
}

/// A calendar date on the wire.
pub fn to_date(d: chrono::NaiveDate) -> pb::Date {
    use chrono::Datelike;
    pb::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// A calendar date, required.
pub fn date(
    errors: &mut FieldErrors,
    field: &str,
    d: Option<&pb::Date>,
) -> Option<chrono::NaiveDate> {
    let Some(d) = d else {
        errors.add(field, "is required");
        return None;
    };
    if !(2000..=2100).contains(&d.year) {
        errors.add(field, "year must be 2000 to 2100");
        return None;
    }
    let parsed = u32::try_from(d.month)
        .ok()
        .zip(u32::try_from(d.day).ok())
        .and_then(|(m, day)| chrono::NaiveDate::from_ymd_opt(d.year, m, day));
    if parsed.is_none() {
        errors.add(field, "is not a calendar date");
    }
    parsed
}
