"""Closed models over HTTP: lm-eval's chat API classes plus what a fair, cheap comparison needs.

lm-eval builds the prompts and payloads and parses the replies; the mixin here owns only the
wire: the key from the environment variable each model names, retries with exponential backoff,
jitter and Retry-After, a requests-per-minute limit, a response cache on disk (a re-run sends
nothing), token usage and dollars, and a run-wide budget checked before every request; with
`batch` on, generation goes out as provider batches (`models/batch`). A
private task's requests go only to the loopback address `egress` pins (no proxy, no redirect),
and no reply of it is cached or quoted in an error.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from openvsclosed.budget import Budget
from openvsclosed.models.cache import ResponseCache
from openvsclosed.models.egress import EgressRefused, Pinned, parse_endpoint
from openvsclosed.models.transport import (
    ERROR_TEXT_CHARS,
    RETRY_AFTER_CAP_S,
    RETRY_STATUSES,
    WITHHELD,
    ApiError,
    Transport,
    retry_after_seconds,
)
from openvsclosed.models.usage import UsageMeter, billed_tokens, worst_case_tokens
from openvsclosed.models.wire import WireSettings, read_replies, shape_payload, token_usage

__all__ = ["ERROR_TEXT_CHARS", "RETRY_AFTER_CAP_S", "RETRY_STATUSES", "WITHHELD", "ApiError",
           "ResilientAPI", "ResponseCache", "retry_after_seconds"]

class ResilientAPI(Transport):
    """Mixin for lm-eval's TemplateAPI chat classes (put it first in the bases)."""

    def __init__(self, *args: Any, api_key_env: str | None = None,
                 input_per_m: float | None = None, output_per_m: float | None = None,
                 cache_dir: str | None = None, budget: Budget | None = None,
                 requests_per_minute: float | None = None, attempts: int = 6,
                 backoff_s: float = 1.0, max_backoff_s: float = 60.0,
                 wire: WireSettings | None = None, batch: str | None = None,
                 batch_wait: bool = True, batch_dir: str | None = None,
                 batch_prices: tuple[float | None, float | None] | None = None,
                 **kwargs: Any) -> None:
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
        parse_endpoint(str(self.base_url))  # a URL two parsers read differently is refused
        self.private = self.loopback_only = False  # set per job through `for_job`
        self._pinned: tuple[Pinned, Any] | None = None
        self._pin_lock = threading.Lock()
        self.batcher = None
        """With `batch` (a protocol of the backend table), generation goes out as batches."""
        if batch:
            from openvsclosed.models.batch.collect import BatchCollector

            self.batcher = BatchCollector(self, batch, wait=batch_wait,
                                          batch_dir=Path(batch_dir) if batch_dir else None,
                                          prices=batch_prices or (None, None))

    @property
    def api_key(self) -> str:
        """The key from the variable this model names; never stored, never logged."""
        from openvsclosed.models.keys import read_key

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

    def generate_until(self, requests: list, disable_tqdm: bool = False) -> list[str]:
        """lm-eval's loop, or with batch on every uncached request in provider batches."""
        if self.batcher is None:
            return super().generate_until(requests, disable_tqdm=disable_tqdm)
        from openvsclosed.models.batch.lmeval import generate_until_batched

        return generate_until_batched(self, requests)

    def request_key(self, payload: dict) -> str:
        """The response cache's key for a request body (live and batch share it)."""
        return hashlib.sha256(json.dumps({"url": self.base_url, "payload": payload},
                                         sort_keys=True).encode()).hexdigest()

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
        key = self.request_key(payload)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            tokens_in, tokens_out = self._usage(hit, payload)
            self.meter.add(cached=1, input_tokens=tokens_in, output_tokens=tokens_out,
                           cost_usd=self._cost(tokens_in, tokens_out))
            return hit
        allowed = self._worst_case_tokens(payload)
        estimate = self._cost(*allowed)
        self.budget.reserve(estimate)
        unknown: list[str] = []  # attempts that may have been billed without a reply
        try:
            body = self._post_with_retries(payload, unknown)
        except BaseException as exc:
            if not isinstance(exc, (ApiError, EgressRefused)):  # interrupted mid-request
                unknown.append(type(exc).__name__)
            self.budget.settle(estimate, estimate * len(unknown))
            raise
        body = self._without_key(body)
        tokens_in, tokens_out = self._usage(body, payload)
        cost = self._cost(tokens_in, tokens_out)
        self.budget.settle(estimate, cost + estimate * len(unknown))
        if cost > estimate + 1e-12 or tokens_out > allowed[1]:
            self._warn_overbilled(allowed, tokens_in, tokens_out, estimate, cost)
        self.meter.add(requests=1, input_tokens=tokens_in, output_tokens=tokens_out,
                       reasoning_tokens=token_usage(body)[2], cost_usd=cost, spent_usd=cost)
        style = self.wire.style if self.wire is not None else self._style
        withheld = any(r.status == "refused" for r in read_replies(body, style))
        # a private task's replies stay in memory; a withheld one is retried next run
        if self.cache is not None and not withheld and not self._private_job:
            self.cache.put(key, body)
        return body

    _worst_case_tokens = staticmethod(worst_case_tokens)

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
        return billed_tokens(body, payload)

    def _cost(self, tokens_in: int, tokens_out: int) -> float:
        price_in, price_out = self.prices
        return ((tokens_in * (price_in or 0.0)) + (tokens_out * (price_out or 0.0))) / 1e6
