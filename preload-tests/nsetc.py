"""Inside a fresh private mount namespace, makes files of our choosing appear under /etc (above
all /etc/ld.so.preload), then executes a command there. The machine's real /etc is never written.

Run only as `unshare -m --propagation private -- python3 nsetc.py SPEC.json` (or `unshare -rm`
when not root); it refuses to mount anything unless its mount namespace differs from the one the
caller ran in (SPEC's outer_mnt_ns: the caller's /proc/self/ns/mnt).
SPEC: {"etc": {"ld.so.preload": "/abs/source", ...}, "argv": [...], "env": {...}, "cwd": "...",
"stage": "an empty directory for the tmpfs", "outer_mnt_ns": "mnt:[...]"}.

Each /etc file is bind-mounted from its source, so the scenario's file is the one the loader
reads. A bind mount needs an existing mount point, and /etc/ld.so.preload usually does not exist:
then /etc itself is first covered by an overlay whose lower layer is the real /etc (read-only)
and whose upper layer, on a tmpfs private to this namespace, holds empty placeholders. Mounts
that sat under /etc (a container's /etc/hosts, /etc/resolv.conf) are bound again on top.
Everything goes when the namespace's last process exits.
"""

import ctypes
import json
import os
import sys
import tempfile

MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    if libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or 'bind'} {source} on {target}: {os.strerror(err)}")


def mounts_under(top: str) -> list[str]:
    """Mount points strictly below `top`, outermost first (fields per proc(5) mountinfo)."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for row in f:
            point = row.split()[4].encode().decode("unicode_escape")
            if point.startswith(top + "/"):
                found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"))


def overlay_etc(stage: str, missing: list[str]) -> None:
    """Covers /etc with real-/etc + a tmpfs upper layer (mounted on the empty directory `stage`)
    holding a placeholder for each missing path."""
    mount("tmpfs", stage, "tmpfs", 0, "mode=0755")
    upper, work, keep = f"{stage}/upper", f"{stage}/work", f"{stage}/keep"
    for d in (upper, work, keep):
        os.mkdir(d)
    for rel in missing:
        os.makedirs(os.path.dirname(f"{upper}/{rel}"), exist_ok=True)
        open(f"{upper}/{rel}", "w").close()
    subs = mounts_under("/etc")
    for i, point in enumerate(subs):  # keep a handle on each before the overlay hides them
        path = f"{keep}/{i}"
        (os.mkdir if os.path.isdir(point) else lambda p: open(p, "w").close())(path)
        mount(point, path, None, MS_BIND | MS_REC)
    mount("overlay", "/etc", "overlay", 0, f"lowerdir=/etc,upperdir={upper},workdir={work}")
    for i, point in enumerate(subs):
        if os.path.lexists(point):
            mount(f"{keep}/{i}", point, None, MS_BIND | MS_REC)


def main() -> int:
    spec = json.loads(open(sys.argv[1]).read())
    mine, outer = os.readlink("/proc/self/ns/mnt"), spec.get("outer_mnt_ns")
    if not outer or mine == outer:
        print(f"nsetc: refusing: not in a private mount namespace ({mine}); run me under unshare -m",
              file=sys.stderr)
        return 125
    mount("none", "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates to the real namespace
    etc: dict = spec.get("etc", {})
    missing = [rel for rel in etc if not os.path.exists(f"/etc/{rel}")]
    if missing:
        stage = spec.get("stage") or tempfile.mkdtemp(prefix="nsetc-")
        os.makedirs(stage, exist_ok=True)
        overlay_etc(stage, missing)
    # ld.so.preload last: once it is in place, every program started here loads what it names.
    for rel in sorted(etc, key=lambda r: r == "ld.so.preload"):
        mount(etc[rel], f"/etc/{rel}", None, MS_BIND)
        mount(etc[rel], f"/etc/{rel}", None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        with open(f"/etc/{rel}", "rb") as a, open(etc[rel], "rb") as b:
            if a.read() != b.read():
                print(f"nsetc: /etc/{rel} does not show {etc[rel]}", file=sys.stderr)
                return 125
    os.chdir(spec.get("cwd") or "/")
    argv = spec["argv"]
    os.execvpe(argv[0], argv, spec["env"])


if __name__ == "__main__":
    sys.exit(main())
