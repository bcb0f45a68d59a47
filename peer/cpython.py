"""The CPython suite: `PY -m test -v MODULE`, the interpreter's own regression tests.

pyenv and source builds ship the `test` package; Debian ships it apart (libpython3.X-testsuite).
Where it is missing, `check()` says so and the target fails: a peer run that tests nothing must
not pass.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from outcomes import exception_lines, parse
from suite import Run, count_shim_lines, exit_status

MODULES = [
    "test_subprocess",
    "test_os",
    "test_posix",
    "test_pty",
    "test_signal",
    "test_asyncio.test_subprocess",
]
RUN_TIMEOUT = 900  # seconds for one module; regrtest's own --timeout dumps the stacks first


class CPythonSuite:
    name = "cpython"

    def __init__(self, python: str, modules: list[str], resources: str):
        self.python = python
        self.units = modules
        self.resources = resources

    def describe(self) -> str:
        r = subprocess.run([self.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True)
        use = f" -u {self.resources}" if self.resources else ""
        return f"{self.python} ({r.stdout.strip() or '?'}) -m test -v{use}: {' '.join(self.units)}"

    def check(self, env: dict[str, str]) -> None:
        missing = []
        for module in self.units:
            code = (
                "import importlib.util, sys\n"
                "import test.libregrtest\n"
                f"sys.exit(0 if importlib.util.find_spec('test.{module}') else 1)\n"
            )
            if subprocess.run([self.python, "-c", code], capture_output=True, env=env).returncode != 0:
                missing.append(module)
        if missing:
            raise SystemExit(
                f"peer: FAIL: {self.python} has no CPython test package for {', '.join(missing)} "
                "(Debian ships it apart, as libpython3.X-testsuite; pyenv and source builds have it). "
                "Install it, or point PEER_PYTHON at an interpreter that has it."
            )

    def run(self, env: dict[str, str], work: Path, logs: Path, config: str, unit: str, match: list[str] | None) -> Run:
        tmp = work / "tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        cmd = [self.python, "-m", "test", "-v", "--timeout", str(RUN_TIMEOUT - 60)]
        if self.resources:
            cmd += ["-u", self.resources]
        for test in match or []:
            cmd += ["-m", pattern_for(test)]
        cmd.append(unit)
        out_path = logs / f"{unit}.out"
        start = time.monotonic()
        with open(out_path, "wb") as out:
            # stdout (the verbose report) to a file, stderr to a pipe this harness drains: two
            # different descriptors, as a gateway's usually are.
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, env=env, cwd=tmp)
            try:
                _, err = p.communicate(timeout=RUN_TIMEOUT)
                status = exit_status(p.returncode)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
                status = "timeout"
        seconds = time.monotonic() - start
        (logs / f"{unit}.err").write_bytes(err)
        parsed = parse(out_path.read_text(errors="replace"))
        if parsed.result is not None and status in ("exit 0", "exit 2"):
            status = "completed"  # regrtest ran to its end (2: some test failed, said per test)
        if parsed.result is not None and "ENV CHANGED" in parsed.result:
            status = "env changed"
        return Run(self.name, config, unit, parsed.outcomes, parsed.failures, status, seconds, count_shim_lines(err))

    @staticmethod
    def failure_lines(text: str) -> list[str]:
        return exception_lines(text)


def pattern_for(test: str) -> str:
    """A regrtest -m pattern for a test id; a class fixture's error selects its whole class."""
    module_class, _, name = test.rpartition(".")
    if name in ("setUpClass", "tearDownClass", "setUpModule", "tearDownModule"):
        return module_class + ".*"
    return test
