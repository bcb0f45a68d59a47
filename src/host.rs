//! The host's own block values (`core::session::Host`), read the first time a child needs
//! them rather than at load: under `/etc/ld.so.preload` every process loads the library and
//! most never start a program. They come from the environment the process had when it loaded
//! (a copy of that envp array, made at load: a program that later clears or edits its
//! `environ`, as `env -i` and libuv's child do before exec, does not change what the gateway
//! had). The strings are read where they are, when the values are built: a program that
//! writes its title over its original environment strings (`setproctitle`) before its first
//! spawn loses the values it overwrote (a README limit: copying them at load would cost every
//! process under `/etc/ld.so.preload` a page).
//!
//! Building is async-signal-safe (static memory, raw system calls, no lock, no panic), as it
//! happens in a hook: once in a process that spawns through `posix_spawn`; once in the memory
//! a `vfork` child shares with the gateway; in each `fork` child (a few microseconds), whose
//! memory is its own. (A fork-prepare handler that built it in the parent cost every process
//! two page faults at load, in `__register_atfork`.) A hook that finds another one building at the same
//! moment builds a private copy in mapped memory instead of waiting, and unmaps it before its
//! exec.

use crate::scratch::Scratch;
use core::cell::UnsafeCell;
use core::ffi::c_char;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};
use mcp_env_shim_core::block::{BUILTIN, MAX_KEYS};
use mcp_env_shim_core::envp::CLIENT_DEFAULTS;
use mcp_env_shim_core::session::{Host, Session};

/// Bytes of values kept in the static block; a host with more (values are a few dozen bytes
/// each) has its copies in a mapping.
const BYTES: usize = 8192;

/// The values of one host.
pub struct Block {
    /// (offset, length + 1) into `bytes` of each key's value; 0: absent.
    at: [(u32, u32); MAX_KEYS],
    has: u64,
    defaults: u8,
    longest: usize,
    bytes: *const u8,
}

impl Host for Block {
    fn value(&self, i: usize) -> Option<&[u8]> {
        let &(off, len) = self.at.get(i)?;
        if len == 0 {
            return None;
        }
        // SAFETY: `bytes` holds every value copied by `build`, which wrote (off, len + 1).
        Some(unsafe { core::slice::from_raw_parts(self.bytes.add(off as usize), len as usize - 1) })
    }
    fn has(&self) -> u64 {
        self.has
    }
    fn defaults(&self) -> u8 {
        self.defaults
    }
    fn longest(&self) -> usize {
        self.longest
    }
}

/// The shared block: built once, then only read.
struct Shared {
    state: AtomicU8,
    block: UnsafeCell<MaybeUninit<Block>>,
    bytes: UnsafeCell<[u8; BYTES]>,
}

// SAFETY: `block` and `bytes` are written only by the one builder that moved `state` from EMPTY
// to BUILDING, and read only after it stored BUILT (Release/Acquire).
unsafe impl Sync for Shared {}

const EMPTY: u8 = 0;
const BUILDING: u8 = 1;
const BUILT: u8 = 2;

static SHARED: Shared = Shared {
    state: AtomicU8::new(EMPTY),
    block: UnsafeCell::new(MaybeUninit::uninit()),
    bytes: UnsafeCell::new([0; BYTES]),
};

/// A host block to read: the shared one, or a private one in a mapping.
pub enum View {
    Shared(&'static Block),
    Private(Scratch),
}

impl View {
    pub fn host(&self) -> &Block {
        match self {
            View::Shared(b) => b,
            // SAFETY: a private scratch starts with a Block written by `build_private`.
            View::Private(s) => unsafe { &*s.base().cast::<Block>() },
        }
    }
}

/// The host's values for the session `s`, built from `envp` (the load-time array) if needed.
/// While another thread (or a vfork child of one) builds the shared block, a private copy is
/// mapped: the caller drops it (unmapping it) before any exec, so a child sharing the
/// gateway's memory leaves nothing behind.
pub fn view(s: &Session, envp: &[*const c_char]) -> Option<View> {
    match SHARED.state.load(Ordering::Acquire) {
        BUILT => return Some(View::Shared(shared())),
        EMPTY => {
            if SHARED
                .state
                .compare_exchange(EMPTY, BUILDING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: the CAS made this the only writer; no reader before BUILT. A Block is
                // integers and a pointer: all zeroes is one.
                let (block, bytes) = unsafe {
                    let b = (*SHARED.block.get()).as_mut_ptr();
                    core::ptr::write_bytes(b, 0, 1);
                    (&mut *b, &mut *SHARED.bytes.get())
                };
                if !build(s, envp, bytes, block) {
                    // More values than the static bytes hold: a mapping of its own, kept for
                    // the process's life like the static block (in a vfork child, it is the
                    // gateway's: shared, not leaked).
                    let len = values_len(envp).max(1);
                    if let Some(p) = crate::sys::mmap(len) {
                        // SAFETY: a fresh mapping of that length.
                        let more = unsafe { core::slice::from_raw_parts_mut(p, len) };
                        build(s, envp, more, block);
                    }
                }
                SHARED.state.store(BUILT, Ordering::Release);
                return Some(View::Shared(shared()));
            }
            if SHARED.state.load(Ordering::Acquire) == BUILT {
                return Some(View::Shared(shared()));
            }
        }
        _ => {}
    }
    build_private(s, envp)
}

fn shared() -> &'static Block {
    // SAFETY: called only once BUILT was stored, after the block was written.
    unsafe { (*SHARED.block.get()).assume_init_ref() }
}

/// A private block in a mapping: a Block, then the bytes of the values.
fn build_private(s: &Session, envp: &[*const c_char]) -> Option<View> {
    let head = core::mem::size_of::<Block>().next_multiple_of(16);
    let mut scratch = Scratch::map(head + values_len(envp))?;
    let base = scratch.base();
    let (_, _, bytes) = scratch.split3(0, head);
    // SAFETY: `bytes` is the mapping past `head`, fresh and writable.
    let bytes =
        unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast::<u8>(), bytes.len()) };
    // SAFETY: the mapping starts with room for a Block, page-aligned and zeroed (fresh
    // anonymous memory): all zeroes is a Block.
    let block = unsafe { &mut *base.cast::<Block>() };
    build(s, envp, bytes, block);
    Some(View::Private(scratch))
}

/// An upper bound of the bytes all values of `envp` take.
fn values_len(envp: &[*const c_char]) -> usize {
    envp.iter().map(|&e| crate::spawn::bytes(e).len() + 1).sum()
}

/// Reads the block's keys and the SDK's default keys out of `envp` into `bytes`, and their
/// places into `b` (written in place: a Block is half a kilobyte, too much for a hook's
/// stack). In secure mode nothing is read: the environment belongs to the user who started the
/// program. False when a value did not fit in `bytes` (what fitted is kept).
fn build(s: &Session, envp: &[*const c_char], bytes: &mut [u8], b: &mut Block) -> bool {
    b.at = [(0, 0); MAX_KEYS];
    b.has = 0;
    b.defaults = 0;
    b.longest = 0;
    b.bytes = bytes.as_ptr();
    if s.process.secure {
        return true;
    }
    let mut used = 0usize;
    let mut fitted = true;
    let extras = s.keys.get(BUILTIN.len()..).unwrap_or_default();
    for &entry in envp {
        // Most entries are turned away by their first two bytes, without reading further.
        let mut cands = by_two(entry);
        let mut matched = None;
        while cands != 0 {
            let i = cands.trailing_zeros() as usize;
            cands &= cands - 1;
            if let Some(v) = prefix(entry, name_at(i)) {
                matched = Some((i, v));
                break;
            }
        }
        let (key, v) =
            match matched {
                Some((i, _)) if i >= BUILTIN.len() => {
                    b.defaults |= 1 << (i - BUILTIN.len());
                    continue;
                }
                Some(found) => found,
                // A config's extra keys: compared one by one (rare, and few).
                None if !extras.is_empty() => match extras.iter().enumerate().find_map(|(j, k)| {
                    prefix(entry, k.name.as_bytes()).map(|v| (BUILTIN.len() + j, v))
                }) {
                    Some(found) => found,
                    None => continue,
                },
                None => continue,
            };
        if key >= MAX_KEYS || b.has & (1 << key) != 0 {
            // The first occurrence wins, as getenv's does.
            continue;
        }
        let value = crate::spawn::bytes(v);
        let Some(dst) = bytes.get_mut(used..used + value.len()) else {
            fitted = false;
            continue;
        };
        dst.copy_from_slice(value);
        if let Some(slot) = b.at.get_mut(key) {
            *slot = (used as u32, value.len() as u32 + 1);
        }
        used += value.len();
        b.has |= 1 << key;
        b.longest = b.longest.max(value.len());
    }
    fitted
}

/// The names one pass looks for: the built-in block, then the SDK's default keys.
const NAMES: usize = BUILTIN.len() + CLIENT_DEFAULTS.len();
const _: () = assert!(NAMES <= 32);

const fn name_at(i: usize) -> &'static [u8] {
    if i < BUILTIN.len() {
        BUILTIN[i].name.as_bytes()
    } else if i < NAMES {
        CLIENT_DEFAULTS[i - BUILTIN.len()].as_bytes()
    } else {
        b"\0"
    }
}

/// The slot of a name's first two bytes (five bits of each: letters of either case share one,
/// which only means more candidates to compare).
const fn two(first: u8, second: u8) -> usize {
    ((first as usize & 31) << 5) | (second as usize & 31)
}

/// The names by their first two bytes, at compile time.
static NAMES_BY_TWO: [u32; 1024] = {
    let mut t = [0u32; 1024];
    let mut i = 0;
    while i < NAMES {
        let name = name_at(i);
        t[two(name[0], name[1])] |= 1 << i;
        i += 1;
    }
    t
};

/// The names an entry may have, by its first two bytes.
fn by_two(entry: *const c_char) -> u32 {
    // SAFETY: a NUL-terminated environment entry: the second byte is read only if the first
    // is not its NUL.
    let first = unsafe { *entry } as u8;
    let second = if first == 0 {
        0
    } else {
        // SAFETY: as above.
        (unsafe { *entry.add(1) }) as u8
    };
    NAMES_BY_TWO.get(two(first, second)).copied().unwrap_or(0)
}

/// The value of `entry` if its key is `name` (`name=` starts it), read only as far as needed.
pub fn prefix(entry: *const c_char, name: &[u8]) -> Option<*const c_char> {
    for (i, &b) in name.iter().enumerate() {
        // SAFETY: bytes before `i` matched `name`, none of which is NUL, so byte `i` is within
        // the NUL-terminated entry.
        if unsafe { *entry.add(i) } as u8 != b {
            return None;
        }
    }
    // SAFETY: as above, byte `name.len()` is within the entry.
    (unsafe { *entry.add(name.len()) } as u8 == b'=')
        // SAFETY: the value starts after the `=`.
        .then(|| unsafe { entry.add(name.len() + 1) })
}

/// The host's values, built the first time a decision needs them: most children are decided by
/// their command line alone, and a fork child would otherwise build them for each spawn.
pub struct Lazy<'e> {
    session: &'e Session,
    envp: &'e [*const c_char],
    view: core::cell::OnceCell<Option<View>>,
}

impl<'e> Lazy<'e> {
    pub fn new(session: &'e Session, envp: &'e [*const c_char]) -> Lazy<'e> {
        Lazy {
            session,
            envp,
            view: core::cell::OnceCell::new(),
        }
    }

    fn block(&self) -> Option<&Block> {
        self.view
            .get_or_init(|| view(self.session, self.envp))
            .as_ref()
            .map(View::host)
    }

    /// The values for a selected child, built now if no decision needed them yet; `None` if
    /// they could not be (no memory): the child is then left alone.
    pub fn into_view(self) -> Option<View> {
        let _ = self.block();
        self.view.into_inner().flatten()
    }
}

/// An empty host where the values could not be had: nothing is given from them.
impl Host for Lazy<'_> {
    fn value(&self, i: usize) -> Option<&[u8]> {
        self.block()?.value(i)
    }
    fn has(&self) -> u64 {
        self.block().map_or(0, Host::has)
    }
    fn defaults(&self) -> u8 {
        self.block().map_or(0, Host::defaults)
    }
    fn longest(&self) -> usize {
        self.block().map_or(0, Host::longest)
    }
}
