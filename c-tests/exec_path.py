#!/usr/bin/env python3
"""exec_path.py SHIM — proves from the library's machine code what the exec path may call.

Walks the direct calls and jumps reachable from every exported hook (objdump) and fails if any
leads to a panic, an allocation, dlsym, a lock, stdio or getenv, or if the deepest chain of
stack frames a hook can build exceeds STACK_LIMIT bytes (a signal handler's alternate stack, a
vfork child on a tight RLIMIT_STACK: the hook must not need much, whatever the envp): rule 1 of the exec path, checked
on what was compiled rather than on what the source meant. The one exception, named
in LATE: a real function's first lookup, which asks dlsym only before the library's constructor
has run (see src/real.rs); the check proves it is the only road to dlsym. Imports count by name, whether called through
the PLT or the GOT; calls through a pointer held in data (the real libc functions) are not
followed. Prints one line per check, as the C tests do."""

import re
import subprocess
import sys

HOOKS = ["execve", "execv", "execvp", "execvpe", "execl", "execlp", "execle", "fexecve",
         "execveat", "posix_spawn", "posix_spawnp", "__mcp_env_shim_exec_list"]
# A real function's first lookup: dlsym is allowed behind it (before the constructor has run)
# and nowhere else.
LATE = r"resolve_late"
FORBIDDEN = {
    "a panic": r"panicking|rust_begin_unwind|panic_|unwrap_failed|expect_failed|_fail\b|abort",
    "an allocation": r"^(malloc|calloc|realloc|free|posix_memalign|aligned_alloc|memalign)@|"
                     r"__rust_alloc|__rust_dealloc|__rust_realloc|__rdl_|^alloc::",
    "dlsym": r"^dl(sym|vsym|open|close|error)@",
    "a lock": r"^pthread_|^__pthread|mutex|futex|^sem_",
    "stdio": r"^(printf|fprintf|sprintf|snprintf|puts|fputs|fwrite|fopen|fclose|fflush|vfprintf)@",
    "getenv": r"^(getenv|secure_getenv|setenv|putenv)@",
}


# The most stack a hook may use, from its own frame down to the deepest direct call: frames
# (`sub $N,%rsp`), saved registers and return addresses. Calls through pointers (the real libc
# functions) are libc's own.
STACK_LIMIT = 2048


def call_graph(so):
    text = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", so],
                          capture_output=True, text=True, check=True).stdout
    head = re.compile(r"^[0-9a-f]+ <(.+)>:$")
    call = re.compile(r"\s(?:call|jmp)\s+[0-9a-f]+ <([^>]+)>")
    # Rust calls imports through the GOT (no PLT): `call *0x..(%rip)  # addr <malloc@GLIBC_2.2.5>`.
    got = re.compile(r"\s(?:call|jmp)\s+\*0x[0-9a-f]+\(%rip\)\s+# [0-9a-f]+ <([^>@]+)@")
    graph, cur = {}, None
    frames = {}
    frame = re.compile(r"\ssub\s+\$0x([0-9a-f]+),%rsp")
    push = re.compile(r"\spush\s")
    for line in text.splitlines():
        m = head.match(line)
        if m:
            cur = m.group(1)
            graph.setdefault(cur, set())
            frames.setdefault(cur, [0, 0])
        elif cur and (m := frame.search(line)):
            frames[cur][0] = max(frames[cur][0], int(m.group(1), 16))
        elif cur and push.search(line) and frames[cur][1] < 8:
            frames[cur][1] += 1
            continue
        elif cur and (m := got.search(line)):
            graph[cur].add(m.group(1) + "@plt")
        elif cur and (m := call.search(line)):
            target = re.sub(r"\+0x[0-9a-f]+$", "", m.group(1))
            if target != cur:
                graph[cur].add(target)
    call_graph.frames = {f: sub + 8 * pushes + 8 for f, (sub, pushes) in frames.items()}
    return graph


def deepest(graph, f, stop, seen=()):
    """The most stack a call of f can use (bytes) and that chain of functions."""
    own = call_graph.frames.get(f, 8)
    best, chain = 0, []
    if not (f.endswith("@plt") or re.search(stop, f)):
        for t in graph.get(f, ()):
            if t in seen or t.endswith("@plt"):
                continue
            d, c = deepest(graph, t, stop, seen + (f,))
            if d > best:
                best, chain = d, c
    return own + best, [f] + chain


def reach(graph, roots, stop):
    """Every function reachable from roots, mapped to the caller it was reached from; imports
    and functions matching `stop` are leaves."""
    parent = {r: None for r in roots}
    todo = list(roots)
    while todo:
        f = todo.pop()
        if f.endswith("@plt") or re.search(stop, f):
            continue
        for t in graph.get(f, ()):
            if t not in parent:
                parent[t] = f
                todo.append(t)
    return parent


def main():
    so = sys.argv[1]
    graph = call_graph(so)
    missing = [h for h in HOOKS if h not in graph]
    print(("not ok" if missing else "ok") + f" - every hook is in the library's code {missing or ''}")
    parent = reach(graph, [h for h in HOOKS if h in graph], stop=LATE)
    late = sorted(f for f in parent if re.search(LATE, f))
    print(("ok" if late else "not ok") + " - the late lookup is a function of its own: "
          + (", ".join(late) or "not found"))
    failed = bool(missing) or not late
    for what, pattern in FORBIDDEN.items():
        bad = sorted(f for f in parent if re.search(pattern, f))
        print(("not ok" if bad else "ok") + f" - no hook can reach {what}")
        for f in bad:
            chain = [f]
            while parent[chain[-1]]:
                chain.append(parent[chain[-1]])
            print("# " + " <- ".join(chain))
        failed |= bool(bad)
    worst, chain = max((deepest(graph, h, LATE) for h in HOOKS if h in graph), key=lambda x: x[0])
    ok = worst <= STACK_LIMIT
    print(("ok" if ok else "not ok") + f" - every hook's own stack stays within {STACK_LIMIT} bytes, "
          f"whatever the envp (deepest: {worst} bytes)")
    print("# " + " -> ".join(f"{f} ({call_graph.frames.get(f, 8)})" for f in chain))
    failed |= not ok
    imports = sorted(f[:-4] for f in parent if f.endswith("@plt"))
    print(f"# the exec path calls into libc: {' '.join(imports)}")
    print(f"# {len(parent)} functions reachable from the hooks")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
