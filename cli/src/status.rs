//! `mcp-env-shim status`: the prepared session, key by key, and the log's health: whether the
//! shim can write its lines where they are meant to go, and what the log says about lines lost.

use crate::fs::HostFs;
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
    for k in s.report(&crate::host(s), &HostFs) {
        match k.value {
            Ok((value, src)) => println!(
                "  {:<20} {}  ({})",
                k.name,
                String::from_utf8_lossy(&value),
                source(&src)
            ),
            Err(why) => println!("  {:<20} -  (not injected: {})", k.name, why.as_str()),
        }
    }
    Ok(())
}

fn to_json(s: &Session, health: Option<&Health>) -> Value {
    let keys: Vec<Value> = s
        .report(&crate::host(s), &HostFs)
        .into_iter()
        .map(|k| match k.value {
            Ok((value, src)) => json!({
                "key": k.name,
                "value": String::from_utf8_lossy(&value),
                "source": source(&src),
            }),
            Err(why) => json!({"key": k.name, "missing": why.as_str()}),
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
        Source::Implied => "implied by an injected proxy key".into(),
    }
}
