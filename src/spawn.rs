//! The exec path shared by every hook: read the child's argv and envp, decide, build the
//! merged envp on the stack, log, call the real function, and hand back its result and errno
//! untouched. Allocation-free, lock-free and panic-free: it may run in a `vfork` child or in
//! the child of a `fork` from a multi-threaded parent.

use crate::carg::{self, CArg};
use crate::log;
use crate::real::Argv;
use core::ffi::{c_char, c_int, CStr};
use core::mem::MaybeUninit;
use mcp_env_shim_core::config::Mode;
use mcp_env_shim_core::envp::{self, bits};
use mcp_env_shim_core::jsonline::Line;
use mcp_env_shim_core::session::{LogTarget, Plan, Session};
use mcp_env_shim_core::stdio::Stdio;

/// Arguments looked at for detection; later ones are ignored.
const MAX_ARGS: usize = 64;
/// The merged envp's capacity for the usual child (an MCP client's fresh environment plus the
/// block), in a small stack frame; the large one's 8 KiB is reserved only when needed.
const SMALL_ENVP: usize = 64;
/// The capacity for a large environment; a larger one is left alone, with a warning.
const MAX_ENVP: usize = 1024;
/// The log line's buffer.
const LINE: usize = 2048;
/// Longest `exe` logged.
const MAX_EXE: usize = 512;

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
}

impl Via {
    fn name(self) -> &'static [u8] {
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
        }
    }
}

pub fn errno() -> c_int {
    // SAFETY: errno is thread-local and always addressable.
    unsafe { *libc::__errno_location() }
}

pub fn set_errno(e: c_int) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = e };
}

/// The bytes of a C string, or empty for NULL.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string that outlives the returned slice.
pub unsafe fn bytes<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        return &[];
    }
    // SAFETY: the caller's promise.
    unsafe { CStr::from_ptr(p) }.to_bytes()
}

/// The key of a C envp entry, read up to `=` without measuring the value; `None` for an entry
/// without `=`, which is no variable (`getenv` does not see it).
///
/// # Safety
/// `p` is a NUL-terminated string that outlives the returned slice.
pub unsafe fn c_key<'a>(p: *const c_char) -> Option<&'a [u8]> {
    let mut n = 0;
    // SAFETY: we stop at the NUL, so every byte read is inside the string.
    while unsafe { *p.add(n) } != 0 && unsafe { *p.add(n) } != b'=' as c_char {
        n += 1;
    }
    // SAFETY: byte `n` was just read: the NUL or the `=`.
    if unsafe { *p.add(n) } == 0 {
        return None;
    }
    // SAFETY: the first `n` bytes were just read.
    Some(unsafe { core::slice::from_raw_parts(p.cast::<u8>(), n) })
}

/// The entries of a NULL-terminated array (NULL counts as empty, as Linux takes it).
///
/// # Safety
/// `arr` is NULL or a NULL-terminated array of pointers.
unsafe fn entries<'a>(arr: Argv) -> &'a [*const c_char] {
    if arr.is_null() {
        return &[];
    }
    let mut n = 0;
    // SAFETY: we stop at the terminating NULL.
    while !unsafe { *arr.add(n) }.is_null() {
        n += 1;
    }
    // SAFETY: the first `n` entries were just read.
    unsafe { core::slice::from_raw_parts(arr, n) }
}

/// Decides about a child; `None` leaves it alone.
///
/// # Safety
/// `env` holds NUL-terminated strings.
unsafe fn plan<'a>(
    s: &Session,
    exe: &'a [u8],
    args: &[CArg<'a>],
    env: &[*const c_char],
    stdio: Stdio,
) -> Option<Plan<'a>> {
    // SAFETY: the caller's promise.
    s.plan(
        exe,
        args,
        env.iter().filter_map(|&e| unsafe { c_key(e) }),
        stdio,
    )
}

/// Writes one event line.
fn log_event(
    s: &Session,
    event: &[u8],
    (pid, ppid): (i32, i32),
    via: Via,
    exe: &[u8],
    plan: &Plan<'_>,
    err: Option<c_int>,
) {
    if matches!(s.log, LogTarget::Off) {
        return;
    }
    let mut buf = [MaybeUninit::uninit(); LINE];
    let mut l = head(&mut buf, event, (pid, ppid));
    l.str_field("via", via.name());
    l.str_field("exe", exe.get(..MAX_EXE).unwrap_or(exe));
    l.str_field("reason", plan.reason.as_str().as_bytes());
    l.keys_field("injected", plan.inject, &s.names);
    l.keys_field("kept", plan.present, &s.names);
    l.json_field("missing", &s.missing_json);
    if let Some(e) = err {
        l.num_field("errno", i64::from(e));
    }
    log::write_line(&s.log, l.finish());
}

/// Writes one warning line.
pub fn warn(s: &Session, msg: &[u8]) {
    if matches!(s.log, LogTarget::Off) {
        return;
    }
    let mut buf = [MaybeUninit::uninit(); LINE];
    // SAFETY: getpid and getppid cannot fail.
    let ids = unsafe { (libc::getpid(), libc::getppid()) };
    let mut l = head(&mut buf, b"warn", ids);
    l.str_field("msg", msg);
    log::write_line(&s.log, l.finish());
}

/// A line with the fields every event has: `ts`, `event`, `pid`, `ppid`.
fn head<'a>(buf: &'a mut [MaybeUninit<u8>], event: &[u8], (pid, ppid): (i32, i32)) -> Line<'a> {
    let mut l = Line::new(buf);
    let (secs, ms) = log::now();
    l.timestamp_field(secs, ms);
    l.str_field("event", event);
    l.num_field("pid", i64::from(pid));
    l.num_field("ppid", i64::from(ppid));
    l
}

/// Builds the merged envp for `plan` in `out`; false when the child keeps its own envp.
fn merged(
    s: &Session,
    plan: &mut Plan<'_>,
    env: &[*const c_char],
    out: &mut [MaybeUninit<*const c_char>],
) -> bool {
    if s.mode == Mode::Audit || plan.inject == 0 {
        return false;
    }
    let extra = bits(plan.inject)
        .filter_map(|i| s.entries.get(i)?.kv.as_ref().map(|kv| kv.as_ptr().cast()));
    if envp::merge(env, extra, core::ptr::null(), out).is_some() {
        return true;
    }
    warn(
        s,
        b"the child's environment has too many entries to merge; left unchanged",
    );
    plan.inject = 0;
    false
}

/// A child the shim selected.
struct Selected<'a> {
    s: &'static Session,
    plan: Plan<'a>,
    env: &'a [*const c_char],
}

/// Decides about a child; `None` passes it straight through. Makes no system call, so errno
/// is as the caller left it.
///
/// Never inlined: detection's frames are gone from the stack before the child's envp is built.
///
/// `stdio` says what the child's stdin and stdout are; it is asked only when the shim is on.
///
/// # Safety
/// `argv` and `envp` as `execve(2)` takes them.
#[inline(never)]
unsafe fn select<'a>(
    exe: &'a [u8],
    argv: Argv,
    envp: Argv,
    stdio: impl FnOnce() -> Stdio,
) -> Option<Selected<'a>> {
    let s = crate::init::session()?;
    if s.mode == Mode::Off {
        return None;
    }
    let stdio = stdio();
    // SAFETY: the caller's promise.
    let args = unsafe { carg::args(argv, MAX_ARGS) };
    // SAFETY: the caller's promise.
    let env = unsafe { entries(envp) };
    // SAFETY: the caller's promise.
    let plan = unsafe { plan(s, exe, args, env, stdio) }?;
    Some(Selected { s, plan, env })
}

fn event_name(s: &Session) -> &'static [u8] {
    if s.mode == Mode::Audit {
        b"audit"
    } else {
        b"inject"
    }
}

/// Whether the merged envp of `plan`, with its terminating NULL, fits the small frame.
fn fits_small(env: &[*const c_char], plan: &Plan<'_>) -> bool {
    env.len() + (plan.inject.count_ones() as usize) < SMALL_ENVP
}

/// The exec hooks' common body: `call` runs the real function with the envp to use.
///
/// # Safety
/// `argv` and `envp` as `execve(2)` takes them.
pub unsafe fn exec(
    via: Via,
    target: Target,
    exe: &[u8],
    argv: Argv,
    envp: Argv,
    call: impl Fn(Argv) -> c_int,
) -> c_int {
    // SAFETY: the caller's promise. In an exec hook we are the child: its fd 0 and 1 are ours.
    let Some(child) = (unsafe { select(exe, argv, envp, crate::stdio::of_self) }) else {
        return call(envp);
    };
    if fits_small(child.env, &child.plan) {
        exec_selected::<SMALL_ENVP>(child, via, target, exe, envp, call)
    } else {
        exec_selected::<MAX_ENVP>(child, via, target, exe, envp, call)
    }
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
            // SAFETY: a NUL-terminated path, as exec takes it; faccessat only reads it.
            Target::Path(dir, path) => unsafe {
                libc::faccessat(dir, path, libc::X_OK, libc::AT_EACCESS) == 0
            },
            Target::Unknown => true,
        }
    }
}

/// `exec` for a selected child, with room for `N` envp entries. Never inlined: each size keeps
/// its own frame, so the usual child does not pay for the large one's stack.
#[inline(never)]
fn exec_selected<const N: usize>(
    Selected { s, mut plan, env }: Selected<'_>,
    via: Via,
    target: Target,
    exe: &[u8],
    envp: Argv,
    call: impl Fn(Argv) -> c_int,
) -> c_int {
    let saved = errno();
    let mut out = [MaybeUninit::uninit(); N];
    let inject = merged(s, &mut plan, env, &mut out);
    // SAFETY: getpid and getppid cannot fail; in an exec hook we are the child.
    let ids = unsafe { (libc::getpid(), libc::getppid()) };
    // The probe check only decides whether to log: skip its system call when nothing is logged.
    let logged = !matches!(s.log, LogTarget::Off) && target.runnable();
    if logged {
        log_event(s, event_name(s), ids, via, exe, &plan, None);
    }
    set_errno(saved);
    if !inject {
        return call(envp);
    }
    let rc = call(out.as_ptr().cast());
    // Only a failed exec returns.
    let mut err = errno();
    if err == libc::E2BIG {
        warn(s, b"E2BIG with the block added; exec without it");
        set_errno(saved);
        let rc = call(envp);
        err = errno();
        set_errno(err);
        return rc;
    }
    if logged {
        log_event(s, b"exec-failed", ids, via, exe, &plan, Some(err));
    }
    set_errno(err);
    rc
}

/// The `posix_spawn` hooks' common body: `call` runs the real function with the pid slot and
/// the envp to use; it returns an error number, not -1. `actions` are the call's file actions.
///
/// # Safety
/// The arguments as `posix_spawn(3)` takes them.
pub unsafe fn spawn(
    via: Via,
    pid_out: *mut libc::pid_t,
    exe: &[u8],
    actions: *const libc::posix_spawn_file_actions_t,
    argv: Argv,
    envp: Argv,
    call: impl Fn(*mut libc::pid_t, Argv) -> c_int,
) -> c_int {
    // SAFETY: the caller's promise, for the file actions as for the rest.
    let stdio = || unsafe { crate::stdio::of_spawn(actions) };
    // SAFETY: the caller's promise.
    let Some(child) = (unsafe { select(exe, argv, envp, stdio) }) else {
        return call(pid_out, envp);
    };
    if fits_small(child.env, &child.plan) {
        spawn_selected::<SMALL_ENVP>(child, via, pid_out, exe, envp, call)
    } else {
        spawn_selected::<MAX_ENVP>(child, via, pid_out, exe, envp, call)
    }
}

/// `spawn` for a selected child, with room for `N` envp entries (never inlined, as above).
#[inline(never)]
fn spawn_selected<const N: usize>(
    Selected { s, mut plan, env }: Selected<'_>,
    via: Via,
    pid_out: *mut libc::pid_t,
    exe: &[u8],
    envp: Argv,
    call: impl Fn(*mut libc::pid_t, Argv) -> c_int,
) -> c_int {
    let saved = errno();
    let mut out = [MaybeUninit::uninit(); N];
    let inject = merged(s, &mut plan, env, &mut out);
    // The caller may pass a NULL pid slot; we need the pid for the log either way.
    let mut pid: libc::pid_t = 0;
    set_errno(saved);
    let mut rc = call(&mut pid, if inject { out.as_ptr().cast() } else { envp });
    if rc == libc::E2BIG && inject {
        warn(s, b"E2BIG with the block added; spawned without it");
        plan.inject = 0;
        set_errno(saved);
        rc = call(&mut pid, envp);
    }
    // What the real call left in errno (glibc's posix_spawn may set it) is what the caller sees.
    let after = errno();
    // SAFETY: getpid cannot fail; the spawned child's parent is this process.
    let me = unsafe { libc::getpid() };
    if rc == 0 {
        if !pid_out.is_null() {
            // SAFETY: a non-NULL pid slot is writable, as posix_spawn requires.
            unsafe { *pid_out = pid };
        }
        log_event(s, event_name(s), (pid, me), via, exe, &plan, None);
    } else {
        log_event(s, b"exec-failed", (0, me), via, exe, &plan, Some(rc));
    }
    set_errno(after);
    rc
}
