//! `mcp-env-shim explain`: what the shim would do for one command, and why.

use crate::fs::HostFs;
use crate::status::source;
use mcp_env_shim_core::arena::Arena;
use mcp_env_shim_core::config::Mode;
use mcp_env_shim_core::envp::{bits, key_of};
use mcp_env_shim_core::session::Session;
use mcp_env_shim_core::values::IMPLIED_FLAG;

/// What the MCP SDKs keep of the parent's environment on Unix.
const SDK_DEFAULTS: [&str; 6] = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"];

pub fn run(s: &Session, args: &[String]) -> Result<(), String> {
    let (env, command) = parse(args)?;
    let argv: Vec<&[u8]> = command.iter().map(|a| a.as_bytes()).collect();
    let keys = env.iter().filter_map(|e| key_of(e.as_bytes()));
    let exe = command.first().map_or(&b""[..], |c| c.as_bytes());
    println!("command: {}", command.join(" "));
    println!("mode:    {}", s.mode.as_str());
    let Some(plan) = s.plan(exe, &argv, keys) else {
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
    let mut mem = vec![std::mem::MaybeUninit::uninit(); s.max_kv];
    let mut out = Arena::new(&mut mem);
    let mut given = Vec::new();
    let o = s.fill(&plan, &mut out, &HostFs, |i, at, source| {
        given.push((i, at, source.clone()))
    });
    println!("{verb}:");
    for (i, at, src) in given {
        let name = s.keys.get(i).map_or("?", |k| k.name);
        let kv = if at == usize::MAX {
            IMPLIED_FLAG.to_vec()
        } else {
            let rest = out.get(at, out.mark());
            rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())].to_vec()
        };
        let value = String::from_utf8_lossy(&kv[(name.len() + 1).min(kv.len())..])
            .trim_end_matches('\0')
            .to_string();
        println!("  {name:<20} {value}  ({})", source(&src));
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
            println!(
                "  {:<20} {}",
                s.keys.get(i).map_or("?", |k| k.name),
                why.as_str()
            );
        }
    }
    Ok(())
}

/// The child's envp and command line from the arguments.
fn parse(args: &[String]) -> Result<(Vec<String>, Vec<String>), String> {
    let mut inherit = false;
    let mut declared = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--inherit" => inherit = true,
            "--env" => declared.push(it.next().ok_or("--env needs KEY=VALUE")?.clone()),
            "--" => break,
            other => {
                return Err(format!(
                    "unknown argument {other:?}; the command goes after --"
                ))
            }
        }
    }
    let command: Vec<String> = it.cloned().collect();
    if command.is_empty() {
        return Err(
            "no command: mcp-env-shim explain [--inherit] [--env K=V]... -- COMMAND [ARG]..."
                .into(),
        );
    }
    let mut env: Vec<String> = if inherit {
        std::env::vars().map(|(k, v)| format!("{k}={v}")).collect()
    } else {
        SDK_DEFAULTS
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
            .collect()
    };
    env.extend(declared);
    Ok((env, command))
}
