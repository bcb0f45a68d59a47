//! Which children look like MCP servers: a pure function of (path, argv, whether the child
//! dropped the host's block), seen through launchers (`npx`, `uvx`, `docker run`, `sh -c`,
//! ...). Allocation-free and panic-free: it runs on the exec path.
//!
//! Recall matters more than precision: a missed server is the silent failure the shim exists
//! to end, while an extra CA variable on a sandboxed child is harmless.

use crate::names::{basename, has_mcp_word, image_name, is_option, package_name, starts_with_ci};

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
pub struct Verdict {
    /// A name rule that recognised an MCP server.
    pub name: Option<Reason>,
    /// The child runs a language runtime or package launcher, as most MCP servers do.
    pub runtime: bool,
}

/// How deep launchers may nest (`sh -c "env X=1 npx ..."`).
const MAX_DEPTH: u8 = 4;
/// Tokens kept from a `sh -c` string.
const MAX_SHELL_TOKENS: usize = 48;

/// Classifies a command: `path` is what the exec call names (may be a bare name for the
/// `*p` forms, or empty for `fexecve`), `argv` the arguments including `argv[0]`.
pub fn classify(path: &[u8], argv: &[&[u8]]) -> Verdict {
    let argv0 = argv.first().copied().unwrap_or(&[]);
    let prog = if basename(path).is_empty() {
        argv0
    } else {
        path
    };
    let mut v = command(prog, argv.get(1..).unwrap_or(&[]), 0);
    if v.name.is_none() && has_mcp_word(basename(argv0)) {
        v.name = Some(Reason::Program);
    }
    v
}

/// Whether the program or an argument is named with the word `mcp`: the weak hint that, with
/// a dropped environment, selects a child. Basenames only: the directory a program happens to
/// live in (a checkout called `mcp-tools/`) says nothing about the program.
pub fn mentions_mcp(path: &[u8], argv: &[&[u8]]) -> bool {
    has_mcp_word(basename(path)) || argv.iter().any(|a| has_mcp_word(basename(a)))
}

fn named(r: Reason) -> Verdict {
    Verdict {
        name: Some(r),
        runtime: true,
    }
}

fn runtime() -> Verdict {
    Verdict {
        name: None,
        runtime: true,
    }
}

/// Classifies the program `prog` (a path or bare name) run with `args` (without argv[0]).
fn command(prog: &[u8], args: &[&[u8]], depth: u8) -> Verdict {
    if depth > MAX_DEPTH {
        return Verdict::default();
    }
    let name = basename(prog);
    let mut lower = [0u8; 16];
    let key = lowercase(name, &mut lower);
    let sub = args.first().copied().unwrap_or(&[]);
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
        b"pnpm" | b"yarn" | b"npm" | b"uv" | b"pipx" => manager(key, args, depth),
        b"docker" | b"podman" | b"nerdctl" => container(args),
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
        },
        _ => plain(name, args),
    }
}

/// A program that is not a launcher: its own name, an `--mcp` flag or an MCP subcommand.
fn plain(name: &[u8], args: &[&[u8]]) -> Verdict {
    let mut v = Verdict::default();
    if has_mcp_word(name) {
        v.name = Some(Reason::Program);
    } else if args
        .iter()
        .any(|a| a.eq_ignore_ascii_case(b"--mcp") || starts_with_ci(a, b"--mcp="))
    {
        v.name = Some(Reason::Flag);
    } else if subcommand_is_mcp(args) {
        v.name = Some(Reason::Subcommand);
    }
    v
}

/// `serena start-mcp-server`, `tool mcp-server`, `claude mcp serve`, `docker mcp gateway run`:
/// the first argument, before any option, as subcommands come; not `grep -r mcp-server .`,
/// `rg mcp src` or `claude mcp add`.
fn subcommand_is_mcp(args: &[&[u8]]) -> bool {
    let Some(&first) = args.first() else {
        return false;
    };
    if first.eq_ignore_ascii_case(b"mcp") {
        let verb = args.get(1).copied().unwrap_or(&[]);
        return matches!(
            verb,
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
fn wrapped(args: &[&[u8]], value_opts: &[&[u8]], positional: usize, depth: u8) -> Verdict {
    let mut i = skip_options(args, value_opts);
    let mut skipped = 0;
    while let Some(&a) = args.get(i) {
        if skipped < positional || is_assignment(a) {
            skipped += 1;
            i += 1;
        } else {
            break;
        }
    }
    match args.get(i) {
        Some(&prog) => command(prog, args.get(i + 1..).unwrap_or(&[]), depth + 1),
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

/// `sh -c "..."`, `bash -lc "..."`: classify each command of the string.
fn shell(args: &[&[u8]], depth: u8) -> Verdict {
    let Some(i) = args.iter().position(|a| {
        is_option(a) && !a.starts_with(b"--") && a.iter().skip(1).any(|&b| b == b'c')
    }) else {
        return Verdict::default();
    };
    let Some(&script) = args.get(i + 1) else {
        return Verdict::default();
    };
    let mut tokens: [&[u8]; MAX_SHELL_TOKENS] = [&[]; MAX_SHELL_TOKENS];
    let n = split_shell(script, &mut tokens);
    let tokens = tokens.get(..n).unwrap_or(&[]);
    let mut best = Verdict::default();
    for segment in tokens.split(|t| matches!(*t, b"&&" | b"||" | b";" | b"|" | b"&")) {
        // `GITHUB_TOKEN=x npx ...`: assignments before the command are not the command.
        let start = segment
            .iter()
            .position(|t| !is_assignment(t))
            .unwrap_or(segment.len());
        let (prog, rest) = match segment.get(start..).and_then(<[_]>::split_first) {
            Some((p, r)) => (*p, r),
            None => continue,
        };
        let v = command(prog, rest, depth + 1);
        if v.name.is_some() {
            return v;
        }
        best.runtime |= v.runtime;
    }
    best
}

/// Splits a shell string on whitespace, strips quotes at token ends and a trailing `;`, and
/// makes `&&`, `||`, `;`, `|` tokens of their own. Approximate by design: it feeds detection,
/// never execution.
fn split_shell<'a>(s: &'a [u8], out: &mut [&'a [u8]]) -> usize {
    let mut n = 0;
    for raw in s.split(|b| b.is_ascii_whitespace()) {
        let mut t = raw;
        while let [b'"' | b'\'' | b'(', rest @ ..] = t {
            t = rest;
        }
        let mut sep: Option<&'a [u8]> = None;
        if let [rest @ .., b';'] = t {
            if !rest.is_empty() {
                t = rest;
                sep = Some(b";");
            }
        }
        while let [rest @ .., b'"' | b'\'' | b')'] = t {
            t = rest;
        }
        for tok in [Some(t), sep].into_iter().flatten() {
            if tok.is_empty() {
                continue;
            }
            match out.get_mut(n) {
                Some(slot) => *slot = tok,
                None => return n,
            }
            n += 1;
        }
    }
    n
}

/// `npx -y pkg args`, `uvx --from spec cmd args`, `pnpm dlx pkg`: the package (and any
/// `--from`/`--package`/`--spec` spec) by name, then the command it runs.
fn package_runner(args: &[&[u8]], depth: u8) -> Verdict {
    let mut i = 0;
    let mut from_spec_named = false;
    while let Some(&a) = args.get(i) {
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
            args.get(i).copied()
        } else {
            None
        };
        if let (true, Some(v)) = (RUNNER_SPEC_OPTS.contains(&opt), value) {
            from_spec_named |= package_is_mcp(v);
        }
        i += 1;
    }
    let Some(&spec) = args.get(i) else {
        return runtime();
    };
    if from_spec_named || package_is_mcp(spec) {
        return named(Reason::Package);
    }
    let inner = command(
        package_name(spec),
        args.get(i + 1..).unwrap_or(&[]),
        depth + 1,
    );
    Verdict {
        name: inner.name,
        runtime: true,
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
fn manager(key: &[u8], args: &[&[u8]], depth: u8) -> Verdict {
    let i = skip_options(args, RUNNER_VALUE_OPTS);
    let sub = args.get(i).copied().unwrap_or(&[]);
    let rest = args.get(i + 1..).unwrap_or(&[]);
    let runs = match key {
        b"uv" if sub == b"tool" && rest.first().copied() == Some(b"run") => {
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
        plain(key, args)
    }
}

/// `docker [global options] run [options] image`: the image by name; `docker mcp gateway run`
/// too.
fn container(args: &[&[u8]]) -> Verdict {
    let args = args
        .get(skip_options(args, DOCKER_GLOBAL_OPTS)..)
        .unwrap_or(&[]);
    let rest = match args {
        [run, rest @ ..] if *run == b"run" || *run == b"create" => rest,
        [c, run, rest @ ..] if *c == b"container" && *run == b"run" => rest,
        _ => return plain(b"docker", args),
    };
    let i = skip_options(rest, DOCKER_VALUE_OPTS);
    match rest.get(i) {
        Some(image) if has_mcp_word(image_name(image)) => named(Reason::Image),
        _ => runtime(),
    }
}

/// `node [options] script`, `bun run script`: the script's path by name.
fn script(args: &[&[u8]], value_opts: &[&[u8]]) -> Verdict {
    let i = skip_options(args, value_opts);
    match args.get(i) {
        Some(s) if has_mcp_word(s) => named(Reason::Script),
        Some(&s) => {
            // `deno run npm:@x/mcp-server`, `tsx` given as a script name of a package.
            if package_is_mcp(s) {
                named(Reason::Package)
            } else {
                runtime()
            }
        }
        None => runtime(),
    }
}

/// `python -m module`, `python script.py`.
fn python(args: &[&[u8]]) -> Verdict {
    let mut i = 0;
    while let Some(&a) = args.get(i) {
        if a == b"-m" {
            return match args.get(i + 1) {
                Some(m) if has_mcp_word(m) => named(Reason::Module),
                _ => runtime(),
            };
        }
        if let Some(m) = a.strip_prefix(b"-m") {
            return if has_mcp_word(m) {
                named(Reason::Module)
            } else {
                runtime()
            };
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

/// `java -jar x.jar`, `java -cp ... pkg.Main`.
fn java(args: &[&[u8]]) -> Verdict {
    if let Some(i) = args.iter().position(|a| *a == b"-jar") {
        return script(args.get(i + 1..).unwrap_or(&[]), &[]);
    }
    script(args, JAVA_VALUE_OPTS)
}

/// `dotnet run --project x.csproj`, `dotnet x.dll`.
fn dotnet(args: &[&[u8]]) -> Verdict {
    if let Some(i) = args.iter().position(|a| *a == b"--project" || *a == b"-p") {
        return script(args.get(i + 1..).unwrap_or(&[]), &[]);
    }
    match args.first() {
        Some(s) if *s == b"run" => runtime(),
        _ => script(args, &[]),
    }
}

fn tail<'a, 'b>(args: &'a [&'b [u8]]) -> &'a [&'b [u8]] {
    args.get(1..).unwrap_or(&[])
}

/// `--opt=value` → (`--opt`, Some(value)); `-x` → (`-x`, None).
fn split_option(a: &[u8]) -> (&[u8], Option<&[u8]>) {
    match a.iter().position(|&b| b == b'=') {
        Some(eq) if a.starts_with(b"--") => (a.get(..eq).unwrap_or(a), a.get(eq + 1..)),
        _ => (a, None),
    }
}

/// Index of the first operand after options; options in `value_opts` consume the next token.
fn skip_options(args: &[&[u8]], value_opts: &[&[u8]]) -> usize {
    let mut i = 0;
    while let Some(&a) = args.get(i) {
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
