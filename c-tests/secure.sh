#!/usr/bin/env bash
# secure.sh — proves the shim's secure-execution rules for real: a set-user-ID program started
# by an unprivileged user (AT_SECURE) reads nothing from that user's environment. Not the
# config, log path or mode the user names (MCP_ENV_SHIM=all), not their proxy values: only
# root's config, here /etc/mcp-env-shim/config.json with root's proxy. The shim still selects
# the MCP child and logs it to stderr, and no byte of the user's environment reaches that line.
#
# glibc preloads into such a program only a library named without a slash, from a system
# directory, with its own set-user-ID bit. Both that library and root's config are laid over the
# real directories in a private mount namespace (overlayfs), so the machine's /etc and /usr/lib
# are never written. Needs root; run by run.sh.
set -u
shim=${SHIM:?SHIM=/abs/path/libmcp_env_shim.so}
here=$(cd "$(dirname "$0")" && pwd)
build=$here/build

if [ "$(id -u)" -ne 0 ]; then
    echo "not ok - secure-execution mode: needs root to install a set-user-ID test program"
    exit 1
fi
libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo .)
[ -d "$libdir" ] || libdir=/usr/lib
name=libmcp_env_shim_securetest.so
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if findmnt -no OPTIONS -T "$dir" 2>/dev/null | grep -qw nosuid; then
    echo "not ok - secure-execution mode: $dir is on a nosuid file system"
    exit 1
fi
mkdir -p "$dir/lib.up" "$dir/lib.work" "$dir/etc.up/mcp-env-shim" "$dir/etc.work" "$dir/run"
install -m 4755 "$shim" "$dir/lib.up/$name"
printf '{"values":{"HTTPS_PROXY":"http://root-chose:1"}}\n' >"$dir/etc.up/mcp-env-shim/config.json"
run=$dir/run
install -m 4755 -o root "$build/t_secure" "$run/t_secure"
ln -s /usr/bin/env "$run/mcp-server-standin"
ln -s /usr/bin/env "$run/plain-child"
printf '{"mode":"all","log":"%s/evil-config.log"}\n' "$run" >"$run/evil.json"
chmod 0777 "$run"
chmod 0755 "$dir"
marker=user-chose-this-marker-7731

unshare -m --propagation private -- sh -c '
    set -e
    mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/lib.up,workdir=$2/lib.work" "$1"
    mount -t overlay overlay -o "lowerdir=/etc,upperdir=$2/etc.up,workdir=$2/etc.work" /etc
    shift 2
    exec "$@"
' sh "$libdir" "$dir" \
    setpriv --reuid=65534 --regid=65534 --clear-groups -- \
    env -i PATH=/usr/bin:/bin HTTPS_PROXY=http://127.0.0.1:3128 LD_PRELOAD="$name" \
    MCP_ENV_SHIM=all MCP_ENV_SHIM_LOG="$run/evil.log" MCP_ENV_SHIM_CONFIG="$run/evil.json" \
    NO_PROXY="$marker" OPENSHELL_PROXY_TLS_DIR="/$marker" \
    "$run/t_secure" "$run" 2>"$dir/stderr"
status=$?
if grep -q '"event":"inject".*"exe":"[^"]*mcp-server-standin".*"injected":\["HTTPS_PROXY"' "$dir/stderr"; then
    echo "ok - secure-execution mode: the inject line (root's HTTPS_PROXY) went to stderr"
else
    echo "not ok - secure-execution mode: the inject line (root's HTTPS_PROXY) went to stderr"
    sed 's/^/# stderr: /' "$dir/stderr"
    status=1
fi
if grep -q "$marker" "$dir/stderr"; then
    echo "not ok - secure-execution mode: no byte of the user's environment in the log"
    status=1
else
    echo "ok - secure-execution mode: no byte of the user's environment in the log"
fi
[ ! -e /etc/mcp-env-shim ] && [ ! -e "$libdir/$name" ]
if [ $? -eq 0 ]; then
    echo "ok - the machine's /etc and $libdir were not written"
else
    echo "not ok - the machine's /etc and $libdir were not written"
    status=1
fi
exit "$status"
