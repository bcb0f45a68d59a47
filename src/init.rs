//! The constructor: resolve the real functions, prepare the session from the host's own
//! environment and config, report warnings once, publish. It runs at load in every process
//! (under `/etc/ld.so.preload` even in root-run helpers), so it is small, never panics on bad
//! input, and never fails loudly: a bad config is one warning line.
//!
//! It runs first, before any other library's constructor (`-z initfirst`): nothing can start a
//! program through a hook before it has prepared everything. libc's own constructor, which
//! sets `environ`, has not run then, so the environment is the one the loader passes to every
//! initialiser.

use crate::spawn::{c_key, errno};
use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::ffi::CStr;
use core::sync::atomic::{AtomicPtr, Ordering};
use mcp_env_shim_core::envp::KeyTable;
use mcp_env_shim_core::session::{Env, Fs, Session};

static SESSION: AtomicPtr<Session> = AtomicPtr::new(core::ptr::null_mut());

/// The prepared session, or `None` before the constructor has run.
pub fn session() -> Option<&'static Session> {
    // SAFETY: the pointer is either NULL or a leaked Box published once with Release.
    unsafe { SESSION.load(Ordering::Acquire).as_ref() }
}

type Envp = *const *const libc::c_char;

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn(libc::c_int, Envp, Envp) = init;

/// glibc calls each initialiser with `(argc, argv, envp)`.
extern "C" fn init(_argc: libc::c_int, _argv: Envp, envp: Envp) {
    crate::real::resolve_all();
    // SAFETY: getauxval has no preconditions.
    let secure = unsafe { libc::getauxval(libc::AT_SECURE) } != 0;
    let s = Session::prepare(&HostEnv::new(envp), secure, &HostFs);
    for w in &s.warnings {
        crate::spawn::warn(&s, w.as_bytes());
    }
    SESSION.store(Box::into_raw(Box::new(s)), Ordering::Release);
}

/// The host's own environment, read straight from the loader's `envp`: no lock, no copy of
/// the whole environment, one pass for the shim's own variables and one for the block's keys.
struct HostEnv {
    envp: Envp,
    own: [Option<&'static str>; OWN.len()],
}

/// The variables the session asks for one by one.
const OWN: [&str; 5] = [
    "MCP_ENV_SHIM",
    "MCP_ENV_SHIM_CONFIG",
    "MCP_ENV_SHIM_LOG",
    "OPENSHELL_SANDBOX",
    "OPENSHELL_PROXY_TLS_DIR",
];

/// Calls `f(key, entry)` for each `KEY=value` entry of `envp`, measuring only the key.
fn each_env(envp: Envp, mut f: impl FnMut(&[u8], *const libc::c_char)) {
    // SAFETY: envp is NULL or a NULL-terminated array of NUL-terminated strings, which nothing
    // changes while the constructor runs.
    let mut p = envp;
    while !p.is_null() && !unsafe { *p }.is_null() {
        // SAFETY: as above.
        let entry = unsafe { *p };
        // SAFETY: as above.
        if let Some(key) = unsafe { c_key(entry) } {
            f(key, entry);
        }
        // SAFETY: not past the terminating NULL.
        p = unsafe { p.add(1) };
    }
}

/// The value of an entry whose key is `key_len` bytes long, borrowed from `envp`.
fn value_of(entry: *const libc::c_char, key_len: usize) -> Cow<'static, str> {
    // SAFETY: `entry` is a NUL-terminated string in envp.
    let all = unsafe { CStr::from_ptr(entry) }.to_bytes();
    let value = all.get(key_len + 1..).unwrap_or_default();
    match core::str::from_utf8(value) {
        Ok(v) => Cow::Borrowed(v),
        Err(_) => Cow::Owned(String::from_utf8_lossy(value).into_owned()),
    }
}

impl HostEnv {
    fn new(envp: Envp) -> HostEnv {
        let mut own = [None; OWN.len()];
        each_env(envp, |key, entry| {
            // Most keys are turned away by their first byte.
            if !matches!(key.first(), Some(b'M' | b'O')) {
                return;
            }
            if let Some(i) = OWN.iter().position(|n| n.as_bytes() == key) {
                if let (Some(slot @ None), Cow::Borrowed(v)) =
                    (own.get_mut(i), value_of(entry, key.len()))
                {
                    *slot = Some(v);
                }
            }
        });
        HostEnv { envp, own }
    }
}

impl Env for HostEnv {
    fn var(&self, name: &str) -> Option<String> {
        if let Some(i) = OWN.iter().position(|n| *n == name) {
            return self.own.get(i).copied().flatten().map(String::from);
        }
        // A name outside `OWN` (none today): one more pass.
        let mut found = None;
        each_env(self.envp, |key, entry| {
            if found.is_none() && key == name.as_bytes() {
                found = Some(value_of(entry, key.len()).into_owned());
            }
        });
        found
    }

    /// One pass over `envp` for all the block's keys, instead of a `getenv` scan per key;
    /// the values are borrowed from `envp`, which nothing changes while the constructor
    /// runs (the session copies what it keeps).
    fn vars(&self, names: &[Box<[u8]>]) -> Vec<Option<Cow<'_, str>>> {
        let table = KeyTable::new(names);
        let mut out: Vec<Option<Cow<'_, str>>> = names.iter().map(|_| None).collect();
        each_env(self.envp, |key, entry| {
            if let Some(slot) = table.find(names, key).and_then(|i| out.get_mut(i)) {
                // The first occurrence wins, as getenv's does.
                if slot.is_none() {
                    *slot = Some(value_of(entry, key.len()));
                }
            }
        });
        out
    }
}

/// The file system through libc: `stat` and `open`/`read`, without `std`.
struct HostFs;

/// Calls `f` with `path` (or a name) NUL-terminated on the stack; `None` if it is too long or
/// holds a NUL.
fn with_c_path<T>(path: &str, f: impl FnOnce(*const libc::c_char) -> T) -> Option<T> {
    let mut buf = [0u8; 1024];
    if path.len() >= buf.len() || path.as_bytes().contains(&0) {
        return None;
    }
    buf.get_mut(..path.len())?.copy_from_slice(path.as_bytes());
    Some(f(buf.as_ptr().cast()))
}

impl Fs for HostFs {
    fn exists(&self, path: &str) -> bool {
        // SAFETY: a zeroed stat buffer we own.
        let mut st: libc::stat = unsafe { core::mem::zeroed() };
        // SAFETY: a NUL-terminated path.
        with_c_path(path, |p| unsafe { libc::stat(p, &mut st) } == 0).unwrap_or(false)
    }

    fn read(&self, path: &str) -> Result<String, String> {
        // O_NONBLOCK: opening a FIFO must not hang every process at load; it is refused below.
        let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK;
        // SAFETY: a NUL-terminated path.
        let fd = with_c_path(path, |p| unsafe { libc::open(p, flags) })
            .ok_or("the path is too long or contains a NUL byte")?;
        if fd < 0 {
            return Err(os_error());
        }
        let result = read_all(fd);
        // SAFETY: we opened `fd` above.
        unsafe { libc::close(fd) };
        String::from_utf8(result?).map_err(|_| "the file is not UTF-8".to_string())
    }
}

/// The largest config read; a config is a few hundred bytes.
const MAX_CONFIG: usize = 1 << 20;

/// Reads a regular file of at most `MAX_CONFIG` bytes to the end, into a buffer sized from
/// `fstat` (a config is read in one call). A device, FIFO or huge file is refused: it could
/// hang or exhaust every process at load.
fn read_all(fd: libc::c_int) -> Result<Vec<u8>, String> {
    // SAFETY: a zeroed stat buffer we own.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `fd` is open.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(os_error());
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err("not a regular file".to_string());
    }
    let too_large = || alloc::format!("larger than {MAX_CONFIG} bytes");
    let size = st.st_size.max(0) as usize;
    if size > MAX_CONFIG {
        return Err(too_large());
    }
    let mut data: Vec<u8> = Vec::with_capacity(size + 1);
    loop {
        if data.len() > MAX_CONFIG {
            return Err(too_large());
        }
        if data.len() == data.capacity() {
            data.reserve(4096);
        }
        let room = data.spare_capacity_mut();
        // SAFETY: `room` is writable for its length.
        let n = unsafe { libc::read(fd, room.as_mut_ptr().cast(), room.len()) };
        match n {
            0 => return Ok(data),
            // SAFETY: read wrote `n` bytes into the spare capacity.
            n if n > 0 => unsafe { data.set_len(data.len() + n as usize) },
            _ if errno() == libc::EINTR => {}
            _ => return Err(os_error()),
        }
    }
}

/// The current errno as text, e.g. "No such file or directory (os error 2)".
fn os_error() -> String {
    let e = errno();
    // SAFETY: strerror returns a NUL-terminated string; the constructor runs before any thread
    // the host starts, so its static buffer is not shared.
    let msg = unsafe { CStr::from_ptr(libc::strerror(e)) }.to_string_lossy();
    alloc::format!("{msg} (os error {e})")
}

/// Keeps the variadic hooks of `execl.c` in the link: nothing in Rust calls them.
#[used]
static KEEP_EXECL: [unsafe extern "C" fn(
    *const libc::c_char,
    *const libc::c_char,
    ...
) -> libc::c_int; 3] = [execl_c, execlp_c, execle_c];

extern "C" {
    #[link_name = "execl"]
    fn execl_c(path: *const libc::c_char, arg: *const libc::c_char, ...) -> libc::c_int;
    #[link_name = "execlp"]
    fn execlp_c(path: *const libc::c_char, arg: *const libc::c_char, ...) -> libc::c_int;
    #[link_name = "execle"]
    fn execle_c(path: *const libc::c_char, arg: *const libc::c_char, ...) -> libc::c_int;
}
