"""What every provider batch protocol offers the collector, and the HTTP it shares.

A protocol splits requests within the provider's size limits, uploads and creates a batch,
reports its status, reads its results back as (custom id, reply body or error) and finds a batch
whose creation a killed run sent but never journaled. Endpoints derive from the model's own
base URL, so a local test server is reached the way the real provider is.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from openvsclosed.models.batch.journal import BatchEntry

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class BatchApiError(Exception):
    """A batch endpoint refused or failed a call (the job fails; the journal keeps its ids)."""


class CreationUnknown(BatchApiError):
    """A create call whose outcome is unknown: the next run looks the batch up before resending."""


@dataclass
class BatchStatus:
    """A batch as the provider reports it now."""

    status: str
    ended: bool
    done: int
    total: int
    refs: dict[str, Any] = field(default_factory=dict)
    """Where its results are: output/error file ids, or a results URL."""


@dataclass
class LineResult:
    """One request's outcome: the reply body a live call would have got, or why none came."""

    custom_id: str
    body: dict | None = None
    error: str | None = None


class Protocol:
    """Base of the three protocols: limits, shared HTTP with retries on reads."""

    name = "base"
    max_requests = 50_000
    max_bytes = 200 * 1024 * 1024

    def __init__(self, endpoint: str, model: str, headers: dict[str, str], *,
                 timeout: float = 300, verify: Any = True, attempts: int = 6,
                 backoff_s: float = 1.0, max_backoff_s: float = 60.0) -> None:
        self.endpoint = endpoint
        self.model = model
        self.headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        self.timeout, self.verify = timeout, verify
        self.attempts, self.backoff_s, self.max_backoff_s = max(1, attempts), backoff_s, \
            max_backoff_s

    # ---- what each protocol defines
    def line(self, custom_id: str, body: dict) -> dict:
        """One request as the protocol's input carries it."""
        raise NotImplementedError

    def submit(self, items: list[tuple[str, dict]], entry: BatchEntry,
               journal_save: Any) -> None:
        """Create one batch of `items`; `entry` gets its ids, journaled before create returns."""
        raise NotImplementedError

    def status(self, batch_id: str) -> BatchStatus:
        """The batch's state now."""
        raise NotImplementedError

    def results(self, status: BatchStatus) -> Iterator[LineResult]:
        """Every line the provider returns for an ended batch."""
        raise NotImplementedError

    def find(self, entry: BatchEntry, exclude: frozenset[str] | set[str] = frozenset(),
             ) -> str | None:
        """The id of the batch a killed run created for `entry` without journaling it.

        `exclude`: ids some journal already names, never claimed for another entry.
        """
        raise NotImplementedError

    # ---- shared
    def chunks(self, items: list[tuple[str, dict]]) -> list[list[tuple[str, dict]]]:
        """`items` split so that no batch passes the provider's request or byte limit."""
        out: list[list[tuple[str, dict]]] = []
        size = 0
        for item in items:
            line = len(json.dumps(self.line(*item)).encode()) + 1
            if line > self.max_bytes:
                raise BatchApiError(f"one request is {line} bytes, more than a {self.name} "
                                    f"batch may hold ({self.max_bytes} bytes)")
            if not out or len(out[-1]) >= self.max_requests or size + line > self.max_bytes:
                out.append([])
                size = 0
            out[-1].append(item)
            size += line
        return out

    def same_origin(self, url: str) -> str:
        """`url` if it is on the endpoint's scheme, host and port; our key goes nowhere else."""
        mine, theirs = urlsplit(self.endpoint), urlsplit(url)
        if (mine.scheme, mine.netloc) != (theirs.scheme, theirs.netloc):
            raise BatchApiError(f"{self.name} named a results location on another host "
                                f"({theirs.scheme}://{theirs.netloc}); the key is sent only "
                                f"to {mine.scheme}://{mine.netloc}")
        return url

    def call(self, method: str, url: str, *, retry: bool = True, **kwargs: Any) -> Any:
        """One API call; reads are retried with backoff, a create is never sent twice."""
        import requests

        last = "no attempt made"
        for attempt in range(self.attempts if retry else 1):
            wait: float | None = None
            try:
                response = requests.request(method, url, headers=self.headers,
                                            timeout=self.timeout, verify=self.verify,
                                            allow_redirects=False, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not retry:
                    raise CreationUnknown(f"{type(exc).__name__} talking to {url}") from None
                last = f"{type(exc).__name__} talking to {url}"
            else:
                if 200 <= response.status_code < 300:
                    return response
                last = f"HTTP {response.status_code} from {url}: {response.text[:200]}"
                if not retry and response.status_code >= 500:
                    raise CreationUnknown(last)
                if response.status_code not in RETRY_STATUSES or not retry:
                    raise BatchApiError(last)
                wait = _retry_after(response.headers.get("Retry-After"))
            if attempt + 1 < self.attempts:
                if wait is None:
                    wait = min(self.max_backoff_s,
                               self.backoff_s * 2 ** attempt * random.uniform(0.5, 1.5))
                time.sleep(min(wait, 600.0))
        raise BatchApiError(f"gave up after {self.attempts} attempts; last: {last}")


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def strip_suffix(url: str, suffix: str, what: str) -> str:
    """The base of a chat endpoint, or a clear error when the URL is not one."""
    trimmed = url.rstrip("/")
    if not trimmed.endswith(suffix):
        raise BatchApiError(f"{what} batches are reached from the chat endpoint, which must end "
                            f"in {suffix}; this model's base_url is {url}")
    return trimmed[: -len(suffix)]
