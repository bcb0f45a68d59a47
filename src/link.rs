//! The next definition of a symbol after this library, as `dlsym(RTLD_NEXT, name)` finds it,
//! without `dlsym`: the loader's list of loaded objects (`r_debug`, found through the main
//! program's `DT_DEBUG` entry, so no symbol is needed) is walked from this library onwards and
//! each object's GNU hash table is searched. Under `/etc/ld.so.preload` every process loads the
//! library: `dlsym` calls were a sixth of its load cost, and even this search, run for every
//! real function at load, was a third of the time the library adds to a process (each lookup
//! reads cold pages of libc's tables), so the constructor finds the tables (`After::find`),
//! looks up the few a process needs at once, and each other function when first called.
//!
//! Anything unusual (no `DT_DEBUG` or `PT_PHDR`, this library or the loader not in the list,
//! an object without a GNU hash table) is `Unsure` (or `find` fails), and the caller asks
//! `dlsym`, in the constructor.
//! `__mcp_env_shim_selfcheck` compares both for the tests.

use core::ffi::{c_char, CStr};

#[repr(C)]
struct LinkMap {
    l_addr: usize,
    l_name: *const c_char,
    l_ld: *const Dyn,
    l_next: *const LinkMap,
    l_prev: *const LinkMap,
}

#[repr(C)]
struct RDebug {
    r_version: i32,
    r_map: *const LinkMap,
}

#[repr(C)]
struct Dyn {
    d_tag: isize,
    d_val: usize,
}

#[repr(C)]
struct Sym {
    st_name: u32,
    st_info: u8,
    st_other: u8,
    st_shndx: u16,
    st_value: u64,
    st_size: u64,
}

const DT_NULL: isize = 0;
const DT_STRTAB: isize = 5;
const DT_SYMTAB: isize = 6;
const DT_DEBUG: isize = 21;
const DT_GNU_HASH: isize = 0x6fff_fef5;
const DT_VERSYM: isize = 0x6fff_fff0;
const DT_VERDEF: isize = 0x6fff_fffc;
const DT_VERDEFNUM: isize = 0x6fff_fffd;
const PT_PHDR: u32 = 6;
const PT_DYNAMIC: u32 = 2;
const STT_GNU_IFUNC: u8 = 10;
const STB_GLOBAL: u8 = 1;
const STB_WEAK: u8 = 2;

extern "C" {
    /// This library's own dynamic section (defined by the linker).
    static _DYNAMIC: Dyn;
}

/// The loader's objects as `find` saw them, each one's tables read: those before this library
/// and those after it. Kept by the constructor, so that a real function is looked up only when
/// it is first needed: a pure read of tables the loader never changes (async-signal-safe), and
/// a process that never starts a program reads only the few entries looked up at load.
pub struct After {
    objects: [Tables; MAX_OBJECTS],
    n: usize,
    /// How many of `objects` come before this library.
    before: usize,
}

/// An upper bound of the vDSO's size: a dynamic section this far past its start is its own.
const VDSO_SPAN: usize = 1 << 16;

/// How many objects are searched: the program, the vDSO, preloaded libraries, libc and the
/// loader come first in any normal process; past these, `dlsym` decides.
const MAX_OBJECTS: usize = 12;

#[derive(Clone, Copy)]
struct Tables {
    base: usize,
    gnu: usize,
    symtab: usize,
    strtab: usize,
    versym: usize,
    verdef: usize,
    verdefnum: usize,
    /// An object without a GNU hash table: a lookup that reaches it lets `dlsym` decide.
    unsure: bool,
}

impl Tables {
    const EMPTY: Tables = Tables {
        base: 0,
        gnu: 0,
        symtab: 0,
        strtab: 0,
        versym: 0,
        verdef: 0,
        verdefnum: 0,
        unsure: false,
    };
}

/// An entry of the version definition table (`Elf64_Verdef`).
#[repr(C)]
#[allow(dead_code)] // the layout: only some fields are read
struct Verdef {
    vd_version: u16,
    vd_flags: u16,
    vd_ndx: u16,
    vd_cnt: u16,
    vd_hash: u32,
    vd_aux: u32,
    vd_next: u32,
}

/// The name of a version definition (`Elf64_Verdaux`).
#[repr(C)]
#[allow(dead_code)] // the layout: only the first name is read
struct Verdaux {
    vda_name: u32,
    vda_next: u32,
}

/// What a lookup found.
pub enum Found {
    /// The address.
    Yes(usize),
    /// An IFUNC: the address of its resolver (`lookup` calls it).
    Ifunc(usize),
    No,
    /// Something this lookup does not handle (an object without a GNU hash table): let dlsym
    /// decide.
    Unsure,
}

impl After {
    pub const EMPTY: After = After {
        objects: [Tables::EMPTY; MAX_OBJECTS],
        n: 0,
        before: 0,
    };

    /// Fills in the objects the loader started the program with and their tables; false if
    /// this library or the loader is not found among them (or they are more than it keeps).
    /// `phdr` and `phnum`: the main program's program headers (`AT_PHDR`, `AT_PHNUM`);
    /// `loader`: the loader's load address (`AT_BASE`). The list ends at the loader: what
    /// comes after it was opened later (`dlopen`, in a constructor that ran before this
    /// library's) and may be closed, so its tables are not kept.
    /// `vdso`: where the kernel mapped the vDSO (`AT_SYSINFO_EHDR`), which defines nothing
    /// searched for and whose tables the loader leaves as linked. Only on x86_64, whose glibc
    /// makes the tables' addresses absolute in place (`ptr`).
    pub fn find(&mut self, phdr: usize, phnum: usize, loader: usize, vdso: usize) -> bool {
        cfg!(target_arch = "x86_64") && self.find_in(phdr, phnum, loader, vdso).is_some()
    }

    fn find_in(&mut self, phdr: usize, phnum: usize, loader: usize, vdso: usize) -> Option<()> {
        let r = r_debug(phdr, phnum)?;
        // The address of our own dynamic section; `_DYNAMIC` is never read through it.
        let ours = core::ptr::addr_of!(_DYNAMIC);
        let mut past_us = false;
        // SAFETY: the loader's list of loaded objects, complete before any constructor runs.
        let mut p = unsafe { (*r).r_map };
        while !p.is_null() {
            // SAFETY: a link_map of the loader's list.
            let map = unsafe { &*p };
            if core::ptr::eq(map.l_ld, ours) {
                past_us = true;
                self.before = self.n;
            } else {
                let in_vdso = vdso != 0 && (map.l_ld as usize).wrapping_sub(vdso) < VDSO_SPAN;
                *self.objects.get_mut(self.n)? = if in_vdso { Tables::EMPTY } else { tables(map) };
                self.n += 1;
                if map.l_addr == loader && loader != 0 {
                    return past_us.then_some(());
                }
            }
            p = map.l_next;
        }
        None
    }

    /// Whether every lookup in these tables can be settled by them alone, later, in a hook:
    /// some object comes after this library (it is preloaded, not opened by `dlopen` after
    /// libc) and every object has a GNU hash table.
    pub fn sure(&self) -> bool {
        self.n > self.before && self.objects.iter().take(self.n).all(|t| !t.unsure)
    }

    /// `name`'s definition in the first object after this library that defines it (`global`:
    /// in the first object of all), in version `version` (hidden or not) when one is given
    /// (`posix_spawn@GLIBC_2.2.5`, which `dlsym` cannot name), else its default one.
    pub fn lookup(&self, name: &CStr, version: Option<&CStr>, global: bool) -> Found {
        let from = if global { 0 } else { self.before };
        match self.search(name, version, from, self.n) {
            Some((Found::Ifunc(resolver), _)) => ifunc(resolver),
            Some((found, _)) => found,
            None => Found::No,
        }
    }

    /// The index of the first object after this library that defines `name` (libc, for
    /// `execve`).
    pub fn definer(&self, name: &CStr) -> Option<usize> {
        self.search(name, None, self.before, self.n).map(|(_, i)| i)
    }

    /// Whether an object after this library and before object `end` defines one of `names`
    /// as an IFUNC (or cannot tell): its resolver, someone else's code, must run now, not
    /// from a hook.
    pub fn ifunc_before<'a>(
        &self,
        end: usize,
        mut names: impl Iterator<Item = (&'a CStr, Option<&'a CStr>)>,
    ) -> bool {
        names.any(|(name, version)| {
            matches!(
                self.search(name, version, self.before, end),
                Some((Found::Ifunc(_) | Found::Unsure, _))
            )
        })
    }

    /// The first answer other than `No` among objects `from..to`, and the object's index.
    fn search(
        &self,
        name: &CStr,
        version: Option<&CStr>,
        from: usize,
        to: usize,
    ) -> Option<(Found, usize)> {
        let name = name.to_bytes();
        let version = version.map(CStr::to_bytes);
        let hash = gnu_hash(name);
        let objects = self.objects.get(from..to.min(self.n)).unwrap_or(&[]);
        objects
            .iter()
            .enumerate()
            .find_map(|(i, t)| match lookup_in(t, name, version, hash) {
                Found::No => None,
                found => Some((found, from + i)),
            })
    }
}

/// An IFUNC's definition: what its resolver returns, as the loader and `dlsym` call it (on
/// x86_64 with no arguments; the tables are used nowhere else). A hook reaches only libc's own
/// resolvers, which read the CPU's features: any other object's is run at load
/// (`real::lazy_ok`).
fn ifunc(resolver: usize) -> Found {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: an IFUNC resolver of a loaded object, called as the loader calls it.
        let f = unsafe { core::mem::transmute::<usize, extern "C" fn() -> usize>(resolver) };
        Found::Yes(f())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = resolver;
        Found::Unsure
    }
}

/// The loader's `r_debug`, from the main program's `DT_DEBUG`.
fn r_debug(phdr: usize, phnum: usize) -> Option<*const RDebug> {
    if phdr == 0 {
        return None;
    }
    let phdrs = phdr as *const libc::Elf64_Phdr;
    let mut bias = None;
    let mut dynamic = None;
    for i in 0..phnum {
        // SAFETY: the main program's program headers, mapped for the process's life.
        let ph = unsafe { &*phdrs.add(i) };
        match ph.p_type {
            PT_PHDR => bias = Some(phdr.wrapping_sub(ph.p_vaddr as usize)),
            PT_DYNAMIC => dynamic = Some(ph.p_vaddr as usize),
            _ => {}
        }
    }
    // Without PT_PHDR the load address is unknown (the loader itself, run as a program, whose
    // program headers the kernel's vector names): no guess.
    let dynamic = (bias?.wrapping_add(dynamic?)) as *const Dyn;
    let mut d = dynamic;
    loop {
        // SAFETY: the main program's dynamic section, terminated by DT_NULL.
        let e = unsafe { &*d };
        match e.d_tag {
            DT_NULL => return None,
            DT_DEBUG if e.d_val != 0 => return Some(e.d_val as *const RDebug),
            _ => {}
        }
        // SAFETY: not past DT_NULL.
        d = unsafe { d.add(1) };
    }
}

/// Whether the NUL-terminated string at `s` is `name`, read only as far as needed.
///
/// # Safety
/// `s` is a NUL-terminated string.
unsafe fn same_name(s: *const u8, name: &[u8]) -> bool {
    for (i, &b) in name.iter().enumerate() {
        // SAFETY: the bytes before `i` matched `name` and none was NUL.
        if unsafe { *s.add(i) } != b {
            return false;
        }
    }
    // SAFETY: as above.
    unsafe { *s.add(name.len()) == 0 }
}

fn gnu_hash(name: &[u8]) -> u32 {
    name.iter().fold(5381u32, |h, &b| {
        h.wrapping_mul(33).wrapping_add(u32::from(b))
    })
}

/// A dynamic-section pointer. glibc makes the hash, symbol, string and version-symbol table
/// entries absolute in place (every object but the vDSO, which is not searched), and leaves
/// the others (the version definitions) as they were linked.
fn ptr(map: &LinkMap, v: usize, in_place: bool) -> usize {
    if in_place {
        v
    } else {
        v.wrapping_add(map.l_addr)
    }
}

/// An object's hash, symbol, string and version tables (`unsure` when it has no GNU hash
/// table).
fn tables(map: &LinkMap) -> Tables {
    if map.l_ld.is_null() {
        return Tables::EMPTY;
    }
    let (mut gnu, mut symtab, mut strtab, mut versym) = (0, 0, 0, 0);
    let (mut verdef, mut verdefnum) = (0, 0);
    let mut d = map.l_ld;
    loop {
        // SAFETY: the object's dynamic section, terminated by DT_NULL.
        let e = unsafe { &*d };
        match e.d_tag {
            DT_NULL => break,
            DT_GNU_HASH => gnu = ptr(map, e.d_val, true),
            DT_SYMTAB => symtab = ptr(map, e.d_val, true),
            DT_STRTAB => strtab = ptr(map, e.d_val, true),
            DT_VERSYM => versym = ptr(map, e.d_val, true),
            DT_VERDEF => verdef = ptr(map, e.d_val, false),
            DT_VERDEFNUM => verdefnum = e.d_val,
            _ => {}
        }
        // SAFETY: not past DT_NULL.
        d = unsafe { d.add(1) };
    }
    if gnu == 0 || symtab == 0 || strtab == 0 {
        return Tables {
            unsure: true,
            ..Tables::EMPTY
        };
    }
    Tables {
        base: map.l_addr,
        gnu,
        symtab,
        strtab,
        versym,
        verdef,
        verdefnum,
        unsure: false,
    }
}

/// Whether version index `ndx` of an object is the version named `want`.
fn version_is(t: &Tables, ndx: u16, want: &[u8]) -> bool {
    if t.verdef == 0 {
        return false;
    }
    let mut at = t.verdef;
    for _ in 0..t.verdefnum {
        // SAFETY: the object's version definition table: `verdefnum` entries chained by
        // `vd_next`, each with its names at `vd_aux`.
        unsafe {
            let d = &*(at as *const Verdef);
            if d.vd_ndx == ndx {
                let aux = &*((at + d.vd_aux as usize) as *const Verdaux);
                return same_name((t.strtab + aux.vda_name as usize) as *const u8, want);
            }
            if d.vd_next == 0 {
                return false;
            }
            at += d.vd_next as usize;
        }
    }
    false
}

fn lookup_in(t: &Tables, name: &[u8], version: Option<&[u8]>, hash: u32) -> Found {
    let Tables {
        base,
        gnu,
        symtab,
        strtab,
        versym,
        unsure,
        ..
    } = *t;
    if unsure {
        return Found::Unsure;
    }
    if gnu == 0 {
        return Found::No;
    }
    // SAFETY: the GNU hash table's layout: header, bloom words, buckets, chains.
    unsafe {
        let hdr = gnu as *const u32;
        let (nbuckets, symoffset, bloom_size, shift) =
            (*hdr, *hdr.add(1), *hdr.add(2), *hdr.add(3));
        if nbuckets == 0 || bloom_size == 0 {
            return Found::No;
        }
        let bloom = hdr.add(4) as *const u64;
        let word = *bloom.add(((hash / 64) % bloom_size) as usize);
        let mask = (1u64 << (hash % 64)) | (1u64 << ((hash >> shift) % 64));
        if word & mask != mask {
            return Found::No;
        }
        let buckets = bloom.add(bloom_size as usize) as *const u32;
        let chains = buckets.add(nbuckets as usize);
        let mut i = *buckets.add((hash % nbuckets) as usize);
        if i < symoffset {
            return Found::No;
        }
        loop {
            let h2 = *chains.add((i - symoffset) as usize);
            if (h2 | 1) == (hash | 1) {
                let sym = &*(symtab as *const Sym).add(i as usize);
                if same_name((strtab + sym.st_name as usize) as *const u8, name)
                    && sym.st_shndx != 0
                {
                    let (kind, bind) = (sym.st_info & 0xf, sym.st_info >> 4);
                    let ver = if versym != 0 {
                        *(versym as *const u16).add(i as usize)
                    } else {
                        0
                    };
                    let hidden = ver & 0x8000 != 0;
                    let ndx = ver & 0x7fff;
                    // As the loader matches a versioned reference: that version, or a
                    // definition without one (no version table, or the base index).
                    let wanted = match version {
                        None => !hidden,
                        Some(v) => version_is(t, ndx, v) || versym == 0 || (ndx <= 1 && !hidden),
                    };
                    if wanted && (bind == STB_GLOBAL || bind == STB_WEAK) {
                        let addr = base + sym.st_value as usize;
                        if kind == STT_GNU_IFUNC {
                            return Found::Ifunc(addr);
                        }
                        return Found::Yes(addr);
                    }
                }
            }
            if h2 & 1 != 0 {
                return Found::No;
            }
            i += 1;
        }
    }
}
