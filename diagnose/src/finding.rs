//! A finding: one failed connection, its cause and its fix, as one human line (the request's
//! own words: "TLS handshake from PID X failed; ...") or one JSON object for `jq`.

use crate::join::Join;
use crate::shimlog::basename;
use crate::time::format_iso;
use serde_json::{json, Value};

/// The cause. The words are fixed: scripts match on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The process never got the block.
    NotInjected,
    /// It had the proxy keys and connected directly all the same.
    ProxyIgnored,
    /// The TLS handshake failed and no CA key reached it.
    CaNotGiven,
    /// The TLS handshake failed; the server's own CA key, kept by the shim, is not the sandbox's.
    CaOwnKept,
    /// The TLS handshake failed although the CA keys reached it: its runtime reads another store.
    CaIgnored,
    /// The sandbox policy refused it: not a CA or proxy problem.
    PolicyDenied,
    /// A failure the proxy logged without a process, with no OPEN to pair it with.
    Unattributed,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NotInjected => "not-injected",
            Verdict::ProxyIgnored => "proxy-ignored",
            Verdict::CaNotGiven => "ca-not-given",
            Verdict::CaOwnKept => "ca-own-kept",
            Verdict::CaIgnored => "ca-ignored",
            Verdict::PolicyDenied => "policy-denied",
            Verdict::Unattributed => "unattributed",
        }
    }
}

/// What failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Through the proxy, the client rejected the certificate the proxy re-signed.
    TlsHandshake,
    /// It bypassed the proxy; the firewall refused it.
    DirectConnection,
    /// The policy refused a CONNECT, or an HTTP request (method).
    Denied(Option<String>),
}

impl Failure {
    pub fn as_str(&self) -> &'static str {
        match self {
            Failure::TlsHandshake => "tls-handshake",
            Failure::DirectConnection => "direct-connection",
            Failure::Denied(_) => "policy",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub time_ms: i64,
    pub verdict: Verdict,
    pub failed: Failure,
    /// The socket's owner, as the proxy logged it.
    pub pid: Option<u32>,
    pub exe: Option<String>,
    pub dest: String,
    /// The MCP server it belongs to, as the shim logged it.
    pub server: Option<String>,
    pub server_pid: Option<u32>,
    /// Who started that server (the shim line's `ppid`).
    pub started_by: Option<u32>,
    pub join: Join,
    pub detail: String,
    pub fix: String,
}

impl Finding {
    /// One line: `TS VERDICT: WHAT from PID N (PROGRAM, MCP server S (PID M) started by P) to
    /// DEST failed: DETAIL; fix: FIX`.
    pub fn human(&self) -> String {
        let what = match &self.failed {
            Failure::TlsHandshake => "TLS handshake".to_string(),
            Failure::DirectConnection => "direct connection".to_string(),
            Failure::Denied(Some(m)) => format!("HTTP {m}"),
            Failure::Denied(None) => "connection".to_string(),
        };
        let outcome = match self.failed {
            Failure::TlsHandshake => "failed",
            Failure::DirectConnection => "was refused by the sandbox",
            Failure::Denied(_) => "was denied by the sandbox policy",
        };
        let who = match self.pid {
            Some(pid) => {
                let prog = self.exe.as_deref().map(basename).unwrap_or("?");
                let server = match (&self.server, self.server_pid) {
                    (Some(s), Some(sp)) if Some(sp) == self.pid => {
                        format!(", MCP server {s}{}", started_by(self.started_by))
                    }
                    (Some(s), Some(sp)) => {
                        format!(", MCP server {s} (PID {sp}){}", started_by(self.started_by))
                    }
                    _ => String::new(),
                };
                format!(" from PID {pid} ({prog}{server})")
            }
            None => " from an unknown process".to_string(),
        };
        let dest = if self.dest.is_empty() {
            String::new()
        } else {
            format!(" to {}", self.dest)
        };
        format!(
            "{} {}: {what}{who}{dest} {outcome}: {}; fix: {}",
            format_iso(self.time_ms),
            self.verdict.as_str(),
            self.detail,
            self.fix
        )
    }

    pub fn to_json(&self) -> Value {
        json!({
            "ts": format_iso(self.time_ms),
            "verdict": self.verdict.as_str(),
            "failed": self.failed.as_str(),
            "method": match &self.failed { Failure::Denied(m) => json!(m), _ => Value::Null },
            "pid": self.pid,
            "exe": self.exe,
            "dest": self.dest,
            "server": self.server,
            "server_pid": self.server_pid,
            "started_by": self.started_by,
            "join": self.join.as_str(),
            "detail": self.detail,
            "fix": self.fix,
        })
    }
}

fn started_by(ppid: Option<u32>) -> String {
    ppid.map(|p| format!(" started by {p}")).unwrap_or_default()
}
