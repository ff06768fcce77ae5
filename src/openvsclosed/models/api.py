"""Closed models over HTTP: lm-eval's chat API classes plus what a fair, cheap comparison needs.

lm-eval builds the prompts and payloads and parses the replies; the mixin here owns only the
wire: the key from the environment variable each model names, retries with exponential backoff,
jitter and Retry-After, a requests-per-minute limit, a response cache on disk (a re-run sends
nothing), token usage and dollars, and a run-wide budget checked before every request.
"""

from __future__ import annotations

import asyncio
import copy
import email.utils
import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openvsclosed.budget import Budget
from openvsclosed.models.wire import WireSettings, read_replies, shape_payload, token_usage

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
RETRY_AFTER_CAP_S = 600.0
"""The longest Retry-After honoured; a server asking for more is treated as down."""


class ApiError(Exception):
    """A request that failed for good (after retries, or at once for 4xx): the job fails."""


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


class ResponseCache:
    """Successful responses by request hash, in one SQLite file per model (no keys stored)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, body TEXT)")
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        """The stored response, or None."""
        with self._lock:
            row = self._db.execute("SELECT body FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, body: dict) -> None:
        """Store a response (atomic per row)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)",
                             (key, json.dumps(body)))


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ResilientAPI:
    """Mixin for lm-eval's TemplateAPI chat classes (put it first in the bases)."""

    def __init__(self, *args: Any, api_key_env: str | None = None,
                 input_per_m: float | None = None, output_per_m: float | None = None,
                 cache_dir: str | None = None, budget: Budget | None = None,
                 requests_per_minute: float | None = None, attempts: int = 6,
                 backoff_s: float = 1.0, max_backoff_s: float = 60.0,
                 wire: WireSettings | None = None, **kwargs: Any) -> None:
        # lm-eval's own retry loop gets one attempt: ours knows statuses and Retry-After.
        kwargs["max_retries"] = 1
        super().__init__(*args, **kwargs)
        self.api_key_env = api_key_env
        self.wire = wire
        self.prices = (input_per_m, output_per_m)
        self.budget = budget or Budget()
        self.meter = UsageMeter()
        self.cache = ResponseCache(Path(cache_dir) / "responses.sqlite") if cache_dir else None
        self.attempts, self.backoff_s, self.max_backoff_s = int(attempts), backoff_s, max_backoff_s
        self._interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._next_slot = 0.0
        self._slot_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    @property
    def api_key(self) -> str:
        """The key from the variable this model names; never stored, never logged."""
        from openvsclosed.models import read_key

        return (read_key(os.environ, self.api_key_env) if self.api_key_env else "") or "no-key"

    # ---- lm-eval's two entry points, reduced to payload -> self.send(payload)
    def _payload(self, messages: Any, generate: bool, gen_kwargs: dict | None,
                 **kwargs: Any) -> dict:
        if self.eos_string:  # else each class keeps its own default end-of-turn string
            kwargs["eos"] = self.eos_string
        payload = self._create_payload(self.create_message(messages), generate=generate,
                                       gen_kwargs=copy.deepcopy(gen_kwargs), seed=self._seed,
                                       **kwargs)
        return shape_payload(payload, self.wire) if self.wire is not None else payload

    def parse_generations(self, outputs: Any, **kwargs: Any) -> list[str]:
        """Visible answers, reasoning stripped; cut, empty and withheld replies counted apart."""
        style = self.wire.style if self.wire is not None else self._style
        replies = [r for out in (outputs if isinstance(outputs, list) else [outputs])
                   for r in read_replies(out, style)]
        counts = {status: sum(r.status == status for r in replies)
                  for status in ("truncated", "empty", "refused")}
        self.meter.add(**counts)
        return [r.text for r in replies]

    @property
    def _style(self) -> str:
        return "anthropic" if "messages" in str(self.base_url).rsplit("/", 1)[-1] else "openai"

    def model_call(self, messages: Any, *, generate: bool = True,
                   gen_kwargs: dict | None = None, **kwargs: Any) -> dict:
        """Synchronous request (num_concurrent 1)."""
        return self.send(self._payload(messages, generate, gen_kwargs, **kwargs))

    async def amodel_call(self, session: Any, sem: asyncio.Semaphore, messages: Any, *,
                          generate: bool = True, cache_keys: list | None = None,
                          ctxlens: list | None = None, gen_kwargs: dict | None = None,
                          **kwargs: Any) -> list:
        """Concurrent request: the same `send`, in a worker thread, under lm-eval's semaphore."""
        payload = self._payload(messages, generate, gen_kwargs, **kwargs)
        async with sem:
            loop = asyncio.get_running_loop()
            outputs = await loop.run_in_executor(self._workers(), self.send, payload)
        answers = self.parse_generations(outputs=outputs)
        if cache_keys:
            for answer, key in zip(answers, cache_keys, strict=False):
                self.cache_hook.add_partial("generate_until", key, answer)
        return answers

    def _workers(self) -> ThreadPoolExecutor:
        """Threads for num_concurrent blocking requests (asyncio's default pool is only ~6)."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=max(1, self._concurrent),
                                            thread_name_prefix="ovc-api")
        return self._pool

    # ---- the wire
    def send(self, payload: dict) -> dict:
        """One logical request: cache, budget, rate limit, retries, usage."""
        key = hashlib.sha256(json.dumps({"url": self.base_url, "payload": payload},
                                        sort_keys=True).encode()).hexdigest()
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            tokens_in, tokens_out = self._usage(hit, payload)
            self.meter.add(cached=1, input_tokens=tokens_in, output_tokens=tokens_out,
                           cost_usd=self._cost(tokens_in, tokens_out))
            return hit
        allowed = self._worst_case_tokens(payload)
        estimate = self._cost(*allowed)
        self.budget.reserve(estimate)
        try:
            body = self._post_with_retries(payload)
        except BaseException:
            self.budget.settle(estimate, 0.0)
            raise
        body = self._without_key(body)
        tokens_in, tokens_out = self._usage(body, payload)
        cost = self._cost(tokens_in, tokens_out)
        self.budget.settle(estimate, cost)
        if cost > estimate + 1e-12 or tokens_out > allowed[1]:
            self._warn_overbilled(allowed, tokens_in, tokens_out, estimate, cost)
        self.meter.add(requests=1, input_tokens=tokens_in, output_tokens=tokens_out,
                       reasoning_tokens=token_usage(body)[2], cost_usd=cost, spent_usd=cost)
        style = self.wire.style if self.wire is not None else self._style
        withheld = any(r.status == "refused" for r in read_replies(body, style))
        private = getattr(self, "private", False)  # a private task's replies stay in memory
        if self.cache is not None and not withheld and not private:  # withheld: retry later
            self.cache.put(key, body)
        return body

    def _without_key(self, body: Any) -> Any:
        """The reply with our key removed, should a server echo it (never cached or stored)."""
        raw = os.environ.get(self.api_key_env or "", "") if self.api_key_env else ""
        if not raw.strip():
            return body
        from openvsclosed.models import secret_forms

        text = json.dumps(body)
        forms = [f for f in sorted(secret_forms(raw), key=len, reverse=True) if f in text]
        for form in forms:
            text = text.replace(form, f"${self.api_key_env}")
        return json.loads(text) if forms else body

    def _post_with_retries(self, payload: dict) -> dict:
        import requests

        last = "no attempt made"
        for attempt in range(self.attempts):
            self._wait_for_slot()
            wait = None
            try:
                response = requests.post(self.base_url, json=payload, headers=self.header,
                                         timeout=self.timeout, verify=self.verify_certificate)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__} talking to {self.base_url}"
            else:
                if response.ok:
                    return response.json()
                last = f"HTTP {response.status_code} from {self.base_url}: {response.text[:200]}"
                if response.status_code not in RETRY_STATUSES:
                    raise ApiError(last)
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt + 1 < self.attempts:
                if wait is None:
                    wait = min(self.max_backoff_s, self.backoff_s * 2 ** attempt
                               * random.uniform(0.5, 1.5))  # noqa: S311  (jitter, not crypto)
                self.meter.add(retries=1)
                # a server's Retry-After is honoured in full (up to 10 minutes): retrying
                # sooner only earns another 429; our own backoff stays under max_backoff_s
                time.sleep(min(wait, RETRY_AFTER_CAP_S))
        raise ApiError(f"gave up after {self.attempts} attempts; last: {last}")

    def _wait_for_slot(self) -> None:
        if not self._interval:
            return
        with self._slot_lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        time.sleep(max(0.0, slot - now))

    @staticmethod
    def _prompt_text(payload: dict) -> str:
        """Everything the provider counts as input, as ASCII-escaped JSON."""
        parts = {k: payload[k] for k in ("system", "messages", "prompt", "contents")
                 if k in payload}
        return json.dumps(parts, ensure_ascii=True)

    @classmethod
    def _worst_case_tokens(cls, payload: dict) -> tuple[int, int]:
        """A true upper bound, so that `--max-cost` is never passed by a reservation too small.

        Input: every token of a byte-level or byte-fallback tokenizer covers at least one byte,
        and the ASCII-escaped JSON of the prompt is at least as long as its UTF-8 bytes, with
        room for the chat template's few special tokens per message (a chars/4 guess is 4x too
        low for Chinese or code). Output: the request's full allowance, reasoning included.
        """
        out = payload.get("max_tokens") or payload.get("max_completion_tokens") or 256
        return len(cls._prompt_text(payload)) + 16, int(out)

    def _warn_overbilled(self, allowed: tuple[int, int], tokens_in: int, tokens_out: int,
                         reserved: float, cost: float) -> None:
        """A server that bills past the request's own limits can push spending past the cap."""
        if getattr(self, "_overbilled_warned", False):
            return
        self._overbilled_warned = True
        import logging

        allowed_in, allowed_out = allowed
        logging.getLogger("openvsclosed").warning(
            "%s billed %d input and %d output tokens ($%.6f) for a request allowed at most %d "
            "and %d ($%.6f): the server ignores the request's limits, so --max-cost can be "
            "passed by such excess (every dollar is still recorded)", self.base_url, tokens_in,
            tokens_out, cost, allowed_in, allowed_out, reserved)

    def _usage(self, body: dict, payload: dict) -> tuple[int, int]:
        tokens_in, tokens_out, _ = token_usage(body)
        if tokens_in is None or tokens_out is None:
            guess_in = len(self._prompt_text(payload)) // 4 + 1  # ~4 characters a token
            text = json.dumps(body.get("choices") or body.get("content") or "")
            return int(tokens_in or guess_in), int(tokens_out or len(text) // 4)
        return int(tokens_in), int(tokens_out)

    def _cost(self, tokens_in: int, tokens_out: int) -> float:
        price_in, price_out = self.prices
        return ((tokens_in * (price_in or 0.0)) + (tokens_out * (price_out or 0.0))) / 1e6


def api_classes() -> dict[str, type]:
    """Our registered classes, built on lm-eval's (imported only when an API model loads)."""
    from lm_eval.models.anthropic_llms import AnthropicChat
    from lm_eval.models.openai_completions import LocalChatCompletion, OpenAIChatCompletion

    class OvcOpenAIChat(ResilientAPI, OpenAIChatCompletion):
        """OpenAI chat completions; the wire profile, not the model's name, shapes requests."""

        def _create_payload(self, *args: Any, **kwargs: Any) -> dict:
            # lm-eval's OpenAI class guesses reasoning models from the name ("5" in it drops
            # `stop` for gpt-4o-2024-05-13); the plain chat body plus our profile is exact.
            return LocalChatCompletion._create_payload(self, *args, **kwargs)

    class OvcLocalChat(ResilientAPI, LocalChatCompletion):
        """Any OpenAI-compatible server (Gemini's compatible endpoint, vLLM, llama.cpp...)."""

    class OvcAnthropicChat(ResilientAPI, AnthropicChat):
        """Anthropic messages API."""

    return {"ovc-openai-chat": OvcOpenAIChat, "ovc-local-chat": OvcLocalChat,
            "ovc-anthropic-chat": OvcAnthropicChat}
