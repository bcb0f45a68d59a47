//! The constructor: resolve the real functions, prepare the session from the host's own
//! environment and config, report warnings once, publish. It runs at load in every process
//! (under `/etc/ld.so.preload` even in root-run helpers), so it is small, never panics on bad
//! input, and never fails loudly: a bad config is one warning line.

use crate::spawn::c_key;
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

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = init;

extern "C" fn init() {
    crate::real::resolve_all();
    // SAFETY: getauxval has no preconditions.
    let secure = unsafe { libc::getauxval(libc::AT_SECURE) } != 0;
    let s = Session::prepare(&HostEnv, secure, &HostFs);
    for w in &s.warnings {
        crate::spawn::warn(&s, w.as_bytes());
    }
    SESSION.store(Box::into_raw(Box::new(s)), Ordering::Release);
}

/// The host's own environment, read once here, straight from `environ`: no lock, no copy of
/// the whole environment.
struct HostEnv;

extern "C" {
    static environ: *const *const libc::c_char;
}

impl Env for HostEnv {
    fn var(&self, name: &str) -> Option<String> {
        let mut buf = [0u8; 128];
        if name.len() >= buf.len() || name.as_bytes().contains(&0) {
            return None;
        }
        buf.get_mut(..name.len())?.copy_from_slice(name.as_bytes());
        // SAFETY: `buf` holds the name and a NUL after it; the result is NULL or a string in
        // environ.
        let p = unsafe { libc::getenv(buf.as_ptr().cast()) };
        // SAFETY: getenv returned NULL or a NUL-terminated string.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    /// One pass over `environ` for all the block's keys, instead of a `getenv` scan per key;
    /// the values are borrowed from `environ`, which nothing changes while the constructor
    /// runs (the session copies what it keeps).
    fn vars(&self, names: &[Box<[u8]>]) -> Vec<Option<Cow<'_, str>>> {
        let table = KeyTable::new(names);
        let mut out: Vec<Option<Cow<'_, str>>> = names.iter().map(|_| None).collect();
        // SAFETY: environ is NULL or a NULL-terminated array of NUL-terminated strings.
        let mut p = unsafe { environ };
        while !p.is_null() && !unsafe { *p }.is_null() {
            // SAFETY: as above; only a matching entry is measured whole.
            let (entry, key) = unsafe { (*p, c_key(*p)) };
            if let Some(slot) = table.find(names, key).and_then(|i| out.get_mut(i)) {
                // The first occurrence wins, as getenv's does.
                if slot.is_none() {
                    // SAFETY: as above.
                    let all = unsafe { CStr::from_ptr(entry) }.to_bytes();
                    let value = all.get(key.len() + 1..).unwrap_or_default();
                    *slot = Some(match core::str::from_utf8(value) {
                        Ok(v) => Cow::Borrowed(v),
                        Err(_) => Cow::Owned(String::from_utf8_lossy(value).into_owned()),
                    });
                }
            }
            // SAFETY: not past the terminating NULL.
            p = unsafe { p.add(1) };
        }
        out
    }
}

/// The file system through libc: `stat` and `open`/`read`, without `std`.
struct HostFs;

/// `path` NUL-terminated, for libc; `None` if it holds a NUL.
fn c_path(path: &str) -> Option<Vec<u8>> {
    if path.as_bytes().contains(&0) {
        return None;
    }
    let mut v = Vec::with_capacity(path.len() + 1);
    v.extend_from_slice(path.as_bytes());
    v.push(0);
    Some(v)
}

impl Fs for HostFs {
    fn exists(&self, path: &str) -> bool {
        let mut buf = [0u8; 1024];
        let Some(dst) = buf.get_mut(..path.len()) else {
            return false;
        };
        dst.copy_from_slice(path.as_bytes());
        if path.len() >= buf.len() || path.as_bytes().contains(&0) {
            return false;
        }
        // SAFETY: `buf` holds the path and a NUL after it; the stat buffer is ours.
        let mut st: libc::stat = unsafe { core::mem::zeroed() };
        unsafe { libc::stat(buf.as_ptr().cast(), &mut st) == 0 }
    }

    fn read(&self, path: &str) -> Result<String, String> {
        let p = c_path(path).ok_or("the path contains a NUL byte")?;
        // SAFETY: a NUL-terminated path.
        let fd = unsafe { libc::open(p.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(os_error());
        }
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        let result = loop {
            // SAFETY: `buf` is writable for its length.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            match n {
                0 => break Ok(()),
                n if n > 0 => data.extend_from_slice(buf.get(..n as usize).unwrap_or(&[])),
                _ if errno() == libc::EINTR => {}
                _ => break Err(os_error()),
            }
        };
        // SAFETY: we opened `fd` above.
        unsafe { libc::close(fd) };
        result?;
        String::from_utf8(data).map_err(|_| "the file is not UTF-8".to_string())
    }
}

fn errno() -> libc::c_int {
    // SAFETY: errno is thread-local.
    unsafe { *libc::__errno_location() }
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
