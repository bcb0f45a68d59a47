//! The value each missing key gets, for one selected child, written as `KEY=VALUE\0` into the
//! caller's arena. Runs on the exec path: allocation-free, panic-free, and the only I/O is the
//! caller's `Exists` (stat(2) in the library), so that a CA file that appears or goes away
//! after the host started is judged when the child starts.
//!
//! The rules, best candidate first:
//! - the config's value, then the host's own: a CA key whose own value names a missing file
//!   is not second-guessed (not given, logged `ca-file-not-found`);
//! - only for a child that lost the host's block: a sibling the host has (`https_proxy` from
//!   `HTTPS_PROXY`, a CA-alone key from a bundle key, never the reverse), then the OpenShell
//!   default when the host is a sandbox; a derived CA path that is missing is skipped;
//! - `NODE_USE_ENV_PROXY=1` when a proxy key is given and no value of it exists anywhere (the
//!   child, the host, the config): Node >= 22.21 / 24.5 then sends `fetch` through the proxy.

use crate::arena::Arena;
use crate::block::{self, Kind, ProxyRole};
use crate::envp::bits;
use crate::session::{Host, Key, Plan, Session, Source, Why};

/// Whether a path exists; `path` is the path's bytes followed by a NUL.
pub trait Exists {
    fn exists(&self, path: &[u8]) -> bool;
}

/// The implied flag, ready for an envp.
pub const IMPLIED_FLAG: &[u8] = b"NODE_USE_ENV_PROXY=1\0";
const FLAG: &str = "NODE_USE_ENV_PROXY";

/// What a child is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Keys given a value (the implied flag included).
    pub injected: u64,
    /// Candidates left without a value, and those whose CA file is missing.
    pub no_value: u64,
    pub ca_missing: u64,
}

impl Outcome {
    /// The candidates not given, in key order, with why: the log's `missing`.
    pub fn missing(&self) -> impl Iterator<Item = (usize, Why)> + '_ {
        bits(self.no_value | self.ca_missing).map(|i| {
            let why = if self.ca_missing & (1 << i) != 0 {
                Why::CaFileNotFound
            } else {
                Why::NoValue
            };
            (i, why)
        })
    }
}

impl Session {
    /// Writes the value of every candidate of `plan` into `out`, calling `each(key, start,
    /// source)` with the arena offset of each `KEY=VALUE\0` written; the implied flag is
    /// reported with offset `usize::MAX` (the caller points at `IMPLIED_FLAG`). A candidate
    /// that does not fit in `out` counts as without value.
    pub fn fill(
        &self,
        host: &impl Host,
        plan: &Plan<'_>,
        out: &mut Arena<'_>,
        fs: &impl Exists,
        mut each: impl FnMut(usize, usize, &Source),
    ) -> Outcome {
        let mut o = Outcome::default();
        // Whether the host is a sandbox: looked at once per child, and only if a key needs it.
        let mut sandbox = None;
        for i in bits(plan.candidates) {
            match self.resolve_with(host, i, plan.lost, out, fs, &mut sandbox) {
                Ok((start, source)) => {
                    o.injected |= 1 << i;
                    each(i, start, &source);
                }
                Err(Why::NoValue) => o.no_value |= 1 << i,
                Err(Why::CaFileNotFound) => o.ca_missing |= 1 << i,
            }
        }
        if let Some(i) = self.implied_flag(host, o.injected, plan.present) {
            o.injected |= 1 << i;
            o.no_value &= !(1 << i);
            each(i, usize::MAX, &Source::Implied);
        }
        o
    }

    /// The value of key `i` for a child (`lost`: it lost the host's block), written into `out`
    /// as `KEY=VALUE\0`: its offset and where the value came from.
    pub fn resolve(
        &self,
        host: &impl Host,
        i: usize,
        lost: bool,
        out: &mut Arena<'_>,
        fs: &impl Exists,
    ) -> Result<(usize, Source), Why> {
        self.resolve_with(host, i, lost, out, fs, &mut None)
    }

    /// `resolve`, with the sandbox's TLS directory once found (`sandbox`: `None` until then).
    fn resolve_with<'s>(
        &'s self,
        host: &impl Host,
        i: usize,
        lost: bool,
        out: &mut Arena<'_>,
        fs: &impl Exists,
        sandbox: &mut Option<Option<&'s str>>,
    ) -> Result<(usize, Source), Why> {
        let key = self.keys.get(i).ok_or(Why::NoValue)?;
        let own = [
            (key.config.as_deref(), Source::Config),
            (host.value(i), Source::Host),
        ];
        if let Some((v, source)) = own.into_iter().find_map(|(v, s)| v.map(|v| (v, s))) {
            // The key's own value is not second-guessed.
            return write(key, v, b"", out, fs).map(|at| (at, source));
        }
        if !lost {
            return Err(Why::NoValue);
        }
        let mut why = Why::NoValue;
        for s in block::siblings(key.kind) {
            let Some(v) = self
                .index(s)
                .and_then(|j| host.value(j))
                .filter(|_| *s != key.name)
            else {
                continue;
            };
            match write(key, v, b"", out, fs) {
                Ok(at) => return Ok((at, Source::Sibling(s))),
                Err(w) => why = w,
            }
        }
        let dir = *sandbox.get_or_insert_with(|| self.sandbox.tls_dir(fs));
        let default = dir.and_then(|dir| block::openshell_default(key.kind, dir));
        if let Some((a, b)) = default {
            match write(key, a.as_bytes(), b.as_bytes(), out, fs) {
                Ok(at) => return Ok((at, Source::OpenShell)),
                Err(w) => why = w,
            }
        }
        Err(why)
    }

    /// The index of `NODE_USE_ENV_PROXY` when it is to be implied: a proxy key was injected,
    /// and the child, the host and the config have no value of it.
    pub fn implied_flag(&self, host: &impl Host, injected: u64, present: u64) -> Option<usize> {
        let proxy = bits(injected).any(|i| {
            self.keys
                .get(i)
                .is_some_and(|k| matches!(k.kind, Kind::Proxy(r) if r != ProxyRole::No))
        });
        let i = self.index(FLAG)?;
        let k = self.keys.get(i)?;
        let known = present & (1 << i) != 0 || k.config.is_some() || host.value(i).is_some();
        (proxy && injected & (1 << i) == 0 && !known).then_some(i)
    }
}

/// One key as the CLI shows it: the value a child that lost the block would get, and from
/// where, or why it gets none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyReport {
    pub name: &'static str,
    pub value: Result<(alloc::vec::Vec<u8>, Source), Why>,
}

impl Session {
    /// Every key, resolved for a child that lost the block and has none of it (what
    /// `mcp-env-shim status` shows). Allocates: for the CLI only.
    pub fn report(&self, host: &impl Host, fs: &impl Exists) -> alloc::vec::Vec<KeyReport> {
        let mut mem = alloc::vec![core::mem::MaybeUninit::uninit(); self.max_kv(host) + 64];
        let mut out = Arena::new(&mut mem);
        (0..self.keys.len())
            .filter_map(|i| {
                let key = self.keys.get(i)?;
                let mark = out.mark();
                let value = self
                    .resolve(host, i, true, &mut out, fs)
                    .map(|(at, source)| {
                        let kv = out.get(at, out.mark());
                        let v = kv.get(key.name.len() + 1..kv.len().saturating_sub(1));
                        (v.unwrap_or_default().to_vec(), source)
                    });
                out.reset(mark);
                Some(KeyReport {
                    name: key.name,
                    value,
                })
            })
            .collect()
    }
}

/// Writes `KEY=ab\0`; for a path-valued key, only if the path exists (rolled back otherwise).
/// A value that does not fit in `out` counts as no value.
fn write(
    key: &Key,
    a: &[u8],
    b: &[u8],
    out: &mut Arena<'_>,
    fs: &impl Exists,
) -> Result<usize, Why> {
    let start = out.mark();
    if !out.push(&[key.name.as_bytes(), b"=", a, b, b"\0"]) {
        return Err(Why::NoValue);
    }
    if block::names_a_path(key.kind) {
        let value = start + key.name.len() + 1;
        if !fs.exists(out.get(value, out.mark())) {
            out.reset(start);
            return Err(Why::CaFileNotFound);
        }
    }
    Ok(start)
}

#[cfg(test)]
#[path = "values_tests.rs"]
mod tests;
