//! `mcp-env-shim`: the operator's view of the shim. `status` shows what the shim prepares in
//! this environment, `explain` what it would do for a command, `log` what it did, `diagnose`
//! why a server's connection failed anyway.

mod diagnose;
mod explain;
mod fs;
mod log;
mod loghealth;
mod procfs;
mod status;

use clap::{Parser, Subcommand};
use fs::{HostEnv, HostFs};
use mcp_env_shim_core::session::{HostValues, LogTarget, Process, Session};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

/// The operator's view of mcp-env-shim, from the same environment and config as the library.
#[derive(Parser)]
#[command(name = "mcp-env-shim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Status(status::Args),
    Explain(explain::Args),
    Log(log::Args),
    Diagnose(diagnose::Args),
}

/// The session the library would prepare in this process.
/// The host's block values as the library would read them in this process.
pub fn host(s: &Session) -> HostValues {
    HostValues::read(s, &HostEnv)
}

fn session() -> Session {
    // As the library would in this process: root is privileged (the CLI is never set-user-ID).
    // SAFETY: geteuid has no preconditions.
    let privileged = unsafe { libc::geteuid() } == 0;
    let process = Process {
        secure: false,
        privileged,
    };
    Session::prepare(&HostEnv, process, &HostFs)
}

/// The log file the library writes, if it writes one.
pub fn log_file(s: &Session) -> Option<PathBuf> {
    match &s.log {
        LogTarget::File(p) => Some(PathBuf::from(OsStr::from_bytes(p.as_bytes()))),
        _ => None,
    }
}

fn main() -> ExitCode {
    // Usage errors exit with 2, as clap does itself.
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Status(a) => status::run(&session(), a),
        Command::Explain(a) => explain::run(&session(), a),
        Command::Log(a) => log::run(log_file(&session()), a),
        Command::Diagnose(a) => {
            let s = session();
            match diagnose::run(&s, log_file(&s), a) {
                Ok(found) => return ExitCode::from(u8::from(found)),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcp-env-shim: {e}");
            ExitCode::from(2)
        }
    }
}
