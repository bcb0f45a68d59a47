#!/usr/bin/env bash
# privheal.sh — a root server must not take anything from an unprivileged user's environment,
# whichever way it was made root:
# - doas and pkexec exec the command as root (real and effective uid 0: no secure mode) with a
#   reset environment, and its parent is the user's own process (asroot.c stands in);
# - sudo becomes full root (setuid(0): every uid of the sudo process is 0) and stays the
#   command's parent, its /proc/PID/environ still the user's environment (assudo.c stands in).
# Under /etc/ld.so.preload the root server heals itself at start and reads /proc/PPID/environ.
# The user sets MCP_ENV_SHIM_CONFIG (a config of their own whose `values` add NODE_OPTIONS),
# MCP_ENV_SHIM_LOG (a root-owned file: /etc/profile.d/*.sh, /root/.bashrc), MCP_ENV_SHIM (text
# for the warning) and HTTPS_PROXY. The root server must get none of them, and the root-owned
# file must stay empty. Needs root; run by run.sh with the shim in SHIM.
set -u
shim=${SHIM:?SHIM=/abs/path/libmcp_env_shim.so}
build=$(cd "$(dirname "$0")" && pwd)/build
if [ "$(id -u)" -ne 0 ]; then
    echo "not ok - privheal.sh needs root (it installs set-user-ID stand-ins for doas and sudo)"
    exit 1
fi
status=0
report() { # ok message
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi
}

# attack STAND-IN NAME: the user runs the server as root through STAND-IN (asroot, assudo).
attack() {
    local stand=$1 name=$2 dir
    dir=$(mktemp -d)
    if findmnt -no OPTIONS -T "$dir" 2>/dev/null | grep -qw nosuid; then
        report 1 "privheal.sh: $dir is on a nosuid file system"
        rm -rf "$dir"
        return
    fi
    chmod 0755 "$dir"
    install -m 4755 -o root "$build/$stand" "$dir/$stand"
    install -m 0755 "$build/mcp-server-standin" "$dir/mcp-server-standin"
    mkdir "$dir/user"
    chown 65534:65534 "$dir/user"
    printf '{"values":{"NODE_OPTIONS":"--require %s/user/evil.js"}}\n' "$dir" >"$dir/user/evil.json"
    chown 65534:65534 "$dir/user/evil.json"
    : >"$dir/root-owned.sh" # stands for /etc/profile.d/x.sh: root's, one link, sourced by shells
    local marker='$(id>/tmp/privheal-pwned)'
    setpriv --reuid=65534 --regid=65534 --clear-groups -- env -i PATH=/usr/bin:/bin \
        HTTPS_PROXY=http://user-chose.invalid:1 MCP_ENV_SHIM="$marker" \
        MCP_ENV_SHIM_CONFIG="$dir/user/evil.json" MCP_ENV_SHIM_LOG="$dir/root-owned.sh" \
        sh -c '"$1/$3" "$2" "$1/mcp-server-standin" "$1/server.env"; echo "rc=$?" >"$1/user/rc"' \
        sh "$dir" "$shim" "$stand" 2>"$dir/stderr"
    env_of() { tr '\0' '\n' <"$dir/server.env" 2>/dev/null | grep "^$1=" | head -1; }
    [ -s "$dir/server.env" ] && [ "$(stat -c %u "$dir/server.env")" = 0 ]
    report $? "$name: the root server ran ($(cat "$dir/user/rc" 2>/dev/null))"
    ! env_of HTTPS_PROXY | grep -q user-chose
    report $? "$name: the root server did not take HTTPS_PROXY from the user's environment ($(env_of HTTPS_PROXY))"
    [ -z "$(env_of NODE_OPTIONS)" ]
    report $? "$name: the root server did not take the user's config (its values: $(env_of NODE_OPTIONS))"
    [ ! -s "$dir/root-owned.sh" ]
    report $? "$name: the root-owned file the user named as the log was not written"
    if [ -s "$dir/root-owned.sh" ]; then
        sed 's/^/# /' "$dir/root-owned.sh" | cut -c1-200
    fi
    rm -rf "$dir"
}

attack asroot doas
attack assudo sudo
exit "$status"
