"""End to end with the real Codex CLI (issue 9, item 6), registered in run_scenarios.py.

Codex (npm @openai/codex 0.171.0, installed pinned by install.sh into integration/codex/) starts
its stdio MCP servers from a static-pie musl binary: neither LD_PRELOAD nor the shim's hooks reach
that spawn, and Codex gives the server only HOME, PATH and its own CA keys, never a proxy key.
Here Codex runs `codex exec` with a mock model provider (codex/mock_model.py: one streamed turn,
answered once the server has reported and completed its MCP handshake with Codex) and one
server, codex/mcp-server-tokendemo-start.mjs, which refreshes its token over HTTPS through the
sandbox proxy at start-up and reports what happened:

codex-1-no-shim       the refresh fails (no proxy in the server's env);
codex-2-ld-preload    LD_PRELOAD in Codex's environment changes nothing (Codex is static and
                      drops LD_PRELOAD for its servers);
codex-3-etc-preload   with the library in /etc/ld.so.preload (a private mount namespace), the
                      server heals itself at start: the refresh goes through mitmdump, and the
                      shim's one inject line (via "start") has the server's pid, which is also the
                      pid the proxy logged, and Codex's pid as ppid.

If Codex is not installed (install.sh could not), every scenario here fails and says why.
"""

import importlib.util
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.procs import wait_until
from harness.sandbox import API_HOST, CLIENT_ID, HERE, VENV_BIN, agent_env


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


namespace = _load("preload_namespace", HERE.parent / "preload-tests" / "namespace.py")

CODEX_DIR = HERE / "codex"
CODEX = CODEX_DIR / "node_modules" / ".bin" / "codex"
SERVER = CODEX_DIR / "mcp-server-tokendemo-start.mjs"
MOCK_REPLY = "mock model: turn done"
# What the refresh fails with when the server has no proxy (as in run_scenarios.py).
NO_PROXY_OR_CA = re.compile(
    r"ENOTFOUND|getaddrinfo|EAI_AGAIN|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY")
PROXY_KEYS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy", "grpc_proxy")


class Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, ok: object, what: str) -> bool:
        if not ok:
            self.failed.append(what)
        return bool(ok)


@dataclass
class CodexRun:
    """What run_scenarios.py reads of a run (result, shim_log, seconds), and what the checks need."""
    rc: int
    stdout: str
    stderr: str
    report: dict  # the server's report: pid, ppid, parent_exe, refresh {ok, text}, env
    requests: list[dict]  # what the mock model was asked
    codex_env: dict
    initialized: bool  # the server saw Codex complete the MCP handshake
    shim_log: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def result(self) -> dict:
        return {"server": self.report, "calls": [self.report.get("refresh") or {"ok": False, "text": "no server report"}]}


def native_codex() -> Path | None:
    """The platform binary bin/codex.js runs (the one that starts MCP servers)."""
    found = sorted(CODEX_DIR.glob("node_modules/@openai/codex-linux-*/vendor/*/bin/codex"))
    return found[0] if found else None


def has_interp(path: Path) -> bool:
    """True if the ELF file has a PT_INTERP program header (is run by the dynamic loader)."""
    with open(path, "rb") as f:
        head = f.read(64)
        phoff, phentsize, phnum = (int.from_bytes(head[32:40], "little"), int.from_bytes(head[54:56], "little"),
                                   int.from_bytes(head[56:58], "little"))
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            if int.from_bytes(f.read(4), "little") == 3:
                return True
    return False


def installed_or_raise() -> Path:
    native = native_codex()
    if CODEX.exists() and native:
        return native
    log = CODEX_DIR / "install.log"
    why = ("integration/install.sh could not install it: " + " | ".join(log.read_text().strip().splitlines()[-4:]) if log.exists()
           else "integration/install.sh has not installed it")
    raise RuntimeError(f"the Codex CLI (@openai/codex 0.171.0) is not installed in {CODEX_DIR}/node_modules, "
                       f"so Codex could not be tested: {why}")


_mock: dict = {}


def mock_model(st) -> tuple[int, Path, Path]:
    """The mock provider, started once per stack (stopped with the stack's other processes):
    its port, its request log, and its gate file."""
    if id(st) not in _mock:
        d = st.work / "mock-model"
        d.mkdir(parents=True, exist_ok=True)
        ready, log, gate = d / "ready.json", d / "requests.log", d / "gate.json"
        proc = st.procs.start("mock-model", [str(VENV_BIN / "python"), str(CODEX_DIR / "mock_model.py"), str(ready),
                                             str(log), str(gate)], d / "out.log")
        port = wait_until("mock model", lambda: ready.exists() and json.loads(ready.read_text())["port"], 30, proc,
                          d / "out.log")
        _mock[id(st)] = (port, log, gate)
    return _mock[id(st)]


def codex_config(port: int, up, report: Path) -> str:
    env = {"TOKENDEMO_TOKEN_URL": up.token_url, "TOKENDEMO_CLIENT_ID": CLIENT_ID,
           "TOKENDEMO_CLIENT_SECRET": up.client_secret, "TOKENDEMO_REPORT": str(report)}
    return (f"""# Written by integration/scenarios_codex.py: a mock provider on loopback, one stdio MCP server.
model = "mock-model"
model_provider = "mock"
check_for_update_on_startup = false

[analytics]
enabled = false

# Plugins on, Codex syncs its curated plugins (git clone from github.com) and asks chatgpt.com for
# catalogs at start-up, through the sandbox proxy: no network beyond loopback in tests.
[features]
plugins = false

[model_providers.mock]
name = "mock model (integration/codex/mock_model.py)"
base_url = "http://127.0.0.1:{port}/v1"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[mcp_servers.tokendemo]
command = "node"
args = [{json.dumps(str(SERVER))}]
startup_timeout_sec = 30

[mcp_servers.tokendemo.env]
""" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in env.items()))


def run_codex(st, out: Path, etc_preload: bool = False, ld_preload: bool = False) -> CodexRun:
    """`codex exec` as an agent in the sandbox runs it: the sandbox's environment (proxy 1),
    plus CODEX_HOME, and the shim's log file for a library that may load anywhere."""
    installed_or_raise()
    port, requests_log, gate = mock_model(st)
    mark = requests_log.stat().st_size if requests_log.exists() else 0
    out.mkdir(parents=True, exist_ok=True)
    home, work, report = out / "codex-home", out / "workdir", out / "server-report.json"
    initialized = Path(f"{report}.initialized")
    # The model's reply waits for the server's report and its MCP handshake: then Codex exits.
    gate.write_text(json.dumps({"wait_for": [str(report), str(initialized)]}))
    for d in (home, work, out / "home"):
        d.mkdir(exist_ok=True)
    (home / "config.toml").write_text(codex_config(port, st.up, report))
    env = agent_env(st.p1)
    env.update(HOME=str(out / "home"), CODEX_HOME=str(home), MCP_ENV_SHIM_LOG=str(out / "shim.log"))
    # Run as root here: a privileged process writes only to a log file that exists.
    (out / "shim.log").touch()
    if ld_preload:
        env["LD_PRELOAD"] = str(st.shim)
    argv = [str(CODEX), "exec", "--skip-git-repo-check", "-C", str(work), "Say hello."]
    started = time.monotonic()
    if etc_preload:
        preload = out / "ld.so.preload"
        preload.write_text(f"{st.shim}\n")
        ran = namespace.ns_run(out / "ns", {"ld.so.preload": preload}, argv, env, cwd=work, timeout=120,
                               note_group=st.procs.note_group)
        rc, stdout, stderr = ran.rc, ran.stdout, ran.stderr
    else:
        with open(out / "stdout", "wb") as so, open(out / "stderr", "wb") as se:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=so, stderr=se, env=env, cwd=work,
                                    start_new_session=True)
            st.procs.note_group(proc.pid)
            try:
                rc = proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                rc = -9
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # Codex's servers go with it
            except ProcessLookupError:
                pass
            proc.wait()
        stdout, stderr = (out / "stdout").read_bytes(), (out / "stderr").read_bytes()
    seconds = time.monotonic() - started
    with open(requests_log, "rb") as f:
        f.seek(mark)
        requests = [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]
    log = out / "shim.log"
    shim_log = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return CodexRun(rc=rc, stdout=stdout.decode(errors="replace"), stderr=stderr.decode(errors="replace"),
                    report=json.loads(report.read_text()) if report.exists() else {}, requests=requests,
                    codex_env=env, initialized=initialized.exists(), shim_log=shim_log, seconds=seconds)


def check_codex_ran(c: Checks, run: CodexRun, native: Path) -> None:
    c(not has_interp(native), f"the binary that starts Codex's MCP servers is static ({native.name}: no PT_INTERP)")
    c(run.rc == 0 and MOCK_REPLY in run.stdout,
      f"codex exec finished its turn with the mock model (rc {run.rc}; stderr: {run.stderr.strip()[-300:]})")
    c(run.initialized, "Codex started the MCP server and completed the MCP handshake with it")
    c(run.requests and all(r.get("gate") == "open" for r in run.requests),
      f"the mock model answered once the server had reported and been initialized (gates: "
      f"{[r.get('gate') for r in run.requests]})")
    c(run.report.get("pid"), f"the server wrote its report ({run.report or 'none'})")
    c(run.report.get("parent_exe") == str(native.resolve()),
      f"the server's parent is Codex's static binary (is {run.report.get('parent_exe')})")


def check_refresh_failed(c: Checks, run: CodexRun, st, marks: dict) -> None:
    refresh = run.report.get("refresh") or {}
    c(not refresh.get("ok") and NO_PROXY_OR_CA.search(refresh.get("text", "")),
      f"the server's refresh fails for want of a proxy (got: {refresh.get('text')})")
    got = sorted(k for k in PROXY_KEYS if k in run.report.get("env", {}))
    c(not got, f"Codex gave the server no proxy key (it has {got})")
    seen = [l for l in st.p1.lines(marks[st.p1.name]) if l.get("host") == API_HOST]
    c(not seen, f"{st.p1.name} saw no CONNECT to {API_HOST} ({len(seen)} lines)")


def s_no_shim(st, kind, out, marks):
    c = Checks()
    native = installed_or_raise()
    run = run_codex(st, out)
    check_codex_ran(c, run, native)
    check_refresh_failed(c, run, st, marks)
    c(not run.shim_log, f"the shim logged nothing (got {run.shim_log})")
    keys = sorted(run.report.get("env", {}))
    return c, run, f"server pid {run.report.get('pid')} got {keys}; {(run.report.get('refresh') or {}).get('text')}"


def s_ld_preload(st, kind, out, marks):
    c = Checks()
    native = installed_or_raise()
    run = run_codex(st, out, ld_preload=True)
    check_codex_ran(c, run, native)
    check_refresh_failed(c, run, st, marks)
    c("LD_PRELOAD" not in run.report.get("env", {}), "Codex dropped LD_PRELOAD for its server")
    mine = [l for l in run.shim_log if l.get("pid") == run.report.get("pid")]
    c(not mine, f"no shim line names the server (got {mine})")
    c(str(st.shim) not in run.report.get("shared_objects", []), "the library is not loaded in the server")
    return c, run, f"as without the shim (Codex is static and drops LD_PRELOAD); {len(run.shim_log)} shim lines"


def s_etc_preload(st, kind, out, marks):
    c = Checks()
    native = installed_or_raise()
    problem = namespace.namespace_problem(out / "ns-probe")
    if problem:
        raise RuntimeError(f"NO MOUNT NAMESPACE HERE, /etc/ld.so.preload cannot be tested: {problem}")
    run = run_codex(st, out, etc_preload=True)
    check_codex_ran(c, run, native)
    c(str(st.shim) in run.report.get("shared_objects", []),
      f"the library is loaded in the server: /etc/ld.so.preload reached it (mapped: {run.report.get('shared_objects')})")
    pid, ppid = run.report.get("pid"), run.report.get("ppid")
    refresh = run.report.get("refresh") or {}
    c(refresh.get("ok"), f"the server's start-up refresh succeeded (got: {refresh.get('text')})")
    server_env = run.report.get("env", {})
    c(server_env.get("https_proxy") == st.p1.url, f"the server's https_proxy is {st.p1.name}'s "
                                                  f"(has {server_env.get('https_proxy')})")
    lines = st.p1.lines(marks[st.p1.name])
    c(any(l["event"] == "connect" and l.get("host") == API_HOST and l.get("client_pid") == pid for l in lines),
      f"{st.p1.name} logged CONNECT {API_HOST}:443 from the server's pid {pid}")
    c(any(l["event"] == "tls-client" and l.get("sni") == API_HOST and l.get("cert_issuer") == "mitmproxy" for l in lines),
      f"{st.p1.name} logged the server accepting its re-signed certificate")
    c(any(l["event"] == "request" and l.get("url") == st.up.token_url and l.get("status") == 200
          and l.get("intercepted_tls") and l.get("client_pid") == pid for l in lines),
      f"{st.p1.name} logged the intercepted POST {st.up.token_url} -> 200 from pid {pid}")
    mine = [l for l in run.shim_log if l.get("pid") == pid]
    c(len(mine) == 1, f"the shim log has exactly one line with the server's pid {pid} (has {len(mine)}; "
                      f"whole log: {run.shim_log})")
    line = mine[0] if mine else {}
    c(line.get("event") == "inject" and line.get("via") == "start",
      f"it is an inject line via start (is {line.get('event')} via {line.get('via')})")
    c(line.get("ppid") == ppid and ppid, f"its ppid {line.get('ppid')} is Codex's pid {ppid}")
    injected = line.get("injected") or []
    c("https_proxy" in injected or "HTTPS_PROXY" in injected, f"it injected the proxy (injected {injected})")
    wrong = [k for k in injected if server_env.get(k) != run.codex_env.get(k, server_env.get(k))]
    c(not wrong, f"each injected key the agent has carries the agent's value (differs: {wrong})")
    others = [l for l in run.shim_log if l.get("pid") != pid]
    c(not others, f"no other process logged a line (got {others})")
    return c, run, (f"server pid {pid} (parent: Codex pid {ppid}) = proxy's client pid = shim's "
                    f"{line.get('event')} line via {line.get('via')}; refresh: {refresh.get('text')}")


CODEX_SCENARIOS = [
    ("1-no-shim", "Codex, without the shim", s_no_shim),
    ("2-ld-preload", "Codex, LD_PRELOAD only", s_ld_preload),
    ("3-etc-preload", "Codex, library in /etc/ld.so.preload", s_etc_preload),
]
