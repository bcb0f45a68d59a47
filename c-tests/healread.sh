#!/usr/bin/env bash
# healread.sh — issue 9: "The /proc/PPID/environ read happens only for an MCP-looking process
# with keys missing." A server the gateway's hook already gave the whole block (or started with
# it) has nothing to heal, and must not read its parent's environment; nor one whose own
# MCP_ENV_SHIM is off ("do nothing at all"). strace shows the opens;
# the control (a server missing the block) shows that the read is seen when it happens.
# Run by run.sh with the shim in SHIM.
set -u
shim=${SHIM:?SHIM=/abs/path/libmcp_env_shim.so}
build=$(cd "$(dirname "$0")" && pwd)/build
if ! command -v strace >/dev/null; then
    echo "not ok - healread.sh needs strace"
    exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
: >"$dir/ca.pem"
full=(HTTP_PROXY=http://p:1 HTTPS_PROXY=http://p:1 ALL_PROXY=http://p:1 NO_PROXY=localhost
    http_proxy=http://p:1 https_proxy=http://p:1 all_proxy=http://p:1 no_proxy=localhost
    grpc_proxy=http://p:1 NODE_USE_ENV_PROXY=1)
for k in NODE_EXTRA_CA_CERTS DENO_CERT SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE \
    CURL_CA_BUNDLE GIT_SSL_CAINFO PIP_CERT AWS_CA_BUNDLE NPM_CONFIG_CAFILE; do
    full+=("$k=$dir/ca.pem")
done
status=0
report() { # ok message
    if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; status=1; fi
}
opens() { # trace-file: the /proc/*/environ files opened
    grep -o '"/proc/[0-9]*/environ"' "$1" | tr '\n' ' '
}

strace -f -qq -e trace=openat,open -o "$dir/missing.trace" env -i PATH=/usr/bin:/bin \
    HTTPS_PROXY=http://p:1 LD_PRELOAD="$shim" MCP_ENV_SHIM_LOG=off \
    sh -c 'exec env -i PATH=/usr/bin:/bin "$0" /dev/null' "$build/mcp-server-standin" </dev/null
[ -n "$(opens "$dir/missing.trace")" ]
report $? "control: a server missing the block reads its parent's environment ($(opens "$dir/missing.trace"))"

strace -f -qq -e trace=openat,open -o "$dir/full.trace" env -i PATH=/usr/bin:/bin "${full[@]}" \
    LD_PRELOAD="$shim" MCP_ENV_SHIM_LOG=off "$build/mcp-server-standin" /dev/null </dev/null
[ -z "$(opens "$dir/full.trace")" ]
report $? "a server that has every block key does not read its parent's environment ($(opens "$dir/full.trace"))"

# MCP_ENV_SHIM=off: "do nothing at all".
strace -f -qq -e trace=openat,open -o "$dir/off.trace" env -i PATH=/usr/bin:/bin MCP_ENV_SHIM=off \
    LD_PRELOAD="$shim" "$build/mcp-server-standin" /dev/null </dev/null
[ -z "$(opens "$dir/off.trace")" ]
report $? "a server whose own MCP_ENV_SHIM is off does not read its parent's environment ($(opens "$dir/off.trace"))"
exit "$status"
