//! How launchers spell their options, and one scanner over them: which options take a value
//! (so that the value is not taken for the command), which name a project directory (the
//! folder of what is run: `uv --directory`, `npm --prefix`, `cargo --manifest-path`, ...) and
//! which name a package or build target (`uvx --from`, `cargo -p`). Allocation-free and
//! panic-free: detection runs on the exec path.

use crate::detect::Arg;
use crate::names::{is_option, package_is_mcp, package_name};

/// A list of option spellings, separated by spaces, in one string: unlike an array of slices,
/// it needs no relocation when the library is loaded (every process pays for each pointer in
/// a table).
#[derive(Clone, Copy, Debug)]
pub struct Words(pub &'static [u8]);

impl Words {
    pub fn contains(self, w: &[u8]) -> bool {
        !w.is_empty() && self.0.split(|&b| b == b' ').any(|x| x == w)
    }
}

/// One program family's options.
pub struct Dialect {
    /// Options that take the next argument as their value.
    pub values: Words,
    /// Options whose value is the project directory (or its manifest file).
    pub dirs: Words,
    /// Options whose value is a package or build target to run.
    pub targets: Words,
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
        let is = |set: Words| set.contains(opt);
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
        if !is_option(a) || !d.dirs.contains(opt) {
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

const fn values(values: Words) -> Dialect {
    Dialect {
        values,
        dirs: Words(b""),
        targets: Words(b""),
    }
}

pub const NONE: Dialect = values(Words(b""));
pub const ENV: Dialect = values(Words(b"-u --unset -C --chdir -S --split-string"));
pub const WRAPPER: Dialect = values(Words(b"-n -u -g -o -e -i -s -k -p"));
/// `sh`, `bash`, ... running a script file.
pub const SHELL: Dialect = values(Words(b"-o +o -O +O --rcfile --init-file"));
/// npx, bunx, pnpx, uvx, pnpm/yarn dlx, npm exec, uv run, uv tool run, pipx run.
pub const RUNNER: Dialect = Dialect {
    values: Words(b"--with -w --with-requirements --python --index-url --extra-index-url --index --env-file --group --extra --pip-args -c --call --registry --cache --userconfig --workspace --filter"),
    dirs: Words(b"--directory --project --prefix --dir -C --cwd"),
    targets: Words(b"-p --package --from --spec"),
};
/// .NET's tool runner: `dnx`, `dotnet tool exec|run`, `dotnet dnx`.
pub const DNX: Dialect = values(Words(
    b"--source --add-source --version --configfile --framework --arch -a --verbosity -v",
));
/// node, tsx, ts-node, ruby, php, perl, bun, deno before their script.
pub const SCRIPT: Dialect = Dialect {
    values: Words(b"-r --require --import --loader --experimental-loader -e --eval -p --print --conditions -C --title --env-file --config -c --tags -I"),
    dirs: Words(b"--cwd"),
    targets: Words(b""),
};
pub const PYTHON: Dialect = values(Words(b"-W -X -Q"));
pub const JAVA: Dialect = values(Words(
    b"-cp -classpath --class-path --module-path -p --add-opens --add-modules",
));
/// `go run [build flags] package [arguments]`.
pub const GO_RUN: Dialect = Dialect {
    values: Words(
        b"-tags -ldflags -gcflags -asmflags -mod -modfile -o -p -exec -overlay -pgo -toolexec",
    ),
    dirs: Words(b"-C"),
    targets: Words(b""),
};
/// `cargo run [options] [-- arguments]`.
pub const CARGO_RUN: Dialect = Dialect {
    values: Words(b"--features -F --target --target-dir --profile --config -Z -j --jobs --color --message-format --lockfile-path"),
    dirs: Words(b"--manifest-path"),
    targets: Words(b"-p --package --bin --example"),
};
/// cargo's options before the subcommand.
pub const CARGO_GLOBAL: Dialect = Dialect {
    values: Words(b"--config -Z --color"),
    dirs: Words(b"-C"),
    targets: Words(b""),
};
/// `dotnet run [options] [-- arguments]`.
pub const DOTNET_RUN: Dialect = Dialect {
    values: Words(b"--framework -f --configuration -c --runtime -r --launch-profile --arch -a --os --verbosity -v --property"),
    dirs: Words(b"--project -p --file"),
    targets: Words(b""),
};
pub const DOCKER_GLOBAL: Dialect = values(Words(b"-H --host --context -c --config -l --log-level --tlscacert --tlscert --tlskey --url --connection --remote"));
/// `docker compose` / `docker-compose` before its subcommand.
pub const COMPOSE_GLOBAL: Dialect = Dialect {
    values: Words(b"-f --file -p --project-name --profile --env-file --ansi --progress --parallel"),
    dirs: Words(b"--project-directory"),
    targets: Words(b""),
};
/// `docker run|create|exec`, `docker compose run|exec`: options before the image, container
/// or service.
pub const CONTAINER_RUN: Dialect = values(Words(b"-e --env --env-file -v --volume --mount -p --publish --name --network --net -w --workdir -u --user --entrypoint -l --label -h --hostname -m --memory --cpus --platform --pull --add-host --device --cap-add --cap-drop --security-opt --tmpfs --ulimit --log-driver --log-opt --restart --gpus --ipc --pid --dns --shm-size --runtime --cidfile --group-add --expose --network-alias --stop-signal --sysctl --userns --volumes-from -a --attach --label-file --health-cmd --memory-swap --cpu-shares -c --detach-keys --index"));

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
