//! `mcp-env-shim explain`: what the shim would do for one command, and why. Arguments and the
//! environment are bytes (`OsString`): a name that is not UTF-8 is shown lossily, never a panic.

use crate::fs::HostFs;
use crate::status::source;
use mcp_env_shim_core::arena::Arena;
use mcp_env_shim_core::config::Mode;
use mcp_env_shim_core::envp::{bits, key_of};
use mcp_env_shim_core::session::Session;
use mcp_env_shim_core::stdio::Stdio;
use mcp_env_shim_core::values::IMPLIED_FLAG;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// What the MCP SDKs keep of the parent's environment on Unix.
const SDK_DEFAULTS: [&str; 6] = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"];

/// Whether a child started as COMMAND would be selected, why, and what it would get.
///
/// The child's environment is an MCP client's fresh one (HOME LOGNAME PATH SHELL TERM USER
/// from this environment, plus each --env), or this whole environment with --inherit.
#[derive(clap::Args)]
pub struct Args {
    /// Give the child this whole environment, as clients that pass theirs do.
    #[arg(long)]
    inherit: bool,
    /// A variable the server's entry declares (repeat for each).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<OsString>,
    /// The command as the client starts it, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

pub fn run(s: &Session, args: &Args) -> Result<(), String> {
    let env = child_env(args);
    let argv: Vec<&[u8]> = args.command.iter().map(|a| a.as_bytes()).collect();
    let keys = env.iter().filter_map(|e| key_of(e));
    let exe = argv.first().copied().unwrap_or_default();
    let shown: Vec<_> = args.command.iter().map(|a| a.to_string_lossy()).collect();
    println!("command: {}", shown.join(" "));
    println!("mode:    {}", s.mode.as_str());
    // Judged as an MCP client would start it: stdin and stdout pipes.
    let host = crate::host(s);
    let Some(plan) = s.plan(&host, exe, &argv, keys, Stdio::PIPES) else {
        println!("selected: no: the shim leaves this child's environment exactly as given");
        if s.mode == Mode::Mcp {
            println!("  (add a pattern to the config's \"include\" to select it)");
        }
        return Ok(());
    };
    println!("selected: yes ({})", plan.reason.as_str());
    let verb = if s.mode == Mode::Audit {
        "would inject (audit: nothing changes)"
    } else {
        "injects"
    };
    let mut mem = vec![std::mem::MaybeUninit::uninit(); s.max_kv(&host)];
    let mut out = Arena::new(&mut mem);
    let mut given = Vec::new();
    let o = s.fill(&host, &plan, &mut out, &HostFs, |i, at, source| {
        given.push((i, at, source.clone()))
    });
    println!("{verb}:");
    for (i, at, src) in given {
        let name = s.keys.get(i).map_or("?", |k| k.name);
        let kv = if at == usize::MAX {
            IMPLIED_FLAG
        } else {
            let rest = out.get(at, out.mark());
            &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
        };
        let value = kv.get(name.len() + 1..).unwrap_or_default();
        let value = String::from_utf8_lossy(value);
        println!(
            "  {name:<20} {}  ({})",
            value.trim_end_matches('\0'),
            source(&src)
        );
    }
    let kept: Vec<_> = bits(plan.present)
        .filter_map(|i| s.keys.get(i))
        .map(|k| k.name)
        .collect();
    println!(
        "keeps the child's own: {}",
        if kept.is_empty() {
            "-".into()
        } else {
            kept.join(" ")
        }
    );
    let missing: Vec<_> = o.missing().collect();
    if !missing.is_empty() {
        println!("cannot inject:");
        for (i, why) in missing {
            let name = s.keys.get(i).map_or("?", |k| k.name);
            println!("  {name:<20} {}", why.as_str());
        }
    }
    Ok(())
}

/// The child's envp entries, as bytes.
fn child_env(args: &Args) -> Vec<Vec<u8>> {
    let entry = |k: &OsStr, v: &OsStr| [k.as_bytes(), b"=", v.as_bytes()].concat();
    let mut env: Vec<Vec<u8>> = if args.inherit {
        std::env::vars_os().map(|(k, v)| entry(&k, &v)).collect()
    } else {
        SDK_DEFAULTS
            .iter()
            .filter_map(|k| std::env::var_os(k).map(|v| entry(OsStr::new(k), &v)))
            .collect()
    };
    env.extend(args.env.iter().cloned().map(OsString::into_vec));
    env
}
