//! `mosaic projections rebuild`: an operator rebuilds one read model, for one municipality or
//! all, from the event log. The command records a request in the projection's database; the
//! running service that leads the projection takes it between batches and reports its progress
//! there, which the command shows (a progress bar with the rate on a terminal). The same command
//! serves the embedded platform (its data directory) and a distributed service (its database).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use mosaic_db::Db;
use mosaic_types::MunicipalityCode;

/// What to rebuild, and where its database is.
pub struct RebuildArgs {
    /// The projection, e.g. `registry.directory`.
    pub name: String,
    /// One municipality, or all.
    pub municipality: Option<MunicipalityCode>,
    /// The embedded platform's data directory (used without `database_url`).
    pub data_dir: PathBuf,
    /// A distributed service's database.
    pub database_url: Option<String>,
    /// How long to wait for a running service to take the request.
    pub wait: Duration,
}

/// How often the command reads the progress.
const POLL: Duration = Duration::from_millis(200);

/// Requests the rebuild and follows it to its end; the line to print when it succeeded.
pub async fn rebuild(args: RebuildArgs) -> Result<String, String> {
    let names = crate::projection_names().await.map_err(|e| e.to_string())?;
    if !names.contains(&args.name.as_str()) {
        return Err(format!(
            "no projection is named {:?}; the projections are: {}",
            args.name,
            names.join(", ")
        ));
    }
    let db = open(&args).await?;
    let outcome = follow(&db, &args).await;
    db.close().await;
    outcome
}

/// The database that holds the projection: the service's, or the embedded platform's file of
/// the projection's context.
async fn open(args: &RebuildArgs) -> Result<Db, String> {
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let context = args.name.split('.').next().unwrap_or_default();
            let file = args.data_dir.join(format!("{context}.db"));
            if !file.exists() {
                return Err(format!(
                    "{} does not exist: give the data directory of `mosaic up` (--data-dir) or a \
                     distributed service's database (--database-url)",
                    file.display()
                ));
            }
            format!("sqlite://{}", file.display())
        }
    };
    let db = mosaic_db::connect(&url, 2)
        .await
        .map_err(|e| format!("cannot open the projection's database: {e}"))?;
    // The request table of a service that has not yet started since an upgrade.
    mosaic_projection::migrate(&db)
        .await
        .map_err(|e| format!("cannot prepare the projection's database: {e}"))?;
    Ok(db)
}

async fn follow(db: &Db, args: &RebuildArgs) -> Result<String, String> {
    let failed = |e: sqlx::Error| format!("the projection's database failed: {e}");
    let id = mosaic_projection::request_rebuild(db, &args.name, args.municipality)
        .await
        .map_err(failed)?;
    let scope = args
        .municipality
        .map_or("all municipalities".to_owned(), |m| {
            format!("municipality {m}")
        });
    let bar = ProgressBar::new_spinner();
    bar.set_message(format!(
        "{}: waiting for the service that runs it",
        args.name
    ));
    let asked = Instant::now();
    let mut started: Option<Instant> = None;
    loop {
        let progress = mosaic_projection::rebuild_progress(db, id)
            .await
            .map_err(failed)?
            .ok_or("the rebuild request disappeared")?;
        if progress.finished {
            bar.finish_and_clear();
            if let Some(error) = progress.error {
                return Err(format!("rebuilding {} failed: {error}", args.name));
            }
            let took = started.map_or(Duration::ZERO, |s| s.elapsed());
            let rate = progress.replayed as f64 / took.as_secs_f64().max(0.001);
            return Ok(format!(
                "rebuilt {} for {scope}: {} events replayed in {:.1} s ({rate:.0} events/s)",
                args.name,
                progress.replayed,
                took.as_secs_f64()
            ));
        }
        if progress.started {
            if started.is_none() {
                started = Some(Instant::now());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta} left)",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_message(format!("{} ({scope})", args.name));
            }
            if let Some(up_to) = progress.up_to {
                bar.set_length(up_to);
                bar.set_position(progress.reached.unwrap_or(0));
            }
        } else if asked.elapsed() > args.wait {
            bar.finish_and_clear();
            if mosaic_projection::withdraw_rebuild(db, id)
                .await
                .map_err(failed)?
            {
                return Err(format!(
                    "no running service took the request within {:?}: start the service that \
                     runs {} (or `mosaic up`) and ask again",
                    args.wait, args.name
                ));
            }
            continue;
        } else {
            bar.tick();
        }
        tokio::time::sleep(POLL).await;
    }
}
