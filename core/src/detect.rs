//! Which children look like MCP servers, from their command line alone: a pure function of
//! (path, argv), seen through launchers (`npx`, `uvx`, `docker run`, `sh -c`, ...).
//! Allocation-free and panic-free: it runs on the exec path.
//!
//! Recall matters more than precision: a missed server is the silent failure the shim exists
//! to end, while an extra CA variable on a sandboxed child is harmless.

use crate::names::{
    basename, has_mcp_word, image_name, is_option, package_is_mcp, package_name, starts_with_ci,
    truncate_name,
};
use crate::options::{self as opt, dir_anywhere, scan, Dialect};

/// One argument of the command line. Detection is generic over it so that the library can
/// hand over argv's own pointer array (measuring each string only when it is looked at) and
/// tests and the CLI can pass byte slices.
pub trait Arg<'a>: Copy {
    fn bytes(self) -> &'a [u8];
}

impl<'a> Arg<'a> for &'a [u8] {
    fn bytes(self) -> &'a [u8] {
        self
    }
}

/// The rule that selected a child; it is logged as `reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    All,
    Include,
    Program,
    Package,
    Script,
    Module,
    Image,
    Flag,
    Subcommand,
    EnvDropped,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::All => "all",
            Reason::Include => "include",
            Reason::Program => "name:program",
            Reason::Package => "name:package",
            Reason::Script => "name:script",
            Reason::Module => "name:module",
            Reason::Image => "name:image",
            Reason::Flag => "name:flag",
            Reason::Subcommand => "name:subcommand",
            Reason::EnvDropped => "env-dropped",
        }
    }
}

/// What the command line says about a child.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict<'a> {
    /// A name rule that recognised an MCP server.
    pub name: Option<Reason>,
    /// The child runs a language runtime or package launcher, as most MCP servers do.
    pub runtime: bool,
    /// An argument asks for the stdio transport (`stdio`, `--stdio`, `--transport=stdio`):
    /// the one hint a bare server binary gives.
    pub transport: bool,
    /// The name the rule matched (a package name without its version, a script's or module's
    /// name, an image name, a program's basename), at most `MAX_SERVER` bytes; empty when no
    /// name rule matched. It is the only piece of argv that is ever logged.
    pub server: &'a [u8],
}

/// Longest `server` name kept.
pub const MAX_SERVER: usize = 128;
/// How deep launchers may nest (`sh -c "env X=1 npx ..."`).
const MAX_DEPTH: u8 = 4;
/// Words kept of one command of a `sh -c` string; later words of that command are ignored.
const MAX_SHELL_WORDS: usize = 16;

/// The bytes of argument `i`, empty when there is none.
fn at<'a, A: Arg<'a>>(args: &[A], i: usize) -> &'a [u8] {
    args.get(i).map_or(&[], |a| a.bytes())
}

fn tail<A>(args: &[A]) -> &[A] {
    args.get(1..).unwrap_or(&[])
}

/// Whether a name rule could select this command at all: every one needs `mcp` somewhere in it
/// (a word of a name, a flag, a subcommand, a module) or an `@modelcontextprotocol/` package.
/// A byte scan, for a process deciding at load whether it may be a server before it pays for
/// `classify` (every process under `/etc/ld.so.preload` asks). `false` means no name rule can
/// match; `true` means only that one might.
pub fn may_be_named<'a, A: Arg<'a>>(path: &[u8], argv: &[A]) -> bool {
    let has = |t: &[u8]| {
        t.windows(3).any(|w| w.eq_ignore_ascii_case(b"mcp"))
            || t.windows(20)
                .any(|w| w.eq_ignore_ascii_case(b"modelcontextprotocol"))
    };
    has(path) || argv.iter().any(|a| has(a.bytes()))
}

/// Classifies a command: `path` is what the exec call names (may be a bare name for the
/// `*p` forms, or empty for `fexecve`), `argv` the arguments including `argv[0]`.
pub fn classify<'a, A: Arg<'a>>(path: &'a [u8], argv: &[A]) -> Verdict<'a> {
    let argv0 = at(argv, 0);
    let prog = if basename(path).is_empty() {
        argv0
    } else {
        path
    };
    let mut v = command(prog, tail(argv), 0);
    if v.name.is_none() && has_mcp_word(basename(argv0)) {
        v.name = Some(Reason::Program);
        v.server = basename(argv0);
    }
    v.transport |= tail(argv).iter().any(|a| asks_for_stdio(a.bytes()));
    v.server = truncate_name(v.server, MAX_SERVER);
    v
}

/// Whether the program or an argument is named with the word `mcp`: the weak hint that, with
/// a client's spawn, selects a child. Basenames only: the directory a program happens to
/// live in (a checkout called `mcp-tools/`) says nothing about the program.
pub fn mentions_mcp<'a, A: Arg<'a>>(path: &[u8], argv: &[A]) -> bool {
    has_mcp_word(basename(path)) || argv.iter().any(|a| has_mcp_word(basename(a.bytes())))
}

/// `stdio`, `--stdio`, `--transport=stdio` (and `--transport stdio`, `-t stdio`, whose
/// second word is `stdio`).
fn asks_for_stdio(a: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b"stdio")
        || a.eq_ignore_ascii_case(b"--stdio")
        || (is_option(a)
            && a.len() > 6
            && a.get(a.len() - 6..)
                .is_some_and(|end| end.eq_ignore_ascii_case(b"=stdio")))
}

fn named(r: Reason, server: &[u8]) -> Verdict<'_> {
    Verdict {
        name: Some(r),
        runtime: true,
        transport: false,
        server,
    }
}

fn runtime<'a>() -> Verdict<'a> {
    Verdict {
        runtime: true,
        ..Verdict::default()
    }
}

/// A verdict of an inner command, run by a launcher: a runtime whatever the command is.
fn launched(inner: Verdict<'_>) -> Verdict<'_> {
    Verdict {
        runtime: true,
        ..inner
    }
}

/// Classifies the program `prog` (a path or bare name) run with `args` (without argv[0]).
pub fn command<'a, A: Arg<'a>>(prog: &'a [u8], args: &[A], depth: u8) -> Verdict<'a> {
    if depth > MAX_DEPTH {
        return Verdict::default();
    }
    let name = basename(prog);
    let mut lower = [0u8; 16];
    let key = lowercase(name, &mut lower);
    match key {
        b"env" => wrapped(args, &opt::ENV, 0, depth),
        // Tools whose operands are files, patterns and text, never subcommands: `rm
        // mcp-server`, `grep mcp-server notes.md`, `mkdir mcp-tools`, `echo mcp`.
        b"rm" | b"rmdir" | b"mkdir" | b"cp" | b"mv" | b"ln" | b"cat" | b"ls" | b"touch"
        | b"chmod" | b"chown" | b"chgrp" | b"stat" | b"file" | b"head" | b"tail" | b"less"
        | b"more" | b"wc" | b"du" | b"tar" | b"zip" | b"unzip" | b"gzip" | b"find" | b"grep"
        | b"egrep" | b"fgrep" | b"rg" | b"sed" | b"awk" | b"diff" | b"cmp" | b"tee"
        | b"install" | b"echo" | b"printf" | b"test" | b"realpath" | b"readlink" | b"basename"
        | b"dirname" | b"sort" | b"uniq" | b"cut" | b"tr" | b"which" => Verdict::default(),
        b"exec" | b"nohup" | b"setsid" | b"command" | b"time" | b"tini" | b"dumb-init"
        | b"sudo" | b"doas" | b"nice" | b"stdbuf" | b"chrt" | b"taskset" => {
            wrapped(args, &opt::WRAPPER, 0, depth)
        }
        b"timeout" => wrapped(args, &opt::WRAPPER, 1, depth),
        b"sh" | b"bash" | b"dash" | b"zsh" | b"ksh" | b"ash" | b"mksh" | b"fish" | b"busybox" => {
            shell(args, depth)
        }
        b"npx" | b"bunx" | b"pnpx" | b"uvx" => package_runner(args, &opt::RUNNER, &[], depth),
        b"dnx" => package_runner(args, &opt::DNX, &[], depth),
        b"pnpm" | b"yarn" | b"npm" | b"uv" | b"pipx" => manager(key, name, args, depth),
        b"docker" | b"podman" | b"nerdctl" => container(name, args, depth),
        b"docker-compose" | b"podman-compose" => compose(name, args, depth),
        b"node" | b"nodejs" | b"tsx" | b"ts-node" | b"ruby" | b"php" | b"perl" => {
            script(args, &opt::SCRIPT, &[])
        }
        b"bun" | b"deno" => bun_or_deno(args, depth),
        b"go" => go(name, args),
        b"cargo" => cargo(name, args),
        b"java" => script(args.get(jar(args)..).unwrap_or(&[]), &opt::JAVA, &[]),
        b"dotnet" => dotnet(args, depth),
        _ if is_python(key) => python(args),
        b"mcp" => mcp_cli(name, args),
        _ => plain(name, args),
    }
}

/// `python`, `python3`, `python3.12`, `pypy3`: not `python-code-tools`.
fn is_python(key: &[u8]) -> bool {
    let rest = key
        .strip_prefix(b"python")
        .or_else(|| key.strip_prefix(b"pypy"));
    rest.is_some_and(|r| r.iter().all(|&b| b.is_ascii_digit() || b == b'.'))
}

/// A program that is not a launcher: its own name, an `--mcp` flag or an MCP subcommand.
fn plain<'a, A: Arg<'a>>(name: &'a [u8], args: &[A]) -> Verdict<'a> {
    let rule = if has_mcp_word(name) {
        Reason::Program
    } else if args.iter().any(|a| is_mcp_flag(a.bytes())) {
        Reason::Flag
    } else if subcommand_is_mcp(args) {
        Reason::Subcommand
    } else {
        return Verdict::default();
    };
    Verdict {
        name: Some(rule),
        server: name,
        ..Verdict::default()
    }
}

fn is_mcp_flag(a: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b"--mcp") || starts_with_ci(a, b"--mcp=")
}

/// `serena start-mcp-server`, `tool mcp-server`, `claude mcp serve`, `gitnexus mcp --repo x`,
/// `docker mcp gateway run`: the first argument, before any option, as subcommands come; not
/// `grep -r mcp-server .`, `rg mcp src` or `claude mcp add`.
fn subcommand_is_mcp<'a, A: Arg<'a>>(args: &[A]) -> bool {
    let first = at(args, 0);
    if first.eq_ignore_ascii_case(b"mcp") {
        return serves(at(args, 1));
    }
    is_word(first) && has_mcp_word(first)
}

/// What follows an `mcp` subcommand: nothing, an option or an operand (`x mcp`, `x mcp --port
/// 1`, `x mcp ./repo`) or a serving verb starts a server; any other word manages a client's
/// own configuration (`claude mcp add`, `codex mcp list`).
fn serves(next: &[u8]) -> bool {
    !is_word(next)
        || matches!(
            next,
            b"serve" | b"server" | b"start" | b"run" | b"stdio" | b"gateway"
        )
}

/// A subcommand-like word: letters, digits, `-`, `_` and `:` (`namespace:command`), starting
/// with a letter.
fn is_word(w: &[u8]) -> bool {
    w.first().is_some_and(u8::is_ascii_alphabetic)
        && w.iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'))
}

/// The arguments a script (or module, or build target) is run with: an `mcp` command first
/// (`node cli.js mcp`, `go run ./agent mcp`, `php artisan boost:mcp`) or an `--mcp` flag.
/// Narrower than a plain program's subcommand rule: a script's first argument is often a
/// name of its own (`python -m unittest test_mcp`).
fn script_command<'a, A: Arg<'a>>(script: &'a [u8], rest: &[A]) -> Verdict<'a> {
    let first = at(rest, 0);
    let namespaced = is_word(first)
        && first.contains(&b':')
        && first
            .split(|&b| b == b':')
            .any(|p| p.eq_ignore_ascii_case(b"mcp"));
    let rule = if (first.eq_ignore_ascii_case(b"mcp") && serves(at(rest, 1))) || namespaced {
        Reason::Subcommand
    } else if rest.iter().any(|a| is_mcp_flag(a.bytes())) {
        Reason::Flag
    } else {
        return runtime();
    };
    named(rule, basename(script))
}

/// `env`, `nohup`, `timeout 5`, `sudo -u x`: skip options (and `positional` leading operands),
/// then classify the wrapped command.
fn wrapped<'a, A: Arg<'a>>(args: &[A], d: &Dialect, positional: usize, depth: u8) -> Verdict<'a> {
    let mut i = scan(args, d).operand;
    let mut skipped = 0;
    while let Some(a) = args.get(i).map(|a| a.bytes()) {
        if skipped < positional || is_assignment(a) {
            skipped += 1;
            i += 1;
        } else {
            break;
        }
    }
    match args.get(i) {
        Some(prog) => command(prog.bytes(), args.get(i + 1..).unwrap_or(&[]), depth + 1),
        None => Verdict::default(),
    }
}

/// `NAME=value` as `env` takes it.
fn is_assignment(a: &[u8]) -> bool {
    match a.iter().position(|&b| b == b'=') {
        Some(eq) if eq > 0 => a
            .get(..eq)
            .is_some_and(|k| k.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')),
        _ => false,
    }
}

/// `sh -c "..."`, `bash -lc "..."`: classify each command of the string, one at a time;
/// `bash script.sh`: the script by name.
fn shell<'a, A: Arg<'a>>(args: &[A], depth: u8) -> Verdict<'a> {
    let Some(i) = args.iter().position(|a| {
        let a = a.bytes();
        is_option(a) && !a.starts_with(b"--") && a.iter().skip(1).any(|&b| b == b'c')
    }) else {
        return match args.get(scan(args, &opt::SHELL).operand) {
            Some(_) => script(args, &opt::SHELL, &[]),
            None => Verdict::default(),
        };
    };
    let script = at(args, i + 1);
    let mut words = Words::new(script);
    let mut best = Verdict::default();
    let mut segment: [&'a [u8]; MAX_SHELL_WORDS] = [&[]; MAX_SHELL_WORDS];
    while let Some(n) = words.next_command(&mut segment) {
        let segment = segment.get(..n).unwrap_or(&[]);
        // `GITHUB_TOKEN=x npx ...`: assignments before the command are not the command.
        let start = segment
            .iter()
            .position(|t| !is_assignment(t))
            .unwrap_or(segment.len());
        let Some((&prog, rest)) = segment.get(start..).and_then(<[_]>::split_first) else {
            continue;
        };
        let v = command(prog, rest, depth + 1);
        if v.name.is_some() {
            return v;
        }
        best.runtime |= v.runtime;
        best.transport |= rest.iter().any(|a| asks_for_stdio(a));
    }
    best
}

/// The words of a shell string, one command at a time: split on blanks, quotes and
/// parentheses stripped at word ends, `&&`, `||`, `;`, `|`, `&` (alone or ending a word)
/// between commands. Approximate by design: it feeds detection, never execution.
struct Words<'a> {
    raw: core::slice::Split<'a, u8, fn(&u8) -> bool>,
}

impl<'a> Words<'a> {
    fn new(s: &'a [u8]) -> Words<'a> {
        let blank: fn(&u8) -> bool = |b| b.is_ascii_whitespace();
        Words {
            raw: s.split(blank),
        }
    }

    /// Fills `out` with the next command's words (at most its length; later words of the
    /// same command are dropped) and returns how many; `None` at the end of the string.
    fn next_command(&mut self, out: &mut [&'a [u8]]) -> Option<usize> {
        let mut n = 0;
        let mut any = false;
        for raw in self.raw.by_ref() {
            any = true;
            let mut t = raw;
            while let [b'"' | b'\'' | b'(', rest @ ..] = t {
                t = rest;
            }
            let mut ends = matches!(t, b"&&" | b"||" | b";" | b"|" | b"&");
            if ends {
                t = &[];
            } else if let [rest @ .., b';'] = t {
                t = rest;
                ends = true;
            }
            while let [rest @ .., b'"' | b'\'' | b')'] = t {
                t = rest;
            }
            if !t.is_empty() {
                if let Some(slot) = out.get_mut(n) {
                    *slot = t;
                    n += 1;
                }
            }
            if ends {
                return Some(n);
            }
        }
        any.then_some(n)
    }
}

/// `npx -y pkg args`, `uvx --from spec cmd args`, `pnpm dlx pkg`, `uv run x.py`, `dnx Pkg`:
/// the package (and any `--from`/`--package`/`--spec` spec) by name, then what it runs; a
/// project directory (`--directory`, `--project`, ... or `dir` from the caller) names the
/// folder of what it runs.
fn package_runner<'a, A: Arg<'a>>(
    args: &[A],
    d: &Dialect,
    dir: &'a [u8],
    depth: u8,
) -> Verdict<'a> {
    let s = scan(args, d);
    let dir = if s.dir.is_empty() { dir } else { s.dir };
    if !s.target.is_empty() {
        return named(Reason::Package, s.target);
    }
    let Some(spec) = args.get(s.operand).map(|a| a.bytes()) else {
        return runtime();
    };
    if package_is_mcp(spec) {
        return named(Reason::Package, package_name(spec));
    }
    let rest = args.get(s.operand + 1..).unwrap_or(&[]);
    let inner = if is_script_file(spec) {
        // `uv run /srv/weather-mcp/server.py`: a script, judged by its whole path.
        script(args.get(s.operand..).unwrap_or(&[]), &opt::NONE, &[])
    } else {
        command(package_name(spec), rest, depth + 1)
    };
    if inner.name.is_some() {
        return launched(inner);
    }
    in_folder(dir).unwrap_or_else(|| launched(inner))
}

/// A file a runner runs with an interpreter: by its extension.
fn is_script_file(spec: &[u8]) -> bool {
    let ext = basename(spec).rsplit(|&b| b == b'.').next().unwrap_or(&[]);
    basename(spec).contains(&b'.')
        && matches!(
            ext,
            b"py" | b"js" | b"mjs" | b"cjs" | b"ts" | b"mts" | b"rb" | b"php" | b"pl" | b"sh"
        )
}

/// What runs inside a project directory named with the word `mcp` is named by it:
/// `uv --directory /srv/weather-mcp run main.py`, `npm start --prefix ~/jira-mcp`.
fn in_folder(dir: &[u8]) -> Option<Verdict<'_>> {
    has_mcp_word(dir).then(|| named(Reason::Script, named_part(dir)))
}

/// `uv --directory d run x`, `uv tool run x`, `pnpm --silent dlx pkg`, `npm exec pkg`,
/// `pipx run pkg`, `npm run start --prefix d`: global options, then a subcommand that runs
/// something; any other subcommand (`install`, `build`) is judged as a plain program.
fn manager<'a, A: Arg<'a>>(key: &[u8], name: &'a [u8], args: &[A], depth: u8) -> Verdict<'a> {
    let s = scan(args, &opt::RUNNER);
    let sub = at(args, s.operand);
    let rest = args.get(s.operand + 1..).unwrap_or(&[]);
    match (key, sub) {
        (b"uv", b"tool") if at(rest, 0) == b"run" => {
            package_runner(tail(rest), &opt::RUNNER, s.dir, depth)
        }
        (b"uv" | b"pipx", b"run")
        | (b"pnpm" | b"yarn", b"dlx" | b"exec")
        | (b"npm", b"exec" | b"x") => package_runner(rest, &opt::RUNNER, s.dir, depth),
        // A script of the project's package.json, in the project's folder.
        (b"npm" | b"pnpm" | b"yarn", b"run" | b"start" | b"run-script") => {
            in_folder(dir_anywhere(args, &opt::RUNNER)).unwrap_or_else(runtime)
        }
        _ => plain(name, args),
    }
}

/// `docker [global options] run|create|exec [options] image [command]`, `docker compose ...`:
/// the image (or container) by name, else the command run in it; `docker mcp gateway run`.
fn container<'a, A: Arg<'a>>(name: &'a [u8], args: &[A], depth: u8) -> Verdict<'a> {
    let args = args
        .get(scan(args, &opt::DOCKER_GLOBAL).operand..)
        .unwrap_or(&[]);
    match (at(args, 0), at(args, 1)) {
        (b"run" | b"create" | b"exec", _) => image_then_command(tail(args), depth),
        (b"container", b"run" | b"create" | b"exec") => {
            image_then_command(args.get(2..).unwrap_or(&[]), depth)
        }
        (b"compose", _) => compose(name, tail(args), depth),
        _ => plain(name, args),
    }
}

/// `docker compose [options] run|exec [options] service [command]`, `docker-compose ...`.
fn compose<'a, A: Arg<'a>>(name: &'a [u8], args: &[A], depth: u8) -> Verdict<'a> {
    let args = args
        .get(scan(args, &opt::COMPOSE_GLOBAL).operand..)
        .unwrap_or(&[]);
    match at(args, 0) {
        b"run" | b"exec" => image_then_command(tail(args), depth),
        _ => plain(name, args),
    }
}

/// Options, an image (or container, or compose service), then the command run in it.
fn image_then_command<'a, A: Arg<'a>>(args: &[A], depth: u8) -> Verdict<'a> {
    let i = scan(args, &opt::CONTAINER_RUN).operand;
    let Some(image) = args.get(i).map(|a| image_name(a.bytes())) else {
        return runtime();
    };
    if has_mcp_word(image) {
        return named(Reason::Image, image);
    }
    match args.get(i + 1) {
        Some(cmd) => launched(command(
            cmd.bytes(),
            args.get(i + 2..).unwrap_or(&[]),
            depth + 1,
        )),
        None => runtime(),
    }
}

/// `node [options] script [arguments]`, `bun run script`: the script's path by name, then the
/// project directory (`--cwd`, or `dir` from the caller), then its arguments.
fn script<'a, A: Arg<'a>>(args: &[A], d: &Dialect, dir: &'a [u8]) -> Verdict<'a> {
    let s = scan(args, d);
    let dir = if s.dir.is_empty() { dir } else { s.dir };
    let Some(path) = args.get(s.operand).map(|a| a.bytes()) else {
        return runtime();
    };
    if has_mcp_word(path) {
        return named(Reason::Script, named_part(path));
    }
    // `deno run npm:@x/mcp-server`, `tsx` given as a script name of a package.
    if package_is_mcp(path) {
        return named(Reason::Package, package_name(path));
    }
    if let Some(v) = in_folder(dir) {
        return v;
    }
    script_command(path, args.get(s.operand + 1..).unwrap_or(&[]))
}

/// The part of a path (or dotted module name) that has the word `mcp`, nearest the end: what
/// a script, module or folder rule matched.
fn named_part(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| matches!(b, b'/' | b'\\' | b'.' | b':'))
        .find(|part| has_mcp_word(part))
        .unwrap_or(path)
}

/// `bun [--cwd d] run script`, `bun x pkg`, `deno run [options] script`, `bun script`.
fn bun_or_deno<'a, A: Arg<'a>>(args: &[A], depth: u8) -> Verdict<'a> {
    let s = scan(args, &opt::SCRIPT);
    let rest = args.get(s.operand + 1..).unwrap_or(&[]);
    match at(args, s.operand) {
        b"x" => package_runner(rest, &opt::RUNNER, s.dir, depth),
        b"run" | b"serve" => script(rest, &opt::SCRIPT, s.dir),
        _ => script(args, &opt::SCRIPT, &[]),
    }
}

/// `go run [build flags] ./cmd/x [arguments]`: the package path by name.
fn go<'a, A: Arg<'a>>(name: &'a [u8], args: &[A]) -> Verdict<'a> {
    match at(args, 0) {
        b"run" => script(tail(args), &opt::GO_RUN, &[]),
        _ => plain(name, args),
    }
}

/// `cargo [+toolchain] run [--manifest-path p] [-p pkg] [--bin b] [-- arguments]`: the
/// package or binary by name, then the manifest's folder, then the program's arguments.
fn cargo<'a, A: Arg<'a>>(name: &'a [u8], args: &[A]) -> Verdict<'a> {
    let args = if at(args, 0).starts_with(b"+") {
        tail(args)
    } else {
        args
    };
    let g = scan(args, &opt::CARGO_GLOBAL);
    if at(args, g.operand) != b"run" {
        return plain(name, args);
    }
    let rest = args.get(g.operand + 1..).unwrap_or(&[]);
    let s = scan(rest, &opt::CARGO_RUN);
    if !s.target.is_empty() {
        return named(Reason::Package, s.target);
    }
    let dir = if s.dir.is_empty() { g.dir } else { s.dir };
    in_folder(dir).unwrap_or_else(|| script_command(name, rest.get(s.operand..).unwrap_or(&[])))
}

/// `java -jar x.jar`: where the jar is, else 0 (`java -cp ... pkg.Main`).
fn jar<'a, A: Arg<'a>>(args: &[A]) -> usize {
    args.iter()
        .position(|a| a.bytes() == b"-jar")
        .map_or(0, |i| i + 1)
}

/// `dotnet run --project x.csproj`, `dotnet x.dll`, `dotnet tool exec pkg`, `dotnet dnx pkg`.
fn dotnet<'a, A: Arg<'a>>(args: &[A], depth: u8) -> Verdict<'a> {
    match (at(args, 0), at(args, 1)) {
        (b"run", _) => {
            let rest = tail(args);
            let s = scan(rest, &opt::DOTNET_RUN);
            in_folder(s.dir)
                .unwrap_or_else(|| script_command(b"dotnet", rest.get(s.operand..).unwrap_or(&[])))
        }
        (b"tool", b"exec" | b"run") => {
            package_runner(args.get(2..).unwrap_or(&[]), &opt::DNX, &[], depth)
        }
        (b"dnx", _) => package_runner(tail(args), &opt::DNX, &[], depth),
        _ => script(args, &opt::NONE, &[]),
    }
}

/// `python -m module`, `python script.py`.
fn python<'a, A: Arg<'a>>(args: &[A]) -> Verdict<'a> {
    let mut i = 0;
    while let Some(a) = args.get(i).map(|a| a.bytes()) {
        let rest = args.get(i + 1..).unwrap_or(&[]);
        if a == b"-m" {
            return module(at(args, i + 1), tail(rest));
        }
        if let Some(m) = a.strip_prefix(b"-m") {
            return module(m, rest);
        }
        if a == b"-c" {
            return runtime();
        }
        if !is_option(a) {
            break;
        }
        i += if opt::PYTHON.values.contains(a) { 2 } else { 1 };
    }
    script(args.get(i..).unwrap_or(&[]), &opt::NONE, &[])
}

/// `python -m module [arguments]`: the module by name, then its arguments.
fn module<'a, A: Arg<'a>>(m: &'a [u8], rest: &[A]) -> Verdict<'a> {
    if has_mcp_word(m) {
        named(Reason::Module, named_part(m))
    } else {
        script_command(m, rest)
    }
}

/// The Python SDK's CLI: `mcp run server.py` serves, `mcp install` or `mcp dev` do not.
fn mcp_cli<'a, A: Arg<'a>>(name: &'a [u8], args: &[A]) -> Verdict<'a> {
    if at(args, 0) != b"run" {
        return Verdict::default();
    }
    let script = at(args, 1);
    Verdict {
        name: Some(Reason::Program),
        server: if has_mcp_word(script) {
            named_part(script)
        } else {
            name
        },
        ..Verdict::default()
    }
}

/// Lower-cases a short program name into `buf`; longer names are returned as they are (no
/// launcher has a long name).
fn lowercase<'a>(name: &'a [u8], buf: &'a mut [u8; 16]) -> &'a [u8] {
    if name.len() > buf.len() {
        return name;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    buf.get(..name.len()).unwrap_or(name)
}

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
