//! Raw system calls. The library calls the kernel directly instead of libc's wrappers for two
//! reasons: a raw call never touches `errno` (the hooks must leave it as the caller set it),
//! and every libc function the library names is a symbol the loader must look up in every
//! process the library is preloaded into, which was most of its load cost. Each wrapper
//! returns the kernel's result: a value, or `-errno` (`Err` in `ret`).

use core::ffi::{c_char, c_int, c_void};

#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn raw(
    n: libc::c_long,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
    f: usize,
) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 Linux system call convention; the kernel clobbers rcx and r11 only.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, in("r8") e, in("r9") f,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn raw(
    n: libc::c_long,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
    f: usize,
) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 Linux system call convention (number in x8, result in x0).
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") n,
            inlateout("x0") a as isize => ret,
            in("x1") b, in("x2") c, in("x3") d, in("x4") e, in("x5") f,
            options(nostack),
        );
    }
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("mcp-env-shim makes its system calls directly: add this architecture to sys.rs");

/// The kernel's result as a Rust one: `Err(errno)` for -4095..-1.
pub fn ret(r: isize) -> Result<usize, c_int> {
    if (-4095..0).contains(&r) {
        Err(-r as c_int)
    } else {
        Ok(r as usize)
    }
}

macro_rules! sys {
    ($n:expr) => { raw($n, 0, 0, 0, 0, 0, 0) };
    ($n:expr, $a:expr) => { raw($n, $a as usize, 0, 0, 0, 0, 0) };
    ($n:expr, $a:expr, $b:expr) => { raw($n, $a as usize, $b as usize, 0, 0, 0, 0) };
    ($n:expr, $a:expr, $b:expr, $c:expr) => { raw($n, $a as usize, $b as usize, $c as usize, 0, 0, 0) };
    ($n:expr, $a:expr, $b:expr, $c:expr, $d:expr) => {
        raw($n, $a as usize, $b as usize, $c as usize, $d as usize, 0, 0)
    };
    ($n:expr, $a:expr, $b:expr, $c:expr, $d:expr, $e:expr, $f:expr) => {
        raw($n, $a as usize, $b as usize, $c as usize, $d as usize, $e as usize, $f as usize)
    };
}

pub fn getpid() -> c_int {
    // SAFETY: no arguments, cannot fail.
    unsafe { sys!(libc::SYS_getpid) as c_int }
}

pub fn getppid() -> c_int {
    // SAFETY: as above.
    unsafe { sys!(libc::SYS_getppid) as c_int }
}

pub fn gettid() -> c_int {
    // SAFETY: as above.
    unsafe { sys!(libc::SYS_gettid) as c_int }
}

pub fn geteuid() -> u32 {
    // SAFETY: as above.
    unsafe { sys!(libc::SYS_geteuid) as u32 }
}

/// The auxiliary vector as `usize` words (type, value pairs): their count, or `None`.
pub fn auxv(buf: &mut [core::mem::MaybeUninit<usize>]) -> Option<usize> {
    const PR_GET_AUXV: usize = 0x4155_5856;
    let bytes = core::mem::size_of_val(buf);
    // SAFETY: the kernel writes at most `bytes` into `buf`; the result is the vector's size.
    let r = unsafe {
        sys!(
            libc::SYS_prctl,
            PR_GET_AUXV,
            buf.as_mut_ptr(),
            bytes,
            0,
            0,
            0
        )
    };
    if let Ok(n) = ret(r) {
        return Some(n.min(bytes) / core::mem::size_of::<usize>());
    }
    // SAFETY: a NUL-terminated path.
    let fd = ret(unsafe {
        openat(
            libc::AT_FDCWD,
            c"/proc/self/auxv".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
            0,
        )
    })
    .ok()?;
    // SAFETY: `buf` is writable for `bytes` bytes.
    let n = ret(unsafe { read(fd as c_int, buf.as_mut_ptr().cast(), bytes) });
    close(fd as c_int);
    n.ok().map(|n| n / core::mem::size_of::<usize>())
}

/// Whether the real and effective user or group ids differ.
pub fn ids_differ() -> bool {
    // SAFETY: the id calls have no arguments and cannot fail.
    unsafe {
        sys!(libc::SYS_getuid) != sys!(libc::SYS_geteuid)
            || sys!(libc::SYS_getgid) != sys!(libc::SYS_getegid)
    }
}

pub fn getpgrp() -> c_int {
    // SAFETY: getpgid(0) has no pointer argument.
    unsafe { sys!(libc::SYS_getpgid, 0) as c_int }
}

/// # Safety
/// `path` is a NUL-terminated string.
pub unsafe fn openat(dir: c_int, path: *const c_char, flags: c_int, mode: u32) -> isize {
    // SAFETY: the caller's promise.
    unsafe { sys!(libc::SYS_openat, dir, path, flags, mode) }
}

/// `openat2(2)` with `RESOLVE_NO_SYMLINKS`: no component of `path` may be a symlink.
///
/// # Safety
/// `path` is a NUL-terminated string.
pub unsafe fn openat_no_symlinks(
    dir: c_int,
    path: *const c_char,
    flags: c_int,
    mode: u32,
) -> isize {
    // struct open_how { u64 flags; u64 mode; u64 resolve; }
    // openat2, unlike openat, refuses a mode without O_CREAT or O_TMPFILE (EINVAL).
    let mode = if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
        mode
    } else {
        0
    };
    let how: [u64; 3] = [
        flags as u32 as u64,
        u64::from(mode),
        0x04, /* RESOLVE_NO_SYMLINKS */
    ];
    // SAFETY: the caller's promise; `how` is a valid open_how of the size passed.
    unsafe {
        sys!(
            libc::SYS_openat2,
            dir,
            path,
            how.as_ptr(),
            core::mem::size_of_val(&how)
        )
    }
}

/// `execve(2)` itself, for when libc has no wrapper to chain to; sets errno as libc would.
///
/// # Safety
/// As `execve(2)`.
pub unsafe fn exec_raw(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    // SAFETY: the caller's promise.
    let r = unsafe { sys!(libc::SYS_execve, path, argv, envp) };
    fail_with(r)
}

/// `execveat(2)` itself (glibc before 2.34 has no wrapper); sets errno as libc would.
///
/// # Safety
/// As `execveat(2)`.
pub unsafe fn execveat_raw(
    dir: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's promise.
    let r = unsafe { sys!(libc::SYS_execveat, dir, path, argv, envp, flags, 0) };
    fail_with(r)
}

/// -1 with errno set, as a libc wrapper returns a failed call.
fn fail_with(r: isize) -> c_int {
    match ret(r) {
        Ok(v) => v as c_int,
        Err(e) => {
            crate::spawn::set_errno(e);
            -1
        }
    }
}

pub fn close(fd: c_int) {
    // SAFETY: closing a descriptor this library opened.
    unsafe { sys!(libc::SYS_close, fd) };
}

/// # Safety
/// `buf` is readable for `len` bytes.
pub unsafe fn write(fd: c_int, buf: *const u8, len: usize) -> isize {
    // SAFETY: the caller's promise.
    unsafe { sys!(libc::SYS_write, fd, buf, len) }
}

/// # Safety
/// `buf` is writable for `len` bytes.
pub unsafe fn read(fd: c_int, buf: *mut u8, len: usize) -> isize {
    // SAFETY: the caller's promise.
    unsafe { sys!(libc::SYS_read, fd, buf, len) }
}

/// `send(2)` that neither blocks nor raises SIGPIPE, for a socket shared with the host.
///
/// # Safety
/// `buf` is readable for `len` bytes.
pub unsafe fn send_nowait(fd: c_int, buf: *const u8, len: usize) -> isize {
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    // SAFETY: the caller's promise; no address.
    unsafe { sys!(libc::SYS_sendto, fd, buf, len, flags, 0, 0) }
}

/// `fstat(2)`, as `newfstatat(fd, "", AT_EMPTY_PATH)` (aarch64 has no fstat).
pub fn fstat(fd: c_int) -> Option<libc::stat> {
    fstat_result(fd).ok()
}

/// `fstat(2)` with the error number.
pub fn fstat_result(fd: c_int) -> Result<libc::stat, c_int> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: an empty NUL-terminated path and a stat buffer the kernel fills.
    let r = unsafe {
        sys!(
            libc::SYS_newfstatat,
            fd,
            c"".as_ptr(),
            st.as_mut_ptr(),
            libc::AT_EMPTY_PATH
        )
    };
    // SAFETY: filled on success.
    ret(r).map(|_| unsafe { st.assume_init() })
}

/// `stat(2)` of a NUL-terminated path, following symlinks.
///
/// # Safety
/// `path` is a NUL-terminated string.
pub unsafe fn stat(path: *const c_char) -> Option<libc::stat> {
    let mut st = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: the caller's promise; the kernel fills `st`.
    let r = unsafe {
        sys!(
            libc::SYS_newfstatat,
            libc::AT_FDCWD,
            path,
            st.as_mut_ptr(),
            0
        )
    };
    // SAFETY: filled on success.
    ret(r).ok().map(|_| unsafe { st.assume_init() })
}

pub fn fcntl_getfl(fd: c_int) -> Option<c_int> {
    // SAFETY: F_GETFL takes no pointer.
    ret(unsafe { sys!(libc::SYS_fcntl, fd, libc::F_GETFL) })
        .ok()
        .map(|f| f as c_int)
}

/// The soft limit of `RLIMIT_STACK` (`u64::MAX`: unlimited, or unknown).
pub fn stack_limit() -> u64 {
    let mut lim = [u64::MAX; 2];
    // SAFETY: prlimit64 on this process, reading only: the kernel fills two words.
    let r = unsafe {
        sys!(
            libc::SYS_prlimit64,
            0,
            libc::RLIMIT_STACK,
            0,
            lim.as_mut_ptr()
        )
    };
    if ret(r).is_ok() {
        lim[0]
    } else {
        u64::MAX
    }
}

/// Sets the file status flags of `fd` (O_NONBLOCK, O_DIRECT, ...); whether it took.
pub fn fcntl_setfl(fd: c_int, flags: c_int) -> bool {
    // SAFETY: F_SETFL takes no pointer.
    ret(unsafe { sys!(libc::SYS_fcntl, fd, libc::F_SETFL, flags) }).is_ok()
}

/// # Safety
/// `arg` is what `req` expects.
pub unsafe fn ioctl(fd: c_int, req: libc::c_ulong, arg: *mut c_void) -> isize {
    // SAFETY: the caller's promise.
    unsafe { sys!(libc::SYS_ioctl, fd, req, arg) }
}

/// # Safety
/// `path` is a NUL-terminated string.
pub unsafe fn faccessat(dir: c_int, path: *const c_char, mode: c_int) -> isize {
    // SAFETY: the caller's promise. (The raw call has no flags argument: glibc's AT_EACCESS
    // emulation is not needed, the shim only asks whether a probe path can run at all.)
    unsafe { sys!(libc::SYS_faccessat, dir, path, mode) }
}

/// Whether `path` exists, as `stat` would say with the effective ids, without a stat buffer
/// on the caller's stack (the exec path's frames stay small): `faccessat2(F_OK, AT_EACCESS)`,
/// or where that call is missing or filtered, an `O_PATH` open.
///
/// # Safety
/// `path` is a NUL-terminated string.
pub unsafe fn exists(path: *const c_char) -> bool {
    const SYS_FACCESSAT2: libc::c_long = 439;
    // SAFETY: the caller's promise.
    match ret(unsafe {
        sys!(
            SYS_FACCESSAT2,
            libc::AT_FDCWD,
            path,
            libc::F_OK,
            libc::AT_EACCESS
        )
    }) {
        Ok(_) => true,
        Err(libc::ENOSYS | libc::EPERM | libc::EINVAL) => {
            let flags = libc::O_PATH | libc::O_CLOEXEC;
            // SAFETY: as above.
            match ret(unsafe { openat(libc::AT_FDCWD, path, flags, 0) }) {
                Ok(fd) => {
                    close(fd as c_int);
                    true
                }
                Err(_) => false,
            }
        }
        Err(_) => false,
    }
}

/// # Safety
/// `path` is NUL-terminated, `buf` writable for `len` bytes.
pub unsafe fn readlink(path: *const c_char, buf: *mut u8, len: usize) -> isize {
    // SAFETY: the caller's promise.
    unsafe { sys!(libc::SYS_readlinkat, libc::AT_FDCWD, path, buf, len) }
}

/// Anonymous private memory, or `None`.
pub fn mmap(len: usize) -> Option<*mut u8> {
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
    // SAFETY: a new anonymous mapping touches no existing memory.
    let r = unsafe { sys!(libc::SYS_mmap, 0, len, prot, flags, -1i32 as isize, 0) };
    ret(r).ok().map(|p| p as *mut u8)
}

/// # Safety
/// `addr..addr+len` is a mapping this library made and nothing uses any more.
pub unsafe fn munmap(addr: *mut u8, len: usize) {
    // SAFETY: the caller's promise.
    unsafe { sys!(libc::SYS_munmap, addr, len) };
}

/// Whether the 8 bytes at `addr` are readable, asked of the kernel without side effects:
/// `rt_sigprocmask` copies the new set in before it looks at `how`, so with a `how` it does not
/// know it fails with EFAULT for memory it cannot read and with EINVAL otherwise, changing
/// nothing. Unlike `process_vm_readv` it is allowed by every seccomp profile that lets a
/// program block signals, and unlike `mincore` it knows PROT_NONE from readable. Any other
/// answer (a filter that refuses it) counts as unreadable: the hook then leaves the call alone.
pub fn readable(addr: usize) -> bool {
    const BAD_HOW: c_int = 0x7fff;
    // SAFETY: the kernel only reads `addr` (checked) and writes nothing (no old set).
    let r = unsafe { sys!(libc::SYS_rt_sigprocmask, BAD_HOW, addr, 0, 8) };
    ret(r) == Err(libc::EINVAL)
}

/// The blocked-signal mask and pending signals, as the kernel's 64-bit sets.
pub type SigSet = u64;

pub fn sig_bit(sig: c_int) -> SigSet {
    1u64 << (sig - 1)
}

/// Blocks `set` for this thread; returns the previous mask.
pub fn sig_block(set: SigSet) -> SigSet {
    let mut old: SigSet = 0;
    // SAFETY: two 8-byte sets, the size the kernel's rt_sigprocmask takes on Linux.
    unsafe {
        sys!(
            libc::SYS_rt_sigprocmask,
            libc::SIG_BLOCK,
            &raw const set,
            &raw mut old,
            8
        )
    };
    old
}

pub fn sig_setmask(set: SigSet) {
    // SAFETY: as above.
    unsafe {
        sys!(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &raw const set,
            0,
            8
        )
    };
}

/// Unblocks `set` for this thread.
pub fn sig_unblock(set: SigSet) {
    // SAFETY: as above.
    unsafe {
        sys!(
            libc::SYS_rt_sigprocmask,
            libc::SIG_UNBLOCK,
            &raw const set,
            0,
            8
        )
    };
}

pub fn sig_pending() -> SigSet {
    let mut set: SigSet = 0;
    // SAFETY: an 8-byte set the kernel fills.
    unsafe { sys!(libc::SYS_rt_sigpending, &raw mut set, 8) };
    set
}

/// Takes one pending (blocked) signal of `set` off this thread without running any handler.
pub fn sig_consume(set: SigSet) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a set, no siginfo buffer, a zero timeout: never waits.
    unsafe {
        sys!(
            libc::SYS_rt_sigtimedwait,
            &raw const set,
            0,
            &raw const zero,
            8
        )
    };
}

/// Wall-clock time as (seconds, milliseconds).
pub fn now() -> (i64, u32) {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: the kernel fills `ts`.
    unsafe { sys!(libc::SYS_clock_gettime, libc::CLOCK_REALTIME, &raw mut ts) };
    (ts.tv_sec, (ts.tv_nsec / 1_000_000) as u32)
}

/// Ends the process as `abort()` would, without libc: SIGABRT, then exit if it was handled.
pub fn abort() -> ! {
    let abrt = sig_bit(libc::SIGABRT);
    // SAFETY: unblocking SIGABRT and sending it to this thread.
    unsafe {
        sys!(
            libc::SYS_rt_sigprocmask,
            libc::SIG_UNBLOCK,
            &raw const abrt,
            0,
            8
        );
        sys!(libc::SYS_tgkill, getpid(), gettid(), libc::SIGABRT);
    }
    loop {
        // SAFETY: exit_group never returns.
        unsafe { sys!(libc::SYS_exit_group, 127) };
    }
}

/// The thread pointer: a per-thread value that a fork or vfork child keeps (it runs on the
/// same thread's TLS, copied or shared).
pub fn thread_pointer() -> usize {
    let tp: usize;
    // SAFETY: reading the thread register has no side effect.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags));
    }
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("mrs {}, tpidr_el0", out(reg) tp, options(nostack, nomem, preserves_flags));
    }
    tp
}

/// The blocked-signal mask of this thread.
pub fn sig_mask() -> SigSet {
    let mut old: SigSet = 0;
    // SAFETY: no new set; the kernel writes the current one.
    unsafe {
        sys!(
            libc::SYS_rt_sigprocmask,
            libc::SIG_BLOCK,
            0,
            &raw mut old,
            8
        )
    };
    old
}

/// Whether this thread runs on its alternate signal stack now.
pub fn on_alt_stack() -> bool {
    let mut ss = core::mem::MaybeUninit::<libc::stack_t>::zeroed();
    // SAFETY: no new stack; the kernel writes the current one.
    let r = unsafe { sys!(libc::SYS_sigaltstack, 0, ss.as_mut_ptr()) };
    // SAFETY: written by the kernel when the call succeeded (zeroed otherwise).
    ret(r).is_ok() && unsafe { ss.assume_init() }.ss_flags & libc::SS_ONSTACK != 0
}

/// The thread's clear-child-tid address (`PR_GET_TID_ADDRESS`), `None` where the kernel
/// cannot say (built without checkpoint/restore).
pub fn tid_address() -> Option<usize> {
    const PR_GET_TID_ADDRESS: c_int = 40;
    let mut addr: usize = 0;
    // SAFETY: the kernel writes one pointer into `addr`.
    let r = unsafe { sys!(libc::SYS_prctl, PR_GET_TID_ADDRESS, &raw mut addr) };
    ret(r).ok().map(|_| addr)
}

/// Whether a process or thread with id `tid` exists (a zombie still does): `kill(tid, 0)`
/// fails with ESRCH only when it does not.
pub fn alive(tid: c_int) -> bool {
    // SAFETY: signal 0 sends nothing; only the existence check runs.
    ret(unsafe { sys!(libc::SYS_kill, tid, 0) }) != Err(libc::ESRCH)
}

/// Points the kernel's clear-child-tid at `addr` (0: none): it writes 0 there, and wakes a
/// futex on it, when the thread exits or execs while another task shares its memory.
pub fn set_tid_address(addr: usize) {
    // SAFETY: `addr` is 0 or a 4-byte word that lives as long as the library.
    unsafe { sys!(libc::SYS_set_tid_address, addr) };
}
