//! The RPCs that move a match: apply, propose, interview, accept, decline, withdraw, cancel,
//! confirm; and the municipality's matching policy.

use chrono::{DateTime, Utc};
use mosaic_api::occurred_at::instant;
use mosaic_api::pipeline::{CommandRequest, Preamble};
use mosaic_api::{Execute, FieldErrors, RequestContext, execute_with, wire};
use mosaic_auth::Role;
use mosaic_events::matching::{MatchingPolicySet, Weights};
use mosaic_proto::v1 as pb;
use mosaic_types::{MatchId, PieceId, ResidentId};
use tonic::{Request, Status};

use super::booking::{Allow, Step};
use super::{MatchingApi, POLICY_SETTERS, Party, STAFF, match_id, view};
use crate::domain::facts::policy_stream;
use crate::domain::{Command, InterviewOutcome, Origin, Policy, Reason, Side};

/// Who applies: residents for themselves, staff for residents with a proxy agreement.
const APPLICANTS: &[Role] = &[
    Role::Resident,
    Role::Coordinator,
    Role::MunicipalityOfficer,
    Role::Operator,
];
/// Who takes the other steps; which of them may take one is decided on the match.
const PARTIES: &[Role] = super::PARTIES;

/// Staff or the activity's host.
fn staff_or_host(party: Party) -> Result<(), Status> {
    match party {
        Party::Staff | Party::Host => Ok(()),
        _ => Err(Status::permission_denied(
            "only staff or the activity's host organisation may take this step",
        )),
    }
}

/// Anyone who may see the match.
fn any_party(_: Party) -> Result<(), Status> {
    Ok(())
}

/// A step on an existing match named by the request.
struct OnMatch {
    ctx: RequestContext,
    at: DateTime<Utc>,
    id: MatchId,
    expected: Option<u64>,
}

impl OnMatch {
    /// Reads the common fields, then the step's own (`more`), answering every violation at once.
    fn begin<T: CommandRequest, R>(
        request: &Request<T>,
        roles: &[Role],
        expected_version: u64,
        more: impl FnOnce(&mut FieldErrors) -> R,
    ) -> Result<(Self, R), Status> {
        let mut m = Preamble::begin(request, roles)?;
        let extra = more(&mut m.errors);
        let (ctx, at, id) = m.finish()?;
        Ok((
            Self {
                ctx,
                at,
                id: MatchId::from(id),
                expected: wire::expected_version(expected_version),
            },
            extra,
        ))
    }
}

impl MatchingApi {
    async fn step(
        &self,
        on: OnMatch,
        command: Command,
        allow: Allow<'_>,
    ) -> Result<Option<pb::Match>, Status> {
        let step = Step {
            match_id: on.id,
            pair: None,
            expected: on.expected,
            at: on.at,
            command,
            allow,
        };
        self.book(&on.ctx, step).await.map(Some)
    }

    /// Opens the match of a resident and a piece.
    pub(super) async fn open(
        &self,
        ctx: &RequestContext,
        at: DateTime<Utc>,
        piece: PieceId,
        resident: ResidentId,
        origin: Origin,
    ) -> Result<Option<pb::Match>, Status> {
        let coordinator = (ctx.caller.role != Role::Resident).then(|| ctx.caller.subject.clone());
        let allow =
            move |party: Party, _: &crate::domain::Match, _: Option<&_>| match (party, origin) {
                (Party::Resident, Origin::Application) | (Party::Staff, _) => Ok(()),
                _ => Err(Status::permission_denied(
                    "a resident applies only for themself",
                )),
            };
        let step = Step {
            match_id: match_id(&piece, &resident),
            pair: Some((resident, piece)),
            expected: None,
            at,
            command: Command::Open {
                origin,
                coordinator,
            },
            allow: &allow,
        };
        self.book(ctx, step).await.map(Some)
    }

    pub(super) async fn apply_impl(
        &self,
        request: Request<pb::ApplyRequest>,
    ) -> Result<pb::ApplyResponse, Status> {
        let body = request.get_ref();
        let mut m = Preamble::begin(&request, APPLICANTS)?;
        let named = (!body.resident_id.is_empty() || m.ctx.caller.role != Role::Resident)
            .then(|| wire::id(&mut m.errors, "resident_id", &body.resident_id))
            .flatten();
        let (ctx, at, piece) = m.finish()?;
        let (resident, origin) = if ctx.caller.role == Role::Resident {
            let me = self.me(&ctx).await?.ok_or_else(|| {
                Status::failed_precondition(
                    "no resident record is linked to this login in this municipality: register first",
                )
            })?;
            if named.as_deref().is_some_and(|n| n != me.as_str()) {
                return Err(Status::permission_denied(
                    "a resident applies only for themself: leave resident_id empty or give your own",
                ));
            }
            (me, Origin::Application)
        } else {
            (
                ResidentId::from(named.unwrap_or_default()),
                Origin::ProxyApplication,
            )
        };
        let the_match = self
            .open(&ctx, at, PieceId::from(piece), resident, origin)
            .await?;
        Ok(pb::ApplyResponse { r#match: the_match })
    }

    pub(super) async fn propose_impl(
        &self,
        request: Request<pb::ProposeRequest>,
    ) -> Result<pb::ProposeResponse, Status> {
        let body = request.get_ref();
        let mut m = Preamble::begin(&request, STAFF)?;
        let resident = wire::id(&mut m.errors, "resident_id", &body.resident_id);
        let (ctx, at, piece) = m.finish()?;
        let resident = ResidentId::from(resident.unwrap_or_default());
        let the_match = self
            .open(&ctx, at, PieceId::from(piece), resident, Origin::Proposal)
            .await?;
        Ok(pb::ProposeResponse { r#match: the_match })
    }

    pub(super) async fn schedule_interview_impl(
        &self,
        request: Request<pb::ScheduleInterviewRequest>,
    ) -> Result<pb::ScheduleInterviewResponse, Status> {
        let body = request.get_ref();
        let (on, at) = OnMatch::begin(&request, PARTIES, body.expected_version, |e| {
            match body.at.as_ref().map(instant) {
                Some(Ok(at)) => Some(at),
                Some(Err((part, why))) => {
                    e.add(format!("at.{part}"), why);
                    None
                }
                None => {
                    e.add("at", "is required: when the interview takes place");
                    None
                }
            }
        })?;
        let command = Command::ScheduleInterview {
            at: at.unwrap_or_default(),
        };
        let the_match = self
            .step(on, command, &|party, _, _| staff_or_host(party))
            .await?;
        Ok(pb::ScheduleInterviewResponse { r#match: the_match })
    }

    pub(super) async fn record_interview_impl(
        &self,
        request: Request<pb::RecordInterviewRequest>,
    ) -> Result<pb::RecordInterviewResponse, Status> {
        let body = request.get_ref();
        let (on, outcome) = OnMatch::begin(&request, PARTIES, body.expected_version, |e| {
            e.required("outcome", body.outcome, InterviewOutcome::from_wire)
        })?;
        let command = Command::RecordInterview {
            outcome: outcome.unwrap_or(InterviewOutcome::NotPassed),
        };
        let the_match = self
            .step(on, command, &|party, _, _| staff_or_host(party))
            .await?;
        Ok(pb::RecordInterviewResponse { r#match: the_match })
    }

    pub(super) async fn accept_match_impl(
        &self,
        request: Request<pb::AcceptMatchRequest>,
    ) -> Result<pb::AcceptMatchResponse, Status> {
        let body = request.get_ref();
        let (on, side) = OnMatch::begin(&request, PARTIES, body.expected_version, |e| {
            e.required("side", body.side, Side::from_wire)
        })?;
        let side = side.unwrap_or(Side::Resident);
        let allow = move |party: Party, _: &_, r: Option<&_>| party.may_act_for(side, r);
        let the_match = self.step(on, Command::Accept { side }, &allow).await?;
        Ok(pb::AcceptMatchResponse { r#match: the_match })
    }

    pub(super) async fn decline_match_impl(
        &self,
        request: Request<pb::DeclineMatchRequest>,
    ) -> Result<pb::DeclineMatchResponse, Status> {
        let body = request.get_ref();
        let (on, (side, reason)) = OnMatch::begin(&request, PARTIES, body.expected_version, |e| {
            (
                e.required("side", body.side, Side::from_wire),
                e.required("reason", body.reason, Reason::from_wire),
            )
        })?;
        let (side, reason) = (
            side.unwrap_or(Side::Resident),
            reason.unwrap_or(Reason::Other),
        );
        let allow = move |party: Party, _: &_, r: Option<&_>| party.may_act_for(side, r);
        let the_match = self
            .step(on, Command::Decline { side, reason }, &allow)
            .await?;
        Ok(pb::DeclineMatchResponse { r#match: the_match })
    }

    pub(super) async fn withdraw_match_impl(
        &self,
        request: Request<pb::WithdrawMatchRequest>,
    ) -> Result<pb::WithdrawMatchResponse, Status> {
        let body = request.get_ref();
        let (on, reason) = OnMatch::begin(&request, PARTIES, body.expected_version, |e| {
            e.required("reason", body.reason, Reason::from_wire)
        })?;
        let reason = reason.unwrap_or(Reason::Other);
        let allow = |party: Party, _: &_, r: Option<&_>| party.may_act_for(Side::Resident, r);
        let the_match = self.step(on, Command::Withdraw { reason }, &allow).await?;
        Ok(pb::WithdrawMatchResponse { r#match: the_match })
    }

    pub(super) async fn cancel_match_impl(
        &self,
        request: Request<pb::CancelMatchRequest>,
    ) -> Result<pb::CancelMatchResponse, Status> {
        let body = request.get_ref();
        let (on, reason) = OnMatch::begin(&request, STAFF, body.expected_version, |e| {
            e.required("reason", body.reason, Reason::from_wire)
        })?;
        let reason = reason.unwrap_or(Reason::Other);
        let the_match = self
            .step(on, Command::Cancel { reason }, &|party, _, _| {
                any_party(party)
            })
            .await?;
        Ok(pb::CancelMatchResponse { r#match: the_match })
    }

    pub(super) async fn confirm_match_impl(
        &self,
        request: Request<pb::ConfirmMatchRequest>,
    ) -> Result<pb::ConfirmMatchResponse, Status> {
        let body = request.get_ref();
        let (on, ()) = OnMatch::begin(&request, PARTIES, body.expected_version, |_| ())?;
        let the_match = self
            .step(on, Command::Confirm, &|party, _, _| any_party(party))
            .await?;
        Ok(pb::ConfirmMatchResponse { r#match: the_match })
    }

    pub(super) async fn set_matching_policy_impl(
        &self,
        request: Request<pb::SetMatchingPolicyRequest>,
    ) -> Result<pb::SetMatchingPolicyResponse, Status> {
        let body = request.get_ref();
        let mut m = Preamble::begin(&request, POLICY_SETTERS)?;
        let given = body.policy.unwrap_or_default();
        if body.policy.is_none() {
            m.errors.add("policy", "is required");
        }
        let mut cap = |field: &str, v: Option<u32>, max: u32| {
            v.and_then(|v| {
                let ok = (1..=max).contains(&v);
                m.errors
                    .check(ok, field, &format!("must be 1 to {max} when given"));
                u16::try_from(v).ok().filter(|_| ok)
            })
        };
        let max_hours_per_week = cap("policy.max_hours_per_week", given.max_hours_per_week, 168);
        let max_days_per_month = cap("policy.max_days_per_month", given.max_days_per_month, 31);
        let weights = weights(&mut m.errors, given.weights.as_ref());
        let window = given.fairness_window_days;
        m.errors.check(
            window <= 365,
            "policy.fairness_window_days",
            "must be 1 to 365 (0: the default)",
        );
        let set = MatchingPolicySet {
            max_hours_per_week,
            max_days_per_month,
            weights,
            fairness_window_days: match u16::try_from(window) {
                Ok(0) | Err(_) => Weights::DEFAULT_FAIRNESS_WINDOW_DAYS,
                Ok(days) => days,
            },
        };
        let (ctx, at, _) = m.finish()?;
        let coordinator = ctx.caller.role == Role::Coordinator;
        let caps = (set.max_hours_per_week, set.max_days_per_month);
        let exec = Execute::<Policy> {
            stream_id: policy_stream(ctx.municipality.as_str()),
            expected_version: wire::expected_version(body.expected_version),
            command: set,
            occurred_at: at,
            fresh: false,
        };
        // Coordinators tune recommendations; the caps stay the officers'. Judged on the policy
        // the command is decided against, so caps set meanwhile are not overwritten either.
        let guard = |now: &Policy| {
            if coordinator && (now.max_hours_per_week, now.max_days_per_month) != caps {
                return Err(Status::permission_denied(
                    "policy.max_hours_per_week, policy.max_days_per_month: only municipality \
                     officers and operators change the caps; a coordinator sends them as they are",
                ));
            }
            Ok(())
        };
        let policy = execute_with(self.store.as_ref(), &ctx, exec, guard, |done| {
            Ok(view::policy(done.state))
        })
        .await?
        .into_answer();
        Ok(pb::SetMatchingPolicyResponse {
            policy: Some(policy),
        })
    }
}

/// The weights of a policy being set: each 0 to 100, not all 0; absent, the defaults.
fn weights(errors: &mut FieldErrors, given: Option<&pb::MatchingWeights>) -> Weights {
    let Some(w) = given else {
        return Weights::default();
    };
    let mut weight = |field: &str, v: u32| {
        let ok = v <= u32::from(Weights::MAX);
        errors.check(
            ok,
            &format!("policy.weights.{field}"),
            &format!("must be 0 to {}", Weights::MAX),
        );
        u16::try_from(v).unwrap_or(0).min(Weights::MAX)
    };
    let weights = Weights {
        skill: weight("skill", w.skill),
        interest: weight("interest", w.interest),
        form: weight("form", w.form),
        distance: weight("distance", w.distance),
        fairness_boost: weight("fairness_boost", w.fairness_boost),
        offer_dampener: weight("offer_dampener", w.offer_dampener),
    };
    errors.check(
        weights.skill + weights.interest + weights.form + weights.distance + weights.fairness_boost
            > 0,
        "policy.weights",
        "must weigh at least one factor other than the offer dampener",
    );
    weights
}
