//! The child's envp: which block keys it already has, and the merged array (the child's
//! entries unchanged and in order, then each missing block entry). Allocation-free and
//! panic-free: it runs on the exec path, over a fixed-capacity output the caller provides.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::mem::MaybeUninit;

/// Finds block keys among envp entries by first byte, so that a 60-entry environment costs
/// a few comparisons per entry instead of one per block key.
#[derive(Debug)]
pub struct KeyTable {
    by_first: [u64; 256],
}

impl KeyTable {
    /// Builds the table over the block's key names (at most 64; later ones are ignored).
    pub fn new<K: AsRef<[u8]>>(keys: &[K]) -> KeyTable {
        let mut by_first = [0u64; 256];
        for (i, k) in keys.iter().enumerate().take(64) {
            if let Some(&b) = k.as_ref().first() {
                if let Some(slot) = by_first.get_mut(usize::from(b)) {
                    *slot |= 1 << i;
                }
            }
        }
        KeyTable { by_first }
    }

    /// A table that finds no key.
    pub const fn empty() -> KeyTable {
        KeyTable { by_first: [0; 256] }
    }

    /// The table of the built-in block, computed at compile time: a process whose config adds
    /// no key does not build one at load.
    pub const fn builtin() -> KeyTable {
        let mut by_first = [0u64; 256];
        let mut i = 0;
        while i < crate::block::BUILTIN.len() && i < 64 {
            let name = crate::block::BUILTIN[i].name.as_bytes();
            if !name.is_empty() {
                by_first[name[0] as usize] |= 1 << i;
            }
            i += 1;
        }
        KeyTable { by_first }
    }

    /// The keys (a mask of indexes) whose name starts with byte `first`.
    pub fn candidates(&self, first: u8) -> u64 {
        self.by_first.get(usize::from(first)).copied().unwrap_or(0)
    }

    /// The index in `keys` of the environment key `key`, if it is a block key.
    pub fn find<K: AsRef<[u8]>>(&self, keys: &[K], key: &[u8]) -> Option<usize> {
        let first = *key.first()?;
        let mut cands = self.by_first.get(usize::from(first)).copied().unwrap_or(0);
        while cands != 0 {
            let i = cands.trailing_zeros() as usize;
            cands &= cands - 1;
            if keys.get(i).is_some_and(|name| name.as_ref() == key) {
                return Some(i);
            }
        }
        None
    }

    /// The mask of block keys (by index into `keys`) among the environment keys given.
    /// A key counts as present whatever its value, even empty.
    pub fn presence<'a, K: AsRef<[u8]>>(
        &self,
        keys: &[K],
        env_keys: impl Iterator<Item = &'a [u8]>,
    ) -> u64 {
        env_keys
            .filter_map(|k| self.find(keys, k))
            .fold(0, |mask, i| mask | 1 << i)
    }
}

/// The key of an `envp` entry: the bytes before the first `=`; `None` for an entry without
/// `=`, which is no variable (`getenv` does not see it, so it cannot count as present).
pub fn key_of(entry: &[u8]) -> Option<&[u8]> {
    entry.get(..entry.iter().position(|&b| b == b'=')?)
}

/// Whether the child dropped the host's block: the host had block keys in its own
/// environment and the child lacks most of them. This is what an MCP client's fresh
/// environment looks like; `env -u ONE_KEY` does not.
pub fn dropped(host_has: u64, present: u64) -> bool {
    let had = host_has.count_ones();
    let lost = (host_has & !present).count_ones();
    had > 0 && 2 * lost > had
}

/// The keys the MCP SDKs keep of the client's environment on Unix (TypeScript
/// `getDefaultEnvironment`, Python `get_default_environment`): each one the client has.
pub const CLIENT_DEFAULTS: [&str; 6] = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"];

/// The bit of `key` among `CLIENT_DEFAULTS`, 0 for any other key. Literal patterns, so that
/// each comparison is a length check and one load, not a call: it runs for every envp entry.
pub fn client_default_bit(key: &[u8]) -> u8 {
    match key {
        b"HOME" => 1,
        b"LOGNAME" => 1 << 1,
        b"PATH" => 1 << 2,
        b"SHELL" => 1 << 3,
        b"TERM" => 1 << 4,
        b"USER" => 1 << 5,
        _ => 0,
    }
}

/// `CLIENT_DEFAULTS` as the names `session::Env::vars` takes (load time).
pub fn client_default_names() -> Vec<Box<[u8]>> {
    CLIENT_DEFAULTS
        .iter()
        .map(|k| k.as_bytes().into())
        .collect()
}

/// The mask of client defaults a process has: `has[i]` says whether it has
/// `CLIENT_DEFAULTS[i]` (the values `Env::vars` found for `client_default_names`).
pub fn client_defaults(has: impl IntoIterator<Item = bool>) -> u8 {
    has.into_iter()
        .take(CLIENT_DEFAULTS.len())
        .enumerate()
        .filter(|&(_, h)| h)
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// What a child's environment kept of the host's, found only if a rule asks (in the library it
/// needs the host's values, read on first use): a `ChildEnv`, or a function that finds it.
pub trait EnvSource {
    fn child_env(self) -> ChildEnv;
}

impl EnvSource for ChildEnv {
    fn child_env(self) -> ChildEnv {
        self
    }
}

impl<F: FnOnce() -> ChildEnv> EnvSource for F {
    fn child_env(self) -> ChildEnv {
        self()
    }
}

/// What a child's environment says about who built it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChildEnv {
    /// It lacks most of the block keys the host has (`dropped`).
    pub dropped: bool,
    /// The `CLIENT_DEFAULTS` it has (a mask of `client_default_bit`).
    pub defaults: u8,
    /// The `CLIENT_DEFAULTS` the host process has: an SDK keeps each of them.
    pub host_defaults: u8,
}

impl ChildEnv {
    /// An MCP client's fresh environment: the block dropped, every client default kept. For
    /// callers that judge a command line without a real child (`explain`, diagnosis).
    pub const CLIENT: ChildEnv = ChildEnv {
        dropped: true,
        defaults: (1 << CLIENT_DEFAULTS.len()) - 1,
        host_defaults: (1 << CLIENT_DEFAULTS.len()) - 1,
    };
    /// An environment inherited from the host.
    pub const INHERITED: ChildEnv = ChildEnv {
        dropped: false,
        defaults: (1 << CLIENT_DEFAULTS.len()) - 1,
        host_defaults: (1 << CLIENT_DEFAULTS.len()) - 1,
    };
}

/// Writes `child`, then `extra`, then `end` into `out` (which may be uninitialised: only the
/// entries written are touched); returns the count written including `end`, or `None` if
/// `out` is too small (the caller then leaves the child's envp alone).
pub fn merge<T: Copy>(
    child: &[T],
    extra: impl Iterator<Item = T>,
    end: T,
    out: &mut [MaybeUninit<T>],
) -> Option<usize> {
    let mut n = 0;
    for item in child
        .iter()
        .copied()
        .chain(extra)
        .chain(core::iter::once(end))
    {
        out.get_mut(n)?.write(item);
        n += 1;
    }
    Some(n)
}

/// Iterates the set bits of a mask, lowest first.
pub fn bits(mut mask: u64) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let i = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        Some(i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "SSL_CERT_FILE"];

    fn presence(env: &[&str]) -> u64 {
        KeyTable::new(&KEYS).presence(&KEYS, env.iter().filter_map(|e| key_of(e.as_bytes())))
    }

    #[test]
    fn the_compile_time_table_is_the_table_of_the_builtin_block() {
        let names: Vec<&str> = crate::block::BUILTIN.iter().map(|k| k.name).collect();
        assert_eq!(KeyTable::builtin().by_first, KeyTable::new(&names).by_first);
        assert_ne!(KeyTable::builtin().by_first, [0; 256]);
    }

    #[test]
    fn present_keys_are_found_whatever_their_value_even_empty() {
        let p = presence(&[
            "PATH=/bin",
            "HTTPS_PROXY=http://own:1",
            "NO_PROXY=",
            "HOME=/h",
        ]);
        assert_eq!(p, 0b0101);
    }

    #[test]
    fn the_proxy_pairs_are_separate_keys() {
        assert_eq!(presence(&["https_proxy=x"]), 0b0010);
    }

    #[test]
    fn prefixes_and_entries_without_equals_do_not_count() {
        assert_eq!(
            presence(&["HTTPS_PROXY_X=1", "HTTPS=1", "SSL_CERT_FILE", ""]),
            0
        );
    }

    #[test]
    fn a_fresh_environment_dropped_the_block_but_one_unset_key_did_not() {
        let host = 0b1111;
        assert!(dropped(host, 0));
        assert!(dropped(host, 0b0001));
        assert!(!dropped(host, 0b0111));
        assert!(
            !dropped(host, 0b0011),
            "half kept is not a fresh environment"
        );
        assert!(
            !dropped(0, 0),
            "a host without the block has nothing to drop"
        );
    }

    #[test]
    fn client_defaults_are_found_by_exact_name_only() {
        for (i, k) in CLIENT_DEFAULTS.iter().enumerate() {
            assert_eq!(client_default_bit(k.as_bytes()), 1 << i, "{k}");
        }
        for other in ["HOMEDIR", "PAT", "SSL_CERT_FILE", "TERMINFO", "", "home"] {
            assert_eq!(client_default_bit(other.as_bytes()), 0, "{other}");
        }
        assert_eq!(client_default_names().len(), CLIENT_DEFAULTS.len());
        assert_eq!(ChildEnv::CLIENT.defaults, client_defaults([true; 6]));
        assert_eq!(client_defaults([true; 6]), 0b11_1111);
        assert_eq!(
            client_defaults([true, false, true, false, false, false]),
            0b101,
            "HOME and PATH"
        );
    }

    #[test]
    fn merge_keeps_the_child_in_order_then_appends_and_terminates() {
        let mut out = [MaybeUninit::uninit(); 6];
        let n = merge(&[1, 2, 3], [7, 8].into_iter(), 0u8, &mut out);
        assert_eq!(n, Some(6));
        // SAFETY: all six were written.
        assert_eq!(out.map(|b| unsafe { b.assume_init() }), [1, 2, 3, 7, 8, 0]);
    }

    #[test]
    fn merge_refuses_instead_of_truncating() {
        let mut out = [MaybeUninit::uninit(); 5];
        assert_eq!(merge(&[1, 2, 3], [7, 8].into_iter(), 0u8, &mut out), None);
    }

    #[test]
    fn bits_iterate_lowest_first() {
        assert_eq!(bits(0b1010_0001).collect::<Vec<_>>(), [0, 5, 7]);
        assert_eq!(bits(1 << 63).collect::<Vec<_>>(), [63]);
        assert_eq!(bits(0).count(), 0);
    }
}
