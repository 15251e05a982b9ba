//! The published event catalogue (`docs/events`) describes what the code writes.
#![allow(missing_docs)]

use std::path::Path;

#[test]
fn the_event_catalogue_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(mosaic::CATALOGUE_DIR);
    let files = mosaic::catalogue_files();
    assert!(files.len() >= 3, "a README and a schema per context");
    for (name, generated) in files {
        let path = dir.join(&name);
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == generated,
            "{} is out of date: run `cargo run -p mosaic -- catalogue` and commit the result",
            path.display()
        );
    }
}

#[test]
fn every_event_type_is_described_with_its_fields() {
    let files = mosaic::catalogue_files();
    let readme = &files[0].1;
    for heading in [
        "### `ResidentRegistered` (schema version 2)",
        "### `PersonalDataErased` (schema version 1)",
        "### `ActivityPublished` (schema version 1)",
    ] {
        assert!(readme.contains(heading), "missing {heading}");
    }
    // Every event and every field has a meaning.
    for line in readme.lines().filter(|l| l.starts_with("| `")) {
        assert!(!line.ends_with("|  |"), "undescribed: {line}");
    }
}
