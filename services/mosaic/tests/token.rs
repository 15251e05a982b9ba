//! `mosaic token`: signs only with keys that exist, bounds the lifetime, binds host tokens to
//! their organisation.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

use mosaic_auth::{DEFAULT_AUDIENCE, DEFAULT_ISSUER, KeySet, Role, SigningKeys, TokenVerifier};
use mosaic_types::OrganisationId;

fn token(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mosaic"))
        .arg("token")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("MOSAIC_DATA_DIR")
        .output()
        .unwrap()
}

/// A data directory holding the keys `mosaic up` makes on its first start.
fn started_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    SigningKeys::load_or_generate(mosaic_runtime::embedded::keys_dir(dir.path())).unwrap();
    dir
}

fn verify(data_dir: &Path, out: &Output) -> mosaic_auth::Caller {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = mosaic_runtime::embedded::keys_dir(data_dir).join(mosaic_auth::JWKS_FILE);
    TokenVerifier::new(
        KeySet::from_jwks_file(keys).unwrap(),
        DEFAULT_ISSUER,
        DEFAULT_AUDIENCE,
    )
    .verify(String::from_utf8_lossy(&out.stdout).trim())
    .unwrap()
}

#[test]
fn a_data_directory_without_keys_is_refused_and_left_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = token(dir.path(), &["--role", "operator"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no token is printed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let keys = mosaic_runtime::embedded::keys_dir(dir.path());
    assert!(stderr.contains(&keys.display().to_string()), "{stderr}");
    assert!(stderr.contains("mosaic up"), "{stderr}");
    assert!(!keys.exists(), "mosaic token made keys");
}

#[test]
fn a_token_is_signed_with_the_keys_mosaic_up_made() {
    let dir = started_data_dir();
    let caller = verify(
        dir.path(),
        &token(
            dir.path(),
            &["--role", "coordinator", "--municipality", "122173"],
        ),
    );
    assert_eq!(caller.role, Role::Coordinator);
    assert_eq!(caller.organisation, None);
}

#[test]
fn hours_out_of_range_are_refused_with_the_range_not_a_panic() {
    let dir = started_data_dir();
    for hours in ["0", "721", "9223372036854775807", "-5"] {
        let out = token(
            dir.path(),
            &["--role", "operator", &format!("--hours={hours}")],
        );
        assert!(!out.status.success(), "{hours}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("1..=720"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let longest = token(dir.path(), &["--role", "operator", "--hours", "720"]);
    verify(dir.path(), &longest);
}

#[test]
fn a_host_token_names_its_organisation_and_only_a_host_token_does() {
    let dir = started_data_dir();
    let org = OrganisationId::new().to_string();
    let host = ["--role", "host_organisation", "--municipality", "122173"];

    let out = token(dir.path(), &host);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--organisation"), "{stderr}");

    let caller = verify(
        dir.path(),
        &token(dir.path(), &[&host[..], &["--organisation", &org]].concat()),
    );
    assert_eq!(caller.role, Role::HostOrganisation);
    assert_eq!(
        caller.organisation.map(|o| o.to_string()),
        Some(org.clone())
    );

    let out = token(
        dir.path(),
        &[
            "--role",
            "coordinator",
            "--municipality",
            "122173",
            "--organisation",
            &org,
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("host_organisation"), "{stderr}");

    let out = token(
        dir.path(),
        &[&host[..], &["--organisation", "org-1"]].concat(),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--organisation"), "{stderr}");
}
