//! The service binary refuses bad configuration with one line naming the problem.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

fn registry(env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mosaic-registry"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.success(),
        stderr.lines().last().unwrap_or_default().to_owned(),
    )
}

const BASE: [(&str, &str); 4] = [
    ("DATABASE_URL", "postgres://mosaic@127.0.0.1:1/registry"),
    ("NATS_URL", "nats://127.0.0.1:1"),
    ("MOSAIC_JWKS", "/nonexistent/jwks.json"),
    (
        "MOSAIC_MASTER_KEY",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    ),
];

fn with(overrides: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env: Vec<_> = BASE
        .iter()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .copied()
        .collect();
    env.extend_from_slice(overrides);
    env
}

#[test]
fn a_missing_variable_is_named() {
    let (ok, line) = registry(&[]);
    assert!(!ok);
    assert_eq!(line, "mosaic-registry: DATABASE_URL is not set");
}

#[test]
fn a_malformed_listen_address_is_named() {
    let (ok, line) = registry(&with(&[("MOSAIC_LISTEN", "nope")]));
    assert!(!ok);
    assert!(
        line.starts_with("mosaic-registry: MOSAIC_LISTEN \"nope\""),
        "{line}"
    );
}

#[test]
fn an_unreadable_key_set_is_reported() {
    let (ok, line) = registry(&BASE);
    assert!(!ok);
    assert!(line.starts_with("mosaic-registry: token keys:"), "{line}");
}

#[test]
fn a_bad_or_unreachable_database_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    mosaic_auth::SigningKeys::generate()
        .write_to_dir(dir.path())
        .unwrap();
    let jwks = dir.path().join("jwks.json");
    let jwks = jwks.to_str().unwrap();
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let (ok, line) = registry(&with(&[
        ("MOSAIC_JWKS", leak(jwks.to_owned())),
        ("DATABASE_URL", "mysql://x"),
    ]));
    assert!(!ok);
    assert!(
        line.starts_with("mosaic-registry: database URL is not usable"),
        "{line}"
    );
    let (ok, line) = registry(&with(&[("MOSAIC_JWKS", leak(jwks.to_owned()))]));
    assert!(!ok);
    assert!(
        line.starts_with("mosaic-registry: cannot connect to the database"),
        "{line}"
    );
}

#[test]
fn a_missing_or_bad_master_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    mosaic_auth::SigningKeys::generate()
        .write_to_dir(dir.path())
        .unwrap();
    let jwks: &'static str = Box::leak(
        dir.path()
            .join("jwks.json")
            .to_str()
            .unwrap()
            .to_owned()
            .into_boxed_str(),
    );
    let env: Vec<_> = with(&[("MOSAIC_JWKS", jwks)])
        .into_iter()
        .filter(|(k, _)| *k != "MOSAIC_MASTER_KEY")
        .collect();
    let (ok, line) = registry(&env);
    assert!(!ok);
    assert!(
        line.starts_with("mosaic-registry: MOSAIC_MASTER_KEY is not set"),
        "{line}"
    );
    let (ok, line) = registry(&with(&[
        ("MOSAIC_JWKS", jwks),
        ("MOSAIC_MASTER_KEY", "not base64!"),
    ]));
    assert!(!ok);
    assert!(
        line.starts_with("mosaic-registry: MOSAIC_MASTER_KEY"),
        "{line}"
    );
}
