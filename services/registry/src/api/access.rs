//! Who may do what with a resident. Residents act on themselves; staff (coordinators, officers,
//! operators) act for a resident only with the resident's proxy agreement, except where noted.
//! Also who reads an organisation's contact person.

use mosaic_auth::{Caller, Role};
use tonic::Status;

use crate::domain::resident::Resident;

/// Roles that manage residents and organisations.
pub const STAFF: &[Role] = &[Role::Coordinator, Role::MunicipalityOfficer, Role::Operator];
/// Staff plus the resident themself.
pub const RESIDENT_OR_STAFF: &[Role] = &[
    Role::Resident,
    Role::Coordinator,
    Role::MunicipalityOfficer,
    Role::Operator,
];
/// Roles that manage municipalities' own records (coordinators' registration, profiles).
pub const OFFICERS: &[Role] = &[Role::MunicipalityOfficer, Role::Operator];

/// Whether `caller` may read the personal data of organisation `id` (its contact person):
/// staff, and a host organisation for itself only. Other hosts see the organisation without it.
pub fn reads_organisation_contact(caller: &Caller, id: &str) -> bool {
    match caller.role {
        Role::HostOrganisation => caller.acts_for_organisation(id),
        role => STAFF.contains(&role),
    }
}

/// What a command on a resident needs of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The resident, or staff holding the resident's proxy agreement.
    ResidentOrProxy,
    /// The resident, or staff holding a proxy agreement that is confirmed: recorded by the
    /// resident, or recorded by staff and confirmed by the resident or another officer (consent
    /// changes and withdrawal).
    ResidentOrConfirmedProxy,
    /// The resident or a municipality officer (confirming a proxy agreement).
    ResidentOrOfficer,
    /// The resident or any staff (records facts staff collect, e.g. a paper agreement).
    ResidentOrStaff,
    /// The resident, or an officer or operator acting on the resident's request or a legal
    /// one (erasure): a coordinator's proxy agreement is not enough for an act that cannot be
    /// undone.
    Erasure,
}

/// Whether `caller` may read or change `resident`; `login_index` is the keyed hash of a
/// resident caller's login subject. A resident asking for someone else's record gets NOT_FOUND,
/// as if it did not exist.
pub fn check(
    caller: &Caller,
    login_index: &str,
    resident: &Resident,
    needs: Needs,
) -> Result<(), Status> {
    caller.require_role(RESIDENT_OR_STAFF)?;
    let id = resident.resident_id.clone().unwrap_or_default();
    if caller.role == Role::Resident {
        let own = resident
            .login
            .as_ref()
            .is_some_and(|login| login.is(&caller.subject, login_index));
        return if own {
            Ok(())
        } else {
            Err(mosaic_api::pipeline::not_found("resident", &id))
        };
    }
    let officer = matches!(caller.role, Role::MunicipalityOfficer | Role::Operator);
    match needs {
        Needs::ResidentOrStaff => Ok(()),
        Needs::Erasure | Needs::ResidentOrOfficer if officer => Ok(()),
        Needs::Erasure | Needs::ResidentOrOfficer => Err(Status::permission_denied(format!(
            "only the resident or a municipality officer may {}",
            if needs == Needs::Erasure {
                "erase a resident's personal data"
            } else {
                "confirm a proxy agreement"
            }
        ))),
        Needs::ResidentOrProxy if resident.proxy.is_some() => Ok(()),
        Needs::ResidentOrConfirmedProxy
            if resident.proxy.is_some() && resident.proxy_awaiting_confirmation.is_none() =>
        {
            Ok(())
        }
        // An unknown resident is answered NOT_FOUND by the command itself.
        _ if resident.resident_id.is_none() => Ok(()),
        Needs::ResidentOrConfirmedProxy if resident.proxy.is_some() => {
            Err(Status::failed_precondition(format!(
                "resident {id}'s proxy agreement was recorded by staff: the resident or a \
                 municipality officer confirms it first (ConfirmProxyAgreement)"
            )))
        }
        _ => Err(Status::failed_precondition(format!(
            "resident {id} has not agreed that staff act for them: record it with SetProxyAgreement first"
        ))),
    }
}
