"""mitmdump addon that makes mitmproxy stand in for the sandbox proxy.

- Routes CONNECTs for a hostname that does not resolve (route_host) to the upstream's local TLS
  port (route_to), keeping the SNI, so the upstream's certificate is checked for the real name.
- Writes a flow log, one JSON line per event: `connect` (the CONNECT), `tls-client` (the client
  accepted the certificate mitmproxy re-signed with its CA), `tls-client-failed` (it did not: the
  sandbox's "TLS relay error"), `request` (an intercepted request and its status). Each carries
  the client's address and, like the sandbox proxy, its PID and exe, found from the socket in
  /proc (this proxy and its clients run on one host, as root).
- Writes {"port": N} to ready_file once listening (it is started with listen_port=0).
- With openshell_log_dir, also writes what OpenShell's proxy logs, in its two formats
  (shared/OPENSHELL.md): `openshell.YYYY-MM-DD.log` (shorthand) and `openshell-ocsf.YYYY-MM-DD.log`
  (OCSF JSON): `NET:OPEN ... ALLOWED exe(pid) -> host:port` for each CONNECT (`DENIED` for a host in
  deny_hosts, which gets a 403, as a policy denial), `NET:FAIL [LOW] host:port` with no process when
  the client rejects the re-signed certificate, and, with bypass_listen, `NET:REFUSE ... DENIED
  exe(pid) -> ip:port/tcp [policy:bypass-detect engine:nftables]` plus `FINDING:BLOCKED` for a direct
  connection to that address, which it resets: the stand-in for OpenShell's nftables reject and
  bypass monitor (this machine has no nftables). PIDs are the real clients', from /proc; the OCSF
  parent chain has names only, pids 0, as OpenShell's.
"""

import json
import os
import socket
import struct
import threading
import time

from mitmproxy import ctx, http, tls
from mitmproxy.proxy import server_hooks


def _hex_addr(ip: str, port: int) -> str:
    """/proc/net/tcp's notation of an IPv4 address: little-endian hex, then the port."""
    return "".join(f"{int(b):02X}" for b in reversed(ip.split("."))) + f":{port:04X}"


def _pid_of_socket(local: tuple, remote: tuple) -> tuple[int | None, str | None]:
    """The process owning the TCP socket local->remote, or (None, None)."""
    if not local or ":" in local[0]:
        return None, None
    want = (_hex_addr(local[0], local[1]), _hex_addr(remote[0], remote[1]))
    inode = None
    with open("/proc/net/tcp") as f:
        for row in f.readlines()[1:]:
            cols = row.split()
            if (cols[1], cols[2]) == want:
                inode = cols[9]
                break
    if not inode:
        return None, None
    target = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") == target for fd in fds):
                return int(pid), os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
    return None, None


def _proc_chain(pid: int) -> tuple[str | None, list[str]]:
    """(cmd_line, parent binaries nearest first) of a live process, as OpenShell's OCSF logs them."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None, []
    parents, cur = [], pid
    for _ in range(16):
        try:
            with open(f"/proc/{cur}/stat") as f:
                cur = int(f.read().rsplit(")", 1)[1].split()[1])
            if cur <= 1:
                break
            parents.append(os.readlink(f"/proc/{cur}/exe"))
        except (OSError, ValueError, IndexError):
            break
    return cmd, parents


class OpenShellLog:
    """OpenShell's two daily files, one line per event (shared/OPENSHELL.md)."""

    def __init__(self, directory: str) -> None:
        self.dir = directory
        self.lock = threading.Lock()
        os.makedirs(directory, exist_ok=True)

    def write(self, short: str, ocsf: dict) -> None:
        now = time.time()
        ms = int(now * 1000)
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{ms % 1000:03d}Z"
        with self.lock:
            with open(os.path.join(self.dir, f"openshell.{day}.log"), "a") as f:
                f.write(f"{ts} OCSF {short}\n")
            with open(os.path.join(self.dir, f"openshell-ocsf.{day}.log"), "a") as f:
                f.write(json.dumps({"time": ms, **ocsf}, separators=(",", ":")) + "\n")

    @staticmethod
    def actor(pid: int | None, exe: str | None) -> dict:
        cmd, parents = _proc_chain(pid) if pid else (None, [])
        proc: dict = {"name": exe or "-", "pid": pid or 0, "cmd_line": cmd}
        cur = proc
        for name in parents:
            cur["parent_process"] = {"name": name, "pid": 0}
            cur = cur["parent_process"]
        return {"process": proc}

    def net(self, activity: str, allowed: bool, pid, exe, host: str, port: int, policy: str, engine: str,
            reason: str | None = None) -> None:
        word = "ALLOWED" if allowed else "DENIED"
        sev = "INFO" if allowed else "MED"
        dest = f"{host}:{port}" + ("/tcp" if activity == "Refuse" else "")
        short = f"NET:{activity.upper()} [{sev}] {word} {exe}({pid}) -> {dest} [policy:{policy} engine:{engine}]"
        if reason:
            short += f" [reason:{reason}]"
        ep = {"ip" if host.replace(".", "").isdigit() else "domain": host, "port": port}
        self.write(short, {"class_uid": 4001, "class_name": "Network Activity", "activity_name": activity,
                           "action": "Allowed" if allowed else "Denied", "severity": "Informational" if allowed else "Medium",
                           "dst_endpoint": ep, "firewall_rule": {"name": policy, "type": engine},
                           "actor": self.actor(pid, exe), "message": reason or f"CONNECT {host}:{port}"})

    def fail(self, host: str, port: int, error: str) -> None:
        self.write(f"NET:FAIL [LOW] {host}:{port}",
                   {"class_uid": 4001, "class_name": "Network Activity", "activity_name": "Fail", "severity": "Low",
                    "dst_endpoint": {"domain": host, "port": port}, "message": f"TLS relay error: {error}"})

    def finding(self, reason: str) -> None:
        self.write('FINDING:BLOCKED [MED] "Proxy Bypass Detected" [type:bypass-detect confidence:high]',
                   {"class_uid": 2004, "class_name": "Detection Finding", "activity_name": "Create",
                    "finding_info": {"title": "Proxy Bypass Detected", "types": ["bypass-detect"]},
                    "message": reason})


class SandboxProxy:
    def __init__(self) -> None:
        self.pids: dict[str, tuple] = {}  # client connection id -> (pid, exe)
        self.dests: dict[str, tuple] = {}  # client connection id -> (host, port) of its CONNECT
        self.openshell: OpenShellLog | None = None

    def load(self, loader) -> None:
        loader.add_option("route_host", str, "", "Hostname whose CONNECTs go to route_to.")
        loader.add_option("route_to", str, "", "host:port that serves route_host.")
        loader.add_option("flow_log", str, "", "File that gets one JSON line per event.")
        loader.add_option("ready_file", str, "", "File that gets the listen port once running.")
        loader.add_option("openshell_log_dir", str, "", "Directory for OpenShell-format logs (shorthand + OCSF).")
        loader.add_option("deny_hosts", str, "", "Comma-separated hosts whose CONNECT the policy denies.")
        loader.add_option("bypass_listen", str, "", "ip:port where direct connections are refused and logged.")

    def running(self) -> None:
        if ctx.options.openshell_log_dir:
            self.openshell = OpenShellLog(ctx.options.openshell_log_dir)
        if ctx.options.bypass_listen and self.openshell:
            self._start_bypass_monitor(ctx.options.bypass_listen)
        port = ctx.master.addons.get("proxyserver").listen_addrs()[0][1]
        tmp = ctx.options.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"port": port}, f)
        os.replace(tmp, ctx.options.ready_file)  # atomic: the test polls for this file

    def _log(self, event: str, client, **fields) -> None:
        if client.id not in self.pids:
            self.pids[client.id] = _pid_of_socket(client.peername, client.sockname)
        pid, exe = self.pids[client.id]
        line = {"ts": round(time.time(), 3), "event": event,
                "client": f"{client.peername[0]}:{client.peername[1]}", "client_pid": pid, "client_exe": exe, **fields}
        with open(ctx.options.flow_log, "a") as f:
            f.write(json.dumps(line) + "\n")

    def _start_bypass_monitor(self, listen: str) -> None:
        """Refuses every connection to `listen` (a reset, as nftables' reject) and logs it with the
        client's PID, as OpenShell's bypass monitor does."""
        host, port = listen.rsplit(":", 1)
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, int(port)))
        srv.listen(16)

        def serve() -> None:
            while True:
                conn, peer = srv.accept()
                pid, exe = _pid_of_socket(peer, (host, int(port)))
                reason = (f"BYPASS_DETECT {host}:{port} proto=tcp binary={exe} action=reject "
                          f"reason=direct connection bypassed HTTP CONNECT proxy")
                self.openshell.net("Refuse", False, pid, exe, host, int(port), "bypass-detect", "nftables", reason)
                self.openshell.finding(reason)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()

        threading.Thread(target=serve, daemon=True).start()

    def http_connect(self, flow: http.HTTPFlow) -> None:
        self._log("connect", flow.client_conn, host=flow.request.host, port=flow.request.port)
        self.dests[flow.client_conn.id] = (flow.request.host, flow.request.port)
        if self.openshell:
            pid, exe = self.pids[flow.client_conn.id]
            denied = flow.request.host in [h for h in ctx.options.deny_hosts.split(",") if h]
            if denied:
                self.openshell.net("Open", False, pid, exe, flow.request.host, flow.request.port, "sandbox_demo", "opa",
                                   f"{flow.request.host} is not in the sandbox policy's allowed endpoints")
                flow.response = http.Response.make(403, b"denied by the sandbox policy\n")
            else:
                self.openshell.net("Open", True, pid, exe, flow.request.host, flow.request.port, "default", "opa")

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        if data.server.address and data.server.address[0] == ctx.options.route_host:
            host, port = ctx.options.route_to.rsplit(":", 1)
            data.server.sni = data.server.sni or ctx.options.route_host
            data.server.address = (host, int(port))

    def tls_established_client(self, data: tls.TlsData) -> None:
        # The certificate this proxy presented: a leaf it made for the SNI, signed by its CA.
        cert = data.ssl_conn.get_certificate() if data.ssl_conn else None
        self._log("tls-client", data.context.client, sni=data.context.client.sni,
                  cert_subject=cert.get_subject().CN if cert else None,
                  cert_issuer=cert.get_issuer().CN if cert else None)

    def tls_failed_client(self, data: tls.TlsData) -> None:
        self._log("tls-client-failed", data.context.client, sni=data.context.client.sni,
                  error=data.context.client.error)
        if self.openshell:
            host, port = self.dests.get(data.context.client.id, (data.context.client.sni or "-", 443))
            self.openshell.fail(host, port, data.context.client.error or "handshake failed")

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.request.method != "CONNECT":
            self._log("request", flow.client_conn, method=flow.request.method, url=flow.request.pretty_url,
                      status=flow.response.status_code, intercepted_tls=flow.client_conn.tls_established)

    def error(self, flow: http.HTTPFlow) -> None:
        self._log("request-error", flow.client_conn, method=flow.request.method, url=flow.request.pretty_url,
                  error=flow.error.msg if flow.error else None)

    def client_disconnected(self, client) -> None:
        self.pids.pop(client.id, None)
        self.dests.pop(client.id, None)


addons = [SandboxProxy()]
