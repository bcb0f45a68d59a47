//! The signals the shim blocks while it writes a line (SIGPIPE, SIGXFSZ, SIGTTOU), and what a
//! program started from inside that window must not inherit.
//!
//! A signal handler may run while a hook writes (it interrupts the write), and a handler may
//! start a program (a watchdog, a crash reporter), directly or from a fork or vfork child: an
//! exec keeps the blocked mask, a `posix_spawn` child takes its parent's. So each window is
//! recorded under the thread pointer (which a fork or vfork child keeps) with the signals it
//! blocked itself and the stack pointer it ran at; an exec or spawn hook that finds a record
//! for its thread, deeper on the same stack (or on the alternate signal stack) and with those
//! signals still blocked, unblocks them for its call and blocks them again if the call returns.
//! A record left behind (a handler that left the write by `siglongjmp`, a vfork child killed
//! inside it) fails that test and is dropped.
//!
//! Only a signal the write itself may raise is taken off: SIGPIPE for a pipe, SIGXFSZ for a
//! regular file (a socket is written with MSG_NOSIGNAL; a blocked SIGTTOU lets a terminal write
//! go on instead of raising it). No lock: a slot is claimed by compare-and-swap.

use crate::sys::{sig_bit, sig_block, sig_consume, sig_pending, sig_setmask, SigSet};
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};

const SLOTS: usize = 256;

struct Slot {
    /// The thread pointer of the window's thread; 0: free.
    tp: AtomicUsize,
    /// The stack pointer inside the window.
    sp: AtomicUsize,
    /// The signals the window blocked (not blocked before it).
    added: AtomicU64,
    /// Those of them its write may raise, and that were not pending before it.
    raisable: AtomicU64,
    /// The process and thread that opened the window: only that thread (a handler on it), or
    /// a child it made meanwhile, is inside it. A vfork child killed in its own window leaves
    /// a record under its parent's thread pointer that the parent must not take for its own.
    pid: AtomicI32,
    tid: AtomicI32,
}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: Slot = Slot {
    tp: AtomicUsize::new(0),
    sp: AtomicUsize::new(0),
    added: AtomicU64::new(0),
    raisable: AtomicU64::new(0),
    pid: AtomicI32::new(0),
    tid: AtomicI32::new(0),
};

/// A record's contents, saved by a window opened inside another (a handler's spawn during a
/// write writes its own line) and put back when it ends.
#[derive(Clone, Copy)]
struct Saved {
    sp: usize,
    added: SigSet,
    raisable: SigSet,
    pid: i32,
    tid: i32,
}
static TABLE: [Slot; SLOTS] = [SLOT; SLOTS];
/// Records in the table: the hooks' fast path.
static OPEN: AtomicU32 = AtomicU32::new(0);

/// The three signals a write may raise.
fn set() -> SigSet {
    sig_bit(libc::SIGPIPE) | sig_bit(libc::SIGXFSZ) | sig_bit(libc::SIGTTOU)
}

/// What a write to a destination of this kind (`st_mode & S_IFMT`; 0: a log file) may raise.
pub fn raised_by(kind: u32) -> SigSet {
    match kind {
        0 | libc::S_IFREG => sig_bit(libc::SIGXFSZ),
        libc::S_IFIFO => sig_bit(libc::SIGPIPE),
        _ => 0,
    }
}

/// The stack pointer, near enough: the address of a local.
#[inline(always)]
fn stack_pointer() -> usize {
    let here = 0u8;
    core::ptr::addr_of!(here) as usize
}

/// Runs `f` with the three signals blocked, and takes off again any of `may_raise` (what the
/// destination's write can raise) that `f` made pending (it was not before).
pub fn with_signals_blocked(may_raise: SigSet, f: impl FnOnce() -> bool) -> bool {
    let set = set();
    let old = sig_block(set);
    let added = set & !old;
    // Recorded first: a handler may run at any point from here on. A signal of `added` was
    // not blocked, so it cannot be pending yet.
    let slot = (added != 0)
        .then(|| record(added, may_raise & added, stack_pointer()))
        .flatten();
    let before = sig_pending() & set;
    let raisable = may_raise & set & !before;
    let ok = f();
    let raised = sig_pending() & raisable;
    for sig in [libc::SIGPIPE, libc::SIGXFSZ] {
        if raised & sig_bit(sig) != 0 {
            sig_consume(sig_bit(sig));
        }
    }
    sig_setmask(old);
    // After the mask: a handler between the two finds the signals unblocked and the record
    // stale.
    match slot {
        Some((slot, Some(outer))) => put(slot, outer),
        Some((slot, None)) => forget(slot),
        None => {}
    }
    ok
}

/// Records a window for this thread, saving the record of a window it is opened in (or one a
/// jump left behind); `None` if the table is full.
fn record(added: SigSet, raisable: SigSet, sp: usize) -> Option<(&'static Slot, Option<Saved>)> {
    let tp = crate::sys::thread_pointer();
    let (slot, saved) = match find(tp) {
        Some(slot) => (slot, Some(read(slot))),
        None => (
            TABLE.iter().find(|s| {
                s.tp.compare_exchange(0, tp, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                    && {
                        OPEN.fetch_add(1, Ordering::AcqRel);
                        true
                    }
            })?,
            None,
        ),
    };
    put(
        slot,
        Saved {
            sp,
            added,
            raisable,
            pid: crate::sys::getpid(),
            tid: crate::sys::gettid(),
        },
    );
    Some((slot, saved))
}

fn read(slot: &Slot) -> Saved {
    Saved {
        sp: slot.sp.load(Ordering::Relaxed),
        added: slot.added.load(Ordering::Acquire),
        raisable: slot.raisable.load(Ordering::Relaxed),
        pid: slot.pid.load(Ordering::Relaxed),
        tid: slot.tid.load(Ordering::Relaxed),
    }
}

fn put(slot: &Slot, r: Saved) {
    slot.sp.store(r.sp, Ordering::Relaxed);
    slot.raisable.store(r.raisable, Ordering::Relaxed);
    slot.pid.store(r.pid, Ordering::Relaxed);
    slot.tid.store(r.tid, Ordering::Relaxed);
    slot.added.store(r.added, Ordering::Release);
}

/// A `longjmp` leaves whatever it jumps out of: this thread's record goes (a handler that left
/// a write by `siglongjmp` would otherwise leave it for a later, unrelated exec to trust). A
/// jump that stays inside the handler loses it too: an exec after it then keeps the write's
/// mask, the lesser harm.
pub fn leaving() {
    if OPEN.load(Ordering::Acquire) == 0 {
        return;
    }
    if let Some(slot) = find(crate::sys::thread_pointer()) {
        forget(slot);
    }
}

fn find(tp: usize) -> Option<&'static Slot> {
    TABLE.iter().find(|s| s.tp.load(Ordering::Acquire) == tp)
}

fn forget(slot: &Slot) {
    slot.added.store(0, Ordering::Relaxed);
    if slot.tp.swap(0, Ordering::AcqRel) != 0 {
        OPEN.fetch_sub(1, Ordering::AcqRel);
    }
}

/// For the duration of an exec or spawn call: the signals this thread's open window blocked
/// are unblocked (the pending ones its write raised taken off first), and blocked again on drop.
pub struct Unblocked(SigSet);

impl Unblocked {
    pub fn for_call() -> Unblocked {
        if OPEN.load(Ordering::Acquire) == 0 {
            return Unblocked(0);
        }
        let Some(slot) = find(crate::sys::thread_pointer()) else {
            return Unblocked(0);
        };
        let r = read(slot);
        let added = r.added;
        let ours = r.tid == crate::sys::gettid() || {
            let me = crate::sys::getpid();
            me != r.pid && crate::sys::getppid() == r.pid
        };
        let inside = added != 0
            && ours
            && crate::sys::sig_mask() & added == added
            && (stack_pointer() < r.sp || crate::sys::on_alt_stack());
        if !inside {
            // Left behind: its window is over.
            forget(slot);
            return Unblocked(0);
        }
        // No rt_sigpending here: take off, one at a time, what the write may have raised.
        let raisable = r.raisable;
        for sig in [libc::SIGPIPE, libc::SIGXFSZ] {
            if raisable & sig_bit(sig) != 0 {
                sig_consume(sig_bit(sig));
            }
        }
        crate::sys::sig_unblock(added);
        Unblocked(added)
    }
}

impl Drop for Unblocked {
    fn drop(&mut self) {
        if self.0 != 0 {
            sig_block(self.0);
        }
    }
}
