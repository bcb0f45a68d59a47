//! `mcp-env-shim log`: the shim's JSON log as one short line per event.

use serde_json::Value;

pub fn run(args: &[String]) -> Result<(), String> {
    let mut file = std::env::var("MCP_ENV_SHIM_LOG")
        .ok()
        .filter(|p| p.starts_with('/'));
    let mut pid: Option<i64> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--pid" => {
                let p = it.next().ok_or("--pid needs a number")?;
                pid = Some(
                    p.parse()
                        .map_err(|_| format!("--pid {p:?} is not a number"))?,
                );
            }
            path => file = Some(path.to_string()),
        }
    }
    let file = file.ok_or("no log file: give one, or set MCP_ENV_SHIM_LOG to an absolute path")?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue; // another program's line on a shared stderr
        };
        if pid.is_some_and(|p| v["pid"].as_i64() != Some(p)) {
            continue;
        }
        println!("{}", summary(&v));
    }
    Ok(())
}

/// `ts event pid via exe reason +injected =kept !missing` or the warning's text.
fn summary(v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("-").to_string();
    let list = |k: &str| {
        v[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    let head = format!("{} {:<11} pid={:<7}", s("ts"), s("event"), v["pid"]);
    match v["event"].as_str() {
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
            if let Some(e) = v["errno"].as_i64() {
                out += &format!(" errno={e}");
            }
            out
        }
    }
}
