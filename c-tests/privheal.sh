#!/usr/bin/env bash
# privheal.sh — a root server must not take anything from an unprivileged parent's environment.
# doas and pkexec exec the command as root (real and effective uid 0: no secure mode) with a
# reset environment, and its parent is the user's own process; sudo's parent process keeps the
# user's environment too. Under /etc/ld.so.preload the root server heals itself at start and
# reads /proc/PPID/environ: the user's. The user sets MCP_ENV_SHIM_CONFIG (a config of their own
# whose `values` add NODE_OPTIONS), MCP_ENV_SHIM_LOG (a root-owned file: /etc/profile.d/*.sh,
# /root/.bashrc), MCP_ENV_SHIM (text for the warning) and HTTPS_PROXY. The root server must get
# none of them, and the root-owned file must stay empty. asroot (asroot.c) stands in for doas.
# Needs root; run by run.sh with the shim in SHIM.
set -u
shim=${SHIM:?SHIM=/abs/path/libmcp_env_shim.so}
build=$(cd "$(dirname "$0")" && pwd)/build
if [ "$(id -u)" -ne 0 ]; then
    echo "not ok - privheal.sh needs root (it installs a set-user-ID stand-in for doas)"
    exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if findmnt -no OPTIONS -T "$dir" 2>/dev/null | grep -qw nosuid; then
    echo "not ok - privheal.sh: $dir is on a nosuid file system"
    exit 1
fi
chmod 0755 "$dir"
install -m 4755 -o root "$build/asroot" "$dir/asroot"
install -m 0755 "$build/mcp-server-standin" "$dir/mcp-server-standin"
mkdir "$dir/user"
chown 65534:65534 "$dir/user"
printf '{"values":{"NODE_OPTIONS":"--require %s/user/evil.js"}}\n' "$dir" >"$dir/user/evil.json"
chown 65534:65534 "$dir/user/evil.json"
: >"$dir/root-owned.sh" # stands for /etc/profile.d/x.sh: root's, one link, sourced by shells
marker='$(id>/tmp/privheal-pwned)'
status=0
report() { # ok message
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi
}

setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i PATH=/usr/bin:/bin \
    HTTPS_PROXY=http://user-chose.invalid:1 MCP_ENV_SHIM="$marker" \
    MCP_ENV_SHIM_CONFIG="$dir/user/evil.json" MCP_ENV_SHIM_LOG="$dir/root-owned.sh" \
    sh -c '"$1/asroot" "$2" "$1/mcp-server-standin" "$1/server.env"; echo "rc=$?" >"$1/user/rc"' \
    sh "$dir" "$shim" 2>"$dir/stderr"
env_of() { tr '\0' '\n' <"$dir/server.env" 2>/dev/null | grep "^$1=" | head -1; }
[ -s "$dir/server.env" ] && [ "$(stat -c %u "$dir/server.env")" = 0 ]
report $? "the root server ran ($(cat "$dir/user/rc" 2>/dev/null))"
! env_of HTTPS_PROXY | grep -q user-chose
report $? "the root server did not take HTTPS_PROXY from the user's environment ($(env_of HTTPS_PROXY))"
[ -z "$(env_of NODE_OPTIONS)" ]
report $? "the root server did not take the user's config (its values: $(env_of NODE_OPTIONS))"
[ ! -s "$dir/root-owned.sh" ]
report $? "the root-owned file the user named as the log was not written"
if [ -s "$dir/root-owned.sh" ]; then
    sed 's/^/# /' "$dir/root-owned.sh" | cut -c1-200
fi
exit "$status"
