//! The library's runtime without `std`: a bump allocator and a panic handler that aborts.
//!
//! Only load-time code allocates (the constructor, and a server healing itself before `main`);
//! the exec path never does (`c-tests/exec_path.py` proves it). So the allocator never frees:
//! it hands out a static arena in `.bss` (pages cost nothing until touched, and most processes
//! touch one) and, past it, anonymous mappings. Not using libc's malloc keeps the loader from
//! looking up malloc, free and realloc in every process, and keeps the shim's few allocations
//! out of the host's heap. Allocation is a lock-free bump, so it is also async-signal-safe.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The static arena: a session is a few kilobytes.
const ARENA: usize = 16 * 1024;
/// Each mapping past the arena, unless one allocation needs more.
const CHUNK: usize = 64 * 1024;

#[repr(C, align(64))]
struct Arena(UnsafeCell<[u8; ARENA]>);

// SAFETY: bytes are handed out once each, by an atomic bump.
unsafe impl Sync for Arena {}

static ARENA_MEM: Arena = Arena(UnsafeCell::new([0; ARENA]));
/// The current region's start and end addresses and the next free address in it (0: none).
static START: AtomicUsize = AtomicUsize::new(0);
static END: AtomicUsize = AtomicUsize::new(0);
static NEXT: AtomicUsize = AtomicUsize::new(0);

struct Bump;

impl Bump {
    fn region() -> (usize, usize) {
        if START.load(Ordering::Acquire) == 0 {
            let base = ARENA_MEM.0.get() as usize;
            if START
                .compare_exchange(0, base, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                NEXT.store(base, Ordering::Release);
                END.store(base + ARENA, Ordering::Release);
            }
        }
        (NEXT.load(Ordering::Acquire), END.load(Ordering::Acquire))
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
            if NEXT
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
        NEXT.store(p as usize, Ordering::Release);
        END.store(p as usize + len, Ordering::Release);
        true
    }
}

/// Whether the current region is a mapping made by `reserve` (which `trim` may shorten).
static RESERVED: AtomicBool = AtomicBool::new(false);

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
    START.store(p as usize, Ordering::Release);
    NEXT.store(p as usize, Ordering::Release);
    END.store(p as usize + len, Ordering::Release);
    RESERVED.store(true, Ordering::Release);
    true
}

/// Gives back the untouched end of a region `reserve` made. Load time only.
pub fn trim() {
    if !RESERVED.swap(false, Ordering::AcqRel) {
        return;
    }
    let next = NEXT.load(Ordering::Acquire).next_multiple_of(4096);
    let end = END.load(Ordering::Acquire);
    if next < end {
        END.store(next, Ordering::Release);
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
            && end + (new_size - layout.size()) <= END.load(Ordering::Acquire)
            && NEXT
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
