//! Memory for one selected spawn: the merged envp, the child's `KEY=VALUE` strings and the log
//! line, in an anonymous mapping rather than on the stack. A hook may run on a signal handler's
//! alternate stack or in a `vfork` child on a tight stack; with the buffers mapped, its own
//! frame stays a few hundred bytes whatever the size of the environment. `mmap` is
//! async-signal-safe.
//!
//! One case needs care: a child that shares its parent's memory (`vfork`, `posix_spawn`'s
//! clone, a bare `clone(CLONE_VM)`), where an exec that succeeds never comes back to unmap.
//! Its mapping would stay in the parent for good. So such a child records its mapping in a
//! slot of a fixed table first and points the kernel's clear-child-tid address
//! (`set_tid_address`) at the slot: when the child execs or exits, the kernel writes 0 there,
//! and the next hook in any thread of the parent unmaps the mapping. A child whose
//! clear-child-tid address is already set is a `fork` child (glibc's fork sets it to its own
//! thread's tid field) with memory of its own: it needs no slot. When the table is full, the
//! hook passes the exec through untouched rather than leak.

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

/// Children sharing memory that may exec at once; a slot is 24 bytes of zeroed memory.
const SLOTS: usize = 128;
const FREE: u32 = 0;
const BUSY: u32 = 1;
const HELD: u32 = 2;

struct Slot {
    state: AtomicU32,
    /// The child's tid while its exec may still use the mapping; the kernel sets it to 0 when
    /// the child execs or exits.
    tid: AtomicI32,
    addr: AtomicUsize,
    len: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: Slot = Slot {
    state: AtomicU32::new(FREE),
    tid: AtomicI32::new(0),
    addr: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
};
static TABLE: [Slot; SLOTS] = [SLOT; SLOTS];
static HELD_COUNT: AtomicU32 = AtomicU32::new(0);

/// A mapping recorded for the exec it serves.
pub struct Grave {
    /// `None` in a child with memory of its own.
    slot: Option<&'static Slot>,
    scratch: Option<Scratch>,
}

impl Grave {
    fn new(scratch: Scratch) -> Result<Grave, Scratch> {
        match crate::sys::tid_address() {
            // A fork child: its memory goes away with the exec.
            Some(addr) if addr != 0 => {
                return Ok(Grave {
                    slot: None,
                    scratch: Some(scratch),
                })
            }
            // No address (a vfork or clone child), or a kernel that cannot say: a slot.
            _ => {}
        }
        let Some(slot) = TABLE.iter().find(|s| {
            s.state
                .compare_exchange(FREE, BUSY, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        }) else {
            return Err(scratch);
        };
        slot.tid.store(crate::sys::gettid(), Ordering::Relaxed);
        slot.addr.store(scratch.ptr as usize, Ordering::Relaxed);
        slot.len.store(scratch.len, Ordering::Relaxed);
        slot.state.store(HELD, Ordering::Release);
        HELD_COUNT.fetch_add(1, Ordering::AcqRel);
        crate::sys::set_tid_address(slot.tid.as_ptr() as usize);
        Ok(Grave {
            slot: Some(slot),
            scratch: Some(scratch),
        })
    }

    /// The exec returned: take the mapping back (it is unmapped when dropped).
    pub fn unbury(mut self) -> Option<Scratch> {
        if let Some(slot) = self.slot {
            // As the child was made: without a clear-child-tid address.
            crate::sys::set_tid_address(0);
            slot.state.store(FREE, Ordering::Release);
            HELD_COUNT.fetch_sub(1, Ordering::AcqRel);
        }
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

/// Unmaps what children that shared this process's memory left behind when they exec'd or
/// exited. Cheap when there is none.
pub fn sweep() {
    if HELD_COUNT.load(Ordering::Acquire) == 0 {
        return;
    }
    for slot in &TABLE {
        if slot.state.load(Ordering::Acquire) != HELD || slot.tid.load(Ordering::Acquire) != 0 {
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
        // SAFETY: the kernel cleared the tid: the child that used the mapping has exec'd (into
        // memory of its own) or exited.
        unsafe { crate::sys::munmap(addr as *mut u8, len) };
        slot.state.store(FREE, Ordering::Release);
        HELD_COUNT.fetch_sub(1, Ordering::AcqRel);
    }
}
