#!/usr/bin/env bash
# Shows the shim's job in one screen: a "gateway" with the sandbox's variables starts an MCP
# server the way MCP clients do (a fresh environment), once without and once with the shim.
set -euo pipefail
cd "$(dirname "$0")/.."
SHIM=${SHIM:-$PWD/target/release/libmcp_env_shim.so}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A stand-in server: prints the proxy and CA keys it was given.
cat >"$work/mcp-server-demo" <<'SH'
#!/bin/sh
env | grep -E '^(HTTPS?_PROXY|https?_proxy|NO_PROXY|NODE_EXTRA_CA_CERTS|SSL_CERT_FILE)=' | sort || true
SH
chmod +x "$work/mcp-server-demo"
printf 'demo CA\n' >"$work/openshell-ca.pem"
printf 'demo bundle\n' >"$work/ca-bundle.pem"
# The log file exists before the gateway starts: a process running as root (as here, often)
# writes only to an existing log file, never creates one.
: >"$work/shim.log"

# The gateway: what the MCP SDKs do, env = HOME LOGNAME PATH SHELL TERM USER + declared env.
gateway() {
  env -i PATH=/usr/bin:/bin HOME="$HOME" \
    HTTPS_PROXY=http://127.0.0.1:3128 HTTP_PROXY=http://127.0.0.1:3128 \
    NO_PROXY=127.0.0.1,localhost,::1 \
    NODE_EXTRA_CA_CERTS="$work/openshell-ca.pem" SSL_CERT_FILE="$work/ca-bundle.pem" \
    MCP_ENV_SHIM_LOG="$work/shim.log" "$@" \
    python3 -c '
import os, subprocess, sys
keep = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")
env = {k: os.environ[k] for k in keep if k in os.environ}
env["GITHUB_TOKEN"] = "declared-by-the-server-config"
subprocess.run([sys.argv[1]], env=env, check=True)
' "$work/mcp-server-demo"
}

echo "== without the shim: the server gets no proxy and no CA"
out=$(gateway env)
echo "   ${out:-(nothing)}"
echo
echo "== with LD_PRELOAD=$SHIM"
gateway env LD_PRELOAD="$SHIM" | sed 's/^/   /'
echo
echo "== the shim's log line (keys only, never values of the child's environment)"
sed 's/^/   /' "$work/shim.log"
