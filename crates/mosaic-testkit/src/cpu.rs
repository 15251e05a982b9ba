//! CPU time spent by this process and by the servers a test or benchmark runs against
//! (PostgreSQL and nats-server processes), read from `/proc`: the cost of an operation, next to its
//! throughput. On a shared machine another tenant's PostgreSQL would be counted too; the
//! benchmarks say so where they report it.

use std::time::Duration;

/// CPU time (user + system) consumed so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    /// This process (the services under test run in it, and the clients).
    pub own: Duration,
    /// Every `postgres` process.
    pub postgres: Duration,
    /// Every `nats-server` process.
    pub nats: Duration,
}

impl CpuTime {
    /// The CPU time consumed so far.
    pub fn now() -> Self {
        let tick = ticks_per_second();
        let to = |ticks: u64| Duration::from_secs_f64(ticks as f64 / tick);
        let mut t = CpuTime {
            own: to(ticks_of("/proc/self/stat").map(|(_, t)| t).unwrap_or(0)),
            ..CpuTime::default()
        };
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let path = entry.path().join("stat");
                match ticks_of(&path.to_string_lossy()) {
                    Some((name, ticks)) if name == "postgres" => t.postgres += to(ticks),
                    Some((name, ticks)) if name == "nats-server" => t.nats += to(ticks),
                    _ => {}
                }
            }
        }
        t
    }

    /// The whole of it.
    pub fn total(&self) -> Duration {
        self.own + self.postgres + self.nats
    }

    /// What was consumed since `earlier`. (Processes that ended in between are not counted.)
    pub fn since(&self, earlier: &CpuTime) -> CpuTime {
        CpuTime {
            own: self.own.saturating_sub(earlier.own),
            postgres: self.postgres.saturating_sub(earlier.postgres),
            nats: self.nats.saturating_sub(earlier.nats),
        }
    }
}

/// The command name and user + system ticks of a `/proc/<pid>/stat` file.
fn ticks_of(path: &str) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    // `pid (comm) state …`: the name may hold spaces, so split at the last parenthesis.
    let (head, rest) = text.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14 and stime 15 (1-based, as in proc(5)).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
