"""A recording proxy on 127.0.0.1 in front of a real llm-katan server.

It keeps every request body exactly as our client sent it (the payload contract under test),
forwards the request to llm-katan with output caps clamped (so CPU generation stays short), and
can rewrite the real reply the way today's APIs answer: reasoning before the answer, a reply cut
at the token cap, a reply withheld by a content filter.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CAP_FIELDS = ("max_tokens", "max_completion_tokens")
REASONING = ("<think>Option B looks right at first. The best answer is B? No: reading again, "
             "the question asks for the other one.</think>")


def rewrite(body: dict, mode: str) -> dict:
    """The upstream reply as a reasoning-era API would have returned it."""
    if mode == "plain" or "choices" not in body:
        return body
    choice = body["choices"][0]
    message = choice.setdefault("message", {})
    if mode == "reasoning":
        message["content"] = f"{REASONING}\nThe best answer is A."
    elif mode == "cut":
        message["content"] = "<think>Let me weigh each option in turn. First"
        choice["finish_reason"] = "length"
    elif mode == "filtered":
        message["content"] = None
        choice["finish_reason"] = "content_filter"
    usage = body.setdefault("usage", {})
    usage["completion_tokens_details"] = {"reasoning_tokens": 7}
    return body


class _Handler(BaseHTTPRequestHandler):
    server: _Proxy

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        sent = json.loads(raw)
        self.server.seen.append({"path": self.path, "body": sent})
        forwarded = {k: (min(v, self.server.cap) if k in CAP_FIELDS and isinstance(v, int)
                         else v) for k, v in sent.items()}
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("authorization", "x-api-key", "anthropic-version",
                                    "content-type")}
        request = urllib.request.Request(self.server.upstream + self.path, method="POST",
                                         data=json.dumps(forwarded).encode(), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, reply = response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            status, reply = exc.code, json.loads(exc.read() or b"{}")
        if status == 200:
            reply = rewrite(reply, self.server.mode)
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


class _Proxy(ThreadingHTTPServer):
    def __init__(self, upstream: str, mode: str, cap: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream, self.mode, self.cap = upstream, mode, cap
        self.seen: list[dict] = []


@contextmanager
def recording_proxy(upstream: str, mode: str = "plain", cap: int = 24):
    """Yields (base URL, list of recorded requests); the server stops with the block."""
    proxy = _Proxy(upstream, mode, cap)
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}", proxy.seen
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=10)
