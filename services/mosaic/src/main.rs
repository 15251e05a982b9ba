//! `mosaic`: run the whole platform on one machine, and mint tokens for it.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use mosaic_api::limits::{ServeLimits, parse_duration};
use mosaic_api::server::{TlsFiles, shutdown_signal};
use mosaic_auth::{Role, SigningKeys};
use mosaic_runtime::embedded::{Embedded, EmbeddedOptions, keys_dir};
use mosaic_types::{MunicipalityCode, OrganisationId};

#[global_allocator]
static ALLOCATOR: mosaic_runtime::Allocator = mosaic_runtime::Allocator;

#[derive(Parser)]
#[command(
    name = "mosaic",
    version,
    about = "Mosaic: regional activity matching for every generation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve all five services on one port with an embedded SQLite store.
    Up {
        /// gRPC address to listen on.
        #[arg(long, env = "MOSAIC_LISTEN", default_value = "127.0.0.1:50051")]
        listen: SocketAddr,
        /// Where the databases and token keys live (created if missing).
        #[arg(long, env = "MOSAIC_DATA_DIR", default_value = "./mosaic-data")]
        data_dir: PathBuf,
        /// TLS certificate chain (PEM); serve TLS with --tls-key.
        #[arg(long, env = "MOSAIC_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(long, env = "MOSAIC_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The master key file of personal data (created if missing). Without it the key is
        /// kept in the data directory's keys folder, which suits a laptop; on a server keep it
        /// outside the data directory and back it up apart from the data.
        #[arg(long, env = "MOSAIC_MASTER_KEY_FILE")]
        master_key_file: Option<PathBuf>,
        /// Serve plaintext on an address other machines can reach. Only behind a proxy that
        /// terminates TLS: without TLS, tokens and personal data cross the network in the clear.
        #[arg(long, env = "MOSAIC_INSECURE_PLAINTEXT", value_parser = clap::builder::BoolishValueParser::new())]
        insecure_plaintext: bool,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Print a bearer token signed with the local keys (made by `mosaic up` or `mosaic keys`).
    Token {
        /// The caller's role: resident, coordinator, host_organisation, municipality_officer,
        /// analyst or operator.
        #[arg(long)]
        role: Role,
        /// The caller's municipality (six digits); analysts and operators may omit it.
        #[arg(long)]
        municipality: Option<MunicipalityCode>,
        /// The organisation (its registry id) a host_organisation token acts for: required with
        /// that role, refused with every other.
        #[arg(long, value_parser = OrganisationId::parse)]
        organisation: Option<OrganisationId>,
        /// The caller's subject (user id).
        #[arg(long, default_value = "local-user")]
        subject: String,
        /// Lifetime in hours, 1 to 720 (30 days).
        #[arg(
            long,
            default_value_t = 8,
            value_parser = clap::value_parser!(i64).range(1..=mosaic_auth::MAX_TOKEN_HOURS)
        )]
        hours: i64,
        /// Data directory whose keys sign the token (as used by `mosaic up`, which creates them
        /// on its first start); never creates keys.
        #[arg(long, env = "MOSAIC_DATA_DIR", default_value = "./mosaic-data")]
        data_dir: PathBuf,
        /// Sign with this PKCS#8 PEM key instead (a distributed deployment's key).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Create what a distributed deployment needs and does not have yet: a token signing key
    /// and its JWKS, and the master key of personal data. Existing keys are kept.
    Keys {
        /// Directory of `signing-key.pem`, `jwks.json` and `master.key`.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Print the public keys certificates are signed with (a JWKS document), for systems that
    /// verify certificates offline. They are derived from the master key of personal data, so
    /// every replica started with it signs alike; never creates a key.
    CertificateKeys {
        /// The master key file; by default the one in the data directory's keys folder.
        #[arg(long, env = "MOSAIC_MASTER_KEY_FILE")]
        master_key_file: Option<PathBuf>,
        /// The data directory of an embedded platform.
        #[arg(long, env = "MOSAIC_DATA_DIR", default_value = "./mosaic-data")]
        data_dir: PathBuf,
    },
    /// Operate on read models.
    Projections {
        #[command(subcommand)]
        action: ProjectionsCommand,
    },
    /// Write the event catalogue: every stored event type, its schema version, meaning and
    /// payload fields (`README.md`), and each context's JSON Schema.
    Catalogue {
        /// Directory to write to (created if missing).
        #[arg(long, default_value = mosaic::CATALOGUE_DIR)]
        out: PathBuf,
    },
}

/// What `mosaic projections` does.
#[derive(Subcommand)]
enum ProjectionsCommand {
    /// List the projections (read models) of every context.
    List,
    /// Rebuild one projection from the event log, for one municipality or all, through the
    /// running service that leads it: the embedded platform (`--data-dir`) or a distributed
    /// service (`--database-url`, the service's own database). Shows a progress bar on a
    /// terminal.
    Rebuild {
        /// The projection, e.g. `registry.directory` (`mosaic projections list`).
        name: String,
        /// Only this municipality (six digits); all without it.
        #[arg(long)]
        municipality: Option<MunicipalityCode>,
        /// The data directory of `mosaic up`.
        #[arg(long, env = "MOSAIC_DATA_DIR", default_value = "./mosaic-data")]
        data_dir: PathBuf,
        /// A distributed service's database (its DATABASE_URL) instead of a data directory.
        #[arg(long)]
        database_url: Option<String>,
        /// How long to wait for a running service to take the request.
        #[arg(long, default_value = "60s", value_parser = parse_duration)]
        wait: Duration,
    },
}

/// The limits that keep one client from locking the others out (`deploy/README.md`, "Limits").
#[derive(Args)]
struct LimitArgs {
    /// Open connections at most [default: 1000, fewer if the open-file limit is lower]. At the
    /// cap a new connection replaces the oldest one that has sent nothing yet, or is closed.
    #[arg(long, env = "MOSAIC_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
    /// HTTP/2 streams (calls) open at once per connection.
    #[arg(long, env = "MOSAIC_MAX_CONCURRENT_STREAMS", default_value_t = ServeLimits::default().max_concurrent_streams, value_parser = clap::value_parser!(u32).range(1..))]
    max_concurrent_streams: u32,
    /// Calls per connection whose handlers run at once; more wait their turn.
    #[arg(long, env = "MOSAIC_MAX_CALLS_PER_CONNECTION", default_value_t = ServeLimits::default().max_calls_per_connection as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_calls_per_connection: u64,
    /// A connection that has not sent the HTTP/2 preface (or finished TLS) by then is closed.
    #[arg(long, env = "MOSAIC_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    handshake_timeout: Duration,
    /// A connection without a call in flight for this long is closed.
    #[arg(long, env = "MOSAIC_IDLE_TIMEOUT", default_value = "5m", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// HTTP/2 PING after this long without frames, to find vanished peers.
    #[arg(long, env = "MOSAIC_KEEPALIVE_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    keepalive_interval: Duration,
    /// A PING not acknowledged within this closes the connection.
    #[arg(long, env = "MOSAIC_KEEPALIVE_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    keepalive_timeout: Duration,
    /// A call must answer within this (imports, whose requests stream, excepted).
    #[arg(long, env = "MOSAIC_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Calls per second per token subject, in bursts of as many; 0 for no limit.
    #[arg(long, env = "MOSAIC_RATE_LIMIT", default_value = "1000")]
    rate_limit: u32,
    /// Calls without a token (health, reflection) per second per peer address; 0 for no limit.
    #[arg(long, env = "MOSAIC_PUBLIC_RATE_LIMIT", default_value = "50")]
    public_rate_limit: u32,
    /// Streams without a token (health Watch, reflection) open at once, in all.
    #[arg(long, env = "MOSAIC_MAX_PUBLIC_STREAMS", default_value_t = ServeLimits::default().max_public_streams as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_public_streams: u64,
    /// Streams without a token open at once from one peer address.
    #[arg(long, env = "MOSAIC_MAX_PUBLIC_STREAMS_PER_PEER", default_value_t = ServeLimits::default().max_public_streams_per_peer as u64, value_parser = clap::value_parser!(u64).range(1..))]
    max_public_streams_per_peer: u64,
}

impl LimitArgs {
    fn limits(self) -> ServeLimits {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        ServeLimits {
            max_connections: self.max_connections.map(size),
            max_concurrent_streams: self.max_concurrent_streams,
            max_calls_per_connection: size(self.max_calls_per_connection),
            handshake_timeout: self.handshake_timeout,
            idle_timeout: self.idle_timeout,
            keepalive_interval: self.keepalive_interval,
            keepalive_timeout: self.keepalive_timeout,
            request_timeout: self.request_timeout,
            calls_per_subject: NonZeroU32::new(self.rate_limit),
            public_calls_per_peer: NonZeroU32::new(self.public_rate_limit),
            max_public_streams: size(self.max_public_streams),
            max_public_streams_per_peer: size(self.max_public_streams_per_peer),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up {
            listen,
            data_dir,
            tls_cert,
            tls_key,
            master_key_file,
            insecure_plaintext,
            limits,
        } => {
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| TlsFiles { cert, key });
            up(EmbeddedOptions {
                listen,
                data_dir,
                tls,
                master_key: master_key_file,
                insecure_plaintext,
                limits: limits.limits(),
            })
        }
        Command::Token {
            role,
            municipality,
            organisation,
            subject,
            hours,
            data_dir,
            key,
        } => token(
            TokenFor {
                role,
                municipality,
                organisation,
                subject,
            },
            hours,
            &data_dir,
            key,
        ),
        Command::Keys { dir } => keys(&dir),
        Command::CertificateKeys {
            master_key_file,
            data_dir,
        } => certificate_keys(master_key_file, &data_dir),
        Command::Projections { action } => projections(action),
        Command::Catalogue { out } => tokio::runtime::Runtime::new()
            .map_err(|e| e.to_string())
            .and_then(|rt| rt.block_on(catalogue(&out))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mosaic: {message}");
            ExitCode::FAILURE
        }
    }
}

fn up(options: EmbeddedOptions) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let _telemetry = mosaic_telemetry::init("mosaic").map_err(|e| e.to_string())?;
        let data_dir = options.data_dir.clone();
        let tls = options.tls.is_some();
        let master_key = mosaic_runtime::embedded::master_key_path(&options);
        let master_key_inside = options.master_key.is_none();
        let platform = Embedded::start(&mosaic::modules(), options)
            .await
            .map_err(|e| e.to_string())?;
        // Listening for Ctrl-C from here on: a signal right after the announcement still stops.
        let shutdown = shutdown_signal();
        say(&format!(
            "Mosaic is serving all five services on {}{} (data in {}). Ctrl-C stops it.",
            platform.local_addr(),
            if tls { " with TLS" } else { "" },
            data_dir.display()
        ));
        say(&format!(
            "The master key of personal data is {}{}",
            master_key.display(),
            if master_key_inside {
                ", inside the data directory: on a server, keep it elsewhere with \
                 --master-key-file (MOSAIC_MASTER_KEY_FILE)."
            } else {
                "."
            }
        ));
        say(&format!(
            "A token for local use: mosaic token --role operator --data-dir {}",
            data_dir.display()
        ));
        platform.serve(shutdown).await.map_err(|e| e.to_string())?;
        say("Mosaic stopped.");
        Ok(())
    })
}

/// Writes what a distributed deployment is missing; never replaces a key: a new signing key
/// would invalidate every token, a new master key would make stored personal data unreadable.
fn keys(dir: &std::path::Path) -> Result<(), String> {
    let mut wrote = Vec::new();
    let (pem, jwks) = (dir.join("signing-key.pem"), dir.join("jwks.json"));
    if !(pem.exists() && jwks.exists()) {
        SigningKeys::generate()
            .write_to_dir(dir)
            .map_err(|e| e.to_string())?;
        wrote.extend([pem, jwks]);
    }
    let master = dir.join(mosaic_runtime::embedded::MASTER_KEY_FILE);
    if !master.exists() {
        mosaic_privacy::MasterKey::load_or_generate(&master).map_err(|e| e.to_string())?;
        wrote.push(master);
    }
    if wrote.is_empty() {
        println!("{} holds every key already; nothing written", dir.display());
    }
    for path in wrote {
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn certificate_keys(
    master_key_file: Option<PathBuf>,
    data_dir: &std::path::Path,
) -> Result<(), String> {
    let path = master_key_file.unwrap_or_else(|| {
        mosaic_runtime::embedded::keys_dir(data_dir).join(mosaic_runtime::embedded::MASTER_KEY_FILE)
    });
    let master = mosaic_privacy::MasterKey::load(&path).map_err(|e| e.to_string())?;
    let jwks = mosaic_followup::api::certificate_keys_of(&master).jwks();
    println!("{jwks:#}");
    Ok(())
}

/// Who a token from `mosaic token` names.
struct TokenFor {
    role: Role,
    municipality: Option<MunicipalityCode>,
    organisation: Option<OrganisationId>,
    subject: String,
}

fn token(
    who: TokenFor,
    hours: i64,
    data_dir: &std::path::Path,
    key: Option<PathBuf>,
) -> Result<(), String> {
    match (who.role.is_bound_to_organisation(), &who.organisation) {
        (true, None) => {
            return Err(format!(
                "a {} token acts for one organisation: name it with --organisation <organisation_id>",
                who.role
            ));
        }
        (false, Some(_)) => {
            return Err(format!(
                "--organisation is only for --role {}: a {} token acts for no single organisation",
                Role::HostOrganisation,
                who.role
            ));
        }
        _ => {}
    }
    let keys = match key {
        Some(path) => SigningKeys::from_pem_file(path),
        None => {
            // A key made here would sign tokens that no running server trusts.
            let dir = keys_dir(data_dir);
            if !dir.join(mosaic_auth::SIGNING_KEY_FILE).exists() {
                return Err(format!(
                    "no token signing key in {}: `mosaic up --data-dir {}` creates the keys on its \
                     first start (or sign with a deployment's key: --key <signing-key.pem>)",
                    dir.display(),
                    data_dir.display()
                ));
            }
            SigningKeys::load_from_dir(dir)
        }
    }
    .map_err(|e| e.to_string())?;
    let signer = keys
        .signer(mosaic_auth::DEFAULT_ISSUER, mosaic_auth::DEFAULT_AUDIENCE)
        .map_err(|e| e.to_string())?;
    let token = signer
        .mint_scoped(
            &who.subject,
            who.role,
            who.municipality,
            who.organisation,
            chrono::Duration::hours(hours),
        )
        .map_err(|e| e.to_string())?;
    println!("{token}");
    Ok(())
}

/// Prints a status line; a closed stdout (a supervisor that stopped reading) is not an error.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn projections(action: ProjectionsCommand) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        match action {
            ProjectionsCommand::List => {
                for name in mosaic::projection_names()
                    .await
                    .map_err(|e| e.to_string())?
                {
                    say(name);
                }
                Ok(())
            }
            ProjectionsCommand::Rebuild {
                name,
                municipality,
                data_dir,
                database_url,
                wait,
            } => {
                let done = mosaic::rebuild::rebuild(mosaic::rebuild::RebuildArgs {
                    name,
                    municipality,
                    data_dir,
                    database_url,
                    wait,
                })
                .await?;
                say(&done);
                Ok(())
            }
        }
    })
}

async fn catalogue(out: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let files = mosaic::catalogue_files()
        .await
        .map_err(|e| format!("cannot build the catalogue: {e}"))?;
    for (name, content) in files {
        let path = out.join(&name);
        std::fs::write(&path, content)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}
