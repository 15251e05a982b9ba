//! Incentives: a municipality's incentive policy, and each resident's account of what they were
//! awarded (points, transport fees, honoraria) and redeemed. Accounts name residents by id only,
//! so these records — money among them — stay after a person's erasure, pseudonymous, for as
//! long as the law requires them kept.
//!
//! Streams: `incentive-policy` (one per municipality) and `account-<resident id>`.

use chrono::NaiveDate;
use mosaic_types::{ActivityId, ResidentId};
use serde::{Deserialize, Serialize};

mosaic_types::vocabulary!(
    /// A cap that cut an award.
    Cap {
        /// The most points a day.
        PointsPerDay = 1 => "points_per_day",
        /// The most points a fiscal year (April to March).
        PointsPerYear = 2 => "points_per_year",
        /// The most hours a week (Monday to Sunday) that earn anything.
        HoursPerWeek = 3 => "hours_per_week",
        /// The most days a month that earn anything.
        DaysPerMonth = 4 => "days_per_month",
    }
);

mosaic_types::vocabulary!(
    /// Why staff granted points by hand.
    GrantReason {
        /// Spontaneous engagement that grew out of an activity.
        SpontaneousEngagement = 1 => "spontaneous_engagement",
        /// Help at a municipal event outside any activity.
        Event = 2 => "event",
        /// Making good an award that was missed.
        Correction = 3 => "correction",
    }
);

mosaic_types::vocabulary!(
    /// What points were redeemed for.
    RedemptionPurpose {
        /// Goods or services at a local shop.
        LocalShop = 1 => "local_shop",
        /// Public transport.
        PublicTransport = 2 => "public_transport",
        /// A donation to a local cause.
        Donation = 3 => "donation",
        /// Anything else the municipality offers.
        Other = 4 => "other",
    }
);

/// Payload of `IncentivePolicySet`: how attendance earns points, and the caps. Zero means no
/// points (`points_per_hour`) or no cap (the others).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IncentivePolicySet {
    /// Points per hour attended (whole hours and minutes pro rata, rounded down).
    pub points_per_hour: u32,
    /// The most points a day.
    pub max_points_per_day: u32,
    /// The most points a fiscal year (April to March).
    pub max_points_per_year: u32,
    /// The most hours a week that earn points, fees or honoraria (Silver Human Resources
    /// Centre style: work beyond them earns nothing).
    pub max_hours_per_week: u32,
    /// The most days a month that earn anything.
    pub max_days_per_month: u32,
}

/// Payload of `AwardGranted`: what one attended session earned. At most one per engagement and
/// session, from the first record of the session by the host or staff that earns anything (or
/// is cut by a cap); a later correction of the session changes no award.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AwardGranted {
    /// The resident.
    pub resident_id: ResidentId,
    /// The engagement.
    pub engagement_id: String,
    /// Its activity (whose offer paid the fees).
    pub activity_id: ActivityId,
    /// The session (JST).
    pub session: NaiveDate,
    /// Minutes attended that earned anything (after the hours and days caps).
    pub minutes_counted: u32,
    /// Points awarded (after the points caps).
    pub points: u32,
    /// Transport fee owed, yen.
    pub transport_fee_yen: u32,
    /// Honorarium owed, yen.
    pub honorarium_yen: u32,
    /// The caps that cut it, if any.
    pub capped: Vec<Cap>,
    /// The version of the incentive policy applied (0: none set).
    pub policy_version: u64,
}

/// Payload of `PointsGranted`: points staff granted by hand, within the caps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PointsGranted {
    /// The resident.
    pub resident_id: ResidentId,
    /// How many.
    pub points: u32,
    /// Why.
    pub reason: GrantReason,
    /// The day they count on (JST).
    pub on: NaiveDate,
}

/// Payload of `PointsRedeemed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PointsRedeemed {
    /// The resident.
    pub resident_id: ResidentId,
    /// How many.
    pub points: u32,
    /// For what.
    pub purpose: RedemptionPurpose,
    /// When (JST).
    pub on: NaiveDate,
}
