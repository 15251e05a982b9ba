//! One service of the distributed deployment, named by the first argument (`registry`,
//! `activity`, `matching`, `followup` or `insights`) and configured by environment variables as the service binaries are: the fault
//! tests run each service as a process of its own, to kill and pause it.

fn main() -> std::process::ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("registry") => mosaic_runtime::distributed::main(&mosaic_registry::Module),
        Some("activity") => mosaic_runtime::distributed::main(&mosaic_activity::Module),
        Some("matching") => mosaic_runtime::distributed::main(&mosaic_matching::Module),
        Some("followup") => mosaic_runtime::distributed::main(&mosaic_followup::Module),
        Some("insights") => mosaic_runtime::distributed::main(&mosaic_insights::Module),
        _ => {
            eprintln!("usage: mosaic-service registry|activity|matching|followup|insights");
            std::process::ExitCode::FAILURE
        }
    }
}
