//! The `mosaic` binary's start-up and shutdown, and one clear line on failure.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn mosaic() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mosaic"))
}

#[test]
fn up_starts_on_an_empty_data_directory_says_where_it_listens_and_stops_on_interrupt() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = mosaic()
        .args(["up", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains(&format!("127.0.0.1:{port}")), "{first}");
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    let rest: Vec<String> = stdout.lines().map_while(Result::ok).collect();
    assert_eq!(rest.last().map(String::as_str), Some("Mosaic stopped."));
}

#[test]
fn a_port_in_use_is_one_line_and_a_failure() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = mosaic()
        .args([
            "up",
            "--listen",
            &taken.local_addr().unwrap().to_string(),
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("mosaic: cannot listen on"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}

/// Runs `mosaic up` with `args` on a free port and returns its first line of output (the
/// announcement) or, when it stops, the last line of its errors; the process is stopped.
fn up_once(args: &[&str], listen_host: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = mosaic()
        .args([
            "up",
            "--listen",
            &format!("{listen_host}:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .args(args)
        .env_remove("MOSAIC_INSECURE_PLAINTEXT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let started = !first.is_empty();
    if started {
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
    }
    let out = child.wait_with_output().unwrap();
    if started {
        return (true, first);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    (false, stderr.lines().last().unwrap_or_default().to_owned())
}

#[test]
fn plaintext_beyond_loopback_is_refused_with_a_line_naming_insecure_plaintext() {
    let (started, line) = up_once(&[], "0.0.0.0");
    assert!(!started);
    assert!(
        line.starts_with("mosaic: refusing to serve plaintext"),
        "{line}"
    );
    assert!(line.contains("--insecure-plaintext"), "{line}");

    let (started, line) = up_once(&["--insecure-plaintext"], "0.0.0.0");
    assert!(started, "{line}");
    assert!(line.contains("0.0.0.0:"), "{line}");
}

#[test]
fn a_tls_key_of_another_certificate_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let ours = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let theirs = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ours.cert.pem()).unwrap();
    std::fs::write(&key, theirs.signing_key.serialize_pem()).unwrap();
    let tls = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let (started, line) = up_once(&tls, "0.0.0.0");
    assert!(!started);
    assert!(line.starts_with("mosaic: TLS: the private key"), "{line}");
    assert!(
        line.contains("does not belong to the certificate"),
        "{line}"
    );

    // With its own key the same command serves TLS beyond loopback.
    std::fs::write(&key, ours.signing_key.serialize_pem()).unwrap();
    let (started, line) = up_once(&tls, "0.0.0.0");
    assert!(started, "{line}");
    assert!(line.contains("with TLS"), "{line}");
}

#[test]
fn a_bad_limit_stops_the_start_with_a_line_naming_its_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = mosaic()
        .args(["up", "--listen", "127.0.0.1:0", "--handshake-timeout", "0s"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.contains("--handshake-timeout") && first.contains("longer than zero"),
        "{stderr}"
    );
}
