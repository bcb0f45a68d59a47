"""Runs one gateway (Node or Python MCP client) against its demo server and collects what the
scenarios assert on: the gateway's JSON result, the server's PID, the shim's log lines.

The server entries are what a real gateway config holds: a command with an MCP-looking name (the
npm bin `mcp-server-tokendemo`, or `python -m mcp_server_tokendemo`) and the server's documented
env only: no sandbox key.
"""

import json
import os
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .procs import Procs, pid_alive, wait_until
from .sandbox import CLIENT_ID, HERE, VENV_BIN, Upstream

NODE_SERVER_BIN = HERE / "node_modules" / ".bin" / "mcp-server-tokendemo"
GATEWAY_ARGV = {
    "node": ["node", str(HERE / "node-gateway" / "gateway.mjs")],
    "python": [str(VENV_BIN / "python"), str(HERE / "python-gateway" / "gateway.py")],
}


@dataclass
class Run:
    rc: int | None
    result: dict  # the gateway's JSON: {server: {pid, env, ...}, calls: [{ok, text}, ...]}
    gateway_pid: int
    entry: dict  # the server entry the gateway was given
    env: dict  # the gateway's own environment
    shim_log: list[dict] = field(default_factory=list)
    server_left_running: bool = False
    seconds: float = 0.0
    stderr_file: Path | None = None

    @property
    def server_pid(self) -> int | None:
        return (self.result.get("server") or {}).get("pid")

    def call(self, i: int) -> dict:
        calls = self.result.get("calls") or []
        return calls[i] if i < len(calls) else {"ok": False, "text": self.result.get("error", "no such call")}

    def shim_events(self, event: str) -> list[dict]:
        return [line for line in self.shim_log if line.get("event") == event]


def mint_token(up: Upstream) -> str:
    """A fresh "cached" token, valid for exactly one API call."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
    with opener.open(urllib.request.Request(up.mint_url, method="POST"), timeout=10) as res:
        return json.load(res)["access_token"]


def server_entry(kind: str, up: Upstream, extra_env: dict | None = None) -> dict:
    env = {
        "TOKENDEMO_API_URL": up.api_url,
        "TOKENDEMO_TOKEN_URL": up.token_url,
        "TOKENDEMO_CLIENT_ID": CLIENT_ID,
        "TOKENDEMO_CLIENT_SECRET": up.client_secret,
        "TOKENDEMO_CACHED_TOKEN": mint_token(up),
    }
    if kind == "node":
        entry = {"command": str(NODE_SERVER_BIN), "args": []}
    else:
        # The module dir goes on PYTHONPATH in the entry's env, as a config for an unpackaged
        # server would; the command is the venv's interpreter, so its packages are there.
        entry = {"command": str(VENV_BIN / "python"), "args": ["-m", "mcp_server_tokendemo"]}
        env["PYTHONPATH"] = str(HERE / "python-server")
    env.update(extra_env or {})
    entry["env"] = env
    return entry


def run_gateway(kind: str, entry: dict, env: dict, outdir: Path, procs: Procs, timeout: float = 60,
                prefix: list[str] | None = None) -> Run:
    outdir.mkdir(parents=True, exist_ok=True)
    err_file = outdir / "gateway.stderr"
    (outdir / "server-entry.json").write_text(json.dumps(entry, indent=1))
    started = time.monotonic()
    with open(err_file, "wb") as err:
        proc = subprocess.Popen((prefix or []) + GATEWAY_ARGV[kind] + [json.dumps(entry)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err, env=env, start_new_session=True)
        procs.note_group(proc.pid)
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, _ = proc.communicate()
    (outdir / "gateway.stdout").write_bytes(stdout)
    lines = stdout.decode(errors="replace").strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"error": f"gateway printed no JSON (rc {proc.returncode}); see {err_file}"}
    run = Run(rc=proc.returncode, result=result, gateway_pid=proc.pid, entry=entry, env=env, stderr_file=err_file,
              seconds=time.monotonic() - started)

    # The server must go when its gateway does (stdin EOF); one that stays is reported and killed.
    if run.server_pid:
        try:
            wait_until("server exit", lambda: not pid_alive(run.server_pid), 10)
        except RuntimeError:
            run.server_left_running = True
            try:
                os.kill(run.server_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    log = env.get("MCP_ENV_SHIM_LOG")
    if log and os.path.exists(log):
        for line in Path(log).read_text().splitlines():
            try:
                run.shim_log.append(json.loads(line))
            except json.JSONDecodeError:
                run.shim_log.append({"event": "unparsed", "line": line})
    return run
