#!/usr/bin/env bash
# logfile.sh — the log file rules (issue 7 item 4), for real, as root and as `nobody`:
# - no component of the log path is ever followed through a symlink (a dangling one in a
#   world-writable directory, one to an existing file, one in the middle of the path);
# - a privileged process (root here) creates nothing, and writes only to an existing regular
#   file with one link, owned by root: not another user's file, not a hard link;
# - an unprivileged process creates its log file, and still never follows a symlink.
# Each case runs a host that starts an MCP server with a fresh environment, so a line is due.
# Run by run.sh with the shim in SHIM; needs root.
set -u
shim=${SHIM:?SHIM=/abs/path/libmcp_env_shim.so}
build=$(cd "$(dirname "$0")" && pwd)/build
if [ "$(id -u)" -ne 0 ]; then
    echo "not ok - logfile.sh needs root (it also runs a case as nobody)"
    exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
chmod 1777 "$dir" # like /tmp: world-writable, sticky
status=0
report() { # ok message
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi
}

# host LOGPATH [as-nobody]: a host that starts an MCP server with a fresh environment.
host() {
    local as=()
    [ "${2:-}" = nobody ] && as=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
    "${as[@]}" env -i PATH=/usr/bin:/bin HTTPS_PROXY=http://proxy.test:1 LD_PRELOAD="$shim" \
        MCP_ENV_SHIM_LOG="$1" /usr/bin/env -i "$dir/mcp-server-standin" /dev/null 2>/dev/null
}
cp "$build/mcp-server-standin" "$dir/"
chmod 0755 "$dir/mcp-server-standin"
# A copy of the library nobody may load: the build may sit in a directory only root may enter
# (a clone in `mktemp -d`).
cp "$shim" "$dir/shim.so"
chmod 0755 "$dir/shim.so"
shim=$dir/shim.so

# A dangling symlink planted in the world-writable directory.
ln -s "$dir/planted-target" "$dir/dangling"
host "$dir/dangling"
[ ! -e "$dir/planted-target" ] && [ -L "$dir/dangling" ]
report $? "root: a dangling symlink as the log is not followed: nothing created at its target"

# A symlink to an existing root-owned file.
: >"$dir/root-file"
ln -s "$dir/root-file" "$dir/to-root-file"
host "$dir/to-root-file"
[ ! -s "$dir/root-file" ]
report $? "root: a symlink to an existing root-owned file is not followed"

# A symlink in the middle of the path.
mkdir "$dir/real"
: >"$dir/real/shim.log"
ln -s "$dir/real" "$dir/linkdir"
host "$dir/linkdir/shim.log"
[ ! -s "$dir/real/shim.log" ]
report $? "root: a path through a symlinked directory is not followed"

# A privileged process creates nothing.
host "$dir/new.log"
[ ! -e "$dir/new.log" ]
report $? "root: a log file that does not exist is not created"

# Another user's file.
: >"$dir/nobody.log"
chown 65534:65534 "$dir/nobody.log"
host "$dir/nobody.log"
[ ! -s "$dir/nobody.log" ]
report $? "root: a log file owned by another user is not written"

# A hard link (two links): it could be any root-owned file.
: >"$dir/linked-a"
ln "$dir/linked-a" "$dir/linked-b"
host "$dir/linked-b"
[ ! -s "$dir/linked-a" ]
report $? "root: a log file with two links is not written"

# The control: an existing root-owned regular file with one link is written.
: >"$dir/root.log"
host "$dir/root.log"
grep -q '"event":"inject"' "$dir/root.log"
report $? "root: an existing root-owned log file is written"

# Unprivileged: creates its file, never through a symlink.
host "$dir/user.log" nobody
[ "$(stat -c %u "$dir/user.log" 2>/dev/null)" = 65534 ] && grep -q '"event":"inject"' "$dir/user.log"
report $? "nobody: creates its log file and writes it"
ln -s "$dir/user-target" "$dir/user-dangling"
host "$dir/user-dangling" nobody
[ ! -e "$dir/user-target" ]
report $? "nobody: a dangling symlink as the log is not followed either"
exit "$status"
