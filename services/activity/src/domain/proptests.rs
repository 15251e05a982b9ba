//! Any sequence of commands, valid or not, is decided without a panic, and every accepted command's
//! events evolve the state into one the next command can be decided against.

use mosaic_domain::Aggregate;
use mosaic_types::EngagementForm;
use proptest::prelude::*;

use crate::domain::activity::tests::{details, piece};
use crate::domain::activity::{Activity, ActivityCommand, HostFacts};
use crate::domain::{CloseReason, Status};

fn command() -> impl Strategy<Value = ActivityCommand> {
    let form = prop_oneof![
        Just(EngagementForm::Volunteer),
        Just(EngagementForm::Internship),
    ];
    prop_oneof![
        form.clone().prop_map(|f| ActivityCommand::Create {
            activity_id: "a1".into(),
            details: details(f),
            pieces: vec![("p0".into(), piece(1))],
            host: HostFacts::licensed(vec![]),
        }),
        form.prop_map(|f| ActivityCommand::Update {
            details: details(f),
            host: HostFacts::licensed(vec![]),
        }),
        (0u8..4, 1u32..4).prop_map(|(i, n)| ActivityCommand::AddPieces {
            pieces: vec![(format!("p{i}").into(), piece(n))],
        }),
        (0u8..4, 1u32..4, 0u32..3).prop_map(|(i, n, c)| ActivityCommand::RevisePiece {
            piece_id: format!("p{i}").into(),
            piece: piece(n),
            confirmed: c,
        }),
        (0u8..4, 0u32..2).prop_map(|(i, c)| ActivityCommand::RemovePiece {
            piece_id: format!("p{i}").into(),
            confirmed: c,
        }),
        Just(ActivityCommand::Publish),
        Just(ActivityCommand::Pause),
        Just(ActivityCommand::Resume),
        Just(ActivityCommand::Close {
            reason: CloseReason::Ended
        }),
        Just(ActivityCommand::Cancel { reason: "x".into() }),
    ]
}

proptest! {
    #[test]
    fn any_command_sequence_is_decided_without_panic(commands in prop::collection::vec(command(), 0..40)) {
        let mut state = Activity::default();
        for c in commands {
            if let Ok(events) = state.decide(&c) {
                state = events.iter().fold(state, |s, e| s.evolve(e));
            }
            // Terminal states stay terminal.
            if matches!(state.status, Some(Status::Closed | Status::Cancelled)) {
                prop_assert!(state.decide(&ActivityCommand::Publish).is_err());
                prop_assert!(state.decide(&ActivityCommand::Resume).is_err());
            }
        }
    }
}
