"""What one API model instance sent and was billed, and the worst case it may be billed.

The runner reads the meter's deltas per job, so a record carries its own job's requests, tokens
and dollars; the worst case is what the budget reserves before a request goes out.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from openvsclosed.models.wire import token_usage


@dataclass
class UsageMeter:
    """Requests and tokens of one model instance; the runner reads deltas per job."""

    requests: int = 0
    cached: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    """Part of output_tokens spent thinking (priced as output, as providers bill it)."""
    truncated: int = 0
    empty: int = 0
    refused: int = 0
    cost_usd: float = 0.0
    """List-price value of every response used, fresh or cached (for $ per 1k questions)."""
    spent_usd: float = 0.0
    """What this run paid: fresh responses only."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot(self) -> dict[str, float]:
        """The counters now, to subtract from a later snapshot."""
        with self._lock:
            return {k: getattr(self, k) for k in
                    ("requests", "cached", "retries", "input_tokens", "output_tokens",
                     "reasoning_tokens", "truncated", "empty", "refused", "cost_usd",
                     "spent_usd")}

    def add(self, **amounts: float) -> None:
        """Add to the counters."""
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)


def prompt_text(payload: dict) -> str:
    """Everything the provider counts as input, as ASCII-escaped JSON."""
    parts = {k: payload[k] for k in ("system", "messages", "prompt", "contents") if k in payload}
    return json.dumps(parts, ensure_ascii=True)


def worst_case_tokens(payload: dict) -> tuple[int, int]:
    """A true upper bound, so that `--max-cost` is never passed by a reservation too small.

    Input: every token of a byte-level or byte-fallback tokenizer covers at least one byte,
    and the ASCII-escaped JSON of the prompt is at least as long as its UTF-8 bytes, with
    room for the chat template's few special tokens per message (a chars/4 guess is 4x too
    low for Chinese or code). Output: the request's full allowance, reasoning included.
    """
    out = payload.get("max_tokens") or payload.get("max_completion_tokens") or 256
    return len(prompt_text(payload)) + 16, int(out)


def billed_tokens(body: Any, payload: dict) -> tuple[int, int]:
    """(input, output) tokens a reply says it used; ~4 characters a token where it is silent."""
    tokens_in, tokens_out, _ = token_usage(body)
    if tokens_in is None or tokens_out is None:
        guess_in = len(prompt_text(payload)) // 4 + 1
        text = json.dumps(body.get("choices") or body.get("content") or "")
        return int(tokens_in or guess_in), int(tokens_out or len(text) // 4)
    return int(tokens_in), int(tokens_out)
