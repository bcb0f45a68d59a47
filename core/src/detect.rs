//! Which children look like MCP servers: a pure function of (path, argv, whether the child
//! dropped the host's block), seen through launchers (`npx`, `uvx`, `docker run`, `sh -c`,
//! ...). Allocation-free and panic-free: it runs on the exec path.
//!
//! Recall matters more than precision: a missed server is the silent failure the shim exists
//! to end, while an extra CA variable on a sandboxed child is harmless.

use crate::names::{
    basename, has_mcp_word, image_name, is_option, package_name, starts_with_ci, truncate_name,
};

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
    v.server = truncate_name(v.server, MAX_SERVER);
    v
}

/// Whether the program or an argument is named with the word `mcp`: the weak hint that, with
/// a dropped environment, selects a child. Basenames only: the directory a program happens to
/// live in (a checkout called `mcp-tools/`) says nothing about the program.
pub fn mentions_mcp<'a, A: Arg<'a>>(path: &[u8], argv: &[A]) -> bool {
    has_mcp_word(basename(path)) || argv.iter().any(|a| has_mcp_word(basename(a.bytes())))
}

fn named(r: Reason, server: &[u8]) -> Verdict<'_> {
    Verdict {
        name: Some(r),
        runtime: true,
        server,
    }
}

fn runtime<'a>() -> Verdict<'a> {
    Verdict {
        name: None,
        runtime: true,
        server: &[],
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
    let sub = at(args, 0);
    match key {
        b"env" => wrapped(args, ENV_VALUE_OPTS, 0, depth),
        b"exec" | b"nohup" | b"setsid" | b"command" | b"time" | b"tini" | b"dumb-init"
        | b"sudo" | b"doas" | b"nice" | b"stdbuf" | b"chrt" | b"taskset" => {
            wrapped(args, WRAPPER_VALUE_OPTS, 0, depth)
        }
        b"timeout" => wrapped(args, WRAPPER_VALUE_OPTS, 1, depth),
        b"sh" | b"bash" | b"dash" | b"zsh" | b"ksh" | b"ash" | b"mksh" | b"fish" | b"busybox" => {
            shell(args, depth)
        }
        b"npx" | b"bunx" | b"pnpx" | b"uvx" => package_runner(args, depth),
        b"pnpm" | b"yarn" | b"npm" | b"uv" | b"pipx" => manager(key, name, args, depth),
        b"docker" | b"podman" | b"nerdctl" => container(name, args),
        b"node" | b"nodejs" | b"tsx" | b"ts-node" | b"ruby" | b"php" | b"perl" => {
            script(args, SCRIPT_VALUE_OPTS)
        }
        b"bun" | b"deno" => match sub {
            b"run" | b"x" => script(tail(args), SCRIPT_VALUE_OPTS),
            _ => script(args, SCRIPT_VALUE_OPTS),
        },
        b"go" if sub == b"run" => script(tail(args), SCRIPT_VALUE_OPTS),
        b"java" => java(args),
        b"dotnet" => dotnet(args),
        _ if starts_with_ci(name, b"python") || starts_with_ci(name, b"pypy") => python(args),
        b"mcp" => Verdict {
            // The Python SDK's CLI: `mcp run server.py` serves, `mcp install` only configures.
            name: (sub == b"run").then_some(Reason::Program),
            runtime: false,
            server: if sub == b"run" { name } else { &[] },
        },
        _ => plain(name, args),
    }
}

/// A program that is not a launcher: its own name, an `--mcp` flag or an MCP subcommand.
fn plain<'a, A: Arg<'a>>(name: &'a [u8], args: &[A]) -> Verdict<'a> {
    let rule = if has_mcp_word(name) {
        Reason::Program
    } else if args.iter().any(|a| {
        let a = a.bytes();
        a.eq_ignore_ascii_case(b"--mcp") || starts_with_ci(a, b"--mcp=")
    }) {
        Reason::Flag
    } else if subcommand_is_mcp(args) {
        Reason::Subcommand
    } else {
        return Verdict::default();
    };
    Verdict {
        name: Some(rule),
        runtime: false,
        server: name,
    }
}

/// `serena start-mcp-server`, `tool mcp-server`, `claude mcp serve`, `docker mcp gateway run`:
/// the first argument, before any option, as subcommands come; not `grep -r mcp-server .`,
/// `rg mcp src` or `claude mcp add`.
fn subcommand_is_mcp<'a, A: Arg<'a>>(args: &[A]) -> bool {
    let Some(first) = args.first().map(|a| a.bytes()) else {
        return false;
    };
    if first.eq_ignore_ascii_case(b"mcp") {
        return matches!(
            at(args, 1),
            b"serve" | b"server" | b"start" | b"run" | b"stdio" | b"gateway"
        );
    }
    let plain_word = first
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain_word && has_mcp_word(first)
}

/// `env`, `nohup`, `timeout 5`, `sudo -u x`: skip options (and `positional` leading operands),
/// then classify the wrapped command.
fn wrapped<'a, A: Arg<'a>>(
    args: &[A],
    value_opts: &[&[u8]],
    positional: usize,
    depth: u8,
) -> Verdict<'a> {
    let mut i = skip_options(args, value_opts);
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

/// `sh -c "..."`, `bash -lc "..."`: classify each command of the string, one at a time.
fn shell<'a, A: Arg<'a>>(args: &[A], depth: u8) -> Verdict<'a> {
    let Some(i) = args.iter().position(|a| {
        let a = a.bytes();
        is_option(a) && !a.starts_with(b"--") && a.iter().skip(1).any(|&b| b == b'c')
    }) else {
        return Verdict::default();
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

/// `npx -y pkg args`, `uvx --from spec cmd args`, `pnpm dlx pkg`: the package (and any
/// `--from`/`--package`/`--spec` spec) by name, then the command it runs.
fn package_runner<'a, A: Arg<'a>>(args: &[A], depth: u8) -> Verdict<'a> {
    let mut i = 0;
    let mut from_spec: &'a [u8] = &[];
    while let Some(a) = args.get(i).map(|a| a.bytes()) {
        if a == b"--" {
            i += 1;
            break;
        }
        if !is_option(a) {
            break;
        }
        let (opt, inline) = split_option(a);
        let takes_value = RUNNER_VALUE_OPTS.contains(&opt);
        let value = if inline.is_some() {
            inline
        } else if takes_value {
            i += 1;
            args.get(i).map(|a| a.bytes())
        } else {
            None
        };
        if let (true, Some(v)) = (RUNNER_SPEC_OPTS.contains(&opt), value) {
            if from_spec.is_empty() && package_is_mcp(v) {
                from_spec = package_name(v);
            }
        }
        i += 1;
    }
    let Some(spec) = args.get(i).map(|a| a.bytes()) else {
        return runtime();
    };
    if !from_spec.is_empty() {
        return named(Reason::Package, from_spec);
    }
    if package_is_mcp(spec) {
        return named(Reason::Package, package_name(spec));
    }
    let inner = command(
        package_name(spec),
        args.get(i + 1..).unwrap_or(&[]),
        depth + 1,
    );
    Verdict {
        runtime: true,
        ..inner
    }
}

/// A package that is an MCP server by name: `@modelcontextprotocol/server-*`, or any package
/// whose name has the word `mcp` (`mcp-server-fetch`, `@playwright/mcp`, `blender-mcp`).
/// A bare `mcp` is the Python SDK's CLI, which `command` judges by its subcommand.
fn package_is_mcp(spec: &[u8]) -> bool {
    let name = package_name(spec);
    if name.eq_ignore_ascii_case(b"mcp") {
        return false;
    }
    starts_with_ci(name, b"@modelcontextprotocol/server-")
        || (has_mcp_word(name) && !name.contains(&b':'))
        || (name.contains(&b':') && has_mcp_word(basename(name)))
}

/// `uv --directory d run x`, `uv tool run x`, `pnpm --silent dlx pkg`, `npm exec pkg`,
/// `pipx run pkg`: global options, then a subcommand that runs something, then the package or
/// command; any other subcommand (`install`, `build`) is judged as a plain program.
fn manager<'a, A: Arg<'a>>(key: &[u8], name: &'a [u8], args: &[A], depth: u8) -> Verdict<'a> {
    let i = skip_options(args, RUNNER_VALUE_OPTS);
    let sub = at(args, i);
    let rest = args.get(i + 1..).unwrap_or(&[]);
    let runs = match key {
        b"uv" if sub == b"tool" && at(rest, 0) == b"run" => {
            return package_runner(tail(rest), depth);
        }
        b"uv" | b"pipx" => sub == b"run",
        b"pnpm" | b"yarn" => matches!(sub, b"dlx" | b"exec"),
        b"npm" => matches!(sub, b"exec" | b"x"),
        _ => false,
    };
    if runs {
        package_runner(rest, depth)
    } else {
        plain(name, args)
    }
}

/// `docker [global options] run [options] image`: the image by name; `docker mcp gateway run`
/// too.
fn container<'a, A: Arg<'a>>(name: &'a [u8], args: &[A]) -> Verdict<'a> {
    let args = args
        .get(skip_options(args, DOCKER_GLOBAL_OPTS)..)
        .unwrap_or(&[]);
    let rest = match (at(args, 0), at(args, 1)) {
        (b"run" | b"create", _) => tail(args),
        (b"container", b"run") => args.get(2..).unwrap_or(&[]),
        _ => return plain(name, args),
    };
    let i = skip_options(rest, DOCKER_VALUE_OPTS);
    match rest.get(i).map(|a| image_name(a.bytes())) {
        Some(image) if has_mcp_word(image) => named(Reason::Image, image),
        _ => runtime(),
    }
}

/// `node [options] script`, `bun run script`: the script's path by name.
fn script<'a, A: Arg<'a>>(args: &[A], value_opts: &[&[u8]]) -> Verdict<'a> {
    let i = skip_options(args, value_opts);
    match args.get(i).map(|a| a.bytes()) {
        Some(s) if has_mcp_word(s) => named(Reason::Script, named_part(s)),
        // `deno run npm:@x/mcp-server`, `tsx` given as a script name of a package.
        Some(s) if package_is_mcp(s) => named(Reason::Package, package_name(s)),
        _ => runtime(),
    }
}

/// The part of a path (or dotted module name) that has the word `mcp`, nearest the end: what
/// a script, module or folder rule matched.
fn named_part(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| matches!(b, b'/' | b'\\' | b'.' | b':'))
        .find(|part| has_mcp_word(part))
        .unwrap_or(path)
}

/// `python -m module`, `python script.py`.
fn python<'a, A: Arg<'a>>(args: &[A]) -> Verdict<'a> {
    let mut i = 0;
    while let Some(a) = args.get(i).map(|a| a.bytes()) {
        if a == b"-m" {
            return module(at(args, i + 1));
        }
        if let Some(m) = a.strip_prefix(b"-m") {
            return module(m);
        }
        if a == b"-c" {
            return runtime();
        }
        if !is_option(a) {
            break;
        }
        i += if PYTHON_VALUE_OPTS.contains(&a) { 2 } else { 1 };
    }
    script(args.get(i..).unwrap_or(&[]), &[])
}

/// `python -m module`: the module by name.
fn module(m: &[u8]) -> Verdict<'_> {
    if has_mcp_word(m) {
        named(Reason::Module, named_part(m))
    } else {
        runtime()
    }
}

/// `java -jar x.jar`, `java -cp ... pkg.Main`.
fn java<'a, A: Arg<'a>>(args: &[A]) -> Verdict<'a> {
    if let Some(i) = args.iter().position(|a| a.bytes() == b"-jar") {
        return script(args.get(i + 1..).unwrap_or(&[]), &[]);
    }
    script(args, JAVA_VALUE_OPTS)
}

/// `dotnet run --project x.csproj`, `dotnet x.dll`.
fn dotnet<'a, A: Arg<'a>>(args: &[A]) -> Verdict<'a> {
    if let Some(i) = args
        .iter()
        .position(|a| matches!(a.bytes(), b"--project" | b"-p"))
    {
        return script(args.get(i + 1..).unwrap_or(&[]), &[]);
    }
    match at(args, 0) {
        b"run" => runtime(),
        _ => script(args, &[]),
    }
}

/// `--opt=value` → (`--opt`, Some(value)); `-x` → (`-x`, None).
fn split_option(a: &[u8]) -> (&[u8], Option<&[u8]>) {
    match a.iter().position(|&b| b == b'=') {
        Some(eq) if a.starts_with(b"--") => (a.get(..eq).unwrap_or(a), a.get(eq + 1..)),
        _ => (a, None),
    }
}

/// Index of the first operand after options; options in `value_opts` consume the next token.
fn skip_options<'a, A: Arg<'a>>(args: &[A], value_opts: &[&[u8]]) -> usize {
    let mut i = 0;
    while let Some(a) = args.get(i).map(|a| a.bytes()) {
        if a == b"--" {
            return i + 1;
        }
        if !is_option(a) {
            return i;
        }
        let (opt, inline) = split_option(a);
        i += if inline.is_none() && value_opts.contains(&opt) {
            2
        } else {
            1
        };
    }
    i
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

const ENV_VALUE_OPTS: &[&[u8]] = &[
    b"-u",
    b"--unset",
    b"-C",
    b"--chdir",
    b"-S",
    b"--split-string",
];
const WRAPPER_VALUE_OPTS: &[&[u8]] = &[
    b"-n", b"-u", b"-g", b"-o", b"-e", b"-i", b"-s", b"-k", b"-p",
];
const RUNNER_VALUE_OPTS: &[&[u8]] = &[
    b"-p",
    b"--package",
    b"--from",
    b"--with",
    b"-w",
    b"--with-requirements",
    b"--python",
    b"--spec",
    b"--index-url",
    b"--extra-index-url",
    b"--index",
    b"--directory",
    b"--project",
    b"--env-file",
    b"--group",
    b"--extra",
    b"--pip-args",
    b"-c",
    b"--call",
    b"--registry",
    b"--cache",
    b"--userconfig",
    b"--workspace",
    b"-C",
    b"--dir",
    b"--filter",
];
const RUNNER_SPEC_OPTS: &[&[u8]] = &[b"-p", b"--package", b"--from", b"--spec"];
const SCRIPT_VALUE_OPTS: &[&[u8]] = &[
    b"-r",
    b"--require",
    b"--import",
    b"--loader",
    b"--experimental-loader",
    b"-e",
    b"--eval",
    b"-p",
    b"--print",
    b"--conditions",
    b"-C",
    b"--title",
    b"--env-file",
    b"--config",
    b"-c",
    b"--tags",
    b"-I",
];
const PYTHON_VALUE_OPTS: &[&[u8]] = &[b"-W", b"-X", b"-Q"];
const JAVA_VALUE_OPTS: &[&[u8]] = &[
    b"-cp",
    b"-classpath",
    b"--class-path",
    b"--module-path",
    b"-p",
    b"--add-opens",
    b"--add-modules",
];
const DOCKER_GLOBAL_OPTS: &[&[u8]] = &[
    b"-H",
    b"--host",
    b"--context",
    b"-c",
    b"--config",
    b"-l",
    b"--log-level",
    b"--tlscacert",
    b"--tlscert",
    b"--tlskey",
    b"--url",
    b"--connection",
    b"--remote",
];
const DOCKER_VALUE_OPTS: &[&[u8]] = &[
    b"-e",
    b"--env",
    b"--env-file",
    b"-v",
    b"--volume",
    b"--mount",
    b"-p",
    b"--publish",
    b"--name",
    b"--network",
    b"--net",
    b"-w",
    b"--workdir",
    b"-u",
    b"--user",
    b"--entrypoint",
    b"-l",
    b"--label",
    b"-h",
    b"--hostname",
    b"-m",
    b"--memory",
    b"--cpus",
    b"--platform",
    b"--pull",
    b"--add-host",
    b"--device",
    b"--cap-add",
    b"--cap-drop",
    b"--security-opt",
    b"--tmpfs",
    b"--ulimit",
    b"--log-driver",
    b"--log-opt",
    b"--restart",
    b"--gpus",
    b"--ipc",
    b"--pid",
    b"--dns",
    b"--shm-size",
    b"--runtime",
    b"--cidfile",
    b"--group-add",
    b"--expose",
    b"--network-alias",
    b"--stop-signal",
    b"--sysctl",
    b"--userns",
    b"--volumes-from",
    b"-a",
    b"--attach",
    b"--label-file",
    b"--health-cmd",
    b"--memory-swap",
    b"--cpu-shares",
    b"-c",
];

#[cfg(test)]
#[path = "detect_tests.rs"]
mod tests;
