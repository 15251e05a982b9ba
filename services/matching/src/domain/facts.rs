//! What a decision needs to know beyond the match's own streams: the resident, the piece and its
//! host as the registry's and activity's events last described them, and the municipality's
//! matching policy. The service reads them from its read models; tests build them by hand.

use mosaic_events::activity::{ApplicationMode, Schedule, Status};
use mosaic_events::matching::{MatchingPolicySet, Weights};
use mosaic_events::registry::Licence;
use mosaic_types::{ActivityId, EngagementForm, OrganisationId, PieceId, ResidentId};

/// A resident, as matching knows them.
#[derive(Debug, Clone, PartialEq)]
pub struct ResidentFacts {
    /// The resident.
    pub resident_id: ResidentId,
    /// Registered and not withdrawn, not erased.
    pub active: bool,
    /// A guest (per-application registration).
    pub guest: bool,
    /// Consents to matching.
    pub matching_consent: bool,
    /// Has a proxy agreement that staff may act on (confirmed, or needing no confirmation).
    pub proxy_agreement: bool,
    /// Their own cap on hours per week.
    pub max_hours_per_week: Option<u16>,
    /// Their own cap on days per month.
    pub max_days_per_month: Option<u16>,
}

/// A piece and its activity, as matching knows them.
#[derive(Debug, Clone, PartialEq)]
pub struct PieceFacts {
    /// The piece.
    pub piece_id: PieceId,
    /// Its activity.
    pub activity_id: ActivityId,
    /// The activity's host.
    pub host_organisation_id: OrganisationId,
    /// The activity's lifecycle state.
    pub activity_status: Status,
    /// The piece was removed from its activity.
    pub removed: bool,
    /// People the piece takes.
    pub headcount: u32,
    /// The activity's form of engagement.
    pub engagement_form: EngagementForm,
    /// Whether guests may apply.
    pub application_mode: ApplicationMode,
    /// When the piece happens.
    pub schedule: Schedule,
}

impl PieceFacts {
    /// Whether the form of engagement needs an interview (面談) before confirmation:
    /// internships, paid placement and dispatch.
    pub fn interview_required(&self) -> bool {
        matches!(
            self.engagement_form,
            EngagementForm::Internship | EngagementForm::Placement | EngagementForm::Dispatch
        )
    }

    /// The licence the host must hold for this form, if any.
    pub fn licence_needed(&self) -> Option<Licence> {
        match self.engagement_form {
            EngagementForm::Dispatch => Some(Licence::WorkerDispatch),
            EngagementForm::Placement => Some(Licence::PaidPlacement),
            _ => None,
        }
    }
}

/// A host organisation, as matching knows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFacts {
    /// Suspended by the municipality.
    pub suspended: bool,
    /// Licences held.
    pub licences: Vec<Licence>,
}

/// The municipality's matching rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The policy stream's version (0: never set).
    pub version: u64,
    /// The municipal cap on hours per week.
    pub max_hours_per_week: Option<u16>,
    /// The municipal cap on days per month.
    pub max_days_per_month: Option<u16>,
    /// How recommendations weigh each factor.
    pub weights: Weights,
    /// The recent window in which engagements and offers count for fairness, in days.
    pub fairness_window_days: u16,
}

/// A municipality that never set a policy: no caps, the default weights and window.
impl Default for Policy {
    fn default() -> Self {
        Self {
            version: 0,
            max_hours_per_week: None,
            max_days_per_month: None,
            weights: Weights::default(),
            fairness_window_days: Weights::DEFAULT_FAIRNESS_WINDOW_DAYS,
        }
    }
}

impl Policy {
    /// The policy after one more `MatchingPolicySet`.
    pub fn evolve(self, set: &MatchingPolicySet) -> Self {
        Self {
            version: self.version + 1,
            max_hours_per_week: set.max_hours_per_week,
            max_days_per_month: set.max_days_per_month,
            weights: set.weights,
            fairness_window_days: set.fairness_window_days,
        }
    }
}

/// The policy stream as an aggregate: setting it replaces the whole policy.
impl mosaic_domain::Aggregate for Policy {
    type Command = MatchingPolicySet;
    type Event = mosaic_events::matching::MatchingEvent;
    type Error = super::MatchError;

    fn decide(&self, command: &MatchingPolicySet) -> Result<Vec<Self::Event>, Self::Error> {
        Ok(vec![Self::Event::MatchingPolicySet(command.clone())])
    }

    fn evolve(self, event: &Self::Event) -> Self {
        match event {
            Self::Event::MatchingPolicySet(set) => Policy::evolve(self, set),
            _ => self,
        }
    }
}

/// The stream of a municipality's matching policy.
pub fn policy_stream(municipality: &str) -> String {
    format!("policy-{municipality}")
}
