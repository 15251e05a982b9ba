use crate::{Aggregate, fold};

/// The start of a given/when/then test: the events that already happened.
pub fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
    let events: Vec<A::Event> = events.into_iter().collect();
    Given {
        state: fold(&events),
    }
}

/// A state built from past events, ready for a command.
pub struct Given<A: Aggregate> {
    state: A,
}

impl<A: Aggregate> Given<A> {
    /// Decides the command against the given state.
    pub fn when(self, command: A::Command) -> Then<A> {
        let result = self.state.decide(&command);
        Then { result, command }
    }
}

/// The outcome of a command, to be checked.
pub struct Then<A: Aggregate> {
    result: Result<Vec<A::Event>, A::Error>,
    command: A::Command,
}

impl<A: Aggregate> Then<A> {
    /// Asserts the command caused exactly these events.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        match self.result {
            Ok(events) => assert_eq!(events, expected, "events of {:?}", self.command),
            Err(e) => panic!(
                "{:?} was refused ({e}), expected {expected:?}",
                self.command
            ),
        }
    }

    /// Asserts the command was refused with this error.
    #[track_caller]
    pub fn then_error(self, expected: A::Error) {
        match self.result {
            Ok(events) => panic!(
                "{:?} caused {events:?}, expected refusal {expected:?}",
                self.command
            ),
            Err(e) => assert_eq!(e, expected, "refusal of {:?}", self.command),
        }
    }
}
