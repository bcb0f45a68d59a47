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

/* The unwinding tables stay, for a debugger, a profiler or a crash handler that walks a stack
 * through the library, but out of the first window of the code segment, which every process maps
 * whole (with the read-only data before the code, build.rs): src/load.ld
 * places this word at the end of the .eh_frame output section. Zero, it reads there as a
 * terminator, so the tables parse as before; writable, it makes lld put .eh_frame in the RELRO
 * segment, which no process reads at load and the loader makes read-only after relocation. */
__attribute__((used, aligned(4), section(".data.rel.ro.eh_frame_end"))) static int eh_frame_end = 0;
