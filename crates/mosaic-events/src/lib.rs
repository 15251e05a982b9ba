//! Every context's events — stored names and payload types — in one place. The producing context
//! decides and writes them; a consumer in another context imports the same types, so a payload is
//! declared once and `grep EventName` finds the producer, the catalogue (`docs/events`) and every
//! consumer. Stored names and payloads never change: a change adds a schema version, and the
//! payload type keeps reading the older versions.

pub mod activity;
pub mod followup;
pub mod matching;
pub mod registry;
