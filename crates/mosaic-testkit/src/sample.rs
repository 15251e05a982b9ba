//! Realistic sample values for benchmarks and demos: the districts of a city like Kashiwa and a
//! controlled vocabulary of skills, so every generator speaks of the same place.

/// Kashiwa's municipality code.
pub const KASHIWA: &str = "122173";

/// Twenty districts (地区).
pub const DISTRICTS: [&str; 20] = [
    "柏",
    "豊四季",
    "新富",
    "旭町",
    "富勢",
    "田中",
    "西原",
    "光ヶ丘",
    "酒井根",
    "南部",
    "永楽台",
    "増尾",
    "松葉",
    "高田",
    "豊四季台",
    "大津ヶ丘",
    "手賀",
    "風早北部",
    "風早南部",
    "高柳",
];

/// Thirty skill tags of the controlled vocabulary.
pub const SKILLS: [&str; 30] = [
    "accounting",
    "driving",
    "farming",
    "cooking",
    "childcare",
    "pc_basics",
    "teaching",
    "carpentry",
    "gardening",
    "cleaning",
    "nursing_care",
    "english",
    "calligraphy",
    "music",
    "sales",
    "management",
    "law",
    "bookkeeping",
    "welding",
    "sewing",
    "photography",
    "web",
    "spreadsheets",
    "translation",
    "first_aid",
    "counselling",
    "event_planning",
    "writing",
    "repair",
    "logistics",
];
