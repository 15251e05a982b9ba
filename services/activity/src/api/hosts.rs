//! The host rules of activity design, read from `activity.hosts` (learned from registry events):
//! the host must be known in the caller's municipality and not suspended, and dispatch and
//! placement need the matching licence.

use mosaic_api::RequestContext;
use mosaic_api::fields::invalid;
use mosaic_api::status::from_db;
use mosaic_db::on_db;
use mosaic_types::EngagementForm;
use tonic::Status;

use super::ActivityApi;
use crate::projections::hosts::{DISPATCH_LICENCE, PLACEMENT_LICENCE};

impl ActivityApi {
    /// Checks `host` may offer an activity of `form`. `creating`: a suspended host is refused
    /// (an existing activity of a host suspended since keeps its details editable).
    pub(super) async fn check_host(
        &self,
        ctx: &RequestContext,
        host: &str,
        form: EngagementForm,
        creating: bool,
    ) -> Result<(), Status> {
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
        if creating && suspended {
            return Err(Status::failed_precondition(format!(
                "organisation {host} is suspended: it can offer no new activities"
            )));
        }
        let needed = match form {
            EngagementForm::Dispatch => Some(DISPATCH_LICENCE),
            EngagementForm::Placement => Some(PLACEMENT_LICENCE),
            _ => None,
        };
        if let Some(licence) = needed
            && !licences.contains(&format!(",{licence},"))
        {
            return Err(invalid(
                "details.engagement_form",
                format!("the host does not hold the {licence} licence this form needs"),
            ));
        }
        Ok(())
    }
}
