use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::net::{free_port, wait_for_port};

/// A PostgreSQL cluster in a temporary directory, stopped and removed on drop.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The server options `pg_ctl start` passes (`-o`).
    options: String,
}

/// A fresh, empty database for one test; its cluster lives while any database of it does.
pub struct TestDatabase {
    url: String,
    /// On a server this process did not start (`MOSAIC_TEST_PG`), the database is dropped with
    /// this value, so a long-lived server does not fill up with test databases.
    on_server: Option<(PathBuf, String, String)>,
    _cluster: Option<Arc<PgCluster>>,
}

impl TestDatabase {
    /// A new database: in the cluster named by `MOSAIC_TEST_PG` if set, otherwise in a cluster
    /// this process starts (shared by the tests that run at the same time).
    pub fn new() -> anyhow::Result<Self> {
        if let Ok(admin) = std::env::var("MOSAIC_TEST_PG") {
            let (bin, name) = (pg_bin()?, unique_name());
            create_database(&bin, &admin, &name)?;
            return Ok(Self {
                url: format!("{}/{}", admin.trim_end_matches('/'), name),
                on_server: Some((bin, admin, name)),
                _cluster: None,
            });
        }
        let cluster = shared_cluster()?;
        let name = unique_name();
        create_database(&cluster.bin, &cluster.admin_url(), &name)?;
        Ok(Self {
            url: format!("{}/{}", cluster.admin_url(), name),
            on_server: None,
            _cluster: Some(cluster),
        })
    }

    /// `postgres://postgres@127.0.0.1:PORT/NAME`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((bin, admin, name)) = self.on_server.take() {
            // `--force` ends the connections the test's pools still hold. A database that cannot
            // be dropped is only left behind, as before.
            let mut c = pg_command(&bin, "dropdb");
            c.arg(format!(
                "--maintenance-db={}/postgres",
                admin.trim_end_matches('/')
            ))
            .args(["--force", "--if-exists", "--no-password"])
            .arg(name)
            // Never wait long on a server that went away.
            .env("PGCONNECT_TIMEOUT", "5");
            let _ = run(c, "dropdb");
        }
    }
}

static SHARED: Mutex<Weak<PgCluster>> = Mutex::new(Weak::new());

fn shared_cluster() -> anyhow::Result<Arc<PgCluster>> {
    let mut slot = SHARED
        .lock()
        .map_err(|_| anyhow::anyhow!("cluster lock poisoned"))?;
    if let Some(cluster) = slot.upgrade() {
        return Ok(cluster);
    }
    let cluster = Arc::new(PgCluster::start()?);
    *slot = Arc::downgrade(&cluster);
    Ok(cluster)
}

fn unique_name() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool; as root, through `runuser -u postgres`, since PostgreSQL refuses root.
fn pg_command(bin: &Path, tool: &str) -> Command {
    let exe = bin.join(tool);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    }
}

fn run(mut c: Command, what: &str) -> anyhow::Result<()> {
    let out = c.output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn create_database(bin: &Path, admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut c = pg_command(bin, "createdb");
    c.arg(format!(
        "--maintenance-db={}/postgres",
        admin_url.trim_end_matches('/')
    ))
    .arg(name);
    run(c, "createdb")
}

/// The directory of the PostgreSQL server binaries.
pub fn pg_bin() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("MOSAIC_PG_BIN") {
        return Ok(dir.into());
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context(
            "PostgreSQL not found: install it (apt-get install postgresql) or set MOSAIC_PG_BIN",
        )?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

impl PgCluster {
    /// Initialises and starts a cluster on a free loopback port (trust authentication).
    pub fn start() -> anyhow::Result<Self> {
        let bin = pg_bin()?;
        let dir = tempfile::Builder::new().prefix("mosaic-pg").tempdir()?;
        let data = dir.path().join("data");
        let sock = dir.path().join("sock");
        std::fs::create_dir_all(&sock)?;
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.args(["-R", "postgres:postgres"]).arg(dir.path());
                    c
                },
                "chown",
            )?;
        }
        let mut init = pg_command(&bin, "initdb");
        init.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            // As the databases of the deployment (`deploy/postgres-init.sql`): keys compare
            // byte by byte, characters classify as Unicode.
            "--locale=C.UTF-8",
            "--lc-collate=C",
            "--no-sync",
        ]);
        run(init, "initdb")?;
        let port = free_port()?;
        // Extra server settings, e.g. to load pg_stat_statements while profiling a benchmark.
        let extra = std::env::var("MOSAIC_PG_OPTIONS").unwrap_or_default();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on \
             {extra}",
            sock.display()
        );
        let cluster = Self {
            dir,
            bin,
            port,
            options,
        };
        cluster.restart()?;
        Ok(cluster)
    }

    /// A new, empty database in this cluster; its URL.
    pub fn database(&self, name: &str) -> anyhow::Result<String> {
        create_database(&self.bin, &self.admin_url(), name)?;
        Ok(format!("{}/{name}", self.admin_url()))
    }

    /// Stops the server as a crash would (`pg_ctl stop -m immediate`): no shutdown checkpoint,
    /// and commits that were not yet flushed (asynchronous ones) are lost.
    pub fn crash(&self) -> anyhow::Result<()> {
        let mut stop = pg_command(&self.bin, "pg_ctl");
        stop.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        run(stop, "pg_ctl stop")
    }

    /// Starts the (stopped) server on its port and waits until it accepts connections.
    pub fn restart(&self) -> anyhow::Result<()> {
        let mut start = pg_command(&self.bin, "pg_ctl");
        start
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .arg("-o")
            .arg(&self.options)
            .args(["-w", "start"]);
        run(start, "pg_ctl start")?;
        wait_for_port(self.port, Duration::from_secs(20))
    }

    /// `postgres://postgres@127.0.0.1:PORT` (no database).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// The loopback port the cluster listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let mut stop = pg_command(&self.bin, "pg_ctl");
        stop.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.output();
    }
}
