//! The shared vocabulary of activities and people: fields, engagement forms, physical load.
//! Registry profiles, activities and matching all speak it, so it is defined once. Stored names
//! are the serde names: never change them.

/// Declares a closed vocabulary: an enum with explicit stored names and the wire numbers of its
/// proto twin, so conversions never drift apart. The calling crate needs `serde`.
#[macro_export]
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal => $stored:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $stored)] $variant),+
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value of a proto enum number; `None` for 0 (unspecified) or an unknown number.
            pub fn from_wire(n: i32) -> Option<Self> {
                match n {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The proto enum number.
            pub fn wire(self) -> i32 {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// The stored name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $stored,)+
                }
            }
        }
    };
}

crate::vocabulary!(
    /// A field of regional activity (活動分野).
    Field {
        /// 農業.
        Agriculture = 1 => "agriculture",
        /// 食.
        Food = 2 => "food",
        /// 子育て.
        Childcare = 3 => "childcare",
        /// 生活支援.
        DailyLifeSupport = 4 => "daily_life_support",
        /// 福祉.
        Welfare = 5 => "welfare",
        /// 教育.
        Education = 6 => "education",
        /// 環境.
        Environment = 7 => "environment",
        /// 防災.
        DisasterPrevention = 8 => "disaster_prevention",
        /// デジタル.
        Digital = 9 => "digital",
        /// 文化.
        Culture = 10 => "culture",
        /// 地域コミュニティ.
        Community = 11 => "community",
        /// Anything else.
        Other = 12 => "other",
    }
);

crate::vocabulary!(
    /// How a person takes part (関わり方).
    EngagementForm {
        /// ボランティア.
        Volunteer = 1 => "volunteer",
        /// 有償ボランティア.
        JobBora = 2 => "job_bora",
        /// 労働者派遣: needs a dispatch licence.
        Dispatch = 3 => "dispatch",
        /// 有料職業紹介: needs a placement licence.
        Placement = 4 => "placement",
        /// 請負.
        Contract = 5 => "contract",
        /// 就労相談.
        Consultation = 6 => "consultation",
        /// 実践型インターンシップ.
        Internship = 7 => "internship",
        /// 学び.
        Learning = 8 => "learning",
    }
);

crate::vocabulary!(
    /// How physically demanding something is, or how much a person can take.
    PhysicalLoad {
        /// Seated or walking work.
        Light = 1 => "light",
        /// Standing, carrying light loads.
        Moderate = 2 => "moderate",
        /// Sustained physical work.
        Heavy = 3 => "heavy",
    }
);

crate::vocabulary!(
    /// A day of the week (Monday first, as in ISO 8601).
    Weekday {
        /// Monday.
        Monday = 1 => "mon",
        /// Tuesday.
        Tuesday = 2 => "tue",
        /// Wednesday.
        Wednesday = 3 => "wed",
        /// Thursday.
        Thursday = 4 => "thu",
        /// Friday.
        Friday = 5 => "fri",
        /// Saturday.
        Saturday = 6 => "sat",
        /// Sunday.
        Sunday = 7 => "sun",
    }
);

impl Weekday {
    /// The weekday of a calendar date.
    pub fn of(date: chrono::NaiveDate) -> Self {
        use chrono::Datelike;
        Self::ALL[date.weekday().num_days_from_monday() as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_numbers_and_stored_names_round_trip() {
        for f in Field::ALL {
            assert_eq!(Field::from_wire(f.wire()), Some(*f));
            let json = serde_json::to_string(f).expect("encodes");
            assert_eq!(json, format!("\"{}\"", f.as_str()));
        }
        assert_eq!(Field::from_wire(0), None);
        assert_eq!(EngagementForm::from_wire(99), None);
    }

    #[test]
    fn weekdays_of_dates() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        assert_eq!(Weekday::of(d), Weekday::Monday);
    }
}
