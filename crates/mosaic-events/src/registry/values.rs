//! The registry's value types, validated at the gRPC edge: domain code never re-checks them.
//! Personal data appears here only as [`Sealed`] ciphertext.

use chrono::NaiveDate;
use mosaic_privacy::Sealed;
use mosaic_types::{EngagementForm, Field, PhysicalLoad, Skill, WeeklyWindow, vocabulary};
use serde::{Deserialize, Serialize};

vocabulary!(
    /// How the Silver Center relates to the platform (連携型・一体型・独立型).
    SilverCenterModel {
        /// 連携型.
        Linked = 1 => "linked",
        /// 一体型.
        Integrated = 2 => "integrated",
        /// 独立型.
        Independent = 3 => "independent",
    }
);

vocabulary!(
    /// What kind of host organisation.
    OrganisationKind {
        /// シルバー人材センター.
        SilverCenter = 1 => "silver_center",
        /// NPO.
        Npo = 2 => "npo",
        /// 社会福祉協議会.
        SocialWelfareCouncil = 3 => "social_welfare_council",
        /// 協同労働団体.
        CooperativeLabour = 4 => "cooperative_labour",
        /// Company.
        Company = 5 => "company",
        /// 自治会・町内会.
        NeighbourhoodAssociation = 6 => "neighbourhood_association",
        /// School.
        School = 7 => "school",
        /// University.
        University = 8 => "university",
        /// A municipal department.
        MunicipalDepartment = 9 => "municipal_department",
        /// Anything else.
        Other = 10 => "other",
    }
);

vocabulary!(
    /// A licence for a regulated engagement form.
    Licence {
        /// 労働者派遣事業.
        WorkerDispatch = 1 => "worker_dispatch",
        /// 有料職業紹介事業.
        PaidPlacement = 2 => "paid_placement",
    }
);

vocabulary!(
    /// What a coordinator does.
    CoordinatorRole {
        /// Matching.
        Matching = 1 => "matching",
        /// 業務開拓・案件形成.
        CaseFormation = 2 => "case_formation",
        /// 組織間連携.
        Liaison = 3 => "liaison",
    }
);

vocabulary!(
    /// Full registration or per-application guest (都度申し込み).
    RegistrationMode {
        /// Full profile, used for recommendations.
        Full = 1 => "full",
        /// Minimal data, one application at a time.
        Guest = 2 => "guest",
    }
);

vocabulary!(
    /// A resident's stage of life.
    LifeStage {
        /// Student.
        Student = 1 => "student",
        /// Working age.
        WorkingAge = 2 => "working_age",
        /// Mid-career.
        MidCareer = 3 => "mid_career",
        /// Senior.
        Senior = 4 => "senior",
    }
);

vocabulary!(
    /// Gender, optional.
    Gender {
        /// Female.
        Female = 1 => "female",
        /// Male.
        Male = 2 => "male",
        /// In the resident's own words (sealed in the personal data).
        SelfDescribed = 3 => "self_described",
        /// Prefers not to say.
        Undisclosed = 4 => "undisclosed",
    }
);

vocabulary!(
    /// Where a registration came from.
    RegistrationChannel {
        /// セカンドライフ窓口.
        CityHallWindow = 1 => "city_hall_window",
        /// Seminar.
        Seminar = 2 => "seminar",
        /// Web.
        Web = 3 => "web",
        /// Referral.
        Referral = 4 => "referral",
        /// A host organisation.
        HostOrganisation = 5 => "host_organisation",
        /// Anything else.
        Other = 6 => "other",
    }
);

vocabulary!(
    /// A purpose a resident consents to.
    ConsentPurpose {
        /// Recommendations and matching.
        Matching = 1 => "matching",
        /// Contact by host organisations.
        ContactByHosts = 2 => "contact_by_hosts",
        /// Research use.
        Research = 3 => "research",
    }
);

vocabulary!(
    /// How an agreement (proxy, guardian) was given.
    AgreementMethod {
        /// In person.
        InPerson = 1 => "in_person",
        /// Signed paper.
        Paper = 2 => "paper",
        /// Telephone.
        Phone = 3 => "phone",
        /// Online.
        Online = 4 => "online",
    }
);

vocabulary!(
    /// Why a resident withdraws.
    WithdrawalReason {
        /// Health.
        Health = 1 => "health",
        /// Moved away.
        Moved = 2 => "moved",
        /// Work elsewhere.
        EmployedElsewhere = 3 => "employed_elsewhere",
        /// No longer interested.
        NotInterested = 4 => "not_interested",
        /// Other.
        Other = 5 => "other",
    }
);

/// Residents of an age band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PopulationBand {
    /// First age.
    pub from_age: u16,
    /// Last age, inclusive.
    pub to_age: u16,
    /// How many.
    pub population: u64,
}

/// What a municipality states about its platform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MunicipalityProfile {
    /// The certified operator (認定事業者); empty if none.
    #[serde(default)]
    pub certified_operator: String,
    /// Population by age band.
    #[serde(default)]
    pub population: Vec<PopulationBand>,
    /// The reference date of the population figures.
    #[serde(default)]
    pub population_as_of: Option<NaiveDate>,
    /// The Silver Center's platform model.
    #[serde(default)]
    pub silver_center_model: Option<SilverCenterModel>,
}

/// An organisation's contact person, sealed under the organisation's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SealedContact {
    /// Name.
    pub name: Sealed,
    /// Telephone.
    pub phone: Option<Sealed>,
    /// E-mail.
    pub email: Option<Sealed>,
}

/// What an organisation states about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OrganisationDetails {
    /// Kind.
    pub kind: OrganisationKind,
    /// Name (not personal data).
    pub name: String,
    /// Fields it works in.
    pub fields: Vec<Field>,
    /// District.
    pub district: String,
    /// Contact person (sealed).
    pub contact: SealedContact,
    /// Licences held.
    pub licences: Vec<Licence>,
}

/// A resident's personal data, sealed under the resident's key. Absent parts were not given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SealedPersonal {
    /// The name the resident goes by.
    pub display_name: Sealed,
    /// Its kana reading.
    #[serde(default)]
    pub name_kana: Option<Sealed>,
    /// Telephone.
    #[serde(default)]
    pub phone: Option<Sealed>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<Sealed>,
    /// Postal address.
    #[serde(default)]
    pub address: Option<Sealed>,
    /// A coordinator's note.
    #[serde(default)]
    pub note: Option<Sealed>,
    /// Gender in the resident's own words.
    #[serde(default)]
    pub gender_description: Option<Sealed>,
}

/// Latitude and longitude rounded to 0.01° (about 1 km), in hundredths of a degree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CoarseLocation {
    /// Latitude × 100.
    pub lat_centi: i32,
    /// Longitude × 100.
    pub lon_centi: i32,
}

/// What a resident states for matching. Guests may leave most of it empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResidentProfile {
    /// Year of birth.
    pub birth_year: Option<u16>,
    /// Gender.
    pub gender: Option<Gender>,
    /// Stage of life.
    pub life_stage: Option<LifeStage>,
    /// District of residence.
    pub district: Option<String>,
    /// Coarse location.
    pub location: Option<CoarseLocation>,
    /// Travel radius in km.
    pub travel_radius_km: Option<u16>,
    /// No car.
    pub no_car: bool,
    /// Skills with levels.
    pub skills: Vec<Skill>,
    /// Free tags.
    pub free_tags: Vec<String>,
    /// Fields of interest.
    pub interests: Vec<Field>,
    /// Weekly availability.
    pub availability: Vec<WeeklyWindow>,
    /// Cap on hours per week.
    pub max_hours_per_week: Option<u16>,
    /// Cap on days per month.
    pub max_days_per_month: Option<u16>,
    /// Preferred engagement forms.
    pub preferred_forms: Vec<EngagementForm>,
    /// Physical load the resident can take.
    pub physical_load: Option<PhysicalLoad>,
    /// Where the registration came from.
    pub channel: Option<RegistrationChannel>,
}

impl ResidentProfile {
    /// Whether someone born in `birth_year` may be under 18 in `this_year`. Only the year is
    /// known, so anyone who turns 18 this year or later counts as possibly a minor.
    pub fn may_be_minor(&self, this_year: i32) -> bool {
        self.birth_year
            .is_some_and(|y| this_year - i32::from(y) <= 18)
    }
}
