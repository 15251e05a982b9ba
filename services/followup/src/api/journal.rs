//! The journal's RPCs: a check-in, a reflection, feedback, and the journal read back. Text is
//! checked, then sealed under the resident's key before anything is decided, so no event, saved
//! answer or log line holds it in clear; answers carry the engagement without text, and only
//! `GetJournal` opens it, for those who may read it.

use mosaic_api::status::from_vault;
use mosaic_api::{FieldErrors, RequestContext, wire};
use mosaic_auth::{Caller, Role};
use mosaic_privacy::{PersonKey, PrivacyError, Sealed};
use mosaic_proto::v1 as pb;
use mosaic_types::jst_date;
use tonic::{Request, Status};

use super::{FollowUpApi, READERS, STAFF, read_head};
use crate::domain::{
    Author, CheckInChannel, Command, Engagement, Entry, FeedbackDirection, Milestone, RiskFlag,
};

/// The longest note or reflection, in characters.
const MAX_TEXT: usize = 4_000;
/// The longest feedback comment, in characters.
const MAX_COMMENT: usize = 2_000;
/// The fields text is sealed under (bound into each ciphertext).
const NOTE: &str = "followup.check_in.note";
const WENT_WELL: &str = "followup.reflection.went_well";
const LEARNED: &str = "followup.reflection.learned";
const NEXT_STEPS: &str = "followup.reflection.next_steps";
const COMMENT: &str = "followup.feedback.comment";

/// Checks a text that may span lines: at most `max` characters, and not blank unless it may be.
fn text(errors: &mut FieldErrors, field: &str, value: &str, max: usize, may_be_empty: bool) {
    if !may_be_empty && value.trim().is_empty() {
        errors.add(field, "must not be empty");
    } else {
        errors.prose(field, value, max);
    }
}

/// The context, engagement id and date (absent: `None`) of a request to write an entry.
fn entry_head<T: prost::Message>(
    request: &Request<T>,
    request_id: &str,
    engagement_id: &str,
    on: Option<&pb::Date>,
    errors: &mut FieldErrors,
) -> Result<(RequestContext, String, Option<chrono::NaiveDate>), Status> {
    let ctx = RequestContext::command(request, request_id, errors)?;
    let id = wire::id(errors, "engagement_id", engagement_id).unwrap_or_default();
    let on = on.and_then(|d| wire::date(errors, "on", Some(d)));
    Ok((ctx, id, on))
}

/// Who writes, as the journal records it.
fn author(caller: &Caller) -> Author {
    match caller.role {
        Role::HostOrganisation => Author::Host,
        Role::Resident => Author::Resident,
        _ => Author::Staff,
    }
}

impl FollowUpApi {
    /// The key of the resident of engagement `id` (which the caller may see).
    async fn resident_key(&self, ctx: &RequestContext, id: &str) -> Result<PersonKey, Status> {
        let (state, _) = self.visible(ctx, "engagement_id", id).await?;
        let resident = state
            .opened
            .as_ref()
            .map(|o| o.resident_id.to_string())
            .unwrap_or_default();
        self.vault
            .key(ctx.municipality, &resident)
            .await
            .map_err(from_vault)
    }

    /// Seals `entry` (built from the key) and writes it on engagement `id`.
    async fn write_entry<R: prost::Message + Default + Clone>(
        &self,
        ctx: &RequestContext,
        id: &str,
        on: Option<chrono::NaiveDate>,
        entry: impl FnOnce(&PersonKey) -> Entry,
        answer: impl Fn(Option<pb::Engagement>) -> R,
    ) -> Result<R, Status> {
        let key = self.resident_key(ctx, id).await?;
        let today = jst_date(ctx.received_at);
        let command = Command::Journal {
            entry: entry(&key),
            on: on.unwrap_or(today),
            author: author(&ctx.caller),
            today,
        };
        self.on_one(ctx, id, &command, answer).await
    }

    pub(super) async fn record_check_in_impl(
        &self,
        request: Request<pb::RecordCheckInRequest>,
    ) -> Result<pb::RecordCheckInResponse, Status> {
        Caller::from_request(&request)?.require_role(STAFF)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let (ctx, id, on) = entry_head(
            &request,
            &body.request_id,
            &body.engagement_id,
            body.on.as_ref(),
            &mut errors,
        )?;
        let channel = CheckInChannel::from_wire(body.channel);
        if channel.is_none() {
            errors.add(
                "channel",
                "is required: IN_PERSON, PHONE, ONLINE or MESSAGE",
            );
        }
        let mut risks = Vec::with_capacity(body.risks.len());
        for (i, r) in body.risks.iter().enumerate() {
            match RiskFlag::from_wire(*r) {
                Some(r) => risks.push(r),
                None => errors.add(format!("risks[{i}]"), "is not a known risk flag"),
            }
        }
        text(&mut errors, "note", &body.note, MAX_TEXT, false);
        errors.finish()?;
        let channel = channel.unwrap_or(CheckInChannel::InPerson);
        self.write_entry(
            &ctx,
            &id,
            on,
            |key| Entry::CheckIn {
                channel,
                note: key.seal(NOTE, &body.note),
                risks,
            },
            |engagement| pb::RecordCheckInResponse { engagement },
        )
        .await
    }

    pub(super) async fn record_reflection_impl(
        &self,
        request: Request<pb::RecordReflectionRequest>,
    ) -> Result<pb::RecordReflectionResponse, Status> {
        Caller::from_request(&request)?.require_role(READERS)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let (ctx, id, on) = entry_head(
            &request,
            &body.request_id,
            &body.engagement_id,
            body.on.as_ref(),
            &mut errors,
        )?;
        let milestone = Milestone::from_wire(body.milestone);
        if milestone.is_none() {
            errors.add("milestone", "is required: ORIENTATION, MID_TERM or FINAL");
        }
        text(&mut errors, "went_well", &body.went_well, MAX_TEXT, false);
        text(&mut errors, "learned", &body.learned, MAX_TEXT, false);
        text(&mut errors, "next_steps", &body.next_steps, MAX_TEXT, false);
        errors.finish()?;
        let milestone = milestone.unwrap_or(Milestone::Orientation);
        self.write_entry(
            &ctx,
            &id,
            on,
            |key| Entry::Reflection {
                milestone,
                went_well: key.seal(WENT_WELL, &body.went_well),
                learned: key.seal(LEARNED, &body.learned),
                next_steps: key.seal(NEXT_STEPS, &body.next_steps),
            },
            |engagement| pb::RecordReflectionResponse { engagement },
        )
        .await
    }

    pub(super) async fn give_feedback_impl(
        &self,
        request: Request<pb::GiveFeedbackRequest>,
    ) -> Result<pb::GiveFeedbackResponse, Status> {
        Caller::from_request(&request)?.require_role(READERS)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let (ctx, id, _) = entry_head(
            &request,
            &body.request_id,
            &body.engagement_id,
            None,
            &mut errors,
        )?;
        let direction = FeedbackDirection::from_wire(body.direction);
        if direction.is_none() {
            errors.add(
                "direction",
                "is required: RESIDENT_TO_HOST or HOST_TO_RESIDENT",
            );
        }
        let rating = u8::try_from(body.rating).unwrap_or(u8::MAX);
        if !crate::domain::journal::RATINGS.contains(&rating) {
            errors.add("rating", format!("{} is outside 1 to 5", body.rating));
        }
        text(&mut errors, "comment", &body.comment, MAX_COMMENT, true);
        errors.finish()?;
        let direction = direction.unwrap_or(FeedbackDirection::ResidentToHost);
        let comment = body.comment.trim();
        self.write_entry(
            &ctx,
            &id,
            None,
            |key| Entry::Feedback {
                direction,
                rating,
                comment: (!comment.is_empty()).then(|| key.seal(COMMENT, comment)),
            },
            |engagement| pb::GiveFeedbackResponse { engagement },
        )
        .await
    }

    pub(super) async fn get_journal_impl(
        &self,
        request: Request<pb::GetJournalRequest>,
    ) -> Result<pb::GetJournalResponse, Status> {
        let (ctx, id) = read_head(
            &request,
            READERS,
            "engagement_id",
            &request.get_ref().engagement_id,
        )?;
        let (state, _) = self.visible(&ctx, "engagement_id", &id).await?;
        let staff = STAFF.contains(&ctx.caller.role);
        let written = (staff && !state.check_ins.is_empty())
            || !state.reflections.is_empty()
            || !state.feedback.is_empty();
        // No key is made for a journal with nothing in it.
        let key = match &state.opened {
            Some(o) if written => match self.vault.key(ctx.municipality, &o.resident_id).await {
                Ok(key) => Some(key),
                Err(PrivacyError::Erased) => None,
                Err(e) => return Err(from_vault(e)),
            },
            _ => None,
        };
        journal(&id, &state, key.as_ref(), staff, written)
    }
}

/// The journal on the wire, its text opened with `key` (none: erased, no text).
fn journal(
    id: &str,
    state: &Engagement,
    key: Option<&PersonKey>,
    staff: bool,
    written: bool,
) -> Result<pb::GetJournalResponse, Status> {
    let open = |field: &str, sealed: &Sealed| -> Result<String, Status> {
        key.map_or(Ok(String::new()), |k| {
            k.open(field, sealed).map_err(from_vault)
        })
    };
    let date = |d| Some(mosaic_api::wire::to_date(d));
    let check_ins = if staff {
        state
            .check_ins
            .iter()
            .map(|c| {
                Ok(pb::CheckIn {
                    on: date(c.on),
                    channel: c.channel.wire(),
                    note: open(NOTE, &c.note)?,
                    risks: c.risks.iter().map(|r| r.wire()).collect(),
                })
            })
            .collect::<Result<_, Status>>()?
    } else {
        Vec::new()
    };
    let reflections = state
        .reflections
        .values()
        .map(|r| {
            Ok(pb::Reflection {
                milestone: r.milestone.wire(),
                on: date(r.on),
                went_well: open(WENT_WELL, &r.went_well)?,
                learned: open(LEARNED, &r.learned)?,
                next_steps: open(NEXT_STEPS, &r.next_steps)?,
                author: r.author.wire(),
            })
        })
        .collect::<Result<_, Status>>()?;
    let feedback = state
        .feedback
        .values()
        .map(|f| {
            Ok(pb::Feedback {
                direction: f.direction.wire(),
                rating: u32::from(f.rating),
                comment: f
                    .comment
                    .as_ref()
                    .map_or(Ok(String::new()), |c| open(COMMENT, c))?,
                on: date(f.on),
                author: f.author.wire(),
            })
        })
        .collect::<Result<_, Status>>()?;
    Ok(pb::GetJournalResponse {
        engagement_id: id.to_owned(),
        check_ins,
        reflections,
        feedback,
        erased: written && key.is_none(),
    })
}
