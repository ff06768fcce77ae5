"""A small OpenAI-style chat server that misbehaves on purpose, for the security tests.

Modes: `ok` answers every chat request ("The best answer is A."); `redirect` sends a 307 to
`location`; `echo` fails with an error that quotes the request body; `reflect` fails with an
error that quotes the Authorization header so that the key straddles character 200 of the
reply; `brackets` fails with "messages[0].content[/text] is invalid". `silent_listener` is a
port that accepts and never answers. Every request is recorded (path, Host header, body). It binds
127.0.0.1 unless a test inside its own network namespace gives another address; request bodies
are capped at 1 MB and sockets time out, so a test cannot hang on it.
"""

from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = "The best answer is A."
BRACKETS = "messages[0].content[/text] is invalid"
MAX_BODY = 1 << 20
KEY_AT = 190
"""Where a reflected key starts in the error reply: a 26+ character key straddles 200."""


def chat_reply(model: str = "bad") -> dict:
    """A valid chat completion with usage."""
    return {"id": "x", "object": "chat.completion", "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": REPLY}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10

    def _record(self) -> bytes:
        size = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        raw = self.rfile.read(size) if size else b""
        self.server.seen.append({"method": self.command, "path": self.path,
                                 "host": self.headers.get("Host"), "body": raw.decode("utf-8",
                                                                                      "replace")})
        return raw

    def _send(self, status: int, body: dict | str, headers: dict | None = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        raw = self._record()
        mode = self.server.mode
        if mode == "ok":
            self._send(200, chat_reply())
        elif mode == "redirect":
            self._send(307, {"moved": True}, {"Location": self.server.location})
        elif mode == "echo":
            self._send(400, {"error": {"message": "cannot parse request: "
                                       + raw.decode("utf-8", "replace")}})
        elif mode == "reflect":
            auth = self.headers.get("Authorization") or self.headers.get("x-api-key") or ""
            key = auth.removeprefix("Bearer ")
            prefix = '{"error": "' + "k" * (KEY_AT - len('{"error": "')) + "invalid key "
            self._send(401, prefix[:KEY_AT] + key + ' is not valid"}')
        elif mode == "brackets":
            self._send(400, {"error": {"message": BRACKETS, "type": "invalid_request_error"}})
        else:
            self._send(500, {"error": f"unknown mode {mode}"})

    def do_GET(self) -> None:
        self._record()
        self._send(200, {"ok": True})

    def log_message(self, *args: object) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, mode: str, location: str) -> None:
        super().__init__((host, port), _Handler)
        self.mode, self.location = mode, location
        self.seen: list[dict] = []


@contextmanager
def bad_server(mode: str, *, host: str = "127.0.0.1", port: int = 0, location: str = ""):
    """Yields (base URL, list of recorded requests); the server stops with the block."""
    server = _Server(host, port, mode, location)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", server.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def silent_listener(host: str = "127.0.0.1"):
    """A port that accepts connections and never says a byte (a stuck service)."""
    sock = socket.socket()
    sock.bind((host, 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        sock.close()
