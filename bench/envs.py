"""The environments the benchmark runs in, and the hand-written block the injected wall rows are
also compared against.

The parent is a realistic agent session with the sandbox block (66 variables); the child gets
the restricted set an MCP client passes (HOME LOGNAME PATH SHELL TERM USER, built by the C
drivers). The order of the variables is the order of the envp, and it is kept: the shim's work
depends on it.
"""

from __future__ import annotations

import os
from pathlib import Path

from tools import Env

LS_COLORS = (
    "rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01:cd=40;33;01:or=40;31;01:mi=00:"
    "su=37;41:sg=30;43:ca=00:tw=30;42:ow=34;42:st=37;44:ex=01;32:*.tar=01;31:*.tgz=01;31:*.arc=01;31:"
    "*.arj=01;31:*.taz=01;31:*.lha=01;31:*.lz4=01;31:*.lzh=01;31:*.lzma=01;31:*.tlz=01;31:*.txz=01;31:"
    "*.tzo=01;31:*.t7z=01;31:*.zip=01;31:*.z=01;31:*.dz=01;31:*.gz=01;31:*.lrz=01;31:*.lz=01;31:"
    "*.lzo=01;31:*.xz=01;31:*.zst=01;31:*.tzst=01;31:*.bz2=01;31:*.bz=01;31:*.tbz=01;31:*.tbz2=01;31:"
    "*.tz=01;31:*.deb=01;31:*.rpm=01;31:*.jar=01;31:*.war=01;31:*.ear=01;31:*.sar=01;31:*.rar=01;31:"
    "*.alz=01;31:*.ace=01;31:*.zoo=01;31:*.cpio=01;31:*.7z=01;31:*.rz=01;31:*.cab=01;31:*.wim=01;31:"
    "*.swm=01;31:*.dwm=01;31:*.esd=01;31:*.jpg=01;35:*.jpeg=01;35:*.mjpg=01;35:*.gif=01;35:*.bmp=01;35:"
    "*.png=01;35:*.svg=01;35:*.mp4=01;35:*.mkv=01;35:*.webm=01;35:*.ogg=00;36:*.mp3=00;36:*.wav=00;36"
)


def pairs(*items: str) -> Env:
    return [tuple(kv.split("=", 1)) for kv in items]  # type: ignore[misc]


def base_env(build: Path) -> Env:
    """The six keys an MCP client passes, with a session's values."""
    return pairs(
        "HOME=/sandbox",
        "LOGNAME=sandbox",
        f"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:{build}",
        "SHELL=/bin/bash",
        "TERM=xterm-256color",
        "USER=sandbox",
    )


OTHER_ENV = pairs(
    "LANG=C.UTF-8", "LC_CTYPE=C.UTF-8", "HOSTNAME=sandbox-7f3a", "PWD=/sandbox/work", "OLDPWD=/sandbox",
    "SHLVL=2", "_=/usr/bin/node", "TZ=UTC", "MAIL=/var/mail/sandbox", "EDITOR=vi", "PAGER=less",
    "LESS=-FRX", "COLORTERM=truecolor", "TERM_PROGRAM=tmux", "TMUX=/tmp/tmux-1000/default,812,0",
    "XDG_RUNTIME_DIR=/run/user/1000", "XDG_CONFIG_HOME=/sandbox/.config",
    "XDG_DATA_HOME=/sandbox/.local/share", "XDG_CACHE_HOME=/sandbox/.cache", "TMPDIR=/tmp",
    "NODE_ENV=production", "NVM_DIR=/sandbox/.nvm", "NVM_BIN=/sandbox/.nvm/versions/node/v22.11.0/bin",
    "PNPM_HOME=/sandbox/.local/share/pnpm", "BUN_INSTALL=/sandbox/.bun", "UV_CACHE_DIR=/sandbox/.cache/uv",
    "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1",
    "VIRTUAL_ENV=/sandbox/.venv", "CARGO_HOME=/sandbox/.cargo", "RUSTUP_HOME=/sandbox/.rustup",
    "GOPATH=/sandbox/go", "JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64", "GIT_EDITOR=vi",
    "GIT_PAGER=cat", "HISTSIZE=10000", "HISTFILE=/sandbox/.bash_history",
    "SSH_AUTH_SOCK=/tmp/ssh-XXXX/agent.811", "DEBIAN_FRONTEND=noninteractive",
    "OTEL_SERVICE_NAME=agent", "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", "NO_COLOR=1",
    "COLUMNS=200", "LINES=50", f"LS_COLORS={LS_COLORS}",
)  # fmt: skip


def block_env(ca: Path, bundle: Path) -> Env:
    """The sandbox's proxy and CA block, as the gateway has it."""
    proxy = "http://127.0.0.1:3128"
    return pairs(
        f"HTTP_PROXY={proxy}", f"HTTPS_PROXY={proxy}", "NO_PROXY=localhost,127.0.0.1,::1",
        f"http_proxy={proxy}", f"https_proxy={proxy}", "no_proxy=localhost,127.0.0.1,::1",
        f"grpc_proxy={proxy}", "NODE_USE_ENV_PROXY=1", f"NODE_EXTRA_CA_CERTS={ca}",
        f"SSL_CERT_FILE={bundle}", f"REQUESTS_CA_BUNDLE={bundle}", f"CURL_CA_BUNDLE={bundle}",
        f"GIT_SSL_CAINFO={bundle}",
    )  # fmt: skip


# What an operator writes into a server's env by hand: the exact keys and values the shim adds,
# in its order. Built from the parent environment with the shim's rules (core/src/block.rs: own
# value, else the first sibling the host has; a CA key only if its file exists; no config, not
# an OpenShell host), then checked against what the shim really gives the child.
_PROXY_SIBS = "ALL_PROXY all_proxy grpc_proxy HTTPS_PROXY https_proxy"
_NODE_CA_SIBS = "NODE_EXTRA_CA_CERTS DENO_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE"
_FILE_CA_SIBS = "SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO"
HAND_KEYS = [  # key, siblings best first (the key itself first when it is its own best source)
    ("HTTP_PROXY", "HTTP_PROXY http_proxy"), ("HTTPS_PROXY", "HTTPS_PROXY https_proxy"),
    ("ALL_PROXY", _PROXY_SIBS), ("NO_PROXY", "NO_PROXY no_proxy"),
    ("http_proxy", "HTTP_PROXY http_proxy"), ("https_proxy", "HTTPS_PROXY https_proxy"),
    ("all_proxy", _PROXY_SIBS), ("no_proxy", "NO_PROXY no_proxy"), ("grpc_proxy", _PROXY_SIBS),
    ("NODE_USE_ENV_PROXY", ""), ("NODE_EXTRA_CA_CERTS", _NODE_CA_SIBS), ("DENO_CERT", _NODE_CA_SIBS),
    ("SSL_CERT_FILE", _FILE_CA_SIBS), ("SSL_CERT_DIR", ""), ("REQUESTS_CA_BUNDLE", _FILE_CA_SIBS),
    ("CURL_CA_BUNDLE", _FILE_CA_SIBS), ("GIT_SSL_CAINFO", _FILE_CA_SIBS), ("PIP_CERT", _FILE_CA_SIBS),
    ("AWS_CA_BUNDLE", _FILE_CA_SIBS), ("NPM_CONFIG_CAFILE", _FILE_CA_SIBS),
]  # fmt: skip


def hand_block(parent: Env) -> list[str]:
    """KEY=VALUE lines the shim should add to a restricted child of this parent."""
    val = dict(parent)
    out = []
    for key, sibs in HAND_KEYS:
        v = val.get(key, "")
        if not v:
            for sib in sibs.split():
                v = val.get(sib, "")
                if v:
                    break
        if not v:
            continue
        if ("CA" in key or "CERT" in key) and not os.path.exists(v):
            continue
        out.append(f"{key}={v}")
    return out
