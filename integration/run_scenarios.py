"""The end-to-end scenarios of issue 3, for the Node and the Python gateway/server pair:

1 without the shim, the token refresh fails (no proxy, no CA in the server's env);
2 with the shim preloaded into the gateway, it goes through the proxy, re-signed, and the shim's
  inject line names the server's PID;
3 a server entry that declares its own proxy (and CA) keeps them: the traffic goes to proxy 2;
4 MCP_ENV_SHIM=off and =audit change nothing (audit logs what it would have done).

Prints one PASS/FAIL line per scenario and, last, `N passed, M failed`. Run by run.sh, with the
venv's Python. Usage: run_scenarios.py --shim SO --work DIR [NAME-PREFIX ...]
"""

import argparse
import json
import re
import shutil
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from harness.gateways import Run, run_gateway, server_entry
from harness.procs import Procs
from harness.sandbox import API_HOST, Proxy, Upstream, agent_env, start_proxy, start_upstream
from scenarios_codex import CODEX_SCENARIOS
from scenarios_diagnose import DIAGNOSE_SCENARIOS

# What call 2 must fail with when the server has neither proxy nor CA: the name does not resolve
# outside the proxy (Node: ENOTFOUND from getaddrinfo; Python: gaierror), or, had it resolved,
# the re-signed certificate is not trusted.
NO_PROXY_OR_CA = re.compile(
    r"ENOTFOUND|getaddrinfo|EAI_AGAIN|Name or service not known|Temporary failure in name resolution"
    r"|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|CERTIFICATE_VERIFY_FAILED")
# The keys each runtime's HTTP stack reads: undici wants lowercase https_proxy, Node's CA comes
# from NODE_EXTRA_CA_CERTS; httpx takes either case and reads SSL_CERT_FILE.
RUNTIME_KEYS = {"node": ("https_proxy", "NODE_EXTRA_CA_CERTS"), "python": ("HTTPS_PROXY", "SSL_CERT_FILE")}
# What both SDKs pass to a stdio server besides its declared env (when the gateway has them).
SDK_DEFAULTS = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")
# Python sets LC_CTYPE in its own environment when it coerces a C locale to UTF-8 (PEP 538).
RUNTIME_ADDS = {"LC_CTYPE"}


@dataclass
class Stack:
    up: Upstream
    p1: Proxy  # the sandbox proxy: the agent's env points here
    p2: Proxy  # another proxy, with its own CA, that a server entry may declare
    shim: Path
    work: Path
    procs: Procs


class Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, ok: object, what: str) -> bool:
        if not ok:
            self.failed.append(what)
        return bool(ok)


def gateway_env(st: Stack, outdir: Path, shim: bool, mode: str | None = None) -> dict:
    env = agent_env(st.p1)
    if shim:
        env["LD_PRELOAD"] = str(st.shim)
        env["MCP_ENV_SHIM_LOG"] = str(outdir / "shim.log")
        # The gateway runs as root here: a privileged process writes only to a log that exists.
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / "shim.log").touch()
    if mode:
        env["MCP_ENV_SHIM"] = mode
    return env


def check_server(c: Checks, run: Run) -> None:
    c(run.server_pid, f"the server reported its PID (gateway said: {run.result.get('error') or run.result.get('server')})")
    c(not run.server_left_running, "the server exited with its gateway")


def check_server_env(c: Checks, run: Run, injected: list[str]) -> list[str]:
    """The server's env is the SDK's defaults + its declared env + exactly what the shim logged as
    injected, with the gateway's values; returns the injected keys the gateway itself lacks."""
    got = (run.result.get("server") or {}).get("env") or {}
    declared = {k: v for k, v in run.entry["env"].items() if not k.startswith("TOKENDEMO_")}
    defaults = {k for k in SDK_DEFAULTS if k in run.env}
    extra = set(got) - defaults - set(declared) - set(injected) - RUNTIME_ADDS
    c(not extra, f"the server got no key beyond the SDK's defaults, its declared env and the logged injections "
                 f"(extra: {sorted(extra)})")
    c(set(injected) <= set(got), f"every key logged as injected reached the server (absent: {sorted(set(injected) - set(got))})")
    c(all(got.get(k) == v for k, v in declared.items()), "the server's declared values reached it unchanged")
    same = [k for k in injected if k in run.env]
    c(all(got.get(k) == run.env[k] for k in same), "each injected key the gateway has carries the gateway's value")
    derived = [k for k in injected if k not in run.env]
    c(all(got.get(k) in run.env.values() for k in derived),
      f"each injected key the gateway lacks ({derived}) carries the value of a key it has (a sibling)")
    return derived


def check_refresh_failed(c: Checks, run: Run, st: Stack, marks: dict) -> None:
    first, second = run.call(0), run.call(1)
    c(first["ok"] and '"token": "cached"' in first["text"], f"call 1 succeeds on the cached token (got: {first['text']})")
    c(not second["ok"], "call 2 fails")
    c(f"token refresh failed: POST {st.up.token_url}" in second["text"], "call 2 fails in the token refresh")
    c(NO_PROXY_OR_CA.search(second["text"]), "the cause is no proxy / no CA (name resolution or TLS trust)")
    c((run.result.get("server") or {}).get("https_proxy") is None, "the server had no proxy variable")
    for p in (st.p1, st.p2):
        c(not p.lines(marks[p.name]), f"{p.name} saw no traffic")


def check_refresh_via(c: Checks, run: Run, st: Stack, marks: dict, via: Proxy) -> None:
    first, second = run.call(0), run.call(1)
    c(first["ok"] and '"token": "cached"' in first["text"], f"call 1 succeeds on the cached token (got: {first['text']})")
    c(second["ok"] and '"token": "refreshed"' in second["text"], f"call 2 succeeds on a refreshed token (got: {second['text']})")
    c((run.result.get("server") or {}).get("https_proxy") == via.url, f"the server's https proxy is {via.name}")
    lines, pid = via.lines(marks[via.name]), run.server_pid
    c(any(l["event"] == "connect" and l["host"] == API_HOST and l["port"] == 443 and l["client_pid"] == pid for l in lines),
      f"{via.name} logged CONNECT {API_HOST}:443 from the server's PID {pid}")
    c(any(l["event"] == "tls-client" and l["sni"] == API_HOST and l["cert_issuer"] == "mitmproxy" for l in lines),
      f"{via.name} logged the client accepting its re-signed certificate for {API_HOST}")
    c(any(l["event"] == "request" and l["method"] == "POST" and l["url"] == st.up.token_url and l["status"] == 200
          and l["intercepted_tls"] and l["client_pid"] == pid for l in lines),
      f"{via.name} logged the intercepted POST {st.up.token_url} -> 200")
    c(not [l for l in lines if l["event"] in ("tls-client-failed", "request-error")], f"{via.name} logged no failure")
    for p in (st.p1, st.p2):
        if p is not via:
            c(not p.lines(marks[p.name]), f"{p.name} saw no traffic")


def check_shim_line(c: Checks, run: Run, event: str) -> dict:
    lines = run.shim_events(event)
    c(len(lines) == 1, f"the shim log has exactly one {event} line (has {len(lines)}: {run.shim_log})")
    line = lines[0] if lines else {}
    c(line.get("pid") == run.server_pid, f"its pid {line.get('pid')} is the server's PID {run.server_pid}")
    c(line.get("ppid") == run.gateway_pid, f"its ppid {line.get('ppid')} is the gateway's PID {run.gateway_pid}")
    c(not run.shim_events("exec-failed") and not run.shim_events("unparsed"), "no exec-failed or malformed log line")
    return line


def shim_brief(line: dict) -> str:
    keys = line.get("injected", [])
    return (f"{line.get('event')} line: pid {line.get('pid')}, via {line.get('via')}, reason {line.get('reason')}, "
            f"{len(keys)} keys ({', '.join(keys[:4])}, ...)")


# --- the scenarios: each returns (checks, one-line summary) ---------------------------------

def s1_no_shim(st: Stack, kind: str, out: Path, marks: dict):
    c = Checks()
    run = run_gateway(kind, server_entry(kind, st.up), gateway_env(st, out, shim=False), out, st.procs)
    check_server(c, run)
    check_server_env(c, run, [])  # the premise: the SDK drops every sandbox key
    check_refresh_failed(c, run, st, marks)
    return c, run, f"call 1 ok (cached token); call 2 -> {run.call(1)['text']}"


def s2_shim(st: Stack, kind: str, out: Path, marks: dict):
    c = Checks()
    run = run_gateway(kind, server_entry(kind, st.up), gateway_env(st, out, shim=True), out, st.procs)
    check_server(c, run)
    check_refresh_via(c, run, st, marks, st.p1)
    line = check_shim_line(c, run, "inject")
    for key in RUNTIME_KEYS[kind]:
        c(key in line.get("injected", []), f"{key} was injected")
    derived = check_server_env(c, run, line.get("injected", []))
    summary = (f"both calls ok, the 2nd on a token refreshed through {st.p1.name} (CONNECT {API_HOST}:443, "
               f"re-signed); server pid {run.server_pid} = proxy's client pid = shim's {shim_brief(line)}; "
               f"from siblings: {', '.join(derived)}")
    return c, run, summary


def s3_declared_wins(st: Stack, kind: str, out: Path, marks: dict):
    c = Checks()
    proxy_key, ca_key = RUNTIME_KEYS[kind]
    declared = {"HTTPS_PROXY": st.p2.url, "https_proxy": st.p2.url,
                ca_key: str(st.p2.ca if kind == "node" else st.p2.bundle)}
    run = run_gateway(kind, server_entry(kind, st.up, declared), gateway_env(st, out, shim=True), out, st.procs)
    check_server(c, run)
    check_refresh_via(c, run, st, marks, st.p2)
    line = check_shim_line(c, run, "inject")
    for key in declared:
        c(key in line.get("kept", []), f"{key} listed under kept")
        c(key not in line.get("injected", []), f"{key} not injected")
    check_server_env(c, run, line.get("injected", []))
    return c, run, (f"both calls ok; the refresh went to {st.p2.name} only; shim's {shim_brief(line)}, "
                    f"kept {line.get('kept')}")


def s4_off(st: Stack, kind: str, out: Path, marks: dict):
    c = Checks()
    run = run_gateway(kind, server_entry(kind, st.up), gateway_env(st, out, shim=True, mode="off"), out, st.procs)
    check_server(c, run)
    check_server_env(c, run, [])
    check_refresh_failed(c, run, st, marks)
    c(not run.shim_log, f"the shim logged nothing (got {run.shim_log})")
    return c, run, f"as without the shim; call 2 -> {run.call(1)['text']}"


def s4_audit(st: Stack, kind: str, out: Path, marks: dict):
    c = Checks()
    run = run_gateway(kind, server_entry(kind, st.up), gateway_env(st, out, shim=True, mode="audit"), out, st.procs)
    check_server(c, run)
    check_server_env(c, run, [])  # audit changes nothing
    check_refresh_failed(c, run, st, marks)
    line = check_shim_line(c, run, "audit")
    c(not run.shim_events("inject"), "no inject line")
    c(RUNTIME_KEYS[kind][0] in line.get("injected", []), f"the audit line lists {RUNTIME_KEYS[kind][0]} as what it would inject")
    return c, run, f"as without the shim, and the shim logged {shim_brief(line)}"


SCENARIOS = [
    ("1-no-shim", "without the shim", s1_no_shim),
    ("2-shim", "LD_PRELOAD shim", s2_shim),
    ("3-declared-env-wins", "server declares its own proxy", s3_declared_wins),
    ("4-off", "MCP_ENV_SHIM=off", s4_off),
    ("4-audit", "MCP_ENV_SHIM=audit", s4_audit),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shim", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("only", nargs="*", help="run only scenarios whose name starts with one of these")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` stops everything

    todo = [(f"{kind}-{sid}", title, fn, kind) for kind in ("node", "python") for sid, title, fn in SCENARIOS]
    todo += [(f"codex-{sid}", title, fn, "codex") for sid, title, fn in CODEX_SCENARIOS]  # issue 9: scenarios_codex.py
    todo += [(name, title, fn, kind) for name, title, kind, fn in DIAGNOSE_SCENARIOS]
    todo = [t for t in todo if not args.only or any(t[0].startswith(p) for p in args.only)]
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    procs = Procs(args.work / "pgids")
    passed = failed = 0
    report = {}
    started = time.monotonic()
    try:
        up, tls_port = start_upstream(procs, args.work)
        st = Stack(up=up, p1=start_proxy(procs, args.work, "proxy1", tls_port),
                   p2=start_proxy(procs, args.work, "proxy2", tls_port), shim=args.shim.resolve(), work=args.work,
                   procs=procs)
        if Path("/etc/mcp-env-shim/config.json").exists():
            print("integration: warning: /etc/mcp-env-shim/config.json exists and applies to the shim here")
        print(f"integration: upstream {up.api_url} + {up.token_url}, proxy1 {st.p1.url}, proxy2 {st.p2.url}, "
              f"shim {st.shim} ({'present' if st.shim.exists() else 'MISSING'}), ready in {time.monotonic() - started:.1f}s",
              flush=True)
        for name, title, fn, kind in todo:
            out = args.work / "scenarios" / name
            marks = {p.name: p.mark() for p in (st.p1, st.p2)}
            try:
                if "no-shim" not in name and not st.shim.exists():
                    raise RuntimeError(f"shim not built: {st.shim} (make build)")
                c, run, summary = fn(st, kind, out, marks)
                errors, secs = c.failed, run.seconds
                report[name] = {"summary": summary, "result": run.result, "shim_log": run.shim_log, "failed": errors}
            except Exception as err:  # noqa: BLE001 - a broken scenario is a failed one
                errors, summary, secs = [f"{type(err).__name__}: {err}"], "", 0.0
                traceback.print_exc()
            if errors and report.get(name):  # say what happened, not what should have
                summary = "observed: " + "; ".join(
                    f"call {i + 1} {'ok' if c['ok'] else 'error'}: {c['text']}" for i, c in enumerate(report[name]["result"].get("calls", []))
                ) + f"; shim log: {json.dumps(report[name]['shim_log'])}"
            status = "PASS" if not errors else "FAIL"
            passed, failed = passed + (not errors), failed + bool(errors)
            print(f"{status} {name} ({title}, {secs:.1f}s): {summary}", flush=True)
            for e in errors:
                print(f"     failed: {e}", flush=True)
    except Exception:  # noqa: BLE001 - the stand-in did not come up: every scenario fails
        traceback.print_exc()
        failed = len(todo) - passed
    finally:
        procs.stop_all()
        (args.work / "report.json").write_text(json.dumps(report, indent=1))
    print(f"integration: {time.monotonic() - started:.1f}s; details in {args.work}/scenarios/*/ and report.json")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
