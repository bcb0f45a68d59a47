"""Runs a command in a new private mount namespace whose /etc shows files of our choosing (above
all /etc/ld.so.preload): `unshare -m` as root, `unshare -rm` otherwise, then nsetc.py inside.
Shared by run.py and integration/scenarios_codex.py (which loads this file by its path).
"""

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

NSETC = Path(__file__).resolve().parent / "nsetc.py"


def unshare_argv() -> list[str]:
    """`unshare -m` as root; `unshare -rm` (a user namespace mapping us to root) otherwise."""
    base = ["unshare", "--mount", "--propagation", "private"]
    return base if os.geteuid() == 0 else base[:1] + ["--map-root-user"] + base[1:]


def namespace_problem(scratch: Path) -> str | None:
    """None if a private mount namespace with /etc/ld.so.preload bind-mounted in it can be made
    here (a dry run of the whole mechanism, with an empty preload file), else what went wrong:
    the caller must fail loudly, since nothing can be tested without it."""
    try:
        probe = subprocess.run(unshare_argv() + ["--", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"{' '.join(unshare_argv())} true: {err}"
    if probe.returncode != 0:
        return f"{' '.join(unshare_argv())} true exited {probe.returncode}: {probe.stderr.decode(errors='replace').strip()}"
    scratch.mkdir(parents=True, exist_ok=True)
    empty = scratch / "empty.preload"
    empty.write_text("")
    dry = ns_run(scratch, {"ld.so.preload": empty}, ["cat", "/etc/ld.so.preload"], {"PATH": "/usr/bin:/bin"})
    if dry.rc != 0:
        return f"nsetc.py could not show a file as /etc/ld.so.preload: {dry.stderr.decode(errors='replace').strip()[-500:]}"
    return None


@dataclass
class NsRun:
    rc: int
    stdout: bytes
    stderr: bytes
    out: Path


def ns_run(out: Path, etc: dict[str, Path], argv: list[str], env: dict[str, str], cwd: Path | None = None,
           timeout: float = 120, note_group: Callable[[int], None] | None = None) -> NsRun:
    """Runs argv with exactly env in a new private mount namespace where /etc/REL shows the file
    etc[REL] (a bind mount); the namespace ends with the command. stdout/stderr go to out/. The
    command runs in a process group of its own (note_group(pgid) is told of it), killed whole if
    it outlives `timeout` or leaves children behind."""
    out.mkdir(parents=True, exist_ok=True)
    stage = out / "ns-stage"
    stage.mkdir(exist_ok=True)
    spec = {"etc": {rel: str(src) for rel, src in etc.items()}, "argv": argv, "env": env,
            "cwd": str(cwd or out), "stage": str(stage), "outer_mnt_ns": os.readlink("/proc/self/ns/mnt")}
    (out / "nsetc.json").write_text(json.dumps(spec, indent=1))
    cmd = unshare_argv() + ["--", sys.executable, "-I", str(NSETC), str(out / "nsetc.json")]
    with open(out / "stdout", "wb") as so, open(out / "stderr", "wb") as se:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=so, stderr=se, start_new_session=True,
                                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        if note_group:
            note_group(proc.pid)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = -9
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return NsRun(rc, (out / "stdout").read_bytes(), (out / "stderr").read_bytes(), out)


def preload_state() -> str:
    """The real /etc/ld.so.preload as a comparable string: absent, or its content and inode."""
    path = Path("/etc/ld.so.preload")
    if not path.exists():
        return "absent"
    st = path.stat()
    return f"present ino={st.st_ino} mtime={st.st_mtime_ns} content={path.read_bytes()!r}"


