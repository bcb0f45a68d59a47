//! Reading `/proc/PID/...` files at load (a healing server reads its parent's): into memory
//! asked for without aborting (`try_reserve`), at most the bytes a caller allows.

use alloc::vec::Vec;
use core::ffi::c_int;

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
