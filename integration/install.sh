#!/usr/bin/env bash
# Installs the end-to-end test's pinned dependencies into gitignored dirs: the Python venv
# integration/.venv (requirements.txt) and integration/node_modules (package-lock.json).
# Each is skipped when its stamp matches a hash of its pin file and the interpreter, so a warm
# run costs nothing; a changed pin, or a half-finished install (no stamp), installs again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

py="${PYTHON:-python3}"
py_key="$(sha256sum requirements.txt | cut -c1-16)-$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
if [ "$(cat .venv/.stamp 2>/dev/null || true)" != "$py_key" ]; then
    echo "integration: installing Python deps into integration/.venv ($py_key)"
    rm -rf .venv
    "$py" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-input -r requirements.txt
    echo "$py_key" > .venv/.stamp
fi

node_key="$(sha256sum package-lock.json | cut -c1-16)-$(node --version)"
if [ "$(cat node_modules/.stamp 2>/dev/null || true)" != "$node_key" ]; then
    echo "integration: installing Node deps into integration/node_modules ($node_key)"
    # npm ci installs exactly the lock file and links node-server's bin (mcp-server-tokendemo).
    npm ci --no-audit --no-fund --loglevel=error
    echo "$node_key" > node_modules/.stamp
fi
