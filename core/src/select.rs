//! The decision: does the shim touch this child? The mode, the operator's include/exclude
//! patterns, the name rules of `detect`, and the dropped-environment signal, in that order.
//! Pure and allocation-free.

use crate::config::Mode;
use crate::detect::{classify, mentions_mcp, Arg, Reason};
use crate::names::{basename, glob_match, package_name};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// The operator's patterns, matched against the program's name and each argument's name
/// (basename, without a package version).
#[derive(Debug, Default)]
pub struct Selector {
    include: Vec<Box<[u8]>>,
    exclude: Vec<Box<[u8]>>,
}

impl Selector {
    pub fn new(include: &[String], exclude: &[String]) -> Selector {
        let own = |v: &[String]| v.iter().map(|p| p.as_bytes().into()).collect();
        Selector {
            include: own(include),
            exclude: own(exclude),
        }
    }

    /// Why the child is selected, or `None` to leave it alone. `dropped` says whether the
    /// child's envp dropped the host's block (see `envp::dropped`).
    pub fn select<'a, A: Arg<'a>>(
        &self,
        mode: Mode,
        path: &'a [u8],
        argv: &[A],
        dropped: bool,
    ) -> Option<Selection<'a>> {
        if mode == Mode::Off || any_match(&self.exclude, path, argv) {
            return None;
        }
        if mode == Mode::All {
            return Some(Selection::unnamed(Reason::All));
        }
        if any_match(&self.include, path, argv) {
            return Some(Selection::unnamed(Reason::Include));
        }
        let v = classify(path, argv);
        if let Some(reason) = v.name {
            return Some(Selection {
                reason,
                server: v.server,
            });
        }
        if dropped && (v.runtime || mentions_mcp(path, argv)) {
            return Some(Selection::unnamed(Reason::EnvDropped));
        }
        None
    }
}

/// A selected child: the rule that selected it, and the name that rule matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection<'a> {
    pub reason: Reason,
    /// The name a name rule matched (see `detect::Verdict::server`); empty for `all`,
    /// `include` and `env-dropped`.
    pub server: &'a [u8],
}

impl Selection<'_> {
    fn unnamed(reason: Reason) -> Selection<'static> {
        Selection {
            reason,
            server: &[],
        }
    }
}

fn any_match<'a, A: Arg<'a>>(patterns: &[Box<[u8]>], path: &[u8], argv: &[A]) -> bool {
    if patterns.is_empty() {
        return false;
    }
    let names = core::iter::once(path)
        .chain(argv.iter().map(|a| a.bytes()))
        .flat_map(|t| {
            let base = basename(t);
            [base, package_name(base)]
        });
    names
        .filter(|n| !n.is_empty())
        .any(|n| patterns.iter().any(|p| glob_match(p, n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(include: &[&str], exclude: &[&str]) -> Selector {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Selector::new(&s(include), &s(exclude))
    }

    const NPX_MEMORY: [&[u8]; 3] = [b"npx", b"-y", b"@modelcontextprotocol/server-memory"];
    const TRUE: [&[u8]; 1] = [b"true"];

    #[test]
    fn off_selects_nothing_and_all_selects_everything() {
        let s = sel(&[], &[]);
        assert_eq!(s.select(Mode::Off, b"npx", &NPX_MEMORY, true), None);
        assert_eq!(
            reason(s.select(Mode::All, b"/bin/true", &TRUE, false)),
            Some(Reason::All)
        );
    }

    fn reason(s: Option<Selection<'_>>) -> Option<Reason> {
        s.map(|s| s.reason)
    }

    #[test]
    fn a_name_rule_reports_the_name_it_matched_and_other_rules_none() {
        let s = sel(&["true"], &[]);
        let named = s.select(Mode::Mcp, b"npx", &NPX_MEMORY, false).unwrap();
        assert_eq!(named.server, b"@modelcontextprotocol/server-memory");
        let included = s.select(Mode::Mcp, b"/bin/true", &TRUE, false).unwrap();
        assert_eq!(
            (included.reason, included.server),
            (Reason::Include, &b""[..])
        );
    }

    #[test]
    fn audit_selects_what_mcp_mode_would() {
        let s = sel(&[], &[]);
        assert_eq!(
            reason(s.select(Mode::Audit, b"npx", &NPX_MEMORY, false)),
            Some(Reason::Package)
        );
        assert_eq!(s.select(Mode::Audit, b"/bin/true", &TRUE, false), None);
    }

    #[test]
    fn exclude_wins_over_every_rule_and_mode() {
        let s = sel(&["true"], &["server-*"]);
        assert_eq!(s.select(Mode::Mcp, b"npx", &NPX_MEMORY, true), None);
        assert_eq!(s.select(Mode::All, b"npx", &NPX_MEMORY, true), None);
    }

    #[test]
    fn include_selects_a_server_without_an_mcp_name() {
        let s = sel(&["weather-*"], &[]);
        let argv: [&[u8]; 2] = [b"uvx", b"weather-server@1.2"];
        assert_eq!(
            reason(s.select(Mode::Mcp, b"/usr/bin/uvx", &argv, false)),
            Some(Reason::Include)
        );
        let argv: [&[u8]; 1] = [b"weather-bot"];
        assert_eq!(
            reason(s.select(Mode::Mcp, b"/opt/weather-bot", &argv, false)),
            Some(Reason::Include)
        );
    }

    #[test]
    fn a_dropped_environment_selects_runtimes_and_mcp_mentions_only() {
        let s = sel(&[], &[]);
        let node: [&[u8]; 2] = [b"node", b"/app/dist/index.js"];
        assert_eq!(
            reason(s.select(Mode::Mcp, b"/usr/bin/node", &node, true)),
            Some(Reason::EnvDropped)
        );
        assert_eq!(s.select(Mode::Mcp, b"/usr/bin/node", &node, false), None);
        let grep: [&[u8]; 3] = [b"rg", b"mcp", b"src"];
        assert_eq!(
            reason(s.select(Mode::Mcp, b"/usr/bin/rg", &grep, true)),
            Some(Reason::EnvDropped)
        );
        assert_eq!(s.select(Mode::Mcp, b"/usr/bin/rg", &grep, false), None);
        assert_eq!(s.select(Mode::Mcp, b"/bin/true", &TRUE, true), None);
    }
}
