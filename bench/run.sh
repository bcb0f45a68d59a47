#!/usr/bin/env bash
# make bench: what the shim costs every spawn and every process, with vs without it, in one run.
#
#   SHIM=/abs/path/libmcp_env_shim.so bash bench/run.sh
#
# Builds the C drivers into bench/build, writes raw data to bench/out, prints one report (also
# saved as bench/out/report.txt, and as markdown in bench/out/README-section.md). Exits 0 even
# when a target is missed: it is a report; the FAIL lines say what missed.
#
# Knobs (environment): BENCH_BLOCKS (interleaved blocks, default 10), BENCH_PER_BLOCK (spawns per
# block per side, default 300), BENCH_K_SPAWN (posix_spawn calls under callgrind, default 100),
# BENCH_K_EXEC (failing execve calls under callgrind, default 1000).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
SHIM=${SHIM:-$REPO/target/release/libmcp_env_shim.so}
BUILD=$HERE/build
OUT=$HERE/out
BLOCKS=${BENCH_BLOCKS:-10}
PER_BLOCK=${BENCH_PER_BLOCK:-300}
K_SPAWN=${BENCH_K_SPAWN:-100}
K_EXEC=${BENCH_K_EXEC:-1000}

# Targets (from issue 4).
T_ALONE=5000       # added instructions per spawn, child left alone
T_INJECT=20000     # added instructions per spawn, injected child
T_LOAD=100000      # added instructions per process that loads the shim
T_RATIO=1.02       # median spawn-and-wait with shim / without

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

case $SHIM in /*) ;; *) SHIM=$(pwd)/$SHIM ;; esac
[[ -f $SHIM ]] || die "no library at $SHIM (run 'make build' first, or set SHIM)"
SHIM_NAME=$(basename "$SHIM")

# --- tools ------------------------------------------------------------------------------------
apt_updated=0
need() { # need COMMAND DEBIAN-PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    say "bench: installing $2 (for $1)"
    if [[ $apt_updated == 0 ]]; then apt-get update -qq >&2 || true; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2 || die "cannot install $2"
}
need gcc gcc
need valgrind valgrind
need callgrind_annotate valgrind
need readelf binutils

# --- build ------------------------------------------------------------------------------------
mkdir -p "$BUILD"
rm -rf "$OUT"
mkdir -p "$OUT/wall" "$OUT/cg" "$OUT/mem"
CFLAGS=(-O2 -Wall -Wextra -Werror)
for p in spawnbench pairbench hookcount memprobe; do
    gcc "${CFLAGS[@]}" -o "$BUILD/$p" "$HERE/src/$p.c" -ldl
done
gcc "${CFLAGS[@]}" -shared -fPIC -o "$BUILD/malloccount.so" "$HERE/src/malloccount.c"
# The floor: an empty library, what LD_PRELOAD of any library costs.
gcc "${CFLAGS[@]}" -shared -fPIC -o "$BUILD/empty.so" "$HERE/src/empty.c"
# The MCP-looking child: /bin/true under an MCP server's name (the shim selects by name).
ln -sfn /bin/true "$BUILD/mcp-server-bench"
# Executable but no program: execve fails (ENOEXEC) after the hook has done all its work. A
# missing path would not do: the shim logs nothing for such a PATH probe.
printf 'not a program\n' > "$BUILD/mcp-server-badformat"
chmod 0755 "$BUILD/mcp-server-badformat"
# Children that print their environment, for the sanity check.
ln -sfn "$(command -v printenv)" "$BUILD/mcp-server-envcheck"
ln -sfn "$(command -v printenv)" "$BUILD/plain-envcheck"
# The sandbox CA files the block points at (the shim injects a CA key only if its file exists).
mkdir -p "$BUILD/ca"
printf -- '-----BEGIN CERTIFICATE-----\nMIIBbench\n-----END CERTIFICATE-----\n' >"$BUILD/ca/sandbox-ca.pem"
if [[ -r /etc/ssl/certs/ca-certificates.crt ]]; then
    cat /etc/ssl/certs/ca-certificates.crt "$BUILD/ca/sandbox-ca.pem" >"$BUILD/ca/bundle.pem"
else
    cp "$BUILD/ca/sandbox-ca.pem" "$BUILD/ca/bundle.pem"
fi
CONFIG=$BUILD/config.json
printf '%s\n' '{"mode":"mcp","values":{"HTTPS_PROXY":"http://127.0.0.1:3128"},"include":["weather-server"]}' >"$CONFIG"
LOG=$OUT/shim.log

# --- the parent's environment: a realistic agent session, with the sandbox block --------------
CA=$BUILD/ca/sandbox-ca.pem
BUNDLE=$BUILD/ca/bundle.pem
LSC='rs=0:di=01;34:ln=01;36:mh=00:pi=40;33:so=01;35:do=01;35:bd=40;33;01:cd=40;33;01:or=40;31;01:mi=00:su=37;41:sg=30;43:ca=00:tw=30;42:ow=34;42:st=37;44:ex=01;32:*.tar=01;31:*.tgz=01;31:*.arc=01;31:*.arj=01;31:*.taz=01;31:*.lha=01;31:*.lz4=01;31:*.lzh=01;31:*.lzma=01;31:*.tlz=01;31:*.txz=01;31:*.tzo=01;31:*.t7z=01;31:*.zip=01;31:*.z=01;31:*.dz=01;31:*.gz=01;31:*.lrz=01;31:*.lz=01;31:*.lzo=01;31:*.xz=01;31:*.zst=01;31:*.tzst=01;31:*.bz2=01;31:*.bz=01;31:*.tbz=01;31:*.tbz2=01;31:*.tz=01;31:*.deb=01;31:*.rpm=01;31:*.jar=01;31:*.war=01;31:*.ear=01;31:*.sar=01;31:*.rar=01;31:*.alz=01;31:*.ace=01;31:*.zoo=01;31:*.cpio=01;31:*.7z=01;31:*.rz=01;31:*.cab=01;31:*.wim=01;31:*.swm=01;31:*.dwm=01;31:*.esd=01;31:*.jpg=01;35:*.jpeg=01;35:*.mjpg=01;35:*.gif=01;35:*.bmp=01;35:*.png=01;35:*.svg=01;35:*.mp4=01;35:*.mkv=01;35:*.webm=01;35:*.ogg=00;36:*.mp3=00;36:*.wav=00;36'
BLOCK_ENV=(
    "HTTP_PROXY=http://127.0.0.1:3128" "HTTPS_PROXY=http://127.0.0.1:3128"
    "NO_PROXY=localhost,127.0.0.1,::1" "http_proxy=http://127.0.0.1:3128"
    "https_proxy=http://127.0.0.1:3128" "no_proxy=localhost,127.0.0.1,::1"
    "grpc_proxy=http://127.0.0.1:3128" "NODE_USE_ENV_PROXY=1"
    "NODE_EXTRA_CA_CERTS=$CA" "SSL_CERT_FILE=$BUNDLE" "REQUESTS_CA_BUNDLE=$BUNDLE"
    "CURL_CA_BUNDLE=$BUNDLE" "GIT_SSL_CAINFO=$BUNDLE"
)
BASE_ENV=(
    "HOME=/sandbox" "LOGNAME=sandbox" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$BUILD"
    "SHELL=/bin/bash" "TERM=xterm-256color" "USER=sandbox"
)
OTHER_ENV=(
    "LANG=C.UTF-8" "LC_CTYPE=C.UTF-8" "HOSTNAME=sandbox-7f3a" "PWD=/sandbox/work" "OLDPWD=/sandbox"
    "SHLVL=2" "_=/usr/bin/node" "TZ=UTC" "MAIL=/var/mail/sandbox" "EDITOR=vi" "PAGER=less"
    "LESS=-FRX" "COLORTERM=truecolor" "TERM_PROGRAM=tmux" "TMUX=/tmp/tmux-1000/default,812,0"
    "XDG_RUNTIME_DIR=/run/user/1000" "XDG_CONFIG_HOME=/sandbox/.config"
    "XDG_DATA_HOME=/sandbox/.local/share" "XDG_CACHE_HOME=/sandbox/.cache" "TMPDIR=/tmp"
    "NODE_ENV=production" "NVM_DIR=/sandbox/.nvm" "NVM_BIN=/sandbox/.nvm/versions/node/v22.11.0/bin"
    "PNPM_HOME=/sandbox/.local/share/pnpm" "BUN_INSTALL=/sandbox/.bun" "UV_CACHE_DIR=/sandbox/.cache/uv"
    "PIP_DISABLE_PIP_VERSION_CHECK=1" "PYTHONUNBUFFERED=1" "PYTHONDONTWRITEBYTECODE=1"
    "VIRTUAL_ENV=/sandbox/.venv" "CARGO_HOME=/sandbox/.cargo" "RUSTUP_HOME=/sandbox/.rustup"
    "GOPATH=/sandbox/go" "JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64" "GIT_EDITOR=vi"
    "GIT_PAGER=cat" "HISTSIZE=10000" "HISTFILE=/sandbox/.bash_history"
    "SSH_AUTH_SOCK=/tmp/ssh-XXXX/agent.811" "DEBIAN_FRONTEND=noninteractive"
    "OTEL_SERVICE_NAME=agent" "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318" "NO_COLOR=1"
    "COLUMNS=200" "LINES=50" "LS_COLORS=$LSC"
)
PARENT_ENV=("${BASE_ENV[@]}" "${OTHER_ENV[@]}" "${BLOCK_ENV[@]}")
N_PARENT_ENV=$((${#PARENT_ENV[@]} + 1)) # + MCP_ENV_SHIM_LOG

# run_in ENV-ARRAY-NAME [VAR=VALUE...] -- COMMAND...: run with exactly that environment.
run_in() {
    local -n _env=$1
    shift
    local extra=()
    while [[ $1 != -- ]]; do extra+=("$1"); shift; done
    shift
    env -i "${_env[@]}" "${extra[@]}" "$@"
}
logvar() { [[ $1 == off ]] && echo MCP_ENV_SHIM_LOG=off || echo "MCP_ENV_SHIM_LOG=$LOG"; }

# --- sanity: the inject child really gets the block, the plain child really does not ----------
sanity=()
count_block() { grep -c '^[A-Za-z_][A-Za-z0-9_]*=' | awk '{ print $1 - 6 }'; } # minus the 6 it was given
for m in posix_spawn fork vfork; do
    n_inj=$(run_in PARENT_ENV "$(logvar off)" "LD_PRELOAD=$SHIM" -- "$BUILD/spawnbench" "$m" 1 \
        "$BUILD/mcp-server-envcheck" mcp-server-envcheck restricted | count_block)
    n_alone=$(run_in PARENT_ENV "$(logvar off)" "LD_PRELOAD=$SHIM" -- "$BUILD/spawnbench" "$m" 1 \
        "$BUILD/plain-envcheck" printenv restricted | count_block)
    sanity+=("$m: $n_inj keys added to the MCP child, $n_alone to the plain one;")
    [[ $n_inj -gt 0 ]] || say "bench: WARNING: the shim injected nothing into mcp-server-envcheck via $m"
    [[ $n_alone -eq 0 ]] || say "bench: WARNING: the shim injected into the plain child via $m"
done

# --- the hand-written block: the baseline for the injected wall rows ---------------------------
# What an operator writes into a server's env by hand: the exact keys and values the shim adds,
# in its order, after the 6 restricted keys. Built here from the parent environment with the
# shim's rules (core/src/block.rs: own value, else the first sibling the host has; a CA key only
# if its file exists; no config, not an OpenShell host), then checked against what the shim
# really gives the child, via each spawn method: any difference stops the run.
HAND_BLOCK=$OUT/hand-block.env
HAND_KEYS=( # key|siblings, best first (the key itself first when it is its own best source)
    "HTTP_PROXY|HTTP_PROXY http_proxy" "HTTPS_PROXY|HTTPS_PROXY https_proxy"
    "ALL_PROXY|ALL_PROXY all_proxy grpc_proxy HTTPS_PROXY https_proxy" "NO_PROXY|NO_PROXY no_proxy"
    "http_proxy|HTTP_PROXY http_proxy" "https_proxy|HTTPS_PROXY https_proxy"
    "all_proxy|ALL_PROXY all_proxy grpc_proxy HTTPS_PROXY https_proxy" "no_proxy|NO_PROXY no_proxy"
    "grpc_proxy|ALL_PROXY all_proxy grpc_proxy HTTPS_PROXY https_proxy" "NODE_USE_ENV_PROXY|"
    "NODE_EXTRA_CA_CERTS|NODE_EXTRA_CA_CERTS DENO_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE"
    "DENO_CERT|NODE_EXTRA_CA_CERTS DENO_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE"
    "SSL_CERT_FILE|SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO" "SSL_CERT_DIR|"
    "REQUESTS_CA_BUNDLE|SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO"
    "CURL_CA_BUNDLE|SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO"
    "GIT_SSL_CAINFO|SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO"
    "PIP_CERT|SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO"
    "AWS_CA_BUNDLE|SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO"
    "NPM_CONFIG_CAFILE|SSL_CERT_FILE REQUESTS_CA_BUNDLE CURL_CA_BUNDLE GIT_SSL_CAINFO"
)
declare -A parent_val=()
for kv in "${PARENT_ENV[@]}"; do parent_val[${kv%%=*}]=${kv#*=}; done
for e in "${HAND_KEYS[@]}"; do
    k=${e%%|*}; v=${parent_val[$k]-}
    if [[ -z $v ]]; then for sib in ${e#*|}; do v=${parent_val[$sib]-}; [[ -n $v ]] && break; done; fi
    [[ -n $v ]] || continue
    [[ $k == *CA* || $k == *CERT* ]] && ! [[ -e $v ]] && continue
    printf '%s=%s\n' "$k" "$v"
done >"$HAND_BLOCK"
N_HAND=$(wc -l <"$HAND_BLOCK" | tr -d ' ')
[[ $N_HAND -gt 0 ]] || die "the hand-written block is empty"
hand_check=()
for m in posix_spawn fork vfork; do
    # The shim's child: the restricted 6, then exactly the hand block (names, values, order).
    run_in PARENT_ENV "$(logvar off)" "LD_PRELOAD=$SHIM" -- "$BUILD/spawnbench" "$m" 1 \
        "$BUILD/mcp-server-envcheck" mcp-server-envcheck restricted >"$OUT/envp.shim.$m"
    run_in PARENT_ENV "$(logvar off)" -- "$BUILD/spawnbench" "$m" 1 "$BUILD/plain-envcheck" printenv \
        restricted >"$OUT/envp.restricted.$m"
    { cat "$OUT/envp.restricted.$m" "$HAND_BLOCK"; } >"$OUT/envp.expected.$m"
    grep -v '^[0-9]* [0-9]*$' "$OUT/envp.shim.$m" >"$OUT/envp.shim.$m.env"
    grep -v '^[0-9]* [0-9]*$' "$OUT/envp.expected.$m" >"$OUT/envp.expected.$m.env"
    if ! cmp -s "$OUT/envp.shim.$m.env" "$OUT/envp.expected.$m.env"; then
        say "bench: FATAL: via $m the shim's child envp differs from the restricted 6 + the hand-written block:"
        diff "$OUT/envp.expected.$m.env" "$OUT/envp.shim.$m.env" | sed 's/^/bench:   /' >&2 || true
        die "hand-written block mismatch (expected < > shim); see $OUT/envp.*.$m*"
    fi
    # The baseline's child, no shim: byte for byte the same envp as the shim's child.
    run_in PARENT_ENV "$(logvar off)" -- "$BUILD/spawnbench" "$m" 1 "$BUILD/mcp-server-envcheck" \
        mcp-server-envcheck handblock "$HAND_BLOCK" | grep -v '^[0-9]* [0-9]*$' >"$OUT/envp.hand.$m.env"
    if ! cmp -s "$OUT/envp.shim.$m.env" "$OUT/envp.hand.$m.env"; then
        say "bench: FATAL: via $m the hand-block child's envp differs from the shim's child's:"
        diff "$OUT/envp.hand.$m.env" "$OUT/envp.shim.$m.env" | sed 's/^/bench:   /' >&2 || true
        die "hand-written block baseline mismatch (hand < > shim)"
    fi
    hand_check+=("$m")
done
sanity+=("hand-written block: $N_HAND keys, the same envp as the shim's child via ${hand_check[*]}")

# --- 1. instructions per hook call (callgrind) ------------------------------------------------
perf_note="perf: not present"
if command -v perf >/dev/null 2>&1; then
    if perf stat -x, -e instructions:u true 2>&1 >/dev/null | grep -q 'not supported\|not counted\|<not'; then
        perf_note="perf stat -e instructions: not supported on this machine; instruction counts come from callgrind"
    else
        perf_note="perf stat -e instructions: supported here, but not used: callgrind counts are exact and per function"
    fi
fi

# cg TAG K -- ENV... -- COMMAND...: callgrind, counting only bench_loop; prints Ir collected.
cg_pid() { sed -n '1s/^==\([0-9]*\)==.*/\1/p' "$1"; }
cg_collected() { grep -E 'Collected :' "$1" | head -1 | sed 's/.*: *//; s/,//g'; }
cg_total() { grep -E 'I +refs:' "$1" | head -1 | sed 's/.*: *//; s/,//g'; }
valgrind_cg() { # valgrind_cg TAG [--toggle-collect=...] -- ENV-NAME [VAR=..] -- COMMAND...
    local tag=$1; shift
    local vopts=()
    while [[ $1 != -- ]]; do vopts+=("$1"); shift; done
    shift
    local envname=$1; shift
    local extra=()
    while [[ $1 != -- ]]; do extra+=("$1"); shift; done
    shift
    run_in "$envname" "${extra[@]}" -- valgrind --tool=callgrind --trace-children=no \
        "${vopts[@]}" --log-file="$OUT/cg/$tag.log" \
        --callgrind-out-file="$OUT/cg/$tag.out.%p" "$@" >/dev/null
    local pid; pid=$(cg_pid "$OUT/cg/$tag.log")
    ln -sf "$tag.out.$pid" "$OUT/cg/$tag.out"
}

HOOK_SERIES=(
    # tag|call|K|path|argv0|log|child
    "spawn.alone|posix_spawn|$K_SPAWN|/bin/true|true|file|left alone"
    "spawn.inj.off|posix_spawn|$K_SPAWN|$BUILD/mcp-server-bench|mcp-server-bench|off|injected, log off"
    "spawn.inj.file|posix_spawn|$K_SPAWN|$BUILD/mcp-server-bench|mcp-server-bench|file|injected, log file"
    "spawnp.alone|posix_spawnp|$K_SPAWN|true|true|file|left alone"
    "spawnp.inj.off|posix_spawnp|$K_SPAWN|mcp-server-bench|mcp-server-bench|off|injected, log off"
    "spawnp.inj.file|posix_spawnp|$K_SPAWN|mcp-server-bench|mcp-server-bench|file|injected, log file"
    "execve.alone|execve|$K_EXEC|/nonexistent/true|true|file|left alone"
    "execve.inj.off|execve|$K_EXEC|$BUILD/mcp-server-badformat|mcp-server-badformat|off|injected, log off"
    "execve.inj.file|execve|$K_EXEC|$BUILD/mcp-server-badformat|mcp-server-badformat|file|injected, log file"
)
say "bench: 1/4 instructions per hook call (callgrind)"
for s in "${HOOK_SERIES[@]}"; do
    IFS='|' read -r tag call k path argv0 log child <<<"$s"
    valgrind_cg "$tag.with" --toggle-collect=bench_loop -- PARENT_ENV "$(logvar "$log")" "LD_PRELOAD=$SHIM" -- \
        "$BUILD/hookcount" "$call" "$k" "$path" "$argv0"
    valgrind_cg "$tag.without" --toggle-collect=bench_loop -- PARENT_ENV "$(logvar "$log")" -- \
        "$BUILD/hookcount" "$call" "$k" "$path" "$argv0"
    # Heap allocations inside the loop, natively, with a malloc counter preloaded before the shim.
    run_in PARENT_ENV "$(logvar "$log")" "LD_PRELOAD=$BUILD/malloccount.so:$SHIM" -- \
        "$BUILD/hookcount" "$call" "$k" "$path" "$argv0" >"$OUT/cg/$tag.allocs"
done

# The execve hook as it really runs: in a fork child whose exec succeeds. callgrind follows the
# child (--trace-children=yes) and dumps a part each time a function named execve is entered:
# part 2 runs from the shim's execve to libc's, which is exactly what the hook adds (without the
# shim there is no part 2). A few children, the median; the exec'd /bin/true is profiled apart.
FX_SERIES=(
    # tag|path|argv0|log|child
    "fx.alone|/bin/true|true|file|left alone"
    "fx.inj.off|$BUILD/mcp-server-bench|mcp-server-bench|off|injected, log off"
    "fx.inj.file|$BUILD/mcp-server-bench|mcp-server-bench|file|injected, log file"
)
FX_N=5
for s in "${FX_SERIES[@]}"; do
    IFS='|' read -r tag path argv0 log child <<<"$s"
    run_in PARENT_ENV "$(logvar "$log")" "LD_PRELOAD=$SHIM" -- valgrind --tool=callgrind \
        --trace-children=yes --dump-before=execve --log-file="$OUT/cg/$tag.log.%p" \
        --callgrind-out-file="$OUT/cg/$tag.out.%p" "$BUILD/spawnbench" fork "$FX_N" "$path" "$argv0" restricted >/dev/null
done
fx_part2() { # fx_part2 TAG: median Ir of the children's part 2 (empty if there is none)
    local f
    for f in "$OUT/cg/$1".out.*.2; do [[ -e $f ]] && awk '/^totals:/ { print $2 }' "$f"; done |
        sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'
}

# A library the shim itself pulls in is part of its load cost; libgcc_s (Rust's unwinder) is
# measured alone too, to show its share.
GCC_S=$(ldd "$SHIM" 2>/dev/null | awk '$1 ~ /^libgcc_s/ && $3 ~ /^\// { print $3; exit }')

# --- 3a. load-time instructions (callgrind, whole process) ------------------------------------
say "bench: 3/4 load-time instructions (callgrind)"
BARE_ENV=("${BASE_ENV[@]}")
LOAD_SERIES=(
    # tag|env|extra|label|preload (default: the shim)
    "load.floor|PARENT_ENV||floor: an empty library|$BUILD/empty.so"
    ${GCC_S:+"load.gcc_s|PARENT_ENV||libgcc_s.so.1 alone (a NEEDED of the shim)|$GCC_S"}
    "load.bare|BARE_ENV||shim, plain environment (6 vars), no config"
    "load.sandbox|PARENT_ENV||shim, sandbox environment ($N_PARENT_ENV vars), no config"
    "load.config|PARENT_ENV|MCP_ENV_SHIM_CONFIG=$CONFIG|shim, sandbox environment + config file"
)
for s in "${LOAD_SERIES[@]}"; do
    IFS='|' read -r tag envname extra label pre <<<"$s"
    ex=("$(logvar file)"); [[ -n $extra ]] && ex+=("$extra")
    valgrind_cg "$tag.with" -- "$envname" "${ex[@]}" "LD_PRELOAD=${pre:-$SHIM}" -- /bin/true
    valgrind_cg "$tag.without" -- "$envname" "${ex[@]}" -- /bin/true
done

# --- 2 + 3b. wall time, interleaved blocks ----------------------------------------------------
WALL_SERIES=(
    # tag|method|path|argv0|log|label
    "posix_spawn.alone|posix_spawn|/bin/true|true|file|left alone"
    "posix_spawn.inj.off|posix_spawn|$BUILD/mcp-server-bench|mcp-server-bench|off|injected, log off"
    "posix_spawn.inj.file|posix_spawn|$BUILD/mcp-server-bench|mcp-server-bench|file|injected, log file"
    "fork_exit|fork_exit|/bin/true|true|file|no exec, no hook (info)"
    "fork.alone|fork|/bin/true|true|file|left alone"
    "fork.inj.off|fork|$BUILD/mcp-server-bench|mcp-server-bench|off|injected, log off"
    "fork.inj.file|fork|$BUILD/mcp-server-bench|mcp-server-bench|file|injected, log file"
    "vfork.alone|vfork|/bin/true|true|file|left alone"
    "vfork.inj.off|vfork|$BUILD/mcp-server-bench|mcp-server-bench|off|injected, log off"
    "vfork.inj.file|vfork|$BUILD/mcp-server-bench|mcp-server-bench|file|injected, log file"
)
LOADWALL_SERIES=(
    # tag|extra|label|preload (default: the shim)
    "loadwall.floor||floor: an empty library|$BUILD/empty.so"
    ${GCC_S:+"loadwall.gcc_s||libgcc_s.so.1 alone (a NEEDED of the shim)|$GCC_S"}
    "loadwall.sandbox||shim, sandbox environment, no config"
    "loadwall.config|MCP_ENV_SHIM_CONFIG=$CONFIG|shim, sandbox environment + config file"
)
# Each series runs as a pair of drivers, with and without the shim, that take strict turns one
# spawn each (pairbench), so whatever else the machine does hits both sides alike; blocks
# alternate which side goes first.
wall_pair() { # wall_pair TAG FIRST LOG COMMAND-WITH... -- COMMAND-WITHOUT...
    local tag=$1 first=$2 log=$3; shift 3
    run_in PARENT_ENV "$(logvar "$log")" -- "$BUILD/pairbench" "$first" \
        "$OUT/wall/$tag.with" "$OUT/wall/$tag.without" -- "$@"
}
say "bench: 2/4 spawn-and-wait wall time ($BLOCKS blocks x $PER_BLOCK spawns per side per series)"
for ((b = 0; b < BLOCKS; b++)); do
    if ((b % 2 == 0)); then first=a; else first=b; fi
    for s in "${WALL_SERIES[@]}"; do
        IFS='|' read -r tag method path argv0 log label <<<"$s"
        args=("$BUILD/spawnbench" "$method" "$PER_BLOCK" "$path" "$argv0" restricted)
        wall_pair "$tag" "$first" "$log" env "LD_PRELOAD=$SHIM" "${args[@]}" -- "${args[@]}"
        # Injected rows, second baseline: no shim, but the child's envp already holds the block
        # (restricted 6 + the hand-written block: the same envp the shim's child gets).
        if [[ $tag == *.inj.* ]]; then
            wall_pair "$tag.hand" "$first" "$log" env "LD_PRELOAD=$SHIM" "${args[@]}" -- \
                "$BUILD/spawnbench" "$method" "$PER_BLOCK" "$path" "$argv0" handblock "$HAND_BLOCK"
        fi
    done
    for s in "${LOADWALL_SERIES[@]}"; do
        IFS='|' read -r tag extra label pre <<<"$s"
        # The drivers are not preloaded; the child gets LD_PRELOAD in its envp (or not).
        args=("$BUILD/spawnbench" fork "$PER_BLOCK" /bin/true true inherit)
        ex=(); [[ -n $extra ]] && ex=("$extra")
        wall_pair "$tag" "$first" file env "${ex[@]}" "${args[@]}" "${pre:-$SHIM}" -- env "${ex[@]}" "${args[@]}"
    done
    say "bench:   block $((b + 1))/$BLOCKS done"
done

# --- 4. memory ------------------------------------------------------------------------------
say "bench: 4/4 memory"
mem_run() { # mem_run TAG ENV-NAME [VAR=..]...: 5 runs, keep each KEY's median
    local tag=$1 envname=$2; shift 2
    for i in 1 2 3 4 5; do
        run_in "$envname" "$(logvar file)" "$@" -- "$BUILD/memprobe" libmcp_env_shim >"$OUT/mem/$tag.$i"
    done
}
mem_run without PARENT_ENV "LD_PRELOAD=$BUILD/malloccount.so"
mem_run with PARENT_ENV "LD_PRELOAD=$BUILD/malloccount.so:$SHIM"
mem_run withconfig PARENT_ENV "MCP_ENV_SHIM_CONFIG=$CONFIG" "LD_PRELOAD=$BUILD/malloccount.so:$SHIM"
mem_run bare BARE_ENV "LD_PRELOAD=$BUILD/malloccount.so"
mem_run barewith BARE_ENV "LD_PRELOAD=$BUILD/malloccount.so:$SHIM"
memv() { # memv TAG KEY: median over the runs
    cat "$OUT/mem/$1".* | awk -v k="$2" '$1 == k { print $2 }' | sort -n | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "?") }'
}

# --- report -----------------------------------------------------------------------------------
set +o pipefail # `... | head -1` below may end its writer early; that is not an error
median_us() { awk '{ print $1 }' "$1" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'; }
# Median of the paired differences (spawn i with the shim - spawn i without), in µs.
paired_us() { paste -d' ' "$1" "$2" | awk '{ print $1 - $3 }' | sort -n | awk '{ a[NR] = $1 } END { printf "%+.1f", a[int((NR + 1) / 2)] / 1000 }'; }
mean_faults() { awk '{ s += $2 } END { printf "%.1f", (NR ? s / NR : 0) }' "$1"; }
count_lines() { wc -l <"$1" | tr -d ' '; }
fmt() { # thousands separators: 123456 -> 123,456
    local n=$1 sign=""
    [[ $n == -* ]] && { sign=-; n=${n#-}; }
    [[ $n =~ ^[0-9]+$ ]] || { printf '%s' "$1"; return; }
    while [[ $n =~ ^([0-9]+)([0-9]{3})(,.*)?$ ]]; do n="${BASH_REMATCH[1]},${BASH_REMATCH[2]}${BASH_REMATCH[3]}"; done
    printf '%s%s' "$sign" "$n"
}

FAILS=()
verdict() { # verdict OK? LABEL: sets V to PASS or FAIL and records the failure
    if [[ $1 == 1 ]]; then V=PASS; else FAILS+=("$2"); V=FAIL; fi
}

# Tables are collected as TSV (first row = header), then printed aligned and as markdown.
TABLES=()
table_new() { TBL=$OUT/table.$1.tsv; : >"$TBL"; TABLES+=("$1"); }
trow() { local IFS=$'\t'; printf '%s\n' "$*" >>"$TBL"; }
render_text() { awk -F'\t' '{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n[NR] = NF }
    END { for (r = 1; r <= NR; r++) { line = ""; for (i = 1; i <= n[r]; i++) { f = c[r, i]
            if (i == 1 || i == 2) line = line sprintf("%-" w[i] "s  ", f); else line = line sprintf("%" w[i] "s  ", f) }
          sub(/ +$/, "", line); print "  " line } }' "$1"; }
render_md() { awk -F'\t' '{ line = "|"; for (i = 1; i <= NF; i++) line = line " " $i " |"; print line
    if (NR == 1) { line = "|"; for (i = 1; i <= NF; i++) line = line (i <= 2 ? " --- |" : " ---: |"); print line } }' "$1"; }

# Table 1: instructions per hook call.
table_new hook
trow "call" "child" "with shim" "without" "added by shim" "allocs/call" "target" "result"
for s in "${HOOK_SERIES[@]}"; do
    IFS='|' read -r tag call k path argv0 log child <<<"$s"
    w=$(cg_collected "$OUT/cg/$tag.with.log"); wo=$(cg_collected "$OUT/cg/$tag.without.log")
    per_w=$((w / k)); per_wo=$((wo / k)); added=$(((w - wo) / k))
    allocs=$(awk '{ print $2 }' "$OUT/cg/$tag.allocs")
    apc=$(awk -v a="${allocs:-0}" -v k="$k" 'BEGIN { printf (a == 0 ? "0" : "%.2f"), a / k }')
    if [[ $tag == *alone ]]; then t=$T_ALONE; else t=$T_INJECT; fi
    callname=$call; [[ $call == execve ]] && callname="execve (fails)"
    if [[ $tag == execve.inj.file ]]; then
        # Two log lines (inject + exec-failed): not the cost of a real exec; see execve (fork child).
        trow "$callname" "$child (+ exec-failed line)" "$(fmt "$per_w")" "$(fmt "$per_wo")" "$(fmt "$added")" "$apc" "—" "info"
        continue
    fi
    verdict $((added < t)) "instructions: $callname, $child: $(fmt "$added") added >= $(fmt "$t")"
    trow "$callname" "$child" "$(fmt "$per_w")" "$(fmt "$per_wo")" "$(fmt "$added")" "$apc" "< $(fmt "$t")" "$V"
done
for s in "${FX_SERIES[@]}"; do
    IFS='|' read -r tag path argv0 log child <<<"$s"
    added=$(fx_part2 "$tag")
    if [[ $tag == *alone ]]; then t=$T_ALONE; else t=$T_INJECT; fi
    if [[ -z $added ]]; then
        trow "execve (fork child)" "$child" "n/a" "—" "n/a" "—" "< $(fmt "$t")" "n/a"
        continue
    fi
    verdict $((added < t)) "instructions: execve in a fork child, $child: $(fmt "$added") added >= $(fmt "$t")"
    trow "execve (fork child)" "$child" "$(fmt "$added")" "0" "$(fmt "$added")" "—" "< $(fmt "$t")" "$V"
done

# Table 2: spawn-and-wait wall time.
table_new wall
trow "method" "child" "with shim µs" "without µs" "diff µs" "paired diff µs" "ratio" "child faults" "target" "result"
# ratio = 1 + paired diff / median without: the paired median is the shift estimate that drift
# and load from other processes disturb least (the difference of the two medians is shown too).
for s in "${WALL_SERIES[@]}"; do
    IFS='|' read -r tag method path argv0 log label <<<"$s"
    mw=$(median_us "$OUT/wall/$tag.with"); mwo=$(median_us "$OUT/wall/$tag.without")
    diff=$(awk -v a="$mw" -v b="$mwo" 'BEGIN { printf "%+.1f", a - b }')
    pdiff=$(paired_us "$OUT/wall/$tag.with" "$OUT/wall/$tag.without")
    faults="$(mean_faults "$OUT/wall/$tag.with") / $(mean_faults "$OUT/wall/$tag.without")"
    ratio=$(awk -v d="$pdiff" -v b="$mwo" 'BEGIN { printf "%.3f", 1 + d / b }')
    ok=$(awk -v r="$ratio" -v t="$T_RATIO" 'BEGIN { print (r <= t) ? 1 : 0 }')
    mname=$method; [[ $method == fork || $method == vfork ]] && mname="$method+execve"
    if [[ $method == fork_exit ]]; then
        trow "fork+_exit" "$label" "$mw" "$mwo" "$diff" "$pdiff" "$ratio" "$faults" "—" "info"
        continue
    fi
    verdict "$ok" "spawn-and-wait: $mname, $label: ratio $ratio > $T_RATIO (paired diff $pdiff µs on $mwo µs)"
    trow "$mname" "$label" "$mw" "$mwo" "$diff" "$pdiff" "$ratio" "$faults" "≤ $T_RATIO" "$V"
    if [[ -e $OUT/wall/$tag.hand.with ]]; then
        # The same shim run again, against a child that already has the block (information).
        hw=$OUT/wall/$tag.hand.with; hwo=$OUT/wall/$tag.hand.without
        mw=$(median_us "$hw"); mwo=$(median_us "$hwo")
        diff=$(awk -v a="$mw" -v b="$mwo" 'BEGIN { printf "%+.1f", a - b }')
        pdiff=$(paired_us "$hw" "$hwo")
        ratio=$(awk -v d="$pdiff" -v b="$mwo" 'BEGIN { printf "%.3f", 1 + d / b }')
        trow "$mname" "$label, vs hand block" "$mw" "$mwo" "$diff" "$pdiff" "$ratio" \
            "$(mean_faults "$hw") / $(mean_faults "$hwo")" "—" "info"
    fi
done
N_WALL=$(count_lines "$OUT/wall/${WALL_SERIES[0]%%|*}.with")

# Table 3: load time.
shim_fns() { # shim_fns CALLGRIND-OUT [inclusive yes|no]: "Ir<TAB>function" for the shim's functions
    callgrind_annotate --inclusive="${2:-yes}" --threshold=100 "$1" 2>/dev/null |
        awk -v so="$SHIM_NAME" '$1 ~ /^[0-9,]+$/ && index($0, "/" so "]") { ir = $1; gsub(/,/, "", ir); l = $0
            sub(/^ *[0-9,]+ +/, "", l); sub(/^\([^)]*\) +/, "", l); sub(/ \[\/[^ ]*\] *$/, "", l)
            sub(/^[^:]*:/, "", l); print ir "\t" l }'
}
CTOR_SYMS=$(
    # The functions .init_array points at (R_X86_64_RELATIVE addends inside .init_array).
    read -r ia_addr ia_size < <(readelf -W -S "$SHIM" | awk '{ for (i = 1; i <= NF; i++) if ($i == ".init_array") { print $(i + 2), $(i + 4); exit } }') || true
    if [[ -n ${ia_addr:-} ]]; then
        lo=$((16#$ia_addr)); hi=$((lo + 16#$ia_size))
        readelf -W -r "$SHIM" | awk '$3 ~ /RELATIVE/ { print $1, $NF }' | while read -r off add; do
            o=$((16#$off)); if ((o >= lo && o < hi)); then printf '%x\n' $((16#$add)); fi
        done | while read -r a; do
            nm -C "$SHIM" 2>/dev/null | awk -v a="$a" '{ x = $1; sub(/^0+/, "", x) } x == a && !done { $1 = ""; $2 = ""; sub(/^ +/, ""); print; done = 1 }'
        done
    fi
)
table_new load
trow "process" "preloaded, environment" "with preload" "without" "added" "constructor" "target" "result"
for s in "${LOAD_SERIES[@]}"; do
    IFS='|' read -r tag envname extra label pre <<<"$s"
    w=$(cg_total "$OUT/cg/$tag.with.log"); wo=$(cg_total "$OUT/cg/$tag.without.log")
    added=$((w - wo))
    if [[ -n $pre ]]; then
        trow "/bin/true" "$label" "$(fmt "$w")" "$(fmt "$wo")" "$(fmt "$added")" "—" "—" "info"
        continue
    fi
    # The constructor: the shim function with the largest inclusive cost at load (the root of
    # everything the shim runs before main), cross-checked against .init_array below.
    ctor=$(shim_fns "$OUT/cg/$tag.with.out" yes | sort -t$'\t' -k1,1nr | head -1)
    ctor_ir=${ctor%%$'\t'*}; echo "${ctor#*$'\t'}" >"$OUT/cg/$tag.ctor"
    verdict $((added < T_LOAD)) "load: $label: $(fmt "$added") added instructions >= $(fmt "$T_LOAD")"
    trow "/bin/true" "$label" "$(fmt "$w")" "$(fmt "$wo")" "$(fmt "$added")" "$(fmt "${ctor_ir:-0}")" "< $(fmt "$T_LOAD")" "$V"
done
CTOR_NAME=$(cat "$OUT/cg/load.sandbox.ctor")

table_new loadwall
trow "process" "preloaded, environment" "with preload µs" "without µs" "diff µs" "paired diff µs" "ratio" "page faults"
for s in "${LOADWALL_SERIES[@]}"; do
    IFS='|' read -r tag extra label pre <<<"$s"
    mw=$(median_us "$OUT/wall/$tag.with"); mwo=$(median_us "$OUT/wall/$tag.without")
    diff=$(awk -v a="$mw" -v b="$mwo" 'BEGIN { printf "%+.1f", a - b }')
    pdiff=$(paired_us "$OUT/wall/$tag.with" "$OUT/wall/$tag.without")
    ratio=$(awk -v d="$pdiff" -v b="$mwo" 'BEGIN { printf "%.3f", 1 + d / b }')
    faults="$(mean_faults "$OUT/wall/$tag.with") / $(mean_faults "$OUT/wall/$tag.without")"
    trow "fork+execve /bin/true" "$label" "$mw" "$mwo" "$diff" "$pdiff" "$ratio" "$faults"
done

# Table 4: memory.
table_new mem
trow "measure" "process" "with shim" "without" "added by shim"
mem_row() { # mem_row KEY LABEL WITH-TAG WITHOUT-TAG WHAT
    local va vb; va=$(memv "$3" "$1"); vb=$(memv "$4" "$1")
    trow "$2" "memprobe, $5" "$(fmt "$va")" "$(fmt "$vb")" "$(fmt $((va - vb)))"
}
mem_row rollup_rss_kb "Rss (smaps_rollup), kB" with without "sandbox env"
mem_row rollup_pss_kb "Pss (smaps_rollup), kB" with without "sandbox env"
mem_row rollup_private_kb "private pages, kB" with without "sandbox env"
mem_row rollup_anon_kb "anonymous pages, kB" with without "sandbox env"
for pair in "with:without:sandbox env" "withconfig:without:sandbox env + config" "barewith:bare:plain env"; do
    IFS=: read -r a b what <<<"$pair"
    mem_row allocs "heap allocations before main" "$a" "$b" "$what"
    mem_row alloc_bytes "heap bytes allocated before main" "$a" "$b" "$what"
done
LIB_SIZE=$(memv with lib_size_kb); LIB_RSS=$(memv with lib_rss_kb); LIB_PSS=$(memv with lib_pss_kb)
LIB_DIRTY=$(memv with lib_private_dirty_kb); LIB_MAPS=$(memv with lib_maps)
SO_BYTES=$(stat -c %s "$SHIM")
# What the loader has to do for the library.
SO_NEEDED=$(readelf -d "$SHIM" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd' ' -)
SO_NOW=$(readelf -d "$SHIM" | grep -q 'BIND_NOW\|Flags:.*NOW' && echo "BIND_NOW (every symbol resolved at load)" || echo "lazy binding")
SO_REL=$(readelf -W -r "$SHIM" | grep -c 'R_X86_64_RELATIVE' || true)
SO_SYMREL=$(readelf -W -r "$SHIM" | grep -c 'R_X86_64_\(GLOB_DAT\|JUMP_SLOT\|64\)' || true)
SO_UNDEF=$(nm -D --undefined-only "$SHIM" | wc -l)
SO_TEXT=$(printf '%d' "0x$(readelf -W -S "$SHIM" | awk '{ for (i = 1; i <= NF; i++) if ($i == ".text") { print $(i + 4); exit } }')")

# Where the instructions go: the shim's functions, inclusive, per call.
PROFILE=$OUT/profile.txt
{
    fx=$(ls "$OUT"/cg/fx.inj.file.out.*.2 2>/dev/null | head -1)
    if [[ -n $fx ]]; then
        echo "fx.inj.file: execve in a fork child, log file (one call, inclusive):"
        shim_fns "$fx" yes | sort -t$'\t' -k1,1nr | head -12 |
            awk -F'\t' '{ n = $2; if (length(n) > 110) n = substr(n, 1, 107) "..."; printf "  %9d  %s\n", $1, n }'
    fi
    for tag in spawn.inj.file execve.inj.file spawn.alone execve.alone; do
        k=$K_SPAWN; [[ $tag == execve.* ]] && k=$K_EXEC
        echo "$tag (per call, inclusive; K=$k):"
        shim_fns "$OUT/cg/$tag.with.out" yes | sort -t$'\t' -k1,1nr | head -12 |
            awk -F'\t' -v k="$k" '{ n = $2; if (length(n) > 110) n = substr(n, 1, 107) "..."; printf "  %9d  %s\n", $1 / k, n }'
    done
    echo "load.sandbox, every object: where the added instructions go (self cost, with - without, top 12):"
    fn_self() { # "Ir<TAB>function<TAB>object basename (may be empty: inlined-file lines)"
        callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null |
            awk '$1 ~ /^[0-9,]+$/ && index($0, ":") { ir = $1; gsub(/,/, "", ir); l = $0; o = ""
                sub(/^ *[0-9,]+ +/, "", l); sub(/^\([^)]*\) +/, "", l)
                if (match(l, / \[\/[^ ]*\]$/)) { o = substr(l, RSTART + 2, RLENGTH - 3); l = substr(l, 1, RSTART - 1); sub(/^.*\//, "", o) }
                sub(/^[^:]*:/, "", l); print ir "\t" l "\t" o }'; }
    awk -F'\t' 'function note(f, o) { if (o == "") return; if (f in ob && ob[f] != o) ob[f] = "several objects"; else ob[f] = o }
        NR == FNR { wo[$2] += $1; note($2, $3); next } { w[$2] += $1; note($2, $3) }
        END { for (f in w) print w[f] - wo[f] "\t" f "\t" ob[f]; for (f in wo) if (!(f in w)) print -wo[f] "\t" f "\t" ob[f] }' \
        <(fn_self "$OUT/cg/load.sandbox.without.out") <(fn_self "$OUT/cg/load.sandbox.with.out") |
        sort -t$'\t' -k1,1nr | head -12 |
        awk -F'\t' '{ n = $2; if (length(n) > 90) n = substr(n, 1, 87) "..."; printf "  %9d  %s  [%s]\n", $1, n, $3 }'
    echo "load.config (per process, inclusive):"
    shim_fns "$OUT/cg/load.config.with.out" yes | sort -t$'\t' -k1,1nr | head -12 |
        awk -F'\t' '{ n = $2; if (length(n) > 110) n = substr(n, 1, 107) "..."; printf "  %9d  %s\n", $1, n }'
} >"$PROFILE"

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
GLIBC=$(ldd --version 2>&1 | head -1 | awk '{ print $NF }')
MACHINE="$(nproc) cores, ${CPU:-unknown CPU}, Linux $(uname -r), glibc $GLIBC, $(valgrind --version)"

REPORT=$OUT/report.txt
{
    echo "mcp-env-shim benchmark — $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "machine: $MACHINE"
    echo "shim:    $SHIM ($(fmt "$SO_BYTES") bytes)"
    echo "parent:  $N_PARENT_ENV environment variables incl. the sandbox proxy/CA block; child envp: HOME LOGNAME PATH SHELL TERM USER"
    echo "$perf_note"
    echo "sanity:  ${sanity[*]}"
    echo
    echo "1. Instructions the shim adds per spawn (callgrind, user space; K=$K_SPAWN spawns / K=$K_EXEC failing execve after one warm-up)"
    render_text "$OUT/table.hook.tsv"
    echo "  posix_spawn(p): the hook runs in the parent. execve (fails): the hook fork/vfork+execve run, looped in-process"
    echo "  on an executable that is no program (so an injected call also writes an exec-failed line when logging)."
    echo "  execve (fork child): the same hook in real fork children whose exec succeeds (median of $FX_N; callgrind"
    echo "  --trace-children=yes --dump-before=execve: the part from the shim's execve to libc's)."
    echo "  allocs/call: heap allocations inside the loop, with a malloc counter preloaded before the shim."
    echo
    echo "2. Spawn-and-wait of /bin/true, wall time (median of $N_WALL per side; the two sides take strict turns)"
    render_text "$OUT/table.wall.tsv"
    echo "  diff: difference of the medians; paired diff: median of (spawn i with - spawn i without);"
    echo "  ratio: 1 + paired diff / median without."
    echo "  child faults: page faults of the child, fork/clone to exit (wait4 rusage), with / without."
    echo "  vs hand block: own paired run; without = no shim, child envp already has the shim's $N_HAND keys (hand-written block)."
    echo
    echo "3. Load time: a process that merely loads the shim"
    render_text "$OUT/table.load.tsv"
    echo "  instructions: callgrind totals of /bin/true with LD_PRELOAD vs without (loader + constructor + exit)."
    echo "  constructor: inclusive cost of ${CTOR_NAME:-?}"
    echo "  .init_array of the library points at: $(echo "$CTOR_SYMS" | paste -sd, - | sed 's/,/, /g')"
    echo "  the library for the loader: NEEDED $SO_NEEDED; $SO_NOW; $SO_REL relative + $SO_SYMREL symbol relocations;"
    echo "  $SO_UNDEF undefined symbols; .text $(fmt "$SO_TEXT") bytes"
    render_text "$OUT/table.loadwall.tsv"
    echo
    echo "4. Memory"
    render_text "$OUT/table.mem.tsv"
    echo "  the library's own mappings in a process: $LIB_MAPS mappings, $(fmt "$LIB_SIZE") kB mapped, $(fmt "$LIB_RSS") kB resident (Pss $(fmt "$LIB_PSS") kB), $(fmt "$LIB_DIRTY") kB private dirty"
    echo
    echo "Where the shim's instructions go (callgrind_annotate --inclusive=yes, functions of $SHIM_NAME):"
    cat "$PROFILE"
    echo
    if ((${#FAILS[@]})); then
        echo "RESULT: ${#FAILS[@]} target(s) FAILED:"
        for f in "${FAILS[@]}"; do echo "  FAIL  $f"; done
    else
        echo "RESULT: all targets PASS"
    fi
} | tee "$REPORT"

# The same figures as markdown, for the top-level README.
{
    echo "## Benchmarks"
    echo
    echo "\`make bench\` measures what the shim costs, each figure with the shim and without it in the same run"
    echo "(\`bench/run.sh\`; raw data in \`bench/out\`). Figures from $(date -u +%Y-%m-%d) on: $MACHINE."
    echo "The parent has $N_PARENT_ENV environment variables, including the sandbox's proxy and CA block; the child gets"
    echo "HOME LOGNAME PATH SHELL TERM USER, as an MCP client passes. The injected child is \`/bin/true\` under the"
    echo "name \`mcp-server-bench\`; the child left alone is \`/bin/true\` as \`true\`."
    echo "Other jobs shared the machine during the run: wall times carry their noise, instruction counts do not."
    echo
    echo "**Instructions the shim adds per spawn** (callgrind, user space; the headline: stable on a noisy machine)"
    echo
    render_md "$OUT/table.hook.tsv"
    echo
    echo "Counted by \`valgrind --tool=callgrind --toggle-collect=bench_loop\` around $K_SPAWN spawns ($K_EXEC execve calls) after"
    echo "one warm-up call; added = (with − without) / calls. \`posix_spawn(p)\` runs the hook in the parent."
    echo "\`execve (fails)\` is the hook that \`fork\`/\`vfork\`+\`execve\` run, looped in-process on an executable file"
    echo "that is no program (ENOEXEC): an injected call then also writes the \`exec-failed\` line, a second log line a"
    echo "successful exec never writes."
    echo "\`execve (fork child)\` is the same hook in real fork children whose exec succeeds (median of $FX_N; callgrind follows"
    echo "the child and dumps at each \`execve\` entry: the part from the shim's \`execve\` to libc's is what the hook adds)."
    echo "allocs/call: heap allocations inside the counted calls, with a malloc counter preloaded before the shim."
    echo
    echo "**Spawn-and-wait wall time** (median of $N_WALL spawns per side; the two sides take strict turns, one spawn each;"
    echo "paired diff is the median of spawn i with minus spawn i without, ratio = 1 + paired diff / median without;"
    echo "child faults: page faults of the child, with / without)"
    echo
    render_md "$OUT/table.wall.tsv"
    echo
    echo "*vs hand block* rows (information, no target): a separate paired run whose without side has no shim but gives"
    echo "the child the $N_HAND keys the shim adds (same values, same order) in its envp, as a hand-written env block does:"
    echo "what the hook itself costs over writing the block by hand."
    echo
    echo "**Load time** (\`/bin/true\` under \`LD_PRELOAD\`; instructions are callgrind totals, constructor inclusive)"
    echo
    render_md "$OUT/table.load.tsv"
    echo
    echo "The library for the loader: NEEDED $SO_NEEDED; $SO_NOW; $SO_REL relative and $SO_SYMREL symbol"
    echo "relocations; $SO_UNDEF undefined symbols; \`.text\` $(fmt "$SO_TEXT") bytes. Constructor: \`${CTOR_NAME:-?}\`, inclusive."
    echo
    render_md "$OUT/table.loadwall.tsv"
    echo
    echo "**Memory**: the library maps $(fmt "$LIB_SIZE") kB, of which $(fmt "$LIB_RSS") kB resident and $(fmt "$LIB_DIRTY") kB private dirty per process."
    echo
    render_md "$OUT/table.mem.tsv"
    echo
    if ((${#FAILS[@]})); then
        echo "Targets missed in this run:"
        echo
        for f in "${FAILS[@]}"; do echo "- $f"; done
    else
        echo "All targets met: under $(fmt $T_INJECT) added instructions per injected spawn and $(fmt $T_ALONE) per child left alone,"
        echo "spawn-and-wait within $(awk -v t=$T_RATIO 'BEGIN { printf "%d", (t - 1) * 100 + 0.5 }')% of without, load under $(fmt $T_LOAD) instructions per process."
    fi
} >"$OUT/README-section.md"
say "bench: report in $REPORT, markdown in $OUT/README-section.md"
exit 0
