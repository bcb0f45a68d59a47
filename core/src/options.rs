//! How launchers spell their options, and one scanner over them: which options take a value
//! (so that the value is not taken for the command), which name a project directory (the
//! folder of what is run: `uv --directory`, `npm --prefix`, `cargo --manifest-path`, ...) and
//! which name a package or build target (`uvx --from`, `cargo -p`). Allocation-free and
//! panic-free: detection runs on the exec path.

use crate::detect::Arg;
use crate::names::{is_option, package_is_mcp, package_name};

/// One program family's options.
pub struct Dialect {
    /// Options that take the next argument as their value.
    pub values: &'static [&'static [u8]],
    /// Options whose value is the project directory (or its manifest file).
    pub dirs: &'static [&'static [u8]],
    /// Options whose value is a package or build target to run.
    pub targets: &'static [&'static [u8]],
}

/// What the options before the first operand said.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scanned<'a> {
    /// Index of the first operand (past a `--`).
    pub operand: usize,
    /// The last project directory named.
    pub dir: &'a [u8],
    /// The first target named with the word `mcp` (its package name).
    pub target: &'a [u8],
}

/// Reads options up to the first operand or `--`.
pub fn scan<'a, A: Arg<'a>>(args: &[A], d: &Dialect) -> Scanned<'a> {
    let mut s = Scanned::default();
    let mut i = 0;
    while let Some(a) = args.get(i).map(|a| a.bytes()) {
        if a == b"--" {
            i += 1;
            break;
        }
        if !is_option(a) {
            break;
        }
        let (opt, inline) = split_option(a);
        let is = |set: &[&[u8]]| set.contains(&opt);
        let value = match inline {
            Some(v) => Some(v),
            None if is(d.values) || is(d.dirs) || is(d.targets) => {
                i += 1;
                args.get(i).map(|a| a.bytes())
            }
            None => None,
        };
        if let Some(v) = value {
            if is(d.dirs) {
                s.dir = v;
            }
            if is(d.targets) && s.target.is_empty() && package_is_mcp(v) {
                s.target = package_name(v);
            }
        }
        i += 1;
    }
    s.operand = i;
    s
}

/// The project directory named anywhere in `args` (npm takes `--prefix` after the script
/// name too: `npm run start --prefix dir`).
pub fn dir_anywhere<'a, A: Arg<'a>>(args: &[A], d: &Dialect) -> &'a [u8] {
    let mut dir: &'a [u8] = &[];
    let mut i = 0;
    while let Some(a) = args.get(i).map(|a| a.bytes()) {
        i += 1;
        let (opt, inline) = split_option(a);
        if !is_option(a) || !d.dirs.contains(&opt) {
            continue;
        }
        match inline {
            Some(v) => dir = v,
            None => {
                if let Some(v) = args.get(i) {
                    dir = v.bytes();
                }
                i += 1;
            }
        }
    }
    dir
}

/// `--opt=value` → (`--opt`, Some(value)); `-x` → (`-x`, None).
pub fn split_option(a: &[u8]) -> (&[u8], Option<&[u8]>) {
    match a.iter().position(|&b| b == b'=') {
        Some(eq) if a.starts_with(b"--") => (a.get(..eq).unwrap_or(a), a.get(eq + 1..)),
        _ => (a, None),
    }
}

const fn values(values: &'static [&'static [u8]]) -> Dialect {
    Dialect {
        values,
        dirs: &[],
        targets: &[],
    }
}

pub const NONE: Dialect = values(&[]);
pub const ENV: Dialect = values(&[
    b"-u",
    b"--unset",
    b"-C",
    b"--chdir",
    b"-S",
    b"--split-string",
]);
pub const WRAPPER: Dialect = values(&[
    b"-n", b"-u", b"-g", b"-o", b"-e", b"-i", b"-s", b"-k", b"-p",
]);
/// `sh`, `bash`, ... running a script file.
pub const SHELL: Dialect = values(&[b"-o", b"+o", b"-O", b"+O", b"--rcfile", b"--init-file"]);
/// npx, bunx, pnpx, uvx, pnpm/yarn dlx, npm exec, uv run, uv tool run, pipx run.
pub const RUNNER: Dialect = Dialect {
    values: &[
        b"--with",
        b"-w",
        b"--with-requirements",
        b"--python",
        b"--index-url",
        b"--extra-index-url",
        b"--index",
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
        b"--filter",
    ],
    dirs: &[
        b"--directory",
        b"--project",
        b"--prefix",
        b"--dir",
        b"-C",
        b"--cwd",
    ],
    targets: &[b"-p", b"--package", b"--from", b"--spec"],
};
/// .NET's tool runner: `dnx`, `dotnet tool exec|run`, `dotnet dnx`.
pub const DNX: Dialect = values(&[
    b"--source",
    b"--add-source",
    b"--version",
    b"--configfile",
    b"--framework",
    b"--arch",
    b"-a",
    b"--verbosity",
    b"-v",
]);
/// node, tsx, ts-node, ruby, php, perl, bun, deno before their script.
pub const SCRIPT: Dialect = Dialect {
    values: &[
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
    ],
    dirs: &[b"--cwd"],
    targets: &[],
};
pub const PYTHON: Dialect = values(&[b"-W", b"-X", b"-Q"]);
pub const JAVA: Dialect = values(&[
    b"-cp",
    b"-classpath",
    b"--class-path",
    b"--module-path",
    b"-p",
    b"--add-opens",
    b"--add-modules",
]);
/// `go run [build flags] package [arguments]`.
pub const GO_RUN: Dialect = Dialect {
    values: &[
        b"-tags",
        b"-ldflags",
        b"-gcflags",
        b"-asmflags",
        b"-mod",
        b"-modfile",
        b"-o",
        b"-p",
        b"-exec",
        b"-overlay",
        b"-pgo",
        b"-toolexec",
    ],
    dirs: &[b"-C"],
    targets: &[],
};
/// `cargo run [options] [-- arguments]`.
pub const CARGO_RUN: Dialect = Dialect {
    values: &[
        b"--features",
        b"-F",
        b"--target",
        b"--target-dir",
        b"--profile",
        b"--config",
        b"-Z",
        b"-j",
        b"--jobs",
        b"--color",
        b"--message-format",
        b"--lockfile-path",
    ],
    dirs: &[b"--manifest-path"],
    targets: &[b"-p", b"--package", b"--bin", b"--example"],
};
/// cargo's options before the subcommand.
pub const CARGO_GLOBAL: Dialect = Dialect {
    values: &[b"--config", b"-Z", b"--color"],
    dirs: &[b"-C"],
    targets: &[],
};
/// `dotnet run [options] [-- arguments]`.
pub const DOTNET_RUN: Dialect = Dialect {
    values: &[
        b"--framework",
        b"-f",
        b"--configuration",
        b"-c",
        b"--runtime",
        b"-r",
        b"--launch-profile",
        b"--arch",
        b"-a",
        b"--os",
        b"--verbosity",
        b"-v",
        b"--property",
    ],
    dirs: &[b"--project", b"-p", b"--file"],
    targets: &[],
};
pub const DOCKER_GLOBAL: Dialect = values(&[
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
]);
/// `docker compose` / `docker-compose` before its subcommand.
pub const COMPOSE_GLOBAL: Dialect = Dialect {
    values: &[
        b"-f",
        b"--file",
        b"-p",
        b"--project-name",
        b"--profile",
        b"--env-file",
        b"--ansi",
        b"--progress",
        b"--parallel",
    ],
    dirs: &[b"--project-directory"],
    targets: &[],
};
/// `docker run|create|exec`, `docker compose run|exec`: options before the image, container
/// or service.
pub const CONTAINER_RUN: Dialect = values(&[
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
    b"--detach-keys",
    b"--index",
]);

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &'static str) -> Vec<&'static [u8]> {
        s.split(' ')
            .filter(|w| !w.is_empty())
            .map(str::as_bytes)
            .collect()
    }

    #[test]
    fn values_directories_and_targets_are_read_until_the_first_operand() {
        let a = args("--with mcp --directory /srv/weather-mcp --from=acme-mcp run x --prefix y");
        let s = scan(&a, &RUNNER);
        assert_eq!(s.operand, 5);
        assert_eq!(s.dir, b"/srv/weather-mcp");
        assert_eq!(s.target, b"acme-mcp");
        let a = args("-y -- pkg");
        assert_eq!(scan(&a, &RUNNER).operand, 2);
        // A value at the very end, and a target not named so, are no trouble.
        let a = args("--with");
        assert_eq!(scan(&a, &RUNNER).operand, 2);
        let a = args("-p left-pad x");
        assert_eq!(scan(&a, &RUNNER).target, b"");
    }

    #[test]
    fn a_directory_may_come_after_the_operands() {
        let a = args("run start --prefix /srv/weather-mcp");
        assert_eq!(dir_anywhere(&a, &RUNNER), b"/srv/weather-mcp");
        let a = args("run start --prefix=/x --cwd");
        assert_eq!(dir_anywhere(&a, &RUNNER), b"/x");
    }
}
