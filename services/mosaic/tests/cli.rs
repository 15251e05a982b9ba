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
