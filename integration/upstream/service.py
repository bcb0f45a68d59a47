"""The upstream the demo servers talk to, on two 127.0.0.1 listeners with free ports:

- TLS (its own private-CA certificate for api.sandbox.test, a name that does not resolve, so it
  is reachable only through the proxy, which routes that CONNECT here): the OAuth token endpoint
  POST /oauth/token (client_credentials -> a fresh bearer token) and GET /api/data.
- plain HTTP (the resource API on loopback, which NO_PROXY exempts, as a sandbox-local service
  is): GET /api/data, and POST /control/mint?uses=N, with which the test mints the server's
  "cached" token.

A token is valid for a number of API calls, not seconds: the cached token is minted with uses=1,
so the first get_data succeeds and the second gets `401 token expired`, without waiting on a clock.

Usage: python service.py CERTDIR READY_FILE REQUEST_LOG CLIENT_ID CLIENT_SECRET
Writes {"tls_port": .., "http_port": ..} to READY_FILE once both listeners accept.
"""

import json
import os
import secrets
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CERTDIR, READY, REQLOG, CLIENT_ID, CLIENT_SECRET = sys.argv[1:6]
tokens: dict[str, int] = {}  # token -> API calls left
lock = threading.Lock()


def mint(prefix: str, uses: int) -> str:
    tok = f"{prefix}-{secrets.token_hex(8)}"
    with lock:
        tokens[tok] = uses
    return tok


class Handler(BaseHTTPRequestHandler):
    listener = "?"

    def log_message(self, *args) -> None:  # one JSON line per request instead, see reply()
        pass

    def reply(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        line = {"listener": self.listener, "method": self.command, "path": self.path, "status": status,
                "peer": f"{self.client_address[0]}:{self.client_address[1]}"}
        with lock, open(REQLOG, "a") as f:
            f.write(json.dumps(line) + "\n")

    def api_data(self) -> None:
        auth = self.headers.get("authorization", "")
        tok = auth[7:] if auth.lower().startswith("bearer ") else ""
        with lock:
            left = tokens.get(tok)
            if left:
                tokens[tok] = left - 1
        if left is None:
            self.reply(401, {"error": "invalid_token", "error_description": "unknown token"},
                       {"www-authenticate": 'Bearer error="invalid_token"'})
        elif left == 0:
            self.reply(401, {"error": "invalid_token", "error_description": "token expired"},
                       {"www-authenticate": 'Bearer error="invalid_token", error_description="token expired"'})
        else:
            self.reply(200, {"data": "tokendemo payload", "token": tok.split("-")[0], "served_by": self.listener})

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/api/data":
            self.api_data()
        else:
            self.reply(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        url = urlsplit(self.path)
        if self.listener == "tls" and url.path == "/oauth/token":
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if form.get("grant_type") != "client_credentials":
                self.reply(400, {"error": "unsupported_grant_type"})
            elif (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                self.reply(401, {"error": "invalid_client"})
            else:
                self.reply(200, {"access_token": mint("refreshed", 100), "token_type": "Bearer", "expires_in": 300})
        elif self.listener == "http" and url.path == "/control/mint":
            uses = int(parse_qs(url.query).get("uses", ["1"])[0])
            self.reply(200, {"access_token": mint("cached", uses)})
        else:
            self.reply(404, {"error": "not_found"})


def serve(listener: str, wrap: ssl.SSLContext | None) -> ThreadingHTTPServer:
    handler = type(f"{listener}Handler", (Handler,), {"listener": listener})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    if wrap:
        srv.socket = wrap.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main() -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(CERTDIR, "server.pem"), os.path.join(CERTDIR, "server-key.pem"))
    tls, plain = serve("tls", ctx), serve("http", None)
    tmp = READY + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"tls_port": tls.server_address[1], "http_port": plain.server_address[1]}, f)
    os.replace(tmp, READY)  # atomic: the test polls for this file
    threading.Event().wait()  # until the test kills the process group


if __name__ == "__main__":
    main()
