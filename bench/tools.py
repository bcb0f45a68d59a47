"""Helpers for bench.py: running commands in an exact environment, reading callgrind's output,
the statistics of the wall-time files, number formatting, and tables.

Every statistic here reproduces what bench/run.sh (the shell harness this replaced) computed,
to the rounding: medians are the upper middle of an odd count and the lower middle of an even
one, as `a[int((NR + 1) / 2)]` was, and figures are rounded once, where run.sh printed them.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

Env = list[tuple[str, str]]  # ordered: the order is the child's envp order


def run_in(env: Env, cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """Runs cmd with exactly env (in that order), as `env -i K=V... cmd` did."""
    return subprocess.run(cmd, env=dict(env), check=kw.pop("check", True), **kw)


def median(values: list[float]) -> float:
    s = sorted(values)
    return s[(len(s) + 1) // 2 - 1]


def fmt(n: int | str) -> str:
    """Thousands separators: 123456 -> 123,456; anything not an integer is left as it is."""
    if isinstance(n, int):
        return f"{n:,}"
    return n


def trunc_div(a: int, b: int) -> int:
    """Integer division toward zero, as the shell's $(( a / b ))."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


# --- callgrind ------------------------------------------------------------------------------
def cg_pid(log: Path) -> str:
    m = re.match(r"==(\d+)==", log.read_text().split("\n", 1)[0])
    return m.group(1) if m else ""


def _cg_number(log: Path, pattern: str) -> int:
    for line in log.read_text().splitlines():
        if re.search(pattern, line):
            return int(line.split(":")[-1].strip().replace(",", ""))
    raise SystemExit(f"bench: no '{pattern}' in {log}")


def cg_collected(log: Path) -> int:
    return _cg_number(log, r"Collected :")


def cg_total(log: Path) -> int:
    return _cg_number(log, r"I +refs:")


def cg_part_total(out: Path) -> int | None:
    for line in out.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    return None


def annotate(out: Path, inclusive: bool) -> list[str]:
    r = subprocess.run(
        ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", str(out)],
        capture_output=True,
        text=True,
    )
    return r.stdout.splitlines()


_IR = re.compile(r"^ *([0-9,]+) +")
_PCT = re.compile(r"^\([^)]*\) +")


def shim_fns(out: Path, so_name: str, inclusive: bool = True) -> list[tuple[int, str]]:
    """(Ir, function) for the functions of the shim's object in a callgrind profile."""
    rows = []
    for line in annotate(out, inclusive):
        fields = line.split()
        if not fields or not re.fullmatch(r"[0-9,]+", fields[0]):
            continue
        # valgrind names no object for code outside a section it knows as text (the shim's
        # .text.load, src/load.ld): its functions are known by their crates' names.
        ours = f"/{so_name}]" in line or (line.rstrip().endswith("[???]") and "mcp_env_shim" in line)
        if not ours:
            continue
        ir = int(fields[0].replace(",", ""))
        name = _PCT.sub("", _IR.sub("", line, count=1), count=1)
        name = re.sub(r" \[(/[^ ]*|\?\?\?)\] *$", "", name)
        name = re.sub(r"^[^:]*:", "", name, count=1)
        rows.append((ir, name))
    return rows


def fn_self(out: Path) -> list[tuple[int, str, str]]:
    """(self Ir, function, object basename or '') for every function of a profile."""
    rows = []
    for line in annotate(out, inclusive=False):
        fields = line.split()
        if not fields or not re.fullmatch(r"[0-9,]+", fields[0]) or ":" not in line:
            continue
        ir = int(fields[0].replace(",", ""))
        name = _PCT.sub("", _IR.sub("", line, count=1), count=1)
        obj = ""
        m = re.search(r" \[/[^ ]*\]$", name)
        if m:
            obj = os.path.basename(name[m.start() + 2 : m.end() - 1])
            name = name[: m.start()]
        name = re.sub(r"^[^:]*:", "", name, count=1)
        rows.append((ir, name, obj))
    return rows


def top(rows: list[tuple], n: int = 12) -> list[tuple]:
    """Largest first; ties in the order `sort -k1,1nr` leaves them (by the rest of the line)."""
    return sorted(rows, key=lambda r: (-r[0], "\t".join(str(x) for x in r[1:])))[:n]


def short(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 3] + "..."


# --- wall-time files: one "ns faults" line per spawn ----------------------------------------
def read_wall(path: Path) -> list[tuple[int, int]]:
    rows = []
    for line in path.read_text().splitlines():
        a, b = line.split()
        rows.append((int(a), int(b)))
    return rows


def median_us(path: Path) -> str:
    return f"{median([t for t, _ in read_wall(path)]) / 1000:.1f}"


def paired_us(with_: Path, without: Path) -> str:
    """Median of (spawn i with the shim - spawn i without), in µs."""
    a, b = read_wall(with_), read_wall(without)
    return f"{median([x[0] - y[0] for x, y in zip(a, b)]) / 1000:+.1f}"


def mean_faults(path: Path) -> str:
    rows = read_wall(path)
    return f"{(sum(f for _, f in rows) / len(rows)) if rows else 0:.1f}"


def wall_figures(with_: Path, without: Path) -> tuple[str, str, str, str, str, str]:
    """with µs, without µs, diff, paired diff, ratio (1 + paired diff / without), faults."""
    mw, mwo = median_us(with_), median_us(without)
    diff = f"{float(mw) - float(mwo):+.1f}"
    pdiff = paired_us(with_, without)
    ratio = f"{1 + float(pdiff) / float(mwo):.3f}"
    faults = f"{mean_faults(with_)} / {mean_faults(without)}"
    return mw, mwo, diff, pdiff, ratio, faults


# --- tables -----------------------------------------------------------------------------------
@dataclass
class Table:
    """Rows of cells; the first two columns are text (left-aligned), the others figures."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])

    def text(self) -> str:
        allrows = [self.header, *self.rows]
        width = [max(len(r[i]) for r in allrows if i < len(r)) for i in range(len(self.header))]
        out = []
        for r in allrows:
            cells = [f"{c:<{width[i]}}" if i < 2 else f"{c:>{width[i]}}" for i, c in enumerate(r)]
            out.append("  " + "  ".join(cells).rstrip())
        return "\n".join(out)

    def markdown(self) -> str:
        out = ["| " + " | ".join(self.header) + " |"]
        out.append("|" + "".join(" --- |" if i < 2 else " ---: |" for i in range(len(self.header))))
        out += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(out)

    def tsv(self) -> str:
        return "\n".join("\t".join(r) for r in [self.header, *self.rows]) + "\n"
