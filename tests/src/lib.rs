//! Helpers for the end-to-end tests: start the platform, mint tokens, build clients.
#![allow(missing_docs)]
