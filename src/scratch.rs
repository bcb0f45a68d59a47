//! Memory for one selected spawn: the merged envp, the child's `KEY=VALUE` strings and the log
//! line, in an anonymous mapping rather than on the stack. A hook may run on a signal handler's
//! alternate stack or in a `vfork` child on a tight stack; with the buffers mapped, its own
//! frame stays a few hundred bytes whatever the size of the environment. `mmap` is
//! async-signal-safe.
//!
//! One case needs care: a child that shares its parent's memory (`vfork`, `posix_spawn`'s
//! clone, a bare `clone(CLONE_VM)`), where an exec that succeeds never comes back to unmap.
//! Its mapping would stay in the parent for good. So a child of the process that loaded the
//! shim records its mapping in a slot of a fixed table first, with a word the kernel zeroes
//! when the child execs or exits: its clear-child-tid address, pointed at the slot
//! (`set_tid_address`) when the child has none, or the one it has (a `fork` child's, or a
//! program's own `CLONE_CHILD_CLEARTID` word), watched without being replaced. The next hook in
//! any thread of the parent unmaps what such a word says is done. A `fork` child records in
//! its own copy of the table, which goes away with its exec. A child killed before its word
//! was set up leaves a slot that is taken back, once the table is full, when its tid no longer
//! exists. When no slot can be had, the hook passes the exec through untouched rather than
//! leak.

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

/// Children sharing memory that may exec at once; a slot is 32 bytes of zeroed memory.
const SLOTS: usize = 128;
const FREE: u32 = 0;
/// Being filled by its child, or (its child killed meanwhile) waiting to be taken back.
const BUSY: u32 = 1;
const HELD: u32 = 2;
/// Being unmapped by a hook of the parent.
const SWEEPING: u32 = 3;
/// The `tid` of a slot not in use, or watching another word (zero: the table starts zeroed,
/// no page of it touched until a child uses it).
const NONE: i32 = 0;

struct Slot {
    state: AtomicU32,
    /// The child's clear-child-tid word when the slot is it; `NONE` otherwise.
    tid: AtomicI32,
    /// The child's own clear-child-tid word, watched in place; 0: `tid` is the word.
    watch: AtomicUsize,
    /// The child's tid, to tell one that died before its word was set up.
    child: AtomicI32,
    addr: AtomicUsize,
    len: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: Slot = Slot {
    state: AtomicU32::new(FREE),
    tid: AtomicI32::new(NONE),
    watch: AtomicUsize::new(0),
    child: AtomicI32::new(0),
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
        let me = crate::sys::gettid();
        // The word that will say the exec is done: the child's own clear-child-tid, if it has
        // one that holds its tid now (only then does the kernel zero it at exec); or, with none,
        // the slot's. Any other word (never set) would read as done at once.
        let own = match crate::sys::tid_address() {
            Some(0) | None => 0,
            Some(a) if read_word(a) == Some(me) => a,
            Some(_) => return Err(scratch),
        };
        let Some(slot) = claim().or_else(|| {
            take_back_dead();
            claim()
        }) else {
            return Err(scratch);
        };
        slot.child.store(me, Ordering::Relaxed);
        slot.addr.store(scratch.ptr as usize, Ordering::Relaxed);
        slot.len.store(scratch.len, Ordering::Relaxed);
        slot.watch.store(own, Ordering::Relaxed);
        if own == 0 {
            slot.tid.store(me, Ordering::Release);
            crate::sys::set_tid_address(slot.tid.as_ptr() as usize);
        }
        slot.state.store(HELD, Ordering::Release);
        HELD_COUNT.fetch_add(1, Ordering::AcqRel);
        Ok(Grave {
            slot,
            scratch: Some(scratch),
        })
    }

    /// The exec returned: take the mapping back (it is unmapped when dropped).
    pub fn unbury(mut self) -> Option<Scratch> {
        let slot = self.slot;
        if slot.watch.load(Ordering::Relaxed) == 0 {
            // As the child was made: without a clear-child-tid address.
            crate::sys::set_tid_address(0);
        }
        release(slot);
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

fn claim() -> Option<&'static Slot> {
    TABLE.iter().find(|s| {
        s.state
            .compare_exchange(FREE, BUSY, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    })
}

fn release(slot: &Slot) {
    slot.tid.store(NONE, Ordering::Relaxed);
    slot.watch.store(0, Ordering::Relaxed);
    // No tid and no mapping left behind: between a new claim and its child's first store, a
    // hook taking back dead children's slots (`take_back_dead`) must see nothing to take.
    slot.child.store(0, Ordering::Relaxed);
    slot.addr.store(0, Ordering::Relaxed);
    slot.len.store(0, Ordering::Relaxed);
    slot.state.store(FREE, Ordering::Release);
}

/// A 4-byte word of this process's memory, if it can be read (a watched word's memory may have
/// been freed since).
fn read_word(addr: usize) -> Option<i32> {
    if !addr.is_multiple_of(4) || !crate::probe::Probe::new().range(addr, 4) {
        return None;
    }
    // SAFETY: aligned and readable, just checked; the kernel writes it atomically.
    Some(unsafe { (*(addr as *const AtomicI32)).load(Ordering::Acquire) })
}

/// Whether the slot's child has exec'd or exited: its word no longer holds its tid. The kernel
/// zeroes it; a program's own word may already hold the next child's tid (one futex word for
/// every spawn), and an unreadable one went away with the memory the child used.
fn done(slot: &Slot) -> bool {
    let child = slot.child.load(Ordering::Relaxed);
    match slot.watch.load(Ordering::Relaxed) {
        0 => slot.tid.load(Ordering::Acquire) != child,
        w => read_word(w).is_none_or(|v| v != child),
    }
}

/// Unmaps what children that shared this process's memory left behind when they exec'd or
/// exited. Cheap when there is none.
pub fn sweep() {
    if HELD_COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    for slot in &TABLE {
        if slot.state.load(Ordering::Acquire) != HELD || !done(slot) {
            continue;
        }
        if slot
            .state
            .compare_exchange(HELD, SWEEPING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        unmap(slot);
        release(slot);
        HELD_COUNT.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Takes back the slots of children killed while they filled them (before their word was set
/// up, so no exec or exit will ever mark them): those whose tid no longer exists.
fn take_back_dead() {
    for slot in &TABLE {
        let child = slot.child.load(Ordering::Relaxed);
        if slot.state.load(Ordering::Acquire) != BUSY || child <= 0 || crate::sys::alive(child) {
            continue;
        }
        if slot
            .state
            .compare_exchange(BUSY, SWEEPING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            unmap(slot);
            release(slot);
        }
    }
}

fn unmap(slot: &Slot) {
    let (addr, len) = (
        slot.addr.swap(0, Ordering::Relaxed),
        slot.len.swap(0, Ordering::Relaxed),
    );
    if addr != 0 {
        // SAFETY: a mapping recorded by a child that has since exec'd (into memory of its
        // own), exited or died: nothing uses it.
        unsafe { crate::sys::munmap(addr as *mut u8, len) };
    }
}
