#!/usr/bin/env python3
"""make peer: other projects' own process tests, with and without the shim preloaded, compared test by test.

    python3 peer/peer.py [--shim PATH] [--python PY] [--modules M,...] [--modes mcp,all] [--no-node]

Two suites (peer/cpython.py, peer/node.py): CPython's `python -m test -v` for its subprocess, os,
posix, pty, signal and asyncio-subprocess modules, and Node's `test-child-process-*` files. Each
unit runs three ways in the same environment (a gateway's: the sandbox's proxy and CA block, a
pinned empty config, nothing else of this machine's): without the shim, then with
LD_PRELOAD=SHIM in mode `mcp`, then in mode `all`, the log left at its default (stderr, a pipe
this harness drains). Any test whose outcome under the shim differs from the run without it,
in either direction, is a difference. Each difference is checked by re-running those tests once
more without the shim and with it: if the run without the shim ever gives the shim's outcome,
the test is flaky and reported as such; otherwise the difference is real and the target fails.

Mode `all` gives every child the block by definition, so a test that asserts a child's exact
environment may differ there: `peer/allow-all.txt` lists such tests, one justification each, and
is read for mode `all` only. Nothing is allowed for mode `mcp`.

Exits 1 on a real difference, when a suite cannot be had (an interpreter without its `test`
package, Node's tests not downloadable), or when a run without the shim breaks. Writes every
run's output and the report to peer/out/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cpython import MODULES, CPythonSuite
from node import NodeSuite
from outcomes import MISSING
from suite import BASE, Run

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MODES = ["mcp", "all"]
PROXY = "http://127.0.0.1:3128"
NO_PROXY = "127.0.0.1,localhost,::1"


def say(*args: object) -> None:
    print("peer:", *args, flush=True)


@dataclass
class Difference:
    suite: object
    mode: str
    test: str
    base: str
    shim: str
    text: str = ""
    allowed: str | None = None  # the allowlist's justification, mode `all` only
    base_again: list[str] = field(default_factory=list)
    shim_again: list[str] = field(default_factory=list)

    @property
    def flaky(self) -> bool:
        return self.shim in self.base_again


class Peer:
    def __init__(self, args: argparse.Namespace):
        self.shim = Path(args.shim).resolve()
        self.modes = args.modes
        self.out = Path(args.out)
        self.allow = load_allowlist(Path(args.allow))
        self.work = Path(tempfile.mkdtemp(prefix="peer-"))
        self.env = self.gateway_env(args.python)
        self.suites: list = [CPythonSuite(args.python, args.modules, args.resources)]
        if not args.no_node:
            self.suites.append(NodeSuite(HERE / ".cache", self.work))

    def gateway_env(self, python: str) -> dict[str, str]:
        """A gateway's environment in an OpenShell sandbox (shared/OPENSHELL.md), with files that
        exist for the CA keys, and a config that sets nothing, so that no /etc config leaks in.
        The work directory is outside the checkout: a clone under a folder named mcp-env-shim must
        not make the tests' children look like MCP servers."""
        ca = self.work / "ca"
        ca.mkdir()
        shutil.copy(REPO / "c-tests" / "test-ca.pem", ca / "sandbox-ca.pem")
        system = Path("/etc/ssl/certs/ca-certificates.crt")
        bundle = (system.read_bytes() if system.is_file() else b"") + (ca / "sandbox-ca.pem").read_bytes()
        (ca / "ca-bundle.pem").write_bytes(bundle)
        (self.work / "config.json").write_text("{}\n")
        (self.work / "home").mkdir()
        return {
            "PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.work / "home"),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.work / "tmp"),
            "HTTP_PROXY": PROXY,
            "HTTPS_PROXY": PROXY,
            "ALL_PROXY": PROXY,
            "http_proxy": PROXY,
            "https_proxy": PROXY,
            "grpc_proxy": PROXY,
            "NO_PROXY": NO_PROXY,
            "no_proxy": NO_PROXY,
            "NODE_USE_ENV_PROXY": "1",
            "NODE_EXTRA_CA_CERTS": str(ca / "sandbox-ca.pem"),
            "DENO_CERT": str(ca / "sandbox-ca.pem"),
            "SSL_CERT_FILE": str(ca / "ca-bundle.pem"),
            "REQUESTS_CA_BUNDLE": str(ca / "ca-bundle.pem"),
            "CURL_CA_BUNDLE": str(ca / "ca-bundle.pem"),
            "GIT_SSL_CAINFO": str(ca / "ca-bundle.pem"),
            "MCP_ENV_SHIM_CONFIG": str(self.work / "config.json"),
        }

    def env_for(self, config: str) -> dict[str, str]:
        env = dict(self.env)
        if config != BASE:
            env["LD_PRELOAD"] = str(self.shim)
            env["MCP_ENV_SHIM"] = config
        return env

    def check_shim(self, python: str) -> list[str]:
        """The shim is really in the runs: loaded into the interpreter, and in mode `all` it gives
        a child started with a bare environment the block. Returns lines for the report."""
        code = (
            "import subprocess\n"
            f"print('loaded' if {str(self.shim)!r} in open('/proc/self/maps').read() else 'not-loaded')\n"
            "r = subprocess.run(['env'], env={'PATH': '/usr/bin:/bin'}, capture_output=True)\n"
            "print(sum(1 for l in r.stdout.splitlines() if l.split(b'=')[0] in (b'HTTPS_PROXY', b'SSL_CERT_FILE')))\n"
        )
        lines = []
        for mode in self.modes:
            r = subprocess.run([python, "-c", code], capture_output=True, text=True, env=self.env_for(mode), cwd=self.work)
            got = r.stdout.split()
            if r.returncode != 0 or len(got) != 2 or got[0] != "loaded":
                raise SystemExit(f"peer: FAIL: the shim is not loaded in mode {mode}: {r.stdout!r} {r.stderr!r}")
            if mode == "all" and got[1] != "2":
                raise SystemExit(f"peer: FAIL: mode all did not inject into a bare child ({got[1]} of 2 keys)")
            lines.append(f"mode {mode}: shim loaded; a child given only PATH got {got[1]} of 2 block keys")
        return lines

    def run(self, suite, config: str, unit: str, match: list[str] | None = None, again: bool = False) -> Run:
        logs = self.out / suite.name / (config + (".again" if again else ""))
        logs.mkdir(parents=True, exist_ok=True)
        return suite.run(self.env_for(config), self.work, logs, config, unit, match)

    def compare(self, suite, base: Run, shim: Run, mode: str) -> list[Difference]:
        b, s = base.all_outcomes(), shim.all_outcomes()
        diffs = []
        for test in sorted(set(b) | set(s)):
            ob, os_ = b.get(test, MISSING), s.get(test, MISSING)
            if ob != os_:
                text = shim.failures.get(test) or base.failures.get(test) or ""
                allowed = self.allow.get(test) if mode == "all" else None
                diffs.append(Difference(suite, mode, test, ob, os_, text, allowed))
        return diffs

    def recheck(self, suite, unit: str, diffs: list[Difference]) -> None:
        """Runs the differing tests once more without the shim, and with it."""
        tests = sorted({d.test for d in diffs})
        match = None if any(t.endswith(" [run]") for t in tests) else tests
        base = self.run(suite, BASE, unit, match, again=True).all_outcomes()
        for mode in sorted({d.mode for d in diffs}):
            shim = self.run(suite, mode, unit, match, again=True).all_outcomes()
            for d in diffs:
                if d.mode == mode:
                    d.base_again.append(base.get(d.test, MISSING))
                    d.shim_again.append(shim.get(d.test, MISSING))


def load_allowlist(path: Path) -> dict[str, str]:
    """`TEST_ID  justification` lines; `#` starts a comment line. Every entry needs a reason."""
    allow: dict[str, str] = {}
    if not path.exists():
        return allow
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test, _, why = line.partition(" ")
        if not why.strip():
            raise SystemExit(f"peer: FAIL: {path}:{n}: {test} has no justification")
        allow[test] = why.strip()
    return allow


def report(peer: Peer, runs: list[Run], diffs: list[Difference], notes: list[str], t0: float) -> int:
    lines: list[str] = []
    w = lines.append
    w(f"shim:   {peer.shim}")
    for suite in peer.suites:
        w(f"suite:  {suite.describe()}")
    w(f"env:    {len(peer.env)} variables, the same in every run: {' '.join(sorted(peer.env))}")
    w("        + LD_PRELOAD and MCP_ENV_SHIM=MODE with the shim; log: default (stderr, a pipe)")
    for note in notes:
        w(f"check:  {note}")
    w("")
    w(f"{'unit':<30} {'config':<6} {'tests':>5} {'ok':>5} {'skip':>5} {'other':>5} {'run':<12} {'shim lines':>10} {'sec':>6}")
    for r in runs:
        o = list(r.outcomes.values())
        other = len(o) - o.count("ok") - o.count("skipped")
        w(
            f"{r.unit:<30} {r.config:<6} {len(o):>5} {o.count('ok'):>5} {o.count('skipped'):>5} {other:>5} "
            f"{r.status:<12} {r.shim_lines:>10} {r.seconds:>6.1f}"
        )
    w("  shim lines: lines of the shim's log on the run's own stderr (the gateway's: where they belong)")
    w("")
    failed = 0
    for mode in peer.modes:
        for suite in peer.suites:
            mine = [d for d in diffs if d.mode == mode and d.suite is suite]
            real = [d for d in mine if not d.flaky and d.allowed is None]
            flaky = [d for d in mine if d.flaky]
            allowed = [d for d in mine if not d.flaky and d.allowed is not None]
            compared = len({t for r in runs if r.config == BASE and r.suite == suite.name for t in r.all_outcomes()})
            w(
                f"mode {mode}, {suite.name}: {compared} outcomes compared; {len(real)} differ, "
                f"{len(flaky)} flaky, {len(allowed)} allowlisted"
            )
            for d in real + allowed + flaky:
                kind = "FLAKY" if d.flaky else "ALLOWED" if d.allowed else "DIFF"
                again = f"again: without {', '.join(d.base_again) or '-'} / with {', '.join(d.shim_again) or '-'}"
                w(f"  {kind:<7} {d.test}: without the shim {d.base}, with it {d.shim}; {again}")
                if d.allowed:
                    w(f"          allowed: {d.allowed}")
                for line in suite.failure_lines(d.text) if d.text else []:
                    w(f"          | {line[:200]}")
            failed += len(real)
        if mode == "all":
            used = {d.test for d in diffs if d.allowed is not None and not d.flaky}
            for test in sorted(set(peer.allow) - used):
                w(f"  note: allowlist entry {test} matched no difference in this run")
    w("")
    w(f"wall time: {time.monotonic() - t0:.0f} s")
    text = "\n".join(lines)
    print(text)
    (peer.out / "report.txt").write_text(text + "\n")
    if failed:
        say(f"FAIL: {failed} test outcome(s) differ with the shim preloaded (report: {peer.out}/report.txt)")
        return 1
    say("PASS: every test outcome is the same with and without the shim")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shim", default=os.environ.get("SHIM", str(REPO / "target/release/libmcp_env_shim.so")))
    ap.add_argument("--python", default=os.environ.get("PEER_PYTHON") or sys.executable)
    ap.add_argument("--modules", type=lambda s: s.split(","), default=MODULES)
    ap.add_argument("--modes", type=lambda s: s.split(","), default=MODES)
    ap.add_argument("--resources", default=os.environ.get("PEER_RESOURCES", ""), help="regrtest -u")
    ap.add_argument("--no-node", action="store_true", help="CPython's tests only")
    ap.add_argument("--allow", default=str(HERE / "allow-all.txt"))
    ap.add_argument("--out", default=str(HERE / "out"))
    args = ap.parse_args()
    args.python = os.path.realpath(shutil.which(args.python) or args.python)
    if not Path(args.shim).is_file():
        raise SystemExit(f"peer: FAIL: no library at {args.shim} (run 'make build' first, or set SHIM)")
    if any(mode not in MODES for mode in args.modes):
        raise SystemExit(f"peer: modes are {', '.join(MODES)}")
    t0 = time.monotonic()
    shutil.rmtree(args.out, ignore_errors=True)
    peer = Peer(args)
    peer.out.mkdir(parents=True)
    try:
        for suite in peer.suites:
            suite.check(peer.env)
        notes = peer.check_shim(args.python)
        runs: list[Run] = []
        diffs: list[Difference] = []
        for suite in peer.suites:
            for unit in suite.units:
                base = peer.run(suite, BASE, unit)
                runs.append(base)
                say(f"{unit}: without the shim: {len(base.outcomes)} tests, {base.status}, {base.seconds:.0f} s")
                if base.status != "completed" or not base.outcomes:
                    raise SystemExit(f"peer: FAIL: {unit} without the shim: {base.status}; see {peer.out}")
                mine = []
                for mode in peer.modes:
                    r = peer.run(suite, mode, unit)
                    runs.append(r)
                    d = peer.compare(suite, base, r, mode)
                    say(f"{unit}: mode {mode}: {r.status}, {r.seconds:.0f} s, {len(d)} outcome(s) differ")
                    mine += d
                if mine:
                    peer.recheck(suite, unit, mine)
                diffs += mine
        return report(peer, runs, diffs, notes, t0)
    finally:
        shutil.rmtree(peer.work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
