//! The exported entry points that start a program. Each is a few lines that hand over to
//! `spawn`. glibc calls its internal `__execve` from inside `execvp`, `posix_spawn` and the
//! rest, so a hook on `execve` alone would catch none of them: every one is interposed.
//!
//! The hooks are written by hand rather than with `redhook`: its `hook!` resolves the real
//! function with `dlsym` lazily behind a `Once` on the first call, which is neither
//! async-signal-safe nor safe in a `vfork` child, and it cannot express the variadic
//! `execl*` (those are in `execl.c`, which calls `__mcp_env_shim_exec_list`).

use crate::real::{self, Argv};
use crate::spawn::{exec, spawn, Exe, Target, Via};
use core::ffi::{c_char, c_int};
use libc::{pid_t, posix_spawn_file_actions_t, posix_spawnattr_t};

/// The current environment, which the forms without an envp use (libuv sets it in its child
/// before calling exec).
fn current_env() -> Argv {
    let at = crate::real::environ();
    if at.is_null() {
        return core::ptr::null();
    }
    // SAFETY: the address of the process's environ variable; reading it as libc's execv does.
    unsafe { *at }
}

/// A path as execve takes it.
fn at_cwd(path: *const c_char) -> Target {
    Target::Path(libc::AT_FDCWD, path)
}

/// What the `*p` forms take: a name with a slash is a path, any other is searched in PATH.
/// Read through the probe: a bad pointer is not touched here (the exec path refuses it).
fn searched(file: *const c_char) -> Target {
    match crate::probe::Probe::new().cstr(file) {
        Some(name) if name.contains(&b'/') => at_cwd(file),
        _ => Target::Unknown,
    }
}

/// # Safety
/// As `execve(2)`.
#[no_mangle]
pub unsafe extern "C" fn execve(path: *const c_char, argv: Argv, envp: Argv) -> c_int {
    // SAFETY: forwarded as received.
    unsafe {
        exec(
            Via::Execve,
            at_cwd(path),
            Exe::Path(path),
            argv,
            envp,
            |e| real::execve(path, argv, e),
        )
    }
}

/// # Safety
/// As `execv(3)`.
#[no_mangle]
pub unsafe extern "C" fn execv(path: *const c_char, argv: Argv) -> c_int {
    // SAFETY: forwarded as received, with the current environment.
    unsafe {
        exec(
            Via::Execv,
            at_cwd(path),
            Exe::Path(path),
            argv,
            current_env(),
            |e| real::execve(path, argv, e),
        )
    }
}

/// # Safety
/// As `execvp(3)`.
#[no_mangle]
pub unsafe extern "C" fn execvp(file: *const c_char, argv: Argv) -> c_int {
    // SAFETY: forwarded as received, with the current environment.
    unsafe {
        exec(
            Via::Execvp,
            searched(file),
            Exe::Path(file),
            argv,
            current_env(),
            |e| real::execvpe(file, argv, e),
        )
    }
}

/// # Safety
/// As `execvpe(3)`.
#[no_mangle]
pub unsafe extern "C" fn execvpe(file: *const c_char, argv: Argv, envp: Argv) -> c_int {
    // SAFETY: forwarded as received.
    unsafe {
        exec(
            Via::Execvpe,
            searched(file),
            Exe::Path(file),
            argv,
            envp,
            |e| real::execvpe(file, argv, e),
        )
    }
}

/// # Safety
/// As `fexecve(3)`.
#[no_mangle]
pub unsafe extern "C" fn fexecve(fd: c_int, argv: Argv, envp: Argv) -> c_int {
    let mut buf = [0u8; 256];
    let exe = Exe::Bytes(fd_path(fd, &mut buf));
    // SAFETY: forwarded as received.
    unsafe {
        exec(Via::Fexecve, Target::Unknown, exe, argv, envp, |e| {
            real::fexecve(fd, argv, e)
        })
    }
}

/// # Safety
/// As `execveat(2)`.
#[no_mangle]
pub unsafe extern "C" fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: Argv,
    envp: Argv,
    flags: c_int,
) -> c_int {
    let mut buf = [0u8; 256];
    let (exe, target) = match crate::probe::Probe::new().cstr(path) {
        Some(b"") => (Exe::Bytes(fd_path(dirfd, &mut buf)), Target::Unknown),
        _ if flags & libc::AT_EMPTY_PATH != 0 => (Exe::Path(path), Target::Unknown),
        _ => (Exe::Path(path), Target::Path(dirfd, path)),
    };
    // SAFETY: forwarded as received.
    unsafe {
        exec(Via::Execveat, target, exe, argv, envp, |e| {
            real::execveat(dirfd, path, argv, e, flags)
        })
    }
}

/// # Safety
/// As `posix_spawn(3)`.
#[cfg(not(target_arch = "x86_64"))]
#[no_mangle]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut pid_t,
    path: *const c_char,
    actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: Argv,
    envp: Argv,
) -> c_int {
    // SAFETY: forwarded as received.
    unsafe { __mcp_env_shim_posix_spawn(0, pid, path, actions, attr, argv, envp) }
}

/// # Safety
/// As `posix_spawnp(3)`.
#[cfg(not(target_arch = "x86_64"))]
#[no_mangle]
pub unsafe extern "C" fn posix_spawnp(
    pid: *mut pid_t,
    file: *const c_char,
    actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: Argv,
    envp: Argv,
) -> c_int {
    // SAFETY: forwarded as received.
    unsafe { __mcp_env_shim_posix_spawn(1, pid, file, actions, attr, argv, envp) }
}

/// `posix_spawn` and `posix_spawnp` in both of glibc's versions, called by the versioned
/// definitions of `spawn_versions.c` (x86_64, where glibc has a version for programs built
/// before 2.15): `how` bit 0 selects `posix_spawnp`, bit 1 the old version.
///
/// # Safety
/// As `posix_spawn(3)`.
#[no_mangle]
pub unsafe extern "C" fn __mcp_env_shim_posix_spawn(
    how: c_int,
    pid: *mut pid_t,
    path: *const c_char,
    actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: Argv,
    envp: Argv,
) -> c_int {
    let (search, compat) = (how & 1 != 0, how & 2 != 0);
    let via = if search {
        Via::PosixSpawnp
    } else {
        Via::PosixSpawn
    };
    // SAFETY: forwarded as received.
    unsafe {
        spawn(via, pid, Exe::Path(path), actions, argv, envp, |p, e| {
            real::posix_spawn((search, compat), p, path, actions, attr, argv, e)
        })
    }
}

/// Keeps `spawn_versions.c`'s definitions in the link: nothing calls them by name (the loader
/// finds them by their versioned names), so only their addresses are taken here.
#[cfg(target_arch = "x86_64")]
#[used]
static KEEP_SPAWN_VERSIONS: [unsafe extern "C" fn(); 4] = [
    mcp_env_shim_posix_spawn_2_15,
    mcp_env_shim_posix_spawnp_2_15,
    mcp_env_shim_posix_spawn_2_2_5,
    mcp_env_shim_posix_spawnp_2_2_5,
];

#[cfg(target_arch = "x86_64")]
extern "C" {
    fn mcp_env_shim_posix_spawn_2_15();
    fn mcp_env_shim_posix_spawnp_2_15();
    fn mcp_env_shim_posix_spawn_2_2_5();
    fn mcp_env_shim_posix_spawnp_2_2_5();
}

/// Called by the variadic `execl` (`which` 0), `execlp` (1) and `execle` (2) in `execl.c` once
/// they have built their argv on the stack; `execl` and `execlp` pass no envp (they use the
/// current environment, read here); `which` -1 reports too many arguments (E2BIG).
///
/// # Safety
/// As `execve(3)`.
#[no_mangle]
pub unsafe extern "C" fn __mcp_env_shim_exec_list(
    which: c_int,
    path: *const c_char,
    argv: Argv,
    envp: Argv,
) -> c_int {
    if which < 0 {
        crate::spawn::set_errno(libc::E2BIG);
        return -1;
    }
    let envp = if which == 2 { envp } else { current_env() };
    // SAFETY: forwarded as received.
    unsafe {
        match which {
            1 => exec(
                Via::Execlp,
                searched(path),
                Exe::Path(path),
                argv,
                envp,
                |e| real::execvpe(path, argv, e),
            ),
            2 => exec(
                Via::Execle,
                at_cwd(path),
                Exe::Path(path),
                argv,
                envp,
                |e| real::execve(path, argv, e),
            ),
            _ => exec(Via::Execl, at_cwd(path), Exe::Path(path), argv, envp, |e| {
                real::execve(path, argv, e)
            }),
        }
    }
}

/// The path behind a descriptor (`readlink /proc/self/fd/N`), for the log and for matching;
/// empty when unknown.
fn fd_path(fd: c_int, buf: &mut [u8; 256]) -> &[u8] {
    let mut link = [0u8; 32];
    let Some(p) = u32::try_from(fd)
        .ok()
        .and_then(|fd| crate::procfs::path(None, b"/fd/", Some(fd), &mut link))
    else {
        return &[];
    };
    // SAFETY: `p` is NUL-terminated and `buf` is writable for its length.
    let len = unsafe { crate::sys::readlink(p, buf.as_mut_ptr(), buf.len()) };
    if len <= 0 {
        return &[];
    }
    buf.get(..len as usize).unwrap_or(&[])
}
