//! The shim's own log, one JSON object per line (TEAM-NOTES "Log line"): lines with and without
//! the newer fields (`server`, `dropped`, `from`, `mode`, `via:"start"`) are read alike. Lines
//! are bytes: anything that is not a JSON object (another program's output on a shared stderr)
//! is skipped.

use crate::time::parse_iso;
use serde_json::Value;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShimLine {
    pub ts: String,
    pub time_ms: Option<i64>,
    /// `inject`, `audit`, `exec-failed`, `warn`.
    pub event: String,
    pub pid: u32,
    pub ppid: u32,
    /// `execve`, ..., `posix_spawnp`, or `start` (a server that healed itself).
    pub via: String,
    pub exe: String,
    pub reason: String,
    pub injected: Vec<String>,
    pub kept: Vec<String>,
    /// `(key, why)`: `no-value`, `ca-file-not-found`.
    pub missing: Vec<(String, String)>,
    /// The name the detection rule matched, when the library logs it.
    pub server: Option<String>,
    pub dropped: u64,
    pub msg: Option<String>,
}

impl ShimLine {
    /// A line that says what a child got (or would have got): `inject` or `audit`.
    pub fn is_decision(&self) -> bool {
        matches!(self.event.as_str(), "inject" | "audit")
    }

    /// The server's name for a human: the matched name, else the program's basename.
    pub fn server_name(&self) -> String {
        match &self.server {
            Some(s) if !s.is_empty() => s.clone(),
            _ => basename(&self.exe).to_string(),
        }
    }
}

pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// One line of the shim's log; `None` if it is not one.
pub fn parse(line: &[u8]) -> Option<ShimLine> {
    let text = String::from_utf8_lossy(line);
    let v: Value = serde_json::from_str(text.trim()).ok()?;
    let o = v.as_object()?;
    let s = |k: &str| o.get(k).and_then(Value::as_str).map(String::from);
    let n = |k: &str| o.get(k).and_then(Value::as_u64).unwrap_or(0);
    let event = s("event")?;
    let ts = s("ts").unwrap_or_default();
    Some(ShimLine {
        time_ms: parse_iso(&ts),
        ts,
        event,
        pid: n("pid") as u32,
        ppid: n("ppid") as u32,
        via: s("via").unwrap_or_default(),
        exe: s("exe").unwrap_or_default(),
        reason: s("reason").unwrap_or_default(),
        injected: strings(o.get("injected")),
        kept: strings(o.get("kept")),
        missing: o
            .get("missing")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, why)| (k.clone(), why.as_str().unwrap_or("?").to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        server: s("server"),
        dropped: n("dropped"),
        msg: s("msg"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn todays_lines_parse() {
        let l = parse(br#"{"ts":"2026-11-25T16:10:00.123Z","event":"inject","pid":4242,"ppid":4200,"via":"posix_spawnp","exe":"npx","reason":"name:package","injected":["HTTPS_PROXY","NODE_EXTRA_CA_CERTS"],"kept":["NO_PROXY"],"missing":{"SSL_CERT_DIR":"no-value"}}"#).unwrap();
        assert_eq!(
            (l.pid, l.ppid, l.via.as_str()),
            (4242, 4200, "posix_spawnp")
        );
        assert_eq!(l.injected, ["HTTPS_PROXY", "NODE_EXTRA_CA_CERTS"]);
        assert_eq!(l.kept, ["NO_PROXY"]);
        assert_eq!(
            l.missing,
            [("SSL_CERT_DIR".to_string(), "no-value".to_string())]
        );
        assert_eq!(l.server, None);
        assert_eq!(l.server_name(), "npx");
        assert_eq!(l.dropped, 0);
        assert!(l.is_decision());
        assert!(l.time_ms.is_some());
    }

    #[test]
    fn lines_with_the_new_fields_parse() {
        let l = parse(br#"{"ts":"2026-11-25T16:10:00.123Z","event":"inject","pid":77,"ppid":76,"via":"start","exe":"/usr/bin/python3","reason":"name:module","server":"mcp_server_time","from":["parent","openshell"],"injected":["SSL_CERT_FILE"],"kept":[],"missing":{},"dropped":4}"#).unwrap();
        assert_eq!(l.via, "start");
        assert_eq!(l.server.as_deref(), Some("mcp_server_time"));
        assert_eq!(l.server_name(), "mcp_server_time");
        assert_eq!(l.dropped, 4);
        let w =
            parse(br#"{"ts":"x","event":"warn","pid":1,"ppid":0,"msg":"m","mode":"mcp"}"#).unwrap();
        assert!(!w.is_decision());
        assert_eq!(w.msg.as_deref(), Some("m"));
    }

    #[test]
    fn what_is_not_a_json_object_is_skipped() {
        for line in [
            &b"npm WARN \xff\xfe"[..],
            b"42",
            b"[]",
            b"{\"no\":\"event\"}",
            b"",
        ] {
            assert_eq!(parse(line), None);
        }
    }
}
