//! The constructor: resolve the real functions, prepare the session from the host's own
//! environment and config, report warnings once, publish. It runs at load in every process
//! (under `/etc/ld.so.preload` even in root-run helpers), so it is small, never panics on bad
//! input, and never fails loudly: a bad config is one warning line.

use core::sync::atomic::{AtomicPtr, Ordering};
use mcp_env_shim_core::host::HostFs;
use mcp_env_shim_core::session::Session;
use std::ffi::CStr;

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
    let s = Session::prepare(&host_var, secure, &HostFs);
    for w in &s.warnings {
        crate::spawn::warn(&s, w.as_bytes());
    }
    SESSION.store(Box::into_raw(Box::new(s)), Ordering::Release);
}

/// The host's own variable, read once here (libc's getenv: no lock, no copy of the whole
/// environment; the name is NUL-terminated on the stack).
fn host_var(name: &str) -> Option<String> {
    let mut buf = [0u8; 128];
    let dst = buf.get_mut(..name.len())?;
    dst.copy_from_slice(name.as_bytes());
    if name.len() >= buf.len() || name.as_bytes().contains(&0) {
        return None;
    }
    // SAFETY: `buf` holds the name and a NUL after it; the result is NULL or a string in
    // environ.
    let p = unsafe { libc::getenv(buf.as_ptr().cast()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: getenv returned a NUL-terminated string.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
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
