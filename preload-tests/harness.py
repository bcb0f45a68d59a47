"""What the /etc/ld.so.preload scenarios share: reading what the stand-ins report (dump.c,
app/dist/index.js, gateway.c) and the shim's log, and the checks on a server's environment.
(Running a command in the namespace is namespace.py's job.)
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

# The shim's block (README, "The block").
BLOCK = """HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY http_proxy https_proxy all_proxy no_proxy grpc_proxy
NODE_USE_ENV_PROXY NODE_EXTRA_CA_CERTS DENO_CERT SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE
CURL_CA_BUNDLE GIT_SSL_CAINFO PIP_CERT AWS_CA_BUNDLE NPM_CONFIG_CAFILE""".split()
# What an MCP SDK passes to a stdio server besides its declared env (gateway.c does the same).
SDK_DEFAULTS = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")


class Checks:
    """Collects failed checks; a scenario passes when there are none."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def __call__(self, ok: object, what: str) -> bool:
        if not ok:
            self.failed.append(what)
        return bool(ok)


# --- what the stand-ins report ------------------------------------------------------------------

@dataclass
class Dump:
    pid: int = 0
    ppid: int = 0
    head: dict = field(default_factory=dict)
    maps: list[str] = field(default_factory=list)
    env: dict = field(default_factory=dict)
    raw_env: list[str] = field(default_factory=list)

    def loaded(self, lib: Path) -> bool:
        real = os.path.realpath(lib)
        return any(os.path.realpath(m) == real for m in self.maps if os.path.exists(m))


def parse_dump(data: bytes) -> Dump:
    """The records dump.c and app/dist/index.js write: header records, "env", entries."""
    d = Dump()
    records = data.decode(errors="surrogateescape").split("\0")
    if records and records[-1] == "":
        records.pop()
    in_env = False
    for rec in records:
        if in_env:
            d.raw_env.append(rec)
            key, _, value = rec.partition("=")
            d.env[key] = value
        elif rec == "env":
            in_env = True
        elif rec.startswith("map="):
            d.maps.append(rec[4:])
        else:
            key, _, value = rec.partition("=")
            d.head[key] = value
    d.pid, d.ppid = int(d.head.get("pid", 0)), int(d.head.get("ppid", 0))
    return d


@dataclass
class Child:
    n: int
    pid: int
    status: int
    dump: Dump


@dataclass
class GatewayRun:
    pid: int
    children: list[Child]


def read_gateway(out: Path) -> GatewayRun:
    """gateway.txt and child-N.out, as gateway.c writes them."""
    pid, children = 0, []
    report = out / "gateway.txt"
    for line in (report.read_text().splitlines() if report.exists() else []):
        words = dict(w.split("=", 1) for w in line.split()[1:] if "=" in w)
        if line.startswith("gateway "):
            pid = int(words["pid"])
        elif line.startswith("child "):
            n = int(line.split()[1])
            data = out / f"child-{n}.out"
            children.append(Child(n, int(words["pid"]), int(words["status"]),
                                  parse_dump(data.read_bytes() if data.exists() else b"")))
    return GatewayRun(pid, children)


def json_lines(data: bytes) -> list[dict]:
    """The JSON objects among the lines of a log or a stderr capture (other lines ignored)."""
    found = []
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                found.append({"event": "unparsed", "line": line})
    return found


def shim_lines(log: Path, stderr: bytes = b"") -> list[dict]:
    """Every shim line of a scenario: from its log file and from the captured stderr."""
    lines = json_lines(log.read_bytes()) if log.exists() else []
    return lines + [dict(line, _on="stderr") for line in json_lines(stderr)]


def brief(line: dict) -> str:
    keys = line.get("injected") or []
    return (f"{line.get('event')} via {line.get('via')} pid {line.get('pid')} ppid {line.get('ppid')} "
            f"reason {line.get('reason')} from {line.get('from')} ({len(keys)} keys)")


# --- checks on one started server ---------------------------------------------------------------

def check_started(c: Checks, child: Child, lib: Path, what: str) -> bool:
    """The child ran, reported itself, and (the premise of every check after) has the library
    loaded, so a failure below is the library's doing and not the mechanism's."""
    ok = c(child.status == 0 and child.dump.pid == child.pid and child.pid > 0,
           f"{what}: ran and reported itself (pid {child.pid}, status {child.status}, reported pid {child.dump.pid})")
    return ok and c(child.dump.loaded(lib), f"{what}: has {lib.name} loaded through /etc/ld.so.preload "
                                            f"(maps: {[Path(m).name for m in child.dump.maps]})")


def check_healed(c: Checks, what: str, child: Child, given: dict, parent_env: dict, parent_pid: int,
                 lines: list[dict], via: str, reason: str | None, values: dict | None = None) -> dict:
    """`child` was started with exactly `given` by a parent whose environment is `parent_env`.
    It must end up with `given` plus the parent's block (each key the parent has, with the
    parent's value; a key the parent lacks only with a value the parent has for a sibling), never
    a changed key, and exactly one inject line (pid = the child's, ppid = the parent's) that lists
    exactly what was added. `values`, if given, replaces the parent's block as the only source."""
    env = child.dump.env
    source = values if values is not None else {k: v for k, v in parent_env.items() if k in BLOCK}
    changed = sorted(k for k in given if env.get(k) != given[k])
    c(not changed, f"{what}: kept every key it was given with its value (changed or gone: {changed})")
    added = {k: v for k, v in env.items() if k not in given}
    lacking = sorted(k for k in source if k in BLOCK and k not in given and k not in added)
    c(not lacking, f"{what}: has the block in its own environment (lacks {len(lacking)} of "
                   f"{len(source)}: {' '.join(lacking)})")
    wrong = sorted(k for k, v in added.items() if k in source and v != source[k])
    c(not wrong, f"{what}: each added key has the {'configured' if values is not None else 'parent' + chr(39) + 's'} value (differs: {wrong})")
    # NODE_USE_ENV_PROXY=1 is implied by an added proxy key when no source has a value of it.
    implied = any(k.lower().endswith("_proxy") and k.lower() != "no_proxy" for k in added)
    foreign = sorted(k for k, v in added.items() if k not in source and (k not in BLOCK or v not in source.values())
                     and not (implied and k == "NODE_USE_ENV_PROXY" and v == "1"))
    c(not foreign, f"{what}: nothing else added (a key outside the block, or a value not from the source: {foreign})")
    mine = [l for l in lines if l.get("pid") == child.pid]
    c(len(mine) == 1, f"{what}: exactly one log line with its pid {child.pid} (has {len(mine)}: "
                      f"{'; '.join(brief(l) for l in mine) or 'none'})")
    line = mine[0] if mine else {}
    if line:
        c(line.get("event") == "inject" and line.get("via") == via,
          f"{what}: the line is an inject line via {via} (is: {brief(line)})")
        c(line.get("ppid") == parent_pid, f"{what}: its ppid {line.get('ppid')} is the parent's pid {parent_pid}")
        if reason:
            c(line.get("reason") == reason, f"{what}: its reason is {reason} (is {line.get('reason')})")
        c(set(line.get("injected") or []) == set(added),
          f"{what}: its injected list is what was added (logged {sorted(line.get('injected') or [])}, "
          f"added {sorted(added)})")
    return line


def check_untouched(c: Checks, what: str, child: Child, given: dict, lines: list[dict]) -> None:
    """`child` has exactly the environment it was started with, and no line names it."""
    got = child.dump.raw_env
    want = [f"{k}={v}" for k, v in given.items()]
    c(sorted(got) == sorted(want), f"{what}: its environment is exactly what it was given "
                                   f"(added: {sorted(set(got) - set(want))}, lost: {sorted(set(want) - set(got))})")
    mine = [l for l in lines if l.get("pid") == child.pid]
    c(not mine, f"{what}: no log line names its pid {child.pid} (got: {'; '.join(brief(l) for l in mine)})")
