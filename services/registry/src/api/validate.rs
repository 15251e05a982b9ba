//! Proto → validated domain values. Every problem is recorded against its field path, so one
//! answer names every bad field; nothing here writes.

use chrono::NaiveDate;
use mosaic_api::{FieldErrors, wire};
use mosaic_proto::v1 as pb;
use mosaic_types::{EngagementForm, Field, PhysicalLoad};

use crate::domain::{
    CoarseLocation, Gender, Licence, LifeStage, MunicipalityProfile, OrganisationKind,
    PopulationBand, RegistrationChannel, RegistrationMode, ResidentProfile, SilverCenterModel,
};

/// Longest names (people, organisations).
pub const NAME_MAX: usize = 100;
/// Longest organisation name.
pub const ORG_NAME_MAX: usize = 200;
/// Longest district name.
pub const DISTRICT_MAX: usize = 50;
/// Longest free-text note.
pub const NOTE_MAX: usize = 2_000;
/// Longest reason.
pub const REASON_MAX: usize = 500;
/// Most skills a profile lists.
pub const SKILLS_MAX: usize = 50;
/// Most free tags.
pub const TAGS_MAX: usize = 30;
/// Longest account subject.
pub const SUBJECT_MAX: usize = 200;
/// Most population bands: bands of single years from 0 to 120 do not overlap.
pub const POPULATION_BANDS_MAX: usize = 121;
/// Longest phone number, in characters.
pub const PHONE_MAX: usize = 30;
/// Longest e-mail address, in characters.
pub const EMAIL_MAX: usize = 254;

/// A municipality's profile.
pub fn municipality_profile(
    errors: &mut FieldErrors,
    field: &str,
    p: Option<&pb::MunicipalityProfile>,
) -> MunicipalityProfile {
    let Some(p) = p else {
        return MunicipalityProfile::default();
    };
    errors.max_len(
        &format!("{field}.certified_operator"),
        &p.certified_operator,
        200,
    );
    let mut population = Vec::new();
    let bands = if errors.at_most(
        &format!("{field}.population"),
        &p.population,
        POPULATION_BANDS_MAX,
        "bands",
    ) {
        p.population.as_slice()
    } else {
        &[]
    };
    for (i, b) in bands.iter().enumerate() {
        let at = format!("{field}.population[{i}]");
        if b.from_age > b.to_age || b.to_age > 120 {
            errors.add(at, "ages run from from_age to to_age, at most 120");
            continue;
        }
        let band = PopulationBand {
            from_age: b.from_age as u16,
            to_age: b.to_age as u16,
            population: b.population,
        };
        if population
            .iter()
            .any(|o: &PopulationBand| o.from_age <= band.to_age && band.from_age <= o.to_age)
        {
            errors.add(at, "overlaps another band");
            continue;
        }
        population.push(band);
    }
    let population_as_of = if p.population_as_of.is_empty() {
        if !p.population.is_empty() {
            errors.add(
                format!("{field}.population_as_of"),
                "is required with population figures",
            );
        }
        None
    } else {
        errors.take(
            &format!("{field}.population_as_of"),
            NaiveDate::parse_from_str(&p.population_as_of, "%Y-%m-%d")
                .map_err(|_| "must be a date YYYY-MM-DD"),
        )
    };
    MunicipalityProfile {
        certified_operator: p.certified_operator.trim().to_owned(),
        population,
        population_as_of,
        silver_center_model: errors.optional(
            &format!("{field}.silver_center_model"),
            p.silver_center_model,
            SilverCenterModel::from_wire,
        ),
    }
}

/// The non-personal part of an organisation's details; the contact is sealed separately.
pub struct OrganisationParts {
    /// Kind.
    pub kind: Option<OrganisationKind>,
    /// Name.
    pub name: String,
    /// Fields.
    pub fields: Vec<Field>,
    /// District.
    pub district: String,
    /// Licences.
    pub licences: Vec<Licence>,
}

/// An organisation's details (checks the contact too).
pub fn organisation(
    errors: &mut FieldErrors,
    d: Option<&pb::OrganisationDetails>,
) -> OrganisationParts {
    let empty = pb::OrganisationDetails::default();
    let d = d.unwrap_or(&empty);
    let kind = errors.required("details.kind", d.kind, OrganisationKind::from_wire);
    errors.text("details.name", &d.name, ORG_NAME_MAX);
    let fields = errors.enum_list("details.fields", &d.fields, Field::from_wire);
    if d.fields.is_empty() {
        errors.add("details.fields", "name at least one field");
    }
    errors.text("details.district", &d.district, DISTRICT_MAX);
    let licences = errors.enum_list("details.licences", &d.licences, Licence::from_wire);
    let contact = d.contact.clone().unwrap_or_default();
    errors.text("details.contact.name", &contact.name, NAME_MAX);
    errors.phone("details.contact.phone", &contact.phone, PHONE_MAX);
    errors.email("details.contact.email", &contact.email, EMAIL_MAX);
    OrganisationParts {
        kind,
        name: d.name.trim().to_owned(),
        fields,
        district: d.district.trim().to_owned(),
        licences,
    }
}

/// Personal details: the name is required, everything else bounded.
pub fn personal(errors: &mut FieldErrors, field: &str, p: Option<&pb::PersonalDetails>) {
    let empty = pb::PersonalDetails::default();
    let p = p.unwrap_or(&empty);
    errors.text(&format!("{field}.display_name"), &p.display_name, NAME_MAX);
    errors.max_len(&format!("{field}.name_kana"), &p.name_kana, NAME_MAX);
    errors.phone(&format!("{field}.phone"), &p.phone, PHONE_MAX);
    errors.email(&format!("{field}.email"), &p.email, EMAIL_MAX);
    errors.max_len(&format!("{field}.address"), &p.address, 200);
    errors.prose(&format!("{field}.note"), &p.note, NOTE_MAX);
    errors.max_len(
        &format!("{field}.gender_description"),
        &p.gender_description,
        50,
    );
}

/// A resident's profile; `mode` says which parts are required. `this_year` bounds the birth year.
pub fn resident_profile(
    errors: &mut FieldErrors,
    field: &str,
    p: Option<&pb::ResidentProfile>,
    mode: Option<RegistrationMode>,
    this_year: i32,
) -> ResidentProfile {
    let empty = pb::ResidentProfile::default();
    let p = p.unwrap_or(&empty);
    let full = mode == Some(RegistrationMode::Full);
    let at = |name: &str| format!("{field}.{name}");

    let birth_year = match p.birth_year {
        0 => {
            if full {
                errors.add(at("birth_year"), "is required for a full registration");
            }
            None
        }
        y if i64::from(y) > i64::from(this_year) => {
            errors.add(at("birth_year"), "must not be in the future");
            None
        }
        y if y < 1900 => {
            errors.add(at("birth_year"), "must be 1900 or later");
            None
        }
        y => Some(y as u16),
    };
    let life_stage = if full {
        errors.required(&at("life_stage"), p.life_stage, LifeStage::from_wire)
    } else {
        errors.optional(&at("life_stage"), p.life_stage, LifeStage::from_wire)
    };
    let district = p.district.trim();
    if full && district.is_empty() {
        errors.add(at("district"), "is required for a full registration");
    }
    errors.max_len(&at("district"), district, DISTRICT_MAX);
    let location = p.location.as_ref().and_then(|l| {
        let ok = (-90.0..=90.0).contains(&l.latitude) && (-180.0..=180.0).contains(&l.longitude);
        if !ok {
            errors.add(at("location"), "latitude -90 to 90, longitude -180 to 180");
            return None;
        }
        Some(CoarseLocation {
            lat_centi: (l.latitude * 100.0).round() as i32,
            lon_centi: (l.longitude * 100.0).round() as i32,
        })
    });
    if p.travel_radius_km > 100 {
        errors.add(at("travel_radius_km"), "must be at most 100");
    }
    if p.max_hours_per_week > 80 {
        errors.add(at("max_hours_per_week"), "must be at most 80");
    }
    if p.max_days_per_month > 31 {
        errors.add(at("max_days_per_month"), "must be at most 31");
    }
    let free_tags = if errors.at_most(&at("free_tags"), &p.free_tags, TAGS_MAX, "tags") {
        p.free_tags.as_slice()
    } else {
        &[]
    };
    for (i, t) in free_tags.iter().enumerate() {
        errors.text(&format!("{}[{i}]", at("free_tags")), t, 40);
    }
    let nonzero = |n: u32| (n > 0).then_some(n as u16);
    ResidentProfile {
        birth_year,
        gender: errors.optional(&at("gender"), p.gender, Gender::from_wire),
        life_stage,
        district: (!district.is_empty()).then(|| district.to_owned()),
        location,
        travel_radius_km: nonzero(p.travel_radius_km.min(100)),
        no_car: p.no_car,
        skills: wire::skills(errors, &at("skills"), &p.skills, SKILLS_MAX),
        free_tags: free_tags.iter().map(|t| t.trim().to_owned()).collect(),
        interests: errors.enum_list(&at("interests"), &p.interests, Field::from_wire),
        availability: wire::weekly_windows(errors, &at("availability"), &p.availability),
        max_hours_per_week: nonzero(p.max_hours_per_week.min(80)),
        max_days_per_month: nonzero(p.max_days_per_month.min(31)),
        preferred_forms: errors.enum_list(
            &at("preferred_forms"),
            &p.preferred_forms,
            EngagementForm::from_wire,
        ),
        physical_load: errors.optional(
            &at("physical_load"),
            p.physical_load,
            PhysicalLoad::from_wire,
        ),
        channel: errors.required(&at("channel"), p.channel, RegistrationChannel::from_wire),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const YEAR: i32 = 2026;

    /// A valid full profile from generated parts.
    fn valid_profile() -> impl Strategy<Value = pb::ResidentProfile> {
        (
            1900u32..=2026,
            1i32..=4,
            prop::collection::btree_map("[a-z][a-z0-9_]{0,20}", 1u32..=5, 0..6),
            prop::collection::btree_set(1i32..=12, 0..5),
            prop::collection::btree_map(1i32..=7, (0u32..1380, 1u32..=60), 0..7),
            prop::collection::btree_set(1i32..=8, 0..4),
        )
            .prop_map(|(birth, stage, skills, fields, windows, forms)| {
                pb::ResidentProfile {
                    birth_year: birth,
                    life_stage: stage,
                    district: "柏".into(),
                    skills: skills
                        .into_iter()
                        .map(|(tag, level)| pb::Skill { tag, level })
                        .collect(),
                    interests: fields.into_iter().collect(),
                    availability: windows
                        .into_iter()
                        .map(|(day, (start, len))| pb::WeeklyWindow {
                            weekday: day,
                            start_minute: start,
                            end_minute: start + len,
                        })
                        .collect(),
                    preferred_forms: forms.into_iter().collect(),
                    channel: 1,
                    ..Default::default()
                }
            })
    }

    /// One way of breaking a profile, and the field that must then be named.
    #[derive(Debug, Clone)]
    enum Break {
        FutureBirth(u32),
        Level(u32),
        Tag(String),
        WindowBackwards(u32),
        WindowOverlap,
        UnknownEnum(i32),
        LongTag,
        Radius(u32),
        MissingChannel,
    }

    fn breakage() -> impl Strategy<Value = Break> {
        prop_oneof![
            (2027u32..5000).prop_map(Break::FutureBirth),
            prop_oneof![Just(0u32), 6u32..1000].prop_map(Break::Level),
            "[A-Z -]{1,10}|[a-z]{41,50}".prop_map(Break::Tag),
            (1u32..1440).prop_map(Break::WindowBackwards),
            Just(Break::WindowOverlap),
            prop_oneof![13i32..1000, -100i32..0].prop_map(Break::UnknownEnum),
            Just(Break::LongTag),
            (101u32..10_000).prop_map(Break::Radius),
            Just(Break::MissingChannel),
        ]
    }

    fn apply(p: &mut pb::ResidentProfile, b: &Break) -> String {
        match b {
            Break::FutureBirth(y) => {
                p.birth_year = *y;
                "profile.birth_year".into()
            }
            Break::Level(l) => {
                p.skills.push(pb::Skill {
                    tag: "zz_level".into(),
                    level: *l,
                });
                format!("profile.skills[{}].level", p.skills.len() - 1)
            }
            Break::Tag(t) => {
                p.skills.push(pb::Skill {
                    tag: t.clone(),
                    level: 3,
                });
                format!("profile.skills[{}].tag", p.skills.len() - 1)
            }
            Break::WindowBackwards(start) => {
                p.availability.clear();
                p.availability.push(pb::WeeklyWindow {
                    weekday: 1,
                    start_minute: *start,
                    end_minute: *start,
                });
                "profile.availability[0].end_minute".into()
            }
            Break::WindowOverlap => {
                p.availability.clear();
                p.availability.push(pb::WeeklyWindow {
                    weekday: 2,
                    start_minute: 540,
                    end_minute: 720,
                });
                p.availability.push(pb::WeeklyWindow {
                    weekday: 2,
                    start_minute: 700,
                    end_minute: 800,
                });
                "profile.availability[1]".into()
            }
            Break::UnknownEnum(n) => {
                p.interests.clear();
                p.interests.push(*n);
                "profile.interests[0]".into()
            }
            Break::LongTag => {
                p.free_tags.push("あ".repeat(41));
                format!("profile.free_tags[{}]", p.free_tags.len() - 1)
            }
            Break::Radius(r) => {
                p.travel_radius_km = *r;
                "profile.travel_radius_km".into()
            }
            Break::MissingChannel => {
                p.channel = 0;
                "profile.channel".into()
            }
        }
    }

    proptest! {
        #[test]
        fn generated_valid_profiles_pass(profile in valid_profile()) {
            let mut errors = FieldErrors::new();
            resident_profile(&mut errors, "profile", Some(&profile), Some(RegistrationMode::Full), YEAR);
            prop_assert!(errors.is_empty(), "{:?}", errors.violations());
        }

        #[test]
        fn every_generated_bad_profile_is_refused_naming_its_field(
            profile in valid_profile(),
            breakage in breakage(),
        ) {
            let mut profile = profile;
            let field = apply(&mut profile, &breakage);
            let mut errors = FieldErrors::new();
            resident_profile(&mut errors, "profile", Some(&profile), Some(RegistrationMode::Full), YEAR);
            prop_assert!(
                errors.violations().iter().any(|(f, _)| *f == field),
                "{} not named in {:?}", field, errors.violations()
            );
        }
    }
}
