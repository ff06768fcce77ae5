"""A local server speaking the three provider batch protocols as their references document them.

OpenAI's (and Gemini's compatible layer): `POST {root}/files` (multipart, purpose batch),
`POST {root}/batches`, `GET {root}/batches[/{id}]`, `GET {root}/files/{id}/content`. Anthropic's:
`POST /v1/messages/batches`, `GET /v1/messages/batches[/{id}]`, `GET .../{id}/results`. Each line
is executed by POSTing its body to a live chat endpoint (llm-katan, for the slow tests) or by an
in-process echo (fast tests), when the batch ends. The same echo also answers live chat calls,
so a live run and a batch run can be compared. Faults per created batch, in order: errored
lines, expiry part-way, a failed batch. It counts creations (what a provider bills).
"""

from __future__ import annotations

import email
import json
import re
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY = 50 * 1024 * 1024


def echo_reply(style: str, body: dict, bill_factor: float = 1.0) -> dict:
    """A deterministic reply: '#### <sum of the numbers in the last message>'."""
    messages = body.get("messages") or []
    last = messages[-1]["content"] if messages else body.get("prompt", "")
    if isinstance(last, list):
        last = " ".join(part.get("text", "") for part in last if isinstance(part, dict))
    numbers = re.findall(r"\d+", str(last)[-200:])
    answer = f"#### {sum(int(n) for n in numbers)}"
    tokens_in = int((len(json.dumps(messages)) // 4 + 1) * bill_factor)
    tokens_out = int(5 * bill_factor)
    if style == "anthropic":
        return {"id": "msg_echo", "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn",
                "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}
    return {"id": "chatcmpl-echo", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out}}


@dataclass
class Batch:
    """One created batch and what the server does with it."""

    id: str
    style: str
    lines: list[dict]
    fault: dict
    input_file_id: str | None = None
    created: float = field(default_factory=time.time)
    polls: int = 0
    status: str = "in_progress"
    results: list[dict] = field(default_factory=list)
    output_file_id: str | None = None
    error_file_id: str | None = None


class BatchServer:
    """State shared by the handler threads."""

    def __init__(self, upstream: str | None = None, polls_to_finish: int = 1,
                 bill_factor: float = 1.0) -> None:
        self.upstream, self.polls_to_finish, self.bill_factor = upstream, polls_to_finish, \
            bill_factor
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, Batch] = {}
        self.faults: list[dict] = []
        """Per created batch, in order: {"errored": n} | {"expire_after": n} | {"fail": True}."""
        self.submissions = 0
        self.executed = 0
        self.live_calls = 0
        self.lock = threading.Lock()
        self.base = ""

    # ---- executing one request
    def execute(self, style: str, body: dict) -> tuple[int, dict]:
        """A line's reply: from the live upstream, or the echo."""
        self.executed += 1
        if self.upstream is None:
            return 200, echo_reply(style, body, self.bill_factor)
        path = "/v1/messages" if style == "anthropic" else "/v1/chat/completions"
        request = urllib.request.Request(self.upstream + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": "Bearer k", "x-api-key": "k",
                                                  "anthropic-version": "2023-06-01"})
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())

    def finish(self, batch: Batch) -> None:
        """Run the batch's lines (faults applied) and publish its results."""
        fault = batch.fault
        if fault.get("fail"):
            batch.status = "failed" if batch.style == "openai" else "ended"
            batch.results = [{"custom_id": line["custom_id"], "error": "validation"}
                             for line in batch.lines] if batch.style != "openai" else []
            return
        cut = fault.get("expire_after")
        errored = int(fault.get("errored", 0))
        for i, line in enumerate(batch.lines):
            cid = line["custom_id"]
            if cut is not None and i >= cut:
                batch.results.append({"custom_id": cid, "expired": True})
            elif i < errored:
                batch.results.append({"custom_id": cid, "error": "server_error"})
            else:
                body = line["body"] if batch.style == "openai" else line["params"]
                status, reply = self.execute(batch.style, body)
                batch.results.append({"custom_id": cid, "status": status, "body": reply})
        batch.status = ("expired" if cut is not None else "completed") \
            if batch.style == "openai" else "ended"
        if batch.style == "openai":
            ok = [r for r in batch.results if "body" in r]
            bad = [r for r in batch.results if "body" not in r]
            if ok:
                batch.output_file_id = self._file(_openai_lines(ok))
            if bad:
                batch.error_file_id = self._file(_openai_lines(bad))

    def _file(self, text: str) -> str:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = text.encode()
        return file_id

    def create(self, style: str, lines: list[dict], input_file_id: str | None) -> Batch:
        """Register a new batch (what a provider bills for)."""
        with self.lock:
            self.submissions += 1
            prefix = "msgbatch_" if style == "anthropic" else "batch_"
            batch = Batch(f"{prefix}{self.submissions}", style, lines,
                          self.faults.pop(0) if self.faults else {}, input_file_id)
            self.batches[batch.id] = batch
            return batch

    def poll(self, batch: Batch) -> None:
        """One status read: a batch ends after `polls_to_finish` of them."""
        with self.lock:
            batch.polls += 1
            if batch.status == "in_progress" and batch.polls >= self.polls_to_finish:
                self.finish(batch)


def _openai_lines(results: list[dict]) -> str:
    out = []
    for r in results:
        if "body" in r:
            line = {"id": "req", "custom_id": r["custom_id"], "error": None,
                    "response": {"status_code": r["status"], "request_id": "r", "body": r["body"]}}
        elif r.get("expired"):
            line = {"id": "req", "custom_id": r["custom_id"], "response": None,
                    "error": {"code": "batch_expired", "message": "expired"}}
        else:
            line = {"id": "req", "custom_id": r["custom_id"], "error": None,
                    "response": {"status_code": 500, "request_id": "r",
                                 "body": {"error": {"message": "server error"}}}}
        out.append(json.dumps(line))
    return "\n".join(out) + "\n"


def _openai_batch(batch: Batch) -> dict:
    done = sum(1 for r in batch.results if "body" in r)
    return {"id": batch.id, "object": "batch", "endpoint": "/v1/chat/completions",
            "input_file_id": batch.input_file_id, "status": batch.status,
            "created_at": int(batch.created), "output_file_id": batch.output_file_id,
            "error_file_id": batch.error_file_id,
            "errors": {"data": [{"message": "validation failed"}]} if batch.status == "failed"
            else None,
            "request_counts": {"total": len(batch.lines), "completed": done,
                               "failed": len(batch.results) - done}}


def _anthropic_batch(batch: Batch, base: str) -> dict:
    kinds = {"succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    for r in batch.results:
        kinds["succeeded" if "body" in r else "expired" if r.get("expired") else "errored"] += 1
    ended = batch.status == "ended"
    return {"id": batch.id, "type": "message_batch", "processing_status": batch.status,
            "request_counts": {"processing": 0 if ended else len(batch.lines), **kinds},
            "created_at": datetime.fromtimestamp(batch.created, timezone.utc).isoformat()
            .replace("+00:00", "Z"),
            "results_url": f"{base}/v1/messages/batches/{batch.id}/results" if ended else None}


def _anthropic_results(batch: Batch) -> str:
    out = []
    for r in batch.results:
        if "body" in r:
            result = {"type": "succeeded", "message": r["body"]}
        elif r.get("expired"):
            result = {"type": "expired"}
        else:
            result = {"type": "errored", "error": {"type": "api_error", "message": "boom"}}
        out.append(json.dumps({"custom_id": r["custom_id"], "result": result}))
    return "\n".join(out) + "\n"


class Handler(BaseHTTPRequestHandler):
    """Routes by path suffix, so `/v1` and `/v1beta/openai` roots both work."""

    server_state: BatchServer

    def log_message(self, *args: Any) -> None:  # quiet
        return

    def _send(self, status: int, payload: Any, raw: bool = False) -> None:
        data = payload.encode() if raw else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/jsonl" if raw else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, {"error": "too large"})
            return None
        return self.rfile.read(length)

    def do_POST(self) -> None:
        state, path = self.server_state, self.path.split("?")[0]
        raw = self._body()
        if raw is None:
            return
        if path.endswith("/messages/batches"):
            requests = json.loads(raw)["requests"]
            batch = state.create("anthropic", requests, None)
            return self._send(200, _anthropic_batch(batch, state.base))
        if path.endswith("/files"):
            content = _multipart_file(self.headers.get("Content-Type", ""), raw)
            file_id = state._file(content.decode())
            return self._send(200, {"id": file_id, "object": "file", "purpose": "batch",
                                    "bytes": len(content)})
        if path.endswith("/batches"):
            spec = json.loads(raw)
            text = state.files[spec["input_file_id"]].decode()
            lines = [json.loads(x) for x in text.splitlines() if x.strip()]
            batch = state.create("openai", lines, spec["input_file_id"])
            return self._send(200, _openai_batch(batch))
        if path.endswith("/messages") or path.endswith("/chat/completions"):
            state.live_calls += 1
            style = "anthropic" if path.endswith("/messages") else "openai"
            status, reply = state.execute(style, json.loads(raw))
            return self._send(status, reply)
        self._send(404, {"error": path})

    def do_GET(self) -> None:
        state, path = self.server_state, self.path.split("?")[0]
        if match := re.search(r"/messages/batches/([\w-]+)/results$", path):
            return self._send(200, _anthropic_results(state.batches[match.group(1)]), raw=True)
        if match := re.search(r"/messages/batches/([\w-]+)$", path):
            batch = state.batches[match.group(1)]
            state.poll(batch)
            return self._send(200, _anthropic_batch(batch, state.base))
        if path.endswith("/messages/batches"):
            return self._send(200, {"data": [_anthropic_batch(b, state.base)
                                             for b in state.batches.values()]})
        if match := re.search(r"/files/([\w-]+)/content$", path):
            return self._send(200, state.files[match.group(1)].decode(), raw=True)
        if match := re.search(r"/batches/([\w-]+)$", path):
            batch = state.batches[match.group(1)]
            state.poll(batch)
            return self._send(200, _openai_batch(batch))
        if path.endswith("/batches"):
            return self._send(200, {"data": [_openai_batch(b) for b in state.batches.values()]})
        self._send(404, {"error": path})


def _multipart_file(content_type: str, raw: bytes) -> bytes:
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n"
                                       + raw)
    for part in message.walk():
        if part.get_filename():
            return part.get_payload(decode=True)
    raise ValueError("no file part")


@contextmanager
def batch_server(**kwargs: Any):
    """A BatchServer on a random loopback port until the block ends; yields the state."""
    state = BatchServer(**kwargs)
    handler = type("BoundHandler", (Handler,), {"server_state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
