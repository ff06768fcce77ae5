"""Anthropic's Message Batches as its reference documents them.

`POST /v1/messages/batches` with `{requests: [{custom_id, params}]}` (params: a Messages API
body); poll `GET /v1/messages/batches/{id}` (`processing_status` in_progress, canceling, ended;
`request_counts` processing, succeeded, errored, canceled, expired); once ended, read
`results_url`: one JSONL line per request, `{custom_id, result: {type: succeeded | errored |
canceled | expired, message}}`. Headers `x-api-key` and `anthropic-version`. Limits: 100,000
requests or 256 MB per batch; results kept 29 days.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from openvsclosed.models.batch.journal import BatchEntry
from openvsclosed.models.batch.protocol import BatchStatus, LineResult, Protocol, strip_suffix

FIND_WINDOW_S = 600.0
"""How close to a journaled create time an unjournaled batch must be created to be ours."""


class AnthropicBatches(Protocol):
    """Message batches beside the messages endpoint."""

    name = "anthropic"
    max_requests = 100_000
    max_bytes = 256 * 1024 * 1024

    @property
    def batches(self) -> str:
        """`.../v1/messages` -> `.../v1/messages/batches`."""
        return strip_suffix(self.endpoint, "/messages", self.name) + "/messages/batches"

    def line(self, custom_id: str, body: dict) -> dict:
        """A request as the create call carries it: the live body as `params`."""
        return {"custom_id": custom_id, "params": body}

    def submit(self, items: list[tuple[str, dict]], entry: BatchEntry,
               journal_save: Any) -> None:
        """One create call carrying every request (no file to upload)."""
        created = self.call("POST", self.batches, retry=False,
                            json={"requests": [self.line(*item) for item in items]})
        entry.batch_id = str(created.json()["id"])

    def status(self, batch_id: str) -> BatchStatus:
        """`processing_status` and the counts of requests that have ended."""
        data = self.call("GET", f"{self.batches}/{batch_id}").json()
        counts = {k: int(v) for k, v in (data.get("request_counts") or {}).items()}
        done = sum(v for k, v in counts.items() if k != "processing")
        status = str(data.get("processing_status", "unknown"))
        return BatchStatus(status, status == "ended", done, done + counts.get("processing", 0),
                           {"results_url": data.get("results_url")})

    def results(self, status: BatchStatus) -> Iterator[LineResult]:
        """The lines at `results_url` (only on the endpoint's own host)."""
        url = status.refs.get("results_url")
        if not url:
            return
        text = self.call("GET", self.same_origin(str(url))).text
        for raw in text.splitlines():
            if raw.strip():
                line = json.loads(raw)
                result = line.get("result") or {}
                if result.get("type") == "succeeded" and isinstance(result.get("message"), dict):
                    yield LineResult(str(line.get("custom_id")), body=result["message"])
                else:
                    why = result.get("error") or result.get("type") or "no result"
                    yield LineResult(str(line.get("custom_id")), error=json.dumps(why)[:300])

    def find(self, entry: BatchEntry, exclude: frozenset[str] | set[str] = frozenset(),
             ) -> str | None:
        """The batch created soonest after the journaled attempt with as many requests.

        Message batches carry no metadata to match on; the create time and request count are
        what a killed run's batch shares with its journal entry. A batch some journal already
        names is never claimed (two jobs of one size would take each other's and pay twice).
        """
        sent = datetime.fromisoformat(entry.submitted_at).timestamp()
        listed = self.call("GET", self.batches, params={"limit": 100}).json()
        matches = []
        for batch in listed.get("data", []):
            counts = batch.get("request_counts") or {}
            created = batch.get("created_at")
            if not created or sum(int(v) for v in counts.values()) != len(entry.custom_ids) \
                    or str(batch["id"]) in exclude:
                continue
            when = datetime.fromisoformat(str(created).replace("Z", "+00:00")).timestamp()
            if -60.0 <= when - sent <= FIND_WINDOW_S:
                matches.append((abs(when - sent), str(batch["id"])))
        return min(matches)[1] if matches else None
