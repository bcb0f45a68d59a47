"""The prose around the figures: the plain-text report (bench/out/report.txt, also printed) and the
markdown section for the top-level README (bench/out/README-section.md)."""

from __future__ import annotations

from report import T_ALONE, T_INJECT, T_LOAD, T_NOT_MCP, T_NOT_MCP_WALL, T_RATIO, T_REGRESSION
from tools import fmt


def _wall_n(r) -> int:
    first = r.b.wall_series()[0][0]
    return len((r.out / "wall" / f"{first}.with").read_text().splitlines())


def _load_n(r) -> int:
    return len((r.out / "wall" / "loadwall.floor.with").read_text().splitlines())


def text(r, info: dict) -> str:
    b, f = r.b, info["facts"]
    lines = [
        f"mcp-env-shim benchmark — {info['now']:%Y-%m-%dT%H:%MZ}",
        f"machine: {info['machine']}",
        f"shim:    {b.shim} ({f['bytes']} bytes)",
        f"parent:  {b.n_parent_env} environment variables incl. the sandbox proxy/CA block; child envp: HOME LOGNAME PATH SHELL TERM USER",
        info["perf"],
        f"sanity:  {' '.join(b.sanity)}",
        "",
        f"1. Instructions the shim adds per spawn (callgrind, user space; K={b.k_spawn} spawns / K={b.k_exec} failing execve after one warm-up)",
        r.hook.text(),
        "  posix_spawn(p): the hook runs in the parent. execve (fails): the hook fork/vfork+execve run, looped in-process",
        "  on an executable that is no program (so an injected call also writes an exec-failed line when logging).",
        f"  execve (fork child): the same hook in real fork children whose exec succeeds (median of {b.fx_n}; callgrind",
        "  --trace-children=yes --dump-before=execve: the part from the shim's execve to libc's).",
        "  allocs/call: heap allocations inside the loop, with a malloc counter preloaded before the shim.",
        f"  {N_PAT}-pattern config: {N_PAT // 2} include and {N_PAT // 2} exclude patterns that match neither child (issue 8 item 6).",
        "",
        f"2. Spawn-and-wait of /bin/true, wall time (median of {_wall_n(r)} per side; the two sides take strict turns)",
        r.wall.text(),
        "  diff: difference of the medians; paired diff: median of (spawn i with - spawn i without);",
        "  ratio: 1 + paired diff / median without.",
        "  child faults: page faults of the child, fork/clone to exit (wait4 rusage), with / without.",
        f"  vs hand block: own paired run; without = no shim, child envp already has the shim's {b.n_hand} keys (hand-written block).",
        "",
        "3. Load time: a process that merely loads the shim",
        r.load.text(),
        "  instructions: callgrind totals of /bin/true with LD_PRELOAD vs without (loader + constructor + exit).",
        f"  constructor: inclusive cost of {r.ctor_name or '?'}",
        f"  .init_array of the library points at: {', '.join(r.ctor_syms())}",
        f"  the library for the loader: NEEDED {f['needed']}; {f['now']}; {f['rel']} relative + {f['symrel']} symbol relocations;",
        f"  {f['undef']} undefined symbols; .text {f['text']} bytes, .text.load {f['load']} bytes (the code run at load),",
        f"  .text.detect {f['detect']} bytes (the classifier), .text.config {f['config']} bytes (the config's parser)",
        r.loadwall.text(),
        "  wall: one driver spawns /bin/true with no preload and with each library, one each per round in a",
        f"  rotating order ({_load_n(r)} rounds); paired diff: median of (spawn with the library - the no-preload",
        "  spawn of its round).",
        "",
        "   A process that is not an MCP server (issue 9: under /etc/ld.so.preload every process loads the library)",
        r.not_mcp.text(),
        f"  targets: at most {fmt(T_NOT_MCP)} instructions added over no preload; the wall time the shim adds to a",
        f"  fork+execve of /bin/true within {T_NOT_MCP_WALL}x what an empty preloaded library adds (paired diffs of table 3).",
        "",
        "4. Memory",
        r.mem.text(),
        f"  the library's own mappings in a process: {r.memv('with', 'lib_maps')} mappings, {fmt(r.memv('with', 'lib_size_kb'))} kB mapped, "
        f"{fmt(r.memv('with', 'lib_rss_kb'))} kB resident (Pss {fmt(r.memv('with', 'lib_pss_kb'))} kB), "
        f"{fmt(r.memv('with', 'lib_private_dirty_kb'))} kB private dirty",
        "",
        f"5. Regression check: every instruction row against bench/baseline.json (at most {T_REGRESSION:.0%} worse)",
        r.regression.text(),
        "  refresh the baseline with `python3 bench/bench.py --write-baseline` when a change is meant to cost more.",
        "",
        f"Where the shim's instructions go (callgrind_annotate --inclusive=yes, functions of {r.so_name}):",
        info["profile"],
        "",
    ]
    if r.fails:
        lines.append(f"RESULT: {len(r.fails)} target(s) FAILED:")
        lines += [f"  FAIL  {x}" for x in r.fails]
    else:
        lines.append("RESULT: all targets PASS")
    return "\n".join(lines)


N_PAT = 100


def markdown(r, info: dict) -> str:
    b, f = r.b, info["facts"]
    m = r.memv
    lines = [
        "## Benchmarks",
        "",
        "`make bench` measures what the shim costs, each figure with the shim and without it in the same run",
        f"(`bench/bench.py`; raw data in `bench/out`). Figures from {info['now']:%Y-%m-%d} on: {info['machine']}.",
        f"The parent has {b.n_parent_env} environment variables, including the sandbox's proxy and CA block; the child gets",
        "HOME LOGNAME PATH SHELL TERM USER, as an MCP client passes. The injected child is `/bin/true` under the",
        "name `mcp-server-bench`; the child left alone is `/bin/true` as `true`.",
        "Other jobs shared the machine during the run: wall times carry their noise, instruction counts do not.",
        "",
        "**Instructions the shim adds per spawn** (callgrind, user space; the headline: stable on a noisy machine)",
        "",
        r.hook.markdown(),
        "",
        f"Counted by `valgrind --tool=callgrind --toggle-collect=bench_loop` around {b.k_spawn} spawns ({b.k_exec} execve calls) after",
        "one warm-up call; added = (with − without) / calls. `posix_spawn(p)` runs the hook in the parent.",
        "`execve (fails)` is the hook that `fork`/`vfork`+`execve` run, looped in-process on an executable file",
        "that is no program (ENOEXEC): an injected call then also writes the `exec-failed` line, a second log line a",
        "successful exec never writes.",
        f"`execve (fork child)` is the same hook in real fork children whose exec succeeds (median of {b.fx_n}; callgrind follows",
        "the child and dumps at each `execve` entry: the part from the shim's `execve` to libc's is what the hook adds).",
        "allocs/call: heap allocations inside the counted calls, with a malloc counter preloaded before the shim.",
        f"*{N_PAT}-pattern config*: a config with {N_PAT // 2} `include` and {N_PAT // 2} `exclude` patterns that match neither child.",
        "",
        f"**Spawn-and-wait wall time** (median of {_wall_n(r)} spawns per side; the two sides take strict turns, one spawn each;",
        "paired diff is the median of spawn i with minus spawn i without, ratio = 1 + paired diff / median without;",
        "child faults: page faults of the child, with / without)",
        "",
        r.wall.markdown(),
        "",
        "*vs hand block* rows (information, no target): a separate paired run whose without side has no shim but gives",
        f"the child the {b.n_hand} keys the shim adds (same values, same order) in its envp, as a hand-written env block does:",
        "what the hook itself costs over writing the block by hand.",
        "",
        "**Load time** (`/bin/true` under `LD_PRELOAD`; instructions are callgrind totals, constructor inclusive)",
        "",
        r.load.markdown(),
        "",
        f"The library for the loader: NEEDED {f['needed']}; {f['now']}; {f['rel']} relative and {f['symrel']} symbol",
        f"relocations; {f['undef']} undefined symbols; `.text` {f['text']} bytes, `.text.load` {f['load']} bytes (the code run at load, `src/load.ld`), `.text.detect` {f['detect']} bytes (the classifier), `.text.config` {f['config']} bytes (the config's parser). Constructor: `{r.ctor_name or '?'}`, inclusive.",
        "",
        r.loadwall.markdown(),
        "",
        "One driver spawns `/bin/true` with no preload and with each library, one each per round in a rotating",
        f"order ({_load_n(r)} rounds); paired diff: the median of (spawn with the library minus the no-preload spawn",
        "of the same round).",
        "",
        "**A process that is not an MCP server** (under `/etc/ld.so.preload` every `ls` and `cat` loads the library;",
        f"targets: at most {fmt(T_NOT_MCP)} instructions added over no preload, and an added load wall time within",
        f"{T_NOT_MCP_WALL}x an empty preloaded library's)",
        "",
        r.not_mcp.markdown(),
        "",
        f"**Memory**: the library maps {fmt(m('with', 'lib_size_kb'))} kB, of which {fmt(m('with', 'lib_rss_kb'))} kB resident "
        f"and {fmt(m('with', 'lib_private_dirty_kb'))} kB private dirty per process.",
        "",
        r.mem.markdown(),
        "",
        f"**Regression check**: every instruction row against `bench/baseline.json`; a row more than {T_REGRESSION:.0%} worse fails.",
        "",
        r.regression.markdown(),
        "",
    ]
    if r.fails:
        lines += ["Targets missed in this run:", ""] + [f"- {x}" for x in r.fails]
    else:
        lines.append(
            f"All targets met: under {fmt(T_INJECT)} added instructions per injected spawn and {fmt(T_ALONE)} per child left alone,"
        )
        lines.append(
            f"spawn-and-wait within {round((T_RATIO - 1) * 100)}% of without, load under {fmt(T_LOAD)} instructions per process."
        )
    return "\n".join(lines)
