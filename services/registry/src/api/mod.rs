//! gRPC handlers of `RegistryService`: validate → command → decide → append → answer.

mod municipality;

use std::sync::Arc;

use mosaic_eventstore::EventStore;

/// The registry's gRPC API.
pub struct RegistryApi {
    store: Arc<dyn EventStore>,
}

impl RegistryApi {
    /// An API writing to `store`.
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self { store }
    }
}
