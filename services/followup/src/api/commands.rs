//! The RPCs that change engagements: a session's roster and an engagement's end.

use mosaic_api::command::{commit, first_answer, new_event, replay, saved_answer};
use mosaic_api::status::from_store;
use mosaic_api::{FieldErrors, RequestContext, wire};
use mosaic_auth::{Caller, Role};
use mosaic_domain::Aggregate;
use mosaic_eventstore::{AppendRequest, StreamEvents};
use mosaic_proto::v1 as pb;
use mosaic_types::{ResidentId, jst_date};
use tonic::{Request, Status};

use super::accounts::POLICY_STREAM;
use super::{
    FollowUpApi, STAFF, STAFF_AND_HOSTS, engagement_stream, expect, may_see, not_found, refused,
    view,
};
use crate::domain::account::{Attended, IncentivePolicy};
use crate::domain::{
    AttendanceStatus, Command, Engagement, EngagementEndReason, FollowUpError, FollowUpEvent,
    Reporter, SpontaneousPattern,
};

/// The most entries of one roster.
const MAX_ENTRIES: usize = 200;
/// How often a command is decided again after another wrote one of its engagements.
const ATTEMPTS: usize = 8;

/// A refusal of the domain as a status; `errors` gathers the field violations of a roster.
fn refusal(e: FollowUpError, field: &str, id: &str, errors: &mut FieldErrors) -> Option<Status> {
    match e {
        FollowUpError::Invalid { field, reason } => {
            errors.add(field, reason);
            None
        }
        other => Some(refused(other, field, id)),
    }
}

impl FollowUpApi {
    pub(super) async fn record_attendance_impl(
        &self,
        request: Request<pb::RecordAttendanceRequest>,
    ) -> Result<pb::RecordAttendanceResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF_AND_HOSTS)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        let piece = wire::id(&mut errors, "piece_id", &body.piece_id).unwrap_or_default();
        let session = wire::date(&mut errors, "session", body.session.as_ref());
        errors.check(
            (1..=MAX_ENTRIES).contains(&body.entries.len()),
            "entries",
            &format!("1 to {MAX_ENTRIES} entries"),
        );
        let mut entries: Vec<(String, AttendanceStatus, u32, String)> = Vec::new();
        for (i, e) in body.entries.iter().enumerate() {
            let field = format!("entries[{i}]");
            let id = wire::id(
                &mut errors,
                &format!("{field}.engagement_id"),
                &e.engagement_id,
            );
            let status = AttendanceStatus::from_wire(e.status);
            if status.is_none() {
                errors.add(
                    format!("{field}.status"),
                    "is required: ATTENDED, NO_SHOW or CANCELLED",
                );
            }
            if let Some(id) = &id
                && entries.iter().any(|(x, ..)| x == id)
            {
                errors.add(
                    format!("{field}.engagement_id"),
                    "names an engagement twice",
                );
            }
            if let (Some(id), Some(status)) = (id, status) {
                entries.push((id, status, e.minutes, field));
            }
        }
        let today = jst_date(ctx.received_at);
        if let Some(session) = session
            && session > today
        {
            errors.add(
                "session",
                format!("{session} has not happened yet (today is {today})"),
            );
        }
        errors.finish()?;
        let session = session.unwrap_or_default();
        let by = if ctx.caller.role == Role::HostOrganisation {
            Reporter::Host
        } else {
            Reporter::Staff
        };
        // What attended sessions earn: the policy (read with the engagements), and the offer of
        // the piece's activity.
        let mut offer = None;
        let mut names: Vec<String> = entries
            .iter()
            .map(|(id, ..)| engagement_stream(id))
            .collect();
        names.push(POLICY_STREAM.to_owned());
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        for attempt in 0..ATTEMPTS {
            // The engagements and the policy in one read. Who may act is checked on every
            // engagement before a saved answer is returned.
            let mut histories = self
                .store
                .read_streams(ctx.municipality, &names)
                .await
                .map_err(from_store)?;
            let policy = histories
                .pop()
                .map(|h| replay::<IncentivePolicy>(&h))
                .transpose()?
                .map(|(p, version)| (p.policy, version))
                .unwrap_or_default();
            let mut read: Vec<(Engagement, u64)> = Vec::with_capacity(entries.len());
            for ((id, _, _, field), history) in entries.iter().zip(&histories) {
                let field = format!("{field}.engagement_id");
                let (state, version) = replay::<Engagement>(history)?;
                let host = state
                    .opened
                    .as_ref()
                    .map(|o| o.host_organisation_id.as_str());
                if !host.is_some_and(|h| may_see(&ctx.caller, h)) {
                    return Err(not_found(&field, id));
                }
                if state.opened.as_ref().map(|o| o.piece_id.as_str()) != Some(piece.as_str()) {
                    return Err(Status::not_found(format!(
                        "{field}: engagement {id} is not an engagement of piece {piece}"
                    )));
                }
                read.push((state, version));
            }
            if attempt == 0
                && let Some(first) = first_answer(self.store.as_ref(), &ctx).await?
            {
                return Ok(first);
            }
            let mut errors = FieldErrors::new();
            let mut decided: Vec<Vec<FollowUpEvent>> = Vec::with_capacity(entries.len());
            for ((id, status, minutes, field), (state, _)) in entries.iter().zip(&read) {
                let command = Command::Record {
                    session,
                    status: *status,
                    minutes: *minutes,
                    by,
                    today,
                    field: field.clone(),
                };
                match state.decide(&command) {
                    Ok(events) => decided.push(events),
                    Err(e) => {
                        if let Some(refused) = refusal(e, field, id, &mut errors) {
                            return Err(refused);
                        }
                        decided.push(Vec::new());
                    }
                }
            }
            errors.finish()?;
            let activity = read
                .iter()
                .find_map(|(s, _)| s.opened.as_ref().map(|o| o.activity_id.to_string()))
                .unwrap_or_default();
            if offer.is_none() {
                offer = Some(self.offer(&ctx, &activity).await?);
            }
            // Sessions newly recorded as attended earn on their residents' accounts.
            let attended: Vec<(ResidentId, Attended)> = read
                .iter()
                .zip(&decided)
                .filter_map(|((state, _), events)| {
                    let o = state.opened.as_ref()?;
                    events.iter().find_map(|e| match e {
                        FollowUpEvent::AttendanceRecorded(a)
                            if a.status == AttendanceStatus::Attended =>
                        {
                            Some((
                                o.resident_id.clone(),
                                Attended {
                                    engagement_id: a.engagement_id.clone(),
                                    activity_id: o.activity_id.clone(),
                                    session: a.session,
                                    minutes: a.minutes,
                                },
                            ))
                        }
                        _ => None,
                    })
                })
                .collect();
            let (awards, accounts) = self
                .awards(&ctx, attended, offer.unwrap_or_default(), &policy)
                .await?;
            let mut engagements = Vec::with_capacity(entries.len());
            let mut streams = Vec::new();
            for (((id, ..), (state, version)), events) in entries.iter().zip(&read).zip(&decided) {
                let after = events.iter().fold(state.clone(), |s, e| s.evolve(e));
                engagements.extend(view(id, &after, version + events.len() as u64, &ctx.caller));
                streams.push(StreamEvents {
                    stream_id: engagement_stream(id),
                    expected: expect(*version),
                    events: events
                        .iter()
                        .map(|e| new_event(e, ctx.received_at))
                        .collect::<Result<_, _>>()?,
                });
            }
            streams.extend(accounts);
            let answer = pb::RecordAttendanceResponse {
                engagements,
                awards,
            };
            // One append for the roster: every engagement at the version read.
            let first = streams.remove(0);
            let request = AppendRequest {
                municipality: ctx.municipality,
                stream_id: first.stream_id,
                expected: first.expected,
                events: first.events,
                meta: ctx.meta(),
                response: Some(saved_answer(&answer)),
                also: streams,
            };
            if let Some(answer) = commit(self.store.as_ref(), request, answer).await? {
                return Ok(answer);
            }
        }
        Err(Status::aborted(
            "other records of these engagements kept coming first; retry",
        ))
    }

    pub(super) async fn report_attendance_impl(
        &self,
        request: Request<pb::ReportAttendanceRequest>,
    ) -> Result<pb::ReportAttendanceResponse, Status> {
        Caller::from_request(&request)?.require_role(&[Role::Resident])?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        let id = wire::id(&mut errors, "engagement_id", &body.engagement_id).unwrap_or_default();
        let session = wire::date(&mut errors, "session", body.session.as_ref());
        let status =
            AttendanceStatus::from_wire(body.status).filter(|s| *s != AttendanceStatus::NoShow);
        if status.is_none() {
            errors.add("status", "is required: ATTENDED or CANCELLED");
        }
        errors.finish()?;
        let command = Command::Record {
            session: session.unwrap_or_default(),
            status: status.unwrap_or(AttendanceStatus::Attended),
            minutes: body.minutes,
            by: Reporter::Resident,
            today: jst_date(ctx.received_at),
            field: String::new(),
        };
        self.on_one(&ctx, &id, &command, |engagement| {
            pb::ReportAttendanceResponse { engagement }
        })
        .await
    }

    pub(super) async fn end_engagement_impl(
        &self,
        request: Request<pb::EndEngagementRequest>,
    ) -> Result<pb::EndEngagementResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF_AND_HOSTS)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        let id = wire::id(&mut errors, "engagement_id", &body.engagement_id).unwrap_or_default();
        let reason = EngagementEndReason::from_wire(body.reason)
            .filter(|r| *r != EngagementEndReason::UpstreamCancelled);
        if reason.is_none() {
            errors.add("reason", "is required: COMPLETED or DROPPED_OUT");
        }
        let last_day = wire::date(&mut errors, "last_day", body.last_day.as_ref());
        errors.finish()?;
        let command = Command::End {
            reason: reason.unwrap_or(EngagementEndReason::Completed),
            last_day: last_day.unwrap_or_default(),
            today: jst_date(ctx.received_at),
        };
        self.on_one(&ctx, &id, &command, |engagement| {
            pb::EndEngagementResponse { engagement }
        })
        .await
    }

    pub(super) async fn record_spontaneous_engagement_impl(
        &self,
        request: Request<pb::RecordSpontaneousEngagementRequest>,
    ) -> Result<pb::RecordSpontaneousEngagementResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let ctx = RequestContext::command(&request, &body.request_id, &mut errors)?;
        let id = wire::id(&mut errors, "engagement_id", &body.engagement_id).unwrap_or_default();
        let pattern = SpontaneousPattern::from_wire(body.pattern);
        if pattern.is_none() {
            errors.add(
                "pattern",
                "is required: COMMUNITY_FORMED, KNOWLEDGE_OFFERED, CAREER_LINK or HUB_ROLE",
            );
        }
        let on = wire::date(&mut errors, "observed_on", body.observed_on.as_ref());
        errors.finish()?;
        let command = Command::Observe {
            pattern: pattern.unwrap_or(SpontaneousPattern::CommunityFormed),
            on: on.unwrap_or_default(),
            today: jst_date(ctx.received_at),
        };
        self.on_one(&ctx, &id, &command, |engagement| {
            pb::RecordSpontaneousEngagementResponse { engagement }
        })
        .await
    }

    /// Decides `command` on one engagement the caller may see and appends what it decided,
    /// with the answer `answer` makes of the engagement after it; decided again if another
    /// change of the engagement came first.
    pub(super) async fn on_one<R: prost::Message + Default + Clone>(
        &self,
        ctx: &RequestContext,
        id: &str,
        command: &Command,
        answer: impl Fn(Option<pb::Engagement>) -> R,
    ) -> Result<R, Status> {
        for attempt in 0..ATTEMPTS {
            let (state, version) = self.visible(ctx, "engagement_id", id).await?;
            if attempt == 0
                && let Some(first) = first_answer(self.store.as_ref(), ctx).await?
            {
                return Ok(first);
            }
            let events = state
                .decide(command)
                .map_err(|e| refused(e, "engagement_id", id))?;
            let after = events.iter().fold(state, |s, e| s.evolve(e));
            let answer = answer(view(id, &after, version + events.len() as u64, &ctx.caller));
            if let Some(answer) = self
                .append(ctx, engagement_stream(id), version, &events, answer)
                .await?
            {
                return Ok(answer);
            }
        }
        Err(Status::aborted(
            "other changes of this engagement kept coming first; retry",
        ))
    }
}
