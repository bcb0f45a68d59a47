#!/usr/bin/env bash
# run.sh SHIM TEST... — runs the named C tests of build/ (t_inject ... and real-parents.sh;
# the Makefile's `check` names them all) under LD_PRELOAD=SHIM, each in a clean environment that
# holds the sandbox block (a host the shim lives in). Prints every test's lines, then exactly
# "N passed, M failed"; exits non-zero if M > 0.
#
# The tests run with build/ as their cwd and name their children by relative paths, with "." in
# PATH: the checkout may sit in a directory whose name has the word "mcp" (mcp-env-shim/), and a
# plain child must not look like an MCP server because of where the clone is.
set -u
shim=${1:?usage: run.sh /abs/path/libmcp_env_shim.so TEST...}
here=$(cd "$(dirname "$0")" && pwd)
build=$here/build
tests=("${@:2}") # the Makefile's list
[ ${#tests[@]} -gt 0 ] || { echo "usage: run.sh /abs/path/libmcp_env_shim.so TEST..." >&2; exit 2; }

case $shim in /*) ;; *) echo "run.sh: SHIM must be an absolute path, got $shim" >&2; exit 2;; esac
[ -f "$shim" ] || { echo "run.sh: no shim at $shim (run 'make build' at the top)" >&2; exit 2; }

# The host's block: existing CA files for two keys; a missing CA directory and a missing CA file
# for two others, which the shim must leave out (a sibling's file does not replace a key's own).
rm -rf "$build/logs" "$build/out" "$build/ca" "$build/conf" "$build/home"
mkdir -p "$build/logs" "$build/out" "$build/ca" "$build/conf" "$build/home"
# test-ca.pem is a real self-signed certificate (its key was thrown away): node, a host in
# real-parents.sh, parses the CA file the host names.
cp "$here/test-ca.pem" "$build/ca/sandbox-ca.pem"
cp "$here/test-ca.pem" "$build/ca/ca-bundle.pem"
# A config that sets nothing: no /etc/mcp-env-shim/config.json on this machine can leak in.
echo '{}' > "$build/conf/empty.json"

host_env=(
    PATH=".:/usr/local/bin:/usr/bin:/bin" HOME="$build/home" LANG=C.UTF-8
    HTTPS_PROXY=http://127.0.0.1:3128 HTTP_PROXY=http://127.0.0.1:3128
    NO_PROXY=127.0.0.1,localhost,::1 NODE_USE_ENV_PROXY=1
    NODE_EXTRA_CA_CERTS="$build/ca/sandbox-ca.pem" SSL_CERT_FILE="$build/ca/ca-bundle.pem"
    REQUESTS_CA_BUNDLE="$build/ca/absent-ca.pem" SSL_CERT_DIR="$build/ca/absent-certs"
    MCP_ENV_SHIM_CONFIG="$build/conf/empty.json"
)

passed=0 failed=0
tally() { # name status output
    local name=$1 status=$2 out=$3 ok notok
    printf '%s\n' "$out"
    ok=$(grep -c '^ok - ' <<<"$out")
    notok=$(grep -c '^not ok - ' <<<"$out")
    if [ "$status" -ne 0 ] && [ "$notok" -eq 0 ]; then
        echo "not ok - $name exited with status $status without saying why"
        notok=1
    fi
    passed=$((passed + ok)) failed=$((failed + notok))
}

for t in "${tests[@]}"; do
    echo "# $t"
    case $t in
    real-parents.sh) run=(SHIM="$shim" bash "$here/real-parents.sh") ;; # preloads per parent
    secure.sh) run=(SHIM="$shim" bash "$here/secure.sh") ;; # its own user, environment, preload
    hostile.sh) run=(SHIM="$shim" bash "$here/hostile.sh") ;; # its own environments
    logfile.sh) run=(SHIM="$shim" bash "$here/logfile.sh") ;; # its own users and paths
    privheal.sh) run=(SHIM="$shim" bash "$here/privheal.sh") ;; # its own users and environments
    healread.sh) run=(SHIM="$shim" bash "$here/healread.sh") ;; # its own environments, strace
    tostop.py) run=(python3 "$here/tostop.py" "$shim") ;;     # its own terminal
    exec_path.py) run=(python3 "$here/exec_path.py" "$shim") ;; # reads the library, runs nothing
    layout.py) run=(python3 "$here/layout.py" "$shim") ;;       # its own environments, loadpages under a copy
    signals.py) run=(SHIM="$shim" python3 "$here/signals.py") ;; # preloads per parent
    t_noalloc) run=(LD_PRELOAD="$shim $build/mallocguard.so" "./$t") ;;
    *) run=(LD_PRELOAD="$shim" "./$t") ;;
    esac
    # The tests run as root, and a privileged process writes only to a log file that exists.
    : >"$build/logs/$t.log"
    out=$(cd "$build" && timeout 300 env -i "${host_env[@]}" \
        MCP_ENV_SHIM_LOG="$build/logs/$t.log" "${run[@]}" 2>&1)
    tally "$t" $? "$out"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
