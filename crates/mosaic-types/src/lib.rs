//! Validated value types shared by every Mosaic context.
//!
//! Values here parse once at the edge and cannot be invalid afterwards, so domain code never
//! re-checks them: a [`MunicipalityCode`] always carries a correct check digit, a typed id is
//! never confused with another kind of id, and Japan-time helpers agree on one offset.

mod backoff;
mod ids;
mod municipality;
mod schema;
mod skill;
mod time;
mod vocab;
mod weekly;

pub use backoff::Backoff;
pub use ids::{
    ActivityId, CoordinatorId, EventId, IdParseError, MatchId, OrganisationId, PieceId, ResidentId,
};
pub use municipality::{MunicipalityCode, MunicipalityCodeError};
pub use skill::{Skill, SkillError, SkillLevel, SkillTag};
pub use time::{JST, fiscal_year, jst_date, now_utc};
pub use vocab::{EngagementForm, Field, PhysicalLoad, Weekday};
pub use weekly::{DAY_MINUTES, WeeklyWindow, WindowError, first_overlap};
