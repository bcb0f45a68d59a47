//! The hard part: from the process that owns the socket (what the proxy logs) to the line the
//! shim wrote for the server it belongs to. The proxy names the socket's owner, which is often
//! a child of what the shim logged (`uvx` spawns python, `npx` runs node through a shell), so
//! the join walks the ancestry: through `/proc` while the processes are alive (`Host`), through
//! the shim log's own `pid`/`ppid`, and, once they are gone, through the names OpenShell's OCSF
//! log keeps (the parent chain's binaries and the command line; their PIDs are not logged).

use crate::sandbox::Process;
use crate::shimlog::{basename, ShimLine};
use std::collections::HashMap;

/// What the binary of a process is, for "its parent is one the hooks cannot see".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Binary {
    /// Dynamically linked: `LD_PRELOAD` works in it.
    Dynamic,
    /// Statically linked: nothing can be preloaded into it (Codex's musl build).
    Static,
    /// A Go program: it starts children with raw system calls, not through libc.
    Go,
    #[default]
    Unknown,
}

/// A live process, as the CLI reads it from `/proc`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Proc {
    pub pid: u32,
    pub ppid: u32,
    /// `/proc/PID/exe`.
    pub exe: String,
    pub argv: Vec<Vec<u8>>,
    /// When it started, if known: a PID reused since the event is another process.
    pub start_ms: Option<i64>,
    /// Whether `libmcp_env_shim.so` is mapped in it (`/proc/PID/maps`), if readable.
    pub shim_loaded: Option<bool>,
    /// `MCP_ENV_SHIM` in its environment (`/proc/PID/environ`), if readable and set.
    pub shim_mode: Option<String>,
    pub binary: Binary,
}

/// The operating system, as a diagnosis needs it; the CLI reads `/proc`, tests give a fake.
pub trait Host {
    fn process(&self, pid: u32) -> Option<Proc>;
}

/// No live process: the logs alone.
pub struct NoHost;

impl Host for NoHost {
    fn process(&self, _: u32) -> Option<Proc> {
        None
    }
}

/// How a failure was tied to a shim line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Join {
    /// The shim logged the socket's own PID.
    Pid,
    /// An ancestor's PID, found through `/proc`.
    Proc,
    /// An ancestor's PID, found through the shim log's `pid`/`ppid`.
    ShimLog,
    /// The processes are gone: a name in the OCSF parent chain or command line matches the
    /// server the shim logged (the latest such line before the failure).
    Name,
    /// Nothing ties it to a shim line.
    None,
}

impl Join {
    pub fn as_str(self) -> &'static str {
        match self {
            Join::Pid => "pid",
            Join::Proc => "proc",
            Join::ShimLog => "shim-log",
            Join::Name => "name",
            Join::None => "none",
        }
    }
}

/// The shim's lines, by PID.
#[derive(Default)]
pub struct ShimIndex {
    lines: Vec<ShimLine>,
    by_pid: HashMap<u32, Vec<usize>>,
}

/// Clock slack between a shim line and the proxy's event: both come from one host's clock,
/// but a posix_spawn line is written after the child started.
const SLACK_MS: i64 = 2000;

impl ShimIndex {
    pub fn push(&mut self, line: ShimLine) {
        self.by_pid
            .entry(line.pid)
            .or_default()
            .push(self.lines.len());
        self.lines.push(line);
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn lines(&self) -> &[ShimLine] {
        &self.lines
    }

    /// The latest line for `pid` written before `t` (and after the process started, when
    /// that is known: an older line belongs to an earlier process with the same PID).
    fn latest(&self, pid: u32, t: i64, start: Option<i64>, decision: bool) -> Option<&ShimLine> {
        self.by_pid
            .get(&pid)?
            .iter()
            .rev()
            .filter_map(|&i| self.lines.get(i))
            .filter(|l| !decision || l.is_decision())
            .find(|l| match l.time_ms {
                None => true,
                Some(lt) => lt <= t + SLACK_MS && start.is_none_or(|s| lt + SLACK_MS >= s),
            })
    }
}

/// What the join found.
#[derive(Clone, Debug)]
pub struct Attribution<'a> {
    pub line: Option<&'a ShimLine>,
    pub join: Join,
    /// The socket's owner, if it is still the same live process.
    pub live: Option<Proc>,
    /// Its parent, if alive: who started it.
    pub parent: Option<Proc>,
    /// The PIDs walked, the socket's owner first.
    pub chain: Vec<u32>,
}

/// The live process `pid`, if it is the one that was there at `t` (started before it, and
/// running `name` when the proxy named it).
fn alive(host: &dyn Host, pid: u32, t: i64, name: Option<&str>) -> Option<Proc> {
    let p = host.process(pid)?;
    let started_before = p.start_ms.is_none_or(|s| s <= t + SLACK_MS);
    let same_exe = name.is_none_or(|n| n.is_empty() || p.exe.trim_end_matches(" (deleted)") == n);
    (started_before && same_exe).then_some(p)
}

/// A name worth matching: a runtime or shell (`node`, `python3`, `sh`) names half the processes
/// of a sandbox and says nothing about which server a process belongs to.
fn distinctive(name: &str) -> bool {
    !(name.is_empty() || is_interpreter(name) || is_shell(name))
}

fn is_interpreter(name: &str) -> bool {
    let n = basename(name);
    [
        "node", "nodejs", "bun", "deno", "ruby", "php", "perl", "java", "dotnet",
    ]
    .contains(&n)
        || n.starts_with("python")
        || n.starts_with("pypy")
}

fn is_shell(name: &str) -> bool {
    let n = basename(name);
    [
        "sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "fish", "busybox", "env",
    ]
    .contains(&n)
}

/// The names a dead process leaves in the OCSF log: its parents' binaries, its own, and the
/// basenames of its command line's words (a script, a package's bin, a module).
fn names_of(p: &Process) -> Vec<String> {
    let mut out: Vec<String> = p.parents.iter().map(|n| basename(n).to_string()).collect();
    out.push(basename(&p.name).to_string());
    if let Some(cmd) = &p.cmd_line {
        for w in cmd.split_whitespace() {
            let b = basename(w);
            out.push(b.to_string());
            // `pkg@1.2.3`, `script.js`, `mod.py`
            for cut in ['@', '.'] {
                if let Some((head, _)) = b.split_once(cut).filter(|(h, _)| !h.is_empty()) {
                    out.push(head.to_string());
                }
            }
        }
    }
    out
}

/// Ties the socket's owner `p`, seen at `t`, to the shim line of the server it belongs to.
pub fn attribute<'a>(idx: &'a ShimIndex, p: &Process, t: i64, host: &dyn Host) -> Attribution<'a> {
    let live = alive(host, p.pid, t, Some(&p.name));
    let parent = live.as_ref().and_then(|l| alive(host, l.ppid, t, None));
    let mut att = Attribution {
        line: None,
        join: Join::None,
        live: live.clone(),
        parent,
        chain: vec![p.pid],
    };
    let (mut pid, mut proc_, mut how) = (p.pid, live, Join::Pid);
    for _ in 0..32 {
        let start = proc_.as_ref().and_then(|x| x.start_ms);
        if let Some(l) = idx.latest(pid, t, start, true) {
            att.line = Some(l);
            att.join = how;
            return att;
        }
        let next = if let Some(x) = &proc_ {
            how = if how == Join::ShimLog {
                how
            } else {
                Join::Proc
            };
            x.ppid
        } else if let Some(l) = idx.latest(pid, t, None, false) {
            how = Join::ShimLog;
            l.ppid
        } else {
            break;
        };
        if next <= 1 || att.chain.contains(&next) {
            break;
        }
        att.chain.push(next);
        pid = next;
        proc_ = alive(host, pid, t, None);
    }
    // Gone: the names OpenShell logged. The latest decision before `t` whose server (or
    // distinctive program name) is among them.
    let names = names_of(p);
    let found = idx
        .lines
        .iter()
        .rev()
        .filter(|l| l.is_decision() && l.time_ms.is_none_or(|lt| lt <= t + SLACK_MS))
        .find(|l| {
            let keys = [
                l.server.clone().unwrap_or_default(),
                basename(&l.exe).to_string(),
            ];
            keys.iter()
                .any(|k| distinctive(k) && names.iter().any(|n| n == k))
        });
    if let Some(l) = found {
        att.line = Some(l);
        att.join = Join::Name;
    }
    att
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shimlog::parse;

    struct FakeHost(Vec<Proc>);

    impl Host for FakeHost {
        fn process(&self, pid: u32) -> Option<Proc> {
            self.0.iter().find(|p| p.pid == pid).cloned()
        }
    }

    fn proc_(pid: u32, ppid: u32, exe: &str) -> Proc {
        Proc {
            pid,
            ppid,
            exe: exe.into(),
            start_ms: Some(0),
            ..Proc::default()
        }
    }

    fn index(lines: &[&str]) -> ShimIndex {
        let mut idx = ShimIndex::default();
        for l in lines {
            idx.push(parse(l.as_bytes()).unwrap());
        }
        idx
    }

    const T: i64 = 1_764_432_000_000; // 2025-11-29T16:00:00Z
    const UVX: &str = r#"{"ts":"2025-11-29T15:59:50.000Z","event":"inject","pid":500,"ppid":400,"via":"posix_spawnp","exe":"uvx","reason":"name:package","injected":["HTTPS_PROXY"],"kept":["SSL_CERT_FILE"],"missing":{}}"#;
    const UVX_NAMED: &str = r#"{"ts":"2025-11-29T15:59:50.000Z","event":"inject","pid":500,"ppid":400,"via":"posix_spawnp","exe":"uvx","reason":"name:package","server":"mcp-server-fetch","injected":["HTTPS_PROXY"],"kept":[],"missing":{}}"#;
    const NODE: &str = r#"{"ts":"2025-11-29T15:59:00.000Z","event":"inject","pid":300,"ppid":400,"via":"execvp","exe":"node","reason":"name:script","injected":["HTTPS_PROXY"],"kept":[],"missing":{}}"#;

    fn python(pid: u32) -> Process {
        Process {
            name: "/usr/bin/python3.11".into(),
            pid,
            cmd_line: Some("/root/.cache/uv/archive-v0/x/bin/python /root/.cache/uv/archive-v0/x/bin/mcp-server-fetch".into()),
            parents: vec!["/usr/bin/uvx".into(), "/usr/bin/node".into()],
        }
    }

    #[test]
    fn the_socket_owner_itself_is_in_the_shim_log() {
        let idx = index(&[UVX]);
        let a = attribute(
            &idx,
            &Process {
                pid: 500,
                ..python(500)
            },
            T,
            &NoHost,
        );
        assert_eq!((a.line.map(|l| l.pid), a.join), (Some(500), Join::Pid));
    }

    #[test]
    fn a_child_of_the_logged_launcher_is_joined_through_proc_while_alive() {
        let idx = index(&[UVX]);
        let host = FakeHost(vec![
            proc_(501, 500, "/usr/bin/python3.11"),
            proc_(500, 400, "/usr/bin/uvx"),
        ]);
        let a = attribute(&idx, &python(501), T, &host);
        assert_eq!((a.line.map(|l| l.pid), a.join), (Some(500), Join::Proc));
        assert_eq!(a.chain, [501, 500]);
        assert_eq!(a.parent.map(|p| p.pid), Some(500));
    }

    #[test]
    fn a_reused_pid_is_not_the_process_the_proxy_saw() {
        let idx = index(&[UVX]);
        // 501 is alive, but started after the failure: another process.
        let mut later = proc_(501, 500, "/usr/bin/python3.11");
        later.start_ms = Some(T + 60_000);
        let a = attribute(&idx, &python(501), T, &FakeHost(vec![later]));
        assert_ne!(a.join, Join::Proc);
        assert!(a.live.is_none());
    }

    #[test]
    fn the_shim_logs_own_pid_and_ppid_walk_up_when_the_processes_are_gone() {
        // The child healed itself at start (via:start) but kept nothing useful... its line is a
        // decision for itself; a warn line from the child only gives its parent.
        let warn =
            r#"{"ts":"2025-11-29T15:59:51.000Z","event":"warn","pid":501,"ppid":500,"msg":"x"}"#;
        let idx = index(&[UVX, warn]);
        let a = attribute(&idx, &python(501), T, &NoHost);
        assert_eq!((a.line.map(|l| l.pid), a.join), (Some(500), Join::ShimLog));
    }

    #[test]
    fn gone_processes_are_joined_by_the_names_in_the_ocsf_chain() {
        let idx = index(&[NODE, UVX]);
        let a = attribute(&idx, &python(777), T, &NoHost);
        assert_eq!((a.line.map(|l| l.pid), a.join), (Some(500), Join::Name));
    }

    #[test]
    fn the_server_name_matches_the_command_line() {
        let mut p = python(777);
        p.parents = vec!["/usr/local/bin/something".into()];
        let idx = index(&[UVX_NAMED]);
        let a = attribute(&idx, &p, T, &NoHost);
        assert_eq!((a.line.map(|l| l.pid), a.join), (Some(500), Join::Name));
    }

    #[test]
    fn a_runtime_name_alone_joins_nothing() {
        // `node` is the gateway's name too: a node server line must not claim every process
        // whose chain has node in it.
        let idx = index(&[NODE]);
        let p = Process {
            name: "/usr/bin/node".into(),
            pid: 900,
            cmd_line: Some("node /srv/other/index.js".into()),
            parents: vec!["/usr/bin/node".into()],
        };
        let a = attribute(&idx, &p, T, &NoHost);
        assert_eq!((a.line.is_none(), a.join), (true, Join::None));
    }

    #[test]
    fn a_line_written_after_the_failure_is_not_its_cause() {
        let late = UVX.replace("15:59:50", "16:05:00");
        let idx = index(&[&late]);
        let a = attribute(
            &idx,
            &Process {
                pid: 500,
                ..python(500)
            },
            T,
            &NoHost,
        );
        assert_eq!(a.join, Join::None);
    }
}
