/* The precompiled `core` and `alloc` libraries carry unwinding landing pads that name these
 * two symbols. The library is built with panic=abort and never unwinds, and without `std`
 * nothing defines them: the loader (BIND_NOW) would refuse to load it. They are hidden: they
 * must never interpose the host's own unwinder (a C++ host's exceptions go through
 * _Unwind_Resume). They trap rather than call libc's abort: one libc symbol fewer for the
 * loader to look up in every process. */

__attribute__((visibility("hidden"), noreturn)) void _Unwind_Resume(void *exception) {
    (void)exception;
    __builtin_trap();
}

__attribute__((visibility("hidden"), noreturn)) void rust_eh_personality(void) {
    __builtin_trap();
}
