"""A mock model provider for the Codex scenario: enough of the OpenAI Responses API for one
`codex exec` turn. POST .../responses gets a server-sent-event stream of three events
(response.created, one assistant message, response.completed), after which Codex ends the turn
and exits 0. Each request is logged as one JSON line (method, path, the names of the tools the
request offered the model, and how the gate went).

The gate: Codex does not wait for its MCP servers before the first turn, and stops them when it
exits. So that a server has started and done its work before then, the reply waits until every
file that GATE_FILE ({"wait_for": [paths]}, rewritten by the test before each run) names exists
(at most 60 s; "gate": "open" or "timeout" in the log).

Usage: python mock_model.py READY_FILE REQUEST_LOG GATE_FILE   (writes {"port": N} to READY_FILE)
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

READY, LOG, GATE = sys.argv[1:4]
REPLY = "mock model: turn done"
lock = threading.Lock()


def sse(events: list[dict]) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def turn() -> bytes:
    usage = {"input_tokens": 1, "input_tokens_details": None, "output_tokens": 1, "output_tokens_details": None,
             "total_tokens": 2}
    return sse([
        {"type": "response.created", "response": {"id": "resp_mock"}},
        {"type": "response.output_item.done", "item": {"type": "message", "role": "assistant", "id": "msg_mock",
                                                       "content": [{"type": "output_text", "text": REPLY}]}},
        {"type": "response.completed", "response": {"id": "resp_mock", "usage": usage}},
    ])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # one JSON line per request instead
        pass

    def gate(self) -> str:
        """Waits for the files the gate names: the events the reply must come after."""
        try:
            paths = json.loads(open(GATE).read()).get("wait_for", [])
        except (OSError, json.JSONDecodeError):
            return "none"
        deadline, delay = time.monotonic() + 60, 0.01
        while not all(os.path.exists(p) for p in paths):
            if time.monotonic() > deadline:
                return "timeout"
            time.sleep(delay)  # polling interval, not a wait for something to happen
            delay = min(delay * 2, 0.2)
        return "open"

    def record(self, status: int, body: bytes, gate: str = "") -> None:
        tools = []
        try:
            for t in json.loads(body or b"{}").get("tools", []):
                name = t.get("name") or t.get("type")
                tools.append(name)  # an MCP server's tools come as a namespace holding them
                tools += [f"{name}/{sub.get('name')}" for sub in t.get("tools", []) if isinstance(sub, dict)]
        except (json.JSONDecodeError, AttributeError):
            pass
        with lock, open(LOG, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "status": status, "tools": tools,
                                "gate": gate}) + "\n")

    def reply(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.record(404, b"")
        self.reply(404, b"{}", "application/json")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.rstrip("/").endswith("/responses"):
            self.record(200, body, self.gate())
            self.reply(200, turn(), "text/event-stream")
        else:
            self.record(404, body)
            self.reply(404, b"{}", "application/json")


def main() -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(READY + ".tmp", "w") as f:
        json.dump({"port": srv.server_address[1]}, f)
    os.replace(READY + ".tmp", READY)  # atomic: the test polls for this file
    srv.serve_forever()


if __name__ == "__main__":
    main()
