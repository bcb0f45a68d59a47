//! The constructor. Under `/etc/ld.so.preload` it runs in every process of the sandbox, root
//! helpers included, so it does little and never fails loudly: resolve the real functions,
//! let a server heal its own environment (`heal`, only for a process that looks like one),
//! prepare the session from the environment (one pass) and the config (only if one exists),
//! note what stderr is, and publish. Warnings are not written here: they go to the log with the
//! first line the process writes, so that `ls` and `cat` print nothing.
//!
//! It runs after libc's own constructor, so `environ` is the environment `main` will see, and a
//! server healing itself replaces it for good. A program started from another library's
//! constructor before this one runs is passed through untouched (the hooks find no session).

use crate::log::Stderr;
use crate::real::Argv;
use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ffi::{c_char, c_int};
use core::mem::MaybeUninit;
use core::sync::atomic::Ordering;
use mcp_env_shim_core::config;
use mcp_env_shim_core::session::{Env, Fs, LogTarget, Process, Session};

/// What the hooks read: the session and what the process was at load.
pub struct Edge {
    pub session: Session,
    /// The environment the process had when the library loaded (a copy of the array): where
    /// the host's block values are read from, the first time a child needs them (`host`).
    pub envp: &'static [*const c_char],
    pub stderr: Option<Stderr>,
    /// The process that ran the constructor: its children reach its stderr by /proc, and an
    /// exec elsewhere may be in a vfork child sharing its memory.
    pub owner: c_int,
}

/// The prepared edge, or `None` before the constructor has run.
pub fn edge() -> Option<&'static Edge> {
    // SAFETY: the pointer is either NULL or a leaked Box published once with Release.
    unsafe {
        crate::rt::root(crate::rt::EDGE)
            .load(Ordering::Acquire)
            .cast::<Edge>()
            .as_ref()
    }
}

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn(c_int, Argv, Argv) = init;

/// glibc calls each initialiser with `(argc, argv, envp)`.
extern "C" fn init(argc: c_int, argv: Argv, envp: Argv) {
    // Every allocation below must succeed (a failed one would abort the host): the memory is
    // set aside first, where the static arena may not do (a large environment: its copy takes
    // 8 bytes a variable, a healing server's list of its keys 16 and its new array 8), and a
    // process that cannot have it is left alone entirely; it stays set aside (`keep_spare`)
    // when work of bounded size takes a region of its own (the config's read, with its own
    // budget on top; a healing server's parent environment, asked for without aborting).
    // `envp`, not `environ`: the loader's argument is the same array, and reading `environ`
    // before `resolve_all` would make it a `dlsym`.
    crate::rt::keep_spare(LOAD_BYTES + 32 * count(envp));
    if !crate::rt::room_for(0) {
        return;
    }
    let mut buf = [MaybeUninit::uninit(); 128];
    let aux = auxv(argc, argv, envp, &mut buf);
    crate::real::resolve_all(aux);
    let secure = at_secure(aux);
    // The effective user the kernel started the program as (no system call in every process;
    // no constructor before this one changes ids).
    let euid = aux_value(aux, libc::AT_EUID).map_or_else(crate::sys::geteuid, |v| v as u32);
    let process = Process {
        secure,
        privileged: secure || euid == 0,
    };
    // SAFETY: libc's constructor has run (libc is this library's dependency): environ is the
    // environment main will see. Nothing else runs in the process during constructors.
    let mut env = OwnVars::new(crate::real::current_environ());
    // A session copies its settings a few times (a healing server prepares two): however long
    // the shim's own variables are (a log path of 30 KB), that too is set aside.
    // Counted in `environ` as it is now: another library's constructor may have grown it.
    crate::rt::keep_spare(LOAD_BYTES + 32 * env.entries() + SETTING_COPIES * env.settings_len());
    if !crate::rt::room_for(0) {
        crate::rt::trim();
        return;
    }
    if crate::heal::at_start(argc, argv, &env, process) {
        // SAFETY: as above; heal replaced it.
        env = OwnVars::new(crate::real::current_environ());
    }
    // Healing may have moved the allocator to regions of its own (its parent's environment, a
    // config): the rest of the load needs its spare again, or the process is left alone (with
    // what a reservation left untouched given back).
    if !crate::rt::room_for(0) {
        crate::rt::trim();
        return;
    }
    let session = Session::prepare(&env, process, &HostFs);
    let journal = (!secure).then(|| env.journal_stream()).flatten();
    let stderr = match session.log {
        LogTarget::Stderr => Stderr::capture(journal),
        _ => None,
    };
    let on = session.mode != mcp_env_shim_core::config::Mode::Off;
    let edge = Edge {
        session,
        envp: if on { copy_envp(env.envp()) } else { &[] },
        stderr,
        owner: crate::sys::getpid(),
    };
    let edge = Box::into_raw(Box::new(edge));
    crate::rt::root(crate::rt::EDGE).store(edge.cast(), Ordering::Release);
    crate::rt::trim();
}

/// What the constructor allocates besides what grows with the environment, with room to spare:
/// the session and the edge (about 3 KiB; a healing server prepares a session of its own too),
/// a healing server's arguments, plan and values, its executable's path (4 KiB) and its log
/// line (4 KiB). Its parent's environment and the longest values are asked for without aborting
/// (`heal::read_proc`, `heal::heal`), a config's memory by its budget. With a usual environment
/// and config it all fits the static arena: no mapping.
const LOAD_BYTES: usize = 24 << 10;

/// How many copies of a setting's value preparing sessions may make, at most: `var` or
/// `var_bytes`, a parsed path and its C string, in a healing server's session and the
/// constructor's.
pub(crate) const SETTING_COPIES: usize = 8;

/// The bytes a setting's value takes once read as text: 3 a byte when it is not UTF-8, where
/// each bad byte becomes U+FFFD (a TLS directory of 40 KB of 0xFF bytes took 10 copies' worth).
pub(crate) fn read_len(v: &[u8]) -> usize {
    if core::str::from_utf8(v).is_ok() {
        v.len()
    } else {
        3 * v.len()
    }
}

/// The entries of a NULL-terminated array (NULL: none).
fn count(envp: Argv) -> usize {
    let mut n = 0;
    // SAFETY: a NULL-terminated array of strings, unchanged during the constructor.
    while !envp.is_null() && !unsafe { *envp.add(n) }.is_null() {
        n += 1;
    }
    n
}

/// A copy of the array `envp` (the strings are not copied: only the pointers, which a later
/// `setenv`, `unsetenv` or `environ = ...` does not change).
fn copy_envp(envp: Argv) -> &'static [*const c_char] {
    let mut n = 0;
    // SAFETY: a NULL-terminated array of strings, unchanged during these passes.
    while !envp.is_null() && !unsafe { *envp.add(n) }.is_null() {
        n += 1;
    }
    let mut v: Vec<*const c_char> = Vec::with_capacity(n);
    let mut p = envp;
    // SAFETY: a NULL-terminated array of strings, unchanged during this pass.
    while !p.is_null() && !unsafe { *p }.is_null() {
        // SAFETY: as above.
        v.push(unsafe { *p });
        // SAFETY: not past the terminating NULL.
        p = unsafe { p.add(1) };
    }
    v.leak()
}

/// The auxiliary vector as (type, value) words, without a libc symbol: on the initial stack
/// after the environment when the loader's `envp` is that array, else from
/// `prctl(PR_GET_AUXV)` or `/proc/self/auxv` into `buf`. In secure mode the loader has removed
/// variables from the environment in place, shifting the rest down and leaving NULLs behind:
/// the vector starts after that run of NULLs.
pub fn auxv(argc: c_int, argv: Argv, envp: Argv, buf: &mut [MaybeUninit<usize>; 128]) -> &[usize] {
    let initial = !argv.is_null()
        && argc >= 0
        // SAFETY: argv has argc entries and a NULL.
        && unsafe { argv.add(argc as usize + 1) } == envp;
    if initial {
        // SAFETY: the initial stack: envp's entries, NULLs, then (type, value) pairs ending
        // with AT_NULL; the vector is never empty (it always has AT_PAGESZ and more).
        unsafe {
            let mut p = envp;
            while !(*p).is_null() {
                p = p.add(1);
            }
            while (*p).is_null() {
                p = p.add(1);
            }
            let start = p.cast::<usize>();
            let mut n = 0;
            while *start.add(n) != libc::AT_NULL as usize {
                n += 2;
            }
            return core::slice::from_raw_parts(start, n);
        }
    }
    let n = crate::sys::auxv(buf).unwrap_or(0).min(buf.len());
    // SAFETY: the kernel (or the file) wrote the first `n` words.
    unsafe { core::slice::from_raw_parts(buf.as_ptr().cast(), n) }
}

/// The value of `kind` in the auxiliary vector.
pub fn aux_value(aux: &[usize], kind: libc::c_ulong) -> Option<usize> {
    aux.chunks_exact(2)
        .find(|p| p.first() == Some(&(kind as usize)))
        .and_then(|p| p.get(1).copied())
}

/// Secure-execution mode (`AT_SECURE`); with no vector at all, the classic test (real and
/// effective ids differ).
fn at_secure(aux: &[usize]) -> bool {
    match aux_value(aux, libc::AT_SECURE) {
        Some(v) => v != 0,
        None if !aux.is_empty() => false,
        None => crate::sys::ids_differ(),
    }
}

/// The shim's own variables in an environment array, read in place: one pass that looks at
/// nothing but entries starting with `M`, `O` or `J` (the block's values are read later, only
/// if a child needs them: `host`).
pub struct OwnVars {
    envp: Argv,
    own: [Option<&'static [u8]>; OWN.len()],
}

/// The variables the session asks for one by one.
pub(crate) const OWN: [&str; 6] = [
    "MCP_ENV_SHIM",
    "MCP_ENV_SHIM_CONFIG",
    "MCP_ENV_SHIM_LOG",
    "OPENSHELL_SANDBOX",
    "OPENSHELL_PROXY_TLS_DIR",
    "JOURNAL_STREAM",
];

/// The key of a `KEY=value` entry and a pointer to its value, measuring only the key; `None`
/// for an entry without `=`.
fn split(entry: *const c_char) -> Option<(&'static [u8], *const c_char)> {
    let mut n = 0;
    // SAFETY: an environment entry is a NUL-terminated string that outlives the constructor;
    // the scan stops at its NUL or its first `=`.
    unsafe {
        loop {
            match *entry.add(n) as u8 {
                0 => return None,
                b'=' => {
                    return Some((
                        core::slice::from_raw_parts(entry.cast(), n),
                        entry.add(n + 1),
                    ))
                }
                _ => n += 1,
            }
        }
    }
}

/// The bytes of a value `split` pointed at.
fn value(p: *const c_char) -> &'static [u8] {
    // SAFETY: the rest of a NUL-terminated environment entry.
    unsafe { core::ffi::CStr::from_ptr(p) }.to_bytes()
}

/// Calls `f(key, value)` for each `KEY=value` entry of `envp`; the value is measured only
/// when asked for.
pub fn each_env(envp: Argv, mut f: impl FnMut(&'static [u8], *const c_char)) {
    let mut p = envp;
    // SAFETY: envp is NULL or a NULL-terminated array of strings, unchanged during this pass.
    while !p.is_null() && !unsafe { *p }.is_null() {
        // SAFETY: as above.
        if let Some((k, v)) = split(unsafe { *p }) {
            f(k, v);
        }
        // SAFETY: not past the terminating NULL.
        p = unsafe { p.add(1) };
    }
}

impl OwnVars {
    pub fn new(envp: Argv) -> OwnVars {
        let mut own = [None; OWN.len()];
        let mut p = envp;
        // SAFETY: envp is NULL or a NULL-terminated array of NUL-terminated strings, unchanged
        // during this pass; `prefix` reads an entry only up to its first mismatch or its NUL.
        while !p.is_null() && !unsafe { *p }.is_null() {
            let entry = unsafe { *p };
            if matches!(unsafe { *entry } as u8, b'M' | b'O' | b'J') {
                for (name, slot) in OWN.iter().zip(own.iter_mut()) {
                    if slot.is_none() {
                        if let Some(v) = crate::host::prefix(entry, name.as_bytes()) {
                            *slot = Some(value(v));
                        }
                    }
                }
            }
            // SAFETY: not past the terminating NULL.
            p = unsafe { p.add(1) };
        }
        OwnVars { envp, own }
    }

    pub fn envp(&self) -> Argv {
        self.envp
    }

    /// How many entries the array has.
    pub fn entries(&self) -> usize {
        count(self.envp)
    }

    /// The bytes of the shim's own variables' values, as a session reads them (`read_len`).
    pub fn settings_len(&self) -> usize {
        self.own.iter().flatten().map(|v| read_len(v)).sum()
    }

    /// `JOURNAL_STREAM=dev:ino`, set by systemd when stderr is the journal.
    pub fn journal_stream(&self) -> Option<(u64, u64)> {
        let v = core::str::from_utf8(self.own.get(5).copied().flatten()?).ok()?;
        let (dev, ino) = v.split_once(':')?;
        Some((dev.parse().ok()?, ino.parse().ok()?))
    }
}

impl Env for OwnVars {
    fn var(&self, name: &str) -> Option<String> {
        self.var_bytes(name).map(|v| {
            String::from_utf8(v)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
    }

    fn var_bytes(&self, name: &str) -> Option<Vec<u8>> {
        let value = match OWN.iter().position(|n| *n == name) {
            Some(i) => self.own.get(i).copied().flatten(),
            None => {
                let mut found = None;
                each_env(self.envp, |k, v| {
                    if found.is_none() && k == name.as_bytes() {
                        found = Some(value(v));
                    }
                });
                found
            }
        };
        value.map(<[u8]>::to_vec)
    }

    /// Values borrowed from the array (the caller copies what it keeps).
    fn vars(&self, names: &[&str]) -> Vec<Option<Cow<'_, [u8]>>> {
        let mut out: Vec<Option<Cow<'_, [u8]>>> = names.iter().map(|_| None).collect();
        each_env(self.envp, |key, v| {
            if let Some(slot) = names
                .iter()
                .position(|n| n.as_bytes() == key)
                .and_then(|i| out.get_mut(i))
            {
                if slot.is_none() {
                    *slot = Some(Cow::Borrowed(value(v)));
                }
            }
        });
        out
    }
}

/// The file system through raw system calls.
pub struct HostFs;

/// Calls `f` with `path` NUL-terminated; `None` if it holds a NUL or is longer than the
/// longest config path (the same rule the CLI follows).
fn with_c_path<T>(path: &str, f: impl FnOnce(*const c_char) -> T) -> Option<T> {
    if path.len() > config::MAX_CONFIG_PATH || path.as_bytes().contains(&0) {
        return None;
    }
    let mut buf: Vec<u8> = Vec::with_capacity(path.len() + 1);
    buf.extend_from_slice(path.as_bytes());
    buf.push(0);
    Some(f(buf.as_ptr().cast()))
}

impl Fs for HostFs {
    fn exists(&self, path: &str) -> bool {
        // SAFETY: a NUL-terminated path.
        with_c_path(path, |p| unsafe { crate::sys::stat(p) }.is_some()).unwrap_or(false)
    }

    /// Only a regular file of at most `config::MAX_CONFIG_BYTES`, UTF-8, opened non-blocking
    /// (a FIFO must not hang every process at load): the rules and texts the CLI shares.
    fn read(&self, path: &str) -> Result<String, String> {
        let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK;
        // SAFETY: a NUL-terminated path.
        let fd = with_c_path(path, |p| unsafe {
            crate::sys::openat(libc::AT_FDCWD, p, flags, 0)
        })
        .ok_or(config::BAD_PATH)?;
        let fd = crate::sys::ret(fd).map_err(config::os_error)? as c_int;
        let result = read_all(fd);
        crate::sys::close(fd);
        config::config_text(result?).map_err(String::from)
    }
}

/// Reads a config file to the end, refusing what `config::check_config_file` refuses. The
/// memory to read and parse it is set aside first (`config::parse_budget`): the static arena's
/// rest when it holds it (a usual config), else a mapping; a config too large for what the
/// process may still map is skipped with a warning, never an abort. One byte past `fstat`'s
/// size tells a file that grew since.
fn read_all(fd: c_int) -> Result<Vec<u8>, String> {
    let st = crate::sys::fstat(fd).ok_or_else(|| config::os_error(libc::EBADF))?;
    let size = u64::try_from(st.st_size).unwrap_or(u64::MAX);
    config::check_config_file(st.st_mode & libc::S_IFMT == libc::S_IFREG, size)?;
    if !crate::rt::room_for(config::parse_budget(size)) {
        return Err(config::NO_MEMORY.to_string());
    }
    let cap = size as usize + 1;
    let mut data: Vec<u8> = Vec::with_capacity(cap);
    loop {
        if data.len() == cap {
            let why = if cap > config::MAX_CONFIG_BYTES {
                config::TOO_LARGE
            } else {
                config::CHANGED
            };
            return Err(why.to_string());
        }
        let room = data.spare_capacity_mut();
        // SAFETY: `room` is writable for its length.
        let n = unsafe { crate::sys::read(fd, room.as_mut_ptr().cast(), room.len()) };
        match crate::sys::ret(n) {
            Ok(0) => return Ok(data),
            // SAFETY: read wrote `n` bytes into the spare capacity.
            Ok(n) => unsafe { data.set_len(data.len() + n) },
            Err(libc::EINTR) => {}
            Err(e) => return Err(config::os_error(e)),
        }
    }
}

/// Keeps the variadic hooks of `execl.c` in the link: nothing in Rust calls them.
#[used]
static KEEP_EXECL: [unsafe extern "C" fn(*const c_char, *const c_char, ...) -> c_int; 3] =
    [execl_c, execlp_c, execle_c];

extern "C" {
    #[link_name = "mcp_env_shim_execl"]
    fn execl_c(path: *const c_char, arg: *const c_char, ...) -> c_int;
    #[link_name = "mcp_env_shim_execlp"]
    fn execlp_c(path: *const c_char, arg: *const c_char, ...) -> c_int;
    #[link_name = "mcp_env_shim_execle"]
    fn execle_c(path: *const c_char, arg: *const c_char, ...) -> c_int;
}

/// Helper for `heal`: the exe of this process, `/proc/self/exe`.
pub fn self_exe() -> Vec<u8> {
    let mut buf = alloc::vec![0u8; 4096];
    // SAFETY: a NUL-terminated path and a writable buffer of its length.
    let n =
        unsafe { crate::sys::readlink(c"/proc/self/exe".as_ptr(), buf.as_mut_ptr(), buf.len()) };
    buf.truncate(crate::sys::ret(n).unwrap_or(0));
    buf
}
