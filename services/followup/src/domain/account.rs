//! A resident's incentive account and the municipality's incentive policy.
//!
//! An attended session earns, once per engagement and session: points per hour under the
//! policy plus the activity's points per session, and the activity's transport fee and
//! honorarium. The caps cut it in this order: days a month and hours a week (work beyond them
//! earns nothing, fees included), then points a day and a fiscal year (April to March). Staff may
//! grant points by hand within the points caps; a grant past one is refused. A redemption never
//! takes the balance below zero.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate};
use mosaic_events::followup::{
    AwardGranted, Cap, FollowUpEvent, GrantReason, IncentivePolicySet, PointsGranted,
    PointsRedeemed, RedemptionPurpose,
};
use mosaic_types::{ActivityId, ResidentId};

use super::engagement::FollowUpError;

/// The most points one grant or redemption moves.
pub const MAX_POINTS: u32 = 1_000_000;

/// The fiscal year (年度, April to March) a day falls in, by the year it starts.
pub fn fiscal_year(day: NaiveDate) -> i32 {
    if day.month() >= 4 {
        day.year()
    } else {
        day.year() - 1
    }
}

/// The Monday of a day's week.
fn monday(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
        .unwrap_or(day)
}

/// What an activity offers per session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offer {
    /// Transport fee, yen.
    pub transport_fee_yen: u32,
    /// Honorarium, yen.
    pub honorarium_yen: u32,
    /// Points.
    pub local_points: u32,
}

/// An attended session to award.
#[derive(Debug, Clone, PartialEq)]
pub struct Attended {
    /// The engagement.
    pub engagement_id: String,
    /// Its activity.
    pub activity_id: ActivityId,
    /// The session.
    pub session: NaiveDate,
    /// Minutes attended.
    pub minutes: u32,
}

/// What can be asked of a resident's account.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountCommand {
    /// The resident.
    pub resident_id: ResidentId,
    /// What.
    pub action: AccountAction,
}

/// What can be done on an account.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountAction {
    /// Award an attended session.
    Award {
        /// The session.
        attended: Attended,
        /// What its activity offers.
        offer: Offer,
        /// The policy, and its version.
        policy: (IncentivePolicySet, u64),
    },
    /// Grant points by hand.
    Grant {
        /// How many.
        points: u32,
        /// Why.
        reason: GrantReason,
        /// The day they count on.
        on: NaiveDate,
        /// Today (JST).
        today: NaiveDate,
        /// The policy (its points caps).
        policy: IncentivePolicySet,
    },
    /// Redeem points.
    Redeem {
        /// How many.
        points: u32,
        /// For what.
        purpose: RedemptionPurpose,
        /// Today (JST).
        today: NaiveDate,
    },
}

/// One resident's account, folded from its stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Account {
    /// The resident (empty before the first entry).
    pub resident_id: Option<ResidentId>,
    /// Points to redeem.
    pub balance: u64,
    /// Points awarded or granted, by day.
    pub points_by_day: BTreeMap<NaiveDate, u64>,
    /// Points awarded or granted, by fiscal year.
    pub points_by_year: BTreeMap<i32, u64>,
    /// Minutes that earned, by the Monday of their week.
    pub minutes_by_week: BTreeMap<NaiveDate, u32>,
    /// Days that earned, by year and month.
    pub days_by_month: BTreeMap<(i32, u32), BTreeSet<NaiveDate>>,
    /// Sessions awarded: engagement and day.
    pub awarded: BTreeSet<(String, NaiveDate)>,
    /// Transport fees owed over all time, yen.
    pub transport_fee_yen: u64,
    /// Honoraria owed over all time, yen.
    pub honorarium_yen: u64,
}

impl Account {
    fn day_points(&self, day: NaiveDate) -> u64 {
        self.points_by_day.get(&day).copied().unwrap_or(0)
    }

    fn year_points(&self, day: NaiveDate) -> u64 {
        self.points_by_year
            .get(&fiscal_year(day))
            .copied()
            .unwrap_or(0)
    }

    /// Points still allowed on `day` under `policy`'s points caps, and the cap that binds.
    fn points_room(&self, day: NaiveDate, policy: &IncentivePolicySet) -> Vec<(u64, Cap)> {
        let mut room = Vec::new();
        if policy.max_points_per_day > 0 {
            room.push((
                u64::from(policy.max_points_per_day).saturating_sub(self.day_points(day)),
                Cap::PointsPerDay,
            ));
        }
        if policy.max_points_per_year > 0 {
            room.push((
                u64::from(policy.max_points_per_year).saturating_sub(self.year_points(day)),
                Cap::PointsPerYear,
            ));
        }
        room
    }

    fn award(
        &self,
        resident_id: &ResidentId,
        a: &Attended,
        offer: Offer,
        (policy, version): &(IncentivePolicySet, u64),
    ) -> Vec<FollowUpEvent> {
        if self.awarded.contains(&(a.engagement_id.clone(), a.session)) {
            return vec![];
        }
        let mut capped = Vec::new();
        let mut minutes = a.minutes;
        let month = (a.session.year(), a.session.month());
        let days = self.days_by_month.get(&month);
        if policy.max_days_per_month > 0
            && !days.is_some_and(|d| d.contains(&a.session))
            && days.map_or(0, BTreeSet::len) >= policy.max_days_per_month as usize
        {
            minutes = 0;
            capped.push(Cap::DaysPerMonth);
        }
        if policy.max_hours_per_week > 0 && minutes > 0 {
            let used = self
                .minutes_by_week
                .get(&monday(a.session))
                .copied()
                .unwrap_or(0);
            let room = (policy.max_hours_per_week * 60).saturating_sub(used);
            if minutes > room {
                minutes = room;
                capped.push(Cap::HoursPerWeek);
            }
        }
        let earns = minutes > 0;
        let mut points = if earns {
            u64::from(policy.points_per_hour) * u64::from(minutes) / 60
                + u64::from(offer.local_points)
        } else {
            0
        };
        for (room, cap) in self.points_room(a.session, policy) {
            if points > room {
                points = room;
                capped.push(cap);
            }
        }
        let (transport, honorarium) = if earns {
            (offer.transport_fee_yen, offer.honorarium_yen)
        } else {
            (0, 0)
        };
        if points == 0 && transport == 0 && honorarium == 0 && capped.is_empty() {
            return vec![];
        }
        vec![FollowUpEvent::AwardGranted(AwardGranted {
            resident_id: resident_id.clone(),
            engagement_id: a.engagement_id.clone(),
            activity_id: a.activity_id.clone(),
            session: a.session,
            minutes_counted: minutes,
            points: u32::try_from(points).unwrap_or(u32::MAX),
            transport_fee_yen: transport,
            honorarium_yen: honorarium,
            capped,
            policy_version: *version,
        })]
    }

    /// Decides `command` on the account of `resident_id`.
    pub fn decide_for(
        &self,
        resident_id: &ResidentId,
        command: &AccountAction,
    ) -> Result<Vec<FollowUpEvent>, FollowUpError> {
        let invalid = |field: &str, reason: String| FollowUpError::Invalid {
            field: field.into(),
            reason,
        };
        let points_in_range = |points: u32| {
            if (1..=MAX_POINTS).contains(&points) {
                Ok(())
            } else {
                Err(invalid(
                    "points",
                    format!("{points} is outside 1 to {MAX_POINTS}"),
                ))
            }
        };
        match command {
            AccountAction::Award {
                attended,
                offer,
                policy,
            } => Ok(self.award(resident_id, attended, *offer, policy)),
            AccountAction::Grant {
                points,
                reason,
                on,
                today,
                policy,
            } => {
                points_in_range(*points)?;
                if on > today {
                    return Err(invalid("on", format!("{on} is after today ({today})")));
                }
                for (room, cap) in self.points_room(*on, policy) {
                    if u64::from(*points) > room {
                        return Err(FollowUpError::Rule(format!(
                            "points: {points} would pass the cap of {} ({room} left)",
                            cap.as_str()
                        )));
                    }
                }
                Ok(vec![FollowUpEvent::PointsGranted(PointsGranted {
                    resident_id: resident_id.clone(),
                    points: *points,
                    reason: *reason,
                    on: *on,
                })])
            }
            AccountAction::Redeem {
                points,
                purpose,
                today,
            } => {
                points_in_range(*points)?;
                if u64::from(*points) > self.balance {
                    return Err(FollowUpError::Rule(format!(
                        "points: {points} is more than the balance of {}",
                        self.balance
                    )));
                }
                Ok(vec![FollowUpEvent::PointsRedeemed(PointsRedeemed {
                    resident_id: resident_id.clone(),
                    points: *points,
                    purpose: *purpose,
                    on: *today,
                })])
            }
        }
    }
}

impl mosaic_domain::Aggregate for Account {
    type Command = AccountCommand;
    type Event = FollowUpEvent;
    type Error = FollowUpError;

    fn decide(&self, c: &AccountCommand) -> Result<Vec<FollowUpEvent>, FollowUpError> {
        self.decide_for(&c.resident_id, &c.action)
    }

    fn evolve(mut self, event: &FollowUpEvent) -> Self {
        let earn = |s: &mut Self, day: NaiveDate, points: u32| {
            *s.points_by_day.entry(day).or_default() += u64::from(points);
            *s.points_by_year.entry(fiscal_year(day)).or_default() += u64::from(points);
            s.balance += u64::from(points);
        };
        match event {
            FollowUpEvent::AwardGranted(a) => {
                self.resident_id = Some(a.resident_id.clone());
                self.awarded.insert((a.engagement_id.clone(), a.session));
                if a.minutes_counted > 0 {
                    *self.minutes_by_week.entry(monday(a.session)).or_default() +=
                        a.minutes_counted;
                    self.days_by_month
                        .entry((a.session.year(), a.session.month()))
                        .or_default()
                        .insert(a.session);
                }
                earn(&mut self, a.session, a.points);
                self.transport_fee_yen += u64::from(a.transport_fee_yen);
                self.honorarium_yen += u64::from(a.honorarium_yen);
            }
            FollowUpEvent::PointsGranted(g) => {
                self.resident_id = Some(g.resident_id.clone());
                earn(&mut self, g.on, g.points);
            }
            FollowUpEvent::PointsRedeemed(r) => {
                self.resident_id = Some(r.resident_id.clone());
                self.balance = self.balance.saturating_sub(u64::from(r.points));
            }
            _ => {}
        }
        self
    }
}

/// The largest figures a policy takes.
const POLICY_LIMITS: [(&str, u32); 5] = [
    ("points_per_hour", 10_000),
    ("max_points_per_day", 1_000_000),
    ("max_points_per_year", 100_000_000),
    ("max_hours_per_week", 168),
    ("max_days_per_month", 31),
];

/// The municipality's incentive policy, folded from its stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncentivePolicy {
    /// The policy in force (all zero before one is set: no points, no caps).
    pub policy: IncentivePolicySet,
}

impl mosaic_domain::Aggregate for IncentivePolicy {
    type Command = IncentivePolicySet;
    type Event = FollowUpEvent;
    type Error = FollowUpError;

    fn decide(&self, set: &IncentivePolicySet) -> Result<Vec<FollowUpEvent>, FollowUpError> {
        let values = [
            set.points_per_hour,
            set.max_points_per_day,
            set.max_points_per_year,
            set.max_hours_per_week,
            set.max_days_per_month,
        ];
        for ((field, most), value) in POLICY_LIMITS.iter().zip(values) {
            if value > *most {
                return Err(FollowUpError::Invalid {
                    field: format!("policy.{field}"),
                    reason: format!("{value} is over {most}"),
                });
            }
        }
        Ok(if *set == self.policy {
            vec![]
        } else {
            vec![FollowUpEvent::IncentivePolicySet(set.clone())]
        })
    }

    fn evolve(mut self, event: &FollowUpEvent) -> Self {
        if let FollowUpEvent::IncentivePolicySet(p) = event {
            self.policy = p.clone();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mosaic_domain::Aggregate;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    fn resident() -> ResidentId {
        "r-1".into()
    }

    fn attended(engagement: &str, session: &str, minutes: u32) -> Attended {
        Attended {
            engagement_id: engagement.into(),
            activity_id: "a-1".into(),
            session: day(session),
            minutes,
        }
    }

    fn award(a: Attended, policy: &IncentivePolicySet) -> AccountAction {
        AccountAction::Award {
            attended: a,
            offer: Offer {
                transport_fee_yen: 500,
                honorarium_yen: 0,
                local_points: 10,
            },
            policy: (policy.clone(), 1),
        }
    }

    fn run(account: Account, command: &AccountAction) -> (Account, Vec<FollowUpEvent>) {
        let events = account
            .decide_for(&resident(), command)
            .unwrap_or_else(|e| panic!("{e}"));
        (events.iter().fold(account, |s, e| s.evolve(e)), events)
    }

    fn granted(events: &[FollowUpEvent]) -> (u32, u32, Vec<Cap>) {
        match events {
            [FollowUpEvent::AwardGranted(a)] => (a.points, a.minutes_counted, a.capped.clone()),
            [] => (0, 0, vec![]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_session_is_awarded_once_points_per_hour_and_per_session() {
        let policy = IncentivePolicySet {
            points_per_hour: 60,
            ..Default::default()
        };
        let (s, events) = run(
            Account::default(),
            &award(attended("e-1", "2027-04-05", 90), &policy),
        );
        assert_eq!(granted(&events), (90 + 10, 90, vec![]));
        assert_eq!((s.balance, s.transport_fee_yen), (100, 500));
        let (s, events) = run(s, &award(attended("e-1", "2027-04-05", 120), &policy));
        assert!(events.is_empty(), "never twice for the same session");
        let (s, _) = run(s, &award(attended("e-2", "2027-04-05", 60), &policy));
        assert_eq!(s.balance, 170, "another engagement's session earns its own");
    }

    #[test]
    fn the_caps_cut_awards_in_order_and_fees_follow_the_hours() {
        let policy = IncentivePolicySet {
            points_per_hour: 60,
            max_points_per_day: 150,
            max_points_per_year: 400,
            max_hours_per_week: 3,
            max_days_per_month: 3,
        };
        // Monday 5 April: 2 hours (130 points).
        let (s, e) = run(
            Account::default(),
            &award(attended("e-1", "2027-04-05", 120), &policy),
        );
        assert_eq!(granted(&e), (130, 120, vec![]));
        // The same day, another engagement: 1 hour left this week, 20 points left today.
        let (s, e) = run(s, &award(attended("e-2", "2027-04-05", 120), &policy));
        assert_eq!(
            granted(&e),
            (20, 60, vec![Cap::HoursPerWeek, Cap::PointsPerDay])
        );
        // Later that week: no hours left, so nothing — fees neither.
        let (s, e) = run(s, &award(attended("e-1", "2027-04-07", 60), &policy));
        assert_eq!(granted(&e), (0, 0, vec![Cap::HoursPerWeek]));
        assert_eq!(s.transport_fee_yen, 1_000);
        // Next weeks: the third day of the month earns; the fourth does not.
        let (s, e) = run(s, &award(attended("e-1", "2027-04-12", 60), &policy));
        assert_eq!(granted(&e), (70, 60, vec![]));
        let (s, e) = run(s, &award(attended("e-1", "2027-04-19", 60), &policy));
        assert_eq!(granted(&e), (70, 60, vec![]));
        let (s, e) = run(s, &award(attended("e-1", "2027-04-26", 60), &policy));
        assert_eq!(granted(&e), (0, 0, vec![Cap::DaysPerMonth]));
        // May: days again; 190 points cut to the day's 150, then to the 110 left of the
        // year's 400.
        let (s, e) = run(s, &award(attended("e-1", "2027-05-03", 180), &policy));
        assert_eq!(
            granted(&e),
            (110, 180, vec![Cap::PointsPerDay, Cap::PointsPerYear])
        );
        assert_eq!(s.balance, 400);
        // A new fiscal year in April 2028 starts again.
        let (s, e) = run(s, &award(attended("e-1", "2028-04-03", 60), &policy));
        assert_eq!(granted(&e), (70, 60, vec![]));
        assert_eq!(s.points_by_year[&2027], 400);
    }

    #[test]
    fn grants_stay_within_the_caps_and_redemptions_within_the_balance() {
        let policy = IncentivePolicySet {
            max_points_per_day: 100,
            ..Default::default()
        };
        let grant = |points| AccountAction::Grant {
            points,
            reason: GrantReason::Event,
            on: day("2027-04-05"),
            today: day("2027-04-06"),
            policy: policy.clone(),
        };
        let (s, _) = run(Account::default(), &grant(80));
        assert!(matches!(
            s.decide_for(&resident(), &grant(21)),
            Err(FollowUpError::Rule(_))
        ));
        assert!(matches!(
            s.decide_for(&resident(), &grant(0)),
            Err(FollowUpError::Invalid { .. })
        ));
        let redeem = |points| AccountAction::Redeem {
            points,
            purpose: RedemptionPurpose::LocalShop,
            today: day("2027-04-06"),
        };
        assert!(matches!(
            s.decide_for(&resident(), &redeem(81)),
            Err(FollowUpError::Rule(_))
        ));
        let (s, _) = run(s, &redeem(80));
        assert_eq!(s.balance, 0);
        // Redeemed points do not make room under the caps.
        assert!(matches!(
            s.decide_for(&resident(), &grant(21)),
            Err(FollowUpError::Rule(_))
        ));
    }

    #[test]
    fn a_policy_is_checked_and_set_once() {
        let p = IncentivePolicySet {
            max_hours_per_week: 169,
            ..Default::default()
        };
        assert!(matches!(
            IncentivePolicy::default().decide(&p),
            Err(FollowUpError::Invalid { field, .. }) if field == "policy.max_hours_per_week"
        ));
        let p = IncentivePolicySet {
            points_per_hour: 10,
            ..Default::default()
        };
        let events = IncentivePolicy::default().decide(&p).unwrap_or_default();
        let s = events
            .iter()
            .fold(IncentivePolicy::default(), |s, e| s.evolve(e));
        assert_eq!(s.decide(&p), Ok(vec![]));
    }
}
