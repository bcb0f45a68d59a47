//! `mcp-env-shim diagnose`: the I/O of a diagnosis. It finds and reads OpenShell's daily logs
//! and the shim's log (following both with `--follow`, across the daily rotation), looks live
//! processes up in `/proc`, and prints what the pure `mcp-env-shim-diagnose` crate finds.

use crate::procfs::ProcFs;
use mcp_env_shim_core::session::Session;
use mcp_env_shim_diagnose::sandbox::{parse_ocsf, parse_shorthand, Event};
use mcp_env_shim_diagnose::time::{format_iso, parse_since};
use mcp_env_shim_diagnose::{Context, Diagnoser, Finding, ShimLog};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why an MCP server's connection failed: joins the sandbox proxy's log with the shim's.
///
/// Prints one line per failed connection (newest first; with --follow, as they happen): the PID
/// and program, the MCP server it belongs to and who started it, what failed, the cause
/// (not-injected, proxy-ignored, ca-not-given, ca-own-kept, ca-ignored, policy-denied, or
/// unattributed) and the fix. Exit status: 1 when it finds a failure, 0 when none, 2 when a
/// log is missing or unreadable, or on bad arguments.
#[derive(clap::Args)]
pub struct Args {
    /// OpenShell's log: a directory holding openshell.YYYY-MM-DD.log (and
    /// openshell-ocsf.YYYY-MM-DD.log, read when present), or one such file.
    #[arg(long, value_name = "PATH|DIR", default_value = "/var/log")]
    sandbox_log: PathBuf,
    /// The shim's log [default: MCP_ENV_SHIM_LOG, else the config's "log"].
    #[arg(long, value_name = "PATH")]
    shim_log: Option<PathBuf>,
    /// One JSON object per finding (ts, verdict, failed, pid, exe, dest, server, server_pid,
    /// started_by, join, detail, fix).
    #[arg(long)]
    json: bool,
    /// Keep reading both logs, across the daily rotation, and print findings as they happen
    /// (from now on, or from --since).
    #[arg(long)]
    follow: bool,
    /// Only failures at or after TIME: 2026-05-06T17:00:00Z, or back from now: 90s, 10m, 2h, 1d.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn warn(msg: &str) {
    eprintln!("mcp-env-shim diagnose: {msg}");
}

/// The daily files of a directory, oldest first: `(date, path)`.
fn daily_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in rd.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let date = name
            .strip_prefix("openshell-ocsf.")
            .or_else(|| name.strip_prefix("openshell."))
            .and_then(|r| r.strip_suffix(".log"))
            .filter(|d| d.len() == 10 && d.as_bytes().get(4) == Some(&b'-'));
        if let Some(d) = date {
            out.push((d.to_string(), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The sandbox's files to read now.
fn sandbox_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("sandbox log {}: {e}", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let files = daily_files(path)?;
    if files.is_empty() {
        return Err(format!(
            "no OpenShell log in {} (openshell.YYYY-MM-DD.log): not an OpenShell sandbox, or its logs are elsewhere: give --sandbox-log",
            path.display()
        ));
    }
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// One line of either file: OCSF JSON objects start with `{`.
fn parse_event(line: &[u8]) -> Option<Event> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end();
    if text.starts_with('{') {
        parse_ocsf(text)
    } else {
        parse_shorthand(text)
    }
}

/// A file read from where it was last left, whole lines only; a file replaced or truncated
/// (rotation) is read again from its start.
struct Tail {
    path: PathBuf,
    offset: u64,
    ino: u64,
    partial: Vec<u8>,
}

impl Tail {
    fn new(path: PathBuf) -> Tail {
        Tail {
            path,
            offset: 0,
            ino: 0,
            partial: Vec::new(),
        }
    }

    fn lines(&mut self) -> Result<Vec<Vec<u8>>, String> {
        let mut f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(format!("{}: {e}", self.path.display())),
        };
        let meta = f
            .metadata()
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        if meta.ino() != self.ino || meta.len() < self.offset {
            (self.ino, self.offset) = (meta.ino(), 0);
            self.partial.clear();
        }
        f.seek(SeekFrom::Start(self.offset))
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        let rest = self.partial.split_off(end + 1);
        let whole = std::mem::replace(&mut self.partial, rest);
        Ok(whole
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect())
    }
}

fn context<'a>(s: &'a Session, shim_log: ShimLog) -> Context<'a> {
    let values: BTreeMap<String, String> = s
        .report(&crate::host(s), &crate::fs::HostFs)
        .into_iter()
        .filter_map(|k| {
            let (value, _) = k.value.ok()?;
            Some((
                k.name.to_string(),
                String::from_utf8_lossy(&value).into_owned(),
            ))
        })
        .collect();
    Context {
        selector: &s.selector,
        mode: s.mode,
        values,
        shim_log,
    }
}

fn print(f: &Finding, json: bool) {
    let line = if json {
        f.to_json().to_string()
    } else {
        f.human()
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs a diagnosis; `Ok(true)` when it found a failure.
pub fn run(s: &Session, default_log: Option<PathBuf>, args: &Args) -> Result<bool, String> {
    let since = match &args.since {
        Some(t) => Some(parse_since(t, now_ms()).ok_or_else(|| {
            format!(
                "--since {t:?}: not a time (2026-05-06T17:00:00Z) or a duration (90s, 10m, 2h, 1d)"
            )
        })?),
        None => None,
    };
    // The shim's log: its absence is a fact to report, not "no failures".
    let (shim_state, mut shim_tail) = match args.shim_log.clone().or(default_log) {
        Some(p) => match std::fs::metadata(&p) {
            Ok(_) => (ShimLog::Read(p.display().to_string()), Some(Tail::new(p))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                warn(&format!(
                    "the shim log {} does not exist: the shim has written no line there (not loaded, mode off, or logging elsewhere)",
                    p.display()
                ));
                (
                    ShimLog::Missing(p.display().to_string()),
                    Some(Tail::new(p)),
                )
            }
            Err(e) => return Err(format!("shim log {}: {e}", p.display())),
        },
        None => {
            let target = crate::status::log_target(&s.log);
            warn(&format!(
                "the shim logs to {target}, not to a file: without its lines every failure looks not-injected; give --shim-log FILE (the client's captured stderr) or set MCP_ENV_SHIM_LOG"
            ));
            (ShimLog::NoFile(target), None)
        }
    };
    let ctx = context(s, shim_state);
    let host = ProcFs::new();
    let mut d = Diagnoser::default();
    let mut shim_lines = 0;
    if let Some(t) = shim_tail.as_mut() {
        for l in t.lines()? {
            shim_lines += usize::from(d.add_shim_line(&l));
        }
    }

    let files = sandbox_files(&args.sandbox_log)?;
    let mut tails: Vec<Tail> = files.iter().cloned().map(Tail::new).collect();
    let mut events = Vec::new();
    for t in &mut tails {
        events.extend(t.lines()?.iter().filter_map(|l| parse_event(l)));
    }
    let n_events = events.len();
    // Following: what is already there only primes the pairing, unless --since asks for it.
    d.since_ms = if args.follow {
        Some(since.unwrap_or_else(now_ms))
    } else {
        since
    };
    let found = d.add_events(events, &ctx, &host);

    if !args.follow {
        for f in found.iter().rev() {
            print(f, args.json);
        }
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &found {
            *counts.entry(f.verdict.as_str()).or_default() += 1;
        }
        warn(&format!(
            "{} failed connection{} ({}) in {n_events} sandbox events from {}; {} shim lines{}",
            found.len(),
            if found.len() == 1 { "" } else { "s" },
            if counts.is_empty() {
                "none".to_string()
            } else {
                counts
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            names.join(", "),
            shim_lines,
            since
                .map(|t| format!("; since {}", format_iso(t)))
                .unwrap_or_default(),
        ));
        return Ok(!found.is_empty());
    }

    for f in &found {
        print(f, args.json);
    }
    follow(&mut d, &ctx, &host, args, shim_tail, tails)
}

/// Polls both logs (four times a second) and prints findings as they come. A new day's file
/// is read from its start; the old one is read to its end first.
fn follow(
    d: &mut Diagnoser,
    ctx: &Context,
    host: &ProcFs,
    args: &Args,
    mut shim: Option<Tail>,
    mut tails: Vec<Tail>,
) -> Result<bool, String> {
    let dir = std::fs::metadata(&args.sandbox_log).is_ok_and(|m| m.is_dir());
    loop {
        std::thread::sleep(Duration::from_millis(250));
        if let Some(t) = shim.as_mut() {
            for l in t.lines()? {
                d.add_shim_line(&l);
            }
        }
        if dir {
            for (_, p) in daily_files(&args.sandbox_log)? {
                if !tails.iter().any(|t| t.path == p) {
                    tails.push(Tail::new(p));
                }
            }
        }
        let mut events = Vec::new();
        for t in &mut tails {
            events.extend(t.lines()?.iter().filter_map(|l| parse_event(l)));
        }
        // Keep only the newest days' files: OpenShell keeps three.
        if tails.len() > 6 {
            tails.drain(..tails.len() - 6);
        }
        for f in d.add_events(events, ctx, host) {
            print(&f, args.json);
        }
    }
}
