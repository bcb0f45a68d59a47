//! The cause of one failed connection, and its text: what the shim did for the process (its
//! line, found by `join`), what failed (`sandbox`), and what the process's runtime reads
//! (`runtime`). For `not-injected`, the library's own detection runs on the command line, to
//! tell "the rules did not select it" from "it looks like an MCP server, so the shim never ran
//! where it started".

use crate::finding::{Failure, Finding, Verdict};
use crate::join::{Attribution, Binary, Join, Proc};
use crate::runtime::Runtime;
use crate::sandbox::Process;
use crate::shimlog::{basename, ShimLine};
use mcp_env_shim_core::block::{Kind, ProxyRole, BUILTIN};
use mcp_env_shim_core::config::Mode;
use mcp_env_shim_core::envp::ChildEnv;
use mcp_env_shim_core::select::Selector;
use mcp_env_shim_core::stdio::Stdio;
use std::collections::BTreeMap;

/// What is known about the shim log that was read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShimLog {
    /// Read from this path.
    Read(String),
    /// This path does not exist: the shim never wrote a line there.
    Missing(String),
    /// The shim logs to stderr or nowhere: there is no file to read.
    NoFile(String),
}

/// What a diagnosis knows besides the two logs.
pub struct Context<'a> {
    /// The library's selector, from this environment's config (include/exclude patterns).
    pub selector: &'a Selector,
    /// The mode this environment and config give.
    pub mode: Mode,
    /// The sandbox's value of each block key here, for the fix texts.
    pub values: BTreeMap<String, String>,
    pub shim_log: ShimLog,
}

fn kind_of(key: &str) -> Option<Kind> {
    BUILTIN.iter().find(|k| k.name == key).map(|k| k.kind)
}

fn is_proxy_key(key: &str) -> bool {
    matches!(kind_of(key), Some(Kind::Proxy(r)) if r != ProxyRole::No)
}

fn is_ca_key(key: &str) -> bool {
    matches!(
        kind_of(key),
        Some(Kind::CaAdd | Kind::CaBundle | Kind::CaDir)
    )
}

fn list(keys: &[&String]) -> String {
    keys.iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the event said, for the verdict.
pub struct Failed<'e> {
    pub time_ms: i64,
    pub failure: Failure,
    pub dest: &'e str,
    /// The socket's owner: from the event, or from the OPEN a FAIL was paired with.
    pub process: Option<&'e Process>,
    pub policy: Option<&'e str>,
    pub engine: Option<&'e str>,
    /// How the process was found, for a FAIL ("the OPEN ... 12 ms before").
    pub paired: Option<String>,
}

/// The finding for one failed connection.
pub fn diagnose(f: &Failed, att: &Attribution, ctx: &Context) -> Finding {
    let line = att.line;
    let mut finding = Finding {
        time_ms: f.time_ms,
        verdict: Verdict::NotInjected,
        failed: f.failure.clone(),
        pid: f.process.map(|p| p.pid),
        exe: f.process.map(|p| p.name.clone()),
        dest: f.dest.to_string(),
        server: line.map(ShimLine::server_name),
        server_pid: line.map(|l| l.pid),
        started_by: line.map(|l| l.ppid),
        join: att.join,
        detail: String::new(),
        fix: String::new(),
    };
    let Some(process) = f.process else {
        finding.verdict = if matches!(f.failure, Failure::Denied(_)) {
            Verdict::PolicyDenied
        } else {
            Verdict::Unattributed
        };
        if finding.verdict == Verdict::PolicyDenied {
            (finding.detail, finding.fix) = policy(f);
        } else {
            finding.detail = "the proxy logged no process for it and no OPEN for this destination came just before it, so the PID cannot be attributed".into();
            finding.fix = "retry with the OCSF JSON log enabled (ocsf_json_enabled), and see the shim log for servers started just before it".into();
        }
        return finding;
    };
    let binary = att.live.as_ref().map_or(Binary::Unknown, |p| p.binary);
    let runtime = Runtime::of(&process.name, binary);
    let how = joined(att, line);

    let (verdict, detail, fix) = match (&f.failure, line) {
        (Failure::Denied(_), _) => {
            let (d, x) = policy(f);
            (Verdict::PolicyDenied, d, x)
        }
        (_, Some(l)) if l.event == "audit" => (
            Verdict::NotInjected,
            format!("the shim ran in mode audit: it logged at {} what it would give and changed nothing", l.ts),
            "set MCP_ENV_SHIM=mcp (or the config's \"mode\") in the client's environment".to_string(),
        ),
        (Failure::DirectConnection, Some(l)) => {
            let proxy: Vec<&String> = l.injected.iter().chain(&l.kept).filter(|k| is_proxy_key(k)).collect();
            if proxy.is_empty() {
                let why = missing_of(l, is_proxy_key, &["HTTPS_PROXY", "https_proxy"]);
                (
                    Verdict::NotInjected,
                    format!("the shim selected it ({}) but had no proxy value to give ({why})", l.reason),
                    "give the client HTTPS_PROXY and https_proxy (the sandbox sets them), or set them in the config's \"values\"".into(),
                )
            } else {
                let given = given(l, &proxy);
                let nuep = l.injected.iter().chain(&l.kept).any(|k| k == "NODE_USE_ENV_PROXY");
                (
                    Verdict::ProxyIgnored,
                    format!("the proxy keys reached it ({given}) and it still connected directly: {}", runtime.proxy_note(nuep)),
                    runtime.proxy_fix().to_string(),
                )
            }
        }
        (Failure::TlsHandshake, Some(l)) => ca_verdict(l, runtime, ctx),
        (_, None) => not_injected(f, process, att, ctx),
    };
    finding.verdict = verdict;
    let notes: Vec<&str> = [how.as_str(), f.paired.as_deref().unwrap_or_default()]
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    finding.detail = if notes.is_empty() {
        detail
    } else {
        format!("{detail} [{}]", notes.join("; "))
    };
    finding.fix = fix;
    finding
}

fn policy(f: &Failed) -> (String, String) {
    let rule = match (f.policy, f.engine) {
        (Some(p), Some(e)) => format!(" (policy {p}, engine {e})"),
        (Some(p), None) => format!(" (policy {p})"),
        _ => String::new(),
    };
    (
        format!("the sandbox policy refused it{rule}: this is not a CA or proxy problem, the request reached the proxy"),
        format!(
            "allow {} in the sandbox policy if the server needs it; leave the CA and proxy settings alone",
            if f.dest.is_empty() { "the destination" } else { f.dest }
        ),
    )
}

/// How the shim's line was found, when it is not the socket owner's own.
fn joined(att: &Attribution, line: Option<&ShimLine>) -> String {
    let Some(l) = line else {
        return String::new();
    };
    let whose = format!(
        "the shim's line is for {} (PID {})",
        basename(&l.exe),
        l.pid
    );
    match att.join {
        Join::Pid | Join::None => String::new(),
        Join::Proc => format!("{whose}, its live ancestor"),
        Join::ShimLog => format!("{whose}, its ancestor by the shim log's pid/ppid"),
        Join::Name => format!(
            "{whose}: the processes are gone, and it is the latest shim line whose program or server name is in this process's OCSF parent chain or command line"
        ),
    }
}

/// A list for a human: at most four names, then how many more.
fn short_list(items: &[String]) -> String {
    match items.len() {
        0..=4 => items.join(", "),
        n => format!("{} and {} more", items[..3].join(", "), n - 3),
    }
}

fn given(l: &ShimLine, keys: &[&String]) -> String {
    let (inj, kept): (Vec<&String>, Vec<&String>) =
        keys.iter().partition(|k| l.injected.contains(k));
    let mut parts = Vec::new();
    if !inj.is_empty() {
        parts.push(format!("injected {}", list(&inj)));
    }
    if !kept.is_empty() {
        parts.push(format!("its own {}", list(&kept)));
    }
    parts.join("; ")
}

/// The keys the shim could not give, those `first` names first.
fn missing_of(l: &ShimLine, pred: fn(&str) -> bool, first: &[&str]) -> String {
    let mut m: Vec<&(String, String)> = l.missing.iter().filter(|(k, _)| pred(k)).collect();
    m.sort_by_key(|(k, _)| !first.contains(&k.as_str()));
    let m: Vec<String> = m.iter().map(|(k, why)| format!("{k} {why}")).collect();
    if m.is_empty() {
        "none was injected or kept".into()
    } else {
        short_list(&m)
    }
}

fn ca_verdict(l: &ShimLine, runtime: Runtime, ctx: &Context) -> (Verdict, String, String) {
    let reads = runtime.ca_keys();
    let relevant = |k: &&String| reads.is_empty() || reads.contains(&k.as_str());
    let kept: Vec<&String> = l.kept.iter().filter(|k| is_ca_key(k)).collect();
    let injected: Vec<&String> = l.injected.iter().filter(|k| is_ca_key(k)).collect();
    let kept_read: Vec<&String> = kept.iter().copied().filter(relevant).collect();
    let injected_read: Vec<&String> = injected.iter().copied().filter(relevant).collect();
    let sandbox = |k: &str| {
        ctx.values
            .get(k)
            .cloned()
            .unwrap_or_else(|| "the sandbox CA".to_string())
    };
    if !kept_read.is_empty() {
        let k = kept_read[0];
        return (
            Verdict::CaOwnKept,
            format!(
                "the server declares its own {}, which the shim kept (it never overrides a key the server has): that is not the sandbox CA, so {} rejects the proxy's certificate",
                list(&kept_read),
                runtime.name()
            ),
            format!("remove {k} from this server's env in the client's config, or set it to {}", sandbox(k)),
        );
    }
    if !injected_read.is_empty() || (!injected.is_empty() || !kept.is_empty()) {
        let got: Vec<&String> = injected.iter().chain(&kept).copied().collect();
        let value = sandbox(runtime.ca_key());
        return (
            Verdict::CaIgnored,
            format!(
                "the shim gave it {}, but {} reads another trust store: {}",
                given(l, &got),
                runtime.name(),
                runtime.ca_note()
            ),
            runtime.ca_fix(&value),
        );
    }
    let why = missing_of(l, is_ca_key, runtime.ca_keys());
    let key = runtime.ca_key();
    (
        Verdict::CaNotGiven,
        format!(
            "no CA key reached it: the shim selected it ({}) but had no CA value to give ({why})",
            l.reason
        ),
        format!(
            "give the client the sandbox's CA variables ({key}={}, ...), or set them in the config's \"values\"; a CA key whose file does not exist is not injected",
            sandbox(key)
        ),
    )
}

/// The words of a command line: the live argv, else OCSF's `cmd_line` split on blanks.
fn argv_of(process: &Process, live: Option<&Proc>) -> Option<Vec<Vec<u8>>> {
    if let Some(p) = live.filter(|p| !p.argv.is_empty()) {
        return Some(p.argv.clone());
    }
    let cmd = process.cmd_line.as_deref()?;
    let words: Vec<Vec<u8>> = cmd
        .split_whitespace()
        .map(|w| w.as_bytes().to_vec())
        .collect();
    (!words.is_empty()).then_some(words)
}

fn not_injected(
    f: &Failed,
    process: &Process,
    att: &Attribution,
    ctx: &Context,
) -> (Verdict, String, String) {
    let runtime = Runtime::of(
        &process.name,
        att.live.as_ref().map_or(Binary::Unknown, |p| p.binary),
    );
    let block_fix = format!(
        "declare HTTPS_PROXY, https_proxy and {} in this server's env in its client's config",
        runtime.ca_key()
    );
    let walked = if att.chain.len() > 1 {
        format!(" or its ancestors {:?}", &att.chain[1..])
    } else {
        String::new()
    };
    let log_note = match &ctx.shim_log {
        ShimLog::Read(_) => String::new(),
        ShimLog::Missing(p) => {
            format!(" (the shim log {p} does not exist: the shim has written no line there)")
        }
        ShimLog::NoFile(t) => format!(
            " (the shim logs to {t}, not to a file: its lines could not be read; give --shim-log)"
        ),
    };
    let head = format!(
        "the shim never gave it the block: no inject line for PID {}{walked}{log_note}",
        process.pid
    );
    let Some(argv) = argv_of(process, att.live.as_ref()) else {
        let _ = f;
        return (
            Verdict::NotInjected,
            format!("{head}; its command line is unknown (the process is gone and the OCSF JSON log was not there), so why cannot be told"),
            format!("run `mcp-env-shim explain -- COMMAND` with the server's command, and preload the shim in the client that starts it, or {block_fix}"),
        );
    };
    let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    let exe = args.first().copied().unwrap_or_default();
    let shown = String::from_utf8_lossy(basename_b(exe)).into_owned();
    let (client, inherited, pipes) = (ChildEnv::CLIENT, ChildEnv::INHERITED, Stdio::PIPES);
    if ctx
        .selector
        .select(Mode::All, exe, &args, client, pipes)
        .is_none()
    {
        return (
            Verdict::NotInjected,
            format!("{head}; the config's \"exclude\" matches its command line ({shown} ...): the shim leaves it alone by design"),
            format!("remove the pattern from \"exclude\", or {block_fix}"),
        );
    }
    // As an MCP client would start it: stdin and stdout pipes, its environment inherited (a
    // name rule) or dropped (env-dropped).
    let by_name = ctx.selector.select(Mode::Mcp, exe, &args, inherited, pipes);
    let by_drop = ctx.selector.select(Mode::Mcp, exe, &args, client, pipes);
    let Some(reason) = by_name.or(by_drop).map(|s| s.reason) else {
        let name = suggest(&args);
        return (
            Verdict::NotInjected,
            format!("{head}; the rules did not select it: its command line ({shown} ...) does not look like an MCP server"),
            format!("add \"{name}\" to the config's \"include\", or {block_fix}"),
        );
    };
    let looks = if by_name.is_some() {
        format!(
            "its command line looks like an MCP server ({}), so the shim would have selected it",
            reason.as_str()
        )
    } else {
        "its command line runs a runtime that the shim selects when its client drops the environment (env-dropped)".to_string()
    };
    let (cause, fix) = parent_cause(process, att, ctx, &block_fix);
    (
        Verdict::NotInjected,
        format!("{head}; {looks}: {cause}"),
        fix,
    )
}

fn basename_b(b: &[u8]) -> &[u8] {
    b.rsplit(|&c| c == b'/').next().unwrap_or(b)
}

/// A pattern for `include`: for a runtime, the script it runs; else the program.
fn suggest(args: &[&[u8]]) -> String {
    let prog = args.first().copied().unwrap_or_default();
    let runtime = mcp_env_shim_core::detect::classify(prog, args).runtime;
    let word = args
        .iter()
        .skip(1)
        .find(|a| runtime && !a.starts_with(b"-"))
        .copied()
        .unwrap_or(prog);
    let base = String::from_utf8_lossy(basename_b(word)).into_owned();
    base.split('.').next().unwrap_or(&base).to_string()
}

/// Why a server the rules would select was never injected: what is known of its parent.
fn parent_cause(
    process: &Process,
    att: &Attribution,
    ctx: &Context,
    block_fix: &str,
) -> (String, String) {
    let preload = "preload the shim in the client that starts it (LD_PRELOAD=/usr/lib/libmcp_env_shim.so in its environment, or /etc/ld.so.preload)";
    if let Some(p) = &att.parent {
        let who = format!("its parent PID {} ({})", p.pid, basename(&p.exe));
        return match (p.binary, p.shim_loaded, p.shim_mode.as_deref().and_then(Mode::parse)) {
            (Binary::Static, ..) => (
                format!("{who} is a static binary: nothing can be preloaded into it (as Codex's musl build)"),
                format!("{block_fix}; no preload can reach that client"),
            ),
            (Binary::Go, ..) => (
                format!("{who} is a Go program: it starts children with raw system calls, which no preload sees"),
                format!("{block_fix}; no preload can reach that client"),
            ),
            (_, Some(true), Some(Mode::Off)) => (
                format!("the shim is loaded in {who} with MCP_ENV_SHIM=off"),
                "unset MCP_ENV_SHIM in that client's environment, or set it to mcp".into(),
            ),
            (_, Some(true), Some(Mode::Audit)) => (
                format!("the shim is loaded in {who} in mode audit: it changes nothing"),
                "set MCP_ENV_SHIM=mcp in that client's environment".into(),
            ),
            (_, Some(true), _) => (
                format!("the shim is loaded in {who}, yet logged nothing for this child: its log may be elsewhere, or the child was started through a path the hooks do not see"),
                format!("check `mcp-env-shim status` in that client's environment, or {block_fix}"),
            ),
            (_, Some(false), _) => (
                format!("the shim is not loaded in {who}: LD_PRELOAD there does not name libmcp_env_shim.so"),
                format!("{preload}, or {block_fix}"),
            ),
            _ => (
                format!("{who} did not run the shim (its memory map could not be read)"),
                format!("{preload}, or {block_fix}"),
            ),
        };
    }
    let parent = process
        .parents
        .first()
        .map(|n| format!(" ({})", basename(n)))
        .unwrap_or_default();
    let mode = if ctx.mode == Mode::Off {
        " MCP_ENV_SHIM or the config says off here;"
    } else {
        ""
    };
    (
        format!(
            "at the time,{mode} the shim was not preloaded in the client that started it{parent}, the mode was off there, or that client starts servers where the hooks cannot see (a static or Go binary, such as Codex's)"
        ),
        format!("{preload}, or {block_fix}"),
    )
}
