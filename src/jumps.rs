//! `longjmp` and its kin, passed on to libc's after one thing: a jump out of a signal handler
//! that interrupted a log write ends that write's window (`sigwindow::leaving`), whose record
//! a later, unrelated exec would otherwise take for its own.

use core::ffi::{c_int, c_void};
use core::sync::atomic::AtomicPtr;

type Jump = unsafe extern "C" fn(*mut c_void, c_int) -> !;

macro_rules! jump {
    ($name:ident, $c:literal) => {
        /// # Safety
        /// As `longjmp(3)`.
        #[no_mangle]
        pub unsafe extern "C" fn $name(env: *mut c_void, val: c_int) -> ! {
            crate::sigwindow::leaving();
            static REAL: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());
            let f = crate::real::libc_function(&REAL, $c);
            if f.is_null() {
                // No libc has none; nothing else can be done for a jump that must not return.
                crate::sys::abort();
            }
            // SAFETY: libc's function of the same name and type, with the caller's arguments.
            unsafe { core::mem::transmute::<*mut c_void, Jump>(f)(env, val) }
        }
    };
}

jump!(longjmp, c"longjmp");
jump!(_longjmp, c"_longjmp");
jump!(siglongjmp, c"siglongjmp");
jump!(__longjmp_chk, c"__longjmp_chk");
