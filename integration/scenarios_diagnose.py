"""The diagnose scenarios (issue 10): real failures, and `mcp-env-shim diagnose --json` must name
each one. They run against their own stand-in for OpenShell's proxy ("openshell": mitmdump with
the addon's OpenShell logs, a policy that denies denied.sandbox.test, and a bypass monitor on
127.0.0.2:443), so the other scenarios' proxies and counts are untouched.

Real here: the MCP SDKs, the servers, the shim, the TLS interception, the direct connections,
the PIDs, and every log line (written by the stand-in in OpenShell's two formats, as the events
happen). Stood in: nftables and OpenShell's bypass monitor. This machine has no nftables, so a
direct connection is refused by a listener of the addon that resets it and logs the REFUSE line
with the client's real PID; the gateway runs in its own mount namespace (unshare, as root) whose
/etc/hosts sends api.sandbox.test to that address, as a sandbox's DNS would send it to the real
one. ca-ignored and unattributed have no real form here and are covered by the unit fixtures.

1 not-injected: the gateway runs without the shim; its server connects directly (REFUSE).
2 ca-own-kept: the server declares its own NODE_EXTRA_CA_CERTS (another proxy's CA); the shim
  keeps it; the TLS handshake through the sandbox proxy fails (OPEN, then FAIL with no process).
3 the same through a launcher: `uv run` spawns python, which owns the socket; the shim logged uv.
  Diagnose runs after both are gone: the join goes through the OCSF parent chain.
4 proxy-ignored: a Node server refreshing with Node 20's built-in fetch, which ignores the proxy
  keys the shim injected (NODE_USE_ENV_PROXY=1 needs Node >= 22.21): it connects directly.
5 ca-not-given: the gateway itself lacks the CA variables, so the shim has none to give.
6 policy-denied: the token endpoint's host is denied by the sandbox policy.
"""

import json
import subprocess
import time
from pathlib import Path

from harness.gateways import server_entry, run_gateway
from harness.sandbox import API_HOST, VENV_BIN, agent_env, start_proxy

BYPASS_ADDR = "127.0.0.2"
DENIED_HOST = "denied.sandbox.test"
CA_KEYS = ("NODE_EXTRA_CA_CERTS", "DENO_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
           "GIT_SSL_CAINFO", "OPENSHELL_SANDBOX")
_state: dict = {}


def openshell(st):
    """The OpenShell stand-in, started once, and the hosts file of the gateways' namespace."""
    if "proxy" not in _state:
        tls_port = json.loads((st.work / "upstream.ready.json").read_text())["tls_port"]
        logs = st.work / "openshell-logs"
        proxy = start_proxy(st.procs, st.work, "openshell", tls_port, {
            "openshell_log_dir": logs, "deny_hosts": DENIED_HOST, "bypass_listen": f"{BYPASS_ADDR}:443"})
        hosts = st.work / "hosts"
        hosts.write_text(f"127.0.0.1 localhost\n{BYPASS_ADDR} {API_HOST} {DENIED_HOST}\n::1 localhost\n")
        _state.update(proxy=proxy, logs=logs, hosts=hosts)
    return _state["proxy"]


def in_namespace() -> list[str]:
    """The gateway in its own mount namespace, with the sandbox's view of names."""
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', str(_state["hosts"])]


def gateway_env(proxy, out: Path, shim, shim_on: bool, drop_ca: bool = False) -> dict:
    env = agent_env(proxy)
    if shim_on:
        env["LD_PRELOAD"] = str(shim)
        env["MCP_ENV_SHIM_LOG"] = str(out / "shim.log")
        # Run as root here: a privileged process writes only to a log file that exists.
        out.mkdir(parents=True, exist_ok=True)
        (out / "shim.log").touch()
    if drop_ca:
        for k in CA_KEYS:
            env.pop(k, None)
    return env


def diagnose(st, out: Path, since: str, json_out: bool) -> tuple[int, list]:
    cli = st.shim.with_name("mcp-env-shim")
    argv = [str(cli), "diagnose", "--sandbox-log", str(_state["logs"]), "--shim-log", str(out / "shim.log"),
            "--since", since] + (["--json"] if json_out else [])
    env = agent_env(_state["proxy"])  # the operator's shell in the sandbox: its variables, no preload
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    (out / ("diagnose.json" if json_out else "diagnose.txt")).write_text(res.stdout + res.stderr)
    lines = res.stdout.splitlines()
    return res.returncode, [json.loads(l) for l in lines] if json_out else lines


def scenario(kind: str, expect: str, *, shim_on=True, declared=None, drop_ca=False, namespace=False,
             launcher=False, token_host=None):
    def run(st, _kind, out: Path, marks: dict):
        from run_scenarios import Checks, check_server  # noqa: PLC0415 - avoids a circular import
        c = Checks()
        proxy = openshell(st)
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
        extra = dict(declared(st) if declared else {})
        if token_host:
            extra["TOKENDEMO_TOKEN_URL"] = f"https://{token_host}/oauth/token"
        entry = server_entry(kind, st.up, extra)
        if launcher:  # uv spawns (does not exec) the interpreter
            entry["args"] = ["run", "--no-project", "--offline", "--python", entry["command"]] + entry["args"]
            entry["command"] = str(VENV_BIN / "uv")
        run_ = run_gateway(kind, entry, gateway_env(proxy, out, st.shim, shim_on, drop_ca), out, st.procs,
                           prefix=in_namespace() if namespace else None)
        check_server(c, run_)
        second = run_.call(1)
        c(not second["ok"], f"call 2 fails (got: {second['text']})")
        shim_lines = [json.loads(l) for l in (out / "shim.log").read_text().splitlines()] \
            if (out / "shim.log").exists() else []
        rc, found = diagnose(st, out, since, json_out=True)
        _, human = diagnose(st, out, since, json_out=False)
        c(rc == 1, f"diagnose exits 1 on a failure (got {rc}; {out / 'diagnose.json'})")
        mine = [f for f in found if f.get("pid") == run_.server_pid]
        c(len(mine) == 1, f"diagnose has one finding for the PID that made the call, {run_.server_pid} (got {found})")
        f = mine[0] if mine else {}
        c(f.get("verdict") == expect, f"its verdict is {expect} (got {f.get('verdict')}: {f.get('detail')})")
        for k in ("pid", "exe", "server_pid", "verdict", "detail", "fix"):
            c(k in f, f"the finding has {k}")
        decided = [l for l in shim_lines if l.get("event") in ("inject", "audit")]
        if shim_on:
            want = decided[0]["pid"] if decided else None
            c(f.get("server_pid") == want, f"server_pid {f.get('server_pid')} is the PID the shim logged ({want})")
            c(f.get("started_by") == run_.gateway_pid, f"started_by {f.get('started_by')} is the gateway {run_.gateway_pid}")
        else:
            c(not decided and f.get("server_pid") is None, "no shim line, no server_pid")
        if launcher:
            c(f.get("server_pid") != f.get("pid") and f.get("join") == "name",
              f"the launcher's child {f.get('pid')} is joined to the launcher {f.get('server_pid')} by name "
              f"(join {f.get('join')})")
        line = next((h for h in human if f" from PID {run_.server_pid} " in h), "(no human line)")
        return c, run_, f"call 2 -> {second['text'][:160]} || diagnose: {line}"
    return run


def _own_ca(kind: str):
    def declared(st):
        key = "NODE_EXTRA_CA_CERTS" if kind == "node" else "SSL_CERT_FILE"
        return {key: str(st.p2.ca if kind == "node" else st.p2.bundle)}
    return declared


# (name, title, function, kind): registered by run_scenarios.py.
DIAGNOSE_SCENARIOS = [
    ("diagnose-1-not-injected", "diagnose: server started without the shim", "node",
     scenario("node", "not-injected", shim_on=False, namespace=True)),
    ("diagnose-2-ca-own-kept", "diagnose: server declares its own wrong CA", "node",
     scenario("node", "ca-own-kept", declared=_own_ca("node"))),
    ("diagnose-3-launcher", "diagnose: uv spawns python, which makes the call", "python",
     scenario("python", "ca-own-kept", declared=_own_ca("python"), launcher=True)),
    ("diagnose-4-proxy-ignored", "diagnose: Node's built-in fetch ignores the proxy", "node",
     scenario("node", "proxy-ignored", declared=lambda st: {"TOKENDEMO_FETCH": "builtin"}, namespace=True)),
    ("diagnose-5-ca-not-given", "diagnose: the gateway has no CA variable to pass on", "node",
     scenario("node", "ca-not-given", drop_ca=True)),
    ("diagnose-6-policy-denied", "diagnose: the policy denies the token endpoint", "node",
     scenario("node", "policy-denied", token_host=DENIED_HOST)),
]
