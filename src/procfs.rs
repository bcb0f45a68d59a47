//! `/proc` paths and files. A path is built in a caller's small buffer, with no allocation:
//! the exec path names descriptors through it. A file is read only at load (a healing server
//! reads its parent's), into memory asked for without aborting (`try_reserve`), at most the
//! bytes a caller allows.

use alloc::vec::Vec;
use core::ffi::{c_char, c_int};
use mcp_env_shim_core::jsonline::decimal;

/// `/proc/<pid or self><tail><number>` and a NUL, in `buf`: `/proc/1234/fd/2`,
/// `/proc/self/fd/7`. `None` if it does not fit.
pub fn path(
    pid: Option<u32>,
    tail: &[u8],
    number: Option<u32>,
    buf: &mut [u8],
) -> Option<*const c_char> {
    let mut at = 0;
    let mut put = |bytes: &[u8]| -> Option<()> {
        buf.get_mut(at..at + bytes.len())?.copy_from_slice(bytes);
        at += bytes.len();
        Some(())
    };
    put(b"/proc/")?;
    match pid {
        Some(p) => put(decimal(u64::from(p), &mut [0; 20]))?,
        None => put(b"self")?,
    }
    put(tail)?;
    if let Some(n) = number {
        put(decimal(u64::from(n), &mut [0; 20]))?;
    }
    put(b"\0")?;
    Some(buf.as_ptr().cast())
}

/// `/proc/PID/<name>`, at most `max` bytes.
pub fn read(pid: c_int, name: &str, max: usize) -> Option<Vec<u8>> {
    let path = alloc::format!("/proc/{pid}/{name}\0");
    let flags = libc::O_RDONLY | libc::O_CLOEXEC;
    // SAFETY: a NUL-terminated path.
    let fd = crate::sys::ret(unsafe {
        crate::sys::openat(libc::AT_FDCWD, path.as_ptr().cast(), flags, 0)
    })
    .ok()? as c_int;
    let mut data: Vec<u8> = Vec::new();
    loop {
        // Asked for, not demanded: a process near its memory limit reads less, never aborts.
        if data.len() == data.capacity() && data.try_reserve(8192).is_err() {
            crate::sys::close(fd);
            return None;
        }
        let room = data.spare_capacity_mut();
        // SAFETY: `room` is writable for its length.
        let n = unsafe { crate::sys::read(fd, room.as_mut_ptr().cast(), room.len()) };
        match crate::sys::ret(n) {
            // SAFETY: read wrote `n` bytes into the spare capacity.
            Ok(n) if n > 0 && data.len() < max => unsafe { data.set_len(data.len() + n) },
            Err(libc::EINTR) => {}
            _ => break,
        }
    }
    crate::sys::close(fd);
    Some(data)
}
