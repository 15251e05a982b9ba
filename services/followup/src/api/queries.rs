//! Reads: an engagement from its stream (always current); lists from the
//! `followup.engagements` read model (may lag a command by a moment), each listed engagement
//! read from its stream.

use mosaic_api::filter::Filter;
use mosaic_api::{FieldErrors, RequestContext, wire};
use mosaic_auth::{Caller, Role};
use mosaic_proto::v1 as pb;
use mosaic_proto::v1::list_engagements_request::Scope;
use tonic::{Request, Status};

use super::{FollowUpApi, READERS, not_found, read_head, view};

impl FollowUpApi {
    pub(super) async fn get_engagement_impl(
        &self,
        request: Request<pb::GetEngagementRequest>,
    ) -> Result<pb::GetEngagementResponse, Status> {
        let (ctx, id) = read_head(
            &request,
            READERS,
            "engagement_id",
            &request.get_ref().engagement_id,
        )?;
        let (state, version) = self.visible(&ctx, "engagement_id", &id).await?;
        Ok(pb::GetEngagementResponse {
            engagement: view(&id, &state, version, &ctx.caller),
        })
    }

    pub(super) async fn list_engagements_impl(
        &self,
        request: Request<pb::ListEngagementsRequest>,
    ) -> Result<pb::ListEngagementsResponse, Status> {
        Caller::from_request(&request)?.require_role(READERS)?;
        let ctx = RequestContext::query(&request)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let page = self.pages.page(&mut errors, ctx.municipality, body);
        let scope = match &body.scope {
            Some(Scope::PieceId(id)) => {
                wire::id(&mut errors, "piece_id", id).map(|v| ("piece_id", v))
            }
            Some(Scope::ResidentId(id)) => {
                wire::id(&mut errors, "resident_id", id).map(|v| ("resident_id", v))
            }
            None => {
                errors.add("scope", "is required: piece_id or resident_id");
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
        // A resident sees their own engagements only; a host its own activities'.
        if ctx.caller.role == Role::Resident {
            f.text("resident_id = ?", self.me(&ctx).await?.unwrap_or_default());
        }
        if ctx.caller.role == Role::HostOrganisation {
            let own = ctx
                .caller
                .organisation
                .as_ref()
                .map(|o| o.to_string())
                .unwrap_or_default();
            f.text("host_organisation_id = ?", own);
        }
        if let Some(after) = &page.after {
            f.int("seq > ?", after.parse().unwrap_or(i64::MAX));
        }
        let sql = format!(
            "SELECT engagement_id, seq FROM followup_engagements WHERE TRUE{} ORDER BY seq LIMIT {}",
            f.sql,
            page.fetch_limit()
        );
        let mut rows: Vec<(String, i64)> = f.fetch(&self.db, sql).await?;
        let next_page_token = page.finish(&mut rows, |(_, seq)| seq.to_string());
        let mut engagements = Vec::with_capacity(rows.len());
        for (id, _) in rows {
            let (state, version) = self.visible(&ctx, "engagement_id", &id).await?;
            engagements.push(
                view(&id, &state, version, &ctx.caller)
                    .ok_or_else(|| not_found("engagement_id", &id))?,
            );
        }
        Ok(pb::ListEngagementsResponse {
            engagements,
            next_page_token,
        })
    }
}
