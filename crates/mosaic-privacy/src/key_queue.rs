//! New keys asked for at the same moment are made together. Every registration makes a key for
//! its new person just before it appends; with many registrations at once, one insert for all
//! the keys waiting costs the database one statement (and on SQLite one commit) instead of one
//! each, like the event store's grouped appends.

use std::collections::HashMap;
use std::sync::Weak;

use mosaic_db::group::Grouped;
use mosaic_types::MunicipalityCode;

use crate::vault::Inner;
use crate::{PersonKey, PrivacyError, Vault};

/// At most this many keys in one insert.
const MAX_GROUP: usize = 256;

/// Requests for fresh subjects' keys, served in groups. The serving task holds the vault weakly:
/// it ends with the last clone of the vault.
pub(crate) type NewKeyQueue = Grouped<(MunicipalityCode, String), Result<PersonKey, PrivacyError>>;

/// Starts the queue of a vault on the current runtime: one insert per municipality of a group.
pub(crate) fn start(vault: Weak<Inner>) -> NewKeyQueue {
    Grouped::start_by_part(
        MAX_GROUP,
        |(municipality, _): &(MunicipalityCode, String)| *municipality,
        move |municipality, asks: Vec<(MunicipalityCode, String)>| {
            let vault = vault.upgrade().map(Vault::from_inner);
            async move {
                let subjects: Vec<String> = asks.into_iter().map(|(_, s)| s).collect();
                Some(make(&vault?, municipality, &subjects).await)
            }
        },
    )
}

/// Keys for `subjects` with one insert; if that fails, each alone, so every caller gets the
/// answer its own key would have had.
async fn make(
    vault: &Vault,
    municipality: MunicipalityCode,
    subjects: &[String],
) -> Vec<Result<PersonKey, PrivacyError>> {
    if subjects.len() > 1
        && let Ok(keys) = vault.new_keys(municipality, subjects).await
    {
        return subjects.iter().map(|s| found(&keys, s)).collect();
    }
    let mut out = Vec::with_capacity(subjects.len());
    for subject in subjects {
        out.push(
            vault
                .new_keys(municipality, std::slice::from_ref(subject))
                .await
                .and_then(|keys| found(&keys, subject)),
        );
    }
    out
}

/// A subject's key among those made; absent when the subject had been erased.
fn found(keys: &HashMap<String, PersonKey>, subject: &str) -> Result<PersonKey, PrivacyError> {
    keys.get(subject).cloned().ok_or(PrivacyError::Erased)
}
