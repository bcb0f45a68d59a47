//! OpenShell's proxy log, in both of its forms, as `Event`s: the shorthand lines of
//! `openshell.YYYY-MM-DD.log` (after other tracing lines, which are skipped) and the OCSF JSON
//! objects of `openshell-ocsf.YYYY-MM-DD.log`. Only the events a diagnosis needs are kept:
//! network opens, failures and refusals, and HTTP requests; findings and other classes are not.

use crate::time::parse_iso;
use serde_json::Value;

/// What happened to a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activity {
    /// The proxy accepted (or denied) a CONNECT.
    Open,
    /// The TLS relay failed after the CONNECT: the client rejected the sandbox CA.
    Fail,
    /// A direct connection that bypassed the proxy, refused by the firewall.
    Refuse,
    /// An HTTP request the proxy inspected (method).
    Http(String),
}

/// The process that owns the socket, as the proxy resolved it from `/proc`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Process {
    /// The binary's path (`/proc/PID/exe`).
    pub name: String,
    pub pid: u32,
    /// OCSF only.
    pub cmd_line: Option<String>,
    /// OCSF only: the parent chain's binary names, nearest first (their PIDs are not logged).
    pub parents: Vec<String>,
}

/// Which of the two files an event was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    /// Richer (command line, parents): preferred when both files hold the same event.
    Ocsf,
    Shorthand,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub time_ms: i64,
    pub activity: Activity,
    /// `Some(true)` allowed, `Some(false)` denied.
    pub allowed: Option<bool>,
    /// `host:port` as the proxy logs it (`/tcp` dropped); empty when not logged.
    pub dest: String,
    pub process: Option<Process>,
    /// `policy:NAME` and `engine:NAME`, when logged.
    pub policy: Option<String>,
    pub engine: Option<String>,
    /// The reason or message (`TLS relay error: ...`, `BYPASS_DETECT ...`).
    pub message: Option<String>,
    pub format: Format,
}

impl Event {
    /// The same event read from the other file has the same key.
    pub fn key(&self) -> (i64, String, u32, String) {
        let kind = match &self.activity {
            Activity::Open => "open".to_string(),
            Activity::Fail => "fail".to_string(),
            Activity::Refuse => "refuse".to_string(),
            Activity::Http(m) => m.to_ascii_uppercase(),
        };
        let pid = self.process.as_ref().map_or(0, |p| p.pid);
        (self.time_ms, kind, pid, self.dest.clone())
    }
}

/// `host:port/tcp`, `[::1]:443` or a URL's authority, as `host:port`.
fn normalize_dest(d: &str) -> String {
    let d = d.split('/').next().unwrap_or(d);
    d.trim_matches(|c| c == '"' || c == ',').to_string()
}

/// `name(pid)` as the proxy prints the process.
fn parse_actor(s: &str) -> Option<Process> {
    let open = s.rfind('(')?;
    let pid = s.get(open + 1..)?.strip_suffix(')')?.parse().ok()?;
    Some(Process {
        name: s.get(..open)?.to_string(),
        pid,
        ..Process::default()
    })
}

/// The bracketed tags after the event: `[policy:X engine:Y]` and `[reason:...]`.
fn tags(rest: &str) -> (Option<String>, Option<String>, Option<String>) {
    let (mut policy, mut engine, mut reason) = (None, None, None);
    if let Some(i) = rest.find("[policy:") {
        let inner = rest.get(i + 1..).unwrap_or_default();
        let inner = inner
            .get(..inner.find(']').unwrap_or(inner.len()))
            .unwrap_or_default();
        for part in inner.split_whitespace() {
            if let Some(p) = part.strip_prefix("policy:") {
                policy = Some(p.to_string());
            } else if let Some(e) = part.strip_prefix("engine:") {
                engine = Some(e.to_string());
            }
        }
    }
    if let Some(i) = rest.find("[reason:") {
        let r = rest.get(i + 8..).unwrap_or_default();
        reason = Some(r.strip_suffix(']').unwrap_or(r).to_string());
    }
    (policy, engine, reason)
}

/// One line of `openshell.YYYY-MM-DD.log`: `TS OCSF CLASS:ACTIVITY [SEVERITY] ...`; `None`
/// for every other line (tracing output, findings, classes a diagnosis does not need).
pub fn parse_shorthand(line: &str) -> Option<Event> {
    let ts = line.split_whitespace().next()?;
    let time_ms = parse_iso(ts)?;
    let at = line.find(" OCSF ")?;
    let body = line.get(at + 6..)?.trim_start();
    let (class_act, rest) = body.split_once(' ')?;
    let (class, act) = class_act.split_once(':')?;
    let rest = rest.trim_start();
    // The severity, `[INFO]`, `[LOW]`, `[MED]`, `[HIGH]`.
    let rest = match rest.strip_prefix('[') {
        Some(r) => r.split_once(']').map_or("", |(_, r)| r).trim_start(),
        None => rest,
    };
    let (policy, engine, reason) = tags(rest);
    let decision = |r: &str| -> (Option<bool>, String) {
        if let Some(r) = r.strip_prefix("ALLOWED ") {
            (Some(true), r.to_string())
        } else if let Some(r) = r.strip_prefix("DENIED ") {
            (Some(false), r.to_string())
        } else {
            (None, r.to_string())
        }
    };
    let mut ev = Event {
        time_ms,
        activity: Activity::Open,
        allowed: None,
        dest: String::new(),
        process: None,
        policy,
        engine,
        message: reason,
        format: Format::Shorthand,
    };
    match (class, act) {
        ("NET", "OPEN" | "REFUSE") => {
            ev.activity = if act == "OPEN" {
                Activity::Open
            } else {
                Activity::Refuse
            };
            let (allowed, r) = decision(rest);
            ev.allowed = allowed;
            let (actor, to) = r.split_once(" -> ")?;
            ev.process = Some(parse_actor(actor.trim())?);
            ev.dest = normalize_dest(to.split_whitespace().next().unwrap_or_default());
        }
        ("NET", "FAIL") => {
            ev.activity = Activity::Fail;
            // `host:port`, or (older builds) a quoted message with no destination.
            if let Some(msg) = rest.strip_prefix('"') {
                ev.message = Some(msg.trim_end().trim_end_matches('"').to_string());
            } else {
                ev.dest = normalize_dest(rest.split_whitespace().next().unwrap_or_default());
            }
        }
        ("HTTP", method) => {
            ev.activity = Activity::Http(method.to_string());
            let (allowed, r) = decision(rest);
            ev.allowed = allowed;
            // `METHOD URL [policy...]`
            let url = r.split_whitespace().nth(1).unwrap_or_default();
            ev.dest = authority(url);
        }
        _ => return None,
    }
    Some(ev)
}

/// `host:port` of a URL (`http://api.github.com:443/repos/...`).
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let auth = rest.split('/').next().unwrap_or_default();
    if auth.contains(':') {
        auth.to_string()
    } else if url.starts_with("https://") {
        format!("{auth}:443")
    } else {
        format!("{auth}:80")
    }
}

fn process_of(v: &Value) -> Option<Process> {
    let p = v.get("process")?;
    let pid = p.get("pid")?.as_u64()? as u32;
    let name = p
        .get("name")
        .or_else(|| p.get("file").and_then(|f| f.get("path")))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut parents = Vec::new();
    let mut cur = p.get("parent_process");
    while let Some(pp) = cur {
        if let Some(n) = pp.get("name").and_then(Value::as_str) {
            parents.push(n.to_string());
        }
        cur = pp.get("parent_process");
        if parents.len() > 64 {
            break;
        }
    }
    Some(Process {
        name,
        pid,
        cmd_line: p.get("cmd_line").and_then(Value::as_str).map(String::from),
        parents,
    })
}

/// One object of `openshell-ocsf.YYYY-MM-DD.log`; `None` for other classes and for lines that
/// are not JSON objects.
pub fn parse_ocsf(line: &str) -> Option<Event> {
    let v: Value = serde_json::from_str(line).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let time_ms = v.get("time").and_then(Value::as_i64)?;
    let act = s("activity_name").unwrap_or_default();
    let activity = match s("class_name")? {
        "Network Activity" => match act {
            "Open" => Activity::Open,
            "Fail" => Activity::Fail,
            "Refuse" => Activity::Refuse,
            _ => return None,
        },
        "HTTP Activity" => {
            let m = v
                .get("http_request")
                .and_then(|r| r.get("http_method"))
                .and_then(Value::as_str)
                .unwrap_or(act);
            Activity::Http(m.to_ascii_uppercase())
        }
        _ => return None,
    };
    let allowed = match s("action") {
        Some("Allowed") => Some(true),
        Some("Denied") => Some(false),
        _ => None,
    };
    let ep = v.get("dst_endpoint");
    let host = ep
        .and_then(|e| {
            e.get("domain")
                .or_else(|| e.get("hostname"))
                .or_else(|| e.get("ip"))
        })
        .and_then(Value::as_str);
    let port = ep.and_then(|e| e.get("port")).and_then(Value::as_u64);
    let dest = match (host, port) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => v
            .get("http_request")
            .and_then(|r| r.get("url"))
            .and_then(|u| u.get("url_string"))
            .and_then(Value::as_str)
            .map(authority)
            .unwrap_or_default(),
    };
    let rule = v.get("firewall_rule");
    let rule_s = |k: &str| {
        rule.and_then(|r| r.get(k))
            .and_then(Value::as_str)
            .map(String::from)
    };
    Some(Event {
        time_ms,
        activity,
        allowed,
        dest,
        process: v.get("actor").and_then(process_of),
        policy: rule_s("name"),
        engine: rule_s("type"),
        message: s("message").map(String::from),
        format: Format::Ocsf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORTHAND: &str = include_str!("../testdata/openshell.2026-05-06.log");
    const OCSF: &str = include_str!("../testdata/openshell-ocsf.2026-05-06.log");

    fn events(text: &str, parse: fn(&str) -> Option<Event>) -> Vec<Event> {
        text.lines().filter_map(parse).collect()
    }

    #[test]
    fn the_shorthand_lines_of_openshell_parse_exactly() {
        let ev = events(SHORTHAND, parse_shorthand);
        assert_eq!(
            ev.len(),
            5,
            "the FINDING line is not a network event: {ev:#?}"
        );
        assert_eq!(ev[0].activity, Activity::Open);
        assert_eq!(ev[0].allowed, Some(true));
        let p = ev[0].process.as_ref().unwrap();
        assert_eq!((p.name.as_str(), p.pid), ("/usr/bin/node", 4242));
        assert_eq!(ev[0].dest, "api.example.com:443");
        assert_eq!(ev[0].policy.as_deref(), Some("default"));
        assert_eq!(ev[0].engine.as_deref(), Some("opa"));
        assert_eq!(ev[1].activity, Activity::Fail);
        assert_eq!(ev[1].dest, "api.example.com:443");
        assert!(ev[1].process.is_none());
        assert_eq!(ev[1].time_ms - ev[0].time_ms, 200);
        assert_eq!(ev[2].activity, Activity::Refuse);
        assert_eq!(ev[2].allowed, Some(false));
        assert_eq!(ev[2].process.as_ref().unwrap().pid, 4251);
        assert_eq!(ev[2].dest, "93.184.216.34:443");
        assert_eq!(ev[2].policy.as_deref(), Some("bypass-detect"));
        assert_eq!(ev[2].engine.as_deref(), Some("nftables"));
        assert!(ev[2]
            .message
            .as_deref()
            .unwrap()
            .starts_with("BYPASS_DETECT 93.184.216.34:443"));
        assert_eq!(ev[3].allowed, Some(false));
        assert_eq!(ev[3].process.as_ref().unwrap().name, "/usr/bin/curl");
        assert_eq!(ev[3].policy.as_deref(), Some("-"));
        assert_eq!(ev[4].activity, Activity::Http("PUT".into()));
        assert_eq!(ev[4].dest, "api.github.com:443");
        assert_eq!(ev[4].policy.as_deref(), Some("gh_readonly"));
        assert!(ev[4].process.is_none());
    }

    #[test]
    fn the_ocsf_objects_are_the_same_events_with_command_line_and_parents() {
        let short = events(SHORTHAND, parse_shorthand);
        let ocsf = events(OCSF, parse_ocsf);
        assert_eq!(ocsf.len(), 5, "{ocsf:#?}");
        for (s, o) in short.iter().zip(&ocsf) {
            if s.process.is_some() {
                assert_eq!(s.key(), o.key(), "{s:?} / {o:?}");
            }
            assert_eq!(
                (s.time_ms, &s.activity, s.allowed),
                (o.time_ms, &o.activity, o.allowed)
            );
            assert_eq!(s.dest, o.dest);
        }
        let p = ocsf[0].process.as_ref().unwrap();
        assert_eq!(
            p.parents,
            ["/bin/sh", "/usr/bin/node", "/usr/local/bin/gateway"]
        );
        assert!(p.cmd_line.as_deref().unwrap().contains("server-github"));
        assert!(ocsf[1]
            .message
            .as_deref()
            .unwrap()
            .starts_with("TLS relay error"));
        assert!(ocsf[1].process.is_none());
    }

    #[test]
    fn other_lines_are_skipped() {
        for line in [
            "",
            "2026-05-06T17:01:59.000Z  INFO openshell_sandbox::proxy: listening on 10.200.0.1:3128",
            "2026-05-06T17:02:05.000Z OCSF FINDING:BLOCKED [MED] \"Proxy Bypass Detected\"",
            "garbage OCSF NET:OPEN",
            "2026-05-06T17:02:00.000Z OCSF NET:OPEN [INFO] ALLOWED no-pid -> x:443",
        ] {
            assert_eq!(parse_shorthand(line), None, "{line}");
        }
        assert_eq!(
            parse_ocsf("{\"class_name\":\"Process Activity\",\"time\":1}"),
            None
        );
        assert_eq!(parse_ocsf("[1]"), None);
    }

    #[test]
    fn an_old_fail_line_with_only_a_message_has_no_destination() {
        let ev = parse_shorthand(
            "2026-05-06T17:02:00.200Z OCSF NET:FAIL [LOW] \"TLS relay error: unknown ca\"",
        )
        .unwrap();
        assert_eq!(ev.dest, "");
        assert_eq!(ev.message.as_deref(), Some("TLS relay error: unknown ca"));
    }
}
