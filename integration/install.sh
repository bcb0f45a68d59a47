#!/usr/bin/env bash
# Installs the end-to-end test's pinned dependencies into gitignored dirs: the Python venv
# integration/.venv (requirements.txt), integration/node_modules (package-lock.json) and the
# Codex CLI in integration/codex/node_modules (codex/package-lock.json; ~420 MB). A Codex install
# that fails does not stop the other scenarios: it is recorded in codex/install.log, and the
# Codex scenarios fail, quoting it.
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

codex_key="$(sha256sum codex/package-lock.json | cut -c1-16)-$(node --version)"
if [ "$(cat codex/node_modules/.stamp 2>/dev/null || true)" != "$codex_key" ]; then
    echo "integration: installing the Codex CLI into integration/codex/node_modules ($codex_key)"
    if (cd codex && npm ci --no-audit --no-fund --loglevel=error) > codex/install.log 2>&1; then
        echo "$codex_key" > codex/node_modules/.stamp
        rm -f codex/install.log
    else
        echo "integration: could not install @openai/codex (the codex scenarios will fail): $(tail -3 codex/install.log)"
    fi
fi
