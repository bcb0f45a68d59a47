//! The child's arguments as detection reads them: argv's own pointer array, each string
//! measured only when a rule looks at it. No copy of the arguments is made on the hook's
//! stack.

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
        // A CArg is only made by `args` or `from_ptrs` below, from an argv entry that the
        // caller promised is readable and outlives 'a; `bytes` reads up to its NUL.
        crate::spawn::bytes(self.ptr)
    }
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
