//! `mosaic-insights`: the insights service on its own (PostgreSQL + NATS), configured by
//! environment variables (see `deploy/README.md`).

fn main() -> std::process::ExitCode {
    mosaic_runtime::distributed::main(&mosaic_insights::Module)
}
