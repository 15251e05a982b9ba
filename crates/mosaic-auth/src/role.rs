use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a caller is allowed to be. Carried in the token's `role` claim as a snake_case string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A resident taking part in activities.
    Resident,
    /// A coordinator matching residents with host organisations.
    Coordinator,
    /// A staff member of an organisation hosting activities.
    HostOrganisation,
    /// A member of the municipality's own staff.
    MunicipalityOfficer,
    /// Someone reading aggregate insights, possibly across municipalities.
    Analyst,
    /// Someone running the platform itself.
    Operator,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 6] = [
        Role::Resident,
        Role::Coordinator,
        Role::HostOrganisation,
        Role::MunicipalityOfficer,
        Role::Analyst,
        Role::Operator,
    ];

    /// The claim value, e.g. `"host_organisation"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Coordinator => "coordinator",
            Role::HostOrganisation => "host_organisation",
            Role::MunicipalityOfficer => "municipality_officer",
            Role::Analyst => "analyst",
            Role::Operator => "operator",
        }
    }

    /// Whether a token of this role may leave out the municipality and work across
    /// municipalities. Every other role is bound to the one municipality its token names.
    pub fn may_span_municipalities(self) -> bool {
        matches!(self, Role::Analyst | Role::Operator)
    }

    /// Whether a token of this role must name the one organisation it acts for (its `org`
    /// claim). Only host organisations do; no other role may name one.
    pub fn is_bound_to_organisation(self) -> bool {
        self == Role::HostOrganisation
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}: expected one of resident, coordinator, host_organisation, municipality_officer, analyst, operator"
)]
pub struct ParseRoleError(pub String);

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| ParseRoleError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn string_forms_agree_with_serde() {
        for role in Role::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{role}\""));
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
        assert!("Operator".parse::<Role>().is_err());
    }

    #[test]
    fn only_analysts_and_operators_span_municipalities() {
        let spanning: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| r.may_span_municipalities())
            .collect();
        assert_eq!(spanning, [Role::Analyst, Role::Operator]);
    }
}
