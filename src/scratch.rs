//! Memory for one selected spawn: the merged envp, the child's `KEY=VALUE` strings and the log
//! line, in an anonymous mapping rather than on the stack. A hook may run on a signal handler's
//! alternate stack or in a `vfork` child on a tight stack; with the buffers mapped, its own
//! frame stays a few hundred bytes whatever the size of the environment. `mmap` is
//! async-signal-safe.
//!
//! One case needs care: a `vfork` child shares its parent's memory, and an exec that succeeds
//! never comes back to unmap. Its mapping would stay in the parent for good. So an exec in a
//! process other than the one that loaded the shim (a fork or vfork child) records its mapping
//! here first, under the thread it borrowed (the thread pointer a vfork child shares with the
//! parent thread), and the next hook that thread runs unmaps it: by then the child has exec'd
//! or exited, since the parent thread was suspended until it did. In a fork child the record
//! is a private copy and harmless. The table is small and fixed; when it is full, the hook
//! passes the exec through untouched rather than leak.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};

type Bytes<'a> = &'a mut [MaybeUninit<u8>];

pub struct Scratch {
    ptr: *mut u8,
    len: usize,
}

impl Scratch {
    /// At least `len` bytes of fresh memory, or `None`.
    pub fn map(len: usize) -> Option<Scratch> {
        let len = len.max(1).next_multiple_of(4096);
        crate::sys::mmap(len).map(|ptr| Scratch { ptr, len })
    }

    /// The start of the mapping (page-aligned).
    pub fn base(&self) -> *mut u8 {
        self.ptr
    }

    /// The memory, split at the byte offsets given (each clamped to the length).
    pub fn split3(&mut self, a: usize, b: usize) -> (Bytes<'_>, Bytes<'_>, Bytes<'_>) {
        // SAFETY: the mapping is `len` bytes, owned by this value, and uninitialised bytes are
        // what MaybeUninit holds.
        let all = unsafe { core::slice::from_raw_parts_mut(self.ptr.cast(), self.len) };
        let (x, rest) = all.split_at_mut(a.min(self.len));
        let (y, z) = rest.split_at_mut(b.min(rest.len()));
        (x, y, z)
    }

    /// Hands the mapping to the table of `Grave`s for the duration of an exec that may not
    /// return; `None` when the table is full (the caller then does not exec with it).
    pub fn bury(self) -> Result<Grave, Scratch> {
        Grave::new(self)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: our own mapping, no longer used (the slices borrowed it).
        unsafe { crate::sys::munmap(self.ptr, self.len) };
    }
}

const SLOTS: usize = 16;
const FREE: u32 = 0;
const BUSY: u32 = 1;
const HELD: u32 = 2;

struct Slot {
    state: AtomicU32,
    thread: AtomicUsize,
    tid: AtomicI32,
    addr: AtomicUsize,
    len: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: Slot = Slot {
    state: AtomicU32::new(FREE),
    thread: AtomicUsize::new(0),
    tid: AtomicI32::new(0),
    addr: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
};
static TABLE: [Slot; SLOTS] = [SLOT; SLOTS];
static HELD_COUNT: AtomicU32 = AtomicU32::new(0);

/// A mapping recorded for the exec it serves.
pub struct Grave {
    slot: &'static Slot,
    scratch: Option<Scratch>,
}

impl Grave {
    fn new(scratch: Scratch) -> Result<Grave, Scratch> {
        let Some(slot) = TABLE.iter().find(|s| {
            s.state
                .compare_exchange(FREE, BUSY, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        }) else {
            return Err(scratch);
        };
        slot.thread
            .store(crate::sys::thread_pointer(), Ordering::Relaxed);
        slot.tid.store(crate::sys::gettid(), Ordering::Relaxed);
        slot.addr.store(scratch.ptr as usize, Ordering::Relaxed);
        slot.len.store(scratch.len, Ordering::Relaxed);
        slot.state.store(HELD, Ordering::Release);
        HELD_COUNT.fetch_add(1, Ordering::AcqRel);
        Ok(Grave {
            slot,
            scratch: Some(scratch),
        })
    }

    /// The exec returned: take the mapping back (it is unmapped when dropped).
    pub fn unbury(mut self) -> Option<Scratch> {
        self.slot.state.store(FREE, Ordering::Release);
        HELD_COUNT.fetch_sub(1, Ordering::AcqRel);
        self.scratch.take()
    }
}

impl Drop for Grave {
    fn drop(&mut self) {
        // Only reached when `unbury` was not called, which the hooks always do after an exec
        // that returns; keep the mapping recorded rather than unmap memory an exec may use.
        if let Some(s) = self.scratch.take() {
            core::mem::forget(s);
        }
    }
}

/// Unmaps what earlier vfork children of this thread left behind. Cheap when there is none.
pub fn sweep() {
    if HELD_COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    let thread = crate::sys::thread_pointer();
    let tid = crate::sys::gettid();
    for slot in &TABLE {
        if slot.state.load(Ordering::Acquire) != HELD
            || slot.thread.load(Ordering::Relaxed) != thread
            // Recorded by this very task: a hook interrupted by a signal handler that is now
            // in a hook itself. The mapping is in use.
            || slot.tid.load(Ordering::Relaxed) == tid
        {
            continue;
        }
        if slot
            .state
            .compare_exchange(HELD, BUSY, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        let (addr, len) = (
            slot.addr.load(Ordering::Relaxed),
            slot.len.load(Ordering::Relaxed),
        );
        // SAFETY: recorded by a vfork child of this thread that has since exec'd or exited
        // (this thread was suspended until then), or a private copy in a fork child.
        unsafe { crate::sys::munmap(addr as *mut u8, len) };
        slot.state.store(FREE, Ordering::Release);
        HELD_COUNT.fetch_sub(1, Ordering::AcqRel);
    }
}
