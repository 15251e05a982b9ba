//! Incentives on the wire: the municipality's policy, and residents' accounts — points granted
//! by hand, redeemed, and read back. Awards themselves are made with the attendance that earns
//! them (see `commands`).

use mosaic_api::command::{Execute, execute, first_answer, load, new_event};
use mosaic_api::status::from_db;
use mosaic_api::{FieldErrors, RequestContext, wire};
use mosaic_auth::{Caller, Role};
use mosaic_domain::Aggregate;
use mosaic_eventstore::{StoredEvent, StreamEvents};
use mosaic_proto::v1 as pb;
use mosaic_types::{ResidentId, jst_date};
use tonic::{Request, Status};

use super::{FollowUpApi, STAFF, expect, read_head, refused};
use crate::domain::account::{
    Account, AccountAction, AccountCommand, Attended, IncentivePolicy, MAX_POINTS, Offer,
    fiscal_year,
};
use crate::domain::{Cap, FollowUpEvent, GrantReason, IncentivePolicySet, RedemptionPurpose};

/// The stream of a municipality's incentive policy.
pub const POLICY_STREAM: &str = "incentive-policy";
/// Who sets the policy.
const OFFICERS: &[Role] = &[Role::MunicipalityOfficer, Role::Operator];
/// Staff, and residents for themselves.
const STAFF_AND_RESIDENTS: &[Role] = &[
    Role::Coordinator,
    Role::MunicipalityOfficer,
    Role::Operator,
    Role::Resident,
];
/// How often an account command is decided again after another wrote the account first: enough
/// for dozens of clients on one account at once.
const ATTEMPTS: usize = 64;
/// The most entries an account answer lists.
const ENTRIES: usize = 100;

/// The stream of a resident's account.
pub fn account_stream(resident: &str) -> String {
    format!("account-{resident}")
}

fn policy_wire(p: &IncentivePolicySet) -> pb::IncentivePolicy {
    pb::IncentivePolicy {
        points_per_hour: p.points_per_hour,
        max_points_per_day: p.max_points_per_day,
        max_points_per_year: p.max_points_per_year,
        max_hours_per_week: p.max_hours_per_week,
        max_days_per_month: p.max_days_per_month,
    }
}

/// An award on the wire.
pub fn award_wire(a: &crate::domain::AwardGranted) -> pb::Award {
    pb::Award {
        engagement_id: a.engagement_id.clone(),
        session: Some(wire::to_date(a.session)),
        minutes_counted: a.minutes_counted,
        points: a.points,
        transport_fee_yen: a.transport_fee_yen,
        honorarium_yen: a.honorarium_yen,
        capped: a.capped.iter().map(|c: &Cap| c.wire()).collect(),
    }
}

/// An account on the wire: `history` is its stream, `account` the state after it (and after
/// `fresh`, events not yet stored), `today` fixes the fiscal year.
fn account_wire(
    resident: &str,
    account: &Account,
    history: &[StoredEvent],
    fresh: &[FollowUpEvent],
    today: chrono::NaiveDate,
) -> Result<pb::Account, Status> {
    let mut events: Vec<FollowUpEvent> = fresh.iter().rev().cloned().collect();
    for e in history.iter().rev() {
        if events.len() >= ENTRIES {
            break;
        }
        events.push(mosaic_api::command::decode(e)?);
    }
    events.truncate(ENTRIES);
    let entries = events
        .iter()
        .filter_map(|e| {
            let (kind, on, points) = match e {
                FollowUpEvent::AwardGranted(a) => {
                    (pb::EntryKind::Award, a.session, i64::from(a.points))
                }
                FollowUpEvent::PointsGranted(g) => {
                    (pb::EntryKind::Grant, g.on, i64::from(g.points))
                }
                FollowUpEvent::PointsRedeemed(r) => {
                    (pb::EntryKind::Redemption, r.on, -i64::from(r.points))
                }
                _ => return None,
            };
            Some(pb::AccountEntry {
                kind: kind as i32,
                on: Some(wire::to_date(on)),
                points,
                award: match e {
                    FollowUpEvent::AwardGranted(a) => Some(award_wire(a)),
                    _ => None,
                },
                reason: match e {
                    FollowUpEvent::PointsGranted(g) => g.reason.wire(),
                    _ => 0,
                },
                purpose: match e {
                    FollowUpEvent::PointsRedeemed(r) => r.purpose.wire(),
                    _ => 0,
                },
            })
        })
        .collect();
    Ok(pb::Account {
        resident_id: resident.to_owned(),
        balance: account.balance,
        points_this_year: account
            .points_by_year
            .get(&fiscal_year(today))
            .copied()
            .unwrap_or(0),
        transport_fee_yen: account.transport_fee_yen,
        honorarium_yen: account.honorarium_yen,
        entries,
        version: history.last().map_or(0, |e| e.version) + fresh.len() as u64,
    })
}

impl FollowUpApi {
    /// The municipality's incentive policy and its version.
    pub(super) async fn policy(
        &self,
        ctx: &RequestContext,
    ) -> Result<(IncentivePolicySet, u64), Status> {
        let (p, version) =
            load::<IncentivePolicy>(self.store.as_ref(), ctx.municipality, POLICY_STREAM).await?;
        Ok((p.policy, version))
    }

    /// What an activity offers per session, as follow-up knows it (nothing if unknown).
    pub(super) async fn offer(
        &self,
        ctx: &RequestContext,
        activity: &str,
    ) -> Result<Offer, Status> {
        let row: Option<(i64, i64, i64)> = mosaic_db::on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT transport_fee_yen, honorarium_yen, local_points FROM followup_activities \
                 WHERE municipality = $1 AND activity_id = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(activity)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        let n = |v: i64| u32::try_from(v).unwrap_or(0);
        Ok(row.map_or_else(Offer::default, |(t, h, p)| Offer {
            transport_fee_yen: n(t),
            honorarium_yen: n(h),
            local_points: n(p),
        }))
    }

    /// Refuses a resident the caller may not act for: a resident other than themself, or one
    /// with no engagement in this municipality (NOT_FOUND, as for one that does not exist).
    async fn account_holder(&self, ctx: &RequestContext, resident: &str) -> Result<(), Status> {
        let missing = || {
            Status::not_found(format!(
                "resident_id: resident {resident} has no engagement in this municipality"
            ))
        };
        if ctx.caller.role == Role::Resident {
            return if self.me(ctx).await?.as_deref() == Some(resident) {
                Ok(())
            } else {
                Err(missing())
            };
        }
        let known: Option<i32> = mosaic_db::on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT 1 FROM followup_engagements WHERE municipality = $1 AND resident_id = $2 \
                 LIMIT 1",
            )
            .bind(ctx.municipality.as_str())
            .bind(resident)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        known.map(|_| ()).ok_or_else(missing)
    }

    /// Decides `action` on a resident's account and appends it with the account as its answer;
    /// decided again, up to [`ATTEMPTS`] times, when another change of the account came first.
    async fn on_account<R: prost::Message + Default + Clone>(
        &self,
        ctx: &RequestContext,
        resident: &str,
        action: AccountAction,
        answer: impl Fn(pb::Account) -> R,
    ) -> Result<R, Status> {
        self.account_holder(ctx, resident).await?;
        if let Some(first) = first_answer(self.store.as_ref(), ctx).await? {
            return Ok(first);
        }
        let command = AccountCommand {
            resident_id: ResidentId::from(resident),
            action,
        };
        let today = jst_date(ctx.received_at);
        for _ in 0..ATTEMPTS {
            let history = self
                .store
                .read_stream(ctx.municipality, &account_stream(resident))
                .await
                .map_err(mosaic_api::status::from_store)?;
            let (state, version) = mosaic_api::command::replay::<Account>(&history)?;
            let events = state
                .decide(&command)
                .map_err(|e| refused(e, "resident_id", resident))?;
            let after = events.iter().fold(state, |s, e| s.evolve(e));
            let reply = answer(account_wire(resident, &after, &history, &events, today)?);
            if let Some(reply) = self
                .append(ctx, account_stream(resident), version, &events, reply)
                .await?
            {
                return Ok(reply);
            }
        }
        Err(Status::aborted(format!(
            "resident_id: {ATTEMPTS} other changes of the account came first; retry"
        )))
    }

    /// The awards `attended` sessions earn, and the appends of their accounts (at the versions
    /// read) to make with the attendance.
    pub(super) async fn awards(
        &self,
        ctx: &RequestContext,
        attended: Vec<(ResidentId, Attended)>,
        offer: Offer,
        policy: &(IncentivePolicySet, u64),
    ) -> Result<(Vec<pb::Award>, Vec<StreamEvents>), Status> {
        // Every account in one read.
        let mut residents: Vec<&ResidentId> = attended.iter().map(|(r, _)| r).collect();
        residents.sort();
        residents.dedup();
        let names: Vec<String> = residents
            .iter()
            .map(|r| account_stream(r.as_str()))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let histories = self
            .store
            .read_streams(ctx.municipality, &names)
            .await
            .map_err(mosaic_api::status::from_store)?;
        let mut accounts: Vec<(ResidentId, Account, u64, Vec<FollowUpEvent>)> = residents
            .iter()
            .zip(&histories)
            .map(|(r, h)| {
                let (account, version) = mosaic_api::command::replay::<Account>(h)?;
                Ok(((*r).clone(), account, version, Vec::new()))
            })
            .collect::<Result<_, Status>>()?;
        for (resident, a) in attended {
            let Some((_, account, _, events)) = accounts.iter_mut().find(|(r, ..)| *r == resident)
            else {
                continue;
            };
            let command = AccountCommand {
                resident_id: resident,
                action: AccountAction::Award {
                    attended: a,
                    offer,
                    policy: policy.clone(),
                },
            };
            let decided = account
                .decide(&command)
                .map_err(|e| refused(e, "entries", ""))?;
            *account = decided
                .iter()
                .fold(std::mem::take(account), |s, e| s.evolve(e));
            events.extend(decided);
        }
        let mut awards = Vec::new();
        let mut streams = Vec::new();
        for (resident, _, version, events) in accounts {
            if events.is_empty() {
                continue;
            }
            awards.extend(events.iter().filter_map(|e| match e {
                FollowUpEvent::AwardGranted(a) => Some(award_wire(a)),
                _ => None,
            }));
            streams.push(StreamEvents {
                stream_id: account_stream(resident.as_str()),
                expected: expect(version),
                events: events
                    .iter()
                    .map(|e| new_event(e, ctx.received_at))
                    .collect::<Result<_, _>>()?,
            });
        }
        Ok((awards, streams))
    }

    pub(super) async fn set_incentive_policy_impl(
        &self,
        request: Request<pb::SetIncentivePolicyRequest>,
    ) -> Result<pb::SetIncentivePolicyResponse, Status> {
        Caller::from_request(&request)?.require_role(OFFICERS)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        if body.policy.is_none() {
            errors.add("policy", "is required");
        }
        errors.finish()?;
        let p = body.policy.unwrap_or_default();
        let set = IncentivePolicySet {
            points_per_hour: p.points_per_hour,
            max_points_per_day: p.max_points_per_day,
            max_points_per_year: p.max_points_per_year,
            max_hours_per_week: p.max_hours_per_week,
            max_days_per_month: p.max_days_per_month,
        };
        let exec = Execute::<IncentivePolicy> {
            stream_id: POLICY_STREAM.into(),
            expected_version: (body.expected_version > 0).then_some(body.expected_version),
            command: set,
            occurred_at: ctx.received_at,
            fresh: false,
        };
        execute(self.store.as_ref(), &ctx, exec, |state, version| {
            pb::SetIncentivePolicyResponse {
                policy: Some(policy_wire(&state.policy)),
                version,
            }
        })
        .await
    }

    pub(super) async fn get_incentive_policy_impl(
        &self,
        request: Request<pb::GetIncentivePolicyRequest>,
    ) -> Result<pb::GetIncentivePolicyResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let ctx = RequestContext::query(&request)?;
        let (p, version) = self.policy(&ctx).await?;
        Ok(pb::GetIncentivePolicyResponse {
            policy: Some(policy_wire(&p)),
            version,
        })
    }

    pub(super) async fn grant_points_impl(
        &self,
        request: Request<pb::GrantPointsRequest>,
    ) -> Result<pb::GrantPointsResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        let resident = wire::id(&mut errors, "resident_id", &body.resident_id).unwrap_or_default();
        points(&mut errors, body.points);
        let reason = GrantReason::from_wire(body.reason);
        if reason.is_none() {
            errors.add(
                "reason",
                "is required: SPONTANEOUS_ENGAGEMENT, EVENT or CORRECTION",
            );
        }
        let today = jst_date(ctx.received_at);
        let on = body
            .on
            .as_ref()
            .and_then(|d| wire::date(&mut errors, "on", Some(d)))
            .unwrap_or(today);
        if on > today {
            errors.add("on", format!("{on} is after today ({today})"));
        }
        errors.finish()?;
        let (policy, _) = self.policy(&ctx).await?;
        let action = AccountAction::Grant {
            points: body.points,
            reason: reason.unwrap_or(GrantReason::Event),
            on,
            today,
            policy,
        };
        self.on_account(&ctx, &resident, action, |account| pb::GrantPointsResponse {
            account: Some(account),
        })
        .await
    }

    pub(super) async fn redeem_points_impl(
        &self,
        request: Request<pb::RedeemPointsRequest>,
    ) -> Result<pb::RedeemPointsResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF_AND_RESIDENTS)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        let resident = wire::id(&mut errors, "resident_id", &body.resident_id).unwrap_or_default();
        points(&mut errors, body.points);
        let purpose = RedemptionPurpose::from_wire(body.purpose);
        if purpose.is_none() {
            errors.add(
                "purpose",
                "is required: LOCAL_SHOP, PUBLIC_TRANSPORT, DONATION or OTHER",
            );
        }
        errors.finish()?;
        let action = AccountAction::Redeem {
            points: body.points,
            purpose: purpose.unwrap_or(RedemptionPurpose::Other),
            today: jst_date(ctx.received_at),
        };
        self.on_account(&ctx, &resident, action, |account| {
            pb::RedeemPointsResponse {
                account: Some(account),
            }
        })
        .await
    }

    pub(super) async fn get_account_impl(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<pb::GetAccountResponse, Status> {
        let (ctx, resident) = read_head(
            &request,
            STAFF_AND_RESIDENTS,
            "resident_id",
            &request.get_ref().resident_id,
        )?;
        self.account_holder(&ctx, &resident).await?;
        let history = self
            .store
            .read_stream(ctx.municipality, &account_stream(&resident))
            .await
            .map_err(mosaic_api::status::from_store)?;
        let (account, _) = mosaic_api::command::replay::<Account>(&history)?;
        Ok(pb::GetAccountResponse {
            account: Some(account_wire(
                &resident,
                &account,
                &history,
                &[],
                jst_date(ctx.received_at),
            )?),
        })
    }
}

/// Checks a number of points to grant or redeem.
fn points(errors: &mut FieldErrors, points: u32) {
    if !(1..=MAX_POINTS).contains(&points) {
        errors.add("points", format!("{points} is outside 1 to {MAX_POINTS}"));
    }
}
