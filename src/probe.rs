//! Reading the caller's pointers without trusting them. `execve` with a bad `path`, `argv` or
//! `envp` pointer must fail with EFAULT, as the kernel makes it, not crash in the shim, which
//! reads those arrays and strings before the kernel does. Each page the hook is about to read
//! is checked once with a system call that reports EFAULT instead of faulting (`sys::readable`); a hook that
//! finds a bad pointer passes the call through untouched, and the real function returns the
//! kernel's EFAULT. No allocation; a few pages checked per exec.

use core::ffi::c_char;

const PAGE: usize = 4096;
/// Pages remembered as readable: argv, envp and their strings usually share a few.
const CACHE: usize = 4;

pub struct Probe {
    pages: [usize; CACHE],
    next: usize,
}

impl Probe {
    pub fn new() -> Probe {
        Probe {
            pages: [usize::MAX; CACHE],
            next: 0,
        }
    }

    /// Whether the byte at `addr` may be read.
    fn ok(&mut self, addr: usize) -> bool {
        // The first page is never mapped; the top half of the address space is the kernel's.
        if addr < PAGE || addr > isize::MAX as usize {
            return false;
        }
        let page = addr & !(PAGE - 1);
        if self.pages.contains(&page) {
            return true;
        }
        // The page's first 8 bytes: the kernel's check reads a whole signal set.
        let readable = crate::sys::readable(page);
        if readable {
            if let Some(slot) = self.pages.get_mut(self.next % CACHE) {
                *slot = page;
            }
            self.next += 1;
        }
        readable
    }

    /// Whether `len` bytes from `addr` may be read.
    pub fn range(&mut self, addr: usize, len: usize) -> bool {
        if len == 0 {
            return true;
        }
        let Some(last) = addr.checked_add(len - 1) else {
            return false;
        };
        let mut page = addr & !(PAGE - 1);
        while page <= last {
            if !self.ok(page.max(addr)) {
                return false;
            }
            page += PAGE;
        }
        true
    }

    /// The bytes of a NUL-terminated string (NULL: empty), or `None` if it runs into memory
    /// that cannot be read. Each page is checked once, then searched whole (memchr).
    pub fn cstr<'a>(&mut self, p: *const c_char) -> Option<&'a [u8]> {
        if p.is_null() {
            return Some(&[]);
        }
        let n = self.scan(p, |chunk| {
            core::ffi::CStr::from_bytes_until_nul(chunk)
                .ok()
                .map(|c| c.to_bytes().len())
        })?;
        // SAFETY: the `n` bytes before the NUL were checked readable by `scan`.
        Some(unsafe { core::slice::from_raw_parts(p.cast(), n) })
    }

    /// The key of an envp entry, read only up to `=`; `Some(None)` for an entry without `=`
    /// (no variable), `None` if the string cannot be read.
    pub fn key<'a>(&mut self, p: *const c_char) -> Option<Option<&'a [u8]>> {
        if p.is_null() {
            return None;
        }
        let n = self.scan(p, |chunk| chunk.iter().position(|&b| b == b'=' || b == 0))?;
        // SAFETY: as in `cstr`: byte `n` and those before it were checked readable.
        let at = unsafe { *p.add(n) } as u8;
        // SAFETY: as above.
        Some((at == b'=').then(|| unsafe { core::slice::from_raw_parts(p.cast(), n) }))
    }

    /// The offset of the first byte from `p` that `find` finds, searching page by page (each
    /// page checked before it is read).
    fn scan(&mut self, p: *const c_char, find: impl Fn(&[u8]) -> Option<usize>) -> Option<usize> {
        let start = p as usize;
        let mut at = start;
        loop {
            if !self.ok(at) {
                return None;
            }
            let end = (at & !(PAGE - 1)).checked_add(PAGE)?;
            // SAFETY: `at..end` lies in one page, just checked readable.
            let chunk = unsafe { core::slice::from_raw_parts(at as *const u8, end - at) };
            if let Some(i) = find(chunk) {
                return Some(at - start + i);
            }
            at = end;
        }
    }

    /// The entries of a NULL-terminated pointer array (NULL: empty, as Linux takes it), at
    /// most `max` of them, or `None` if the array cannot be read.
    pub fn array<'a>(
        &mut self,
        arr: *const *const c_char,
        max: usize,
    ) -> Option<&'a [*const c_char]> {
        if arr.is_null() {
            return Some(&[]);
        }
        if !(arr as usize).is_multiple_of(core::mem::align_of::<*const c_char>()) {
            return None;
        }
        let mut n = 0usize;
        while n < max {
            let at = (arr as usize).checked_add(n * core::mem::size_of::<*const c_char>())?;
            if !self.range(at, core::mem::size_of::<*const c_char>()) {
                return None;
            }
            // SAFETY: the slot was just checked readable.
            if unsafe { *arr.add(n) }.is_null() {
                break;
            }
            n += 1;
        }
        // SAFETY: the first `n` slots were read above.
        Some(unsafe { core::slice::from_raw_parts(arr, n) })
    }
}
