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
use core::sync::atomic::{AtomicPtr, Ordering};
use mcp_env_shim_core::block::BUILTIN;
use mcp_env_shim_core::config;
use mcp_env_shim_core::envp::KeyTable;
use mcp_env_shim_core::session::{Env, Fs, LogTarget, Process, Session};

/// What the hooks read: the session and what the process was at load.
pub struct Edge {
    pub session: Session,
    pub stderr: Option<Stderr>,
    /// The process that ran the constructor: its children reach its stderr by /proc, and an
    /// exec elsewhere may be in a vfork child sharing its memory.
    pub owner: c_int,
}

static EDGE: AtomicPtr<Edge> = AtomicPtr::new(core::ptr::null_mut());

/// The prepared edge, or `None` before the constructor has run.
pub fn edge() -> Option<&'static Edge> {
    // SAFETY: the pointer is either NULL or a leaked Box published once with Release.
    unsafe { EDGE.load(Ordering::Acquire).as_ref() }
}

extern "C" {
    static mut environ: Argv;
}

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn(c_int, Argv, Argv) = init;

/// glibc calls each initialiser with `(argc, argv, envp)`.
extern "C" fn init(argc: c_int, argv: Argv, _envp: Argv) {
    crate::real::resolve_all();
    let secure = at_secure();
    let process = Process {
        secure,
        privileged: secure || crate::sys::geteuid() == 0,
    };
    // SAFETY: libc's constructor has run (libc is this library's dependency): environ is the
    // environment main will see. Nothing else runs in the process during constructors.
    let current = unsafe { environ };
    let mut env = HostEnv::new(current);
    if crate::heal::at_start(argc, argv, &env, process) {
        // SAFETY: as above; heal replaced it.
        env = HostEnv::new(unsafe { environ });
    }
    let session = Session::prepare(&env, process, &HostFs);
    let journal = (!secure).then(|| env.journal_stream()).flatten();
    let stderr = match session.log {
        LogTarget::Stderr => Stderr::capture(journal),
        _ => None,
    };
    let edge = Edge {
        session,
        stderr,
        owner: crate::sys::getpid(),
    };
    EDGE.store(Box::into_raw(Box::new(edge)), Ordering::Release);
}

/// Secure-execution mode (`AT_SECURE`), without a libc symbol: the auxiliary vector from
/// `prctl(PR_GET_AUXV)` (Linux 6.4), else `/proc/self/auxv`, else the classic test (real and
/// effective ids differ). Not read past the environment on the stack: in secure mode the
/// loader removes variables from that array in place, and what follows its NULL is no longer
/// the auxiliary vector.
fn at_secure() -> bool {
    let mut aux = [0usize; 128];
    let n = crate::sys::auxv(&mut aux).unwrap_or(0);
    let pairs = aux.get(..n.min(aux.len())).unwrap_or_default();
    let mut it = pairs.chunks_exact(2);
    match it.find(|p| p.first() == Some(&(libc::AT_SECURE as usize)) || p.first() == Some(&0)) {
        Some([t, v]) if *t == libc::AT_SECURE as usize => *v != 0,
        _ if n > 0 => false,
        _ => crate::sys::ids_differ(),
    }
}

/// An environment array, read in place: no lock, no copy. One pass finds the shim's own
/// variables and the built-in block's keys (most entries are turned away by their first byte);
/// a config's extra keys cost one more pass.
pub struct HostEnv {
    envp: Argv,
    own: [Option<&'static [u8]>; OWN.len()],
    block: [Option<*const c_char>; BUILTIN.len()],
}

/// The variables the session asks for one by one.
const OWN: [&str; 6] = [
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

impl HostEnv {
    pub fn new(envp: Argv) -> HostEnv {
        let mut own = [None; OWN.len()];
        let mut block = [None; BUILTIN.len()];
        each_env(envp, |key, v| {
            if let Some(i) = BUILTIN_TABLE.find(BUILTIN, key) {
                // The first occurrence wins, as getenv's does.
                if let Some(slot @ None) = block.get_mut(i) {
                    *slot = Some(v);
                }
            } else if matches!(key.first(), Some(b'M' | b'O' | b'J')) {
                if let Some(i) = OWN.iter().position(|n| n.as_bytes() == key) {
                    if let Some(slot @ None) = own.get_mut(i) {
                        *slot = Some(value(v));
                    }
                }
            }
        });
        HostEnv { envp, own, block }
    }

    pub fn envp(&self) -> Argv {
        self.envp
    }

    /// `JOURNAL_STREAM=dev:ino`, set by systemd when stderr is the journal.
    pub fn journal_stream(&self) -> Option<(u64, u64)> {
        let v = core::str::from_utf8(self.own.get(5).copied().flatten()?).ok()?;
        let (dev, ino) = v.split_once(':')?;
        Some((dev.parse().ok()?, ino.parse().ok()?))
    }
}

/// The built-in block's key table, computed at compile time.
static BUILTIN_TABLE: KeyTable = KeyTable::builtin();

impl Env for HostEnv {
    fn var(&self, name: &str) -> Option<String> {
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
        value.map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The block's keys from the first pass; a config's extra keys from one more. Values
    /// borrowed (the session copies what it keeps).
    fn vars(&self, names: &[&str]) -> Vec<Option<Cow<'_, [u8]>>> {
        let mut out: Vec<Option<Cow<'_, [u8]>>> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                // The session names the built-in keys first, in order: the same strings.
                BUILTIN.get(i).filter(|k| core::ptr::eq(k.name, *n))?;
                let found = self.block.get(i).copied().flatten();
                found.map(|v| Cow::Borrowed(value(v)))
            })
            .collect();
        let extra = names.get(BUILTIN.len()..).unwrap_or_default();
        if !extra.is_empty() {
            let table = KeyTable::new(extra);
            each_env(self.envp, |key, v| {
                let slot = table
                    .find(extra, key)
                    .and_then(|i| out.get_mut(BUILTIN.len() + i));
                if let Some(slot @ None) = slot {
                    *slot = Some(Cow::Borrowed(value(v)));
                }
            });
        }
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

/// Reads a config file to the end, refusing what `config::check_config_file` refuses; one
/// byte past the limit tells a file that grew since `fstat` from one that fits.
fn read_all(fd: c_int) -> Result<Vec<u8>, String> {
    let st = crate::sys::fstat(fd).ok_or_else(|| config::os_error(libc::EBADF))?;
    let size = u64::try_from(st.st_size).unwrap_or(u64::MAX);
    config::check_config_file(st.st_mode & libc::S_IFMT == libc::S_IFREG, size)?;
    let mut data: Vec<u8> = Vec::with_capacity(size as usize + 1);
    loop {
        if data.len() > config::MAX_CONFIG_BYTES {
            return Err(config::TOO_LARGE.to_string());
        }
        if data.len() == data.capacity() {
            data.reserve(4096);
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
    #[link_name = "execl"]
    fn execl_c(path: *const c_char, arg: *const c_char, ...) -> c_int;
    #[link_name = "execlp"]
    fn execlp_c(path: *const c_char, arg: *const c_char, ...) -> c_int;
    #[link_name = "execle"]
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
