//! What the child's stdin and stdout are, for `core::stdio`: `fstat` of fd 0 and 1 in an exec
//! hook (the hook runs in the child, after the parent's `dup2`s); in a `posix_spawn` hook, the
//! call's file actions replayed over `fstat` of the parent's descriptors. Async-signal-safe:
//! system calls only, no allocation, no lock, no stdio.

use core::ffi::{c_char, c_int};
use libc::posix_spawn_file_actions_t;
use mcp_env_shim_core::stdio::{after_actions, FdKind, FileAction, Stdio};

/// A descriptor of this process (raw system calls: errno is untouched).
fn fd_kind(fd: c_int) -> FdKind {
    if fd < 0 {
        return FdKind::Closed;
    }
    match crate::sys::fstat_result(fd) {
        Ok(st) => FdKind::from_stat(st.st_mode, st.st_rdev),
        Err(libc::EBADF) => FdKind::Closed,
        Err(_) => FdKind::Unknown,
    }
}

/// Stdin and stdout of the process an exec hook runs in, which is the child. Never inlined,
/// as `of_spawn`: its frame is gone before the selected child's work begins.
#[inline(never)]
pub fn of_self() -> Stdio {
    Stdio {
        stdin: fd_kind(0),
        stdout: fd_kind(1),
    }
}

/// Stdin and stdout of the child a `posix_spawn` call with these file actions starts.
///
/// # Safety
/// `actions` is NULL or points to file actions initialised by `posix_spawn_file_actions_init`,
/// as `posix_spawn(3)` requires.
#[inline(never)]
pub unsafe fn of_spawn(actions: *const posix_spawn_file_actions_t) -> Stdio {
    // SAFETY: the caller's promise.
    match unsafe { glibc::actions(actions) } {
        Some(list) => after_actions(list.iter().map(|a| unsafe { glibc::decode(a) }), fd_kind),
        None => Stdio::UNKNOWN,
    }
}

/// What a path opened by a file action is (`stat`); a path that cannot be stat'ed is taken for
/// a file it creates.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
unsafe fn path_kind(path: *const c_char) -> FdKind {
    if path.is_null() {
        return FdKind::Unknown;
    }
    // SAFETY: a NUL-terminated path.
    match unsafe { crate::sys::stat(path) } {
        Some(st) => FdKind::from_stat(st.st_mode, st.st_rdev),
        None => FdKind::File,
    }
}

/// glibc's representation of `posix_spawn_file_actions_t` (sysdeps/posix/spawn_int.h):
/// an array of `struct __spawn_action`, `__used` of `__allocated` entries in use. It is no
/// public interface, so everything read is checked, and anything odd reads as `Unknown`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use super::*;

    /// `posix_spawn_file_actions_t` as glibc lays it out.
    #[repr(C)]
    struct Actions {
        allocated: c_int,
        used: c_int,
        actions: *const SpawnAction,
        pad: [c_int; 16],
    }

    const _: () = assert!(
        core::mem::size_of::<Actions>() == core::mem::size_of::<posix_spawn_file_actions_t>()
    );

    /// `struct __spawn_action`: a tag, then a union of the actions' arguments.
    #[repr(C)]
    pub struct SpawnAction {
        tag: c_int,
        action: Args,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct FdArgs {
        fd: c_int,
        newfd: c_int,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct OpenArgs {
        fd: c_int,
        path: *const c_char,
        oflag: c_int,
        mode: libc::mode_t,
    }

    #[repr(C)]
    union Args {
        /// close (`fd`), dup2 (`fd`, `newfd`), fchdir, closefrom, tcsetpgrp (`fd`).
        fd: FdArgs,
        open: OpenArgs,
        /// chdir: a path.
        path: *const c_char,
    }

    const CLOSE: c_int = 0;
    const DUP2: c_int = 1;
    const OPEN: c_int = 2;
    const CHDIR: c_int = 3;
    const FCHDIR: c_int = 4;
    const CLOSEFROM: c_int = 5;
    const TCSETPGRP: c_int = 6;

    /// More actions than any spawn sets up are not read: the work per spawn stays bounded.
    const MAX_ACTIONS: c_int = 256;

    /// The actions in use, if the structure looks as glibc leaves it; `Some(&[])` for NULL.
    ///
    /// # Safety
    /// As `of_spawn`.
    pub unsafe fn actions<'a>(fa: *const posix_spawn_file_actions_t) -> Option<&'a [SpawnAction]> {
        if fa.is_null() {
            return Some(&[]);
        }
        // glibc reads the actions only in the child: a bad pointer must not crash the caller
        // here first.
        let mut probe = crate::probe::Probe::new();
        if !fa.is_aligned() || !probe.range(fa as usize, core::mem::size_of::<Actions>()) {
            return None;
        }
        // SAFETY: readable (just checked) and, by the caller's promise, an initialised
        // posix_spawn_file_actions_t, whose layout glibc defines as `Actions` (same size).
        let fa = unsafe { &*fa.cast::<Actions>() };
        let ok = 0 <= fa.used
            && fa.used <= fa.allocated
            && fa.used <= MAX_ACTIONS
            && (fa.used == 0 || (!fa.actions.is_null() && fa.actions.is_aligned()));
        if !ok {
            return None;
        }
        if fa.used == 0 {
            return Some(&[]);
        }
        let bytes = fa.used as usize * core::mem::size_of::<SpawnAction>();
        if !probe.range(fa.actions as usize, bytes) {
            return None;
        }
        // SAFETY: glibc keeps `used` initialised entries at `actions` (checked: not NULL,
        // aligned, `used` within `allocated` and small).
        Some(unsafe { core::slice::from_raw_parts(fa.actions, fa.used as usize) })
    }

    /// One action, read by its tag; an unknown tag is `FileAction::Unknown`.
    ///
    /// # Safety
    /// `a` is an entry glibc wrote (from `actions`).
    pub unsafe fn decode(a: &SpawnAction) -> FileAction {
        // SAFETY: each union field is read only for the tags glibc writes it for.
        unsafe {
            match a.tag {
                CLOSE => FileAction::Close(a.action.fd.fd),
                DUP2 => FileAction::Dup2 {
                    from: a.action.fd.fd,
                    to: a.action.fd.newfd,
                },
                OPEN => FileAction::Open {
                    fd: a.action.open.fd,
                    kind: path_kind(a.action.open.path),
                },
                CLOSEFROM => FileAction::CloseFrom(a.action.fd.fd),
                CHDIR | FCHDIR | TCSETPGRP => FileAction::Other,
                _ => FileAction::Unknown,
            }
        }
    }
}

/// Another libc: its file actions are not read.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod glibc {
    use super::*;

    pub enum SpawnAction {}

    pub unsafe fn actions<'a>(_: *const posix_spawn_file_actions_t) -> Option<&'a [SpawnAction]> {
        None
    }

    pub unsafe fn decode(a: &SpawnAction) -> FileAction {
        match *a {}
    }
}
