//! gRPC handlers of `InsightsService`: read models only.

use chrono::{DateTime, Utc};
use mosaic_api::RequestContext;
use mosaic_api::occurred_at::timestamp;
use mosaic_api::status::from_db;
use mosaic_db::{Db, on_db};
use mosaic_proto::v1::insights_service_server::InsightsService;
use mosaic_proto::v1::{GetMunicipalityOverviewRequest, GetMunicipalityOverviewResponse};
use tonic::{Request, Response, Status};

/// The insights gRPC API over its read models.
pub struct InsightsApi {
    db: Db,
}

impl InsightsApi {
    /// An API reading `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

type OverviewRow = (Option<String>, Option<String>, Option<DateTime<Utc>>, i64);

#[tonic::async_trait]
impl InsightsService for InsightsApi {
    async fn get_municipality_overview(
        &self,
        request: Request<GetMunicipalityOverviewRequest>,
    ) -> Result<Response<GetMunicipalityOverviewResponse>, Status> {
        let ctx = RequestContext::query(&request)?;
        let row: Option<OverviewRow> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT name, prefecture, registered_at, events_applied FROM insights_municipality_overview \
                 WHERE municipality = $1",
            )
            .bind(ctx.municipality.as_str())
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        match row {
            Some((Some(name), Some(prefecture), registered_at, events)) => {
                Ok(Response::new(GetMunicipalityOverviewResponse {
                    code: ctx.municipality.to_string(),
                    name,
                    prefecture,
                    registered_at: registered_at.map(timestamp),
                    events_applied: events as u64,
                }))
            }
            _ => Err(Status::not_found(format!(
                "municipality {} is not known to insights yet",
                ctx.municipality
            ))),
        }
    }
}
