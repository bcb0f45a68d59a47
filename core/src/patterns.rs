//! The operator's `include` or `exclude` patterns, ready for the exec path, with a cost per
//! name that does not grow with their number: exact names are found by a binary search behind
//! a length and first-byte filter; a pattern with `*` or `?` is tried only on names that start
//! with its first byte (or end with its last, when it starts with a wildcard); only patterns
//! wild at both ends (`*inspector*`) are tried on every name, and there may be few of those.
//! Limits are checked at load time; what is over them is left out, with a warning. Matching is
//! allocation-free and panic-free.

use crate::names::glob_match;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Exact names kept per list.
pub const MAX_EXACT: usize = 4096;
/// Patterns with `*` or `?` kept per list.
pub const MAX_GLOBS: usize = 256;
/// Of those, patterns wild at both ends (each is tried on every name).
pub const MAX_FLOATING: usize = 8;
/// Longest pattern kept, in bytes.
pub const MAX_PATTERN_BYTES: usize = 128;
/// Longest name matched, in bytes (a file name's limit): a longer argument is no program,
/// script or package name.
pub const MAX_NAME_BYTES: usize = 255;

#[derive(Debug, Default)]
pub struct Patterns {
    /// Sorted, without duplicates.
    exact: Vec<Box<[u8]>>,
    /// Bit `n` of word `n / 64`: an exact name of `n` bytes exists; likewise for first bytes.
    exact_lens: [u64; 4],
    exact_firsts: [u64; 4],
    /// Globs that start with a literal byte, by that byte.
    by_first: Buckets,
    /// Globs that start with a wildcard and end with a literal byte, by that byte.
    by_last: Buckets,
    /// Globs wild at both ends.
    floating: Vec<Box<[u8]>>,
}

/// Patterns grouped by one byte: `patterns[start[b]..start[b + 1]]` are those of byte `b`.
#[derive(Debug, Default)]
struct Buckets {
    patterns: Vec<Box<[u8]>>,
    start: Vec<u16>,
}

impl Buckets {
    fn new(mut keyed: Vec<(u8, Box<[u8]>)>) -> Buckets {
        if keyed.is_empty() {
            return Buckets::default();
        }
        keyed.sort_by_key(|(k, _)| *k);
        let mut start = alloc::vec![0u16; 257];
        for (k, _) in &keyed {
            for slot in start.iter_mut().skip(usize::from(*k) + 1) {
                *slot += 1;
            }
        }
        Buckets {
            patterns: keyed.into_iter().map(|(_, p)| p).collect(),
            start,
        }
    }

    fn get(&self, b: u8) -> &[Box<[u8]>] {
        let at = |i: usize| usize::from(self.start.get(i).copied().unwrap_or(0));
        let b = usize::from(b);
        self.patterns.get(at(b)..at(b + 1)).unwrap_or(&[])
    }
}

fn set_bit(bits: &mut [u64; 4], n: usize) {
    if let Some(w) = bits.get_mut(n / 64) {
        *w |= 1 << (n % 64);
    }
}

fn has_bit(bits: &[u64; 4], n: usize) -> bool {
    bits.get(n / 64).is_some_and(|w| w & (1 << (n % 64)) != 0)
}

fn is_wild(b: u8) -> bool {
    b == b'*' || b == b'?'
}

impl Patterns {
    /// `what` names the list (`include`, `exclude`) in the warnings.
    #[inline]
    pub fn new(list: &[String], what: &str, warnings: &mut Vec<String>) -> Patterns {
        if list.is_empty() {
            // The usual case, in every process under a global preload: nothing to build, and
            // no code of the builder to run at load.
            return Patterns::default();
        }
        Patterns::build(list, what, warnings)
    }

    /// The patterns of a non-empty list: out of line, so that the empty case, every process's
    /// without a config, inlines to nothing (the library's src/load.ld puts this with the
    /// config's parser).
    #[inline(never)]
    fn build(list: &[String], what: &str, warnings: &mut Vec<String>) -> Patterns {
        let (mut long, mut extra_exact, mut extra_globs, mut extra_floating) = (0, 0, 0, 0);
        let mut p = Patterns::default();
        let (mut first, mut last) = (Vec::new(), Vec::new());
        for pattern in list {
            let bytes = pattern.as_bytes();
            let (Some(&f), Some(&l)) = (bytes.first(), bytes.last()) else {
                continue;
            };
            if bytes.len() > MAX_PATTERN_BYTES {
                long += 1;
            } else if !bytes.iter().any(|&b| is_wild(b)) {
                if p.exact.len() < MAX_EXACT {
                    p.exact.push(bytes.into());
                    set_bit(&mut p.exact_lens, bytes.len());
                    set_bit(&mut p.exact_firsts, usize::from(f));
                } else {
                    extra_exact += 1;
                }
            } else if first.len() + last.len() + p.floating.len() >= MAX_GLOBS {
                extra_globs += 1;
            } else if !is_wild(f) {
                first.push((f, bytes.into()));
            } else if !is_wild(l) {
                last.push((l, bytes.into()));
            } else if p.floating.len() < MAX_FLOATING {
                p.floating.push(bytes.into());
            } else {
                extra_floating += 1;
            }
        }
        p.exact.sort_unstable();
        p.exact.dedup();
        p.by_first = Buckets::new(first);
        p.by_last = Buckets::new(last);
        let mut warn = |n: usize, why: &dyn Fn() -> String| {
            if n > 0 {
                warnings.push(format!("{what}: {n} patterns ignored: {}", why()));
            }
        };
        warn(long, &|| format!("longer than {MAX_PATTERN_BYTES} bytes"));
        warn(extra_exact, &|| {
            format!("more than {MAX_EXACT} exact names (the first ones are kept)")
        });
        warn(extra_globs, &|| {
            format!("more than {MAX_GLOBS} patterns with * or ? (the first ones are kept)")
        });
        warn(extra_floating, &|| {
            format!(
                "more than {MAX_FLOATING} patterns that start and end with * or ? \
                 (the first ones are kept)"
            )
        });
        p
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
            && self.by_first.patterns.is_empty()
            && self.by_last.patterns.is_empty()
            && self.floating.is_empty()
    }

    /// Whether `name` matches a pattern.
    pub fn matches(&self, name: &[u8]) -> bool {
        let (Some(&f), Some(&l)) = (name.first(), name.last()) else {
            return false;
        };
        if name.len() > MAX_NAME_BYTES {
            return false;
        }
        let exact = has_bit(&self.exact_lens, name.len())
            && has_bit(&self.exact_firsts, usize::from(f))
            && self.exact.binary_search_by(|p| (**p).cmp(name)).is_ok();
        let glob = |globs: &[Box<[u8]>]| globs.iter().any(|g| glob_match(g, name));
        exact || glob(self.by_first.get(f)) || glob(self.by_last.get(l)) || glob(&self.floating)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn patterns(list: &[&str]) -> (Patterns, Vec<String>) {
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        let mut warnings = Vec::new();
        (Patterns::new(&list, "include", &mut warnings), warnings)
    }

    #[test]
    fn exact_names_and_globs_both_match() {
        let (p, warnings) = patterns(&["weather-server", "*-connector", "jira", "w?ather-bot"]);
        assert!(warnings.is_empty());
        for yes in ["weather-server", "jira", "acme-connector", "wxather-bot"] {
            assert!(p.matches(yes.as_bytes()), "{yes}");
        }
        for no in ["weather", "jira2", "connector", ""] {
            assert!(!p.matches(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn patterns_over_the_limits_are_left_out_with_one_warning_each() {
        let mut list: Vec<String> = (0..MAX_EXACT + 10).map(|i| format!("name-{i}")).collect();
        list.extend((0..MAX_FLOATING + 2).map(|i| format!("*float-{i}*")));
        list.extend((0..MAX_GLOBS + 3).map(|i| format!("glob-{i}-*")));
        list.push("x".repeat(MAX_PATTERN_BYTES + 1));
        let mut warnings = Vec::new();
        let p = Patterns::new(&list, "exclude", &mut warnings);
        assert_eq!(p.exact.len(), MAX_EXACT);
        assert_eq!(p.floating.len(), MAX_FLOATING);
        assert_eq!(
            p.by_first.patterns.len() + p.floating.len(),
            MAX_GLOBS,
            "globs are kept in their order, whatever their kind"
        );
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(warnings[0].starts_with("exclude: 1 patterns ignored: longer than"));
        assert!(warnings[1].contains("10 patterns ignored"));
        assert!(warnings[2].contains(&format!("{} patterns ignored", 3 + MAX_FLOATING)));
        assert!(warnings[3].contains("2 patterns ignored"));
        assert!(p.matches(b"afloat-0b"));
        assert!(p.matches(b"name-0"));
        assert!(!p.matches(format!("name-{}", MAX_EXACT + 1).as_bytes()));
        assert!(p.matches(b"glob-0-x"));
        assert!(!p.matches(format!("glob-{}-x", MAX_GLOBS + 1).as_bytes()));
    }

    #[test]
    fn every_kind_of_glob_is_found_in_its_bucket() {
        let (p, _) = patterns(&["ab*", "?b*", "*yz", "*?", "a*z", "*mid*", "a", "abc"]);
        for (name, yes) in [
            ("abx", true),
            ("xbq", true),
            ("qqyz", true),
            ("q", true),
            ("a", true),
            ("abc", true),
            ("aqz", true),
            ("xmidx", true),
            ("", false),
        ] {
            assert_eq!(p.matches(name.as_bytes()), yes, "{name}");
        }
        let (p, _) = patterns(&["ab*", "*yz", "abc"]);
        for (name, yes) in [("b", false), ("zab", false), ("yza", false), ("abcd", true)] {
            assert_eq!(p.matches(name.as_bytes()), yes, "{name}");
        }
    }

    #[test]
    fn a_name_longer_than_a_file_name_is_not_matched() {
        let (p, _) = patterns(&["*"]);
        assert!(p.matches(&[b'a'; MAX_NAME_BYTES]));
        assert!(!p.matches(&[b'a'; MAX_NAME_BYTES + 1]));
    }
}
