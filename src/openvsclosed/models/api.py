"""Closed models over HTTP: lm-eval's chat API classes plus what a fair, cheap comparison needs.

lm-eval builds the prompts and payloads and parses the replies; the mixin here owns only the
wire: the key from the environment variable each model names, retries with exponential backoff,
jitter and Retry-After, a requests-per-minute limit, a response cache on disk (a re-run sends
nothing), token usage and dollars, and a run-wide budget checked before every request. A
private task's requests go only to the loopback address `egress` pins (no proxy, no redirect),
and no reply of it is cached or quoted in an error.
"""

from __future__ import annotations

import asyncio
import copy
import email.utils
import hashlib
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from openvsclosed.budget import Budget
from openvsclosed.models.cache import ResponseCache
from openvsclosed.models.egress import EgressRefused, Pinned, parse_endpoint, pin_loopback
from openvsclosed.models.usage import UsageMeter, billed_tokens, worst_case_tokens
from openvsclosed.models.wire import WireSettings, read_replies, shape_payload, token_usage

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
RETRY_AFTER_CAP_S = 600.0
"""The longest Retry-After honoured; a server asking for more is treated as down."""
ERROR_TEXT_CHARS = 200
"""How much of a server's error reply a failure keeps (after keys are scrubbed out of it)."""
WITHHELD = "the reply is not shown or stored: it may quote the rows of a private task"


class ApiError(Exception):
    """A request that failed for good (after retries, or at once for 4xx): the job fails."""


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
        parse_endpoint(str(self.base_url))  # a URL two parsers read differently is refused
        self.private = False
        """Set per job by the runner: no reply cached, no error reply kept or shown."""
        self.loopback_only = False
        """Set per job by the runner: requests go to the pinned loopback address only."""
        self._pinned: tuple[Pinned, Any] | None = None
        self._pin_lock = threading.Lock()

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

    @property
    def _private_job(self) -> bool:
        return bool(getattr(self, "private", False) or getattr(self, "loopback_only", False))

    def _secrets(self) -> dict[str, str]:
        raw = os.environ.get(self.api_key_env or "", "") if self.api_key_env else ""
        return {self.api_key_env: raw} if self.api_key_env and raw.strip() else {}

    def _without_key(self, body: Any) -> Any:
        """The reply with our key removed, should a server echo it (never cached or stored)."""
        from openvsclosed.models import scrub_secrets

        secrets = self._secrets()
        if not secrets:
            return body
        text = json.dumps(body)
        cleaned = scrub_secrets(text, secrets)
        return json.loads(cleaned) if cleaned != text else body

    def _error_text(self, response: Any) -> str:
        """What a failure keeps of an error reply: keys scrubbed out first, then cut."""
        if self._private_job:
            return f"HTTP {response.status_code} from {self.base_url}: {WITHHELD}"
        from openvsclosed.models import scrub_secrets

        text = scrub_secrets(response.text, self._secrets())
        return f"HTTP {response.status_code} from {self.base_url}: {text[:ERROR_TEXT_CHARS]}"

    def _post(self, payload: dict) -> Any:
        """One HTTP attempt; a private task's goes only to its pinned loopback address."""
        import requests

        if not getattr(self, "loopback_only", False):
            return requests.post(self.base_url, json=payload, headers=self.header,
                                 timeout=self.timeout, verify=self.verify_certificate)
        from openvsclosed.models.egress import pinned_session, private_post

        with self._pin_lock:  # resolved once per model: every request goes to that address
            if self._pinned is None:
                pinned = pin_loopback(str(self.base_url))
                self._pinned = (pinned, pinned_session(pinned))
        pinned, session = self._pinned
        return private_post(session, pinned, json=payload, headers=self.header,
                            timeout=self.timeout, verify=self.verify_certificate)

    def _post_with_retries(self, payload: dict, unknown: list[str]) -> dict:
        """The reply, retrying; attempts that may have been billed go into `unknown`.

        An attempt that ended without a reply after the request went out (a read timeout, a
        dropped connection) may have been billed.

        The settlement rule (README, "Budget"): an attempt answered with an error status is
        settled at $0 (providers do not bill a refused request); one whose outcome is unknown
        is settled at the request's worst case, as a killed process's reservation is.
        """
        import requests

        last = "no attempt made"
        for attempt in range(self.attempts):
            self._wait_for_slot()
            wait = None
            try:
                response = self._post(payload)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__} talking to {self.base_url}"
                if not _never_sent(exc):
                    unknown.append(type(exc).__name__)
            else:
                if 200 <= response.status_code < 300:
                    return response.json()
                last = self._error_text(response)
                if 300 <= response.status_code < 400 and self.loopback_only:
                    raise EgressRefused(f"HTTP {response.status_code} from {self.base_url}: a "
                                        "redirect, not followed for a private task (its rows "
                                        "go only to the address the URL names)")
                if response.status_code not in RETRY_STATUSES:
                    raise ApiError(last)
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt + 1 < self.attempts:
                if wait is None:
                    wait = min(self.max_backoff_s, self.backoff_s * 2 ** attempt
                               * random.uniform(0.5, 1.5))
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


def _never_sent(exc: Exception) -> bool:
    """Whether a connection error happened before the request left (so nothing was billed)."""
    import requests

    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return "NewConnectionError" in text or "Failed to establish a new connection" in text
