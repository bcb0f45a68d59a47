"""What every peer suite gives the harness: runs of units (a CPython test module, a directory of
Node test files) in one configuration, as {test id: outcome}.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

BASE = "base"  # the configuration without the shim; the others are named by their mode


@dataclass
class Run:
    """One run of one unit of a suite in one configuration."""

    suite: str
    config: str  # BASE or a mode
    unit: str
    outcomes: dict[str, str]  # test id -> outcome
    failures: dict[str, str] = field(default_factory=dict)  # test id -> failure text
    status: str = "completed"  # how the run itself ended: "completed", "timeout", "exit N", ...
    seconds: float = 0.0
    shim_lines: int = 0  # lines of the shim's log in the run's own stderr

    def all_outcomes(self) -> dict[str, str]:
        out = dict(self.outcomes)
        # How the run itself ended, as an outcome of its own: a crash or a hang of the
        # interpreter shows here even when no test line says so.
        out[f"{self.unit} [run]"] = self.status
        return out


def exit_status(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def count_shim_lines(stderr: bytes) -> int:
    return sum(1 for line in stderr.splitlines() if line.startswith(b'{"ts":'))
