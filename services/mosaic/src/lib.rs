//! The all-in-one `mosaic` binary: every context in one process ([`modules`]), plus local
//! token and key tools. `main.rs` only parses the command line.

use mosaic_runtime::Module;

/// Every context of the platform, in the order they start.
pub fn modules() -> [&'static dyn Module; 5] {
    [
        &mosaic_registry::Module,
        &mosaic_activity::Module,
        &mosaic_matching::Module,
        &mosaic_followup::Module,
        &mosaic_insights::Module,
    ]
}
