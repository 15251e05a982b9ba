use std::fmt::Debug;

use crate::DomainEvent;

/// A consistency boundary: the facts one command must see to decide.
pub trait Aggregate: Default + Clone + Debug {
    /// What can be asked of it.
    type Command: Debug;
    /// What can happen to it.
    type Event: DomainEvent;
    /// Why a command is refused.
    type Error: std::error::Error + PartialEq;

    /// Decides which events a command causes, or why it is refused. Pure.
    fn decide(&self, command: &Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    /// The state after one event. Pure and total: an event is a fact, so it always applies.
    fn evolve(self, event: &Self::Event) -> Self;
}

/// The state after a sequence of events.
pub fn fold<'a, A: Aggregate + 'a>(events: impl IntoIterator<Item = &'a A::Event>) -> A {
    events
        .into_iter()
        .fold(A::default(), |state, event| state.evolve(event))
}
