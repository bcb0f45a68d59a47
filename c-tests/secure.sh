#!/usr/bin/env bash
# secure.sh — proves the shim's secure-execution rule for real: in a set-user-ID program
# started by an unprivileged user (AT_SECURE), MCP_ENV_SHIM_CONFIG and a log path from the
# environment are ignored, so that user cannot make a privileged process read a config or
# write a file of their choosing, nor are the user's proxy and CA values handed to the
# program's children; the shim still selects the MCP child, and logs that to stderr.
# glibc preloads into such a program only a library named without a slash, from a system
# directory, with its own set-user-ID bit (the way /etc/ld.so.preload setups meet it): the
# test installs one for its duration and removes it. Needs root; run by run.sh.
set -u
shim=${SHIM:?SHIM=/abs/path/libmcp_env_shim.so}
here=$(cd "$(dirname "$0")" && pwd)
build=$here/build

if [ "$(id -u)" -ne 0 ]; then
    echo "ok - secure-execution mode # SKIP needs root to install a set-user-ID test program"
    exit 0
fi
libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo .)
[ -d "$libdir" ] || libdir=/usr/lib
name=libmcp_env_shim_securetest_$$.so
dir=$(mktemp -d)
trap 'rm -f "$libdir/$name"; rm -rf "$dir"' EXIT

if findmnt -no OPTIONS -T "$dir" 2>/dev/null | grep -qw nosuid; then
    echo "ok - secure-execution mode # SKIP $dir is on a nosuid file system"
    exit 0
fi
install -m 4755 "$shim" "$libdir/$name"
install -m 4755 -o root "$build/t_secure" "$dir/t_secure"
ln -s /usr/bin/env "$dir/mcp-server-standin"
ln -s /usr/bin/env "$dir/plain-child"
printf '{"mode":"all","log":"%s/evil-config.log"}\n' "$dir" > "$dir/evil.json"
chmod 0777 "$dir"

setpriv --reuid=65534 --regid=65534 --clear-groups -- \
    env -i PATH=/usr/bin:/bin HTTPS_PROXY=http://127.0.0.1:3128 LD_PRELOAD="$name" \
    MCP_ENV_SHIM_LOG="$dir/evil.log" MCP_ENV_SHIM_CONFIG="$dir/evil.json" \
    "$dir/t_secure" "$dir" 2>"$dir/stderr"
status=$?
if grep -q '"event":"inject".*"exe":"[^"]*mcp-server-standin"' "$dir/stderr"; then
    echo "ok - secure-execution mode: the inject line went to stderr"
else
    echo "not ok - secure-execution mode: the inject line went to stderr"
    sed 's/^/# stderr: /' "$dir/stderr"
fi
exit "$status"
