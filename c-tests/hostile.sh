#!/usr/bin/env bash
# hostile.sh — paths the host's environment may name that must not hang or kill a process:
# a FIFO without a reader as the log (every selected spawn would block in open), and a FIFO or
# a device as the config (every process would block or exhaust memory at load). Each must cost
# one warning at most. Run by run.sh with the shim in SHIM.
set -u
shim=${SHIM:?SHIM=/abs/path/libmcp_env_shim.so}
build=$(cd "$(dirname "$0")" && pwd)/build
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/log.fifo" "$dir/config.fifo"
host=(env -i PATH=/usr/bin:/bin HTTPS_PROXY=http://127.0.0.1:3128 LD_PRELOAD="$shim")

report() { # status message
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi
}

# A shell that execs an MCP-looking child: the exec hook opens the log before the exec.
timeout 20 "${host[@]}" MCP_ENV_SHIM_LOG="$dir/log.fifo" \
    sh -c "exec '$build/mcp-server-standin' '$dir/standin.env'" 2>/dev/null
status=$?
report "$status" "a FIFO without a reader as the log file: the spawn goes on (status $status)"
[ -s "$dir/standin.env" ]
report $? "a FIFO without a reader as the log file: the child ran"

for config in "$dir/config.fifo" /dev/zero; do
    # A process that starts nothing (`ls`, `cat` under a global preload) prints nothing.
    timeout 20 "${host[@]}" MCP_ENV_SHIM_CONFIG="$config" /bin/true 2>"$dir/err"
    status=$?
    report "$status" "config $config: the process starts and exits normally (status $status)"
    [ ! -s "$dir/err" ]
    report $? "config $config: a process that logs nothing prints nothing, not even the warning"
    # One that starts an MCP server writes the warning once, with its first line.
    timeout 20 "${host[@]}" MCP_ENV_SHIM_CONFIG="$config" \
        sh -c "exec env -i PATH=/usr/bin:/bin '$build/mcp-server-standin' '$dir/standin2.env'" 2>"$dir/err"
    status=$?
    report "$status" "config $config: a spawning process runs normally (status $status)"
    [ "$(grep -c '"event":"warn".*not a regular file' "$dir/err")" -eq 1 ]
    report $? "config $config: one warning says it is not a regular file"
done
