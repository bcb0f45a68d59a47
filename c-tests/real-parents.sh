#!/usr/bin/env bash
# real-parents.sh — proves the shim works under real MCP clients' parents, preloaded into them:
# Node's child_process.spawn(cmd, args, {env: {HOME, PATH}}) (libuv sets environ and execs in
# its child) and Python's subprocess.run([...], env={...}) (default: vfork+execve; with
# close_fds=False and a path: posix_spawn) add the block to the MCP-looking stand-in, log one
# inject line with its pid, and leave plain-child's {HOME, PATH} exactly as given.
# Run by run.sh, with build/ as cwd, the host's block in the environment, SHIM and
# MCP_ENV_SHIM_LOG set.
set -u
: "${SHIM:?run through run.sh}" "${MCP_ENV_SHIM_LOG:?run through run.sh}"
failed=0
check() { # description command...
    local what=$1
    shift
    if "$@"; then echo "ok - $what"; else echo "not ok - $what"; failed=1; fi
}
child_env=(HOME=/tmp/standin-home PATH=.:/usr/bin:/bin)
env_of() { tr '\0' '\n' <"$1" | tail -n +2; }
pid_of() { tr '\0' '\n' <"$1" | head -n 1 | sed 's/^pid=//'; }
log_lines() { grep -F "\"pid\":$1," "$MCP_ENV_SHIM_LOG"; }

node_spawn='
const { spawn } = require("child_process");
const [cmd, out] = process.argv.slice(1);
const child = spawn(cmd, [out], { env: { HOME: "/tmp/standin-home", PATH: ".:/usr/bin:/bin" },
                                  stdio: "inherit" });
child.on("exit", (code) => { console.log(child.pid); process.exit(code === null ? 99 : code); });
'
py_run='
import subprocess, sys
cmd, out, how = sys.argv[1:4]
extra = {"close_fds": False} if how == "posix_spawn" else {}
r = subprocess.run([cmd, out], env={"HOME": "/tmp/standin-home", "PATH": ".:/usr/bin:/bin"}, **extra)
sys.exit(r.returncode)
'

has_block() { # dump: the child's HOME, PATH first, then the host's values for the keys it lacked
    local envs
    envs=$(env_of "$1")
    [ "$(head -n 2 <<<"$envs")" = "$(printf '%s\n' "${child_env[@]}")" ] || return 1
    for k in HTTPS_PROXY HTTP_PROXY NO_PROXY NODE_USE_ENV_PROXY NODE_EXTRA_CA_CERTS SSL_CERT_FILE; do
        [ "$(grep -c "^$k=" <<<"$envs")" = 1 ] || return 1
        grep -qxF "$k=${!k}" <<<"$envs" || return 1
    done
}
untouched() { [ "$(env_of "$1")" = "$(printf '%s\n' "${child_env[@]}")" ]; }
one_inject() { # pid via(or empty: any)
    local lines
    lines=$(log_lines "$1")
    [ "$(grep -c . <<<"$lines")" = 1 ] && grep -qF '"event":"inject"' <<<"$lines" &&
        { [ -z "$2" ] || grep -qF "\"via\":\"$2\"" <<<"$lines"; }
}
no_line() { ! log_lines "$1" >/dev/null; }

: >"$MCP_ENV_SHIM_LOG"

# Node (libuv)
for who in mcp-server-standin plain-child; do
    out=out/node-$who.env
    rm -f "$out"
    spawned=$(LD_PRELOAD=$SHIM node -e "$node_spawn" "./$who" "$out")
    status=$?
    if ! check "node spawn ./$who with env {HOME, PATH}: the child ran (status $status)" \
        test "$status" = 0 -a -f "$out"; then
        continue
    fi
    pid=$(pid_of "$out")
    check "node spawn ./$who: child.pid $spawned is the child's getpid() $pid" test "$spawned" = "$pid"
    if [ "$who" = mcp-server-standin ]; then
        check "node spawn ./$who: block added after HOME, PATH, with the host's values" has_block "$out"
        check "node spawn ./$who: one inject line with its pid ($(log_lines "$pid" | grep -o '"via":"[a-z_]*"'))" \
            one_inject "$pid" ""
    else
        check "node spawn ./$who: env exactly {HOME, PATH}" untouched "$out"
        check "node spawn ./$who: no log line" no_line "$pid"
    fi
done

# Python (subprocess.run)
for how in default posix_spawn; do
    want_via=execve
    [ "$how" = posix_spawn ] && want_via=posix_spawn
    for who in mcp-server-standin plain-child; do
        out=out/python-$how-$who.env
        rm -f "$out"
        LD_PRELOAD=$SHIM python3 -c "$py_run" "./$who" "$out" "$how"
        status=$?
        if ! check "python subprocess.run ./$who ($how) with env {HOME, PATH}: the child ran (status $status)" \
            test "$status" = 0 -a -f "$out"; then
            continue
        fi
        pid=$(pid_of "$out")
        if [ "$who" = mcp-server-standin ]; then
            check "python subprocess.run ./$who ($how): block added after HOME, PATH, with the host's values" \
                has_block "$out"
            check "python subprocess.run ./$who ($how): one inject line with its pid $pid, via $want_via" \
                one_inject "$pid" "$want_via"
        else
            check "python subprocess.run ./$who ($how): env exactly {HOME, PATH}" untouched "$out"
            check "python subprocess.run ./$who ($how): no log line" no_line "$pid"
        fi
    done
done
exit $failed
