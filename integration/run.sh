#!/usr/bin/env bash
# End-to-end test (issue 3), run by `make integration` and `make test`: installs the pinned
# Python and Node dependencies (skipped when warm), then runs the scenarios against real MCP SDKs,
# a real TLS-intercepting proxy (mitmdump) and the shim, all on 127.0.0.1.
# Usage: bash integration/run.sh [SCENARIO-PREFIX ...]   (e.g. node-1 python-2)
# SHIM defaults to target/release/libmcp_env_shim.so of this repo.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
shim="${SHIM:-$repo/target/release/libmcp_env_shim.so}"
work="$here/work"

# The runner stops its processes itself; this catches the case where it is killed first: every
# process group it started is listed in work/pgids until it has stopped them.
cleanup() {
    local pgid
    if [ -s "$work/pgids" ]; then
        while read -r pgid; do
            kill -KILL -- "-$pgid" 2>/dev/null || true
        done < "$work/pgids"
        : > "$work/pgids"
    fi
}
trap cleanup EXIT

bash "$here/install.sh"
cd "$here"
# In the background, so that a TERM or INT reaches this script at once (bash runs traps only
# between commands): it is passed on to the runner, which stops what it started.
"$here/.venv/bin/python" "$here/run_scenarios.py" --shim "$shim" --work "$work" "$@" &
runner=$!
trap 'kill -TERM "$runner" 2>/dev/null; wait "$runner"; exit 143' TERM
trap 'kill -TERM "$runner" 2>/dev/null; wait "$runner"; exit 130' INT
rc=0
wait "$runner" || rc=$?
exit "$rc"
