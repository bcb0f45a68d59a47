//! Writing a log line: a side channel into someone else's process, so every write obeys four
//! rules, whatever the destination:
//!
//! - **It never raises a signal.** SIGPIPE, SIGXFSZ and SIGTTOU are blocked for the write; if
//!   the write made one pending (it was not before), it is taken off again unhandled.
//! - **It never blocks.** A pipe, FIFO or terminal is written through a descriptor of the
//!   shim's own, opened non-blocking (`/proc/self/fd/2` opens a new file description, so the
//!   host's own flags are untouched); a socket with `MSG_DONTWAIT`. A line that cannot be
//!   written now is dropped and counted; the count rides on the next line that is written.
//! - **It never lands in a descriptor the host uses.** Stderr is written only when it is the
//!   stderr the process had when the shim loaded (same device and inode): never a child's
//!   redirected stderr (a fork or vfork child writes the gateway's own stderr through
//!   `/proc/<gateway>/fd/2` instead), never a socket or file that took over a closed fd 2, and
//!   never a pipe or socket that is also stdout (an MCP stdio stream), unless it is the
//!   systemd journal's (`JOURNAL_STREAM`). A log file is a regular file, never stdout.
//! - **It never follows a symlink.** No component of a log file's path may be a symlink. A
//!   privileged process (effective uid 0, or a set-user-ID program) creates nothing: it
//!   writes only to an existing regular file with one link, owned by root or by its own
//!   effective uid.

use crate::procfs;
use core::ffi::{c_char, c_int};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use mcp_env_shim_core::session::{LogTarget, Session};

/// Lines this process could not write since the last one it wrote.
static DROPPED: AtomicU32 = AtomicU32::new(0);
/// The load-time warnings went out with an earlier line. A vfork child shares it with the
/// gateway; a fork child has its own copy.
static WARNED: AtomicBool = AtomicBool::new(false);

/// Lines dropped since the last line written.
pub fn dropped() -> u32 {
    DROPPED.load(Ordering::Relaxed)
}

pub fn count_dropped() {
    DROPPED.fetch_add(1, Ordering::Relaxed);
}

/// What the process's stderr was when the shim loaded: the only stderr it will write.
#[derive(Clone, Copy, Debug)]
pub struct Stderr {
    dev: u64,
    ino: u64,
    kind: u32,
    /// Opened with O_APPEND: a second description of a regular file may then append too.
    append: bool,
    /// A pipe in packet mode (O_DIRECT): each write is a message of its own to the reader.
    packet: bool,
}

impl Stderr {
    /// Reads fd 2 and fd 1 at load; `None` when stderr is closed, or is also stdout and a pipe
    /// or socket (an MCP stdio stream) that is not the journal's (`journal`: dev:ino from
    /// `JOURNAL_STREAM`).
    pub fn capture(journal: Option<(u64, u64)>) -> Option<Stderr> {
        Stderr::judge(
            &crate::sys::fstat(2)?,
            || crate::sys::fstat(1),
            || crate::sys::fcntl_getfl(2),
            journal,
        )
    }

    /// The stderr of process `pid` (a server's parent: its client), by `/proc/PID/fd/2`, with
    /// the same refusals as `capture`. Its flags are read from `/proc/PID/fdinfo/2`.
    pub fn of_parent(pid: c_int, journal: Option<(u64, u64)>) -> Option<Stderr> {
        let mut path = [0u8; 40];
        let who = Some(u32::try_from(pid).ok()?);
        // SAFETY: a NUL-terminated path.
        let err = unsafe { crate::sys::stat(procfs::path(who, b"/fd/2", None, &mut path)?) }?;
        // SAFETY: as above.
        let out = unsafe { crate::sys::stat(procfs::path(who, b"/fd/1", None, &mut path)?) };
        Stderr::judge(&err, || out, || fdinfo_flags(pid), journal)
    }

    /// A stderr `err` (with `out`, the stdout, and `flags`, its open flags, read only if they
    /// are needed), or `None` when it is also stdout and a pipe or socket that is not the
    /// journal's, or is not open for writing (never reopened for writing by the shim).
    fn judge(
        err: &libc::stat,
        out: impl FnOnce() -> Option<libc::stat>,
        flags: impl FnOnce() -> Option<c_int>,
        journal: Option<(u64, u64)>,
    ) -> Option<Stderr> {
        let kind = err.st_mode & libc::S_IFMT;
        let id = (err.st_dev, err.st_ino);
        let shared_stream = matches!(kind, libc::S_IFIFO | libc::S_IFSOCK)
            && out().is_some_and(|o| (o.st_dev, o.st_ino) == id);
        if shared_stream && journal != Some(id) {
            return None;
        }
        let flags = flags()?;
        if !writable(flags) {
            return None;
        }
        Some(Stderr {
            dev: id.0,
            ino: id.1,
            kind,
            append: kind == libc::S_IFREG && flags & libc::O_APPEND != 0,
            packet: kind == libc::S_IFIFO && flags & libc::O_DIRECT != 0,
        })
    }

    fn is(&self, st: &libc::stat) -> bool {
        (st.st_dev, st.st_ino) == (self.dev, self.ino)
    }
}

/// Where and how this process writes.
pub struct Writer<'a> {
    pub session: &'a Session,
    pub stderr: Option<Stderr>,
    /// The process that loaded the shim: a direct child of it reaches its stderr by /proc.
    pub owner: c_int,
}

impl Writer<'_> {
    /// Writes the load-time warnings (once) and then `line`, built by `build` into `buf`;
    /// `build` gets the count of lines dropped before it, to report. Counts the line as
    /// dropped if it cannot be written.
    pub fn emit(
        &self,
        buf: &mut [MaybeUninit<u8>],
        build: impl FnOnce(&mut [MaybeUninit<u8>], u32) -> usize,
    ) {
        if matches!(self.session.log, LogTarget::Off) {
            return;
        }
        if !WARNED.swap(true, Ordering::AcqRel) {
            for w in &self.session.warnings {
                let n = crate::spawn::warn_line(buf, w.as_bytes(), dropped());
                self.write_counted(buf, n);
            }
        }
        let before = dropped();
        let n = build(buf, before);
        if self.write_counted(buf, n) {
            DROPPED.fetch_sub(before, Ordering::Relaxed);
        }
    }

    fn write_counted(&self, buf: &mut [MaybeUninit<u8>], n: usize) -> bool {
        if n > buf.len() {
            return false;
        }
        // The rest of the buffer is scratch for the write (a path component).
        let (line, spare) = buf.split_at_mut(n);
        // SAFETY: the first `n` bytes were written by the line builder.
        let line = unsafe { core::slice::from_raw_parts(line.as_ptr().cast::<u8>(), n) };
        let may_raise = match &self.session.log {
            LogTarget::Stderr => self
                .stderr
                .map_or(0, |e| crate::sigwindow::raised_by(e.kind)),
            _ => crate::sigwindow::raised_by(0),
        };
        let ok = crate::sigwindow::with_signals_blocked(may_raise, || self.write(line, spare));
        if !ok {
            count_dropped();
        }
        ok
    }

    fn write(&self, line: &[u8], spare: &mut [MaybeUninit<u8>]) -> bool {
        match &self.session.log {
            LogTarget::Off => true,
            LogTarget::Stderr => self
                .stderr
                .is_some_and(|e| write_stderr(&e, self.owner, line)),
            LogTarget::File(path) => {
                write_file(path.as_ptr(), self.session.process.privileged, line, spare)
            }
        }
    }
}

/// Writes to the load-time stderr: fd 2 if it still is that, else (in a direct child of the
/// process that loaded the shim) that process's fd 2, reopened.
fn write_stderr(e: &Stderr, owner: c_int, line: &[u8]) -> bool {
    let here = crate::sys::fstat(2).is_some_and(|st| e.is(&st));
    if here {
        return match e.kind {
            // The host's own description: a file's offset is shared, as the host's writes are.
            libc::S_IFREG => write_all(2, line),
            libc::S_IFSOCK => {
                // SAFETY: `line` is valid for its length.
                let n = unsafe { crate::sys::send_nowait(2, line.as_ptr(), line.len()) };
                n == line.len() as isize
            }
            _ => {
                // The host's flags now, for its packet mode (a pipe's O_DIRECT).
                let packet = e.kind == libc::S_IFIFO
                    && crate::sys::fcntl_getfl(2).is_some_and(|f| f & libc::O_DIRECT != 0);
                let e = Stderr { packet, ..*e };
                reopen_and_write(c"/proc/self/fd/2".as_ptr(), &e, false, line)
            }
        };
    }
    if crate::sys::getppid() != owner || e.kind == libc::S_IFSOCK {
        return false;
    }
    if e.kind == libc::S_IFREG && !e.append {
        // A second description of the file would write at its own offset, and the host's
        // next write would overwrite the line.
        return false;
    }
    let mut path = [0u8; 40];
    let Some(p) = u32::try_from(owner)
        .ok()
        .and_then(|o| procfs::path(Some(o), b"/fd/2", None, &mut path))
    else {
        return false;
    };
    reopen_and_write(p, e, e.kind == libc::S_IFREG, line)
}

/// Whether file status flags allow writing.
fn writable(flags: c_int) -> bool {
    matches!(flags & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR)
}

/// The flags of process `pid`'s fd 2, from the `flags:` line (octal) of `/proc/PID/fdinfo/2`.
fn fdinfo_flags(pid: c_int) -> Option<c_int> {
    let text = crate::procfs::read(pid, "fdinfo/2", 4096)?;
    let line = text
        .split(|&b| b == b'\n')
        .find(|l| l.starts_with(b"flags:"))?;
    let mut v: c_int = 0;
    for &b in line.get(6..)?.iter().filter(|b| !b.is_ascii_whitespace()) {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(c_int::from(b - b'0'))?;
    }
    Some(v)
}

/// Opens `path` (a /proc fd link to the load-time stderr) as a new non-blocking description,
/// checks it is still that file, and writes once. A terminal is left alone when this process
/// is in the background and the terminal stops background writers (`stty tostop`).
fn reopen_and_write(path: *const c_char, e: &Stderr, append: bool, line: &[u8]) -> bool {
    let flags = libc::O_WRONLY
        | libc::O_NONBLOCK
        | libc::O_NOCTTY
        | libc::O_CLOEXEC
        | if append { libc::O_APPEND } else { 0 };
    // SAFETY: a NUL-terminated path.
    let Ok(fd) = crate::sys::ret(unsafe { crate::sys::openat(libc::AT_FDCWD, path, flags, 0) })
    else {
        return false;
    };
    let fd = fd as c_int;
    // A pipe opened anew is in byte mode: a packet-mode reader would get the line glued to the
    // host's next message. O_DIRECT cannot be given to open for a pipe, only set after.
    let framed = !e.packet || crate::sys::fcntl_setfl(fd, flags | libc::O_DIRECT);
    let ok = framed
        && crate::sys::fstat(fd).is_some_and(|st| e.is(&st))
        && (e.kind != libc::S_IFCHR || !stopped_by_tostop(fd))
        && write_all(fd, line);
    crate::sys::close(fd);
    ok
}

/// Whether `fd` is a terminal that stops background writers, and this process is in the
/// background.
fn stopped_by_tostop(fd: c_int) -> bool {
    let mut t = MaybeUninit::<libc::termios>::uninit();
    // SAFETY: TCGETS fills a termios.
    if unsafe { crate::sys::ioctl(fd, libc::TCGETS, t.as_mut_ptr().cast()) } != 0 {
        return false; // not a terminal
    }
    // SAFETY: filled just above.
    let lflag = unsafe { t.assume_init() }.c_lflag;
    if lflag & libc::TOSTOP == 0 {
        return false;
    }
    let mut pgrp: c_int = 0;
    // SAFETY: TIOCGPGRP fills a pid_t.
    let r = unsafe { crate::sys::ioctl(fd, libc::TIOCGPGRP, (&mut pgrp as *mut c_int).cast()) };
    r == 0 && pgrp != crate::sys::getpgrp()
}

/// One write of the whole line; a short write counts as a failure (the rest is not retried:
/// a second write would not be atomic with the first).
fn write_all(fd: c_int, line: &[u8]) -> bool {
    for _ in 0..2 {
        // SAFETY: `line` is valid for its length.
        match crate::sys::ret(unsafe { crate::sys::write(fd, line.as_ptr(), line.len()) }) {
            Ok(n) => return n == line.len(),
            Err(libc::EINTR) => continue,
            Err(_) => return false,
        }
    }
    false
}

/// Appends to the log file at `path`, opened afresh (a descriptor kept from load time could
/// be closed and reused by the host): never through a symlink, never anything but a regular
/// file that is not stdout; for a privileged process, only an existing file with one link
/// owned by root or by the effective uid.
fn write_file(
    path: *const c_char,
    privileged: bool,
    line: &[u8],
    spare: &mut [MaybeUninit<u8>],
) -> bool {
    let mut flags = libc::O_WRONLY
        | libc::O_APPEND
        | libc::O_CLOEXEC
        | libc::O_NOCTTY
        | libc::O_NONBLOCK
        | libc::O_NOFOLLOW;
    if !privileged {
        flags |= libc::O_CREAT;
    }
    let Some(fd) = open_no_symlinks(path, flags, 0o644, spare) else {
        return false;
    };
    let ok = crate::sys::fstat(fd).is_some_and(|st| {
        let regular = st.st_mode & libc::S_IFMT == libc::S_IFREG;
        let stdout =
            crate::sys::fstat(1).is_some_and(|o| (o.st_dev, o.st_ino) == (st.st_dev, st.st_ino));
        let trusted = !privileged
            || (st.st_nlink == 1 && (st.st_uid == 0 || st.st_uid == crate::sys::geteuid()));
        regular && !stdout && trusted
    }) && write_all(fd, line);
    crate::sys::close(fd);
    ok
}

/// Opens an absolute path of which no component is a symlink: `openat2(RESOLVE_NO_SYMLINKS)`,
/// or where that call is missing or filtered, one directory at a time with `O_NOFOLLOW`.
fn open_no_symlinks(
    path: *const c_char,
    flags: c_int,
    mode: u32,
    spare: &mut [MaybeUninit<u8>],
) -> Option<c_int> {
    // SAFETY: a NUL-terminated path.
    match crate::sys::ret(unsafe {
        crate::sys::openat_no_symlinks(libc::AT_FDCWD, path, flags, mode)
    }) {
        Ok(fd) => return Some(fd as c_int),
        Err(libc::ENOSYS | libc::EPERM | libc::E2BIG | libc::EINVAL) => {}
        Err(_) => return None,
    }
    open_walking(path, flags, mode, spare)
}

/// `open_no_symlinks` one directory at a time, where `openat2` is missing or filtered. Its own
/// frame (a component buffer): never inlined into the writer, which every line goes through.
#[inline(never)]
fn open_walking(
    path: *const c_char,
    flags: c_int,
    mode: u32,
    name: &mut [MaybeUninit<u8>],
) -> Option<c_int> {
    // SAFETY: a NUL-terminated string.
    let bytes = unsafe { core::ffi::CStr::from_ptr(path) }.to_bytes();
    let rest = bytes.strip_prefix(b"/")?;
    let dir_flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a NUL-terminated path.
    let mut dir =
        crate::sys::ret(unsafe { crate::sys::openat(libc::AT_FDCWD, c"/".as_ptr(), dir_flags, 0) })
            .ok()? as c_int;
    let mut parts = rest
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty())
        .peekable();
    // `name` is the caller's scratch (the log line's buffer past the line), not this frame's:
    // a hook's stack stays small.
    let name: &mut [u8] = {
        let len = name.len().min(256);
        let name = name.get_mut(..len)?;
        for b in name.iter_mut() {
            b.write(0);
        }
        // SAFETY: every byte was just written.
        unsafe { core::slice::from_raw_parts_mut(name.as_mut_ptr().cast(), name.len()) }
    };
    while let Some(part) = parts.next() {
        let last = parts.peek().is_none();
        // `..` is no symlink: it walks back up what was already opened without following one.
        let ok = part.len() < name.len() && {
            if let Some(dst) = name.get_mut(..part.len()) {
                dst.copy_from_slice(part);
            }
            if let Some(nul) = name.get_mut(part.len()) {
                *nul = 0;
            }
            true
        };
        let next = if ok {
            let f = if last { flags } else { dir_flags };
            // SAFETY: `name` holds the component and a NUL.
            crate::sys::ret(unsafe { crate::sys::openat(dir, name.as_ptr().cast(), f, mode) }).ok()
        } else {
            None
        };
        crate::sys::close(dir);
        dir = next? as c_int;
        if last {
            return Some(dir);
        }
    }
    crate::sys::close(dir);
    None
}
