//! Lists and searches over the directory read model (`registry.directory`). Lists may lag a
//! command by a moment; `Get…` RPCs read the log and are always current.

use mosaic_api::filter::Filter;
use mosaic_api::status::from_db;
use mosaic_api::wire;
use mosaic_api::{FieldErrors, RequestContext};
use mosaic_auth::{Caller, Role};
use mosaic_db::on_db;
use mosaic_privacy::Sealed;
use mosaic_proto::v1 as pb;
use mosaic_types::{Field, SkillLevel, SkillTag};
use sqlx::FromRow;
use tonic::{Request, Status};

use super::{RegistryApi, access, this_year, validate};
use crate::domain::{Licence, LifeStage, OrganisationKind, RegistrationMode};
use crate::projections::NAME_PURPOSE;
use mosaic_api::status::from_vault as vault_error;

#[derive(FromRow)]
struct ResidentRow {
    resident_id: String,
    mode: i32,
    status: i32,
    life_stage: Option<i32>,
    district: Option<String>,
    birth_year: Option<i32>,
    consent_matching: bool,
    guardian_consent: bool,
    display_name: Option<String>,
}

const RESIDENT_COLUMNS: &str = "resident_id, mode, status, life_stage, district, birth_year, \
    consent_matching, guardian_consent, display_name";

#[derive(FromRow)]
struct OrganisationRow {
    organisation_id: String,
}

impl RegistryApi {
    /// Summaries with names opened (one key lookup for the whole page).
    async fn summaries(
        &self,
        ctx: &RequestContext,
        rows: Vec<ResidentRow>,
    ) -> Result<Vec<pb::ResidentSummary>, Status> {
        let ids: Vec<String> = rows.iter().map(|r| r.resident_id.clone()).collect();
        let keys = self
            .vault
            .keys(ctx.municipality, &ids)
            .await
            .map_err(vault_error)?;
        let year = this_year(ctx);
        Ok(rows
            .into_iter()
            .map(|r| {
                let display_name = r
                    .display_name
                    .as_deref()
                    .and_then(|s| s.parse::<Sealed>().ok())
                    .zip(keys.get(&r.resident_id))
                    .and_then(|(sealed, key)| key.open("display_name", &sealed).ok())
                    .unwrap_or_default();
                let minor = r.birth_year.is_some_and(|y| year - y <= 18);
                pb::ResidentSummary {
                    matchable: r.status == pb::ResidentStatus::Active as i32
                        && r.mode == RegistrationMode::Full.wire()
                        && r.consent_matching
                        && (r.guardian_consent || !minor),
                    resident_id: r.resident_id,
                    display_name,
                    mode: r.mode,
                    status: r.status,
                    life_stage: r.life_stage.unwrap_or(0),
                    district: r.district.unwrap_or_default(),
                    birth_year: r.birth_year.unwrap_or(0) as u32,
                }
            })
            .collect())
    }

    pub(super) async fn list_residents_impl(
        &self,
        request: Request<pb::ListResidentsRequest>,
    ) -> Result<pb::ListResidentsResponse, Status> {
        Caller::from_request(&request)?.require_role(access::STAFF)?;
        let ctx = RequestContext::query(&request)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let page = self.pages.page(&mut errors, ctx.municipality, body);
        let mut f = Filter::default();
        f.text("r.municipality = ?", ctx.municipality.as_str());
        if let Some(after) = &page.after {
            f.text("r.resident_id > ?", after.clone());
        }
        if !body.district.is_empty() {
            f.text("r.district = ?", body.district.trim());
        }
        if let Some(stage) = errors.optional("life_stage", body.life_stage, LifeStage::from_wire) {
            f.int("r.life_stage = ?", i64::from(stage.wire()));
        }
        if body.status != 0 {
            match pb::ResidentStatus::try_from(body.status) {
                Ok(s) => f.int("r.status = ?", s as i64),
                Err(_) => errors.add("status", format!("unknown value {}", body.status)),
            }
        }
        if let Some(mode) = errors.optional("mode", body.mode, RegistrationMode::from_wire) {
            f.int("r.mode = ?", i64::from(mode.wire()));
        }
        if !body.skill.is_empty() {
            let tag = errors.take("skill", SkillTag::parse(&body.skill));
            let level = match body.min_skill_level {
                0 => SkillLevel::new(1).ok(),
                n => errors.take("min_skill_level", SkillLevel::new(n)),
            };
            if let (Some(tag), Some(level)) = (tag, level) {
                f.text(
                    "EXISTS (SELECT 1 FROM registry_resident_skills s WHERE s.municipality = r.municipality \
                     AND s.resident_id = r.resident_id AND s.skill = ?",
                    tag.as_str(),
                );
                // With a district too, the skill's holders there come straight from one index.
                if !body.district.is_empty() {
                    f.text("s.district = ?", body.district.trim());
                }
                f.int("s.level >= ?)", i64::from(level.get()));
            }
        }
        if let Some(field) = errors.optional("field", body.field, Field::from_wire) {
            f.int(
                "EXISTS (SELECT 1 FROM registry_resident_interests i WHERE i.municipality = r.municipality \
                 AND i.resident_id = r.resident_id AND i.field = ?)",
                i64::from(field.wire()),
            );
        }
        if let Some(w) = body
            .available
            .as_ref()
            .and_then(|w| wire::weekly_window(&mut errors, "available", w))
        {
            f.int(
                "EXISTS (SELECT 1 FROM registry_resident_windows w WHERE w.municipality = r.municipality \
                 AND w.resident_id = r.resident_id AND w.weekday = ?",
                i64::from(w.weekday().wire()),
            );
            // With a district too, the residents free then there come from one index range.
            if !body.district.is_empty() {
                f.text("w.district = ?", body.district.trim());
            }
            f.int("w.start_minute <= ?", i64::from(w.start()));
            f.int("w.end_minute >= ?)", i64::from(w.end()));
        }
        errors.finish()?;
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM registry_residents r WHERE TRUE{} ORDER BY r.resident_id LIMIT {}",
            f.sql,
            page.fetch_limit()
        );
        let mut rows: Vec<ResidentRow> = f.fetch(&self.db, sql).await?;
        let next_page_token = page.finish(&mut rows, |r| r.resident_id.clone());
        Ok(pb::ListResidentsResponse {
            residents: self.summaries(&ctx, rows).await?,
            next_page_token,
        })
    }

    pub(super) async fn find_residents_by_name_impl(
        &self,
        request: Request<pb::FindResidentsByNameRequest>,
    ) -> Result<pb::FindResidentsByNameResponse, Status> {
        Caller::from_request(&request)?.require_role(access::STAFF)?;
        let ctx = RequestContext::query(&request)?;
        let mut errors = FieldErrors::new();
        errors.text("name", &request.get_ref().name, validate::NAME_MAX);
        errors.finish()?;
        let index = self
            .vault
            .blind_index(ctx.municipality, NAME_PURPOSE, &request.get_ref().name);
        // The ids come from the two name indexes; then the rows by primary key. Written so, both
        // backends use the indexes (SQLite, without statistics, would otherwise scan in id order).
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS} FROM registry_residents WHERE municipality = $1 AND resident_id IN \
             (SELECT resident_id FROM registry_residents WHERE municipality = $1 AND name_index = $2 \
             UNION SELECT resident_id FROM registry_residents WHERE municipality = $1 AND kana_index = $2) \
             ORDER BY resident_id LIMIT 200"
        );
        let rows: Vec<ResidentRow> = on_db!(&self.db, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(ctx.municipality.as_str())
                .bind(&index)
                .fetch_all(pool)
                .await
                .map_err(from_db)?
        });
        Ok(pb::FindResidentsByNameResponse {
            residents: self.summaries(&ctx, rows).await?,
        })
    }

    /// The resident linked to the caller's token, if any.
    pub(super) async fn resident_of_account(
        &self,
        ctx: &RequestContext,
    ) -> Result<Option<String>, Status> {
        let id: Option<String> = on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT resident_id FROM registry_residents WHERE municipality = $1 \
                 AND account_subject IN ($2, $3) ORDER BY resident_id DESC LIMIT 1",
            )
            .bind(ctx.municipality.as_str())
            .bind(self.login_index(ctx))
            .bind(&ctx.caller.subject)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        Ok(id)
    }

    pub(super) async fn list_organisations_impl(
        &self,
        request: Request<pb::ListOrganisationsRequest>,
    ) -> Result<pb::ListOrganisationsResponse, Status> {
        Caller::from_request(&request)?.require_role(&[
            Role::Coordinator,
            Role::MunicipalityOfficer,
            Role::Operator,
            Role::HostOrganisation,
        ])?;
        let ctx = RequestContext::query(&request)?;
        let body = request.get_ref();
        let mut errors = FieldErrors::new();
        let page = self.pages.page(&mut errors, ctx.municipality, body);
        let mut f = Filter::default();
        f.text("municipality = ?", ctx.municipality.as_str());
        if let Some(after) = &page.after {
            f.text("organisation_id > ?", after.clone());
        }
        if let Some(kind) = errors.optional("kind", body.kind, OrganisationKind::from_wire) {
            f.int("kind = ?", i64::from(kind.wire()));
        }
        if let Some(field) = errors.optional("field", body.field, Field::from_wire) {
            f.text("fields LIKE ?", format!("%,{},%", field.wire()));
        }
        if let Some(licence) = errors.optional("licence", body.licence, Licence::from_wire) {
            f.text("licences LIKE ?", format!("%,{},%", licence.wire()));
        }
        if !body.district.is_empty() {
            f.text("district = ?", body.district.trim());
        }
        match pb::OrganisationStatus::try_from(body.status) {
            Ok(pb::OrganisationStatus::Unspecified) => {}
            Ok(pb::OrganisationStatus::Suspended) => f.raw("suspended = TRUE"),
            Ok(_) => f.raw("suspended = FALSE"),
            Err(_) => errors.add("status", format!("unknown value {}", body.status)),
        }
        errors.finish()?;
        let sql = format!(
            "SELECT organisation_id FROM registry_organisations WHERE TRUE{} ORDER BY organisation_id LIMIT {}",
            f.sql,
            page.fetch_limit()
        );
        let mut rows: Vec<OrganisationRow> = f.fetch(&self.db, sql).await?;
        let next_page_token = page.finish(&mut rows, |r| r.organisation_id.clone());
        // Each organisation is read from its stream, so details are current and the contact opens.
        let mut organisations = Vec::with_capacity(rows.len());
        for row in rows {
            let reply = self
                .get_organisation_impl(with_caller(
                    &request,
                    pb::GetOrganisationRequest {
                        organisation_id: row.organisation_id,
                    },
                ))
                .await?;
            organisations.extend(reply.organisation);
        }
        Ok(pb::ListOrganisationsResponse {
            organisations,
            next_page_token,
        })
    }
}

/// A request for an inner call, carrying the caller of `outer`.
fn with_caller<T, U>(outer: &Request<T>, body: U) -> Request<U> {
    let mut inner = Request::new(body);
    if let Some(caller) = outer.extensions().get::<Caller>() {
        inner.extensions_mut().insert(caller.clone());
    }
    inner
}
