//! rustspawn.rs — a parent that starts its child with Rust's std::process::Command, which glibc
//! runs through posix_spawn with file actions (dup2 of the pipe ends onto 0 and 1, /dev/null
//! opened in the parent): the path where the shim reads stdin and stdout from the actions.
//!   rustspawn sdk CMD ARG...             an MCP client's spawn: the SDKs' default keys of this
//!                                        process plus one declared key; stdin, stdout piped
//!   rustspawn sdk-stdin-null CMD ARG...  the SDKs' environment, but stdin /dev/null (no
//!                                        stdio transport), stdout piped
//!   rustspawn hermetic CMD ARG...        Command::output() with env_clear() and PATH only
//!                                        (stdin /dev/null, stdout piped)
//!   rustspawn hermetic-piped CMD ARG...  env_clear() and PATH only, stdin and stdout piped
//! Exits with the child's status.
use std::process::{Command, Stdio};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, cmd, rest) = match args.as_slice() {
        [mode, cmd, rest @ ..] => (mode.as_str(), cmd, rest),
        _ => {
            eprintln!("usage: rustspawn sdk|sdk-stdin-null|hermetic|hermetic-piped CMD ARG...");
            std::process::exit(2);
        }
    };
    let mut c = Command::new(cmd);
    c.args(rest).env_clear();
    match mode {
        "sdk" | "sdk-stdin-null" => {
            for k in ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"] {
                if let Ok(v) = std::env::var(k) {
                    c.env(k, v);
                }
            }
            let stdin = if mode == "sdk" {
                Stdio::piped()
            } else {
                Stdio::null()
            };
            c.env("DECLARED", "x").stdin(stdin).stdout(Stdio::piped());
        }
        "hermetic" => {
            c.env("PATH", "/usr/bin:/bin");
        }
        "hermetic-piped" => {
            c.env("PATH", "/usr/bin:/bin")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
        }
        _ => std::process::exit(2),
    }
    let status = match mode {
        "hermetic" => c.output().map(|o| o.status),
        _ => c.spawn().and_then(|mut child| {
            drop(child.stdin.take());
            child.wait()
        }),
    };
    match status {
        Ok(s) => std::process::exit(s.code().unwrap_or(99)),
        Err(e) => {
            eprintln!("rustspawn: {e}");
            std::process::exit(3);
        }
    }
}
