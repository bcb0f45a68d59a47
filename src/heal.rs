//! A server healing itself at start. Clients the hooks cannot see (a static binary such as
//! Codex's, a Go gateway, one that strips `LD_PRELOAD`) still start dynamically linked servers,
//! and under `/etc/ld.so.preload` the library is in those. When the process's own command line
//! looks like an MCP server by the same rules the hooks use, and its environment lacks block
//! keys, it adds them to its own environment before `main`, never overriding one, and logs one
//! `inject` line with `"via":"start"`.
//!
//! Every other process only decides that it is not one: a classification of its own argv, and
//! for a runtime (node, python, ...) whose stdin and stdout are pipes, a look at its own keys.
//! The parent's environment (`/proc/PPID/environ`) is read only after that.
//!
//! Values come from the config, then the parent's environment (the gateway's, as it was when
//! it started), then the OpenShell defaults when the sandbox is detected. The mode and the log
//! come from this process's environment, then the parent's, then the config, as for the hooks
//! (the environment wins over the config): `MCP_ENV_SHIM=off` set on a gateway turns it off for
//! that gateway's servers. In secure mode nothing comes from either environment.

use crate::init::{each_env, HostFs, OwnVars};
use crate::log::{Stderr, Writer};
use crate::real::Argv;
use crate::spawn::{log_event, Event, Stat, Via};
use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_char, c_int};
use core::mem::MaybeUninit;
use mcp_env_shim_core::arena::Arena;
use mcp_env_shim_core::block::{Kind, BUILTIN};
use mcp_env_shim_core::config::Mode;
use mcp_env_shim_core::detect::{classify, may_be_named};
use mcp_env_shim_core::envp::KeyTable;
use mcp_env_shim_core::session::{Env, HostValues, LogTarget, Process, Session, Source};
use mcp_env_shim_core::values::IMPLIED_FLAG;

/// Arguments looked at, as the hooks do.
const MAX_ARGS: usize = 64;
/// The most of a parent's environment read.
const MAX_PARENT_ENV: usize = 4 << 20;

/// Heals this process if it is an MCP server missing block keys; true if `environ` changed.
pub fn at_start(argc: c_int, argv: Argv, env: &OwnVars, process: Process) -> bool {
    let args = own_args(argc, argv);
    if !looks_like_a_server(&args, env.envp()) {
        return false;
    }
    // Nothing to do, nothing read: its own MCP_ENV_SHIM says off (not in secure mode, where
    // the user's environment decides nothing), or it has the whole block.
    let own_off = !process.secure
        && env
            .var("MCP_ENV_SHIM")
            .is_some_and(|m| Mode::parse(&m) == Some(Mode::Off));
    if own_off || has_whole_block(env.envp()) {
        return false;
    }
    heal(&args, env, process)
}

/// The healing itself, for a server missing block keys: out of line and marked cold, so that
/// the code every other process runs at load stays in a few pages (src/load.ld).
#[inline(never)]
#[cold]
fn heal(args: &[&'static [u8]], env: &OwnVars, process: Process) -> bool {
    let ppid = crate::sys::getppid();
    // A privileged server (doas, pkexec, sudo) takes nothing from a parent that is not wholly
    // its own user, or that is itself a set-user-ID program (sudo becomes full root and stays
    // the parent): that parent's environment is the user's to write.
    let trusted =
        !process.secure && (!process.privileged || (same_user(ppid) && !secure_exec(ppid)));
    let parent = trusted.then(|| ParentEnv::read(ppid)).flatten();
    // Its buffer, asked for without aborting, may have moved the allocator to a region of its
    // own: what comes after must still fit without a mapping that may be refused, the copies of
    // the settings this session takes from it included.
    let copies = crate::init::SETTING_COPIES * parent.as_ref().map_or(0, ParentEnv::settings_len);
    if !crate::rt::room_for(copies) {
        return false;
    }
    let layered = Layered {
        own: env,
        parent: parent.as_ref(),
    };
    let s = Session::prepare(&layered, process, &HostFs);
    if s.mode == Mode::Off {
        return false;
    }
    // In audit mode a parent that has the shim loaded audited this very start in its hook:
    // one line per server.
    if s.mode == Mode::Audit && shim_loaded_in(ppid) {
        return false;
    }
    // The parent's values of the block's keys are copied (a NO_PROXY of 100 KB), and the maps
    // file audit mode read may have moved the allocator to a region of its own: both must fit,
    // with the rest of the load, before they are needed.
    let values = parent.as_ref().map_or(0, |p| p.values_len(&s));
    if !crate::rt::room_for(2 * values) {
        return false;
    }
    // Sized up front, as the constructor counted them (`init::LOAD_BYTES`): the allocator never
    // frees, and a doubling Vec would take twice that.
    let mut own_keys = Vec::with_capacity(env.entries());
    each_env(env.envp(), |k, _| own_keys.push(k));
    // The server's own stdin and stdout are the client's pipes (or not): as the hooks judge it.
    let host = HostValues::read(&s, &layered);
    let Some(plan) = s.plan(
        &host,
        b"",
        args,
        own_keys.iter().copied(),
        crate::stdio::of_self,
    ) else {
        return false;
    };
    // Grows with the longest value (a parent's long NO_PROXY): asked for without aborting, and
    // the rest of the load's spare kept after it.
    let len = s.max_kv(&host);
    let mut mem: Vec<MaybeUninit<u8>> = Vec::new();
    if mem.try_reserve_exact(len).is_err() || !crate::rt::room_for(0) {
        return false;
    }
    mem.resize(len, MaybeUninit::uninit());
    let mut arena = Arena::new(&mut mem);
    let mut added: Vec<usize> = Vec::new();
    let mut from: Vec<&'static [u8]> = Vec::new();
    let outcome = s.fill(
        &host,
        &plan,
        &mut arena,
        &Stat::default(),
        |_, at, source| {
            added.push(at);
            let word: &'static [u8] = match source {
                Source::Config => b"config",
                Source::Host | Source::Sibling(_) => b"parent",
                Source::OpenShell => b"openshell",
                Source::Implied => return,
            };
            if !from.contains(&word) {
                from.push(word);
            }
        },
    );
    if outcome.injected == 0 {
        return false;
    }
    let healed = s.mode != Mode::Audit;
    if healed {
        let mut new: Vec<*const c_char> = Vec::with_capacity(env.entries() + added.len() + 1);
        each_env_ptr(env.envp(), |p| new.push(p));
        for at in &added {
            new.push(if *at == usize::MAX {
                IMPLIED_FLAG.as_ptr().cast()
            } else {
                arena.ptr(*at).cast()
            });
        }
        new.push(core::ptr::null());
        // The strings and the array live as long as the process: leaked on purpose.
        let array = new.leak().as_ptr();
        core::mem::forget(mem);
        // SAFETY: before main, nothing else reads or writes environ; the new array holds the
        // old entries unchanged and the added ones after them.
        unsafe { crate::real::set_environ(array) };
    }
    // The line goes to the client's stderr, as a hook's line would, never into this server's
    // own stderr when the client captures it (a pipe it reads): the client's fd 2 is reached
    // through /proc, and only a parent this process may trust is reopened.
    let journal = env.journal_stream();
    let stderr = match s.log {
        LogTarget::Stderr => Stderr::of_parent(ppid, journal),
        _ => None,
    };
    let pid = crate::sys::getpid();
    let w = Writer {
        session: &s,
        stderr,
        owner: if trusted { ppid } else { 0 },
    };
    let exe = crate::init::self_exe();
    let mut line = alloc::vec![MaybeUninit::uninit(); 4096];
    let event: &[u8] = if healed { b"inject" } else { b"audit" };
    let ev = Event {
        event,
        ids: (pid, crate::sys::getppid()),
        via: Via::Start,
        exe: &exe,
        plan: &plan,
        outcome: &outcome,
        errno: None,
        from: &from,
    };
    log_event(&w, &mut line, &ev);
    healed
}

/// The first arguments of this process.
fn own_args(argc: c_int, argv: Argv) -> Vec<&'static [u8]> {
    let n = usize::try_from(argc).unwrap_or(0).min(MAX_ARGS);
    // Sized up front: a growing Vec calls alloc's reserve, code outside .text.load (src/load.ld)
    // that every command of five or more arguments would fault in.
    let mut args = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: argv holds argc strings.
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            break;
        }
        // SAFETY: a NUL-terminated argument string that lives as long as the process.
        args.push(unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes());
    }
    args
}

/// The cheap test every process runs: named like an MCP server; or a runtime whose stdin and
/// stdout are pipes or sockets (an MCP client's stdio transport) and which has no proxy key
/// of its own (a fresh environment).
fn looks_like_a_server(args: &[&[u8]], envp: Argv) -> bool {
    if args.is_empty() {
        return false;
    }
    // Most processes are turned away without `classify` (whose code and tables would cost
    // them page faults): no `mcp` in the command line, and stdin or stdout no stream.
    let streams = || stream(0) && stream(1);
    if !may_be_named(b"", args) && !streams() {
        return false;
    }
    let v = classify(b"", args);
    if v.name.is_some() {
        return true;
    }
    if !v.runtime || !streams() {
        return false;
    }
    let mut proxy = false;
    each_env(envp, |k, _| {
        if let Some(i) = TABLE.find(BUILTIN, k) {
            proxy |= matches!(BUILTIN.get(i).map(|k| k.kind), Some(Kind::Proxy(_)));
        }
    });
    !proxy
}

static TABLE: KeyTable = KeyTable::builtin();

/// Whether `envp` has every key of the built-in block.
fn has_whole_block(envp: Argv) -> bool {
    let mut seen = 0u64;
    each_env(envp, |k, _| {
        if let Some(i) = TABLE.find(BUILTIN, k) {
            seen |= 1 << i;
        }
    });
    seen.count_ones() as usize == BUILTIN.len()
}

/// Whether every user id of process `pid` (real, effective, saved, file system) is this
/// process's effective uid, by `/proc/PID/status`.
fn same_user(pid: c_int) -> bool {
    let euid = crate::sys::geteuid();
    let Some(status) = crate::procfs::read(pid, "status", 64 << 10) else {
        return false;
    };
    let Some(line) = status
        .split(|&b| b == b'\n')
        .find(|l| l.starts_with(b"Uid:"))
    else {
        return false;
    };
    let ids = line
        .get(4..)
        .unwrap_or_default()
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .map(|w| {
            core::str::from_utf8(w)
                .ok()
                .and_then(|w| w.parse::<u32>().ok())
        });
    let mut n = 0;
    for id in ids {
        if id != Some(euid) {
            return false;
        }
        n += 1;
    }
    n == 4
}

/// Whether process `pid` runs in secure-execution mode (`AT_SECURE` in `/proc/PID/auxv`: a
/// set-user-ID program, or a fork of one); an auxiliary vector that cannot be read counts as
/// secure.
fn secure_exec(pid: c_int) -> bool {
    const AT_SECURE: u64 = 23;
    let Some(aux) = crate::procfs::read(pid, "auxv", 4096) else {
        return true;
    };
    let word = |c: &[u8]| c.try_into().map_or(0, u64::from_ne_bytes);
    aux.chunks_exact(16)
        .find(|pair| word(pair.get(..8).unwrap_or_default()) == AT_SECURE)
        .is_none_or(|pair| word(pair.get(8..).unwrap_or_default()) != 0)
}

/// Whether process `pid` has this library mapped (a path whose file name starts with
/// `libmcp_env_shim`), by `/proc/PID/maps`.
fn shim_loaded_in(pid: c_int) -> bool {
    crate::procfs::read(pid, "maps", 4 << 20).is_some_and(|maps| {
        maps.split(|&b| b == b'\n').any(|l| {
            let name = l.rsplit(|&b| b == b'/').next().unwrap_or_default();
            l.contains(&b'/') && name.starts_with(b"libmcp_env_shim")
        })
    })
}

/// Whether fd `fd` is a pipe or a socket.
fn stream(fd: c_int) -> bool {
    crate::sys::fstat(fd)
        .is_some_and(|st| matches!(st.st_mode & libc::S_IFMT, libc::S_IFIFO | libc::S_IFSOCK))
}

fn each_env_ptr(envp: Argv, mut f: impl FnMut(*const c_char)) {
    let mut p = envp;
    // SAFETY: a NULL-terminated array, unchanged before main.
    while !p.is_null() && !unsafe { *p }.is_null() {
        // SAFETY: as above.
        f(unsafe { *p });
        // SAFETY: not past the terminating NULL.
        p = unsafe { p.add(1) };
    }
}

/// The parent's environment as it was when it started (`/proc/PPID/environ`).
struct ParentEnv {
    data: Vec<u8>,
}

impl ParentEnv {
    fn read(ppid: c_int) -> Option<ParentEnv> {
        crate::procfs::read(ppid, "environ", MAX_PARENT_ENV).map(|data| ParentEnv { data })
    }

    /// The bytes of its values of the session's block keys.
    fn values_len(&self, s: &Session) -> usize {
        self.entries()
            .filter(|(k, _)| core::str::from_utf8(k).is_ok_and(|k| s.index(k).is_some()))
            .map(|(_, v)| v.len())
            .sum()
    }

    /// The bytes of the shim's own variables' values in it.
    fn settings_len(&self) -> usize {
        self.entries()
            .filter(|(k, _)| crate::init::OWN.iter().any(|n| n.as_bytes() == *k))
            .map(|(_, v)| crate::init::read_len(v))
            .sum()
    }

    fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.data.split(|&b| b == 0).filter_map(|e| {
            let eq = e.iter().position(|&b| b == b'=')?;
            Some((e.get(..eq)?, e.get(eq + 1..)?))
        })
    }
}

impl Env for ParentEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.entries()
            .find(|(k, _)| *k == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    fn var_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.entries()
            .find(|(k, _)| *k == name.as_bytes())
            .map(|(_, v)| v.to_vec())
    }

    fn vars(&self, names: &[&str]) -> Vec<Option<Cow<'_, [u8]>>> {
        let mut out: Vec<Option<Cow<'_, [u8]>>> = names.iter().map(|_| None).collect();
        for (k, v) in self.entries() {
            if let Some(slot) = names
                .iter()
                .position(|n| n.as_bytes() == k)
                .and_then(|i| out.get_mut(i))
            {
                if slot.is_none() {
                    *slot = Some(Cow::Borrowed(v));
                }
            }
        }
        out
    }
}

/// The settings from this process's environment, then the parent's; the block's values from
/// the parent's only (this process lacks them, which is why it heals).
struct Layered<'a> {
    own: &'a OwnVars,
    parent: Option<&'a ParentEnv>,
}

impl Env for Layered<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.own
            .var(name)
            .or_else(|| self.parent.and_then(|p| p.var(name)))
    }

    fn var_bytes(&self, name: &str) -> Option<Vec<u8>> {
        self.own
            .var_bytes(name)
            .or_else(|| self.parent.and_then(|p| p.var_bytes(name)))
    }

    fn vars(&self, names: &[&str]) -> Vec<Option<Cow<'_, [u8]>>> {
        match self.parent {
            Some(p) => p.vars(names),
            None => names.iter().map(|_| None).collect(),
        }
    }

    /// The parent's: it is the host whose spawn is being judged.
    fn client_defaults(&self) -> u8 {
        self.parent.map_or(0, |p| p.client_defaults())
    }
}
