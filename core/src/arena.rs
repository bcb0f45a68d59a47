//! A bump writer over caller-provided memory: where the exec path builds a child's `KEY=VALUE`
//! strings and the merged envp, in scratch memory the edge maps for one call. Allocation-free
//! and panic-free: a push that does not fit fails and leaves the arena as it was.

use core::mem::MaybeUninit;

pub struct Arena<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    len: usize,
}

impl<'a> Arena<'a> {
    pub fn new(buf: &'a mut [MaybeUninit<u8>]) -> Arena<'a> {
        Arena { buf, len: 0 }
    }

    /// Bytes written so far: a mark to roll back to.
    pub fn mark(&self) -> usize {
        self.len
    }

    /// Forgets everything written after `mark`.
    pub fn reset(&mut self, mark: usize) {
        self.len = self.len.min(mark);
    }

    /// Appends `parts` in one go; false (and nothing written) if they do not fit.
    pub fn push(&mut self, parts: &[&[u8]]) -> bool {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let Some(dst) = self.buf.get_mut(self.len..self.len + total) else {
            return false;
        };
        let mut at = 0;
        for p in parts {
            if let Some(d) = dst.get_mut(at..at + p.len()) {
                // SAFETY: `d` and `p` have the same length; `p` is not in the arena, which is
                // borrowed mutably here.
                unsafe {
                    core::ptr::copy_nonoverlapping(p.as_ptr(), d.as_mut_ptr().cast(), p.len())
                };
            }
            at += p.len();
        }
        self.len += total;
        true
    }

    /// The bytes written at `start..end` (empty if out of range).
    pub fn get(&self, start: usize, end: usize) -> &[u8] {
        if start > end || end > self.len {
            return &[];
        }
        match self.buf.get(start..end) {
            // SAFETY: every byte below `len` was written by `push`.
            Some(s) => unsafe { core::slice::from_raw_parts(s.as_ptr().cast(), s.len()) },
            None => &[],
        }
    }

    /// The address of byte `at`, for a C pointer to a string written earlier.
    pub fn ptr(&self, at: usize) -> *const u8 {
        self.buf
            .get(at)
            .map_or(core::ptr::null(), |b| b.as_ptr().cast())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_append_and_a_push_that_does_not_fit_writes_nothing() {
        let mut mem = [MaybeUninit::uninit(); 8];
        let mut a = Arena::new(&mut mem);
        assert!(a.push(&[b"ab", b"c"]));
        let m = a.mark();
        assert!(!a.push(&[b"defgh", b"ij"]), "9 bytes do not fit in 5");
        assert_eq!(a.mark(), m);
        assert!(a.push(&[b"de"]));
        assert_eq!(a.get(0, 5), b"abcde");
        a.reset(3);
        assert_eq!(a.get(0, 5), b"", "past the end after a reset");
        assert_eq!(a.get(1, 3), b"bc");
    }
}
