#![allow(dead_code, missing_docs, clippy::unwrap_used)]

//! Services of the distributed deployment as processes of their own (`mosaic-service`), to
//! start, kill and pause.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tonic::transport::Channel;

/// One service process, started again on the same port after a kill.
pub struct Service {
    pub name: &'static str,
    pub env: Vec<(&'static str, String)>,
    pub addr: SocketAddr,
    child: Option<Child>,
}

impl Service {
    pub fn start(name: &'static str, env: Vec<(&'static str, String)>) -> anyhow::Result<Self> {
        let addr = SocketAddr::from(([127, 0, 0, 1], mosaic_testkit::free_port()?));
        let mut service = Self {
            name,
            env,
            addr,
            child: None,
        };
        service.spawn()?;
        Ok(service)
    }

    pub fn spawn(&mut self) -> anyhow::Result<()> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mosaic-service"));
        command
            .arg(self.name)
            .env("MOSAIC_LISTEN", self.addr.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        self.child = Some(command.spawn()?);
        Ok(())
    }

    /// A channel once the process listens; an error at once if it exited (e.g. its port was
    /// taken), so nobody else's server is mistaken for it.
    pub async fn ready(&mut self) -> anyhow::Result<Channel> {
        for _ in 0..400 {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                anyhow::bail!("{} on {} exited ({status})", self.name, self.addr);
            }
            if let Ok(channel) = Channel::from_shared(format!("http://{}", self.addr))?
                .connect()
                .await
            {
                return Ok(channel);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        anyhow::bail!("{} never listened on {}", self.name, self.addr)
    }

    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self.child.as_ref().map(|c| c.id()).unwrap_or_default();
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()?;
        anyhow::ensure!(status.success(), "kill -{signal} {pid} failed");
        Ok(())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.signal("CONT");
        self.kill9();
    }
}
