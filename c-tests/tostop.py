"""tostop.py SHIM — a background job on a terminal with `stty tostop` is never stopped by the
shim (issue 7 item 1, SIGTTOU). A session on a pseudo-terminal, TOSTOP set; in a process group
of its own (the background), a host whose stderr is that terminal starts an MCP server with a
fresh environment, so a log line is due on stderr. The host must run to its end, not stop, and
the line is not written (a background writer on such a terminal is not welcome). Prints TAP-ish
`ok`/`not ok` lines like the C tests; run by run.sh."""

import fcntl
import os
import pty
import signal
import sys
import termios

BUILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "build")


def session(shim: str, slave: int) -> int:
    """In a new session whose controlling terminal is `slave`: runs the host in the background
    and returns 0 if it ended normally, 1 if it stopped, 2 if it failed otherwise."""
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    attrs = termios.tcgetattr(slave)
    attrs[3] |= termios.TOSTOP
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    host = os.fork()
    if host == 0:
        os.setpgid(0, 0)  # not the terminal's foreground group: a background job
        os.dup2(slave, 1)
        os.dup2(slave, 2)
        env = {"PATH": "/usr/bin:/bin", "HTTPS_PROXY": "http://proxy.test:1", "LD_PRELOAD": shim,
               "MCP_ENV_SHIM_LOG": "stderr"}
        argv = ["/usr/bin/env", "-i", os.path.join(BUILD, "mcp-server-standin"), "/dev/null"]
        os.execve(argv[0], argv, env)
    _, status = os.waitpid(host, os.WUNTRACED)
    if os.WIFSTOPPED(status):
        os.kill(host, signal.SIGKILL)
        os.waitpid(host, 0)
        return 1
    return 0 if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else 2


def main() -> int:
    shim = sys.argv[1]
    master, slave = pty.openpty()
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os._exit(session(shim, slave))
    os.close(slave)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 3
    fcntl.fcntl(master, fcntl.F_SETFL, os.O_NONBLOCK)
    try:
        seen = os.read(master, 65536)
    except OSError:
        seen = b""
    ok = code == 0
    print(f"{'ok' if ok else 'not ok'} - tostop: a background job on a `stty tostop` terminal "
          f"runs to its end ({['ended', 'was STOPPED (SIGTTOU)', 'failed', 'no result'][code]})")
    quiet = b'"event"' not in seen
    print(f"{'ok' if quiet else 'not ok'} - tostop: and wrote no line on that terminal")
    return 0 if ok and quiet else 1


if __name__ == "__main__":
    sys.exit(main())
