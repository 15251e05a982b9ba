//! Follow-up through gRPC, on both backends: embedded (SQLite, one process) and distributed (each
//! service its own PostgreSQL database, one nats-server carrying every event between them).
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../../matching/tests/common/mod.rs"]
mod common;
mod support;

mod engagements;
mod incentives;
mod internship;
mod journal;
mod reminders;
mod wellbeing;
