//! `mcp-env-shim status`: the prepared session, key by key.

use crate::fs::HostFs;
use mcp_env_shim_core::session::{LogTarget, Session, Source};

pub fn run(s: &Session) -> Result<(), String> {
    println!("mode: {}", s.mode.as_str());
    println!("log:  {}", log_target(&s.log));
    for w in &s.warnings {
        println!("warning: {w}");
    }
    for k in s.report(&HostFs) {
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
