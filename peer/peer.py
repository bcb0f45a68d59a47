#!/usr/bin/env python3
"""make peer: CPython's own process tests, with and without the shim preloaded, compared test by test.

    python3 peer/peer.py [--shim PATH] [--python PY] [--modules M,...] [--modes mcp,all]

Runs `PY -m test -v MODULE` for each module three ways, in the same environment (a gateway's:
the sandbox's proxy and CA block, a pinned empty config, nothing else of this machine's):
without the shim, then with LD_PRELOAD=SHIM in mode `mcp`, then in mode `all`, the log left at
its default (stderr, a pipe this harness drains). Each run's verbose output becomes {test id:
outcome}; any test whose outcome under the shim differs from the run without it, in either
direction, is a difference. A difference is checked once more by re-running those tests without
the shim (and with it): if the run without the shim ever gives the shim's outcome, the test is
flaky and reported as such; otherwise the difference is real and the target fails.

Mode `all` gives every child the block by definition, so a test that asserts a child's exact
environment may differ there: `peer/allow-all.txt` lists such tests, one justification each, and
is read for mode `all` only. Nothing is allowed for mode `mcp`.

Exits 1 on a real difference, or if the interpreter has no `test` package (Debian ships it apart,
as libpython3.X-testsuite; pyenv and source builds have it), or if a run without the shim breaks.
Writes the runs' output and a report to peer/out/.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from outcomes import MISSING, Parsed, exception_lines, parse

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MODULES = [
    "test_subprocess",
    "test_os",
    "test_posix",
    "test_pty",
    "test_signal",
    "test_asyncio.test_subprocess",
]
MODES = ["mcp", "all"]
RUN_TIMEOUT = 900  # seconds for one module's run; regrtest's own --timeout dumps tracebacks first
PROXY = "http://127.0.0.1:3128"
NO_PROXY = "127.0.0.1,localhost,::1"


def say(*args: object) -> None:
    print("peer:", *args, flush=True)


@dataclass
class Run:
    """One regrtest run of one module in one configuration."""

    config: str  # "base" or a mode
    module: str
    parsed: Parsed
    status: str  # "completed", "timeout", "exit N", "killed by SIGX"
    seconds: float
    shim_lines: int  # lines of the shim's log in the run's stderr

    @property
    def run_id(self) -> str:
        return f"{self.module} [run]"

    def outcomes(self) -> dict[str, str]:
        out = dict(self.parsed.outcomes)
        # How the run itself ended, as an outcome of its own: a crash or a hang of the
        # interpreter shows here even when no test line says so.
        out[self.run_id] = self.status
        return out


@dataclass
class Difference:
    mode: str
    test: str
    base: str
    shim: str
    base_again: list[str] = field(default_factory=list)
    shim_again: list[str] = field(default_factory=list)
    text: str = ""
    allowed: str | None = None  # the allowlist's justification, mode `all` only

    @property
    def flaky(self) -> bool:
        return self.shim in self.base_again


class Peer:
    def __init__(self, args: argparse.Namespace):
        self.shim = Path(args.shim).resolve()
        self.python = args.python
        self.modules = args.modules
        self.modes = args.modes
        self.out = Path(args.out)
        self.allow = load_allowlist(Path(args.allow))
        self.resources = args.resources
        self.work = Path(tempfile.mkdtemp(prefix="peer-"))
        self.env = self.gateway_env()

    # --- the environment --------------------------------------------------------------------
    def gateway_env(self) -> dict[str, str]:
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
        pybin = str(Path(self.python).parent)
        return {
            "PATH": f"{pybin}:/usr/local/bin:/usr/bin:/bin",
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
        if config != "base":
            env["LD_PRELOAD"] = str(self.shim)
            env["MCP_ENV_SHIM"] = config
        return env

    # --- checks before the runs -------------------------------------------------------------
    def check_python(self) -> None:
        missing = []
        for module in self.modules:
            code = (
                "import importlib.util, sys\n"
                "import test.libregrtest\n"
                f"sys.exit(0 if importlib.util.find_spec('test.{module}') else 1)\n"
            )
            r = subprocess.run([self.python, "-c", code], capture_output=True, env=self.env)
            if r.returncode != 0:
                missing.append(module)
        if missing:
            raise SystemExit(
                f"peer: FAIL: {self.python} has no CPython test package for {', '.join(missing)} "
                "(Debian ships it apart, as libpython3.X-testsuite; pyenv and source builds have it). "
                "Install it, or point PEER_PYTHON at an interpreter that has it."
            )

    def check_shim(self) -> list[str]:
        """The shim is really in the runs: loaded into the interpreter, and in mode `all` it gives
        a child started with a bare environment the block. Returns lines for the report."""
        code = (
            "import subprocess, sys\n"
            "maps = open('/proc/self/maps').read()\n"
            f"print('loaded' if {str(self.shim)!r} in maps else 'not-loaded')\n"
            "r = subprocess.run(['env'], env={'PATH': '/usr/bin:/bin'}, capture_output=True)\n"
            "print(sum(1 for l in r.stdout.splitlines() if l.split(b'=')[0] in "
            "(b'HTTPS_PROXY', b'SSL_CERT_FILE')))\n"
        )
        lines = []
        for mode in self.modes:
            r = subprocess.run(
                [self.python, "-c", code], capture_output=True, text=True, env=self.env_for(mode), cwd=self.work
            )
            got = r.stdout.split()
            if r.returncode != 0 or len(got) != 2 or got[0] != "loaded":
                raise SystemExit(f"peer: FAIL: the shim is not loaded in mode {mode}: {r.stdout!r} {r.stderr!r}")
            if mode == "all" and got[1] != "2":
                raise SystemExit(f"peer: FAIL: mode all did not inject into a bare child ({got[1]} of 2 keys)")
            lines.append(f"mode {mode}: shim loaded; a child given only PATH got {got[1]} of 2 block keys")
        return lines

    # --- the runs ---------------------------------------------------------------------------
    def run(self, config: str, module: str, match: list[str] | None = None, tag: str = "") -> Run:
        logs = self.out / (config + tag)
        logs.mkdir(parents=True, exist_ok=True)
        tmp = self.work / "tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        cmd = [self.python, "-m", "test", "-v", "--timeout", str(RUN_TIMEOUT - 60)]
        if self.resources:
            cmd += ["-u", self.resources]
        for pattern in match or []:
            cmd += ["-m", pattern]
        cmd.append(module)
        out_path, err_path = logs / f"{module}.out", logs / f"{module}.err"
        start = time.monotonic()
        with open(out_path, "wb") as out:
            p = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, env=self.env_for(config), cwd=tmp
            )
            try:
                _, err = p.communicate(timeout=RUN_TIMEOUT)
                status = exit_status(p.returncode)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
                status = "timeout"
        seconds = time.monotonic() - start
        err_path.write_bytes(err)
        parsed = parse(out_path.read_text(errors="replace"))
        if parsed.result is not None and status in ("exit 0", "exit 2"):
            status = "completed"  # regrtest ran to its end (2: some test failed, said per test)
        if parsed.result is not None and "ENV CHANGED" in parsed.result:
            status = "env changed"
        shim_lines = sum(1 for line in err.splitlines() if line.startswith(b'{"ts":'))
        return Run(config, module, parsed, status, seconds, shim_lines)

    def compare(self, base: Run, shim: Run, mode: str) -> list[Difference]:
        b, s = base.outcomes(), shim.outcomes()
        diffs = []
        for test in sorted(set(b) | set(s)):
            ob, os_ = b.get(test, MISSING), s.get(test, MISSING)
            if ob != os_:
                text = shim.parsed.failures.get(test) or base.parsed.failures.get(test) or ""
                diffs.append(Difference(mode, test, ob, os_, text=text, allowed=self.allow.get(test) if mode == "all" else None))
        return diffs

    def recheck(self, module: str, diffs: list[Difference]) -> None:
        """Runs the differing tests again without the shim, and with it, once each."""
        tests = sorted({d.test for d in diffs})
        match = None if any(t.endswith(" [run]") for t in tests) else [pattern_for(t) for t in tests]
        base = self.run("base", module, match, tag=".again").outcomes()
        for mode in sorted({d.mode for d in diffs}):
            again = self.run(mode, module, match, tag=".again").outcomes()
            for d in diffs:
                if d.mode == mode:
                    d.base_again.append(base.get(d.test, MISSING))
                    d.shim_again.append(again.get(d.test, MISSING))


def pattern_for(test: str) -> str:
    """A regrtest -m pattern for a test id; a class fixture's error selects its whole class."""
    module_class, _, name = test.rpartition(".")
    if name in ("setUpClass", "tearDownClass", "setUpModule", "tearDownModule"):
        return module_class + ".*"
    return test


def exit_status(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


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


def report(peer: Peer, runs: dict[tuple[str, str], Run], diffs: list[Difference], notes: list[str], t0: float) -> int:
    lines: list[str] = []
    w = lines.append
    w(f"python: {peer.python} ({python_version(peer.python)})")
    w(f"shim:   {peer.shim}")
    w(f"env:    {len(peer.env)} variables, the same in every run: {' '.join(sorted(peer.env))}")
    w("        + LD_PRELOAD and MCP_ENV_SHIM=MODE with the shim; log: default (stderr, a pipe)")
    w(f"tests:  {' '.join(peer.modules)}" + (f" (-u {peer.resources})" if peer.resources else ""))
    for note in notes:
        w(f"check:  {note}")
    w("")
    w(f"{'module':<30} {'config':<5} {'tests':>6} {'ok':>5} {'skip':>5} {'fail':>5} {'run':<12} {'shim lines':>10} {'sec':>6}")
    for (config, module), r in runs.items():
        o = list(r.parsed.outcomes.values())
        bad = sum(1 for x in o if x not in ("ok", "skipped", "expected failure"))
        w(
            f"{module:<30} {config:<5} {len(o):>6} {o.count('ok'):>5} {o.count('skipped'):>5} {bad:>5} "
            f"{r.status:<12} {r.shim_lines:>10} {r.seconds:>6.1f}"
        )
    w("")
    failed = 0
    for mode in peer.modes:
        mine = [d for d in diffs if d.mode == mode]
        real = [d for d in mine if not d.flaky and d.allowed is None]
        flaky = [d for d in mine if d.flaky]
        allowed = [d for d in mine if not d.flaky and d.allowed is not None]
        compared = len({t for (c, _), r in runs.items() if c == "base" for t in r.outcomes()})
        w(
            f"mode {mode}: {compared} tests compared; {len(real)} differences, {len(flaky)} flaky, "
            f"{len(allowed)} allowlisted"
        )
        for d in real + allowed + flaky:
            kind = "FLAKY" if d.flaky else "ALLOWED" if d.allowed else "DIFF"
            again = f"; again: without {', '.join(d.base_again) or '-'} / with {', '.join(d.shim_again) or '-'}"
            w(f"  {kind:<7} {d.test}: without the shim {d.base}, with it {d.shim}{again}")
            if d.allowed:
                w(f"          allowed: {d.allowed}")
            for line in exception_lines(d.text) if d.text else []:
                w(f"          | {line[:200]}")
        failed += len(real)
        if mode == "all":
            used = {d.test for d in allowed}
            for test in sorted(set(peer.allow) - used):
                w(f"  note: allowlist entry {test} matched no difference in this run")
    w("")
    w(f"wall time: {time.monotonic() - t0:.0f} s")
    text = "\n".join(lines)
    print(text)
    (peer.out / "report.txt").write_text(text + "\n")
    if failed:
        say(f"FAIL: {failed} test outcome(s) differ with the shim preloaded (report in {peer.out}/report.txt)")
        return 1
    say("PASS: every test outcome is the same with and without the shim")
    return 0


def python_version(python: str) -> str:
    r = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True)
    return r.stdout.strip() or "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shim", default=os.environ.get("SHIM", str(REPO / "target/release/libmcp_env_shim.so")))
    ap.add_argument("--python", default=os.environ.get("PEER_PYTHON") or sys.executable)
    ap.add_argument("--modules", type=lambda s: s.split(","), default=MODULES)
    ap.add_argument("--modes", type=lambda s: s.split(","), default=MODES)
    ap.add_argument("--resources", default=os.environ.get("PEER_RESOURCES", ""), help="regrtest -u value")
    ap.add_argument("--allow", default=str(HERE / "allow-all.txt"))
    ap.add_argument("--out", default=str(HERE / "out"))
    args = ap.parse_args()
    args.python = shutil.which(args.python) or args.python
    args.python = os.path.realpath(args.python)
    if not Path(args.shim).is_file():
        raise SystemExit(f"peer: FAIL: no library at {args.shim} (run 'make build' first, or set SHIM)")
    for mode in args.modes:
        if mode not in ("mcp", "all"):
            raise SystemExit(f"peer: unknown mode {mode} (mcp, all)")
    t0 = time.monotonic()
    shutil.rmtree(args.out, ignore_errors=True)
    peer = Peer(args)
    peer.out.mkdir(parents=True)
    try:
        peer.check_python()
        notes = peer.check_shim()
        runs: dict[tuple[str, str], Run] = {}
        diffs: list[Difference] = []
        for module in peer.modules:
            base = runs["base", module] = peer.run("base", module)
            say(f"{module}: without the shim: {len(base.parsed.outcomes)} tests, {base.status}, {base.seconds:.0f} s")
            if base.status not in ("completed",) or not base.parsed.outcomes:
                raise SystemExit(f"peer: FAIL: {module} without the shim: {base.status}, see {peer.out}/base/")
            mine = []
            for mode in peer.modes:
                r = runs[mode, module] = peer.run(mode, module)
                d = peer.compare(base, r, mode)
                say(f"{module}: mode {mode}: {r.status}, {r.seconds:.0f} s, {len(d)} outcome(s) differ")
                mine += d
            if mine:
                peer.recheck(module, mine)
            diffs += mine
        return report(peer, runs, diffs, notes, t0)
    finally:
        shutil.rmtree(peer.work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
