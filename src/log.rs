//! Writes a log line with one `write(2)`. A file is opened at each write (`O_APPEND`,
//! `O_CLOEXEC`) and closed: a descriptor kept from load time may since have been closed and
//! reused by the host for a socket or an MCP stdio pipe. Stderr is written only when it is not
//! the same pipe, socket or file as stdout, which may be an MCP stdio stream.

use mcp_env_shim_core::session::LogTarget;

pub fn write_line(target: &LogTarget, line: &[u8]) {
    match target {
        LogTarget::Off => {}
        LogTarget::Stderr => {
            if stderr_is_safe() {
                write_once(2, line);
            }
        }
        LogTarget::File(path) => {
            // O_NONBLOCK: a FIFO without a reader must not hang the spawn (open then fails).
            let flags = libc::O_WRONLY
                | libc::O_APPEND
                | libc::O_CREAT
                | libc::O_CLOEXEC
                | libc::O_NOCTTY
                | libc::O_NONBLOCK;
            // SAFETY: a NUL-terminated path; the mode is the third argument O_CREAT needs.
            let fd = unsafe { libc::open(path.as_ptr(), flags, 0o644 as libc::c_uint) };
            if fd >= 0 {
                write_once(fd, line);
                // SAFETY: we opened `fd` just above and nobody else knows it.
                unsafe { libc::close(fd) };
            }
        }
    }
}

fn write_once(fd: libc::c_int, line: &[u8]) {
    for _ in 0..2 {
        // SAFETY: `line` is valid for `line.len()` bytes.
        let n = unsafe { libc::write(fd, line.as_ptr().cast(), line.len()) };
        if n >= 0 || crate::spawn::errno() != libc::EINTR {
            return;
        }
    }
}

/// Stderr is open, and is a terminal (or other character device) or not the same open
/// file as stdout.
fn stderr_is_safe() -> bool {
    // SAFETY: fstat writes into the zeroed structs we own.
    let (mut err, mut out): (libc::stat, libc::stat) = unsafe { core::mem::zeroed() };
    if unsafe { libc::fstat(2, &mut err) } != 0 {
        return false;
    }
    if err.st_mode & libc::S_IFMT == libc::S_IFCHR {
        return true;
    }
    // SAFETY: as above.
    if unsafe { libc::fstat(1, &mut out) } != 0 {
        return true;
    }
    !(err.st_dev == out.st_dev && err.st_ino == out.st_ino)
}

/// The wall clock as (seconds, milliseconds) since the epoch.
pub fn now() -> (i64, u32) {
    // SAFETY: clock_gettime writes into the zeroed timespec we own; it is async-signal-safe.
    let mut ts: libc::timespec = unsafe { core::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec, (ts.tv_nsec / 1_000_000) as u32)
}
