/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id (a UUID is expected)")]
pub struct IdParseError;

/// Declares a typed id: a UUID that cannot be mixed up with ids of other kinds across a boundary.
/// New ids are UUIDv7 (time-ordered), so they index well and sort by creation.
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7).
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
            /// Parses the canonical hyphenated form sent over the API.
            pub fn parse(s: &str) -> Result<Self, $crate::IdParseError> {
                uuid::Uuid::try_parse(s).map(Self).map_err(|_| $crate::IdParseError)
            }
            /// The underlying UUID.
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

typed_id!(
    /// Identifies one stored event; also its `Nats-Msg-Id`, so JetStream drops re-published copies.
    EventId
);

/// Declares a typed id of a domain entity, kept as its text: the canonical UUID the server issued
/// (new ones are UUIDv7). The text form is what events store, so a stored event reads back as it
/// was written; an id from outside (a request) is [`parse`](ResidentId::parse)d.
#[macro_export]
macro_rules! entity_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize, schemars::JsonSchema,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new, time-ordered id (UUIDv7).
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }
            /// Parses an id sent from outside: a UUID, kept in canonical form.
            pub fn parse(s: &str) -> Result<Self, $crate::IdParseError> {
                uuid::Uuid::try_parse(s)
                    .map(|u| Self(u.to_string()))
                    .map_err(|_| $crate::IdParseError)
            }
            /// The id as stored and sent.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// An id already known to be one (read from storage, or named in a test).
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        /// An id already known to be one (read from storage, or named in a test).
        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

entity_id!(
    /// Identifies one organisation registered in the registry (a host of activities); a host
    /// organisation's token names one in its `org` claim.
    OrganisationId
);

entity_id!(
    /// Identifies one activity.
    ActivityId
);

entity_id!(
    /// Identifies one piece of an activity (a share of the work that one person takes).
    PieceId
);

entity_id!(
    /// Identifies one resident.
    ResidentId
);

entity_id!(
    /// Identifies one coordinator.
    CoordinatorId
);

entity_id!(
    /// Identifies one match: a resident and a piece, from application or proposal to its end.
    MatchId
);
