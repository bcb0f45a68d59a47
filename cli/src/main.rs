//! `mcp-env-shim`: the operator's view of the shim. `status` shows what the shim prepares in
//! this environment, `explain` what it would do for a command, `log` what it did.

mod explain;
mod fs;
mod log;
mod status;

use fs::HostFs;
use mcp_env_shim_core::session::{Process, Session};
use std::process::ExitCode;

const USAGE: &str = "usage:
  mcp-env-shim status
      what the shim prepares from this environment and config: mode, log, each key's value
      and where it comes from, or why it is left out
  mcp-env-shim explain [--inherit] [--env KEY=VALUE]... -- COMMAND [ARG]...
      whether a child started as COMMAND would be selected, why, and what it would get;
      the child's environment is an MCP client's fresh one (HOME LOGNAME PATH SHELL TERM
      USER plus each --env), or this whole environment with --inherit
  mcp-env-shim log [FILE] [--pid PID]
      the shim's log as one short line per event (FILE defaults to $MCP_ENV_SHIM_LOG);
      --pid keeps the events of one child, the number the sandbox proxy logs";

/// The session the library would prepare in this process.
fn session() -> Session {
    Session::prepare(
        &|k: &str| std::env::var(k).ok(),
        Process::default(),
        &HostFs,
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("status") => status::run(&session()),
        Some("explain") => explain::run(&session(), &args[1..]),
        Some("log") => log::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
