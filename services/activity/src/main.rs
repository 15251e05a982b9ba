//! `mosaic-activity`: the activity service on its own (PostgreSQL + NATS), configured by environment
//! variables (see `deploy/README.md`).

#[global_allocator]
static ALLOCATOR: mosaic_runtime::Allocator = mosaic_runtime::Allocator;

fn main() -> std::process::ExitCode {
    mosaic_runtime::distributed::main(&mosaic_activity::Module)
}
