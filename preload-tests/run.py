"""The /etc/ld.so.preload scenarios of issue 9, each in a private mount namespace whose
/etc/ld.so.preload (a bind-mounted file, see nsetc.py) names the library; the machine's real /etc
is never written, and the run checks that /etc/ld.so.preload is the same before and after.

  mechanism                 a probe library in the namespace's ld.so.preload is loaded into a
                            dynamic program (not into the static gateway), and not outside it
  static-named-server       a static gateway (SDK-style stripped env) starts mcp-server-standin:
  static-node-server        ... and `node .../dist/index.js`: each gets the gateway's block in its
                            own environment, with one inject line via "start" (pid, ppid)
  static-non-mcp-untouched  ... and a plain program: untouched, no line
  dynamic-hooks-one-line    a gateway with LD_PRELOAD (the hooks) plus the global preload: one
                            line per server (the hook's), not two
  secure-mode               a set-user-ID server run by nobody: only the root-owned config's
                            values; the user's and the parent's env, MCP_ENV_SHIM included, ignored
  off-from-gateway          MCP_ENV_SHIM=off on the gateway turns the heal off for its servers
  cost-no-environ-read      /bin/true under the global preload opens no /proc/PID/environ
  install-layout            make install DESTDIR=... PREFIX=/usr [CONFIG=...] lays out exactly
                            the library, the CLI and the optional config

Prints one PASS/FAIL line per scenario (with each failed check under it), then `N passed,
M failed`. Where no mount namespace can be made it says so loudly and every namespace scenario
fails. Usage: run.py --shim /abs/libmcp_env_shim.so --build DIR [NAME-PREFIX ...]
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

from harness import (SDK_DEFAULTS, Checks, check_healed, check_started, check_untouched, read_gateway,
                     shim_lines)
from namespace import namespace_problem, ns_run, preload_state

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NOBODY = 65534
PROXY = "http://10.200.0.1:3128"
# Root's config in the secure scenario: a value neither the user, the parent nor the OpenShell
# defaults have, so a value from anywhere else shows.
ROOT_PROXY = "http://10.0.0.99:3128"


class Env:
    """Paths and programs of one run; `work` has no "mcp" in its path, so nothing but a
    program's own name can make it look like an MCP server."""

    def __init__(self, shim: Path, build: Path) -> None:
        self.work = Path(f"/tmp/preload-tests-{os.getpid()}")
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(mode=0o755)
        os.chmod(self.work, 0o755)
        # The library and the built programs, copied where `nobody` may read them: the checkout
        # may sit in a directory only root may enter (a clone in `mktemp -d`).
        shutil.copytree(build, self.work / "built")
        shutil.copy(shim, self.work / shim.name)
        shim, build = self.work / shim.name, self.work / "built"
        for p in [build, *build.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() or os.access(p, os.X_OK) else 0o644)
        os.chmod(shim, 0o755)
        self.shim, self.build = shim, build
        bin_ = self.work / "bin"
        bin_.mkdir()
        for name in ("mcp-server-standin", "plain-child"):
            shutil.copy(build / "dump", bin_ / name)
        self.named, self.plain = bin_ / "mcp-server-standin", bin_ / "plain-child"
        shutil.copytree(HERE / "app", self.work / "app")
        self.node_script = self.work / "app" / "dist" / "index.js"
        ca = self.work / "ca"
        ca.mkdir()
        for name in ("openshell-ca.pem", "ca-bundle.pem"):
            shutil.copy(REPO / "c-tests" / "test-ca.pem", ca / name)  # a real certificate: Node parses it
        (self.work / "home").mkdir()
        self.preload_shim = self.work / "preload.shim"
        self.preload_shim.write_text(f"{shim}\n")
        self.probe = build / "libpreloadprobe.so"
        self.preload_probe = self.work / "preload.probe"
        self.preload_probe.write_text(f"{self.probe}\n")
        self.cache: dict = {}

    def out(self, name: str) -> Path:
        d = self.work / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def agent_env(self, out: Path) -> dict:
        """What an OpenShell sandbox gives the gateway (OPENSHELL_SANDBOX left out, so the
        built-in defaults stay out and every value a server gets must be the gateway's), plus
        the shim's log file."""
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.work / "home"), "LOGNAME": "agent",
               "USER": "agent", "SHELL": "/bin/sh", "TERM": "dumb", "LANG": "C.UTF-8"}
        for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "grpc_proxy"):
            env[key] = PROXY
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
        env["NODE_USE_ENV_PROXY"] = "1"
        env["NODE_EXTRA_CA_CERTS"] = env["DENO_CERT"] = str(self.work / "ca" / "openshell-ca.pem")
        for key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"):
            env[key] = str(self.work / "ca" / "ca-bundle.pem")
        env["MCP_ENV_SHIM_LOG"] = str(out / "shim.log")
        # A privileged process (these run as root) writes only to a log file that exists.
        (out / "shim.log").touch()
        return env


def sdk_env(parent: dict, extra: dict | None = None) -> dict:
    """What gateway.c passes a child: the SDK defaults the parent has, plus its --env entries."""
    return {**{k: parent[k] for k in SDK_DEFAULTS if k in parent}, **(extra or {})}


def servers(e: Env) -> list[str]:
    """gateway.c's arguments for the two servers: an MCP-named one and an unnamed Node one."""
    return [str(e.named), "--next", "node", str(e.node_script)]


def static_run(e: Env):
    """One static gateway starting both servers and a plain program (shared by three scenarios)."""
    if "static" not in e.cache:
        out = e.out("static-gateway")
        env = e.agent_env(out)
        run = ns_run(out, {"ld.so.preload": e.preload_shim},
                     [str(e.build / "gateway-static"), str(out)] + servers(e) + ["--next", str(e.plain)], env)
        gw = read_gateway(out)
        e.cache["static"] = (run, gw, env, shim_lines(out / "shim.log", run.stderr))
    return e.cache["static"]


def check_gateway(c: Checks, run, gw, n: int) -> bool:
    return c(run.rc == 0 and gw.pid and len(gw.children) == n,
             f"the gateway ran and started {n} children (rc {run.rc}, started {len(gw.children)}; "
             f"stderr: {run.stderr.decode(errors='replace').strip()[-300:]})")


def check_from(c: Checks, what: str, line: dict, source: str) -> None:
    got = line.get("from")
    c(got == source or got == [source], f'{what}: the line says the values came "from" {source} (says {got})')


# --- the scenarios: each returns (checks, one-line summary) ---------------------------------

def s_mechanism(e: Env):
    c = Checks()
    before = preload_state()
    out = e.out("mechanism")
    probe_log = out / "probe.log"
    argv = [str(e.build / "gateway-static"), str(out), "--env", f"PRELOAD_PROBE_LOG={probe_log}", str(e.plain)]
    env = {"PATH": "/usr/bin:/bin", "PRELOAD_PROBE_LOG": str(probe_log)}
    run = ns_run(out, {"ld.so.preload": e.preload_probe}, argv, env)
    gw = read_gateway(out)
    check_gateway(c, run, gw, 1)
    child = gw.children[0] if gw.children else None
    loaded = probe_log.read_text().split() if probe_log.exists() else []
    c(child and loaded == ["loaded", f"pid={child.pid}"],
      f"in the namespace the probe library was loaded into the dynamic child and nothing else (probe log: {loaded})")
    c(child and child.dump.loaded(e.probe), "the child's maps show the probe library")
    c(gw.pid and f"pid={gw.pid}" not in loaded, "the static gateway, whose environment names the probe log too, never loaded it")

    view = ns_run(e.out("mechanism/view"), {"ld.so.preload": e.preload_probe},
                  ["sh", "-c", "cat /etc/ld.so.preload && sha256sum /etc/passwd"], {"PATH": "/usr/bin:/bin"})
    lines = view.stdout.decode().splitlines()
    passwd = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()
    c(lines[:1] == [str(e.probe)], f"the namespace's /etc/ld.so.preload names the probe (read: {lines[:1]})")
    c(len(lines) > 1 and lines[1].startswith(passwd), "the rest of /etc is the machine's (same /etc/passwd)")

    outside = e.out("mechanism/outside")
    probe_out = outside / "probe.log"
    subprocess.run([str(e.build / "gateway-static"), str(outside), "--env", f"PRELOAD_PROBE_LOG={probe_out}",
                    str(e.plain)], env={"PATH": "/usr/bin:/bin"}, timeout=60, check=False)
    gw_out = read_gateway(outside)
    c(gw_out.children and gw_out.children[0].status == 0 and not probe_out.exists()
      and not gw_out.children[0].dump.loaded(e.probe),
      "outside the namespace the same child ran without the probe (the machine's loader never saw it)")
    after = preload_state()
    c(before == after, f"the machine's /etc/ld.so.preload is unchanged ({before} -> {after})")
    return c, f"probe loaded in pid {child.pid if child else '?'} only inside the namespace; real /etc/ld.so.preload {after}"


def s_static_named(e: Env):
    c = Checks()
    run, gw, env, lines = static_run(e)
    summary = "gateway did not run"
    if check_gateway(c, run, gw, 3) and check_started(c, gw.children[0], e.shim, "mcp-server-standin"):
        line = check_healed(c, "mcp-server-standin", gw.children[0], sdk_env(env), env, gw.pid, lines,
                            via="start", reason="name:program")
        if line:
            check_from(c, "mcp-server-standin", line, "parent")
        summary = (f"server pid {gw.children[0].pid} (library loaded in it), gateway pid {gw.pid}; "
                   f"{len(lines)} lines: {[(l.get('pid'), l.get('via')) for l in lines]}")
    return c, summary


def s_static_node(e: Env):
    c = Checks()
    run, gw, env, lines = static_run(e)
    summary = "gateway did not run"
    if check_gateway(c, run, gw, 3) and check_started(c, gw.children[1], e.shim, "node .../dist/index.js"):
        line = check_healed(c, "node .../dist/index.js", gw.children[1], sdk_env(env), env, gw.pid, lines,
                            via="start", reason="env-dropped")
        if line:
            check_from(c, "node .../dist/index.js", line, "parent")
        summary = f"server pid {gw.children[1].pid} (library loaded in it), gateway pid {gw.pid}"
    return c, summary


def s_static_plain(e: Env):
    c = Checks()
    run, gw, env, lines = static_run(e)
    if check_gateway(c, run, gw, 3) and check_started(c, gw.children[2], e.shim, "plain-child"):
        check_untouched(c, "plain-child", gw.children[2], sdk_env(env), lines)
        known = {ch.pid for ch in gw.children[:2]}
        stray = [l for l in lines if l.get("pid") not in known]
        c(not stray, f"no log line for any process but the two servers (stray: {stray})")
    return c, f"plain child pid {gw.children[2].pid if len(gw.children) > 2 else '?'}, {len(lines)} lines in all"


def s_dynamic(e: Env):
    c = Checks()
    out = e.out("dynamic-gateway")
    env = dict(e.agent_env(out), LD_PRELOAD=str(e.shim))
    run = ns_run(out, {"ld.so.preload": e.preload_shim}, [str(e.build / "gateway"), str(out)] + servers(e), env)
    gw, lines = read_gateway(out), shim_lines(out / "shim.log", run.stderr)
    if check_gateway(c, run, gw, 2):
        for child, what, reason in ((gw.children[0], "mcp-server-standin", "name:program"),
                                    (gw.children[1], "node .../dist/index.js", "env-dropped")):
            if check_started(c, child, e.shim, what):
                check_healed(c, what, child, sdk_env(env), env, gw.pid, lines, via="posix_spawnp", reason=reason)
    c(len(lines) == 2, f"two lines in all, one per server (got {len(lines)})")
    return c, f"{len(lines)} lines: {[(l.get('pid'), l.get('via')) for l in lines]}"


def s_secure(e: Env):
    c = Checks()
    if os.geteuid() != 0:
        c(False, "secure mode needs root to install a set-user-ID program: NOT TESTED (run as root)")
        return c, "not run"
    out = e.out("secure")
    os.chmod(out, 0o777)  # the gateway runs as nobody and writes its children's output here
    if os.statvfs(out).f_flag & os.ST_NOSUID:
        c(False, f"{out} is on a nosuid file system: set-user-ID cannot be tested here: NOT TESTED")
        return c, "not run"
    suid = e.out("secure-bin")
    for name in ("mcp-server-suid", "plain-suid"):
        shutil.copy(e.build / "dump", suid / name)
        os.chown(suid / name, 0, 0)
        os.chmod(suid / name, 0o4755)
    config = {"values": {"HTTPS_PROXY": ROOT_PROXY}}  # root's default config: the only trusted source
    (suid / "root-config.json").write_text(json.dumps(config))
    evil_ca = out / "evil-ca.pem"
    shutil.copy(REPO / "c-tests" / "test-ca.pem", evil_ca)
    (out / "evil.json").write_text(json.dumps({"mode": "all", "log": str(out / "evil-config.log"),
                                               "values": {"HTTPS_PROXY": "http://evil-config.test:1"}}))
    user_env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LOGNAME": "nobody", "USER": "nobody",
                "SHELL": "/bin/sh", "TERM": "dumb"}
    evil = {"HTTPS_PROXY": "http://evil-parent.test:1", "https_proxy": "http://evil-parent.test:1",
            "HTTP_PROXY": "http://evil-parent.test:1", "NO_PROXY": "evil.test",
            "NODE_EXTRA_CA_CERTS": str(evil_ca), "SSL_CERT_FILE": str(evil_ca), "OPENSHELL_SANDBOX": "1"}
    shim_vars = {"MCP_ENV_SHIM": "off", "MCP_ENV_SHIM_LOG": str(out / "evil-parent.log"),
                 "MCP_ENV_SHIM_CONFIG": str(out / "evil.json")}
    own = {"MCP_ENV_SHIM": "off", "MCP_ENV_SHIM_LOG": str(out / "evil-own.log"),
           "MCP_ENV_SHIM_CONFIG": str(out / "evil.json")}
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
            str(e.build / "gateway-static"), str(out)]
    argv += [a for k, v in own.items() for a in ("--env", f"{k}={v}")] + [str(suid / "mcp-server-suid"), "--next",
                                                                        "--env", "MCP_ENV_SHIM=all",
                                                                        str(suid / "plain-suid")]
    parent_env = {**user_env, **evil, **shim_vars}
    run = ns_run(out, {"ld.so.preload": e.preload_shim, "mcp-env-shim/config.json": suid / "root-config.json"},
                 argv, parent_env)
    gw, lines = read_gateway(out), shim_lines(out / "shim.log", run.stderr)
    summary = "gateway did not run"
    if check_gateway(c, run, gw, 2):
        server, plain = gw.children
        c(server.dump.head.get("secure") == "1" and server.dump.head.get("uid") == str(NOBODY)
          and server.dump.head.get("euid") == "0",
          f"the server ran set-user-ID root for nobody, in secure-execution mode ({server.dump.head})")
        if check_started(c, server, e.shim, "mcp-server-suid"):
            line = check_healed(c, "mcp-server-suid", server, sdk_env(user_env, own), parent_env, gw.pid, lines,
                                via="start", reason="name:program", values=config["values"])
            c(server.dump.env.get("HTTPS_PROXY") == ROOT_PROXY, "mcp-server-suid: HTTPS_PROXY is root's configured value "
                                                         f"(has {server.dump.env.get('HTTPS_PROXY')})")
            if line:
                check_from(c, "mcp-server-suid", line, "config")
                c(line.get("_on") == "stderr", "its line went to stderr, not to a log path the user named")
        if check_started(c, plain, e.shim, "plain-suid"):
            check_untouched(c, "plain-suid (MCP_ENV_SHIM=all from the user)", plain,
                            sdk_env(user_env, {"MCP_ENV_SHIM": "all"}), lines)
        written = [n for n in ("evil-parent.log", "evil-own.log", "evil-config.log") if (out / n).exists()]
        c(not written, f"no file at a log path the user named ({written})")
        summary = (f"server pid {server.pid} (uid {server.dump.head.get('uid')}, euid {server.dump.head.get('euid')}, "
                   f"AT_SECURE {server.dump.head.get('secure')}, library loaded in it: {server.dump.loaded(e.shim)})")
    for name in ("mcp-server-suid", "plain-suid"):
        (suid / name).unlink()  # no set-user-ID program outlives the scenario
    return c, summary


def s_off(e: Env):
    c = Checks()
    out = e.out("off-gateway")
    env = dict(e.agent_env(out), MCP_ENV_SHIM="off")
    run = ns_run(out, {"ld.so.preload": e.preload_shim}, [str(e.build / "gateway-static"), str(out)] + servers(e), env)
    gw, lines = read_gateway(out), shim_lines(out / "shim.log", run.stderr)
    if check_gateway(c, run, gw, 2):
        for child, what in ((gw.children[0], "mcp-server-standin"), (gw.children[1], "node .../dist/index.js")):
            if check_started(c, child, e.shim, what):
                check_untouched(c, what, child, sdk_env(env), lines)
    c(not lines, f"no log line at all (got {len(lines)})")
    # Without a heal to turn off, "nothing happened" proves nothing: the control is the same
    # gateway and server without MCP_ENV_SHIM=off, which must have healed.
    _, sgw, senv, slines = static_run(e)
    healed = sgw.children and "HTTPS_PROXY" in sgw.children[0].dump.env and any(
        l.get("pid") == sgw.children[0].pid and l.get("via") == "start" for l in slines)
    c(healed, "control: without MCP_ENV_SHIM=off the same gateway's mcp-server-standin healed (static-named-server)")
    return c, f"{len(lines)} lines with off"


def strace_opens(log: Path) -> list[str]:
    return [m.group(1) for m in re.finditer(r'open(?:at2?)?\((?:[A-Z_]+, )?"([^"]*)"', log.read_text())]


def s_cost(e: Env):
    c = Checks()
    strace = shutil.which("strace")
    if not strace and os.geteuid() == 0 and shutil.which("apt-get"):
        print("preload-tests: installing strace (apt-get)", flush=True)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "strace"], capture_output=True, timeout=600)
        strace = shutil.which("strace")
    if not c(strace, "strace is installed (apt-get install strace): NOT TESTED"):
        return c, "no strace"
    environ = re.compile(r"^/proc/(\d+|self|thread-self)/(task/\d+/)?environ$")
    # Control: the pattern sees a real read of the parent's environ under the same strace.
    ctl = e.out("cost/control")
    subprocess.run([strace, "-f", "-qq", "-o", str(ctl / "strace.log"), "-e", "trace=open,openat,openat2",
                    "sh", "-c", "cat /proc/$PPID/environ >/dev/null"], timeout=60, check=False)
    c(any(environ.match(p) for p in strace_opens(ctl / "strace.log")), "control: strace shows cat opening /proc/PPID/environ")
    out = e.out("cost")
    env = e.agent_env(out)
    run = ns_run(out, {"ld.so.preload": e.preload_shim},
                 [strace, "-f", "-qq", "-o", str(out / "strace.log"), "-e", "trace=open,openat,openat2",
                  "env", "-i", "PATH=/usr/bin:/bin", "/bin/true"], env)
    opens = strace_opens(out / "strace.log") if (out / "strace.log").exists() else []
    c(run.rc == 0, f"strace env -i /bin/true ran (rc {run.rc}: {run.stderr.decode(errors='replace')[-300:]})")
    c(opens.count(str(e.shim)) >= 2, f"the library was loaded into env and /bin/true (opened {opens.count(str(e.shim))} times)")
    bad = [p for p in opens if environ.match(p)]
    c(not bad, f"no /proc/PID/environ opened by a non-MCP process (opened: {bad})")
    lines = shim_lines(out / "shim.log", run.stderr)
    c(not lines, f"nothing logged ({len(lines)} lines)")
    seen = [p for p in opens if p.startswith("/proc") or p == str(e.shim)]
    return c, f"{len(opens)} opens by env + /bin/true; of /proc or the library: {seen}"


def s_install(e: Env):
    c = Checks()
    config = e.work / "install-config.json"
    config.write_text('{"mode": "mcp"}\n')
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    summary = []
    for name, extra, want in (
            ("plain", [], {"usr/lib/libmcp_env_shim.so", "usr/bin/mcp-env-shim"}),
            ("config", [f"CONFIG={config}"], {"usr/lib/libmcp_env_shim.so", "usr/bin/mcp-env-shim",
                                              "etc/mcp-env-shim/config.json"})):
        dest = e.work / f"install-{name}"
        r = subprocess.run(["make", "-s", "-C", str(REPO), "install", f"DESTDIR={dest}", "PREFIX=/usr"] + extra,
                           capture_output=True, env=env, timeout=900)
        c(r.returncode == 0, f"make install {' '.join(extra)} succeeded ({r.stderr.decode(errors='replace')[-300:]})")
        got = {str(p.relative_to(dest)) for p in dest.rglob("*") if not p.is_dir()} if dest.exists() else set()
        c(got == want, f"{name}: DESTDIR holds exactly {sorted(want)} (got {sorted(got)})")
        lib, cli = dest / "usr/lib/libmcp_env_shim.so", dest / "usr/bin/mcp-env-shim"
        c(lib.exists() and lib.read_bytes() == (REPO / "target/release/libmcp_env_shim.so").read_bytes()
          and lib.stat().st_mode & 0o444 == 0o444, f"{name}: the library is the built one, readable by everyone")
        c(cli.exists() and cli.stat().st_mode & 0o111 == 0o111, f"{name}: the CLI is executable by everyone")
        conf = dest / "etc/mcp-env-shim/config.json"
        if extra:
            c(conf.exists() and conf.read_bytes() == config.read_bytes() and stat.S_IMODE(conf.stat().st_mode) == 0o644,
              f"{name}: the config is CONFIG's content, mode 0644")
        summary.append(f"{name}: {sorted(got)}")
    return c, "; ".join(summary)


NAMESPACED = [
    ("mechanism", "a probe library in the namespace's /etc/ld.so.preload", s_mechanism),
    ("static-named-server", "static gateway starts mcp-server-standin", s_static_named),
    ("static-node-server", "static gateway starts node .../dist/index.js", s_static_node),
    ("static-non-mcp-untouched", "static gateway starts a plain program", s_static_plain),
    ("dynamic-hooks-one-line", "LD_PRELOAD gateway + global preload", s_dynamic),
    ("secure-mode", "set-user-ID server run by nobody", s_secure),
    ("off-from-gateway", "MCP_ENV_SHIM=off on the gateway", s_off),
    ("cost-no-environ-read", "/bin/true under strace", s_cost),
]
PLAIN = [("install-layout", "make install DESTDIR=... PREFIX=/usr", s_install)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shim", required=True, type=Path)
    ap.add_argument("--build", required=True, type=Path)
    ap.add_argument("only", nargs="*", help="run only scenarios whose name starts with one of these")
    args = ap.parse_args()
    shim, build = args.shim.resolve(), args.build.resolve()
    if not shim.is_file():
        print(f"preload-tests: no library at {shim} (make build)")
        return 2
    pick = lambda todo: [t for t in todo if not args.only or any(t[0].startswith(p) for p in args.only)]  # noqa: E731
    namespaced, plain = pick(NAMESPACED), pick(PLAIN)
    before = preload_state()
    e = Env(shim, build)
    problem = namespace_problem(e.out("ns-probe")) if namespaced else None
    if problem:
        bar = "!" * 100
        print(f"{bar}\n!!! PRELOAD TESTS CANNOT RUN HERE: no private mount namespace ({problem}).\n"
              f"!!! They need root (unshare -m) or unprivileged user namespaces (unshare -rm).\n"
              f"!!! Every /etc/ld.so.preload scenario FAILS: nothing was tested.\n{bar}", flush=True)
    print(f"preload-tests: library {shim}; work {e.work}; {'root: unshare -m' if os.geteuid() == 0 else 'unshare -rm'}; "
          f"real /etc/ld.so.preload {before}", flush=True)
    passed = failed = 0
    started = time.monotonic()
    for name, title, fn in namespaced + plain:
        t0 = time.monotonic()
        if problem and (name, title, fn) in namespaced:
            errors, summary = [f"no mount namespace: {problem}"], "NOT RUN"
        else:
            try:
                c, summary = fn(e)
                errors = c.failed
            except Exception as err:  # noqa: BLE001 - a broken scenario is a failed one
                errors, summary = [f"{type(err).__name__}: {err}"], ""
                import traceback
                traceback.print_exc()
        passed, failed = passed + (not errors), failed + bool(errors)
        print(f"{'FAIL' if errors else 'PASS'} {name} ({title}, {time.monotonic() - t0:.1f}s): {summary}", flush=True)
        for err in errors:
            print(f"     failed: {err}", flush=True)
    after = preload_state()
    if after != before:
        failed += 1
        print(f"FAIL the machine's /etc/ld.so.preload changed during the run: {before} -> {after}")
    print(f"preload-tests: {time.monotonic() - started:.1f}s; details in {e.work}")
    print(f"{passed} passed, {failed} failed")
    if not failed:
        shutil.rmtree(e.work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
