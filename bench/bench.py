#!/usr/bin/env python3
"""make bench: what the shim costs every spawn and every process, with vs without it, in one run.

    python3 bench/bench.py [--shim PATH] [--write-baseline]

Builds the C drivers (bench/src) into bench/build, writes raw data to bench/out, prints one report
(also saved as bench/out/report.txt, and as markdown in bench/out/README-section.md). Every
instruction row is compared with bench/baseline.json: a row more than 10% worse is a FAIL line.
Exits 0 even when a target is missed: it is a report; the FAIL lines say what missed. It exits
non-zero only when the harness itself breaks (a tool missing, a driver failing, a child that does
not get what the shim should give it).

--write-baseline replaces bench/baseline.json with this run's instruction rows (refresh it when
a change is meant to cost more, and say so in the commit). --report-only prints the report from
the data an earlier run left in bench/out, measuring nothing.

Knobs (environment): BENCH_BLOCKS (interleaved blocks, default 10), BENCH_PER_BLOCK (spawns per
block per side, default 300), BENCH_LOAD_ROUNDS (rounds per block of the load table's one driver,
default 1000: the library's 15 us under spawns that vary by 100 us need that many),
BENCH_K_SPAWN (posix_spawn calls under callgrind, default 100), BENCH_K_EXEC (failing execve
calls under callgrind, default 1000).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import envs
from report import Results, write_reports
from tools import Env, cg_pid, run_in

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BUILD = HERE / "build"
OUT = HERE / "out"
CFLAGS = ["-O2", "-Wall", "-Wextra", "-Werror"]
N_PATTERNS = 100  # the include/exclude config of issue 8 item 6


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    raise SystemExit(f"bench: {msg}")


def need(cmd: str, package: str, state: dict) -> None:
    if shutil.which(cmd):
        return
    say(f"installing {package} (for {cmd})")
    if not state.get("updated"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=sys.stderr)
        state["updated"] = True
    r = subprocess.run(
        ["apt-get", "install", "-y", "-qq", package],
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
        stdout=sys.stderr,
    )
    if r.returncode != 0:
        die(f"cannot install {package}")


class Bench:
    def __init__(self, shim: Path):
        self.shim = shim
        self.blocks = int(os.environ.get("BENCH_BLOCKS", "10"))
        self.per_block = int(os.environ.get("BENCH_PER_BLOCK", "300"))
        self.load_rounds = int(os.environ.get("BENCH_LOAD_ROUNDS", "1000"))
        self.k_spawn = int(os.environ.get("BENCH_K_SPAWN", "100"))
        self.k_exec = int(os.environ.get("BENCH_K_EXEC", "1000"))
        self.fx_n = 5
        self.log = OUT / "shim.log"
        self.config = BUILD / "config.json"
        self.config100 = BUILD / "config-100-patterns.json"
        ca, bundle = BUILD / "ca" / "sandbox-ca.pem", BUILD / "ca" / "bundle.pem"
        self.bare_env = envs.base_env(BUILD)
        self.parent_env = self.bare_env + envs.OTHER_ENV + envs.block_env(ca, bundle)
        self.n_parent_env = len(self.parent_env) + 1  # + MCP_ENV_SHIM_LOG
        self.hand_file = OUT / "hand-block.env"
        self.sanity: list[str] = []
        self.gcc_s = ""

    def logvar(self, log: str) -> tuple[str, str]:
        return ("MCP_ENV_SHIM_LOG", "off" if log == "off" else str(self.log))

    def b(self, name: str) -> str:
        return str(BUILD / name)

    # --- build ----------------------------------------------------------------------------------
    def build(self) -> None:
        state: dict = {}
        for cmd, pkg in (("gcc", "gcc"), ("valgrind", "valgrind"), ("callgrind_annotate", "valgrind"), ("readelf", "binutils")):
            need(cmd, pkg, state)
        BUILD.mkdir(exist_ok=True)
        shutil.rmtree(OUT, ignore_errors=True)
        for d in ("wall", "cg", "mem"):
            (OUT / d).mkdir(parents=True)
        src = HERE / "src"
        for p in ("spawnbench", "pairbench", "hookcount", "memprobe"):
            subprocess.run(["gcc", *CFLAGS, "-o", self.b(p), str(src / f"{p}.c"), "-ldl"], check=True)
        for p in ("malloccount", "empty"):  # empty.so: the floor, what LD_PRELOAD of any library costs
            subprocess.run(["gcc", *CFLAGS, "-shared", "-fPIC", "-o", self.b(f"{p}.so"), str(src / f"{p}.c")], check=True)

        def link(target: str, name: str) -> None:
            path = BUILD / name
            if path.is_symlink() or path.exists():
                path.unlink()
            path.symlink_to(target)

        # The MCP-looking child: /bin/true under an MCP server's name (the shim selects by name).
        link("/bin/true", "mcp-server-bench")
        # Executable but no program: execve fails (ENOEXEC) after the hook has done all its work.
        # A missing path would not do: the shim logs nothing for such a PATH probe.
        bad = BUILD / "mcp-server-badformat"
        bad.write_text("not a program\n")
        bad.chmod(0o755)
        # Children that print their environment, for the sanity check.
        printenv = shutil.which("printenv") or "/usr/bin/printenv"
        link(printenv, "mcp-server-envcheck")
        link(printenv, "plain-envcheck")
        # The sandbox CA files the block points at (the shim injects a CA key only if its file exists).
        (BUILD / "ca").mkdir(exist_ok=True)
        ca = b"-----BEGIN CERTIFICATE-----\nMIIBbench\n-----END CERTIFICATE-----\n"
        (BUILD / "ca" / "sandbox-ca.pem").write_bytes(ca)
        system = Path("/etc/ssl/certs/ca-certificates.crt")
        (BUILD / "ca" / "bundle.pem").write_bytes((system.read_bytes() if os.access(system, os.R_OK) else b"") + ca)
        self.config.write_text(
            '{"mode":"mcp","values":{"HTTPS_PROXY":"http://127.0.0.1:3128"},"include":["weather-server"]}\n'
        )
        # Issue 8 item 6: 100 include/exclude patterns that match neither bench child, so the
        # child left alone stays alone and the MCP child is still injected by its name.
        include = [f'"internal-tool-{i:02d}"' if i % 2 else f'"*-connector-{i:02d}"' for i in range(N_PATTERNS // 2)]
        exclude = [f'"inspector-{i:02d}"' if i % 2 else f'"*-debug-{i:02d}"' for i in range(N_PATTERNS // 2)]
        self.config100.write_text(f'{{"include":[{",".join(include)}],"exclude":[{",".join(exclude)}]}}\n')
        self.find_gcc_s()

    def find_gcc_s(self) -> None:
        """A library the shim itself pulls in is part of its load cost; libgcc_s (Rust's unwinder)
        is measured alone too, to show its share."""
        ldd = subprocess.run(["ldd", str(self.shim)], capture_output=True, text=True).stdout
        for line in ldd.splitlines():
            f = line.split()
            if f and f[0].startswith("libgcc_s") and len(f) > 2 and f[2].startswith("/"):
                self.gcc_s = f[2]

    # --- sanity: the inject child gets the block, the plain child does not -----------------------
    def spawn_env(self, method: str, path: str, argv0: str, *mode: str, shim: bool = True) -> str:
        env = self.parent_env + [self.logvar("off")] + ([("LD_PRELOAD", str(self.shim))] if shim else [])
        cmd = [self.b("spawnbench"), method, "1", path, argv0, *mode]
        return run_in(env, cmd, capture_output=True, text=True).stdout

    def check_children(self) -> None:
        def count_block(out: str) -> int:
            return sum(1 for line in out.splitlines() if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", line)) - 6

        for m in ("posix_spawn", "fork", "vfork"):
            n_inj = count_block(self.spawn_env(m, self.b("mcp-server-envcheck"), "mcp-server-envcheck", "restricted"))
            n_alone = count_block(self.spawn_env(m, self.b("plain-envcheck"), "printenv", "restricted"))
            self.sanity.append(f"{m}: {n_inj} keys added to the MCP child, {n_alone} to the plain one;")
            if n_inj <= 0:
                say(f"WARNING: the shim injected nothing into mcp-server-envcheck via {m}")
            if n_alone != 0:
                say(f"WARNING: the shim injected into the plain child via {m}")
        # The hand-written block: the restricted 6 + exactly the keys the shim adds (names,
        # values, order); and a child given that block without the shim has the same envp.
        hand = envs.hand_block(self.parent_env)
        if not hand:
            die("the hand-written block is empty")
        self.hand_file.write_text("".join(f"{kv}\n" for kv in hand))
        self.n_hand = len(hand)

        def env_lines(out: str) -> list[str]:
            return [line for line in out.splitlines() if not re.fullmatch(r"[0-9]* [0-9]*", line)]

        for m in ("posix_spawn", "fork", "vfork"):
            shim = self.spawn_env(m, self.b("mcp-server-envcheck"), "mcp-server-envcheck", "restricted")
            restricted = self.spawn_env(m, self.b("plain-envcheck"), "printenv", "restricted", shim=False)
            hand_child = self.spawn_env(
                m, self.b("mcp-server-envcheck"), "mcp-server-envcheck", "handblock", str(self.hand_file), shim=False
            )
            for name, text in (("shim", shim), ("restricted", restricted), ("hand", hand_child)):
                (OUT / f"envp.{name}.{m}").write_text(text)
            expected = env_lines(restricted) + hand
            if env_lines(shim) != expected:
                die(f"via {m} the shim's child envp differs from the restricted 6 + the hand-written block; see {OUT}/envp.*.{m}")
            if env_lines(hand_child) != env_lines(shim):
                die(f"via {m} the hand-block child's envp differs from the shim's child's; see {OUT}/envp.*.{m}")
        self.sanity.append(
            f"hand-written block: {self.n_hand} keys, the same envp as the shim's child via posix_spawn fork vfork"
        )

    # --- 1. instructions per hook call ------------------------------------------------------------
    def valgrind_cg(self, tag: str, vopts: list[str], env: Env, cmd: list[str]) -> None:
        cg = OUT / "cg"
        full = ["valgrind", "--tool=callgrind", "--trace-children=no", *vopts,
                f"--log-file={cg / (tag + '.log')}", f"--callgrind-out-file={cg / (tag + '.out.%p')}", *cmd]  # fmt: skip
        run_in(env, full, stdout=subprocess.DEVNULL)
        pid = cg_pid(cg / f"{tag}.log")
        link = cg / f"{tag}.out"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(f"{tag}.out.{pid}")

    def hook_series(self) -> list[tuple]:
        b = self.b
        ks, ke = self.k_spawn, self.k_exec
        c100 = str(self.config100)
        return [  # tag, call, K, path, argv0, log, child, config (or "")
            ("spawn.alone", "posix_spawn", ks, "/bin/true", "true", "file", "left alone", ""),
            ("spawn.inj.off", "posix_spawn", ks, b("mcp-server-bench"), "mcp-server-bench", "off", "injected, log off", ""),
            ("spawn.inj.file", "posix_spawn", ks, b("mcp-server-bench"), "mcp-server-bench", "file", "injected, log file", ""),
            ("spawnp.alone", "posix_spawnp", ks, "true", "true", "file", "left alone", ""),
            ("spawnp.inj.off", "posix_spawnp", ks, "mcp-server-bench", "mcp-server-bench", "off", "injected, log off", ""),
            ("spawnp.inj.file", "posix_spawnp", ks, "mcp-server-bench", "mcp-server-bench", "file", "injected, log file", ""),
            ("execve.alone", "execve", ke, "/nonexistent/true", "true", "file", "left alone", ""),
            ("execve.inj.off", "execve", ke, b("mcp-server-badformat"), "mcp-server-badformat", "off", "injected, log off", ""),
            ("execve.inj.file", "execve", ke, b("mcp-server-badformat"), "mcp-server-badformat", "file", "injected, log file", ""),
            ("spawn.alone.pat100", "posix_spawn", ks, "/bin/true", "true", "file", f"left alone, {N_PATTERNS}-pattern config", c100),
            ("spawn.inj.off.pat100", "posix_spawn", ks, b("mcp-server-bench"), "mcp-server-bench", "off",
             f"injected, log off, {N_PATTERNS}-pattern config", c100),
        ]  # fmt: skip

    def fx_series(self) -> list[tuple]:
        b = self.b
        return [  # tag, path, argv0, log, child
            ("fx.alone", "/bin/true", "true", "file", "left alone"),
            ("fx.inj.off", b("mcp-server-bench"), "mcp-server-bench", "off", "injected, log off"),
            ("fx.inj.file", b("mcp-server-bench"), "mcp-server-bench", "file", "injected, log file"),
        ]

    def measure_hooks(self) -> None:
        say("1/4 instructions per hook call (callgrind)")
        for tag, call, k, path, argv0, log, _child, config in self.hook_series():
            env = self.parent_env + [self.logvar(log)] + ([("MCP_ENV_SHIM_CONFIG", config)] if config else [])
            cmd = [self.b("hookcount"), call, str(k), path, argv0]
            self.valgrind_cg(f"{tag}.with", ["--toggle-collect=bench_loop"], env + [("LD_PRELOAD", str(self.shim))], cmd)
            self.valgrind_cg(f"{tag}.without", ["--toggle-collect=bench_loop"], env, cmd)
            # Heap allocations inside the loop, natively, with a malloc counter preloaded first.
            with open(OUT / "cg" / f"{tag}.allocs", "w") as f:
                run_in(env + [("LD_PRELOAD", f"{self.b('malloccount.so')}:{self.shim}")], cmd, stdout=f)
        # The execve hook as it really runs: in a fork child whose exec succeeds. callgrind follows
        # the child (--trace-children=yes) and dumps a part each time a function named execve is
        # entered: part 2 runs from the shim's execve to libc's, which is exactly what the hook
        # adds (without the shim there is no part 2). A few children, the median.
        for tag, path, argv0, log, _child in self.fx_series():
            env = self.parent_env + [self.logvar(log), ("LD_PRELOAD", str(self.shim))]
            cg = OUT / "cg"
            cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes", "--dump-before=execve",
                   f"--log-file={cg / (tag + '.log.%p')}", f"--callgrind-out-file={cg / (tag + '.out.%p')}",
                   self.b("spawnbench"), "fork", str(self.fx_n), path, argv0, "restricted"]  # fmt: skip
            run_in(env, cmd, stdout=subprocess.DEVNULL)

    # --- 3a. load-time instructions ---------------------------------------------------------------
    def load_series(self) -> list[tuple]:
        s = [("load.floor", "parent", "", "floor: an empty library", self.b("empty.so"))]
        if self.gcc_s:
            s.append(("load.gcc_s", "parent", "", "libgcc_s.so.1 alone (a NEEDED of the shim)", self.gcc_s))
        return s + [  # tag, env, extra, label, preload ("" = the shim)
            ("load.bare", "bare", "", "shim, plain environment (6 vars), no config", ""),
            ("load.sandbox", "parent", "", f"shim, sandbox environment ({self.n_parent_env} vars), no config", ""),
            ("load.config", "parent", f"MCP_ENV_SHIM_CONFIG={self.config}", "shim, sandbox environment + config file", ""),
        ]

    def measure_load(self) -> None:
        say("3/4 load-time instructions (callgrind)")
        for tag, envname, extra, _label, pre in self.load_series():
            env = (self.bare_env if envname == "bare" else self.parent_env) + [self.logvar("file")]
            if extra:
                env = env + [tuple(extra.split("=", 1))]  # type: ignore[list-item]
            self.valgrind_cg(f"{tag}.with", [], env + [("LD_PRELOAD", pre or str(self.shim))], ["/bin/true"])
            self.valgrind_cg(f"{tag}.without", [], env, ["/bin/true"])

    # --- 2 + 3b. wall time, interleaved blocks ----------------------------------------------------
    def wall_series(self) -> list[tuple]:
        b = self.b
        mcp = (b("mcp-server-bench"), "mcp-server-bench")
        return [  # tag, method, path, argv0, log, label
            ("posix_spawn.alone", "posix_spawn", "/bin/true", "true", "file", "left alone"),
            ("posix_spawn.inj.off", "posix_spawn", *mcp, "off", "injected, log off"),
            ("posix_spawn.inj.file", "posix_spawn", *mcp, "file", "injected, log file"),
            ("fork_exit", "fork_exit", "/bin/true", "true", "file", "no exec, no hook (info)"),
            ("fork.alone", "fork", "/bin/true", "true", "file", "left alone"),
            ("fork.inj.off", "fork", *mcp, "off", "injected, log off"),
            ("fork.inj.file", "fork", *mcp, "file", "injected, log file"),
            ("vfork.alone", "vfork", "/bin/true", "true", "file", "left alone"),
            ("vfork.inj.off", "vfork", *mcp, "off", "injected, log off"),
            ("vfork.inj.file", "vfork", *mcp, "file", "injected, log file"),
        ]

    def loadwall_series(self) -> list[tuple]:
        s = [("loadwall.floor", "", "floor: an empty library", self.b("empty.so"))]
        if self.gcc_s:
            s.append(("loadwall.gcc_s", "", "libgcc_s.so.1 alone (a NEEDED of the shim)", self.gcc_s))
        return s + [  # tag, extra, label, preload ("" = the shim)
            ("loadwall.sandbox", "", "shim, sandbox environment, no config", ""),
            ("loadwall.config", f"MCP_ENV_SHIM_CONFIG={self.config}", "shim, sandbox environment + config file", ""),
        ]

    def wall_pair(self, tag: str, first: str, log: str, cmd_with: list[str], cmd_without: list[str]) -> None:
        """Two drivers, with and without the shim, that take strict turns one spawn each
        (pairbench), so whatever else the machine does hits both sides alike."""
        w = OUT / "wall"
        cmd = [self.b("pairbench"), first, str(w / f"{tag}.with"), str(w / f"{tag}.without"), "--",
               *cmd_with, "--", *cmd_without]  # fmt: skip
        run_in(self.parent_env + [self.logvar(log)], cmd)

    def measure_wall(self) -> None:
        say(f"2/4 spawn-and-wait wall time ({self.blocks} blocks x {self.per_block} spawns per side per series)")
        for blk in range(self.blocks):
            first = "a" if blk % 2 == 0 else "b"  # blocks alternate which side goes first
            for tag, method, path, argv0, log, _label in self.wall_series():
                args = [self.b("spawnbench"), method, str(self.per_block), path, argv0, "restricted"]
                self.wall_pair(tag, first, log, ["env", f"LD_PRELOAD={self.shim}", *args], args)
                if ".inj." in tag:
                    # Second baseline: no shim, but the child's envp already holds the block.
                    hand = [*args[:-1], "handblock", str(self.hand_file)]
                    self.wall_pair(f"{tag}.hand", first, log, ["env", f"LD_PRELOAD={self.shim}", *args], hand)
            self.loadwall_block()
            say(f"  block {blk + 1}/{self.blocks} done")

    def loadwall_block(self) -> None:
        """One driver (not preloaded) spawns /bin/true with no preload and with each library in
        turn, in a rotating order, so that every row's paired differences come from the same
        process at the same moments: with a driver per side (pairbench), which CPU and which
        memory each driver had moved the 15 us that the shim adds by +-5 us from run to run."""
        w = OUT / "wall"
        none = w / "loadwall.none"
        none.unlink(missing_ok=True)
        variants = [str(none)] + [
            f"{w / tag}.with:{pre or self.shim}" + (f":{extra}" if extra else "")
            for tag, extra, _label, pre in self.loadwall_series()
        ]
        cmd = [self.b("spawnbench"), "fork", str(self.load_rounds), "/bin/true", "true", "rotate", *variants]
        run_in(self.parent_env + [self.logvar("file")], cmd)
        for tag, *_ in self.loadwall_series():
            with open(w / f"{tag}.without", "a") as f:
                f.write(none.read_text())

    # --- 4. memory ------------------------------------------------------------------------------
    def measure_mem(self) -> None:
        say("4/4 memory")
        mc = self.b("malloccount.so")
        runs = [
            ("without", self.parent_env, [("LD_PRELOAD", mc)]),
            ("with", self.parent_env, [("LD_PRELOAD", f"{mc}:{self.shim}")]),
            ("withconfig", self.parent_env, [("MCP_ENV_SHIM_CONFIG", str(self.config)), ("LD_PRELOAD", f"{mc}:{self.shim}")]),
            ("bare", self.bare_env, [("LD_PRELOAD", mc)]),
            ("barewith", self.bare_env, [("LD_PRELOAD", f"{mc}:{self.shim}")]),
        ]
        for tag, env, extra in runs:
            for i in range(1, 6):
                with open(OUT / "mem" / f"{tag}.{i}", "w") as f:
                    run_in(env + [self.logvar("file")] + extra, [self.b("memprobe"), "libmcp_env_shim"], stdout=f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shim", default=os.environ.get("SHIM", str(REPO / "target/release/libmcp_env_shim.so")))
    ap.add_argument("--write-baseline", action="store_true", help="replace bench/baseline.json with this run's rows")
    ap.add_argument("--report-only", action="store_true", help="no measuring: the report from bench/out as it is")
    args = ap.parse_args()
    shim = Path(os.path.abspath(args.shim))
    if not shim.is_file():
        die(f"no library at {shim} (run 'make build' first, or set SHIM)")
    bench = Bench(shim)
    if args.report_only:
        bench.find_gcc_s()
        bench.sanity.append("(report from an earlier run's data)")
        bench.n_hand = len((OUT / "hand-block.env").read_text().splitlines())
    else:
        bench.build()
        bench.check_children()
        bench.measure_hooks()
        bench.measure_load()
        bench.measure_wall()
        bench.measure_mem()
    write_reports(Results(bench, OUT, HERE / "baseline.json"), write_baseline=args.write_baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
