"""Starts and stops the test's background processes, and waits on readiness without fixed sleeps.

Each background process gets its own process group (start_new_session), recorded in a pgid file
so that run.sh's trap can still kill it if this Python process dies without cleaning up; stop_all
kills every group (TERM, then KILL after a deadline) and empties the file.
"""

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable


class Procs:
    def __init__(self, pgid_file: Path) -> None:
        self.pgid_file = pgid_file
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], log: Path, env: dict | None = None, cwd: Path | None = None) -> subprocess.Popen:
        out = open(log, "ab")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                env=env, cwd=cwd, start_new_session=True)
        out.close()
        self.started.append((name, proc))
        self.note_group(proc.pid)
        return proc

    def note_group(self, pgid: int) -> None:
        """Lists a process group for run.sh's trap (also used for the gateways' groups)."""
        with open(self.pgid_file, "a") as f:
            f.write(f"{pgid}\n")

    def stop_all(self, grace: float = 5.0) -> None:
        for _, proc in self.started:
            _killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _, proc in self.started:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _killpg(proc.pid, signal.SIGKILL)  # the group may hold children that outlived the leader
            proc.poll()
        self.started.clear()
        self.pgid_file.write_text("")


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def wait_until(what: str, ready: Callable[[], object], timeout: float, alive: subprocess.Popen | None = None,
               log: Path | None = None) -> object:
    """Polls `ready` until it returns something truthy; fails fast if `alive` exits meanwhile."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = ready()
        if value:
            return value
        if alive is not None and alive.poll() is not None:
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"{what}: process exited with {alive.returncode} before it was ready\n{tail}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready after {timeout}s")
        time.sleep(delay)  # polling interval, not a wait for something to happen
        delay = min(delay * 2, 0.2)


def pid_alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
