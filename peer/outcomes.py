"""Per-test outcomes from the verbose output of CPython's regrtest (`python -m test -v MODULE`).

unittest's verbose runner writes, for each test, its description (`name (full.id)`, and on a
second line the first line of its docstring, if any), then ` ... `, then the test's own output
and that of its children, if any, then one status: `ok`, `FAIL`, `ERROR`, `skipped 'why'`,
`expected failure`, `unexpected success`. A failed subtest gets a line of its own, indented, with
its parameters after the description. At the end come the failure texts, each between a line of
`=` and the next, headed `FAIL: description` or `ERROR: description`.

`parse()` turns that into {test id: outcome}, with outcomes normalised to the words above
(`skipped` without its reason), plus the failure texts by test id. A test whose status cannot
be found is `unparsed`: that too is an outcome, compared like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

OK, FAIL, ERROR, SKIPPED = "ok", "FAIL", "ERROR", "skipped"
XFAIL, XPASS, UNPARSED, MISSING = "expected failure", "unexpected success", "unparsed", "missing"

# Worst first: a test with a failed subtest and an error in its body is ERROR.
_RANK = {ERROR: 0, FAIL: 1, UNPARSED: 2, XPASS: 3, XFAIL: 4, SKIPPED: 5, OK: 6}

# `test_x (test.test_os.Cls.test_x)`, optionally followed by a subtest's ` [msg]` or
# ` (param=1)` and by ` ... ` and whatever came next. `setUpClass (test.test_os.Cls)` too.
_HEAD = re.compile(
    r"^(?P<indent> {2})?(?P<name>[A-Za-z_]\w*) \((?P<where>[A-Za-z_][\w.]*)\)"
    r"(?P<sub> \[.*?\]| \(.*?\))?(?P<dots> \.\.\. (?P<rest>.*))?$"
)
_STATUS = re.compile(r"(ok|FAIL|ERROR|expected failure|unexpected success|skipped (['\"]).*\2)$")
_FAILURE_HEAD = re.compile(r"^(FAIL|ERROR): (?P<desc>.*)$")
_RESULT = re.compile(r"^== Tests result: (?P<result>[A-Z ,]+?) ==$")


def test_id(name: str, where: str) -> str:
    """The unittest id: Python 3.11 prints `name (module.Class.name)`, older ones `(module.Class)`."""
    if where == name or where.endswith("." + name):
        return where
    return f"{where}.{name}"


def _status_word(status: str) -> str:
    return SKIPPED if status.startswith("skipped") else status


def _worse(a: str | None, b: str) -> str:
    if a is None:
        return b
    return a if _RANK.get(a, 0) <= _RANK.get(b, 0) else b


@dataclass
class Parsed:
    """What one regrtest run said."""

    outcomes: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)  # test id -> failure text
    result: str | None = None  # regrtest's own verdict (`SUCCESS`, `FAILURE`, ...), if printed


def _status_in(line: str) -> str | None:
    """The status a line ends with: the whole line, or the tail after a child's output."""
    s = line.strip()
    m = _STATUS.search(s)
    if not m:
        return None
    if m.start() == 0:
        return _status_word(m.group(1))
    # Output without a final newline, then the status (`hi thereok`): accept the long words
    # only; a bare `ok` at the end of some output is too easily a coincidence.
    word = _status_word(m.group(1))
    return word if word != OK else None


def parse(text: str) -> Parsed:
    out = Parsed()
    lines = text.splitlines()
    i = 0
    current: str | None = None  # the test whose status is awaited
    fallback: str | None = None  # a status found at the end of some output, if nothing better
    in_failures = False

    def settle(tid: str | None, status: str | None) -> None:
        if tid is None:
            return
        out.outcomes[tid] = _worse(out.outcomes.get(tid), status or UNPARSED)

    while i < len(lines):
        line = lines[i]
        if line.startswith("=" * 70):
            # The failure texts: the test runs are over.
            settle(current, fallback)
            current, fallback = None, None
            in_failures = True
            i = _read_failure(lines, i, out)
            continue
        if line.startswith("-" * 70):
            in_failures = False
        m = None if in_failures else _HEAD.match(line)
        if m is not None:
            tid = test_id(m.group("name"), m.group("where"))
            if current != tid or fallback is not None:
                # A subtest's line, or the test's own status after its subtests' lines, does
                # not end the wait for the same test.
                settle(current, fallback)
            current, fallback = None, None
            rest = m.group("rest")
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if m.group("dots") is None and " ... " in nxt and not _HEAD.match(nxt):
                rest = nxt.split(" ... ", 1)[1]  # the docstring's first line came in between
                i += 1
            i += 1
            exact = _STATUS.fullmatch(rest.strip()) if rest else None
            if exact:
                # A failed subtest's line says nothing of its siblings: its parent is at
                # least this bad, and the parent's own status, if any, comes later.
                settle(tid, _status_word(exact.group(1)))
            elif m.group("indent") and m.group("sub"):
                settle(tid, _status_in(rest or ""))
            else:
                current, fallback = tid, _status_in(rest) if rest else None
            continue
        if current is not None:
            s = line.strip()
            m3 = _STATUS.fullmatch(s)
            if m3:
                settle(current, _status_word(m3.group(1)))
                current, fallback = None, None
            elif fallback is None:
                fallback = _status_in(line)
        r = _RESULT.match(line)
        if r:
            out.result = r.group("result")
        i += 1
    settle(current, fallback)
    return out


def _read_failure(lines: list[str], i: int, out: Parsed) -> int:
    """Reads one `=====` block (i is its first line); returns the index of the next line to read."""
    i += 1
    if i >= len(lines):
        return i
    m = _FAILURE_HEAD.match(lines[i])
    if not m:
        return i
    desc = m.group("desc")
    i += 1
    if i < len(lines) and not lines[i].startswith("-" * 70):
        desc = f"{desc}\n{lines[i]}"  # the docstring's first line
        i += 1
    i += 1  # the ---- line
    body = []
    while i < len(lines) and not lines[i].startswith("=" * 70) and not lines[i].startswith("-" * 70):
        body.append(lines[i])
        i += 1
    while body and not body[-1].strip():
        body.pop()
    hm = _HEAD.match(desc.split("\n", 1)[0])
    if hm:
        tid = test_id(hm.group("name"), hm.group("where"))
        text = "\n".join(body)
        prev = out.failures.get(tid)
        out.failures[tid] = text if prev is None else f"{prev}\n---\n{text}"
    return i


def exception_lines(text: str, n: int = 6) -> list[str]:
    """The first lines of the exception a failure text ends with (after its traceback frames)."""
    lines = text.splitlines()
    start = 0
    for k, line in enumerate(lines):
        if line.startswith("  File "):
            start = k + 1
            # the frame's source line(s) and carets follow, indented
            while start < len(lines) and lines[start].startswith("    "):
                start += 1
    picked = [line for line in lines[start:] if line.strip()][:n]
    return picked or lines[:n]
