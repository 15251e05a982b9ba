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

/// Requests for fresh subjects' keys, served in groups. An answer of `None` tells the caller to
/// make its key itself: its group's insert failed. The serving task holds the vault weakly: it
/// ends with the last clone of the vault.
pub(crate) type NewKeyQueue =
    Grouped<(MunicipalityCode, String), Option<Result<PersonKey, PrivacyError>>>;

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

/// Keys for `subjects` with one insert. If it fails, a lone caller gets the error; in a larger
/// group each caller makes its own key, so it gets its own answer.
async fn make(
    vault: &Vault,
    municipality: MunicipalityCode,
    subjects: &[String],
) -> Vec<Option<Result<PersonKey, PrivacyError>>> {
    match vault.new_keys(municipality, subjects).await {
        Ok(keys) => subjects.iter().map(|s| Some(found(&keys, s))).collect(),
        Err(e) if subjects.len() == 1 => vec![Some(Err(e))],
        Err(_) => subjects.iter().map(|_| None).collect(),
    }
}

/// A subject's key among those made; absent when the subject had been erased.
pub(crate) fn found(
    keys: &HashMap<String, PersonKey>,
    subject: &str,
) -> Result<PersonKey, PrivacyError> {
    keys.get(subject).cloned().ok_or(PrivacyError::Erased)
}
