//! The resident aggregate: one stream per resident, `resident-<id>`.
//!
//! A guest (都度申し込み) holds minimal data and can be upgraded to a full registration. A resident
//! withdraws and re-joins; erasure is final: the record stays, anonymous, so statistics hold.

use std::collections::BTreeMap;

use mosaic_domain::Aggregate;
use mosaic_types::ResidentId;

use crate::domain::{
    AgreementMethod, AgreementRecorded, Confirmer, ConsentChanged, ConsentPurpose, Login,
    PersonalDataErased, ProxyAgreementConfirmed, ProxyAgreementRecorded, RegistrationMode,
    RegistryError, ResidentEvent, ResidentProfile, ResidentProfileUpdated, ResidentRef,
    ResidentRegistered, ResidentUpgraded, ResidentWithdrew, SealedPersonal, SubjectKind,
    WithdrawalReason,
};

/// The stream of a resident.
pub fn stream_id(id: &str) -> String {
    format!("resident-{id}")
}

/// What the registry knows of a resident.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resident {
    /// The id, once registered.
    pub resident_id: Option<ResidentId>,
    /// Full or guest.
    pub mode: Option<RegistrationMode>,
    /// Personal data (sealed); `None` once erased.
    pub personal: Option<SealedPersonal>,
    /// The matching profile.
    pub profile: ResidentProfile,
    /// Consent per purpose, as last set.
    pub consents: BTreeMap<ConsentPurpose, bool>,
    /// A guardian's consent is recorded.
    pub guardian_consent: bool,
    /// Coordinators may act for the resident (and how the resident agreed).
    pub proxy: Option<AgreementMethod>,
    /// Staff recorded the proxy agreement and nobody has confirmed it yet: the digest of who
    /// recorded it.
    pub proxy_awaiting_confirmation: Option<String>,
    /// The resident's login token, if linked.
    pub login: Option<LoginRef>,
    /// Withdrawn, and why.
    pub withdrawn: Option<WithdrawalReason>,
    /// Personal data erased.
    pub erased: bool,
}

/// How a resident's login is known: in clear from a schema-1 registration, sealed and indexed
/// from a later one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRef {
    /// The subject itself (schema 1).
    Clear(String),
    /// The subject sealed, with its keyed hash.
    Sealed(Login),
}

impl LoginRef {
    /// Whether this is the login with `subject`, whose keyed hash is `index`.
    pub fn is(&self, subject: &str, index: &str) -> bool {
        match self {
            LoginRef::Clear(s) => s == subject,
            LoginRef::Sealed(l) => l.index == index,
        }
    }
}

impl Resident {
    /// Whether consent for `purpose` is granted now.
    pub fn consents_to(&self, purpose: ConsentPurpose) -> bool {
        self.consents.get(&purpose).copied().unwrap_or(false)
    }

    /// Whether the resident can be recommended now: active, full, consenting to matching, and
    /// with a guardian's consent if possibly a minor.
    pub fn matchable(&self, this_year: i32) -> bool {
        self.resident_id.is_some()
            && !self.erased
            && self.withdrawn.is_none()
            && self.mode == Some(RegistrationMode::Full)
            && self.consents_to(ConsentPurpose::Matching)
            && (self.guardian_consent || !self.profile.may_be_minor(this_year))
    }

    fn id(&self) -> Result<ResidentId, RegistryError> {
        self.resident_id.clone().ok_or(RegistryError::NotFound {
            kind: "resident",
            id: String::new(),
        })
    }

    /// The id of a resident that exists and was not erased.
    fn living(&self) -> Result<ResidentId, RegistryError> {
        let id = self.id()?;
        if self.erased {
            return Err(RegistryError::Erased(id.into()));
        }
        Ok(id)
    }

    /// The id of a resident that may be changed: exists, not erased, not withdrawn.
    fn active(&self) -> Result<ResidentId, RegistryError> {
        let id = self.living()?;
        if self.withdrawn.is_some() {
            return Err(RegistryError::ResidentWithdrawn(id.into()));
        }
        Ok(id)
    }

    fn needs_guardian(&self, profile: &ResidentProfile, this_year: i32, matching: bool) -> bool {
        matching && !self.guardian_consent && profile.may_be_minor(this_year)
    }
}

/// Commands on a resident. `this_year` is the current calendar year in Japan, passed in so
/// deciding stays pure.
#[derive(Debug, Clone)]
pub enum ResidentCommand {
    /// Register, fully or as a guest.
    Register {
        /// What to record (validated; personal data sealed).
        registration: ResidentRegistered,
        /// The current year.
        this_year: i32,
    },
    /// Guest → full.
    Upgrade {
        /// The full profile (validated).
        profile: ResidentProfile,
    },
    /// Replace personal data and profile.
    UpdateProfile {
        /// Sealed personal data.
        personal: SealedPersonal,
        /// Validated profile.
        profile: ResidentProfile,
        /// The current year.
        this_year: i32,
    },
    /// Grant or revoke a consent.
    SetConsent {
        /// The purpose.
        purpose: ConsentPurpose,
        /// Grant or revoke.
        granted: bool,
        /// The current year.
        this_year: i32,
    },
    /// Record a guardian's consent.
    RecordGuardianConsent {
        /// How it was given.
        method: AgreementMethod,
    },
    /// Record (Some) or end (None) the proxy agreement.
    SetProxy {
        /// The agreement, or `None` to end it.
        agreement: Option<AgreementMethod>,
        /// Who records it: the digest of a staff member, or `None` for the resident.
        by_staff: Option<String>,
    },
    /// Confirm a proxy agreement that staff recorded.
    ConfirmProxy {
        /// Who confirms.
        by: Confirmer,
        /// The digest of who confirms, which must differ from who recorded it.
        confirmer: String,
    },
    /// Withdraw from the platform.
    Withdraw {
        /// Why.
        reason: WithdrawalReason,
    },
    /// Come back after withdrawing.
    Rejoin,
    /// Destroy the personal data.
    Erase,
}

impl Aggregate for Resident {
    type Command = ResidentCommand;
    type Event = ResidentEvent;
    type Error = RegistryError;

    fn decide(&self, command: &ResidentCommand) -> Result<Vec<ResidentEvent>, RegistryError> {
        use ResidentCommand::*;
        use ResidentEvent as E;
        match command {
            Register {
                registration,
                this_year,
            } => {
                if self.resident_id.is_some() {
                    return Err(RegistryError::Exists {
                        kind: "resident",
                        id: registration.resident_id.to_string(),
                    });
                }
                let matching = registration.consents.contains(&ConsentPurpose::Matching);
                if matching
                    && !registration.guardian_consent
                    && registration.profile.may_be_minor(*this_year)
                {
                    return Err(RegistryError::GuardianConsentMissing(
                        registration.resident_id.to_string(),
                    ));
                }
                Ok(vec![E::ResidentRegistered(registration.clone())])
            }
            Upgrade { profile } => {
                let id = self.active()?;
                if self.mode == Some(RegistrationMode::Full) {
                    return Err(RegistryError::AlreadyFull(id.into()));
                }
                Ok(vec![E::ResidentUpgraded(ResidentUpgraded {
                    resident_id: id,
                    profile: profile.clone(),
                })])
            }
            UpdateProfile {
                personal,
                profile,
                this_year,
            } => {
                let id = self.active()?;
                let matching = self.consents_to(ConsentPurpose::Matching);
                if self.needs_guardian(profile, *this_year, matching) {
                    return Err(RegistryError::GuardianConsentMissing(id.into()));
                }
                Ok(vec![E::ResidentProfileUpdated(ResidentProfileUpdated {
                    resident_id: id,
                    personal: personal.clone(),
                    profile: profile.clone(),
                })])
            }
            SetConsent {
                purpose,
                granted,
                this_year,
            } => {
                // Revoking is always possible while the record lives; granting needs an active one.
                let id = if *granted {
                    self.active()?
                } else {
                    self.living()?
                };
                if self.consents_to(*purpose) == *granted {
                    return Ok(vec![]);
                }
                let change = ConsentChanged {
                    resident_id: id.clone(),
                    purpose: *purpose,
                };
                if !*granted {
                    return Ok(vec![E::ConsentRevoked(change)]);
                }
                let matching = *purpose == ConsentPurpose::Matching;
                if self.needs_guardian(&self.profile, *this_year, matching) {
                    return Err(RegistryError::GuardianConsentMissing(id.into()));
                }
                Ok(vec![E::ConsentGranted(change)])
            }
            RecordGuardianConsent { method } => {
                let id = self.active()?;
                Ok(vec![E::GuardianConsentRecorded(AgreementRecorded {
                    resident_id: id,
                    method: *method,
                })])
            }
            SetProxy {
                agreement,
                by_staff,
            } => {
                let id = self.living()?;
                match (agreement, self.proxy) {
                    (Some(method), _) => {
                        Ok(vec![E::ProxyAgreementRecorded(ProxyAgreementRecorded {
                            resident_id: id,
                            method: *method,
                            recorded_by_staff: by_staff.clone(),
                        })])
                    }
                    (None, Some(_)) => Ok(vec![E::ProxyAgreementEnded(ResidentRef {
                        resident_id: id,
                    })]),
                    (None, None) => Ok(vec![]),
                }
            }
            ConfirmProxy { by, confirmer } => {
                let id = self.living()?;
                if self.proxy.is_none() {
                    return Err(RegistryError::NoProxyAgreement(id.into()));
                }
                match &self.proxy_awaiting_confirmation {
                    None => Ok(vec![]),
                    Some(recorder) if *by == Confirmer::Officer && recorder == confirmer => {
                        Err(RegistryError::OwnConfirmation(id.into()))
                    }
                    Some(_) => Ok(vec![E::ProxyAgreementConfirmed(ProxyAgreementConfirmed {
                        resident_id: id,
                        confirmed_by: *by,
                    })]),
                }
            }
            Withdraw { reason } => {
                let id = self.active()?;
                Ok(vec![E::ResidentWithdrew(ResidentWithdrew {
                    resident_id: id,
                    reason: *reason,
                })])
            }
            Rejoin => {
                let id = self.living()?;
                if self.withdrawn.is_none() {
                    return Err(RegistryError::ResidentNotWithdrawn(id.into()));
                }
                Ok(vec![E::ResidentRejoined(ResidentRef { resident_id: id })])
            }
            Erase => {
                let id = self.id()?;
                if self.erased {
                    return Ok(vec![]);
                }
                Ok(vec![E::PersonalDataErased(PersonalDataErased {
                    subject_id: id.into(),
                    subject_kind: SubjectKind::Resident,
                })])
            }
        }
    }

    fn evolve(mut self, event: &ResidentEvent) -> Self {
        use ResidentEvent as E;
        match event {
            E::ResidentRegistered(e) => {
                self.resident_id = Some(e.resident_id.clone());
                self.mode = Some(e.mode);
                self.personal = Some(e.personal.clone());
                self.profile = e.profile.clone();
                self.consents = e.consents.iter().map(|p| (*p, true)).collect();
                self.guardian_consent = e.guardian_consent;
                self.proxy = e.proxy;
                self.proxy_awaiting_confirmation = e.proxy_recorded_by_staff.clone();
                self.login = match (&e.login, &e.account_subject) {
                    (Some(login), _) => Some(LoginRef::Sealed(login.clone())),
                    (None, Some(subject)) => Some(LoginRef::Clear(subject.clone())),
                    (None, None) => None,
                };
            }
            E::ResidentUpgraded(e) => {
                self.mode = Some(RegistrationMode::Full);
                self.profile = e.profile.clone();
            }
            E::ResidentProfileUpdated(e) => {
                self.personal = Some(e.personal.clone());
                self.profile = e.profile.clone();
            }
            E::ConsentGranted(e) => {
                self.consents.insert(e.purpose, true);
            }
            E::ConsentRevoked(e) => {
                self.consents.insert(e.purpose, false);
            }
            E::GuardianConsentRecorded(_) => self.guardian_consent = true,
            E::ProxyAgreementRecorded(e) => {
                self.proxy = Some(e.method);
                self.proxy_awaiting_confirmation = e.recorded_by_staff.clone();
            }
            E::ProxyAgreementConfirmed(_) => self.proxy_awaiting_confirmation = None,
            E::ProxyAgreementEnded(_) => {
                self.proxy = None;
                self.proxy_awaiting_confirmation = None;
            }
            E::ResidentWithdrew(e) => self.withdrawn = Some(e.reason),
            E::ResidentRejoined(_) => self.withdrawn = None,
            E::PersonalDataErased(_) => {
                self.erased = true;
                self.personal = None;
            }
        }
        self
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{LifeStage, RegistrationChannel};
    use mosaic_domain::given;

    const YEAR: i32 = 2026;

    pub(crate) fn personal() -> SealedPersonal {
        SealedPersonal {
            display_name: "v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                .parse()
                .expect("sealed form"),
            name_kana: None,
            phone: None,
            email: None,
            address: None,
            note: None,
            gender_description: None,
        }
    }

    pub(crate) fn profile(birth_year: u16) -> ResidentProfile {
        ResidentProfile {
            birth_year: Some(birth_year),
            life_stage: Some(LifeStage::Senior),
            district: Some("柏".into()),
            channel: Some(RegistrationChannel::CityHallWindow),
            ..Default::default()
        }
    }

    pub(crate) fn registration(mode: RegistrationMode, birth_year: u16) -> ResidentRegistered {
        ResidentRegistered {
            resident_id: "r1".into(),
            mode,
            personal: personal(),
            profile: profile(birth_year),
            consents: vec![ConsentPurpose::Matching],
            account_subject: None,
            login: None,
            proxy_recorded_by_staff: None,
            proxy: None,
            guardian_consent: false,
            import_row: None,
        }
    }

    fn registered(mode: RegistrationMode) -> ResidentEvent {
        ResidentEvent::ResidentRegistered(registration(mode, 1955))
    }

    fn withdrew() -> ResidentEvent {
        ResidentEvent::ResidentWithdrew(ResidentWithdrew {
            resident_id: "r1".into(),
            reason: WithdrawalReason::Health,
        })
    }

    fn erased() -> ResidentEvent {
        ResidentEvent::PersonalDataErased(PersonalDataErased {
            subject_id: "r1".into(),
            subject_kind: SubjectKind::Resident,
        })
    }

    fn consent(purpose: ConsentPurpose, granted: bool) -> ResidentCommand {
        ResidentCommand::SetConsent {
            purpose,
            granted,
            this_year: YEAR,
        }
    }

    #[test]
    fn a_full_registration_is_matchable_at_once() {
        let r = registration(RegistrationMode::Full, 1955);
        given::<Resident>([])
            .when(ResidentCommand::Register {
                registration: r.clone(),
                this_year: YEAR,
            })
            .then([ResidentEvent::ResidentRegistered(r)]);
        let state = mosaic_domain::fold::<Resident>(&[registered(RegistrationMode::Full)]);
        assert!(state.matchable(YEAR));
    }

    #[test]
    fn a_minor_cannot_consent_to_matching_without_a_guardian() {
        let minor = registration(RegistrationMode::Full, 2010);
        given::<Resident>([])
            .when(ResidentCommand::Register {
                registration: minor.clone(),
                this_year: YEAR,
            })
            .then_error(RegistryError::GuardianConsentMissing("r1".into()));
        let with_guardian = ResidentRegistered {
            guardian_consent: true,
            ..minor.clone()
        };
        given::<Resident>([])
            .when(ResidentCommand::Register {
                registration: with_guardian.clone(),
                this_year: YEAR,
            })
            .then([ResidentEvent::ResidentRegistered(with_guardian)]);
        let without_consent = ResidentRegistered {
            consents: vec![],
            ..minor
        };
        let history = [ResidentEvent::ResidentRegistered(without_consent)];
        given::<Resident>(history.clone())
            .when(consent(ConsentPurpose::Matching, true))
            .then_error(RegistryError::GuardianConsentMissing("r1".into()));
        let guardian = ResidentEvent::GuardianConsentRecorded(AgreementRecorded {
            resident_id: "r1".into(),
            method: AgreementMethod::Paper,
        });
        given::<Resident>([history[0].clone(), guardian])
            .when(consent(ConsentPurpose::Matching, true))
            .then([ResidentEvent::ConsentGranted(ConsentChanged {
                resident_id: "r1".into(),
                purpose: ConsentPurpose::Matching,
            })]);
    }

    #[test]
    fn a_guest_upgrades_once() {
        given::<Resident>([registered(RegistrationMode::Guest)])
            .when(ResidentCommand::Upgrade {
                profile: profile(1950),
            })
            .then([ResidentEvent::ResidentUpgraded(ResidentUpgraded {
                resident_id: "r1".into(),
                profile: profile(1950),
            })]);
        given::<Resident>([registered(RegistrationMode::Full)])
            .when(ResidentCommand::Upgrade {
                profile: profile(1950),
            })
            .then_error(RegistryError::AlreadyFull("r1".into()));
    }

    #[test]
    fn revoking_consent_stops_matching_and_repeating_it_changes_nothing() {
        let revoked = ResidentEvent::ConsentRevoked(ConsentChanged {
            resident_id: "r1".into(),
            purpose: ConsentPurpose::Matching,
        });
        given::<Resident>([registered(RegistrationMode::Full)])
            .when(consent(ConsentPurpose::Matching, false))
            .then([revoked.clone()]);
        let state =
            mosaic_domain::fold::<Resident>(&[registered(RegistrationMode::Full), revoked.clone()]);
        assert!(!state.matchable(YEAR));
        given::<Resident>([registered(RegistrationMode::Full), revoked])
            .when(consent(ConsentPurpose::Matching, false))
            .then([]);
    }

    #[test]
    fn a_withdrawn_resident_cannot_be_updated_but_can_rejoin() {
        let update = ResidentCommand::UpdateProfile {
            personal: personal(),
            profile: profile(1950),
            this_year: YEAR,
        };
        given::<Resident>([registered(RegistrationMode::Full), withdrew()])
            .when(update)
            .then_error(RegistryError::ResidentWithdrawn("r1".into()));
        given::<Resident>([registered(RegistrationMode::Full), withdrew()])
            .when(ResidentCommand::Rejoin)
            .then([ResidentEvent::ResidentRejoined(ResidentRef {
                resident_id: "r1".into(),
            })]);
        given::<Resident>([registered(RegistrationMode::Full)])
            .when(ResidentCommand::Rejoin)
            .then_error(RegistryError::ResidentNotWithdrawn("r1".into()));
    }

    #[test]
    fn erasure_is_final_and_idempotent() {
        given::<Resident>([registered(RegistrationMode::Full)])
            .when(ResidentCommand::Erase)
            .then([erased()]);
        given::<Resident>([registered(RegistrationMode::Full), erased()])
            .when(ResidentCommand::Erase)
            .then([]);
        given::<Resident>([registered(RegistrationMode::Full), erased()])
            .when(ResidentCommand::Rejoin)
            .then_error(RegistryError::Erased("r1".into()));
        let state =
            mosaic_domain::fold::<Resident>(&[registered(RegistrationMode::Full), erased()]);
        assert!(state.personal.is_none());
        assert!(!state.matchable(YEAR));
    }

    #[test]
    fn commands_on_an_unknown_resident_are_not_found() {
        given::<Resident>([])
            .when(ResidentCommand::Withdraw {
                reason: WithdrawalReason::Moved,
            })
            .then_error(RegistryError::NotFound {
                kind: "resident",
                id: String::new(),
            });
    }

    fn recorded_by(staff: Option<&str>) -> ResidentEvent {
        ResidentEvent::ProxyAgreementRecorded(ProxyAgreementRecorded {
            resident_id: "r1".into(),
            method: AgreementMethod::InPerson,
            recorded_by_staff: staff.map(str::to_owned),
        })
    }

    fn confirm(by: Confirmer, confirmer: &str) -> ResidentCommand {
        ResidentCommand::ConfirmProxy {
            by,
            confirmer: confirmer.into(),
        }
    }

    #[test]
    fn staff_record_a_proxy_agreement_that_waits_for_a_second_pair_of_eyes() {
        given::<Resident>([registered(RegistrationMode::Full)])
            .when(ResidentCommand::SetProxy {
                agreement: Some(AgreementMethod::InPerson),
                by_staff: Some("coordinator-a".into()),
            })
            .then([recorded_by(Some("coordinator-a"))]);
        let waiting = [
            registered(RegistrationMode::Full),
            recorded_by(Some("officer-a")),
        ];
        let state = mosaic_domain::fold::<Resident>(&waiting);
        assert_eq!(
            state.proxy_awaiting_confirmation.as_deref(),
            Some("officer-a")
        );
        // The officer who recorded it cannot confirm it; the resident or another officer can.
        given::<Resident>(waiting.clone())
            .when(confirm(Confirmer::Officer, "officer-a"))
            .then_error(RegistryError::OwnConfirmation("r1".into()));
        for by in [
            confirm(Confirmer::Officer, "officer-b"),
            confirm(Confirmer::Resident, "officer-a"),
        ] {
            let confirmer = match &by {
                ResidentCommand::ConfirmProxy { by, .. } => *by,
                _ => unreachable!(),
            };
            given::<Resident>(waiting.clone()).when(by).then([
                ResidentEvent::ProxyAgreementConfirmed(ProxyAgreementConfirmed {
                    resident_id: "r1".into(),
                    confirmed_by: confirmer,
                }),
            ]);
        }
        let confirmed = mosaic_domain::fold::<Resident>(&[
            registered(RegistrationMode::Full),
            recorded_by(Some("officer-a")),
            ResidentEvent::ProxyAgreementConfirmed(ProxyAgreementConfirmed {
                resident_id: "r1".into(),
                confirmed_by: Confirmer::Officer,
            }),
        ]);
        assert!(confirmed.proxy.is_some() && confirmed.proxy_awaiting_confirmation.is_none());
    }

    #[test]
    fn an_agreement_the_resident_records_or_an_old_one_needs_no_confirmation() {
        let state = mosaic_domain::fold::<Resident>(&[
            registered(RegistrationMode::Full),
            recorded_by(None),
        ]);
        assert!(state.proxy.is_some() && state.proxy_awaiting_confirmation.is_none());
        given::<Resident>([registered(RegistrationMode::Full), recorded_by(None)])
            .when(confirm(Confirmer::Resident, "x"))
            .then([]);
        given::<Resident>([registered(RegistrationMode::Full)])
            .when(confirm(Confirmer::Officer, "officer-b"))
            .then_error(RegistryError::NoProxyAgreement("r1".into()));
        // Re-recorded by staff, it waits again; ended, nothing waits.
        let ended = mosaic_domain::fold::<Resident>(&[
            registered(RegistrationMode::Full),
            recorded_by(Some("coordinator-a")),
            ResidentEvent::ProxyAgreementEnded(ResidentRef {
                resident_id: "r1".into(),
            }),
        ]);
        assert!(ended.proxy.is_none() && ended.proxy_awaiting_confirmation.is_none());
    }
}
