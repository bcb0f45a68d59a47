#!/usr/bin/env python3
"""layout.py SHIM — checks the library's layout for what loading it costs every process.

Under /etc/ld.so.preload every process of the sandbox maps the library, so what the loader does
for it is paid by every `ls` and `cat` (src/load.ld says why each rule is there):
- no segment needs anonymous memory (a .bss past the last page of .data): the loader would map
  it in every process; a tail the loader zeroes (lld's .relro_padding) is on a page the
  relocations write anyway, and there is no .bss at all;
- three segments: the code, which opens with the read-only data (headers, the dynamic tables,
  constants: no segment of its own, whose mapping would cost every process more than its pages),
  RELRO and the data; no page is both writable and executable, and nothing makes one so in a
  process that loads the library (an executable stack, text relocations);
- the read-only data before the code holds only what the loader and the constructor read (at
  most 24 KiB): the unwinding tables and the read-only tables of rare paths are in RELRO, before
  its relocated page, and a process maps one page of RELRO (t_unwind checks that the unwinder
  still finds the tables there);
- the load arena (rt::HEAP) starts on a page the loader's relocations write anyway, so the
  constructor's first kilobytes cost no page fault of their own; a usual config is read and
  parsed in it, with no mapping of its own (strace);
- the constructor is in .text.load, with the code that runs at load, right after that data and
  within the segment's first 64 KiB: the loader's first touch (the headers) maps all of it (a
  fault maps the 16 pages of its 64 KiB window, from the mapping's start at the earliest);
- a process that is not an MCP server, started in a sandbox environment with no config, has
  mapped no page of the library's code outside that window when main starts (build/loadpages
  reads its own /proc/self/pagemap): nothing the constructor calls sits elsewhere; with a config,
  none outside that and the windows of .text.config (the config's parser); with stdin and stdout
  pipes (an agent's commands: a shell, runtimes, a long command line), none outside that and the
  windows of .text.detect (the classifier), which fits one window; that the classifier ran is
  seen by strace (its gate fstats stdout).
Reads the file with readelf and nm, and runs build/loadpages under a copy of it. Prints one line
per check, as the C tests do."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

PAGE = 4096
# The kernel's fault-around: a fault on a file's page maps the pages of its aligned window.
WINDOW = 64 << 10
# The budget of the read-only data before the code: headers, the dynamic tables (about 5 KiB), the
# constants the load path reads (serde_json's HEX tables for \u escapes, heal::TABLE) and
# .eh_frame_hdr; 21 KiB when this was written.
FIRST_MAX = 24 << 10
# Read-only tables that no process reads at load (src/load.ld moves them to RELRO): ours, which
# must exist, and our dependencies', checked when linked.
COLD_OWN = {"host::NAMES_BY_TWO": r"4host12NAMES_BY_TWO", "session::EMPTY_TABLE": r"7session11EMPTY_TABLE"}
COLD_DEPS = {"serde_json's POW10": r"10serde_json2de5POW10", "zmij's STATIC_DATA": r"4zmij11STATIC_DATA"}
# What one page table maps (x86_64, and arm64 with 4 KiB pages).
PMD = 2 << 20
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = "/etc/mcp-env-shim/config.json"
# An operator's config: values, patterns and a mode (what every process parses at load).
CONFIG = '{"mode": "mcp", "values": {"HTTPS_PROXY": "http://127.0.0.1:3128"}, "include": ["weather-server"], "exclude": ["*-test"]}'


def sh(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def program_headers(so, kind):
    """(vaddr, filesz, memsz, flags, file offset) of each program header of type `kind` (LOAD,
    GNU_RELRO)."""
    out = []
    for line in sh("readelf", "-W", "-l", so).splitlines():
        f = line.split()
        if f and f[0] == kind:
            out.append((int(f[2], 16), int(f[4], 16), int(f[5], 16), " ".join(f[6:-1]), int(f[1], 16)))
    return out


def sections(so):
    """name -> (address, size, file offset)."""
    out = {}
    for line in sh("readelf", "-W", "-S", so).splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m:
            out[m.group(1)] = (int(m.group(2), 16), int(m.group(4), 16), int(m.group(3), 16))
    return out


def case_env(d, lib, config):
    """A sandbox environment (proxy keys, a log file) in directory d, preloading lib, with that
    config file's text or with none."""
    env = {
        "PATH": "/usr/bin:/bin", "HOME": d, "LANG": "C.UTF-8",
        "HTTPS_PROXY": "http://127.0.0.1:3128", "HTTP_PROXY": "http://127.0.0.1:3128",
        "NO_PROXY": "127.0.0.1,localhost", "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
        "MCP_ENV_SHIM_LOG": os.path.join(d, "log"),
        "LD_PRELOAD": lib,
    }  # fmt: skip
    if config is not None:
        env["MCP_ENV_SHIM_CONFIG"] = os.path.join(d, "config.json")
        with open(env["MCP_ENV_SHIM_CONFIG"], "w") as f:
            f.write(config)
    return env


# Runs sys.argv[1] with the rest as its whole argv, argv[0] too (a bare name: a path may hold the
# word "mcp"), preloading $PRELOAD if set: strace runs a path, and Python itself is not preloaded.
EXEC_AS = (
    "import os, sys; e = dict(os.environ); p = e.pop('PRELOAD', '');"
    "e.update({'LD_PRELOAD': p} if p else {}); os.execve(sys.argv[1], sys.argv[2:], e)"
)


def stdout_fstats(so, argv, preload):
    """How many times true(1), run as `argv` with stdin and stdout pipes, and with the library
    preloaded if `preload`, fstats stdout after its exec, by strace; None if it could not be run.
    The library's gate in front of the classifier fstats stdin, then stdout, and calls the
    classifier when both are streams; nothing else fstats stdout at load with the log in a file,
    and true(1) does not itself (loadpages' stdio would). A run of its own: the pages are read
    from a run without a tracer."""
    true = shutil.which("true")
    if not true or not shutil.which("strace"):
        return None
    with tempfile.TemporaryDirectory() as d:
        lib = os.path.join(d, "libunder-test.so")  # the loader splits LD_PRELOAD at spaces, colons
        shutil.copyfile(so, lib)
        env = case_env(d, lib, None)
        del env["LD_PRELOAD"]
        if preload:
            env["PRELOAD"] = lib
        trace = os.path.join(d, "trace")
        subprocess.run(
            ["strace", "-qq", "-o", trace, "-e", "trace=execve,fstat,newfstatat",
             sys.executable, "-c", EXEC_AS, true, *argv],
            cwd=d, env=env, capture_output=True, stdin=subprocess.PIPE,
        )  # fmt: skip
        with open(trace) as f:
            lines = f.read().splitlines()
    execs = [i for i, line in enumerate(lines) if line.startswith(f'execve("{true}"')]
    if not execs:
        return None
    return sum(bool(re.match(r"(new)?fstat(at)?\(1,", line)) for line in lines[execs[-1] :])


def maps_after_config(so, config):
    """The memory mappings (mmap, munmap) true(1) makes, by strace, from the library's open of
    the config file `config` on; None if it could not be run. true(1) maps nothing itself."""
    true = shutil.which("true")
    if not true or not shutil.which("strace"):
        return None
    with tempfile.TemporaryDirectory() as d:
        lib = os.path.join(d, "libunder-test.so")
        shutil.copyfile(so, lib)
        env = case_env(d, lib, config)
        env["PRELOAD"] = env.pop("LD_PRELOAD")
        trace = os.path.join(d, "trace")
        subprocess.run(
            ["strace", "-qq", "-o", trace, "-e", "trace=openat,mmap,munmap",
             sys.executable, "-c", EXEC_AS, true, "true"],
            cwd=d, env=env, capture_output=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        with open(trace) as f:
            lines = f.read().splitlines()
        opened = [i for i, line in enumerate(lines) if line.startswith("openat(") and env["MCP_ENV_SHIM_CONFIG"] in line]
    if not opened:
        return None
    return [line for line in lines[opened[-1] :] if line.startswith(("mmap(", "munmap("))]


def pages_at_main(so, config, pipes, argv):
    """[(start, file offset, permissions, [addresses of its pages mapped])] of the library's
    mappings when main starts, and the process's mappings both writable and executable (its stack
    included), in a plain process (`config`: with that config file's text, else
    with none; `pipes`: its stdin and stdout pipes, else /dev/null and a pipe; `argv`: its command
    line, which the library judges at load)."""
    with tempfile.TemporaryDirectory() as d:
        # A copy written 4 KiB at a time: its page cache holds single pages, so a fault maps
        # exactly its 64 KiB window. The build's own file may sit in large folios, which a fault
        # maps whole (Linux 6.18 on ext4), wherever the code that ran is.
        # A name of its own: the loader splits LD_PRELOAD at spaces and colons.
        lib = os.path.join(d, "libunder-test.so")
        if re.search(r"[\s:]", lib):
            sys.exit(f"layout.py: the temporary directory {d!r} holds a space or a colon: set TMPDIR")
        with open(so, "rb") as src, open(lib, "wb", buffering=0) as dst:
            while block := src.read(PAGE):
                dst.write(block)
        os.chmod(lib, 0o755)
        env = case_env(d, lib, config)
        # argv[0] without the checkout's path, which may hold the word "mcp" (mcp-env-shim/).
        out = subprocess.run(
            argv, executable=os.path.join(HERE, "build", "loadpages"), cwd=d,
            env=env, check=True, capture_output=True, text=True,
            stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
        ).stdout  # fmt: skip
    maps, wx = [], []
    for f in (line.split() for line in out.splitlines()):
        if f[0] == "wx":
            wx.append(" ".join(f[1:]))
        elif f[0] == "mapping":
            maps.append((int(f[1], 16), int(f[2], 16), f[3], []))
        elif f[0] == "page" and maps:
            maps[-1][3].append(int(f[1], 16))
    return maps, wx


def symbol(so, pattern):
    """Address of the first symbol whose (mangled) name matches."""
    for line in sh("nm", so).splitlines():
        f = line.split()
        if len(f) == 3 and re.search(pattern, f[2]):
            return int(f[0], 16)
    return None


def relocated_pages(so):
    """Pages the loader's relocations write."""
    pages = set()
    for line in sh("readelf", "-W", "-r", so).splitlines():
        f = line.split()
        if len(f) >= 3 and re.match(r"R_(X86_64|AARCH64)_", f[2]):
            pages.add(int(f[0], 16) // PAGE)
    return pages


def main():
    so = os.path.realpath(sys.argv[1])
    failed = 0

    def check(ok, what):
        nonlocal failed
        print(("ok" if ok else "not ok") + f" - layout: {what}")
        failed += not ok

    segs = program_headers(so, "LOAD")
    check(bool(segs), f"{len(segs)} loadable segments read")
    written = relocated_pages(so)
    for vaddr, filesz, memsz, flags, _ in segs:
        end = vaddr + filesz
        past = vaddr + memsz - (end + PAGE - 1) // PAGE * PAGE
        check(past <= 0, f"segment at {vaddr:#x} ({flags}): {max(past, 0)} bytes of anonymous memory at load (want 0)")
        if memsz > filesz:
            # The loader zeroes the tail of the last file page: a write, free only on a page
            # the relocations write anyway (lld's .relro_padding).
            check(end // PAGE in written, f"segment at {vaddr:#x} ({flags}): its zeroed tail is on a page relocations write")
    secs = sections(so)
    check(".bss" not in secs or secs[".bss"][1] == 0, "no .bss section")

    # One segment fewer than the usual four: the read-only data opens the code segment.
    check(
        [f for _, _, _, f, _ in segs] == ["R E", "RW", "RW"],
        f"three loadable segments: the code (with the read-only data), RELRO, the data ({[f for _, _, _, f, _ in segs]})",
    )
    check(all(not ("W" in f and "E" in f) for _, _, _, f, _ in segs), "no segment is both writable and executable")
    # Nor anything the loader would make so: an executable stack (PF_X on PT_GNU_STACK, or no such
    # header, which x86_64's glibc reads as executable) in every process that loads the library,
    # or text relocations, for which the loader makes code writable (refused under MDWE).
    stack = [f for _, _, _, f, _ in program_headers(so, "GNU_STACK")]
    check(stack == ["RW"], f"a GNU_STACK header, not executable ({stack})")
    dynamic = sh("readelf", "-dW", so)
    check("TEXTREL" not in dynamic, "no text relocations (TEXTREL)")
    relro = next(iter(program_headers(so, "GNU_RELRO")), None)
    check(relro is not None, "a GNU_RELRO segment")
    load = secs.get(".text.load")
    # Every process maps the segment's first 64 KiB (its first touch is the headers): the data
    # before the code leaves room there for .text.load; what no load reads belongs in RELRO.
    data = load[0] - segs[0][0] if load else None
    check(data is not None and data <= FIRST_MAX, f"the read-only data before the code ({data} bytes) fits {FIRST_MAX >> 10} KiB")

    def in_relro(addr):
        return relro is not None and addr is not None and relro[0] <= addr < relro[0] + relro[2]

    check(".eh_frame" in secs and in_relro(secs[".eh_frame"][0]), ".eh_frame is in RELRO, out of the code segment")
    for name, pattern in COLD_OWN.items():
        check(in_relro(symbol(so, pattern)), f"{name} is in RELRO, out of the code segment")
    for name, pattern in COLD_DEPS.items():
        addr = symbol(so, pattern)
        if addr is not None:
            check(in_relro(addr), f"{name} is in RELRO, out of the code segment")

    heap = symbol(so, r"2rt4HEAP")
    check(heap is not None, "the load arena rt::HEAP is in the symbol table")
    if heap is not None:
        check(
            heap // PAGE in written,
            f"rt::HEAP at {heap:#x} shares a page with data the relocations write",
        )
    init = symbol(so, r"12mcp_env_shim4init4init")
    check(load is not None, ".text.load exists")
    if init is None or load is None:
        check(False, "the constructor init::init is in the symbol table")
        return 1
    addr, size, off = load
    check(addr <= init < addr + size, f"the constructor ({init:#x}) is in .text.load")
    # The kernel's fault-around maps the 16 pages from the fault's 64 KiB-aligned window, or from
    # the start of the mapping when that is later: the loader's first touch, the headers at the
    # start of the code mapping, maps its first 64 KiB, wherever the loader placed the library.
    code = [v for v, _, _, flags, _ in segs if "E" in flags]
    check(len(code) == 1, f"one executable segment ({len(code)})")
    check(
        bool(code) and code[0] == segs[0][0] and addr + size - code[0] <= WINDOW,
        f".text.load ({size} bytes at {addr:#x}) ends within the first 64 KiB of the code segment, which opens the library",
    )

    # No config: the default path must be absent (naming an absent one takes the warning's road).
    check(not os.path.exists(DEFAULT_CONFIG), f"no {DEFAULT_CONFIG} on this machine (the case measured has none)")
    config, detect = secs.get(".text.config"), secs.get(".text.detect")
    check(config is not None, ".text.config exists")
    check(detect is not None, ".text.detect exists")
    check(detect is not None and detect[1] <= WINDOW, ".text.detect fits one 64 KiB window")
    # A usual config is read and parsed in the static arena's rest: a mapping made for it (and
    # torn down at exit) would cost every process of an image with a config about 12 us.
    maps = maps_after_config(so, CONFIG)
    check(maps == [], f"reading a config of {len(CONFIG)} bytes maps no memory ({maps})")
    cases = [  # who, config, pipes as stdin and stdout, argv, the clusters it may run beyond .text.load
        ("a plain process", None, False, ["loadpages"], []),
        ("a plain process of six arguments", None, False, ["ls", "-l", "a", "b", "c", "d"], []),
        ("a process with a config", CONFIG, False, ["loadpages"], [(".text.config", config)]),
        # Several exact names: the builder sorts them (core's sort, not the config's own code).
        ("a process with a config of several names", CONFIG.replace('"weather-server"', '"w0-server", "w1-server", "w2-server"'),
         False, ["loadpages"], [(".text.config", config)]),
        # The same config with escapes in its strings, as Go's encoding/json (\u0026 for &) or
        # PHP's json_encode (\/) write it: the parser's escape paths read their own tables.
        ("a process with an escaped config", CONFIG.replace("http://", "http:\\/\\/").replace("weather-", "weather\\u002d"),
         False, ["loadpages"], [(".text.config", config)]),
    ] + [  # an agent's commands: stdin and stdout pipes, a sandbox environment (a proxy key)
        (f"`{' '.join(argv)}` with pipes", None, True, argv, [(".text.detect", detect)])
        for argv in (["loadpages"], ["bash", "-lc", "git status"], ["node", "x.js"],
                     ["python3", "-m", "pytest"], ["npx", "-y", "prettier", "."],
                     ["git", "log", "--oneline", "-n", "5"])
    ]  # fmt: skip
    for who, text, pipes, argv, more in cases:
        if any(c is None for _, c in more):
            continue
        mapped, wx = pages_at_main(so, text, pipes, argv)
        check(not wx, f"{who} has no mapping both writable and executable, its stack included ({wx})")
        maps = [(start, off) for start, off, perms, _ in mapped if "x" in perms]
        pages = [p for _, _, perms, ps in mapped if "x" in perms for p in ps]
        check(len(maps) == 1, f"{who} maps the library's code once ({len(maps)} executable mappings)")
        if relro is not None:
            # After relocation the loader makes RELRO read-only: its mapping starts at its offset.
            held = [ps for _, off, perms, ps in mapped if off == relro[4] and "x" not in perms]
            check(
                len(held) == 1 and len(held[0]) == 1,
                f"{who} maps one page of RELRO, the relocated one ({[len(h) for h in held]} pages; the rest is read-only data no load reads)",
            )  # fmt: skip
        check(bool(pages), f"{who}: {len(pages)} code pages mapped at main")
        if not maps:
            continue
        start, moff = maps[0]

        # Fault-around also stops at a page table's end (2 MiB): a mapping that starts less than
        # 64 KiB below one gets the rest of .text.load from a second fault, by aligned window.
        first_end = start + WINDOW
        table_end = (start // PMD + 1) * PMD
        if table_end < first_end:
            first_end = table_end + WINDOW

        def allowed(page):
            """The first 64 KiB of the mapping (.text.load), or a 64 KiB-aligned window of
            another cluster at the address this process loaded the library at."""
            if page < first_end:
                return True
            return any((start + coff - moff) // WINDOW <= page // WINDOW <= (start + coff - moff + csize - 1) // WINDOW
                       for _, (_, csize, coff) in more)  # fmt: skip

        names = "".join(f" and the windows of {n}" for n, _ in more)
        if pipes:
            # It must have run the classifier, not taken an early way out.
            # Seen by strace: the library fstats stdout, true(1) alone does not.
            alone, loaded = stdout_fstats(so, argv, False), stdout_fstats(so, argv, True)
            check(
                alone == 0 and bool(loaded),
                f"{who}: the classifier ran (stdout fstat'ed at load: {loaded} times with the library, {alone} without, by strace)",
            )  # fmt: skip
        outside = sorted(p for p in pages if not allowed(p))
        check(
            not outside,
            f"{who} has mapped no code page outside the first 64 KiB of the code{names} at main"
            + (": file offsets " + ", ".join(hex(p - start + moff) for p in outside) + " (what runs there at load? src/load.ld)" if outside else ""),
        )  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
