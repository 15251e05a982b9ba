//! What this context knows of other contexts, placed in a command as facts for `decide`, which
//! holds the rules: a host organisation, read from `activity.hosts` (learned from the registry's
//! events), and the seats matching confirmed on a piece, read from `activity.seats` (learned
//! from matching's events).

use mosaic_api::RequestContext;
use mosaic_api::status::from_db;
use mosaic_db::on_db;
use mosaic_proto::v1 as pb;
use tonic::Status;

use super::ActivityApi;
use crate::domain::activity::HostFacts;

impl ActivityApi {
    /// The seats matching has confirmed on a piece, as this context last learned.
    pub(super) async fn confirmed_seats(
        &self,
        ctx: &RequestContext,
        piece: &str,
    ) -> Result<u32, Status> {
        let n: i64 = on_db!(&self.db, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM activity_piece_seats WHERE municipality = $1 AND piece_id = $2",
            )
            .bind(ctx.municipality.as_str())
            .bind(piece)
            .fetch_one(pool)
            .await
            .map_err(from_db)?
        });
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Fills each piece's confirmed seats into an activity's answer, in one read.
    pub(super) async fn fill_seats(
        &self,
        ctx: &RequestContext,
        activity: &mut pb::Activity,
    ) -> Result<(), Status> {
        if activity.pieces.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = activity
            .pieces
            .iter()
            .map(|p| p.piece_id.as_str())
            .collect();
        let m = ctx.municipality.as_str();
        let counts: Vec<(String, i64)> = match &self.db {
            mosaic_db::Db::Postgres(pool) => sqlx::query_as(
                "SELECT piece_id, COUNT(*) FROM activity_piece_seats \
                 WHERE municipality = $1 AND piece_id = ANY($2) GROUP BY piece_id",
            )
            .bind(m)
            .bind(&ids)
            .fetch_all(pool)
            .await
            .map_err(from_db)?,
            mosaic_db::Db::Sqlite(pool) => sqlx::query_as(
                "SELECT piece_id, COUNT(*) FROM activity_piece_seats WHERE municipality = $1 \
                 AND piece_id IN (SELECT value FROM json_each($2)) GROUP BY piece_id",
            )
            .bind(m)
            .bind(serde_json::Value::from(ids).to_string())
            .fetch_all(pool)
            .await
            .map_err(from_db)?,
        };
        let counts: std::collections::HashMap<String, i64> = counts.into_iter().collect();
        for piece in &mut activity.pieces {
            let n = counts.get(&piece.piece_id).copied().unwrap_or(0);
            piece.confirmed_seats = u32::try_from(n).unwrap_or(u32::MAX);
        }
        Ok(())
    }

    /// The facts of `host` in the caller's municipality; `NOT_FOUND` when it is not known here
    /// (another municipality's, none, or registered after the last registry event this service
    /// read: the registration's consistency token waits for it).
    pub(super) async fn host_facts(
        &self,
        ctx: &RequestContext,
        host: &str,
    ) -> Result<HostFacts, Status> {
        let Some(known) = mosaic_known::host(&self.db, "activity_hosts", ctx.municipality, host)
            .await
            .map_err(from_db)?
        else {
            return Err(Status::not_found(format!(
                "organisation {host} does not exist in this municipality (to create an activity \
                 for one registered a moment ago, send the registration's {} header)",
                mosaic_api::consistency::HEADER
            )));
        };
        Ok(HostFacts {
            suspended: known.suspended,
            licences: known.licences,
        })
    }
}
