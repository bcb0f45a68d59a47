"""mitmdump addon that makes mitmproxy stand in for the sandbox proxy.

- Routes CONNECTs for a hostname that does not resolve (route_host) to the upstream's local TLS
  port (route_to), keeping the SNI, so the upstream's certificate is checked for the real name.
- Writes a flow log, one JSON line per event: `connect` (the CONNECT), `tls-client` (the client
  accepted the certificate mitmproxy re-signed with its CA), `tls-client-failed` (it did not: the
  sandbox's "TLS relay error"), `request` (an intercepted request and its status). Each carries
  the client's address and, like the sandbox proxy, its PID and exe, found from the socket in
  /proc (this proxy and its clients run on one host, as root).
- Writes {"port": N} to ready_file once listening (it is started with listen_port=0).
"""

import json
import os
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


class SandboxProxy:
    def __init__(self) -> None:
        self.pids: dict[str, tuple] = {}  # client connection id -> (pid, exe)

    def load(self, loader) -> None:
        loader.add_option("route_host", str, "", "Hostname whose CONNECTs go to route_to.")
        loader.add_option("route_to", str, "", "host:port that serves route_host.")
        loader.add_option("flow_log", str, "", "File that gets one JSON line per event.")
        loader.add_option("ready_file", str, "", "File that gets the listen port once running.")

    def running(self) -> None:
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

    def http_connect(self, flow: http.HTTPFlow) -> None:
        self._log("connect", flow.client_conn, host=flow.request.host, port=flow.request.port)

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

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.request.method != "CONNECT":
            self._log("request", flow.client_conn, method=flow.request.method, url=flow.request.pretty_url,
                      status=flow.response.status_code, intercepted_tls=flow.client_conn.tls_established)

    def error(self, flow: http.HTTPFlow) -> None:
        self._log("request-error", flow.client_conn, method=flow.request.method, url=flow.request.pretty_url,
                  error=flow.error.msg if flow.error else None)

    def client_disconnected(self, client) -> None:
        self.pids.pop(client.id, None)


addons = [SandboxProxy()]
