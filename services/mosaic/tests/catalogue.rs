//! The published event catalogue (`docs/events`) describes what the code writes.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::Path;

#[tokio::test]
async fn the_event_catalogue_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(mosaic::CATALOGUE_DIR);
    let files = mosaic::catalogue_files().await.unwrap();
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

#[tokio::test]
async fn every_event_type_is_described_with_its_fields() {
    let files = mosaic::catalogue_files().await.unwrap();
    let readme = &files[0].1;
    for heading in [
        "### `ResidentRegistered` (schema version 2)",
        "### `PersonalDataErased` (schema version 1)",
        "### `ActivityPublished` (schema version 1)",
    ] {
        assert!(readme.contains(heading), "missing {heading}");
    }
    // Each event names who reads it, in every context.
    let registered = readme
        .split("### `OrganisationRegistered`")
        .nth(1)
        .and_then(|rest| rest.lines().find(|l| l.contains("is read by:")))
        .unwrap();
    assert!(
        registered.contains("`activity.hosts`")
            && registered.contains("`registry.directory`")
            && registered.contains("`insights.municipality_overview`"),
        "{registered}"
    );
    // Every event and every field has a meaning.
    for line in readme.lines().filter(|l| l.starts_with("| `")) {
        assert!(!line.ends_with("|  |"), "undescribed: {line}");
    }
}
