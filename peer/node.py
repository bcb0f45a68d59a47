"""The Node suite: Node.js's own `test/parallel/test-child-process-*` tests, one process each.

npm does not publish Node's test suite; Debian's source archive does (the `nodejs` source
package). `fetch()` downloads its upstream tarball with `apt-get source --download-only`, through
a private apt state under peer/.cache (the machine's /etc/apt is only read, to reuse its
mirrors), checks it against the pinned SHA-256 and keeps it there. Debian bookworm's source is
Node 18; its child_process tests run on the machine's Node (20 here) as they are, and a test that
fails without the shim too is simply the same outcome on both sides.

A test file's outcome is `ok` (exit 0), `skipped` (exit 0 after `1..0 # Skipped`), `FAIL` (exit
non-zero), `timeout`, or `killed by SIGX`. Flags a file asks for on its `// Flags:` line are
passed as Node's own runner passes them, and so is TEST_THREAD_ID (two files run at once).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from suite import Run, count_shim_lines, exit_status

# Debian bookworm's nodejs source; its orig tarball is shared by every Debian revision of it.
NODE_VERSION = "18.20.4+dfsg"
ORIG = f"nodejs_{NODE_VERSION}.orig.tar.xz"
ORIG_SHA256 = "6ce58062c71eae37d9c5ac31eeaeff9c2d48561d21c2849179d056c9c1bd9ebc"
UNIT = "test-child-process-*"
FILE_TIMEOUT = 120  # seconds for one test file
JOBS = 2  # files run at once (the machine has 2 cores); the CPython modules run one at a time


def deb_src_sources() -> str:
    """The machine's Debian mirrors (deb822 `.sources` and one-line lists), as deb-src entries."""
    out = []
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if ":" in line and not line.startswith("#")
            )
            if "deb" in fields.get("Types", "").split() and fields.get("Enabled", "yes").strip() != "no":
                lines = [f"{k}:{v}" for k, v in fields.items() if k != "Types"]
                out.append("Types: deb-src\n" + "\n".join(lines))
    one_line = Path("/etc/apt/sources.list")
    if one_line.exists():
        for line in one_line.read_text().splitlines():
            if line.startswith("deb "):
                out.append("deb-src " + line[4:])
    return "\n\n".join(out) + "\n"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(cache: Path) -> Path:
    """The pinned tarball of Node's sources, downloaded once into cache."""
    tarball = cache / ORIG
    if tarball.exists() and sha256(tarball) == ORIG_SHA256:
        return tarball
    if shutil.which("apt-get") is None:
        raise SystemExit("peer: FAIL: Node's tests come from Debian's nodejs source package, and apt-get is missing")
    apt = cache / "apt"
    for d in ("sources", "lists/partial", "cache"):
        (apt / d).mkdir(parents=True, exist_ok=True)
    sources = deb_src_sources()
    (apt / "sources" / "deb-src.sources").write_text(sources if "deb-src" in sources else "")
    opts = [
        "-o", "Dir::Etc::SourceList=/dev/null",
        "-o", f"Dir::Etc::SourceParts={apt / 'sources'}",
        "-o", f"Dir::State::Lists={apt / 'lists'}",
        "-o", f"Dir::Cache={apt / 'cache'}",
        "-qq",
    ]  # fmt: skip
    print("peer: downloading Node's sources (Debian source package nodejs, about 30 MB)", flush=True)
    subprocess.run(["apt-get", *opts, "update"], check=False, timeout=600)
    # apt-get may fail on a file of the package that Node's tests do not need (the .dsc of an
    # older Debian revision): what counts is the tarball and its hash.
    subprocess.run(["apt-get", *opts, "source", "--download-only", "nodejs"], cwd=cache, check=False, timeout=600)
    if not tarball.exists():
        got = ", ".join(p.name for p in cache.glob("nodejs_*.orig.tar.*")) or "nothing"
        raise SystemExit(
            f"peer: FAIL: Debian's nodejs source did not give {ORIG} (got {got}); if Debian moved to a "
            "new Node, pin its version and SHA-256 in peer/node.py"
        )
    if sha256(tarball) != ORIG_SHA256:
        raise SystemExit(f"peer: FAIL: {tarball} does not have the pinned SHA-256 {ORIG_SHA256}")
    return tarball


class NodeSuite:
    name = "node"

    def __init__(self, cache: Path, work: Path):
        self.cache = cache
        self.root = work / f"node-v{NODE_VERSION.split('+')[0]}"
        self.units = [UNIT]
        self.node = shutil.which("node") or "node"

    def describe(self) -> str:
        r = subprocess.run([self.node, "--version"], capture_output=True, text=True)
        return f"{self.node} ({r.stdout.strip() or '?'}): Node {NODE_VERSION}'s test/parallel/{UNIT}"

    def check(self, env: dict[str, str]) -> None:
        if shutil.which("node") is None:
            raise SystemExit("peer: FAIL: no node on PATH for Node's child_process tests")
        tarball = fetch(self.cache)
        # Extracted outside the checkout, into the run's work directory: the tests' children run
        # scripts by absolute path, and a clone under a folder named mcp-env-shim must not make
        # them look like MCP servers.
        members = [f"{self.root.name}/test/common", f"{self.root.name}/test/fixtures"]
        subprocess.run(
            ["tar", "-xJf", str(tarball), "-C", str(self.root.parent), "--wildcards", *members,
             f"{self.root.name}/test/parallel/{UNIT}"],
            check=True,
        )  # fmt: skip
        if not self.files():
            raise SystemExit(f"peer: FAIL: no {UNIT} files in {tarball}")

    def files(self) -> list[Path]:
        return sorted(p for p in (self.root / "test" / "parallel").glob(UNIT) if p.suffix in (".js", ".mjs"))

    def run(self, env: dict[str, str], work: Path, logs: Path, config: str, unit: str, match: list[str] | None) -> Run:
        files = [p for p in self.files() if match is None or p.name in match]
        ids = iter(range(JOBS))
        local = threading.local()

        def worker_start() -> None:
            local.id = next(ids)

        def one(path: Path) -> tuple[str, str, bytes]:
            m = re.search(r"^// Flags: (.*)$", path.read_text(errors="replace"), re.M)
            cmd = [self.node, *(m.group(1).split() if m else []), str(path)]
            # As Node's own runner does with -j: each worker its own test/.tmp.N directory.
            wenv = dict(env, TEST_THREAD_ID=str(local.id))
            try:
                p = subprocess.run(
                    cmd, stdin=subprocess.DEVNULL, capture_output=True, env=wenv, cwd=self.root, timeout=FILE_TIMEOUT
                )
                rc, out, err = p.returncode, p.stdout, p.stderr
                outcome = "ok" if rc == 0 else "FAIL" if rc > 0 else exit_status(rc)
                if rc == 0 and re.search(rb"^1\.\.0 # Skipped", out, re.M):
                    outcome = "skipped"
            except subprocess.TimeoutExpired as e:
                out, err, outcome = e.stdout or b"", e.stderr or b"", "timeout"
            (logs / f"{path.name}.out").write_bytes(out)
            (logs / f"{path.name}.err").write_bytes(err)
            return path.name, outcome, err

        start = time.monotonic()
        outcomes: dict[str, str] = {}
        failures: dict[str, str] = {}
        shim_lines = 0
        with ThreadPoolExecutor(JOBS, initializer=worker_start) as pool:
            for name, outcome, err in pool.map(one, files):
                outcomes[name] = outcome
                shim_lines += count_shim_lines(err)
                if outcome != "ok":
                    failures[name] = err.decode(errors="replace")
        return Run(self.name, config, unit, outcomes, failures, "completed", time.monotonic() - start, shim_lines)

    @staticmethod
    def failure_lines(text: str) -> list[str]:
        """From the first line that names an error (Node prints the throwing source line first)."""
        lines = [line for line in text.splitlines() if line.strip()]
        for k, line in enumerate(lines):
            if re.search(r"\b\w*Error\b", line) and not line.startswith(" "):
                return lines[k : k + 6]
        return lines[:6]
