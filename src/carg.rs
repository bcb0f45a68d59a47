//! The child's arguments as detection reads them: argv's own pointer array, each string
//! measured only when a rule looks at it. No copy of the arguments is made on the hook's
//! stack.

use crate::real::Argv;
use core::ffi::c_char;
use core::marker::PhantomData;
use mcp_env_shim_core::detect::Arg;

/// One argv entry: a non-NULL pointer to a NUL-terminated string that lives as long as `'a`.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct CArg<'a> {
    ptr: *const c_char,
    life: PhantomData<&'a [u8]>,
}

impl<'a> Arg<'a> for CArg<'a> {
    fn bytes(self) -> &'a [u8] {
        // SAFETY: a CArg is only made by `args` below, from a non-NULL argv entry that the
        // caller promised outlives 'a; `bytes` reads up to its NUL (strlen).
        unsafe { crate::spawn::bytes(self.ptr) }
    }
}

/// The first `max` entries of argv, in place (NULL counts as empty, as Linux takes it).
///
/// # Safety
/// `argv` is NULL or a NULL-terminated array of NUL-terminated strings that outlive `'a`.
pub unsafe fn args<'a>(argv: Argv, max: usize) -> &'a [CArg<'a>] {
    if argv.is_null() {
        return &[];
    }
    let mut n = 0;
    // SAFETY: we stop at the terminating NULL (or at `max`), so every entry read is in the array.
    while n < max && !unsafe { *argv.add(n) }.is_null() {
        n += 1;
    }
    // SAFETY: the first `n` entries were just read and are not NULL; the caller's promise
    // covers the strings.
    unsafe { from_ptrs(core::slice::from_raw_parts(argv, n)) }
}

/// Argument pointers (each a NUL-terminated string that outlives `'a`: read and checked by
/// the caller, or argv's own), seen as `CArg`s without a copy.
///
/// # Safety
/// Every pointer in `ptrs` is a readable NUL-terminated string that outlives `'a`.
pub unsafe fn from_ptrs<'a>(ptrs: &'a [*const c_char]) -> &'a [CArg<'a>] {
    // SAFETY: CArg is repr(transparent) over `*const c_char` (its other field is a zero-sized
    // marker); the caller's promise covers what `bytes` reads.
    unsafe { core::slice::from_raw_parts(ptrs.as_ptr().cast::<CArg<'a>>(), ptrs.len()) }
}
