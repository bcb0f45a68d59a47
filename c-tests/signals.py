#!/usr/bin/env python3
"""signals.py — the env-dropped rule on real programs, both sides, under the preloaded shim.

Precision: hermetic children must get nothing. They are started the way test harnesses and
build tools start them: `env -i PATH=...` (inherited, file and piped stdio), Python's
subprocess with env={} (CPython's test_empty_env: stdout piped) or a PATH-only env, Node's
spawnSync with env {} (every stdio a pipe), a make recipe with `env -i`, and Rust's Command with
env_clear() (posix_spawn with file actions). Children with the SDKs' environment but stdin
/dev/null (no stdio transport) must get nothing either.

Recall: an MCP client's spawn of a server whose command line names no MCP server must get the
block. It is started as the SDKs start it: the SDKs' default keys (HOME LOGNAME PATH SHELL TERM
USER) plus a declared key, stdin and stdout pipes; from Node (libuv: fork and exec in the
child), Python (vfork and exec, and posix_spawn) and Rust (posix_spawn).

Each child is a runtime running a probe script that writes its environment's keys to a file.
Run by run.sh (cwd build/, the host's block in the environment, SHIM and MCP_ENV_SHIM_LOG set);
LD_PRELOAD goes only to the parents. Prints one line per check, then the two tallies."""

import json
import os
import subprocess
import sys

SHIM = os.environ["SHIM"]
# The host: run.sh's environment (the sandbox block), plus the rest of an interactive
# session's SDK default keys.
HOST = dict(os.environ, USER="tester", LOGNAME="tester", SHELL="/bin/sh", TERM="xterm")
HOST.pop("LD_PRELOAD", None)
BLOCK = ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "NODE_USE_ENV_PROXY", "NODE_EXTRA_CA_CERTS",
         "SSL_CERT_FILE"]
SDK_KEYS = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"]
PY = "/usr/bin/python3"

# Generic names on purpose: nothing in these command lines says MCP.
PROBE_PY = "srv/server.py"
PROBE_JS = "app/dist/index.js"
os.makedirs("srv", exist_ok=True)
os.makedirs("app/dist", exist_ok=True)
os.makedirs("out/signals", exist_ok=True)
with open(PROBE_PY, "w") as f:
    f.write("import json, os, sys\njson.dump(sorted(os.environ), open(sys.argv[1], 'w'))\n")
with open(PROBE_JS, "w") as f:
    f.write("require('fs').writeFileSync(process.argv[2], "
            "JSON.stringify(Object.keys(process.env).sort()));\n")

NODE_SPAWN = r"""
const { spawn, spawnSync } = require('child_process');
const [how, out, script] = process.argv.slice(1);
if (how === 'sdk') {
  // StdioClientTransport: {...getDefaultEnvironment(), ...server.env}, stdio pipe, pipe, inherit.
  const env = {};
  for (const k of ['HOME', 'LOGNAME', 'PATH', 'SHELL', 'TERM', 'USER'])
    if (process.env[k] !== undefined) env[k] = process.env[k];
  env.DECLARED = 'x';
  const c = spawn(process.execPath, [script, out], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  c.stdin.end();
  c.on('exit', (code) => process.exit(code === null ? 99 : code));
} else {
  const env = how === 'empty' ? {} : { PATH: process.env.PATH };
  const r = spawnSync(process.execPath, [script, out], { env });
  process.exit(r.status === null ? 99 : r.status);
}
"""

PY_SPAWN = r"""
import os, subprocess, sys
how, out, script = sys.argv[1:4]
extra = {"close_fds": False} if how.endswith("-posix_spawn") else {}
how = how.removesuffix("-posix_spawn")
cmd = [sys.executable, script, out]
if how in ("sdk", "sdk_stdin_null"):
    # stdio_client: {**get_default_environment(), **server.env}, stdin and stdout pipes.
    env = {k: os.environ[k] for k in ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")
           if k in os.environ}
    env["DECLARED"] = "x"
    stdin = subprocess.PIPE if how == "sdk" else subprocess.DEVNULL
    p = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, env=env, **extra)
    p.communicate()
    sys.exit(p.returncode)
if how == "empty_env":  # CPython's test_empty_env: env={}, stdout piped, stdin inherited
    r = subprocess.run(cmd, stdout=subprocess.PIPE, env={}, **extra)
elif how == "empty_env_all_piped":
    r = subprocess.run(cmd, input=b"", capture_output=True, env={}, **extra)
else:  # a harness's PATH-only env, output captured
    r = subprocess.run(cmd, capture_output=True, env={"PATH": os.environ["PATH"]}, **extra)
sys.exit(r.returncode)
"""

failed = 0
tally = {"hermetic": [0, 0], "client": [0, 0]}
count = 0


def run(side, what, parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, out=None):
    """Runs `parent` (a list; {out} in it is replaced) with the shim preloaded and checks the
    child's keys: none of the block for a hermetic child, the block for a client's spawn."""
    global failed, count
    count += 1
    out = out or f"out/signals/{count}.json"
    if os.path.exists(out):
        os.remove(out)
    argv = [a.replace("{out}", out) for a in parent]
    stdout_file = None
    if stdout == "file":
        stdout_file = open(out + ".stdout", "w")
        stdout = stdout_file
    feed = {"input": b""} if stdin == subprocess.PIPE else {"stdin": stdin}
    r = subprocess.run(argv, stdout=stdout, stderr=subprocess.PIPE,
                       env=dict(HOST, LD_PRELOAD=SHIM), timeout=60, **feed)
    if stdout_file:
        stdout_file.close()
    try:
        with open(out) as f:
            keys = json.load(f)
    except (OSError, ValueError):
        print(f"not ok - {side}: {what}: the child did not run (status {r.returncode}) "
              f"{r.stderr.decode(errors='replace')[-300:]!r}")
        failed = 1
        return
    got = [k for k in BLOCK if k in keys]
    want_block = side == "client"
    ok = bool(got) == want_block and (not want_block or len(got) == len(BLOCK))
    tally[side][1] += 1
    tally[side][0] += ok
    verdict = "gets the block" if got else "gets nothing"
    print(f"{'ok' if ok else 'not ok'} - {side}: {what}: {verdict} "
          f"({len(keys)} keys{', ' + ' '.join(got) if got else ''})")
    failed |= not ok


DEVNULL = subprocess.DEVNULL
# Hermetic: env -i (the hook runs in `env`), three kinds of stdio.
ENV_I = ["env", "-i", "PATH=/usr/bin:/bin", PY, PROBE_PY, "{out}"]
run("hermetic", "env -i PATH=... python3, stdin and stdout pipes", ENV_I)
run("hermetic", "env -i PATH=... python3, stdin /dev/null, stdout a file", ENV_I,
    stdin=DEVNULL, stdout="file")
run("hermetic", "env -i PATH=... python3, stdin a pipe, stdout a file", ENV_I, stdout="file")
ENV_I_NODE = ["env", "-i", "PATH=/usr/bin:/bin", "node", PROBE_JS, "{out}"]
run("hermetic", "env -i PATH=... node, stdin and stdout pipes", ENV_I_NODE)
# Python's subprocess: vfork+exec (default) and posix_spawn (close_fds=False).
for how in ["empty_env", "empty_env_all_piped", "path_only"]:
    for via in ["", "-posix_spawn"]:
        run("hermetic", f"python subprocess {how}{via or ' (vfork)'}",
            [PY, "-c", PY_SPAWN, how + via, "{out}", PROBE_PY])
# Node: spawnSync, every stdio a pipe.
for how in ["empty", "path_only"]:
    run("hermetic", f"node spawnSync env {how}, all stdio pipes",
        ["node", "-e", NODE_SPAWN, how, "{out}", PROBE_JS])
# make: a recipe with env -i (make -> sh -> env -> python3).
with open("out/signals/hermetic.mk", "w") as f:
    f.write(f"all:\n\t@env -i PATH=/usr/bin:/bin {PY} {PROBE_PY} $(OUT)\n")
run("hermetic", "make recipe env -i PATH=... python3",
    ["make", "-s", "-f", "out/signals/hermetic.mk", "OUT={out}"])
# Rust's Command: posix_spawn with file actions.
run("hermetic", "rust Command env_clear().env(PATH).output() (posix_spawn)",
    ["./rustspawn", "hermetic", PY, PROBE_PY, "{out}"])
run("hermetic", "rust Command env_clear().env(PATH), stdin and stdout piped (posix_spawn)",
    ["./rustspawn", "hermetic-piped", PY, PROBE_PY, "{out}"])

# The SDKs' environment, but stdin /dev/null: no stdio transport (read from fd 0 in an exec
# hook, from the file actions in posix_spawn).
for via in ["", "-posix_spawn"]:
    run("hermetic", f"python Popen, SDK environment, stdin /dev/null{via or ' (vfork)'}",
        [PY, "-c", PY_SPAWN, "sdk_stdin_null" + via, "{out}", PROBE_PY])
run("hermetic", "rust Command, SDK environment, stdin /dev/null (posix_spawn)",
    ["./rustspawn", "sdk-stdin-null", PY, PROBE_PY, "{out}"])

# An MCP client's spawn of an unnamed server.
run("client", "node StdioClientTransport-style spawn of node app/dist/index.js (libuv)",
    ["node", "-e", NODE_SPAWN, "sdk", "{out}", PROBE_JS])
for via in ["", "-posix_spawn"]:
    run("client", f"python stdio_client-style Popen of python srv/server.py{via or ' (vfork)'}",
        [PY, "-c", PY_SPAWN, "sdk" + via, "{out}", PROBE_PY])
run("client", "rust Command with the SDK defaults, stdin and stdout piped (posix_spawn)",
    ["./rustspawn", "sdk", PY, PROBE_PY, "{out}"])

for side, (ok, n) in tally.items():
    word = "untouched" if side == "hermetic" else "given the block"
    print(f"# {side} children {word}: {ok}/{n}")
sys.exit(failed)
