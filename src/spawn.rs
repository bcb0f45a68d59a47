//! The exec path every hook shares: read the child's program, arguments and environment
//! without trusting the pointers (`probe`), decide (`Session::plan`), and for a selected child
//! build its `KEY=VALUE` strings, merged envp and log line in mapped scratch memory
//! (`scratch`), log (`log`), and call the real function.
//!
//! Async-signal-safe throughout: no allocation, no lock, no `dlsym`, no panic, no stdio, no
//! `errno` change (system calls are raw), and a stack frame of a few hundred bytes.
//! `c-tests/exec_path.py` checks the machine code for the first five.

use crate::carg;
use crate::host::Block;
use crate::init::Edge;
use crate::log::Writer;
use crate::probe::Probe;
use crate::real::Argv;
use crate::scratch::Scratch;
use core::ffi::{c_char, c_int};
use core::mem::MaybeUninit;
use mcp_env_shim_core::arena::Arena;
use mcp_env_shim_core::config::Mode;
use mcp_env_shim_core::jsonline::Line;
use mcp_env_shim_core::session::{Host, Plan, Session};
use mcp_env_shim_core::stdio::StdioSource;
use mcp_env_shim_core::values::{Exists, Outcome, IMPLIED_FLAG};

/// Arguments looked at for detection; later ones are ignored.
const MAX_ARGS: usize = 64;
/// Environment entries read at most; a larger environment is left alone.
const MAX_ENVP: usize = 1 << 20;
/// The log line's buffer.
const LINE: usize = 4096;
/// Longest `exe` logged.
const MAX_EXE: usize = 512;
/// Longest `server` logged.
const MAX_SERVER: usize = 128;

/// The hooked function, as logged in `via`.
#[derive(Clone, Copy)]
pub enum Via {
    Execve,
    Execv,
    Execvp,
    Execvpe,
    Execl,
    Execlp,
    Execle,
    Fexecve,
    Execveat,
    PosixSpawn,
    PosixSpawnp,
    /// A server adding the block to its own environment before `main`.
    Start,
}

impl Via {
    pub fn name(self) -> &'static [u8] {
        match self {
            Via::Execve => b"execve",
            Via::Execv => b"execv",
            Via::Execvp => b"execvp",
            Via::Execvpe => b"execvpe",
            Via::Execl => b"execl",
            Via::Execlp => b"execlp",
            Via::Execle => b"execle",
            Via::Fexecve => b"fexecve",
            Via::Execveat => b"execveat",
            Via::PosixSpawn => b"posix_spawn",
            Via::PosixSpawnp => b"posix_spawnp",
            Via::Start => b"start",
        }
    }
}

pub fn errno() -> c_int {
    // SAFETY: errno is thread-local and always addressable.
    unsafe { *crate::real::errno_location() }
}

pub fn set_errno(e: c_int) {
    // SAFETY: as above.
    unsafe { *crate::real::errno_location() = e };
}

/// The program as the hook names it: a path to read, or bytes the hook already has.
#[derive(Clone, Copy)]
pub enum Exe<'a> {
    Path(*const c_char),
    Bytes(&'a [u8]),
}

/// What an exec call names, for the check that it can start a program at all.
#[derive(Clone, Copy)]
pub enum Target {
    /// A path (relative to a directory descriptor, `AT_FDCWD` for the cwd).
    Path(c_int, *const c_char),
    /// A name libc searches in PATH, or a descriptor: not checked.
    Unknown,
}

impl Target {
    /// Whether the exec may start a program: a path that does not exist or is not executable
    /// is a probe (libuv, like glibc's execvp, tries each PATH directory in turn), and gets no
    /// log line, so that one started server is one line.
    fn runnable(self) -> bool {
        match self {
            // SAFETY: a path the probe has read as a NUL-terminated string.
            Target::Path(dir, path) => unsafe { crate::sys::faccessat(dir, path, libc::X_OK) == 0 },
            Target::Unknown => true,
        }
    }
}

/// A child as read through the probe: every pointer in it is known to be readable.
struct Child<'a> {
    exe: &'a [u8],
    args: &'a [*const c_char],
    env: &'a [*const c_char],
}

/// Reads the child's program, first arguments and every environment key; `None` if any
/// pointer cannot be read (the real call then fails with EFAULT, as it would without us).
/// Never inlined: the probe's frame is gone before the selected child's work begins.
#[inline(never)]
fn read_child<'a>(exe: Exe<'a>, argv: Argv, envp: Argv) -> Option<Child<'a>> {
    let mut p = Probe::new();
    let exe = match exe {
        Exe::Path(path) => p.cstr(path)?,
        Exe::Bytes(b) => b,
    };
    let args = p.array(argv, MAX_ARGS)?;
    for &a in args {
        p.cstr(a)?;
    }
    let env = p.array(envp, MAX_ENVP)?;
    for &e in env {
        p.key(e)?;
    }
    Some(Child { exe, args, env })
}

/// The bytes of a C string the probe has read.
pub fn bytes<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        return &[];
    }
    // SAFETY: only called on strings `read_child` has read whole.
    unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes()
}

/// The key of an envp entry the probe has read; `None` without `=`. Reads no further than
/// the `=`: the probe read only that far, and a value may run into memory no one may read.
fn key<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    let mut n = 0;
    loop {
        // SAFETY: the probe read this entry up to its `=` or, without one, its NUL.
        match unsafe { *p.add(n) } as u8 {
            0 => return None,
            b'=' => return Some(unsafe { core::slice::from_raw_parts(p.cast(), n) }),
            _ => n += 1,
        }
    }
}

/// Decides about a child, reading its arguments in place (`carg`: no copy on the stack).
/// Never inlined, for the same reason.
#[inline(never)]
fn plan<'a>(
    s: &Session,
    host: &impl Host,
    child: &Child<'a>,
    stdio: impl StdioSource,
) -> Option<Plan<'a>> {
    // SAFETY: every argument pointer was read whole by `read_child`'s probe.
    let args = unsafe { carg::from_ptrs(child.args) };
    s.plan(
        host,
        child.exe,
        args,
        child.env.iter().filter_map(|&e| key(e)),
        stdio,
    )
}

/// Existence of CA files (`sys::exists`), for one child. The block's CA keys mostly name the same
/// one or two files: a path found to exist is remembered (the arena bytes it points at stay
/// put) and not stat'ed again for the next key.
#[derive(Default)]
pub struct Stat {
    found: core::cell::Cell<[(usize, usize); 2]>,
    next: core::cell::Cell<usize>,
}

impl Exists for Stat {
    fn exists(&self, path: &[u8]) -> bool {
        if path.last() != Some(&0) {
            return false;
        }
        let found = self.found.get();
        let known = found.iter().any(|&(p, n)| {
            // SAFETY: a path this call found and left in place in the caller's arena.
            n == path.len() && unsafe { core::slice::from_raw_parts(p as *const u8, n) } == path
        });
        if known {
            return true;
        }
        // SAFETY: NUL-terminated, just checked.
        if !unsafe { crate::sys::exists(path.as_ptr().cast()) } {
            return false;
        }
        let mut found = found;
        let i = self.next.get();
        if let Some(slot) = found.get_mut(i % 2) {
            *slot = (path.as_ptr() as usize, path.len());
        }
        self.found.set(found);
        self.next.set(i + 1);
        true
    }
}

/// A selected child's memory: the merged envp, the strings, the log line.
struct Prepared {
    scratch: Scratch,
    outcome: Outcome,
    /// The merged envp (valid while `scratch` lives), or NULL when the child keeps its own.
    merged: Argv,
    line_at: usize,
    /// The `KEY=VALUE\0` strings added to the child's envp: how many, and their bytes.
    added: (usize, usize),
}

/// Maps scratch memory for `child` and fills it: the value of each missing key and the merged
/// envp. `None` if memory cannot be had (the child is then left alone).
#[inline(never)]
fn prepare(s: &Session, host: &Block, plan: &Plan<'_>, env: &[*const c_char]) -> Option<Prepared> {
    let ptr = core::mem::size_of::<*const c_char>();
    let envp_bytes = (env.len() + s.keys.len() + 1) * ptr;
    let max_kv = s.max_kv(host);
    let mut scratch = Scratch::map(envp_bytes + max_kv + LINE)?;
    let (envp_mem, arena_mem, _) = scratch.split3(envp_bytes, max_kv);
    // SAFETY: the mapping is page-aligned and `envp_bytes` is a multiple of the pointer size,
    // so the first part is an array of `envp_bytes / ptr` pointers.
    let slots: &mut [MaybeUninit<*const c_char>] =
        unsafe { core::slice::from_raw_parts_mut(envp_mem.as_mut_ptr().cast(), envp_bytes / ptr) };
    let mut arena = Arena::new(arena_mem);
    let mut n = env.len();
    let outcome = s.fill(host, plan, &mut arena, &Stat::default(), |_, at, _| {
        if let Some(slot) = slots.get_mut(n) {
            slot.write(at as *const c_char);
            n += 1;
        }
    });
    let merged = if s.mode == Mode::Audit || outcome.injected == 0 {
        core::ptr::null()
    } else {
        for (slot, &e) in slots.iter_mut().zip(env) {
            slot.write(e);
        }
        for slot in slots.iter_mut().take(n).skip(env.len()) {
            // SAFETY: written by `fill`'s callback above, as an arena offset.
            let at = unsafe { slot.assume_init() } as usize;
            let p = if at == usize::MAX {
                IMPLIED_FLAG.as_ptr()
            } else {
                arena.ptr(at)
            };
            slot.write(p.cast());
        }
        slots.get_mut(n)?.write(core::ptr::null());
        slots.as_ptr().cast()
    };
    let added = (n - env.len(), arena.mark() + IMPLIED_FLAG.len());
    Some(Prepared {
        outcome,
        merged,
        line_at: envp_bytes + max_kv,
        added,
        scratch,
    })
}

/// A writer for this process.
fn writer(edge: &Edge) -> Writer<'_> {
    Writer {
        session: &edge.session,
        stderr: edge.stderr,
        owner: edge.owner,
    }
}

/// What a line says about a child.
pub struct Event<'a> {
    pub event: &'a [u8],
    pub ids: (c_int, c_int),
    pub via: Via,
    pub exe: &'a [u8],
    pub plan: &'a Plan<'a>,
    pub outcome: &'a Outcome,
    pub errno: Option<c_int>,
    /// Where the values came from, for a `start` line.
    pub from: &'a [&'a [u8]],
}

/// Writes one event line (and, the first time, the load-time warnings) into `buf`.
pub fn log_event(w: &Writer<'_>, buf: &mut [MaybeUninit<u8>], ev: &Event<'_>) {
    let s = w.session;
    w.emit(buf, |buf, dropped| {
        let mut l = head(buf, ev.event, ev.ids);
        l.str_field("via", ev.via.name());
        l.str_field("exe", ev.exe.get(..MAX_EXE).unwrap_or(ev.exe));
        l.str_field("reason", ev.plan.reason.as_str().as_bytes());
        if !ev.plan.server.is_empty() {
            let server = ev.plan.server;
            l.str_field("server", server.get(..MAX_SERVER).unwrap_or(server));
        }
        l.keys_field("injected", ev.outcome.injected, &s.keys);
        l.keys_field("kept", ev.plan.present, &s.keys);
        let missing = ev
            .outcome
            .missing()
            .filter_map(|(i, why)| Some((s.keys.get(i)?.name.as_bytes(), why.as_str())));
        l.missing_field("missing", missing);
        if !ev.from.is_empty() {
            l.list_field("from", ev.from);
        }
        if let Some(e) = ev.errno {
            l.num_field("errno", i64::from(e));
        }
        if dropped > 0 {
            l.num_field("dropped", i64::from(dropped));
        }
        l.finish().len()
    });
}

/// Builds a warning line into `buf`; its length.
pub fn warn_line(buf: &mut [MaybeUninit<u8>], msg: &[u8], dropped: u32) -> usize {
    let ids = (crate::sys::getpid(), crate::sys::getppid());
    let mut l = head(buf, b"warn", ids);
    l.str_field("msg", msg);
    if dropped > 0 {
        l.num_field("dropped", i64::from(dropped));
    }
    l.finish().len()
}

/// A line with the fields every event has: `ts`, `event`, `pid`, `ppid`.
fn head<'a>(buf: &'a mut [MaybeUninit<u8>], event: &[u8], (pid, ppid): (i32, i32)) -> Line<'a> {
    let mut l = Line::new(buf);
    let (secs, ms) = crate::sys::now();
    l.timestamp_field(secs, ms);
    l.str_field("event", event);
    l.num_field("pid", i64::from(pid));
    l.num_field("ppid", i64::from(ppid));
    l
}

fn event_name(s: &Session) -> &'static [u8] {
    if s.mode == Mode::Audit {
        b"audit"
    } else {
        b"inject"
    }
}

/// Whether a line is written for this child: always in audit mode, else only when something
/// was injected (a child that already has everything gets no line).
fn worth_a_line(s: &Session, o: &Outcome) -> bool {
    s.mode == Mode::Audit || o.injected != 0
}

/// The exec hooks' common body: `call` runs the real function with the envp to use.
///
/// # Safety
/// The arguments as the hooked function takes them (they are checked before being read).
pub unsafe fn exec(
    via: Via,
    target: Target,
    exe: Exe<'_>,
    argv: Argv,
    envp: Argv,
    call: impl Fn(Argv) -> c_int,
) -> c_int {
    // From a signal handler that interrupted a log write: not with the write's mask.
    let _unblocked = crate::sigwindow::Unblocked::for_call();
    let Some(edge) = crate::init::edge() else {
        return call(envp);
    };
    let s = &edge.session;
    if s.mode == Mode::Off {
        return call(envp);
    }
    crate::scratch::sweep();
    let Some(child) = read_child(exe, argv, envp) else {
        return call(envp);
    };
    let host = crate::host::Lazy::new(s, edge.envp);
    // In an exec hook we are the child: its stdin and stdout are already in place.
    let Some(plan) = plan(s, &host, &child, crate::stdio::of_self) else {
        // A private copy of the host's values is unmapped before any exec (a vfork child
        // shares the gateway's memory): here, and in `exec_selected`.
        drop(host);
        return call(envp);
    };
    let Some(view) = host.into_view() else {
        return call(envp);
    };
    exec_selected(edge, view, (via, target), &child, &plan, envp, call)
}

#[inline(never)]
fn exec_selected(
    edge: &Edge,
    view: crate::host::View,
    (via, target): (Via, Target),
    child: &Child<'_>,
    plan: &Plan<'_>,
    envp: Argv,
    call: impl Fn(Argv) -> c_int,
) -> c_int {
    let s = &edge.session;
    let prepared = prepare(s, view.host(), plan, child.env);
    drop(view);
    let Some(mut p) = prepared else {
        crate::log::count_dropped();
        return call(envp);
    };
    let w = writer(edge);
    // In an exec hook we are the child: its own pid and parent.
    let ids = (crate::sys::getpid(), crate::sys::getppid());
    let logged = worth_a_line(s, &p.outcome) && target.runnable();
    let (_, _, line) = p.scratch.split3(p.line_at, 0);
    let ev = |event, errno| Event {
        event,
        ids,
        via,
        exe: child.exe,
        plan,
        outcome: &p.outcome,
        errno,
        from: &[],
    };
    if logged {
        log_event(&w, line, &ev(event_name(s), None));
    }
    if p.merged.is_null() {
        return call(envp);
    }
    let merged = p.merged;
    let (outcome, line_at) = (p.outcome, p.line_at);
    // A child of the process that loaded the shim may share its memory (vfork): record the
    // mapping, in case the exec succeeds and never comes back to unmap it.
    let shared = ids.0 != edge.owner;
    let (rc, err, mut scratch) = if shared {
        let Ok(grave) = p.scratch.bury() else {
            crate::log::count_dropped();
            return call(envp);
        };
        let rc = call(merged);
        let err = errno();
        (rc, err, grave.unbury())
    } else {
        let rc = call(merged);
        (rc, errno(), Some(p.scratch))
    };
    // Only a failed exec returns.
    if logged {
        if let Some(sc) = scratch.as_mut() {
            let (_, _, line) = sc.split3(line_at, 0);
            let ev = Event {
                event: b"exec-failed",
                ids,
                via,
                exe: child.exe,
                plan,
                outcome: &outcome,
                errno: Some(err),
                from: &[],
            };
            log_event(&w, line, &ev);
        }
    }
    drop(scratch);
    if err == libc::E2BIG {
        // The block made the environment too large: start the child without it (the line
        // above says so, with errno E2BIG).
        return call(envp);
    }
    set_errno(err);
    rc
}

/// A script's `#!` line, at most this long, adds its interpreter and argument.
const SHEBANG_ROOM: usize = 256 + 2;
/// The kernel's limit on one argument or environment string, its NUL included.
const MAX_ARG_STRLEN: usize = 32 * 4096;

/// Whether a child with `argv` and the environment `merged` fits the kernel's limits on an
/// exec's arguments and environment (`bprm_stack_limits` and `copy_strings` in fs/exec.c):
/// each string at most 128 KiB; all of them, the program's path, and a pointer for each within
/// a quarter of RLIMIT_STACK (at least 128 KiB, at most 6 MiB); with room for a script (its
/// path once more, and its `#!` line). `search`: the path is found in PATH, so its length is
/// not known yet.
fn fits_with(child: &Child<'_>, argv: Argv, search: bool, p: &Prepared) -> bool {
    const ARG_MAX: u64 = 32 * 4096;
    const STACK_CAP: u64 = 6 << 20;
    let limit = (crate::sys::stack_limit() / 4).clamp(ARG_MAX, STACK_CAP) as usize;
    let path = if search {
        libc::PATH_MAX as usize
    } else {
        child.exe.len() + 1
    };
    // The added strings are counted from what `prepare` wrote (an upper bound: the implied
    // flag counted whether given or not); only the caller's are read.
    let (added, added_bytes) = p.added;
    if added_bytes >= MAX_ARG_STRLEN {
        return false;
    }
    let mut need = 2 * path + SHEBANG_ROOM + added_bytes;
    let mut ptrs = 2 + added;
    let mut probe = Probe::new();
    let Some(args) = probe.array(argv, MAX_ENVP) else {
        return false;
    };
    ptrs += args.len() + child.env.len();
    for &e in args.iter().chain(child.env) {
        match probe.cstr(e) {
            Some(b) if b.len() < MAX_ARG_STRLEN => need += b.len() + 1,
            _ => return false,
        }
    }
    need += (ptrs + 1) * core::mem::size_of::<*const c_char>();
    need <= limit
}

/// The `posix_spawn` hooks' common body: `call` runs the real function with the pid slot and
/// the envp to use; it returns an error number, not -1.
///
/// # Safety
/// The arguments as `posix_spawn(3)` takes them (checked before being read).
pub unsafe fn spawn(
    via: Via,
    pid_out: *mut libc::pid_t,
    exe: Exe<'_>,
    actions: *const libc::posix_spawn_file_actions_t,
    argv: Argv,
    envp: Argv,
    call: impl Fn(*mut libc::pid_t, Argv) -> c_int,
) -> c_int {
    // The child takes this thread's mask: not the one of a log write a handler interrupted.
    let _unblocked = crate::sigwindow::Unblocked::for_call();
    let Some(edge) = crate::init::edge() else {
        return call(pid_out, envp);
    };
    let s = &edge.session;
    if s.mode == Mode::Off {
        return call(pid_out, envp);
    }
    crate::scratch::sweep();
    let Some(child) = read_child(exe, argv, envp) else {
        return call(pid_out, envp);
    };
    // SAFETY: the file actions as posix_spawn takes them (read defensively).
    let stdio = || unsafe { crate::stdio::of_spawn(actions) };
    let host = crate::host::Lazy::new(s, edge.envp);
    let Some(plan) = plan(s, &host, &child, stdio) else {
        drop(host);
        return call(pid_out, envp);
    };
    let Some(view) = host.into_view() else {
        return call(pid_out, envp);
    };
    spawn_selected(
        edge,
        view,
        (via, pid_out),
        &child,
        &plan,
        (argv, envp),
        call,
    )
}

#[inline(never)]
fn spawn_selected(
    edge: &Edge,
    view: crate::host::View,
    (via, pid_out): (Via, *mut libc::pid_t),
    child: &Child<'_>,
    plan: &Plan<'_>,
    (argv, envp): (Argv, Argv),
    call: impl Fn(*mut libc::pid_t, Argv) -> c_int,
) -> c_int {
    let s = &edge.session;
    let prepared = prepare(s, view.host(), plan, child.env);
    drop(view);
    let Some(mut p) = prepared else {
        crate::log::count_dropped();
        return call(pid_out, envp);
    };
    // The caller may pass a NULL pid slot; the log needs the pid either way.
    let mut pid: libc::pid_t = 0;
    let mut outcome = p.outcome;
    let mut injected = !p.merged.is_null();
    // A spawn is not retried without the block: the child's file actions would run twice (a
    // file opened O_EXCL, a lock). So a block that would not fit is not added at all.
    let search = matches!(via, Via::PosixSpawnp);
    let too_big = injected && !fits_with(child, argv, search, &p);
    if too_big {
        injected = false;
        outcome.injected = 0;
    }
    let rc = call(&mut pid, if injected { p.merged } else { envp });
    // What the real call left in errno (glibc's posix_spawn may set it) is what the caller sees.
    let after = errno();
    if rc == 0 && !pid_out.is_null() {
        // SAFETY: a non-NULL pid slot is writable, as posix_spawn requires.
        unsafe { *pid_out = pid };
    }
    if worth_a_line(s, &p.outcome) {
        let me = crate::sys::getpid();
        let (event, ids, err) = match rc {
            // Started without the block: the line says why (E2BIG).
            0 if too_big => (event_name(s), (pid, me), Some(libc::E2BIG)),
            0 => (event_name(s), (pid, me), None),
            _ => (&b"exec-failed"[..], (0, me), Some(rc)),
        };
        let line_at = p.line_at;
        let (_, _, line) = p.scratch.split3(line_at, 0);
        let ev = Event {
            event,
            ids,
            via,
            exe: child.exe,
            plan,
            outcome: &outcome,
            errno: err,
            from: &[],
        };
        log_event(&writer(edge), line, &ev);
    }
    set_errno(after);
    rc
}
