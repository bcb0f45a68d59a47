//! `mcp-env-shim status`: the prepared session, key by key, and the log's health: whether the
//! shim can write its lines where they are meant to go, and what the log says about lines lost.

use crate::loghealth::{self, Health};
use mcp_env_shim_core::session::{LogTarget, Session, Source};
use serde_json::{json, Value};

/// What the shim prepares from this environment and config: mode, log and its health, each
/// key's value and where it comes from, or why it is left out.
#[derive(clap::Args)]
pub struct Args {
    /// One JSON object instead of lines.
    #[arg(long)]
    json: bool,
}

pub fn run(s: &Session, args: &Args) -> Result<(), String> {
    let health = crate::log_file(s).map(|p| loghealth::check(&p));
    if args.json {
        println!("{}", to_json(s, health.as_ref()));
        return Ok(());
    }
    println!("mode: {}", s.mode.as_str());
    println!("log:  {}", log_target(&s.log));
    if let Some(h) = &health {
        for line in h.lines() {
            println!("{line}");
        }
    }
    for w in &s.warnings {
        println!("warning: {w}");
    }
    let missing = missing(s);
    for (name, e) in s.names.iter().zip(&s.entries) {
        let name = String::from_utf8_lossy(name);
        match (e.value(), &e.source) {
            (Some(value), Some(src)) => {
                println!("  {name:<20} {value}  ({})", source(src));
            }
            _ => println!(
                "  {name:<20} -  (not injected: {})",
                missing[&*name].as_str().unwrap_or("?")
            ),
        }
    }
    Ok(())
}

fn missing(s: &Session) -> Value {
    serde_json::from_slice(&s.missing_json).unwrap_or_default()
}

fn to_json(s: &Session, health: Option<&Health>) -> Value {
    let missing = missing(s);
    let keys: Vec<Value> = s
        .names
        .iter()
        .zip(&s.entries)
        .map(|(name, e)| {
            let name = String::from_utf8_lossy(name).into_owned();
            match (e.value(), &e.source) {
                (Some(value), Some(src)) => {
                    json!({"key": name, "value": value, "source": source(src)})
                }
                _ => json!({"key": name, "missing": missing[&*name].clone()}),
            }
        })
        .collect();
    let mut log = json!({"target": log_target(&s.log)});
    if let (Some(h), Some(obj)) = (health, log.as_object_mut()) {
        if let Value::Object(more) = h.to_json() {
            obj.extend(more);
        }
    }
    json!({
        "mode": s.mode.as_str(),
        "log": log,
        "warnings": s.warnings,
        "keys": keys,
    })
}

pub fn log_target(t: &LogTarget) -> String {
    match t {
        LogTarget::Off => "off".into(),
        LogTarget::Stderr => "stderr".into(),
        LogTarget::File(p) => p.to_string_lossy().into_owned(),
    }
}

pub fn source(s: &Source) -> String {
    match s {
        Source::Config => "config".into(),
        Source::Host => "this environment".into(),
        Source::Sibling(k) => format!("from {k} in this environment"),
        Source::OpenShell => "OpenShell default".into(),
    }
}
