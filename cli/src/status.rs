//! `mcp-env-shim status`: the prepared session, key by key.

use mcp_env_shim_core::session::{LogTarget, Session, Source};

pub fn run(s: &Session) -> Result<(), String> {
    println!("mode: {}", s.mode.as_str());
    println!("log:  {}", log_target(&s.log));
    for w in &s.warnings {
        println!("warning: {w}");
    }
    let missing: serde_json::Value = serde_json::from_slice(&s.missing_json).unwrap_or_default();
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
