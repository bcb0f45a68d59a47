//! The library's runtime without `std`: a global allocator over libc's malloc (load time only:
//! the exec path never allocates) and a panic handler that aborts. Leaving `std` out keeps
//! its runtime, its unwinder (`libgcc_s`) and some forty libc imports out of every process
//! the library is preloaded into, which is most of its load-time cost.

use core::alloc::{GlobalAlloc, Layout};

struct LibcAlloc;

/// What glibc's malloc guarantees on 64-bit targets.
const MALLOC_ALIGN: usize = 16;

// SAFETY: each method forwards to the libc function with the matching contract, and uses
// posix_memalign when the layout needs more alignment than malloc gives.
unsafe impl GlobalAlloc for LibcAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: malloc with a non-zero size (GlobalAlloc never asks for zero).
            return unsafe { libc::malloc(layout.size()) }.cast();
        }
        let mut p = core::ptr::null_mut();
        // SAFETY: the alignment is a power of two and a multiple of the pointer size.
        match unsafe { libc::posix_memalign(&mut p, layout.align(), layout.size()) } {
            0 => p.cast(),
            _ => core::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from malloc or posix_memalign above.
        unsafe { libc::free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `ptr` came from malloc; realloc keeps malloc's alignment.
            return unsafe { libc::realloc(ptr.cast(), new_size) }.cast();
        }
        // SAFETY: the new layout is valid: same alignment, size checked by the caller.
        let new =
            unsafe { self.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
        if !new.is_null() {
            // SAFETY: both blocks are at least min(old, new) bytes and do not overlap.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOC: LibcAlloc = LibcAlloc;

/// No code path is meant to panic; if one ever does, stop here rather than unwind into the
/// host's C frames.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: abort has no preconditions.
    unsafe { libc::abort() }
}

/// Pulls `nounwind.c`'s definitions into the link before `core` and `alloc` need them.
#[used]
static KEEP_NOUNWIND: [unsafe extern "C" fn(); 1] = [rust_eh_personality];

extern "C" {
    fn rust_eh_personality();
}
