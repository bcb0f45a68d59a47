//! `mcp-env-shim explain`: what the shim would do for one command, and why.

use crate::status::source;
use mcp_env_shim_core::config::Mode;
use mcp_env_shim_core::envp::{bits, key_of};
use mcp_env_shim_core::session::Session;
use mcp_env_shim_core::stdio::Stdio;

/// What the MCP SDKs keep of the parent's environment on Unix.
const SDK_DEFAULTS: [&str; 6] = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"];

pub fn run(s: &Session, args: &[String]) -> Result<(), String> {
    let (env, command) = parse(args)?;
    let argv: Vec<&[u8]> = command.iter().map(|a| a.as_bytes()).collect();
    let keys = env.iter().filter_map(|e| key_of(e.as_bytes()));
    let exe = command.first().map_or(&b""[..], |c| c.as_bytes());
    println!("command: {}", command.join(" "));
    println!("mode:    {}", s.mode.as_str());
    // Judged as an MCP client would start it: stdin and stdout pipes.
    let Some(plan) = s.plan(exe, &argv, keys, Stdio::PIPES) else {
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
    println!("{verb}:");
    for i in bits(plan.inject) {
        let (Some(name), Some(e)) = (s.names.get(i), s.entries.get(i)) else {
            continue;
        };
        let value = e.value().unwrap_or_default();
        let src = e.source.as_ref().map(source).unwrap_or_default();
        println!("  {:<20} {}  ({src})", String::from_utf8_lossy(name), value);
    }
    let kept: Vec<_> = bits(plan.present)
        .filter_map(|i| s.names.get(i))
        .map(|n| String::from_utf8_lossy(n))
        .collect();
    println!(
        "keeps the child's own: {}",
        if kept.is_empty() {
            "-".into()
        } else {
            kept.join(" ")
        }
    );
    let missing: serde_json::Value = serde_json::from_slice(&s.missing_json).unwrap_or_default();
    if let Some(m) = missing.as_object().filter(|m| !m.is_empty()) {
        println!("cannot inject:");
        for (k, why) in m {
            println!("  {k:<20} {}", why.as_str().unwrap_or("?"));
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
