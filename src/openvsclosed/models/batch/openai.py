"""OpenAI's Batch API as its reference documents it.

Upload a JSONL file (`POST /v1/files`, purpose `batch`), create the batch (`POST /v1/batches`
with `input_file_id`, `endpoint: /v1/chat/completions`, `completion_window: 24h`), poll
`GET /v1/batches/{id}` (validating, in_progress, finalizing, then completed, failed, expired or
cancelled; `request_counts`), then read `GET /v1/files/{id}/content` for the output and error
files: one line per request, `{custom_id, response: {status_code, body}, error}`. Limits:
50,000 requests and 200 MB per input file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from openvsclosed.models.batch.journal import BatchEntry
from openvsclosed.models.batch.protocol import (
    BatchStatus,
    LineResult,
    Protocol,
    strip_suffix,
)

ENDED = frozenset({"completed", "failed", "expired", "cancelled"})


class OpenAIBatches(Protocol):
    """Files plus batches under the chat endpoint's `/v1` root."""

    name = "openai"
    chat_path = "/v1/chat/completions"
    """The `url` of each line and the batch's `endpoint`, as the reference spells them."""

    @property
    def root(self) -> str:
        """`.../v1/chat/completions` -> `.../v1`, where files and batches live."""
        return strip_suffix(self.endpoint, "/chat/completions", self.name)

    def line(self, custom_id: str, body: dict) -> dict:
        """One input-file line: the live body under `body`."""
        return {"custom_id": custom_id, "method": "POST", "url": self.chat_path, "body": body}

    def submit(self, items: list[tuple[str, dict]], entry: BatchEntry,
               journal_save: Any) -> None:
        """Upload the file, journal its id, then create the batch (never retried blind)."""
        data = "".join(json.dumps(self.line(*item)) + "\n" for item in items).encode()
        uploaded = self.call("POST", f"{self.root}/files", data={"purpose": "batch"},
                             files={"file": ("ovc-batch.jsonl", data, "application/jsonl")})
        entry.input_file_id = str(uploaded.json()["id"])
        journal_save()  # the file id first: a kill after create finds the batch through it
        created = self.call("POST", f"{self.root}/batches", retry=False, json={
            "input_file_id": entry.input_file_id, "endpoint": self.chat_path,
            "completion_window": "24h"})
        entry.batch_id = str(created.json()["id"])

    def status(self, batch_id: str) -> BatchStatus:
        """`status`, `request_counts` and the output and error files."""
        data = self.call("GET", f"{self.root}/batches/{batch_id}").json()
        counts = data.get("request_counts") or {}
        status = str(data.get("status", "unknown"))
        return BatchStatus(status, status in ENDED,
                           int(counts.get("completed", 0)) + int(counts.get("failed", 0)),
                           int(counts.get("total", 0)),
                           {"output_file_id": data.get("output_file_id"),
                            "error_file_id": data.get("error_file_id"),
                            "errors": data.get("errors")})

    def results(self, status: BatchStatus) -> Iterator[LineResult]:
        """The output file's lines, then the error file's (expired and failed requests)."""
        for ref in ("output_file_id", "error_file_id"):
            file_id = status.refs.get(ref)
            if not file_id:
                continue
            text = self.call("GET", f"{self.root}/files/{file_id}/content").text
            for raw in text.splitlines():
                if raw.strip():
                    yield _line_result(json.loads(raw))

    def find(self, entry: BatchEntry, exclude: frozenset[str] | set[str] = frozenset(),
             ) -> str | None:
        """The listed batch made from the journaled input file (one no journal names yet)."""
        if not entry.input_file_id:
            return None  # the upload itself never finished: no batch can exist
        listed = self.call("GET", f"{self.root}/batches", params={"limit": 100}).json()
        for batch in listed.get("data", []):
            if batch.get("input_file_id") == entry.input_file_id and \
                    str(batch["id"]) not in exclude:
                return str(batch["id"])
        return None


def _line_result(line: dict) -> LineResult:
    custom_id = str(line.get("custom_id"))
    response = line.get("response") or {}
    if line.get("error") or response.get("status_code") != 200:
        error = line.get("error") or {"status_code": response.get("status_code")}
        return LineResult(custom_id, error=json.dumps(error)[:300])
    body = response.get("body")
    if not isinstance(body, dict):
        return LineResult(custom_id, error="no reply body in the output line")
    return LineResult(custom_id, body=body)

