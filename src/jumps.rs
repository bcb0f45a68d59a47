//! `longjmp` and its kin, passed on to libc's after one thing: a jump out of a signal handler
//! that interrupted a log write ends that write's window (`sigwindow::leaving`), whose record
//! a later, unrelated exec would otherwise take for its own.

use core::ffi::{c_int, c_void};

type Jump = unsafe extern "C" fn(*mut c_void, c_int) -> !;

macro_rules! jump {
    ($name:ident, $real:path) => {
        /// # Safety
        /// As `longjmp(3)`.
        #[no_mangle]
        pub unsafe extern "C" fn $name(env: *mut c_void, val: c_int) -> ! {
            crate::sigwindow::leaving();
            let f = $real.get();
            if f.is_null() {
                // No libc has none; nothing else can be done for a jump that must not return.
                crate::sys::abort();
            }
            // SAFETY: libc's function of the same name and type, with the caller's arguments.
            unsafe { core::mem::transmute::<*mut c_void, Jump>(f)(env, val) }
        }
    };
}

jump!(longjmp, crate::real::LONGJMP);
jump!(_longjmp, crate::real::UNDERSCORE_LONGJMP);
jump!(siglongjmp, crate::real::SIGLONGJMP);
jump!(__longjmp_chk, crate::real::LONGJMP_CHK);
