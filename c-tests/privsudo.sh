#!/usr/bin/env bash
# privsudo.sh — privheal.sh's attack through sudo rather than doas: sudo becomes full root
# (setuid(0): every uid of the sudo process is 0) and stays the command's parent, and its
# /proc/PID/environ is still the user's environment. The shim's trust check (every uid of the
# parent is the server's euid) passes for it, so a root server healing at start reads the
# user's MCP_ENV_SHIM_CONFIG, MCP_ENV_SHIM_LOG and HTTPS_PROXY. The root server must get none of
# them, and the root-owned file the user names as the log must stay empty. assudo (assudo.c)
# stands in for sudo. Needs root; run by run.sh with the shim in SHIM.
set -u
shim=${SHIM:?SHIM=/abs/path/libmcp_env_shim.so}
build=$(cd "$(dirname "$0")" && pwd)/build
if [ "$(id -u)" -ne 0 ]; then
    echo "not ok - privsudo.sh needs root (it installs a set-user-ID stand-in for sudo)"
    exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if findmnt -no OPTIONS -T "$dir" 2>/dev/null | grep -qw nosuid; then
    echo "not ok - privsudo.sh: $dir is on a nosuid file system"
    exit 1
fi
chmod 0755 "$dir"
install -m 4755 -o root "$build/assudo" "$dir/assudo"
install -m 0755 "$build/mcp-server-standin" "$dir/mcp-server-standin"
mkdir "$dir/user"
chown 65534:65534 "$dir/user"
printf '{"values":{"NODE_OPTIONS":"--require %s/user/evil.js"}}\n' "$dir" >"$dir/user/evil.json"
chown 65534:65534 "$dir/user/evil.json"
: >"$dir/root-owned.sh" # stands for /etc/profile.d/x.sh: root's, one link, sourced by shells
status=0
report() { # ok message
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi
}

setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i PATH=/usr/bin:/bin \
    HTTPS_PROXY=http://user-chose.invalid:1 \
    MCP_ENV_SHIM_CONFIG="$dir/user/evil.json" MCP_ENV_SHIM_LOG="$dir/root-owned.sh" \
    sh -c '"$1/assudo" "$2" "$1/mcp-server-standin" "$1/server.env"; echo "rc=$?" >"$1/user/rc"' \
    sh "$dir" "$shim" 2>"$dir/stderr"
env_of() { tr '\0' '\n' <"$dir/server.env" 2>/dev/null | grep "^$1=" | head -1; }
[ -s "$dir/server.env" ] && [ "$(stat -c %u "$dir/server.env")" = 0 ]
report $? "sudo: the root server ran ($(cat "$dir/user/rc" 2>/dev/null))"
! env_of HTTPS_PROXY | grep -q user-chose
report $? "sudo: the root server did not take HTTPS_PROXY from the user's environment left in sudo ($(env_of HTTPS_PROXY))"
[ -z "$(env_of NODE_OPTIONS)" ]
report $? "sudo: the root server did not take the user's config (its values: $(env_of NODE_OPTIONS))"
[ ! -s "$dir/root-owned.sh" ]
report $? "sudo: the root-owned file the user named as the log was not written"
if [ -s "$dir/root-owned.sh" ]; then
    sed 's/^/# /' "$dir/root-owned.sh" | cut -c1-200
fi
exit "$status"
