//! The compose file gives every service what its module needs to start.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::Path;

/// The lines of one service's block in the compose file (`  name:` up to the next top entry).
fn service<'a>(compose: &'a str, name: &str) -> Vec<&'a str> {
    compose
        .lines()
        .skip_while(|l| *l != format!("  {name}:"))
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .collect()
}

#[test]
fn every_service_that_keeps_personal_data_gets_the_master_key() {
    let compose = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/docker-compose.yml"),
    )
    .unwrap();
    for module in mosaic::modules() {
        let block = service(&compose, module.context());
        assert!(
            !block.is_empty(),
            "no compose service `{}`",
            module.context()
        );
        let has_key = block
            .iter()
            .any(|l| l.trim_start().starts_with("MOSAIC_MASTER_KEY"));
        assert_eq!(
            has_key,
            module.keeps_personal_data(),
            "compose service `{}`: the master key is required exactly where personal data is kept",
            module.context()
        );
    }
}
