//! The decision: does the shim touch this child? The mode, the operator's include/exclude
//! patterns, the name rules of `detect`, and the signals of an MCP client's spawn (a fresh
//! environment, stdio pipes), in that order. Pure and allocation-free.

use crate::config::Mode;
use crate::detect::{classify, mentions_mcp, Arg, Reason};
use crate::envp::{ChildEnv, EnvSource};
use crate::names::{basename, is_option, package_name};
use crate::patterns::Patterns;
use crate::stdio::StdioSource;
use alloc::string::String;
use alloc::vec::Vec;

/// The operator's patterns, matched against the program's name and each argument's name
/// (basename, without a package version).
#[derive(Debug, Default)]
pub struct Selector {
    include: Patterns,
    exclude: Patterns,
}

impl Selector {
    /// Patterns over the limits of `patterns` are left out, each list with a warning.
    pub fn new(include: &[String], exclude: &[String], warnings: &mut Vec<String>) -> Selector {
        Selector {
            include: Patterns::new(include, "include", warnings),
            exclude: Patterns::new(exclude, "exclude", warnings),
        }
    }

    /// Why the child is selected, or `None` to leave it alone. `env` says what the child's
    /// envp kept of the host's, `stdio` what its stdin and stdout are.
    pub fn select<'a, A: Arg<'a>>(
        &self,
        mode: Mode,
        path: &'a [u8],
        argv: &[A],
        env: impl EnvSource,
        stdio: impl StdioSource,
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
        // The command line first, then the environment (the host's values, read on first use
        // in the library), then stdio (system calls): most children are no client's spawn.
        if (v.runtime || v.transport || mentions_mcp(path, argv))
            && fresh_env(env.child_env())
            && stdio.stdio().can_be_transport()
        {
            return Some(Selection::unnamed(Reason::EnvDropped));
        }
        None
    }
}

/// What an MCP client's stdio spawn looks like, and a hermetic child (`env -i`, `env={}` in a
/// test harness) does not: the environment is fresh (it dropped the host's block) yet kept
/// every one of the SDKs' default keys the host has; and (checked last by `select`) stdin and
/// stdout are both pipes or sockets.
fn fresh_env(env: ChildEnv) -> bool {
    env.dropped && env.defaults & env.host_defaults == env.host_defaults
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

#[inline]
fn any_match<'a, A: Arg<'a>>(patterns: &Patterns, path: &[u8], argv: &[A]) -> bool {
    if patterns.is_empty() {
        return false;
    }
    // Options (`-y`, `--db-path`) name nothing; a name without a version is looked up once.
    let names = core::iter::once(path)
        .chain(argv.iter().map(|a| a.bytes()))
        .filter(|t| !is_option(t));
    for t in names {
        let base = basename(t);
        let package = package_name(base);
        if patterns.matches(base) || (package.len() != base.len() && patterns.matches(package)) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stdio::{FdKind, Stdio};

    /// The host: every client default.
    const HOST: u8 = 0b11_1111;

    fn sel(include: &[&str], exclude: &[&str]) -> Selector {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Selector::new(&s(include), &s(exclude), &mut Vec::new())
    }

    /// How a child was spawned: its environment and its stdio.
    type Spawn = (ChildEnv, Stdio);

    /// An MCP client's child: a fresh environment with the SDK defaults, stdio pipes.
    const SDK: Spawn = (
        ChildEnv {
            dropped: true,
            defaults: HOST,
            host_defaults: HOST,
        },
        Stdio::PIPES,
    );
    /// A child that inherited the host's environment.
    const INHERITED: Spawn = (
        ChildEnv {
            dropped: false,
            defaults: HOST,
            host_defaults: HOST,
        },
        Stdio::PIPES,
    );

    fn pick<'a>(
        s: &Selector,
        mode: Mode,
        path: &'a [u8],
        argv: &[&'a [u8]],
        (env, stdio): Spawn,
    ) -> Option<Reason> {
        s.select(mode, path, argv, env, stdio).map(|s| s.reason)
    }

    const NPX_MEMORY: [&[u8]; 3] = [b"npx", b"-y", b"@modelcontextprotocol/server-memory"];
    const TRUE: [&[u8]; 1] = [b"true"];
    const NODE: [&[u8]; 2] = [b"node", b"/app/dist/index.js"];

    #[test]
    fn off_selects_nothing_and_all_selects_everything() {
        let s = sel(&[], &[]);
        assert_eq!(pick(&s, Mode::Off, b"npx", &NPX_MEMORY, SDK), None);
        assert_eq!(
            pick(&s, Mode::All, b"/bin/true", &TRUE, INHERITED),
            Some(Reason::All)
        );
    }

    #[test]
    fn a_name_rule_reports_the_name_it_matched_and_other_rules_none() {
        let s = sel(&["true"], &[]);
        let (env, stdio) = INHERITED;
        let named = s.select(Mode::Mcp, b"npx", &NPX_MEMORY, env, stdio);
        assert_eq!(
            named.map(|n| n.server),
            Some(&b"@modelcontextprotocol/server-memory"[..])
        );
        let included = s.select(Mode::Mcp, b"/bin/true", &TRUE, env, stdio);
        assert_eq!(
            included.map(|i| (i.reason, i.server)),
            Some((Reason::Include, &b""[..]))
        );
    }

    #[test]
    fn audit_selects_what_mcp_mode_would() {
        let s = sel(&[], &[]);
        assert_eq!(
            pick(&s, Mode::Audit, b"npx", &NPX_MEMORY, INHERITED),
            Some(Reason::Package)
        );
        assert_eq!(pick(&s, Mode::Audit, b"/bin/true", &TRUE, INHERITED), None);
    }

    #[test]
    fn exclude_wins_over_every_rule_and_mode() {
        let s = sel(&["true"], &["server-*"]);
        assert_eq!(pick(&s, Mode::Mcp, b"npx", &NPX_MEMORY, SDK), None);
        assert_eq!(pick(&s, Mode::All, b"npx", &NPX_MEMORY, SDK), None);
    }

    #[test]
    fn include_selects_a_server_without_an_mcp_name() {
        let s = sel(&["weather-*"], &[]);
        let argv: [&[u8]; 2] = [b"uvx", b"weather-server@1.2"];
        assert_eq!(
            pick(&s, Mode::Mcp, b"/usr/bin/uvx", &argv, INHERITED),
            Some(Reason::Include)
        );
        let argv: [&[u8]; 1] = [b"weather-bot"];
        assert_eq!(
            pick(&s, Mode::Mcp, b"/opt/weather-bot", &argv, INHERITED),
            Some(Reason::Include)
        );
    }

    #[test]
    fn an_mcp_clients_spawn_selects_runtimes_and_mcp_mentions_only() {
        let s = sel(&[], &[]);
        assert_eq!(
            pick(&s, Mode::Mcp, b"/usr/bin/node", &NODE, SDK),
            Some(Reason::EnvDropped)
        );
        assert_eq!(
            pick(&s, Mode::Mcp, b"/usr/bin/node", &NODE, INHERITED),
            None
        );
        let grep: [&[u8]; 3] = [b"rg", b"mcp", b"src"];
        assert_eq!(
            pick(&s, Mode::Mcp, b"/usr/bin/rg", &grep, SDK),
            Some(Reason::EnvDropped)
        );
        assert_eq!(pick(&s, Mode::Mcp, b"/usr/bin/rg", &grep, INHERITED), None);
        assert_eq!(pick(&s, Mode::Mcp, b"/bin/true", &TRUE, SDK), None);
    }

    #[test]
    fn a_bare_binary_asking_for_the_stdio_transport_is_selected_from_a_clients_spawn() {
        let s = sel(&[], &[]);
        for argv in [
            &[&b"/opt/acme/server"[..], b"stdio"][..],
            &[b"/opt/acme/server", b"--stdio"],
            &[b"/opt/acme/server", b"--transport", b"stdio"],
            &[b"/opt/acme/server", b"--transport=STDIO"],
        ] {
            assert_eq!(
                pick(&s, Mode::Mcp, b"/opt/acme/server", argv, SDK),
                Some(Reason::EnvDropped),
                "{argv:?}"
            );
            assert_eq!(
                pick(&s, Mode::Mcp, b"/opt/acme/server", argv, INHERITED),
                None
            );
        }
        let argv: [&[u8]; 2] = [b"/opt/acme/server", b"--stdio-log=x"];
        assert_eq!(pick(&s, Mode::Mcp, b"/opt/acme/server", &argv, SDK), None);
    }

    #[test]
    fn a_hermetic_child_is_no_clients_spawn() {
        let s = sel(&[], &[]);
        let piped = |defaults| {
            (
                ChildEnv {
                    dropped: true,
                    defaults,
                    host_defaults: HOST,
                },
                Stdio::PIPES,
            )
        };
        let path_bit = crate::envp::client_default_bit(b"PATH");
        // `env -i PATH=/usr/bin:/bin python3 ...`, even with both pipes from a harness.
        assert_eq!(
            pick(&s, Mode::Mcp, b"/usr/bin/node", &NODE, piped(path_bit)),
            None
        );
        // CPython's test_empty_env: subprocess.run(..., env={}, stdout=PIPE).
        assert_eq!(pick(&s, Mode::Mcp, b"/usr/bin/node", &NODE, piped(0)), None);
        // The SDK's environment, but stdin a terminal or stdout a file: no stdio transport.
        for stdio in [
            Stdio {
                stdin: FdKind::Tty,
                stdout: FdKind::Pipe,
            },
            Stdio {
                stdin: FdKind::Pipe,
                stdout: FdKind::File,
            },
            Stdio {
                stdin: FdKind::CharDev,
                stdout: FdKind::Pipe,
            },
        ] {
            assert_eq!(
                pick(&s, Mode::Mcp, b"/usr/bin/node", &NODE, (SDK.0, stdio)),
                None,
                "{stdio:?}"
            );
        }
        // A host without some defaults asks only for the ones it has.
        let home_path = crate::envp::client_defaults([true, false, true, false, false, false]);
        let host_with = |defaults| {
            (
                ChildEnv {
                    dropped: true,
                    defaults,
                    host_defaults: home_path,
                },
                Stdio::PIPES,
            )
        };
        assert_eq!(
            pick(&s, Mode::Mcp, b"/usr/bin/node", &NODE, host_with(home_path)),
            Some(Reason::EnvDropped)
        );
        // Names are not hints of this kind: a named server is selected however it is spawned.
        assert_eq!(
            pick(&s, Mode::Mcp, b"npx", &NPX_MEMORY, piped(0)),
            Some(Reason::Package)
        );
    }

    #[test]
    fn stdio_is_looked_at_only_when_the_command_line_and_the_environment_leave_it_open() {
        let s = sel(&[], &[]);
        let fresh = ChildEnv {
            dropped: true,
            defaults: HOST,
            host_defaults: HOST,
        };
        let unasked = || -> Stdio { panic!("stdio looked at") };
        // Nor the environment (the host's values, in the library) for these two.
        let no_env = || -> ChildEnv { panic!("the environment looked at") };
        let named: [&[u8]; 1] = [b"mcp-server-x"];
        assert!(s
            .select(Mode::Mcp, b"mcp-server-x", &named, no_env, unasked)
            .is_some());
        let plain: [&[u8]; 2] = [b"ls", b"-l"];
        assert!(s
            .select(Mode::Mcp, b"ls", &plain, no_env, unasked)
            .is_none());
        let kept = ChildEnv {
            dropped: false,
            ..fresh
        };
        let node: [&[u8]; 2] = [b"node", b"index.js"];
        assert!(s.select(Mode::Mcp, b"node", &node, kept, unasked).is_none());
        let asked = core::cell::Cell::new(false);
        let pipes = || {
            asked.set(true);
            Stdio::PIPES
        };
        assert!(s.select(Mode::Mcp, b"node", &node, fresh, pipes).is_some());
        assert!(asked.get());
    }
}

/// What the include/exclude patterns cost per spawn (run by hand:
/// `cargo test --release -p mcp-env-shim-core pattern_cost -- --ignored --nocapture`).
#[cfg(test)]
mod cost {
    use super::*;
    use crate::stdio::Stdio;
    use alloc::format;
    use alloc::string::ToString;
    use std::time::Instant;

    #[test]
    #[ignore]
    fn pattern_cost_per_spawn() {
        // A launch with 64 arguments, as many as detection reads.
        let mut argv: Vec<Vec<u8>> = vec![b"npx".to_vec(), b"-y".to_vec()];
        argv.push(b"@acme/weather-server@1.2.3".to_vec());
        argv.extend(
            (0..61).map(|i| format!("/srv/data/project-{i}/some/file-{i}.json").into_bytes()),
        );
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        let sets: [(&str, Vec<String>); 6] = [
            ("none", vec![]),
            (
                "100 exact",
                (0..100).map(|i| format!("server-{i}")).collect(),
            ),
            (
                "100: 90 exact, 10 globs",
                (0..100)
                    .map(|i| {
                        if i % 10 == 0 {
                            format!("*-tool-{i}")
                        } else {
                            format!("server-{i}")
                        }
                    })
                    .collect(),
            ),
            (
                "1,000 exact",
                (0..1000).map(|i| format!("server-{i}")).collect(),
            ),
            (
                "30,000: 29,000 exact, 1,000 globs",
                (0..30_000)
                    .map(|i| {
                        if i % 30 == 0 {
                            format!("*-tool-{i}")
                        } else {
                            format!("server-{i}")
                        }
                    })
                    .collect(),
            ),
            (
                "30,000 globs",
                (0..30_000).map(|i| format!("*-tool-{i}*")).collect(),
            ),
        ];
        for (what, list) in sets.iter() {
            let mut warnings = Vec::new();
            let s = Selector::new(list, list, &mut warnings);
            let (env, stdio) = (ChildEnv::default(), Stdio::PIPES);
            let n = 2000;
            let start = Instant::now();
            for _ in 0..n {
                std::hint::black_box(s.select(Mode::Mcp, b"/usr/bin/npx", &argv, env, stdio));
            }
            let per = start.elapsed().as_nanos() / n;
            std::println!(
                "{what:>36}: {per:>9} ns per spawn ({} warnings)",
                warnings.len()
            );
            let _ = what.to_string();
        }
    }
}
