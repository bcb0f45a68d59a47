//! The library's runtime without `std`: a bump allocator and a panic handler that aborts.
//!
//! Only load-time code allocates (the constructor, and a server healing itself before `main`);
//! the exec path never does (`c-tests/exec_path.py` proves it). So the allocator never frees:
//! it hands out a static arena (pages cost nothing until touched, and most processes touch
//! one) and, past it, anonymous mappings. Not using libc's malloc keeps the loader from
//! looking up malloc, free and realloc in every process, and keeps the shim's few allocations
//! out of the host's heap. Allocation is a lock-free bump, so it is also async-signal-safe.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// The static arena: a session is a few kilobytes, and a usual config's parse budget
/// (`config::parse_budget`: 16 KiB and 40 bytes a byte) fits beside it, so that reading a config
/// of up to about 1 KiB maps nothing (a mapping and its teardown: -12 us a process, paired).
/// Pages of it cost nothing until touched.
const ARENA: usize = 64 * 1024;
/// Each mapping past the arena, unless one allocation needs more.
const CHUNK: usize = 64 * 1024;

/// The arena, and with it everything else the constructor writes: the allocator's state and
/// the roots of what the constructor builds. Every page a process writes at load is a page
/// fault (several microseconds each in a virtual machine), so these share one page with
/// `.data` (written by the loader's relocations): `.data.zero` comes right after `.data`
/// (`src/load.ld`), and this is the first thing in it.
#[repr(C, align(64))]
struct Heap {
    /// The current region's start and end addresses and the next free address in it (0: none).
    start: AtomicUsize,
    end: AtomicUsize,
    next: AtomicUsize,
    /// Whether the current region is a mapping made by `reserve` (which `trim` may shorten).
    reserved: AtomicBool,
    roots: [AtomicPtr<()>; ROOTS],
    mem: UnsafeCell<[u8; ARENA]>,
}

// SAFETY: bytes are handed out once each, by an atomic bump; the rest is atomics.
unsafe impl Sync for Heap {}

/// The roots: the hooks' `Edge` (`init`), the loader's symbol tables (`real`).
pub const EDGE: usize = 0;
pub const LINKS: usize = 1;
const ROOTS: usize = 2;

#[allow(clippy::declare_interior_mutable_const)]
const NO_ROOT: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());

#[link_section = ".data.zero"]
static HEAP: Heap = Heap {
    start: AtomicUsize::new(0),
    end: AtomicUsize::new(0),
    next: AtomicUsize::new(0),
    reserved: AtomicBool::new(false),
    roots: [NO_ROOT; ROOTS],
    mem: UnsafeCell::new([0; ARENA]),
};

/// A root: a pointer the constructor publishes for the hooks.
pub fn root(i: usize) -> &'static AtomicPtr<()> {
    static NONE: AtomicPtr<()> = AtomicPtr::new(core::ptr::null_mut());
    HEAP.roots.get(i).unwrap_or(&NONE)
}

struct Bump;

impl Bump {
    fn region() -> (usize, usize) {
        if HEAP.start.load(Ordering::Acquire) == 0 {
            let base = HEAP.mem.get() as usize;
            if HEAP
                .start
                .compare_exchange(0, base, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                HEAP.next.store(base, Ordering::Release);
                HEAP.end.store(base + ARENA, Ordering::Release);
            }
        }
        (
            HEAP.next.load(Ordering::Acquire),
            HEAP.end.load(Ordering::Acquire),
        )
    }

    /// Bumps `size` bytes at `align` from the current region; `None` if it does not fit.
    fn bump(size: usize, align: usize) -> Option<*mut u8> {
        loop {
            let (next, end) = Self::region();
            let at = next.checked_add(align - 1)? & !(align - 1);
            let new = at.checked_add(size)?;
            if new > end {
                return None;
            }
            if HEAP
                .next
                .compare_exchange(next, new, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Some(at as *mut u8);
            }
        }
    }

    /// Starts a new region of at least `size + align` bytes.
    fn grow(size: usize, align: usize) -> bool {
        let len = (size + align).max(CHUNK).next_multiple_of(4096);
        let Some(p) = crate::sys::mmap(len) else {
            return false;
        };
        // A racing grow may replace this region; its unused part is lost, never reused.
        HEAP.next.store(p as usize, Ordering::Release);
        HEAP.end.store(p as usize + len, Ordering::Release);
        true
    }
}

/// Makes the next `len` bytes of allocations come from one new mapping, so that work whose
/// memory use is bounded (reading and parsing the config) cannot fail half-way; false if the
/// mapping cannot be had (RLIMIT_DATA, RLIMIT_AS, no memory). Load time only.
pub fn reserve(len: usize) -> bool {
    let Some(len) = len.checked_next_multiple_of(4096) else {
        return false;
    };
    let Some(p) = crate::sys::mmap(len) else {
        return false;
    };
    trim();
    HEAP.start.store(p as usize, Ordering::Release);
    HEAP.next.store(p as usize, Ordering::Release);
    HEAP.end.store(p as usize + len, Ordering::Release);
    HEAP.reserved.store(true, Ordering::Release);
    true
}

/// What the rest of the load may still allocate, set by the constructor before it allocates:
/// `room_for` keeps this much on top of what it is asked for, so that the work after a bounded
/// one (the config's read, which may move the allocator to a region of its own) cannot need a
/// mapping that may be refused, and abort the process.
static SPARE: AtomicUsize = AtomicUsize::new(0);

/// Sets what `room_for` keeps on top. Load time only.
pub fn keep_spare(len: usize) {
    SPARE.store(len, Ordering::Release);
}

/// Whether `len` more bytes, and the spare on top, can be allocated without a mapping that may
/// be refused: the current region has them, or a region of that size could be reserved (and now
/// is). `room_for(0)`: whether the rest of the load still can. Load time only.
pub fn room_for(len: usize) -> bool {
    let len = len.saturating_add(SPARE.load(Ordering::Acquire));
    let (next, end) = Bump::region();
    end.saturating_sub(next) >= len || reserve(len)
}

/// Gives back the untouched end of a region `reserve` made. Load time only.
pub fn trim() {
    if !HEAP.reserved.swap(false, Ordering::AcqRel) {
        return;
    }
    let next = HEAP.next.load(Ordering::Acquire).next_multiple_of(4096);
    let end = HEAP.end.load(Ordering::Acquire);
    if next < end {
        HEAP.end.store(next, Ordering::Release);
        // SAFETY: the pages past every block handed out from this mapping: none in use.
        unsafe { crate::sys::munmap(next as *mut u8, end - next) };
    }
}

// SAFETY: every block is fresh memory of the layout's size and alignment, never handed out
// twice; dealloc does nothing, so no block is reused.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        if let Some(p) = Self::bump(size, align) {
            return p;
        }
        if Self::grow(size, align) {
            if let Some(p) = Self::bump(size, align) {
                return p;
            }
        }
        core::ptr::null_mut()
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The last block grows in place (a Vec filled at load, serde's buffers).
        let end = ptr as usize + layout.size();
        if new_size >= layout.size()
            && end + (new_size - layout.size()) <= HEAP.end.load(Ordering::Acquire)
            && HEAP
                .next
                .compare_exchange(
                    end,
                    ptr as usize + new_size,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
        {
            return ptr;
        }
        // SAFETY: a valid layout of the same alignment; the new block is fresh.
        let new =
            unsafe { self.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
        if !new.is_null() {
            // SAFETY: both blocks hold at least min(old, new) bytes and do not overlap.
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
        }
        new
    }
}

#[global_allocator]
static ALLOC: Bump = Bump;

/// No code path is meant to panic; if one ever does, stop here rather than unwind into the
/// host's C frames.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    crate::sys::abort()
}

/// Pulls `nounwind.c`'s definitions into the link before `core` and `alloc` need them.
#[used]
static KEEP_NOUNWIND: [unsafe extern "C" fn(); 1] = [rust_eh_personality];

extern "C" {
    fn rust_eh_personality();
}
