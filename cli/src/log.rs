//! `mcp-env-shim log`: the shim's JSON log as one short line per event. The log is bytes: a
//! shared stderr file may hold other programs' lines, in any encoding; each line is decoded
//! lossily and kept only if it is a JSON object.

use serde_json::{Map, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// The shim's log as one short line per event.
///
/// FILE defaults to the log the library writes: MCP_ENV_SHIM_LOG, else the config's `log`.
#[derive(clap::Args)]
pub struct Args {
    /// The log file.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// Keep the events of one child: the number the sandbox proxy logs in parentheses.
    #[arg(long, value_name = "PID")]
    pid: Option<i64>,
}

pub fn run(default: Option<PathBuf>, args: &Args) -> Result<(), String> {
    let file = args.file.clone().or(default).ok_or(
        "no log file: give one, or set MCP_ENV_SHIM_LOG (or the config's \"log\") to an absolute path",
    )?;
    for_each_object(&file, |v| {
        if args.pid.is_none() || v.get("pid").and_then(Value::as_i64) == args.pid {
            println!("{}", summary(v));
        }
    })
}

/// Calls `f` with each line of `path` that is a JSON object; other lines are skipped.
pub fn for_each_object(path: &Path, mut f: impl FnMut(&Map<String, Value>)) -> Result<(), String> {
    for_each_line(path, |v| {
        if let Some(v) = v {
            f(v)
        }
    })
}

/// Calls `f` with each non-empty line of `path`: the object, or `None` for a line that is not
/// a JSON object.
pub fn for_each_line(
    path: &Path,
    mut f: impl FnMut(Option<&Map<String, Value>>),
) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
        if line.is_empty() {
            continue;
        }
        match parse(&line) {
            Some(Value::Object(v)) => f(Some(&v)),
            _ => f(None),
        }
    }
    Ok(())
}

/// A line as JSON; bytes that are not UTF-8 become U+FFFD first, as the shim itself never
/// writes them (it escapes them as \u00XX).
fn parse(line: &[u8]) -> Option<Value> {
    serde_json::from_str(&String::from_utf8_lossy(line)).ok()
}

/// `ts event pid via exe reason +injected =kept !missing` or the warning's text.
fn summary(v: &Map<String, Value>) -> String {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
    let list = |k: &str| {
        v.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    let pid = v.get("pid").cloned().unwrap_or(Value::Null);
    let head = format!("{} {:<11} pid={pid:<7}", s("ts"), s("event"));
    let mut out = match v.get("event").and_then(Value::as_str) {
        Some("warn") => format!("{head} {}", s("msg")),
        _ => {
            let mut out = format!(
                "{head} {} {} [{}] +{}",
                s("via"),
                s("exe"),
                s("reason"),
                list("injected")
            );
            if !list("kept").is_empty() {
                out += &format!(" ={}", list("kept"));
            }
            if let Some(e) = v.get("errno").and_then(Value::as_i64) {
                out += &format!(" errno={e}");
            }
            out
        }
    };
    if let Some(n) = v.get("dropped").and_then(Value::as_u64) {
        out += &format!(" (dropped {n} earlier lines)");
    }
    out
}
