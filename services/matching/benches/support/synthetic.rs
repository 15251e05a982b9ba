#![allow(dead_code)]

//! A synthetic municipality for recommendations: residents with skills, interests, weekly
//! availability, homes around a town centre and travel radii, a fifth of them with an
//! engagement in the last 90 days (people already taking part tend to be a little more
//! skilled: they were chosen before); and pieces needing one or two skills on a weekday.
//! Seeded, so every run ranks the same data.

use chrono::NaiveDate;
use mosaic_events::activity::{ApplicationMode, Place, Schedule, Status};
use mosaic_events::matching::Commitment;
use mosaic_events::registry::CoarseLocation;
use mosaic_matching::domain::recommend::{Candidate, Profile, Target};
use mosaic_matching::domain::{HostFacts, PieceFacts, ResidentFacts};
use mosaic_types::{
    EngagementForm, Field, PieceId, ResidentId, Skill, SkillLevel, SkillTag, Weekday, WeeklyWindow,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The skill tags residents hold and pieces need.
pub const TAGS: &[&str] = &[
    "care",
    "cooking",
    "farming",
    "it",
    "teaching",
    "driving",
    "carpentry",
    "gardening",
    "accounting",
    "translation",
    "music",
    "sewing",
    "cleaning",
    "childcare",
    "first_aid",
    "photography",
    "writing",
    "sales",
    "repair",
    "fishing",
];
const FORMS: &[EngagementForm] = &[
    EngagementForm::Volunteer,
    EngagementForm::JobBora,
    EngagementForm::Contract,
    EngagementForm::Learning,
];
/// The town centre, in hundredths of a degree (Kashiwa).
const CENTRE: (i32, i32) = (3_587, 13_998);

/// The day the data is ranked on.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2027, 4, 1).unwrap_or_default()
}

fn day(offset: i64) -> NaiveDate {
    today() + chrono::Duration::days(offset)
}

fn skill(tag: usize, level: u32) -> Skill {
    Skill {
        tag: SkillTag::parse(TAGS[tag]).unwrap_or_else(|_| panic!("a valid tag")),
        level: SkillLevel::new(level.clamp(1, 5)).unwrap_or_else(|_| panic!("a valid level")),
    }
}

fn window(weekday: usize, start: u32, end: u32) -> WeeklyWindow {
    WeeklyWindow::new(Weekday::ALL[weekday], start, end).unwrap_or_else(|_| panic!("a window"))
}

/// Whether a resident had an engagement in the 90 days before [`today`].
pub fn recently_engaged(c: &Candidate) -> bool {
    c.engagements.iter().any(|(_, last)| *last >= day(-90))
}

/// `n` residents; every fifth recently engaged.
pub fn residents(n: usize, seed: u64) -> Vec<Candidate> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let engaged = i % 5 == 0;
            let bonus = u32::from(engaged);
            let mut tags: Vec<usize> = (0..rng.random_range(1..=3))
                .map(|_| rng.random_range(0..TAGS.len()))
                .collect();
            tags.sort();
            tags.dedup();
            let skills = tags
                .into_iter()
                .map(|t| skill(t, rng.random_range(1..=4) + bonus))
                .collect();
            let mut days: Vec<usize> = (0..rng.random_range(1..=4))
                .map(|_| rng.random_range(0..7))
                .collect();
            days.sort();
            days.dedup();
            let availability = days
                .into_iter()
                .map(|d| {
                    let start = rng.random_range(8..=11) * 60;
                    window(d, start, start + rng.random_range(3..=7) * 60)
                })
                .collect();
            let interests = (0..rng.random_range(0..=3))
                .map(|_| Field::ALL[rng.random_range(0..Field::ALL.len())])
                .collect();
            let preferred_forms = (0..rng.random_range(0..=2))
                .map(|_| FORMS[rng.random_range(0..FORMS.len())])
                .collect();
            let location = CoarseLocation {
                lat_centi: CENTRE.0 + rng.random_range(-8..=8),
                lon_centi: CENTRE.1 + rng.random_range(-8..=8),
            };
            let travel_radius_km = rng.random_bool(0.8).then(|| rng.random_range(3..=20u16));
            let (engagements, commitments, offers) = if engaged {
                let last = rng.random_range(-89..=60);
                let start = rng.random_range(8..=15) * 60;
                let slot = window(rng.random_range(0..7), start, start + 120);
                let commitment = Commitment {
                    slots: vec![slot],
                    first_day: day(last - 120),
                    last_day: day(last),
                    minutes_per_week: 120,
                    days_per_month: 5,
                };
                let offers = (0..rng.random_range(0..=3))
                    .map(|_| (day(-rng.random_range(1..=80)), rng.random_range(1..=3)))
                    .collect();
                (
                    vec![(commitment.first_day, commitment.last_day)],
                    vec![commitment],
                    offers,
                )
            } else {
                (Vec::new(), Vec::new(), Vec::new())
            };
            Candidate {
                facts: ResidentFacts {
                    resident_id: ResidentId::from(format!("resident-{i:07}")),
                    active: true,
                    guest: rng.random_bool(0.05),
                    matching_consent: true,
                    proxy_agreement: false,
                    max_hours_per_week: rng.random_bool(0.3).then(|| rng.random_range(4..=20)),
                    max_days_per_month: None,
                },
                profile: Profile {
                    skills,
                    interests,
                    availability,
                    preferred_forms,
                    location: Some(location),
                    travel_radius_km,
                },
                commitments,
                engagements,
                offers,
                matched: Vec::new(),
            }
        })
        .collect()
}

/// `n` open pieces on weekdays, each needing one skill at level 1 to 3 (a fifth need two).
pub fn pieces(n: usize, seed: u64) -> Vec<Target> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let start = rng.random_range(9..=13) * 60;
            let slot = window(
                rng.random_range(0..5),
                start,
                start + rng.random_range(1..=3) * 60,
            );
            let needs = if rng.random_bool(0.2) { 2 } else { 1 };
            let mut tags: Vec<usize> = (0..needs)
                .map(|_| rng.random_range(0..TAGS.len()))
                .collect();
            tags.sort();
            tags.dedup();
            let skills = tags
                .into_iter()
                .map(|t| skill(t, rng.random_range(1..=3)))
                .collect();
            let online = rng.random_bool(0.3);
            let place = Place {
                district: None,
                location: (!online).then(|| {
                    (
                        f64::from(CENTRE.0 + rng.random_range(-5..=5)) / 100.0,
                        f64::from(CENTRE.1 + rng.random_range(-5..=5)) / 100.0,
                    )
                }),
                online,
            };
            let form = FORMS[rng.random_range(0..FORMS.len())];
            let piece = weekly(i, format!("activity-{i:05}"), slot, form, 5);
            let field = Field::ALL[rng.random_range(0..Field::ALL.len())];
            Target::new(piece, HostFacts::default(), skills, field, place, 5)
        })
        .collect()
}

/// A job cut into `n` pieces (a multiple of 20 is exact): tasks, each needing one skill at a
/// level of `levels`, done Monday to Friday 09:00–17:00 in 2-hour pieces, each for as many
/// people as `seats` says.
pub fn job(
    n: usize,
    seed: u64,
    levels: std::ops::RangeInclusive<u32>,
    seats: std::ops::RangeInclusive<u32>,
) -> Vec<Target> {
    let mut rng = StdRng::seed_from_u64(seed);
    let tasks = n.div_ceil(20);
    let needs: Vec<Skill> = (0..tasks)
        .map(|t| skill(t % TAGS.len(), rng.random_range(levels.clone())))
        .collect();
    (0..n)
        .map(|i| {
            let (task, at) = (i / 20, i % 20);
            let (weekday, block) = (at / 4, at % 4);
            let start = 9 * 60 + block as u32 * 120;
            let slot = window(weekday, start, start + 120);
            let seats = rng.random_range(seats.clone());
            let piece = weekly(
                i,
                format!("job-{task:03}"),
                slot,
                EngagementForm::JobBora,
                seats,
            );
            let place = Place {
                district: None,
                location: Some((f64::from(CENTRE.0) / 100.0, f64::from(CENTRE.1) / 100.0)),
                online: false,
            };
            Target::new(
                piece,
                HostFacts::default(),
                vec![needs[task].clone()],
                Field::Welfare,
                place,
                seats,
            )
        })
        .collect()
}

/// The facts of the `i`th piece, of `activity`: published, open to guests, weekly in `slot`
/// from two weeks after [`today`] for half a year.
fn weekly(
    i: usize,
    activity: String,
    slot: WeeklyWindow,
    form: EngagementForm,
    headcount: u32,
) -> PieceFacts {
    PieceFacts {
        piece_id: PieceId::from(format!("piece-{i:05}")),
        activity_id: activity.into(),
        host_organisation_id: "host".into(),
        activity_status: Status::Published,
        removed: false,
        headcount,
        engagement_form: form,
        application_mode: ApplicationMode::Open,
        schedule: Schedule::Weekly {
            window: slot,
            from: day(14),
            to: day(180),
            exceptions: vec![],
            skip_national_holidays: false,
        },
    }
}
