//! A context's own erasure: whatever it sealed under a person's id becomes unreadable for good
//! when the registry erases that person (`PersonalDataErased`).

use mosaic_events::registry::{self, RegistryEvent};
use mosaic_privacy::{Erasure, Vault};

/// The projection `name` that destroys this context's key for each person the registry erases.
pub fn erasure(name: &'static str, vault: Vault) -> Erasure<RegistryEvent> {
    Erasure::new(
        name,
        vault,
        registry::CONTEXT,
        &["PersonalDataErased"],
        |e: &RegistryEvent| match e {
            RegistryEvent::PersonalDataErased(p) => Some(p.subject_id.as_str()),
            _ => None,
        },
    )
}
