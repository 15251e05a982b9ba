//! What this context knows of a host organisation, read from `activity.hosts` (learned from the
//! registry's events) and placed in a command as facts for `decide`, which holds the rules.

use mosaic_api::RequestContext;
use mosaic_api::status::from_db;
use mosaic_db::on_db;
use mosaic_events::registry::Licence;
use tonic::Status;

use super::ActivityApi;
use crate::domain::activity::HostFacts;

impl ActivityApi {
    /// The facts of `host` in the caller's municipality; `NOT_FOUND` when it is not known here
    /// (another municipality's, none, or registered after the last registry event this service
    /// read: the registration's consistency token waits for it).
    pub(super) async fn host_facts(
        &self,
        ctx: &RequestContext,
        host: &str,
    ) -> Result<HostFacts, Status> {
        let row: Option<(bool, String)> = on_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT suspended, licences FROM activity_hosts WHERE municipality = $1 AND organisation_id = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(host)
            .fetch_optional(pool)
            .await
            .map_err(from_db)?
        });
        let Some((suspended, licences)) = row else {
            return Err(Status::not_found(format!(
                "organisation {host} does not exist in this municipality (to create an activity \
                 for one registered a moment ago, send the registration's {} header)",
                mosaic_api::consistency::HEADER
            )));
        };
        Ok(HostFacts {
            suspended,
            licences: [Licence::WorkerDispatch, Licence::PaidPlacement]
                .into_iter()
                .filter(|l| licences.contains(&format!(",{},", l.as_str())))
                .collect(),
        })
    }
}
