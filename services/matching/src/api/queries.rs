//! Reads: a match, the seats of a piece and the policy from their streams (always current); lists
//! of matches from the `matching.matches` read model (may lag a command by a moment), each
//! listed match read from its stream.

use mosaic_api::filter::Filter;
use mosaic_api::pipeline::Lifetime;
use mosaic_api::{FieldErrors, RequestContext, wire};
use mosaic_auth::{Caller, Role};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::list_matches_request::Scope;
use tonic::{Request, Status};

use super::{MatchingApi, PARTIES, Party, STAFF, not_found, seats_stream, view};

/// A query's context, for a caller whose role is one of `roles`.
fn query_ctx<T>(request: &Request<T>, roles: &[Role]) -> Result<RequestContext, Status> {
    Caller::from_request(request)?.require_role(roles)?;
    RequestContext::query(request)
}

impl MatchingApi {
    /// A match the caller may see, as the answer shows it.
    async fn visible_match(&self, ctx: &RequestContext, id: &str) -> Result<pb::Match, Status> {
        let (state, version, history) = self.read_match(ctx, id).await?;
        let Some(opened) = &state.opened else {
            return Err(not_found(id));
        };
        let me = self.me(ctx).await?;
        let party = Party::of(
            &ctx.caller,
            me.as_ref(),
            &opened.resident_id,
            &opened.host_organisation_id,
        );
        if party == Party::Stranger {
            return Err(not_found(id));
        }
        view::the_match(id, &state, version, &Lifetime::of_history(&history))
            .ok_or_else(|| not_found(id))
    }

    pub(super) async fn get_match_impl(
        &self,
        request: Request<pb::GetMatchRequest>,
    ) -> Result<pb::GetMatchResponse, Status> {
        let ctx = query_ctx(&request, PARTIES)?;
        let mut errors = FieldErrors::new();
        let id = wire::id(&mut errors, "match_id", &request.get_ref().match_id);
        errors.finish()?;
        let the_match = self.visible_match(&ctx, &id.unwrap_or_default()).await?;
        Ok(pb::GetMatchResponse {
            r#match: Some(the_match),
        })
    }

    pub(super) async fn list_matches_impl(
        &self,
        request: Request<pb::ListMatchesRequest>,
    ) -> Result<pb::ListMatchesResponse, Status> {
        let ctx = query_ctx(&request, PARTIES)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let page = self.pages.page(&mut errors, ctx.municipality, body);
        let stage = errors.optional("stage", body.stage, |n| (1..=3).contains(&n).then_some(n));
        let scope = match &body.scope {
            Some(Scope::PieceId(id)) => {
                wire::id(&mut errors, "piece_id", id).map(|v| ("piece_id", v))
            }
            Some(Scope::ActivityId(id)) => {
                wire::id(&mut errors, "activity_id", id).map(|v| ("activity_id", v))
            }
            Some(Scope::ResidentId(id)) => {
                wire::id(&mut errors, "resident_id", id).map(|v| ("resident_id", v))
            }
            Some(Scope::Coordinator(c)) => {
                errors.text("coordinator", c, 256);
                Some(("coordinator", c.clone()))
            }
            None => {
                errors.add(
                    "scope",
                    "is required: one of piece_id, activity_id, resident_id, coordinator",
                );
                None
            }
        };
        errors.finish()?;
        let Some((column, value)) = scope else {
            return Err(Status::invalid_argument("scope is required"));
        };
        let mut f = Filter::default();
        f.text("municipality = ?", ctx.municipality.as_str());
        f.text(&format!("{column} = ?"), value);
        // Who sees which rows: staff all, a resident their own, a host its own activities'.
        match ctx.caller.role {
            r if STAFF.contains(&r) => {}
            Role::Resident => {
                let me = self.me(&ctx).await?;
                f.text(
                    "resident_id = ?",
                    me.map(|m| m.to_string()).unwrap_or_default(),
                );
            }
            Role::HostOrganisation => {
                let own = ctx
                    .caller
                    .organisation
                    .as_ref()
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                f.text("host_organisation_id = ?", own);
            }
            _ => return Err(Status::permission_denied("this role reads no matches")),
        }
        if let Some(stage) = stage {
            f.int("stage = ?", i64::from(stage));
        }
        if let Some(after) = &page.after {
            let after: i64 = after.parse().unwrap_or(i64::MAX);
            f.int("seq > ?", after);
        }
        let sql = format!(
            "SELECT match_id, seq FROM matching_matches WHERE TRUE{} ORDER BY seq LIMIT {}",
            f.sql,
            page.fetch_limit()
        );
        let mut rows: Vec<(String, i64)> = f.fetch(&self.db, sql).await?;
        let next_page_token = page.finish(&mut rows, |(_, seq)| seq.to_string());
        let mut matches = Vec::with_capacity(rows.len());
        for (id, _) in rows {
            matches.push(self.visible_match(&ctx, &id).await?);
        }
        Ok(pb::ListMatchesResponse {
            matches,
            next_page_token,
        })
    }

    pub(super) async fn get_open_seats_impl(
        &self,
        request: Request<pb::GetOpenSeatsRequest>,
    ) -> Result<pb::GetOpenSeatsResponse, Status> {
        let ctx = query_ctx(&request, PARTIES)?;
        let mut errors = FieldErrors::new();
        let id = wire::id(&mut errors, "piece_id", &request.get_ref().piece_id);
        errors.finish()?;
        let id = id.unwrap_or_default();
        let Some(piece) = self.piece(&ctx, &id).await? else {
            return Err(mosaic_api::pipeline::not_found("piece", &id));
        };
        let history = self
            .store
            .read_stream(ctx.municipality, &seats_stream(&id))
            .await
            .map_err(mosaic_api::status::from_store)?;
        let (seats, _) = super::booking::fold(&history, crate::domain::Seats::evolve)?;
        let confirmed = seats.taken.len() as u32;
        let headcount = if piece.removed { 0 } else { piece.headcount };
        Ok(pb::GetOpenSeatsResponse {
            piece_id: id,
            headcount,
            confirmed,
            open: headcount.saturating_sub(confirmed),
        })
    }

    pub(super) async fn get_matching_policy_impl(
        &self,
        request: Request<pb::GetMatchingPolicyRequest>,
    ) -> Result<pb::GetMatchingPolicyResponse, Status> {
        let ctx = query_ctx(&request, STAFF)?;
        let (policy, _) = self.policy(&ctx).await?;
        Ok(pb::GetMatchingPolicyResponse {
            policy: Some(view::policy(&policy)),
        })
    }
}
