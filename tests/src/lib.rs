//! End-to-end tests of Mosaic live in `tests/` of this crate (shared helpers in
//! `tests/common`); the library itself is empty.
