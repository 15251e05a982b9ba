//! Properties of the registry's aggregates over any command sequence: deciding and evolving never
//! panic, refused commands change nothing, and erasure is final.

use mosaic_domain::Aggregate;
use proptest::prelude::*;

use crate::domain::organisation::{Organisation, OrganisationCommand};
use crate::domain::resident::tests::{personal, profile, registration};
use crate::domain::resident::{Resident, ResidentCommand};
use crate::domain::{
    AgreementMethod, Confirmer, ConsentPurpose, OrganisationEvent, RegistrationMode, ResidentEvent,
    WithdrawalReason,
};

fn purpose() -> impl Strategy<Value = ConsentPurpose> {
    prop::sample::select(ConsentPurpose::ALL.to_vec())
}

fn method() -> impl Strategy<Value = AgreementMethod> {
    prop::sample::select(AgreementMethod::ALL.to_vec())
}

fn resident_command() -> impl Strategy<Value = ResidentCommand> {
    let year = 1930u16..2020;
    prop_oneof![
        (
            prop::sample::select(RegistrationMode::ALL.to_vec()),
            year.clone(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(mode, birth, matching, guardian)| {
                let mut r = registration(mode, birth);
                if !matching {
                    r.consents.clear();
                }
                r.guardian_consent = guardian;
                ResidentCommand::Register {
                    registration: r,
                    this_year: 2026,
                }
            }),
        year.clone().prop_map(|y| ResidentCommand::Upgrade {
            profile: profile(y)
        }),
        year.prop_map(|y| ResidentCommand::UpdateProfile {
            personal: personal(),
            profile: profile(y),
            this_year: 2026
        }),
        (purpose(), any::<bool>()).prop_map(|(purpose, granted)| ResidentCommand::SetConsent {
            purpose,
            granted,
            this_year: 2026
        }),
        method().prop_map(|method| ResidentCommand::RecordGuardianConsent { method }),
        (
            prop::option::of(method()),
            prop::option::of(prop::sample::select(vec!["staff-a", "staff-b"]))
        )
            .prop_map(|(agreement, by)| ResidentCommand::SetProxy {
                agreement,
                by_staff: by.map(str::to_owned)
            }),
        (
            prop::sample::select(vec![Confirmer::Resident, Confirmer::Officer]),
            prop::sample::select(vec!["staff-a", "staff-b"])
        )
            .prop_map(|(by, who)| ResidentCommand::ConfirmProxy {
                by,
                confirmer: who.to_owned()
            }),
        prop::sample::select(WithdrawalReason::ALL.to_vec())
            .prop_map(|reason| ResidentCommand::Withdraw { reason }),
        Just(ResidentCommand::Rejoin),
        Just(ResidentCommand::Erase),
    ]
}

fn organisation_command() -> impl Strategy<Value = OrganisationCommand> {
    let details = crate::domain::organisation::tests::details;
    prop_oneof![
        Just(OrganisationCommand::Register {
            organisation_id: "o1".into(),
            details: details()
        }),
        Just(OrganisationCommand::Update { details: details() }),
        "[a-z ]{1,20}".prop_map(|reason| OrganisationCommand::Suspend { reason }),
        Just(OrganisationCommand::Reinstate),
    ]
}

/// Runs commands; returns the events kept. Refusals must leave the state untouched.
fn run<A: Aggregate + PartialEq>(commands: &[A::Command]) -> (A, Vec<A::Event>) {
    let mut state = A::default();
    let mut log = Vec::new();
    for command in commands {
        let before = state.clone();
        match state.decide(command) {
            Ok(events) => {
                for e in &events {
                    state = state.evolve(e);
                }
                log.extend(events);
            }
            Err(_) => assert_eq!(state, before),
        }
    }
    (state, log)
}

proptest! {
    #[test]
    fn any_resident_command_sequence_decides_and_evolves_without_panicking(
        commands in prop::collection::vec(resident_command(), 0..40)
    ) {
        let (state, log) = run::<Resident>(&commands);
        // The state is exactly the fold of the kept events: replays agree with live decisions.
        prop_assert_eq!(mosaic_domain::fold::<Resident>(&log), state.clone());
        // Only one registration, first; nothing after erasure but the erasure itself.
        let registrations = log.iter().filter(|e| matches!(e, ResidentEvent::ResidentRegistered(_))).count();
        prop_assert!(registrations <= 1);
        if let Some(at) = log.iter().position(|e| matches!(e, ResidentEvent::PersonalDataErased(_))) {
            prop_assert_eq!(at, log.len() - 1);
            prop_assert!(state.personal.is_none() && !state.matchable(2026));
        }
        // Matchable residents are full, active and consenting.
        if state.matchable(2026) {
            prop_assert_eq!(state.mode, Some(RegistrationMode::Full));
            prop_assert!(state.withdrawn.is_none());
            prop_assert!(state.consents_to(ConsentPurpose::Matching));
        }
    }

    #[test]
    fn any_organisation_command_sequence_decides_and_evolves_without_panicking(
        commands in prop::collection::vec(organisation_command(), 0..30)
    ) {
        let (state, log) = run::<Organisation>(&commands);
        prop_assert_eq!(mosaic_domain::fold::<Organisation>(&log), state);
        // Suspensions and reinstatements alternate.
        let mut suspended = false;
        for e in &log {
            match e {
                OrganisationEvent::OrganisationSuspended(_) => { prop_assert!(!suspended); suspended = true; }
                OrganisationEvent::OrganisationReinstated(_) => { prop_assert!(suspended); suspended = false; }
                _ => {}
            }
        }
    }
}
