//! The real libc functions behind the hooks: the next definition after this library, as
//! `dlsym(RTLD_NEXT, ...)` finds it, so a preloaded library after this one that hooks them too
//! stays in the chain. The constructor keeps the loader's symbol tables (`link::After`) of the
//! objects the program started with, and each function is looked up there when a hook first
//! needs it: a pure read of tables the loader never changes, lock-free and async-signal-safe.
//! At load only `AT_LOAD` are looked up (`environ`, and what a fork child's exec needs), so a
//! process that never starts a program (most of them, under `/etc/ld.so.preload`) reads 4 of
//! the 14 entries of libc's tables.
//!
//! The constructor keeps the tables only if they can settle every lookup by themselves
//! (`After::sure`: the library is preloaded, every object has a GNU hash table; an IFUNC is
//! resolved as the loader resolves it, on x86_64). Otherwise it settles every function itself,
//! with `dlsym` (`dlvsym` for glibc's pre-2.15 `posix_spawn`) where the tables cannot, as it
//! always did. `dlsym` takes the loader's lock and may allocate, so a hook calls it only
//! before the constructor has run (a program started from another library's constructor: the
//! process is still single-threaded inside the loader, which holds its lock for this thread),
//! behind `resolve_late`; `c-tests/exec_path.py` checks that this is the one road from a hook
//! to `dlsym`, and `t_attack4` that a first use never waits for the loader's lock.

use crate::link::{After, Found};
use core::ffi::{c_char, c_int, c_void, CStr};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use libc::{pid_t, posix_spawn_file_actions_t, posix_spawnattr_t};

pub type Argv = *const *const c_char;
type ExecveFn = unsafe extern "C" fn(*const c_char, Argv, Argv) -> c_int;
type FexecveFn = unsafe extern "C" fn(c_int, Argv, Argv) -> c_int;
type ExecveatFn = unsafe extern "C" fn(c_int, *const c_char, Argv, Argv, c_int) -> c_int;
type SpawnFn = unsafe extern "C" fn(
    *mut pid_t,
    *const c_char,
    *const posix_spawn_file_actions_t,
    *const posix_spawnattr_t,
    Argv,
    Argv,
) -> c_int;

pub struct Real {
    name: &'static CStr,
    /// A version of the symbol other than the default (glibc's compat `posix_spawn`): found
    /// in the loader's tables, or by `dlvsym`.
    version: Option<&'static CStr>,
    /// Searched from the first object (`environ`: the program's own copy, if it has one, is
    /// the one libc uses too), rather than after this library.
    global: bool,
    ptr: AtomicPtr<c_void>,
    /// Looked up, found or not: a function libc lacks (`execveat` before glibc 2.34) is not
    /// looked up again on every call.
    done: AtomicBool,
}

impl Real {
    const fn new(name: &'static CStr) -> Real {
        Real::with_scope(name, false)
    }

    const fn versioned(name: &'static CStr, version: &'static CStr) -> Real {
        Real {
            version: Some(version),
            ..Real::with_scope(name, false)
        }
    }

    const fn with_scope(name: &'static CStr, global: bool) -> Real {
        Real {
            name,
            version: None,
            global,
            ptr: AtomicPtr::new(core::ptr::null_mut()),
            done: AtomicBool::new(false),
        }
    }

    /// A first use: looked up in the tables the constructor kept, which it checked can settle
    /// every lookup (`After::sure`). Before the constructor: in the loader's tables found now,
    /// else `dlsym`.
    fn resolve(&self) {
        if let Some(after) = links() {
            match after.lookup(self.name, self.version, self.global) {
                Found::Yes(addr) => self.set(addr as *mut c_void),
                _ => self.set(core::ptr::null_mut()),
            }
            return;
        }
        match search_now(self) {
            Found::Yes(addr) => self.set(addr as *mut c_void),
            _ => self.ask_dlsym(),
        }
    }

    /// In the constructor, when it keeps no tables: the tables' answer where they have one,
    /// else `dlsym` (`dlvsym` for a version), as it has always been done at load.
    fn resolve_now(&self, tables: Option<&After>) {
        match tables.map(|t| t.lookup(self.name, self.version, self.global)) {
            Some(Found::Yes(addr)) => self.set(addr as *mut c_void),
            _ => self.ask_dlsym(),
        }
    }

    /// Where `dlsym` looks for it: from the first object (`global`), else after this library.
    fn handle(&self) -> *mut c_void {
        if self.global {
            libc::RTLD_DEFAULT
        } else {
            libc::RTLD_NEXT
        }
    }

    fn ask_dlsym(&self) {
        let handle = self.handle();
        let Some(version) = self.version else {
            // SAFETY: dlsym with a NUL-terminated name.
            return self.set(unsafe { libc::dlsym(handle, self.name.as_ptr()) });
        };
        // dlvsym and dladdr, found through dlsym: imports are lookups the loader makes in every
        // process. dlvsym refuses a definition without a version, which the loader accepts for
        // a versioned reference: a library after this one that hooks `posix_spawn` without
        // versions is the next definition when it is not in the object dlvsym found.
        // SAFETY: dlsym with NUL-terminated names; dlvsym and dladdr have these types.
        let found = unsafe {
            let versioned = match libc::dlsym(libc::RTLD_DEFAULT, c"dlvsym".as_ptr()) {
                f if f.is_null() => core::ptr::null_mut(),
                f => core::mem::transmute::<*mut c_void, DlvsymFn>(f)(
                    handle,
                    self.name.as_ptr(),
                    version.as_ptr(),
                ),
            };
            let plain = libc::dlsym(handle, self.name.as_ptr());
            if object_of(plain) != object_of(versioned) {
                plain
            } else {
                versioned
            }
        };
        self.set(found);
    }

    fn set(&self, p: *mut c_void) {
        self.ptr.store(p, Ordering::Release);
        self.done.store(true, Ordering::Release);
    }

    pub fn get(&self) -> *mut c_void {
        if self.done.load(Ordering::Acquire) {
            self.ptr.load(Ordering::Acquire)
        } else {
            self.resolve_late()
        }
    }

    /// A first call, or one before the constructor: see the module's comment.
    #[cold]
    #[inline(never)]
    fn resolve_late(&self) -> *mut c_void {
        self.resolve();
        self.ptr.load(Ordering::Acquire)
    }
}

static EXECVE: Real = Real::new(c"execve");
static EXECVPE: Real = Real::new(c"execvpe");
static FEXECVE: Real = Real::new(c"fexecve");
static EXECVEAT: Real = Real::new(c"execveat");
static POSIX_SPAWN: Real = Real::new(c"posix_spawn");
static POSIX_SPAWNP: Real = Real::new(c"posix_spawnp");
/// glibc's versions for programs built before 2.15: they run a file without `#!` through
/// /bin/sh where the new ones fail with ENOEXEC. Only x86_64 has them.
static POSIX_SPAWN_COMPAT: Real = Real::versioned(c"posix_spawn", c"GLIBC_2.2.5");
static POSIX_SPAWNP_COMPAT: Real = Real::versioned(c"posix_spawnp", c"GLIBC_2.2.5");
/// libc's data the hooks need, found the same way rather than as imports: every symbol the
/// library imports is a lookup the loader makes in every process.
static ERRNO_LOCATION: Real = Real::new(c"__errno_location");
static ENVIRON: Real = Real::with_scope(c"environ", true);
/// `longjmp` and its kin (`jumps`), called from signal handlers: found the same way.
pub static LONGJMP: Real = Real::new(c"longjmp");
pub static UNDERSCORE_LONGJMP: Real = Real::new(c"_longjmp");
pub static SIGLONGJMP: Real = Real::new(c"siglongjmp");
pub static LONGJMP_CHK: Real = Real::new(c"__longjmp_chk");

/// The calling thread's errno.
pub fn errno_location() -> *mut c_int {
    let f = ERRNO_LOCATION.get();
    if f.is_null() {
        static mut NOWHERE: c_int = 0;
        return core::ptr::addr_of_mut!(NOWHERE);
    }
    // SAFETY: libc's __errno_location, which takes nothing and returns the thread's errno.
    unsafe { core::mem::transmute::<*mut c_void, unsafe extern "C" fn() -> *mut c_int>(f)() }
}

/// The address of the process's `environ` variable (NULL if it cannot be found).
pub fn environ() -> *mut Argv {
    ENVIRON.get().cast()
}

/// The process's environment now (NULL if `environ` cannot be found).
pub fn current_environ() -> Argv {
    let at = environ();
    if at.is_null() {
        return core::ptr::null();
    }
    // SAFETY: the address of the process's environ variable.
    unsafe { *at }
}

/// Replaces the process's environment array.
///
/// # Safety
/// Only before `main`, when nothing else reads or writes `environ`.
pub unsafe fn set_environ(array: Argv) {
    let at = environ();
    if !at.is_null() {
        // SAFETY: the caller's promise.
        unsafe { *at = array };
    }
}

type DlvsymFn = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> *mut c_void;
type DladdrFn = unsafe extern "C" fn(*const c_void, *mut libc::Dl_info) -> c_int;

/// The load address of the object that holds `p` (NULL: none, or no `dladdr`). Load time only.
fn object_of(p: *mut c_void) -> *mut c_void {
    if p.is_null() {
        return p;
    }
    // SAFETY: dlsym with a NUL-terminated name; dladdr has this type and fills `info`.
    unsafe {
        let f = libc::dlsym(libc::RTLD_DEFAULT, c"dladdr".as_ptr());
        let mut info: libc::Dl_info = core::mem::zeroed();
        if f.is_null() || core::mem::transmute::<*mut c_void, DladdrFn>(f)(p, &mut info) == 0 {
            return core::ptr::null_mut();
        }
        info.dli_fbase
    }
}

/// Looked up at load even when the tables are kept: `environ`, which the constructor reads,
/// and what a `fork` child's exec needs. A fork child does not inherit the parent's mappings
/// of libc's symbol tables (file pages are not copied at fork): looking them up in every such
/// child cost it 10 us (fork+execve of a child left alone, `make bench`), where the parent
/// pays about 1 us each, once.
const AT_LOAD: [&Real; 4] = [&ENVIRON, &EXECVE, &EXECVPE, &ERRNO_LOCATION];

/// The others: looked up on first use when the tables are kept.
const LATER: [&Real; 10] = [
    &FEXECVE,
    &EXECVEAT,
    &POSIX_SPAWN,
    &POSIX_SPAWNP,
    &POSIX_SPAWN_COMPAT,
    &POSIX_SPAWNP_COMPAT,
    &LONGJMP,
    &UNDERSCORE_LONGJMP,
    &SIGLONGJMP,
    &LONGJMP_CHK,
];

/// Every real function.
fn all() -> impl Iterator<Item = &'static Real> {
    AT_LOAD.into_iter().chain(LATER)
}

/// The loader's tables the constructor kept in the load-time arena (`rt::LINKS`).
fn links() -> Option<&'static After> {
    let p = crate::rt::root(crate::rt::LINKS).load(Ordering::Acquire);
    // SAFETY: NULL, or an After the constructor leaked and published (Release/Acquire).
    unsafe { p.cast::<After>().as_ref() }
}

/// Before the constructor (a spawn from another library's constructor; the process is still
/// in the loader, one thread): the loader's tables, found now.
#[inline(never)]
fn search_now(r: &Real) -> Found {
    with_tables_now(|after| after.lookup(r.name, r.version, r.global))
}

fn with_tables_now(f: impl FnOnce(&After) -> Found) -> Found {
    let mut after = After::EMPTY;
    if tables_now(&mut after) {
        f(&after)
    } else {
        Found::Unsure
    }
}

/// Fills `after` from the auxiliary vector the kernel keeps (not the constructor's): false if
/// the tables cannot be found.
fn tables_now(after: &mut After) -> bool {
    let mut buf = [core::mem::MaybeUninit::uninit(); 128];
    find_tables(
        after,
        crate::init::auxv(0, core::ptr::null(), core::ptr::null(), &mut buf),
    )
}

/// Fills `after` with the tables the auxiliary vector `aux` leads to: false if none.
fn find_tables(after: &mut After, aux: &[usize]) -> bool {
    let at = |kind| crate::init::aux_value(aux, kind);
    let (loader, vdso) = (at(libc::AT_BASE), at(libc::AT_SYSINFO_EHDR));
    at(libc::AT_PHDR)
        .zip(at(libc::AT_PHNUM))
        .is_some_and(|(p, n)| after.find(p, n, loader.unwrap_or(0), vdso.unwrap_or(0)))
}

/// Called once by the constructor, with the auxiliary vector: keeps the loader's tables for
/// the lookups to come when they can settle every one of them from a hook (`lazy_ok`), else
/// settles every function now, with `dlsym` where the tables cannot. `AT_LOAD` are looked up
/// now either way.
pub fn resolve_all(aux: &[usize]) {
    // Filled in place in the arena: the tables are most of a kilobyte.
    let mut kept = alloc::boxed::Box::new(After::EMPTY);
    let found = find_tables(&mut kept, aux);
    if found && lazy_ok(&kept) {
        let kept = alloc::boxed::Box::into_raw(kept);
        crate::rt::root(crate::rt::LINKS).store(kept.cast(), Ordering::Release);
        for r in AT_LOAD {
            r.resolve();
        }
    } else {
        let tables = found.then_some(&*kept);
        all().for_each(|r| r.resolve_now(tables));
    }
}

/// Whether a hook may look the rest up by itself later: the tables are sure (`After::sure`),
/// libc (the object that defines `execve`) is among them, and no object between this library
/// and libc defines a function looked up later as an IFUNC, whose resolver (someone else's
/// code, which may take locks) must not run from a hook. libc's own resolvers only read the
/// CPU's features.
fn lazy_ok(after: &After) -> bool {
    after.sure()
        && after.definer(EXECVE.name).is_some_and(|libc| {
            !after.ifunc_before(libc, LATER.iter().map(|r| (r.name, r.version)))
        })
}

/// For the tests: how many of the real functions the direct search resolves differently from
/// `dlsym(RTLD_NEXT)` (0 is right), or -1 if it found none of them by itself.
#[no_mangle]
pub extern "C" fn __mcp_env_shim_selfcheck() -> c_int {
    let mut after = After::EMPTY;
    if !tables_now(&mut after) {
        return -1;
    }
    let mut found = 0;
    let mut differ = 0;
    for r in all().filter(|r| r.version.is_none()) {
        if let Found::Yes(addr) = after.lookup(r.name, None, r.global) {
            found += 1;
            // SAFETY: dlsym with a NUL-terminated name (a test helper).
            let want = unsafe { libc::dlsym(r.handle(), r.name.as_ptr()) };
            differ += c_int::from(addr as *mut c_void != want);
        }
    }
    if found == 0 {
        -1
    } else {
        differ
    }
}

fn fail(err: c_int) -> c_int {
    crate::spawn::set_errno(err);
    -1
}

/// # Safety
/// The arguments of `execve(2)`.
pub unsafe fn execve(path: *const c_char, argv: Argv, envp: Argv) -> c_int {
    let f = EXECVE.get();
    if f.is_null() {
        // SAFETY: the raw system call takes the same arguments.
        return unsafe { crate::sys::exec_raw(path, argv, envp) };
    }
    // SAFETY: `f` is libc's execve, whose type this is.
    unsafe { core::mem::transmute::<*mut c_void, ExecveFn>(f)(path, argv, envp) }
}

/// # Safety
/// The arguments of `execvpe(3)`.
pub unsafe fn execvpe(file: *const c_char, argv: Argv, envp: Argv) -> c_int {
    let f = EXECVPE.get();
    if f.is_null() {
        return fail(libc::ENOSYS);
    }
    // SAFETY: `f` is libc's execvpe, which has execve's type.
    unsafe { core::mem::transmute::<*mut c_void, ExecveFn>(f)(file, argv, envp) }
}

/// # Safety
/// The arguments of `fexecve(3)`.
pub unsafe fn fexecve(fd: c_int, argv: Argv, envp: Argv) -> c_int {
    let f = FEXECVE.get();
    if f.is_null() {
        return fail(libc::ENOSYS);
    }
    // SAFETY: `f` is libc's fexecve, whose type this is.
    unsafe { core::mem::transmute::<*mut c_void, FexecveFn>(f)(fd, argv, envp) }
}

/// # Safety
/// The arguments of `execveat(2)`.
pub unsafe fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: Argv,
    envp: Argv,
    flags: c_int,
) -> c_int {
    let f = EXECVEAT.get();
    if f.is_null() {
        // glibc before 2.34 has no wrapper; the system call is the same thing.
        // SAFETY: the raw system call takes the same arguments.
        return unsafe { crate::sys::execveat_raw(dirfd, path, argv, envp, flags) };
    }
    // SAFETY: `f` is libc's execveat, whose type this is.
    unsafe { core::mem::transmute::<*mut c_void, ExecveatFn>(f)(dirfd, path, argv, envp, flags) }
}

/// # Safety
/// The arguments of `posix_spawn(3)` (`search` selects `posix_spawnp`, `compat` glibc's
/// version for programs built before 2.15, where it has one).
pub unsafe fn posix_spawn(
    (search, compat): (bool, bool),
    pid: *mut pid_t,
    path: *const c_char,
    actions: *const posix_spawn_file_actions_t,
    attr: *const posix_spawnattr_t,
    argv: Argv,
    envp: Argv,
) -> c_int {
    let old = match (compat, search) {
        (false, _) => core::ptr::null_mut(),
        (true, false) => POSIX_SPAWN_COMPAT.get(),
        (true, true) => POSIX_SPAWNP_COMPAT.get(),
    };
    let f = match (old.is_null(), search) {
        (false, _) => old,
        (true, false) => POSIX_SPAWN.get(),
        (true, true) => POSIX_SPAWNP.get(),
    };
    if f.is_null() {
        return libc::ENOSYS;
    }
    // SAFETY: `f` is libc's posix_spawn or posix_spawnp, which share this type.
    unsafe { core::mem::transmute::<*mut c_void, SpawnFn>(f)(pid, path, actions, attr, argv, envp) }
}
