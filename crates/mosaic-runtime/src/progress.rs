//! How far a service's read models have read the contexts they consume, for requests that wait
//! for a write they name (`mosaic_api::consistency`). Read from the projections' checkpoints in
//! the service's database, so every replica answers the same, whichever one runs them.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use mosaic_api::consistency::Progress;
use mosaic_db::Db;
use mosaic_projection::Projection;

/// The read models of one service.
pub(crate) struct ReadModels {
    db: Db,
    /// Context → the projections that consume it.
    consumers: HashMap<&'static str, Vec<&'static str>>,
}

impl ReadModels {
    pub(crate) fn new(db: Db, projections: &[Arc<dyn Projection>]) -> Self {
        let mut consumers: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for projection in projections {
            for interest in projection.interests() {
                let names = consumers.entry(interest.context).or_default();
                if !names.contains(&projection.name()) {
                    names.push(projection.name());
                }
            }
        }
        Self { db, consumers }
    }
}

#[async_trait]
impl Progress for ReadModels {
    async fn read_up_to(&self, context: &str) -> Result<Vec<(String, u64)>, String> {
        let mut out = Vec::new();
        for name in self.consumers.get(context).into_iter().flatten() {
            let read = mosaic_projection::read_up_to(&self.db, name)
                .await
                .map_err(|e| e.to_string())?;
            out.push(((*name).to_owned(), read.get(context).copied().unwrap_or(0)));
        }
        Ok(out)
    }
}
