//! The signals the shim blocks while it writes a line (SIGPIPE, SIGXFSZ, SIGTTOU), and what a
//! program started from inside that window must not inherit.
//!
//! A signal handler may run while a hook writes (it interrupts the write), and a handler may
//! start a program (a watchdog, a crash reporter): an exec keeps the blocked mask, a
//! `posix_spawn` child takes its parent's. So each thread that opens a window records which of
//! the three it blocked itself, in a small table keyed by thread id; an exec or spawn hook in
//! that thread unblocks them for its call (taking off first any of them the write made
//! pending: they were not blocked before the window, so a pending one was raised inside it)
//! and blocks them again if the call returns. No lock: a slot is claimed by compare-and-swap.

use crate::sys::{sig_bit, sig_block, sig_consume, sig_pending, sig_setmask, SigSet};
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

const SLOTS: usize = 64;

struct Slot {
    tid: AtomicI32,
    added: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: Slot = Slot {
    tid: AtomicI32::new(0),
    added: AtomicU64::new(0),
};
static TABLE: [Slot; SLOTS] = [SLOT; SLOTS];
/// Windows open in the process: the hooks' fast path.
static OPEN: AtomicU32 = AtomicU32::new(0);

/// The three signals a write may raise.
fn set() -> SigSet {
    sig_bit(libc::SIGPIPE) | sig_bit(libc::SIGXFSZ) | sig_bit(libc::SIGTTOU)
}

/// Runs `f` with the three signals blocked, and takes off again any of them that `f` made
/// pending (it was not before).
pub fn with_signals_blocked(f: impl FnOnce() -> bool) -> bool {
    let set = set();
    let old = sig_block(set);
    let slot = record(set & !old);
    let before = sig_pending() & set;
    let ok = f();
    let raised = sig_pending() & set & !before;
    for sig in [libc::SIGPIPE, libc::SIGXFSZ, libc::SIGTTOU] {
        if raised & sig_bit(sig) != 0 {
            sig_consume(sig_bit(sig));
        }
    }
    sig_setmask(old);
    // After the mask: a handler between the two finds the slot and unblocks nothing new.
    if let Some(slot) = slot {
        slot.added.store(0, Ordering::Relaxed);
        slot.tid.store(0, Ordering::Release);
        OPEN.fetch_sub(1, Ordering::AcqRel);
    }
    ok
}

fn record(added: SigSet) -> Option<&'static Slot> {
    if added == 0 {
        return None;
    }
    let tid = crate::sys::gettid();
    let slot = TABLE.iter().find(|s| {
        s.tid
            .compare_exchange(0, tid, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    })?;
    slot.added.store(added, Ordering::Release);
    OPEN.fetch_add(1, Ordering::AcqRel);
    Some(slot)
}

/// For the duration of an exec or spawn call: the signals this thread's open window blocked
/// are unblocked (the pending ones it raised taken off first), and blocked again on drop.
pub struct Unblocked(SigSet);

impl Unblocked {
    pub fn for_call() -> Unblocked {
        if OPEN.load(Ordering::Acquire) == 0 {
            return Unblocked(0);
        }
        let tid = crate::sys::gettid();
        let added = TABLE
            .iter()
            .filter(|s| s.tid.load(Ordering::Acquire) == tid)
            .fold(0, |m, s| m | s.added.load(Ordering::Acquire));
        if added == 0 {
            return Unblocked(0);
        }
        // No rt_sigpending here: take off, one signal at a time, whatever of `added` is
        // pending (at most the three), without running a handler.
        for _ in 0..3 {
            sig_consume(added);
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
