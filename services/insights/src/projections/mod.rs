//! Read models built from other contexts' events.

mod municipality_overview;

pub use municipality_overview::MunicipalityOverview;
